"""Complaint deadlines: hours by severity from the settings, halved for premium tiers."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.settings import Settings
from models.columns import utcnow
from models.complaint import Complaint, ComplaintSeverity, ComplaintStatus


def sla_hours(settings: Settings, severity: ComplaintSeverity, tier_code: str) -> float:
    hours = {
        ComplaintSeverity.CRITICAL: settings.sla_hours_critical,
        ComplaintSeverity.HIGH: settings.sla_hours_high,
        ComplaintSeverity.MEDIUM: settings.sla_hours_medium,
        ComplaintSeverity.LOW: settings.sla_hours_low,
    }[severity]
    return hours / 2 if tier_code in settings.sla_halved_tiers else float(hours)


def due_at(
    settings: Settings, filed_at: datetime, severity: ComplaintSeverity, tier_code: str
) -> datetime:
    return filed_at + timedelta(hours=sla_hours(settings, severity, tier_code))


def is_overdue(complaint: Complaint, now: datetime | None = None) -> bool:
    """Still open past its deadline (a resolved or closed complaint is never overdue)."""
    if complaint.status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        return False
    return (now or utcnow()) > complaint.due_at

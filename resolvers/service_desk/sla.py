"""Complaint deadlines: hours by severity from the settings, never later than the customer's
tier promises (``Tier.serviceLevelHours``: a diamond customer's complaint is due within its
tier's 4 hours whatever its severity; a standard customer's low-severity one within 72)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import col

from core.settings import Settings
from models.columns import utcnow
from models.service_desk.complaint import Complaint, ComplaintSeverity, ComplaintStatus


def sla_hours(settings: Settings, severity: ComplaintSeverity, tier_hours: int) -> float:
    """The severity's hours (``CARDCRM_SLA_HOURS_*``), capped by the tier's service level."""
    hours = {
        ComplaintSeverity.CRITICAL: settings.sla_hours_critical,
        ComplaintSeverity.HIGH: settings.sla_hours_high,
        ComplaintSeverity.MEDIUM: settings.sla_hours_medium,
        ComplaintSeverity.LOW: settings.sla_hours_low,
    }[severity]
    return float(min(hours, tier_hours))


def due_at(
    settings: Settings, filed_at: datetime, severity: ComplaintSeverity, tier_hours: int
) -> datetime:
    return filed_at + timedelta(hours=sla_hours(settings, severity, tier_hours))


def is_overdue(complaint: Complaint, now: datetime | None = None) -> bool:
    """Still open past its deadline (a resolved or closed complaint is never overdue)."""
    return overdue(complaint.status, complaint.due_at, now)


def overdue(status: str, due_at: datetime, now: datetime | None = None) -> bool:
    """``is_overdue`` from the two columns it reads (a planned query has no row object)."""
    if status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        return False
    return (now or utcnow()) > due_at


def resolved_within_sla() -> ColumnElement[bool]:
    """The SLA rule in SQL, for aggregates: a complaint met its SLA when it was resolved by its
    deadline (``resolved_at <= due_at``); one not resolved has not (yet)."""
    return col(Complaint.resolved_at) <= col(Complaint.due_at)

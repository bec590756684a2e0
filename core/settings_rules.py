"""The business rules' settings: statements, collections, evaluation, risk grades, alert rules,
points, staff tasks, surveys and outbound messages.

They are part of the one ``core.settings.Settings`` (which inherits this class and gives it
its ``CARDCRM_`` environment prefix); they live in their own module only because the whole
would not fit one screenful of concepts. Each group names the module that reads it.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings


class BusinessRuleSettings(BaseSettings):
    # Statements (resolvers/cards/statements.py): the minimum payment is this share of the
    # statement balance (in basis points: 1000 = 10 %), plus fees, never above the balance.
    statement_minimum_payment_basis_points: int = Field(default=1000, ge=0, le=10_000)

    # Collections (resolvers/collections/): no collection contact from quiet_start to
    # quiet_end, the bank's local time (contact_timezone), and at most this many attempts per
    # customer and local day. The marketing consent rules do not apply to collection.
    collection_quiet_start: time = time(21, 0)
    collection_quiet_end: time = time(8, 0)
    collection_max_contacts_per_day: int = Field(default=3, ge=1)
    # Repayment reminders (`cardcrm collections remind`): the days before a statement's due
    # date a reminder goes out, by the customer's risk grade (more, earlier, for worse grades).
    repayment_reminder_days: dict[str, list[int]] = Field(
        default_factory=lambda: {"A": [3], "B": [3], "C": [7, 3], "D": [7, 3, 1], "E": [7, 3, 1]}
    )

    # Lifecycle evaluation (resolvers/growth/lifecycle_rules.py reads these and nothing else does).
    evaluation_window_days: int = 90
    lifecycle_new_days: int = 90
    lifecycle_active_recency_days: int = 30  # a loyal customer's last transaction is this recent
    lifecycle_loyal_min_frequency: int = 24
    lifecycle_loyal_min_tenure_days: int = 365
    # 0.5: either warning sign alone (silence, or a spend drop) makes a customer at risk.
    lifecycle_at_risk_score: float = 0.5
    lifecycle_dormant_days: int = 90
    lifecycle_churned_days: int = 180
    churn_inactive_days: int = 45
    churn_spend_drop_ratio: float = 0.6
    # Spend and frequency of the last N days are compared with the N days before.
    churn_compare_days: int = 90
    segment_high_frequency_min: int = 30
    segment_big_ticket_min_cents: int = 200_000
    segment_category_share: float = 0.3
    # A supervisor's tier override holds this long before evaluation may change the tier.
    tier_override_days: int = 365
    # A temporary credit limit ends at most this many days after the request (issue 14).
    credit_limit_temporary_max_days: int = Field(default=90, ge=1)

    # Customers per committed batch of `cardcrm evaluate` (each batch audited with it).
    evaluation_batch_rows: int = Field(default=5000, ge=1)
    # The risk grade (resolvers/risk/grade_rules.py reads these and nothing else does): each
    # warning sign adds points; 0 points A, 1 B, 2 C, 3 D, 4 or more E. A customer with no
    # statement yet is C at best (a new customer's grade).
    # Utilisation: booked balance over the credit limits of their open cards.
    risk_utilisation_high: float = 0.8  # 1 point
    risk_utilisation_over: float = 1.0  # 2 points: at or over the limit
    # Current overdue, the worst of their cards' days past due: 1+ days 2 points (C),
    # this many 3 (D), this many 4 (E).
    risk_overdue_d_days: int = Field(default=31, ge=1)
    risk_overdue_e_days: int = Field(default=91, ge=1)
    # Overdue history: statements not paid by their due date in the last 365 days;
    # this many 1 point, this many 2.
    risk_missed_statements: int = Field(default=1, ge=1)
    risk_missed_statements_severe: int = Field(default=3, ge=1)
    # Repayment ratio over the last N days: repayments / balances of the statements due then.
    risk_repayment_window_days: int = Field(default=90, ge=1)
    risk_low_repayment_ratio: float = 0.3  # below it, 1 point
    # Spending spike: spend of the last churn_compare_days at least this many times the
    # period before (which had some spend), and at least this much (cents): 1 point.
    risk_spike_ratio: float = 3.0
    risk_spike_min_cents: int = 500_000
    # Cash-like spending: MerchantCategory has no cash or quasi-cash category; "other" holds
    # what the feed could not place (transfers, prepaid cards, gambling, cash advances), so
    # it counts as cash-like. A share of the window's spend at least this, and at least this
    # much (cents): 1 point.
    risk_cash_like_categories: list[str] = ["other"]
    risk_cash_like_share: float = 0.5
    risk_cash_like_min_cents: int = 100_000

    # Privacy (resolvers/privacy/legal_holds.py, `cardcrm retention run`): a customer's data
    # is kept this many years after the relationship ended (last card closed, last
    # transaction); until then erasure is held (RETENTION_PERIOD), and after it the retention
    # job erases them.
    privacy_retention_years: int = Field(default=5, ge=0)

    @model_validator(mode="after")
    def _check_reminder_days(self) -> Self:
        grades = set(self.repayment_reminder_days)
        days = [day for all_days in self.repayment_reminder_days.values() for day in all_days]
        if not grades <= set("ABCDE") or any(day < 1 for day in days):
            raise ValueError(
                "repayment_reminder_days maps risk grades A–E to days before the due date (≥ 1)"
            )
        return self

    # Fraud and risk alert rules (resolvers/risk/rules.py reads these and nothing else does).
    # Velocity: at least N purchases on one card within M minutes.
    risk_velocity_count: int = Field(default=5, ge=2)
    risk_velocity_minutes: int = Field(default=10, ge=1)
    # Amount spike: a purchase at least K times the customer's usual one (monetary / frequency
    # of their last evaluation, once they have made at least the minimum number of purchases)
    # and at least the floor.
    risk_spike_factor: float = Field(default=5.0, gt=1)
    risk_spike_min_frequency: int = Field(default=3, ge=1)
    risk_spike_floor_cents: int = Field(default=100_000, ge=0)
    # A new category at an unusual local hour (contact_timezone): from hour start (included) to
    # hour end (excluded); 0 and 5 mean 00:00-05:00.
    risk_unusual_hour_start: int = Field(default=0, ge=0, le=23)
    risk_unusual_hour_end: int = Field(default=5, ge=1, le=24)
    # Foreign currency: the first transaction in another currency than this one.
    risk_home_currency: str = "CNY"
    # `cardcrm risk scan`: transactions per committed chunk.
    risk_scan_chunk_rows: int = Field(default=20_000, ge=1)

    # Points (resolvers/loyalty/earning.py): a CNY purchase earns this many points per yuan,
    # times its tier's multiplier, its category's multiplier (percent: 200 = 2x; a JSON object
    # in CARDCRM_POINTS_CATEGORY_PERCENT) and the best points-multiplier offer the customer
    # accepted. Points expire at the end of the N-th calendar year after the year earned
    # (bank time, ``contact_timezone``); ``expiringSoon`` looks this many days ahead.
    points_per_yuan: int = Field(default=1, ge=0)
    points_category_percent: dict[str, int] = {"dining": 200, "travel": 150}
    points_expiry_years: int = Field(default=2, ge=0)
    points_expiring_soon_days: int = Field(default=90, ge=1)

    # Staff tasks (`cardcrm tasks generate`, resolvers/tasks/generation.py). A run looks back
    # this many local days for resolved complaints, issued cards and stage changes, so a
    # missed day is caught up (each fact makes its task once). Due dates: this many days
    # after the fact (the resolution, the issue, the stage change) or, for care and
    # reminders, after the run's day; keys are TaskKind values.
    task_lookback_days: int = Field(default=7, ge=0, le=31)
    task_due_days: dict[str, int] = Field(
        default_factory=lambda: {
            "complaint_follow_up": 3,
            "new_card_follow_up": 7,
            "birthday_care": 0,
            "holiday_care": 0,
            "retention": 3,
            "reactivation": 7,
            "repayment_reminder": 0,
        }
    )
    # Holiday care (关怀): the bank's holidays as "MM-DD" days, comma-separated
    # (CARDCRM_TASK_HOLIDAYS="01-01,10-01"), for the consenting customers of these tiers.
    task_holidays: str = "01-01,05-01,10-01"
    task_holiday_tiers: list[str] = ["gold", "platinum", "diamond"]
    # Satisfaction surveys (resolvers/outreach/surveys.py): resolving a complaint, or a
    # campaign with ``withSurvey``, sends one survey with this question (0–10, NPS style),
    # answerable for this many days.
    survey_question: str = Field(
        default="您有多大可能向亲友推荐我们的信用卡服务？(0–10)", min_length=1, max_length=300
    )
    survey_valid_days: int = Field(default=14, ge=1)
    # Campaigns and outbound messages (resolvers/outreach). ``message_sender`` picks who
    # delivers: "development" records each message (a JSON line with its id, channel and the
    # masked recipient in ``var_dir/outbox/messages.jsonl``) and marks it sent; "http" POSTs
    # JSON to ``message_gateway_url`` with ``Authorization: Bearer message_gateway_secret``,
    # retrying with exponential backoff (base seconds, doubling) and marking a message FAILED
    # after ``message_send_attempts`` tries. A real provider is this configuration, not code.
    message_sender: str = Field(default="development", pattern="^(development|http)$")
    message_gateway_url: str | None = None
    message_gateway_secret: str | None = None
    message_gateway_timeout_seconds: float = Field(default=10.0, gt=0)
    message_send_attempts: int = Field(default=3, ge=1, le=10)
    message_retry_base_seconds: float = Field(default=1.0, ge=0)
    # `cardcrm messages send`: due messages per committed chunk.
    message_send_chunk_rows: int = Field(default=500, ge=1)
    # Campaign launch: recipients (and their messages) per INSERT.
    campaign_insert_chunk_rows: int = Field(default=5_000, ge=1)

    # Data exports (issue 16, resolvers/privacy/export_job.py): `cardcrm privacy exports` looks
    # for pending exports every poll interval; a produced export waits this many hours for its
    # download, and a download link (createMyDataExportLink) works this many seconds, never
    # past that wait; an export not downloaded by then is dropped (status expired).
    privacy_export_ready_hours: int = Field(default=72, ge=1)
    privacy_export_link_seconds: int = Field(default=600, ge=1)
    privacy_export_poll_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _check_task_settings(self) -> Self:
        day = re.compile(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
        if any(day.fullmatch(text) is None for text in self.task_holiday_days):
            raise ValueError(
                'task_holidays lists "MM-DD" days, comma-separated, e.g. "01-01,10-01"'
            )
        if any(value < 0 for value in self.task_due_days.values()):
            raise ValueError("task_due_days are days after the fact, 0 or more")
        return self

    @property
    def task_holiday_days(self) -> frozenset[str]:
        return frozenset(day.strip() for day in self.task_holidays.split(",") if day.strip())

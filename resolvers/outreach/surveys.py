"""Satisfaction surveys after a resolved complaint: created with the resolution, answered once.

**Why the service desk calls outreach, not the other way round.** Resolving a complaint must
create its survey and the invitation *in the same transaction* as the resolution (a resolved
complaint without its survey, or a survey of a resolution that rolled back, would both skew
NPS). A reaction afterwards (an event a subscriber picks up) could not share that
transaction, and nothing in the house delivers events transactionally. So the one declared
port is ``resolvers.service_desk.complaints -> resolvers.outreach.surveys`` (pyproject): the
complaint workflow calls ``survey_after_resolution`` before it commits; outreach owns what a
survey is, whom it rates, how long it is open and how the customer is invited.

**Once per complaint.** Resolving again (after a reopen) creates nothing: the survey of a
complaint is looked up first, and the unique index ``uq_surveys_complaint`` is the backstop.

**Answering** (``answer_survey``): the customer's own survey only (any other id: NOT_FOUND),
once (a second answer: CONFLICT), before ``expires_at`` (after: SURVEY_EXPIRED), a score of
0–10 and an optional comment of at most ``text_limits.SURVEY_COMMENT`` characters, sealed.
Every answer and every refusal is audited; a refusal writes nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from core.errors import BadUserInput, Conflict, DomainError, Forbidden, NotFound, SurveyExpired
from core.settings import Settings
from core.text_limits import SURVEY_COMMENT, checked_text
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.customers.customer import Customer
from models.outreach.survey import Survey
from models.sealing import seal_field
from models.service_desk.complaint import Complaint
from resolvers.outreach.survey_invitations import queue_invitation

ANSWER_ACTION, REFUSED_ACTION = "surveys.answer", "surveys.answer.refused"
NOT_FOUND = "no survey with this id is yours to answer"
MIN_SCORE, MAX_SCORE = 0, 10


async def survey_after_resolution(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    complaint: Complaint,
    resolved_by: uuid.UUID | None,
) -> Survey | None:
    """The survey of a just-resolved complaint and its queued invitation, added to the
    caller's session (the caller commits them with the resolution); None when the complaint
    already has one. The survey rates the complaint's assignee (the one who worked it:
    starting work assigns the starter), else whoever resolved it."""
    existing = await session.scalar(
        select(Survey.id).where(col(Survey.complaint_id) == complaint.id)
    )
    if existing is not None:
        return None
    customer = await session.get(Customer, complaint.customer_id)
    assert customer is not None, "a complaint's customer exists"
    now = utcnow()
    survey = Survey(
        customer_id=complaint.customer_id,
        branch_id=complaint.branch_id,
        complaint_id=complaint.id,
        staff_id=complaint.assignee_id or resolved_by,
        question=settings.survey_question,
        expires_at=now + timedelta(days=settings.survey_valid_days),
        created_at=now,
    )
    session.add(survey)
    await session.flush()
    await ensure_customer_keys(session, ring, [customer.id])
    queue_invitation(session, ring, settings, customer, survey, now)
    return survey


async def answer_survey(
    *,
    session: AsyncSession,
    ring: KeyRing,
    customer_id: uuid.UUID | None,
    survey_id: uuid.UUID,
    score: int,
    comment: str | None,
    audit_event: Callable[..., AuditEvent],
) -> Survey:
    """Records the customer's answer (see the module docstring for every refusal)."""
    if customer_id is None:
        raise Forbidden("only the customer answers their survey, in the app")
    survey = await session.scalar(
        select(Survey).where(col(Survey.id) == survey_id, col(Survey.customer_id) == customer_id)
    )
    if survey is None:
        raise NotFound(NOT_FOUND, field="surveyId")
    async with audit.chain_lock(session):
        try:
            text = _checked(score, comment)
            _open(survey, utcnow())
        except DomainError as refusal:
            await audit.append(session, _event(audit_event, REFUSED_ACTION, survey, refusal))
            await session.commit()
            raise
        return await _record(session, ring, survey, score, text, audit_event)


def _checked(score: int, comment: str | None) -> str | None:
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise BadUserInput(
            f"score must be a whole number from {MIN_SCORE} to {MAX_SCORE}", field="score"
        )
    return checked_text("comment", comment, required=False, limit=SURVEY_COMMENT)


def _open(survey: Survey, now: datetime) -> None:
    if survey.answered_at is not None:
        raise Conflict("this survey has already been answered", field="surveyId")
    if survey.expires_at <= now:
        raise SurveyExpired(
            f"this survey closed at {survey.expires_at.isoformat()}", field="surveyId"
        )


async def _record(
    session: AsyncSession,
    ring: KeyRing,
    survey: Survey,
    score: int,
    comment: str | None,
    audit_event: Callable[..., AuditEvent],
) -> Survey:
    """Writes the answer with ``WHERE answered_at IS NULL``, so two concurrent answers cannot
    both land; the loser gets CONFLICT."""
    await ensure_customer_keys(session, ring, [survey.customer_id])
    seal_field(ring, survey, "comment", comment)
    values = {"score": score, "comment_enc": survey.comment_enc, "answered_at": utcnow()}
    session.expunge(survey)
    result = await session.execute(
        update(Survey)
        .where(col(Survey.id) == survey.id, col(Survey.answered_at).is_(None))
        .values(values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict("this survey has already been answered", field="surveyId")
    await audit.append(session, _event(audit_event, ANSWER_ACTION, survey, None, score))
    await session.commit()
    fresh = await session.get(Survey, survey.id, populate_existing=True)
    assert fresh is not None
    return fresh


def _event(
    make: Callable[..., AuditEvent],
    action: str,
    survey: Survey,
    refusal: DomainError | None,
    score: int | None = None,
) -> AuditEvent:
    """The audit entry: the score (C1) but never the comment (C2 stays sealed in its row)."""
    details: dict[str, object] = {}
    if score is not None:
        details["score"] = score
    if refusal is not None:
        details["code"] = refusal.code.value
    return make(action, target_type="Survey", target_id=str(survey.id), details=details)

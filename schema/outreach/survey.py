"""Satisfaction surveys in the API: the ``Survey`` type, ``mySurveys`` and ``answerSurvey``
(the customer in the app), each a thin call into ``resolvers.outreach``. Staff read a
customer's surveys through ``Customer.surveys`` (``schema.outreach.survey_customer_fields``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from core.text_limits import SURVEY_COMMENT
from models.outreach.survey import Survey as SurveyRow
from resolvers.outreach import surveys
from resolvers.outreach.survey_queries import open_surveys
from schema.common import UserError, mutation_payload, payload_field
from schema.described import optional_field
from schema.policy_field import sealed_field
from schema.relay import to_global_id, uuid_of
from schema.scope_field import scoped_field


@strawberry.type(
    description="A satisfaction survey (满意度调查): one 0–10 question (how likely the customer "
    "is to recommend the bank) and a comment, answered once in the app."
)
class Survey:
    _row: strawberry.Private[SurveyRow]
    id: strawberry.ID = strawberry.field(description="The survey's ID (answerSurvey's surveyId).")
    question: str = strawberry.field(description="The question asked.")
    created_at: datetime = strawberry.field(description="When it was sent.")
    expires_at: datetime = strawberry.field(description="It can be answered until this instant.")
    answered_at: datetime | None = strawberry.field(
        description="When it was answered; null if not."
    )
    score: int | None = strawberry.field(
        description="The answer, 0–10 (9–10 promoter, 7–8 passive, 0–6 detractor); null if "
        "not answered."
    )
    complaint_id: strawberry.ID | None = strawberry.field(
        description="The resolved complaint it asks about (a Complaint ID); null for a "
        "campaign's survey."
    )
    comment = sealed_field("Survey", "comment", "comment")

    @classmethod
    def from_row(cls, row: SurveyRow) -> Survey:
        return cls(
            _row=row,
            id=to_global_id("Survey", row.id),
            question=row.question,
            created_at=row.created_at,
            expires_at=row.expires_at,
            answered_at=row.answered_at,
            score=row.score,
            complaint_id=to_global_id("Complaint", row.complaint_id) if row.complaint_id else None,
        )


@strawberry.input(description="The customer's answer to one of their surveys.")
class AnswerSurveyInput:
    survey_id: strawberry.ID = strawberry.field(description="The survey's `id` (from mySurveys).")
    score: int = strawberry.field(
        description="How likely, from 0 (not at all) to 10 (extremely likely)."
    )
    comment: str | None = optional_field(
        f"Why, in the customer's words: at most {SURVEY_COMMENT:,} characters; stored encrypted."
    )


@strawberry.type(description="The outcome of answerSurvey.")
class AnswerSurveyPayload:
    survey: Survey | None = payload_field("The answered survey; null on userErrors.")
    user_errors: list[UserError] = payload_field(
        "Why nothing was recorded: NOT_FOUND (not one of your surveys), CONFLICT (already "
        "answered), SURVEY_EXPIRED, BAD_USER_INPUT (score outside 0–10, comment too long), "
        "FORBIDDEN (not a customer).",
        list,
    )

    @classmethod
    def of(cls, row: SurveyRow) -> AnswerSurveyPayload:
        return cls(survey=Survey.from_row(row))


@strawberry.type
class SurveyQuery:
    @scoped_field(
        Scope.SURVEYS_ANSWER,
        "The signed-in customer's surveys still to answer (unanswered, not expired), soonest "
        "to close first. Customers only: staff get FORBIDDEN.",
    )
    async def my_surveys(self, info: Info) -> list[Survey] | None:
        rows = await open_surveys(db=info.context.db, principal=info.context.principal)
        return [Survey.from_row(row) for row in rows]


def _arg(what: str) -> Any:
    return strawberry.argument(description=what)


@strawberry.type
class SurveyMutation:
    @scoped_field(
        Scope.SURVEYS_ANSWER,
        "The customer answers one of their surveys, once and before it expires; the comment "
        "is sealed. Audited, refusals too.",
    )
    async def answer_survey(
        self, info: Info, input: Annotated[AnswerSurveyInput, _arg("The answer.")]
    ) -> AnswerSurveyPayload:
        async def write(session: AsyncSession, ctx: Context) -> SurveyRow:
            return await surveys.answer_survey(
                session=session,
                ring=ctx.key_ring,
                customer_id=ctx.principal.customer_id,
                survey_id=uuid_of(input.survey_id, "Survey", field="surveyId"),
                score=input.score,
                comment=input.comment,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, AnswerSurveyPayload, write, AnswerSurveyPayload.of)

"""``cardcrm admin tier``: the tier catalogue and its versioned terms (see ``api.cli.admin``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from api.cli.admin_support import do, say
from api.cli.common import console
from core.money import cents_of, yuan
from models.columns import utcnow
from models.growth.tier import TierCode
from resolvers.admin import tiers
from resolvers.admin.common import cli_events
from resolvers.growth.tier_terms import bank_day

app = typer.Typer(help="The tier catalogue and its versioned terms.", no_args_is_help=True)
SPEND = typer.Option(..., "--min-spend", help="Yuan spent over 365 days it needs.")
COUNT = typer.Option(..., "--min-transactions", help="Purchases over 365 days it needs.")
FROM = typer.Option(
    None, "--effective-from", help="First day (bank time) it applies, YYYY-MM-DD; default today."
)


def _terms(spend: Decimal, count: int, effective_from: datetime | None, today: date) -> tiers.Terms:
    day = effective_from.date() if effective_from else today
    return tiers.Terms(day, cents_of("--min-spend", spend), count)


@app.command("create")
def tier_create(
    code: TierCode = typer.Argument(...),
    name: str = typer.Option(..., "--name"),
    rank: int = typer.Option(..., "--rank", help="Higher is better; unique."),
    min_spend: Decimal = SPEND,
    min_transactions: int = COUNT,
    benefit: list[str] = typer.Option([], "--benefit", help="One benefit line; repeatable."),
    service_level_hours: int = typer.Option(72, "--service-level-hours"),
    points_multiplier_percent: int = typer.Option(100, "--points-multiplier-percent"),
    effective_from: datetime | None = FROM,
) -> None:
    """Adds a tier with its first terms."""

    async def work(session: AsyncSession, timezone: str) -> str:
        today = bank_day(utcnow(), timezone)
        data = tiers.NewTier(
            code=code,
            name=name,
            rank=rank,
            terms=_terms(min_spend, min_transactions, effective_from, today),
            benefits=tuple(benefit),
            service_level_hours=service_level_hours,
            points_multiplier_percent=points_multiplier_percent,
        )
        row = await tiers.create_tier(session, events=cli_events(), data=data, today=today)
        return f"tier {row.code} ({row.id})"

    say(do(work))


@app.command("revise")
def tier_revise(
    code: TierCode = typer.Argument(...),
    min_spend: Decimal = SPEND,
    min_transactions: int = COUNT,
    effective_from: datetime | None = FROM,
) -> None:
    """New qualifying terms for a tier from a day on (the earlier ones stay)."""

    async def work(session: AsyncSession, timezone: str) -> str:
        today = bank_day(utcnow(), timezone)
        tier = await tiers.tier_by_code(session, code)
        terms = _terms(min_spend, min_transactions, effective_from, today)
        row = await tiers.revise_tier(
            session, events=cli_events(), tier_id=tier.id, version=None, terms=terms, today=today
        )
        return f"tier {row.code}: new terms from {terms.effective_from} (version {row.version})"

    say(do(work))


@app.command("list")
def tier_list() -> None:
    """Lists the catalogue with every version of each tier's terms."""

    async def work(session: AsyncSession, _: str) -> list[tuple[str, ...]]:
        return [
            (
                tier.code,
                tier.name,
                str(tier.rank),
                f"{terms.effective_from}",
                f"{yuan(terms.min_annual_spend_cents)}",
                str(terms.min_transactions),
            )
            for tier, all_terms in await tiers.tier_catalogue(session)
            for terms in all_terms
        ]

    table = Table("code", "name", "rank", "from", "min spend", "min transactions")
    for row in do(work):
        table.add_row(*row)
    console.print(table)

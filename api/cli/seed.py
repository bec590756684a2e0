"""``cardcrm seed``: demo data."""

from __future__ import annotations

import typer

import migrations
from api.cli.common import console, database_failures, fail, run, settings, started
from api.demo.card_use import PURCHASES_PER_CUSTOMER, CardUse
from api.demo.seed import SeedResult, seed_demo
from api.demo.transactions import start_of_day


async def seed_database(
    customers: int, seed_value: int, purchases_per_customer: int = PURCHASES_PER_CUSTOMER
) -> SeedResult:
    use = CardUse(start_of_day(), purchases_per_customer) if purchases_per_customer else None
    async with started() as state, state.database.session() as session:
        return await seed_demo(
            session, state.key_ring, customers=customers, seed=seed_value, card_use=use
        )


def report(result: SeedResult) -> None:
    if result.staff_password is None:
        console.print("demo data already present; nothing seeded")
        return
    console.print(f"seeded {result.customers} customers, tiers, 2 branches and the demo staff")
    if result.card_use is not None:
        booked = result.card_use
        console.print(
            f"booked {booked.transactions:,} transactions of a year of card use "
            f"({booked.refused} refused on frozen or blocked cards) and closed "
            f"{booked.statements:,} statements"
        )
    console.print(
        "demo staff users: demo-admin demo-supervisor demo-agent demo-agent-b demo-marketer "
        "demo-risk demo-auditor"
    )
    console.print(f"their password (shown once): [bold]{result.staff_password}[/]")


def seed(
    demo: bool = typer.Option(False, "--demo", help="Seed the demo world."),
    customers: int = typer.Option(200, "--customers", min=0, help="How many demo customers."),
    seed_value: int = typer.Option(42, "--seed", help="Same seed, same demo data."),
    purchases: int = typer.Option(
        PURCHASES_PER_CUSTOMER,
        "--purchases-per-customer",
        min=0,
        help="A year of card use up to today (0: none): purchases, repayments, statements.",
    ),
) -> None:
    """Fills an empty, migrated database with demo data."""
    if not demo:
        raise fail("only demo data can be seeded: pass --demo")
    if not settings().is_development:
        raise fail("demo data is for development databases only")
    with database_failures():
        migrations.upgrade(settings().sqlalchemy_url)
    report(run(lambda: seed_database(customers, seed_value, purchases)))

"""``cardcrm seed``: demo data."""

from __future__ import annotations

import typer

import migrations
from api.cli.common import console, database_failures, fail, run, settings, started
from api.demo.seed import SeedResult, seed_demo


async def seed_database(customers: int, seed_value: int) -> SeedResult:
    async with started() as state, state.database.session() as session:
        return await seed_demo(session, state.key_ring, customers=customers, seed=seed_value)


def report(result: SeedResult) -> None:
    if result.staff_password is None:
        console.print("demo data already present; nothing seeded")
        return
    console.print(f"seeded {result.customers} customers, tiers, 2 branches and the demo staff")
    console.print(
        "demo staff users: demo-admin demo-supervisor demo-agent demo-agent-b demo-marketer "
        "demo-risk demo-auditor"
    )
    console.print(f"their password (shown once): [bold]{result.staff_password}[/]")


def seed(
    demo: bool = typer.Option(False, "--demo", help="Seed the demo world."),
    customers: int = typer.Option(200, "--customers", min=0, help="How many demo customers."),
    seed_value: int = typer.Option(42, "--seed", help="Same seed, same demo data."),
) -> None:
    """Fills an empty, migrated database with demo data."""
    if not demo:
        raise fail("only demo data can be seeded: pass --demo")
    if not settings().is_development:
        raise fail("demo data is for development databases only")
    with database_failures():
        migrations.upgrade(settings().sqlalchemy_url)
    report(run(lambda: seed_database(customers, seed_value)))

"""``cardcrm serve``: run the API with uvicorn."""

from __future__ import annotations

import typer

import migrations
from api import server
from api.cli.common import console, database_failures, errors, fail, run, settings
from api.cli.seed import report, seed_database
from core.database import Database
from migrations import assert_migrated


async def check_database(database_url: str) -> None:
    """Connects once and checks the schema's revision before uvicorn starts, so a database
    that cannot be used is one line and exit 1, not a failed lifespan in every worker."""
    database = Database(database_url, pool_size=1)
    try:
        await assert_migrated(database.engine)
    finally:
        await database.dispose()


def serve(
    host: str = typer.Option("127.0.0.1", envvar="CARDCRM_HOST", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, envvar="CARDCRM_PORT", help="TCP port."),
    demo: bool = typer.Option(
        False, "--demo", help="Migrate and seed demo data first (development)."
    ),
    workers: int = typer.Option(
        1,
        min=1,
        envvar="CARDCRM_WORKERS",
        help="Worker processes; more than one needs REDIS_URL to share state.",
    ),
) -> None:
    """Serves GraphQL at /graphql (and /auth/login, /metrics, /healthz, /readyz).

    SIGTERM stops it gracefully: see api/server.py."""
    problem = server.workers_problem(settings(), workers)
    if problem and not settings().is_development:
        raise fail(problem)
    if problem:
        errors.print(f"[bold yellow]warning:[/] {problem}")
    if demo:
        if not settings().is_development:
            raise fail("--demo is for development only")
        with database_failures():
            migrations.upgrade(settings().sqlalchemy_url)
        report(run(lambda: seed_database(200, 42)))
    with database_failures():
        run(lambda: check_database(settings().sqlalchemy_url))
    console.print(f"serving on http://{host}:{port}/graphql")
    server.serve(settings(), host=host, port=port, workers=workers)

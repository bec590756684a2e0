"""``cardcrm serve``: run the API with uvicorn."""

from __future__ import annotations

import typer
import uvicorn

import migrations
from api.cli.common import console, fail, run, settings
from api.cli.seed import report, seed_database


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    demo: bool = typer.Option(
        False, "--demo", help="Migrate and seed demo data first (development)."
    ),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Serves GraphQL at /graphql (and /auth/login, /healthz, /readyz)."""
    if demo:
        if not settings().is_development:
            raise fail("--demo is for development only")
        migrations.upgrade(settings().sqlalchemy_url)
        report(run(lambda: seed_database(200, 42)))
    console.print(f"serving on http://{host}:{port}/graphql")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=False,
    )

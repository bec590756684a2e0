"""``cardcrm db``: schema migrations."""

from __future__ import annotations

import typer

import migrations
from api.cli.common import console, database_failures, settings

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrates the database to the newest (or the given) revision."""
    with database_failures():
        migrations.upgrade(settings().sqlalchemy_url, revision)
    console.print(f"database upgraded to {revision}")


@app.command()
def downgrade(
    revision: str = typer.Argument("-1", help="Target revision, e.g. -1 or base."),
) -> None:
    """Steps the schema back (default: one revision)."""
    with database_failures():
        migrations.downgrade(settings().sqlalchemy_url, revision)
    console.print(f"database downgraded to {revision}")

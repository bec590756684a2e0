"""The ``cardcrm`` command: one group (or command) a module, each imported only when it runs.

Every command module pulls in much of the house (the schema, the key ring, the demo's
faker), and a batch job or a test calls ``cardcrm`` hundreds of times: importing all of them
for ``cardcrm points expire`` cost seconds of CPU per call. So the table below names where
each command lives, and ``LazyGroup`` imports it when it is asked for (``--help`` still lists
them all, importing each).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# name → "module:attribute": a typer.Typer group, or a function that is one command.
COMMANDS: dict[str, str] = {
    "serve": "api.cli.serve:serve",
    "seed": "api.cli.seed:seed",
    "evaluate": "api.cli.evaluate:evaluate",
    "db": "api.cli.db:app",
    "keys": "api.cli.keys:app",
    "token": "api.cli.token:app",
    "audit": "api.cli.audit:app",
    "schema": "api.cli.schema:app",
    "import": "api.cli.importer:app",
    "generate": "api.cli.generate:app",
    "clients": "api.cli.clients:app",
    "merchants": "api.cli.clients:merchants_app",
    "persisted": "api.cli.persisted:app",
    "customers": "api.cli.customers:app",
    "statements": "api.cli.statements:app",
    "limits": "api.cli.limits:app",
    "collections": "api.cli.collections:app",
    "risk": "api.cli.risk:app",
    "points": "api.cli.points:app",
    "tasks": "api.cli.tasks:app",
    "campaigns": "api.cli.campaigns:app",
    "messages": "api.cli.messages:app",
    "events": "api.cli.events:app",
    "retention": "api.cli.retention:app",
    "init": "api.cli.admin:init",
    "admin": "api.cli.admin:app",
    "privacy": "api.cli.exports:app",
}


def load_command(name: str) -> TyperCommand | TyperGroup:
    """The click command ``name`` of the table, its module imported now."""
    module_name, attribute = COMMANDS[name].split(":")
    target: Any = getattr(importlib.import_module(module_name), attribute)
    # Mounted on a parent of its own as it was on the root, so a group of one command stays
    # a group (``cardcrm points expire``) and keeps its help.
    parent = typer.Typer()
    if isinstance(target, typer.Typer):
        parent.add_typer(target, name=name)
    else:
        parent.command(name)(target)
    parent.command("_")(lambda: None)  # two entries: typer never collapses the parent
    group = typer.main.get_command(parent)
    assert isinstance(group, TyperGroup)
    command = group.commands[name]
    assert isinstance(command, TyperCommand | TyperGroup)
    return command


class LazyGroup(TyperGroup):
    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return sorted(COMMANDS)

    def get_command(  # type: ignore[override]
        self, ctx: typer.Context, cmd_name: str
    ) -> TyperCommand | TyperGroup | None:
        if cmd_name not in COMMANDS:
            return None
        return load_command(cmd_name)


# No rich tracebacks with local variables: they could print keys or clear values.
app = typer.Typer(
    cls=LazyGroup,
    help="cardcrm: GraphQL backend for credit-card CRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """cardcrm: GraphQL backend for credit-card CRM."""

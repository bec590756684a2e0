"""The ``cardcrm`` command: serve, db, seed, keys, token, audit, schema (one group a module)."""

from __future__ import annotations

import typer

from api.cli import (
    admin,
    audit,
    clients,
    collections,
    customers,
    db,
    evaluate,
    generate,
    importer,
    keys,
    limits,
    persisted,
    points,
    risk,
    schema,
    seed,
    serve,
    statements,
    token,
)

# No rich tracebacks with local variables: they could print keys or clear values.
app = typer.Typer(
    help="cardcrm: GraphQL backend for credit-card CRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("seed")(seed.seed)
app.command("evaluate")(evaluate.evaluate)
app.command("init")(admin.init)
app.add_typer(db.app, name="db")
app.add_typer(admin.app, name="admin")
app.add_typer(keys.app, name="keys")
app.add_typer(token.app, name="token")
app.add_typer(audit.app, name="audit")
app.add_typer(schema.app, name="schema")
app.add_typer(importer.app, name="import")
app.add_typer(generate.app, name="generate")
app.add_typer(clients.app, name="clients")
app.add_typer(clients.merchants_app, name="merchants")
app.add_typer(persisted.app, name="persisted")
app.add_typer(customers.app, name="customers")
app.add_typer(statements.app, name="statements")
app.add_typer(limits.app, name="limits")
app.add_typer(collections.app, name="collections")
app.add_typer(risk.app, name="risk")
app.add_typer(points.app, name="points")

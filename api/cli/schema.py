"""``cardcrm schema``: the SDL that front-end teams code against."""

from __future__ import annotations

from pathlib import Path

import typer
from graphql import GraphQLObjectType

from api.cli.common import console

app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
SDL_PATH = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def sdl() -> str:
    from api.graphql_schema import schema

    return schema.as_str() + "\n"


@app.command()
def export(output: Path = typer.Option(SDL_PATH, help="Where to write the SDL.")) -> None:
    """Writes the SDL (default: schema/schema.graphql, which is committed)."""
    output.write_text(sdl(), encoding="utf-8")
    console.print(f"wrote {output}")


POLICY_PATH = Path(__file__).resolve().parents[2] / "docs" / "POLICY.md"


def policy_markdown() -> str:
    """The field policy table of auth/policy.py as Markdown, for the docs."""
    from auth.policy import RULES, Access
    from core.identity import Role

    roles = list(Role)
    lines = [
        "# Field policy",
        "",
        "Generated from `auth/policy.py` by `cardcrm schema policy`; do not edit by hand.",
        "A role missing from a rule is denied. Effective access also needs the rule's scope.",
        "",
        "| field | class | scope | "
        + " | ".join(role.value for role in roles)
        + " | revealed by |",
        "|---|---|---|" + "---|" * len(roles) + "---|",
    ]
    for rule in RULES:
        cells = [rule.access.get(role, Access.DENIED).value for role in roles]
        revealers = ", ".join(sorted(role.value for role in rule.revealers)) or "—"
        lines.append(
            f"| {rule.type_name}.{rule.field_name} | {rule.data_class.name} | `{rule.scope}` | "
            + " | ".join(cells)
            + f" | {revealers} |"
        )
    lines += [
        "",
        "`masked` uses the SPEC §2 display formats (`auth/masking.py`); `strict_masked` hides",
        "more (a card number shows its last 4 only, no BIN). A value derived from a C2 value",
        "(`Card.bin`, `Card.last4` from `Card.pan`) carries its source's row: denied wherever",
        "the source is, and wherever the source's display hides it.",
        *_lookup_lines(),
        *_list_lines(),
        *_declared_lines(),
    ]
    return "\n".join(lines) + "\n"


def _lookup_lines() -> list[str]:
    from auth.lookups import LOOKUPS

    lines = [
        "",
        "## Exact-match lookups",
        "",
        "A lookup tells its caller, hit or miss, whether a value belongs to a customer: with a",
        "masked value in view it is a guessing oracle, so it is a disclosure. It is allowed to a",
        "role that may see the field at least masked *and* may have its clear value revealed",
        "(so it learns nothing it could not be shown), with the `customers:lookup` scope. One",
        "lookup field per request (aliases refused with QUERY_TOO_COMPLEX before anything",
        "runs); every lookup, hit or miss, is audited (`customer.lookup`: actor, field, reason",
        "code, outcome, never the value; refusals as `customer.lookup.refused`) and counted",
        "against the caller's budget (`CARDCRM_LOOKUP_LIMIT_PER_HOUR`, default 30), past which",
        "it is RATE_LIMITED; misses on one masked form of a value (a guess at `138****5678`)",
        "are capped per day (`CARDCRM_LOOKUP_MISSES_PER_MASKED_VALUE`, default 2), since a",
        "masked national ID with its birth year and district leaves only about 33 candidates.",
        "`createCustomer`'s conflicts on a national ID or a card number",
        "are lookups too: counted and audited the same way. `customersByName` (the full name",
        "narrowed by the last 4 digits of a phone or card) also admits agents, the service",
        "desk: they are shown those 4 digits anyway, and guessing the hidden part of a masked",
        "name (`张*丰`) is capped like any other guess.",
        "",
        "| lookup | by field | allowed to |",
        "|---|---|---|",
    ]
    for rule in LOOKUPS.values():
        if rule.query_field is None:
            continue
        who = ", ".join(sorted(role.value for role in rule.lookers())) or "—"
        source = f"{rule.source.type_name}.{rule.source.field_name}"
        lines.append(f"| `{rule.query_field}` | {source} | {who} (scope `{rule.scope}`) |")
    lines.append(
        "| `createCustomer` conflict | Customer.idNumber, Card.pan | whoever may create "
        "customers (`customers:write`): counted, audited, refused once the budget is spent |"
    )
    return lines


def _list_lines() -> list[str]:
    from auth.scopes import ROLE_SCOPES
    from core.identity import STAFF_ROLES, Scope

    listers = sorted(r.value for r in STAFF_ROLES if Scope.CUSTOMERS_LIST in ROLE_SCOPES[r])
    return [
        "",
        "## Customer lists",
        "",
        "A list of customers singles people out, which analytics' small-group suppression",
        "exists to prevent (`CARDCRM_STATS_MIN_GROUP_SIZE`). So the `customers` connection",
        "needs the `customers:list` scope, and marketers do not hold it: they get counts",
        "(suppressed below the minimum group size), never a list of people.",
        f"Staff roles with `customers:list`: {', '.join(listers)}.",
    ]


ROOTS = ("Query", "Mutation", "Subscription")


def _declared_lines() -> list[str]:
    """Who may call each root and relation field, read from the built schema's declarations
    (``schema.scope_field``), so the table cannot drift from what the server checks."""
    from api.graphql_schema import schema
    from schema.scope_field import declared_fields

    declared = list(declared_fields(schema._schema))
    order = {name: index for index, name in enumerate(ROOTS)}
    declared.sort(key=lambda d: (order.get(d.type_name, len(ROOTS)), d.type_name))
    lines = [
        "",
        "## Declared scopes",
        "",
        "Every root field (Query, Mutation, Subscription) and relation field that needs a token",
        "scope, or a staff token, declares it (`schema/scope_field.py`); it is checked before the",
        "field's resolver runs, and the field's description says the same. Read from the",
        "schema by `cardcrm schema policy`.",
        "",
        "| field | scope | staff only | without it |",
        "|---|---|---|---|",
    ]
    for each in declared:
        scope = f"`{each.needs.scope}`" if each.needs.scope else "—"
        staff = "yes" if each.needs.staff_only else "—"
        where = f"{each.type_name}.{each.field_name}"
        lines.append(f"| {where} | {scope} | {staff} | {each.outcome} |")
    root_types = [schema._schema.get_type(name) for name in ROOTS]
    undeclared = [
        f"`{kind.name}.{name}`"
        for kind in root_types
        if isinstance(kind, GraphQLObjectType)
        for name in kind.fields
        if not any(d.type_name == kind.name and d.field_name == name for d in declared)
    ]
    lines += [
        "",
        "Root fields that declare nothing check their caller themselves (see each one's",
        "description; the lookups follow the table above): " + ", ".join(undeclared) + ".",
    ]
    return lines


@app.command()
def policy(output: Path = typer.Option(POLICY_PATH, help="Where to write the table.")) -> None:
    """Writes the field policy table as Markdown (default: docs/POLICY.md, committed)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(policy_markdown(), encoding="utf-8")
    console.print(f"wrote {output}")

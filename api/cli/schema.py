"""``cardcrm schema``: the SDL that front-end teams code against."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli.common import console

app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
SDL_PATH = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def sdl() -> str:
    from schema import schema

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
    from auth.scopes import Role

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
        "more (a card number shows its last 4 only, no BIN).",
    ]
    return "\n".join(lines) + "\n"


@app.command()
def policy(output: Path = typer.Option(POLICY_PATH, help="Where to write the table.")) -> None:
    """Writes the field policy table as Markdown (default: docs/POLICY.md, committed)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(policy_markdown(), encoding="utf-8")
    console.print(f"wrote {output}")

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

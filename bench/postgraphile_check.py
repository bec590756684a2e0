"""``python -m bench.postgraphile_check``: PostGraphile answers W1 and W2 with cardcrm's data.

On a throwaway PostgreSQL database: builds the dataset (``bench.dataset``), evaluates the
customers once (so W2's recommendedOffers have spend to rank by), adds the plain twins,
installs and starts PostGraphile, starts cardcrm in-process, then compares:

- W1: PostGraphile's page, in cardcrm's shape, equals the bare handler's ``/w1-plain`` page
  exactly (same 50 customers in the same order, same values, same cards); masked with the
  product's maskers, it equals cardcrm's own W1 answer to the agent exactly.
- W2: for a few customers of that page, the same customer, cards, last 10 interactions,
  recommended offers (ids and affinities) and open complaints with their timelines as
  cardcrm's W2 (masked PII aside: W1 compares it).

Prints each step's time; exits non-zero on the first difference.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlmodel import col, select

from api.app import create_app
from api.state import AppState
from bench import postgraphile
from bench.bare import MASKS, open_bare, page, plain_page
from bench.dataset import Sizes, build_database
from bench.evaluation import DEFAULT_POSTGRES, throwaway_url
from bench.preparation import prepared
from bench.servers import free_port
from bench.workloads import document, w1_variables, w2_variables
from core.database import Database
from core.identity import Role
from core.money import yuan
from core.settings import Environment, Settings
from models.organisation.organisation import StaffUser
from schema.relay import to_global_id

W2_CUSTOMERS = 3
STARTUP_SECONDS = 120


class Mismatch(AssertionError):
    """PostGraphile and cardcrm disagree about the data."""


def _same(what: str, ours: Any, theirs: Any) -> None:
    if ours != theirs:
        raise Mismatch(f"{what} differs:\n  postgraphile: {theirs!r}\n  cardcrm:      {ours!r}")


def row_id(global_id: str) -> uuid.UUID:
    """The row id in a global id: cardcrm's ``Type:<uuid>`` or PostGraphile's
    ``["Type", "<uuid>"]``, both base64."""
    text = base64.b64decode(global_id).decode()
    if text.startswith("["):
        return uuid.UUID(json.loads(text)[1])
    return uuid.UUID(text.split(":", 1)[1])


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def w1_as_cardcrm(body: dict[str, Any]) -> dict[str, Any]:
    """PostGraphile's W1 answer in cardcrm's shape (global ids, tier code, yuan), clear."""
    edges = []
    for edge in body["data"]["allCustomers"]["edges"]:
        node = edge["node"]
        edges.append(
            {
                "node": {
                    "id": to_global_id("Customer", row_id(node["id"])),
                    "name": node["name"],
                    "phone": node["phone"],
                    "idNumber": node["idNumber"],
                    "tier": {"code": node["tierByTierId"]["code"].upper()},
                    "cards": [
                        {"pan": card["pan"], "creditLimit": str(yuan(card["creditLimitCents"]))}
                        for card in node["cardsByCustomerId"]["nodes"]
                    ],
                }
            }
        )
    return {"data": {"customers": {"edges": edges}}}


def masked(body: dict[str, Any]) -> dict[str, Any]:
    """A W1 body in cardcrm's shape with the agent's masks applied (``bench.bare.MASKS``)."""

    def mask(table: str, field: str, value: str | None) -> str | None:
        return None if value is None else MASKS[table, field](value)

    edges = []
    for edge in body["data"]["customers"]["edges"]:
        node = dict(edge["node"])
        for key, field in (("name", "name"), ("phone", "phone"), ("idNumber", "id_number")):
            node[key] = mask("customers", field, node[key])
        node["cards"] = [{**c, "pan": mask("cards", "pan", c["pan"])} for c in node["cards"]]
        edges.append({"node": node})
    return {"data": {"customers": {"edges": edges}}}


def _cards(cards: list[dict[str, Any]], cents: Callable[[dict[str, Any]], int]) -> list[Any]:
    return [
        (row_id(c["id"]), c["last4"], c["product"], c["status"].lower(), cents(c)) for c in cards
    ]


def _interactions(edges: list[dict[str, Any]]) -> list[Any]:
    return [
        (
            row_id(e["node"]["id"]),
            e["node"]["channel"].lower(),
            e["node"]["kind"].lower(),
            e["node"]["subject"],
            _when(e["node"]["occurredAt"]),
        )
        for e in edges
    ]


Events = Callable[[dict[str, Any]], list[dict[str, Any]]]


def _complaints(edges: list[dict[str, Any]], events: Events) -> list[Any]:
    return [
        (
            row_id(node["id"]),
            node["category"].lower(),
            node["severity"].lower(),
            node["status"].lower(),
            _when(node["dueAt"]),
            node["isOverdue"],
            [
                (
                    e["action"].lower(),
                    e["actorKind"].lower(),
                    (e["toStatus"] or "").lower(),
                    _when(e["createdAt"]),
                )
                for e in events(node)
            ],
        )
        for node in (edge["node"] for edge in edges)
    ]


def compare_w2(cardcrm: dict[str, Any], ours: dict[str, Any]) -> str:
    """Raises ``Mismatch`` unless the two W2 answers show the same data; says what matched."""
    theirs, mine = ours["data"]["customerByRowId"], cardcrm["data"]["customer"]
    _same("customer", row_id(mine["id"]), row_id(theirs["id"]))
    profile = ("gender", "lifecycleStage")
    _same(
        "profile",
        [mine[k].lower() for k in profile] + [mine["segments"], mine["tags"]],
        [theirs[k].lower() for k in profile] + [theirs["segments"], theirs["tags"]],
    )
    _same("createdAt", _when(mine["createdAt"]), _when(theirs["createdAt"]))
    _same("branch", mine["branch"]["name"], theirs["branchByBranchId"]["name"])
    tier = theirs["tierByTierId"]
    _same(
        "tier", (mine["tier"]["code"].lower(), mine["tier"]["name"]), (tier["code"], tier["name"])
    )
    cards = _cards(mine["cards"], lambda c: int(Decimal(c["creditLimit"]) * 100))
    _same(
        "cards",
        cards,
        _cards(theirs["cardsByCustomerId"]["nodes"], lambda c: c["creditLimitCents"]),
    )
    interactions = _interactions(mine["interactions"]["edges"])
    _same("interactions", interactions, _interactions(theirs["interactionsByCustomerId"]["edges"]))
    offers = [(row_id(r["offer"]["offerId"]), r["affinity"]) for r in mine["recommendedOffers"]]
    _same(
        "recommendedOffers",
        offers,
        [
            (uuid.UUID(r["offerId"]), round(r["affinity"], 4))
            for r in theirs["recommendedOffers"]["nodes"]
        ],
    )
    complaints = _complaints(cardcrm["data"]["complaints"]["edges"], lambda c: c["timeline"])
    _same(
        "open complaints",
        complaints,
        _complaints(
            ours["data"]["allComplaints"]["edges"],
            lambda c: c["complaintEventsByComplaintId"]["nodes"],
        ),
    )
    return (
        f"{len(cards)} cards, {len(interactions)} interactions, {len(offers)} offers, "
        f"{len(complaints)} open complaints"
    )


@contextmanager
def serving_postgraphile(
    installation: postgraphile.Installation, url: str, log: Path
) -> Iterator[str]:
    """PostGraphile started on a free port; yields its /graphql URL; stops it on the way out."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            postgraphile.command(installation, url, port), stdout=output, stderr=output
        )
    endpoint = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"postgraphile exited with {process.returncode}; see {log}")
            try:
                if httpx.get(endpoint, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgraphile did not answer; see {log}")
            time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=30)


@asynccontextmanager
async def serving_cardcrm(settings: Settings) -> AsyncIterator[tuple[str, AppState]]:
    """cardcrm's app under uvicorn in this process (as the tests run it)."""
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}/graphql", app.state.cardcrm
    finally:
        server.should_exit = True
        await task


async def _graphql(
    client: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any], token: str = ""
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        url, json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or "errors" in body:
        raise Mismatch(f"{url} answered {response.status_code}: {body}")
    return body


async def _prepare(url: str, master_key: str, scale: float) -> None:
    built = await build_database(url, master_key, Sizes().scaled(scale))
    print(f"dataset: {built.rows} in {built.seconds:.1f} s", flush=True)
    await prepared(url, master_key, twins=True)


async def _agent(url: str) -> StaffUser:
    database = Database(url)
    try:
        async with database.session() as session:
            query = select(StaffUser).where(col(StaffUser.username) == "demo-agent")
            return (await session.scalars(query)).one()
    finally:
        await database.dispose()


async def _compare(
    url: str, master_key: str, installation: postgraphile.Installation, var_dir: Path
) -> None:
    agent = await _agent(url)
    assert agent.branch_id is not None
    settings = Settings(
        environment=Environment.TEST,
        var_dir=var_dir,
        database_url=url,
        redis_url=None,
        master_key=master_key,
        signing_key_file=var_dir / "signing-key.pem",
        rate_limits_enabled=False,
    )
    bare = await open_bare(url, master_key, agent.branch_id)
    with serving_postgraphile(installation, url, var_dir / "postgraphile.log") as ours:
        async with (
            serving_cardcrm(settings) as (cardcrm, state),
            httpx.AsyncClient(timeout=60) as client,
        ):
            token = state.tokens.issue(
                subject=str(agent.id),
                role=Role(agent.role),
                client_id="cardcrm-console",
                branch_id=agent.branch_id,
                username=agent.username,
            )
            started = time.perf_counter()
            w1 = w1_as_cardcrm(
                await _graphql(
                    client,
                    ours,
                    postgraphile.document("W1"),
                    postgraphile.w1_variables(agent.branch_id),
                )
            )
            took = (time.perf_counter() - started) * 1000
            _same("W1 against /w1-plain", await plain_page(bare, 50), w1)
            official = await _graphql(client, cardcrm, document("W1"), w1_variables(), token)
            _same("W1 masked against cardcrm", official, masked(w1))
            _same("W1 masked against /w1", await page(bare, 50), masked(w1))
            edges = w1["data"]["customers"]["edges"]
            cards = sum(len(e["node"]["cards"]) for e in edges)
            print(
                f"W1: {len(edges)} customers in the same order, {cards} cards, equal to "
                f"/w1-plain; masked, equal to cardcrm's W1 and /w1 ({took:.0f} ms)",
                flush=True,
            )
            for edge in edges[:W2_CUSTOMERS]:
                customer = edge["node"]["id"]
                mine = await _graphql(
                    client, cardcrm, document("W2"), w2_variables(customer), token
                )
                theirs = await _graphql(
                    client,
                    ours,
                    postgraphile.document("W2"),
                    postgraphile.w2_variables(customer, agent.branch_id),
                )
                print(f"W2 {row_id(customer)}: {compare_w2(mine, theirs)}: same", flush=True)
    await bare.pool.close()


def run_check(scale: float, folder: Path, postgres: str | None) -> None:
    started = time.perf_counter()
    installation = postgraphile.ensure_installed(folder)
    print(
        f"install: {time.perf_counter() - started:.1f} s (postgraphile "
        f"{installation.postgraphile_version}, node {installation.node_version})",
        flush=True,
    )
    master_key = base64.b64encode(os.urandom(32)).decode()

    async def check() -> None:
        async with throwaway_url("postgresql", postgres or DEFAULT_POSTGRES) as url:
            await _prepare(url, master_key, scale)
            with tempfile.TemporaryDirectory(prefix="cardcrm-pgl-check-") as var_dir:
                await _compare(url, master_key, installation, Path(var_dir))

    try:
        asyncio.run(check())
    except (Mismatch, binascii.Error) as exc:
        raise SystemExit(f"check failed: {exc}") from exc
    print("check passed", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.postgraphile_check",
        description="serve a throwaway dataset with PostGraphile; compare with cardcrm",
    )
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--folder", type=Path, default=postgraphile.DEFAULT_FOLDER)
    parser.add_argument("--postgres", default=None, help="maintenance database URL")
    args = parser.parse_args()
    run_check(args.scale, args.folder, args.postgres)


if __name__ == "__main__":
    main()

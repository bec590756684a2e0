"""The servers under test, in the order they run, and what each is sent per workload.

One ``ServerSpec`` per server (see ``bench.servers``): cardcrm as shipped (1 worker, core 0)
is the reference every ratio is taken to; ``cardcrm-standard`` is the same with the compiled
fast path switched off (standard GraphQL execution); ``cardcrm-Nw`` runs one worker per
core, unpinned; ``bare`` is the hand-written W1 limit (``bench.bare``) and ``bare-plain``
the same app answering W1 from the plain-text twins (``/w1-plain``: no decryption, no
masking), so that the two differ only by what sealing and masking cost; ``postgraphile``
is the off-the-shelf peer (``bench.postgraphile``), answering its equivalents of W1 and W2
from the twins, when it could be installed. Another server is one more entry answering the
workloads it can. The twins are built before any server starts (``bench.preparation``).

Workloads run in the order W1, W2, W4, W3: W3 writes (it redeems codes), last.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from bench import postgraphile
from bench.databases import BenchDatabase
from bench.dataset import AS_OF
from bench.fixtures import Fixtures
from bench.load import CODE_PLACEHOLDER
from bench.servers import Bearer, ClientCredentials, Endpoint, ServerSpec
from bench.workloads import document, w1_variables, w2_variables, w3_variables, w4_variables

REFERENCE = "cardcrm"  # ratios are to this server's figure for the same workload
COMPILED_SWITCH = "CARDCRM_COMPILED_OPERATIONS"
WORKLOAD_ORDER = ("W1", "W2", "W4", "W3")
BIN = Path(sys.executable).parent
BARE = "bare"
BARE_PLAIN = "bare-plain"
POSTGRAPHILE = "postgraphile"
# Servers that read the plain twins: a run with any of them builds the twins first.
READS_PLAIN_TWINS = frozenset({BARE_PLAIN, POSTGRAPHILE})


def graphql_body(workload: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"query": document(workload), "variables": variables}


def cardcrm_workloads(fixtures: Fixtures) -> dict[str, Endpoint]:
    agent, analyst = Bearer(fixtures.agent_token), Bearer(fixtures.analyst_token)
    merchant = ClientCredentials(fixtures.merchant.client_id, fixtures.merchant.client_secret)
    return {
        "W1": Endpoint("/graphql", graphql_body("W1", w1_variables()), agent),
        "W2": Endpoint("/graphql", graphql_body("W2", w2_variables(fixtures.customer_id)), agent),
        # The year up to the dataset's reference date: the whole of its activity.
        "W4": Endpoint("/graphql", graphql_body("W4", w4_variables(AS_OF)), analyst),
        "W3": Endpoint(
            "/graphql",
            graphql_body("W3", w3_variables(CODE_PLACEHOLDER)),
            merchant,
            one_time_codes=True,
        ),
    }


def _cardcrm_serve(*extra: str) -> list[str]:
    return [str(BIN / "cardcrm"), "serve", "--port", "{port}", *extra]


def _bare(name: str, path: str, fixtures: Fixtures) -> ServerSpec:
    command = [
        str(BIN / "uvicorn"),
        "--factory",
        "bench.bare:app_from_environment",
        "--port",
        "{port}",
        "--log-level",
        "warning",
    ]
    return ServerSpec(
        name,
        command,
        path,
        {"W1": Endpoint(path, graphql_body("W1", w1_variables()))},
        env={"BARE_BRANCH_ID": str(fixtures.branch_id)},
    )


def postgraphile_spec(
    installation: postgraphile.Installation, fixtures: Fixtures, db: BenchDatabase
) -> ServerSpec:
    """PostGraphile on the twins: W1 and W2 as its own documents ask them (no caller: the
    agent's branch is a variable)."""

    def body(workload: str, variables: dict[str, Any]) -> dict[str, Any]:
        return {"query": postgraphile.document(workload), "variables": variables}

    branch = fixtures.branch_id
    return ServerSpec(
        POSTGRAPHILE,
        postgraphile.command(installation, db.url, "{port}"),
        postgraphile.HEALTH_PATH,
        {
            "W1": Endpoint("/graphql", body("W1", postgraphile.w1_variables(branch))),
            "W2": Endpoint(
                "/graphql", body("W2", postgraphile.w2_variables(fixtures.customer_id, branch))
            ),
        },
    )


def lineup(
    fixtures: Fixtures,
    db: BenchDatabase,
    workers: int | None = None,
    postgraphile_installation: postgraphile.Installation | None = None,
) -> list[ServerSpec]:
    """Every server of a run on ``db``; ``workers`` for cardcrm-Nw defaults to the machine's
    cores; PostGraphile only with an installation. (cardcrm and bare read the database from
    the environment the runner sets.)"""
    workers = workers or os.cpu_count() or 1
    workloads = cardcrm_workloads(fixtures)
    specs = [
        ServerSpec(REFERENCE, _cardcrm_serve(), "/healthz", workloads, logs_sql_statements=True),
        ServerSpec(
            "cardcrm-standard",
            _cardcrm_serve(),
            "/healthz",
            workloads,
            env={COMPILED_SWITCH: "false"},
            logs_sql_statements=True,
        ),
        ServerSpec(
            f"cardcrm-{workers}w",
            _cardcrm_serve("--workers", str(workers)),
            "/healthz",
            workloads,
            core=None,
            workers=workers,
            logs_sql_statements=True,
        ),
        _bare(BARE, "/w1", fixtures),
        _bare(BARE_PLAIN, "/w1-plain", fixtures),
    ]
    if postgraphile_installation is not None:
        specs.append(postgraphile_spec(postgraphile_installation, fixtures, db))
    return specs

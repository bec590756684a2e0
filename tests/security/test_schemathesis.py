"""A bounded schemathesis run (issue 5, "Security suite in CI"): generated queries and
mutations, sent with real tokens, never get a 5xx, an uncoded or INTERNAL_SERVER_ERROR error,
or data that breaks the schema, and no invalid document runs.

Given an app of its own on a fresh, seeded database (generated mutations write, and other
tests count rows), when schemathesis generates up to ``MAX_EXAMPLES`` valid and as many invalid
documents per query and mutation of the schema the app publishes, from the fixed ``SEED``, and
each is sent with the token of every kind of principal, then every answer keeps that contract.
All documents are generated before the first is sent and are sent in order, so every run
sends the same documents, but for the IDs of the freshly seeded rows in them: arguments of
type ``ID`` are often real IDs, so mutations reach real customers, complaints and offers
rather than stopping at "not an ID this API issued".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import graphql
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS
from sqlalchemy import select

from api.demo.seed import seed_demo
from core.errors import ErrorCode
from core.identity import Role
from models.cards.card import Card
from models.customers.customer import Customer
from models.growth.offer import Offer, OfferAssignment
from models.growth.tier import Tier
from models.merchants.merchant import Merchant
from models.organisation.organisation import Branch, StaffUser
from models.service_desk.complaint import Complaint
from models.service_desk.interaction import Interaction
from schema.relay import to_global_id
from tests.conftest import Server
from tests.models.conftest import FreshDatabase, fresh_database, make_database
from tests.security.conftest import running_app, variant
from tests.security.graphql_conformance import nonconforming
from tests.support import add_oauth_client
from tests.support_offers import add_merchant, merchant_token

__all__ = ["fresh_database", "make_database"]

SEED = 20_250_505
MAX_EXAMPLES = 10  # per operation and generation mode: about 4,000 requests in all
CODES = frozenset(ErrorCode) - {ErrorCode.INTERNAL_SERVER_ERROR}
STAFF = ("demo-admin", "demo-agent")
MODELS_BY_TYPE = {  # the rows whose global IDs generated arguments of type ID may carry
    "Customer": Customer,
    "Card": Card,
    "Complaint": Complaint,
    "Interaction": Interaction,
    "Offer": Offer,
    "OfferAssignment": OfferAssignment,
    "Merchant": Merchant,
    "Branch": Branch,
    "StaffMember": StaffUser,
    "Tier": Tier,
}
SHOWN_PER_PROBLEM = 3


@dataclass(frozen=True)
class Generated:
    label: str  # "Query.customers", "Mutation.fileComplaint"
    # As generated: schemathesis makes a valid document when an operation has nothing to
    # make invalid (no arguments), and says so here.
    mode: GenerationMode
    document: str


@dataclass
class Run:
    requests: int = 0
    valid: int = 0  # requests with a valid document
    valid_ran: int = 0  # of those, answered with data
    problems: dict[str, list[str]] = field(default_factory=dict)

    def note(
        self, sent: Generated, principal: str, status: int, text: str, found: list[str]
    ) -> None:
        self.requests += 1
        if sent.mode is GenerationMode.POSITIVE:
            self.valid += 1
            self.valid_ran += status == 200 and text.startswith('{"data":{')
        for problem in found:
            examples = self.problems.setdefault(f"{sent.label} as {principal}: {problem}", [])
            if len(examples) < SHOWN_PER_PROBLEM:
                examples.append(f"{sent.document}\n→ HTTP {status} {text[:500]}")


def scalars(ids: list[str]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Value strategies where schemathesis has none (Decimal) or a blind one (ID, Int)."""
    small = st.integers(min_value=-1, max_value=101)  # page sizes, versions, scores
    int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
    return {
        # Money arrives as a string: any a client could send (NaN, exponents, many places).
        "Decimal": st.decimals().map(str).map(nodes.String),
        "ID": st.one_of(st.sampled_from(ids), st.text()).map(nodes.String),
        "Int": st.one_of(small, int32).map(nodes.Int),
    }


@contextmanager
def registered(strategies: dict[str, st.SearchStrategy[graphql.ValueNode]]) -> Iterator[None]:
    """``schemathesis.graphql.scalar`` registers for the whole process: undone afterwards."""
    before = dict(CUSTOM_SCALARS)
    for name, strategy in strategies.items():
        schemathesis.graphql.scalar(name, strategy)
    try:
        yield
    finally:
        CUSTOM_SCALARS.clear()
        CUSTOM_SCALARS.update(before)


def generate(introspection: dict[str, Any], ids: list[str]) -> list[Generated]:
    """Up to ``MAX_EXAMPLES`` valid and invalid documents per operation, from ``SEED``."""
    schema = schemathesis.graphql.from_dict(introspection)
    with registered(scalars(ids)):
        return [
            generated
            for result in schema.get_all_operations()
            for operation in [result.ok()]
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for generated in _examples(operation.label, operation.as_strategy(mode))
        ]


def _examples(label: str, strategy: st.SearchStrategy[Any]) -> list[Generated]:
    documents: list[Generated] = []

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],  # collecting never fails: nothing to shrink
        suppress_health_check=[hypothesis.HealthCheck.too_slow],
    )
    @hypothesis.given(case=strategy)
    def collect(case: Any) -> None:
        documents.append(Generated(label, case.meta.generation.mode, str(case.body)))

    collect()
    return documents


def problems_with(
    schema: graphql.GraphQLSchema, sent: Generated, status: int, text: str
) -> list[str]:
    """How one answer breaks the contract; empty when it keeps it."""
    if status >= 500:
        return [f"HTTP {status}"]
    try:
        body = json.loads(text)
    except ValueError:
        return [f"HTTP {status} without a JSON body"]
    if not isinstance(body, dict) or not {"data", "errors"} & body.keys():
        return [f"HTTP {status} without data or errors"]
    errors = body.get("errors") or []
    found = [
        f"error code {error.get('extensions', {}).get('code')}"
        for error in errors
        if error.get("extensions", {}).get("code") not in CODES
    ]
    if sent.mode is GenerationMode.NEGATIVE and not errors:
        found.append("an invalid document ran")
    if body.get("data") is not None:
        found += nonconforming(schema, sent.document, body["data"])
    return found


async def seeded_tokens(app: Server) -> dict[str, str]:
    """The demo world, a partner merchant and a batch job, and a token for each kind of
    principal, issued by the app's own token service."""
    async with app.state.database.session() as session:
        await seed_demo(session, app.state.key_ring, customers=12, seed=5)
        staff = (
            await session.scalars(select(StaffUser).where(StaffUser.username.in_(STAFF)))
        ).all()
        customer = (await session.scalars(select(Customer).limit(1))).one()
    merchant = await add_merchant(app.state)
    feed = (await add_oauth_client(app.state, scopes="transactions:write", name="feed")).client
    issue = app.state.tokens.issue
    return {
        **{
            user.username: issue(
                subject=str(user.id),
                role=Role(user.role),
                client_id="cardcrm-console",
                branch_id=user.branch_id,
                username=user.username,
            )
            for user in staff
        },
        "customer": issue(subject=str(customer.id), role=Role.CUSTOMER, client_id="cardcrm-mobile"),
        "merchant": merchant_token(app.state, merchant),
        "service": issue(subject=feed.client_id, role=Role.SERVICE, client_id=feed.client_id),
    }


async def global_ids(app: Server) -> list[str]:
    async with app.state.database.session() as session:
        return [
            to_global_id(type_name, row_id)
            for type_name, model in MODELS_BY_TYPE.items()
            for row_id in await session.scalars(select(model.id))  # type: ignore[attr-defined]
        ]


@pytest.mark.slow
async def test_generated_operations_get_coded_errors_and_data_that_conforms_to_the_schema(
    fresh_database: FreshDatabase,
) -> None:
    run = Run()
    async with running_app(variant(fresh_database.settings)) as app:
        tokens = await seeded_tokens(app)
        introspection = await app.graphql(
            graphql.get_introspection_query(), token=tokens["demo-admin"]
        )
        documents = await asyncio.to_thread(generate, introspection, await global_ids(app))
        schema = graphql.build_client_schema(introspection["data"])
        for sent in documents:
            for principal, token in tokens.items():
                response = await app.post(sent.document, token=token)
                found = problems_with(schema, sent, response.status_code, response.text)
                run.note(sent, principal, response.status_code, response.text, found)
    assert not run.problems, json.dumps(run.problems, indent=1, ensure_ascii=False)
    # The run reached the resolvers: most valid documents ran (the rest were refused with a
    # code: a page of 101, a cursor or ID of the wrong kind, a scope the token lacks).
    assert run.valid_ran > run.valid // 2, run

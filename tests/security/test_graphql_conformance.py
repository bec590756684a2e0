"""The conformance check the schemathesis run relies on finds each way data can break the
schema, and passes data that keeps it, interfaces and unions with or without __typename."""

from __future__ import annotations

from typing import Any

import graphql
import pytest

from tests.security.graphql_conformance import nonconforming

SDL = """
scalar Decimal
enum Status { OPEN CLOSED }
interface Node { id: ID! }
type Customer implements Node { id: ID! name: String limit: Decimal }
type Complaint implements Node { id: ID! status: Status! scores: [Int!]! }
union Found = Customer | Complaint
type Query { node(id: ID!): Node  found: [Found!]!  count: Int! }
"""
SCHEMA = graphql.build_schema(SDL)
COMPLAINT = '{ node(id: "1") { id ... on Complaint { status scores } } }'
FOUND = "{ found { ... on Customer { name limit } ... on Complaint { s: status } } }"


@pytest.mark.parametrize(
    ("document", "data"),
    [
        (COMPLAINT, {"node": {"id": "1", "status": "OPEN", "scores": [1, 2]}}),
        (COMPLAINT, {"node": {"id": "2"}}),  # a Customer: no fragment of its own applies
        (COMPLAINT, {"node": None}),
        (FOUND, {"found": [{"name": None, "limit": "12.50"}, {"s": "CLOSED"}]}),
        (
            "{ found { __typename ... on Customer { name } } }",
            {"found": [{"__typename": "Complaint"}]},
        ),
        ("{ count }", {"count": 0}),
    ],
)
def test_data_that_keeps_the_schema_passes(document: str, data: Any) -> None:
    assert nonconforming(SCHEMA, document, data) == []


@pytest.mark.parametrize(
    ("document", "data", "problem"),
    [
        ("{ count }", {"count": None}, "data.count: null in a non-null Int!"),
        ("{ count }", {}, "data.count: missing"),
        ("{ count }", {"count": 1, "extra": 2}, "data.extra: not selected"),
        ("{ count }", {"count": "1"}, "data.count: '1' is not a Int"),
        ("{ count }", {"count": 2**31}, "data.count: 2147483648 is not a Int"),
        ("{ count }", {"count": True}, "data.count: True is not a Int"),
        (
            COMPLAINT,
            {"node": {"id": "1", "status": "PENDING", "scores": []}},
            "data.node.status: 'PENDING' is not a Status",
        ),
        (
            FOUND,
            {"found": [{"name": "x", "limit": "NaN"}]},
            "data.found[0].limit: 'NaN' is not a Decimal",
        ),
        (FOUND, {"found": None}, "data.found: null in a non-null [Found!]!"),
        (
            "{ found { __typename } }",
            {"found": [{"__typename": "Tier"}]},
            "data.found[0]: ['__typename'] fits no Found type",
        ),
    ],
)
def test_data_that_breaks_the_schema_is_found(document: str, data: Any, problem: str) -> None:
    assert nonconforming(SCHEMA, document, data) == [problem]

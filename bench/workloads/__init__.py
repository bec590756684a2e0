"""The benchmark's GraphQL documents, committed as ``.graphql`` files beside this module.

W1 a page of customers as an agent, W2 one customer 360, W3 a merchant's ``redeemOffer``
(write path), W4 the growth and service analytics. Every server under test (cardcrm, the
bare limit, PostGraphile) answers the same data; only cardcrm reads these documents as-is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
FILES = {
    "W1": "w1_customer_page.graphql",
    "W2": "w2_customer_360.graphql",
    "W3": "w3_redeem_offer.graphql",
    "W4": "w4_analytics.graphql",
}
W1_PAGE_SIZE = 50
# The analytics accept at most 366 days per range: W4 asks for the year up to its ``to``.
W4_DAYS = 365


def document(name: str) -> str:
    """The GraphQL document of workload ``name`` (W1..W4)."""
    return (HERE / FILES[name]).read_text(encoding="utf-8")


def w1_variables(first: int = W1_PAGE_SIZE) -> dict[str, Any]:
    return {"first": first}


def w2_variables(customer_global_id: str) -> dict[str, Any]:
    return {"id": customer_global_id}


def w3_variables(
    code: str, *, amount: str = "300.00", reference: str | None = None
) -> dict[str, Any]:
    return {"input": {"code": code, "amount": amount, "reference": reference}}


def w4_variables(to: datetime | None = None) -> dict[str, Any]:
    """The year up to ``to`` (default: now), the widest range the analytics answer."""
    end = to or datetime.now(UTC)
    start = end - timedelta(days=W4_DAYS)
    return {"range": {"from": start.isoformat(), "to": end.isoformat()}}

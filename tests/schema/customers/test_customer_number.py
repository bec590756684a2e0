"""The bank's own customer number on createCustomer and Customer: C2 like the national ID
(sealed, masked to its last 4 for staff, clear for the customer, revealable by supervisors),
one customer per number."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from models.customers.identifiers import luhn_check_digit, national_id_check_char
from tests.conftest import Server, customer_token, staff_token
from tests.support import World

CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { id customerNumber }
    userErrors { field code message }
  }
}
"""
READ = "query One($id: ID!) { customer(id: $id) { customerNumber } }"
ME = "query { me { ... on Customer { customerNumber } } }"
REVEAL = """
mutation($id: ID!) {
  revealCustomerPii(input: {customerId: $id, fields: [CUSTOMER_NUMBER],
                            purpose: "matching the core banking record for ticket 77"}) {
    values { field value }
    userErrors { code }
  }
}
"""


def new_customer(serial: int, number: str) -> dict[str, Any]:
    first17 = f"110105199103{serial:02d}0{serial % 10}1"[:17]
    pan = f"622848777700{serial:03d}"
    return {
        "name": "赵六",
        "birthDate": f"1991-03-{serial:02d}",
        "idNumber": first17 + national_id_check_char(first17),
        "phone": "13700002222",
        "customerNumber": number,
        "cards": [{"pan": pan + luhn_check_digit(pan), "product": "X", "creditLimit": "1000"}],
    }


async def test_the_customer_number_is_kept_sealed_and_shown_by_role(
    server: Server, world: World
) -> None:
    agent = staff_token(server, world, "demo-agent")
    created = await server.graphql(
        CREATE, {"input": new_customer(11, "cif-0000 4242")}, token=agent
    )
    payload = created["data"]["createCustomer"]
    assert payload["userErrors"] == []
    customer_id = payload["customer"]["id"]
    # Normalised to CIF00004242: staff see the last 4
    assert payload["customer"]["customerNumber"] == "*******4242"

    supervisor = staff_token(server, world, "demo-supervisor")
    revealed = await server.graphql(REVEAL, {"id": customer_id}, token=supervisor)
    assert revealed["data"]["revealCustomerPii"]["values"] == [
        {"field": "CUSTOMER_NUMBER", "value": "CIF00004242"}
    ]
    marketer = await server.graphql(
        READ, {"id": customer_id}, token=staff_token(server, world, "demo-marketer")
    )
    assert marketer["data"]["customer"]["customerNumber"] is None
    assert marketer["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    raw_id = UUID(base64.b64decode(customer_id).decode().split(":")[1])
    own = await server.graphql(ME, token=customer_token(server, raw_id))
    assert own["data"]["me"]["customerNumber"] == "CIF00004242", own


async def test_a_registered_or_malformed_customer_number_is_refused(
    server: Server, world: World
) -> None:
    agent = staff_token(server, world, "demo-agent")
    first = await server.graphql(CREATE, {"input": new_customer(12, "CIF00005151")}, token=agent)
    assert first["data"]["createCustomer"]["userErrors"] == []

    twin = await server.graphql(CREATE, {"input": new_customer(13, "CIF-0000-5151")}, token=agent)
    bad = await server.graphql(CREATE, {"input": new_customer(14, "CIF#1")}, token=agent)

    (conflict,) = twin["data"]["createCustomer"]["userErrors"]
    assert (conflict["code"], conflict["field"]) == ("CONFLICT", "customerNumber")
    assert conflict["message"] == "a customer with this customer number already exists"
    (malformed,) = bad["data"]["createCustomer"]["userErrors"]
    assert (malformed["code"], malformed["field"]) == ("BAD_USER_INPUT", "customerNumber")

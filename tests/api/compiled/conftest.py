"""What the executor-comparison tests share: a server with the compiled executor off (the
reference every plan is compared with) and a token of every kind of caller."""

from __future__ import annotations

import pytest

from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF, World, add_oauth_client, client_credentials_token


@pytest.fixture(scope="package")
async def tokens(server: Server, world: World) -> dict[str, str]:
    """A token per staff role, the demo customer's, a merchant's and a service client's."""
    merchant = await add_oauth_client(
        server.state, scopes="offers:read offers:redeem", merchant="双执行器商户"
    )
    service = await add_oauth_client(server.state, scopes="transactions:write", name="both")
    return {
        **{role: staff_token(server, world, username) for role, username in DEMO_STAFF.items()},
        "customer": customer_token(server, world.alice.id),
        "merchant": await client_credentials_token(server.client, merchant),
        "service": await client_credentials_token(server.client, service),
    }

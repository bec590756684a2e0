"""A console sign-in revoked by a reused refresh token stops on an already-open WebSocket
too: at its next subscribe (the connection closes 4401) and at the next event of a running
subscription (which ends UNAUTHENTICATED instead of delivering it), while another sign-in of
the same user keeps its subscriptions."""

from __future__ import annotations

import uuid
from typing import Any

from resolvers.service_desk.complaint_channels import assignee_channel
from schema.relay import to_global_id
from tests.api.conftest import Message, signed_in
from tests.api.test_subscriptions import (
    ASSIGN,
    ASSIGNED_TO_ME,
    file_for_alice,
    mutate,
    until_listening,
    until_quiet,
)
from tests.auth.test_login import Account, _login, _new_account, _pair, _refresh
from tests.conftest import Server, staff_token
from tests.support import World


async def _sign_in(server: Server, account: Account) -> dict[str, Any]:
    return _pair(await _login(server, account.username, account.password))


async def _reuse(server: Server, refresh_token: str) -> None:
    """Uses the refresh token, then presents it again: the reuse revokes its family."""
    assert (await _refresh(server, refresh_token)).status_code == 200
    assert (await _refresh(server, refresh_token)).status_code == 401


async def _assign_to(server: Server, world: World, user_id: uuid.UUID) -> Message:
    filed = await file_for_alice(server, world)
    change = {
        "id": filed["id"],
        "version": filed["version"],
        "assigneeId": to_global_id("StaffMember", user_id),
    }
    return await mutate(server, ASSIGN, change, staff_token(server, world, "demo-supervisor"))


async def test_a_revoked_sign_in_cannot_start_a_subscription_on_its_open_connection(
    server: Server, world: World
) -> None:
    pair = await _sign_in(server, await _new_account(server, world))
    async with signed_in(server.base_url, pair["access_token"]) as socket:
        await _reuse(server, pair["refresh_token"])

        await socket.subscribe("mine", ASSIGNED_TO_ME)

        assert await socket.close_status() == (4401, "token revoked")


async def test_a_revoked_sign_in_gets_no_more_events_and_another_sign_in_still_does(
    server: Server, world: World
) -> None:
    account = await _new_account(server, world)
    stolen, other = await _sign_in(server, account), await _sign_in(server, account)
    channel = assignee_channel(account.user_id)
    await until_quiet(server, channel)
    async with (
        signed_in(server.base_url, stolen["access_token"]) as revoked_socket,
        signed_in(server.base_url, other["access_token"]) as other_socket,
    ):
        await revoked_socket.subscribe("mine", ASSIGNED_TO_ME)
        await other_socket.subscribe("mine", ASSIGNED_TO_ME)
        await until_listening(server, channel, count=2)
        await _reuse(server, stolen["refresh_token"])

        assigned = await _assign_to(server, world, account.user_id)

        assert (await other_socket.next_data("mine"))["assignedToMe"]["id"] == assigned["id"]
        message = await revoked_socket.receive()
    assert message["id"] == "mine"
    assert message["type"] in {"next", "error"}
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert message["type"] == "error" or message["payload"].get("data") is None

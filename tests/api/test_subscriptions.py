"""Live updates over a real WebSocket (``graphql-transport-ws``) against the test server:
authentication in ``connection_init``, the three subscriptions fed by HTTP mutations, the
per-connection cap, and the connection closing when its token expires."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from pathlib import Path

import pytest
from websockets.typing import Subprotocol

from auth.tokens import TokenService, load_or_create_signing_key
from core.broker import Broker, InProcessBroker, RedisBroker
from core.identity import Role
from resolvers.service_desk.complaint_channels import (
    assignee_channel,
    complaint_channel,
    customer_channel,
)
from schema.relay import to_global_id
from tests.api.conftest import Message, eventually, signed_in, websocket
from tests.conftest import Server, customer_token, staff_token
from tests.support import World

FILE = """
mutation File($input: FileComplaintInput!) {
  fileComplaint(input: $input) { complaint { id version status } userErrors { code message } }
}
"""
ASSIGN = """
mutation Assign($input: AssignComplaintInput!) {
  assignComplaint(input: $input) { complaint { id version status } userErrors { code message } }
}
"""
ACT = """
mutation Act($input: ComplaintActionInput!) {{
  {name}(input: $input) {{ complaint {{ id version status }} userErrors {{ code message }} }}
}}
"""
ASSIGNED_TO_ME = "subscription { assignedToMe { id status assignee { id } } }"
COMPLAINT_UPDATED = """
subscription Updated($id: ID!) { complaintUpdated(id: $id) { id status version } }
"""
MY_COMPLAINT_EVENTS = "subscription { myComplaintEvents { id status description } }"


async def listeners(broker: Broker, channel: str) -> int:
    """How many subscriptions the server's broker holds on a channel."""
    if isinstance(broker, InProcessBroker):
        return len(broker._queues.get(channel, ()))
    assert isinstance(broker, RedisBroker)
    ((_, count),) = await broker._redis.pubsub_numsub(broker._prefix + channel)
    return int(count)


async def until_listening(server: Server, channel: str, count: int = 1) -> None:
    """The protocol has no "subscribed" answer: wait until the server's broker holds the
    listener, so the event the test raises next cannot slip past it."""
    await eventually(lambda: listeners(server.state.broker, channel), lambda n: n >= count)


async def until_quiet(server: Server, channel: str) -> None:
    """Earlier tests' connections may still be winding down on a shared channel."""
    await eventually(lambda: listeners(server.state.broker, channel), lambda n: n == 0)


async def mutate(server: Server, query: str, input: Message, token: str) -> Message:
    body = await server.graphql(query, {"input": input}, token=token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert payload["userErrors"] == [], payload
    complaint: Message = payload["complaint"]
    return complaint


async def file_for_alice(server: Server, world: World) -> Message:
    token = customer_token(server, world.alice.id)
    return await mutate(server, FILE, {"description": "卡被重复扣款", "category": "FEES"}, token)


async def assign(server: Server, world: World, complaint: Message, username: str) -> Message:
    supervisor = staff_token(server, world, "demo-supervisor")
    assignee = to_global_id("StaffMember", world.staff[username].id)
    change = {"id": complaint["id"], "version": complaint["version"], "assigneeId": assignee}
    return await mutate(server, ASSIGN, change, supervisor)


async def act(server: Server, name: str, complaint: Message, token: str) -> Message:
    change = {"id": complaint["id"], "version": complaint["version"]}
    return await mutate(server, ACT.format(name=name), change, token)


async def just_expired_token(server: Server, world: World, username: str = "demo-agent") -> str:
    """A token whose ``exp`` has just passed: still inside the verifier's clock-skew leeway."""
    user = world.staff[username]
    token = server.state.tokens.issue(
        subject=str(user.id),
        role=Role(user.role),
        client_id="cardcrm-console",
        branch_id=user.branch_id,
        username=user.username,
        ttl=1,
    )
    expires_at = server.state.tokens.verify(token).expires_at
    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.05)
    return token


def raw_id(global_id: str) -> uuid.UUID:
    return uuid.UUID(base64.b64decode(global_id).decode().split(":", 1)[1])


# --- authentication --------------------------------------------------------------------------


async def test_a_connection_init_without_a_token_is_rejected_with_4403(server: Server) -> None:
    async with websocket(server.base_url) as socket:
        await socket.send({"type": "connection_init", "payload": {}})
        assert await socket.close_status() == (4403, "Forbidden")


async def test_a_connection_init_without_any_payload_is_rejected_with_4403(
    server: Server,
) -> None:
    async with websocket(server.base_url) as socket:
        await socket.send({"type": "connection_init"})
        assert await socket.close_status() == (4403, "Forbidden")


@pytest.mark.parametrize(
    "payload",
    [
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic ZGVtbzpkZW1v"},
        {"token": "not-a-jwt"},
        {"token": 42},
    ],
)
async def test_a_bad_token_is_rejected_with_4403(server: Server, payload: Message) -> None:
    async with websocket(server.base_url) as socket:
        await socket.send({"type": "connection_init", "payload": payload})
        assert await socket.close_status() == (4403, "Forbidden")


async def test_an_expired_token_is_refused_with_4403_before_any_ack(
    server: Server, world: World
) -> None:
    token = await just_expired_token(server, world)
    async with websocket(server.base_url) as socket:
        await socket.send(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert await socket.messages_until_closed() == []  # no connection_ack
        assert (socket.connection.close_code, socket.connection.close_reason) == (4403, "Forbidden")


async def test_every_server_message_is_a_text_frame(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-agent")
    frames: list[str | bytes] = []
    async with websocket(server.base_url) as socket:
        await socket.send({"type": "connection_init", "payload": {"token": token}})
        frames.append(await socket.connection.recv())
        await socket.send({"type": "ping"})
        frames.append(await socket.connection.recv())
        await socket.subscribe("q", "{ tiers { id } }")
        frames.append(await socket.connection.recv())
    assert [type(frame) for frame in frames] == [str, str, str]
    assert [json.loads(frame)["type"] for frame in frames] == ["connection_ack", "pong", "error"]


@pytest.mark.parametrize("operation_name", ["", "Nope"])
async def test_a_subscribe_naming_no_operation_of_its_document_is_bad_user_input(
    server: Server, world: World, operation_name: str
) -> None:
    payload = {"query": ASSIGNED_TO_ME, "operationName": operation_name}
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent")) as socket:
        await socket.send({"id": "named", "type": "subscribe", "payload": payload})
        refusal = await socket.receive()
        await socket.send({"type": "ping"})
        still_open = await socket.receive()
    assert (refusal["type"], refusal["id"]) == ("error", "named"), refusal
    (error,) = refusal["payload"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == f'Unknown operation named "{operation_name}".'
    assert still_open == {"type": "pong"}


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"query": 42},
        {"query": ASSIGNED_TO_ME, "operationName": {}},
        {"query": ASSIGNED_TO_ME, "variables": [1]},
        {"query": ASSIGNED_TO_ME, "extensions": "x"},
    ],
    ids=["no query", "query not a string", "name an object", "variables a list", "extensions"],
)
async def test_a_subscribe_with_malformed_parameters_is_bad_user_input(
    server: Server, world: World, payload: Message
) -> None:
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent")) as socket:
        await socket.send({"id": "odd", "type": "subscribe", "payload": payload})
        refusal = await socket.receive()
        await socket.send({"type": "ping"})
        still_open = await socket.receive()
    assert (refusal["type"], refusal["id"]) == ("error", "odd"), refusal
    assert refusal["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert still_open == {"type": "pong"}


async def test_a_subscribe_whose_payload_is_not_an_object_closes_with_4400(
    server: Server, world: World
) -> None:
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent")) as socket:
        await socket.send({"id": "odd", "type": "subscribe", "payload": 5})
        assert await socket.close_status() == (4400, "the subscribe payload must be an object")


async def test_a_subscribe_of_several_operations_without_an_operation_name_runs_none(
    server: Server, world: World
) -> None:
    query = "query Tiers { tiers { code } } subscription Mine { assignedToMe { id } }"
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent")) as socket:
        await socket.subscribe("both", query)
        refusal = await socket.receive()
    assert (refusal["type"], refusal["id"]) == ("error", "both"), refusal
    assert refusal["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("message", [[], "subscribe", 1, None, [{"type": "ping"}]])
async def test_a_message_that_is_not_an_object_closes_with_4400(
    server: Server, world: World, message: object
) -> None:
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent")) as socket:
        await socket.connection.send(json.dumps(message))
        assert await socket.close_status() == (4400, "a message must be a JSON object")


@pytest.mark.parametrize(
    "message",
    [
        {"id": [], "type": "subscribe", "payload": {"query": ASSIGNED_TO_ME}},
        {"id": None, "type": "subscribe", "payload": {"query": ASSIGNED_TO_ME}},
        {"id": 5, "type": "subscribe", "payload": {"query": ASSIGNED_TO_ME}},
        {"id": {}, "type": "complete"},
        {"id": 5, "type": "complete"},
    ],
)
async def test_an_operation_message_whose_id_is_not_a_string_closes_with_4400(
    server: Server, world: World, message: Message
) -> None:
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent")) as socket:
        await socket.send(message)
        assert await socket.close_status() == (4400, "an operation's `id` must be a string")


async def test_a_token_signed_by_another_key_is_rejected_with_4403(
    server: Server, world: World, tmp_path: Path
) -> None:
    settings = server.state.settings
    stranger = TokenService(
        load_or_create_signing_key(tmp_path / "stranger.pem"),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        default_ttl=60,
        max_lifetime=3600,
    ).issue(subject=str(world.alice.id), role=Role.CUSTOMER, client_id="cardcrm-mobile")
    async with websocket(server.base_url) as socket:
        await socket.send({"type": "connection_init", "payload": {"token": stranger}})
        assert await socket.close_status() == (4403, "Forbidden")


@pytest.mark.parametrize("form", ["Authorization", "authorization", "token"])
async def test_every_accepted_form_of_the_token_is_acknowledged(
    server: Server, world: World, form: str
) -> None:
    token = staff_token(server, world, "demo-agent")
    payload = {"token": token} if form == "token" else {form: f"Bearer {token}"}
    async with websocket(server.base_url) as socket:
        assert await socket.init(payload) == {"type": "connection_ack"}


async def test_a_subscribe_before_connection_init_closes_the_connection(server: Server) -> None:
    async with websocket(server.base_url) as socket:
        await socket.subscribe("1", ASSIGNED_TO_ME)
        assert await socket.close_status() == (4401, "Unauthorized")


async def test_only_the_graphql_transport_ws_subprotocol_is_spoken(server: Server) -> None:
    async with websocket(server.base_url, subprotocols=[Subprotocol("graphql-ws")]) as socket:
        assert await socket.close_status() == (4406, "Subprotocol not acceptable")


async def test_queries_and_mutations_are_refused_over_the_websocket(
    server: Server, world: World
) -> None:
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent")) as socket:
        await socket.subscribe("q", "{ tiers { id } }")
        message = await socket.receive()
    assert (message["type"], message["id"]) == ("error", "q")
    assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- the subscriptions --------------------------------------------------------------------------


async def test_assigned_to_me_receives_the_complaint_a_supervisor_assigns(
    server: Server, world: World
) -> None:
    agent_id = world.staff["demo-agent"].id
    channel = assignee_channel(agent_id)
    await until_quiet(server, channel)
    filed = await file_for_alice(server, world)
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent")) as socket:
        await socket.subscribe("mine", ASSIGNED_TO_ME)
        await until_listening(server, channel)

        await assign(server, world, filed, "demo-agent")

        data = await socket.next_data("mine")
    assert data["assignedToMe"] == {
        "id": filed["id"],
        "status": "OPEN",
        "assignee": {"id": to_global_id("StaffMember", agent_id)},
    }


async def test_assigned_to_me_is_for_staff_only(server: Server, world: World) -> None:
    async with signed_in(server.base_url, customer_token(server, world.alice.id)) as socket:
        await socket.subscribe("mine", ASSIGNED_TO_ME)
        message = await socket.receive()
    assert (message["type"], message["id"]) == ("error", "mine")
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_complaint_updated_follows_the_workflow_of_one_complaint(
    server: Server, world: World
) -> None:
    agent = staff_token(server, world, "demo-agent")
    filed = await assign(server, world, await file_for_alice(server, world), "demo-agent")
    channel = complaint_channel(raw_id(filed["id"]))
    async with signed_in(server.base_url, agent) as socket:
        await socket.subscribe("one", COMPLAINT_UPDATED, {"id": filed["id"]})
        await until_listening(server, channel)

        acknowledged = await act(server, "acknowledgeComplaint", filed, agent)
        first = await socket.next_data("one")
        started = await act(server, "startComplaintWork", acknowledged, agent)
        second = await socket.next_data("one")

    assert first["complaintUpdated"] == acknowledged
    assert acknowledged == {**filed, "status": "ACKNOWLEDGED", "version": filed["version"] + 1}
    assert second["complaintUpdated"] == started
    assert started["status"] == "IN_PROGRESS"


async def test_complaint_updated_outside_the_callers_scope_is_not_found(
    server: Server, world: World
) -> None:
    filed = await file_for_alice(server, world)  # branch A; demo-agent-b works in branch B
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent-b")) as socket:
        await socket.subscribe("one", COMPLAINT_UPDATED, {"id": filed["id"]})
        message = await socket.receive()
    assert (message["type"], message["id"]) == ("error", "one")
    assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_complaint_updated_ends_when_the_complaint_leaves_the_callers_scope(
    server: Server, world: World
) -> None:
    filed = await assign(server, world, await file_for_alice(server, world), "demo-agent")
    channel = complaint_channel(raw_id(filed["id"]))
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent")) as socket:
        await socket.subscribe("one", COMPLAINT_UPDATED, {"id": filed["id"]})
        await until_listening(server, channel)

        await assign(server, world, filed, "demo-supervisor")  # agents see only their own

        assert await socket.receive() == {"id": "one", "type": "complete"}


async def test_my_complaint_events_brings_the_customer_their_own_complaints(
    server: Server, world: World
) -> None:
    channel = customer_channel(world.alice.id)
    await until_quiet(server, channel)
    async with signed_in(server.base_url, customer_token(server, world.alice.id)) as socket:
        await socket.subscribe("mine", MY_COMPLAINT_EVENTS)
        await until_listening(server, channel)

        filed = await file_for_alice(server, world)
        on_filing = await socket.next_data("mine")
        await assign(server, world, filed, "demo-agent")
        on_assignment = await socket.next_data("mine")

    assert on_filing["myComplaintEvents"] == {
        "id": filed["id"],
        "status": "OPEN",
        "description": "卡被重复扣款",
    }
    assert on_assignment["myComplaintEvents"]["id"] == filed["id"]


async def test_my_complaint_events_is_forbidden_to_staff(server: Server, world: World) -> None:
    async with signed_in(server.base_url, staff_token(server, world, "demo-supervisor")) as socket:
        await socket.subscribe("mine", MY_COMPLAINT_EVENTS)
        message = await socket.receive()
    assert (message["type"], message["id"]) == ("error", "mine")
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


# --- limits ----------------------------------------------------------------------------------


async def test_a_connection_holds_at_most_the_configured_number_of_subscriptions(
    server: Server, world: World
) -> None:
    cap = server.state.settings.max_subscriptions_per_connection
    async with signed_in(server.base_url, staff_token(server, world, "demo-agent")) as socket:
        for number in range(cap):
            await socket.subscribe(str(number), ASSIGNED_TO_ME)
        await socket.subscribe("one-too-many", ASSIGNED_TO_ME)
        refusal = await socket.receive()
        await socket.send({"type": "ping"})
        still_open = await socket.receive()
    assert refusal == {
        "id": "one-too-many",
        "type": "error",
        "payload": [{"message": "Subscription limit reached"}],
    }
    assert still_open == {"type": "pong"}


async def test_an_expired_token_closes_the_connection_with_4401(
    server: Server, world: World
) -> None:
    agent = world.staff["demo-agent"]
    token = server.state.tokens.issue(
        subject=str(agent.id),
        role=Role(agent.role),
        client_id="cardcrm-console",
        branch_id=agent.branch_id,
        username=agent.username,
        ttl=2,
    )
    async with signed_in(server.base_url, token) as socket:
        await socket.subscribe("mine", ASSIGNED_TO_ME)
        assert await socket.close_status() == (4401, "token expired")

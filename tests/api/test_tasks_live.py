"""taskAssigned over a real WebSocket: a reassigned task arrives after it committed, as each
subscriber's scope shows it (an agent the tasks assigned to them, a supervisor their
branch's); marketers and customers are refused."""

from __future__ import annotations

import pytest

from models.organisation.organisation import StaffUser
from models.tasks.task import StaffTask
from resolvers.tasks.events import ASSIGNED_CHANNEL
from schema.relay import to_global_id
from tests.api.conftest import signed_in
from tests.api.test_subscriptions import until_listening, until_quiet
from tests.conftest import Server, customer_token, staff_token
from tests.schema.tasks.support import REASSIGN, add_task, new_agent, payload, token_of
from tests.support import World

ASSIGNED = "subscription { taskAssigned { id kind assignee { id } customer { id } } }"


async def _reassign(server: Server, token: str, task: StaffTask, to: StaffUser) -> None:
    variables = {
        "input": {
            "taskId": to_global_id("Task", task.id),
            "version": task.version,
            "assigneeId": to_global_id("StaffMember", to.id),
        }
    }
    result = payload(await server.graphql(REASSIGN, variables, token=token), "reassignTask")
    assert result["userErrors"] == [], result


async def test_reassigned_tasks_reach_the_agent_and_the_branch_supervisor(
    server: Server, world: World
) -> None:
    mine, colleague = await new_agent(server, world), await new_agent(server, world)
    far, farther = (
        await new_agent(server, world, branch="SH-PD"),
        await new_agent(server, world, branch="SH-PD"),
    )
    first = await add_task(server, world, world.alice.id, assignee=colleague)
    elsewhere = await add_task(server, world, world.bob.id, assignee=far, branch="SH-PD")
    taken = await add_task(server, world, world.alice.id, assignee=mine)
    last = await add_task(server, world, world.alice.id, assignee=colleague)
    supervisor = staff_token(server, world, "demo-supervisor")
    await until_quiet(server, ASSIGNED_CHANNEL)

    async with (
        signed_in(server.base_url, token_of(server, mine)) as agent_socket,
        signed_in(server.base_url, supervisor) as supervisor_socket,
    ):
        await agent_socket.subscribe("mine", ASSIGNED)
        await supervisor_socket.subscribe("branch", ASSIGNED)
        await until_listening(server, ASSIGNED_CHANNEL, 2)

        await _reassign(server, supervisor, first, mine)
        await _reassign(server, staff_token(server, world, "demo-admin"), elsewhere, farther)
        await _reassign(server, supervisor, taken, colleague)
        await _reassign(server, supervisor, last, mine)
        for_agent = [await agent_socket.next_data("mine") for _ in range(2)]
        for_supervisor = [await supervisor_socket.next_data("branch") for _ in range(3)]

    def ids(events: list[dict[str, dict[str, str]]]) -> list[str]:
        return [event["taskAssigned"]["id"] for event in events]

    def gid(task: StaffTask) -> str:
        return to_global_id("Task", task.id)

    # The agent skipped the task taken from them; the supervisor the other branch's.
    assert ids(for_agent) == [gid(first), gid(last)]
    assert ids(for_supervisor) == [gid(first), gid(taken), gid(last)]
    assert for_agent[0]["taskAssigned"]["assignee"] == {"id": to_global_id("StaffMember", mine.id)}
    assert for_agent[0]["taskAssigned"]["customer"] == {
        "id": to_global_id("Customer", world.alice.id)
    }


@pytest.mark.parametrize("who", ["marketer", "customer"])
async def test_others_are_refused_when_subscribing(server: Server, world: World, who: str) -> None:
    token = (
        customer_token(server, world.alice.id)
        if who == "customer"
        else staff_token(server, world, "demo-marketer")
    )
    async with signed_in(server.base_url, token) as socket:
        await socket.subscribe("assigned", ASSIGNED)
        message = await socket.receive()
    assert (message["type"], message["id"]) == ("error", "assigned")
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"

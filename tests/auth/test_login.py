"""Staff sign-in (``/auth/login``) and refresh-token rotation (``/auth/refresh``) over HTTP.

Wrong passwords and lockouts use fresh staff users made here, so the demo users that other
tests sign in as are never locked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from auth.passwords import hash_password
from core.identity import Role
from models.columns import utcnow
from models.organisation.organisation import StaffUser
from tests.conftest import Server
from tests.support import World

VIEWER = "{ viewer { username role } }"


@dataclass(frozen=True)
class Account:
    user_id: uuid.UUID
    username: str
    password: str


async def _new_account(server: Server, world: World, role: Role = Role.AGENT) -> Account:
    username = f"test-login-{uuid.uuid4().hex[:12]}"
    password = f"pw-{uuid.uuid4().hex}"
    user = StaffUser(
        username=username,
        display_name="登录测试",
        password_hash=await hash_password(password),
        role=role.value,
        branch_id=world.branches["BJ-CY"].id,
    )
    user_id = user.id
    async with server.state.database.session() as session:
        session.add(user)
        await session.commit()
    return Account(user_id, username, password)


async def _stored(server: Server, user_id: uuid.UUID) -> StaffUser:
    async with server.state.database.session() as session:
        user = await session.get(StaffUser, user_id)
        assert user is not None
        return user


async def _login(server: Server, username: str, password: str) -> httpx.Response:
    return await server.client.post(
        "/auth/login", json={"username": username, "password": password}
    )


async def _refresh(server: Server, refresh_token: str) -> httpx.Response:
    return await server.client.post("/auth/refresh", json={"refresh_token": refresh_token})


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code
    assert error["message"]
    result: dict[str, Any] = error
    return result


def _pair(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] > 0
    assert body["access_token"]
    assert body["refresh_token"]
    return body


async def test_given_the_demo_password_then_login_returns_a_token_that_works_on_graphql(
    server: Server, world: World
) -> None:
    pair = _pair(await _login(server, "demo-supervisor", world.password))

    body = await server.graphql(VIEWER, token=pair["access_token"])

    assert body == {"data": {"viewer": {"username": "demo-supervisor", "role": "SUPERVISOR"}}}


async def test_given_a_fresh_account_with_its_password_then_login_works(
    server: Server, world: World
) -> None:
    account = await _new_account(server, world)

    pair = _pair(await _login(server, account.username, account.password))

    body = await server.graphql(VIEWER, token=pair["access_token"])
    assert body["data"]["viewer"] == {"username": account.username, "role": "AGENT"}


async def test_given_a_wrong_password_or_an_unknown_user_then_both_fail_alike(
    server: Server, world: World
) -> None:
    account = await _new_account(server, world)

    wrong_password = _error(
        await _login(server, account.username, "not-the-password"), 401, "UNAUTHENTICATED"
    )
    unknown_user = _error(
        await _login(server, f"nobody-{uuid.uuid4().hex[:8]}", account.password),
        401,
        "UNAUTHENTICATED",
    )

    assert wrong_password["message"] == unknown_user["message"]
    assert account.username not in wrong_password["message"]


async def test_given_too_many_wrong_passwords_then_even_the_right_one_is_refused(
    server: Server, world: World
) -> None:
    account = await _new_account(server, world)
    max_failures = server.state.settings.login_max_failures

    messages = {
        _error(await _login(server, account.username, f"wrong-{n}"), 401, "UNAUTHENTICATED")[
            "message"
        ]
        for n in range(max_failures)
    }
    locked = _error(
        await _login(server, account.username, account.password), 401, "UNAUTHENTICATED"
    )

    assert messages == {locked["message"]}  # a locked account says no more than a wrong password
    user = await _stored(server, account.user_id)
    assert user.locked_until is not None
    assert user.locked_until > utcnow()


async def test_given_fewer_wrong_passwords_than_the_limit_then_the_right_one_works_and_resets(
    server: Server, world: World
) -> None:
    account = await _new_account(server, world)
    max_failures = server.state.settings.login_max_failures

    for n in range(max_failures - 1):
        _error(await _login(server, account.username, f"wrong-{n}"), 401, "UNAUTHENTICATED")
    _pair(await _login(server, account.username, account.password))

    user = await _stored(server, account.user_id)
    assert (user.failed_logins, user.locked_until) == (0, None)
    # The count started again: another max-1 failures still leave the account open.
    for n in range(max_failures - 1):
        _error(await _login(server, account.username, f"again-{n}"), 401, "UNAUTHENTICATED")
    _pair(await _login(server, account.username, account.password))


async def test_given_an_inactive_account_then_its_right_password_is_refused(
    server: Server, world: World
) -> None:
    account = await _new_account(server, world)
    async with server.state.database.session() as session:
        user = await session.get(StaffUser, account.user_id)
        assert user is not None
        user.is_active = False
        await session.commit()

    _error(await _login(server, account.username, account.password), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"username=demo-agent&password=x", id="form-encoded"),
        pytest.param(b"{not json", id="broken-json"),
        pytest.param(b'["demo-agent", "x"]', id="array"),
        pytest.param(b'"demo-agent"', id="string"),
        pytest.param(b'{"username": "demo-agent"}', id="no-password"),
        pytest.param(b'{"password": "x"}', id="no-username"),
        pytest.param(b'{"username": "", "password": "x"}', id="empty-username"),
        pytest.param(b'{"username": "demo-agent", "password": 12345}', id="password-not-string"),
        pytest.param(b'{"username": ["demo-agent"], "password": "x"}', id="username-not-string"),
    ],
)
async def test_given_a_malformed_login_body_then_400_bad_user_input(
    server: Server, content: bytes
) -> None:
    response = await server.client.post(
        "/auth/login", content=content, headers={"Content-Type": "application/json"}
    )

    _error(response, 400, "BAD_USER_INPUT")


async def test_given_a_refresh_token_then_refresh_returns_a_new_working_pair(
    server: Server, world: World
) -> None:
    account = await _new_account(server, world)
    first = _pair(await _login(server, account.username, account.password))

    second = _pair(await _refresh(server, first["refresh_token"]))

    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    body = await server.graphql(VIEWER, token=second["access_token"])
    assert body["data"]["viewer"]["username"] == account.username
    third = _pair(await _refresh(server, second["refresh_token"]))
    assert third["refresh_token"] not in {first["refresh_token"], second["refresh_token"]}


async def test_given_a_used_refresh_token_reused_then_401_and_its_whole_family_is_revoked(
    server: Server, world: World
) -> None:
    account = await _new_account(server, world)
    first = _pair(await _login(server, account.username, account.password))
    second = _pair(await _refresh(server, first["refresh_token"]))

    _error(await _refresh(server, first["refresh_token"]), 401, "UNAUTHENTICATED")

    _error(await _refresh(server, second["refresh_token"]), 401, "UNAUTHENTICATED")


async def test_given_a_reused_refresh_token_then_the_access_tokens_of_its_family_are_refused(
    server: Server, world: World
) -> None:
    account = await _new_account(server, world)
    first = _pair(await _login(server, account.username, account.password))
    second = _pair(await _refresh(server, first["refresh_token"]))
    other_session = _pair(await _login(server, account.username, account.password))
    for pair in (first, second):
        assert "errors" not in await server.graphql(VIEWER, token=pair["access_token"])

    _error(await _refresh(server, first["refresh_token"]), 401, "UNAUTHENTICATED")

    for pair in (first, second):
        refused = await server.post(VIEWER, token=pair["access_token"])
        assert "sign in again" in _error(refused, 401, "UNAUTHENTICATED")["message"]
    body = await server.graphql(VIEWER, token=other_session["access_token"])
    assert body["data"]["viewer"]["username"] == account.username


async def test_given_a_family_revoked_then_another_sign_in_of_the_same_user_still_refreshes(
    server: Server, world: World
) -> None:
    account = await _new_account(server, world)
    stolen = _pair(await _login(server, account.username, account.password))
    other_session = _pair(await _login(server, account.username, account.password))
    _pair(await _refresh(server, stolen["refresh_token"]))
    _error(await _refresh(server, stolen["refresh_token"]), 401, "UNAUTHENTICATED")

    _pair(await _refresh(server, other_session["refresh_token"]))


async def test_given_an_unknown_refresh_token_then_401(server: Server) -> None:
    _error(await _refresh(server, uuid.uuid4().hex), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{}", id="no-token"),
        pytest.param(b'{"refresh_token": ""}', id="empty-token"),
        pytest.param(b'{"refresh_token": 1}', id="token-not-string"),
    ],
)
async def test_given_a_malformed_refresh_body_then_400_bad_user_input(
    server: Server, content: bytes
) -> None:
    response = await server.client.post(
        "/auth/refresh", content=content, headers={"Content-Type": "application/json"}
    )

    _error(response, 400, "BAD_USER_INPUT")

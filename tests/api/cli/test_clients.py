"""``cardcrm merchants`` and ``cardcrm clients`` as an operator runs them: subprocesses on a
database of the test's own."""

from __future__ import annotations

import re
import subprocess

import pytest
from sqlalchemy import select

from auth import clients, revocation
from auth.passwords import verify_password
from models.audit.audit import AuditEntry
from models.merchants.merchant import Merchant, OAuthClient
from tests.models.conftest import FreshDatabase

CREDENTIAL = re.compile(r"^(client_id|client_secret):\s+(\S+)$", re.MULTILINE)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    return " ".join(result.stderr.split())


def _credentials(output: str) -> dict[str, str]:
    return dict(CREDENTIAL.findall(output))


async def _client_row(fresh: FreshDatabase, client_id: str) -> OAuthClient:
    async with fresh.database() as database, database.session() as session:
        row = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
        assert row is not None
        return row


async def test_create_prints_the_secret_once_list_never_and_revoke_stops_the_client(
    fresh_database: FreshDatabase,
) -> None:
    _ok(await fresh_database.run_cli("merchants", "create", "星巴克", "--category", "dining"))

    created = _ok(
        await fresh_database.run_cli(
            "clients", "create", "--merchant", "星巴克", "--scopes", "offers:read offers:redeem"
        )
    )
    credentials = _credentials(created)
    client_id, secret = credentials["client_id"], credentials["client_secret"]
    listed = _ok(await fresh_database.run_cli("clients", "list"))
    revoked = _ok(await fresh_database.run_cli("clients", "revoke", client_id))
    listed_after = _ok(await fresh_database.run_cli("clients", "list"))

    assert created.count(secret) == 1
    assert "not shown again" in created
    assert client_id in listed
    assert secret not in listed + revoked + listed_after
    row = await _client_row(fresh_database, client_id)
    assert row.kind == "merchant"
    assert row.allowed_scopes == "offers:read offers:redeem"
    assert await verify_password(row.client_secret_hash, secret)
    assert secret not in row.client_secret_hash
    assert row.revoked_at is not None
    assert f"{row.revoked_at:%Y-%m-%d %H:%M}" in listed_after
    async with fresh_database.database() as database, database.session() as session:
        merchant = await session.get(Merchant, row.merchant_id)
        assert merchant is not None
        assert (merchant.name, merchant.category) == ("星巴克", "dining")
        assert await revocation.is_revoked(session, token_id="any", client_id=client_id)
        audited = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.target_id == client_id))
        )
    assert [(entry.action, entry.actor_kind) for entry in audited] == [
        ("client.create", "cli"),
        ("client.revoke", "cli"),
    ]


async def test_a_service_account_is_created_by_name_with_its_roles_scopes(
    fresh_database: FreshDatabase,
) -> None:
    created = _ok(
        await fresh_database.run_cli(
            "clients", "create", "--service", "--name", "feed", "--scopes", "transactions:write"
        )
    )

    row = await _client_row(fresh_database, _credentials(created)["client_id"])
    assert (row.kind, row.name, row.merchant_id) == ("service", "feed", None)
    assert row.allowed_scopes == "transactions:write"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--merchant", "Cafe", "--scopes", "offers:read admin"], "may hold only"),
        (["--service", "--name", "feed", "--scopes", "offers:read"], "may hold only"),
        (["--merchant", "Cafe", "--scopes", "offers:fly"], "unknown scope"),
        (["--merchant", "Nobody", "--scopes", "offers:read"], "cardcrm merchants create"),
        (["--merchant", "Cafe", "--service", "--scopes", "offers:read"], "exactly one"),
        (["--service", "--scopes", "transactions:write"], "needs a name"),
    ],
)
async def test_create_refuses_with_a_clear_error(
    fresh_database: FreshDatabase, args: list[str], says: str
) -> None:
    async with fresh_database.database() as database, database.session() as session:
        await clients.create_merchant(session, name="Cafe")

    refused = _refused(await fresh_database.run_cli("clients", "create", *args))

    assert says in refused
    async with fresh_database.database() as database, database.session() as session:
        assert list(await session.scalars(select(OAuthClient))) == []


async def test_revoking_an_unknown_client_fails_and_purge_reports_its_count(
    fresh_database: FreshDatabase,
) -> None:
    refused = _refused(await fresh_database.run_cli("clients", "revoke", "merchant-nobody"))
    purged = _ok(await fresh_database.run_cli("clients", "purge-revoked-tokens"))

    assert "no client" in refused
    assert "purged 0" in purged

"""OAuth clients: partner merchants' and service accounts' credentials, made and revoked here.

A client's secret is 256 random bits, shown once to whoever creates it and kept only as an
argon2id hash. What a client may ever be granted is fixed at creation: a subset of its role's
scopes (``auth.scopes.ROLE_SCOPES``). Revoking a client is immediate for tokens already
issued (``auth.revocation``). Creating and revoking are audited.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.passwords import hash_password
from auth.scopes import ROLE_SCOPES, format_scopes, parse_scopes
from core.errors import BadUserInput, NotFound
from core.identity import Role, Scope
from models.columns import utcnow
from models.merchants.merchant import Merchant, OAuthClient
from models.transactions.transaction import MerchantCategory

SECRET_BYTES = 32  # 256 bits


class ClientKind(StrEnum):
    MERCHANT = "merchant"
    SERVICE = "service"


KIND_ROLES = {ClientKind.MERCHANT: Role.MERCHANT, ClientKind.SERVICE: Role.SERVICE}


@dataclass(frozen=True)
class Actor:
    """Who manages clients, for the audit log (the CLI passes ``cli`` and the OS user)."""

    kind: str
    id: str


@dataclass(frozen=True)
class Credentials:
    """A new client and its secret: the only time the secret exists in clear."""

    client: OAuthClient
    client_secret: str


def role_of(client: OAuthClient) -> Role:
    return KIND_ROLES[ClientKind(client.kind)]


def allowed_scopes(client: OAuthClient) -> frozenset[Scope]:
    """The client's allowed scopes, never more than its role's (even if the row says so)."""
    return parse_scopes(client.allowed_scopes) & ROLE_SCOPES[role_of(client)]


def checked_scopes(kind: ClientKind, scopes: frozenset[Scope]) -> frozenset[Scope]:
    role_scopes = ROLE_SCOPES[KIND_ROLES[kind]]
    if not scopes:
        raise BadUserInput(
            f"give the client at least one scope: {format_scopes(role_scopes)}", field="scopes"
        )
    beyond = scopes - role_scopes
    if beyond:
        raise BadUserInput(
            f"a {kind} client may hold only {format_scopes(role_scopes)}; "
            f"not {format_scopes(beyond)}",
            field="scopes",
        )
    return scopes


async def create_merchant(
    session: AsyncSession, *, name: str, category: MerchantCategory = MerchantCategory.OTHER
) -> Merchant:
    name = name.strip()
    if not name:
        raise BadUserInput("a merchant needs a name", field="name")
    merchant = Merchant(name=name, category=category.value)
    session.add(merchant)
    await session.commit()
    return merchant


async def find_merchant(session: AsyncSession, name_or_id: str) -> Merchant:
    """The merchant with this id, or the one merchant with exactly this name."""
    with contextlib.suppress(ValueError):  # not an id: look it up by name
        merchant = await session.get(Merchant, uuid.UUID(name_or_id))
        if merchant is not None:
            return merchant
    found = list(await session.scalars(select(Merchant).where(Merchant.name == name_or_id)))
    if len(found) > 1:
        raise BadUserInput(f"{len(found)} merchants are named {name_or_id!r}; pass the id")
    if not found:
        raise NotFound(
            f"no merchant {name_or_id!r}; create it with `cardcrm merchants create NAME`"
        )
    return found[0]


async def create_client(
    session: AsyncSession,
    *,
    actor: Actor,
    scopes: frozenset[Scope],
    merchant: Merchant | None = None,
    name: str | None = None,
) -> Credentials:
    """A merchant's client when ``merchant`` is given, else a service account (named)."""
    kind = ClientKind.MERCHANT if merchant is not None else ClientKind.SERVICE
    if merchant is not None and not merchant.is_active:
        raise BadUserInput("this merchant is disabled; enable it first", field="merchant")
    name = (name or (merchant.name if merchant is not None else "")).strip()
    if not name:
        raise BadUserInput("a service account needs a name", field="name")
    granted = checked_scopes(kind, scopes)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    client = OAuthClient(
        client_id=f"{kind}-{secrets.token_hex(8)}",
        client_secret_hash=await hash_password(secret),
        name=name,
        kind=kind.value,
        merchant_id=merchant.id if merchant is not None else None,
        allowed_scopes=format_scopes(granted),
    )
    session.add(client)
    await session.flush()
    await audit.record_and_commit(session, _event(actor, "client.create", client))
    return Credentials(client, secret)


async def find_client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    return await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))


async def revoke_client(session: AsyncSession, *, actor: Actor, client_id: str) -> OAuthClient:
    """Revokes the client (the first revocation time stays); its tokens stop working now."""
    client = await find_client(session, client_id)
    if client is None:
        raise NotFound(f"no client {client_id!r}; `cardcrm clients list` shows them")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        session.add(client)
        await session.flush()
        await audit.record_and_commit(session, _event(actor, "client.revoke", client))
    return client


async def list_clients(session: AsyncSession) -> list[tuple[OAuthClient, Merchant | None]]:
    rows = await session.execute(
        select(OAuthClient, Merchant)
        .join(Merchant, col(OAuthClient.merchant_id) == col(Merchant.id), isouter=True)
        .order_by(col(OAuthClient.created_at), col(OAuthClient.client_id))
    )
    return [(client, merchant) for client, merchant in rows.tuples()]


def _event(actor: Actor, action: str, client: OAuthClient) -> audit.AuditEvent:
    return audit.AuditEvent(
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=action,
        target_type="OAuthClient",
        target_id=client.client_id,
        details={"kind": client.kind, "scopes": client.allowed_scopes},
    )

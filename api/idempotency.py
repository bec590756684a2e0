"""``Idempotency-Key`` for mutations (SPEC §4): a retried mutation returns the first response
and changes nothing twice.

The key is scoped to the caller. Before the mutation runs, a placeholder record claims the key
(a unique constraint makes the claim atomic across instances); the response is stored on it
afterwards. The same key with the same request replays the stored response; with a different
request, or while the first is still running, it is refused with CONFLICT. A request that
failed before producing a response releases its claim, so it can be retried. The HTTP view
asks ``claim_for`` for the request's claim: only a POSTed mutation (sent in full or by its
persisted-query hash) carrying the header has one.

A stored response may hold C2 values the mutation returned (a revealed phone number, an
offer's redemption code), so it is sealed like any C2 cell: AES-GCM under the key ring, bound
to the caller and key, never kept in clear; key rotation counts and re-seals it
(``models.sealed_responses``).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import OperationType
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select, update
from starlette.requests import Request
from starlette.responses import Response

from api.admission.limits import policy_in_force
from api.admission.operations import operation_type
from api.admission.persisted import PersistedQueries
from api.responses import error_response
from core.database import Database
from core.encryption import KeyRing
from core.errors import ErrorCode
from core.identity import Principal
from core.settings import Settings
from models.idempotency import IdempotencyRecord
from models.sealed_responses import response_aad

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 200
PENDING = "pending"
TOO_DEEP_TO_KEY = "`variables` are nested too deeply for an Idempotency-Key request; flatten them"


@dataclass(frozen=True)
class Claim:
    principal: str
    key: str
    request_hash: str


class KeyConflict(Exception):
    """The key is in use by another request (different, or still running)."""


def _aad(claim: Claim) -> bytes:
    return response_aad(claim.principal, claim.key)


def _sealed(ring: KeyRing, claim: Claim, body: bytes) -> str:
    return base64.b64encode(ring.seal(body.decode(), _aad(claim))).decode()


async def _opened(ring: KeyRing, claim: Claim, sealed: str) -> bytes:
    return (await ring.open_or_reload(base64.b64decode(sealed), _aad(claim))).encode()


def request_hash(payload: dict[str, Any]) -> str:
    canonical = {k: payload.get(k) for k in ("query", "variables", "operationName")}
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def claim_for(
    request: Request, principal: Principal, persisted: PersistedQueries, settings: Settings
) -> Claim | Response | None:
    """The claim for a POSTed mutation carrying an Idempotency-Key, else None; a refusal of
    a malformed key (or of variables too deep to key) as the response to send."""
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST":
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        return error_response(
            400,
            ErrorCode.BAD_USER_INPUT,
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
        )
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None  # strawberry answers the malformed body
    if not isinstance(payload, dict):
        return None
    query = payload.get("query")
    if query is None:  # a persisted query, sent by its hash
        allow_list = policy_in_force(settings, principal.client_id).allow_list
        query = await persisted.peek(payload.get("extensions"), allow_list=allow_list)
    kind = operation_type(query, payload.get("operationName"), max_tokens=settings.max_query_tokens)
    if kind is not OperationType.MUTATION:
        return None
    try:
        hashed = request_hash({**payload, "query": query})  # the text, or the hash
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (254), as it reads
        return error_response(400, ErrorCode.BAD_USER_INPUT, TOO_DEEP_TO_KEY)
    return Claim(principal.audit_actor, key, hashed)


async def claim_or_replay(database: Database, ring: KeyRing, claim: Claim) -> bytes | None:
    """Claims the key (returns None: go ahead) or returns the stored response to replay."""
    async with database.session() as session:
        session.add(
            IdempotencyRecord(
                principal=claim.principal,
                key=claim.key,
                request_hash=claim.request_hash,
                response={"status": PENDING},
            )
        )
        try:
            await session.commit()
            return None
        except IntegrityError:
            await session.rollback()
        existing = await session.scalar(
            select(IdempotencyRecord).where(
                col(IdempotencyRecord.principal) == claim.principal,
                col(IdempotencyRecord.key) == claim.key,
            )
        )
    if existing is None:  # released between our insert and our read: let the caller retry
        raise KeyConflict("this Idempotency-Key is being released; retry")
    if existing.request_hash != claim.request_hash:
        raise KeyConflict("this Idempotency-Key was already used for a different request")
    if existing.response.get("status") == PENDING:
        raise KeyConflict("a request with this Idempotency-Key is still running")
    return await _opened(ring, claim, existing.response["sealed"])


async def record(database: Database, ring: KeyRing, claim: Claim, body: bytes) -> None:
    async with database.session() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(
                col(IdempotencyRecord.principal) == claim.principal,
                col(IdempotencyRecord.key) == claim.key,
            )
            .values(response={"status": "done", "sealed": _sealed(ring, claim, body)})
        )
        await session.commit()


async def release(database: Database, claim: Claim) -> None:
    async with database.session() as session:
        await session.execute(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.principal) == claim.principal,
                col(IdempotencyRecord.key) == claim.key,
            )
        )
        await session.commit()

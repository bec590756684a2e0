"""Tokens from the bank's identity provider, verified against its JWKS served over real HTTP.

The verifier is built directly, with a clock the test moves, so cache lifetimes and refetch
intervals are stated in seconds rather than waited for; the JWKS endpoint, the signatures and
the HTTP client are all real. The end-to-end path through ``/graphql`` is in
tests/auth/test_external_staff.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import OctKey

from auth.oidc import ExternalIdentity, OidcVerifier, peek_issuer
from auth.scopes import ROLE_SCOPES
from core.errors import Unauthenticated
from core.identity import Role, Scope
from core.oidc_issuer import OidcIssuer
from tests.auth.bank_idp import (
    AUDIENCE,
    EC_KEY,
    ISSUER,
    KEY_2024,
    KEY_2025,
    OUTSIDER_KEY,
    BankIdp,
    bank_claims,
    bank_idp,
    bank_token,
)

CACHE_SECONDS = 3600
MIN_REFETCH_SECONDS = 60
MAX_LIFETIME = 24 * 3600


@dataclass
class Clock:
    now: float = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def idp() -> AsyncIterator[BankIdp]:
    async with bank_idp() as served:
        yield served


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def verifier(idp: BankIdp, clock: Clock) -> AsyncIterator[OidcVerifier]:
    built = _verifier(idp.issuer(), clock)
    yield built
    await built.aclose()


def _verifier(issuer: OidcIssuer, clock: Clock) -> OidcVerifier:
    return OidcVerifier(
        [issuer],
        max_lifetime=MAX_LIFETIME,
        jwks_cache_seconds=CACHE_SECONDS,
        jwks_min_refetch_seconds=MIN_REFETCH_SECONDS,
        jwks_timeout_seconds=2.0,
        clock=clock,
    )


async def _verify(verifier: OidcVerifier, token: str) -> ExternalIdentity:
    issuer = verifier.issuer_of(token)
    assert issuer is not None, "the token does not name the configured issuer"
    return await verifier.verify(token, issuer)


async def _refused(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        await _verify(verifier, token)
    return refused.value.message


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value).encode())


# --- a valid token and what it maps to ---------------------------------------------------


async def test_a_valid_bank_token_maps_to_the_agent_of_its_branch(
    verifier: OidcVerifier, idp: BankIdp
) -> None:
    identity = await _verify(verifier, bank_token())

    assert identity.issuer.issuer == ISSUER
    assert identity.subject == bank_claims()["sub"]
    assert identity.role is Role.AGENT
    assert identity.branch_code == "BJ-CY"
    assert identity.scopes == ROLE_SCOPES[Role.AGENT]
    assert identity.display_name == "王小明"
    assert identity.client_id == "cardcrm-console"
    assert idp.requests == 1


async def test_a_token_signed_with_the_banks_ec_key_is_accepted(
    verifier: OidcVerifier, idp: BankIdp
) -> None:
    idp.published = [KEY_2024, EC_KEY]

    identity = await _verify(verifier, bank_token(EC_KEY, alg="ES256"))

    assert identity.role is Role.AGENT


async def test_an_audience_list_that_includes_cardcrm_is_accepted(
    verifier: OidcVerifier,
) -> None:
    identity = await _verify(verifier, bank_token(aud=["bank-portal", AUDIENCE]))

    assert identity.role is Role.AGENT


async def test_when_several_bank_roles_map_then_the_first_in_the_mapping_wins(
    verifier: OidcVerifier,
) -> None:
    token = bank_token(roles=["crm-agent", "crm-supervisor", "staff-canteen"])

    identity = await _verify(verifier, token)

    assert identity.role is Role.SUPERVISOR  # listed before crm-agent in the mapping


async def test_a_role_claim_can_be_a_nested_path_and_a_single_string(
    idp: BankIdp, clock: Clock
) -> None:
    verifier = _verifier(idp.issuer(role_claim="realm_access.roles"), clock)
    try:
        nested = bank_token(roles=None, realm_access={"roles": ["crm-marketing"]})
        single = bank_token(roles=None, realm_access={"roles": "crm-marketing"})

        assert (await _verify(verifier, nested)).role is Role.MARKETER
        assert (await _verify(verifier, single)).role is Role.MARKETER
    finally:
        await verifier.aclose()


async def test_the_scope_claim_narrows_the_role_and_foreign_scope_names_are_ignored(
    verifier: OidcVerifier,
) -> None:
    token = bank_token(scope="openid profile customers:read admin pii:reveal")

    identity = await _verify(verifier, token)

    # admin is not an agent's scope: a bank token can never widen its role.
    assert identity.scopes == {Scope.CUSTOMERS_READ, Scope.PII_REVEAL}


async def test_a_scope_list_claim_is_read_like_a_scope_string(idp: BankIdp, clock: Clock) -> None:
    verifier = _verifier(idp.issuer(scope_claim="scp"), clock)
    try:
        identity = await _verify(verifier, bank_token(scp=["customers:read"]))
    finally:
        await verifier.aclose()

    assert identity.scopes == {Scope.CUSTOMERS_READ}


async def test_an_issuer_configured_without_a_scope_claim_grants_the_roles_scopes(
    idp: BankIdp, clock: Clock
) -> None:
    verifier = _verifier(idp.issuer(scope_claim=None), clock)
    try:
        identity = await _verify(verifier, bank_token(scope="openid"))
    finally:
        await verifier.aclose()

    assert identity.scopes == ROLE_SCOPES[Role.AGENT]


async def test_bank_branch_codes_are_mapped_and_an_unmapped_one_is_refused(
    idp: BankIdp, clock: Clock
) -> None:
    verifier = _verifier(idp.issuer(branch_codes={"0101": "BJ-CY"}), clock)
    try:
        identity = await _verify(verifier, bank_token(branch="0101"))
        message = await _refused(verifier, bank_token(branch="0999"))
    finally:
        await verifier.aclose()

    assert identity.branch_code == "BJ-CY"
    assert "not mapped" in message


async def test_an_agent_needs_a_branch_but_an_admin_does_not(verifier: OidcVerifier) -> None:
    message = await _refused(verifier, bank_token(branch=None))
    admin = await _verify(verifier, bank_token(roles=["crm-admin"], branch=None))

    assert "branch" in message
    assert (admin.role, admin.branch_code) == (Role.ADMIN, None)


async def test_a_token_without_a_mapped_role_is_refused(verifier: OidcVerifier) -> None:
    message = await _refused(verifier, bank_token(roles=["staff-canteen"]))

    assert "grants no cardcrm role" in message


async def test_a_subject_too_long_for_a_staff_username_is_refused(verifier: OidcVerifier) -> None:
    message = await _refused(verifier, bank_token(sub="x" * 60))

    assert "subject is longer" in message


# --- what the verifier refuses -----------------------------------------------------------


async def test_a_token_for_another_audience_is_refused(verifier: OidcVerifier) -> None:
    message = await _refused(verifier, bank_token(aud="bank-portal"))

    assert "aud" in message


async def test_an_expired_token_is_refused(verifier: OidcVerifier) -> None:
    now = int(time.time())

    message = await _refused(verifier, bank_token(iat=now - 600, exp=now - 120))

    assert "exp" in message


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_a_token_from_the_future_is_refused(verifier: OidcVerifier, claim: str) -> None:
    later = int(time.time()) + 600
    claims: dict[str, Any] = {claim: later, "exp": later + 300}

    message = await _refused(verifier, bank_token(**claims))

    assert claim in message


async def test_a_token_that_lives_longer_than_cardcrm_accepts_is_refused(
    verifier: OidcVerifier,
) -> None:
    now = int(time.time())

    message = await _refused(verifier, bank_token(iat=now, exp=now + MAX_LIFETIME + 60))

    assert "lives longer" in message


@pytest.mark.parametrize("claim", ["sub", "iat", "exp", "aud"])
async def test_a_token_missing_a_required_claim_is_refused(
    verifier: OidcVerifier, claim: str
) -> None:
    missing: dict[str, Any] = {claim: None}

    message = await _refused(verifier, bank_token(**missing))

    assert claim in message


async def test_an_unsigned_alg_none_token_is_refused(verifier: OidcVerifier) -> None:
    token = f"{_segment({'alg': 'none', 'kid': KEY_2024.kid})}.{_segment(bank_claims())}."

    message = await _refused(verifier, token)

    assert "algorithm" in message


async def test_hs256_signed_with_the_banks_public_key_is_refused(verifier: OidcVerifier) -> None:
    """The classic confusion: the public key, which anyone can fetch, used as an HMAC secret."""
    header = {"alg": "HS256", "typ": "JWT", "kid": KEY_2024.kid}
    signing_input = f"{_segment(header)}.{_segment(bank_claims())}"
    secret = KEY_2024.as_pem(private=False)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()

    message = await _refused(verifier, f"{signing_input}.{_b64url(signature)}")

    assert "algorithm" in message


async def test_an_algorithm_outside_the_issuers_allow_list_is_refused(
    idp: BankIdp, clock: Clock
) -> None:
    verifier = _verifier(idp.issuer(algorithms=["ES256"]), clock)
    try:
        message = await _refused(verifier, bank_token())
    finally:
        await verifier.aclose()

    assert "algorithm" in message


async def test_a_token_signed_by_an_outsider_under_the_banks_kid_is_refused(
    verifier: OidcVerifier,
) -> None:
    header = {"alg": "RS256", "kid": KEY_2024.kid}
    forged = jwt.encode(header, bank_claims(), OUTSIDER_KEY, algorithms=["RS256"])

    message = await _refused(verifier, forged)

    assert "signature" in message


async def test_a_jku_header_is_never_followed(verifier: OidcVerifier, idp: BankIdp) -> None:
    """Only the configured jwks_uri is fetched, whatever URL a token points at."""
    header = {"alg": "RS256", "kid": OUTSIDER_KEY.kid, "jku": f"{idp.base_url}/evil/jwks"}
    token = jwt.encode(header, bank_claims(), OUTSIDER_KEY, algorithms=["RS256"])

    await _refused(verifier, token)

    assert idp.other_requests == 0
    assert idp.requests == 1  # the configured endpoint, which does not know the kid


@given(st.text(max_size=200))
def test_peeking_at_any_text_never_raises(text: str) -> None:
    issuer = peek_issuer(text)

    assert issuer is None or isinstance(issuer, str)


def test_a_token_naming_another_issuer_is_not_the_banks(verifier: OidcVerifier) -> None:
    assert verifier.issuer_of(bank_token(iss="https://idp.elsewhere.test")) is None
    assert verifier.issuer_of("not a token") is None


# --- keys: caching, rotation, outages ----------------------------------------------------


async def test_keys_are_fetched_once_and_then_served_from_the_cache(
    verifier: OidcVerifier, idp: BankIdp
) -> None:
    for _ in range(10):
        await _verify(verifier, bank_token())

    assert idp.requests == 1


async def test_cached_keys_are_refetched_when_they_are_older_than_the_cache_lifetime(
    verifier: OidcVerifier, idp: BankIdp, clock: Clock
) -> None:
    await _verify(verifier, bank_token())
    clock.advance(CACHE_SECONDS + 1)

    await _verify(verifier, bank_token())

    assert idp.requests == 2


async def test_after_the_bank_rotates_its_key_new_tokens_pass_and_old_ones_fail(
    verifier: OidcVerifier, idp: BankIdp, clock: Clock
) -> None:
    # given keys fetched a while ago, with the 2024 key
    await _verify(verifier, bank_token(KEY_2024))
    clock.advance(MIN_REFETCH_SECONDS + 1)
    # when the bank replaces its key
    idp.published = [KEY_2025]

    # then a token with the unknown kid makes cardcrm refetch once, and it passes
    identity = await _verify(verifier, bank_token(KEY_2025))
    assert identity.role is Role.AGENT
    assert idp.requests == 2
    # and a token with the retired key is refused, without another fetch so soon
    message = await _refused(verifier, bank_token(KEY_2024))
    assert "signature" in message
    assert idp.requests == 2


async def test_during_a_rotation_both_published_keys_are_accepted(
    verifier: OidcVerifier, idp: BankIdp
) -> None:
    idp.published = [KEY_2024, KEY_2025]

    await _verify(verifier, bank_token(KEY_2024))
    await _verify(verifier, bank_token(KEY_2025))

    assert idp.requests == 1


async def test_a_flood_of_unknown_kids_costs_the_bank_one_request_per_interval(
    verifier: OidcVerifier, idp: BankIdp, clock: Clock
) -> None:
    await _verify(verifier, bank_token())  # request 1
    bogus = [bank_token(OUTSIDER_KEY) for _ in range(50)]

    await asyncio.gather(*(_refused(verifier, token) for token in bogus))
    assert idp.requests == 1  # the last fetch was just now: no refetch at all

    clock.advance(MIN_REFETCH_SECONDS + 1)
    await asyncio.gather(*(_refused(verifier, token) for token in bogus))
    assert idp.requests == 2  # one refetch for the whole burst

    await _verify(verifier, bank_token())  # the real key still works throughout
    assert idp.requests == 2


async def test_when_the_jwks_answers_503_the_cached_keys_keep_working(
    verifier: OidcVerifier, idp: BankIdp, clock: Clock
) -> None:
    await _verify(verifier, bank_token())
    idp.failing = True
    clock.advance(CACHE_SECONDS + 1)

    identity = await _verify(verifier, bank_token())

    assert identity.role is Role.AGENT
    assert idp.requests == 2  # it tried, failed, and kept the keys


async def test_when_the_jwks_server_is_gone_the_cached_keys_keep_working(
    verifier: OidcVerifier, idp: BankIdp, clock: Clock
) -> None:
    await _verify(verifier, bank_token())
    await idp.stop()
    clock.advance(CACHE_SECONDS + 1)

    for _ in range(3):
        identity = await _verify(verifier, bank_token())

    assert identity.role is Role.AGENT


async def test_without_any_keys_tokens_are_refused_and_the_jwks_is_not_hammered(
    verifier: OidcVerifier, idp: BankIdp, clock: Clock
) -> None:
    idp.failing = True

    for _ in range(5):
        message = await _refused(verifier, bank_token())
    assert "unavailable" in message
    assert idp.requests == 1

    idp.failing = False
    clock.advance(MIN_REFETCH_SECONDS + 1)
    assert (await _verify(verifier, bank_token())).role is Role.AGENT
    assert idp.requests == 2


async def test_a_jwks_without_a_signature_key_is_not_accepted_as_a_key_set(
    verifier: OidcVerifier, idp: BankIdp
) -> None:
    encryption = KEY_2024.as_dict(private=False) | {"use": "enc"}
    idp.published = [OctKey.generate_key(256), KEY_2024.import_key(encryption)]

    message = await _refused(verifier, bank_token())

    assert "unavailable" in message

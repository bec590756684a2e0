"""Trusted external issuers in the settings: what a misconfiguration is refused at start-up."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from core.identity import Role
from core.oidc_issuer import OidcIssuer
from core.settings import Environment, Settings

BANK: dict[str, Any] = {
    "name": "bank",
    "issuer": "https://idp.bank.test/realms/staff",
    "audience": "cardcrm-api",
    "jwks_uri": "https://idp.bank.test/realms/staff/certs",
    "roles": {"crm-supervisor": "supervisor", "crm-agent": "agent"},
}


def _issuer(**overrides: Any) -> OidcIssuer:
    return OidcIssuer.model_validate(BANK | overrides)


def test_issuers_are_read_from_a_json_list_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CARDCRM_OIDC_ISSUERS", json.dumps([BANK]))

    (issuer,) = Settings(environment=Environment.TEST).oidc_issuers

    assert issuer.issuer == BANK["issuer"]
    assert issuer.algorithms == ("RS256", "ES256")
    assert list(issuer.roles.items()) == [
        ("crm-supervisor", Role.SUPERVISOR),
        ("crm-agent", Role.AGENT),
    ]
    assert issuer.username_for("8f14e45f") == "bank:8f14e45f"


def test_by_default_no_external_issuer_is_trusted() -> None:
    assert Settings(environment=Environment.TEST).oidc_issuers == []


@pytest.mark.parametrize("algorithm", ["none", "HS256", "HS512", "RSA-OAEP"])
def test_an_algorithm_that_is_not_an_asymmetric_signature_is_refused(algorithm: str) -> None:
    with pytest.raises(ValidationError, match="algorithms may only name"):
        _issuer(algorithms=["RS256", algorithm])


@pytest.mark.parametrize("role", ["customer", "merchant", "service"])
def test_an_external_issuer_can_never_mint_a_non_staff_principal(role: str) -> None:
    with pytest.raises(ValidationError, match="staff roles only"):
        _issuer(roles={"crm-agent": "agent", "everyone": role})


def test_a_role_mapping_is_required() -> None:
    with pytest.raises(ValidationError):
        _issuer(roles={})


@pytest.mark.parametrize("field", ["issuer", "jwks_uri"])
def test_issuer_and_jwks_locations_must_be_absolute_urls(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        _issuer(**{field: "/realms/staff"})


@pytest.mark.parametrize("name", ["Bank", "bank:staff", "", "a-name-longer-than-sixteen"])
def test_an_issuer_name_is_a_short_lowercase_label(name: str) -> None:
    with pytest.raises(ValidationError):
        _issuer(name=name)


def test_an_issuer_may_not_pose_as_cardcrm_itself() -> None:
    with pytest.raises(ValidationError, match="cardcrm's own issuer"):
        Settings(oidc_issuers=[_issuer(issuer="https://cardcrm.local")])


def test_two_issuers_may_not_share_a_name() -> None:
    other = _issuer(issuer="https://idp.other.test")

    with pytest.raises(ValidationError, match="its own `name`"):
        Settings(oidc_issuers=[_issuer(), other])


def test_production_fetches_keys_over_https_only() -> None:
    plain = _issuer(jwks_uri="http://idp.bank.test/certs")

    with pytest.raises(ValidationError, match="https only"):
        Settings(
            environment=Environment.PRODUCTION,
            master_key="x",
            signing_key_file="/keys/signing.pem",
            database_url="postgresql://db/cardcrm",
            oidc_issuers=[plain],
        )

"""The long-lived parts of a running server, built once at start-up (``build_state``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from api.key_ring import KeyRingKeeper
from auth.audit_key import attach_chain_key
from auth.external_staff import ExternalStaffDirectory
from auth.oidc import OidcVerifier
from auth.tokens import TokenService, load_or_create_signing_key
from core.broker import Broker, create_broker
from core.customer_key_cache import CustomerKeyCache
from core.database import Database, Timeouts
from core.encryption import KeyRing
from core.settings import Settings
from migrations import assert_migrated
from models.key_store import load_key_ring, master_key_from_settings
from resolvers.growth.tier_catalogue import TierCatalogue

Part = TypeVar("Part")


@dataclass
class AppState:
    settings: Settings
    database: Database
    # The current key ring, replaced when keys rotate (api/key_ring.py); read ``key_ring``.
    keys: KeyRingKeeper
    tokens: TokenService
    broker: Broker
    # Staff tokens from the bank's identity provider (auth/authenticate.py routes to them).
    oidc: OidcVerifier
    external_staff: ExternalStaffDirectory
    tiers: TierCatalogue

    def part(self, kind: type[Part]) -> Part:
        """The one long-lived part of this class (``core.context.ServerState.part``)."""
        for candidate in (self.tiers,):
            if isinstance(candidate, kind):
                return candidate
        raise LookupError(f"the server keeps no {kind.__name__}")

    @property
    def key_ring(self) -> KeyRing:
        """This process's key ring as of now (hold it for one unit of work, not longer)."""
        return self.keys.ring


def token_service(settings: Settings) -> TokenService:
    key_path = settings.signing_key_file or settings.var_dir / "keys" / "signing-key.pem"
    return TokenService(
        load_or_create_signing_key(key_path),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        default_ttl=settings.access_token_ttl_seconds,
        max_lifetime=settings.max_token_lifetime_seconds,
    )


def oidc_verifier(settings: Settings) -> OidcVerifier:
    return OidcVerifier(
        settings.oidc_issuers,
        max_lifetime=settings.max_token_lifetime_seconds,
        jwks_cache_seconds=settings.oidc_jwks_cache_seconds,
        jwks_min_refetch_seconds=settings.oidc_jwks_min_refetch_seconds,
        jwks_timeout_seconds=settings.oidc_jwks_timeout_seconds,
    )


def serving_timeouts(settings: Settings) -> Timeouts:
    """The bounds a serving process puts on every wait for the database (core.settings)."""
    return Timeouts(
        connect_seconds=settings.database_connect_timeout_seconds,
        pool_seconds=settings.database_pool_timeout_seconds,
        statement_seconds=settings.database_statement_timeout_seconds,
    )


async def build_state(
    settings: Settings, *, check_migrations: bool = True, timeouts: Timeouts | None = None
) -> AppState:
    """``timeouts``: the server's (``serving_timeouts``); a CLI command passes none, since its
    batch statements may legitimately run long."""
    database = Database(
        settings.sqlalchemy_url,
        pool_size=settings.database_pool_size,
        echo=settings.database_echo,
        timeouts=timeouts,
    )
    try:
        if check_migrations:
            await assert_migrated(database.engine)
        master = master_key_from_settings(settings)
        async with database.session() as session:
            ring = await load_key_ring(session, master)
            await attach_chain_key(session, master)
        ring.customer_keys = CustomerKeyCache(settings.customer_key_cache_size)
    except BaseException:
        await database.dispose()
        raise
    return AppState(
        settings=settings,
        database=database,
        keys=KeyRingKeeper(database, master, ring),
        tokens=token_service(settings),
        broker=create_broker(settings.redis_url),
        oidc=oidc_verifier(settings),
        external_staff=ExternalStaffDirectory(
            database, sync_seconds=settings.oidc_staff_sync_seconds
        ),
        tiers=TierCatalogue(settings.reference_cache_seconds),
    )

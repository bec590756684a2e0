"""The one settings object of cardcrm.

Every tunable lives here and is read from the environment (prefix ``CARDCRM_``, plus the
conventional ``DATABASE_URL`` and ``REDIS_URL``). Outside development the settings refuse to
start with development conveniences: a generated master key or signing key is only
acceptable on a developer's machine.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.oidc_issuer import OidcIssuer, check_issuers
from core.settings_rules import BusinessRuleSettings


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(RuntimeError):
    """A setting is missing or unsafe; the message says which variable to set."""


class Settings(BusinessRuleSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARDCRM_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    # Development keys and the embedded SQLite file; relative to the working directory.
    var_dir: Path = Path("var")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CARDCRM_DATABASE_URL")
    )
    database_pool_size: int = 10
    database_echo: bool = False
    # A database that stops answering (core/outage.py): the serving process waits at most this
    # long for a new connection (asyncpg `timeout`), for a pooled connection when all are in
    # use (`pool_timeout`), and for one statement (asyncpg `command_timeout`; on SQLite the
    # busy timeout, how long a write waits for another's lock). Then the request is answered
    # 503 SERVICE_UNAVAILABLE with `Retry-After: database_retry_after_seconds`. CLI commands
    # keep no statement timeout: their batches may run long. /readyz answers 503 when the
    # database has not answered within readiness_timeout_seconds.
    database_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    database_pool_timeout_seconds: float = Field(default=3.0, gt=0)
    database_statement_timeout_seconds: float = Field(default=5.0, gt=0)
    database_retry_after_seconds: int = Field(default=5, ge=1)
    readiness_timeout_seconds: float = Field(default=0.5, gt=0)
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CARDCRM_REDIS_URL")
    )

    # Keys. The master key wraps the data keys stored in the database (base64, 32 bytes).
    master_key: str | None = None
    master_key_file: Path | None = None
    # PEM of the RS256 private key that signs access tokens.
    signing_key_file: Path | None = None
    # How often a server asks the database for the newest data-key version (api/key_ring.py):
    # it seals under a rotated key at most this long after `cardcrm keys rotate`.
    key_check_seconds: float = Field(default=1.0, gt=0)
    # How many customers' own keys a process keeps opened
    # (core.customer_key_cache.CustomerKeyCache); one dropped is opened again, with others a
    # page needs, in one statement.
    customer_key_cache_size: int = Field(default=100_000, ge=1)

    # Tokens (RFC 9068 access tokens, rotating refresh tokens).
    token_issuer: str = "https://cardcrm.local"
    token_audience: str = "cardcrm-api"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    customer_token_max_ttl_seconds: int = 24 * 3600
    # Any token whose exp - iat exceeds this is refused, whoever signed it.
    max_token_lifetime_seconds: int = 24 * 3600

    # Login protection.
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    # A staff password someone chooses (after a one-time password): at least this long, with
    # letters and digits, and not the username (auth/password_rule.py).
    password_min_length: int = Field(default=12, ge=8, le=128)

    # Audited reveal of PII.
    reveal_limit_per_hour: int = 20
    reveal_min_purpose_length: int = 10
    # Exact-match lookups (customerByPhone, customerByIdNumber, createCustomer's duplicate
    # conflicts) per actor an hour, counted in the audit log (resolvers/customers/disclosure.py).
    lookup_limit_per_hour: int = Field(default=30, ge=0)
    # ...and misses per masked form of the value a day (guessing at one masked value).
    lookup_misses_per_masked_value: int = Field(default=2, ge=0)

    # Complaint SLA: hours to resolve by severity, capped by the tier's serviceLevelHours.
    sla_hours_critical: int = 24
    sla_hours_high: int = 72
    sla_hours_medium: int = 7 * 24
    sla_hours_low: int = 15 * 24
    # Do-not-disturb windows are in the customer's local time.
    contact_timezone: str = "Asia/Shanghai"

    # Live updates.
    max_subscriptions_per_connection: int = 20

    # Rate limits (api/rate_limit.py): token buckets holding a burst of `*_burst` requests,
    # refilled at `*_per_second`; in Redis when REDIS_URL is set (shared by all instances),
    # else in this process. /graphql is limited per principal (token subject), /auth/login
    # and /oauth/token per client address (behind a load balancer, see forwarded_allow_ips).
    rate_limits_enabled: bool = True
    graphql_rate_burst: int = Field(default=100, ge=1)
    graphql_rate_per_second: float = Field(default=10.0, gt=0)
    login_rate_burst: int = Field(default=10, ge=1)
    login_rate_per_second: float = Field(default=0.2, gt=0)  # 12 a minute
    oauth_token_rate_burst: int = Field(default=20, ge=1)
    oauth_token_rate_per_second: float = Field(default=1.0, gt=0)
    # Addresses of the load balancers whose X-Forwarded-For uvicorn trusts to name the
    # client (comma-separated, or "*"); unset, the TCP peer is the client.
    forwarded_allow_ips: str | None = None

    # Observability (api/observability.py, api/metrics.py). Operation names become metric
    # labels up to this many distinct names per process; later ones count as "other".
    metrics_max_operation_names: int = 200
    # When set, GET /metrics needs `Authorization: Bearer <metrics_token>`.
    metrics_token: str | None = None
    # On SIGTERM, in-flight requests get this long to finish before they are cancelled.
    graceful_shutdown_seconds: int = 25

    # The compiled executor (api/compiled/): queries planned once and run without
    # graphql-core's per-field machinery; false runs everything on the standard executor.
    compiled_operations: bool = True
    # Queries over customers planned as SQL (api/compiled/sql/); false: the compiled
    # executor's resolvers answer them (a switch for comparing the two, and a way back).
    sql_planner: bool = True
    # Once started, freeze the start-up objects out of the garbage collector's sight and let
    # this many young objects gather before a collection (api/runtime.py); 0: Python's way.
    gc_young_threshold: int = Field(default=10_000, ge=0)
    # Reference data (the tiers) is kept per process this long (resolvers/growth/tier_catalogue.py).
    reference_cache_seconds: float = Field(default=60.0, ge=0)

    # Pagination.
    default_page_size: int = 20
    max_page_size: int = 100

    # Abuse limits (api/admission/limits.py, api/admission/cost.py, api/body_limit.py), all checked
    # before any resolver runs. Depth counts nested field levels; introspection has its own
    # allowance (the standard introspection query is 15 deep) and is refused outright in production.
    max_query_tokens: int = Field(default=1000, ge=1)
    max_query_depth: int = Field(default=10, ge=1)
    max_introspection_depth: int = Field(default=15, ge=1)
    max_query_aliases: int = Field(default=15, ge=0)
    max_query_directives: int = Field(default=50, ge=0)
    max_field_repeats: int = Field(default=50, ge=1)  # one field (or fragment) per selection
    max_query_cost: int = Field(default=5000, ge=1)
    max_request_bytes: int = Field(default=1024 * 1024, ge=1)
    execution_timeout_seconds: float = Field(default=10.0, gt=0)
    # Batched (JSON array) requests: off unless enabled, then at most this many operations.
    batching_enabled: bool = False
    max_batch_size: int = Field(default=10, ge=1)
    # Per client: keys are an OAuth client id ("partner-acme") or a client id and app version
    # ("cardcrm-mobile/3.2.0", from the X-App-Version header); the version key wins. The
    # admin role is not exempt from anything here.
    client_max_query_cost: dict[str, int] = {}
    client_allow_lists: dict[str, str] = {}

    # Persisted queries (api/admission/persisted.py): Apollo's automatic persisted queries, in Redis
    # when REDIS_URL is set (shared by all instances), else in this process. In allow-list mode only
    # operations imported with `cardcrm persisted import` run. Manifests named here (allow-list name
    # → file) are loaded at start-up, for deployments without Redis.
    persisted_allow_list_only: bool = False
    persisted_query_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    persisted_memory_entries: int = Field(default=10_000, ge=1)
    persisted_key_prefix: str = "cardcrm:pq:"
    persisted_manifests: dict[str, Path] = {}

    # Transaction ingest: rows per `ingestTransactions` call, rows per committed import batch.
    ingest_max_rows: int = 1000
    import_batch_rows: int = 5000
    # `cardcrm import customers`: customers per committed chunk (each sealed in a worker
    # thread while the previous chunk is written).
    customer_import_chunk_rows: int = 1000

    # OAuth clients (partner merchants, service accounts).
    client_token_ttl_seconds: int = 3600
    # Statistics shown to merchants and marketers hide any group of fewer customers.
    stats_min_group_size: int = 5

    # Staff identity from the bank: trusted external OIDC issuers (auth/oidc.py), a JSON list
    # in CARDCRM_OIDC_ISSUERS. Their public keys are cached this long, refetched for an
    # unknown `kid` at most once per min-refetch interval, and kept while the JWKS is down.
    oidc_issuers: list[OidcIssuer] = []
    oidc_jwks_cache_seconds: int = 3600
    oidc_jwks_min_refetch_seconds: int = 60
    oidc_jwks_timeout_seconds: float = 5.0
    # A bank user's staff row (role, branch, active) is re-synchronised at most this often.
    oidc_staff_sync_seconds: int = 300

    # Audit chain anchoring (auth/audit_checkpoint.py): PEM of the Ed25519 key that signs
    # checkpoints (development: generated once into var/keys/), and how often a running server
    # signs one when the chain has grown (0: only `cardcrm audit checkpoint`).
    audit_checkpoint_key_file: Path | None = None
    audit_checkpoint_minutes: float = Field(default=15.0, ge=0)

    # Webhook delivery (resolvers/events/delivery.py, `cardcrm events deliver`): a worker holds
    # a subscription's lease this long (renewed per event); a failed POST is retried after
    # base * 2**(attempt-1) seconds (capped), and after max_attempts the event is dead-lettered
    # and the cursor moves on. A POST waits at most timeout seconds. events_poll_seconds: how
    # long the loop sleeps when nothing is due. events_deliver_in_serve: `serve` runs a worker.
    events_lease_seconds: float = Field(default=30.0, gt=0)
    events_backoff_base_seconds: float = Field(default=2.0, ge=0)
    events_backoff_max_seconds: float = Field(default=3600.0, ge=0)
    events_max_attempts: int = Field(default=8, ge=1)
    events_timeout_seconds: float = Field(default=10.0, gt=0)
    events_poll_seconds: float = Field(default=1.0, gt=0)
    events_batch_size: int = Field(default=100, ge=1)
    events_deliver_in_serve: bool = False

    @model_validator(mode="after")
    def _check_oidc_issuers(self) -> Settings:
        check_issuers(
            self.oidc_issuers,
            own_issuer=self.token_issuer,
            production=self.environment is Environment.PRODUCTION,
        )
        return self

    @model_validator(mode="after")
    def _refuse_development_shortcuts_in_production(self) -> Settings:
        if self.environment is not Environment.PRODUCTION:
            return self
        missing = []
        if not (self.master_key or self.master_key_file):
            missing.append("CARDCRM_MASTER_KEY (or CARDCRM_MASTER_KEY_FILE)")
        if not self.signing_key_file:
            missing.append("CARDCRM_SIGNING_KEY_FILE")
        if not self.audit_checkpoint_key_file:
            missing.append("CARDCRM_AUDIT_CHECKPOINT_KEY_FILE")
        if not self.database_url:
            missing.append("DATABASE_URL")
        if missing:
            raise SettingsError(
                "production needs "
                + ", ".join(missing)
                + "; development keys are never used outside development"
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment is not Environment.PRODUCTION

    @property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL: PostgreSQL through asyncpg, else a SQLite file in var/."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{self.var_dir / 'cardcrm.db'}"
        url = self.database_url
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url

    @property
    def is_postgres(self) -> bool:
        return self.sqlalchemy_url.startswith("postgresql")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""The one settings object of cardcrm.

Every tunable lives here and is read from the environment (prefix ``CARDCRM_``, plus the
conventional ``DATABASE_URL`` and ``REDIS_URL``). Outside development the settings refuse to
start with development conveniences: a generated master key or signing key is only
acceptable on a developer's machine.
"""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.oidc_issuer import OidcIssuer, check_issuers


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(RuntimeError):
    """A setting is missing or unsafe; the message says which variable to set."""


class Settings(BaseSettings):
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

    # Statements (resolvers/cards/statements.py): the minimum payment is this share of the
    # statement balance (in basis points: 1000 = 10 %), plus fees, never above the balance.
    statement_minimum_payment_basis_points: int = Field(default=1000, ge=0, le=10_000)

    # Collections (resolvers/collections/): no collection contact from quiet_start to
    # quiet_end, the bank's local time (contact_timezone), and at most this many attempts per
    # customer and local day. The marketing consent rules do not apply to collection.
    collection_quiet_start: time = time(21, 0)
    collection_quiet_end: time = time(8, 0)
    collection_max_contacts_per_day: int = Field(default=3, ge=1)
    # Repayment reminders (`cardcrm collections remind`): the days before a statement's due
    # date a reminder goes out, by the customer's risk grade (more, earlier, for worse grades).
    repayment_reminder_days: dict[str, list[int]] = Field(
        default_factory=lambda: {"A": [3], "B": [3], "C": [7, 3], "D": [7, 3, 1], "E": [7, 3, 1]}
    )

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

    # Lifecycle evaluation (resolvers/growth/lifecycle_rules.py reads these and nothing else does).
    evaluation_window_days: int = 90
    lifecycle_new_days: int = 90
    lifecycle_active_recency_days: int = 30  # a loyal customer's last transaction is this recent
    lifecycle_loyal_min_frequency: int = 24
    lifecycle_loyal_min_tenure_days: int = 365
    # 0.5: either warning sign alone (silence, or a spend drop) makes a customer at risk.
    lifecycle_at_risk_score: float = 0.5
    lifecycle_dormant_days: int = 90
    lifecycle_churned_days: int = 180
    churn_inactive_days: int = 45
    churn_spend_drop_ratio: float = 0.6
    # Spend and frequency of the last N days are compared with the N days before.
    churn_compare_days: int = 90
    segment_high_frequency_min: int = 30
    segment_big_ticket_min_cents: int = 200_000
    segment_category_share: float = 0.3
    # A supervisor's tier override holds this long before evaluation may change the tier.
    tier_override_days: int = 365
    # A temporary credit limit ends at most this many days after the request (issue 14).
    credit_limit_temporary_max_days: int = Field(default=90, ge=1)

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
    # Customers per committed batch of `cardcrm evaluate` (each batch audited with it).
    evaluation_batch_rows: int = Field(default=5000, ge=1)
    # The risk grade (resolvers/risk/grade_rules.py reads these and nothing else does): each
    # warning sign adds points; 0 points A, 1 B, 2 C, 3 D, 4 or more E. A customer with no
    # statement yet is C at best (a new customer's grade).
    # Utilisation: booked balance over the credit limits of their open cards.
    risk_utilisation_high: float = 0.8  # 1 point
    risk_utilisation_over: float = 1.0  # 2 points: at or over the limit
    # Current overdue, the worst of their cards' days past due: 1+ days 2 points (C),
    # this many 3 (D), this many 4 (E).
    risk_overdue_d_days: int = Field(default=31, ge=1)
    risk_overdue_e_days: int = Field(default=91, ge=1)
    # Overdue history: statements not paid by their due date in the last 365 days;
    # this many 1 point, this many 2.
    risk_missed_statements: int = Field(default=1, ge=1)
    risk_missed_statements_severe: int = Field(default=3, ge=1)
    # Repayment ratio over the last N days: repayments / balances of the statements due then.
    risk_repayment_window_days: int = Field(default=90, ge=1)
    risk_low_repayment_ratio: float = 0.3  # below it, 1 point
    # Spending spike: spend of the last churn_compare_days at least this many times the
    # period before (which had some spend), and at least this much (cents): 1 point.
    risk_spike_ratio: float = 3.0
    risk_spike_min_cents: int = 500_000
    # Cash-like spending: MerchantCategory has no cash or quasi-cash category; "other" holds
    # what the feed could not place (transfers, prepaid cards, gambling, cash advances), so
    # it counts as cash-like. A share of the window's spend at least this, and at least this
    # much (cents): 1 point.
    risk_cash_like_categories: list[str] = ["other"]
    risk_cash_like_share: float = 0.5
    risk_cash_like_min_cents: int = 100_000

    @model_validator(mode="after")
    def _check_reminder_days(self) -> Settings:
        grades = set(self.repayment_reminder_days)
        days = [day for all_days in self.repayment_reminder_days.values() for day in all_days]
        if not grades <= set("ABCDE") or any(day < 1 for day in days):
            raise ValueError(
                "repayment_reminder_days maps risk grades A–E to days before the due date (≥ 1)"
            )
        return self

    # Fraud and risk alert rules (resolvers/risk/rules.py reads these and nothing else does).
    # Velocity: at least N purchases on one card within M minutes.
    risk_velocity_count: int = Field(default=5, ge=2)
    risk_velocity_minutes: int = Field(default=10, ge=1)
    # Amount spike: a purchase at least K times the customer's usual one (monetary / frequency
    # of their last evaluation, once they have made at least the minimum number of purchases)
    # and at least the floor.
    risk_spike_factor: float = Field(default=5.0, gt=1)
    risk_spike_min_frequency: int = Field(default=3, ge=1)
    risk_spike_floor_cents: int = Field(default=100_000, ge=0)
    # A new category at an unusual local hour (contact_timezone): from hour start (included) to
    # hour end (excluded); 0 and 5 mean 00:00-05:00.
    risk_unusual_hour_start: int = Field(default=0, ge=0, le=23)
    risk_unusual_hour_end: int = Field(default=5, ge=1, le=24)
    # Foreign currency: the first transaction in another currency than this one.
    risk_home_currency: str = "CNY"
    # `cardcrm risk scan`: transactions per committed chunk.
    risk_scan_chunk_rows: int = Field(default=20_000, ge=1)

    # Points (resolvers/loyalty/earning.py): a CNY purchase earns this many points per yuan,
    # times its tier's multiplier, its category's multiplier (percent: 200 = 2x; a JSON object
    # in CARDCRM_POINTS_CATEGORY_PERCENT) and the best points-multiplier offer the customer
    # accepted. Points expire at the end of the N-th calendar year after the year earned
    # (bank time, ``contact_timezone``); ``expiringSoon`` looks this many days ahead.
    points_per_yuan: int = Field(default=1, ge=0)
    points_category_percent: dict[str, int] = {"dining": 200, "travel": 150}
    points_expiry_years: int = Field(default=2, ge=0)
    points_expiring_soon_days: int = Field(default=90, ge=1)

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

"""Rate limits: a token bucket per principal on /graphql and per client address on the
credential endpoints, answered with HTTP 429 RATE_LIMITED and ``Retry-After``.

A bucket holds at most ``burst`` tokens and gains ``per_second`` tokens a second; a request
takes one, and a request that finds less than one is refused, told how many whole seconds
until one is there. The state lives in Redis when ``REDIS_URL`` is set, so every instance
behind the load balancer draws from the same bucket (one Lua script reads, refills and takes
atomically, on Redis's clock), and in this process otherwise. Both stores do the same
arithmetic, ``refill_and_take``.

The client address is the TCP peer (``request.client.host``). Behind a load balancer that
peer is the balancer: set ``CARDCRM_FORWARDED_ALLOW_IPS`` to its addresses so uvicorn takes
the client from ``X-Forwarded-For`` instead (``--proxy-headers``/``--forwarded-allow-ips``).
IPv6 clients are limited per /64, the block one subscriber usually holds.

The limiter fails open: when Redis cannot be reached a request is let through and a warning
logged (at most once a minute), because an outage of the limiter must not become an outage
of the API; the per-account lockout of ``/auth/login`` still applies.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from api import metrics
from api.responses import error_response
from core.errors import ErrorCode
from core.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from core.identity import Principal

logger = logging.getLogger("cardcrm.rate_limit")

GRAPHQL = "graphql"
LOGIN = "login"
OAUTH_TOKEN = "oauth_token"

# A client that waited Retry-After seconds must get its token even when float arithmetic
# refills it to 0.9999999999; the Lua script uses the same constant.
ROUNDING = 1e-9

Clock = Callable[[], float]
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Limit:
    name: str
    burst: int
    per_second: float

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0:
            raise ValueError(f"rate limit {self.name}: burst must be >= 1 and per_second > 0")

    @property
    def seconds_to_fill(self) -> int:
        """How long an untouched bucket takes to be full again: its state may expire then."""
        return math.ceil(self.burst / self.per_second)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int  # 0 when allowed
    remaining: int


def refill_and_take(
    tokens: float, updated_at: float, now: float, limit: Limit
) -> tuple[float, Decision]:
    """The bucket's new token count after refilling it to ``now`` and taking one if it can.

    The Lua script in ``RedisBucketStore`` is this function, operation for operation.
    """
    tokens = min(float(limit.burst), tokens + max(0.0, now - updated_at) * limit.per_second)
    if tokens >= 1.0 - ROUNDING:
        tokens = max(0.0, tokens - 1.0)
        return tokens, Decision(True, 0, math.floor(tokens))
    wait = math.ceil((1.0 - tokens) / limit.per_second)
    return tokens, Decision(False, wait, 0)


class BucketStore(Protocol):
    async def take(self, key: str, limit: Limit) -> Decision: ...

    async def close(self) -> None: ...


class MemoryBucketStore:
    """Buckets of this process: enough for one instance. The least recently used buckets
    are forgotten beyond ``max_buckets`` (a forgotten bucket is a full one)."""

    def __init__(self, clock: Clock = time.monotonic, max_buckets: int = 100_000) -> None:
        self._clock = clock
        self._max_buckets = max_buckets
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def take(self, key: str, limit: Limit) -> Decision:
        now = self._clock()
        tokens, updated_at = self._buckets.pop(key, (float(limit.burst), now))
        tokens, decision = refill_and_take(tokens, updated_at, now, limit)
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_buckets:
            self._buckets.popitem(last=False)
        return decision

    async def close(self) -> None:
        self._buckets.clear()


# KEYS[1]: the bucket. ARGV: burst, per second, now in seconds ("" = Redis's own clock, the
# one all instances share). Numbers are stored with 17 significant digits: exact doubles.
_TAKE_SCRIPT = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(0, tokens - 1)
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'at', string.format('%.17g', now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, wait, math.floor(tokens)}
"""


class RedisBucketStore:
    """Buckets in Redis, shared by every instance; keys expire once their bucket is full."""

    def __init__(
        self, redis: Redis, prefix: str = "cardcrm:rl:", clock: Clock | None = None
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock  # tests pin the clock; production uses Redis's
        self._script = redis.register_script(_TAKE_SCRIPT)  # EVALSHA, EVAL when not cached

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisBucketStore:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0), **kwargs)

    async def take(self, key: str, limit: Limit) -> Decision:
        now = "" if self._clock is None else repr(self._clock())
        allowed, wait, remaining = await self._script(
            keys=[self._prefix + key], args=[limit.burst, repr(limit.per_second), now]
        )
        return Decision(bool(allowed), int(wait), int(remaining))

    async def close(self) -> None:
        await self._redis.aclose()  # type: ignore[no-untyped-call]


class RateLimiter:
    """The configured limits over one store; ``take`` never raises."""

    def __init__(self, store: BucketStore, limits: list[Limit], *, enabled: bool = True) -> None:
        self.store = store
        self.limits = {limit.name: limit for limit in limits}
        self.enabled = enabled
        self._warned_at = -math.inf

    async def take(self, name: str, who: str) -> Decision:
        limit = self.limits[name]
        if not self.enabled:
            return Decision(True, 0, limit.burst)
        try:
            return await self.store.take(f"{name}:{who}", limit)
        except Exception as exc:  # fail open: see the module docstring
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                logger.warning(
                    "rate limiter unavailable (%s); letting requests through", type(exc).__name__
                )
            return Decision(True, 0, 0)

    async def close(self) -> None:
        await self.store.close()


def limits_from(settings: Settings) -> list[Limit]:
    return [
        Limit(GRAPHQL, settings.graphql_rate_burst, settings.graphql_rate_per_second),
        Limit(LOGIN, settings.login_rate_burst, settings.login_rate_per_second),
        Limit(OAUTH_TOKEN, settings.oauth_token_rate_burst, settings.oauth_token_rate_per_second),
    ]


def create_rate_limiter(settings: Settings) -> RateLimiter:
    store: BucketStore = (
        RedisBucketStore.from_url(settings.redis_url) if settings.redis_url else MemoryBucketStore()
    )
    return RateLimiter(store, limits_from(settings), enabled=settings.rate_limits_enabled)


def client_address(connection: HTTPConnection) -> str:
    """The client's address as the bucket key: the address itself, or its /64 for IPv6."""
    host = connection.client.host if connection.client else None
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


async def refusal(request: Request, name: str, who: str) -> Response | None:
    """None when ``who`` may go on; else the 429 answer. Nothing else has run by then."""
    limiter: RateLimiter = request.app.state.rate_limiter
    decision = await limiter.take(name, who)
    if decision.allowed:
        return None
    metrics.RATE_LIMITED.labels(limit=name).inc()
    seconds = decision.retry_after_seconds
    return error_response(
        429,
        ErrorCode.RATE_LIMITED,
        f"too many requests; retry after {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


async def principal_refusal(request: Request, principal: Principal) -> Response | None:
    """The /graphql limit, per principal (kind and token subject): call it right after
    authentication."""
    return await refusal(request, GRAPHQL, principal.audit_actor)


def per_client_address(name: str) -> Callable[[Endpoint], Endpoint]:
    """Limits a Starlette endpoint per client address: ``@per_client_address(LOGIN)``.
    The bucket is taken before the endpoint reads the body or touches the database."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def limited(request: Request) -> Response:
            refused = await refusal(request, name, client_address(request))
            return refused if refused is not None else await endpoint(request)

        return limited

    return decorate

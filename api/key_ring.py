"""The key ring of a running process, kept current while keys rotate underneath it.

A rotation (``cardcrm keys rotate``, another process) adds a data-key version to the database;
``cardcrm keys reencrypt`` then re-seals every value under it. A process learns of the new
version in two ways, and both go through ``KeyRingKeeper.reload``:

* **On demand, for reading.** A value sealed under a version this process has not loaded
  makes it reload at once (``KeyRing.open_or_reload``), so a re-sealed value never fails to
  open. One reload runs at a time: callers that met the version before a reload started
  wait for that reload under the lock instead of starting their own (if it succeeds: one
  the database failed answers for nobody, so an outage is never taken for a missing key).
  Reloads are at least ``MIN_RELOAD_SECONDS`` apart, so a flood of values under a version
  that does not exist costs one ``encryption_keys`` read a second, not one per value; a
  version still missing
  after a reload that began after the caller met it is ``KEY_UNAVAILABLE``, never a retry loop.
* **On an interval, for sealing.** ``watch`` asks the database for the newest data-key version
  every ``key_check_seconds`` (one statement on the table's primary key) and reloads when it
  is not the ring's active one. So a process seals under the old version for at most that
  interval (plus the check's own latency) after a rotation commits; ``models.key_store.
  reencrypt`` waits that long, plus the longest a request may run, before its last pass,
  which is what makes its "nothing is left under an older version" final. A ring object that
  code holds on to seals with the keeper's newest ring (``KeyRing.follow``), and ``cardcrm``
  commands run the same check (``api.cli.common.started``), so a long import follows too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from uuid import UUID

from strawberry.dataloader import DataLoader

from core.database import Database
from core.encryption import KeyRing, MasterKey
from core.errors import KeyUnavailable
from models.customer_keys import open_stored_keys, stored_customer_keys
from models.key_store import load_key_ring, newest_data_key_version

logger = logging.getLogger(__name__)

MIN_RELOAD_SECONDS = 1.0


class KeyRingKeeper:
    """Holds this process's current ``KeyRing`` and replaces it when the stored keys change."""

    def __init__(
        self,
        database: Database,
        master: MasterKey,
        ring: KeyRing,
        *,
        min_reload_seconds: float = MIN_RELOAD_SECONDS,
    ) -> None:
        self._database = database
        self._master = master
        self._min_reload_seconds = min_reload_seconds
        self._lock = asyncio.Lock()
        self._last_attempt = float("-inf")  # monotonic time the latest reload began (spacing)
        # ... and the latest reload that succeeded: only a ring actually loaded answers for
        # the callers that met a version before it began (a failed one answers for nobody).
        self._last_started = float("-inf")
        self._missing: dict[int, float] = {}  # version -> start of the reload that lacked it
        self.reloads = 0
        self.ring = self._following(ring)
        # Customer keys met while reading, opened in one statement per event-loop turn.
        self._customer_key_loader: DataLoader[UUID, None] | None = None

    def _following(self, ring: KeyRing) -> KeyRing:
        ring.follow(self)
        return ring

    async def reload(self) -> KeyRing:
        """Loads the stored keys now (after the minimum spacing), whatever the ring holds."""
        async with self._lock:
            await self._reload_locked()
        return self.ring

    async def _reload_locked(self) -> None:
        wait = self._last_attempt + self._min_reload_seconds - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        started = self._last_attempt = time.monotonic()
        async with self._database.session() as session:
            ring = await load_key_ring(session, self._master)
        ring.customer_keys = self.ring.customer_keys  # they outlive a rotation
        self.ring = self._following(ring)
        self._last_started = started
        self.reloads += 1
        logger.info("encryption keys loaded: data key versions %s", ring.versions)

    async def ring_with(self, version: int) -> KeyRing:
        """A ring holding data-key ``version``, reloading once if this one lacks it."""
        if version in self.ring.versions:
            return self.ring
        met_at = time.monotonic()
        async with self._lock:
            # A reload that began after we met the version has seen what we would see; one
            # that found it missing less than the spacing ago answers for the same reason (a
            # value's key is stored before the value), so a flood fails fast, not in a queue.
            if self._needs_reload(version, met_at):
                await self._reload_locked()
                self._note_missing(version)
        if version not in self.ring.versions:
            raise KeyUnavailable(
                f"a value is sealed under data key v{version}, which this database does not "
                "hold (retired or never created here); an operator must restore that key"
            )
        return self.ring

    async def load_customer_keys(self, customer_ids: list[UUID]) -> None:
        """Opens these customers' stored keys into the ring: the keys that reads in the same
        event-loop turn need are fetched together (a page of customers costs one statement).
        A customer without a key (erased) is ``KeyUnavailable``."""
        loader = self._customer_key_loader
        if loader is None or loader.loop is not asyncio.get_running_loop():
            loader = DataLoader(self._open_customer_keys, cache=False)
            self._customer_key_loader = loader
        await asyncio.gather(*(loader.load(i) for i in customer_ids))

    async def _open_customer_keys(self, customer_ids: list[UUID]) -> list[Exception | None]:
        async with self._database.session() as session:
            rows = await stored_customer_keys(session, customer_ids)
        await open_stored_keys(self.ring, rows, self.ring_with)
        return [
            None
            if self.ring.has_customer_key(customer_id)
            else KeyUnavailable(
                f"customer {customer_id} has no key: the customer was erased, so their values "
                "can no longer be opened"
            )
            for customer_id in customer_ids
        ]

    def _needs_reload(self, version: int, met_at: float) -> bool:
        if version in self.ring.versions or self._last_started > met_at:
            return False
        missing_since = self._missing.get(version, float("-inf"))
        return met_at - missing_since >= self._min_reload_seconds

    def _note_missing(self, version: int) -> None:
        """Remembers when a reload last found ``version`` missing (recent entries only)."""
        if version in self.ring.versions:
            return
        horizon = self._last_started - self._min_reload_seconds
        self._missing = {v: at for v, at in self._missing.items() if at > horizon}
        self._missing[version] = self._last_started

    async def check_newest(self) -> None:
        """Reloads when the database's newest data-key version is not the ring's active one."""
        async with self._database.session() as session:
            newest = await newest_data_key_version(session)
        if newest is not None and newest != self.ring.active_version:
            async with self._lock:
                if newest != self.ring.active_version:
                    await self._reload_locked()

    async def watch(self, interval_seconds: float) -> None:
        """Runs ``check_newest`` every ``interval_seconds`` until cancelled."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.check_newest()
            except Exception:  # a failed check keeps the current ring; the next one retries
                logger.warning("could not check the encryption keys; keeping the current ones")

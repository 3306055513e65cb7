"""Live integrations kept in memory for a few seconds.

Every webhook delivery needs its integration (provider, secrets, time zone) before anything else;
reading and validating it per request cost a transaction of its own. Integrations change only when
an admin edits them, so each process keeps the validated config for ``TTL_SECONDS``: an edit made
through this process applies at once (the entry is dropped), one made through another process
within ``TTL_SECONDS``. Unknown ids are never cached, so a new integration works at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from app.db import Database
from app.integrations.models import Integration
from app.integrations.repository import integration_repository
from app.integrations.service import config_of
from app.webhooks.providers.base import ProviderConfig

TTL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class LiveIntegration:
    """What the webhooks need of an integration that is not deleted: its validated config."""

    id: str
    provider: str
    config: ProviderConfig


def live_of(row: Integration) -> LiveIntegration:
    return LiveIntegration(row.id, row.provider, config_of(row))


class IntegrationCache:
    def __init__(self, database: Database, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._database = database
        self._clock = clock
        self._entries: dict[str, tuple[float, LiveIntegration]] = {}
        # Bumped by every forget: a load that overlapped one may have read the old row.
        self._forgets = 0

    async def get(self, integration_id: str) -> LiveIntegration | None:
        """The integration, unless it does not exist or is deleted."""
        now = self._clock()
        entry = self._entries.get(integration_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        forgets = self._forgets
        # Webhooks look integrations up: from their own pool, never behind API requests.
        async with self._database.unit_of_work(read_only=True, ingestion=True) as session:
            row = await integration_repository.get_live(session, integration_id)
            live = None if row is None else live_of(row)
        if live is None:
            self._entries.pop(integration_id, None)
        elif forgets == self._forgets:
            self._entries[integration_id] = (now + TTL_SECONDS, live)
        return live

    def forget(self, integration_id: str) -> None:
        """Drop the entry; call after the edit's commit (before it, a delivery could re-cache the
        old row for a whole ``TTL_SECONDS``)."""
        self._forgets += 1
        self._entries.pop(integration_id, None)


# One cache per database (per application): tests and tools may run several side by side.
_CACHES: WeakKeyDictionary[Database, IntegrationCache] = WeakKeyDictionary()


def integration_cache(database: Database) -> IntegrationCache:
    cache = _CACHES.get(database)
    if cache is None:
        cache = _CACHES[database] = IntegrationCache(database)
    return cache

"""The provider adapters, by the name that appears in ``/webhooks/{provider}/...``."""

from __future__ import annotations

from app.webhooks.providers import generic, mango, twilio, zadarma
from app.webhooks.providers.base import ProviderAdapter

ADAPTERS: dict[str, ProviderAdapter] = {
    "mango": mango.ADAPTER,
    "zadarma": zadarma.ADAPTER,
    # Novofon runs on Zadarma's platform: same notifications, same signatures.
    "novofon": zadarma.ADAPTER,
    "twilio": twilio.ADAPTER,
    "generic": generic.ADAPTER,
}


def get_adapter(name: str) -> ProviderAdapter:
    """The adapter for ``name``; ``KeyError`` for a provider callfunnel does not know."""
    return ADAPTERS[name]

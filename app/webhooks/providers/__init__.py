"""The provider adapters, by the name that appears in ``/webhooks/{provider}/...``."""

from __future__ import annotations

from app.webhooks.providers import asterisk, generic, mango, twilio, zadarma
from app.webhooks.providers.base import ProviderAdapter

ADAPTERS: dict[str, ProviderAdapter] = {
    "mango": mango.ADAPTER,
    "zadarma": zadarma.ADAPTER,
    # Novofon runs on Zadarma's platform: same notifications, same signatures; its recordings
    # come from its own API hosts (the adapter reads ``RecordingTarget.provider``).
    "novofon": zadarma.ADAPTER,
    "twilio": twilio.ADAPTER,
    "generic": generic.ADAPTER,
    # CDR rows (import and FreePBX sync), not webhooks: see app.cdr.
    "asterisk": asterisk.ADAPTER,
}


def get_adapter(name: str) -> ProviderAdapter:
    """The adapter for ``name``; ``KeyError`` for a provider callfunnel does not know."""
    return ADAPTERS[name]

"""The scrape's text: this process's (or every process's) instruments and the live figures."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from app.telemetry.instruments import MULTIPROCESS_DIR
from app.telemetry.service import LiveFigures


class LiveCollector:
    """Gauges read from the database for this scrape: the same whichever process answers it,
    where a gauge kept in each process would need summing rules and go stale with its process."""

    def __init__(self, figures: LiveFigures | None) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self._figures
        yield GaugeMetricFamily(
            "callfunnel_database_up",
            "1 when this scrape could read the database (the figures below are missing if not).",
            value=0 if figures is None else 1,
        )
        if figures is None:
            return
        recordings = GaugeMetricFamily(
            "callfunnel_recordings", "Recordings by state (the download queue).", labels=["state"]
        )
        for state, count in figures.recordings.items():
            recordings.add_metric([state.value], count)
        yield recordings
        yield GaugeMetricFamily(
            "callfunnel_recording_oldest_due_seconds",
            "How long the longest-waiting due download has waited (0: none is due).",
            value=figures.oldest_due_recording_seconds,
        )
        yield GaugeMetricFamily(
            "callfunnel_webhook_events_awaiting_replay",
            "Stored webhook events whose processing failed and that no replay has fixed yet.",
            value=figures.failed_webhook_events,
        )
        if figures.cdr_sync_lag_seconds is not None:
            yield GaugeMetricFamily(
                "callfunnel_cdr_sync_lag_seconds",
                "Since the least recently synced FreePBX integration last synced.",
                value=figures.cdr_sync_lag_seconds,
            )


def exposition(figures: LiveFigures | None) -> bytes:
    registry = CollectorRegistry()
    if MULTIPROCESS_DIR is None:
        registry.register(REGISTRY)
    else:
        # Sums the counters and histograms every process wrote; a process's own in-memory
        # registry would show a 1/N share that changes with whichever process answered.
        MultiProcessCollector(registry, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    registry.register(LiveCollector(figures))
    return generate_latest(registry)

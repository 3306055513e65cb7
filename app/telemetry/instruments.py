"""The service's Prometheus instruments, moved at the choke points that already know the facts.

Every label value comes from a closed vocabulary: a provider name that routed to an adapter, a
reason or outcome of an enum here, a route *template*, an HTTP method of the standard few. Never a
phone number, a call id, an integration id or a key: they would leak what the service keeps
secret into every dashboard, and make one time series per caller.

Only counters and histograms live in the processes: ``prometheus_client``'s multiprocess mode sums
them across ``serve --workers N``. What is true of the database right now (the recording queue,
the sync lag) is read from it when scraped (``app.telemetry.repository``), so any process can
answer it.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar

from prometheus_client import Counter, Histogram
from starlette.types import Scope

P = ParamSpec("P")
R = TypeVar("R")

# prometheus_client chooses in-memory or file-backed values when it is imported; the directory is
# read at the same moment, so that /metrics reads where this process's values are written.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

# Web requests are mostly milliseconds; funnels and reports over a large base take seconds.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_QUERY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
_PROVIDER_STATE = "telemetry_webhook_provider"


class WebhookRefusal(StrEnum):
    """Why a delivery to a known provider's endpoint was not stored (its answer's status)."""

    SIGNATURE = "signature"  # 401
    SOURCE_ADDRESS = "source_address"  # 403
    UNKNOWN_INTEGRATION = "unknown_integration"  # 404
    TOO_LARGE = "too_large"  # 413
    MALFORMED = "malformed"  # 422
    UNAVAILABLE = "unavailable"  # 503: the database, or deliveries that collided
    ERROR = "error"  # any other status: a 500, a bug


_REFUSAL_OF_STATUS = {
    401: WebhookRefusal.SIGNATURE,
    403: WebhookRefusal.SOURCE_ADDRESS,
    404: WebhookRefusal.UNKNOWN_INTEGRATION,
    413: WebhookRefusal.TOO_LARGE,
    422: WebhookRefusal.MALFORMED,
    503: WebhookRefusal.UNAVAILABLE,
}


class DownloadFailure(StrEnum):
    """Why a recording download failed, as the worker tells it apart."""

    TRANSIENT = "transient"  # the host or the network; asked again later
    REFUSED = "refused"  # not a file the guarded client may keep (host, size, type …)
    INTERNAL = "internal"  # a bug in the download itself


HTTP_REQUESTS = Counter(
    "callfunnel_http_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "callfunnel_http_request_duration_seconds",
    "Time from a request's arrival to its answer, by route template.",
    ["method", "route"],
    buckets=_REQUEST_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "callfunnel_webhook_deliveries_total",
    "Requests received at a provider's webhook endpoints (set-up checks included).",
    ["provider"],
)
WEBHOOK_REFUSED = Counter(
    "callfunnel_webhook_deliveries_refused_total",
    "Deliveries answered without storing anything, by reason.",
    ["provider", "reason"],
)
WEBHOOK_EVENTS_STORED = Counter(
    "callfunnel_webhook_events_stored_total",
    "Raw events stored for the first time (committed before the 200).",
    ["provider"],
)
WEBHOOK_EVENTS_DUPLICATE = Counter(
    "callfunnel_webhook_events_duplicate_total",
    "Events delivered again and recognised by their idempotency key.",
    ["provider"],
)
WEBHOOK_EVENTS_FAILED = Counter(
    "callfunnel_webhook_events_failed_total",
    "Stored events whose processing failed (kept as failed, replayable).",
    ["provider"],
)
WEBHOOK_EVENTS_REPLAYED = Counter(
    "callfunnel_webhook_events_replayed_total",
    "Stored events processed again, by the status the replay left them in.",
    ["provider", "status"],
)
RECORDING_DOWNLOADS = Counter(
    "callfunnel_recording_downloads_total",
    "Recordings downloaded and stored.",
)
RECORDING_DOWNLOAD_FAILURES = Counter(
    "callfunnel_recording_download_failures_total",
    "Failed download attempts, by reason; final: no attempt is left (the recording is failed).",
    ["reason", "final"],
)
CDR_ROWS = Counter(
    "callfunnel_cdr_rows_total",
    "CDR rows imported (files and the FreePBX sync), by what became of them.",
    ["outcome"],
)
FUNNEL_QUERY_SECONDS = Histogram(
    "callfunnel_funnel_query_duration_seconds",
    "Time to compute funnels from one evidence pass (the API, the dashboards and reports).",
    buckets=_QUERY_BUCKETS,
)
REPORT_SECONDS = Histogram(
    "callfunnel_report_duration_seconds",
    "Time to gather a report's figures (before rendering it to a format).",
    ["report"],
    buckets=_QUERY_BUCKETS,
)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/api/v1/calls/{call_id}``), never the path.

    FastAPI (0.16x) keeps a nested router's route as declared (``/calls/{call_id}``) and puts
    the template with its prefixes in the request's effective route context; without one (a
    route of the app itself), the route's own template is the whole one. Either way the value
    is a template written in the code, never text of the request.
    """
    context = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def mark_webhook_delivery(scope: Scope, provider: str) -> None:
    """Say that this request is a delivery to ``provider`` (a name that routed to an adapter):
    it is counted, and refused by the status it is answered, when the answer is sent."""
    scope.setdefault("state", {})[_PROVIDER_STATE] = provider


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Count and time one answered request (``RequestContext`` calls it for every request)."""
    method = scope["method"] if scope["method"] in _METHODS else "other"
    requests, latency = _request_series(method, route_template(scope), status)
    requests.inc()
    latency.observe(seconds)
    provider = scope.get("state", {}).get(_PROVIDER_STATE)
    if provider is not None:
        WEBHOOK_DELIVERIES.labels(provider).inc()
        # The answer's status, not the exception: a database outage is answered 503 far from
        # the webhook's code, and the PBX sees only the status.
        if status >= 400:
            WEBHOOK_REFUSED.labels(provider, webhook_refusal(status)).inc()


# The label set is closed (routes × methods × statuses), so every series fits; ``labels()`` each
# time (validation, a lock) cost more than the counting: 21.5 µs → 8.9 µs a request (2 busy cores).
@functools.lru_cache(maxsize=4096)
def _request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    return (
        HTTP_REQUESTS.labels(method, route, str(status)),
        HTTP_REQUEST_SECONDS.labels(method, route),
    )


def webhook_refusal(status: int) -> WebhookRefusal:
    return _REFUSAL_OF_STATUS.get(status, WebhookRefusal.ERROR)


def count_ingested(provider: str, *, stored: int, duplicates: int, failed: int) -> None:
    WEBHOOK_EVENTS_STORED.labels(provider).inc(stored)
    WEBHOOK_EVENTS_DUPLICATE.labels(provider).inc(duplicates)
    WEBHOOK_EVENTS_FAILED.labels(provider).inc(failed)


def count_cdr_rows(**outcomes: int) -> None:
    """``stored=3, duplicate=1 …``: the outcome names are the label values."""
    for outcome, rows in outcomes.items():
        CDR_ROWS.labels(outcome).inc(rows)


def observe_seconds(
    histogram: Histogram,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Time an async function into ``histogram`` (its own ``.time()`` would time making the
    coroutine, not running it)."""

    def decorate(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(function)
        async def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)

        return timed

    return decorate

"""Structured logs: dotted lower-case event names, context as keywords, one line per event."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Integration ids sit in unauthenticated webhook URLs: no log line may give one away.
_INTEGRATION_ID = re.compile(r"(intg_[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+")
# SQLAlchemy renders a failed statement's bound values into the exception text; they can hold an
# integration's config (its secret) or an API key's hash. Engines are created with
# hide_parameters=True; this is the second line, for errors raised by anything else.
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")
_SECRET_FIELD = re.compile(
    r"""(["']?(?:secret|auth_token|api_key|key|password|token)["']?\s*[:=]\s*)(["'])[^"']*\2""",
    re.IGNORECASE,
)
_API_KEY = re.compile(r"\bcf_[A-Za-z0-9_-]{8,}")


def mask_integration_ids(text: str) -> str:
    return _INTEGRATION_ID.sub(r"\1…", text)


def scrub(text: str) -> str:
    """``text`` with integration ids masked and SQL parameters, secrets and API keys removed."""
    text = _SQL_PARAMETERS.sub("[parameters hidden]", text)
    text = _SECRET_FIELD.sub(r"\1\2***\2", text)
    text = _API_KEY.sub("cf_***", text)
    return mask_integration_ids(text)


def _scrub_event(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for name, value in event_dict.items():
        if isinstance(value, str):
            event_dict[name] = scrub(value)
    return event_dict


def configure_logging(level: str = "INFO", *, json_output: bool = False) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            # After format_exc_info, so that tracebacks are scrubbed too.
            _scrub_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )

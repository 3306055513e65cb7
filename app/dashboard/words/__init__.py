"""The dashboard's words, one catalog per page family, merged here.

Each module holds ``WORDS: dict[str, tuple[str, str]]`` (English, Russian). A key may be defined
once: in one of these modules, or among the report's and the figures' labels
(``app.reports.i18n``), which the dashboard reads too.
"""

from __future__ import annotations

from types import ModuleType

from app.dashboard.words import callbacks, calls, core, quality, reports, settings

_CATALOGS: tuple[ModuleType, ...] = (core, calls, callbacks, quality, reports, settings)


def merged() -> dict[str, tuple[str, str]]:
    words: dict[str, tuple[str, str]] = {}
    for catalog in _CATALOGS:
        part: dict[str, tuple[str, str]] = catalog.WORDS
        clash = words.keys() & part.keys()
        if clash:
            raise ValueError(f"{catalog.__name__} defines words defined before: {sorted(clash)}")
        words.update(part)
    return words

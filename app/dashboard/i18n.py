"""Language of a page and its words: Russian by default, English on request (a cookie).

Numbers and money are formatted by the report's ``Formatter`` (``1 234,56 ₽`` in Russian), and
words the report or the figures table already label are taken from there.
"""

from __future__ import annotations

from fastapi import Request

from app.dashboard.words import merged
from app.reports.i18n import LANGS, Lang, label

LANG_COOKIE = "cf_lang"
DEFAULT_LANG: Lang = "ru"


def _check_no_report_labels(words: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    for key in words:
        try:
            label(key, DEFAULT_LANG)
        except KeyError:
            continue
        raise ValueError(f"{key!r} is labelled in app/reports/i18n.py already: use that label")
    return words


_WORDS = _check_no_report_labels(merged())


def lang_of(request: Request) -> Lang:
    chosen = request.cookies.get(LANG_COOKIE)
    return next((lang for lang in LANGS if lang == chosen), DEFAULT_LANG)


def translate(key: str, lang: Lang) -> str:
    words = _WORDS.get(key)
    if words is None:
        return label(key, lang)
    return words[1] if lang == "ru" else words[0]

"""Every word of the calls, callbacks, quality, reports and settings pages exists in English and
Russian, and the pages render in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.auth.roles import Role
from app.calls.events import CallStatus, Direction
from app.calls.outcomes import Outcome
from app.dashboard.i18n import LANG_COOKIE, translate
from app.dashboard.pages.settings import ECONOMICS_FIELDS
from app.db import Database
from app.quality.scoring import Answer, AppliesTo
from app.recordings.models import RecordingStatus
from app.reports.i18n import LANGS
from tests.dashboard.browsing import browser

TEMPLATES = Path(__file__).parents[2] / "app" / "dashboard" / "templates"
PAGES = ("calls", "callbacks", "quality", "quality_score", "reports", "settings")
_LITERAL = re.compile(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*\)""")


def _keys() -> set[str]:
    keys = {
        key for page in PAGES for key in _LITERAL.findall((TEMPLATES / f"{page}.html").read_text())
    }
    # Words the templates put together from a prefix and a value.
    keys |= {f"calls_direction_{d.value}" for d in Direction}
    keys |= {f"calls_status_{s.value}" for s in CallStatus}
    keys |= {f"calls_outcome_{o.value}" for o in Outcome}
    keys |= {f"calls_recording_{r.value}" for r in RecordingStatus}
    keys |= {f"quality_answer_{a.value}" for a in Answer}
    keys |= {f"quality_applies_{a.value}" for a in AppliesTo}
    keys |= {f"role_{r.value}" for r in Role}
    keys |= {"settings_" + name.replace(".", "_") for name in ECONOMICS_FIELDS}
    keys |= {f"cb_{name}" for name in ("missed_calls", "cases", "pending", "hot_lost")}
    return keys


def test_every_word_exists_in_both_languages() -> None:
    keys = _keys()
    assert len(keys) > 100
    for key in sorted(keys):
        english, russian = translate(key, "en"), translate(key, "ru")
        assert english.strip(), key
        assert russian.strip(), key


@pytest.mark.parametrize("lang", LANGS)
async def test_the_pages_render_in_both_languages(
    app: object, database: Database, lang: str
) -> None:
    titles = {"en": "Script quality", "ru": "Качество скриптов"}
    async with browser(app, database, Role.ADMIN) as page:
        page.cookies.set(LANG_COOKIE, lang)
        for path in ("/calls", "/callbacks", "/quality", "/reports", "/settings"):
            answer = await page.get(path)
            assert answer.status_code == 200, (path, answer.text)
            assert f'<html lang="{lang}">' in answer.text
        assert titles[lang] in (await page.get("/quality")).text

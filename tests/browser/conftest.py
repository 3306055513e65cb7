"""The dashboard in a real browser: Debian's Chromium through Playwright, against uvicorn.

One server per backend (SQLite always, PostgreSQL when configured) on a free local port, over a
migrated test database that a small demo history fills through the real HTTP endpoints
(``app.demo``), recordings included (``store_recordings``: the real worker and downloader, the
demo's own PBX). One browser per server, launched by Playwright with a new empty profile; a fresh
context per test, whose failure leaves a screenshot in ``tmp/artefacts/``.

Never ``playwright install``: the browser is the system's Chromium. Without one, these tests skip.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from app.dashboard.i18n import LANG_COOKIE
from tests.browser.harness import (
    ARTEFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    Served,
    load,
    serving,
)
from tests.conftest import BACKENDS, _truncate_all
from tests.factories import settings_for


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: the dashboard's browser tests need Debian's chromium "
            "(apt-get install chromium; .ci/run installs it)"
        )
    return CHROMIUM


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest,
    chromium: Path,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp(f"browser-{request.param}")
    if request.param == "sqlite":
        shutil.copy(sqlite_template, folder / "test.db")
        url = f"sqlite+aiosqlite:///{folder / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    settings = settings_for(url, folder)
    try:
        with serving(settings) as base:
            yield asyncio.run(load(base, settings))
    finally:
        if request.param == "postgresql":
            asyncio.run(_truncate_all(url))


@pytest.fixture(scope="module")
def browser(served: Served, chromium: Path) -> Iterator[Browser]:
    """Chromium on a new, empty user-data directory of Playwright's making.

    Per server, and after it: Playwright's sync API runs an event loop in this thread while it
    is up, and the server's set-up and tear-down (migrations, loading) need the thread's own.
    """
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Notes on the test whether its body failed, for ``page`` to take a screenshot."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
def context(browser: Browser, served: Served) -> Iterator[BrowserContext]:
    """A fresh browser (no cookies) that reads the dashboard in English."""
    fresh = browser.new_context(viewport=VIEWPORT, base_url=served.url, locale="en-GB")
    fresh.add_cookies([{"name": LANG_COOKIE, "value": "en", "url": served.url}])
    fresh.set_default_timeout(20_000)
    yield fresh
    fresh.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    opened = context.new_page()
    yield opened
    if request.node.stash.get(_FAILED, False):
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
        opened.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)

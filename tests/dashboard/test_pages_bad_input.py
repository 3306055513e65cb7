"""Bad input to the calls, callbacks, quality, reports and settings pages: a clear 4xx page,
never a 500."""

from __future__ import annotations

import pytest

from app.auth.roles import Role
from app.db import Database
from tests.dashboard.browsing import browser
from tests.dashboard.pages import csrf_of


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/calls?from=yesterday", 422),
        ("/calls?direction=sideways", 422),
        ("/calls?has_recording=perhaps", 422),
        ("/calls?cursor=%%%", 400),
        ("/calls?limit=100000", 422),
        ("/calls/call_nope/recording", 404),
        ("/callbacks?as_of=never", 422),
        ("/callbacks?from=2026-11-20&to=2026-11-10", 422),
        ("/quality?from=2026-13-01", 422),
        ("/quality?checklist_id=chk_nope", 404),
        ("/quality/calls/call_nope", 404),
        ("/reports?week=2026-W99", 422),
        ("/reports/weekly.pdf", 422),
        ("/reports/weekly.csv?week=someday", 422),
    ],
)
async def test_bad_queries_are_4xx_pages(
    app: object, database: Database, path: str, status: int
) -> None:
    async with browser(app, database, Role.ADMIN) as page:
        answer = await page.get(path)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "data", "status"),
    [
        ("/calls/call_nope/tag", {"outcome": "presented"}, 404),
        ("/settings/api-keys/key_nope/revoke", {}, 404),
        ("/settings/api-keys", {"name": "", "role": "admin"}, 422),
        ("/settings/api-keys", {"name": "x", "role": "emperor"}, 422),
        ("/settings/api-keys", {"name": "x", "role": "manager", "employee_id": "emp_no"}, 404),
        ("/quality/calls/call_nope/evaluations/chk_nope", {"answer-greeting": "yes"}, 404),
    ],
)
async def test_bad_forms_are_4xx_pages(
    app: object, database: Database, path: str, data: dict[str, str], status: int
) -> None:
    async with browser(app, database, Role.ADMIN) as page:
        token = csrf_of(await page.get("/settings"))
        answer = await page.post(path, data={**data, "csrf_token": token})
    assert answer.status_code == status, answer.text

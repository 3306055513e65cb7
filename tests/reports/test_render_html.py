"""The html page: self-contained, with its charts, in both languages."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from httpx import AsyncClient

from tests.reports.fetch import AS_OF, WEEK, report_file

NBSP = "\u00a0"


class _Outline(HTMLParser):
    """Tags, the attributes that could load something, and the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.references: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.references += [
            f"{tag} {name}={value}" for name, value in attrs if name in ("src", "href", "srcset")
        ]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def _page(client: AsyncClient, headers: dict[str, str], **params: str) -> str:
    response = await report_file(client, headers, format="html", **params)
    return response.content.decode()


def _outline(page: str) -> _Outline:
    outline = _Outline()
    outline.feed(page)
    return outline


async def test_self_contained_with_its_charts(
    client: AsyncClient, head: dict[str, str], worked: None
) -> None:
    page = await _page(client, head, week=WEEK, as_of=AS_OF[1])
    outline = _outline(page)
    assert outline.references == []
    assert not re.search(r"https?:|//[a-z]|@import|url\(", page)
    assert {"script", "link", "img", "iframe"}.isdisjoint(outline.tags)
    # funnel, managers' profit per call, the two 8-week trends, the hour × weekday heat map
    assert outline.tags.count("svg") == 5
    assert page.count('role="img"') == 5
    assert "@media print" in page
    text = " ".join(outline.text)
    for heading in ("Funnel", "Money", "Managers", "8-week trend", "When calls are answered"):
        assert heading in text
    assert f"324.00{NBSP}RUB" in text
    assert f"−24.92{NBSP}RUB" in text
    assert "Boris" in text
    assert "Anna" in text


async def test_russian(client: AsyncClient, head: dict[str, str], worked: None) -> None:
    page = await _page(client, head, week=WEEK, lang="ru", as_of=AS_OF[1])
    assert '<html lang="ru">' in page
    text = " ".join(_outline(page).text)
    for heading in ("Воронка", "Дозвон", "Первый разговор", "Второй звонок", "Заявка", "Договор"):
        assert heading in text
    assert f"324,00{NBSP}₽" in text
    assert f"−24,92{NBSP}₽" in text
    assert "Итого" in text
    assert "RUB" not in text


async def test_names_are_escaped(client: AsyncClient, admin: dict[str, str], worked: None) -> None:
    renamed = await client.patch(
        "/api/v1/employees/e1", json={"name": "<b>Anna</b> & Co"}, headers=admin
    )
    assert renamed.status_code == 200, renamed.text
    page = await _page(client, admin, week=WEEK, as_of=AS_OF[1])
    assert "<b>Anna" not in page
    assert page.count("&lt;b&gt;Anna&lt;/b&gt; &amp; Co") == 2  # the bar chart and the table


async def test_an_empty_week_says_so(client: AsyncClient, head: dict[str, str]) -> None:
    page = await _page(client, head, week="2026-W30")
    text = " ".join(_outline(page).text)
    assert "No calls this week." in text
    assert "No refusals or lost applications this week." in text
    assert _outline(page).tags.count("svg") == 4  # no managers, no bars for them

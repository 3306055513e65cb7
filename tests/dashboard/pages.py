"""Helpers of the dashboard's tests: signing in and reading a page's CSRF token and figures."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from httpx import AsyncClient, Response

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: Response) -> str:
    match = _CSRF.search(page.text)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


async def sign_in(client: AsyncClient, key: str, next_path: str = "/") -> Response:
    """Signs ``client`` in with ``key`` through the form, as a browser would."""
    form = await client.get("/login")
    return await client.post(
        "/login",
        data={"api_key": key, "next": next_path, "csrf_token": csrf_of(form)},
    )


async def signed_in(client: AsyncClient, key: str) -> AsyncClient:
    answer = await sign_in(client, key)
    assert answer.status_code == 303, answer.text
    return client


class _Figures(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        name, value = values.get("data-figure"), values.get("data-value")
        if name is not None and value is not None:
            self.figures[name] = value


def figures_of(page: Response) -> dict[str, str]:
    """The page's ``data-figure="name" data-value="exact value"`` pairs."""
    parser = _Figures()
    parser.feed(page.text)
    return parser.figures

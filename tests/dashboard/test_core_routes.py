"""Every dashboard route, walked from the app itself (a page added later is covered too): signed
out, a page sends the visitor to sign in and a form is refused; signed in, a form without the
session's CSRF token is refused. Who sees what inside a page is tested with each page."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, routing
from httpx import AsyncClient

from app.auth.roles import Role
from app.dashboard.routing import PageRoute
from app.db import Database
from tests.dashboard.pages import signed_in
from tests.factories import make_key

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
# Reachable signed out: the sign-in form itself, and the language switch it carries.
OPEN = {("GET", "/login"), ("POST", "/login"), ("POST", "/language")}


def page_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for context in routing.iter_route_contexts(app.routes):
        route: Any = context.original_route
        if isinstance(route, PageRoute):
            found += [(method, route.path) for method in route.methods]
    return sorted(found)


def _url(path: str) -> str:
    return _PARAM.sub("missing_0000", path)


async def test_signed_out_visitors_are_sent_to_sign_in(app: FastAPI, client: AsyncClient) -> None:
    routes = page_routes(app)
    assert ("GET", "/") in routes
    assert ("GET", "/leads/{lead_id}") in routes
    wrong = []
    for method, path in routes:
        if (method, path) in OPEN:
            continue
        answer = await client.request(method, _url(path))
        expected = 303 if method == "GET" else 403  # a form without a session has no token
        if answer.status_code != expected or (
            method == "GET" and not answer.headers["location"].startswith("/login?next=/")
        ):
            wrong.append((method, path, answer.status_code))
    assert wrong == []


async def test_no_form_is_taken_without_the_token(
    app: FastAPI, client: AsyncClient, database: Database
) -> None:
    await signed_in(client, await make_key(database, Role.ADMIN))
    wrong = []
    for method, path in page_routes(app):
        if method in {"GET", "HEAD"}:
            continue
        answer = await client.request(method, _url(path), data={"csrf_token": "forged"})
        if answer.status_code != 403:
            wrong.append((method, path, answer.status_code))
    assert wrong == []
    assert (await client.get("/")).status_code == 200  # still signed in: nothing was done

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from httpx import ASGITransport, AsyncClient

from app.auth.roles import Role
from app.config import ConfigurationError
from app.dashboard.sessions import SESSION_COOKIE
from app.db import Database
from app.main import create_app
from tests.dashboard.pages import csrf_of, sign_in
from tests.factories import bearer, make_key, settings_for


async def test_sign_in_and_out(client: AsyncClient, database: Database) -> None:
    key = await make_key(database, Role.HEAD)
    unsigned = await client.get("/")
    assert unsigned.status_code == 303
    assert unsigned.headers["location"] == "/login?next=/"
    answer = await sign_in(client, key)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    page = await client.get("/")
    assert page.status_code == 200
    out = await client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert out.status_code == 303
    assert (await client.get("/")).status_code == 303


async def test_forms_without_the_sessions_token_are_refused(
    client: AsyncClient, database: Database
) -> None:
    key = await make_key(database, Role.HEAD)
    no_form = await client.post("/login", data={"api_key": key})
    assert no_form.status_code == 403
    await sign_in(client, key)
    assert (await client.post("/logout", data={"csrf_token": "forged"})).status_code == 403
    assert (await client.post("/logout")).status_code == 403
    assert (await client.get("/")).status_code == 200  # still signed in


async def test_failed_sign_ins_are_rate_limited(client: AsyncClient, database: Database) -> None:
    key = await make_key(database, Role.HEAD)
    for _ in range(5):
        assert (await sign_in(client, "cf_wrong")).status_code == 401
    limited = await sign_in(client, key)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_a_revoked_key_ends_its_sessions(client: AsyncClient, database: Database) -> None:
    admin = await make_key(database, Role.ADMIN)
    key = await make_key(database, Role.HEAD)
    await sign_in(client, key)
    assert (await client.get("/leads")).status_code == 200
    keys = (await client.get("/api/v1/api-keys", headers=bearer(admin))).json()["items"]
    (head_key,) = [k for k in keys if k["role"] == "head"]
    revoked = await client.delete(f"/api/v1/api-keys/{head_key['id']}", headers=bearer(admin))
    assert revoked.status_code in (200, 204)
    after = await client.get("/leads")
    assert after.status_code == 303
    assert after.headers["location"] == "/login?next=/leads"


@pytest.mark.parametrize(
    ("target", "lands"),
    [
        ("/managers?sort=dials", "/managers?sort=dials"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
async def test_only_local_paths_after_sign_in(
    client: AsyncClient, database: Database, target: str, lands: str
) -> None:
    answer = await sign_in(client, await make_key(database, Role.HEAD), next_path=target)
    assert answer.status_code == 303
    assert answer.headers["location"] == lands


async def test_idle_sessions_expire(client: AsyncClient, database: Database, app: Any) -> None:
    key = await make_key(database, Role.HEAD)
    await sign_in(client, key)
    signer = app.state.dashboard_signer
    session = signer.loads(client.cookies[SESSION_COOKIE]).session
    # The same session, issued a little longer ago than the idle time.
    issued = time.time() - signer.idle.total_seconds() - 5
    with patch("itsdangerous.timed.time.time", return_value=issued):
        cookie = signer.dumps(session)
    client.cookies.set(SESSION_COOKIE, cookie)
    assert (await client.get("/")).status_code == 303


async def test_secure_cookie_behind_a_trusted_https_proxy(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path, trusted_proxies="127.0.0.1")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        key = await make_key(app.state.database, Role.HEAD)
        transport = ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with AsyncClient(transport=transport, base_url="http://testserver") as http:
            http.headers["x-forwarded-proto"] = "https"
            answer = await sign_in(http, key)
    assert "Secure" in answer.headers["set-cookie"]


def test_production_needs_a_secret_key(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path, env="production")
    with pytest.raises(ConfigurationError, match="CALLFUNNEL_SECRET_KEY"):
        create_app(settings)
    strong = settings_for(database_url, tmp_path, env="production", secret_key="s" * 32)
    assert create_app(strong) is not None


async def test_the_dashboard_shadows_no_route(client: AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/api/v1/leads")).status_code == 401
    css = await client.get("/static/dashboard.css")
    assert css.status_code == 200
    assert "@media print" in css.text


async def test_language_switch(client: AsyncClient, database: Database) -> None:
    await sign_in(client, await make_key(database, Role.HEAD))
    russian = await client.get("/")
    assert "Обзор" in russian.text
    switched = await client.post(
        "/language", data={"lang": "en", "next": "/leads", "csrf_token": csrf_of(russian)}
    )
    assert switched.headers["location"] == "/leads"
    assert "Overview" in (await client.get("/")).text

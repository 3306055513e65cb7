"""The bench's bare endpoint exists only when a benchmark asks for it."""

from __future__ import annotations

from httpx import ASGITransport, AsyncClient

from app.config import Settings
from app.main import create_app

FORM = {"content-type": "application/x-www-form-urlencoded"}
PATH = "/bench/bare/mango/x/events/call"


async def test_absent_by_default(client: AsyncClient) -> None:
    response = await client.post(PATH, content=b"json=%7B%7D", headers=FORM)
    assert response.status_code == 404


async def test_reads_the_form_and_answers_when_enabled(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"bench_bare_endpoint": True}))
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http,
    ):
        ok = await http.post(PATH, content=b"json=%7B%7D", headers=FORM)
        assert ok.status_code == 200
        assert ok.json() == {"status": "ok", "stored": 0, "duplicates": 0}
        broken = await http.post(PATH, content=b"\xff", headers=FORM)
        assert broken.status_code == 422
        assert "/bench/bare" not in str((await http.get("/openapi.json")).json()["paths"])

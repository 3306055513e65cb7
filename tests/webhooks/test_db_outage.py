"""The database goes away and comes back: webhooks get 503 (never 500) meanwhile, 200 after.

PostgreSQL is reached through a TCP proxy the test controls, so an outage is one call and needs
no restart of the real server: **down** closes every connection and refuses new ones (a stopped
or crashed server), **starting** answers every new connection the way PostgreSQL does while it
recovers (``57P03``: "the database system is starting up"), **up** forwards again.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.db import Database
from app.errors import is_connection_error
from app.main import create_app
from app.webhooks.models import WebhookEvent
from app.webhooks.providers import get_adapter
from app.webhooks.traffic import EXAMPLE_CONFIGS, Delivery, deliveries
from tests.factories import insert_integration, settings_for
from tests.webhooks.delivery import spec

_SSL_REQUEST = 80877103  # the code of the SSLRequest packet a client may open with


def _starting_up_error() -> bytes:
    """The ErrorResponse PostgreSQL sends a client that connects while it is starting up."""
    fields = b"".join(
        code + text + b"\0"
        for code, text in (
            (b"S", b"FATAL"),
            (b"V", b"FATAL"),
            (b"C", b"57P03"),
            (b"M", b"the database system is starting up"),
        )
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


class Proxy:
    """Forwards a local port to PostgreSQL while up; see the module's docstring for the rest."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.state = "up"
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def set(self, state: str) -> None:
        if state == "down":
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            for writer in self._pipes:
                writer.transport.abort()
            self._pipes.clear()
        elif self._server is None:
            await self.start()  # the same port again
        self.state = state

    async def close(self) -> None:
        await self.set("down")

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.state == "starting":
            await self._refuse_starting_up(reader, writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._pipes |= {writer, up_writer}
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._pipes.discard(writer)

    async def _refuse_starting_up(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            length, code = struct.unpack("!II", await reader.readexactly(8))
            if code == _SSL_REQUEST:
                writer.write(b"N")  # no TLS: the client sends its startup packet in the clear
                length, _ = struct.unpack("!II", await reader.readexactly(8))
            await reader.readexactly(length - 8)
            writer.write(_starting_up_error())
            await writer.drain()
        writer.close()


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[Proxy]:
    url = make_url(database_url)
    running = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await running.start()
    yield running
    await running.close()


@pytest.fixture
async def proxied(
    proxy: Proxy, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[AsyncClient, Database]]:
    through_proxy = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    settings = settings_for(through_proxy.render_as_string(hide_password=False), tmp_path)
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://pbx") as http,
    ):
        yield http, application.state.database


def _call_requests(integration_id: str, calls: int) -> list[Delivery]:
    config = get_adapter("generic").config_model.model_validate(EXAMPLE_CONFIGS["generic"])
    return deliveries(
        "generic", integration_id, config, [spec(f"outage-{n}") for n in range(calls)]
    )


async def _send(http: AsyncClient, delivery: Delivery) -> Response:
    return await http.request(
        delivery.method, delivery.path, content=delivery.body, headers=delivery.headers
    )


def _assert_unavailable(response: Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["type"].endswith("/service-unavailable")


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("driver error")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "away"),
    [
        ("57P01", True),  # admin shutdown: the server is stopping
        ("57P02", True),  # crash shutdown
        ("57P03", True),  # cannot connect now: starting up
        ("08006", True),  # connection failure
        ("57014", False),  # query cancelled (a statement timeout): the statement, not the server
        ("23505", False),  # unique violation
    ],
)
def test_which_sqlstates_mean_the_database_is_away(sqlstate: str, away: bool) -> None:
    error = DBAPIError("SELECT 1", None, _DriverError(sqlstate))
    assert is_connection_error(error) is away


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_webhooks_503_while_the_database_is_away_then_200(
    proxied: tuple[AsyncClient, Database], proxy: Proxy
) -> None:
    http, database = proxied
    integration_id = await insert_integration(
        database, provider="generic", config=EXAMPLE_CONFIGS["generic"]
    )
    first, while_down, while_starting, after = _call_requests(integration_id, 2)[:4]
    assert (await _send(http, first)).status_code == 200

    await proxy.set("down")
    _assert_unavailable(await _send(http, while_down))
    await proxy.set("starting")
    _assert_unavailable(await _send(http, while_starting))

    await proxy.set("up")
    # The pool's connections died with the outage; each is replaced on checkout (pre-ping).
    for delivery in (while_down, while_starting, after):
        response = await _send(http, delivery)
        assert response.status_code == 200, response.text
        assert response.json()["stored"] == 1

    async with database.unit_of_work(read_only=True) as session:
        stored = await session.scalar(
            select(func.count()).where(WebhookEvent.integration_id == integration_id)
        )
    assert stored == 4

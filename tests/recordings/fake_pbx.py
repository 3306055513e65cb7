"""Offline stand-ins for the providers' recording servers, for the downloader tests.

Each fake answers its provider's API the way the provider documents it and serves the file from
``file_url``; ``file`` decides how the file host answers, ``not_ready`` how many times the provider
says "not yet" first. Every request is kept in ``requests``.
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.recordings.download import RecordingDownloader, StoredRecording
from app.recordings.errors import RecordingFetchError
from app.webhooks.providers.base import ProviderConfig
from app.webhooks.providers.generic import GenericConfig
from app.webhooks.providers.mango import MangoConfig
from app.webhooks.providers.twilio import TwilioConfig
from app.webhooks.providers.zadarma import ZadarmaConfig

AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 40
WAV = b"RIFF\x24\x08\x00\x00WAVEfmt " + bytes(range(256)) * 8
PUBLIC_IP = "93.184.215.14"

Handler = Callable[[httpx.Request], httpx.Response]


def body_response(
    status: int, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A response whose body is still to be read, as from a real server (``content=`` would
    make httpx read it at once)."""
    headers = {"content-length": str(len(body)), **(headers or {})}
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


def json_response(data: object) -> httpx.Response:
    body = json.dumps(data).encode()
    return body_response(200, body, {"content-type": "application/json"})


def wav_bytes(seconds: int, *, rate: int = 8000, pattern: bytes = b"\x00\x00") -> bytes:
    """A real mono 16-bit WAV file (its header states its length) of ``pattern`` repeated."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(pattern * (2 * rate * seconds // len(pattern)))
    return buffer.getvalue()


def file_answer(
    body: bytes = AUDIO,
    content_type: str | None = "audio/mpeg",
    *,
    streamed: bool = False,
    headers: dict[str, str] | None = None,
) -> Handler:
    """The file host's answer; ``streamed`` sends it in pieces without a Content-Length."""

    def answer(request: httpx.Request) -> httpx.Response:
        extra = dict(headers or {})
        if content_type is not None:
            extra["content-type"] = content_type
        if streamed:
            return httpx.Response(200, headers=extra, content=_pieces(body))
        return body_response(200, body, extra)

    return answer


async def _pieces(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]


def status_answer(status: int, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, headers=headers)


def redirect_to(url: str, status: int = 302) -> Handler:
    return status_answer(status, {"location": url})


class FakeResolver:
    """DNS as the test says: ``answers[host]``, else one public address."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers.get(host, [PUBLIC_IP])


@dataclass
class FakePbx:
    provider: str
    config: ProviderConfig
    provider_ref: str
    source_url: str | None
    file_url: str
    content_type: str = "audio/mpeg"
    body: bytes = AUDIO
    # Provider-made values an error message must never show: secrets, one-time link parts.
    secrets: tuple[str, ...] = ()
    provider_call_id: str = "call-1"
    not_ready: int = 0
    requests: list[httpx.Request] = field(default_factory=list)
    file: Handler | None = None
    # More URLs the provider serves (a redirect's target), by URL.
    routes: dict[str, Handler] = field(default_factory=dict)
    # Replaces the provider's usual API answer.
    api_answer: Handler | None = None

    @property
    def file_host(self) -> str:
        return httpx.URL(self.file_url).host

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) in self.routes:
            return self.routes[str(request.url)](request)
        if request.url == httpx.URL(self.file_url):
            if self.file is not None:
                return self.file(request)
            return file_answer(self.body, self.content_type)(request)
        return self.api_answer(request) if self.api_answer else self.api(request)

    def api(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    def to(self, host: str) -> list[httpx.Request]:
        return [request for request in self.requests if request.url.host == host]

    async def fetch(self, downloader: RecordingDownloader) -> StoredRecording:
        return await downloader.fetch(
            self.provider,
            self.config,
            provider_ref=self.provider_ref,
            source_url=self.source_url,
            provider_call_id=self.provider_call_id,
        )

    async def failure(self, downloader: RecordingDownloader) -> RecordingFetchError:
        """The error ``fetch`` raises, checked to hold none of the secrets."""
        with pytest.raises(RecordingFetchError) as caught:
            await self.fetch(downloader)
        for secret in self.secrets:
            assert secret not in caught.value.message
            assert secret not in str(caught.value)
        return caught.value


class FakeMango(FakePbx):
    """Redirects the signed request to a one-time URL; answers JSON while there is no file."""

    def api(self, request: httpx.Request) -> httpx.Response:
        assert request.url == "https://app.mango-office.ru/vpbx/queries/recording/post"
        if self.not_ready:
            self.not_ready -= 1
            return json_response({"result": 3103})
        return httpx.Response(302, headers={"location": self.file_url})


class FakeZadarma(FakePbx):
    """Answers the signed API request with a temporary link, or an error while not ready."""

    api_host: str = "api.zadarma.com"

    def api(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == self.api_host
        assert request.url.path == "/v1/pbx/record/request/"
        if self.not_ready:
            self.not_ready -= 1
            return json_response({"status": "error", "message": "record not found"})
        return json_response({"status": "success", "link": self.file_url})


class FakeNovofon(FakeZadarma):
    api_host = "api.novofon.com"


class FakeDirect(FakePbx):
    """Twilio and the generic bridge: the file is at the URL itself, 404 until it exists."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.not_ready and request.url == httpx.URL(self.file_url):
            self.not_ready -= 1
            self.requests.append(request)
            return httpx.Response(404)
        return super().handle(request)


TWILIO_SID = "AC" + "0" * 32
RECORDING_SID = "RE" + "1" * 32


def make_pbx(provider: str) -> FakePbx:
    if provider == "mango":
        return FakeMango(
            provider="mango",
            config=MangoConfig(api_key="mango-key-123", api_salt="mango-salt-456"),
            provider_ref="MToxMDA1NzU5MzoxMjM0NTY3OA==",
            source_url=None,
            file_url="https://storage.mango-office.ru/rec/once-TOKEN-789?signature=ONE-TIME-SIG",
            secrets=("mango-key-123", "mango-salt-456", "once-TOKEN-789", "ONE-TIME-SIG"),
        )
    if provider in ("zadarma", "novofon"):
        fake = FakeZadarma if provider == "zadarma" else FakeNovofon
        domain = "zadarma.com" if provider == "zadarma" else "novofon.ru"
        return fake(
            provider=provider,
            config=ZadarmaConfig(api_key="zd-key-123", api_secret="zd-secret-456"),
            provider_ref="1622461535.2334",
            source_url=None,
            file_url=f"https://rec.{domain}/rec/LINK-TOKEN-789.mp3?auth=LINK-SECRET",
            secrets=("zd-key-123", "zd-secret-456", "LINK-TOKEN-789", "LINK-SECRET"),
            provider_call_id="in_1622461535.2330",
        )
    if provider == "twilio":
        url = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Recordings/{RECORDING_SID}"
        return FakeDirect(
            provider="twilio",
            config=TwilioConfig(
                account_sid=TWILIO_SID,
                auth_token="twilio-token-456",
                public_base_url="https://callfunnel.example.com",
            ),
            provider_ref=RECORDING_SID,
            source_url=url,
            file_url=url + ".mp3",
            secrets=("twilio-token-456",),
        )
    if provider == "generic":
        url = "https://files.bridge.example/rec/77.wav?token=BRIDGE-TOKEN"
        return FakeDirect(
            provider="generic",
            config=GenericConfig(secret="generic-secret", recording_hosts=["files.bridge.example"]),
            provider_ref="rec-77",
            source_url=url,
            file_url=url,
            content_type="audio/x-wav",
            body=WAV,
            secrets=("generic-secret", "BRIDGE-TOKEN"),
        )
    raise ValueError(provider)


PROVIDERS = ("mango", "zadarma", "novofon", "twilio", "generic")


def form_of(request: httpx.Request) -> dict[str, str]:
    return dict(httpx.QueryParams(request.content.decode("ascii")))


def stored_files(root: Path) -> list[Path]:
    """Every file under the storage root, ``.partial`` included."""
    return [path for path in root.rglob("*") if path.is_file()]

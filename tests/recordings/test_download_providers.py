"""Each provider's own download steps: what is signed and how, where credentials go, what its
answers mean; and the downloader rules that do not depend on the provider."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.recordings.download import MAX_REDIRECTS, RecordingDownloader
from app.recordings.storage import LocalStorage
from app.webhooks.providers.generic import GenericConfig
from app.webhooks.providers.zadarma import ZadarmaConfig, api_authorization, api_query
from tests.recordings.fake_pbx import (
    AUDIO,
    RECORDING_SID,
    TWILIO_SID,
    WAV,
    FakePbx,
    FakeResolver,
    body_response,
    file_answer,
    form_of,
    json_response,
    make_pbx,
    redirect_to,
    stored_files,
)


class Harness:
    """One fake provider, a downloader wired to it, and the storage it writes to."""

    def __init__(self, pbx: FakePbx, root: Path) -> None:
        self.pbx = pbx
        self.root = root
        self.storage = LocalStorage(root)
        self.resolver = FakeResolver()
        self.client = httpx.AsyncClient(transport=httpx.MockTransport(pbx.handle))

    def downloader(self, *, allow_private_hosts: bool = False) -> RecordingDownloader:
        return RecordingDownloader(
            self.client,
            self.storage,
            max_bytes=1_000_000,
            allow_private_hosts=allow_private_hosts,
            resolver=self.resolver,
        )


@pytest.fixture
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(make_pbx(request.param), tmp_path / "recordings")
    async with h.client:
        yield h


def provider(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("harness", [name], indirect=True)


# --- Mango ---------------------------------------------------------------------------------------


@provider("mango")
async def test_mango_download_request_is_the_signed_form(harness: Harness) -> None:
    await harness.pbx.fetch(harness.downloader())

    ask = harness.pbx.requests[0]
    assert ask.method == "POST"
    assert ask.url == "https://app.mango-office.ru/vpbx/queries/recording/post"
    assert ask.headers["content-type"] == "application/x-www-form-urlencoded"
    form = form_of(ask)
    assert json.loads(form["json"]) == {
        "recording_id": harness.pbx.provider_ref,
        "action": "download",
    }
    assert form["vpbx_api_key"] == "mango-key-123"
    expected = hashlib.sha256(("mango-key-123" + form["json"] + "mango-salt-456").encode())
    assert form["sign"] == expected.hexdigest()


@provider("mango")
async def test_mango_one_time_url_is_fetched_without_the_signed_form(harness: Harness) -> None:
    await harness.pbx.fetch(harness.downloader())

    (download,) = harness.pbx.to("storage.mango-office.ru")
    assert download.method == "GET"
    assert download.content == b""
    assert b"mango-key-123" not in download.content + download.url.raw_path


@provider("mango")
async def test_mango_307_to_its_file_host_does_not_repost_the_form(harness: Harness) -> None:
    harness.pbx.api_answer = redirect_to(harness.pbx.file_url, 307)

    await harness.pbx.fetch(harness.downloader())

    (download,) = harness.pbx.to("storage.mango-office.ru")
    assert download.method == "GET"
    assert download.content == b""


@provider("mango")
async def test_mango_answering_json_means_not_ready(harness: Harness) -> None:
    harness.pbx.not_ready = 1

    error = await harness.pbx.failure(harness.downloader())

    assert error.retryable
    assert error.message == "Mango has no file yet (result 3103)"
    assert harness.pbx.to("storage.mango-office.ru") == []


@provider("mango")
async def test_a_page_from_mangos_file_host_is_not_a_recording(harness: Harness) -> None:
    harness.pbx.file = lambda request: body_response(200, b"<html/>", {"content-type": "text/html"})

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert error.message == "storage.mango-office.ru sent text/html, not a supported audio type"


# --- Zadarma and Novofon -------------------------------------------------------------------------


def test_zadarma_authorization_matches_an_independent_computation() -> None:
    config = ZadarmaConfig(api_key="a248a6a984459935b569", api_secret="8a8e91d214fb728889c7")
    method = "/v1/pbx/record/request/"
    query = api_query({"pbx_call_id": "in_1.2", "call_id": "1622461535.2334"})

    assert query == "call_id=1622461535.2334&pbx_call_id=in_1.2"
    signed = method + query + hashlib.md5(query.encode(), usedforsecurity=False).hexdigest()
    hex_digest = hmac.new(b"8a8e91d214fb728889c7", signed.encode(), hashlib.sha1).hexdigest()
    expected = "a248a6a984459935b569:" + base64.b64encode(hex_digest.encode()).decode()
    assert api_authorization(config, method, query) == expected
    assert expected == (
        "a248a6a984459935b569:N2M3NDU5NTY5ZTNhMDEyNzU1NGExNGI4Y2ZkNDNiMzhhNWRiNzU3Mg=="
    )


def test_zadarma_query_is_encoded_as_php_does() -> None:
    assert api_query({"b": "x y", "a": "1/2"}) == "a=1%2F2&b=x+y"


@provider("zadarma")
async def test_zadarma_asks_for_the_recording_by_call_id_with_rec(harness: Harness) -> None:
    await harness.pbx.fetch(harness.downloader())

    ask = harness.pbx.requests[0]
    assert ask.method == "GET"
    assert str(ask.url) == "https://api.zadarma.com/v1/pbx/record/request/?call_id=1622461535.2334"
    config = harness.pbx.config
    assert isinstance(config, ZadarmaConfig)
    assert ask.headers["authorization"] == api_authorization(
        config, "/v1/pbx/record/request/", "call_id=1622461535.2334"
    )


@provider("zadarma")
async def test_zadarma_link_is_fetched_without_the_api_authorization(harness: Harness) -> None:
    await harness.pbx.fetch(harness.downloader())

    (download,) = harness.pbx.to("rec.zadarma.com")
    assert "authorization" not in download.headers


@provider("novofon")
async def test_novofon_is_asked_on_its_own_api_host(harness: Harness) -> None:
    await harness.pbx.fetch(harness.downloader())

    assert harness.pbx.requests[0].url.host == "api.novofon.com"


@provider("zadarma")
async def test_zadarma_links_list_is_understood(harness: Harness) -> None:
    file_url = harness.pbx.file_url
    harness.pbx.api_answer = lambda request: json_response(
        {"status": "success", "links": [file_url]}
    )

    stored = await harness.pbx.fetch(harness.downloader())

    assert stored.size_bytes == len(AUDIO)


@provider("zadarma")
async def test_zadarma_not_ready_quotes_its_message(harness: Harness) -> None:
    harness.pbx.not_ready = 1

    error = await harness.pbx.failure(harness.downloader())

    assert error.retryable
    assert error.message == "no recording link yet: record not found"


@provider("zadarma")
async def test_a_secret_echoed_by_the_provider_is_masked(harness: Harness) -> None:
    harness.pbx.api_answer = lambda request: json_response(
        {"status": "error", "message": "wrong signature for key zd-key-123\n(see docs)"}
    )

    error = await harness.pbx.failure(harness.downloader())

    assert error.message == "no recording link yet: wrong signature for key *** (see docs)"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"status": "success"}, "the recording API answered success without a link"),
        (["not", "an", "object"], "the recording API did not answer a JSON object"),
        (None, "the recording API did not answer a JSON object"),
    ],
)
@provider("zadarma")
async def test_zadarma_answers_without_a_link_are_final(
    harness: Harness, answer: object, message: str
) -> None:
    body = b"<html>maintenance</html>" if answer is None else json.dumps(answer).encode()
    harness.pbx.api_answer = lambda request: body_response(
        200, body, {"content-type": "text/html" if answer is None else "application/json"}
    )

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert error.message == message


@provider("zadarma")
async def test_zadarma_link_off_its_hosts_is_refused(harness: Harness) -> None:
    harness.pbx.api_answer = lambda request: json_response(
        {"status": "success", "link": "https://files.example.net/rec.mp3"}
    )

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert error.message == "files.example.net is not an allowed recording host"
    assert harness.pbx.to("files.example.net") == []


# --- Twilio --------------------------------------------------------------------------------------


def twilio_basic() -> str:
    return "Basic " + base64.b64encode(f"{TWILIO_SID}:twilio-token-456".encode()).decode()


@provider("twilio")
async def test_twilio_is_asked_with_basic_auth(harness: Harness) -> None:
    await harness.pbx.fetch(harness.downloader())

    (ask,) = harness.pbx.requests
    assert ask.url == harness.pbx.file_url
    assert str(ask.url).endswith(f"/Recordings/{RECORDING_SID}.mp3")
    assert ask.headers["authorization"] == twilio_basic()


@provider("twilio")
async def test_twilio_auth_is_not_forwarded_to_its_media_host(harness: Harness) -> None:
    media = "https://media.twilio.com/v1/file/once?X-Amz-Signature=abc"
    harness.pbx.file = redirect_to(media)
    harness.pbx.routes[media] = file_answer()

    stored = await harness.pbx.fetch(harness.downloader())

    assert stored.size_bytes == len(AUDIO)
    (followed,) = harness.pbx.to("media.twilio.com")
    assert "authorization" not in followed.headers


@provider("twilio")
async def test_twilio_auth_is_kept_on_a_same_origin_redirect(harness: Harness) -> None:
    moved = harness.pbx.file_url.replace(".mp3", "-moved.mp3")
    harness.pbx.file = redirect_to(moved)
    harness.pbx.routes[moved] = file_answer()

    await harness.pbx.fetch(harness.downloader())

    asks = harness.pbx.to("api.twilio.com")
    assert [str(a.url) for a in asks] == [harness.pbx.file_url, moved]
    assert all(a.headers["authorization"] == twilio_basic() for a in asks)


@provider("twilio")
async def test_twilio_url_is_rebuilt_from_the_recording_sid_when_missing(harness: Harness) -> None:
    harness.pbx.source_url = None

    await harness.pbx.fetch(harness.downloader())

    assert harness.pbx.requests[0].url == harness.pbx.file_url


@provider("twilio")
async def test_twilio_url_with_a_media_suffix_is_kept(harness: Harness) -> None:
    harness.pbx.source_url = harness.pbx.file_url  # already ends in .mp3

    await harness.pbx.fetch(harness.downloader())

    assert harness.pbx.requests[0].url == harness.pbx.file_url


@provider("twilio")
async def test_twilio_recording_url_off_twilio_is_refused(harness: Harness) -> None:
    harness.pbx.source_url = "https://twilio.example.com/Recordings/RE1"

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert error.message == "twilio.example.com is not an allowed recording host"
    assert harness.pbx.requests == []


@provider("twilio")
async def test_a_malformed_twilio_recording_url_is_final(harness: Harness) -> None:
    harness.pbx.source_url = "https://[api.twilio.com/Recordings/RE1"

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert error.message == "RecordingUrl is not a valid URL"


# --- generic -------------------------------------------------------------------------------------


@provider("generic")
async def test_generic_recording_without_url_is_final(harness: Harness) -> None:
    harness.pbx.source_url = None

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert error.message == "the recording has no recording_url to download"
    assert harness.pbx.requests == []


@pytest.mark.parametrize(
    ("hosts", "allowed"),
    [
        (["files.bridge.example"], True),
        (["FILES.bridge.example."], True),
        (["*.bridge.example"], True),
        (["*.files.bridge.example"], True),  # the wildcard's own domain is included
        (["x.files.bridge.example"], False),
        (["bridge.example"], False),  # exact names are exact
        (["*.ridge.example"], False),  # labels, not characters
        (["*.example"], False),  # a whole top-level domain is never allowed
        ([], False),
    ],
)
@provider("generic")
async def test_generic_recording_hosts(harness: Harness, hosts: list[str], allowed: bool) -> None:
    harness.pbx.config = GenericConfig(secret="generic-secret", recording_hosts=hosts)
    downloader = harness.downloader()

    if allowed:
        assert (await harness.pbx.fetch(downloader)).size_bytes == len(WAV)
    else:
        error = await harness.pbx.failure(downloader)
        assert error.message == "files.bridge.example is not an allowed recording host"
        assert harness.pbx.requests == []


@provider("generic")
async def test_a_lookalike_host_does_not_match_a_wildcard(harness: Harness) -> None:
    harness.pbx.config = GenericConfig(secret="s", recording_hosts=["*.bridge.example"])
    harness.pbx.source_url = "https://evilbridge.example/rec.wav"

    error = await harness.pbx.failure(harness.downloader())

    assert error.message == "evilbridge.example is not an allowed recording host"


@provider("generic")
async def test_plain_http_is_refused(harness: Harness) -> None:
    harness.pbx.source_url = harness.pbx.file_url = "http://files.bridge.example/rec.wav"

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert error.message == "refused http URL to files.bridge.example: only https is allowed"
    assert harness.pbx.requests == []


@provider("generic")
async def test_plain_http_is_allowed_with_private_hosts(harness: Harness) -> None:
    harness.pbx.source_url = harness.pbx.file_url = "http://files.bridge.example/rec.wav"

    stored = await harness.pbx.fetch(harness.downloader(allow_private_hosts=True))

    assert stored.size_bytes == len(WAV)


@provider("generic")
async def test_an_invalid_url_is_final(harness: Harness) -> None:
    harness.pbx.source_url = "https://files.bridge.example:port/rec.wav"

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert error.message == "the recording URL is not valid"


# --- rules for every provider --------------------------------------------------------------------


@provider("generic")
async def test_unknown_provider_is_final(harness: Harness) -> None:
    harness.pbx.provider = "beeline"

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert error.message == "recordings of provider 'beeline' cannot be downloaded"


@provider("generic")
async def test_too_many_redirects_are_refused(harness: Harness) -> None:
    harness.pbx.file = redirect_to(harness.pbx.file_url)  # a loop

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert error.message == f"more than {MAX_REDIRECTS} redirects"
    assert len(harness.pbx.requests) == MAX_REDIRECTS + 1


@provider("generic")
async def test_every_hop_is_checked_against_dns(harness: Harness) -> None:
    harness.pbx.config = GenericConfig(secret="s", recording_hosts=["*.bridge.example"])
    inner = "https://cdn.bridge.example/rec.wav"
    harness.pbx.file = redirect_to(inner)
    harness.resolver.answers["cdn.bridge.example"] = ["192.168.1.10"]

    error = await harness.pbx.failure(harness.downloader())

    assert error.message == "refused cdn.bridge.example: 192.168.1.10 is not a public address"
    assert harness.resolver.asked == ["files.bridge.example", "cdn.bridge.example"]
    assert harness.pbx.to("cdn.bridge.example") == []


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "100.64.0.1",  # carrier-grade NAT
        "172.16.5.4",
        "224.0.0.251",  # multicast
        "240.0.0.1",  # reserved
        "fd00::1",  # unique local
        "fe80::1",
        "ff02::1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    ],
)
@provider("generic")
async def test_every_kind_of_non_public_address_is_refused(harness: Harness, address: str) -> None:
    harness.resolver.answers["files.bridge.example"] = [address]

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert "is not a public address" in error.message


@provider("generic")
async def test_one_private_answer_among_public_ones_refuses_the_host(harness: Harness) -> None:
    harness.resolver.answers["files.bridge.example"] = ["93.184.215.14", "10.1.2.3"]

    error = await harness.pbx.failure(harness.downloader())

    assert error.message == "refused files.bridge.example: 10.1.2.3 is not a public address"


@provider("generic")
async def test_a_literal_private_address_is_refused(harness: Harness) -> None:
    harness.pbx.config = GenericConfig(secret="s", recording_hosts=["169.254.169.254"])
    harness.pbx.source_url = "https://169.254.169.254/latest/meta-data"

    error = await harness.pbx.failure(harness.downloader())

    assert error.message == "refused 169.254.169.254: 169.254.169.254 is not a public address"


@provider("generic")
async def test_dns_failure_is_retried(harness: Harness) -> None:
    async def broken(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    downloader = RecordingDownloader(
        harness.client,
        harness.storage,
        max_bytes=10_000,
        allow_private_hosts=False,
        resolver=broken,
    )
    error = await harness.pbx.failure(downloader)

    assert error.retryable
    assert error.message == "cannot resolve files.bridge.example"


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (httpx.ConnectTimeout("slow"), "timed out talking to files.bridge.example"),
        (httpx.ReadTimeout("slow"), "timed out talking to files.bridge.example"),
        (httpx.ConnectError("refused"), "connection to files.bridge.example failed (ConnectError)"),
        (httpx.RemoteProtocolError("eof"), "connection to files.bridge.example failed"),
    ],
)
@provider("generic")
async def test_network_failures_are_retried(
    harness: Harness, failure: Exception, message: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    harness.pbx.file = fail

    error = await harness.pbx.failure(harness.downloader())

    assert error.retryable
    assert error.message.startswith(message)


@provider("generic")
async def test_a_connection_lost_mid_file_is_retried_and_leaves_nothing(harness: Harness) -> None:
    async def broken_stream() -> AsyncIterator[bytes]:
        yield WAV[:100]
        raise httpx.ReadError("connection reset")

    harness.pbx.file = lambda request: httpx.Response(
        200, headers={"content-type": "audio/wav"}, content=broken_stream()
    )

    error = await harness.pbx.failure(harness.downloader())

    assert error.retryable
    assert stored_files(harness.root) == []


@pytest.mark.parametrize(
    ("body", "content_type", "extension"),
    [
        (AUDIO, "audio/mpeg", "mp3"),
        (b"\xff\xfb\x90\x64" + bytes(100), "audio/mpeg", "mp3"),
        (WAV, "audio/wav", "wav"),
        (b"OggS\x00\x02" + bytes(100), "audio/ogg", "ogg"),
        (b"\x00\x00\x00\x20ftypM4A " + bytes(100), "audio/mp4", "m4a"),
    ],
)
@provider("generic")
async def test_octet_stream_is_kept_as_the_audio_its_bytes_show(
    harness: Harness, body: bytes, content_type: str, extension: str
) -> None:
    harness.pbx.file = file_answer(body, "application/octet-stream")

    stored = await harness.pbx.fetch(harness.downloader())

    assert stored.content_type == content_type
    assert stored.storage_key.endswith("." + extension)


@pytest.mark.parametrize(
    "body", [b"<!doctype html><p>hi</p>", b"\xff\xf1\x50\x80" + bytes(100), b"RIFF"]
)
@provider("generic")
async def test_octet_stream_that_is_not_audio_is_refused(harness: Harness, body: bytes) -> None:
    harness.pbx.file = file_answer(body, "application/octet-stream")

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert "not a known audio format" in error.message
    assert stored_files(harness.root) == []


@provider("generic")
async def test_a_declared_type_keeps_its_parameters_out(harness: Harness) -> None:
    harness.pbx.file = file_answer(WAV, "Audio/X-WAV; codecs=1")

    stored = await harness.pbx.fetch(harness.downloader())

    assert stored.content_type == "audio/x-wav"


@provider("generic")
async def test_an_unsupported_audio_type_is_refused(harness: Harness) -> None:
    harness.pbx.file = file_answer(WAV, "audio/x-gsm")

    error = await harness.pbx.failure(harness.downloader())

    assert error.message == "files.bridge.example sent audio/x-gsm, not a supported audio type"


@provider("generic")
async def test_a_compressed_file_is_refused(harness: Harness) -> None:
    harness.pbx.file = file_answer(WAV, "audio/wav", headers={"content-encoding": "gzip"})

    error = await harness.pbx.failure(harness.downloader())

    assert not error.retryable
    assert harness.pbx.requests[0].headers["accept-encoding"] == "identity"


@provider("generic")
async def test_an_empty_file_is_retried(harness: Harness) -> None:
    harness.pbx.file = file_answer(b"", "audio/wav")

    error = await harness.pbx.failure(harness.downloader())

    assert error.retryable
    assert error.message == "files.bridge.example sent an empty file"
    assert stored_files(harness.root) == []

"""Recording downloads: one guarded path from a provider's file to storage, for every provider.

The provider's adapter says what to ask for (``ProviderAdapter.recording_plan``); this module asks
safely:

- Every hop, redirects included, must be https to a host on the provider's allow-list (plain http
  too when private hosts are allowed, which is for tests and closed networks only). Redirects are
  followed here, at most ``MAX_REDIRECTS``, and credentials (a signed form, an ``Authorization``
  header) go to the first origin only.
- No private, loopback, link-local, reserved or multicast address is contacted: the client from
  ``app.recordings.http_client.make_http_client`` checks every address it connects to (DNS
  rebinding included), and the downloader checks before each hop as well, which refuses early,
  with a clear message, whatever client it was given.
- The file must be audio (``app.recordings.audio``); it is streamed to a temporary file under a
  size cap while its sha256 is computed, and moved into storage only when complete. The temporary
  file never outlives a failure.

Every failure is a ``RecordingFetchError`` that says whether retrying can help. Its message names
hosts and HTTP statuses, never a URL's path or query (one-time links) nor a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.recordings.audio import AUDIO_TYPES, OCTET_STREAM, SNIFF_BYTES, duration_seconds, sniff
from app.recordings.errors import RecordingFetchError
from app.recordings.http_client import Resolver, checked_addresses, host_allowed, system_resolver
from app.recordings.storage import RecordingStorage
from app.webhooks.providers import ADAPTERS
from app.webhooks.providers.base import (
    LocalRecording,
    ProviderConfig,
    RecordingNotReadyError,
    RecordingPlan,
    RecordingSourceError,
    RecordingTarget,
)

MAX_REDIRECTS = 5
# "Not ready yet" in HTTP terms: the provider may well have the file on a later attempt.
_RETRYABLE_STATUSES = frozenset({404, 408, 409, 425, 429})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_BODY_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding"})
# A provider's JSON answer naming a link is a few hundred bytes.
_MAX_ANSWER_BYTES = 64 * 1024
_MAX_PROVIDER_TEXT = 160


@dataclass(frozen=True, slots=True)
class StoredRecording:
    storage_key: str
    content_type: str
    size_bytes: int
    sha256: str
    # Not measured here: an MP3's first bytes do not give it reliably (variable bit rates).
    duration_seconds: int | None = None


def _media_type(response: httpx.Response) -> str:
    media_type: str = response.headers.get("content-type", "")
    return media_type.split(";")[0].strip().lower()


def _is_file(response: httpx.Response) -> bool:
    media_type = _media_type(response)
    return media_type in AUDIO_TYPES or media_type == OCTET_STREAM


def _content_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


def _host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, _host(url), url.port


def _check_status(response: httpx.Response, host: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    retryable = status >= 500 or status in _RETRYABLE_STATUSES
    raise RecordingFetchError(f"{host} answered HTTP {status}", retryable=retryable)


@contextlib.contextmanager
def _network_errors(host: str) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise RecordingFetchError(f"timed out talking to {host}", retryable=True) from exc
    except httpx.RemoteProtocolError as exc:
        # httpx parses a redirect's Location while sending, even with redirects off: a malformed
        # one surfaces here, and asking again would only get the same answer.
        if "location" in str(exc).lower():
            raise RecordingFetchError(
                f"{host} redirected to an invalid URL", retryable=False
            ) from None
        raise RecordingFetchError(
            f"connection to {host} failed ({type(exc).__name__})", retryable=True
        ) from exc
    except httpx.TransportError as exc:
        raise RecordingFetchError(
            f"connection to {host} failed ({type(exc).__name__})", retryable=True
        ) from exc


async def _read_answer(response: httpx.Response, host: str) -> object:
    """A provider's answer that is not the file, parsed as JSON (``None`` when it is not JSON)."""
    body = bytearray()
    with _network_errors(host):
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > _MAX_ANSWER_BYTES:
                raise RecordingFetchError(
                    f"{host} answered a document of over {_MAX_ANSWER_BYTES} bytes",
                    retryable=False,
                )
    try:
        return json.loads(body)
    except ValueError:
        return None


def _provider_text(text: str, config: ProviderConfig) -> str:
    """A provider's own words made fit for an error message: one short line, no secret echoed."""
    text = " ".join(text.split())
    for name in config.secret_fields:
        secret = getattr(config, name, None)
        if isinstance(secret, str) and secret:
            text = text.replace(secret, "***")
    return text[:_MAX_PROVIDER_TEXT]


@dataclass(frozen=True, slots=True)
class _Written:
    size: int
    sha256: str
    head: bytes


class RecordingDownloader:
    """Downloads one recording per ``fetch`` into ``storage``.

    ``resolver`` serves the check before each hop (the system's DNS by default); the client's own
    connect-time check is what closes DNS rebinding, so pass one from ``make_http_client``.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        storage: RecordingStorage,
        *,
        max_bytes: int,
        allow_private_hosts: bool,
        resolver: Resolver | None = None,
    ) -> None:
        self._client = client
        self._storage = storage
        self._max_bytes = max_bytes
        self._allow_private = allow_private_hosts
        self._resolver = resolver or system_resolver

    async def fetch(
        self,
        provider: str,
        config: ProviderConfig,
        *,
        provider_ref: str,
        source_url: str | None,
        provider_call_id: str,
    ) -> StoredRecording:
        adapter = ADAPTERS.get(provider)
        if adapter is None:
            raise RecordingFetchError(
                f"recordings of provider {provider[:40]!r} cannot be downloaded", retryable=False
            )
        target = RecordingTarget(
            provider=provider,
            provider_ref=provider_ref,
            source_url=source_url,
            provider_call_id=provider_call_id,
        )
        # The provider's words may quote the request; "from None" keeps them out of tracebacks.
        try:
            plan = adapter.recording_plan(config, target)
            if isinstance(plan, LocalRecording):
                return await self._store_local(plan.path)
            return await self._carry_out(plan)
        except RecordingNotReadyError as exc:
            raise RecordingFetchError(_provider_text(str(exc), config), retryable=True) from None
        except RecordingSourceError as exc:
            raise RecordingFetchError(_provider_text(str(exc), config), retryable=False) from None

    async def _store_local(self, path: Path) -> StoredRecording:
        """Copy a PBX's local file (already checked to be inside its folder) into storage, under
        the same size cap and audio check as a download; the PBX's file is left as it was."""
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        if size > self._max_bytes:
            raise self._too_large(size)
        if size == 0:
            raise RecordingFetchError("the recording file is empty", retryable=True)
        temp = self._storage.temp_path()
        try:
            head = await asyncio.to_thread(_copy_capped, path, temp, self._max_bytes)
            sniffed = sniff(head[0])
            if sniffed is None:
                raise RecordingFetchError(
                    "the recording file is not a supported audio format", retryable=False
                )
            content_type, extension = sniffed
            duration = await asyncio.to_thread(duration_seconds, temp)
            key = await self._storage.save(temp, extension=extension)
        finally:
            await asyncio.to_thread(temp.unlink, missing_ok=True)
        return StoredRecording(
            storage_key=key,
            content_type=content_type,
            size_bytes=head[1],
            sha256=head[2],
            duration_seconds=duration,
        )

    async def _carry_out(self, plan: RecordingPlan) -> StoredRecording:
        request = self._request(plan.method, plan.url, plan.headers, plan.body)
        async with self._open(request, plan.hosts) as response:
            # Only the provider's API itself answers documents; from the file host, a page
            # is simply not the file.
            answered_by_api = _origin(response.request.url) == _origin(request.url)
            if plan.read_answer is None or _is_file(response) or not answered_by_api:
                return await self._store(response)
            link = plan.read_answer(await _read_answer(response, _host(request.url)))
        async with self._open(self._request("GET", link), plan.hosts) as response:
            return await self._store(response)

    def _request(
        self,
        method: str,
        url: str | httpx.URL,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> httpx.Request:
        try:
            return self._client.build_request(
                method,
                url,
                # Raw bytes are what is capped, hashed and stored: no decompression bombs.
                headers={**(headers or {}), "accept-encoding": "identity"},
                content=body or None,
            )
        except httpx.InvalidURL:
            raise RecordingFetchError("the recording URL is not valid", retryable=False) from None

    @contextlib.asynccontextmanager
    async def _open(
        self, request: httpx.Request, hosts: Iterable[str]
    ) -> AsyncIterator[httpx.Response]:
        """The successful answer to ``request``, its redirects followed and every hop checked."""
        for _ in range(MAX_REDIRECTS + 1):
            host = await self._check_hop(request.url, hosts)
            with _network_errors(host):
                response = await self._client.send(request, stream=True, follow_redirects=False)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECT_STATUSES or location is None:
                break
            await response.aclose()
            request = self._redirect(request, response.status_code, location, host)
        else:
            raise RecordingFetchError(f"more than {MAX_REDIRECTS} redirects", retryable=False)
        try:
            _check_status(response, host)
            yield response
        finally:
            await response.aclose()

    async def _check_hop(self, url: httpx.URL, hosts: Iterable[str]) -> str:
        host = _host(url)
        if url.scheme != "https" and not (url.scheme == "http" and self._allow_private):
            raise RecordingFetchError(
                f"refused {url.scheme or 'a scheme-less'} URL to {host}: only https is allowed",
                retryable=False,
            )
        if not any(host_allowed(host, pattern) for pattern in hosts):
            raise RecordingFetchError(
                f"{host or 'a URL without a host'} is not an allowed recording host",
                retryable=False,
            )
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            await checked_addresses(host, port, self._resolver, allow_private=self._allow_private)
        except OSError:
            raise RecordingFetchError(f"cannot resolve {host}", retryable=True) from None
        return host

    def _redirect(
        self, previous: httpx.Request, status: int, location: str, host: str
    ) -> httpx.Request:
        try:
            target = previous.url.join(location)
        except httpx.InvalidURL:
            raise RecordingFetchError(
                f"{host} redirected to an invalid URL", retryable=False
            ) from None
        if _origin(target) != _origin(previous.url):
            # Credentials (Mango's signed form, Twilio's and Zadarma's Authorization) are for
            # the origin they were made for, never for where it sends us.
            return self._request("GET", target)
        if status in (307, 308):
            return self._request(previous.method, target, previous.headers, previous.content)
        headers = {k: v for k, v in previous.headers.items() if k.lower() not in _BODY_HEADERS}
        return self._request("GET", target, headers)

    async def _store(self, response: httpx.Response) -> StoredRecording:
        host = _host(response.request.url)
        declared = _media_type(response)
        extension = AUDIO_TYPES.get(declared)
        if extension is None and declared != OCTET_STREAM:
            raise RecordingFetchError(
                f"{host} sent {declared or 'no content type'}, not a supported audio type",
                retryable=False,
            )
        if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
            raise RecordingFetchError(f"{host} sent a compressed file", retryable=False)
        length = _content_length(response)
        if length is not None and length > self._max_bytes:
            raise self._too_large(length)
        temp = self._storage.temp_path()
        try:
            written = await self._write(response, temp, host)
            if written.size == 0:
                raise RecordingFetchError(f"{host} sent an empty file", retryable=True)
            content_type = declared
            if extension is None:
                sniffed = sniff(written.head)
                if sniffed is None:
                    raise RecordingFetchError(
                        f"{host} sent {OCTET_STREAM} that is not a known audio format",
                        retryable=False,
                    )
                content_type, extension = sniffed
            duration = await asyncio.to_thread(duration_seconds, temp)
            key = await self._storage.save(temp, extension=extension)
        finally:
            # After a save the file has moved on and this finds nothing.
            await asyncio.to_thread(temp.unlink, missing_ok=True)
        return StoredRecording(
            storage_key=key,
            content_type=content_type,
            size_bytes=written.size,
            sha256=written.sha256,
            duration_seconds=duration,
        )

    async def _write(self, response: httpx.Response, temp: Path, host: str) -> _Written:
        digest = hashlib.sha256()
        size = 0
        head = b""
        file = await asyncio.to_thread(temp.open, "wb")
        try:
            with _network_errors(host):
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise self._too_large()
                    digest.update(chunk)
                    head += chunk[: max(0, SNIFF_BYTES - len(head))]
                    await asyncio.to_thread(file.write, chunk)
        finally:
            await asyncio.to_thread(file.close)
        return _Written(size=size, sha256=digest.hexdigest(), head=head)

    def _too_large(self, size: int | None = None) -> RecordingFetchError:
        what = "" if size is None else f" {size} bytes,"
        return RecordingFetchError(
            f"the recording is{what} over the limit of {self._max_bytes} bytes", retryable=False
        )


def _copy_capped(source: Path, target: Path, max_bytes: int) -> tuple[bytes, int, str]:
    """Copy ``source`` to ``target``: (its first bytes, its size, its sha256); a file that grew
    past ``max_bytes`` while being copied is refused."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(1024 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise RecordingFetchError("the recording file is too large", retryable=False)
            digest.update(chunk)
            head += chunk[: max(0, SNIFF_BYTES - len(head))]
            writer.write(chunk)
    return head, size, digest.hexdigest()

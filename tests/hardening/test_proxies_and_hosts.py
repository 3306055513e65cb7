"""F3.4 (X-Forwarded-For only from trusted proxies) and F4.1 (IPv6 ranges that pass as public)."""

from __future__ import annotations

import ipaddress

import pytest

from app.proxies import client_address
from app.recordings.http_client import is_public

LOCAL = (ipaddress.ip_network("127.0.0.1/32"),)


def test_forwarded_for_is_ignored_without_trusted_proxies() -> None:
    assert client_address("127.0.0.1", "203.0.113.5", ()) == "127.0.0.1"
    assert client_address("198.51.100.7", "203.0.113.5", LOCAL) == "198.51.100.7"


def test_forwarded_for_is_read_from_the_right_behind_a_trusted_proxy() -> None:
    assert client_address("127.0.0.1", "203.0.113.5", LOCAL) == "203.0.113.5"
    # The client wrote the left entry itself; the proxy appended what it saw.
    assert client_address("127.0.0.1", "203.0.113.5, 1.2.3.4", LOCAL) == "1.2.3.4"
    assert client_address("127.0.0.1", "garbage", LOCAL) == "127.0.0.1"


@pytest.mark.parametrize("address", ["fec0::1", "::127.0.0.1", "64:ff9b:1::a00:1"])
def test_local_ipv6_ranges_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


def test_public_addresses_stay_public() -> None:
    assert is_public(ipaddress.ip_address("2001:4860:4860::8888"))
    assert is_public(ipaddress.ip_address("64:ff9b::808:808"))

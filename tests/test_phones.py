from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.phones import Party, is_extension, normalise_phone, split_party


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        # Russian numbers in every spelling a PBX or a person uses.
        ("8 (916) 123-45-67", "RU", "+79161234567"),
        ("+7 916 123 45 67", "RU", "+79161234567"),
        ("+7 (916) 123-45-67", "RU", "+79161234567"),
        ("79161234567", "RU", "+79161234567"),
        ("89161234567", "RU", "+79161234567"),
        ("9161234567", "RU", "+79161234567"),
        ("8-800-555-35-35", "RU", "+78005553535"),
        ("74950000000", "RU", "+74950000000"),
        (" +7 900 000-00-01 ", "RU", "+79000000001"),
        # International numbers, with or without "+", whatever the default region.
        ("+1 415 123 4567", "RU", "+14151234567"),
        ("+14151234567", "US", "+14151234567"),
        ("(415) 123-4567", "US", "+14151234567"),
        ("79161234567", "US", "+79161234567"),
        ("0049 30 1234567", "RU", "+49301234567"),
        ("+44 20 7946 0958", "RU", "+442079460958"),
        # URIs around a number.
        ("sip:+79161234567@trunk.example.com", "RU", "+79161234567"),
        ("sip:79161234567@trunk.example.com;transport=udp", "RU", "+79161234567"),
        ("tel:+79161234567", "RU", "+79161234567"),
        # Extensions, employees and junk are not customers.
        ("sip:101@host", "RU", None),
        ("client:101", "RU", None),
        ("client:alice", "RU", None),
        ("101", "RU", None),
        ("12345", "RU", None),
        ("123", "RU", None),
        ("", "RU", None),
        ("   ", "RU", None),
        ("abc", "RU", None),
        ("anonymous", "US", None),
        ("+266696687", "US", None),  # Twilio's "anonymous caller" number
        ("+7 916", "RU", None),
        ("12345678901234567890", "RU", None),
    ],
)
def test_normalise_phone(raw: str, region: str, expected: str | None) -> None:
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("101", True),
        ("1", True),
        ("99999", True),
        (" 205 ", True),
        ("sip:101@vpbx.mangosip.ru", True),
        ("client:102", True),
        ("123456", False),
        ("79161234567", False),
        ("+101", False),
        ("", False),
        ("alice", False),
        ("sip:alice@host", False),
        ("١٠١", False),  # Arabic-Indic digits are not a dial string
    ],
)
def test_is_extension(raw: str, expected: bool) -> None:
    assert is_extension(raw) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("101", Party(extension="101")),
        ("sip:101@host", Party(extension="101")),
        ("sip:user101@vpbx.mangosip.ru", Party(extension="user101")),
        ("SIP:205@pbx.sip.twilio.com", Party(extension="205")),
        ("client:alice", Party(extension="alice")),
        ("+14151234567", Party(number="+14151234567")),
        ("8 (916) 123-45-67", Party(number="8 (916) 123-45-67")),
        ("sip:+79161234567@trunk", Party(number="+79161234567")),
        ("", Party()),
        (None, Party()),
        ("client:", Party()),
        ("sip:@host", Party()),
    ],
)
def test_split_party(raw: str | None, expected: Party) -> None:
    assert split_party(raw) == expected


@given(st.integers(900_000_0000, 999_999_9999))
def test_every_russian_mobile_spelling_gives_one_number(national: int) -> None:
    digits = str(national)
    e164 = f"+7{digits}"
    spellings = [
        e164,
        f"7{digits}",
        f"8{digits}",
        digits,
        f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}",
        f"sip:{e164}@trunk",
    ]
    assert {normalise_phone(s, "RU") for s in spellings} == {e164}


@given(st.text(max_size=40))
def test_never_raises(raw: str) -> None:
    result = normalise_phone(raw, "RU")
    assert result is None or (result.startswith("+") and result[1:].isdigit())
    is_extension(raw)
    split_party(raw)

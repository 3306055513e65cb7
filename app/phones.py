"""Phone numbers and PBX party strings.

A PBX names a side of a call in many ways: ``79161234567``, ``8 (916) 123-45-67``, ``sip:101@host``,
``client:alice``. Customers are matched to leads by E.164 number, employees by extension, so every
party string is first split into one of the two and only then normalised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

MAX_EXTENSION_DIGITS = 5

_SIP_SCHEMES = ("sip:", "sips:", "tel:")
_CLIENT_SCHEME = "client:"
_SIP_USER_NAME = re.compile(r"[A-Za-z0-9._~-]+")


@dataclass(frozen=True, slots=True)
class Party:
    """One side of a call: an employee's extension, a customer's number (raw), or neither."""

    extension: str | None = None
    number: str | None = None


def _identity(raw: str) -> str:
    """The user part of a URI-style party (``sip:user@host;params`` → ``user``), else the text."""
    text = raw.strip()
    lowered = text.lower()
    if lowered.startswith(_CLIENT_SCHEME):
        return text[len(_CLIENT_SCHEME) :].strip()
    for scheme in _SIP_SCHEMES:
        if lowered.startswith(scheme):
            user = text[len(scheme) :].split("@", 1)[0]
            return user.split(";", 1)[0].strip()
    return text


def is_extension(raw: str) -> bool:
    """A short all-digit identity (≤ 5 digits) is a PBX extension, never a customer."""
    ident = _identity(raw)
    return ident.isascii() and ident.isdigit() and len(ident) <= MAX_EXTENSION_DIGITS


def split_party(raw: str | None) -> Party:
    """Tell an employee's side from a customer's.

    ``client:NAME`` and a SIP user name (``sip:alice@host``) are employees whatever they look
    like; a SIP user that is a phone number (``sip:+79161234567@trunk``) is a customer reached
    over a trunk.
    """
    if raw is None or not raw.strip():
        return Party()
    text = raw.strip()
    ident = _identity(text)
    if not ident:
        return Party()
    if text.lower().startswith(_CLIENT_SCHEME) or is_extension(ident):
        return Party(extension=ident)
    if text.lower().startswith(_SIP_SCHEMES) and not _looks_like_number(ident):
        if _SIP_USER_NAME.fullmatch(ident):
            return Party(extension=ident)
        return Party()
    return Party(number=ident)


def _looks_like_number(text: str) -> bool:
    return bool(re.fullmatch(r"\+?[\d\s().-]+", text))


def _parse_possible(text: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    e164: str = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164


def normalise_phone(raw: str, default_region: str) -> str | None:
    """E.164 for a customer's number, ``None`` for an extension, an employee identity or junk.

    Possible (not necessarily valid) numbers are kept: numbering plans change faster than the
    library's metadata, and a lead must still match the number the PBX reported.
    """
    if not raw:
        return None
    party = split_party(raw)
    if party.number is None:
        return None
    text = party.number
    digits = re.sub(r"\D", "", text)
    if len(digits) <= MAX_EXTENSION_DIGITS:
        return None
    region = default_region.upper() if default_region else None
    found = _parse_possible(text, region)
    if found is not None or text.lstrip().startswith("+"):
        return found
    # PBXs often send international numbers without the "+" (Zadarma: ``79161234567``) or with
    # the "00" international prefix; read them as such when the default region cannot.
    if digits.startswith("00"):
        return _parse_possible("+" + digits[2:], None)
    return _parse_possible("+" + digits, None)

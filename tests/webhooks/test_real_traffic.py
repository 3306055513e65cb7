"""The adapters against what real senders publish (tests/fixtures/real_webhooks/README.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from app.db import Database
from app.webhooks.models import WebhookEvent
from app.webhooks.providers import twilio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real_webhooks"
MANGO_KEY, MANGO_SALT = "mk-real", "salt-real"
TWILIO_TOKEN = "token-real"
TWILIO_BASE = "https://calls.example.com"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text("utf-8"))


MANGO_DOCS = _load("mango_documentation_examples.json")["examples"]
MANGO_LIBRARY = _load("mango_client_library_events.json")["examples"]
TWILIO_VECTORS = _load("twilio_signature_vectors.json")
TWILIO_CALLBACKS = _load("twilio_status_callbacks.json")["callbacks"]


def _at(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


async def _integration(
    client: AsyncClient, admin: dict[str, str], provider: str, **config: Any
) -> str:
    response = await client.post(
        "/api/v1/integrations",
        json={"provider": provider, "name": f"real {provider}", "config": config},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _events(database: Database, integration_id: str) -> list[WebhookEvent]:
    async with database.read_sessions() as session:
        query = select(WebhookEvent).where(WebhookEvent.integration_id == integration_id)
        return list((await session.execute(query)).scalars())


async def _calls(client: AsyncClient, admin: dict[str, str], integration_id: str) -> list[Any]:
    response = await client.get(
        "/api/v1/calls", params={"integration_id": integration_id, "limit": 500}, headers=admin
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


# --------------------------------------------------------------------------------------------------
# Mango
# --------------------------------------------------------------------------------------------------


def mango_form(payload: str) -> bytes:
    """Mango's form, signed over the ``json`` value exactly as printed (independently here)."""
    sign = hashlib.sha256((MANGO_KEY + payload + MANGO_SALT).encode("utf-8")).hexdigest()
    return urlencode([("vpbx_api_key", MANGO_KEY), ("sign", sign), ("json", payload)]).encode()


async def post_mango(client: AsyncClient, integration_id: str, path: str, payload: str) -> int:
    response = await client.post(
        f"/webhooks/mango/{integration_id}/{path}",
        content=mango_form(payload),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code != 500, response.text
    return response.status_code


def _group(index: int, example: dict[str, Any]) -> str:
    """The documentation reuses one entry_id in every scenario, and its four summary examples
    are four different calls: each scenario (and each summary) is delivered on its own."""
    section = str(example["document_section"])
    return f"{section}#{index}" if example["path"] == "events/summary" else section


# The calls each group must give: what the documentation's scenario describes.
ENTRY = "232wc3e3w3s222"
MANGO_EXPECTED: dict[str, dict[str, dict[str, Any]]] = {
    "245_scenario_outgoing_call_events_call.txt": {
        ENTRY: {
            "direction": "outbound",
            "status": "answered",
            "extension": "1234",
            "started_at": _at(1399906976),
            "answered_at": _at(1399906988),
            "ended_at": _at(1399907008),
            "ring_seconds": 12,
            "talk_seconds": 20,
            "duration_seconds": 32,
        }
    },
    "246_scenario_callback_command_events_call.txt": {
        ENTRY: {
            "direction": "internal",
            "status": "answered",
            "extension": "5555",
            "external_number": None,
            "started_at": _at(1399906971),
            "answered_at": _at(1399906973),
            "ended_at": _at(1399906979),
        }
    },
    "247_scenario_ivr_route_events_call.txt": {
        ENTRY: {
            "direction": "inbound",  # only from.number and to.line_number
            "status": "ringing",
            "external_number": "+79000000000",
            "started_at": _at(1399906976),
            "ended_at": None,
        }
    },
    "248_scenario_consultative_transfer_events_call.txt": {},  # every example there is broken JSON
    "249_scenario_blind_transfer_events_call.txt": {
        ENTRY: {
            "direction": "inbound",
            "status": "answered",
            "extension": "333",
            "external_number": "+74955404444",
            "started_at": _at(1399956976),
            "answered_at": _at(1399956986),
            "ended_at": _at(1399957036),
        }
    },
    "27_events_call_example.txt": {
        # A Disconnected that arrives alone: the call still has its time, and is over.
        "1MN0Q1MDOQ==": {
            "direction": "inbound",
            "status": "no_answer",
            "external_number": "+79001234567",
            "started_at": _at(1558422128),
            "ended_at": _at(1558422128),
            "talk_seconds": 0,
        }
    },
    "29_events_recording_examples.txt": {},  # recordings only Started: nothing to fetch yet
    "32_events_summary_examples.txt#36": {
        ENTRY: {
            "direction": "inbound",
            "status": "answered",
            "extension": "123",
            "started_at": _at(1399906976),
            "answered_at": _at(1399906980),
            "ended_at": _at(1399906990),
            "ring_seconds": 4,
            "talk_seconds": 10,
            "duration_seconds": 14,
        }
    },
    "32_events_summary_examples.txt#37": {
        # to: {} and entry_result 1, yet nobody talked (talk_time 0): not answered.
        ENTRY: {
            "direction": "inbound",
            "status": "no_answer",
            "extension": None,
            "external_number": "+79000000000",
            "started_at": _at(1399906976),
            "ended_at": _at(1399906990),
            "talk_seconds": 0,
            "duration_seconds": 14,
        }
    },
    "32_events_summary_examples.txt#38": {
        ENTRY: {
            "direction": "outbound",
            "status": "answered",
            "extension": "123",
            "started_at": _at(1399906976),
            "ended_at": _at(1399906990),
            "talk_seconds": 10,
        }
    },
    "32_events_summary_examples.txt#39": {
        ENTRY: {
            "direction": "outbound",
            "status": "no_answer",
            "extension": "123",
            "started_at": _at(1399906976),
            "ended_at": _at(1399906990),
            "talk_seconds": 0,
            "ring_seconds": 14,
        }
    },
}


def test_the_documentation_examples_are_what_the_readme_counts() -> None:
    from_mango = [e for e in MANGO_DOCS if e["sent"] == "from_mango"]
    valid = [e for e in from_mango if e["valid_json"]]
    assert len(from_mango) == 38
    assert len([e for e in valid if e["path"].startswith("events/")]) == 23
    assert len([e for e in from_mango if not e["valid_json"]]) == 13
    assert len([e for e in MANGO_DOCS if e["sent"] == "to_mango"]) == 2
    # Both spellings of seq and timestamp occur, so leniency is really exercised.
    kinds = {
        (type(json.loads(e["json"]).get(k)).__name__)
        for e in valid
        for k in ("seq", "timestamp")
        if k in json.loads(e["json"])
    }
    assert kinds == {"str", "int"}
    groups = {_group(i, e) for i, e in enumerate(MANGO_DOCS) if e["sent"] == "from_mango"}
    assert groups == set(MANGO_EXPECTED)


async def test_mango_documentation_examples(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for index, example in enumerate(MANGO_DOCS):
        if example["sent"] == "from_mango":  # to_mango: a command to Mango, never sent to us
            groups[_group(index, example)].append((index, example))

    for group, examples in groups.items():
        integration_id = await _integration(
            client, admin, "mango", api_key=MANGO_KEY, api_salt=MANGO_SALT
        )
        for index, example in examples:
            stored_before = len(await _events(database, integration_id))
            status = await post_mango(client, integration_id, example["path"], example["json"])
            stored = len(await _events(database, integration_id)) - stored_before
            if example["valid_json"]:
                assert (status, stored) == (200, 1), (group, index)
            else:
                assert (status, stored) == (422, 0), (group, index)
        events = await _events(database, integration_id)
        assert all(e.status != "failed" for e in events), [(e.path, e.error) for e in events]
        results = [e for e in events if e.path.startswith("result/")]
        assert all(e.status == "ignored" for e in results)

        calls = {c["provider_call_id"]: c for c in await _calls(client, admin, integration_id)}
        assert set(calls) == set(MANGO_EXPECTED[group]), group
        for entry, expected in MANGO_EXPECTED[group].items():
            got = {name: calls[entry][name] for name in expected}
            assert got == expected, group
            # Sensible whatever the scenario: a call has a start, a finished call an end.
            assert calls[entry]["started_at"] is not None
            if calls[entry]["status"] not in ("ringing", "in_progress"):
                assert calls[entry]["ended_at"] is not None


async def test_mango_client_library_events(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    integration_id = await _integration(
        client, admin, "mango", api_key=MANGO_KEY, api_salt=MANGO_SALT
    )
    for example in MANGO_LIBRARY:
        payload = json.dumps(example["payload"], ensure_ascii=False)
        assert await post_mango(client, integration_id, example["path"], payload) == 200
    events = await _events(database, integration_id)
    assert len(events) == len(MANGO_LIBRARY)
    assert {e.status for e in events} <= {"processed", "ignored"}, [e.error for e in events]
    # A recording Started (for a recipient) announces no file yet: stored, nothing to fetch.
    [recording] = [e for e in events if e.path == "events/recording"]
    assert recording.status == "ignored"

    calls = {c["provider_call_id"]: c for c in await _calls(client, admin, integration_id)}
    ivr = calls["MzUyODbvczkxMjo0MDE="]  # Appeared in the IVR: from a number to a line
    assert (ivr["direction"], ivr["status"]) == ("inbound", "ringing")
    assert ivr["external_number"] == "+74991102914"
    assert ivr["started_at"] == _at(1516454940)
    summary = calls["MzUyODbvczg4OTo0MDE="]  # the summary and a later Appeared of one entry
    assert (summary["direction"], summary["status"]) == ("inbound", "answered")
    assert (summary["started_at"], summary["ended_at"]) == (_at(1516454940), _at(1516454946))
    assert summary["talk_seconds"] == 6


# --------------------------------------------------------------------------------------------------
# Twilio
# --------------------------------------------------------------------------------------------------


def test_twilio_signature_vectors_all_verify() -> None:
    token, uri = TWILIO_VECTORS["auth_token"], TWILIO_VECTORS["uri"]
    form = urlencode(list(TWILIO_VECTORS["params"].items())).encode()
    expected = TWILIO_VECTORS["expected_signature"]
    assert twilio.signature_valid(token, uri, form, expected)

    with_port = uri.replace("mycompany.com", "mycompany.com:1234")
    variants = TWILIO_VECTORS["port_variants"]
    cases = {
        "https uri with :1234 added -> still validates with": with_port,
        "http uri with :1234 (hash of http uri with port 1234)": with_port.replace(
            "https:", "http:"
        ),
        "https uri, signature computed over uri with :443": uri,
        "http uri, signature computed over uri with :80": uri.replace("https:", "http:"),
    }
    assert set(cases) == set(variants)
    for name, url in cases.items():
        assert twilio.signature_valid(token, url, form, variants[name]), name

    duplicates = TWILIO_VECTORS["duplicate_params_case"]
    body = duplicates["as_querystring"].encode()
    assert body == urlencode([tuple(pair) for pair in duplicates["params_multi"]]).encode()
    assert twilio.signature_valid(token, uri, body, duplicates["expected_signature"])

    json_case = TWILIO_VECTORS["json_body_case"]
    json_body = json_case["body"].encode()
    assert hashlib.sha256(json_body).hexdigest() == json_case["bodySHA256"]
    assert twilio.signature_valid(
        token, json_case["uri_with_body"], json_body, json_case["expected_signature"]
    )

    # And none of them verifies with anything changed.
    assert not twilio.signature_valid("54321", uri, form, expected)
    assert not twilio.signature_valid(token, uri.replace("foo=1", "foo=2"), form, expected)
    assert not twilio.signature_valid(token, uri, form + b"&Extra=1", expected)
    assert not twilio.signature_valid(
        token, json_case["uri_with_body"], json_body + b" ", json_case["expected_signature"]
    )


def twilio_signature(url: str, pairs: list[tuple[str, str]]) -> str:
    """Twilio's algorithm, written out here: URL, then each name's sorted values, names sorted."""
    values: dict[str, set[str]] = defaultdict(set)
    for name, value in pairs:
        values[name].add(value)
    message = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    digest = hmac.new(TWILIO_TOKEN.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


async def post_twilio(
    client: AsyncClient,
    integration_id: str,
    pairs: list[tuple[str, str]],
    *,
    signed_url: str | None = None,
) -> int:
    path = f"/webhooks/twilio/{integration_id}/status"
    response = await client.post(
        path,
        content=urlencode(pairs).encode(),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": twilio_signature(signed_url or TWILIO_BASE + path, pairs),
        },
    )
    assert response.status_code != 500, response.text
    return response.status_code


async def _twilio_integration(client: AsyncClient, admin: dict[str, str]) -> str:
    return await _integration(
        client,
        admin,
        "twilio",
        account_sid="AC8d88ba5085adeac4015ea92ec9a81ded",
        auth_token=TWILIO_TOKEN,
        public_base_url=TWILIO_BASE,
        default_region="US",
    )


async def test_twilio_fixture_callbacks_are_accepted(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    integration_id = await _twilio_integration(client, admin)
    for name, fields in TWILIO_CALLBACKS.items():
        assert await post_twilio(client, integration_id, list(fields.items())) == 200, name
    events = {e.dedupe_key: e for e in await _events(database, integration_id)}
    assert len(events) == len(TWILIO_CALLBACKS)
    completed = next(e for e in events.values() if b"completed" in e.body)
    assert completed.status == "processed", completed.error
    # The voice request without any Timestamp: kept, and failed with the reason, not a call.
    [untimed] = [e for e in events.values() if e is not completed]
    assert untimed.status == "failed"
    assert untimed.error is not None
    assert "Timestamp" in untimed.error

    [call] = await _calls(client, admin, integration_id)
    assert call["provider_call_id"] == "CAf19604a3eec3e63d157870c5f7f3b3a0"
    # Direction outbound-api between two numbers: Twilio's leg says the call went out.
    assert (call["direction"], call["status"]) == ("outbound", "answered")
    assert call["external_number"] == "+15005550006"
    assert call["started_at"] == call["ended_at"] == "1989-07-20T18:30:43Z"


async def test_twilio_signatures_through_the_endpoint(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    """Duplicate form keys and the default port, as Twilio's validator allows them."""
    integration_id = await _twilio_integration(client, admin)
    path = f"/webhooks/twilio/{integration_id}/status"
    duplicates = [(k, v) for k, v in TWILIO_VECTORS["duplicate_params_case"]["params_multi"]]
    assert await post_twilio(client, integration_id, duplicates) == 200
    with_port = f"{TWILIO_BASE}:443{path}"
    callback = list(TWILIO_CALLBACKS["_CALLBACK_STATUS_DICT"].items())
    assert await post_twilio(client, integration_id, callback, signed_url=with_port) == 200
    wrong = f"{TWILIO_BASE}:8443{path}"
    assert await post_twilio(client, integration_id, callback, signed_url=wrong) == 401
    # A field the adapter reads, repeated with another value, is ambiguous: refused, not stored.
    ambiguous = [*callback, ("CallStatus", "busy")]
    assert await post_twilio(client, integration_id, ambiguous) == 422
    assert len(await _events(database, integration_id)) == 2


# --------------------------------------------------------------------------------------------------
# An event whose time cannot be read
# --------------------------------------------------------------------------------------------------


FORM = "application/x-www-form-urlencoded"


async def unreadable_time_request(
    client: AsyncClient, admin: dict[str, str], provider: str
) -> tuple[str, str, bytes, dict[str, str]]:
    """An authentic request whose only fault is a time nobody can read."""
    if provider == "mango":
        integration_id = await _integration(
            client, admin, "mango", api_key=MANGO_KEY, api_salt=MANGO_SALT
        )
        payload = json.dumps(
            {
                "entry_id": "E1",
                "call_id": "L1",
                "timestamp": "yesterday",
                "seq": 1,
                "call_state": "Appeared",
                "from": {"extension": "101"},
                "to": {"number": "79161234567"},
            }
        )
        path = f"/webhooks/mango/{integration_id}/events/call"
        return integration_id, path, mango_form(payload), {"content-type": FORM}
    if provider == "zadarma":
        secret = "zs-real"
        integration_id = await _integration(
            client, admin, "zadarma", api_key="zk-real", api_secret=secret
        )
        fields = {
            "event": "NOTIFY_OUT_START",
            "call_start": "2026-13-45 25:61:00",
            "pbx_call_id": "out_1",
            "internal": "101",
            "destination": "79161234567",
        }
        signed = fields["internal"] + fields["destination"] + fields["call_start"]
        digest = hmac.new(secret.encode(), signed.encode(), hashlib.sha1).hexdigest()
        headers = {"content-type": FORM, "signature": base64.b64encode(digest.encode()).decode()}
        return (
            integration_id,
            f"/webhooks/zadarma/{integration_id}",
            urlencode(fields).encode(),
            headers,
        )
    if provider == "twilio":
        integration_id = await _twilio_integration(client, admin)
        pairs = [
            ("CallSid", "CA00000000000000000000000000000001"),
            ("From", "client:101"),
            ("To", "+15005550006"),
            ("CallStatus", "ringing"),
            ("SequenceNumber", "0"),
            ("Timestamp", "yesterday at noon"),
        ]
        path = f"/webhooks/twilio/{integration_id}/status"
        headers = {
            "content-type": FORM,
            "x-twilio-signature": twilio_signature(TWILIO_BASE + path, pairs),
        }
        return integration_id, path, urlencode(pairs).encode(), headers
    secret = "generic-real"
    integration_id = await _integration(client, admin, "generic", secret=secret)
    body = json.dumps(
        {"event_id": "e1", "call_id": "c1", "type": "call.started", "started_at": "yesterday"}
    ).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-callfunnel-signature": signature}
    return integration_id, f"/webhooks/generic/{integration_id}", body, headers


@pytest.mark.parametrize(
    ("provider", "problem"),
    [
        ("mango", "timestamp"),
        ("zadarma", "call_start"),
        ("twilio", "Timestamp"),
        ("generic", "started_at"),
    ],
)
async def test_an_unreadable_time_is_kept_as_failed_never_a_call(
    client: AsyncClient, admin: dict[str, str], database: Database, provider: str, problem: str
) -> None:
    integration_id, path, body, headers = await unreadable_time_request(client, admin, provider)
    response = await client.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    [event] = await _events(database, integration_id)
    assert event.status == "failed"
    assert event.error is not None
    assert problem in event.error
    assert await _calls(client, admin, integration_id) == []

    # Replayable: listed with its error, and a replay keeps it failed (no 500, still no call).
    listed = await client.get(
        "/api/v1/webhook-events",
        params={"status": "failed", "integration_id": integration_id},
        headers=admin,
    )
    assert listed.status_code == 200
    [row] = listed.json()["items"]
    assert problem in row["error"]
    replayed = await client.post(
        "/api/v1/webhook-events/replay", json={"ids": [event.id]}, headers=admin
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["failed"] == 1
    assert await _calls(client, admin, integration_id) == []

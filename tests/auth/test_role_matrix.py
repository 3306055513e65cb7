"""Who may call what: every endpoint of the app, as admin, head, manager, with no key and with a
revoked key.

The table below is the declared expectation of each route; the test walks ``app.routes`` itself,
so an endpoint added without a row here fails it. Requests name ids that do not exist and send
empty bodies: a role that may call the route gets past authorisation and hears 404 or 422 (or 200
for a list), a role that may not hears 403 (authorisation is decided before anything is looked
up), and every ``/api/v1`` route answers 401 to no key and to a revoked one. What a manager sees
*inside* an allowed route (its own leads, calls, funnel) is tested with each domain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, routing
from httpx import AsyncClient

from app.auth.roles import Role
from app.dashboard.routing import PageRoute
from app.db import Database
from tests.factories import bearer, create_employee, make_key

MISSING = "missing_0000"
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass(frozen=True, slots=True)
class Expect:
    admin: int
    head: int
    manager: int
    public: bool = False
    """Not behind an API key (webhooks, health, docs): every caller hears ``admin``'s status."""


def every(status: int) -> Expect:
    return Expect(status, status, status)


def admin_only(status: int) -> Expect:
    return Expect(status, 403, 403)


def writers(status: int) -> Expect:
    return Expect(status, status, 403)


def public(status: int) -> Expect:
    return Expect(status, status, status, public=True)


EXPECTED: dict[tuple[str, str], Expect] = {
    # API keys and integrations: admins only.
    ("POST", "/api/v1/api-keys"): admin_only(422),
    ("GET", "/api/v1/api-keys"): admin_only(200),
    ("DELETE", "/api/v1/api-keys/{key_id}"): admin_only(404),
    ("POST", "/api/v1/integrations"): admin_only(422),
    ("GET", "/api/v1/integrations"): admin_only(200),
    ("GET", "/api/v1/integrations/{integration_id}"): admin_only(404),
    ("PATCH", "/api/v1/integrations/{integration_id}"): admin_only(404),
    ("DELETE", "/api/v1/integrations/{integration_id}"): admin_only(404),
    # CDR import (docs/cdr.md): admins; with no file the request is a 422 before any lookup.
    ("POST", "/api/v1/integrations/{integration_id}/cdr"): admin_only(422),
    # Employees: everyone reads (managers without costs), admins change.
    ("POST", "/api/v1/employees"): admin_only(422),
    ("GET", "/api/v1/employees"): every(200),
    ("GET", "/api/v1/employees/{employee_id}"): every(404),
    ("PATCH", "/api/v1/employees/{employee_id}"): admin_only(404),
    ("POST", "/api/v1/employees/{employee_id}/merge"): admin_only(422),
    # Settings: everyone reads the economics, admins write them and the operations.
    ("GET", "/api/v1/settings/economics"): every(200),
    ("PUT", "/api/v1/settings/economics"): admin_only(200),
    ("GET", "/api/v1/settings/operations"): admin_only(200),
    ("PUT", "/api/v1/settings/operations"): admin_only(200),
    # Calls and recordings: everyone, within its scope; retrying a download is a writer's.
    ("GET", "/api/v1/calls"): every(200),
    ("GET", "/api/v1/calls/{call_id}"): every(404),
    ("PATCH", "/api/v1/calls/{call_id}"): every(404),
    ("GET", "/api/v1/calls/{call_id}/recording"): every(404),
    ("POST", "/api/v1/calls/{call_id}/recording/retry"): writers(404),
    # Raw webhook events: admins.
    ("GET", "/api/v1/webhook-events"): admin_only(200),
    ("POST", "/api/v1/webhook-events/replay"): admin_only(422),
    # Leads: everyone works its own; importing is a writer's, deleting an admin's.
    ("POST", "/api/v1/leads"): every(422),
    ("GET", "/api/v1/leads"): every(200),
    ("POST", "/api/v1/leads/import"): writers(422),
    ("GET", "/api/v1/leads/{lead_id}"): every(404),
    ("PATCH", "/api/v1/leads/{lead_id}"): every(404),
    ("DELETE", "/api/v1/leads/{lead_id}"): admin_only(404),
    ("POST", "/api/v1/leads/{lead_id}/merge"): every(422),
    ("GET", "/api/v1/leads/{lead_id}/timeline"): every(404),
    # Applications: everyone on its own leads; contracts are signed by writers.
    ("POST", "/api/v1/applications"): every(422),
    ("GET", "/api/v1/applications"): every(200),
    ("GET", "/api/v1/applications/{application_id}"): every(404),
    ("PATCH", "/api/v1/applications/{application_id}"): every(404),
    ("POST", "/api/v1/contracts"): writers(422),
    ("GET", "/api/v1/contracts"): every(200),
    # Scripts: everyone reads, writers add.
    ("POST", "/api/v1/scripts"): writers(422),
    ("GET", "/api/v1/scripts"): every(200),
    ("GET", "/api/v1/scripts/{script_id}"): every(404),
    # Figures: everyone (a manager its own); the weekly report is for admins and heads.
    ("GET", "/api/v1/metrics/funnel"): every(200),
    ("GET", "/api/v1/metrics/calls"): every(200),
    # Missed calls and callbacks (docs/callbacks.md): everyone reads, a manager its own cases.
    ("GET", "/api/v1/metrics/callbacks"): every(200),
    ("GET", "/api/v1/callbacks"): every(200),
    # Script quality (docs/script_quality.md): everyone reads checklists, figures and the queue (a
    # manager: of its own calls); admins and heads write checklists and evaluate.
    ("GET", "/api/v1/checklists"): every(200),
    ("POST", "/api/v1/checklists"): writers(422),
    ("GET", "/api/v1/checklists/{checklist_id}"): every(404),
    ("PATCH", "/api/v1/checklists/{checklist_id}"): writers(404),
    ("GET", "/api/v1/checklists/{checklist_id}/versions"): every(404),
    ("POST", "/api/v1/checklists/{checklist_id}/versions"): writers(404),
    ("PUT", "/api/v1/calls/{call_id}/evaluations/{checklist_id}"): writers(404),
    ("GET", "/api/v1/calls/{call_id}/evaluations"): every(404),
    ("GET", "/api/v1/evaluations"): every(200),
    ("GET", "/api/v1/evaluations/queue"): every(200),
    ("GET", "/api/v1/evaluations/{evaluation_id}"): every(404),
    ("GET", "/api/v1/metrics/script-quality"): every(200),
    ("GET", "/api/v1/reports/weekly"): writers(200),
    # PBX webhooks: signed by the PBX, not an API key; an unknown integration is 404.
    ("POST", "/webhooks/{provider}/{integration_id}"): public(404),
    ("POST", "/webhooks/{provider}/{integration_id}/{subpath:path}"): public(404),
    ("GET", "/webhooks/{provider}/{integration_id}"): public(404),
    ("GET", "/webhooks/{provider}/{integration_id}/{subpath:path}"): public(404),
    # Prometheus: the metrics token (tests/telemetry) or an admin key.
    ("GET", "/metrics"): admin_only(200),
    # Health and the API documentation.
    ("GET", "/healthz"): public(200),
    ("GET", "/readyz"): public(200),
    ("GET", "/openapi.json"): public(200),
    ("GET", "/docs"): public(200),
    ("HEAD", "/docs"): public(200),
    ("GET", "/docs/oauth2-redirect"): public(200),
    ("HEAD", "/docs/oauth2-redirect"): public(200),
    ("GET", "/redoc"): public(200),
    ("HEAD", "/redoc"): public(200),
    ("HEAD", "/openapi.json"): public(200),
}


def app_routes(app: FastAPI) -> dict[tuple[str, str], Any]:
    """(method, path template) → route, of every route the app serves, included routers too.

    The dashboard's pages sign in with a session, not a key: tests/dashboard/test_core_routes.py
    walks them."""
    found: dict[tuple[str, str], Any] = {}
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, PageRoute):
            continue
        path = context.path
        for method in context.methods or ():
            if path is not None:
                found[(method, path)] = context
    return found


def _url(path: str) -> str:
    return _PARAM.sub(MISSING, path)


def _has_body(route: Any) -> bool:
    return getattr(route, "body_field", None) is not None


async def _status(client: AsyncClient, method: str, path: str, route: Any, headers: Any) -> int:
    body: dict[str, Any] = {}
    if _has_body(route):
        body["json"] = {}
    response = await client.request(method, _url(path), headers=headers, **body)
    return response.status_code


async def test_every_route_has_a_declared_expectation(app: FastAPI) -> None:
    served = set(app_routes(app))
    undeclared = sorted(served - EXPECTED.keys())
    gone = sorted(EXPECTED.keys() - served)
    assert undeclared == [], f"declare who may call these routes in EXPECTED: {undeclared}"
    assert gone == [], f"EXPECTED names routes the app no longer serves: {gone}"


async def test_role_matrix(app: FastAPI, client: AsyncClient, database: Database) -> None:
    admin = bearer(await make_key(database, Role.ADMIN))
    employee = await create_employee(client, admin, "Matrix manager", "501")
    revoked_key = await make_key(database, Role.HEAD)
    keys = await client.get("/api/v1/api-keys", headers=admin, params={"limit": 500})
    [revoked_id] = [k["id"] for k in keys.json()["items"] if k["role"] == "head"]
    revoked = await client.delete(f"/api/v1/api-keys/{revoked_id}", headers=admin)
    assert revoked.status_code == 200
    callers = {
        "admin": admin,
        "head": bearer(await make_key(database, Role.HEAD)),
        "manager": bearer(await make_key(database, Role.MANAGER, employee["id"])),
        "no key": {},
        "revoked key": bearer(revoked_key),
    }
    wrong = []
    for (method, path), route in sorted(app_routes(app).items()):
        expect = EXPECTED.get((method, path))
        if expect is None:
            continue  # test_every_route_has_a_declared_expectation names it
        for caller, headers in callers.items():
            if expect.public:
                wanted = expect.admin
            elif caller in ("no key", "revoked key"):
                wanted = 401
            else:
                wanted = getattr(expect, caller)
            got = await _status(client, method, path, route, headers)
            if got != wanted:
                wrong.append(f"{method} {path} as {caller}: {got}, expected {wanted}")
    assert wrong == []


# --- what a manager sees inside allowed routes (issue 14, F2; decided in docs/security.md) -------


async def test_manager_visibility_rules(client: AsyncClient, database: Database) -> None:
    """A lead's owner reads its whole contact history (timeline and ``/calls?lead_id=`` alike) but
    changes only its own calls; costs shown to it use the standard rate for every call; integration
    ids are for admins; a phone conflict does not name a colleague's lead; tagging its own call
    ``application`` on a colleague's lead is 403."""
    from tests.hardening.support import Office, ended_event, post_event

    office = await Office.build(client, database)
    # Anna's own rate differs from the standard 600.00 (Boris: 900.00), so a leak would show.
    patched = await client.patch(
        f"/api/v1/employees/{office.anna_id}", json={"hourly_cost": "1200.00"}, headers=office.admin
    )
    assert patched.status_code == 200
    phone = "+79165550001"
    lead = await client.post(
        "/api/v1/leads",
        json={"company": "Shared", "phones": [phone], "owner_id": office.anna_id},
        headers=office.admin,
    )
    lead_id = lead.json()["id"]
    for n, extension in enumerate(("101", "102")):
        start = f"2026-11-16T0{7 + n}:00:00Z"
        event = ended_event(
            f"vis-{n}",
            f"vis-call-{n}",
            extension=extension,
            number=phone,
            started_at=start,
            answered_at=start.replace(":00:00Z", ":00:10Z"),
            ended_at=start.replace(":00:00Z", ":05:10Z"),
        )
        assert (await post_event(client, office.integration_id, event)).status_code == 200
    calls = await client.get(f"/api/v1/calls?lead_id={lead_id}", headers=office.anna)
    assert calls.status_code == 200
    items = calls.json()["items"]
    by_employee = {item["employee_id"]: item for item in items}
    assert set(by_employee) == {office.anna_id, office.boris_id}
    timeline = await client.get(f"/api/v1/leads/{lead_id}/timeline", headers=office.anna)
    timeline_calls = {e["id"] for e in timeline.json() if e["kind"] == "call"}
    assert timeline_calls == {item["id"] for item in items}

    # Read-only where the call is not its own.
    boris_call = by_employee[office.boris_id]["id"]
    anna_call = by_employee[office.anna_id]["id"]
    edit = await client.patch(
        f"/api/v1/calls/{boris_call}", json={"notes": "x"}, headers=office.anna
    )
    assert edit.status_code == 403
    assert (await client.get(f"/api/v1/calls/{boris_call}", headers=office.anna)).status_code == 200
    # Boris still reads his own call, but may not form an application on Anna's lead.
    tag = await client.patch(
        f"/api/v1/calls/{boris_call}", json={"outcome": "application"}, headers=office.boris
    )
    assert tag.status_code == 403, tag.text
    assert "another employee" in tag.json()["detail"]
    own_tag = await client.patch(
        f"/api/v1/calls/{anna_call}", json={"outcome": "application"}, headers=office.anna
    )
    assert own_tag.status_code == 200

    # Integration ids: admins only.
    assert {item["integration_id"] for item in items} == {None}
    head_calls = await client.get(f"/api/v1/calls?lead_id={lead_id}", headers=office.head)
    assert {item["integration_id"] for item in head_calls.json()["items"]} == {None}
    admin_calls = await client.get(f"/api/v1/calls?lead_id={lead_id}", headers=office.admin)
    assert {item["integration_id"] for item in admin_calls.json()["items"]} == {
        office.integration_id
    }
    probe = await client.get(
        f"/api/v1/calls?integration_id={office.integration_id}", headers=office.anna
    )
    assert probe.status_code == 403

    # Costs: the standard rate for every call when the key may not read hourly costs.
    url = "/api/v1/metrics/funnel?from=2026-11-16&to=2026-11-17"
    mine = (await client.get(url, headers=office.anna)).json()
    everyone = (await client.get(url, headers=office.admin)).json()
    # Each call: talk 300 s (5 billed minutes at 2.00), duration 310 s + 30 s wrap-up.
    # Standard: 2 × (10.00 + 600 × 340 / 3600) = 133.33; own rates: 10 + 113.33 + 10 + 85 = 218.33.
    assert mine["total"]["economics"]["cost"] == "133.33", mine["total"]["economics"]
    assert everyone["total"]["economics"]["cost"] == "218.33", everyone["total"]["economics"]

    # A phone conflict tells a manager the phone is taken, not which lead has it.
    taken = await client.post(
        "/api/v1/leads", json={"company": "Probe", "phones": [phone]}, headers=office.boris
    )
    assert taken.status_code == 409
    assert lead_id not in taken.json()["detail"]
    assert "another lead" in taken.json()["detail"]
    named = await client.post(
        "/api/v1/leads", json={"company": "Probe", "phones": [phone]}, headers=office.anna
    )
    assert named.status_code == 409
    assert lead_id in named.json()["detail"]

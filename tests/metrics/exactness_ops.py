"""Operations on a callfunnel instance, as hypothesis draws them, and the world that applies them.

Every operation goes in the way a user or a PBX would make it: provider requests signed by the
adapters' own simulators (reordered, split, sent twice), CDR files and lead spreadsheets through
their upload endpoints, tags, applications, contracts, merges and settings through the API. An
operation names what it acts on by position in a stable order (calls by start, leads by their
smallest phone…), modulo how many there are, so any list of operations applies and a shrunk
list still reads as a story.

``World.funnels`` asks the metrics service the same question on both paths, kept evidence and
raw calls, and ``differences`` says where the answers part.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from hypothesis import strategies as st

from app.auth.roles import Role
from app.auth.service import Principal
from app.calls.events import CallStatus, Direction
from app.calls.outcomes import Outcome
from app.db import Database
from app.metrics.funnel import GroupBy, Mode
from app.metrics.service import FunnelParams, metrics_service
from app.reports.service import report_service
from app.settings.service import settings_service
from app.webhooks.providers import get_adapter
from app.webhooks.providers.simulation import CallSpec
from app.webhooks.traffic import EXAMPLE_CONFIGS, Delivery, deliveries
from tests.factories import bearer, create_employee, create_integration, make_key

# The story happens in three weeks of November 2026 (Monday 2 to Sunday 22, UTC), before any
# real clock the tests run by, so that "not in the future" never refuses a backfilled date.
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
SPAN_MINUTES = 21 * 24 * 60
NOW = datetime(2026, 12, 1, tzinfo=UTC)
NUMBERS = tuple(f"+7916{n:07d}" for n in range(1, 7))
EXTENSIONS = ("101", "102", "103", "104")  # 104 belongs to nobody: a placeholder employee
EMPLOYEES = (("Anna", "101", "700.00"), ("Boris", "102", None), ("Vera", "103", "900.50"))
PROVIDERS = ("generic", "mango", "zadarma", "twilio")
CAMPAIGNS = (None, "spring", "autumn")
OUTCOMES = (None, *Outcome)
PERIODS: tuple[tuple[str, str], ...] = (
    ("2026-11-02", "2026-11-09"),
    ("2026-11-09", "2026-11-16"),
    ("2026-11-02", "2026-11-23"),
    ("2026-01-01", "2027-01-01"),  # whole history (activity by week allows at most 366 days)
)
GROUPINGS: tuple[GroupBy | None, ...] = (None, "employee", "campaign", "script", "week")
CDR_HEADER = "calldate,src,dst,channel,dstchannel,lastapp,duration,billsec,disposition,uniqueid\n"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Deliver:
    """A call from a PBX: its requests shuffled by ``seed``, ``now`` of them sent at once (the
    rest wait for ``DeliverRest``), one of those sent twice when ``twice``."""

    provider: str
    extension: str
    number: int
    inbound: bool
    start: int  # minutes after T0
    talk: int  # seconds; 0 is unanswered
    ring: int
    seed: int
    now: int
    twice: bool


@dataclass(frozen=True)
class DeliverRest:
    pending: int


@dataclass(frozen=True)
class Redeliver:
    """Every request of an earlier call again: a PBX retrying what it already got through."""

    call: int


@dataclass(frozen=True)
class CdrRow:
    extension: str
    number: int
    inbound: bool
    start: int
    billsec: int
    ring: int


@dataclass(frozen=True)
class ImportCdr:
    """A Master.csv through the upload endpoint (the bulk merge); ``again`` re-imports the rows of
    an earlier file with longer talk, which updates those calls."""

    rows: tuple[CdrRow, ...]
    again: bool


@dataclass(frozen=True)
class Tag:
    call: int
    outcome: Outcome | None
    script: int | None  # None: leave the script; else pick (0 clears it)


@dataclass(frozen=True)
class AddScript:
    pass


@dataclass(frozen=True)
class Apply:
    lead: int
    start: int


@dataclass(frozen=True)
class Lose:
    application: int
    after: int  # minutes after the application


@dataclass(frozen=True)
class Reopen:
    application: int


@dataclass(frozen=True)
class Sign:
    application: int
    after: int
    amount: int  # whole currency units
    margin: int | None


@dataclass(frozen=True)
class MergeLeads:
    source: int
    target: int


@dataclass(frozen=True)
class SetOwner:
    lead: int
    employee: int | None


@dataclass(frozen=True)
class SetCampaign:
    lead: int
    campaign: str | None


@dataclass(frozen=True)
class NewLead:
    """A lead typed in before its number rings (taken numbers are refused and skipped)."""

    number: int
    campaign: str | None
    owner: int | None


@dataclass(frozen=True)
class DeleteLead:
    lead: int


@dataclass(frozen=True)
class ImportLeads:
    """A spreadsheet that updates (or creates) leads by phone: campaign and owner by name."""

    rows: tuple[tuple[int, str | None, int | None], ...]


@dataclass(frozen=True)
class SetHourlyCost:
    employee: int
    cost: str | None


@dataclass(frozen=True)
class MergeEmployees:
    source: int
    target: int


@dataclass(frozen=True)
class Economics:
    reached_s: int
    conversation_s: int
    second_call_s: int
    gap_minutes: int
    wrapup_seconds: int
    labor_cost_per_hour: str


@dataclass(frozen=True)
class Query:
    mode: Mode
    period: int
    as_of: int | None  # minutes after T0; None: now
    group_by: GroupBy | None
    employee: int | None  # the employee_id filter (a pick); None: no filter
    campaign: str | None
    manager: int | None  # ask as this employee's manager key; None: a head


@dataclass(frozen=True)
class Check:
    queries: tuple[Query, ...]


Operation = (
    Deliver
    | DeliverRest
    | Redeliver
    | ImportCdr
    | Tag
    | AddScript
    | Apply
    | Lose
    | Reopen
    | Sign
    | MergeLeads
    | SetOwner
    | SetCampaign
    | NewLead
    | DeleteLead
    | ImportLeads
    | SetHourlyCost
    | MergeEmployees
    | Economics
    | Check
)

# --------------------------------------------------------------------------- strategies

picks = st.integers(min_value=0, max_value=7)
minutes = st.integers(min_value=0, max_value=SPAN_MINUTES)
numbers = st.integers(min_value=0, max_value=len(NUMBERS) - 1)
extensions = st.sampled_from(EXTENSIONS)
# Talk around every threshold the economics draw from, and none at all.
talks = st.sampled_from((0, 0, 4, 9, 10, 30, 59, 60, 61, 119, 120, 121, 300, 900))

deliver = st.builds(
    Deliver,
    provider=st.sampled_from(PROVIDERS),
    extension=extensions,
    number=numbers,
    inbound=st.sampled_from((False, False, False, True)),
    start=minutes,
    talk=talks,
    ring=st.integers(min_value=1, max_value=40),
    seed=st.integers(min_value=0, max_value=50),
    now=st.integers(min_value=1, max_value=4),
    twice=st.booleans(),
)
cdr_rows = st.builds(
    CdrRow,
    extension=extensions,
    number=numbers,
    inbound=st.booleans(),
    start=minutes,
    billsec=talks,
    ring=st.integers(min_value=1, max_value=30),
)
queries = st.builds(
    Query,
    mode=st.sampled_from(("cohort", "activity")),
    period=st.integers(min_value=0, max_value=len(PERIODS) - 1),
    as_of=st.none() | minutes,
    group_by=st.sampled_from(GROUPINGS),
    employee=st.none() | picks,
    campaign=st.sampled_from(CAMPAIGNS),
    manager=st.none() | picks,
)


@st.composite
def economics(draw: st.DrawFn) -> Economics:
    levels = sorted(
        draw(st.lists(st.sampled_from((0, 5, 10, 30, 60, 90, 120, 200)), min_size=3, max_size=3))
    )
    return Economics(
        reached_s=levels[0],
        conversation_s=levels[1],
        second_call_s=levels[2],
        gap_minutes=draw(st.sampled_from((0, 30, 60, 240, 1440))),
        wrapup_seconds=draw(st.sampled_from((0, 30, 45))),
        labor_cost_per_hour=draw(st.sampled_from(("600.00", "450.25", "0.00"))),
    )


operations = st.one_of(
    # Deliveries are most of a real day; the rest each weigh about the same.
    deliver,
    deliver,
    deliver,
    st.builds(DeliverRest, pending=picks),
    st.builds(Redeliver, call=picks),
    st.builds(
        ImportCdr, rows=st.lists(cdr_rows, min_size=1, max_size=4).map(tuple), again=st.booleans()
    ),
    st.builds(Tag, call=picks, outcome=st.sampled_from(OUTCOMES), script=st.none() | picks),
    st.builds(Tag, call=picks, outcome=st.sampled_from(OUTCOMES), script=st.none() | picks),
    st.just(AddScript()),
    st.builds(Apply, lead=picks, start=minutes),
    st.builds(Lose, application=picks, after=st.integers(min_value=0, max_value=5000)),
    st.builds(Reopen, application=picks),
    st.builds(
        Sign,
        application=picks,
        after=st.integers(min_value=0, max_value=5000),
        amount=st.integers(min_value=1, max_value=500_000),
        margin=st.none() | st.integers(min_value=0, max_value=100_000),
    ),
    st.builds(MergeLeads, source=picks, target=picks),
    st.builds(SetOwner, lead=picks, employee=st.none() | picks),
    st.builds(SetCampaign, lead=picks, campaign=st.sampled_from(CAMPAIGNS)),
    st.builds(
        NewLead, number=numbers, campaign=st.sampled_from(CAMPAIGNS), owner=st.none() | picks
    ),
    st.builds(DeleteLead, lead=picks),
    st.builds(
        ImportLeads,
        rows=st.lists(
            st.tuples(numbers, st.sampled_from(CAMPAIGNS), st.none() | picks),
            min_size=1,
            max_size=3,
        ).map(tuple),
    ),
    st.builds(SetHourlyCost, employee=picks, cost=st.sampled_from((None, "0.00", "1234.56"))),
    st.builds(MergeEmployees, source=picks, target=picks),
    # A settings change rebuilds every row: twice the weight, so that CI's few examples meet it.
    economics(),
    economics(),
    st.builds(Check, queries=st.lists(queries, min_size=1, max_size=2).map(tuple)),
)
# A story opens with a morning of calls, so that what follows has leads and calls to act on.
stories = st.tuples(
    st.lists(deliver, min_size=2, max_size=10), st.lists(operations, min_size=2, max_size=24)
).map(lambda parts: [*parts[0], *parts[1]])


# --------------------------------------------------------------------------- comparing


def differences(kept: Any, raw: Any, path: str = "") -> Iterator[str]:
    """Where two answers differ, one line each: the path, then the kept and the raw value."""
    if isinstance(kept, dict) and isinstance(raw, dict):
        for key in sorted(kept.keys() | raw.keys(), key=str):
            if key not in raw or key not in kept:
                yield f"{path}.{key}: only in {'kept' if key in kept else 'raw'}"
            else:
                yield from differences(kept[key], raw[key], f"{path}.{key}")
    elif isinstance(kept, list) and isinstance(raw, list):
        if len(kept) != len(raw):
            yield f"{path}: {len(kept)} items kept, {len(raw)} raw"
        for index, (a, b) in enumerate(zip(kept, raw, strict=False)):
            yield from differences(a, b, f"{path}[{index}]")
    elif type(kept) is not type(raw) or kept != raw:
        yield f"{path}: kept {kept!r} != raw {raw!r}"


# --------------------------------------------------------------------------- the world


@dataclass
class _Pending:
    spec: CallSpec
    provider: str
    rest: list[Delivery]


@dataclass
class World:
    """One instance under test: its client, keys and what the story has sent so far."""

    client: AsyncClient
    database: Database
    admin: dict[str, str]
    integrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    asterisk: str = ""
    sent: list[tuple[CallSpec, list[Delivery]]] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    cdr_files: list[tuple[CdrRow, ...]] = field(default_factory=list)
    scripts: int = 0
    serial: int = 0
    log: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @classmethod
    async def start(cls, client: AsyncClient, database: Database) -> World:
        admin = bearer(await make_key(database, Role.ADMIN))
        world = cls(client, database, admin)
        for name, extension, cost in EMPLOYEES:
            fields = {} if cost is None else {"hourly_cost": cost}
            await create_employee(client, admin, name, extension, **fields)
        for provider in PROVIDERS:
            config = dict(EXAMPLE_CONFIGS[provider])
            created = await create_integration(client, admin, provider=provider, config=config)
            world.integrations[provider] = {"json": created, "config": config}
        response = await client.post(
            "/api/v1/integrations",
            json={"provider": "asterisk", "name": "office", "config": {"timezone": "UTC"}},
            headers=admin,
        )
        assert response.status_code == 201, response.text
        world.asterisk = response.json()["id"]
        return world

    # ---------------------------------------------------------------- reading the state

    async def _get(self, path: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
            response = await self.client.get(f"/api/v1/{path}", params=query, headers=self.admin)
            assert response.status_code == 200, response.text
            body = response.json()
            items += body["items"]
            cursor = body["next_cursor"]
            if not cursor:
                return items

    async def calls(self) -> list[dict[str, Any]]:
        calls = await self._get("calls")
        return sorted(calls, key=lambda c: (c["started_at"] or "", c["provider_call_id"]))

    async def leads(self) -> list[dict[str, Any]]:
        leads = await self._get("leads")
        return sorted(leads, key=lambda lead: (min(lead["phones"], default="~"), lead["id"]))

    async def employees(self) -> list[dict[str, Any]]:
        employees = await self._get("employees")
        return sorted(employees, key=lambda e: (e["name"], e["id"]))

    async def applications(self) -> list[dict[str, Any]]:
        applications = await self._get("applications")
        return sorted(applications, key=lambda a: (a["created_at"], a["lead_id"]))

    def _pick(self, items: Sequence[dict[str, Any]], pick: int | None) -> str | None:
        return None if pick is None or not items else str(items[pick % len(items)]["id"])

    # ---------------------------------------------------------------- applying

    async def apply(self, operation: Operation) -> None:
        name = re.sub(r"(?<!^)([A-Z])", r"_\1", type(operation).__name__).lower()
        handler = getattr(self, f"_on_{name}")
        outcome = await handler(operation)
        self.log.append(f"{operation!r} -> {outcome}")

    async def _send(self, items: Sequence[Delivery]) -> None:
        for item in items:
            response = await self.client.request(
                item.method, item.path, content=item.body, headers=item.headers
            )
            assert response.status_code == 200, (item.path, response.text)

    async def _on_deliver(self, op: Deliver) -> str:
        self.serial += 1
        answered = at(op.start) + timedelta(seconds=op.ring) if op.talk else None
        spec = CallSpec(
            call_id=f"x{self.serial:04d}",
            direction=Direction.INBOUND if op.inbound else Direction.OUTBOUND,
            extension=op.extension,
            external_number=NUMBERS[op.number],
            started_at=at(op.start),
            answered_at=answered,
            ended_at=(answered + timedelta(seconds=op.talk))
            if answered
            else at(op.start) + timedelta(seconds=op.ring),
            status=CallStatus.ANSWERED if op.talk else CallStatus.NO_ANSWER,
        )
        requests = self._requests(spec, op.provider)
        order = list(requests)
        random.Random(op.seed).shuffle(order)
        now, rest = order[: op.now], order[op.now :]
        await self._send(now + (now[:1] if op.twice else []))
        self.sent.append((spec, requests))
        if rest:
            self.pending.append(_Pending(spec, op.provider, rest))
        return f"{len(now)} of {len(requests)} requests sent"

    def _requests(self, spec: CallSpec, provider: str) -> list[Delivery]:
        integration = self.integrations[provider]
        parsed = get_adapter(provider).config_model.model_validate(integration["config"])
        return deliveries(provider, integration["json"]["id"], parsed, [spec])

    async def deliver_now(self, spec: CallSpec, provider: str) -> None:
        """Every request of ``spec``, in order, now (for tests that are not stories)."""
        await self._send(self._requests(spec, provider))

    async def _on_deliver_rest(self, op: DeliverRest) -> str:
        if not self.pending:
            return "nothing pending"
        pending = self.pending.pop(op.pending % len(self.pending))
        await self._send(pending.rest)
        return f"{len(pending.rest)} requests of {pending.spec.call_id}"

    async def _on_redeliver(self, op: Redeliver) -> str:
        if not self.sent:
            return "nothing sent"
        spec, requests = self.sent[op.call % len(self.sent)]
        await self._send(requests)
        return f"{spec.call_id} again"

    async def _on_import_cdr(self, op: ImportCdr) -> str:
        rows = op.rows
        if op.again and self.cdr_files:
            rows = tuple(
                CdrRow(r.extension, r.number, r.inbound, r.start, r.billsec + 45, r.ring)
                for r in self.cdr_files[0]
            )
        else:
            self.cdr_files.append(rows)
        lines = [CDR_HEADER]
        for row in rows:
            external = "8" + NUMBERS[row.number][2:]  # national format, as Asterisk writes it
            src, dst = (external, row.extension) if row.inbound else (row.extension, external)
            started = at(row.start).strftime("%Y-%m-%d %H:%M:%S")
            disposition = "ANSWERED" if row.billsec else "NO ANSWER"
            unique = f"{row.start}.{row.number}{row.extension}"
            lines.append(
                f"{started},{src},{dst},SIP/{row.extension}-1,SIP/trunk-2,Dial,"
                f"{row.billsec + row.ring},{row.billsec},{disposition},{unique}\n"
            )
        response = await self.client.post(
            f"/api/v1/integrations/{self.asterisk}/cdr",
            files={"file": ("Master.csv", "".join(lines).encode(), "text/csv")},
            headers=self.admin,
        )
        assert response.status_code == 200, response.text
        report = response.json()
        return f"stored {report['stored']}"

    async def _on_tag(self, op: Tag) -> str:
        calls = await self.calls()
        call_id = self._pick(calls, op.call)
        if call_id is None:
            return "no calls"
        body: dict[str, Any] = {"outcome": None if op.outcome is None else op.outcome.value}
        if op.script is not None:
            scripts = (await self.client.get("/api/v1/scripts", headers=self.admin)).json()["items"]
            choices: list[str | None] = [None, *sorted(s["id"] for s in scripts)]
            body["script_id"] = choices[op.script % len(choices)]
        response = await self.client.patch(
            f"/api/v1/calls/{call_id}", json=body, headers=self.admin
        )
        return self._status(response.status_code, response.text, ok=(200,), refused=(422,))

    async def _on_add_script(self, _op: AddScript) -> str:
        self.scripts += 1
        response = await self.client.post(
            "/api/v1/scripts",
            json={"name": f"Script {self.scripts}", "kind": "first_call"},
            headers=self.admin,
        )
        return self._status(response.status_code, response.text, ok=(201,))

    async def _on_apply(self, op: Apply) -> str:
        lead = self._pick(await self.leads(), op.lead)
        if lead is None:
            return "no leads"
        body = {"lead_id": lead, "created_at": iso(at(op.start))}
        response = await self.client.post("/api/v1/applications", json=body, headers=self.admin)
        return self._status(response.status_code, response.text, ok=(201,), refused=(409,))

    async def _application(self, pick: int) -> dict[str, Any] | None:
        applications = await self.applications()
        return applications[pick % len(applications)] if applications else None

    async def _on_lose(self, op: Lose) -> str:
        application = await self._application(op.application)
        if application is None:
            return "no applications"
        closed = _after(application, op.after)
        body = {"status": "lost", "lost_reason": "price", "closed_at": iso(closed)}
        response = await self.client.patch(
            f"/api/v1/applications/{application['id']}", json=body, headers=self.admin
        )
        return self._status(response.status_code, response.text, ok=(200,), refused=(409,))

    async def _on_reopen(self, op: Reopen) -> str:
        application = await self._application(op.application)
        if application is None:
            return "no applications"
        response = await self.client.patch(
            f"/api/v1/applications/{application['id']}", json={"status": "open"}, headers=self.admin
        )
        return self._status(response.status_code, response.text, ok=(200,), refused=(409,))

    async def _on_sign(self, op: Sign) -> str:
        application = await self._application(op.application)
        if application is None:
            return "no applications"
        body: dict[str, Any] = {
            "application_id": application["id"],
            "signed_at": iso(_after(application, op.after)),
            "amount": f"{op.amount}.00",
        }
        if op.margin is not None:
            body["margin"] = f"{op.margin}.50"
        response = await self.client.post("/api/v1/contracts", json=body, headers=self.admin)
        return self._status(response.status_code, response.text, ok=(201,), refused=(409,))

    async def _on_merge_leads(self, op: MergeLeads) -> str:
        leads = await self.leads()
        source, target = self._pick(leads, op.source), self._pick(leads, op.target)
        if source is None or source == target:
            return "nothing to merge"
        response = await self.client.post(
            f"/api/v1/leads/{source}/merge", json={"into": target}, headers=self.admin
        )
        return self._status(response.status_code, response.text, ok=(200,), refused=(409,))

    async def _on_set_owner(self, op: SetOwner) -> str:
        lead = self._pick(await self.leads(), op.lead)
        if lead is None:
            return "no leads"
        owner = self._pick(await self.employees(), op.employee)
        response = await self.client.patch(
            f"/api/v1/leads/{lead}", json={"owner_id": owner}, headers=self.admin
        )
        return self._status(response.status_code, response.text, ok=(200,))

    async def _on_set_campaign(self, op: SetCampaign) -> str:
        lead = self._pick(await self.leads(), op.lead)
        if lead is None:
            return "no leads"
        response = await self.client.patch(
            f"/api/v1/leads/{lead}", json={"campaign": op.campaign}, headers=self.admin
        )
        return self._status(response.status_code, response.text, ok=(200,))

    async def _on_new_lead(self, op: NewLead) -> str:
        owner = self._pick(await self.employees(), op.owner)
        body = {
            "company": f"Company {op.number}",
            "phones": [NUMBERS[op.number]],
            "campaign": op.campaign,
            "owner_id": owner,
        }
        response = await self.client.post("/api/v1/leads", json=body, headers=self.admin)
        return self._status(response.status_code, response.text, ok=(201,), refused=(409,))

    async def _on_delete_lead(self, op: DeleteLead) -> str:
        lead = self._pick(await self.leads(), op.lead)
        if lead is None:
            return "no leads"
        response = await self.client.delete(f"/api/v1/leads/{lead}", headers=self.admin)
        return self._status(response.status_code, response.text, ok=(204,))

    async def _on_import_leads(self, op: ImportLeads) -> str:
        employees = await self.employees()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["company", "phone", "campaign", "owner"])
        for number, campaign, owner in op.rows:
            name = (
                "" if owner is None or not employees else employees[owner % len(employees)]["name"]
            )
            writer.writerow([f"Imported {number}", NUMBERS[number], campaign or "", name])
        response = await self.client.post(
            "/api/v1/leads/import",
            files={"file": ("leads.csv", out.getvalue().encode(), "text/csv")},
            headers=self.admin,
        )
        assert response.status_code == 200, response.text
        report = response.json()
        return f"created {report['created']}, updated {report['updated']}"

    async def _on_set_hourly_cost(self, op: SetHourlyCost) -> str:
        employee = self._pick(await self.employees(), op.employee)
        response = await self.client.patch(
            f"/api/v1/employees/{employee}", json={"hourly_cost": op.cost}, headers=self.admin
        )
        return self._status(response.status_code, response.text, ok=(200,))

    async def _on_merge_employees(self, op: MergeEmployees) -> str:
        employees = await self.employees()
        source, target = (
            self._pick(employees, op.source),
            self._pick(employees, op.target),
        )
        if source == target:
            return "nothing to merge"
        response = await self.client.post(
            f"/api/v1/employees/{source}/merge", json={"into": target}, headers=self.admin
        )
        return self._status(response.status_code, response.text, ok=(200,))

    async def _on_economics(self, op: Economics) -> str:
        body = {
            "labor_cost_per_hour": op.labor_cost_per_hour,
            "wrapup_seconds": op.wrapup_seconds,
            "thresholds": {
                "reached_s": op.reached_s,
                "conversation_s": op.conversation_s,
                "second_call_s": op.second_call_s,
                "second_call_gap_minutes": op.gap_minutes,
            },
        }
        response = await self.client.put(
            "/api/v1/settings/economics", json=body, headers=self.admin
        )
        return self._status(response.status_code, response.text, ok=(200,))

    async def _on_check(self, op: Check) -> str:
        # Checked in the middle of the story: a later write (a rebuild) could hide a stale row.
        problems = await self.compare(op.queries)
        self.problems += [f"after step {len(self.log) + 1}: {problem}" for problem in problems]
        return "differ" if problems else "same"

    def _status(
        self, code: int, text: str, *, ok: tuple[int, ...], refused: tuple[int, ...] = ()
    ) -> str:
        if code in ok:
            return "done"
        # A refusal the API explains (a lead's second open application…) is part of the story.
        assert code in refused, f"unexpected {code}: {text}"
        return f"refused {code}"

    # ---------------------------------------------------------------- comparing the paths

    async def compare(self, funnel_queries: Sequence[Query]) -> list[str]:
        """Each query on both paths; the differences, with the query they belong to."""
        employees = await self.employees()
        problems: list[str] = []
        for query in funnel_queries:
            employee = self._pick(employees, query.employee)
            manager = self._pick(employees, query.manager)
            start, end = PERIODS[query.period]
            params = FunnelParams(
                start=start,
                end=end,
                mode=query.mode,
                as_of=None if query.as_of is None else iso(at(query.as_of)),
                group_by=query.group_by,
                employee_id=employee,
                campaign=query.campaign,
            )
            principal = (
                Principal("head", Role.HEAD, None)
                if manager is None
                else Principal("manager", Role.MANAGER, manager)
            )
            answers = {}
            for source in ("kept", "raw"):
                async with self.database.unit_of_work(read_only=True) as session:
                    economics = await settings_service.economics(
                        session, default_timezone="Europe/Moscow"
                    )
                    answer = await metrics_service.funnel(
                        session, params, principal, economics, now=NOW, source=source
                    )
                answers[source] = answer.model_dump()
            found = list(differences(answers["kept"], answers["raw"]))
            if found:
                problems.append(f"{query!r}:\n  " + "\n  ".join(found[:40]))
        return problems

    async def compare_weekly(self, week: str, as_of: int | None) -> list[str]:
        """The weekly report on both paths (its funnels are the ones that read the evidence)."""
        answers = {}
        for source in ("kept", "raw"):
            async with self.database.unit_of_work(read_only=True) as session:
                report = await report_service.weekly(
                    session,
                    week=week,
                    as_of=None if as_of is None else iso(at(as_of)),
                    principal=Principal("head", Role.HEAD, None),
                    default_timezone="Europe/Moscow",
                    now=NOW,
                    source=source,
                )
            answers[source] = report.model_dump()
        found = list(differences(answers["kept"], answers["raw"]))
        return [f"weekly {week} as_of {as_of}:\n  " + "\n  ".join(found[:40])] if found else []


def _after(application: dict[str, Any], minutes: int) -> datetime:
    """``minutes`` after the application, by NOW if it can be. An application tagged on a call
    still going on is dated by the real clock, after NOW: then its own moment."""
    created = datetime.fromisoformat(application["created_at"].replace("Z", "+00:00"))
    return max(created, min(created + timedelta(minutes=minutes), NOW))


def final_queries(as_of: int) -> list[Query]:
    """What every story ends with: the whole history in both modes and every grouping by now,
    three weeks by a past ``as_of``, the filters and a manager's view."""
    out = [
        Query(mode, 3, None, group_by, None, None, None)
        for mode in ("cohort", "activity")
        for group_by in GROUPINGS
    ]
    out += [
        Query(mode, 2, as_of, group_by, None, None, None)
        for mode in ("cohort", "activity")
        for group_by in (None, "week")
    ]
    return [
        *out,
        Query("activity", 3, as_of, "campaign", 0, "spring", None),
        Query("cohort", 3, as_of, "employee", None, None, 1),
    ]

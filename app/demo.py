"""A plausible cold-calling history, delivered the way real data arrives.

Employees, scripts and integrations through the API; the cold base as a CSV import; every call as
the signed webhook requests its PBX would send (Mango for two managers, Zadarma and the generic
bridge for the others); tags, applications, contracts and refusals through the API. Everything
goes through the application's own endpoints (in-process), so the demo exercises the real paths.
Deterministic for a given seed. The recordings those calls announce are then downloaded by the
real recording worker and downloader into the real storage; only the PBX at the other end is the
demo's own (``store_recordings``), so no request leaves the machine.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
import random
import wave
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from app.calls.events import CallStatus, Direction
from app.config import Settings
from app.db import Database
from app.quality.defaults import DEFAULT_CHECKLIST_ID as DEFAULT_CHECKLIST
from app.recordings.worker import recording_worker
from app.webhooks.providers import get_adapter
from app.webhooks.providers.generic import DEMO_RECORDING_BASE
from app.webhooks.providers.simulation import CallSpec
from app.webhooks.traffic import EXAMPLE_CONFIGS, simulator

ZONE = ZoneInfo("Europe/Moscow")
CAMPAIGNS = ("pumps-2026-q4", "valves-2026-q4", "compressors-2026-q4")
MANAGERS = (  # name, extension, hourly cost, provider
    ("Anna Smirnova", "101", "650.00", "mango"),
    ("Boris Ivanov", "102", "600.00", "mango"),
    ("Vera Kuznetsova", "103", "700.00", "zadarma"),
    ("Gleb Popov", "104", None, "generic"),
)
LOST_REASONS = ("price", "chose a competitor", "no budget this year", "project postponed")
REFUSAL_REASONS = ("has a supplier", "not interested", "no need", "wrong profile")

Progress = Callable[[str, int, int], None]
# The generic bridge names its recordings' host in the integration (Mango's and Zadarma's hosts
# are their APIs'); the demo's is where its signing helpers say the bridge keeps them.
_RECORDING_CONFIGS = {"generic": {"recording_hosts": [httpx.URL(DEMO_RECORDING_BASE).host]}}


@dataclass
class _Lead:
    id: str
    phone: str
    campaign: str
    stage: int = 0  # how far the demo script has taken it: 0 new, 2 presented, 3 need found
    next_call: datetime | None = None
    # A lead has at most one open application (the partial unique index): a need found again
    # while one is open adds none.
    has_open_application: bool = False


@dataclass
class DemoSummary:
    leads: int = 0
    calls: int = 0
    requests: int = 0
    applications: int = 0
    contracts: int = 0
    refusals: int = 0
    # Inbound calls (answered, missed, short abandons) and the dials that called them back;
    # ``calls`` counts the cold-calling dials only.
    inbound_calls: int = 0
    missed_calls: int = 0
    callbacks: int = 0
    evaluations: int = 0  # calls a sales head scored against the default checklist
    recordings: int = 0  # recordings downloaded from the demo's PBX (``store_recordings``)
    first_day: str = ""  # the first Monday of the history (a local date)
    end_day: str = ""  # the Monday after it: the exclusive end of the history


def history_span(today: datetime, weeks: int) -> tuple[date, date]:
    """The first Monday of ``weeks`` whole weeks before ``today``'s, and that Monday, in Moscow
    (late on a Sunday in UTC it is Monday there already)."""
    local_today = today.astimezone(ZONE).date()
    monday = local_today - timedelta(days=local_today.weekday())
    return monday - timedelta(weeks=weeks), monday


class DemoBuilder:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        seed: int = 2026,
        weeks: int = 4,
        leads: int = 2000,
        dials_per_day: int = 10,
        today: datetime,
        progress: Progress | None = None,
    ) -> None:
        self.http = client
        self.seed = seed
        self.rng = random.Random(seed)
        self.weeks = weeks
        self.lead_count = leads
        self.dials_per_day = dials_per_day
        self.today = today
        self.progress = progress or (lambda step, done, total: None)
        self.summary = DemoSummary()

    async def build(self) -> DemoSummary:
        employees = await self._employees()
        scripts = await self._scripts()
        integrations = await self._integrations()
        leads = await self._leads()
        await self._calls(employees, scripts, integrations, leads)
        await self._inbound(employees, integrations, leads)
        await self._scores(employees)
        return self.summary

    async def _scores(self, employees: list[dict[str, Any]]) -> None:
        await _Scorer(self, employees).run()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(path, json=body)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    async def _employees(self) -> list[dict[str, Any]]:
        return [
            {
                **await self._post(
                    "/api/v1/employees",
                    {"name": name, "extensions": [ext], "hourly_cost": cost},
                ),
                "provider": provider,
            }
            for name, ext, cost, provider in MANAGERS
        ]

    async def _scripts(self) -> dict[str, str]:
        first = await self._post(
            "/api/v1/scripts",
            {"name": "First call v1", "kind": "first_call", "text": "Present the company."},
        )
        second = await self._post(
            "/api/v1/scripts",
            {"name": "Second call v1", "kind": "second_call", "text": "Find the need."},
        )
        return {"first": first["id"], "second": second["id"]}

    async def _integrations(self) -> dict[str, dict[str, Any]]:
        found = {}
        for provider in {manager[3] for manager in MANAGERS}:
            config = {**EXAMPLE_CONFIGS[provider], **_RECORDING_CONFIGS.get(provider, {})}
            created = await self._post(
                "/api/v1/integrations",
                {"provider": provider, "name": f"Demo {provider}", "config": config},
            )
            found[provider] = {"id": created["id"], "config": config}
        return found

    async def _leads(self) -> list[_Lead]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow(["компания", "контактное лицо", "телефон", "кампания", "регион"])
        phones = self.rng.sample(range(10**9), self.lead_count)
        for n, number in enumerate(phones):
            writer.writerow(
                [
                    f"ООО Компания {n + 1}",
                    f"Контакт {n + 1}",
                    f"8 9{number:09d}",
                    CAMPAIGNS[n % len(CAMPAIGNS)],
                    self.rng.choice(("Москва", "Казань", "Екатеринбург", "Самара")),
                ]
            )
        data = buffer.getvalue().encode("cp1251")
        response = await self.http.post(
            "/api/v1/leads/import", files={"file": ("cold-base.csv", data, "text/csv")}
        )
        response.raise_for_status()
        self.summary.leads = response.json()["created"]
        leads = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = (await self.http.get("/api/v1/leads", params=params)).json()
            leads += [
                _Lead(lead["id"], lead["phones"][0], lead["campaign"]) for lead in page["items"]
            ]
            if (cursor := page["next_cursor"]) is None:
                return leads

    async def _calls(
        self,
        employees: list[dict[str, Any]],
        scripts: dict[str, str],
        integrations: dict[str, dict[str, Any]],
        leads: list[_Lead],
    ) -> None:
        untouched = list(leads)
        self.rng.shuffle(untouched)
        follow_ups: list[_Lead] = []
        first_day, monday = history_span(self.today, self.weeks)
        days = [first_day + timedelta(days=n) for n in range(self.weeks * 7)]
        workdays = [day for day in days if day.weekday() < 5]
        self.summary.first_day, self.summary.end_day = str(first_day), str(monday)
        for index, day in enumerate(workdays):
            self.progress("calls", index, len(workdays))
            for employee in employees:
                moment = datetime.combine(day, time(10), tzinfo=ZONE)
                due = [lead for lead in follow_ups if lead.next_call and lead.next_call <= moment]
                for _ in range(self.dials_per_day):
                    moment += timedelta(minutes=self.rng.randint(8, 35))
                    if due and self.rng.random() < 0.5:
                        lead = due.pop()
                    elif untouched:
                        lead = untouched.pop()
                    else:
                        break
                    await self._one_call(employee, scripts, integrations, lead, moment, follow_ups)
        self.progress("calls", len(workdays), len(workdays))

    async def _one_call(
        self,
        employee: dict[str, Any],
        scripts: dict[str, str],
        integrations: dict[str, dict[str, Any]],
        lead: _Lead,
        moment: datetime,
        follow_ups: list[_Lead],
    ) -> None:
        rng = self.rng
        second = lead.stage >= 2
        answered = rng.random() < (0.6 if second else 0.35)
        ring = rng.randint(4, 25)
        if not answered:
            talk, outcome = 0, None
            status = rng.choice((CallStatus.NO_ANSWER,) * 5 + (CallStatus.BUSY,))
        else:
            status = CallStatus.ANSWERED
            talk, outcome = self._conversation(lead, second)
        start = moment.astimezone(UTC)
        answered_at = start + timedelta(seconds=ring) if answered else None
        spec = CallSpec(
            call_id=f"demo{self.summary.calls:05d}",
            direction=Direction.OUTBOUND,
            extension=employee["extensions"][0],
            external_number=lead.phone,
            started_at=start,
            answered_at=answered_at,
            ended_at=(answered_at + timedelta(seconds=talk))
            if answered_at
            else start + timedelta(seconds=ring),
            status=status,
            recording_id=f"demo-rec-{self.summary.calls:05d}" if answered else None,
        )
        integration = integrations[employee["provider"]]
        await self._deliver(employee["provider"], integration, spec)
        self.summary.calls += 1
        if outcome is None:
            if lead.stage < 2:
                lead.next_call = moment + timedelta(days=rng.randint(1, 4))
                follow_ups.append(lead)
            return
        await self._tag(integration["id"], spec, outcome, scripts["second" if second else "first"])
        await self._after(lead, outcome, moment, spec, follow_ups)

    def _conversation(self, lead: _Lead, second: bool) -> tuple[int, str | None]:
        rng = self.rng
        outcome: str | None
        if second:
            outcome = rng.choices(
                ("need_identified", "refused", "callback_requested"), weights=(5, 3, 2)
            )[0]
            return rng.randint(150, 600), outcome
        outcome = rng.choices(
            (None, "secretary", "voicemail", "refused", "presented", "callback_requested"),
            weights=(2, 5, 2, 4, 6, 2),
        )[0]
        if outcome in ("secretary", "voicemail"):
            return rng.randint(15, 50), outcome
        return rng.randint(40, 240), outcome

    async def _inbound(
        self,
        employees: list[dict[str, Any]],
        integrations: dict[str, dict[str, Any]],
        leads: list[_Lead],
    ) -> None:
        """Leads calling in: some get through, most are missed and called back fast, slowly or
        never (or call again themselves), a few hang up at once; and a few missed in the hours
        before ``today``, still waiting, so the callback work list is not empty.

        An RNG of its own: the cold-calling history stays what it was for a given seed. Only
        calls before the history's end (and callbacks only inside it), so every callback is a
        dial of the history's cohort.
        """
        rng = random.Random(self.seed * 7919 + 16)
        first_day = date.fromisoformat(self.summary.first_day)
        end = datetime.combine(date.fromisoformat(self.summary.end_day), time(), tzinfo=ZONE)
        for n in range(self.weeks * 7):
            day = first_day + timedelta(days=n)
            weekend = day.weekday() >= 5
            for _ in range(rng.randint(0, 1) if weekend else rng.randint(2, 4)):
                evening = weekend or rng.random() < 0.15
                hour = rng.uniform(18.2, 21.5) if evening else rng.uniform(9.2, 17.5)
                moment = datetime.combine(day, time(), tzinfo=ZONE) + timedelta(
                    hours=hour, seconds=rng.randint(1, 59)
                )
                await self._caller(rng, employees, integrations, rng.choice(leads), moment, end)
        for _ in range(3):
            moment = self.today - timedelta(hours=rng.uniform(1, 30), seconds=rng.randint(1, 59))
            employee = rng.choice(employees)
            await self._inbound_call(rng, employee, integrations, rng.choice(leads), moment, 0)
            self.summary.missed_calls += 1

    async def _caller(
        self,
        rng: random.Random,
        employees: list[dict[str, Any]],
        integrations: dict[str, dict[str, Any]],
        lead: _Lead,
        moment: datetime,
        end: datetime,
    ) -> None:
        employee = rng.choice(employees)
        fate = rng.random()
        if fate < 0.25:  # got through
            await self._inbound_call(
                rng, employee, integrations, lead, moment, rng.randint(30, 300)
            )
            return
        if fate < 0.33:  # hung up within a few seconds: a short abandon
            await self._inbound_call(rng, employee, integrations, lead, moment, 0, ring=3)
            return
        await self._inbound_call(rng, employee, integrations, lead, moment, 0)
        self.summary.missed_calls += 1
        then = rng.random()
        if then < 0.45:  # called back within minutes
            delay = timedelta(minutes=rng.randint(3, 14))
        elif then < 0.75:  # called back, slowly
            delay = timedelta(minutes=rng.randint(40, 6 * 60))
        elif then < 0.85:  # the client tries again and gets through
            later = moment + timedelta(minutes=rng.randint(20, 120))
            if later < end:
                await self._inbound_call(
                    rng, employee, integrations, lead, later, rng.randint(40, 240)
                )
            return
        else:  # never called back
            return
        at = moment + delay
        if at < end:
            reached = rng.random() < 0.7
            await self._dial_back(rng, employee, integrations, lead, at, reached)

    async def _inbound_call(
        self,
        rng: random.Random,
        employee: dict[str, Any],
        integrations: dict[str, dict[str, Any]],
        lead: _Lead,
        moment: datetime,
        talk: int,
        *,
        ring: int | None = None,
    ) -> None:
        ring = ring if ring is not None else rng.randint(8, 40)
        start = moment.astimezone(UTC)
        answered_at = start + timedelta(seconds=ring) if talk else None
        spec = CallSpec(
            call_id=f"demo-in{self.summary.inbound_calls:05d}",
            direction=Direction.INBOUND,
            extension=employee["extensions"][0],
            external_number=lead.phone,
            started_at=start,
            answered_at=answered_at,
            ended_at=start + timedelta(seconds=ring + talk),
            status=CallStatus.ANSWERED if talk else CallStatus.NO_ANSWER,
        )
        await self._deliver(employee["provider"], integrations[employee["provider"]], spec)
        self.summary.inbound_calls += 1

    async def _dial_back(
        self,
        rng: random.Random,
        employee: dict[str, Any],
        integrations: dict[str, dict[str, Any]],
        lead: _Lead,
        moment: datetime,
        reached: bool,
    ) -> None:
        ring, talk = rng.randint(4, 20), rng.randint(25, 200) if reached else 0
        start = moment.astimezone(UTC)
        answered_at = start + timedelta(seconds=ring) if talk else None
        spec = CallSpec(
            call_id=f"demo-cb{self.summary.callbacks:05d}",
            direction=Direction.OUTBOUND,
            extension=employee["extensions"][0],
            external_number=lead.phone,
            started_at=start,
            answered_at=answered_at,
            ended_at=start + timedelta(seconds=ring + talk),
            status=CallStatus.ANSWERED if talk else CallStatus.NO_ANSWER,
        )
        await self._deliver(employee["provider"], integrations[employee["provider"]], spec)
        self.summary.callbacks += 1

    async def _deliver(self, provider: str, integration: dict[str, Any], spec: CallSpec) -> None:
        adapter = get_adapter(provider)
        config = adapter.config_model.model_validate(integration["config"])
        base = f"/webhooks/{provider}/{integration['id']}"
        writer = simulator(provider)
        for request in writer.signed_requests(spec, config, integration_id=integration["id"]):
            url = f"{base}/{request.subpath}".rstrip("/")
            response = await self.http.post(
                url + (f"?{request.query}" if request.query else ""),
                content=request.body,
                headers=dict(request.headers),
            )
            response.raise_for_status()
            self.summary.requests += 1

    async def _tag(self, integration_id: str, spec: CallSpec, outcome: str, script: str) -> None:
        listed = await self.http.get(
            "/api/v1/calls",
            params={
                "integration_id": integration_id,
                "from": spec.started_at.isoformat(),
                "to": (spec.started_at + timedelta(seconds=1)).isoformat(),
            },
        )
        for call in listed.json()["items"]:
            response = await self.http.patch(
                f"/api/v1/calls/{call['id']}", json={"outcome": outcome, "script_id": script}
            )
            response.raise_for_status()

    async def _after(
        self,
        lead: _Lead,
        outcome: str,
        moment: datetime,
        spec: CallSpec,
        follow_ups: list[_Lead],
    ) -> None:
        rng = self.rng
        if outcome == "refused" and rng.random() < 0.7:
            await self.http.patch(
                f"/api/v1/leads/{lead.id}",
                json={
                    "status": "refused",
                    "refusal_reason": rng.choice(REFUSAL_REASONS),
                    "refused_at_stage": max(lead.stage, 1),
                },
            )
            self.summary.refusals += 1
        elif outcome in ("presented", "callback_requested"):
            lead.stage = max(lead.stage, 2)
            lead.next_call = moment + timedelta(days=rng.randint(1, 6))
            follow_ups.append(lead)
        elif outcome == "need_identified":
            lead.stage = 3
            if rng.random() < 0.6:
                await self._application(lead, spec.ended_at)

    async def _application(self, lead: _Lead, at: datetime) -> None:
        rng = self.rng
        created_at = at + timedelta(hours=rng.randint(1, 30))
        if created_at > self.today:
            return
        amount = rng.randrange(150, 900) * 1000
        if lead.has_open_application:
            return
        application = await self._post(
            "/api/v1/applications",
            {
                "lead_id": lead.id,
                "created_at": created_at.isoformat(),
                "estimated_amount": f"{amount}.00",
            },
        )
        self.summary.applications += 1
        lead.has_open_application = True
        closed_at = created_at + timedelta(days=rng.randint(2, 12))
        if closed_at > self.today:
            return
        fate = rng.random()
        # Won or lost below; an application left open (fate 0.55 and over) stays the lead's one.
        lead.has_open_application = fate >= 0.55
        if fate < 0.3:
            margin = amount * rng.choice((20, 25, 30)) // 100
            await self._post(
                "/api/v1/contracts",
                {
                    "application_id": application["id"],
                    "signed_at": closed_at.isoformat(),
                    "amount": f"{amount}.00",
                    "margin": f"{margin}.00",
                },
            )
            self.summary.contracts += 1
        elif fate < 0.55:
            response = await self.http.patch(
                f"/api/v1/applications/{application['id']}",
                json={
                    "status": "lost",
                    "lost_reason": rng.choice(LOST_REASONS),
                    "closed_at": closed_at.isoformat(),
                },
            )
            response.raise_for_status()


# Script quality: how often each manager's calls pass a criterion, before the call's outcome
# tips it. Ritual criteria (greeting, courtesy) pass almost always whoever calls; those that move
# a lead on (the need, a next step) pass far more often on calls that did move it, so the demo's
# "which criteria matter" table has something to show.
_SKILL = (0.95, 0.72, 0.5, 0.82)  # per manager, in MANAGERS order
_RITUAL = {"greeting": 0.97, "courtesy": 0.98, "listening": 0.9, "contacts": 0.85}
_MOVING = {"need": 0.35, "next_step": 0.4, "decision_maker": 0.2, "relevance": 0.2}
_FORWARD = {"presented", "need_identified", "application", "callback_requested"}


class _Scorer:
    """Scores the demo's queue as a sales head would: the real endpoints, with a head's key."""

    def __init__(self, builder: DemoBuilder, employees: list[dict[str, Any]]) -> None:
        self.builder = builder
        self.skill = {e["id"]: _SKILL[n % len(_SKILL)] for n, e in enumerate(employees)}

    async def run(self) -> None:
        http, summary = self.builder.http, self.builder.summary
        created = await self.builder._post(
            "/api/v1/api-keys", {"name": "Demo sales head", "role": "head"}
        )
        head = {"Authorization": f"Bearer {created['key']}"}
        checklist = (await http.get(f"/api/v1/checklists/{DEFAULT_CHECKLIST}", headers=head)).json()
        criteria = [c for section in checklist["sections"] for c in section["criteria"]]
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {
                "from": summary.first_day,
                "to": summary.end_day,
                "limit": 500,
            }
            if cursor:
                params["cursor"] = cursor
            page = (await http.get("/api/v1/evaluations/queue", params=params, headers=head)).json()
            for item in page["items"]:
                call = (await http.get(f"/api/v1/calls/{item['call_id']}", headers=head)).json()
                answers = self._answers(criteria, item["employee_id"], call["outcome"])
                response = await http.put(
                    f"/api/v1/calls/{call['id']}/evaluations/{DEFAULT_CHECKLIST}",
                    json={"answers": answers},
                    headers=head,
                )
                response.raise_for_status()
                summary.evaluations += 1
            if (cursor := page["next_cursor"]) is None:
                return

    def _answers(
        self, criteria: list[dict[str, Any]], employee_id: str, outcome: str | None
    ) -> dict[str, str]:
        rng = self.builder.rng
        skill = self.skill.get(employee_id, 0.7)
        forward = outcome in _FORWARD
        answers = {}
        for criterion in criteria:
            key = criterion["key"]
            if key in _RITUAL:
                chance = _RITUAL[key]
            else:
                chance = skill + (_MOVING.get(key, 0.05) if forward else -_MOVING.get(key, 0.05))
            roll = rng.random()
            if roll < 0.04 and not criterion["critical"]:
                answers[key] = "na"  # not heard on the recording
            else:
                answers[key] = "yes" if roll < min(chance, 0.99) else "no"
        return answers


# The demo's recordings: telephone audio (8 kHz, 8-bit mono WAV), a few seconds of two voices
# taking turns, so a player has something to play and seek in while the folder stays small.
AUDIO_RATE = 8000
_VOICES = (190, 125)  # the manager's pitch and the client's, in Hz
_SILENCE = b"\x80" * AUDIO_RATE  # unsigned 8-bit: 128 is the zero line


@functools.cache
def _voice_second(pitch: int, syllables: int) -> bytes:
    """One second of a voice-like sound: a pitch with two overtones, spoken in syllables."""
    samples = bytearray(AUDIO_RATE)
    for n in range(AUDIO_RATE):
        t = n / AUDIO_RATE
        envelope = max(0.0, math.sin(math.pi * syllables * t))
        tone = sum(math.sin(2 * math.pi * pitch * k * t) / k for k in (1, 2, 3)) / 1.84
        samples[n] = 128 + round(90 * envelope * tone)
    return bytes(samples)


def demo_audio(seed: bytes) -> bytes:
    """A WAV file of 3 to 9 whole seconds, the same for the same seed."""
    rng = random.Random(seed)
    seconds = rng.randint(3, 9)
    frames = b"".join(
        _SILENCE if rng.random() < 0.15 else _voice_second(_VOICES[n % 2], rng.choice((3, 5, 7)))
        for n in range(seconds)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(1)
        file.setframerate(AUDIO_RATE)
        file.writeframes(frames)
    return buffer.getvalue()


def _demo_pbx(request: httpx.Request) -> httpx.Response:
    """Every provider's recording request, answered with the file itself (one per request)."""
    seed = hashlib.sha256(str(request.url).encode() + request.content).digest()
    # A stream, as off the network: a response built from ``content`` counts as read already.
    audio = httpx.ByteStream(demo_audio(seed))
    return httpx.Response(200, headers={"content-type": "audio/wav"}, stream=audio)


async def _this_machine(_host: str, _port: int) -> list[str]:
    return ["127.0.0.1"]


async def store_recordings(database: Database, settings: Settings) -> int:
    """Download every recording the demo's calls announced; returns how many were claimed.

    The recording worker and downloader of production do the work (claim, provider request,
    audio checks, hashing, ``storage_for(settings)``, the stored row); only their HTTP client is
    wired to ``_demo_pbx`` instead of the network, and the PBX's hosts resolve to this machine.
    """
    # The demo PBX's hosts resolve to this machine, which the download guard refuses otherwise.
    demo = settings.model_copy(update={"recordings_allow_private_hosts": True})
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(_demo_pbx)) as client,
        recording_worker(database, demo, client=client, resolver=_this_machine) as worker,
    ):
        claimed = 0
        while batch := await worker.run_once():
            claimed += batch
        return claimed

"""Provider parity: one call history, delivered through each of the four providers, tells one story.

A four-week cold-calling history (unanswered dials, short and long talks, inbound call-backs, tags,
applications formed by a tag and entered by hand, contracts and losses) is delivered through Mango,
Zadarma, Twilio and the generic webhook with the adapters' own signing helpers, out of order and
partly twice. Every provider must then give the calls the history holds (each field it can
carry), the same applications on the same dates, and the same funnel stage counts in cohort and
activity mode.

What a provider cannot carry, and how this test allows for it:

- **Zadarma** reports no ring time and no end time: its END event carries the start and the talk
  seconds only. So its calls have no ``answered_at``, ``ring_seconds`` 0, ``duration_seconds`` =
  talk, and the end the merge derives is ``started_at + duration_seconds`` — the call's true end
  less its ring time. Applications its calls form by their tag are dated at that end; their local
  date is the true one (the history's calls never cross midnight). Its call costs differ by design
  (labour is paid on ``duration_seconds``), so money is compared only where no duration enters it.
- **Mango** cannot tell a busy line, a failed call or a cancelled one from an unanswered one: its
  summary only says whether somebody talked. Such calls are ``no_answer``.
- **Twilio** and **generic** carry every field compared here.

Provider disconnect codes differ by nature and are not compared. Each provider's leads carry a
campaign of their own, so one database holds all four histories and the funnel is asked per
campaign. This test would have caught issue 12: a Zadarma application dated at the moment of
tagging moves stage-4/5 counts between weeks and makes a contract's true date refused.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from httpx import AsyncClient

from app.calls.events import CallStatus, Direction
from app.webhooks.providers import get_adapter
from app.webhooks.providers.simulation import CallSpec
from app.webhooks.traffic import EXAMPLE_CONFIGS, deliveries, shuffled_with_duplicates

PROVIDERS = ("generic", "mango", "twilio", "zadarma")
LEADS = 100
EXTENSIONS = 3
MOSCOW_OFFSET = timedelta(hours=3)

# What each provider cannot carry (see the module docstring).
NO_RING_TIME = frozenset({"zadarma"})
NO_BUSY_OR_FAILED = frozenset({"mango"})


# --------------------------------------------------------------------------------------------------
# The history, in plain terms
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryCall:
    key: int
    lead: int
    direction: Direction
    extension: int
    start: datetime
    ring: int
    talk: int  # 0: nobody answered
    status: CallStatus
    recorded: bool
    outcome: str | None = None

    @property
    def answered_at(self) -> datetime | None:
        return self.start + timedelta(seconds=self.ring) if self.talk else None

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.ring + self.talk)


@dataclass(frozen=True)
class HandApplication:
    lead: int
    created_at: datetime


@dataclass(frozen=True)
class Closing:
    """What became of an application (a tag's or a hand-made one): a contract or a loss."""

    lead: int
    kind: str  # "contract" or "lost"
    at: datetime
    amount: str = "100000.00"


@dataclass
class History:
    anchor: datetime  # Monday 00:00 UTC of the first week
    calls: list[HistoryCall] = field(default_factory=list)
    hand_applications: list[HandApplication] = field(default_factory=list)
    closings: list[Closing] = field(default_factory=list)

    @property
    def as_of(self) -> datetime:
        return self.anchor + timedelta(weeks=5)


def _anchor(now: datetime) -> datetime:
    """A Monday far enough back that the whole history and its closings are in the past."""
    day = (now - timedelta(weeks=6)).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def build_history(now: datetime) -> History:
    """About 200 calls over four weeks; every call of a lead on its own working day, 09–16 Moscow
    time, so no call crosses midnight and every later call starts hours after an earlier one ends
    (far from the 60-minute second-call gap, which Zadarma's shorter durations would otherwise
    shift). Talk times keep clear of the 10/60/120-second thresholds for the same reason."""
    rng = random.Random(20261204)
    history = History(anchor=_anchor(now))
    used_seconds: set[datetime] = set()
    key = 0

    def moment(day: int) -> datetime:
        while True:
            at = history.anchor + timedelta(days=day, hours=6, seconds=rng.randrange(7 * 3600))
            if at not in used_seconds:
                used_seconds.add(at)
                return at

    def call(lead: int, day: int, *, talk: int, **kw: Any) -> HistoryCall:
        nonlocal key
        key += 1
        status = kw.pop("status", CallStatus.ANSWERED if talk else CallStatus.NO_ANSWER)
        made = HistoryCall(
            key=key,
            lead=lead,
            direction=kw.pop("direction", Direction.OUTBOUND),
            extension=kw.pop("extension", lead % EXTENSIONS),
            start=moment(day),
            ring=rng.randint(4, 30),
            talk=talk,
            status=status,
            recorded=bool(talk) and rng.random() < 0.7,
            **kw,
        )
        history.calls.append(made)
        return made

    unanswered = (CallStatus.NO_ANSWER, CallStatus.BUSY, CallStatus.FAILED, CallStatus.CANCELLED)
    for lead in range(LEADS):
        day = rng.randrange(0, 18)  # first dial within the first weeks; follow-ups later
        kind = lead % 8
        for _ in range(rng.randint(0, 2)):  # unanswered tries first
            call(lead, day, talk=0, status=rng.choice(unanswered))
            day += 1
        if kind == 0:
            continue  # never reached
        if kind == 1:
            call(lead, day, talk=5, outcome=rng.choice([None, "secretary", "voicemail"]))
            continue
        if kind == 2:
            call(lead, day, talk=35, outcome=rng.choice([None, "refused", "wrong_number"]))
            continue
        first = call(lead, day, talk=rng.randint(70, 110), outcome=rng.choice([None, "presented"]))
        day += rng.randint(1, 3)
        if kind == 3:
            # The lead calls back and talks long: stage-3 evidence from an inbound call.
            call(lead, day, talk=rng.randint(150, 400), direction=Direction.INBOUND)
        elif kind == 4:
            call(lead, day, talk=rng.randint(130, 300), outcome="need_identified")
        elif kind in (5, 6):
            tagged = call(lead, day, talk=rng.randint(150, 500), outcome="application")
            _close(history, rng, lead, tagged.end, tight=kind == 5)
        else:
            # An application entered by hand a day after the first conversation.
            created = first.end + timedelta(days=1, minutes=rng.randint(0, 300))
            history.hand_applications.append(HandApplication(lead, created))
            _close(history, rng, lead, created, tight=False)
        if rng.random() < 0.3:
            # A missed inbound call (the lead rang while nobody was free).
            call(lead, day + 1, talk=0, direction=Direction.INBOUND)
    return history


def _close(history: History, rng: random.Random, lead: int, opened: datetime, tight: bool) -> None:
    """A contract or a loss, or nothing (still open). ``tight``: signed two hours after the call
    that formed the application — refused (422) while that application was dated at the tag."""
    roll = rng.random()
    if tight:
        history.closings.append(Closing(lead, "contract", opened + timedelta(hours=2)))
    elif roll < 0.4:
        at = opened + timedelta(days=rng.randint(1, 6))
        history.closings.append(Closing(lead, "contract", at, amount=f"{rng.randint(5, 90)}000.00"))
    elif roll < 0.7:
        history.closings.append(Closing(lead, "lost", opened + timedelta(days=rng.randint(1, 6))))


# --------------------------------------------------------------------------------------------------
# One provider's pass
# --------------------------------------------------------------------------------------------------


def phone(provider_index: int, lead: int) -> str:
    return f"+7916{provider_index}{lead:06d}"


def extension(provider_index: int, index: int) -> str:
    return f"{provider_index + 1}0{index + 1}"


def spec_of(provider: str, provider_index: int, item: HistoryCall) -> CallSpec:
    return CallSpec(
        call_id=f"{provider[:2]}{item.key:05d}",
        direction=item.direction,
        extension=extension(provider_index, item.extension),
        external_number=phone(provider_index, item.lead),
        started_at=item.start,
        answered_at=item.answered_at,
        ended_at=item.end,
        status=item.status,
        recording_id=f"rec{provider[:2]}{item.key:05d}" if item.recorded else None,
    )


def expected_call(provider: str, item: HistoryCall) -> dict[str, Any]:
    """The call as ``provider`` can tell it (see the module docstring for the allowances)."""
    status = item.status
    if provider in NO_BUSY_OR_FAILED and status is not CallStatus.ANSWERED:
        status = CallStatus.NO_ANSWER
    if provider in NO_RING_TIME:
        ring, answered_at = 0, None
        end = item.start + timedelta(seconds=item.talk)
    else:
        ring, answered_at, end = item.ring, item.answered_at, item.end
    return {
        "direction": item.direction.value,
        "status": status.value,
        "started_at": _iso(item.start),
        "answered_at": None if answered_at is None else _iso(answered_at),
        "ended_at": _iso(end),
        "ring_seconds": ring,
        "talk_seconds": item.talk,
        "duration_seconds": ring + item.talk,
        "recorded": item.recorded,
    }


@dataclass
class Outcome:
    """What one provider's pass left behind, in the history's terms."""

    calls: dict[int, dict[str, Any]]
    applications: list[tuple[int, str, int | None, str]]  # lead, created_at, source call, status
    funnels: dict[str, dict[str, Any]]


async def run_provider(
    client: AsyncClient, admin: dict[str, str], history: History, provider: str
) -> Outcome:
    index = PROVIDERS.index(provider)
    config = EXAMPLE_CONFIGS[provider]
    created = await client.post(
        "/api/v1/integrations",
        json={"provider": provider, "name": f"parity {provider}", "config": config},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    integration_id = created.json()["id"]

    lead_ids: dict[int, str] = {}
    for lead in range(LEADS):
        response = await client.post(
            "/api/v1/leads",
            json={
                "company": f"{provider} {lead}",
                "campaign": provider,
                "phones": [phone(index, lead)],
            },
            headers=admin,
        )
        assert response.status_code == 201, response.text
        lead_ids[lead] = response.json()["id"]

    parsed = get_adapter(provider).config_model.model_validate(config)
    specs = [spec_of(provider, index, item) for item in history.calls]
    stream = shuffled_with_duplicates(
        random.Random(index),
        deliveries(provider, integration_id, parsed, specs),
        duplicate_share=0.15,
    )
    for item in stream:
        response = await client.request(
            item.method, item.path, content=item.body, headers=item.headers
        )
        assert response.status_code == 200, (provider, response.text)

    rows = await _all(client, admin, "/api/v1/calls", {"integration_id": integration_id})
    by_start = {row["started_at"]: row for row in rows}
    assert len(by_start) == len(rows) == len(history.calls), provider
    calls: dict[int, dict[str, Any]] = {}
    employees: dict[str, set[str | None]] = {}
    for item in history.calls:
        row = by_start[_iso(item.start)]
        assert row["lead_id"] == lead_ids[item.lead], (provider, item)
        assert row["extension"] == extension(index, item.extension), (provider, item)
        assert row["external_number"] == phone(index, item.lead), (provider, item)
        employees.setdefault(row["extension"], set()).add(row["employee_id"])
        calls[item.key] = {
            **{name: row[name] for name in expected_call(provider, item) if name != "recorded"},
            "recorded": row["recording"] is not None,
            "id": row["id"],
        }
    # One employee per extension, and each its own.
    assert all(len(ids) == 1 and None not in ids for ids in employees.values()), employees
    assert len({next(iter(ids)) for ids in employees.values()}) == EXTENSIONS

    # Tags, in the order a team would set them.
    for item in sorted(history.calls, key=lambda c: c.start):
        if item.outcome is None:
            continue
        response = await client.patch(
            f"/api/v1/calls/{calls[item.key]['id']}", json={"outcome": item.outcome}, headers=admin
        )
        assert response.status_code == 200, (provider, response.text)
    for hand in history.hand_applications:
        response = await client.post(
            "/api/v1/applications",
            json={"lead_id": lead_ids[hand.lead], "created_at": _iso(hand.created_at)},
            headers=admin,
        )
        assert response.status_code == 201, (provider, response.text)

    applications = {
        row["lead_id"]: row
        for row in await _all(client, admin, "/api/v1/applications", {})
        if row["lead_id"] in lead_ids.values()
    }
    for closing in history.closings:
        application = applications[lead_ids[closing.lead]]
        if closing.kind == "contract":
            response = await client.post(
                "/api/v1/contracts",
                json={
                    "application_id": application["id"],
                    "signed_at": _iso(closing.at),
                    "amount": closing.amount,
                },
                headers=admin,
            )
            assert response.status_code == 201, (provider, closing, response.text)
        else:
            response = await client.patch(
                f"/api/v1/applications/{application['id']}",
                json={"status": "lost", "lost_reason": "price", "closed_at": _iso(closing.at)},
                headers=admin,
            )
            assert response.status_code == 200, (provider, closing, response.text)

    lead_of = {lead_id: lead for lead, lead_id in lead_ids.items()}
    call_of = {value["id"]: key for key, value in calls.items()}
    final = await _all(client, admin, "/api/v1/applications", {})
    listed = sorted(
        (
            lead_of[row["lead_id"]],
            row["created_at"],
            call_of.get(row["source_call_id"]) if row["source_call_id"] else None,
            row["status"],
        )
        for row in final
        if row["lead_id"] in lead_of
    )
    return Outcome(
        calls=calls,
        applications=listed,
        funnels=await _funnels(client, admin, history, provider),
    )


async def _funnels(
    client: AsyncClient, admin: dict[str, str], history: History, provider: str
) -> dict[str, dict[str, Any]]:
    """Cohort and activity funnels over the whole history and over each of its weeks."""
    periods = [(history.anchor, history.anchor + timedelta(weeks=4))]
    periods += [
        (history.anchor + timedelta(weeks=w), history.anchor + timedelta(weeks=w + 1))
        for w in range(5)
    ]
    out = {}
    for mode in ("cohort", "activity"):
        for start, end in periods:
            params = {
                "from": _iso(start),
                "to": _iso(end),
                "mode": mode,
                "as_of": _iso(history.as_of),
                "campaign": provider,
            }
            response = await client.get("/api/v1/metrics/funnel", params=params, headers=admin)
            assert response.status_code == 200, response.text
            out[f"{mode} {start.date()}..{end.date()}"] = response.json()["total"]
    return out


async def _all(
    client: AsyncClient, headers: dict[str, str], path: str, params: Mapping[str, str]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": "500", **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local_date(text: str) -> date:
    return (datetime.fromisoformat(text.replace("Z", "+00:00")) + MOSCOW_OFFSET).date()


# --------------------------------------------------------------------------------------------------
# What must agree
# --------------------------------------------------------------------------------------------------

# Figures that no duration enters: equal for every provider. Cost (and what is derived from it)
# depends on duration_seconds, which Zadarma cannot report as ring plus talk.
SHARED_FIGURES = ("leads_dialed", "dials", "talk_seconds", "applications", "contracts")
SHARED_MONEY = ("revenue", "margin")


def _figure(figures: Mapping[str, Any], key: str) -> Any:
    """A figure of a funnel answer, at its top level or in its economics block."""
    if key in figures:
        return figures[key]
    return figures["economics"][key]


def stage_counts(figures: Mapping[str, Any]) -> list[int]:
    return [stage["count"] for stage in figures["stages"]]


def call_mismatches(
    provider: str, history: History, got: Mapping[int, Mapping[str, Any]]
) -> list[str]:
    problems = []
    for item in history.calls:
        want = expected_call(provider, item)
        have = {k: v for k, v in got[item.key].items() if k != "id"}
        problems += [
            f"{provider} call {item.key} {name}: got {have[name]!r}, history says {value!r}"
            for name, value in want.items()
            if have[name] != value
        ]
    return problems


def expected_applications(
    provider: str, history: History
) -> list[tuple[int, str, int | None, str]]:
    """Per lead: the first application (by tag: at the tagged call's end as the provider knows it;
    by hand: as entered), with its status after the closings."""
    status = {c.lead: ("won" if c.kind == "contract" else "lost") for c in history.closings}
    out = []
    for item in history.calls:
        if item.outcome == "application":
            end = expected_call(provider, item)["ended_at"]
            out.append((item.lead, end, item.key, status.get(item.lead, "open")))
    for hand in history.hand_applications:
        out.append((hand.lead, _iso(hand.created_at), None, status.get(hand.lead, "open")))
    return sorted(out)


def _same_story(outcomes: Mapping[str, Outcome], history: History) -> list[str]:
    problems = []
    for provider, outcome in outcomes.items():
        problems += call_mismatches(provider, history, outcome.calls)
        want = expected_applications(provider, history)
        if outcome.applications != want:
            problems.append(f"{provider} applications: got {outcome.applications}, want {want}")
    problems += _application_date_problems(outcomes)
    reference = outcomes["generic"]
    for provider, outcome in outcomes.items():
        for name, figures in outcome.funnels.items():
            base = reference.funnels[name]
            if stage_counts(figures) != stage_counts(base):
                problems.append(
                    f"{provider} {name} stages {stage_counts(figures)} != {stage_counts(base)}"
                )
            keys = [*SHARED_FIGURES, *SHARED_MONEY]
            if provider not in NO_RING_TIME:
                keys.append("cost")
            for key in keys:
                mine, theirs = _figure(figures, key), _figure(base, key)
                if mine != theirs:
                    problems.append(f"{provider} {name} {key} {mine} != {theirs}")
    return problems


def _application_date_problems(outcomes: Mapping[str, Outcome]) -> list[str]:
    """Same applications, on the same local dates, whatever a provider's end time lacks."""

    def local(outcome: Outcome) -> list[tuple[int, date, int | None, str]]:
        return [(lead, _local_date(at), c, st) for lead, at, c, st in outcome.applications]

    reference = local(outcomes["generic"])
    return [
        f"{provider} application dates differ from generic's"
        for provider, outcome in outcomes.items()
        if local(outcome) != reference
    ]


def _history_is_rich(history: History, outcomes: Mapping[str, Outcome]) -> None:
    """The history exercises what it claims to (else the parity would prove little)."""
    kinds = Counter(
        (c.direction, c.status, c.talk > 120, c.outcome == "application") for c in history.calls
    )
    assert 150 <= len(history.calls) <= 400
    assert kinds[(Direction.INBOUND, CallStatus.ANSWERED, True, False)] > 0  # call-backs
    assert any(c.direction is Direction.INBOUND and not c.talk for c in history.calls)
    assert {c.status for c in history.calls} >= set(CallStatus) - {
        CallStatus.RINGING,
        CallStatus.IN_PROGRESS,
    }
    assert sum(c.outcome == "application" for c in history.calls) >= 5
    assert len(history.hand_applications) >= 5
    assert {c.kind for c in history.closings} == {"contract", "lost"}
    whole = outcomes["generic"].funnels
    cohort = next(figures for name, figures in whole.items() if name.startswith("cohort"))
    counts = stage_counts(cohort)
    assert all(count > 0 for count in counts), counts
    assert counts == sorted(counts, reverse=True)


async def test_one_history_gives_one_story_through_every_provider(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    history = build_history(datetime.now(UTC))
    outcomes = {
        provider: await run_provider(client, admin, history, provider) for provider in PROVIDERS
    }
    _history_is_rich(history, outcomes)
    assert _same_story(outcomes, history) == []


def test_the_comparison_sees_a_late_application() -> None:
    """What issue 12 did, one Zadarma application dated weeks late, must be reported."""
    history = build_history(datetime(2026, 12, 4, tzinfo=UTC))
    story = {
        provider: Outcome(
            calls={}, applications=expected_applications(provider, history), funnels={}
        )
        for provider in PROVIDERS
    }
    assert _application_date_problems(story) == []
    lead, _, call, status = story["zadarma"].applications[0]
    story["zadarma"].applications[0] = (lead, _iso(history.as_of), call, status)
    assert _application_date_problems(story) == ["zadarma application dates differ from generic's"]

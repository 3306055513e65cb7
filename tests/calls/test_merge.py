"""The pure call merge: order- and duplicate-independence, forward-only state, precedence rules.

The provider scenarios below are built by hand from the fixtures' real event sequences (the adapters
are written elsewhere); their expected values come from the fixtures' ``expected_calls``, except
that ``external_number`` is the raw value an adapter hands over (E.164 normalisation comes later).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calls.events import TERMINAL_STATUSES, CallEvent, CallStatus, Direction, RecordingRef
from app.calls.merge import (
    CallFields,
    CallState,
    LegFields,
    call_fields,
    merge_call_event,
)

OUT = Direction.OUTBOUND
IN = Direction.INBOUND
RINGING = CallStatus.RINGING
IN_PROGRESS = CallStatus.IN_PROGRESS
ANSWERED = CallStatus.ANSWERED
NO_ANSWER = CallStatus.NO_ANSWER


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 16, hour, minute, second, tzinfo=UTC)


def fold(events: Iterable[CallEvent]) -> CallState:
    state: CallState | None = None
    for event in events:
        state = merge_call_event(state, event)
    assert state is not None, "fold needs at least one event"
    return state


def fold_like_the_database(events: Iterable[CallEvent]) -> CallState:
    """Every step goes through JSON, as the state does between two webhooks."""
    stored: dict[str, object] | None = None
    for event in events:
        state = None if stored is None else CallState.from_json(stored)
        stored = json.loads(json.dumps(merge_call_event(state, event).to_json()))
    assert stored is not None
    return CallState.from_json(stored)


def status_rank(status: CallStatus | None) -> int:
    if status is None:
        return 0
    if status in TERMINAL_STATUSES:
        return 3
    return 2 if status == IN_PROGRESS else 1


# --------------------------------------------------------------------------------------------------
# Provider scenarios, modelled on the signed example requests in tests/fixtures/providers/
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    direction: Direction
    status: CallStatus
    external_number: str
    extension: str
    started_at: datetime
    talk_seconds: int
    duration_seconds: int
    has_recording: bool


@dataclass(frozen=True)
class Scenario:
    name: str
    events: tuple[CallEvent, ...]
    expected: Expected


def mango_scenarios() -> list[Scenario]:
    def leg(call: str, leg_id: str, seq: int, when: datetime, **kw: Any) -> CallEvent:
        return CallEvent(provider_call_id=call, leg_id=leg_id, seq=seq, occurred_at=when, **kw)

    out_1001: dict[str, Any] = {
        "direction": OUT,
        "extension": "101",
        "external_number": "79161234567",
    }
    rec = RecordingRef("cmVjLTEwMDE=")
    e1001 = (
        leg("E1001", "L1001", 1, at(7), status=RINGING, **out_1001),
        leg("E1001", "L1001", 2, at(7, 0, 10), status=IN_PROGRESS, **out_1001),
        leg(
            "E1001",
            "L1001",
            3,
            at(7, 1, 45),
            status=NO_ANSWER,  # a Disconnected leg: the adapter cannot know more
            ended_at=at(7, 1, 45),
            disconnect_reason="1110",
            **out_1001,
        ),
        CallEvent(
            provider_call_id="E1001",
            final=True,
            status=ANSWERED,
            started_at=at(7),
            answered_at=at(7, 0, 10),
            ended_at=at(7, 1, 45),
            ring_seconds=10,
            talk_seconds=95,
            disconnect_reason="1110",
            **out_1001,
        ),
        leg("E1001", "L1001", 1, at(7, 1, 45), extension="101", recording=rec),
        CallEvent(provider_call_id="E1001", occurred_at=at(7, 1, 50), recording=rec),
    )
    out_1002: dict[str, Any] = {
        "direction": OUT,
        "extension": "101",
        "external_number": "79167654321",
    }
    e1002 = (
        leg("E1002", "L1002", 1, at(7, 5), status=RINGING, **out_1002),
        leg(
            "E1002",
            "L1002",
            2,
            at(7, 5, 30),
            status=NO_ANSWER,
            ended_at=at(7, 5, 30),
            disconnect_reason="1120",
            **out_1002,
        ),
        CallEvent(
            provider_call_id="E1002",
            final=True,
            status=NO_ANSWER,
            started_at=at(7, 5),
            ended_at=at(7, 5, 30),
            ring_seconds=30,
            talk_seconds=0,
            disconnect_reason="1120",
            **out_1002,
        ),
    )
    in_1003: dict[str, Any] = {
        "direction": IN,
        "extension": "102",
        "external_number": "79161234567",
    }
    e1003 = (
        leg("E1003", "L1003", 1, at(8), status=RINGING, **in_1003),
        leg("E1003", "L1003", 2, at(8, 0, 8), status=IN_PROGRESS, **in_1003),
        leg("E1003", "L1003", 3, at(8, 0, 50), status=NO_ANSWER, ended_at=at(8, 0, 50), **in_1003),
        # This summary gives only the times: the merge derives ring 8, talk 42, duration 50.
        CallEvent(
            provider_call_id="E1003",
            final=True,
            status=ANSWERED,
            started_at=at(8),
            answered_at=at(8, 0, 8),
            ended_at=at(8, 0, 50),
            disconnect_reason="1110",
            **in_1003,
        ),
    )
    return [
        Scenario("mango-1001", e1001, replace(EXPECTED_1001, external_number="79161234567")),
        Scenario("mango-1002", e1002, replace(EXPECTED_1002, external_number="79167654321")),
        Scenario("mango-1003", e1003, replace(EXPECTED_1003, external_number="79161234567")),
    ]


def zadarma_scenarios() -> list[Scenario]:
    def ev(call: str, **kw: Any) -> CallEvent:
        return CallEvent(provider_call_id=call, **kw)

    # call_start is Moscow wall time; the adapter hands over UTC. No answer or end time is sent.
    out_start: dict[str, Any] = {"direction": OUT, "extension": "101"}
    rec = RecordingRef("out_1001.rec")
    n1 = "79161234567"
    o1001 = (
        ev("out_1001", started_at=at(7), status=RINGING, external_number=n1, **out_start),
        ev(
            "out_1001",
            final=True,
            started_at=at(7),
            status=ANSWERED,
            talk_seconds=95,
            external_number=n1,
            recording=rec,
            **out_start,
        ),
        ev("out_1001", recording=rec),
    )
    n2 = "79167654321"
    o1002 = (
        ev("out_1002", started_at=at(7, 5), status=RINGING, external_number=n2, **out_start),
        ev(
            "out_1002",
            final=True,
            started_at=at(7, 5),
            status=NO_ANSWER,
            talk_seconds=0,
            external_number=n2,
            **out_start,
        ),
    )
    inbound: dict[str, Any] = {"direction": IN, "started_at": at(8), "external_number": n1}
    i1003 = (
        ev("in_1003", status=RINGING, **inbound),
        ev("in_1003", status=RINGING, extension="102", **inbound),  # NOTIFY_INTERNAL
        ev("in_1003", status=IN_PROGRESS, extension="102", **inbound),  # NOTIFY_ANSWER
        ev(
            "in_1003",
            final=True,
            status=ANSWERED,
            talk_seconds=42,
            extension="102",
            **inbound,
        ),
    )
    return [
        Scenario(
            "zadarma-1001",
            o1001,
            replace(EXPECTED_1001, external_number="79161234567", duration_seconds=95),
        ),
        Scenario(
            "zadarma-1002",
            o1002,
            replace(EXPECTED_1002, external_number="79167654321", duration_seconds=0),
        ),
        Scenario(
            "zadarma-1003",
            i1003,
            replace(EXPECTED_1003, external_number="79161234567", duration_seconds=42),
        ),
    ]


def twilio_scenarios() -> list[Scenario]:
    def callback(sid: str, seq: int, when: datetime, **kw: Any) -> CallEvent:
        # No ParentCallSid: the call id is the CallSid, which is also the (only) leg.
        return CallEvent(provider_call_id=sid, leg_id=sid, seq=seq, occurred_at=when, **kw)

    sid1, sid2, sid3 = "CAb8c37e33", "CAfba9d881", "CAaa68c75c"
    out1: dict[str, Any] = {"direction": OUT, "extension": "101", "external_number": "+14151234567"}
    recording = RecordingRef(
        "RE532da1d5", "https://api.twilio.com/2010-04-01/Recordings/RE532da1d5"
    )
    c1001 = (
        callback(sid1, 0, at(7), status=RINGING, **out1),  # initiated
        callback(sid1, 1, at(7), status=RINGING, **out1),
        callback(sid1, 2, at(7, 0, 10), status=IN_PROGRESS, **out1),
        callback(sid1, 3, at(7, 1, 45), final=True, status=ANSWERED, talk_seconds=95, **out1),
        CallEvent(provider_call_id=sid1, leg_id=sid1, recording=recording),
    )
    out2: dict[str, Any] = {"direction": OUT, "extension": "101", "external_number": "+14157654321"}
    c1002 = (
        callback(sid2, 0, at(7, 5), status=RINGING, **out2),
        callback(sid2, 1, at(7, 5), status=RINGING, **out2),
        callback(sid2, 2, at(7, 5, 30), final=True, status=NO_ANSWER, talk_seconds=0, **out2),
    )
    in3: dict[str, Any] = {"direction": IN, "extension": "102", "external_number": "+14151234567"}
    c1003 = (
        callback(sid3, 0, at(8), status=RINGING, **in3),
        callback(sid3, 1, at(8), status=RINGING, **in3),
        callback(sid3, 2, at(8, 0, 8), status=IN_PROGRESS, **in3),
        callback(sid3, 3, at(8, 0, 50), final=True, status=ANSWERED, talk_seconds=42, **in3),
    )
    return [
        Scenario("twilio-1001", c1001, replace(EXPECTED_1001, external_number="+14151234567")),
        Scenario("twilio-1002", c1002, replace(EXPECTED_1002, external_number="+14157654321")),
        Scenario("twilio-1003", c1003, replace(EXPECTED_1003, external_number="+14151234567")),
    ]


def generic_scenarios() -> list[Scenario]:
    def ev(call: str, **kw: Any) -> CallEvent:
        return CallEvent(provider_call_id=call, **kw)

    def started(
        call: str, when: datetime, direction: Direction, ext: str, number: str
    ) -> CallEvent:
        return ev(
            call,
            occurred_at=when,
            started_at=when,
            direction=direction,
            extension=ext,
            external_number=number,
        )

    n1, n2 = "+79161234567", "+79167654321"
    g1001 = (
        started("g-1001", at(7), OUT, "101", n1),
        ev(
            "g-1001",
            final=True,
            occurred_at=at(7, 1, 45),
            started_at=at(7),
            answered_at=at(7, 0, 10),
            status=ANSWERED,
            talk_seconds=95,
            duration_seconds=105,
            direction=OUT,
            extension="101",
            external_number=n1,
        ),
        ev(
            "g-1001",
            occurred_at=at(7, 2, 5),
            recording=RecordingRef("g-1001-r", "https://recordings.example.com/1001.mp3"),
        ),
    )
    g1002 = (
        started("g-1002", at(7, 5), OUT, "101", n2),
        ev(
            "g-1002",
            final=True,
            occurred_at=at(7, 5, 30),
            started_at=at(7, 5),
            status=NO_ANSWER,
            talk_seconds=0,
            duration_seconds=30,
            direction=OUT,
            extension="101",
            external_number=n2,
        ),
    )
    g1003 = (
        started("g-1003", at(8), IN, "102", n1),
        ev(
            "g-1003",
            final=True,
            occurred_at=at(8, 0, 50),
            started_at=at(8),
            answered_at=at(8, 0, 8),
            status=ANSWERED,
            talk_seconds=42,
            duration_seconds=50,
            direction=IN,
            extension="102",
            external_number=n1,
        ),
    )
    return [
        Scenario("generic-1001", g1001, EXPECTED_1001),
        Scenario("generic-1002", g1002, EXPECTED_1002),
        Scenario("generic-1003", g1003, EXPECTED_1003),
    ]


# The fixtures' expected_calls (the same three calls for every provider).
EXPECTED_1001 = Expected(OUT, ANSWERED, "+79161234567", "101", at(7), 95, 105, True)
EXPECTED_1002 = Expected(OUT, NO_ANSWER, "+79167654321", "101", at(7, 5), 0, 30, False)
EXPECTED_1003 = Expected(IN, ANSWERED, "+79161234567", "102", at(8), 42, 50, False)

SCENARIOS = [*mango_scenarios(), *zadarma_scenarios(), *twilio_scenarios(), *generic_scenarios()]


def shuffled_with_repeats(
    events: Sequence[CallEvent], max_repeats: int = 6
) -> st.SearchStrategy[list[CallEvent]]:
    """Any permutation of the events, with any of them delivered again (up to max_repeats)."""
    repeats = st.lists(st.sampled_from(list(events)), max_size=max_repeats)
    return repeats.flatmap(lambda extra: st.permutations([*events, *extra]))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_provider_scenario_gives_the_expected_call(scenario: Scenario) -> None:
    fields = call_fields(fold(scenario.events))
    expected = scenario.expected

    assert fields.direction == expected.direction
    assert fields.status == expected.status
    assert fields.external_number == expected.external_number
    assert fields.extension == expected.extension
    assert fields.started_at == expected.started_at
    assert fields.talk_seconds == expected.talk_seconds
    assert fields.duration_seconds == expected.duration_seconds
    assert bool(fields.recordings) == expected.has_recording


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_provider_scenario_is_order_and_duplicate_independent(
    scenario: Scenario, data: st.DataObject
) -> None:
    reference = fold(scenario.events)
    delivered = data.draw(shuffled_with_repeats(scenario.events))

    state = fold_like_the_database(delivered)

    assert state.to_json() == reference.to_json()
    assert call_fields(state) == call_fields(reference)


def test_twilio_ring_time_is_answer_callback_minus_first_callback() -> None:
    twilio_1001 = next(s for s in SCENARIOS if s.name == "twilio-1001")

    fields = call_fields(fold(twilio_1001.events))

    assert (fields.ring_seconds, fields.talk_seconds, fields.duration_seconds) == (10, 95, 105)
    assert fields.answered_at == at(7, 0, 10)
    assert fields.ended_at == at(7, 1, 45)
    assert fields.legs == (LegFields("CAb8c37e33", 3, "101", True, ANSWERED),)


def test_mango_summary_with_only_times_derives_durations() -> None:
    mango_1003 = next(s for s in SCENARIOS if s.name == "mango-1003")

    fields = call_fields(fold(mango_1003.events))

    assert (fields.ring_seconds, fields.talk_seconds, fields.duration_seconds) == (8, 42, 50)
    assert fields.disconnect_reason == "1110"


def test_zadarma_without_times_has_no_ring_time_and_counts_talk_as_duration() -> None:
    zadarma_1001 = next(s for s in SCENARIOS if s.name == "zadarma-1001")

    fields = call_fields(fold(zadarma_1001.events))

    assert (fields.ring_seconds, fields.talk_seconds, fields.duration_seconds) == (None, 95, 95)
    assert fields.recordings == (RecordingRef("out_1001.rec"),)
    assert fields.legs == ()


# --------------------------------------------------------------------------------------------------
# Generated event sets
# --------------------------------------------------------------------------------------------------

CALL_ID = "C1"
MOSCOW = ZoneInfo("Europe/Moscow")
# A few instants, one of them given in another zone: the merge must see it as the same instant.
INSTANTS = [at(9), at(9, 0, 5), at(9, 0, 20), at(9, 3), at(9, 3).astimezone(MOSCOW), None]

recording_refs = st.builds(
    RecordingRef,
    provider_ref=st.sampled_from(["rec-1", "rec-2"]),
    url=st.sampled_from([None, "https://pbx.example/a.mp3", "https://pbx.example/b.mp3"]),
)


def maybe(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | strategy


call_events = st.builds(
    CallEvent,
    provider_call_id=st.just(CALL_ID),
    occurred_at=st.sampled_from(INSTANTS),
    leg_id=st.sampled_from([None, "L1", "L2", "L3"]),
    seq=maybe(st.integers(0, 4)),
    final=st.booleans(),
    direction=maybe(st.sampled_from(Direction)),
    status=maybe(st.sampled_from(CallStatus)),
    extension=maybe(st.sampled_from(["101", "102", "103"])),
    external_number=maybe(st.sampled_from(["+79161234567", "79167654321"])),
    started_at=st.sampled_from(INSTANTS),
    answered_at=st.sampled_from(INSTANTS),
    ended_at=st.sampled_from(INSTANTS),
    ring_seconds=maybe(st.integers(0, 60)),
    talk_seconds=maybe(st.integers(0, 300)),
    duration_seconds=maybe(st.integers(0, 400)),
    disconnect_reason=maybe(st.sampled_from(["1110", "1120"])),
    recording=maybe(recording_refs),
)
event_sets = st.lists(call_events, min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(events=event_sets, data=st.data())
def test_any_order_with_any_repeats_folds_to_the_same_call(
    events: list[CallEvent], data: st.DataObject
) -> None:
    reference = fold(events)
    delivered = data.draw(shuffled_with_repeats(events))

    state = fold(delivered)

    assert state.to_json() == reference.to_json()
    assert call_fields(state) == call_fields(reference)


@settings(max_examples=200, deadline=None)
@given(events=event_sets)
def test_state_json_round_trip_is_exact(events: list[CallEvent]) -> None:
    state = fold(events)
    stored = json.loads(json.dumps(state.to_json()))  # JSON-safe: survives a real encoder

    restored = CallState.from_json(stored)

    assert restored == state
    assert restored.to_json() == stored
    assert call_fields(restored) == call_fields(state)
    assert fold_like_the_database(events).to_json() == stored


@settings(max_examples=200, deadline=None)
@given(events=event_sets, late=call_events)
def test_terminal_status_is_never_undone(events: list[CallEvent], late: CallEvent) -> None:
    state = fold(events)
    if call_fields(state).status not in TERMINAL_STATUSES:
        return

    assert call_fields(merge_call_event(state, late)).status in TERMINAL_STATUSES


@settings(max_examples=300, deadline=None)
@given(events=event_sets, late=call_events)
def test_a_fact_that_is_not_newer_for_its_leg_never_moves_status_back(
    events: list[CallEvent], late: CallEvent
) -> None:
    state = fold(events)
    legs = {leg.leg_id: leg for leg in state.legs}
    leg = legs.get(late.leg_id) if late.leg_id is not None else None
    newer_for_its_leg = (
        leg is not None
        and late.seq is not None
        and leg.status is not None
        and leg.status.seq is not None
        and late.seq > leg.status.seq
    )
    if newer_for_its_leg:
        return

    before = call_fields(state).status
    after = call_fields(merge_call_event(state, late)).status

    assert status_rank(after) >= status_rank(before)


@settings(max_examples=200, deadline=None)
@given(events=event_sets)
def test_a_terminal_final_decides_the_status(events: list[CallEvent]) -> None:
    final_statuses = {e.status for e in events if e.final and e.status in TERMINAL_STATUSES}

    status = call_fields(fold(events)).status

    if final_statuses:
        assert status in final_statuses
    elif any(e.final for e in events):
        assert status in TERMINAL_STATUSES


@settings(max_examples=200, deadline=None)
@given(events=event_sets)
def test_recordings_are_distinct_by_provider_ref(events: list[CallEvent]) -> None:
    refs = [ref.provider_ref for ref in call_fields(fold(events)).recordings]

    assert refs == sorted({e.recording.provider_ref for e in events if e.recording})


# --------------------------------------------------------------------------------------------------
# Edge cases and precedence rules, one by one
# --------------------------------------------------------------------------------------------------


def test_only_a_recording_gives_a_call_with_just_its_id_and_recording() -> None:
    recording = RecordingRef("RE1", "https://api.twilio.com/RE1")

    state = merge_call_event(
        None, CallEvent(provider_call_id="CA1", leg_id="CA2", recording=recording)
    )

    assert call_fields(state) == CallFields(
        provider_call_id="CA1",
        direction=None,
        status=None,
        extension=None,
        external_number=None,
        started_at=None,
        answered_at=None,
        ended_at=None,
        ring_seconds=None,
        talk_seconds=None,
        duration_seconds=None,
        disconnect_reason=None,
        recordings=(recording,),
        legs=(LegFields("CA2", None, None, False, None),),
    )


def test_recording_first_is_completed_by_later_events() -> None:
    recording = RecordingRef("rec-1")
    events = [
        CallEvent(provider_call_id="C", recording=recording),
        CallEvent(provider_call_id="C", started_at=at(9), status=RINGING, extension="101"),
        CallEvent(
            provider_call_id="C",
            final=True,
            direction=OUT,
            status=ANSWERED,
            started_at=at(9),
            answered_at=at(9, 0, 5),
            ended_at=at(9, 1),
        ),
    ]

    fields = call_fields(fold(events))

    assert (fields.status, fields.direction, fields.extension) == (ANSWERED, OUT, "101")
    assert (fields.ring_seconds, fields.talk_seconds, fields.duration_seconds) == (5, 55, 60)
    assert fields.recordings == (recording,)


def test_only_a_final_event() -> None:
    final = CallEvent(
        provider_call_id="C",
        leg_id="C",
        seq=3,
        final=True,
        occurred_at=at(9, 2),
        status=ANSWERED,
        talk_seconds=95,
        direction=OUT,
        extension="101",
    )

    fields = call_fields(merge_call_event(None, final))

    assert (fields.status, fields.direction, fields.extension) == (ANSWERED, OUT, "101")
    assert fields.ended_at == at(9, 2)  # a final event is sent when the call ends
    assert fields.ring_seconds is None
    assert (fields.talk_seconds, fields.duration_seconds) == (95, 95)
    # No event tells the start: it is the end less what is known of the duration, never unknown.
    assert fields.started_at == at(9, 2) - timedelta(seconds=95)


def test_duplicate_finals_count_once() -> None:
    final = CallEvent(provider_call_id="C", final=True, status=NO_ANSWER, ring_seconds=20)

    once = merge_call_event(None, final)
    thrice = fold([final, final, final])

    assert thrice == once
    assert call_fields(thrice).ring_seconds == 20


def test_disagreeing_finals_pick_the_call_level_one_whatever_the_order() -> None:
    leg_final = CallEvent(
        provider_call_id="CA-parent",
        leg_id="CA-child",
        seq=9,
        final=True,
        status=NO_ANSWER,
        talk_seconds=0,
        ended_at=at(9, 1),
    )
    call_final = CallEvent(
        provider_call_id="CA-parent",
        leg_id="CA-parent",
        seq=3,
        final=True,
        status=ANSWERED,
        talk_seconds=80,
    )

    one_way = call_fields(fold([leg_final, call_final]))
    other_way = call_fields(fold([call_final, leg_final]))

    assert one_way == other_way
    assert (one_way.status, one_way.talk_seconds) == (ANSWERED, 80)
    assert one_way.ended_at == at(9, 1)  # the lesser final fills what the winner does not say


def test_disagreeing_finals_of_one_kind_pick_the_higher_seq() -> None:
    first = CallEvent(provider_call_id="C", leg_id="L", seq=2, final=True, status=NO_ANSWER)
    second = CallEvent(provider_call_id="C", leg_id="L", seq=5, final=True, status=ANSWERED)

    assert call_fields(fold([first, second])).status == ANSWERED
    assert call_fields(fold([second, first])).status == ANSWERED


def mango_ring_group(with_summary: bool) -> list[CallEvent]:
    """Inbound to a ring group: leg A (101) rings and gives up, leg B (102) answers."""

    def leg(leg_id: str, seq: int, when: datetime, ext: str, **kw: Any) -> CallEvent:
        return CallEvent(
            provider_call_id="E7",
            leg_id=leg_id,
            seq=seq,
            occurred_at=when,
            extension=ext,
            direction=IN,
            external_number="79161234567",
            **kw,
        )

    events = [
        leg("LA", 1, at(10), "101", status=RINGING),
        leg("LA", 2, at(10, 0, 12), "101", status=NO_ANSWER, disconnect_reason="1100"),
        leg("LB", 1, at(10), "102", status=RINGING),
        leg("LB", 2, at(10, 0, 12), "102", status=IN_PROGRESS),
        leg("LB", 3, at(10, 2), "102", status=NO_ANSWER, disconnect_reason="1110"),
    ]
    if with_summary:
        # The summary names the group's first extension, not the one who answered.
        events.append(
            CallEvent(
                provider_call_id="E7",
                final=True,
                direction=IN,
                status=ANSWERED,
                extension="101",
                external_number="79161234567",
                started_at=at(10),
                answered_at=at(10, 0, 12),
                ended_at=at(10, 2),
            )
        )
    return events


@pytest.mark.parametrize("with_summary", [True, False])
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_mango_ring_group_extension_is_the_answering_leg(
    with_summary: bool, data: st.DataObject
) -> None:
    events = mango_ring_group(with_summary)
    delivered = data.draw(shuffled_with_repeats(events))

    fields = call_fields(fold(delivered))

    assert fields.extension == "102"
    assert fields.status == ANSWERED
    assert (fields.ring_seconds, fields.talk_seconds, fields.duration_seconds) == (12, 108, 120)
    assert fields.legs == (
        LegFields("LA", 2, "101", False, NO_ANSWER),
        LegFields("LB", 3, "102", True, NO_ANSWER),
    )


def test_unanswered_ring_group_takes_the_first_legs_extension() -> None:
    def leg(leg_id: str, seq: int, when: datetime, **kw: Any) -> CallEvent:
        return CallEvent(provider_call_id="E", leg_id=leg_id, seq=seq, occurred_at=when, **kw)

    events = [
        leg("LB", 1, at(10, 0, 3), status=RINGING, extension="102"),
        leg("LA", 1, at(10), status=RINGING, extension="103"),
        leg("LA", 2, at(10, 1), status=NO_ANSWER),
    ]

    fields = call_fields(fold(events))

    assert (fields.status, fields.extension) == (NO_ANSWER, "103")
    assert (fields.started_at, fields.ended_at) == (at(10), at(10, 1))
    assert (fields.ring_seconds, fields.talk_seconds, fields.duration_seconds) == (60, 0, 60)


def test_zadarma_ring_group_takes_the_extension_that_answered() -> None:
    def ev(**kw: Any) -> CallEvent:
        return CallEvent(provider_call_id="in_9", started_at=at(8), **kw)

    events = [
        ev(status=RINGING, extension="101"),
        ev(status=RINGING, extension="102"),
        ev(status=RINGING, extension="103"),
        ev(status=IN_PROGRESS, extension="103"),
    ]

    assert call_fields(fold(events)).extension == "103"
    assert call_fields(fold(events[:3])).extension == "101"


def test_late_appeared_never_undoes_a_disconnected_leg() -> None:
    disconnected = CallEvent(provider_call_id="E", leg_id="L", seq=3, status=NO_ANSWER)
    appeared = CallEvent(provider_call_id="E", leg_id="L", seq=1, status=RINGING)

    fields = call_fields(fold([disconnected, appeared]))

    assert fields.status == NO_ANSWER
    assert fields.legs == (LegFields("L", 3, None, False, NO_ANSWER),)


def test_within_a_leg_the_higher_seq_decides_its_status() -> None:
    connected = CallEvent(provider_call_id="E", leg_id="L", seq=3, status=IN_PROGRESS)
    rings_again = CallEvent(provider_call_id="E", leg_id="L", seq=4, status=RINGING)

    for order in ([connected, rings_again], [rings_again, connected]):
        leg = call_fields(fold(order)).legs[0]
        assert (leg.status, leg.last_seq, leg.answered) == (RINGING, 4, True)


def test_status_moves_forward_across_events_without_seq() -> None:
    answered = CallEvent(provider_call_id="Z", status=IN_PROGRESS)
    ringing = CallEvent(provider_call_id="Z", status=RINGING)

    assert call_fields(fold([answered, ringing])).status == IN_PROGRESS


def test_ended_without_final_is_answered_when_a_leg_answered_and_derives_durations() -> None:
    events = [
        CallEvent(provider_call_id="E", leg_id="L", seq=1, occurred_at=at(9), status=RINGING),
        CallEvent(
            provider_call_id="E", leg_id="L", seq=2, occurred_at=at(9, 0, 7), status=IN_PROGRESS
        ),
        CallEvent(provider_call_id="E", leg_id="L", seq=3, occurred_at=at(9, 1), status=NO_ANSWER),
    ]

    fields = call_fields(fold(events))

    assert fields.status == ANSWERED
    assert (fields.started_at, fields.answered_at, fields.ended_at) == (
        at(9),
        at(9, 0, 7),
        at(9, 1),
    )
    assert (fields.ring_seconds, fields.talk_seconds, fields.duration_seconds) == (7, 53, 60)


def test_ended_without_final_keeps_an_agreed_non_answer_status() -> None:
    events = [
        CallEvent(provider_call_id="E", started_at=at(9), status=RINGING),
        CallEvent(provider_call_id="E", ended_at=at(9, 0, 4), status=CallStatus.BUSY),
    ]

    fields = call_fields(fold(events))

    assert fields.status == CallStatus.BUSY
    assert (fields.ring_seconds, fields.talk_seconds, fields.duration_seconds) == (4, 0, 4)


def test_a_final_no_answer_outweighs_a_leg_that_looked_answered() -> None:
    events = [
        CallEvent(provider_call_id="E", leg_id="L", seq=1, occurred_at=at(9), status=RINGING),
        CallEvent(
            provider_call_id="E", leg_id="L", seq=2, occurred_at=at(9, 0, 3), status=IN_PROGRESS
        ),
        CallEvent(provider_call_id="E", final=True, status=NO_ANSWER, ended_at=at(9, 0, 30)),
    ]

    fields = call_fields(fold(events))

    assert (fields.status, fields.answered_at) == (NO_ANSWER, None)
    assert (fields.ring_seconds, fields.talk_seconds, fields.duration_seconds) == (30, 0, 30)


def test_final_values_win_over_non_final_ones() -> None:
    events = [
        CallEvent(
            provider_call_id="E",
            started_at=at(9),
            ended_at=at(9, 5),
            talk_seconds=999,
            direction=IN,
            disconnect_reason="x",
        ),
        CallEvent(
            provider_call_id="E",
            final=True,
            started_at=at(9, 0, 2),
            ended_at=at(9, 1),
            talk_seconds=40,
            direction=OUT,
            status=ANSWERED,
        ),
    ]

    fields = call_fields(fold(events))

    assert (fields.started_at, fields.ended_at, fields.talk_seconds) == (at(9, 0, 2), at(9, 1), 40)
    assert fields.direction == OUT
    assert fields.disconnect_reason == "x"  # the final said nothing about it


def test_non_final_times_combine_earliest_start_earliest_answer_latest_end() -> None:
    events = [
        CallEvent(provider_call_id="E", started_at=at(9, 0, 2), answered_at=at(9, 0, 9)),
        CallEvent(
            provider_call_id="E", started_at=at(9), answered_at=at(9, 0, 6), ended_at=at(9, 1)
        ),
        CallEvent(provider_call_id="E", ended_at=at(9, 2), status=ANSWERED),
    ]

    fields = call_fields(fold(events))

    assert (fields.started_at, fields.answered_at, fields.ended_at) == (
        at(9),
        at(9, 0, 6),
        at(9, 2),
    )


def test_ring_time_is_what_the_duration_leaves_after_talk_when_no_answer_time_is_known() -> None:
    ended = CallEvent(
        provider_call_id="g-1",
        final=True,
        status=ANSWERED,
        started_at=at(9),
        talk_seconds=95,
        duration_seconds=105,
    )

    fields = call_fields(merge_call_event(None, ended))

    assert (fields.ring_seconds, fields.talk_seconds, fields.duration_seconds) == (10, 95, 105)


def test_internal_calls_stay_internal() -> None:
    events = [
        CallEvent(provider_call_id="E", leg_id="L1", seq=1, direction=OUT, extension="101"),
        CallEvent(provider_call_id="E", leg_id="L2", seq=1, direction=Direction.INTERNAL),
    ]

    assert call_fields(fold(events)).direction == Direction.INTERNAL
    final = CallEvent(provider_call_id="E", final=True, direction=Direction.INTERNAL)
    assert call_fields(fold([events[0], final])).direction == Direction.INTERNAL


def test_one_recording_reported_twice_keeps_its_url() -> None:
    events = [
        CallEvent(provider_call_id="E", recording=RecordingRef("r1")),
        CallEvent(provider_call_id="E", recording=RecordingRef("r1", "https://pbx.example/r1")),
        CallEvent(provider_call_id="E", recording=RecordingRef("r0")),
    ]

    assert call_fields(fold(events)).recordings == (
        RecordingRef("r0"),
        RecordingRef("r1", "https://pbx.example/r1"),
    )


def test_times_are_kept_in_utc() -> None:
    moscow = at(9).astimezone(MOSCOW)

    state = merge_call_event(None, CallEvent(provider_call_id="E", started_at=moscow))

    started = call_fields(state).started_at
    assert started == at(9)
    assert started is not None
    assert started.utcoffset() == timedelta(0)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        merge_call_event(None, CallEvent(provider_call_id="E", started_at=datetime(2026, 1, 1)))


def test_an_event_of_another_call_is_refused() -> None:
    state = merge_call_event(None, CallEvent(provider_call_id="A"))

    with pytest.raises(ValueError, match="merged into 'A'"):
        merge_call_event(state, CallEvent(provider_call_id="B"))


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        ({}, "unsupported merge state version"),
        ({"version": 99, "state": {}}, "unsupported merge state version"),
        ({"version": 1, "state": {"provider_call_id": "C", "legs": "nope"}}, "validation error"),
    ],
)
def test_unreadable_state_is_refused(stored: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        CallState.from_json(stored)

"""A finished call always has both ends (issue 12): derived where the provider reports none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.calls.events import TERMINAL_STATUSES, CallEvent, CallStatus, Direction
from app.calls.merge import CallState, call_fields, merge_call_event

T0 = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)


def fold(events: list[CallEvent]) -> CallState:
    state: CallState | None = None
    for event in events:
        state = merge_call_event(state, event)
    assert state is not None
    return state


def zadarma_like_end(talk: int, status: CallStatus = CallStatus.ANSWERED) -> CallEvent:
    """What the Zadarma adapter makes of NOTIFY_OUT_END: the start and the talk, no end."""
    return CallEvent(
        provider_call_id="out_1",
        final=True,
        direction=Direction.OUTBOUND,
        status=status,
        extension="101",
        external_number="79161234567",
        started_at=T0,
        talk_seconds=talk,
        duration_seconds=talk,
    )


def test_an_end_event_without_an_end_time_still_ends_the_call() -> None:
    fields = call_fields(fold([zadarma_like_end(95)]))
    assert fields.status is CallStatus.ANSWERED
    assert fields.ended_at == T0 + timedelta(seconds=95)
    assert fields.duration_seconds == 95


def test_an_unanswered_end_event_ends_the_call_at_its_start() -> None:
    fields = call_fields(fold([zadarma_like_end(0, CallStatus.NO_ANSWER)]))
    assert fields.ended_at == T0


def test_the_derived_end_does_not_depend_on_arrival_order() -> None:
    ringing = CallEvent(
        provider_call_id="out_1",
        occurred_at=T0,
        status=CallStatus.RINGING,
        started_at=T0,
        extension="101",
    )
    end = zadarma_like_end(95)
    assert call_fields(fold([ringing, end])) == call_fields(fold([end, ringing]))
    assert call_fields(fold([ringing, end])).ended_at == T0 + timedelta(seconds=95)


def test_a_reported_end_wins_over_the_derived_one() -> None:
    end = zadarma_like_end(95)
    reported = CallEvent(provider_call_id="out_1", final=True, ended_at=T0 + timedelta(minutes=3))
    fields = call_fields(fold([end, reported]))
    assert fields.ended_at == T0 + timedelta(minutes=3)


def test_a_call_still_going_on_gets_no_end() -> None:
    answered = CallEvent(
        provider_call_id="c",
        occurred_at=T0 + timedelta(seconds=10),
        status=CallStatus.IN_PROGRESS,
        started_at=T0,
        answered_at=T0 + timedelta(seconds=10),
    )
    fields = call_fields(fold([answered]))
    assert fields.status is CallStatus.IN_PROGRESS
    assert fields.ended_at is None


def test_a_lone_leg_end_gives_the_call_its_time() -> None:
    """A Mango Disconnected that arrives alone: the leg ends, nothing else is known."""
    at = T0 + timedelta(minutes=2)
    disconnected = CallEvent(
        provider_call_id="E", leg_id="L", seq=2, occurred_at=at, status=CallStatus.NO_ANSWER
    )
    fields = call_fields(fold([disconnected]))
    assert fields.status is CallStatus.NO_ANSWER
    assert (fields.started_at, fields.ended_at) == (at, at)


def test_the_start_is_the_end_less_the_duration_when_only_those_are_known() -> None:
    final = CallEvent(
        provider_call_id="g",
        final=True,
        status=CallStatus.ANSWERED,
        ended_at=T0 + timedelta(seconds=105),
        ring_seconds=10,
        talk_seconds=95,
    )
    fields = call_fields(fold([final]))
    assert (fields.started_at, fields.duration_seconds) == (T0, 105)


events = st.builds(
    CallEvent,
    provider_call_id=st.just("c"),
    occurred_at=st.none() | st.integers(0, 600).map(lambda s: T0 + timedelta(seconds=s)),
    final=st.booleans(),
    status=st.none() | st.sampled_from(list(CallStatus)),
    started_at=st.none() | st.integers(0, 60).map(lambda s: T0 + timedelta(seconds=s)),
    ended_at=st.none() | st.integers(0, 900).map(lambda s: T0 + timedelta(seconds=s)),
    talk_seconds=st.none() | st.integers(0, 600),
    duration_seconds=st.none() | st.integers(0, 700),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(events, min_size=1, max_size=5))
def test_no_finished_call_without_an_end_when_its_start_and_duration_are_known(
    batch: list[CallEvent],
) -> None:
    fields = call_fields(fold(batch))
    if fields.status in TERMINAL_STATUSES and fields.duration_seconds is not None:
        assert fields.started_at is None or fields.ended_at is not None
    if fields.ended_at is not None and fields.duration_seconds is not None:
        assert fields.started_at is not None

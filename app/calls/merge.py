"""Fold normalised call events into one call, whatever order and however often they arrive.

PBX webhooks come out of order and repeated, so the merge is a join-semilattice: each event is first
turned into the state it alone would produce, and that state is *joined* with the stored one. Every
part of the state joins by a rule that is commutative, associative and idempotent (earliest, latest,
union, "largest by a total key"), so any permutation of any multiset of events folds to the same
state and the same JSON. Precedence (the final event wins, the answered leg gives the employee, ...)
is applied only when reading the state (``call_fields``), never while folding, so it cannot depend
on arrival.

Pure: no database, no I/O, no clock. The caller loads ``CallState.from_json(call.merge_state)`` (or
``None`` for a new call), calls ``merge_call_event`` and stores ``state.to_json()`` plus
``call_fields(state)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import TypeAdapter

from app.calls.events import TERMINAL_STATUSES, CallEvent, CallStatus, Direction, RecordingRef

STATE_VERSION = 1

# Sort keys put unknown times at one end; any aware datetime compares with this one.
_TIME_FLOOR = datetime.min.replace(tzinfo=UTC)

# When events disagree on the direction and none is final, the most specific wins: a call between
# two extensions stays internal even if one leg looks like an outbound dial.
_DIRECTION_PRECEDENCE = (Direction.INTERNAL, Direction.OUTBOUND, Direction.INBOUND)

_PROGRESS_STATUSES = frozenset({CallStatus.RINGING, CallStatus.IN_PROGRESS})
_ANSWER_STATUSES = frozenset({CallStatus.IN_PROGRESS, CallStatus.ANSWERED})

T = TypeVar("T")


# --------------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sighting:
    """A value seen at a moment (if known) on a leg (if any): enough to pick "first" or "last"."""

    at: datetime | None
    leg_id: str | None
    value: str


@dataclass(frozen=True, slots=True)
class LegStatus:
    """A leg's status together with the sequence number of the fact that said it."""

    seq: int | None
    status: CallStatus


@dataclass(frozen=True, slots=True)
class LegExtension:
    seq: int | None
    extension: str


@dataclass(frozen=True, slots=True)
class LegState:
    """What is known about one provider leg (Mango ``call_id``, Twilio ``CallSid``)."""

    leg_id: str
    last_seq: int | None = None
    status: LegStatus | None = None  # the highest-seq fact; a terminal fact is never undone
    extension: LegExtension | None = None  # from the highest-seq fact that names one
    answered: bool = False
    answered_at: datetime | None = None
    first_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FinalFact:
    """A summary/end event as the provider sent it (minus its recording, kept with the others).

    Finals are kept whole rather than folded field by field: the read side needs to know which
    final said what, to let one final win and the others (rare) fill only its gaps.
    """

    leg_id: str | None = None
    seq: int | None = None
    occurred_at: datetime | None = None
    direction: Direction | None = None
    status: CallStatus | None = None
    extension: str | None = None
    external_number: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ring_seconds: int | None = None
    talk_seconds: int | None = None
    duration_seconds: int | None = None
    disconnect_reason: str | None = None


_FINAL_FACT_FIELDS = tuple(f.name for f in fields(FinalFact))


@dataclass(frozen=True, slots=True)
class Progress:
    """What the non-final events say about the whole call, each field folded by its own rule.

    ``*_implied`` times come from ``occurred_at`` of an event whose status implies the moment (a
    ringing callback means the call had started, an in-progress one that it was answered, a terminal
    one that it had ended); explicit times always beat them. Leg-less events (Zadarma, generic) have
    no ``LegState``, so their status, answer and extensions are kept here as ``unlegged_*``.
    """

    started_at: datetime | None = None  # earliest
    started_at_implied: datetime | None = None  # earliest
    answered_at: datetime | None = None  # earliest
    answered_at_implied: datetime | None = None  # earliest
    ended_at: datetime | None = None  # latest
    ended_at_implied: datetime | None = None  # latest
    ring_seconds: int | None = None  # largest: a longer report is the later one
    talk_seconds: int | None = None
    duration_seconds: int | None = None
    directions: tuple[Direction, ...] = ()
    terminal_statuses: tuple[CallStatus, ...] = ()
    external_number: Sighting | None = None  # earliest
    disconnect_reason: Sighting | None = None  # latest
    unlegged_status: CallStatus | None = None  # most advanced
    unlegged_answered: bool = False
    unlegged_extension: Sighting | None = None  # earliest
    unlegged_answered_extension: Sighting | None = None  # earliest


@dataclass(frozen=True, slots=True)
class CallState:
    """Everything the merge keeps about one call; stored as JSON in ``call.merge_state``."""

    provider_call_id: str
    legs: tuple[LegState, ...] = ()  # sorted by leg_id
    finals: tuple[FinalFact, ...] = ()  # distinct, best first (see _final_precedence)
    progress: Progress = field(default_factory=Progress)
    recordings: tuple[RecordingRef, ...] = ()  # one per provider_ref, sorted by it

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (datetimes as ISO strings, enums as values) with a format version."""
        return {"version": STATE_VERSION, "state": _STATE_ADAPTER.dump_python(self, mode="json")}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallState:
        """Read what ``to_json`` wrote; ``ValueError`` if it is another version or malformed."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported merge state version {data.get('version')!r}")
        # pydantic.ValidationError is a ValueError, so callers see one kind of failure.
        return _STATE_ADAPTER.validate_python(data.get("state"))


_STATE_ADAPTER: TypeAdapter[CallState] = TypeAdapter(CallState)


# --------------------------------------------------------------------------------------------------
# Derived view
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LegFields:
    """One ``call_leg`` row."""

    leg_id: str
    last_seq: int | None
    extension: str | None
    answered: bool
    status: CallStatus | None


@dataclass(frozen=True, slots=True)
class CallFields:
    """The columns of the ``call`` row, plus its recordings and legs."""

    provider_call_id: str
    direction: Direction | None
    status: CallStatus | None
    extension: str | None
    external_number: str | None  # raw, as the adapter gave it
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    ring_seconds: int | None
    talk_seconds: int | None
    duration_seconds: int | None
    disconnect_reason: str | None
    recordings: tuple[RecordingRef, ...]
    legs: tuple[LegFields, ...]


# --------------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------------


def merge_call_event(state: CallState | None, event: CallEvent) -> CallState:
    """Fold one event into a call's state (``None``: the call is new). Pure and order-independent.

    Raises ``ValueError`` if the event belongs to another call or carries a naive datetime.
    """
    own = _state_of_event(event)
    if state is None:
        return own
    if state.provider_call_id != event.provider_call_id:
        raise ValueError(
            f"event for call {event.provider_call_id!r} merged into {state.provider_call_id!r}"
        )
    return _join_states(state, own)


def _state_of_event(event: CallEvent) -> CallState:
    """The state this event alone would produce."""
    event = _in_utc(event)
    legs = () if event.leg_id is None else (_leg_of_event(event.leg_id, event),)
    return CallState(
        provider_call_id=event.provider_call_id,
        legs=legs,
        finals=(_final_of_event(event),) if event.final else (),
        progress=Progress() if event.final else _progress_of_event(event),
        recordings=() if event.recording is None else (event.recording,),
    )


def _in_utc(event: CallEvent) -> CallEvent:
    """Store every time in UTC so that equal instants serialise identically."""
    return replace(
        event,
        occurred_at=_utc(event.occurred_at, "occurred_at"),
        started_at=_utc(event.started_at, "started_at"),
        answered_at=_utc(event.answered_at, "answered_at"),
        ended_at=_utc(event.ended_at, "ended_at"),
    )


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


def _moment(event: CallEvent) -> datetime | None:
    """When the event's fact happened, as best the event says."""
    return _first_known(event.occurred_at, event.started_at, event.answered_at, event.ended_at)


def _shows_answer(event: CallEvent) -> bool:
    return event.status in _ANSWER_STATUSES or event.answered_at is not None


def _leg_of_event(leg_id: str, event: CallEvent) -> LegState:
    answered = _shows_answer(event)
    return LegState(
        leg_id=leg_id,
        last_seq=event.seq,
        status=None if event.status is None else LegStatus(event.seq, event.status),
        extension=None if event.extension is None else LegExtension(event.seq, event.extension),
        answered=answered,
        answered_at=_answer_moment(event) if answered else None,
        first_seen_at=_moment(event),
    )


def _answer_moment(event: CallEvent) -> datetime | None:
    if event.answered_at is not None:
        return event.answered_at
    return event.occurred_at if event.status == CallStatus.IN_PROGRESS else None


def _final_of_event(event: CallEvent) -> FinalFact:
    return FinalFact(
        leg_id=event.leg_id,
        seq=event.seq,
        occurred_at=event.occurred_at,
        direction=event.direction,
        status=event.status,
        extension=event.extension,
        external_number=event.external_number,
        started_at=event.started_at,
        answered_at=event.answered_at,
        ended_at=event.ended_at,
        ring_seconds=event.ring_seconds,
        talk_seconds=event.talk_seconds,
        duration_seconds=event.duration_seconds,
        disconnect_reason=event.disconnect_reason,
    )


def _progress_of_event(event: CallEvent) -> Progress:
    status = event.status
    occurred = event.occurred_at
    terminal = status in TERMINAL_STATUSES
    unlegged = event.leg_id is None
    at = _moment(event)
    return Progress(
        started_at=event.started_at,
        started_at_implied=occurred if status in _PROGRESS_STATUSES else None,
        answered_at=event.answered_at,
        answered_at_implied=occurred if status == CallStatus.IN_PROGRESS else None,
        ended_at=event.ended_at,
        ended_at_implied=occurred if terminal else None,
        ring_seconds=event.ring_seconds,
        talk_seconds=event.talk_seconds,
        duration_seconds=event.duration_seconds,
        directions=() if event.direction is None else (event.direction,),
        terminal_statuses=(status,) if status is not None and terminal else (),
        external_number=_sighting(at, event.leg_id, event.external_number),
        disconnect_reason=_sighting(at, event.leg_id, event.disconnect_reason),
        unlegged_status=status if unlegged else None,
        unlegged_answered=unlegged and _shows_answer(event),
        unlegged_extension=_sighting(at, None, event.extension) if unlegged else None,
        unlegged_answered_extension=(
            _sighting(_answer_moment(event) or at, None, event.extension)
            if unlegged and _shows_answer(event)
            else None
        ),
    )


def _sighting(at: datetime | None, leg_id: str | None, value: str | None) -> Sighting | None:
    return None if value is None else Sighting(at, leg_id, value)


# ---- joins: each commutative, associative and idempotent ----------------------------------------


def _join_states(a: CallState, b: CallState) -> CallState:
    return CallState(
        provider_call_id=a.provider_call_id,
        legs=_join_legs(a.legs, b.legs),
        finals=_join_finals(a.finals, b.finals, call_id=a.provider_call_id),
        progress=_join_progress(a.progress, b.progress),
        recordings=_join_recordings(a.recordings, b.recordings),
    )


def _join_legs(a: Iterable[LegState], b: Iterable[LegState]) -> tuple[LegState, ...]:
    by_id: dict[str, LegState] = {}
    for leg in (*a, *b):
        known = by_id.get(leg.leg_id)
        by_id[leg.leg_id] = leg if known is None else _join_leg(known, leg)
    return tuple(by_id[leg_id] for leg_id in sorted(by_id))


def _join_leg(a: LegState, b: LegState) -> LegState:
    return LegState(
        leg_id=a.leg_id,
        last_seq=_largest(a.last_seq, b.last_seq),
        status=_best(a.status, b.status, key=lambda s: _status_key(s.seq, s.status)),
        extension=_best(a.extension, b.extension, key=lambda e: (*_seq_key(e.seq), e.extension)),
        answered=a.answered or b.answered,
        answered_at=_earliest(a.answered_at, b.answered_at),
        first_seen_at=_earliest(a.first_seen_at, b.first_seen_at),
    )


def _status_key(seq: int | None, status: CallStatus) -> tuple[bool, bool, int, int, str]:
    """Terminal first (a late ringing never undoes an ended leg), then the higher seq."""
    return (status in TERMINAL_STATUSES, *_seq_key(seq), _status_rank(status), status.value)


def _seq_key(seq: int | None) -> tuple[bool, int]:
    return (seq is not None, 0 if seq is None else seq)


def _status_rank(status: CallStatus | None) -> int:
    """None < ringing < in progress < any terminal status."""
    if status is None:
        return 0
    if status in TERMINAL_STATUSES:
        return 3
    return 2 if status == CallStatus.IN_PROGRESS else 1


def _join_finals(
    a: Iterable[FinalFact], b: Iterable[FinalFact], *, call_id: str
) -> tuple[FinalFact, ...]:
    return tuple(sorted({*a, *b}, key=lambda fact: _final_precedence(fact, call_id)))


def _final_precedence(fact: FinalFact, call_id: str) -> tuple[object, ...]:
    """Best first: the call's own summary, then the higher seq, then content order.

    A final naming no leg, or the leg that carries the call's id (Twilio's parent ``CallSid``),
    speaks for the whole call; a child leg's final only for that leg. The content order only breaks
    ties between finals that genuinely disagree: arbitrary but total, so never arrival-dependent.
    """
    speaks_for_call = fact.leg_id is None or fact.leg_id == call_id
    # getattr, not astuple: astuple deep-copies every value, which cost more than the whole merge.
    per_field = tuple(
        (value is None, "" if value is None else str(value))
        for value in (getattr(fact, name) for name in _FINAL_FACT_FIELDS)
    )
    has_seq, seq = _seq_key(fact.seq)
    return (not speaks_for_call, not has_seq, -seq, per_field)


def _join_progress(a: Progress, b: Progress) -> Progress:
    return Progress(
        started_at=_earliest(a.started_at, b.started_at),
        started_at_implied=_earliest(a.started_at_implied, b.started_at_implied),
        answered_at=_earliest(a.answered_at, b.answered_at),
        answered_at_implied=_earliest(a.answered_at_implied, b.answered_at_implied),
        ended_at=_latest(a.ended_at, b.ended_at),
        ended_at_implied=_latest(a.ended_at_implied, b.ended_at_implied),
        ring_seconds=_largest(a.ring_seconds, b.ring_seconds),
        talk_seconds=_largest(a.talk_seconds, b.talk_seconds),
        duration_seconds=_largest(a.duration_seconds, b.duration_seconds),
        directions=tuple(sorted({*a.directions, *b.directions})),
        terminal_statuses=tuple(sorted({*a.terminal_statuses, *b.terminal_statuses})),
        external_number=_earliest_sighting(a.external_number, b.external_number),
        disconnect_reason=_latest_sighting(a.disconnect_reason, b.disconnect_reason),
        unlegged_status=_best(
            a.unlegged_status, b.unlegged_status, key=lambda s: _status_key(None, s)
        ),
        unlegged_answered=a.unlegged_answered or b.unlegged_answered,
        unlegged_extension=_earliest_sighting(a.unlegged_extension, b.unlegged_extension),
        unlegged_answered_extension=_earliest_sighting(
            a.unlegged_answered_extension, b.unlegged_answered_extension
        ),
    )


def _join_recordings(
    a: Iterable[RecordingRef], b: Iterable[RecordingRef]
) -> tuple[RecordingRef, ...]:
    """One ref per provider_ref; of several URLs for one recording the smallest, any known one."""
    urls: dict[str, str | None] = {}
    for ref in (*a, *b):
        known = urls.get(ref.provider_ref)
        urls[ref.provider_ref] = _smallest(known, ref.url)
    return tuple(RecordingRef(ref, urls[ref]) for ref in sorted(urls))


# ---- small lattice helpers -----------------------------------------------------------------------


def _best(a: T | None, b: T | None, *, key: Callable[[T], Any]) -> T | None:
    """The larger of two by ``key``; ``key`` must be total (distinct values, distinct keys)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if key(a) >= key(b) else b


def _least(a: T | None, b: T | None, *, key: Callable[[T], Any]) -> T | None:
    """The smaller of two by ``key``; ``key`` must be total."""
    if a is None:
        return b
    if b is None:
        return a
    return a if key(a) <= key(b) else b


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return _least(a, b, key=lambda t: t)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return _best(a, b, key=lambda t: t)


def _largest(a: int | None, b: int | None) -> int | None:
    return _best(a, b, key=lambda n: n)


def _smallest(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else min(a, b)


def _chronological(s: Sighting) -> tuple[object, ...]:
    """Key whose minimum is the earliest sighting; unknown times last, then leg and value order."""
    return (s.at is None, s.at or _TIME_FLOOR, s.leg_id is not None, s.leg_id or "", s.value)


def _recency(s: Sighting) -> tuple[object, ...]:
    """Key whose maximum is the latest sighting; unknown times lose."""
    return (s.at is not None, s.at or _TIME_FLOOR, s.leg_id is not None, s.leg_id or "", s.value)


def _earliest_sighting(a: Sighting | None, b: Sighting | None) -> Sighting | None:
    return _least(a, b, key=_chronological)


def _latest_sighting(a: Sighting | None, b: Sighting | None) -> Sighting | None:
    return _best(a, b, key=_recency)


def _first_known(*values: T | None) -> T | None:
    return next((value for value in values if value is not None), None)


# --------------------------------------------------------------------------------------------------
# Reading the state
# --------------------------------------------------------------------------------------------------


def call_fields(state: CallState) -> CallFields:
    """The call row's columns, with every precedence rule applied."""
    finals = _FinalReader(state.finals)
    progress = state.progress
    status = _call_status(state)
    answered = _was_answered(state, status)
    started_at = _first_known(
        finals.first(lambda f: f.started_at), progress.started_at, progress.started_at_implied
    )
    answered_at = _answered_at(state, answered)
    ended_at = _first_known(
        finals.first(lambda f: f.ended_at),
        finals.first(lambda f: f.occurred_at),  # a final event is sent when the call ends
        progress.ended_at,
        progress.ended_at_implied,
    )
    terminal = status in TERMINAL_STATUSES
    ring, talk, duration = _durations(
        terminal=terminal,
        answered=answered,
        started_at=started_at,
        answered_at=answered_at,
        ended_at=ended_at,
        ring=_first_known(finals.first(lambda f: f.ring_seconds), progress.ring_seconds),
        talk=_first_known(finals.first(lambda f: f.talk_seconds), progress.talk_seconds),
        duration=_first_known(
            finals.first(lambda f: f.duration_seconds), progress.duration_seconds
        ),
    )
    started_at, ended_at = _span(
        terminal=terminal,
        started_at=started_at,
        ended_at=ended_at,
        duration=duration,
        first_sighted=_first_sighted(state, answered_at, ended_at),
    )
    return CallFields(
        provider_call_id=state.provider_call_id,
        direction=_first_known(finals.first(lambda f: f.direction), _progress_direction(progress)),
        status=status,
        extension=_call_extension(state, answered),
        external_number=_first_known(
            finals.first(lambda f: f.external_number), _value(progress.external_number)
        ),
        started_at=started_at,
        answered_at=answered_at,
        ended_at=ended_at,
        ring_seconds=ring,
        talk_seconds=talk,
        duration_seconds=duration,
        disconnect_reason=_first_known(
            finals.first(lambda f: f.disconnect_reason), _value(progress.disconnect_reason)
        ),
        recordings=state.recordings,
        legs=tuple(_leg_fields(leg) for leg in state.legs),
    )


def _span(
    *,
    terminal: bool,
    started_at: datetime | None,
    ended_at: datetime | None,
    duration: int | None,
    first_sighted: datetime | None,
) -> tuple[datetime | None, datetime | None]:
    """The call's start and end, each derived from the other and the duration when not given.

    Zadarma's END events carry the start and the talk time but no end, and a Mango ``Disconnected``
    may be all that arrives of a call: a finished call must still have both ends, or everything
    dated by them (an application formed by a tag, the second-call gap, the calls API) goes wrong.
    ``end = start + duration`` is how the spec's second-call gap reads a call's end too. A call
    whose start nothing states starts, at the latest, when any of its events was first seen.
    """
    if started_at is None and ended_at is not None and duration is not None:
        started_at = ended_at - timedelta(seconds=duration)
    if started_at is None:
        started_at = first_sighted
    if ended_at is None and terminal and started_at is not None and duration is not None:
        ended_at = started_at + timedelta(seconds=duration)
    return started_at, ended_at


def _first_sighted(
    state: CallState, answered_at: datetime | None, ended_at: datetime | None
) -> datetime | None:
    """The earliest moment any event of the call speaks of (an upper bound on its start)."""
    moments = [leg.first_seen_at for leg in state.legs if leg.first_seen_at is not None]
    moments += [moment for moment in (answered_at, ended_at) if moment is not None]
    return min(moments, default=None)


@dataclass(frozen=True, slots=True)
class _FinalReader:
    finals: tuple[FinalFact, ...]  # best first

    def first(self, get: Callable[[FinalFact], T | None]) -> T | None:
        """The best final's value; a lesser final fills only what the better ones leave unknown."""
        return _first_known(*(get(fact) for fact in self.finals))


def _value(sighting: Sighting | None) -> str | None:
    return None if sighting is None else sighting.value


def _call_status(state: CallState) -> CallStatus | None:
    """A terminal final's status; else the most advanced status of any leg (or leg-less event).

    A final event means the call is over even if it names no status; so does any terminal fact,
    since terminal facts are never undone.
    """
    final_status = _first_known(
        *(fact.status for fact in state.finals if fact.status in TERMINAL_STATUSES)
    )
    if final_status is not None:
        return final_status
    progress = max(_progress_statuses(state), key=_status_rank, default=None)
    if state.finals or progress in TERMINAL_STATUSES:
        return _terminal_verdict(state)
    return progress


def _progress_statuses(state: CallState) -> list[CallStatus | None]:
    leg_statuses = [None if leg.status is None else leg.status.status for leg in state.legs]
    return [*leg_statuses, state.progress.unlegged_status]


def _terminal_verdict(state: CallState) -> CallStatus:
    """How an ended call without a final verdict ended: answered if anyone answered; otherwise the
    one non-answer status the events agree on, or ``no_answer`` when they disagree or say nothing.
    """
    if _answer_evidence(state):
        return CallStatus.ANSWERED
    reported = set(state.progress.terminal_statuses) - {CallStatus.ANSWERED}
    return reported.pop() if len(reported) == 1 else CallStatus.NO_ANSWER


def _answer_evidence(state: CallState) -> bool:
    progress = state.progress
    return (
        any(leg.answered for leg in state.legs)
        or progress.unlegged_answered
        or progress.answered_at is not None
        or CallStatus.ANSWERED in progress.terminal_statuses
    )


def _was_answered(state: CallState, status: CallStatus | None) -> bool:
    """Once the call is over its status decides; before that, any sign of an answer does."""
    if status in TERMINAL_STATUSES:
        return status == CallStatus.ANSWERED
    return _answer_evidence(state)


def _answered_at(state: CallState, answered: bool) -> datetime | None:
    final_answered_at = _FinalReader(state.finals).first(lambda f: f.answered_at)
    if final_answered_at is not None:
        return final_answered_at
    if not answered:
        # A final "nobody answered" outweighs a leg that looked answered (an IVR pick-up, say).
        return None
    legs_answered_at = min((leg.answered_at for leg in state.legs if leg.answered_at), default=None)
    return _first_known(
        state.progress.answered_at, state.progress.answered_at_implied, legs_answered_at
    )


def _durations(
    *,
    terminal: bool,
    answered: bool,
    started_at: datetime | None,
    answered_at: datetime | None,
    ended_at: datetime | None,
    ring: int | None,
    talk: int | None,
    duration: int | None,
) -> tuple[int | None, int | None, int | None]:
    """Fill what the provider did not give from the times; given values always stand.

    The identities used: ring = answered − started (ended − started if nobody answered),
    talk = ended − answered (0 if nobody answered), duration = ring + talk.
    """
    unanswered_end = terminal and not answered
    if talk is None:
        if answered_at is not None and ended_at is not None:
            talk = _seconds_between(answered_at, ended_at)
        elif unanswered_end:
            talk = 0
    if ring is None:
        ring = _ring_from_times(unanswered_end, started_at, answered_at, ended_at)
    if duration is None:
        duration = _duration_from_parts(ring, talk, started_at, ended_at)
    if ring is None and duration is not None and talk is not None:
        ring = max(0, duration - talk)
    if duration is None and terminal and talk is not None:
        # Some providers (Zadarma) report only talk seconds and no time to measure the ring by:
        # the duration is then what is known, as the provider itself counts it.
        duration = talk
    return ring, talk, duration


def _ring_from_times(
    unanswered_end: bool,
    started_at: datetime | None,
    answered_at: datetime | None,
    ended_at: datetime | None,
) -> int | None:
    if started_at is None:
        return None
    if answered_at is not None:
        return _seconds_between(started_at, answered_at)
    if unanswered_end and ended_at is not None:
        return _seconds_between(started_at, ended_at)
    return None


def _duration_from_parts(
    ring: int | None, talk: int | None, started_at: datetime | None, ended_at: datetime | None
) -> int | None:
    if ring is not None and talk is not None:
        return ring + talk
    if started_at is not None and ended_at is not None:
        # A span shorter than the reported talk means the times are not the whole call's.
        return max(_seconds_between(started_at, ended_at), talk or 0)
    return None


def _seconds_between(start: datetime, end: datetime) -> int:
    # Clocks of different legs can disagree by a little; a negative span is noise, not data.
    return max(0, round((end - start).total_seconds()))


def _progress_direction(progress: Progress) -> Direction | None:
    directions = set(progress.directions)
    if len(directions) > 1 and progress.external_number is not None:
        # A leg between two extensions (a consultation before a transfer) inside a call that a
        # customer's number took part in: the customer's call, not an internal one.
        directions.discard(Direction.INTERNAL)
    return next((d for d in _DIRECTION_PRECEDENCE if d in directions), None)


def _call_extension(state: CallState, answered: bool) -> str | None:
    """The employee: the first answering leg's; else the final's; else the first leg's."""
    if answered:
        answering = _first_sighting(
            [
                *(
                    Sighting(
                        leg.answered_at or leg.first_seen_at, leg.leg_id, leg.extension.extension
                    )
                    for leg in state.legs
                    if leg.answered and leg.extension is not None
                ),
                state.progress.unlegged_answered_extension,
            ]
        )
        if answering is not None:
            return answering.value
    first = _first_sighting(
        [
            *(
                Sighting(leg.first_seen_at, leg.leg_id, leg.extension.extension)
                for leg in state.legs
                if leg.extension is not None
            ),
            state.progress.unlegged_extension,
        ]
    )
    return _first_known(_FinalReader(state.finals).first(lambda f: f.extension), _value(first))


def _first_sighting(sightings: Iterable[Sighting | None]) -> Sighting | None:
    return min((s for s in sightings if s is not None), key=_chronological, default=None)


def _leg_fields(leg: LegState) -> LegFields:
    return LegFields(
        leg_id=leg.leg_id,
        last_seq=leg.last_seq,
        extension=None if leg.extension is None else leg.extension.extension,
        answered=leg.answered,
        status=None if leg.status is None else leg.status.status,
    )

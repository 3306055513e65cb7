"""Which calls to score next: a few per manager and week, the same ones every time asked.

Pure: no database, no I/O, no clock. Within a manager's week, the calls worth scoring are ranked by
a hash of their id: a fair sample (not the longest calls, not the first of the day) that does not
change when the queue is asked again or when another call arrives, so two reviewers see the same
list. A week's scored calls use up its places, so scoring one never pulls in a replacement.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from app.metrics.funnel import week_key


@dataclass(frozen=True, slots=True)
class Candidate:
    call_id: str
    employee_id: str
    employee_name: str | None
    started_at: datetime
    talk_seconds: int
    lead_id: str | None
    direction: str | None
    script_id: str | None
    script_kind: str | None
    has_recording: bool
    scored: bool


@dataclass(frozen=True, slots=True)
class Queued:
    candidate: Candidate
    week: str
    rank: str

    @property
    def sort_key(self) -> tuple[str, str, str]:
        # Newest week first: ISO week keys ("2026-W47") sort as text; inverted digit by digit.
        inverted = self.week.translate(str.maketrans("0123456789", "9876543210"))
        return inverted, self.candidate.employee_id, self.rank


def rank_of(call_id: str) -> str:
    return hashlib.blake2b(call_id.encode(), digest_size=8).hexdigest()


def choose(
    candidates: Sequence[Candidate],
    scored: Sequence[tuple[str, str, datetime]],
    *,
    per_manager_week: int,
    zone: ZoneInfo,
) -> list[Queued]:
    """The unscored calls to offer, newest week first, then by employee, then by rank."""
    used = Counter((employee, week_key(started, zone)) for _, employee, started in scored)
    weeks: defaultdict[tuple[str, str], list[Queued]] = defaultdict(list)
    for candidate in candidates:
        if candidate.scored:
            continue
        week = week_key(candidate.started_at, zone)
        weeks[(candidate.employee_id, week)].append(
            Queued(candidate, week, rank_of(candidate.call_id))
        )
    chosen: list[Queued] = []
    for place, members in weeks.items():
        free = max(0, per_manager_week - used[place])
        chosen += sorted(members, key=lambda queued: queued.rank)[:free]
    return sorted(chosen, key=lambda queued: queued.sort_key)

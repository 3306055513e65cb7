"""Asterisk CDR as a PBX writes it, for calls described plainly: the tests' and the bench's source.

``history`` makes a reproducible stream of calls of the kinds real CDR shows (a ring group built of
``Local`` channel pairs, a missed call, an IVR-only answer, outbound answered with a recording,
outbound busy, a transfer between two extensions), each with the rows ``cdr_csv`` writes for it (21
columns, ``newcdrcolumns``, times in UTC) and the call callfunnel must make of them (docs/cdr.md).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.webhooks.providers.cdr_columns import BASE_FIELDS, NEW_COLUMNS

# The order of cdr_csv's 21 columns.
_COLUMNS = (*BASE_FIELDS, "uniqueid", "userfield", *NEW_COLUMNS)
_NUMBERS = frozenset({"duration", "billsec", "sequence"})
KINDS = ("ring_group", "missed", "ivr_only", "outbound", "busy", "transfer")


@dataclass(frozen=True, slots=True)
class ExpectedCall:
    """The call the rows must give (times UTC, numbers E.164 with region RU)."""

    provider_call_id: str
    kind: str
    direction: str
    status: str
    extension: str | None
    external_number: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    ring_seconds: int
    talk_seconds: int
    duration_seconds: int
    recordings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GeneratedCall:
    expected: ExpectedCall
    rows: tuple[tuple[str, ...], ...]  # cdr_csv cells, in the 21-column order


def csv_line(row: Sequence[str]) -> str:
    """One Master.csv line: text quoted, numbers bare, an empty answer bare (as Asterisk does)."""
    cells = []
    for name, value in zip(_COLUMNS, row, strict=True):
        if name in _NUMBERS or (name == "answer" and value == ""):
            cells.append(value)
        else:
            cells.append('"' + value.replace('"', '""') + '"')
    return ",".join(cells) + "\n"


def _time(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


class _Rows:
    def __init__(self, linkedid: str) -> None:
        self.linkedid = linkedid
        self.rows: list[tuple[str, ...]] = []

    def add(
        self,
        *,
        src: str,
        dst: str,
        channel: str,
        dstchannel: str,
        lastapp: str,
        start: datetime,
        answer: datetime | None,
        end: datetime,
        disposition: str,
        uniqueid: str | None = None,
        recording: str = "",
    ) -> None:
        billsec = 0 if answer is None else int((end - answer).total_seconds())
        values = {
            "accountcode": "",
            "src": src,
            "dst": dst,
            "dcontext": "from-pstn" if src.startswith("8") else "from-internal",
            "clid": f'"{src}" <{src}>',
            "channel": channel,
            "dstchannel": dstchannel,
            "lastapp": lastapp,
            "lastdata": "",
            "start": _time(start),
            "answer": _time(answer),
            "end": _time(end),
            "duration": str(int((end - start).total_seconds())),
            "billsec": str(billsec),
            "disposition": disposition,
            "amaflags": "DOCUMENTATION",
            "uniqueid": uniqueid or self.linkedid,
            "userfield": recording,
            "peeraccount": "",
            "linkedid": self.linkedid,
            "sequence": str(len(self.rows)),
        }
        self.rows.append(tuple(values[name] for name in _COLUMNS))


def history(
    *, seed: int, calls: int, start: datetime | None = None, kinds: Sequence[str] = KINDS
) -> Iterator[GeneratedCall]:
    """``calls`` calls, one every 7-90 s from ``start``, of the given kinds in random order."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    moment = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    extensions = ("101", "102", "103", "104")
    for index in range(calls):
        moment += timedelta(seconds=rng.randint(7, 90))
        kind = kinds[rng.randrange(len(kinds))]
        base = int(moment.timestamp())
        linkedid = f"{base}.{index * 10}"
        customer_digits = f"9{rng.randint(100_000_000, 999_999_999)}"
        local = "8" + customer_digits  # how Russian PBXs write +7 9xx…
        e164 = "+7" + customer_digits
        ext = rng.choice(extensions)
        other = rng.choice([e for e in extensions if e != ext])
        trunk = f"SIP/trunk-{index:08x}"
        ring = rng.randint(2, 25)
        talk = rng.randint(5, 400)
        rows = _Rows(linkedid)
        answered_at: datetime | None
        recordings: tuple[str, ...] = ()
        expected: tuple[str, str, str | None, int, int]
        if kind == "ring_group":
            answered_at = moment + timedelta(seconds=ring)
            end = answered_at + timedelta(seconds=talk)
            for n, member in enumerate((ext, other)):
                half = f"Local/{member}@ringgroup-{index:06x}{n}"
                rows.add(
                    src=local, dst="600", channel=trunk, dstchannel=f"{half};1",
                    lastapp="Dial", start=moment, answer=answered_at if n == 0 else None,
                    end=answered_at, disposition="ANSWERED" if n == 0 else "NO ANSWER",
                )  # fmt: skip
                rows.add(
                    src=local, dst=member, channel=f"{half};2",
                    dstchannel=f"SIP/{member}-{index:06x}{n}", lastapp="Dial", start=moment,
                    answer=answered_at if n == 0 else None, end=answered_at,
                    disposition="ANSWERED" if n == 0 else "NO ANSWER",
                    uniqueid=f"{base}.{index * 10 + 1 + n}",
                )  # fmt: skip
            rows.add(
                src=local, dst="600", channel=trunk, dstchannel=f"SIP/{ext}-{index:06x}0",
                lastapp="Dial", start=answered_at, answer=answered_at, end=end,
                disposition="ANSWERED",
            )  # fmt: skip
            expected = ("inbound", "answered", ext, ring, talk)
        elif kind == "missed":
            answered_at = None
            end = moment + timedelta(seconds=ring + 10)
            for n, member in enumerate((ext, other)):
                rows.add(
                    src=local, dst="600", channel=trunk, dstchannel=f"SIP/{member}-{index:06x}{n}",
                    lastapp="Dial", start=moment, answer=None, end=end, disposition="NO ANSWER",
                )  # fmt: skip
            expected = ("inbound", "no_answer", None, ring + 10, 0)
        elif kind == "ivr_only":
            answered_at = None
            end = moment + timedelta(seconds=ring + talk)
            rows.add(
                src=local, dst="s", channel=trunk, dstchannel="", lastapp="BackGround",
                start=moment, answer=moment, end=end, disposition="ANSWERED",
            )  # fmt: skip
            expected = ("inbound", "no_answer", None, ring + talk, 0)
        elif kind == "outbound":
            answered_at = moment + timedelta(seconds=ring)
            end = answered_at + timedelta(seconds=talk)
            name = f"out-{local}-{ext}-{base}.wav"
            rows.add(
                src=ext, dst=local, channel=f"SIP/{ext}-{index:08x}",
                dstchannel=f"SIP/trunk-{index:08x}", lastapp="Dial", start=moment,
                answer=answered_at, end=end, disposition="ANSWERED", recording=name,
            )  # fmt: skip
            recordings = (name,)
            expected = ("outbound", "answered", ext, ring, talk)
        elif kind == "busy":
            answered_at = None
            end = moment + timedelta(seconds=ring)
            rows.add(
                src=ext, dst=local, channel=f"SIP/{ext}-{index:08x}",
                dstchannel=f"SIP/trunk-{index:08x}", lastapp="Dial", start=moment, answer=None,
                end=end, disposition="BUSY",
            )  # fmt: skip
            expected = ("outbound", "busy", ext, ring, 0)
        else:  # transfer: ext answers, then hands the caller over to another extension
            answered_at = moment + timedelta(seconds=ring)
            handover = answered_at + timedelta(seconds=talk)
            second_ring = rng.randint(2, 10)
            second_talk = rng.randint(5, 400)
            end = handover + timedelta(seconds=second_ring + second_talk)
            first_file = f"in-{local}-{ext}-{base}.wav"
            second_file = f"in-{local}-{other}-{base}.wav"
            rows.add(
                src=local, dst="600", channel=trunk, dstchannel=f"SIP/{ext}-{index:06x}0",
                lastapp="Dial", start=moment, answer=answered_at, end=handover,
                disposition="ANSWERED", recording=first_file,
            )  # fmt: skip
            rows.add(
                src=local, dst=other, channel=trunk, dstchannel=f"SIP/{other}-{index:06x}1",
                lastapp="Dial", start=handover,
                answer=handover + timedelta(seconds=second_ring), end=end,
                disposition="ANSWERED", uniqueid=f"{base}.{index * 10 + 1}", recording=second_file,
            )  # fmt: skip
            recordings = tuple(sorted((first_file, second_file)))
            # The first to answer is the employee; talk is the longest answered leg's billsec.
            expected = ("inbound", "answered", ext, ring, max(talk, second_talk))
        direction, status, employee, ring_seconds, talk_seconds = expected
        yield GeneratedCall(
            expected=ExpectedCall(
                provider_call_id=linkedid,
                kind=kind,
                direction=direction,
                status=status,
                extension=employee,
                external_number=e164,
                started_at=moment,
                answered_at=answered_at,
                ended_at=end,
                ring_seconds=ring_seconds,
                talk_seconds=talk_seconds,
                duration_seconds=int((end - moment).total_seconds()),
                recordings=recordings,
            ),
            rows=tuple(rows.rows),
        )

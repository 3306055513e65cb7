"""The fields of an Asterisk call detail record, and how a file's columns map to them.

``cdr_csv`` writes no header: its 16 base columns, then ``uniqueid`` (``loguniqueid``),
``userfield`` (``loguserfield``), then ``peeraccount, linkedid, sequence`` (``newcdrcolumns``): 16
to 21 columns whose meaning depends on settings the file does not state, so the layout is worked out
from the column count and from what the optional columns hold. ``cdr_custom`` files have the admin's
own order, given as the integration's ``columns``. Exports with a header (FreePBX, Grandstream) name
their columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

BASE_FIELDS: tuple[str, ...] = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
NEW_COLUMNS: tuple[str, ...] = ("peeraccount", "linkedid", "sequence")
# What FreePBX's ``cdr`` table adds (the start is ``calldate``; it has no answer/end).
FREEPBX_FIELDS: tuple[str, ...] = (
    "calldate",
    "did",
    "recordingfile",
    "cnum",
    "cnam",
    "outbound_cnum",
    "outbound_cnam",
    "dst_cnam",
)
FIELDS: tuple[str, ...] = (*BASE_FIELDS, "uniqueid", "userfield", *NEW_COLUMNS, *FREEPBX_FIELDS)
KNOWN_FIELDS = frozenset(FIELDS)

# ``1706368044.12``, or with the ``systemname`` prefix: ``mainserverdss-1706420300.0``.
UNIQUEID = re.compile(r"(?:[A-Za-z0-9_.-]+-)?\d{9,11}\.\d+")

# Header names of the exports we know, compared without case, spaces or punctuation.
_ALIASES: Mapping[str, str] = {
    "calldate": "calldate",
    "date": "calldate",
    "starttime": "start",
    "answertime": "answer",
    "endtime": "end",
    "callerid": "clid",
    "source": "src",
    "destination": "dst",
    "destinationcontext": "dcontext",
    "context": "dcontext",
    "sourcechannel": "channel",
    "destinationchannel": "dstchannel",
    "dstchannel": "dstchannel",
    "lastapplication": "lastapp",
    "application": "lastapp",
    "talktime": "billsec",
    "billableseconds": "billsec",
    "status": "disposition",
    "account": "accountcode",
    "uniqueid": "uniqueid",
    "linkedid": "linkedid",
    "recordfiles": "recordingfile",  # Grandstream UCM
    "recording": "recordingfile",
    "recordingfile": "recordingfile",
    "recfile": "recordingfile",
    "outboundcnum": "outbound_cnum",
    "outboundcnam": "outbound_cnam",
    "dstcnam": "dst_cnam",
    "sequence": "sequence",
}


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.strip().lower())


_BY_SQUASHED: Mapping[str, str] = {
    **{_squash(name): name for name in FIELDS},
    **_ALIASES,
}


class LayoutError(ValueError):
    """The file's columns cannot be told apart: the import stops before storing anything."""


def header_fields(row: Sequence[str]) -> tuple[str | None, ...] | None:
    """The fields a header row names (``None`` for a column we do not use), or ``None`` when the
    row is data: a header names at least three known fields and has no time or uniqueid in it."""
    mapped = tuple(_BY_SQUASHED.get(_squash(cell)) for cell in row)
    named = {field for field in mapped if field is not None}
    if len(named) < 3 or any(UNIQUEID.fullmatch(cell.strip()) for cell in row):
        return None
    if "start" not in named and "calldate" not in named:
        raise LayoutError("the header names no start time (start or calldate) column")
    return mapped


def custom_layout(columns: Sequence[str]) -> tuple[str, ...]:
    """A ``cdr_custom`` order from the integration's ``columns`` (validated by its config)."""
    return tuple(columns)


def validate_columns(columns: Sequence[str]) -> list[str]:
    """``columns`` of an integration: known field names, each once, with a start time."""
    names = [name.strip().lower() for name in columns]
    unknown = [name for name in names if name not in KNOWN_FIELDS and name != "-"]
    if unknown:
        raise ValueError(f"unknown CDR fields {unknown}; known: {', '.join(FIELDS)} (or '-')")
    named = [name for name in names if name != "-"]
    if len(set(named)) != len(named):
        raise ValueError("a CDR field is named twice in columns")
    if "start" not in named and "calldate" not in named:
        raise ValueError("columns must name the start time (start or calldate)")
    return names


def _uid_like(values: Iterable[str]) -> bool | None:
    """Whether a column holds uniqueids: ``True``/``False``, ``None`` when it is always empty."""
    seen = [value.strip() for value in values if value.strip()]
    if not seen:
        return None
    return all(UNIQUEID.fullmatch(value) for value in seen)


def detect_layout(sample: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The ``cdr_csv`` layout of headerless rows (a sample of one column count).

    Raises ``LayoutError`` when the count is not one ``cdr_csv`` writes, or when the content cannot
    tell ``uniqueid`` from ``userfield``: the admin then names the ``columns``.
    """
    width = len(sample[0])

    def column(index: int) -> list[str]:
        return [row[index] for row in sample if len(row) > index]

    if width == 16:
        return BASE_FIELDS
    if width == 17:
        uid = _uid_like(column(16))
        if uid is None:
            raise LayoutError(
                "a 17-column file whose 17th column is always empty may hold uniqueid or userfield:"
                " set the integration's columns"
            )
        return (*BASE_FIELDS, "uniqueid" if uid else "userfield")
    if width == 18:
        if _uid_like(column(16)) is False:
            raise LayoutError(
                "an 18-column file should hold uniqueid in its 17th column, and this one does not:"
                " set the integration's columns"
            )
        return (*BASE_FIELDS, "uniqueid", "userfield")
    if width == 19:
        return (*BASE_FIELDS, *NEW_COLUMNS)
    if width == 20:
        uid = _uid_like(column(16))
        if uid is None:
            raise LayoutError(
                "a 20-column file whose 17th column is always empty may hold uniqueid or userfield:"
                " set the integration's columns"
            )
        return (*BASE_FIELDS, "uniqueid" if uid else "userfield", *NEW_COLUMNS)
    if width == 21:
        return (*BASE_FIELDS, "uniqueid", "userfield", *NEW_COLUMNS)
    raise LayoutError(
        f"rows of {width} columns are not a cdr_csv layout (16-21 columns):"
        " set the integration's columns for a cdr_custom file"
    )

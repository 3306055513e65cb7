"""Reading CDR files as a stream of field dicts, one per row, never the whole file at once.

A row is a ``Row`` (its 1-based line number and its fields by the names of
``app.webhooks.providers.cdr_columns``) or a ``Skip`` (its line number and why). Bytes that are not
UTF-8 never stop a file: such a line is read as cp1251 (the Russian PBXs' other encoding; every byte
decodes), so a caller name written in another encoding stays readable and the rest of the row is
untouched.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO

from app.webhooks.providers.cdr_columns import LayoutError, detect_layout, header_fields

# The layout is worked out from this many rows of the file's commonest width.
SAMPLE_ROWS = 200
# Asterisk limits a field to a few hundred bytes; a hostile file must not make the csv module
# build huge fields either.
_FIELD_LIMIT = 64 * 1024
csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class Skip:
    line: int
    reason: str


class CountingReader:
    """Binary lines of ``stream``, counting the bytes read (for progress bars)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.bytes_read = 0

    def lines(self) -> Iterator[str]:
        for raw in self._stream:
            self.bytes_read += len(raw)
            yield decode_line(raw)


def decode_line(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1251", errors="replace")
    # NUL bytes mean a torn write (the PBX crashed mid-row); csv cannot read them.
    return text.replace("\x00", "") if "\x00" in text else text


def _records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each CSV record; blank lines are left out."""
    reader = csv.reader(lines, strict=False)
    last = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A broken quote: report the record and go on with the next line.
            yield reader.line_num, [f"\x00{exc}"]
            last = reader.line_num
            continue
        first = last + 1
        last = reader.line_num
        if cells and any(cell.strip() for cell in cells):
            yield first, cells


def read_rows(lines: Iterable[str], columns: Sequence[str] | None = None) -> Iterator[Row | Skip]:
    """The rows of a CDR file, given its decoded lines.

    ``columns`` (the integration's ``cdr_custom`` order) names the columns of a headerless file;
    without it a header row is used when there is one, else the ``cdr_csv`` layout is detected.
    Raises ``LayoutError`` before yielding anything when the columns cannot be told.
    """
    records = _records(lines)
    first = next(records, None)
    if first is None:
        return
    header = None if columns else header_fields(first[1])
    if header is not None:
        yield from _mapped(records, header, what="the header")
        return
    if columns:
        yield from _mapped(chain([first], records), tuple(columns), what="columns")
        return
    sample: list[tuple[int, list[str]]] = [first]
    for record in records:
        sample.append(record)
        if len(sample) >= SAMPLE_ROWS:
            break
    widths: dict[int, int] = {}
    for _, cells in sample:
        if not cells[0].startswith("\x00"):
            widths[len(cells)] = widths.get(len(cells), 0) + 1
    if not widths:
        raise LayoutError("no readable CSV row in the file's first rows")
    width = max(widths, key=lambda w: (widths[w], w))
    layout = detect_layout([cells for _, cells in sample if len(cells) == width])
    yield from _mapped(chain(sample, records), layout, what="the file's layout")


def _mapped(
    records: Iterable[tuple[int, list[str]]], names: Sequence[str | None], *, what: str
) -> Iterator[Row | Skip]:
    width = len(names)
    for line, cells in records:
        if cells and cells[0].startswith("\x00"):
            yield Skip(line, f"not a CSV row ({cells[0][1:][:80]})")
            continue
        if len(cells) != width and not (what == "the header" and len(cells) > width):
            yield Skip(line, f"{len(cells)} columns where {what} has {width}")
            continue
        fields = {
            name: cell for name, cell in zip(names, cells, strict=False) if name and name != "-"
        }
        yield Row(line, fields)


__all__ = ["CountingReader", "LayoutError", "Row", "Skip", "decode_line", "read_rows"]

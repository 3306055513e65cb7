"""Reading a cold base exported from a spreadsheet: CSV bytes in, normalised lead rows out.

This is the pure, streaming half of ``POST /api/v1/leads/import`` and ``callfunnel import leads``:
no database, no web framework. The DB layer resolves owners to employees and creates or updates
leads by phone; everything here only decides what each row *says*.

Memory stays flat whatever the file size: a small head sample is read to detect the encoding and
the delimiter, then rows flow lazily through ``io.TextIOWrapper`` and ``csv.reader``, and every
function below is a generator or works on one row at a time.

Row numbers are what a spreadsheet user sees: the 1-based position of the record in the file,
the header included, so with the header on line 1 the first data row is row 2. A record is one
spreadsheet row even when a quoted cell holds line breaks, so numbers count records, not lines.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final

from app.edge import text_problem
from app.phones import normalise_phone

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# Big enough that a cp1251 file almost always shows a Cyrillic byte in it (the header alone
# usually does), small enough to be irrelevant for memory.
SAMPLE_BYTES: Final = 64 * 1024
# Order breaks ties: Russian-locale Excel writes ";" and commas show up inside header text.
DELIMITERS: Final = (";", ",", "\t")

LEAD_FIELDS: Final = (
    "company",
    "contact_name",
    "phones",
    "campaign",
    "segment",
    "region",
    "industry",
    "source",
    "owner",
    "notes",
)
TEXT_FIELDS: Final = tuple(name for name in LEAD_FIELDS if name != "phones")

_MAX_SHOWN_CHARS: Final = 40


class CsvImportError(ValueError):
    """The file as a whole cannot be imported (as opposed to one bad row, see ``RowError``)."""


class MissingColumnsError(CsvImportError):
    """The header names no phone column, or neither a company nor a contact column."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A data row that is skipped, and why (``row`` as a spreadsheet user numbers rows)."""

    row: int
    msg: str


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """One importable row: text fields stripped (empty → ``None``), phones in E.164.

    ``owner`` is the raw employee name or email; resolving it is the DB layer's job.
    ``invalid_phones`` are pieces of phone cells that were dropped because at least one other
    phone in the row was valid (a row with no valid phone is a ``RowError`` instead).
    """

    row: int
    phones: tuple[str, ...]
    company: str | None = None
    contact_name: str | None = None
    campaign: str | None = None
    segment: str | None = None
    region: str | None = None
    industry: str | None = None
    source: str | None = None
    owner: str | None = None
    notes: str | None = None
    invalid_phones: tuple[str, ...] = ()


# --- encoding --------------------------------------------------------------------------------

_CP1251_FALLBACK: Final = "callfunnel-cp1251-fallback"


def _cp1251_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode the bytes UTF-8 rejected as cp1251.

    The head sample decides the encoding; a file whose first 64 KiB are plain ASCII reads as
    UTF-8, and Cyrillic cp1251 bytes further down must not abort the import halfway through.
    Python reports each maximal invalid subsequence (1–3 bytes), each decoded here as cp1251.
    Residual risk: an upper-case letter followed by ``«»№ё``-range punctuation happens to be
    valid UTF-8 and comes out as a wrong character; only in this ASCII-head case.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return bad.decode("cp1251", errors="replace"), exc.end


codecs.register_error(_CP1251_FALLBACK, _cp1251_fallback)


def detect_encoding(sample: bytes) -> str:
    """``"utf-8-sig"`` (BOM), ``"utf-16"`` (BOM), ``"utf-8"`` (valid UTF-8) or ``"cp1251"``.

    Cyrillic cp1251 text is almost never valid UTF-8 (its letters are bytes 0xC0–0xFF, which
    UTF-8 only accepts followed by continuation bytes). UTF-16 is what Excel's "Unicode text"
    export writes, always with a BOM.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # Incremental with final=False: the sample may cut a multi-byte character in two.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _decode_errors(encoding: str) -> str:
    # cp1251 leaves one byte (0x98) undefined and UTF-16 can be truncated: neither may abort.
    return _CP1251_FALLBACK if encoding.startswith("utf-8") else "replace"


# --- delimiter -------------------------------------------------------------------------------

_QUOTED: Final = re.compile(r'"[^"]*"')


def detect_delimiter(text: str) -> str:
    """The candidate (``;``, ``,``, tab) seen most often outside quotes on the header line.

    Counting on the header beats ``csv.Sniffer``, which guesses letters or spaces as delimiters
    on short samples. A one-column header (no candidate at all) falls back to ``,``.
    """
    header = _QUOTED.sub("", _first_nonblank_line(text))
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


def _first_nonblank_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


# --- header ----------------------------------------------------------------------------------

_PARENTHESISED: Final = re.compile(r"\([^)]*\)")
_NOT_ALNUM: Final = re.compile(r"[\W_]+")

# Keys are ``header_key`` spellings: case-folded, "ё" → "е", without spaces or punctuation, so
# "Контактное лицо", "контактное_лицо" and " КОНТАКТНОЕ-ЛИЦО " are the same entry.
_SYNONYMS: Final[Mapping[str, frozenset[str]]] = {
    "company": frozenset(
        {
            "company", "companyname", "organization", "organisation", "org",
            "компания", "названиекомпании", "наименованиекомпании", "организация",
            "названиеорганизации", "наименованиеорганизации", "наименование", "название",
            "фирма", "контрагент", "юрлицо",
        }
    ),
    "contact_name": frozenset(
        {
            "contactname", "contact", "contactperson", "fullname", "person",
            "контакт", "контактноелицо", "фио", "имя", "лпр", "фиолпр",
        }
    ),
    "campaign": frozenset({"campaign", "кампания", "рекламнаякампания"}),
    "segment": frozenset({"segment", "сегмент"}),
    "region": frozenset({"region", "регион", "область", "субъект", "субъектрф"}),
    "industry": frozenset(
        {"industry", "отрасль", "сфера", "сферадеятельности", "виддеятельности"}
    ),
    "source": frozenset({"source", "leadsource", "источник", "источниклида"}),
    "owner": frozenset(
        {
            "owner", "ownerid", "ownername", "owneremail", "manager", "responsible",
            "ответственный", "ответственныйменеджер", "ответственныйсотрудник", "менеджер",
        }
    ),
    "notes": frozenset(
        {
            "notes", "note", "comment", "comments",
            "примечание", "примечания", "комментарий", "комментарии", "заметка", "заметки",
        }
    ),
}  # fmt: skip
# Any number of phone columns, numbered or not: "phone", "phone2", "телефон 2", "тел.1"…
_PHONE_HEADER: Final = re.compile(
    r"(phones?|tel|telephone|mobile|mobilephone|cellphone|телефон|телефоны|тел|моб|мобильный"
    r"|мобильныйтелефон|сотовый|сотовыйтелефон|номертелефона|контактныйтелефон"
    r"|рабочийтелефон|доптелефон|телефондоп|дополнительныйтелефон)\d*"
)
_FIELD_BY_KEY: Final = {key: name for name, keys in _SYNONYMS.items() for key in keys}


def header_key(name: str) -> str:
    """A header's spelling-insensitive key: "Телефон (моб.) 2" → "телефон2"."""
    text = _PARENTHESISED.sub("", name).casefold().replace("ё", "е")
    return _NOT_ALNUM.sub("", text)


def field_for_header(name: str) -> str | None:
    """The lead field a header names, or ``None`` for a column to ignore (``e-mail``, ``ИНН``…)."""
    key = header_key(name)
    if _PHONE_HEADER.fullmatch(key):
        return "phones"
    return _FIELD_BY_KEY.get(key)


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which columns feed which lead field, in file order; unmapped header names in ``ignored``.

    Several columns may feed one field: all phone columns are read, and for a text field the
    first non-empty cell wins (a file with both "Контакт" and "ФИО" loses nothing).
    """

    headers: tuple[str, ...]
    columns: Mapping[str, tuple[int, ...]]
    ignored: tuple[str, ...] = ()

    def indices(self, field_name: str) -> tuple[int, ...]:
        return self.columns.get(field_name, ())

    @property
    def warnings(self) -> list[str]:
        """Human-readable notes for the import answer: ignored and doubled columns."""
        notes = []
        if self.ignored:
            notes.append("ignored unknown columns: " + ", ".join(map(_shown, self.ignored)))
        for name in TEXT_FIELDS:
            if len(self.indices(name)) > 1:
                shown = ", ".join(_shown(self.headers[i]) for i in self.indices(name))
                notes.append(f"several columns for {name} ({shown}): the first non-empty is used")
        return notes


def map_columns(headers: Sequence[str]) -> ColumnMap:
    """Map header names to lead fields; raise ``MissingColumnsError`` if no row could import.

    Every row needs a valid phone and a company or contact, so a header lacking a phone column,
    or lacking both company and contact columns, would reject every row: say so once instead.
    """
    columns: dict[str, list[int]] = {}
    ignored: list[str] = []
    for index, name in enumerate(headers):
        field_name = field_for_header(name)
        if field_name is not None:
            columns.setdefault(field_name, []).append(index)
        elif name.strip():  # a blank header is a trailing delimiter, not a column worth a warning
            ignored.append(name.strip())
    mapping = ColumnMap(
        headers=tuple(headers),
        columns={name: tuple(indices) for name, indices in columns.items()},
        ignored=tuple(ignored),
    )
    _require_usable(mapping)
    return mapping


def _require_usable(mapping: ColumnMap) -> None:
    missing = []
    if not mapping.indices("phones"):
        missing.append("a phone column ('телефон' / 'phone')")
    if not mapping.indices("company") and not mapping.indices("contact_name"):
        missing.append(
            "a company or contact column ('компания' / 'company', 'контактное лицо' / "
            "'contact_name')"
        )
    if missing:
        found = ", ".join(_shown(name) for name in mapping.headers) or "none"
        raise MissingColumnsError(
            f"cannot import: the header row has no {' and no '.join(missing)}; "
            f"headers found: {found}. The first non-empty row must be the header."
        )


# --- reading ---------------------------------------------------------------------------------


class _Replay(io.RawIOBase):
    """The head sample already read for detection, then the rest of the caller's stream.

    Lets detection work on any readable stream (an upload, stdin) without seeking, and counts
    the bytes handed on so a CLI can draw a progress bar. Closing it leaves the caller's stream
    open: whoever opened that stream closes it.
    """

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        out = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(out), len(self._head))
            out[:count] = self._head[:count]
            self._head = self._head[count:]
        else:
            data = self._rest.read(len(out))
            count = len(data)
            out[:count] = data
        self.bytes_read += count
        return count


def _read_head(stream: BinaryIO, size: int) -> bytes:
    # A raw or network stream may return short reads before the end: keep reading.
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


Record = tuple[int, list[str]]


class CsvReader:
    """An open CSV file: detected encoding and delimiter, mapped header, rows still unread."""

    def __init__(self, source: _Replay, encoding: str, delimiter: str) -> None:
        self.encoding = encoding
        self.delimiter = delimiter
        self._source = source
        text = io.TextIOWrapper(
            io.BufferedReader(source),
            encoding=encoding,
            errors=_decode_errors(encoding),
            newline="",  # csv needs the raw line ends to keep line breaks inside quoted cells
        )
        self._rows = csv.reader(text, delimiter=delimiter)
        self._row = 0
        self.header_row, headers = self._read_header()
        self.columns = map_columns(headers)

    @property
    def bytes_read(self) -> int:
        """Bytes of the file consumed so far (for a progress bar; read-ahead included)."""
        return self._source.bytes_read

    def records(self) -> Iterator[Record | RowError]:
        """``(row number, cells)`` for each data record, lazily; unparseable records as errors.

        ``csv.Error`` (in practice a cell over ``csv.field_size_limit()``: an unclosed quote
        swallowing the lines after it) becomes a ``RowError`` and reading goes on, since a bad
        row must not stop the others. Row numbers after it count the swallowed lines as one
        row, so the message also names the file lines, which stay exact.
        """
        while True:
            self._row += 1
            first_line = self._rows.line_num + 1
            try:
                cells = next(self._rows)
            except StopIteration:
                return
            except csv.Error as exc:
                lines = f"{first_line}–{self._rows.line_num}"
                yield RowError(self._row, f"malformed CSV in file lines {lines}: {exc}")
                continue
            yield self._row, cells

    def _read_header(self) -> tuple[int, list[str]]:
        # Blank lines above the header are skipped (they still count as spreadsheet rows).
        for record in self.records():
            if isinstance(record, RowError):
                raise CsvImportError(f"cannot read the header row {record.row}: {record.msg}")
            if not _is_blank(record[1]):
                return record
        raise CsvImportError("the file is empty: no header row")


def open_csv(stream: BinaryIO) -> CsvReader:
    """Detect encoding and delimiter from a head sample, read the header, leave rows unread.

    Raises ``CsvImportError`` (``MissingColumnsError`` for an unusable header).
    """
    head = _read_head(stream, SAMPLE_BYTES)
    encoding = detect_encoding(head)
    decoder = codecs.getincrementaldecoder(encoding)(errors=_decode_errors(encoding))
    delimiter = detect_delimiter(decoder.decode(head, final=False))
    return CsvReader(_Replay(head, stream), encoding, delimiter)


# --- rows ------------------------------------------------------------------------------------

# Several numbers in one cell: "," / ";" as specified, and line breaks (Alt+Enter in Excel).
_PHONE_SEPARATORS: Final = re.compile(r"[,;\r\n]+")


def parse_rows(reader: CsvReader, default_region: str) -> Iterator[ParsedRow | RowError]:
    """Each data row as a ``ParsedRow`` or a ``RowError``, lazily, in file order.

    ``default_region`` is the ISO country code for numbers written without a country code
    ("RU"), not the lead's ``region`` field. Completely empty rows (including ``;;;`` rows) are
    skipped silently: they are spreadsheet padding, not mistakes. Missing trailing cells read as
    empty, extra cells beyond the header are ignored. The same phone in two rows yields two
    ``ParsedRow``s: the DB layer treats the second as an update of the lead from the first.
    """
    for record in reader.records():
        if isinstance(record, RowError):
            yield record
        elif not _is_blank(record[1]):
            yield parse_record(*record, reader.columns, default_region)


def parse_record(
    row: int, cells: Sequence[str], columns: ColumnMap, default_region: str
) -> ParsedRow | RowError:
    """One non-blank data record → ``ParsedRow``, or ``RowError`` naming every reason at once."""
    text = {name: _first_value(cells, columns.indices(name)) for name in TEXT_FIELDS}
    phones, invalid = _phones(cells, columns.indices("phones"), default_region)
    problems = []
    # What a lead cannot hold is this row's error, not the chunk's: the database would refuse the
    # whole chunk (PostgreSQL a NUL or an over-long value; app.edge refuses both on both).
    if any(text_problem(cell) for cell in cells):
        problems.append("a cell holds a NUL character or invalid text")
    for name, value in text.items():
        limit = _text_limit(name)
        if value is not None and limit is not None and len(value) > limit:
            problems.append(f"{name} is longer than {limit} characters")
    if not phones:
        problems.append(_no_phone_message(invalid))
    if text["company"] is None and text["contact_name"] is None:
        problems.append("neither company nor contact name")
    if problems:
        return RowError(row, "; ".join(problems))
    return ParsedRow(row=row, phones=phones, invalid_phones=invalid, **text)


def _text_limit(name: str) -> int | None:
    from app.leads.models import Lead

    column = Lead.__table__.c.get(name)
    length = getattr(column.type, "length", None) if column is not None else None
    return int(length) if length else None


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _first_value(cells: Sequence[str], indices: tuple[int, ...]) -> str | None:
    for index in indices:
        if index < len(cells) and (value := cells[index].strip()):
            return value
    return None


def _phones(
    cells: Sequence[str], indices: tuple[int, ...], default_region: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(valid E.164 numbers deduplicated in order, raw pieces that are not phone numbers)."""
    valid: dict[str, None] = {}  # an ordered set: the first number stays the lead's main one
    invalid: list[str] = []
    for index in indices:
        if index >= len(cells):
            continue
        for piece in _PHONE_SEPARATORS.split(cells[index]):
            raw = piece.strip()
            if not raw:
                continue
            e164 = normalise_phone(raw, default_region)
            if e164 is None:
                invalid.append(raw)
            else:
                valid[e164] = None
    return tuple(valid), tuple(invalid)


def _no_phone_message(invalid: Sequence[str]) -> str:
    if not invalid:
        return "no phone number"
    return "no valid phone number: " + ", ".join(map(_shown, invalid))


def _shown(text: str) -> str:
    """Quote a user's text for a message, cut short: a phone cell may hold a pasted paragraph."""
    if len(text) > _MAX_SHOWN_CHARS:
        text = text[: _MAX_SHOWN_CHARS - 1] + "…"
    return f"'{text}'"

"""Reading CDR files: every cdr_csv layout told from its columns, headers, cdr_custom columns,
ambiguous files refused, bytes that are not UTF-8 read on."""

from __future__ import annotations

import io

import pytest

from app.cdr.reader import CountingReader, Row, Skip, read_rows
from app.webhooks.providers.cdr_columns import BASE_FIELDS, LayoutError, validate_columns

BASE = [
    "",
    "89161234567",
    "101",
    "from-pstn",
    '"Ivan" <89161234567>',
    "SIP/trunk-00000001",
    "SIP/101-00000002",
    "Dial",
    "SIP/101,30",
    "2026-11-02 10:00:00",
    "2026-11-02 10:00:05",
    "2026-11-02 10:01:05",
    "65",
    "60",
    "ANSWERED",
    "DOCUMENTATION",
]
UID = "1706368044.12"


def _line(cells: list[str]) -> str:
    return ",".join('"' + cell.replace('"', '""') + '"' for cell in cells) + "\n"


def _read(text: str | bytes, columns: list[str] | None = None) -> list[Row | Skip]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_rows(CountingReader(io.BytesIO(data)).lines(), columns))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], {}),
        ([UID], {"uniqueid": UID}),
        (["vip"], {"userfield": "vip"}),
        ([UID, "vip"], {"uniqueid": UID, "userfield": "vip"}),
        (["", UID, "3"], {"peeraccount": "", "linkedid": UID, "sequence": "3"}),
        ([UID, "", UID, "3"], {"uniqueid": UID, "peeraccount": "", "linkedid": UID}),
        (["vip", "", UID, "3"], {"userfield": "vip", "linkedid": UID, "sequence": "3"}),
        (
            [f"pbx1-{UID}", "vip", "", f"pbx1-{UID}", "3"],
            {"uniqueid": f"pbx1-{UID}", "userfield": "vip", "linkedid": f"pbx1-{UID}"},
        ),
    ],
)
def test_every_cdr_csv_layout_is_told_from_its_columns(
    extra: list[str], expected: dict[str, str]
) -> None:
    rows = _read(_line(BASE + extra) * 2)
    assert len(rows) == 2
    row = rows[0]
    assert isinstance(row, Row)
    assert row.line == 1
    assert row.fields["src"] == "89161234567"
    assert row.fields["start"] == "2026-11-02 10:00:00"
    assert {name: row.fields[name] for name in expected} == expected
    assert len(row.fields) == 16 + len(extra)


def test_a_file_that_cannot_tell_uniqueid_from_userfield_asks_for_columns() -> None:
    with pytest.raises(LayoutError, match="columns"):
        _read(_line([*BASE, ""]) * 3)
    with pytest.raises(LayoutError, match="cdr_csv layout"):
        _read(_line(BASE[:12]))


def test_cdr_custom_columns_name_the_order() -> None:
    columns = validate_columns(["start", "src", "dst", "-", "billsec", "disposition", "linkedid"])
    rows = _read('"2026-11-02 10:00:00","89161234567","101","x",60,"ANSWERED","1.2"\n', columns)
    assert rows == [
        Row(
            1,
            {
                "start": "2026-11-02 10:00:00",
                "src": "89161234567",
                "dst": "101",
                "billsec": "60",
                "disposition": "ANSWERED",
                "linkedid": "1.2",
            },
        )
    ]
    with pytest.raises(ValueError, match="unknown CDR fields"):
        validate_columns(["start", "caller"])
    with pytest.raises(ValueError, match="start time"):
        validate_columns(["src", "dst"])


def test_a_header_row_names_the_columns_of_an_export() -> None:
    text = (
        "calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,lastdata,duration,billsec,"
        "disposition,amaflags,accountcode,uniqueid,userfield,did,recordingfile,Extra\n"
        '2026-11-02 10:00:00,"""Ivan"" <8916>",8916,101,from-pstn,SIP/gsm-1,SIP/101-2,Dial,,'
        "65,60,ANSWERED,3,,1.2,,4951234567,rec.wav,whatever\n"
    )
    rows = _read(text)
    assert len(rows) == 1
    row = rows[0]
    assert isinstance(row, Row)
    assert row.line == 2
    assert row.fields["calldate"] == "2026-11-02 10:00:00"
    assert row.fields["clid"] == '"Ivan" <8916>'
    assert row.fields["recordingfile"] == "rec.wav"
    assert "Extra" not in row.fields


def test_bytes_that_are_not_utf8_never_stop_a_file() -> None:
    cp1251 = '"Иван"'.encode("cp1251")
    line = _line(BASE).encode().replace(b'"Ivan"', cp1251.replace(b'"', b'""'))
    broken = _line(BASE).encode().replace(b"Ivan", b"\xff\xfe\x00")
    rows = _read(line + broken + _line(BASE).encode())
    assert [type(row) for row in rows] == [Row, Row, Row]
    first = rows[0]
    assert isinstance(first, Row)
    assert "Иван" in first.fields["clid"]
    assert [row.line for row in rows] == [1, 2, 3]


def test_rows_of_another_width_are_skipped_with_their_line() -> None:
    text = _line(BASE) + "\n" + _line(BASE[:10]) + _line(BASE)
    rows = _read(text)
    assert [type(row) for row in rows] == [Row, Skip, Row]
    skipped = rows[1]
    assert isinstance(skipped, Skip)
    assert skipped.line == 3
    assert "10 columns" in skipped.reason


def test_an_unquoted_empty_answer_is_an_empty_field() -> None:
    line = _line(BASE).replace('"2026-11-02 10:00:05"', "")
    row = _read(line)[0]
    assert isinstance(row, Row)
    assert row.fields["answer"] == ""
    assert tuple(row.fields) == BASE_FIELDS

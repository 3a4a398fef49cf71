"""Controller event logs that cannot be decoded: a clear one-line reason each, nothing else."""

from __future__ import annotations

import zlib
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signalight.codecs.signal_logs import LogError, decode_log
from signalight.domain.signals import DecodedLog, LogFormat
from tests.codecs.signal_log_samples import (
    COUNTS,
    DAT_227,
    DATZ,
    HIRES,
    ODOT,
    XML,
    parquet_bytes,
    refused,
    sample,
    small_table,
)

# -- bad files: a clear reason each ---------------------------------------------------------------


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

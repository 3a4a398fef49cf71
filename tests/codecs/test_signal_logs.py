"""Controller event logs: the real samples decode, and each agrees with an independent decoding."""

from __future__ import annotations

import csv
import re
import zlib
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from signalight.codecs.signal_logs import decode_log, detect_format
from signalight.domain.signals import LogFormat, LogZone, event_time
from tests.codecs.signal_log_samples import (
    COUNTS,
    DAT_215,
    DAT_227,
    DATZ,
    FAULTS,
    HIRES,
    SAMPLES,
    XML,
    events,
    fault_counts,
    sample,
    wall,
)

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

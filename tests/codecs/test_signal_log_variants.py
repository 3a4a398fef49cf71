"""Controller logs written other ways: CSV variants of real rows, Parquet tables of each kind."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from signalight.codecs.signal_logs import decode_log
from signalight.domain.signals import LogZone, event_time
from tests.codecs.signal_log_samples import (
    CSV_ISO,
    CSV_US,
    events,
    parquet_bytes,
    sample,
    small_table,
    wall,
)

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


def test_parquet_device_ids_as_text_or_categories() -> None:
    for ids in (pa.array(["227", "452"]), pa.array(["227", "452"], pa.large_string())):
        log = decode_log("x.parquet", parquet_bytes(small_table(DeviceId=ids)))
        assert list(log.signals) == ["227", "452"]
    category = pa.array(["452", "227"]).dictionary_encode()
    log = decode_log("x.parquet", parquet_bytes(small_table(DeviceId=category)))
    assert {signal: [code for _, code, _ in rows] for signal, rows in log.signals.items()} == {
        "227": [412], "452": [87],
    }  # fmt: skip


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

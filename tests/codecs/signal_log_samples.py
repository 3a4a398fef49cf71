"""The controller log samples of ../shared/atspm_samples, and helpers for their tests."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from signalight.codecs.signal_logs import LogError, decode_log
from signalight.domain.signals import DecodedLog, LogFormat, event_time

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


def refused(name: str, data: bytes) -> str:
    with pytest.raises(LogError) as caught:
        decode_log(name, data)
    message = str(caught.value)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message
    return caught.value.reason


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

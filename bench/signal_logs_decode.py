"""Controller event log decode throughput, per format, one core, beside a reference of each.

Each decoder runs on the real samples in ``../shared/atspm_samples`` and on
larger logs built from them: a ``.dat`` of a 15-minute sample's records
repeated 96 times (a day's worth in one file), and the 246,413 events of the
ODOT Parquet sample written as ATSPM CSV in both timestamp styles. The
reference, measured in the same run on the same bytes, is the least any
decoder in Python pays: ``struct``'s ``iter_unpack`` of the records (after
``zlib`` for ``.datZ``), ``csv.reader`` of the text, defusedxml's parse,
pyarrow's read of the table into Python lists; like the decoders, with the
cyclic collector paused.

The issue's floor is 200,000 events/s stored on SQLite, decode included, so
decoding alone must be several times faster: each decode is printed as a
multiple of that floor. The store's benchmark judges the floor itself.
"""

from __future__ import annotations

import csv
import io
import platform
import struct
import time
import timeit
import zlib
from collections.abc import Callable
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
from defusedxml.ElementTree import fromstring

from signalight.codecs.signal_logs import decode_log
from signalight.gcpause import collector_paused

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "atspm_samples"
UDOT, ODOT = SAMPLES / "udot-atspm", SAMPLES / "shawnstrasser-atspm"
STORED_FLOOR = 200_000  # events/s, decoded and stored on SQLite (issue 13)
REPEATS = 5
RUN_SECONDS = 0.3  # each repeat lasts about this long


def rate(func: Callable[[], object], events: int) -> tuple[float, float]:
    """Best and median events/s of ``func`` over a few repeats, on CPU time."""
    start = time.process_time()
    func()
    once = max(time.process_time() - start, 1e-6)
    number = max(1, int(RUN_SECONDS / once))
    runs = timeit.repeat(func, number=number, repeat=REPEATS, timer=time.process_time)
    best, median = min(runs), sorted(runs)[len(runs) // 2]
    return events * number / best, events * number / median


def dat_records(data: bytes) -> bytes:
    """The record bytes of a ``.dat``: all past its 7 header lines."""
    position = 0
    for _ in range(7):
        position = data.index(b"\n", position) + 1
    return data[position:]


def big_dat(data: bytes, copies: int) -> bytes:
    """The sample's header, then its records ``copies`` times (a day's worth of events)."""
    records = dat_records(data)
    return data[: len(data) - len(records)] + records * copies


def parquet_as_csv(data: bytes, iso: bool) -> bytes:
    """The Parquet sample's rows as a headerless ATSPM CSV export."""
    table = pq.read_table(pa.BufferReader(data))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    style = "%Y-%m-%d %H:%M:%S.%f0" if iso else "%m/%d/%Y %H:%M:%S.%f"
    for row in table.to_pylist():
        stamp = row["TimeStamp"].replace(tzinfo=UTC).strftime(style)
        if not iso:
            stamp = stamp[:-5].lstrip("0").replace("/0", "/")  # M/D/YYYY H:MM:SS.f
        writer.writerow([row["DeviceId"], stamp, row["EventId"], row["Parameter"]])
    return out.getvalue().encode()


class Case(NamedTuple):
    """One log to decode, and the reference run on the same bytes."""

    label: str
    name: str
    data: bytes
    reference: Callable[[bytes], object]


def unpack(data: bytes) -> object:
    return list(struct.iter_unpack(">BBh", dat_records(data)))


def inflate_unpack(data: bytes) -> object:
    return unpack(zlib.decompress(data))


def read_csv(data: bytes) -> object:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def parse_xml(data: bytes) -> object:
    return fromstring(data, forbid_dtd=True)


def read_parquet(data: bytes) -> object:
    return pq.read_table(pa.BufferReader(data)).to_pydict()


def cases() -> list[Case]:
    """The samples as they are, and the large logs built from them."""
    dat = (UDOT / "ECON_10.205.17.215_2024_02_21_1115.dat").read_bytes()
    datz = (UDOT / "1210_ECON_10.204.7.239_2021_08_09_1841.datZ").read_bytes()
    xml = (UDOT / "638572533917628534.xml").read_bytes()
    csv_us = (UDOT / "7115TerminationData.csv").read_bytes()
    hires = (ODOT / "hires_test_data.parquet").read_bytes()
    raw = (ODOT / "sample_raw_data.parquet").read_bytes()
    big = big_dat(dat, 96)  # a day of quarter-hour files in one (offsets repeat)
    return [
        Case(".dat sample", "a.dat", dat, unpack),
        Case(".dat, sample records x96", "a.dat", big, unpack),
        Case(".datZ sample", "a.datZ", datz, inflate_unpack),
        Case(".datZ, sample records x96", "a.datZ", zlib.compress(big), inflate_unpack),
        Case("MAXTIME XML sample", "a.xml", xml, parse_xml),
        Case("CSV sample, M/D/YYYY", "a.csv", csv_us, read_csv),
        Case("CSV, M/D/YYYY, 246k rows", "a.csv", parquet_as_csv(hires, iso=False), read_csv),
        Case("CSV, ISO 7 digits, 246k rows", "a.csv", parquet_as_csv(hires, iso=True), read_csv),
        Case("Parquet, 246k rows", "a.parquet", hires, read_parquet),
        Case("Parquet, 37k rows", "a.parquet", raw, read_parquet),
    ]  # fmt: skip


def main() -> None:
    if not SAMPLES.is_dir():
        print(f"the controller log samples are not at {SAMPLES}; nothing to measure")
        return
    print(f"Controller log decode, Python {platform.python_version()}, one core, CPU time")
    print(f"x floor: decode alone as a multiple of {STORED_FLOOR:,} events/s stored\n")
    for case in cases():
        events = decode_log(case.name, case.data).count
        with collector_paused():  # as decode_log runs, so that both pay the same
            reference, _ = rate(partial(case.reference, case.data), events)
        best, median = rate(partial(decode_log, case.name, case.data), events)
        print(
            f"{case.label:28s} {events:>8,} events  decode best {best:>10,.0f}/s "
            f"median {median:>10,.0f}/s {best / STORED_FLOOR:5.1f}x floor   "
            f"reference {reference:>11,.0f}/s"
        )


if __name__ == "__main__":
    main()

"""Memory of ingest with every device of a large fleet in its directory, in a process of its own.

Run by bench/ingest.py as ``python bench/ingest_memory.py DATABASE_URL CITY DEVICES``
on a database that holds DEVICES streetlight nodes ``M-0000000``...; prints one
JSON object. The process measures its own resident memory (VmRSS) after
importing everything (the baseline), after :class:`IngestService` loaded its
:class:`DeviceDirectory`, and after one SenML pack per device went through
``IngestService.ingest`` in batches of 2,000 and through the fault rules
(what ``signalight ingest`` does).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import orjson

from ingest_rig import device_topic, pack, readings_in
from signalight.adapters.sql.alarms import SqlAlarmStore
from signalight.adapters.sql.cities import SqlCityRepository
from signalight.adapters.sql.engine import make_engine
from signalight.adapters.sql.fleet import SqlFleetInventory
from signalight.adapters.sql.telemetry import SqlTelemetryStore
from signalight.services.detection import Detector
from signalight.services.ingest import IngestService, Message

BATCH = 2000


def status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def deep_size(directory: Mapping[tuple[str, str], tuple[object, ...]]) -> int:
    """Bytes of the dict, its key tuples and the DeviceRefs with their fields, each object once."""
    seen: set[int] = set()
    size = sys.getsizeof(directory)

    def add(obj: object) -> int:
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        return sys.getsizeof(obj)

    for key, ref in directory.items():
        size += add(key) + sum(add(part) for part in key)
        size += add(ref) + sum(add(part) for part in ref[:4])  # the kind enum is shared
    return size


def main() -> None:
    url, city, devices = sys.argv[1], sys.argv[2], int(sys.argv[3])
    gc.collect()
    engine = make_engine(url)
    store = SqlTelemetryStore(engine)
    with engine.connect():  # the driver and the pool are part of the baseline
        pass
    baseline = status_mb("VmRSS")
    started = time.perf_counter()
    service = IngestService(store)
    alarms = SqlAlarmStore(engine)
    detector = Detector(alarms, SqlFleetInventory(engine), SqlCityRepository(engine))
    service.listeners.append(detector.observe)  # the fault rules, as `signalight ingest` runs them
    load_s = time.perf_counter() - started
    gc.collect()
    loaded = status_mb("VmRSS")
    base = time.time() - 3600
    stored = readings = 0
    started = time.perf_counter()
    for first in range(0, devices, BATCH):
        now = time.time()
        batch = []
        for n in range(first, min(first + BATCH, devices)):
            uid = f"M-{n:07d}"
            batch.append(Message(device_topic(city, uid), pack(uid, base, n), now))
            readings += readings_in(n)
        accepted, dead = service.ingest(batch)
        if dead:
            sys.exit(f"ingest refused {len(dead)} messages: {dead[0].message}")
        stored += len(accepted)
    ingest_s = time.perf_counter() - started
    gc.collect()
    fed = status_mb("VmRSS")
    peak = status_mb("VmHWM")
    directory = service.directory._devices  # noqa: SLF001 - what we measure
    print(
        orjson.dumps(
            {
                "devices": len(service.directory),
                "baseline_mb": baseline,
                "loaded_mb": loaded,
                "fed_mb": fed,
                "peak_mb": peak,
                "load_s": load_s,
                "messages": stored,
                "readings": readings,
                "ingest_s": ingest_s,
                "directory_mb": deep_size(directory) / 2**20,
            }
        ).decode()
    )


if __name__ == "__main__":
    main()

"""SenML decode throughput: a typical 5-reading streetlight pack, one core, GC on.

The reference, measured in the same run, is ``orjson.loads`` of the same
bytes: the floor any JSON decoder in Python has to pay before validation.
"""

from __future__ import annotations

import platform
import time
import timeit

import orjson

from signalight.codecs.senml import decode_pack, encode_pack
from signalight.domain.assets import DeviceKind
from signalight.domain.readings import Reading

NOW = 1_773_488_527.0
REPEATS, NUMBER = 7, 50_000

DEVICE_PACK = orjson.dumps(
    [
        {"bn": "node-00017/", "bt": NOW - 2.0, "n": "on", "vb": True},
        {"n": "dim", "u": "%", "v": 70},
        {"n": "power", "u": "W", "v": 38.4},
        {"n": "voltage", "u": "V", "v": 231.2},
        {"n": "energy", "u": "Wh", "s": 123456.7},
    ]
)
SIMULATOR_PACK = encode_pack(
    "node-00017",
    [
        Reading(NOW - 2, "on", bool_value=True),
        Reading(NOW - 2, "dim", 70.0),
        Reading(NOW - 2, "power", 38.4),
        Reading(NOW - 2, "voltage", 231.2),
        Reading(NOW - 2, "energy", 123456.7),
    ],
)


def rate(func: object) -> tuple[float, float]:
    runs = timeit.repeat(func, number=NUMBER, repeat=REPEATS, timer=time.process_time)  # type: ignore[arg-type]
    best, median = min(runs), sorted(runs)[len(runs) // 2]
    return NUMBER / best, NUMBER / median


def main() -> None:
    print(f"SenML decode, Python {platform.python_version()}, one core")
    kind = DeviceKind.STREETLIGHT_NODE
    cases = [
        ("reference: orjson.loads only", lambda: orjson.loads(DEVICE_PACK)),
        (
            "decode_pack, device-style pack",
            lambda: decode_pack(DEVICE_PACK, device="node-00017", kind=kind, now=NOW),
        ),
        (
            "decode_pack, encode_pack output",
            lambda: decode_pack(SIMULATOR_PACK, device="node-00017", kind=kind, now=NOW),
        ),
    ]
    for label, func in cases:
        best, median = rate(func)
        print(f"{label:34s} best {best:>10,.0f} packs/s   median {median:>10,.0f} packs/s")


if __name__ == "__main__":
    main()

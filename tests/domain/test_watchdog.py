"""The watchdog's checks: ATSPM's rules at the edges of their thresholds, and on real logs.

Hand-made days put each rule just below and just above its threshold; the
real samples of ``../shared/atspm_samples`` (read from there) are judged
against figures computed here from the files by other means (the csv
module, pyarrow) than the codecs.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from signalight.codecs.signal_logs import decode_log
from signalight.domain.errors import InvalidInputError
from signalight.domain.event_counts import count_events
from signalight.domain.watchdog import (
    Check,
    DetectorKind,
    Finding,
    PhaseCounts,
    WatchdogThresholds,
    detector_faults,
    tally_events,
    watch_day,
    watch_windows,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "atspm_samples"
TERMINATIONS = SAMPLES / "udot-atspm" / "7115TerminationData.csv"
HIRES = SAMPLES / "shawnstrasser-atspm" / "hires_test_data.parquet"
FAULTS_CSV = SAMPLES / "derived" / "hires_test_data_detector_fault_events.csv"

DAY = date(2024, 5, 14)
UTC_ZONE = ZoneInfo("UTC")
DEFAULTS = WatchdogThresholds()
Events = list[tuple[float, int, int]]


def at(hour: int, minute: int = 0, second: float = 0.0) -> float:
    """A time of the test day (UTC, so that wall hours are the windows' hours)."""
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=UTC).timestamp() + second


def spread(code: int, param: int, n: int, hour: int) -> Events:
    """``n`` events of one code, a second apart from ``hour`` o'clock."""
    return [(at(hour, second=float(i)), code, param) for i in range(n)]


def busy(n: int = 600) -> Events:
    """A day's worth of events outside both windows, so that no record is missing."""
    return [(at(8 + i % 8, i % 60, (i // 60) * 0.1), 1, 2) for i in range(n)]


def judge(events: Events, thresholds: WatchdogThresholds = DEFAULTS) -> list[Finding]:
    windows = watch_windows(DAY, UTC_ZONE, thresholds)
    return list(watch_day("INT-1", tally_events(events, windows), thresholds).findings)


def checks(findings: list[Finding]) -> list[tuple[Check, int | None]]:
    return [(f.check, f.phase if f.detector is None else f.detector) for f in findings]


def test_the_defaults_are_atspms() -> None:
    assert (
        DEFAULTS.minimum_records,
        DEFAULTS.low_hit_threshold,
        DEFAULTS.peak_hours,
        DEFAULTS.night_hours,
        DEFAULTS.percent_threshold,
        DEFAULTS.min_phase_terminations,
        DEFAULTS.maximum_pedestrian_events,
    ) == (500, 50, (17, 18), (1, 5), 0.9, 50, 200)


@pytest.mark.parametrize(
    "changes",
    [
        {"peak_hours": (18, 17)},
        {"night_hours": (0, 25)},
        {"percent_threshold": 0.0},
        {"percent_threshold": 1.5},
        {"minimum_records": -1},
    ],
)
def test_thresholds_that_mean_nothing_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        WatchdogThresholds(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "hours", "night_hours"),
    [
        (date(2024, 5, 14), 24, 4),
        (date(2024, 3, 10), 23, 3),  # 02:00 never comes: the clocks go forward
        (date(2024, 11, 3), 25, 5),  # 01:00-02:00 comes twice
    ],
)
def test_windows_follow_the_city_wall_clock(day: date, hours: int, night_hours: int) -> None:
    zone = ZoneInfo("America/Denver")
    windows = watch_windows(day, zone, DEFAULTS)
    assert windows.day[1] - windows.day[0] == hours * 3600
    assert windows.night[1] - windows.night[0] == night_hours * 3600
    start = datetime.fromtimestamp(windows.day[0], zone)
    peak = datetime.fromtimestamp(windows.peak[0], zone)
    assert (start.date(), start.hour, peak.date(), peak.hour) == (day, 0, day, 17)


@pytest.mark.parametrize(("records", "missing"), [(0, True), (500, True), (501, False)])
def test_missing_records_is_a_day_of_500_events_or_fewer(records: int, missing: bool) -> None:
    few_hits = spread(82, 3, 10, 17)  # a low-hit detector: judged only when records are there
    events = busy(records - len(few_hits)) + few_hits if records else []
    found = judge(events)
    if missing:
        assert checks(found) == [(Check.MISSING_RECORDS, None)]
        assert (found[0].figure, found[0].threshold) == (records, 500)
        assert found[0].words.startswith("no events" if not records else f"only {records}")
    else:
        assert checks(found) == [(Check.LOW_DETECTOR_HITS, 3)]


def test_low_detector_hits_are_fewer_than_50_detector_ons_in_the_peak_hour() -> None:
    events = (
        busy()
        + spread(82, 3, 49, 17)  # just below: flagged
        + spread(82, 4, 50, 17)  # just at: fine
        + spread(81, 4, 50, 17)  # detector off events are not hits
        + spread(82, 5, 100, 12)  # busy at noon, silent in the peak: flagged with 0
        + [(at(18), 82, 6)] * 1  # 18:00 is past the peak: channel 6 has 0 hits
        + spread(82, 7, 49, 17)
        + [(at(17, 59, 59.9), 82, 7)]  # the 50th hit in the last tenth of the peak: fine
        + [(at(9), 87, 9)]  # a shorted loop names channel 9: no hits at all
        + spread(90, 2, 10, 17)  # a pedestrian detector is no vehicle channel
    )
    found = judge(events)
    assert checks(found) == [
        (Check.LOW_DETECTOR_HITS, 3),
        (Check.LOW_DETECTOR_HITS, 5),
        (Check.LOW_DETECTOR_HITS, 6),
        (Check.LOW_DETECTOR_HITS, 9),
    ]
    assert [(f.figure, f.threshold) for f in found] == [(49, 50), (0, 50), (0, 50), (0, 50)]
    assert found[0].words == "detector 3: 49 hits 17:00-18:00, fewer than 50"


@pytest.mark.parametrize(
    ("gap_outs", "max_outs", "force_offs", "spoke"),
    [
        (5, 46, 0, [Check.MAX_OUT]),  # 90.2% of 51
        (6, 54, 0, []),  # 90.0% exactly: not above
        (0, 50, 0, []),  # 100% of 50: not more than 50 terminations
        (0, 51, 0, [Check.MAX_OUT]),
        (5, 0, 46, [Check.FORCE_OFF]),
        (6, 0, 54, []),
        (0, 26, 26, []),  # half and half: neither above 90%
    ],
)
def test_max_outs_and_force_offs_above_90_percent_of_more_than_50_terminations(
    gap_outs: int, max_outs: int, force_offs: int, spoke: list[Check]
) -> None:
    night = spread(4, 2, gap_outs, 1) + spread(5, 2, max_outs, 2) + spread(6, 2, force_offs, 3)
    daytime = spread(5, 4, 100, 12)  # phase 4 maxes out at noon only: not judged
    found = judge(busy() + night + daytime)
    assert checks(found) == [(check, 2) for check in spoke]
    total = gap_outs + max_outs + force_offs
    for finding in found:
        share = (max_outs if finding.check is Check.MAX_OUT else force_offs) / total
        assert (finding.figure, finding.threshold) == (share, 0.9)
    if (gap_outs, max_outs) == (5, 46):
        assert found[0].words == "phase 2 maxed out 46 of 51 times 01:00-05:00 (90.2%, over 90%)"


@pytest.mark.parametrize(("walks", "dont_walks", "stuck"), [(100, 100, False), (101, 100, True)])
def test_a_stuck_ped_is_over_200_walks_and_dont_walks_in_the_night(
    walks: int, dont_walks: int, stuck: bool
) -> None:
    night = spread(21, 4, walks, 2) + spread(23, 4, dont_walks, 3)
    evening = spread(21, 6, 300, 19)  # busy crossing in the evening: not judged
    found = judge(busy() + night + evening)
    assert checks(found) == ([(Check.STUCK_PED, 4)] if stuck else [])
    if stuck:
        assert (found[0].figure, found[0].threshold) == (201, 200)


def test_detector_faults_of_the_day_restored_or_not() -> None:
    events = [
        (at(10), 87, 5),
        (at(10, 5), 83, 5),  # restored after its fault
        (at(9), 88, 6),
        (at(9, 1), 83, 6),
        (at(9, 2), 88, 6),  # faulted again: not restored
        (at(11), 86, 7),
        (at(11), 83, 7),  # at the same tenth: which came last is unknown
        (at(11), 83, 8),  # restored with no fault in the day: not listed
        (at(12), 91, 2),
        (at(12, 10), 92, 2),
        (at(13), 91, 3),
    ]
    windows = watch_windows(DAY, UTC_ZONE, DEFAULTS)
    found = detector_faults(count_events(events, windows.day))
    assert [
        (f.kind, f.channel, f.faults, f.restorations, f.restored, f.first_fault, f.last_fault)
        for f in found
    ] == [
        (DetectorKind.VEHICLE, 5, {"shortedLoop": 1}, 1, True, at(10), at(10)),
        (DetectorKind.VEHICLE, 6, {"excessiveChange": 2}, 1, False, at(9), at(9, 2)),
        (DetectorKind.VEHICLE, 7, {"openLoop": 1}, 1, False, at(11), at(11)),
        (DetectorKind.PEDESTRIAN, 2, {"failed": 1}, 1, True, at(12), at(12)),
        (DetectorKind.PEDESTRIAN, 3, {"failed": 1}, 0, False, at(13), at(13)),
    ]
    assert found[1].words == (
        "vehicle detector 6: 2 excessiveChange, 1 restored; faulted at the end of the day"
    )


@pytest.mark.skipif(not TERMINATIONS.is_file(), reason="no ATSPM samples")
def test_the_7115_terminations_give_the_shares_the_csv_gives() -> None:
    # Independently: each row of the headerless CSV is (signal, M/D/YYYY time, code, param).
    with TERMINATIONS.open(encoding="utf-8-sig", newline="") as file:
        rows = {(r[1], int(r[2]), int(r[3])) for r in csv.reader(file)}
    counted = Counter((code, param) for _, code, param in rows)
    want = [
        PhaseCounts(p, counted[(4, p)], counted[(5, p)], counted[(6, p)], counted[(21, p)] * 2)
        for p in sorted({p for code, p in counted if code in {4, 5, 6}})
    ]
    assert all(counted[(21, p.phase)] == counted[(23, p.phase)] for p in want)
    log = decode_log(TERMINATIONS.name, TERMINATIONS.read_bytes())
    events = log.signals["7115"]  # the evening of 2023-04-17, 19:00-23:00 on its clock
    day = date(2023, 4, 17)
    evening = WatchdogThresholds(night_hours=(19, 24), percent_threshold=0.3)
    judged = watch_day("7115", tally_events(events, watch_windows(day, UTC_ZONE, evening)), evening)
    assert list(judged.phases) == want
    assert [(p.phase, round(p.max_out_share, 3), round(p.force_off_share, 3)) for p in want] == [
        (2, 0.0, 0.335),
        (4, 0.011, 0.011),
    ]
    assert judged.records == len(rows) == 1611
    assert checks(list(judged.findings)) == [(Check.FORCE_OFF, 2)]  # 61 of 182 over 30%
    # At ATSPM's own hours (01:00-05:00) the evening log has no night to judge.
    at_night = watch_day(
        "7115", tally_events(events, watch_windows(day, UTC_ZONE, DEFAULTS)), DEFAULTS
    )
    assert (at_night.phases, at_night.findings) == ((), ())


def _hires_rows() -> dict[int, set[tuple[datetime, int, int]]]:
    """The parquet sample's distinct rows by device, read by pyarrow alone."""
    by_device: dict[int, set[tuple[datetime, int, int]]] = defaultdict(set)
    for row in pq.read_table(HIRES).to_pylist():
        by_device[row["DeviceId"]].add((row["TimeStamp"], row["EventId"], row["Parameter"]))
    return by_device


@pytest.mark.skipif(not HIRES.is_file(), reason="no parquet sample")
def test_the_hires_sample_detector_faults_and_peak_hits_against_independent_counts() -> None:
    with FAULTS_CSV.open(newline="") as file:
        extract = {
            (int(r["signal_id"]), r["timestamp"], int(r["event_code"]), int(r["event_param"]))
            for r in csv.DictReader(file)
        }
    rows = _hires_rows()
    log = decode_log(HIRES.name, HIRES.read_bytes())
    day = date(2024, 5, 13)  # 15:00-18:00 on the controllers' clocks: the peak is in it
    windows = watch_windows(day, UTC_ZONE, DEFAULTS)
    for device in (227, 452, 454):
        judged = watch_day(
            str(device), tally_events(set(log.signals[str(device)]), windows), DEFAULTS
        )
        # Faults: counts by channel and code, and each channel's last word, from the extract.
        mine = sorted((t, c, p) for d, t, c, p in extract if d == device)
        counts = Counter((p, c) for _, c, p in mine)
        last = {p: c for _, c, p in mine}
        assert [f.channel for f in judged.faults] == sorted({p for p, c in counts if c != 83})
        for fault in judged.faults:
            faults = sum(n for (p, c), n in counts.items() if p == fault.channel and c != 83)
            assert (fault.count, fault.restorations) == (faults, counts[(fault.channel, 83)])
            assert fault.restored == (last[fault.channel] == 83)
        # Low hits: every vehicle channel named that day, its detector-ons 17:00-18:00.
        named = {p for _, c, p in rows[device] if 81 <= c <= 88}
        hits = Counter(p for t, c, p in rows[device] if c == 82 and t.hour == 17)
        low = sorted(p for p in named if hits[p] < 50)
        assert [f.detector for f in judged.findings if f.check is Check.LOW_DETECTOR_HITS] == low
        assert [f.figure for f in judged.findings] == [hits[p] for p in low]
    restored = {
        (d, f.channel): f.restored
        for d in (227, 454)
        for f in watch_day(str(d), tally_events(set(log.signals[str(d)]), windows), DEFAULTS).faults
    }
    assert restored == {
        (227, 63): False,
        (227, 64): False,
        (454, 3): True,
        (454, 4): False,
        (454, 8): False,
        (454, 18): True,
        (454, 66): True,
    }

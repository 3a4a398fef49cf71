from __future__ import annotations

from signalight.domain.assets import AssetKind, AssetRecord, DeviceKind
from signalight.domain.inventory import (
    CrossRowChecker,
    ExistingAsset,
    ExistingDevice,
    cross_row_problems,
)

CENTRE = (5.4, 100.4)


def rec(kind: AssetKind, code: str, **overrides: object) -> AssetRecord:
    return AssetRecord(kind=kind, code=code, lat=5.4, lon=100.4, **overrides)  # type: ignore[arg-type]


def problems(
    records: list[AssetRecord],
    assets: dict[str, ExistingAsset] | None = None,
    devices: dict[str, ExistingDevice] | None = None,
) -> list[tuple[int, str]]:
    numbered = [(i + 2, r) for i, r in enumerate(records)]
    return cross_row_problems(numbered, assets or {}, devices or {}, CENTRE, 50_000)


def test_clean_file_has_no_problems() -> None:
    records = [
        rec(AssetKind.CABINET, "CB-1", device="m-1"),
        rec(AssetKind.STREETLIGHT, "SL-1", cabinet="CB-1", device="n-1"),
        rec(AssetKind.STREETLIGHT, "SL-2", cabinet="CB-9"),
    ]
    assert problems(records, {"CB-9": ExistingAsset(AssetKind.CABINET, None)}) == []


def test_cabinet_may_come_later_in_the_file() -> None:
    records = [rec(AssetKind.STREETLIGHT, "SL-1", cabinet="CB-1"), rec(AssetKind.CABINET, "CB-1")]
    assert problems(records) == []


def test_duplicates_and_bad_references_name_their_lines() -> None:
    records = [
        rec(AssetKind.STREETLIGHT, "SL-1", device="n-1"),
        rec(AssetKind.STREETLIGHT, "SL-1"),
        rec(AssetKind.STREETLIGHT, "SL-2", cabinet="NOPE"),
        rec(AssetKind.STREETLIGHT, "SL-3", cabinet="SL-2"),
        rec(AssetKind.STREETLIGHT, "SL-4", device="n-1"),
    ]
    found = problems(records)
    assert (3, "code 'SL-1' repeats line 2") in found
    assert (4, "cabinet 'NOPE' is neither in this file nor in the city") in found
    assert (5, "cabinet 'SL-2' is a streetlight, not a cabinet") in found
    assert (6, "device 'n-1' repeats line 2") in found
    assert len(found) == 4


def test_far_away_point_suggests_swapped_coordinates() -> None:
    swapped = AssetRecord(kind=AssetKind.STREETLIGHT, code="SL-1", lat=100.4 - 90, lon=5.4)
    ((line, reason),) = problems([swapped])
    assert line == 2
    assert "swapped" in reason


def test_stored_kind_and_device_conflicts() -> None:
    records = [
        rec(AssetKind.CABINET, "SL-1"),
        rec(AssetKind.STREETLIGHT, "SL-2", device="m-1"),
        rec(AssetKind.STREETLIGHT, "SL-3", device="n-7"),
        rec(AssetKind.STREETLIGHT, "SL-4", device="n-8"),
    ]
    found = dict(
        problems(
            records,
            {"SL-1": ExistingAsset(AssetKind.STREETLIGHT, None)},
            {
                "m-1": ExistingDevice(DeviceKind.CABINET_METER, None),
                "n-7": ExistingDevice(DeviceKind.STREETLIGHT_NODE, "SL-99"),
                "n-8": ExistingDevice(DeviceKind.STREETLIGHT_NODE, "SL-4"),
            },
        )
    )
    assert "already a streetlight" in found[2]
    assert "cannot serve a streetlight" in found[3]
    assert "bound to 'SL-99'" in found[4]
    assert 5 not in found  # n-8 is already bound to SL-4 itself


def test_checker_hands_back_records_once_their_cabinet_is_known() -> None:
    checker = CrossRowChecker({"CB-0": ExistingAsset(AssetKind.CABINET, None)}, {}, CENTRE, 50_000)
    first = [
        (2, rec(AssetKind.STREETLIGHT, "SL-1", cabinet="CB-0")),  # stored cabinet
        (3, rec(AssetKind.STREETLIGHT, "SL-2", cabinet="CB-1")),  # its cabinet comes later
        (4, rec(AssetKind.STREETLIGHT, "SL-3", cabinet="CB-2")),  # ... in this same piece
        (5, rec(AssetKind.CABINET, "CB-2")),
    ]
    problems, ready = checker.feed(first)
    assert problems == []
    assert [r.code for r in ready] == ["SL-1", "SL-3", "CB-2"]
    problems, ready = checker.feed(
        [(6, rec(AssetKind.CABINET, "CB-1")), (7, rec(AssetKind.STREETLIGHT, "SL-1"))]
    )
    assert problems == [(7, "code 'SL-1' repeats line 2")]
    assert [r.code for r in ready] == ["CB-1"]
    problems, ready = checker.finish()
    assert problems == []
    assert [r.code for r in ready] == ["SL-2"]


def test_checker_reports_a_cabinet_never_seen_at_the_end() -> None:
    checker = CrossRowChecker({}, {}, CENTRE, 50_000)
    problems, ready = checker.feed([(2, rec(AssetKind.STREETLIGHT, "SL-1", cabinet="CB-9"))])
    assert (problems, ready) == ([], [])
    problems, ready = checker.finish()
    assert problems == [(2, "cabinet 'CB-9' is neither in this file nor in the city")]
    assert ready == []

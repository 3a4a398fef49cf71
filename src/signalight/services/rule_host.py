"""What the Detector gives the rules mixed into it, declared once for the type checker."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signalight.domain.alarms import Alarm, AlarmEvent, AlarmType, EventKind
    from signalight.domain.faults import DeviceProfile, Evidence
    from signalight.domain.readings import Reading
    from signalight.domain.telemetry import DeviceRef
    from signalight.services.fault_memory import Cabinet, CityState, Due, Sun, Watch

__all__ = ["RuleHost"]


class RuleHost:
    """The base of the rule mixins: the Detector's state and steps they call (no code)."""

    if TYPE_CHECKING:  # provided by the Detector
        _watches: dict[int, Watch]
        _cabinets: dict[int, Cabinet]
        _wills: dict[int, int]
        _changes: list[tuple[Alarm, EventKind, float]]
        _wall: Callable[[], float]
        raised: int

        def _judge(
            self,
            w: Watch,
            kind: AlarmType,
            evidence: Evidence,
            t: float,
            values: dict[str, Reading] | None = None,
            expected: float | None = None,
            *,
            clear_now: bool = False,
            confirm: int = 0,
        ) -> None: ...

        def _raise(
            self,
            w: Watch,
            kind: AlarmType,
            t: float,
            message: str,
            detail: dict[str, Any],
            *,
            parent: Alarm | None = None,
        ) -> None: ...

        def _open(
            self,
            city: CityState,
            kind: AlarmType,
            t: float,
            message: str,
            detail: dict[str, Any],
            *,
            asset_id: int | None,
            asset_code: str | None,
            device: DeviceProfile | None,
            current: Alarm | None,
            parent: Alarm | None = None,
        ) -> Alarm: ...

        def _close_out(self, alarm: Alarm, w: Watch | Cabinet | None, t: float) -> None: ...

        def _schedule(self, city: CityState, when: float, kind: Due, w: Watch) -> None: ...

        def _watch_all(
            self, device_ids: Iterable[int], refs: Mapping[int, DeviceRef] | None = None
        ) -> None: ...

        def _cabinet(self, asset_id: int) -> Cabinet: ...

        def flush(self) -> list[AlarmEvent]:  # noqa: D102 - the Detector's
            ...

        def _sun(self, w: Watch, t: float) -> Sun: ...

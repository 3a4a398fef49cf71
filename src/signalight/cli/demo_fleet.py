"""The demo's fleet in this process: the last hours replayed through ingest, then live.

Lamp faults show only at night and day burning only by day, so a demo that
started live would show next to nothing for hours. It first replays the
last :data:`HISTORY_S` of the fleet, as fast as ingest stores it, with one
fault of each kind the rules detect planned where it shows
(``sim/showcase.py``), and goes live from there. The replay runs beside the
server: the page and the API answer from the first second, and the alarms
come in as the replayed hours pass.
"""

from __future__ import annotations

import threading
import time
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from signalight.cli.context import console
from signalight.cli.demo_people import DEMO_CREW
from signalight.cli.simulate import crew_windows
from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.errors import NotFoundError
from signalight.services.embedded_feed import EmbeddedFeed
from signalight.sim import showcase
from signalight.sim.faults import Injection
from signalight.sim.fleet_model import SimConfig
from signalight.sim.orders import Orders
from signalight.sim.telemetry import Progress, Simulator
from signalight.sim.truth import TruthLog

# Near the equator day and night last about twelve hours each, so any sixteen
# hours hold a stretch of each long enough for every kind of fault to show
# (tests/sim/test_showcase.py checks every half hour of a day, in January and July).
HISTORY_S: Final = 16 * 3600.0
LIVE_LAG_S: Final = 1.0  # the replay catches up with the clock to within this, then paces
# Nodes and meters report every ten minutes in the demo (streetlight nodes
# report every 5 to 15): half the messages of five, so the replay of 20,000
# lights takes minutes, not a quarter of an hour.
REPORT_INTERVAL_S: Final = 600
MILESTONES: Final = 4  # the replay says where it is at each quarter


def history_start(now: float, last_heard: float | None) -> float:
    """Where the replay starts: :data:`HISTORY_S` back, or where the fleet last reported.

    A demo run again soon fills only the gap since the last one: replaying
    hours the store already holds would send devices back in time.
    """
    start = now - HISTORY_S
    if last_heard is not None and start < last_heard < now:
        return last_heard
    return start


def prepare_history(
    container: Container,
    city: City,
    now: float,
    *,
    truth: TruthLog | None = None,
    seed: int | None = None,
) -> tuple[Simulator, list[Injection]]:
    """The city's fleet on a clock at the start of the history, with its showcase faults.

    Run it up to ``now`` to replay the history.

    Args:
        container: The demo's container (its store holds the fleet).
        city: The demo city.
        now: Where the history ends, UTC epoch seconds.
        truth: Where the simulator writes its ground truth, if anywhere.
        seed: The simulator's seed (default: ``now``, so each run differs).

    Returns:
        The simulator and the faults planned in it.
    """
    heard = [at for _, at in container.db.telemetry.heard_since(now - HISTORY_S)]
    start = history_start(now, max(heard, default=None))
    config = SimConfig(
        seed=int(now) if seed is None else seed,
        light_interval=REPORT_INTERVAL_S,
        meter_interval=REPORT_INTERVAL_S,
    )
    try:  # the demo's crew books its cabinet visits: live openings are authorised, not break-ins
        windows = crew_windows(container, city, DEMO_CREW, say=False)
    except NotFoundError:
        windows = None
    simulator = Simulator.from_store(
        container.db.assets,
        city,
        config,
        start=datetime.fromtimestamp(start, UTC),
        truth=truth,
        windows=windows,
    )
    planned = showcase.plan(simulator, now)
    for injection in planned:
        simulator.inject(injection)
    return simulator, planned


def run_in_process(
    container: Container, city: City, orders: Orders | None = None
) -> Callable[[], None]:
    """Replay the history, then keep the fleet reporting live, on a thread; returns its stop.

    With ``orders``, live lamps burn as the commands their nodes ran tell them.
    """
    feed = EmbeddedFeed(container.ingest)
    path = container.settings.data_dir / "sim" / f"{city.slug}-truth.jsonl"
    truth = TruthLog.open(path, city.slug)
    zone = zoneinfo.ZoneInfo(city.timezone)
    halt = threading.Event()

    def say(text: str) -> None:
        console.print(f"fleet: {text}", soft_wrap=True, highlight=False, markup=False)

    def run() -> None:
        now = time.time()
        simulator, planned = prepare_history(container, city, now, truth=truth)
        start, shown = simulator.start, [0]

        def progress(where: Progress) -> None:
            done = int((where.time - start) / (now - start) * MILESTONES)
            if shown[0] < done < MILESTONES:
                shown[0] = done
                local = datetime.fromtimestamp(where.time, zone).strftime("%H:%M")
                say(f"replayed to {local} local time, {where.faults_started} faults so far")

        stats = simulator.run(feed, until=now, on_progress=progress, stop=halt)
        if halt.is_set():  # stopped during the replay
            return
        for light in simulator.model.lights:  # live from here: commands reach the lamps
            light.orders = orders
        kinds = ", ".join(sorted(str(i.type) for i in planned)) or "none"
        say(
            f"{simulator.devices:,} devices replayed {stats.simulated_s / 3600:.1f} h in"
            f" {stats.wall_s:.0f} s ({stats.messages:,} messages, {simulator.faults_started}"
            f" faults, of them planned: {kinds}); live from now on"
        )
        # The replay took a while: catch up with the clock flat out, then pace.
        while not halt.is_set() and time.time() - simulator.now > LIVE_LAG_S:
            simulator.run(feed, until=time.time(), stop=halt)
        simulator.run(feed, speed=1.0, stop=halt)

    thread = threading.Thread(target=run, name="demo-fleet", daemon=True)
    thread.start()
    say(
        f"replaying up to the last {HISTORY_S / 3600:.0f} h in the background (a few"
        f" minutes; the page answers meanwhile), then live; faults are logged to {path}"
    )

    def stop() -> None:
        halt.set()
        thread.join(10)
        feed.close()
        truth.close()

    return stop

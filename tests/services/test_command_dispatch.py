"""A dispatcher round in claim steps, the next claimed while this one is published.

Each command is published once per attempt; a step claimed while the link
failed is not published, and goes out again (the same id) after its pause.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import orjson
import pytest

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.commands import SqlCommandStore
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.command_batches import CommandQuery, Target, TargetKind
from signalight.domain.commands import CommandKind, CommandState
from signalight.ports.commands import AckHandler, LinkError
from signalight.services import commands as command_service
from signalight.services.commands import CommandService
from tests.conftest import make_city
from tests.services.command_rig import POLICY, START, add_lights, operator

# Before every other test's commands (the database is the session's): no one else's is due.
EARLY = START - timedelta(days=30)


class CountingLink:
    """Takes what is published, counting each command id; fails the publishes named."""

    def __init__(self, fail_on: Sequence[int] = ()) -> None:
        self.published: Counter[str] = Counter()
        self.calls = 0
        self._fail_on = set(fail_on)

    def start(self, on_acks: AckHandler) -> None:
        pass

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        self.calls += 1
        if self.calls in self._fail_on:
            raise LinkError("the broker went away")
        for _topic, payload in messages:
            self.published[orjson.loads(payload)["id"]] += 1

    def stop(self) -> None:
        pass


def _service(database: SqlDatabase, lights: int) -> tuple[CommandService, ManualClock, int, int]:
    """The service over a city of ``lights`` lights, one command to each; the city and batch ids."""
    city = make_city(database)
    add_lights(database, city, lights)
    clock = ManualClock(EARLY)
    service = CommandService(
        SqlCommandStore(database.engine), database.assets, database.cities, clock, policy=POLICY
    )
    batch = service.request(
        city, operator(city), CommandKind.DIM, {"level": 40}, Target(TargetKind.CITY),
        expires_at=EARLY + timedelta(days=1), why="test",
    )  # fmt: skip
    return service, clock, city.pk, batch.id


def test_a_round_claims_in_steps_and_publishes_each_command_once(
    database: SqlDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command_service, "CLAIM_STEP", 3)
    service, clock, _city_id, batch_id = _service(database, 10)
    link = CountingLink()
    report = service.dispatch(link, limit=7)  # steps of 3, 3 and 1
    assert (report.sent, link.calls) == (7, 3)
    assert service.store.progress(batch_id).as_dict()["queued"] == 3  # not claimed ahead
    assert service.dispatch(link).sent == 3
    assert service.dispatch(link).sent == 0
    assert len(link.published) == 10
    assert set(link.published.values()) == {1}
    _expire(service, clock)


def test_a_step_claimed_while_the_link_failed_goes_out_after_its_pause(
    database: SqlDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command_service, "CLAIM_STEP", 4)
    service, clock, city_id, batch_id = _service(database, 10)
    link = CountingLink(fail_on=[2])
    report = service.dispatch(link)
    # The first step went out; the second was claimed (counted as sent) and failed
    # at the link; the third was claimed meanwhile and not published.
    assert report.sent == 4
    assert report.link_error
    counts = service.store.progress(batch_id).as_dict()
    assert (counts["sent"], counts["queued"]) == (10, 0)
    assert sum(link.published.values()) == 4
    assert service.dispatch(link).sent == 0  # nothing is due before the pause
    clock.advance(timedelta(seconds=POLICY.first_s + 1))
    second = service.dispatch(link)
    assert second.sent == 10  # all again, the same ids
    mine = service.store.query_commands(city_id, CommandQuery(batch_id=batch_id, limit=100))
    assert set(link.published) == {c.id for c in mine}
    assert Counter(link.published.values()) == {2: 4, 1: 6}
    assert {(c.state, c.attempts) for c in mine} == {(CommandState.SENT, 2)}
    _expire(service, clock)


def _expire(service: CommandService, clock: ManualClock) -> None:
    """Leave none of ours waiting for the tests that follow (their clocks are later)."""
    clock.advance(timedelta(days=2))
    assert service.dispatch(CountingLink()).expired == 10

"""Commands to devices: requests with their roles, the dispatcher's round, and answers.

A request names a kind, its arguments and the assets (a list, a group, a
cabinet's, the city's); it becomes one batch of commands, one per device,
stored with the audit entry of who asked. :meth:`CommandService.dispatch`
expires what has run out, then publishes what is due: queued commands and
sent ones whose pause has passed (the same id again, so nothing runs twice).
:meth:`CommandService.handle_answers` ends a command only with its own
device's timely answer; everything else is a stray, kept and counted.

Roles: an operator or admin commands anything; a crew member may switch one
streetlight on or off (a repair); a viewer reads.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from signalight.domain.assets import AssetKind
from signalight.domain.command_batches import (
    WHY_MAX,
    BatchProgress,
    CommandBatch,
    CommandQuery,
    Target,
    TargetKind,
)
from signalight.domain.commands import (
    DEFAULT_EXPIRY,
    Command,
    CommandKind,
    CommandState,
    Ending,
    RetryPolicy,
    Stray,
    StrayReason,
    check_args,
    check_expiry,
    judge_ack,
    new_command_id,
)
from signalight.domain.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from signalight.domain.users import Role, User
from signalight.ports.commands import LinkError
from signalight.services.auth import require_role
from signalight.services.command_reports import (
    AnswerReport,
    CommandObserver,
    DispatchReport,
    NoObserver,
    too_late,
)
from signalight.services.command_routes import Answer, Router

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from signalight.domain.assets import Asset
    from signalight.domain.cities import City
    from signalight.domain.commands import Due
    from signalight.ports import Clock
    from signalight.ports.commands import CommandLink, CommandStore

__all__ = ["AnswerReport", "CommandObserver", "CommandService", "DispatchReport"]

log = logging.getLogger(__name__)

DISPATCH_LIMIT: Final = 50_000  # commands published in one round (a full round: go on at once)
CLAIM_STEP: Final = 5000  # commands claimed by one statement; the next is claimed while publishing
# Kinds that only a streetlight's node runs.
LIGHTING: Final = frozenset(
    {CommandKind.SWITCH, CommandKind.DIM, CommandKind.OVERRIDE, CommandKind.PROFILE}
)
EXPIRE_EVERY: Final = timedelta(seconds=1)


class CommandService:
    """Requests, the dispatcher's round, and answers, over one store.

    Args:
        store: Where batches, commands and strays are kept.
        assets: The inventory's assets (``iter_assets``), to find the devices of a target.
        cities: To name a command's city in its topic, and an answer's city by its slug.
        clock: The time of everything.
        policy: When an unanswered command is sent again.
        router: Where commands go on the broker, and how answers are read.
        observer: Counts (Prometheus).
    """

    def __init__(
        self,
        store: CommandStore,
        assets: Any,  # noqa: ANN401 - AssetRepository; only iter_assets is used
        cities: Any,  # noqa: ANN401 - CityRepository; only list_cities is used
        clock: Clock,
        *,
        policy: RetryPolicy | None = None,
        router: Router | None = None,
        observer: CommandObserver | None = None,
    ) -> None:
        self.store = store
        self._assets = assets
        self._cities = cities
        self._clock = clock
        self.policy = policy or RetryPolicy()
        self.router = router or Router()
        self.observer: CommandObserver = observer or NoObserver()
        self._expired_at: datetime | None = None
        self._slugs: dict[int, str] = {}
        self._ids: dict[str, int] = {}

    # Requests and reads.

    def request(
        self,
        city: City,
        user: User,
        kind: CommandKind,
        args: Mapping[str, Any],
        target: Target,
        *,
        expires_at: datetime | None = None,
        why: str = "",
    ) -> CommandBatch:
        """Ask for a command to every device of ``target``; returns the stored batch.

        Raises:
            PermissionDeniedError: The caller's role does not allow it.
            InvalidInputError: Bad arguments or expiry, an asset code the city
                lacks, or a target with no device.
        """
        role = require_role(user, city, Role.CREW)
        now = self._clock.now()
        args = check_args(kind, args, now)
        expires = check_expiry(expires_at or now + DEFAULT_EXPIRY, now)
        why = why.strip()
        if len(why) > WHY_MAX:
            raise InvalidInputError(f"why: at most {WHY_MAX} characters")
        chosen = self._targets(city, target)
        if kind in LIGHTING and target.kind is not TargetKind.ASSETS:
            # A lamp's commands go to lamps: not to the signal monitors and cabinet
            # meters of a group, a cabinet or the city (name those one by one).
            chosen = [a for a in chosen if a.kind is AssetKind.STREETLIGHT]
        if role is Role.CREW:
            self._crew_may(kind, target, chosen)
        devices = [a for a in chosen if a.device]
        if not devices:
            raise InvalidInputError(f"{target.describe()}: no asset there has a device")
        commands = [
            Command(
                id=new_command_id(),
                city_id=city.pk,
                device_uid=str(asset.device),
                asset_code=asset.code,
                kind=kind,
                args=args,
                requested_by=user.username,
                created_at=now,
                expires_at=expires,
                next_at=now,
            )
            for asset in devices
        ]
        batch = CommandBatch(
            city_id=city.pk,
            kind=kind,
            args=args,
            target=target,
            requested_by=user.username,
            why=why,
            created_at=now,
            expires_at=expires,
            skipped=tuple(a.code for a in chosen if not a.device)[:1000],
        )
        stored = self.store.add_batch(batch, commands)
        log.info(
            "%s asked for %s to %d devices in %s (batch %d)",
            user.username, kind, len(commands), city.slug, stored.id,
        )  # fmt: skip
        return stored

    def _targets(self, city: City, target: Target) -> list[Asset]:
        everything: Iterable[Asset] = self._assets.iter_assets(city.pk)
        match target.kind:
            case TargetKind.CITY:
                return list(everything)
            case TargetKind.GROUP:
                return [a for a in everything if a.group == target.names[0]]
            case TargetKind.CABINET:
                found = [a for a in everything if a.cabinet == target.names[0]]
                if not found:
                    raise InvalidInputError(f"cabinet {target.names[0]!r} feeds no asset")
                return found
            case TargetKind.ASSETS:
                wanted = set(target.names)
                found = [a for a in everything if a.code in wanted]
                missing = wanted - {a.code for a in found}
                if missing:
                    raise InvalidInputError(f"no asset {min(missing)!r} in this city")
                return found

    @staticmethod
    def _crew_may(kind: CommandKind, target: Target, chosen: list[Asset]) -> None:
        """A crew member switches one streetlight, for a repair; nothing else."""
        one_light = (
            target.kind is TargetKind.ASSETS
            and len(chosen) == 1
            and chosen[0].kind is AssetKind.STREETLIGHT
        )
        if kind is not CommandKind.SWITCH or not one_light:
            raise PermissionDeniedError(
                "a crew member may only switch one streetlight on or off;"
                " other commands need the operator role"
            )

    def batch(self, city: City, user: User, batch_id: int) -> tuple[CommandBatch, BatchProgress]:
        """A batch of the city and its progress (viewer and up)."""
        require_role(user, city, Role.VIEWER)
        found = self.store.get_batch(city.pk, batch_id)
        return found, self.store.progress(found.id)

    def command(self, city: City, user: User, command_id: str) -> tuple[Command, list[Stray]]:
        """A command of the city and the strays naming it (viewer and up)."""
        require_role(user, city, Role.VIEWER)
        found = self.store.get_command(city.pk, command_id)
        return found, self.store.query_strays(city.pk, command_id=command_id)

    def query(self, city: City, user: User, query: CommandQuery) -> list[Command]:
        """The city's commands, newest first (viewer and up)."""
        require_role(user, city, Role.VIEWER)
        return self.store.query_commands(city.pk, query)

    def strays(self, city: City, user: User, limit: int = 100) -> list[Stray]:
        """The city's stray answers, newest first (viewer and up)."""
        require_role(user, city, Role.VIEWER)
        return self.store.query_strays(city.pk, limit=limit)

    # The dispatcher.

    def dispatch(self, link: CommandLink, *, limit: int = DISPATCH_LIMIT) -> DispatchReport:
        """One round: expire what ran out, publish what is due; a lost broker loses nothing.

        Each command is counted as sent before it is published, so a crash
        between the two sends it again (the same id) after its pause, not never.
        The due commands are claimed ``CLAIM_STEP`` at a time, the next step on
        a thread of its own while the link publishes this one (the database's
        time and the broker's overlap); a step claimed but not published (the
        link failed) is likewise sent again after its pause.
        """
        report = DispatchReport()
        now = self._clock.now()
        # Expiring scans every waiting command: once a second is soon enough, and
        # a fan-out's rounds, a few tenths of a second apart, do not each pay for it.
        if self._expired_at is None or now - self._expired_at >= EXPIRE_EVERY:
            self._expired_at = now
            report.expired = self.store.expire_overdue(now)
            if report.expired:
                self.observer.ended(CommandState.EXPIRED, report.expired)
        step = max(1, min(limit, CLAIM_STEP))
        with ThreadPoolExecutor(1, thread_name_prefix="command-claim") as claimer:
            claimed = claimer.submit(self._claim, step)
            taken = 0
            while True:
                at, due = claimed.result()
                taken += len(due)
                more = len(due) == step and taken < limit
                if more:
                    claimed = claimer.submit(self._claim, min(step, limit - taken))
                if not due or not self._publish(link, due, at, report) or not more:
                    break
        return report

    def _claim(self, limit: int) -> tuple[datetime, list[Due]]:
        now = self._clock.now()
        return now, self.store.claim_due(now, limit, self.policy)

    def _publish(
        self, link: CommandLink, due: list[Due], now: datetime, report: DispatchReport
    ) -> bool:
        """Publish claimed commands (those that cannot be sent fail); False if the link failed."""
        messages: dict[str, tuple[str, bytes]] = {}
        refused: dict[str, list[str]] = {}
        for command in due:
            try:
                slug = self._slug(command.city_id)
                messages[command.id] = self.router.outgoing(slug, command, now)
            except (InvalidInputError, NotFoundError, ValueError) as exc:
                refused.setdefault(str(exc), []).append(command.id)
        failed = 0
        for reason, ids in refused.items():
            failed += self.store.mark_failed(ids, reason, now)
            log.warning("%d commands cannot be sent: %s", len(ids), reason)
        if failed:
            report.failed += failed
            self.observer.ended(CommandState.FAILED, failed)
        if not messages:
            return True
        try:
            link.publish(list(messages.values()))
        except LinkError as exc:
            report.link_error = str(exc)
            log.warning(
                "%d commands not yet with the broker (%s); sent again later", len(messages), exc
            )
            return False
        report.sent += len(messages)
        self.observer.sent(len(messages))
        return True

    # Answers.

    def handle_answers(self, messages: Sequence[tuple[str, bytes]]) -> AnswerReport:
        """Judge a batch of answers as they came; end the commands they rightly end."""
        report = AnswerReport()
        now = self._clock.now()
        answers: list[Answer] = []
        strays: list[Stray] = []
        for topic, payload in messages:
            answer = self.router.incoming(topic, payload)
            if answer is None:
                continue
            if answer.news_only:
                report.news += 1
            elif answer.ack is None:
                strays.append(self._stray(StrayReason.MALFORMED, answer, "", now))
            else:
                answers.append(answer)
        ending = self._judge(answers, strays, now)
        stored = set(self.store.end(list(ending.values())))
        for command in ending.values():
            if command.id in stored:
                report.ended += 1
                self.observer.ended(command.state, 1)
            else:  # ended meanwhile (expired by the dispatcher, or answered in another process)
                strays.append(too_late(command, now))
        self.store.add_strays(strays)
        for stray in strays:
            report.strays[stray.reason] = report.strays.get(stray.reason, 0) + 1
            self.observer.stray(stray.reason)
        if strays:
            log.info("%d answers changed no command: %s", len(strays), dict(report.strays))
        return report

    def _judge(
        self, answers: list[Answer], strays: list[Stray], now: datetime
    ) -> dict[str, Ending]:
        """The commands these answers end, in order of arrival; the rest go to ``strays``."""
        known = self.store.standing({a.ack.id for a in answers if a.ack is not None})
        ending: dict[str, Ending] = {}
        for answer in answers:
            assert answer.ack is not None  # noqa: S101 - the caller passes readable ones
            command = ending.get(answer.ack.id) or known.get(answer.ack.id)
            if answer.city_slug is not None:
                city_id = self._city_id(answer.city_slug)
            else:  # a network server's answer names no city: the device must match alone
                city_id = None if command is None else command.city_id
            verdict = judge_ack(command, city_id or -1, answer.device_uid, answer.ack, now)
            if isinstance(verdict, Ending):
                ending[verdict.id] = verdict
            else:
                strays.append(self._stray(verdict, answer, answer.ack.id, now, city_id))
        return ending

    def _stray(
        self,
        reason: StrayReason,
        answer: Answer,
        command_id: str,
        now: datetime,
        city_id: int | None = None,
    ) -> Stray:
        if city_id is None and answer.city_slug:
            city_id = self._city_id(answer.city_slug)
        status = "" if answer.ack is None else f"{answer.ack.status} {answer.ack.reason}".strip()
        detail = f"{answer.route}: {answer.detail or status}"
        return Stray(
            reason=reason, at=now, city_id=city_id, device_uid=answer.device_uid[:64],
            command_id=command_id, detail=detail,
        )  # fmt: skip

    def _slug(self, city_id: int) -> str:
        if city_id not in self._slugs:
            self._load_cities()
        try:
            return self._slugs[city_id]
        except KeyError:
            raise NotFoundError(f"no city {city_id}") from None

    def _city_id(self, slug: str) -> int | None:
        if slug not in self._ids:
            self._load_cities()
        return self._ids.get(slug)

    def _load_cities(self) -> None:
        for city in self._cities.list_cities():
            self._slugs[city.pk] = city.slug
            self._ids[city.slug] = city.pk

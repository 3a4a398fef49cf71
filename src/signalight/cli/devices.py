"""`signalight device`: devices' MQTT credentials and the broker's password file and ACL."""

from __future__ import annotations

import csv
import io
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from signalight.adapters import mosquitto
from signalight.adapters.files import (
    PRIVATE,
    PUBLIC,
    create_private,
    read_or_create_secret,
    write_atomically,
)
from signalight.adapters.mqtt_commands import COMMANDS_USER
from signalight.cli.context import console, err_console, friendly, opened
from signalight.codecs.csv_cells import escape_cell
from signalight.container import Container
from signalight.domain.topics import INGEST_USER, ingest_username
from signalight.services.credentials import CredentialService, IssuedCredential, new_secret

app = typer.Typer(help="Devices: MQTT credentials and the broker's files.", no_args_is_help=True)

# Kept in the data directory, mode 0600: the ingest service reads it to connect.
INGEST_SECRET_FILE = "mqtt-ingest.secret"  # noqa: S105 (a file name, not a secret)
SIMULATOR_SECRET_FILE = "mqtt-simulator.secret"  # noqa: S105 (a file name, not a secret)
PAGE = 1000


class AclStyle(StrEnum):
    """How the ACL gives each device its own topics."""

    PATTERN = "pattern"  # four %u lines for every device: Mosquitto 2.0
    PER_DEVICE = "per-device"  # a user block per device: any Mosquitto, slower to load


def _service(container: Container) -> CredentialService:
    return CredentialService(container.db.assets, container.db.credentials, mosquitto.hash_password)


def _csv(issued: list[IssuedCredential]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("device", "username", "password"))
    # A device id may begin with '=', '-' or '@', which a spreadsheet would run as a formula.
    # Passwords never begin so (new_secret), so escaping leaves them as issued.
    writer.writerows(
        (escape_cell(c.device), escape_cell(c.username), escape_cell(c.password)) for c in issued
    )
    return buffer.getvalue()


@app.command("credentials")
@friendly
def credentials(
    city: Annotated[str, typer.Argument(help="City slug")],
    device: Annotated[str | None, typer.Option(help="Only this device id")] = None,
    rotate: Annotated[
        bool, typer.Option(help="Replace existing credentials too (the old ones stop working)")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the CSV to this new file (mode 0600) instead of stdout"),
    ] = None,
) -> None:
    """Issue MQTT passwords to the city's devices that have none, and show them once.

    Prints (or writes) `device,username,password` rows. Only hashes are
    stored: a lost password is replaced with --rotate. Run `signalight
    device broker-files` afterwards so that the broker knows them.
    """
    # The output file is created before anything is stored, so that a file
    # that cannot be written costs no device its credentials.
    fd = create_private(out) if out is not None else None
    try:
        with opened() as container:
            result = _service(container).issue(container.cities.get(city), device, rotate=rotate)
    except BaseException:
        if fd is not None and out is not None:
            os.close(fd)
            out.unlink()
        raise
    for problem in result.refused:
        err_console.print(f"[yellow]skipped[/] {problem}", soft_wrap=True, markup=False)
    if fd is not None:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(_csv(result.issued))
    elif result.issued:
        typer.echo(_csv(result.issued), nl=False)
    kept = f"; {result.kept} kept theirs (--rotate replaces them)" if result.kept else ""
    where = f" in {out} (mode 0600)" if out is not None else " (shown once)"
    err_console.print(f"issued {len(result.issued)} credentials{where}{kept}", soft_wrap=True)
    if result.issued:
        err_console.print("now run `signalight device broker-files` and reload Mosquitto")


@app.command("revoke")
@friendly
def revoke(
    city: Annotated[str, typer.Argument(help="City slug")],
    device: Annotated[str, typer.Argument(help="Device id")],
) -> None:
    """Take a device's MQTT credentials away (after broker-files and a reload)."""
    with opened() as container:
        _service(container).revoke(container.cities.get(city), device)
    console.print(f"revoked {device} in {city}; run `signalight device broker-files`")


@app.command("broker-files")
@friendly
def broker_files(
    passwd: Annotated[Path, typer.Option(help="The Mosquitto password_file to write")],
    acl: Annotated[Path, typer.Option(help="The Mosquitto acl_file to write")],
    acl_style: Annotated[
        AclStyle, typer.Option(help="pattern for Mosquitto 2.0; per-device for 2.1")
    ] = AclStyle.PATTERN,
    ingest_user: Annotated[
        str, typer.Option(help="The ingest service's MQTT username")
    ] = INGEST_USER,
    ingest_workers: Annotated[
        int, typer.Option(min=1, max=64, help="Accounts for this many ingest workers")
    ] = 1,
    simulator_user: Annotated[
        str | None,
        typer.Option(help="An account for `signalight simulate` (test and demo brokers only)"),
    ] = None,
    commands_user: Annotated[
        str | None,
        typer.Option(
            help=f"An account for `signalight command serve` (give {COMMANDS_USER});"
            " it shares the ingest password"
        ),
    ] = None,
) -> None:
    """Write Mosquitto's password file (0600) and ACL (0644) for every city's devices.

    The ingest service accounts (one per worker: signalight-ingest,
    signalight-ingest-2, ...) share a password of their own, made on first
    use and kept in the data directory (mode 0600); so does the simulator's
    account, if asked for. Reload Mosquitto with SIGHUP afterwards.
    """
    with opened() as container:
        entries = _service(container).broker_entries()
        data_dir = container.settings.data_dir
    users = [username for username, _ in entries]
    secret, made = read_or_create_secret(data_dir / INGEST_SECRET_FILE, new_secret)
    hashed = mosquitto.hash_password(secret)
    accounts = [(ingest_username(ingest_user, n), hashed) for n in range(1, ingest_workers + 1)]
    if commands_user is not None:  # `signalight command serve`, with the ingest secret
        accounts.append((commands_user, hashed))
    kept = "made" if made else "kept"
    notes = [f"{kept} the {ingest_user} password in {data_dir / INGEST_SECRET_FILE}"]
    if simulator_user is not None:
        sim_secret, made = read_or_create_secret(data_dir / SIMULATOR_SECRET_FILE, new_secret)
        accounts.append((simulator_user, mosquitto.hash_password(sim_secret)))
        notes.append(
            f"{'made' if made else 'kept'} the {simulator_user} password in"
            f" {data_dir / SIMULATOR_SECRET_FILE}; it may publish as any device"
        )
    write_atomically(passwd, mosquitto.password_file([*entries, *accounts]), PRIVATE)
    per_device = users if acl_style is AclStyle.PER_DEVICE else None
    acl_text = mosquitto.acl_file(
        ingest_user,
        per_device,
        workers=ingest_workers,
        simulator=simulator_user,
        commands=commands_user,
    )
    write_atomically(acl, acl_text, PUBLIC)
    for note in notes:
        err_console.print(note, soft_wrap=True)
    console.print(
        f"wrote {passwd} ({len(entries)} devices and {len(accounts)} service accounts)"
        f" and {acl} ({acl_style} ACL)",
        soft_wrap=True,
    )
    console.print("reload Mosquitto to apply them: kill -HUP <its pid>", soft_wrap=True)


@app.command("list")
@friendly
def list_(city: Annotated[str, typer.Argument(help="City slug")]) -> None:
    """The city's devices, the asset each is bound to, and whether it has credentials."""
    with opened() as container:
        target = container.cities.get(city)
        after, count, with_credentials = 0, 0, 0
        while True:
            page = container.inventory.devices(target, None, after, PAGE)
            count += len(page.items)
            with_credentials += sum(item.has_credentials for item in page.items)
            if page.items:
                typer.echo(
                    "\n".join(
                        f"{item.uid}\t{item.kind}\t{item.asset_code or '-'}\t"
                        f"{'credentials' if item.has_credentials else 'none'}"
                        for item in page.items
                    )
                )
            if page.next_after is None:
                break
            after = page.next_after
    err_console.print(f"{count} devices, {with_credentials} with credentials")

"""The rig of bench/ingest.py: a real Mosquitto, a fast QoS 1 publisher, ingest workers.

Self-contained on purpose (the tests' rig is not imported): a Mosquitto
started from deploy/mosquitto/signalight.conf with only the listener, the
paths and the user changed; a publisher that writes pre-encoded MQTT 3.1.1
QoS 1 PUBLISH packets straight to a socket, so that it costs a small part of
a core and the broker, not the bench, sets the pace; `signalight ingest`
processes; their /metrics; and the CPU each process used.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from signalight.adapters import mosquitto
from signalight.domain.topics import INGEST_USER, TOPIC_ROOT, Channel

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "deploy" / "mosquitto" / "signalight.conf"
MOSQUITTO = Path("/usr/sbin/mosquitto")
SIGNALIGHT = Path(sys.executable).parent / "signalight"
PUBLISHER = "bench-publisher"
SUBSCRIBER = "bench-subscriber"
SECRET = "bench-secret"  # noqa: S105 - a throwaway broker on the loopback interface
CLK_TCK = os.sysconf("SC_CLK_TCK")
AHEAD = 2000  # messages published and not yet acknowledged by the broker


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def worker_users(workers: int) -> list[str]:
    """The MQTT accounts of ``workers`` ingest workers (one connection per account)."""
    if workers == 1:
        return [INGEST_USER]
    return [f"{INGEST_USER}-{n}" for n in range(1, workers + 1)]


def render_conf(port: int, workdir: Path) -> str:
    """The shipped configuration with only the listener, the paths and the user changed.

    The TLS listener is left out (its block runs to the next blank line): the
    benchmark measures ingest on the loopback listener, as it runs beside the broker.
    """
    replacements = {
        "listener 1883": f"listener {port} 127.0.0.1",
        "password_file": f"password_file {workdir / 'passwd'}",
        "acl_file": f"acl_file {workdir / 'acl'}",
        "persistence_location": f"persistence_location {workdir / 'store'}/",
    }
    lines, seen = [], set()
    in_tls_block = False
    for line in CONF.read_text().splitlines():
        words = line.split(" ")
        key = " ".join(words[:2]) if words[0] == "listener" else words[0]
        in_tls_block = key == "listener 8883" or (in_tls_block and line != "")
        if in_tls_block:
            continue
        if key in replacements:
            seen.add(key)
            line = replacements[key]  # noqa: PLW2901 (the line, rewritten)
        lines.append(line)
    if seen != set(replacements):
        sys.exit(f"{CONF} lost one of {sorted(replacements)}")
    # As root Mosquitto drops to the `mosquitto` user, which cannot read our files.
    lines.append(f"user {getpass.getuser()}")
    return "\n".join(lines) + "\n"


@dataclass
class Broker:
    """One Mosquitto with the ingest accounts, a publisher and a subscriber account."""

    workdir: Path
    users: list[str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        """What the broker wrote."""
        return self.workdir / "mosquitto.log"

    def start(self) -> None:
        """Write the password file and ACL, start the broker, wait until it listens."""
        if not MOSQUITTO.exists():
            sys.exit("Mosquitto is needed: apt-get install mosquitto mosquitto-clients")
        (self.workdir / "store").mkdir(parents=True, exist_ok=True)
        accounts = [*self.users, PUBLISHER, SUBSCRIBER]
        hashed = [(user, mosquitto.hash_password(SECRET)) for user in accounts]
        (self.workdir / "passwd").write_text(mosquitto.password_file(hashed))
        acl = "".join(mosquitto.acl_file(user) for user in self.users)
        acl += f"\nuser {PUBLISHER}\ntopic write {TOPIC_ROOT}/#\n"
        acl += f"\nuser {SUBSCRIBER}\ntopic read {TOPIC_ROOT}/#\n"
        (self.workdir / "acl").write_text(acl)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(render_conf(self.port, self.workdir))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own file
                [str(MOSQUITTO), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"Mosquitto exited at start:\n{self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                time.sleep(0.05)
            else:
                return
        sys.exit(f"Mosquitto did not listen in time:\n{self.log.read_text()}")

    @property
    def pid(self) -> int:
        """The broker's process id (0 when stopped)."""
        return self.process.pid if self.process is not None else 0

    def stop(self) -> None:
        """Stop the broker (kill it if it hangs saving a large store)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


# --- MQTT on a bare socket --------------------------------------------------------------------


def _varint(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def _string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("!H", len(raw)) + raw


def _property(identifier: int, value: bytes) -> bytes:
    return bytes([identifier]) + value


def connect_packet(
    username: str,
    *,
    mqtt5: bool = False,
    clean: bool = True,
    session_expiry: int = 0,
    receive_maximum: int = 0,
    keepalive: int = 1200,
) -> bytes:
    """CONNECT with a username and the bench secret; MQTT 5 adds the session's properties."""
    flags = 0xC0 | (0x02 if clean else 0)
    header = _string("MQTT") + bytes([5 if mqtt5 else 4, flags]) + struct.pack("!H", keepalive)
    if mqtt5:
        props = _property(0x11, struct.pack("!I", session_expiry)) if session_expiry else b""
        if receive_maximum:
            props += _property(0x21, struct.pack("!H", receive_maximum))
        header += _varint(len(props)) + props
    body = header + _string(username) + _string(username) + _string(SECRET)
    return b"\x10" + _varint(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    """An MQTT 3.1.1 PUBLISH at QoS 1."""
    body = _string(topic) + struct.pack("!H", packet_id) + payload
    return b"\x32" + _varint(len(body)) + body


def _read_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        more = sock.recv(count - len(data))
        if not more:
            raise ConnectionError("the broker closed the connection")
        data += more
    return data


def _read_packet(sock: socket.socket) -> tuple[int, bytes]:
    kind = _read_exact(sock, 1)[0]
    length, shift = 0, 0
    while True:
        byte = _read_exact(sock, 1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return kind, _read_exact(sock, length)


def _open(port: int, packet: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(packet)
    kind, body = _read_packet(sock)
    code = body[1] if len(body) > 1 else 255
    if kind != 0x20 or code != 0:
        sock.close()
        raise ConnectionError(f"the broker refused the connection (CONNACK {body.hex()})")
    return sock


def prime_session(
    port: int, username: str, filters: list[str], session_expiry: int, receive_maximum: int
) -> None:
    """Make a worker account's persistent session with its subscriptions, as a first run does.

    Messages published before any ingest process subscribed would have nowhere
    to go; in production the session exists from the first start on. The
    session gets ingest's own Receive Maximum, as if ingest had made it.
    """
    connect = connect_packet(
        username,
        mqtt5=True,
        clean=False,
        session_expiry=session_expiry,
        receive_maximum=receive_maximum,
    )
    sock = _open(port, connect)
    body = struct.pack("!H", 1) + b"\x00"  # packet id 1, no properties
    for topic in filters:
        body += _string(topic) + b"\x01"  # QoS 1
    sock.sendall(b"\x82" + _varint(len(body)) + body)
    kind, reply = _read_packet(sock)
    codes = reply[3:]
    if kind != 0x90 or any(code != 1 for code in codes):
        raise ConnectionError(f"the broker refused {filters}: SUBACK {reply.hex()}")
    sock.sendall(b"\xe0\x00")  # DISCONNECT, normal
    sock.close()


class Subscriber:
    """A QoS 0 subscriber on a bare socket; ``on_message(topic, payload, monotonic time)``."""

    def __init__(
        self, port: int, topics: list[str], on_message: Callable[[str, bytes, float], None]
    ) -> None:
        self.sock = _open(port, connect_packet(SUBSCRIBER))
        body = struct.pack("!H", 1)
        for topic in topics:
            body += _string(topic) + b"\x00"
        self.sock.sendall(b"\x82" + _varint(len(body)) + body)
        kind, _ = _read_packet(self.sock)
        if kind != 0x90:
            raise ConnectionError("no SUBACK")
        self.sock.settimeout(None)
        self._on_message = on_message
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                kind, body = _read_packet(self.sock)
            except (OSError, ConnectionError):
                return
            if kind >> 4 == 3:  # PUBLISH, QoS 0: topic, then the payload
                length = struct.unpack("!H", body[:2])[0]
                self._on_message(
                    body[2 : 2 + length].decode(), body[2 + length :], time.monotonic()
                )

    def close(self) -> None:
        """Close the connection."""
        try:
            self.sock.sendall(b"\xe0\x00")
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


Chunk = tuple[bytes, int]  # PUBLISH packets back to back, and how many


class Publisher:
    """QoS 1 publisher on a bare socket: sends pre-encoded packets, counts PUBACKs.

    At most ``AHEAD`` messages are unacknowledged at a time (packet ids cycle
    through 1-65535, so none is reused while in flight). The broker sends this
    client nothing but 4-byte PUBACKs, so the acknowledgements are the bytes
    received divided by four.
    """

    def __init__(self, port: int, username: str = PUBLISHER) -> None:
        self.sock = _open(port, connect_packet(username))
        self._received = 0
        self.sent = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def acked(self) -> int:
        """Messages the broker has acknowledged."""
        return self._received // 4

    def _read(self) -> None:
        recv = self.sock.recv
        while True:
            try:
                data = recv(1 << 16)
            except OSError:
                return
            if not data:
                return
            self._received += len(data)

    def send(self, chunk: Chunk) -> None:
        """Send one chunk once the window has room for it."""
        blob, count = chunk
        while self.sent - self.acked > AHEAD - count:
            time.sleep(0.0002)
        self.sock.sendall(blob)
        self.sent += count

    def publish(
        self, chunks: list[Chunk], *, until: float = float("inf"), rate: float = 0.0
    ) -> None:
        """Send chunks until the monotonic ``until``: at ``rate`` msg/s, or (0) flat out.

        Paced, a chunk waits for its time; one late goes at once, so a
        publisher that falls behind sends as fast as the broker acknowledges.
        """
        started, sent = time.monotonic(), 0
        for chunk in chunks:
            now = time.monotonic()
            if now >= until:
                return
            if rate:
                due = started + sent / rate
                if due > now:
                    time.sleep(due - now)
            self.send(chunk)
            sent += chunk[1]

    def wait_acked(self, timeout: float = 120.0) -> bool:
        """Wait until the broker acknowledged everything sent."""
        deadline = time.monotonic() + timeout
        while self.acked < self.sent:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self) -> None:
        """DISCONNECT and close."""
        try:
            self.sock.sendall(b"\xe0\x00")
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def chunks_of(packets: list[bytes], size: int) -> list[Chunk]:
    """Packets joined ``size`` at a time."""
    return [
        (b"".join(packets[n : n + size]), len(packets[n : n + size]))
        for n in range(0, len(packets), size)
    ]


def device_topic(city: str, uid: str) -> str:
    """A device's uplink topic."""
    return f"{TOPIC_ROOT}/{city}/{uid}/{Channel.UP}"


# --- ingest workers ---------------------------------------------------------------------------


@dataclass
class Worker:
    """`signalight ingest` in a process of its own, as an operator runs it."""

    workdir: Path
    database_url: str
    broker_port: int
    username: str
    share_group: str | None = None
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    judge: int = 0  # N > 0: `signalight detect --worker N` (the fault rules alone) instead

    @property
    def log(self) -> Path:
        """What the process wrote."""
        return self.workdir / f"ingest-{self.username}.log"

    def start(self) -> None:
        """Start it; it connects by itself."""
        env = {
            **os.environ,
            "SIGNALIGHT_DATA_DIR": str(self.workdir / "data"),
            "SIGNALIGHT_DATABASE_URL": self.database_url,
            "SIGNALIGHT_MQTT_HOST": "127.0.0.1",
            "SIGNALIGHT_MQTT_PORT": str(self.broker_port),
            "SIGNALIGHT_MQTT_USERNAME": self.username,
            "SIGNALIGHT_MQTT_PASSWORD": SECRET,
            "SIGNALIGHT_LOG_LEVEL": "WARNING",
            "COLUMNS": "250",  # one log record a line
        }
        command = [str(SIGNALIGHT), "ingest", "--metrics-port", str(self.metrics_port)]
        if self.share_group:
            command += ["--share-group", self.share_group]
        if self.judge:
            env["SIGNALIGHT_MQTT_USERNAME"] = INGEST_USER  # it signs in as INGEST_USER-N
            command = [str(SIGNALIGHT), "detect", "--worker", str(self.judge)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own entry point
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    @property
    def pid(self) -> int:
        """The worker's process id (0 before it starts)."""
        return self.process.pid if self.process is not None else 0

    def metrics(self) -> dict[str, float] | None:
        """The worker's /metrics as name{labels} -> value; None until it serves them."""
        if self.process is not None and self.process.poll() is not None:
            sys.exit(f"ingest worker exited:\n{self.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
            ) as reply:
                text = reply.read().decode()
        except OSError:
            return None
        return parse_metrics(text)

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait until it serves /metrics (directory loaded, connecting); the monotonic time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.metrics() is not None:
                return time.monotonic()
            time.sleep(0.02)
        sys.exit(f"ingest worker did not start:\n{self.log.read_text()[-3000:]}")

    def failed_writes(self) -> int:
        """How many times the worker logged a failed write (it retries each)."""
        try:
            return self.log.read_text(errors="replace").count("trying again in")
        except OSError:
            return 0

    def stop(self) -> None:
        """SIGTERM and wait; kill if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$")


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format to a flat dict (comments left out)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            out[match.group(1)] = float(match.group(2))
    return out


STORED = "signalight_ingest_batch_messages_sum"  # messages in stored batches
RECEIVED = 'signalight_ingest_messages_total{transport="mqtt"}'
LAST_LAG = "signalight_ingest_last_lag_seconds"


def held(workers: list[Worker]) -> tuple[float, float]:
    """(messages stored, messages received and not yet stored) over the workers."""
    stored = received = 0.0
    for worker in workers:
        metrics = worker.metrics() or {}
        stored += metrics.get(STORED, 0.0)
        received += metrics.get(RECEIVED, 0.0)
    return stored, received - stored


def total(workers: list[Worker], name: str) -> float:
    """A metric summed over the workers (0 for one that does not answer yet)."""
    result = 0.0
    for worker in workers:
        metrics = worker.metrics() or {}
        result += metrics.get(name, 0.0)
    return result


# --- CPU per process --------------------------------------------------------------------------


def cpu_ticks(pid: int) -> int:
    """User plus system clock ticks a process (all its threads) has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on the machine (the bench's load is the only one)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm in ("postgres", "postmaster"):
                pids.append(int(entry.name))
    return pids


def busy_ticks() -> int:
    """Clock ticks every CPU of the machine spent busy so far (all processes, the kernel)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return user + nice + system + irq + softirq + steal


class CpuMeter:
    """CPU used by named groups of processes between ``start`` and ``stop``, in % of one core."""

    def __init__(self, groups: dict[str, list[int]], *, postgres: bool = False) -> None:
        self.groups = dict(groups)
        self.postgres = postgres
        self._start: dict[int, int] = {}
        self._busy = 0
        self._at = 0.0
        self.percent: dict[str, float] = {}

    def _pids(self) -> dict[str, list[int]]:
        groups = dict(self.groups)
        if self.postgres:
            groups["postgres"] = postgres_pids()
        return groups

    def start(self) -> None:
        """Take the first reading."""
        self._start = {pid: cpu_ticks(pid) for pids in self._pids().values() for pid in pids}
        self._busy = busy_ticks()
        self._at = time.monotonic()

    def stop(self) -> dict[str, float]:
        """Take the second reading; CPU % of one core per group over the interval.

        A process that started in between counts from zero; one that ended is missed.
        """
        seconds = max(time.monotonic() - self._at, 1e-9)
        self.percent = {}
        for name, pids in self._pids().items():
            ticks = sum(cpu_ticks(pid) - self._start.get(pid, 0) for pid in pids)
            self.percent[name] = 100.0 * ticks / CLK_TCK / seconds
        everything = 100.0 * (busy_ticks() - self._busy) / CLK_TCK / seconds
        self.percent["everything else"] = max(0.0, everything - sum(self.percent.values()))
        return self.percent

    def describe(self) -> str:
        """The last interval's figures on one line."""
        return ", ".join(f"{name} {value:.0f}%" for name, value in self.percent.items())


# --- messages ---------------------------------------------------------------------------------

_EXTRA = (
    "",
    ',{"n":"energy","u":"Wh","s":%d}',
    ',{"n":"energy","u":"Wh","s":%d},{"n":"current","u":"A","v":0.27}',
)


def readings_in(n: int) -> int:
    """How many readings message number ``n`` holds: 4, 5 or 6."""
    return 4 + n % 3


RATED_W = 100.0  # the bench's lights: 100 W LED, burning at full power by night


def pack(uid: str, base_time: float, n: int, *, dead: bool = False) -> bytes:
    """Message number ``n``: a streetlight node's SenML pack of 4 to 6 readings, as devices send.

    On, dimming level, power and voltage; energy (a SenML sum) in two of three;
    current in one of three. A healthy 100 W light at full power draws 97 to
    103 W; a ``dead`` one (its lamp out) 1 W, which the fault rules raise as
    a lamp failure on the first report.
    """
    extra = _EXTRA[n % 3]
    if extra:
        extra %= 1000 + n
    power = 1 if dead else int(RATED_W) - 3 + n % 7
    return (
        f'[{{"bn":"{uid}/","bt":{base_time:.3f},"n":"on","vb":true}},'
        f'{{"n":"dim","u":"%","v":100}},{{"n":"power","u":"W","v":{power}}},'
        f'{{"n":"voltage","u":"V","v":{225 + n % 11}.5}}{extra}]'
    ).encode()

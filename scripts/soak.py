#!/usr/bin/env python3
"""Soak test of relay-server: an honest pair streams while abusers attack the relay.

    scripts/soak.py [--seconds 60] [--server PATH] [--json FILE]

A real ``relay-server --insecure-plaintext --port 0`` is started (the binary from
``--server``, else $RELAY_SERVER, else $RELAY_BIN_DIR/relay-server, else the debug
build's). Two honest peers, written from the contract (PROTOCOL.md) (Tests/Interop/relaypeer.py),
join and stream sealed, numbered messages both ways at a steady rate. The first quarter
of the run is quiet (latency baseline); for the rest, abusers run in their own processes:

- churn:      connect and disconnect at random (at once, after a pause, half a HELLO,
              reset with SO_LINGER 0);
- garbage:    random bytes, impossible lengths, half frames, frames out of order;
- non-reader: joins as a third peer or idles, writes without ever reading;
- idle flood: opens idle connections up to the server's descriptor limit (beyond
              --max-connections), holds them, closes them, again;
- third peer: keeps trying to join a full relay (it must never be let in).

Report: messages sent and received by the pair (equal, in order, none corrupted), the
pair's p50/p99 latency quiet and under abuse, the server's peak RSS (VmHWM), its open
descriptors before and after (no leak), its CPU time, and every warning or error it
logged. Exits 1 on any loss, reordering, corruption, crash, leak, third peer let in or
error logged; 0 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import random
import re
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Interop"))
import relaypeer as rp  # noqa: E402

LISTENING = re.compile(r"^listening on (.+):(\d+)$", re.MULTILINE)
LOG_LINE = re.compile(r"^\S+ (trace|debug|info|notice|warning|error|critical) relay-server: (.*)$")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = 4096

# ---------------------------------------------------------------- the server process


def find_server(explicit: str | None) -> Path:
    candidates = [explicit, os.environ.get("RELAY_SERVER")]
    if os.environ.get("RELAY_BIN_DIR"):
        candidates.append(str(Path(os.environ["RELAY_BIN_DIR"]) / "relay-server"))
    for candidate in candidates:
        if candidate:
            return Path(candidate)
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO_ROOT, check=True,
                         capture_output=True, text=True, timeout=120)
    return Path(out.stdout.strip()) / "relay-server"


class Server:
    """relay-server with stdout and stderr in files, and a low descriptor limit."""

    def __init__(self, binary: Path, fd_limit: int, max_connections: int, handshake_timeout: float,
                 workdir: Path):
        self.stdout_path = workdir / "server.stdout"
        self.stderr_path = workdir / "server.stderr"
        argv = [str(binary), "--insecure-plaintext", "--port", "0", "--max-connections", str(max_connections),
                "--handshake-timeout", str(handshake_timeout)]

        def limit_descriptors():
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, hard))

        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         preexec_fn=limit_descriptors)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 10
        while True:
            match = LISTENING.search(self.stdout_path.read_text(errors="replace"))
            if match:
                self.host, self.port = match.group(1), int(match.group(2))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"soak: relay-server did not listen: {self.stderr_path.read_text()}")
            time.sleep(0.02)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def descriptors(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def status_kib(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def cpu_seconds(self) -> float:
        # Fields after the ")" of the command name: utime and stime are 14 and 15 overall.
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def log_levels(self) -> tuple[Counter, list[str]]:
        """How many lines per level, and the warning/error/critical lines by message."""
        levels: Counter = Counter()
        notable: list[str] = []
        for line in self.stderr_path.read_text(errors="replace").splitlines():
            match = LOG_LINE.match(line)
            level = match.group(1) if match else "unparsed"
            levels[level] += 1
            if level in ("warning", "error", "critical", "unparsed"):
                notable.append(f"{level}: {match.group(2) if match else line}")
        return levels, notable

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                return None
        return self.proc.returncode


# ---------------------------------------------------------------- the honest pair


def payload(direction: bytes, seq: int, size: int) -> bytes:
    """The deterministic content of message ``seq``: the receiver recomputes it."""
    return hashlib.shake_128(direction + seq.to_bytes(8, "big")).digest(size)


HEADER = struct.Struct("!QQI")  # sequence number, send time (monotonic ns), payload size


class Stream:
    """One direction of the pair: a paced sender and the receiver on the other socket."""

    def __init__(self, name: str, sender: rp.V1Peer, receiver: rp.V1Peer, rate: float, seed: int):
        self.name = name
        self.direction = name.encode()
        self.sender, self.receiver = sender, receiver
        self.interval = 1.0 / rate
        self.random = random.Random(seed)
        self.sent = 0
        self.received = 0
        self.failures: list[str] = []
        self.latencies: list[tuple[int, float]] = []  # (send time ns, latency ms)
        self.stop_sending = threading.Event()
        self.sender_done = threading.Event()
        self.receiver_stop = threading.Event()
        self.send_thread = threading.Thread(target=self._send, daemon=True)
        self.recv_thread = threading.Thread(target=self._receive, daemon=True)

    def start(self) -> None:
        self.recv_thread.start()
        self.send_thread.start()

    def _size(self) -> int:
        roll = self.random.random()
        if roll < 0.01:
            return self.random.randint(32 * 1024, 64 * 1024)
        if roll < 0.10:
            return self.random.randint(1024, 8 * 1024)
        return self.random.randint(0, 1024)

    def _send(self) -> None:
        next_at = time.monotonic()
        try:
            while not self.stop_sending.is_set():
                next_at += self.interval
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                size = self._size()
                body = payload(self.direction, self.sent, size)
                plaintext = HEADER.pack(self.sent, time.monotonic_ns(), size) + body
                self.sender.send_message(plaintext)
                self.sent += 1
        except OSError as error:
            self.failures.append(f"{self.name}: send failed after {self.sent} messages: {error!r}")
        finally:
            self.sender_done.set()

    def _receive(self) -> None:
        try:
            quiet_since = time.monotonic()
            while not (self.receiver_stop.is_set() and self.received >= self.sent):
                readable, _, _ = select.select([self.receiver.sock], [], [], 0.2)
                if not readable:
                    if time.monotonic() - quiet_since > 30:
                        self.failures.append(f"{self.name}: nothing arrived for 30 s after {self.received} messages")
                        return
                    continue
                quiet_since = time.monotonic()
                frame_type, body, _ = self.receiver.recv_frame()
                arrived = time.monotonic_ns()
                if frame_type != rp.DATA:
                    self.failures.append(f"{self.name}: unexpected frame type {frame_type:#x} after "
                                         f"{self.received} messages: {body[:80]!r}")
                    return
                try:
                    plaintext = rp.open_sealed(self.receiver.key, body)
                except rp.AuthenticationError:
                    self.failures.append(f"{self.name}: message {self.received} does not open (corrupted)")
                    return
                seq, sent_at, size = HEADER.unpack_from(plaintext)
                if seq != self.received:
                    self.failures.append(f"{self.name}: expected message {self.received}, got {seq} "
                                         "(lost or reordered)")
                    return
                if plaintext[HEADER.size:] != payload(self.direction, seq, size):
                    self.failures.append(f"{self.name}: message {seq} has the wrong content")
                    return
                self.latencies.append((sent_at, (arrived - sent_at) / 1e6))
                self.received += 1
        except (OSError, rp.PeerClosed) as error:
            if not (self.receiver_stop.is_set() and self.received >= self.sent):
                self.failures.append(f"{self.name}: receive failed after {self.received} messages: {error!r}")


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# ---------------------------------------------------------------- the abusers (own processes)


def raise_descriptor_limit() -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def connect(host: str, port: int, timeout: float = 2.0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect((host, port))
    return sock


def reset_close(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets ECONNRESET instead of EOF."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def abuse_churn(host, port, stop, report, seed):
    rng, stats = random.Random(seed), Counter()
    while not stop.is_set():
        try:
            sock = connect(host, port)
            action = rng.choice(["close", "pause", "half-hello", "reset", "hello-reset"])
            if action == "pause":
                time.sleep(rng.uniform(0, 0.05))
            elif action == "half-hello":
                sock.sendall(rp.encode_frame(rp.HELLO, rp.hello_body(b"churner"))[:rng.randint(1, 9)])
            elif action == "hello-reset":
                sock.sendall(rp.encode_frame(rp.HELLO, rp.hello_body(b"churner")))
            if action in ("reset", "hello-reset"):
                reset_close(sock)
            else:
                sock.close()
            stats[action] += 1
        except OSError as error:
            stats[f"error {type(error).__name__}"] += 1
        time.sleep(rng.uniform(0, 0.004))
    report.put(("churn", dict(stats)))


def garbage_bytes(rng: random.Random) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:
        return rng.randbytes(rng.randint(1, 16 * 1024))
    if kind == 1:
        return struct.pack("!IB", rng.choice([0, 0xFFFFFFFF, 2 ** 20 + 1, 2 ** 31]), rp.DATA)
    if kind == 2:  # half of a DATA frame before HELLO
        return struct.pack("!IB", 1000, rp.DATA) + rng.randbytes(rng.randint(0, 500))
    if kind == 3:  # a valid HELLO then garbage
        return rp.encode_frame(rp.HELLO, rp.hello_body(b"garbler")) + rng.randbytes(rng.randint(1, 4096))
    if kind == 4:  # invalid names and versions
        return rp.encode_frame(rp.HELLO, rng.choice([rp.hello_body(b"\x00bad"), rp.hello_body(b" x"),
                                                     rp.hello_body(b"ok", version=7), b"\x01\x20x"]))
    if kind == 5:  # frames that are valid but out of place
        return rp.encode_frame(rng.choice([rp.PING, rp.BYE, rp.PONG, rp.WELCOME, rp.ERROR]), b"")
    return rng.randbytes(rng.randint(1, 5))  # a header cut short


def abuse_garbage(host, port, stop, report, seed):
    rng, stats = random.Random(seed), Counter()
    while not stop.is_set():
        try:
            sock = connect(host, port)
            sock.sendall(garbage_bytes(rng))
            if rng.random() < 0.3:
                sock.settimeout(1)
                try:
                    frame_type, body, _ = rp.recv_frame(sock)
                    stats["answered ERROR" if frame_type == rp.ERROR else f"answered type {frame_type:#x}"] += 1
                except rp.PeerClosed:
                    stats["closed without an answer"] += 1
                except socket.timeout:
                    stats["no answer within 1 s"] += 1
            else:
                stats["closed at once"] += 1
            sock.close()
        except OSError as error:
            stats[f"error {type(error).__name__}"] += 1
        time.sleep(rng.uniform(0, 0.01))
    report.put(("garbage", dict(stats)))


def abuse_non_reader(host, port, stop, report, seed):
    """Connections that write and never read, at most 16 at a time, each for up to 3 s."""
    rng, stats = random.Random(seed), Counter()
    held: list[tuple[socket.socket, float]] = []
    while not stop.is_set():
        now = time.monotonic()
        for sock, until in [entry for entry in held if entry[1] <= now]:
            sock.close()
            held.remove((sock, until))
        if len(held) < 16:
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.settimeout(2)
                sock.connect((host, port))
                sock.setblocking(False)
                if rng.random() < 0.7:
                    sock.send(rp.encode_frame(rp.HELLO, rp.hello_body(b"mallory")))
                    stats["third peer that never reads"] += 1
                else:
                    stats["silent, never reads"] += 1
                held.append((sock, now + rng.uniform(0.5, 3)))
            except OSError as error:
                stats[f"error {type(error).__name__}"] += 1
        for entry in list(held):
            try:
                entry[0].send(rng.randbytes(8192))
            except BlockingIOError:
                stats["writes blocked by a full socket"] += 1
            except OSError:
                stats["closed by the relay while writing"] += 1
                entry[0].close()
                held.remove(entry)
        time.sleep(0.02)
    for sock, _ in held:
        sock.close()
    report.put(("non-reader", dict(stats)))


def abuse_idle_flood(host, port, stop, report, target):
    """Opens `target` idle connections (the server's descriptor limit), holds, closes, again."""
    own_limit = raise_descriptor_limit()
    target = min(target, own_limit - 64)
    stats = Counter()
    peak = 0
    while not stop.is_set():
        held = []
        try:
            while len(held) < target and not stop.is_set():
                try:
                    held.append(connect(host, port, timeout=0.5))
                except OSError as error:
                    stats[f"connect failed: {type(error).__name__}"] += 1
                    break
            peak = max(peak, len(held))
            stats["rounds"] += 1
            stop.wait(2)
            # How many has the relay already closed (those beyond --max-connections)?
            closed = sum(1 for sock in held if _closed_by_peer(sock))
            stats["closed by the relay"] += closed
            stats["held open"] += len(held) - closed
        finally:
            for sock in held:
                sock.close()
        stop.wait(0.5)
    stats["peak connections at once"] = peak
    report.put(("idle flood", dict(stats)))


def _closed_by_peer(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def abuse_third_peer(host, port, stop, report, seed):
    rng, stats = random.Random(seed), Counter()
    while not stop.is_set():
        try:
            sock = connect(host, port, timeout=5)
            sock.sendall(rp.encode_frame(rp.HELLO, rp.hello_body(rng.choice([b"carol", b"alice", b"bob"]))))
            frame_type, body, _ = rp.recv_frame(sock)
            if frame_type == rp.ERROR:
                code, _ = rp.parse_error(body)
                stats[f"ERROR {rp.ERROR_CODES.get(code, code)}"] += 1
            elif frame_type == rp.WELCOME:
                stats["WELCOME (let in!)"] += 1
            else:
                stats[f"type {frame_type:#x}"] += 1
            sock.close()
        except (rp.PeerClosed, ConnectionResetError):
            # Beyond --max-connections the relay closes at once; with the HELLO unread
            # the close is a reset.
            stats["closed at once (connection limit)"] += 1
        except OSError as error:
            stats[f"error {type(error).__name__}"] += 1
        time.sleep(rng.uniform(0.02, 0.08))
    report.put(("third peer", dict(stats)))


# ---------------------------------------------------------------- the run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="streaming time in all (default 60)")
    parser.add_argument("--quiet-fraction", type=float, default=0.25,
                        help="share of --seconds without abuse, for the latency baseline (default 0.25)")
    parser.add_argument("--rate", type=float, default=200, help="messages per second each way (default 200)")
    parser.add_argument("--server", help="relay-server binary (default: $RELAY_SERVER, $RELAY_BIN_DIR, debug build)")
    parser.add_argument("--fd-limit", type=int, default=1024, help="the server's RLIMIT_NOFILE (default 1024)")
    parser.add_argument("--max-connections", type=int, default=512, help="passed to the server (default 512)")
    parser.add_argument("--handshake-timeout", type=float, default=10, help="passed to the server (default 10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--abusers", default="churn,garbage,non-reader,idle-flood,third-peer",
                        help="which abusers run, comma-separated (default: all five)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    raise_descriptor_limit()
    # Four threads share the pair's process: switch often, or latency measures the GIL.
    sys.setswitchinterval(0.0002)
    workdir = Path(tempfile.mkdtemp(prefix="relay-soak-"))
    binary = find_server(args.server)
    server = Server(binary, args.fd_limit, args.max_connections, args.handshake_timeout, workdir)
    failures: list[str] = []
    figures: dict = {"server_binary": str(binary), "seconds": args.seconds, "rate_each_way": args.rate,
                     "server_fd_limit": args.fd_limit, "max_connections": args.max_connections}
    # Abusers are forked before any thread exists in this process.
    context = mp.get_context("fork")
    stop_abuse, reports = context.Event(), context.Queue()
    start_abuse = context.Event()
    abusers = []
    chosen = {
        "churn": (abuse_churn, args.seed), "garbage": (abuse_garbage, args.seed + 1),
        "non-reader": (abuse_non_reader, args.seed + 2), "idle-flood": (abuse_idle_flood, args.fd_limit + 64),
        "third-peer": (abuse_third_peer, args.seed + 3),
    }
    for name in args.abusers.split(","):
        if name not in chosen:
            parser.error(f"unknown abuser {name!r}; known: {', '.join(chosen)}")
    for target, extra in [chosen[name] for name in args.abusers.split(",")]:
        def run(target=target, extra=extra):
            start_abuse.wait()
            target(server.host, server.port, stop_abuse, reports, extra)
        abusers.append(context.Process(target=run, name=target.__name__, daemon=True))
    for process in abusers:
        process.start()

    try:
        fds_idle = server.descriptors()
        alice = rp.V1Peer(server.host, server.port, "alice", timeout=30)
        bob = rp.V1Peer(server.host, server.port, "bob", timeout=30)
        for peer in (alice, bob):  # as relay-client does: no Nagle delay on small frames
            peer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        alice.expect(rp.PEER_JOINED)
        assert alice.key == bob.key
        fds_pair = server.descriptors()
        streams = [Stream("alice->bob", alice, bob, args.rate, args.seed),
                   Stream("bob->alice", bob, alice, args.rate, args.seed + 100)]

        samples = {"fds_peak": fds_pair, "rss_peak_kib": 0}
        sampling = threading.Event()

        def sample():
            while not sampling.wait(0.1) and server.alive():
                try:
                    samples["fds_peak"] = max(samples["fds_peak"], server.descriptors())
                    samples["rss_peak_kib"] = max(samples["rss_peak_kib"], server.status_kib("VmRSS"))
                except (OSError, KeyError):
                    return
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        cpu_start = server.cpu_seconds()
        started, started_ns = time.monotonic(), time.monotonic_ns()
        for stream in streams:
            stream.start()
        quiet = args.seconds * args.quiet_fraction
        print(f"soak: relay-server pid {server.pid} on {server.host}:{server.port}; "
              f"{quiet:.0f} s quiet, then {args.seconds - quiet:.0f} s under abuse", flush=True)
        time.sleep(quiet)
        abuse_from = time.monotonic_ns()
        start_abuse.set()
        while time.monotonic() - started < args.seconds and server.alive() \
                and not any(stream.failures for stream in streams):
            time.sleep(0.2)
        stop_abuse.set()
        abuse_until = time.monotonic_ns()
        for stream in streams:
            stream.stop_sending.set()
        for stream in streams:
            stream.sender_done.wait(30)
            stream.receiver_stop.set()
        abuse_stats = {}
        for _ in abusers:
            try:
                name, stats = reports.get(timeout=15)
                abuse_stats[name] = stats
            except Exception:  # noqa: BLE001 - a stuck abuser is reported below
                break
        for process in abusers:
            process.join(5)
            if process.is_alive():
                failures.append(f"abuser {process.name} did not stop")
                process.kill()
        for stream in streams:
            stream.recv_thread.join(30)
            if stream.recv_thread.is_alive():
                failures.append(f"{stream.name}: {stream.sent - stream.received} messages never arrived")
            failures.extend(stream.failures)
        if not server.alive():
            raise RuntimeError
        cpu_run = server.cpu_seconds() - cpu_start

        # Descriptors: back to the pair's count once the abusers' sockets are gone.
        deadline = time.monotonic() + args.handshake_timeout + 5
        while server.descriptors() > fds_pair and time.monotonic() < deadline:
            time.sleep(0.1)
        fds_after = server.descriptors()
        # The pair still works after the abuse, and leaves in order.
        alice.send_message(b"after the abuse")
        if bob.recv_message() != b"after the abuse":
            failures.append("the pair did not work after the abuse")
        alice.bye()
        bob.expect(rp.PEER_LEFT)
        alice.wait_closed()
        alice.close()
        bob.bye()
        bob.wait_closed()
        bob.close()
        deadline = time.monotonic() + 5
        while server.descriptors() > fds_idle and time.monotonic() < deadline:
            time.sleep(0.05)
        fds_final = server.descriptors()
        sampling.set()
        peak_rss = server.status_kib("VmHWM")

        for stream in streams:
            quiet_ms = [ms for at, ms in stream.latencies if at < abuse_from]
            abused_ms = [ms for at, ms in stream.latencies if abuse_from <= at < abuse_until]
            worst = sorted(stream.latencies, key=lambda entry: entry[1])[-5:]
            figures[stream.name] = {
                "sent": stream.sent, "received": stream.received,
                # When the slowest messages were sent, in seconds from the start of streaming.
                "slowest": [(round((at - started_ns) / 1e9, 2), round(ms, 1)) for at, ms in reversed(worst)],
                "quiet": {"messages": len(quiet_ms), "p50_ms": percentile(quiet_ms, 0.5),
                          "p99_ms": percentile(quiet_ms, 0.99), "max_ms": max(quiet_ms, default=None),
                          "over_100_ms": sum(ms > 100 for ms in quiet_ms)},
                "abuse": {"messages": len(abused_ms), "p50_ms": percentile(abused_ms, 0.5),
                          "p99_ms": percentile(abused_ms, 0.99), "max_ms": max(abused_ms, default=None),
                          "over_100_ms": sum(ms > 100 for ms in abused_ms)},
            }
            if stream.sent != stream.received:
                failures.append(f"{stream.name}: sent {stream.sent}, received {stream.received}")
        figures["server"] = {
            "peak_rss_kib": peak_rss, "fds_idle": fds_idle, "fds_with_pair": fds_pair,
            "fds_peak": samples["fds_peak"], "fds_after_abuse": fds_after, "fds_after_pair_left": fds_final,
            "cpu_seconds_during_run": round(cpu_run, 2),
        }
        figures["abusers"] = abuse_stats
        if fds_after > fds_pair:
            failures.append(f"descriptor leak: {fds_pair} with the pair before the abuse, {fds_after} after")
        if fds_final > fds_idle:
            failures.append(f"descriptor leak: {fds_idle} at start, {fds_final} after the pair left")
        if abuse_stats.get("third peer", {}).get("WELCOME (let in!)"):
            failures.append("a third peer was let in")
        if len(abuse_stats) != len(abusers):
            failures.append(f"only {len(abuse_stats)} of {len(abusers)} abusers reported")
    except (RuntimeError, OSError, rp.PeerClosed, AssertionError) as error:
        if server.alive():
            failures.append(f"the run broke off: {error!r}")
        else:
            failures.append(f"relay-server died during the run (status {server.proc.returncode})")
    finally:
        stop_abuse.set()
        start_abuse.set()
        for process in abusers:
            if process.is_alive():
                process.kill()
        status = server.stop()

    if status != 0:
        failures.append(f"relay-server did not shut down cleanly on SIGTERM (status {status})")
    levels, notable = server.log_levels()
    figures["load_average"] = os.getloadavg()
    figures["server_log"] = {"lines_by_level": dict(levels), "notable": summarize(notable)}
    for line in notable:
        if line.startswith(("error", "critical", "unparsed")):
            failures.append(f"the server logged {line}")
    figures["failures"] = failures
    print_report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    print(f"soak: server logs in {workdir}")
    print("soak: FAIL\n  " + "\n  ".join(failures) if failures else "soak: PASS")
    return 1 if failures else 0


def summarize(lines: list[str]) -> dict[str, int]:
    """Log lines grouped by their message (metadata with counts stripped)."""
    return dict(Counter(re.sub(r"=\S+", "=…", line) for line in lines))


def print_report(figures: dict) -> None:
    def ms(value):
        return "-" if value is None else f"{value:.2f} ms"
    print(f"\nrelay-server: {figures['server_binary']} (load average at the end: "
          f"{' '.join(f'{value:.1f}' for value in figures['load_average'])} on {os.cpu_count()} CPUs)")
    for name in ("alice->bob", "bob->alice"):
        if name not in figures:
            continue
        stream = figures[name]
        print(f"{name}: sent {stream['sent']}, received {stream['received']} (in order, all opened and verified)")
        print("  slowest (sent at s, ms): " + ", ".join(f"{at} s {ms} ms" for at, ms in stream["slowest"]))
        for phase in ("quiet", "abuse"):
            data = stream[phase]
            print(f"  {phase:5}: {data['messages']:6} messages, p50 {ms(data['p50_ms'])}, "
                  f"p99 {ms(data['p99_ms'])}, max {ms(data['max_ms'])}, {data['over_100_ms']} over 100 ms")
    if isinstance(figures.get("server"), dict):
        server = figures["server"]
        print(f"server: peak RSS (VmHWM) {server['peak_rss_kib']} KiB; descriptors: {server['fds_idle']} idle, "
              f"{server['fds_with_pair']} with the pair, peak {server['fds_peak']}, {server['fds_after_abuse']} "
              f"after the abuse, {server['fds_after_pair_left']} after the pair left; "
              f"CPU {server['cpu_seconds_during_run']} s during the run")
    for name, stats in figures.get("abusers", {}).items():
        print(f"abuser {name}: " + ", ".join(f"{key} {value}" for key, value in sorted(stats.items())))
    log = figures["server_log"]
    print("server log lines by level: " + ", ".join(f"{k} {v}" for k, v in sorted(log["lines_by_level"].items())))
    for line, count in log["notable"].items():
        print(f"  {count} x {line}")


if __name__ == "__main__":
    sys.exit(main())

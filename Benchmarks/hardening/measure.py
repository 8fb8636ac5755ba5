#!/usr/bin/env python3
"""Hardening measurements for relay-server (loopback only).

What it measures (wire contract: the contract PROTOCOL.md sections 1, 2, 6):

1. prejoin: relay RSS (VmRSS, VmHWM from /proc/PID/status) while N connections
   that never joined each send a DATA header announcing a 1,048,575-byte body
   and then try to push that body with non-blocking sends. A joined pair
   (alice/bob) ping-pongs 64-byte DATA frames before and during; median round
   trip in ms. Counts ERROR frames received by the attackers and how fast.
   Runs plain TCP and TLS, default options with 512 connections and
   --max-frame 16777216 with 64 connections.
2. flood: a thread keeps 520 idle sockets from 127.0.0.2 open to the relay and
   reopens each one as soon as it is closed; an honest client from 127.0.0.3
   loops connect / HELLO / WELCOME (2 s timeout) / close. Reports joins
   succeeded / attempts and first-try success. Plain and TLS.
3. pipes: alice sends 24 MiB of 64 KiB DATA frames (bodies numbered) to bob,
   who reads nothing (--queue-limit 33554432); relay descriptors before and
   once alice stalls; then bob reads everything, order checked. Also
   descriptors under `prlimit --nofile=1024:1024` with 600 idle connections
   from 127.0.0.2..127.0.0.6 and whether an honest join still works.

Every relay is started by this script and killed (by pid) in a finally.

Run:
    cd /work/main && swift build -c release --product relay-server
    python3 Benchmarks/hardening/measure.py [--binary PATH]
        [--scenario all|prejoin|flood|pipes] [--flood-seconds 30]
"""

from __future__ import annotations

import argparse
import errno
import os
import resource
import selectors
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

ALPN = "relay/1"
HELLO, WELCOME, DATA, PING, PONG, ERROR = 0x01, 0x02, 0x10, 0x20, 0x21, 0x7F


def log(line: str) -> None:
    print(line, flush=True)


# ---------------------------------------------------------------- relay process

class Relay:
    """A relay-server child; always stopped by pid via stop()."""

    def __init__(self, binary: str, tls: bool, extra: list[str] | None = None,
                 prefix: list[str] | None = None):
        self.tls = tls
        self.tmp = tempfile.TemporaryDirectory(prefix="relay-measure-")
        cmd = list(prefix or []) + [binary, "--port", "0"]
        if tls:
            cmd += ["--state-dir", self.tmp.name]
        else:
            cmd += ["--insecure-plaintext"]
        cmd += list(extra or [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, start_new_session=False)
        self.pid = self.proc.pid
        self.port = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode(errors="replace").strip()
            if not line:
                if self.proc.poll() is not None:
                    break
                continue
            if line.startswith("listening on "):
                self.port = int(line.rsplit(":", 1)[1])
                break
        if self.port is None:
            self.stop()
            raise RuntimeError(f"relay did not start: {cmd}")
        # keep draining stdout so the relay never blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        try:
            for _ in self.proc.stdout:
                pass
        except Exception:
            pass

    def status(self) -> dict[str, int]:
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])  # kB
        return out

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def fd_kinds(self) -> str:
        kinds: dict[str, int] = {}
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                t = os.readlink(f"/proc/{self.pid}/fd/{fd}").split(":", 1)[0]
            except OSError:
                continue
            kinds[t] = kinds.get(t, 0) + 1
        return ",".join(f"{k}={v}" for k, v in sorted(kinds.items()))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.tmp.cleanup()


# ---------------------------------------------------------------- client helpers

_CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
_CTX.check_hostname = False
_CTX.verify_mode = ssl.CERT_NONE
_CTX.minimum_version = ssl.TLSVersion.TLSv1_3
_CTX.set_alpn_protocols([ALPN])


def frame(ftype: int, body: bytes = b"") -> bytes:
    return struct.pack(">IB", len(body) + 1, ftype) + body


def connect(port: int, tls: bool, src: str = "127.0.0.1", timeout: float = 5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        s = _CTX.wrap_socket(s, server_hostname="relay")
    return s


def recv_exact(s, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("EOF")
        buf += chunk
    return bytes(buf)


def read_frame(s) -> tuple[int, bytes]:
    length, ftype = struct.unpack(">IB", recv_exact(s, 5))
    return ftype, recv_exact(s, length - 1)


def hello(name: str) -> bytes:
    n = name.encode()
    return frame(HELLO, bytes([1, len(n)]) + n)


def join(port: int, tls: bool, name: str, src: str = "127.0.0.1", timeout: float = 5.0):
    s = connect(port, tls, src, timeout)
    s.sendall(hello(name))
    ftype, body = read_frame(s)
    if ftype != WELCOME:
        s.close()
        raise ConnectionError(f"expected WELCOME, got type {ftype:#x} {body[:40]!r}")
    return s


def join_pair(port: int, tls: bool):
    a = join(port, tls, "alice")
    b = join(port, tls, "bob")
    ftype, _ = read_frame(a)  # PEER_JOINED(bob)
    assert ftype == 0x03, ftype
    return a, b


def pingpong(a, b, rounds: int, stop: threading.Event | None = None) -> list[float]:
    """64-byte DATA frames alice -> bob -> alice; round trips in ms."""
    out = []
    body = b"p" * 64
    for _ in range(rounds):
        if stop is not None and stop.is_set():
            break
        t0 = time.perf_counter()
        a.sendall(frame(DATA, body))
        while True:
            ft, got = read_frame(b)
            if ft == DATA:
                break
        b.sendall(frame(DATA, got))
        while True:
            ft, _ = read_frame(a)
            if ft == DATA:
                break
        out.append((time.perf_counter() - t0) * 1000)
        if stop is not None:
            time.sleep(0.01)
    return out


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f}" if xs else "n/a"


def kb(v: int) -> str:
    return f"{v / 1024:.1f} MiB"


# ---------------------------------------------------------------- 1. prejoin

def prejoin_run(binary: str, tls: bool, n: int, extra: list[str], label: str):
    relay = Relay(binary, tls, extra)
    socks = []
    try:
        a, b = join_pair(relay.port, tls)
        rtt_before = pingpong(a, b, 50)
        time.sleep(0.2)
        base = relay.status()

        rtt_during: list[float] = []
        stop = threading.Event()
        peak_rss = [base["VmRSS"]]

        def sampler():
            while not stop.is_set():
                try:
                    peak_rss[0] = max(peak_rss[0], relay.status()["VmRSS"])
                except Exception:
                    pass
                time.sleep(0.02)

        def pinger():
            try:
                rtt_during.extend(pingpong(a, b, 100000, stop))
            except Exception as e:  # noqa: BLE001
                log(f"  [{label}] pair failed during attack: {e!r}")

        header = struct.pack(">IB", 1 + 1_048_575, DATA)
        chunk = b"\0" * 65536
        target = 1_048_575
        t_sampler = threading.Thread(target=sampler, daemon=True)
        t_sampler.start()
        t_ping = threading.Thread(target=pinger, daemon=True)
        t_ping.start()

        # open and send headers
        state = []  # [sock, t_header, pushed, rxbuf, err_time, err_code, closed]
        connect_fail = 0
        for i in range(n):
            try:
                s = connect(relay.port, tls, "127.0.0.%d" % (10 + i % 8))
                s.sendall(header)
                t = time.perf_counter()
                s.setblocking(False)
                socks.append(s)
                state.append([s, t, 0, bytearray(), None, None, False])
            except Exception:
                connect_fail += 1

        # push bodies (bounded) and watch for ERROR / close
        deadline = time.monotonic() + (12 if tls else 8)
        while time.monotonic() < deadline:
            active = 0
            for st in state:
                s = st[0]
                if st[6]:
                    continue
                # read side
                try:
                    data = s.recv(65536)
                    if data:
                        st[3] += data
                        if st[4] is None and len(st[3]) >= 5:
                            ln, ft = struct.unpack(">IB", st[3][:5])
                            if ft == ERROR and len(st[3]) >= 7:
                                st[4] = time.perf_counter() - st[1]
                                st[5] = struct.unpack(">H", st[3][5:7])[0]
                    else:
                        st[6] = True
                        continue
                except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
                except (ConnectionError, OSError, ssl.SSLError):
                    st[6] = True
                    continue
                # write side
                if st[2] < target:
                    active += 1
                    try:
                        sent = s.send(chunk[: min(len(chunk), target - st[2])])
                        st[2] += sent
                    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        pass
                    except (ConnectionError, OSError, ssl.SSLError):
                        st[6] = True
                elif st[4] is None:
                    active += 1
            if active == 0:
                break
            time.sleep(0.001)
        time.sleep(0.3)
        stop.set()
        t_ping.join(5)
        t_sampler.join(2)
        peak = relay.status()
        errs = [st for st in state if st[4] is not None]
        codes = sorted({st[5] for st in errs})
        closed = sum(1 for st in state if st[6])
        pushed = sum(st[2] for st in state)
        full = sum(1 for st in state if st[2] >= target)
        err_ms = [st[4] * 1000 for st in errs]
        log(f"prejoin[{label}]: conns={n} opened={len(state)} connect_fail={connect_fail} "
            f"error_frames={len(errs)} codes={codes} closed_by_relay={closed} "
            f"time_to_error_ms median={med(err_ms)} max={(max(err_ms) if err_ms else float('nan')):.1f} "
            f"body_bytes_pushed={pushed / 1048576:.1f}MiB full_bodies_pushed={full}")
        log(f"prejoin[{label}]: RSS baseline(pair) VmRSS={kb(base['VmRSS'])} VmHWM={kb(base['VmHWM'])}; "
            f"peak sampled VmRSS={kb(peak_rss[0])} end VmRSS={kb(peak['VmRSS'])} VmHWM={kb(peak['VmHWM'])}; "
            f"growth HWM={kb(peak['VmHWM'] - base['VmHWM'])}")
        log(f"prejoin[{label}]: pair rtt median before={med(rtt_before)} ms during={med(rtt_during)} ms "
            f"(rounds during={len(rtt_during)}) relay_alive={relay.alive()}")
        a.close()
        b.close()
    finally:
        for s in socks:
            try:
                s.close()
            except Exception:
                pass
        relay.stop()


def scenario_prejoin(binary: str):
    for tls in (False, True):
        t = "tls" if tls else "plain"
        prejoin_run(binary, tls, 512, [], f"{t} default 512")
        prejoin_run(binary, tls, 64, ["--max-frame", "16777216"], f"{t} max-frame=16MiB 64")


# ---------------------------------------------------------------- 2. flood

class IdleFlood:
    """Keeps `count` idle TCP sockets from `src` open to the relay, reopening closed ones."""

    def __init__(self, port: int, count: int, src: str):
        self.port, self.count, self.src = port, count, src
        self.stop = threading.Event()
        self.opens = 0
        self.closes = 0
        self.connect_errors = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def _open(self, sel):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((self.src, 0))
            err = s.connect_ex(("127.0.0.1", self.port))
            if err not in (0, errno.EINPROGRESS):
                raise OSError(err, os.strerror(err))
            sel.register(s, selectors.EVENT_READ)
            self.opens += 1
        except OSError:
            s.close()
            self.connect_errors += 1
            time.sleep(0.001)

    def run(self):
        sel = selectors.DefaultSelector()
        try:
            for _ in range(self.count):
                self._open(sel)
            while not self.stop.is_set():
                for key, _ in sel.select(0.05):
                    s = key.fileobj
                    try:
                        data = s.recv(4096)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        sel.unregister(s)
                        s.close()
                        self.closes += 1
                        if not self.stop.is_set():
                            self._open(sel)
                missing = self.count - len(sel.get_map())
                for _ in range(missing):
                    self._open(sel)
        finally:
            for key in list(sel.get_map().values()):
                try:
                    key.fileobj.close()
                except Exception:
                    pass
            sel.close()


def scenario_flood(binary: str, seconds: float):
    for tls in (False, True):
        label = "tls" if tls else "plain"
        relay = Relay(binary, tls)
        flood = IdleFlood(relay.port, 520, "127.0.0.2")
        try:
            flood.thread.start()
            time.sleep(1.0)
            attempts = ok = first_ok = 0
            lat = []
            first = True
            errors: dict[str, int] = {}
            end = time.monotonic() + seconds
            i = 0
            while time.monotonic() < end:
                attempts += 1
                t0 = time.perf_counter()
                try:
                    s = join(relay.port, tls, f"h{i % 1000}", src="127.0.0.3", timeout=2.0)
                    s.close()
                    ok += 1
                    lat.append((time.perf_counter() - t0) * 1000)
                    if first:
                        first_ok = 1
                except Exception as e:  # noqa: BLE001
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                first = False
                i += 1
                time.sleep(0.05)
            fds = relay.fds()
            flood.stop.set()
            flood.thread.join(5)
            log(f"flood[{label}]: joins {ok}/{attempts} ({100.0 * ok / max(attempts, 1):.1f}%) "
                f"first_try={'yes' if first_ok else 'no'} join_ms median={med(lat)} "
                f"max={(max(lat) if lat else float('nan')):.1f} errors={errors}")
            log(f"flood[{label}]: attacker opens={flood.opens} closed_by_relay={flood.closes} "
                f"connect_errors={flood.connect_errors} relay_fds_during={fds} "
                f"VmRSS={kb(relay.status()['VmRSS'])} relay_alive={relay.alive()} seconds={seconds:g}")
        finally:
            flood.stop.set()
            flood.thread.join(5)
            relay.stop()


# ---------------------------------------------------------------- 3. pipes

def scenario_pipes(binary: str):
    relay = Relay(binary, False, ["--queue-limit", "33554432"])
    try:
        a, b = join_pair(relay.port, False)
        fd_before = relay.fds()
        kinds_before = relay.fd_kinds()
        nframes = 24 * 16  # 24 MiB of 64 KiB bodies
        body_len = 65536
        a.settimeout(2.0)
        sent = 0
        stalled = False
        t0 = time.monotonic()
        for k in range(nframes):
            payload = frame(DATA, struct.pack(">I", k) + bytes([k & 0xFF]) * (body_len - 4))
            try:
                a.sendall(payload)
                sent += 1
            except socket.timeout:
                stalled = True
                break
            if time.monotonic() - t0 > 30:
                stalled = True
                break
        time.sleep(0.5)
        fd_stall = relay.fds()
        kinds_stall = relay.fd_kinds()
        st = relay.status()
        log(f"pipes: alice sent {sent}/{nframes} frames ({sent * body_len / 1048576:.1f} MiB) "
            f"stalled={stalled}; relay fds before={fd_before} ({kinds_before}) "
            f"after={fd_stall} ({kinds_stall}) "
            f"VmRSS={kb(st['VmRSS'])} VmHWM={kb(st['VmHWM'])}")
        # bob drains; a partially sent last frame (stall) would be finished by the kernel later
        b.settimeout(10.0)
        got = 0
        order_ok = True
        content_ok = True
        if stalled:
            a.settimeout(None)
        try:
            while got < sent:
                ft, body = read_frame(b)
                if ft != DATA:
                    continue
                (k,) = struct.unpack(">I", body[:4])
                if k != got:
                    order_ok = False
                if len(body) != body_len or body[4:] != bytes([k & 0xFF]) * (body_len - 4):
                    content_ok = False
                got += 1
        except Exception as e:  # noqa: BLE001
            log(f"pipes: bob read failed after {got} frames: {e!r}")
        log(f"pipes: bob received {got}/{sent} in_order={order_ok} content_ok={content_ok} "
            f"relay fds after drain={relay.fds()}")
        a.close()
        b.close()
    finally:
        relay.stop()

    # descriptors under a 1024 fd limit with 600 idle connections
    relay = Relay(binary, False, [], prefix=["prlimit", "--nofile=1024:1024"])
    socks = []
    try:
        fd0 = relay.fds()
        failed = 0
        for i in range(600):
            src = "127.0.0.%d" % (2 + i % 5)
            try:
                s = socket.socket()
                s.bind((src, 0))
                s.settimeout(2)
                s.connect(("127.0.0.1", relay.port))
                socks.append(s)
            except OSError:
                failed += 1
                s.close()
        time.sleep(1.0)
        fd1 = relay.fds()
        alive_conns = 0
        for s in socks:
            s.setblocking(False)
            try:
                alive_conns += 0 if s.recv(1) == b"" else 1
            except BlockingIOError:
                alive_conns += 1
            except OSError:
                pass
        try:
            t = time.perf_counter()
            h = join(relay.port, False, "honest", src="127.0.0.7", timeout=3.0)
            h.close()
            honest = f"ok ({(time.perf_counter() - t) * 1000:.1f} ms)"
        except Exception as e:  # noqa: BLE001
            honest = f"FAILED {e!r}"
        log(f"pipes[prlimit 1024]: relay fds idle={fd0} with 600 idle conns={fd1} "
            f"(connect_failed={failed}, still_open_client_side={alive_conns}); "
            f"honest join from 127.0.0.7: {honest}; relay_alive={relay.alive()}")
    finally:
        for s in socks:
            s.close()
        relay.stop()


# ---------------------------------------------------------------- main

def default_binary() -> str:
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"],
                         cwd=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."),
                         capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(out, "relay-server")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default=None, help="relay-server path (default: release build)")
    p.add_argument("--scenario", choices=["all", "prejoin", "flood", "pipes"], default="all")
    p.add_argument("--flood-seconds", type=float, default=30.0)
    args = p.parse_args()
    binary = args.binary or default_binary()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    log(f"binary: {binary}")
    log("uptime: " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if args.scenario in ("all", "prejoin"):
        scenario_prejoin(binary)
    if args.scenario in ("all", "flood"):
        scenario_flood(binary, args.flood_seconds)
    if args.scenario in ("all", "pipes"):
        scenario_pipes(binary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fault behaviour of relay-server and relay-client, from the outside.

- A peer killed mid-frame (SIGKILL of its process, close or reset of a raw socket after
  half a frame): the other peer gets PEER_LEFT and nothing of the half frame; the relay
  stays up and admits the next peer.
- The relay killed or stopped under a running relay-client: the client says so on
  standard error and exits non-zero; a relay restarted on the same port serves again.
- Writes to a peer that vanished (reset with SO_LINGER 0, i.e. ECONNRESET/EPIPE on the
  relay's next write) never crash the relay.
- Out of file descriptors (the relay under ``ulimit -n 64``, flooded): it logs once,
  does not spin, the joined pair keeps talking, and after the flood new peers join.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import relaypeer as rp
from conftest import LISTENING, RelayProcess
from relaypeer import V1Peer

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def reset_close(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: a RST, so the relay's next read or write fails with ECONNRESET."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def joined_pair(server, first: str = "alice", second: str = "bob") -> tuple[V1Peer, V1Peer]:
    a = V1Peer(server.host, server.port, first)
    b = V1Peer(server.host, server.port, second)
    joined, _ = a.expect(rp.PEER_JOINED)
    assert joined == second.encode()
    return a, b


def assert_relay_serves(server, stayer: V1Peer, newcomer: str = "carol") -> None:
    """A new peer joins beside ``stayer`` (who hears PEER_JOINED) and both talk."""
    assert server.alive(), server.stderr.text
    with V1Peer(server.host, server.port, newcomer) as new:
        assert new.welcome.peer == stayer.name
        joined, _ = stayer.expect(rp.PEER_JOINED)
        assert joined == newcomer.encode()
        assert new.key == stayer.key
        stayer.send_message(b"to the newcomer")
        assert new.recv_message() == b"to the newcomer"
        new.send_message(b"back")
        assert stayer.recv_message() == b"back"


def half_data_frame(key: bytes) -> bytes:
    """The first half of a DATA frame carrying one sealed message."""
    whole = rp.encode_frame(rp.DATA, rp.seal(key, b"x" * 5000))
    return whole[: len(whole) // 2]


# ---------------------------------------------------------------- a peer dies mid-frame

PEER_PROCESS = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[3])
    import relaypeer as rp
    peer = rp.V1Peer("127.0.0.1", int(sys.argv[1]), sys.argv[2])
    peer.send_message(b"whole before the half")
    whole = rp.encode_frame(rp.DATA, rp.seal(peer.key, b"y" * 5000))
    peer.send_raw(whole[: len(whole) // 2])
    print("half sent", flush=True)
    time.sleep(60)
""")


def test_peer_process_killed_mid_frame_gives_peer_left(relay_server):
    """SIGKILL of a peer process after half a DATA frame: whole messages arrive, then PEER_LEFT."""
    with relay_server("--insecure-plaintext") as server:
        with V1Peer(server.host, server.port, "bob") as bob:
            child = subprocess.Popen(
                [sys.executable, "-c", PEER_PROCESS, str(server.port), "alice", str(Path(rp.__file__).parent)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                assert child.stdout.readline() == b"half sent\n", child.stderr.read()
                joined, _ = bob.expect(rp.PEER_JOINED)
                assert joined == b"alice"
                assert bob.recv_message() == b"whole before the half"
                os.kill(child.pid, signal.SIGKILL)
                assert child.wait(10) == -signal.SIGKILL
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait(5)
                child.stdout.close()
                child.stderr.close()
            # Nothing of the half frame, then PEER_LEFT.
            left, _ = bob.expect(rp.PEER_LEFT)
            assert left == b"alice"
            assert_relay_serves(server, bob)


@pytest.mark.parametrize("ending", ["close", "reset"])
def test_raw_socket_gone_after_half_a_frame_gives_peer_left(relay_server, ending):
    """A peer's socket closed (FIN) or reset (RST) after half a DATA frame."""
    with relay_server("--insecure-plaintext") as server:
        alice, bob = joined_pair(server)
        with bob:
            alice.send_message(b"whole")
            alice.send_raw(half_data_frame(alice.key))
            assert bob.recv_message() == b"whole"
            if ending == "reset":
                reset_close(alice.sock)
            else:
                alice.close()
            left, _ = bob.expect(rp.PEER_LEFT)
            assert left == b"alice"
            assert_relay_serves(server, bob)


# ---------------------------------------------------------------- the relay goes away


@contextlib.contextmanager
def client_talking_to_bob(relay_client, server, text: str):
    """relay-client "alice" and a Python "bob" joined; alice's line ``text`` reached bob."""
    with relay_client("--insecure-plaintext", name="alice", port=server.port) as client:
        client.stderr.wait_for("connected to")
        with V1Peer(server.host, server.port, "bob") as bob:
            client.stderr.wait_for("bob joined")
            client.send_line(text)
            assert bob.recv_message() == text.encode()
            yield client, bob


@pytest.mark.parametrize("stop_signal, report", [
    (signal.SIGKILL, "the relay closed the connection"),
    (signal.SIGTERM, "relay shutting down"),
])
def test_relay_stopped_under_a_running_client_then_restarted(relay_server, relay_client, stop_signal, report):
    """The client reports the loss on stderr and exits 1; a relay restarted on the same port serves."""
    with relay_server("--insecure-plaintext") as server:
        port = server.port
        with client_talking_to_bob(relay_client, server, "before the crash") as (client, _):
            os.kill(server.pid, stop_signal)
            client.stderr.wait_for(report)
            assert client.wait() == 1
            assert server.proc.wait(10) == (-signal.SIGKILL if stop_signal == signal.SIGKILL else 0)

    # Restarted on the same port (SO_REUSEADDR: the old connections' TIME_WAIT is no obstacle).
    with relay_server("--insecure-plaintext", "--port", str(port)) as again:
        assert again.port == port
        with client_talking_to_bob(relay_client, again, "after the restart") as (client, bob):
            client.close_stdin()
            left, _ = bob.expect(rp.PEER_LEFT)
            assert left == b"alice"
            assert client.wait() == 0


# ---------------------------------------------------------------- writes to a vanished peer


def test_writes_to_a_reset_receiver_do_not_crash_the_relay(relay_server):
    """Bob stops reading, the relay queues megabytes for him, bob resets: the relay's writes
    fail with ECONNRESET/EPIPE (SIGPIPE is ignored), alice hears PEER_LEFT, the relay goes on."""
    with relay_server("--insecure-plaintext") as server:
        for _ in range(3):
            alice = V1Peer(server.host, server.port, "alice")
            bob_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            bob_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            bob_sock.settimeout(5)
            bob_sock.connect((server.host, server.port))
            bob_sock.sendall(rp.encode_frame(rp.HELLO, rp.hello_body(b"bob")))
            frame_type, _, _ = rp.recv_frame(bob_sock)
            assert frame_type == rp.WELCOME
            alice.expect(rp.PEER_JOINED)
            # 4 MiB, under the 8 MiB queue limit: the relay takes it all and holds a
            # backlog for bob, whose 4 KiB receive buffer is full: a write is pending.
            message = rp.encode_frame(rp.DATA, rp.seal(alice.key, b"z" * 60000))
            alice.send_raw(message * 70)
            reset_close(bob_sock)
            left, _ = alice.expect(rp.PEER_LEFT)
            assert left == b"bob"
            assert server.alive(), server.stderr.text
            alice.bye()
            alice.wait_closed()
            alice.close()
        # PINGs answered to sockets that reset at once: PONG written into a reset connection.
        for _ in range(200):
            with V1Peer(server.host, server.port, "pinger") as pinger:
                pinger.send_frame(rp.PING, b"p" * 64)
                reset_close(pinger.sock)
        a, b = joined_pair(server)
        with a, b:
            a.send_message(b"still relaying")
            assert b.recv_message() == b"still relaying"
        assert server.alive()
        assert not [line for line in server.stderr.lines if " error relay-server" in line or " critical " in line]


# ---------------------------------------------------------------- out of file descriptors


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_a_max_connections_the_descriptor_limit_cannot_serve_is_refused_at_start(bin_dir, relay_env):
    """relay-server under ``ulimit -n 64`` (soft and hard) with --max-connections 1000:
    it could run out of descriptors under a flood, so it refuses to start (exit 64) and
    says what to change."""
    argv = ["sh", "-c", 'ulimit -n 64 && exec "$0" "$@"', str(bin_dir / "relay-server"),
            "--insecure-plaintext", "--port", "0", "--max-connections", "1000"]
    result = subprocess.run(argv, env=relay_env, capture_output=True, text=True, timeout=20)
    assert result.returncode == 64, result.stderr
    assert "--max-connections 1000" in result.stderr and "64" in result.stderr


def test_a_flood_beyond_max_connections_never_exhausts_descriptors(bin_dir, relay_env):
    """relay-server under ``ulimit -n 256`` with a --max-connections the limit serves,
    flooded by 300 idle connections from one address: the connections beyond the limits
    are closed at once, so accept never fails for want of descriptors; the joined pair
    keeps talking, the relay does not spin, and once the flood ends new peers join."""
    argv = ["sh", "-c", 'ulimit -n 256 && exec "$0" "$@"', str(bin_dir / "relay-server"),
            "--insecure-plaintext", "--port", "0", "--max-connections", "60",
            "--max-pending-per-address", "1000", "--handshake-timeout", "30"]
    server = RelayProcess(argv, relay_env)
    flood: list[socket.socket] = []
    try:
        match = LISTENING.match(server.stdout.wait_for(LISTENING.match))
        server.host, server.port = match.group(1), int(match.group(2))
        alice, bob = joined_pair(server)
        with alice, bob:
            for _ in range(300):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.settimeout(5)
                sock.connect((server.host, server.port))  # completes in the kernel's backlog
                flood.append(sock)
            server.stderr.wait_for("connection limit reached")
            before = cpu_seconds(server.pid)
            time.sleep(1.0)
            spent = cpu_seconds(server.pid) - before
            assert spent < 0.5, f"the relay used {spent:.2f} s of CPU in 1 s of an idle flood"
            held = open_descriptors(server.pid)
            assert held < 256, f"the relay holds {held} descriptors under a limit of 256"
            print(f"idle flood of 300 under ulimit -n 256: {held} descriptors open; CPU {spent:.3f} s in 1 s")

            for i in range(20):
                alice.send_message(f"during the flood {i}".encode())
                assert bob.recv_message() == f"during the flood {i}".encode()

            for sock in flood:
                sock.close()
            flood.clear()
            assert not any("cannot accept connections" in line for line in server.stderr.lines)

            bob.bye()
            left, _ = alice.expect(rp.PEER_LEFT)
            assert left == b"bob"
            assert_relay_serves(server, alice)
        assert server.alive()
    finally:
        for sock in flood:
            sock.close()
        server.stop()

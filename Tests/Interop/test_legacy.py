"""Legacy mode (PROTOCOL.md section 4, issue 3): clients written the way the original
Python relay's were, through relay-server --legacy and against relay-client --legacy."""

from __future__ import annotations

import socket
import struct
import subprocess
import threading

import pytest

import relaypeer as rp
from relaypeer import LegacyClient

MESSAGES = 300


def legacy_pair(server, first="alice", second="bob"):
    a = LegacyClient(server.host, server.port, first)
    b = LegacyClient(server.host, server.port, second)
    return a, b


def assert_pair_works(a: LegacyClient, b: LegacyClient, label: str) -> None:
    wire = a.send_message(f"{label} a->b")
    assert b.recv_payload() == wire[4:]
    wire = b.send_message(f"{label} b->a")
    assert a.recv_message() == f"{label} b->a".encode()


def test_two_python_clients_exchange_hundreds_of_messages(relay_server):
    with relay_server("--legacy") as server:
        a, b = legacy_pair(server)
        with a, b:
            assert len(a.key) == 32
            assert a.key == b.key
            sent_a = [a.send_message(f"from alice {i} \u00e9" * (i % 7 + 1)) for i in range(MESSAGES)]
            sent_b = [b.send_message(f"from bob {i}" * (i % 5 + 1)) for i in range(MESSAGES)]
            for i in range(MESSAGES):
                payload = b.recv_payload()
                assert struct.pack("!I", len(payload)) + payload == sent_a[i]  # forwarded unchanged
                assert rp.legacy_decrypt(b.key, payload) == (f"from alice {i} \u00e9" * (i % 7 + 1)).encode()
            for i in range(MESSAGES):
                assert a.recv_message() == (f"from bob {i}" * (i % 5 + 1)).encode()


def test_python_client_and_relay_client_legacy(relay_server, relay_client):
    with relay_server("--legacy") as server:
        with LegacyClient(server.host, server.port, "pyclient") as py:
            with relay_client("--legacy", name="alice", port=server.port) as client:
                client.stderr.wait_for("connected to")
                for i in range(MESSAGES):
                    py.send_message(f"py {i}")
                for i in range(MESSAGES):
                    client.send_line(f"swift {i}")
                for i in range(MESSAGES):
                    assert py.recv_message() == f"swift {i}".encode()
                lines = client.stdout.wait_count(MESSAGES)
                assert lines == [f"peer: py {i}" for i in range(MESSAGES)]
                client.close_stdin()
                assert client.wait() == 0
            # Legacy has no PEER_LEFT: the Python client stays, and the next client joins its session.
            with LegacyClient(server.host, server.port, "carol") as carol:
                assert carol.key == py.key
                assert_pair_works(py, carol, "after alice")


def test_startup_warnings(relay_server, relay_client):
    with relay_server("--legacy") as server:
        server.stderr.wait_for(lambda line: "legacy" in line and "clear" in line and "authenticated" in line)
        with relay_client("--legacy", name="alice", port=server.port) as client:
            client.stderr.wait_for(lambda line: "legacy" in line and "clear" in line and "authenticated" in line)


@pytest.mark.parametrize("executable,option", [
    ("relay-server", ["--tls-cert", "c.pem", "--tls-key", "k.pem"]),
    ("relay-server", ["--state-dir", "state"]),
    ("relay-server", ["--client-ca", "ca.pem"]),
    ("relay-client", ["--name", "alice", "--fingerprint", "sha256:" + "00" * 32]),
    ("relay-client", ["--name", "alice", "--ca", "ca.pem"]),
    ("relay-client", ["--name", "alice", "--known-servers", "ks"]),
])
def test_legacy_with_tls_option_is_a_usage_error(run_tool, executable, option):
    result = run_tool(executable, "--legacy", *option)
    assert result.returncode == 64, result.stderr
    assert b"--legacy" in result.stderr
    assert b"listening" not in result.stdout


def test_longest_name_joins(relay_server):
    with relay_server("--legacy") as server:
        a = LegacyClient(server.host, server.port, "\u00e9" * 127 + "a")  # 255 bytes of UTF-8
        b = LegacyClient(server.host, server.port, "b" * 255)
        with a, b:
            assert a.key == b.key
            assert_pair_works(a, b, "long names")


def test_messages_wait_for_the_second_client(relay_server):
    with relay_server("--legacy") as server:
        with LegacyClient(server.host, server.port, "alice") as a:
            sent = [a.send_message(f"early {i}") for i in range(50)]
            with LegacyClient(server.host, server.port, "bob") as b:
                assert b.key == a.key
                for wire in sent:
                    assert b.recv_payload() == wire[4:]


def test_largest_frame_is_forwarded_and_one_more_byte_closes(relay_server):
    with relay_server("--legacy", "--max-frame", "4096") as server:
        a, b = legacy_pair(server)
        with a, b:
            payload = bytes(range(256)) * 16  # 4096 bytes: opaque to the relay
            a.send_payload(payload)
            assert b.recv_payload() == payload
            b.send_payload(b"\x00" * 4097)
            b.wait_closed()
            # alice still holds the session: the next client gets its key and talks to her.
            with LegacyClient(server.host, server.port, "carol") as c:
                assert c.key == a.key
                assert_pair_works(a, c, "after a too large frame")


@pytest.mark.parametrize("bad", [
    pytest.param(struct.pack("!I", 0), id="length-0"),
    pytest.param(struct.pack("!I", 1_048_577), id="length-over-max-frame"),
    pytest.param(struct.pack("!I", 0xFFFFFFFF), id="length-max-u32"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: relay\r\n\r\n", id="garbage"),
])
def test_bad_frame_closes_only_the_sender(relay_server, bad):
    with relay_server("--legacy") as server:
        a, b = legacy_pair(server)
        with a, b:
            # A good frame in the same write as the bad one is still delivered.
            good = rp.legacy_encrypt(b.key, b"last good one")
            b.sock.sendall(struct.pack("!I", len(good)) + good + bad)
            assert a.recv_payload() == good
            b.wait_closed()
            with LegacyClient(server.host, server.port, "carol") as c:
                assert c.key == a.key
                assert_pair_works(a, c, "after a bad frame")


@pytest.mark.parametrize("name", [
    pytest.param(b"n" * 256, id="256-bytes"),
    pytest.param(b"n" * 4000, id="4000-bytes"),
    pytest.param(b"\xff\xfe\x00garbage", id="not-utf8"),
    pytest.param(b"alice\n", id="control-character"),
])
def test_bad_name_closes_only_that_connection(relay_server, name):
    with relay_server("--legacy") as server:
        a, b = legacy_pair(server)
        with a, b:
            with socket.create_connection((server.host, server.port), timeout=rp.SOCKET_TIMEOUT) as bad:
                bad.sendall(name)
                assert_pair_works(a, b, "while a bad name is refused")
                assert bad.recv(64) == b""  # closed without a key
            assert_pair_works(a, b, "after a bad name")


def test_client_that_never_sends_its_name_times_out(relay_server):
    with relay_server("--legacy", "--handshake-timeout", "0.5") as server:
        a, b = legacy_pair(server)
        with a, b:
            silent = socket.create_connection((server.host, server.port), timeout=rp.SOCKET_TIMEOUT)
            with silent:
                assert_pair_works(a, b, "while a client is silent")
                assert silent.recv(64) == b""  # the relay closes it after 0.5 s, before our 5 s timeout
            assert_pair_works(a, b, "after the silent client")


def test_third_client_is_closed_and_pair_keeps_working(relay_server):
    with relay_server("--legacy") as server:
        a, b = legacy_pair(server)
        with a, b:
            with socket.create_connection((server.host, server.port), timeout=rp.SOCKET_TIMEOUT) as third:
                third.sendall(b"carol")
                assert third.recv(64) == b""
            assert_pair_works(a, b, "after a third client")


def test_relay_client_end_of_input_loses_nothing_under_incoming_traffic(relay_server, relay_client):
    """relay-client --legacy at end of input, while the relay holds its sender back and
    the Python client keeps writing to it: every line still arrives. (Closing the socket
    with unread input is a reset, which discards what the kernel has not sent yet.)"""
    count = 4_000
    with relay_server("--legacy", "--queue-limit", "65536") as server:
        with LegacyClient(server.host, server.port, "pyclient") as py:
            with relay_client("--legacy", name="swift", port=server.port, stdout=subprocess.DEVNULL) as client:
                client.stderr.wait_for("connected to")
                one = rp.legacy_encrypt(py.key, b"incoming" * 1024)
                with rp.flooding(py.sock, struct.pack("!I", len(one)) + one):
                    feeder = client.feed_stdin(b"".join(b"line %d %s\n" % (i, b"x" * 200) for i in range(count)))
                    for i in range(count):
                        assert py.recv_message() == b"line %d %s" % (i, b"x" * 200)
                assert client.wait() == 0
                feeder.join(rp.SOCKET_TIMEOUT)


def test_backpressure_loses_nothing_between_python_clients(relay_server):
    """A receiver that does not read: the relay holds the sender back (its writes stall)
    instead of dropping; once the receiver reads, everything arrives in order."""
    count, size = 2_000, 1_000
    with relay_server("--legacy", "--queue-limit", "65536") as server:
        a, b = legacy_pair(server)
        with a, b:
            wire = b"".join(struct.pack("!I", size) + i.to_bytes(4, "big") * (size // 4) for i in range(count))
            sender = threading.Thread(target=a.sock.sendall, args=(wire,), daemon=True)
            sender.start()
            for i in range(count):
                assert b.recv_payload() == i.to_bytes(4, "big") * (size // 4)
            sender.join(rp.SOCKET_TIMEOUT)
            assert not sender.is_alive()


def test_same_name_as_the_other_client_is_closed(relay_server):
    with relay_server("--legacy") as server:
        a, b = legacy_pair(server, "alice", "bob")
        with a, b:
            b.close()
            with socket.create_connection((server.host, server.port), timeout=rp.SOCKET_TIMEOUT) as twin:
                twin.sendall(b"alice")
                assert twin.recv(64) == b""
            with LegacyClient(server.host, server.port, "bob") as again:
                assert again.key == a.key
                assert_pair_works(a, again, "after a duplicate name")


def test_sigterm_closes_legacy_clients_and_exits_0(relay_server):
    with relay_server("--legacy") as server:
        a, b = legacy_pair(server)
        with a, b:
            server.proc.terminate()
            for client in (a, b):
                client.wait_closed()  # no ERROR frame in legacy: just the close
                client.close()
            assert server.wait() == 0


def test_relay_client_legacy_refused_name_exits_1(relay_server, relay_client):
    with relay_server("--legacy") as server:
        with LegacyClient(server.host, server.port, "alice") as a:
            with relay_client("--legacy", name="alice", port=server.port) as client:
                client.close_stdin()
                assert client.wait() == 1
                assert client.stderr.wait_for("closed the connection")
            with LegacyClient(server.host, server.port, "bob") as b:
                assert_pair_works(a, b, "after relay-client was refused")


def test_relay_client_legacy_name_length_limit(run_tool, relay_server, relay_client):
    assert run_tool("relay-client", "--legacy", "--name", "n" * 256, "--port", "1").returncode == 64
    assert run_tool("relay-client", "--name", "n" * 33, "--port", "1").returncode == 64  # v1: 32 bytes
    with relay_server("--legacy") as server:
        with LegacyClient(server.host, server.port, "py") as py:
            with relay_client("--legacy", name="n" * 255, port=server.port) as client:
                client.send_line("from a long name")
                assert py.recv_message() == b"from a long name"
                client.close_stdin()
                assert client.wait() == 0


def test_each_session_has_a_fresh_key(relay_server):
    with relay_server("--legacy") as server:
        keys = []
        for round_ in range(3):
            a, b = legacy_pair(server)
            with a, b:
                assert a.key == b.key
                keys.append(a.key)
            # Both gone: the session ends and its key is wiped.
            server.stderr.wait_matching("room ended, key wiped", round_ + 1)
        assert len(set(keys)) == 3

"""Legacy mode (PROTOCOL.md section 4, issue 3): clients written the way the original
Python relay's were, through relay-server --legacy and against relay-client --legacy."""

from __future__ import annotations

import socket
import struct

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

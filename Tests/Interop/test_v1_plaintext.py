"""Protocol v1 over plain TCP (--insecure-plaintext): independent Python peers, written
from PROTOCOL.md, through the Swift relay-server, and against the real relay-client."""

from __future__ import annotations

import subprocess

import relaypeer as rp
from relaypeer import V1Peer


def test_python_pair_same_key_and_byte_identical_forwarding(relay_server):
    with relay_server("--insecure-plaintext") as server:
        with V1Peer(server.host, server.port, "alice") as alice:
            assert len(alice.key) == 32
            assert alice.welcome.max_frame == 1_048_576
            assert alice.welcome.peer == b""
            with V1Peer(server.host, server.port, "bob") as bob:
                assert bob.key == alice.key
                assert bob.welcome.peer == b"alice"
                joined, _ = alice.expect(rp.PEER_JOINED)
                assert joined == b"bob"

                messages = [b"", b"x", b"hello bob", bytes(range(256)) * 9, "h\u00e9llo \u2603".encode()]
                for plaintext in messages:
                    wire = alice.send_message(plaintext)
                    body, received = bob.expect(rp.DATA)
                    assert received == wire
                    assert rp.open_sealed(bob.key, body) == plaintext
                for plaintext in messages:
                    wire = bob.send_message(plaintext)
                    body, received = alice.expect(rp.DATA)
                    assert received == wire
                    assert rp.open_sealed(alice.key, body) == plaintext

                bob.bye()
                left, _ = alice.expect(rp.PEER_LEFT)
                assert left == b"bob"
                bob.wait_closed()


def test_forwarding_keeps_order_of_a_burst_both_ways(relay_server):
    with relay_server("--insecure-plaintext") as server:
        with V1Peer(server.host, server.port, "alice") as alice, \
                V1Peer(server.host, server.port, "bob") as bob:
            alice.expect(rp.PEER_JOINED)
            count = 300
            # Many frames in one write each way: the relay must split, forward and keep order.
            alice_wire = [rp.encode_frame(rp.DATA, rp.seal(alice.key, f"a{i}".encode())) for i in range(count)]
            bob_wire = [rp.encode_frame(rp.DATA, rp.seal(bob.key, f"b{i}".encode())) for i in range(count)]
            alice.send_raw(b"".join(alice_wire))
            bob.send_raw(b"".join(bob_wire))
            for i in range(count):
                _, wire = bob.expect(rp.DATA)
                assert wire == alice_wire[i]
                _, wire = alice.expect(rp.DATA)
                assert wire == bob_wire[i]


def test_other_session_key_cannot_open(relay_server):
    with relay_server("--insecure-plaintext") as server:
        with V1Peer(server.host, server.port, "alice") as alice:
            first_key = alice.key
            alice.bye()
            alice.wait_closed()
        # The session ended with its last peer: the next one gets a fresh key.
        with V1Peer(server.host, server.port, "carol") as carol:
            assert carol.key != first_key
            sealed = rp.seal(carol.key, b"secret")
            try:
                rp.open_sealed(first_key, sealed)
            except rp.AuthenticationError:
                pass
            else:
                raise AssertionError("a message opened under another session's key")


def test_ping_is_answered_with_its_body(relay_server):
    with relay_server("--insecure-plaintext") as server:
        with V1Peer(server.host, server.port, "alice") as alice:
            alice.send_frame(rp.PING, b"\x00ping\xff")
            body, _ = alice.expect(rp.PONG)
            assert body == b"\x00ping\xff"


def test_python_peer_and_relay_client(relay_server, relay_client):
    with relay_server("--insecure-plaintext") as server:
        with V1Peer(server.host, server.port, "pyname") as py:
            with relay_client("--insecure-plaintext", name="alice", port=server.port) as client:
                joined, _ = py.expect(rp.PEER_JOINED)
                assert joined == b"alice"

                # Python seals, relay-client opens and prints "PYNAME: TEXT".
                py.send_message("hello from python \u00e9".encode())
                client.stdout.wait_for(lambda line: line == "pyname: hello from python \u00e9")

                # relay-client's lines arrive sealed under the session key.
                for text in ("hi python", "second line", ""):
                    client.send_line(text)
                    assert py.recv_message() == text.encode()

                # Tampered DATA: reported on stderr, skipped; the next good one still prints.
                for position in (1, 20, -1):  # inside the IV, the ciphertext, the tag
                    sealed = bytearray(rp.seal(py.key, b"tampered"))
                    sealed[position] ^= 0x01
                    py.send_frame(rp.DATA, bytes(sealed))
                py.send_frame(rp.DATA, b"\x01short")  # too short to be a sealed message
                py.send_message(b"after the tampered ones")
                client.stdout.wait_for(lambda line: line == "pyname: after the tampered ones")
                reports = client.stderr.wait_matching("could not be opened", 4)
                assert len(reports) == 4, client.stderr.text
                assert all("pyname" in line for line in reports)
                assert "pyname: tampered" not in client.stdout.lines
                assert client.alive()

                # End of input: relay-client says BYE and exits 0; the Python peer hears PEER_LEFT.
                client.send_line("last")
                client.close_stdin()
                assert py.recv_message() == b"last"
                left, _ = py.expect(rp.PEER_LEFT)
                assert left == b"alice"
                assert client.wait() == 0
                assert client.stdout.lines == ["pyname: hello from python \u00e9", "pyname: after the tampered ones"]


def test_relay_client_waiting_for_python_peer(relay_server, relay_client):
    """relay-client joins first; its messages are queued and reach the Python peer that joins later."""
    with relay_server("--insecure-plaintext") as server:
        with relay_client("--insecure-plaintext", name="alice", port=server.port) as client:
            client.stderr.wait_for("waiting for a peer")
            for i in range(20):
                client.send_line(f"queued {i}")
            client.close_stdin()
            with V1Peer(server.host, server.port, "pyname") as py:
                assert py.welcome.peer == b"alice"
                for i in range(20):
                    assert py.recv_message() == f"queued {i}".encode()
                left, _ = py.expect(rp.PEER_LEFT)
                assert left == b"alice"
            assert client.wait() == 0


def test_relay_client_end_of_input_loses_nothing_under_incoming_traffic(relay_server, relay_client):
    """relay-client at end of input while the relay holds its sender back and the Python
    peer keeps writing to it: every line arrives, then BYE, then PEER_LEFT."""
    count = 2_500
    line = b"x" * 200
    with relay_server("--insecure-plaintext", "--queue-limit", "65536") as server:
        with V1Peer(server.host, server.port, "pyname") as py:
            with relay_client("--insecure-plaintext", name="alice", port=server.port,
                              stdout=subprocess.DEVNULL) as client:
                py.expect(rp.PEER_JOINED)
                with rp.flooding(py.sock, rp.encode_frame(rp.DATA, rp.seal(py.key, b"incoming" * 1024))):
                    feeder = client.feed_stdin(b"".join(b"%d %s\n" % (i, line) for i in range(count)))
                    for i in range(count):
                        assert py.recv_message() == b"%d %s" % (i, line)
                    left, _ = py.expect(rp.PEER_LEFT)
                    assert left == b"alice"
                assert client.wait() == 0
                feeder.join(rp.SOCKET_TIMEOUT)


def test_relay_client_prints_hostile_messages_as_one_safe_line(relay_server, relay_client):
    """A peer's bytes cannot forge lines or drive the terminal: newlines, escapes and other
    control characters print as U+FFFD on the one line; invalid UTF-8 is replaced."""
    hostile = [
        (b"a\nbob: forged", "pyname: a\ufffdbob: forged"),
        (b"\x1b[2J\x1b]0;title\x07red\r", "pyname: \ufffd[2J\ufffd]0;title\ufffdred\ufffd"),
        ("c1\u009b31m".encode(), "pyname: c1\ufffd31m"),
        (b"tab\tkept \xff\xfe", "pyname: tab\tkept \ufffd\ufffd"),
    ]
    with relay_server("--insecure-plaintext") as server:
        with V1Peer(server.host, server.port, "pyname") as py:
            with relay_client("--insecure-plaintext", name="alice", port=server.port) as client:
                py.expect(rp.PEER_JOINED)
                for raw, _ in hostile:
                    py.send_message(raw)
                py.send_message(b"end")
                client.stdout.wait_for(lambda line: line == "pyname: end")
                assert client.stdout.lines == [shown for _, shown in hostile] + ["pyname: end"]

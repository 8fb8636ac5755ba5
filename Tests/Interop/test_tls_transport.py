"""The TLS transport under load and abuse: a 64 MiB transfer between two Python ssl peers
arrives intact and in order; plaintext meeting TLS (either way round) ends with one
clear line, never a hang; a hundred garbage handshakes do not disturb a connected pair."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import ssl
import struct
import threading
from hashlib import sha256

import pytest

from relaypeer import (DATA, ERROR, ERROR_CODES, HELLO, PEER_JOINED, PEER_LEFT, PING, PONG, hello_body,
                       parse_error)
from tls_support import TLSPeer, client_context

TRANSFER_BYTES = 64 * 1024 * 1024
FRAME_BODY = 512 * 1024


def test_64_mib_over_tls_arrives_intact_and_in_order(relay_server):
    block = os.urandom(FRAME_BODY + 4096)
    count = TRANSFER_BYTES // FRAME_BODY

    def body(sequence: int) -> bytes:
        offset = sequence * 97 % 4096
        return struct.pack("!Q", sequence) + block[offset:offset + FRAME_BODY - 8]

    with relay_server() as server, TLSPeer(server.host, server.port, "alice", timeout=10) as alice, \
            TLSPeer(server.host, server.port, "bob", timeout=10) as bob:
        assert alice.expect(PEER_JOINED)[0] == b"bob"
        sent = sha256()
        failure: list[BaseException] = []

        def send() -> None:
            try:
                for sequence in range(count):
                    payload = body(sequence)
                    sent.update(payload)
                    alice.send_frame(DATA, payload)
            except BaseException as error:  # reported by the main thread
                failure.append(error)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        received = sha256()
        total = 0
        for sequence in range(count):
            frame_type, payload, _ = bob.recv_frame()
            assert frame_type == DATA
            (got,) = struct.unpack("!Q", payload[:8])
            assert got == sequence, f"frame {got} arrived in place of {sequence}"
            assert payload == body(sequence)
            received.update(payload)
            total += len(payload)
        sender.join(10)
        assert not failure, failure
        assert total == TRANSFER_BYTES
        assert received.digest() == sent.digest()


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_plaintext_client_reaching_a_tls_relay_gets_one_clear_line(relay_server, relay_client):
    with relay_server("--handshake-timeout", "3") as server, \
            relay_client("--insecure-plaintext", name="alice", port=server.port) as client:
        code = client.wait(timeout=3)  # within the relay's handshake timeout
        assert code == 1
        lines = _error_lines(client.stderr.text)
        assert len(lines) == 1, lines
        assert "speaks TLS" in lines[0] and "--insecure-plaintext" in lines[0], lines
        assert client.stdout.text == ""


def test_tls_client_reaching_a_plaintext_relay_gets_one_clear_line(relay_server, relay_client, relay_env):
    with relay_server("--insecure-plaintext") as server, \
            relay_client(name="alice", port=server.port) as client:
        code = client.wait(timeout=10)  # within the client's handshake timeout
        assert code == 1
        lines = _error_lines(client.stderr.text)
        assert len(lines) == 1, lines
        assert "TLS" in lines[0] and "--insecure-plaintext" in lines[0], lines
        assert not os.path.exists(relay_env["XDG_CONFIG_HOME"] + "/relay/known_servers")
        # An independent TLS client fails as fast (a socket timeout bounds the wait).
        with pytest.raises((ssl.SSLError, ConnectionError)):
            TLSPeer(server.host, server.port, "bob", timeout=3)


def _client_hello() -> bytes:
    """The bytes of a real TLS 1.3 ClientHello offering relay/1 (from the ssl module)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    handshake = client_context().wrap_bio(incoming, outgoing)
    with contextlib.suppress(ssl.SSLWantReadError):
        handshake.do_handshake()
    return outgoing.read()


def _garbage(rng: random.Random, hello: bytes, index: int) -> bytes:
    noise = rng.randbytes(rng.randrange(1, 4096))
    kind = index % 6
    if kind == 0:
        return noise                                          # anything at all
    if kind == 1:
        return b"\x16" + noise                                # passes the first-byte check
    if kind == 2:
        return b"\x16\x03\x01\xff\xff" + noise[:100]           # a record that never completes
    if kind == 3:
        return hello[:rng.randrange(1, len(hello))]            # a truncated ClientHello
    if kind == 4:
        return hello + b"\x17\x03\x03\x00\x40" + noise[:64]   # a ClientHello, then junk records
    corrupted = bytearray(hello)
    for _ in range(8):
        corrupted[rng.randrange(5, len(corrupted))] ^= 1 << rng.randrange(8)
    return bytes(corrupted)                                   # a ClientHello with flipped bits


def test_garbage_handshakes_do_not_disturb_a_connected_pair(relay_server):
    rng = random.Random(4)
    hello = _client_hello()
    assert hello[0] == 0x16
    with relay_server() as server, TLSPeer(server.host, server.port, "alice") as alice, \
            TLSPeer(server.host, server.port, "bob") as bob:
        alice.expect(PEER_JOINED)
        stalled: list[socket.socket] = []
        exchanged = 0

        def exchange() -> None:
            nonlocal exchanged
            text = f"message {exchanged}".encode()
            alice.send_message(text)
            assert bob.recv_message() == text
            bob.send_frame(PING, bytes([exchanged % 256]))
            assert bob.expect(PONG)[0] == bytes([exchanged % 256])
            exchanged += 1

        try:
            for index in range(100):
                sock = socket.create_connection((server.host, server.port), timeout=5)
                sock.sendall(_garbage(rng, hello, index))
                if index % 3 == 0:
                    # Abortive close (RST) for some, orderly close for others.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.close()
                elif index % 3 == 1:
                    sock.close()
                else:
                    stalled.append(sock)
                if index % 10 == 9:
                    exchange()
        finally:
            for sock in stalled:
                sock.close()
        exchange()
        assert exchanged == 11

        # The relay still serves TLS handshakes: a third peer is told the relay is full.
        with TLSPeer(server.host, server.port, "carol", hello=False) as carol:
            carol.send_frame(HELLO, hello_body(b"carol"))
            frame_type, body, _ = carol.recv_frame()
            assert frame_type == ERROR
            assert ERROR_CODES[parse_error(body)[0]] == "RELAY_FULL"
        exchange()
        assert server.alive()


def test_orderly_closes_send_close_notify(relay_server):
    """A ragged end (no close_notify) would raise ssl.SSLEOFError in these peers."""
    with relay_server() as server, TLSPeer(server.host, server.port, "alice", strict_close=True) as alice, \
            TLSPeer(server.host, server.port, "bob", strict_close=True) as bob:
        with TLSPeer(server.host, server.port, "carol", strict_close=True, hello=False) as carol:
            carol.send_frame(HELLO, hello_body(b"carol"))
            code, _ = carol.expect_error()
            assert ERROR_CODES[code] == "RELAY_FULL"
            carol.wait_closed()
        bob.bye()
        bob.wait_closed()
        bob.close()
        alice.expect(PEER_JOINED)
        assert alice.expect(PEER_LEFT)[0] == b"bob"
        # SIGTERM: SHUTTING_DOWN, then close_notify, and a clean exit once Alice closes.
        os.kill(server.pid, signal.SIGTERM)
        code, _ = alice.expect_error()
        assert ERROR_CODES[code] == "SHUTTING_DOWN"
        alice.wait_closed()
        alice.close()
        assert server.wait() == 0


def test_frame_over_the_limit_is_refused_from_its_header_over_tls(relay_server):
    with relay_server("--max-frame", "4096") as server, TLSPeer(server.host, server.port, "alice") as alice:
        alice.send_raw(struct.pack("!IB", 4097, DATA))  # the header alone, no body
        code, _ = alice.expect_error()
        assert ERROR_CODES[code] == "FRAME_TOO_LARGE"
        alice.wait_closed()


def _resident_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_backpressure_over_tls_bounds_the_relay_and_loses_nothing(relay_server):
    """Bob does not read while Alice sends 48 MiB: the relay stops reading her (its
    memory stays far below what was sent), then Bob reads everything, in order."""
    frame_body = 256 * 1024
    count = 48 * 1024 * 1024 // frame_body
    block = os.urandom(frame_body)
    with relay_server("--queue-limit", "65536") as server, \
            TLSPeer(server.host, server.port, "alice", timeout=15) as alice, \
            TLSPeer(server.host, server.port, "bob", timeout=15) as bob:
        alice.expect(PEER_JOINED)
        before = _resident_bytes(server.pid)
        failure: list[BaseException] = []

        def send() -> None:
            try:
                for sequence in range(count):
                    alice.send_frame(DATA, struct.pack("!Q", sequence) + block[8:])
            except BaseException as error:
                failure.append(error)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        # Without backpressure 48 MiB would be through in a fraction of this.
        sender.join(1.5)
        assert sender.is_alive(), "the relay kept reading a sender whose receiver reads nothing"
        grown = _resident_bytes(server.pid) - before
        assert grown < 16 * 1024 * 1024, f"the relay grew by {grown} bytes"
        for sequence in range(count):
            frame_type, payload, _ = bob.recv_frame()
            assert frame_type == DATA and payload == struct.pack("!Q", sequence) + block[8:]
        sender.join(10)
        assert not sender.is_alive() and not failure, failure


def test_tls_client_facing_a_silent_listener_gives_up_within_its_handshake_timeout(relay_client):
    """A peer that accepts and never answers (a stuck or wrong service): relay-client's
    handshake timeout (10 s) ends it with one line, not a hang."""
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            relay_client(name="alice", port=listener.getsockname()[1]) as client:
        code = client.wait(timeout=15)
        assert code == 1
        lines = _error_lines(client.stderr.text)
        assert len(lines) == 1 and "no answer within" in lines[0], lines

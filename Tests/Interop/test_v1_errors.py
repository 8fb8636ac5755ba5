"""Protocol v1 error paths (PROTOCOL.md sections 1 and 2) from the independent peer: each
offending connection gets its ERROR code and is closed; the pair's session goes on."""

from __future__ import annotations

import socket
import struct

import pytest

import relaypeer as rp
from relaypeer import V1Peer

MAX_FRAME = 4096


def assert_pair_works(alice: V1Peer, bob: V1Peer, label: str) -> None:
    wire = alice.send_message(f"{label} a->b".encode())
    body, received = bob.expect(rp.DATA)
    assert received == wire
    bob.send_message(f"{label} b->a".encode())
    assert alice.recv_message() == f"{label} b->a".encode()


def refused_with(server, raw: bytes) -> tuple[int, str]:
    """Sends ``raw`` on a fresh connection; returns the ERROR it gets and checks the close."""
    with V1Peer(server.host, server.port, "x", hello=False) as peer:
        peer.send_raw(raw)
        code, message = peer.expect_error()
        peer.wait_closed()
        return code, message


@pytest.fixture
def pair(relay_server):
    with relay_server("--insecure-plaintext", "--max-frame", str(MAX_FRAME), "--handshake-timeout", "0.5") as server:
        with V1Peer(server.host, server.port, "alice") as alice, V1Peer(server.host, server.port, "bob") as bob:
            alice.expect(rp.PEER_JOINED)
            yield server, alice, bob


def hello(name: bytes, version: int = 1) -> bytes:
    return rp.encode_frame(rp.HELLO, rp.hello_body(name, version))


@pytest.mark.parametrize("raw,code", [
    pytest.param(struct.pack("!IB", MAX_FRAME + 1, rp.DATA), 6, id="length-over-max-header-only"),
    pytest.param(struct.pack("!IB", 0xFFFFFFFF, rp.HELLO), 6, id="length-max-u32-header-only"),
    pytest.param(struct.pack("!I", 0) + b"\x01", 6, id="length-0"),
    pytest.param(rp.encode_frame(0x55, b"??"), 1, id="unknown-type"),
    pytest.param(rp.encode_frame(rp.HELLO, b"\x01\x05abc"), 1, id="hello-name-length-mismatch"),
    pytest.param(hello(b"carol", version=3), 2, id="version-3"),
    pytest.param(hello(b""), 3, id="empty-name"),
    pytest.param(hello(b"n" * 33), 3, id="33-byte-name"),
    pytest.param(hello(b"ca\x07rol"), 3, id="control-character"),
    pytest.param(hello("ca\u0085rol".encode()), 3, id="c1-control-character"),
    pytest.param(hello(b" carol"), 3, id="leading-space"),
    pytest.param(hello(b"carol\t"), 3, id="trailing-tab"),
    pytest.param(hello(b"\xc3\x28"), 3, id="invalid-utf8"),
    pytest.param(rp.encode_frame(rp.DATA, b"\x01" * 80), 8, id="data-before-hello"),
    pytest.param(rp.encode_frame(rp.WELCOME, b"\x00" * 37), 8, id="welcome-from-client"),
    pytest.param(rp.encode_frame(rp.PING, b"p"), 8, id="ping-before-hello"),
])
def test_offending_connection_gets_its_error_and_the_pair_goes_on(pair, raw, code):
    server, alice, bob = pair
    got, message = refused_with(server, raw)
    assert got == code, f"expected {rp.ERROR_CODES[code]}, got {rp.ERROR_CODES.get(got, got)}: {message}"
    assert message  # human readable
    assert_pair_works(alice, bob, rp.ERROR_CODES[code])


def test_third_peer_gets_relay_full_and_name_taken_before_it(relay_server):
    with relay_server("--insecure-plaintext") as server:
        with V1Peer(server.host, server.port, "alice") as alice:
            assert refused_with(server, hello(b"alice"))[0] == 4  # NAME_TAKEN
            with V1Peer(server.host, server.port, "bob") as bob:
                alice.expect(rp.PEER_JOINED)
                assert refused_with(server, hello(b"carol"))[0] == 5  # RELAY_FULL
                assert_pair_works(alice, bob, "after RELAY_FULL")


def test_silent_connection_gets_handshake_timeout(pair):
    server, alice, bob = pair
    with V1Peer(server.host, server.port, "x", hello=False) as silent:
        assert_pair_works(alice, bob, "while one is silent")
        code, _ = silent.expect_error()  # after 0.5 s, well within the socket timeout
        assert code == 7
        silent.wait_closed()
    assert_pair_works(alice, bob, "after the timeout")


def test_peer_errors_after_joining_close_only_that_peer(pair):
    server, alice, bob = pair
    bob.send_frame(rp.HELLO, rp.hello_body(b"bob"))
    code, _ = bob.expect_error()
    assert code == 8  # a second HELLO
    bob.wait_closed()
    left, _ = alice.expect(rp.PEER_LEFT)
    assert left == b"bob"
    with V1Peer(server.host, server.port, "carol") as carol:
        assert carol.key == alice.key  # the session went on
        assert carol.welcome.peer == b"alice"
        alice.expect(rp.PEER_JOINED)
        carol.send_raw(struct.pack("!IB", MAX_FRAME + 1, rp.DATA))  # header only
        code, _ = carol.expect_error()
        assert code == 6
        carol.wait_closed()
        left, _ = alice.expect(rp.PEER_LEFT)
        assert left == b"carol"


def test_sigterm_sends_shutting_down_and_exits_0(relay_server):
    with relay_server("--insecure-plaintext", "--log-level", "debug") as server:
        with V1Peer(server.host, server.port, "alice") as alice, V1Peer(server.host, server.port, "bob") as bob, \
                socket.create_connection((server.host, server.port), timeout=rp.SOCKET_TIMEOUT) as pending:
            alice.expect(rp.PEER_JOINED)
            # The handshaking one too, once the relay has accepted it (not just the kernel).
            server.stderr.wait_matching("connection accepted", 3)
            server.proc.terminate()
            for peer in (alice, bob):
                code, _ = peer.expect_error()
                assert code == 9
                peer.wait_closed()
                peer.close()
            frame_type, body, _ = rp.recv_frame(pending)
            assert frame_type == rp.ERROR and rp.parse_error(body)[0] == 9
            pending.close()
            assert server.wait() == 0

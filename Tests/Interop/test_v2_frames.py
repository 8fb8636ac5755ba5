"""The section 1 / 6 frame helpers of v2_frames.py, checked against the text's layouts
(no binaries: these helpers are for the rooms tests once relay-server speaks version 2)."""

from __future__ import annotations

import hashlib
import socket
import struct

import pytest

import v2_frames as f


def test_hello_layouts():
    assert f.hello_v1("bob") == b"\x01\x03bob"
    assert f.hello_v2("bob", b"") == b"\x02\x03bob\x00"
    room = f.room_bytes("7K3M-QX9P-T2WD-8H")
    body = f.hello_v2("bob", room)
    assert body == b"\x02\x03bob\x10" + room
    assert f.parse_hello(body) == f.Hello(2, b"bob", room)
    assert f.parse_hello(f.hello_v1("bob")) == f.Hello(1, b"bob", b"")
    # the largest HELLO frame: length 100 (type, version, nameLen, 32, roomLen, 64)
    biggest = f.encode_frame(f.HELLO, f.hello_v2("n" * 32, b"r" * 64))
    assert struct.unpack(">I", biggest[:4])[0] == f.MAX_HELLO_LENGTH == 100


@pytest.mark.parametrize("body", [b"", b"\x02", b"\x02\x03bo", b"\x02\x03bob", b"\x02\x03bob\x02x",
                                  b"\x02\x03bob\x00x", b"\x01\x03bobx", b"\x02\x01b\x41" + b"r" * 65])
def test_hello_that_does_not_add_up_is_malformed(body):
    with pytest.raises(f.FrameError):
        f.parse_hello(body)


def test_room_bytes_and_log_id():
    code = "correct horse"
    room = f.room_bytes(code)
    assert room == hashlib.sha256(b"relay room v2:" + code.encode("utf-8")).digest()[:16]
    assert f.room_log_id(room) == hashlib.sha256(room).hexdigest()[:8]
    assert f.room_bytes("é") == hashlib.sha256(b"relay room v2:\xc3\xa9").digest()[:16]


def test_welcome_v1_and_v2():
    key = bytes(range(32))
    w1 = f.parse_welcome_v1(f.welcome_v1(key, 4096, b"alice"))
    assert (w1.session_key, w1.max_frame, w1.peers, w1.peer, w1.room_size) == (key, 4096, [b"alice"], b"alice", 2)
    assert f.parse_welcome_v1(f.welcome_v1(key)).peer is None
    body = key + struct.pack(">IBB", 1_048_576, 3, 2) + b"\x05alice\x03bob"
    assert f.welcome_v2(key, 1_048_576, 3, [b"alice", b"bob"]) == body
    w2 = f.parse_welcome_v2(body)
    assert (w2.room_size, w2.peers, w2.version) == (3, [b"alice", b"bob"], 2)
    for bad in (body[:-1], body + b"x", key + struct.pack(">IBB", 1, 2, 1)):
        with pytest.raises(f.FrameError):
            f.parse_welcome_v2(bad)


def test_error_and_data_from():
    assert f.parse_error(f.error_body(f.BUSY, "try later")) == (10, "try later")
    assert f.parse_data_from(f.data_from_body(b"carol", b"\x01sealed")) == (b"carol", b"\x01sealed")
    with pytest.raises(f.FrameError):
        f.parse_data_from(b"\x05ab")


def test_frame_socket_round_trip_and_limits():
    a, b = socket.socketpair()
    left, right = f.FrameSocket(a), f.FrameSocket(b, max_frame=64)
    try:
        left.send(f.PING, b"x" * 10)
        left.send(f.BYE)
        assert right.recv(2) == (f.PING, b"x" * 10)
        assert right.recv(2) == (f.BYE, b"")
        with pytest.raises((socket.timeout, TimeoutError)):
            right.recv(0.05)
        left.send_raw(struct.pack(">IB", 65, f.DATA))
        with pytest.raises(f.FrameError):
            right.recv(2)
        left.close()
        with pytest.raises(f.PeerClosed):
            f.FrameSocket(b).recv(2)
    finally:
        left.close()
        right.close()

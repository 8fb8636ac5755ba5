"""Frame layer of PROTOCOL.md sections 1 and 6 (versions 1 and 2), written from the text
alone, independent of relaypeer.py and of the Swift sources.

    frame := length:u32 | type:u8 | body[length - 1]

- ``encode_frame`` / ``FrameSocket`` (blocking, with timeouts everywhere);
- HELLO v1 and v2 (with a room), WELCOME v1 and v2 parsing, PEER_JOINED / PEER_LEFT,
  DATA, DATA_FROM, PING / PONG, BYE, ERROR;
- ``room_bytes(code)``: the first 16 bytes of SHA-256("relay room v2:" | code);
- ``room_log_id(room)``: the first 8 lowercase hex digits of SHA-256(room) (section 6 log).
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import struct
import threading
from dataclasses import dataclass, field

HELLO = 0x01
WELCOME = 0x02
PEER_JOINED = 0x03
PEER_LEFT = 0x04
DATA = 0x10
DATA_FROM = 0x11
PING = 0x20
PONG = 0x21
BYE = 0x30
ERROR = 0x7F

FRAME_TYPES = {HELLO: "HELLO", WELCOME: "WELCOME", PEER_JOINED: "PEER_JOINED",
               PEER_LEFT: "PEER_LEFT", DATA: "DATA", DATA_FROM: "DATA_FROM", PING: "PING",
               PONG: "PONG", BYE: "BYE", ERROR: "ERROR"}

MALFORMED = 1
UNSUPPORTED_VERSION = 2
INVALID_NAME = 3
NAME_TAKEN = 4
RELAY_FULL = 5
FRAME_TOO_LARGE = 6
HANDSHAKE_TIMEOUT = 7
UNEXPECTED_FRAME = 8
SHUTTING_DOWN = 9
BUSY = 10

ERROR_NAMES = {MALFORMED: "MALFORMED", UNSUPPORTED_VERSION: "UNSUPPORTED_VERSION",
               INVALID_NAME: "INVALID_NAME", NAME_TAKEN: "NAME_TAKEN", RELAY_FULL: "RELAY_FULL",
               FRAME_TOO_LARGE: "FRAME_TOO_LARGE", HANDSHAKE_TIMEOUT: "HANDSHAKE_TIMEOUT",
               UNEXPECTED_FRAME: "UNEXPECTED_FRAME", SHUTTING_DOWN: "SHUTTING_DOWN", BUSY: "BUSY"}

DEFAULT_MAX_FRAME = 1_048_576
MAX_HELLO_LENGTH = 100  # type, version, nameLen, 32-byte name, roomLen, 64-byte room
MAX_ROOM = 64
ROOM_PREFIX = b"relay room v2:"
DEFAULT_TIMEOUT = 5.0


class FrameError(Exception):
    """A frame or body that does not parse (MALFORMED in the contract's terms)."""


class PeerClosed(Exception):
    """The other end closed the connection."""


def _b(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


# --- rooms -------------------------------------------------------------------------------

def room_bytes(code: str | bytes) -> bytes:
    """Section 6: room = the first 16 bytes of SHA-256("relay room v2:" | code)."""
    return hashlib.sha256(ROOM_PREFIX + _b(code)).digest()[:16]


def room_log_id(room: bytes) -> str:
    """Section 6: how a join is logged: the first 8 lowercase hex digits of SHA-256(room)."""
    return hashlib.sha256(room).hexdigest()[:8]


# --- encoding ----------------------------------------------------------------------------

def encode_frame(frame_type: int, body: bytes = b"") -> bytes:
    return struct.pack(">IB", 1 + len(body), frame_type) + bytes(body)


def hello_v1(name: str | bytes) -> bytes:
    """HELLO v1 body: version:u8 (=1) | nameLen:u8 | name."""
    name = _b(name)
    return bytes([1, len(name)]) + name


def hello_v2(name: str | bytes, room: bytes = b"") -> bytes:
    """HELLO v2 body: version:u8 (=2) | nameLen:u8 | name | roomLen:u8 | room."""
    name = _b(name)
    room = bytes(room)
    return bytes([2, len(name)]) + name + bytes([len(room)]) + room


def welcome_v1(session_key: bytes, max_frame: int = DEFAULT_MAX_FRAME, peer: bytes = b"") -> bytes:
    return bytes(session_key) + struct.pack(">IB", max_frame, len(peer)) + bytes(peer)


def welcome_v2(session_key: bytes, max_frame: int = DEFAULT_MAX_FRAME, room_size: int = 2,
               peers: list[bytes] = ()) -> bytes:
    body = bytes(session_key) + struct.pack(">IBB", max_frame, room_size, len(peers))
    for peer in peers:
        body += bytes([len(peer)]) + bytes(peer)
    return body


def error_body(code: int, message: str = "") -> bytes:
    return struct.pack(">H", code) + message.encode("utf-8")


def data_from_body(name: bytes, sealed: bytes) -> bytes:
    return bytes([len(name)]) + bytes(name) + bytes(sealed)


# --- parsing -----------------------------------------------------------------------------

@dataclass
class Hello:
    version: int
    name: bytes
    room: bytes = b""  # b"" is the default room (and every v1 HELLO)


def parse_hello(body: bytes) -> Hello:
    if len(body) < 2:
        raise FrameError("HELLO too short")
    version, name_len = body[0], body[1]
    name = body[2:2 + name_len]
    if len(name) != name_len:
        raise FrameError("HELLO name length does not add up")
    rest = body[2 + name_len:]
    if version == 1:
        if rest:
            raise FrameError("HELLO v1 with trailing bytes")
        return Hello(1, name)
    if version == 2:
        if len(rest) < 1 or len(rest) != 1 + rest[0]:
            raise FrameError("HELLO v2 room length does not add up")
        if rest[0] > MAX_ROOM:
            raise FrameError("room above 64 bytes")
        return Hello(2, name, rest[1:])
    return Hello(version, name, rest)  # UNSUPPORTED_VERSION is the caller's decision


@dataclass
class Welcome:
    version: int
    session_key: bytes
    max_frame: int
    peers: list[bytes] = field(default_factory=list)  # v1: [] or [peer]
    room_size: int = 2  # v1: always 2

    @property
    def peer(self) -> bytes | None:
        """The peer this WELCOME names (v1, or the last-joined of v2), None if alone."""
        return self.peers[-1] if self.peers else None


def parse_welcome_v1(body: bytes) -> Welcome:
    if len(body) < 37:
        raise FrameError("WELCOME v1 too short")
    key, (max_frame, peer_len) = body[:32], struct.unpack(">IB", body[32:37])
    peer = body[37:]
    if len(peer) != peer_len:
        raise FrameError("WELCOME v1 peer length does not add up")
    return Welcome(1, key, max_frame, [peer] if peer_len else [], 2)


def parse_welcome_v2(body: bytes) -> Welcome:
    if len(body) < 38:
        raise FrameError("WELCOME v2 too short")
    key = body[:32]
    max_frame, room_size, count = struct.unpack(">IBB", body[32:38])
    offset, peers = 38, []
    for _ in range(count):
        if offset >= len(body):
            raise FrameError("WELCOME v2 list shorter than its count")
        n = body[offset]
        name = body[offset + 1:offset + 1 + n]
        if len(name) != n:
            raise FrameError("WELCOME v2 name length does not add up")
        peers.append(name)
        offset += 1 + n
    if offset != len(body):
        raise FrameError("WELCOME v2 with trailing bytes")
    return Welcome(2, key, max_frame, peers, room_size)


def parse_welcome(body: bytes, version: int) -> Welcome:
    """The WELCOME that answers a HELLO of ``version``."""
    return parse_welcome_v2(body) if version == 2 else parse_welcome_v1(body)


def parse_error(body: bytes) -> tuple[int, str]:
    if len(body) < 2:
        raise FrameError("ERROR too short")
    return struct.unpack(">H", body[:2])[0], body[2:].decode("utf-8", "replace")


def parse_data_from(body: bytes) -> tuple[bytes, bytes]:
    """DATA_FROM body: nameLen:u8 | name | sealed -> (name, sealed)."""
    if len(body) < 1 or len(body) < 1 + body[0]:
        raise FrameError("DATA_FROM name length does not add up")
    n = body[0]
    return body[1:1 + n], body[1 + n:]


# --- a blocking socket speaking frames -----------------------------------------------------

class FrameSocket:
    """One TCP connection carrying frames; every wait is bounded by a timeout.

    ``send`` is thread-safe (one lock); ``recv`` is meant for one reader thread."""

    def __init__(self, sock: socket.socket, max_frame: int = DEFAULT_MAX_FRAME):
        self.sock = sock
        self.max_frame = max_frame
        self._send_lock = threading.Lock()
        self._buffer = bytearray()
        self.closed = False

    @classmethod
    def connect(cls, host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> "FrameSocket":
        return cls(socket.create_connection((host, port), timeout=timeout))

    def send(self, frame_type: int, body: bytes = b"") -> None:
        self.send_raw(encode_frame(frame_type, body))

    def send_raw(self, data: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(data)

    def _fill(self, count: int, timeout: float | None) -> None:
        self.sock.settimeout(timeout)
        while len(self._buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise PeerClosed("connection closed")
            self._buffer += chunk

    def recv(self, timeout: float | None = DEFAULT_TIMEOUT) -> tuple[int, bytes]:
        """The next frame as (type, body). Raises socket.timeout (TimeoutError) when
        nothing complete arrives in time (bytes already read are kept), PeerClosed at EOF,
        FrameError for a length of 0 or above max_frame."""
        self._fill(5, timeout)
        length, frame_type = struct.unpack(">IB", bytes(self._buffer[:5]))
        if length == 0 or length > self.max_frame:
            raise FrameError(f"frame length {length}")
        self._fill(4 + length, timeout)
        body = bytes(self._buffer[5:4 + length])
        del self._buffer[:4 + length]
        return frame_type, body

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()

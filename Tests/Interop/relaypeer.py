"""An independent Python peer for the relay, written from the contract (PROTOCOL.md) alone.

- Section 1: the v1 frame codec (``length:u32 | type:u8 | body``) and HELLO/WELCOME bodies.
- Section 3: ``seal``/``open_sealed`` (HKDF-SHA256 keys, AES-256-CBC + PKCS7, HMAC-SHA256
  over ``0x01 | iv | ct``) with the ``cryptography`` package.
- Section 4: ``LegacyClient``, written the way the original Python relay's clients were:
  raw UTF-8 name, ``recv`` of 32 raw key bytes, ``struct.pack('!I', len)`` frames whose
  payload is ``iv | AES-256-CBC(K, iv, PKCS7(P))`` with the key used directly.

Every socket has a timeout, so a test that waits for something that never comes fails
within seconds instead of hanging.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import select
import socket
import struct
import threading
from dataclasses import dataclass
from hashlib import sha256

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SOCKET_TIMEOUT = 5.0

# Section 1: frame types and error codes.
HELLO = 0x01
WELCOME = 0x02
PEER_JOINED = 0x03
PEER_LEFT = 0x04
DATA = 0x10
PING = 0x20
PONG = 0x21
BYE = 0x30
ERROR = 0x7F

ERROR_CODES = {
    1: "MALFORMED",
    2: "UNSUPPORTED_VERSION",
    3: "INVALID_NAME",
    4: "NAME_TAKEN",
    5: "RELAY_FULL",
    6: "FRAME_TOO_LARGE",
    7: "HANDSHAKE_TIMEOUT",
    8: "UNEXPECTED_FRAME",
    9: "SHUTTING_DOWN",
}

SEAL_VERSION = 0x01
IV_LEN = 16
TAG_LEN = 32
MIN_SEALED = 1 + IV_LEN + 16 + TAG_LEN


class AuthenticationError(Exception):
    """The one error of ``open_sealed``, whatever the cause."""


class PeerClosed(Exception):
    """The other end closed the connection before a complete frame arrived."""


# ---------------------------------------------------------------- frames (section 1)

def encode_frame(frame_type: int, body: bytes = b"") -> bytes:
    return struct.pack("!IB", 1 + len(body), frame_type) + body


def hello_body(name: bytes, version: int = 1) -> bytes:
    return bytes([version, len(name)]) + name


@dataclass
class Welcome:
    session_key: bytes
    max_frame: int
    peer: bytes


def parse_welcome(body: bytes) -> Welcome:
    if len(body) < 32 + 4 + 1:
        raise ValueError("WELCOME body too short")
    key = body[:32]
    (max_frame,) = struct.unpack("!I", body[32:36])
    peer_len = body[36]
    peer = body[37:]
    if len(peer) != peer_len:
        raise ValueError("WELCOME peer length does not match")
    return Welcome(key, max_frame, peer)


def parse_error(body: bytes) -> tuple[int, str]:
    if len(body) < 2:
        raise ValueError("ERROR body too short")
    (code,) = struct.unpack("!H", body[:2])
    return code, body[2:].decode("utf-8")


def recv_exact(sock: socket.socket, count: int) -> bytes:
    chunks = []
    remaining = count
    while remaining:
        chunk = sock.recv(remaining)
        if not chunk:
            raise PeerClosed(f"closed with {remaining} of {count} bytes missing")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> tuple[int, bytes, bytes]:
    """Reads one frame: (type, body, the frame's exact wire bytes)."""
    header = recv_exact(sock, 5)
    length, frame_type = struct.unpack("!IB", header)
    if length == 0:
        raise ValueError("frame length 0")
    body = recv_exact(sock, length - 1)
    return frame_type, body, header + body


# ---------------------------------------------------------------- sealing (section 3)

def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def derive_keys(session_key: bytes) -> tuple[bytes, bytes]:
    """(encKey, macKey) from the 32-byte session key."""
    if len(session_key) != 32:
        raise ValueError("the session key is 32 bytes")
    return _hkdf(session_key, b"relay v1 aes-256-cbc"), _hkdf(session_key, b"relay v1 hmac-sha256")


def _cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def _cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def seal(session_key: bytes, plaintext: bytes, iv: bytes | None = None) -> bytes:
    enc_key, mac_key = derive_keys(session_key)
    iv = os.urandom(IV_LEN) if iv is None else iv
    ct = _cbc_encrypt(enc_key, iv, plaintext)
    signed = bytes([SEAL_VERSION]) + iv + ct
    return signed + hmac.new(mac_key, signed, sha256).digest()


def open_sealed(session_key: bytes, sealed: bytes) -> bytes:
    enc_key, mac_key = derive_keys(session_key)
    if len(sealed) < MIN_SEALED or sealed[0] != SEAL_VERSION:
        raise AuthenticationError()
    signed, tag = sealed[:-TAG_LEN], sealed[-TAG_LEN:]
    ct = signed[1 + IV_LEN:]
    if len(ct) % 16:
        raise AuthenticationError()
    if not hmac.compare_digest(hmac.new(mac_key, signed, sha256).digest(), tag):
        raise AuthenticationError()
    try:
        return _cbc_decrypt(enc_key, signed[1:1 + IV_LEN], ct)
    except ValueError:
        raise AuthenticationError() from None


# The legacy GPUCrypto form: iv | AES-256-CBC(K, iv, PKCS7(P)), the key used directly.

def legacy_encrypt(key: bytes, plaintext: bytes, iv: bytes | None = None) -> bytes:
    iv = os.urandom(IV_LEN) if iv is None else iv
    return iv + _cbc_encrypt(key, iv, plaintext)


def legacy_decrypt(key: bytes, payload: bytes) -> bytes:
    return _cbc_decrypt(key, payload[:IV_LEN], payload[IV_LEN:])


@contextlib.contextmanager
def flooding(sock: socket.socket, chunk: bytes):
    """Writes ``chunk`` to ``sock`` again and again on a thread while the block runs, so
    input is always arriving at the other end."""
    done = threading.Event()

    def run() -> None:
        # select + send rather than sendall: a held-back socket must not keep the thread
        # blocked past the end of the block.
        view, offset = memoryview(chunk), 0
        while not done.is_set():
            try:
                if not select.select([], [sock], [], 0.05)[1]:
                    continue
                offset = (offset + sock.send(view[offset:])) % len(chunk)
            except OSError:
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(SOCKET_TIMEOUT)


# ---------------------------------------------------------------- a v1 peer

class V1Peer:
    """One v1 connection: HELLO on connect, then frames."""

    def __init__(self, host: str, port: int, name: str | bytes, *, timeout: float = SOCKET_TIMEOUT,
                 hello: bool = True):
        self.name = name.encode() if isinstance(name, str) else name
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.welcome: Welcome | None = None
        if hello:
            self.hello()

    @property
    def key(self) -> bytes:
        assert self.welcome is not None, "no WELCOME yet"
        return self.welcome.session_key

    def hello(self) -> Welcome:
        self.send_frame(HELLO, hello_body(self.name))
        frame_type, body, _ = self.recv_frame()
        if frame_type == ERROR:
            code, message = parse_error(body)
            raise AssertionError(f"HELLO refused: {ERROR_CODES.get(code, code)} {message}")
        assert frame_type == WELCOME, f"expected WELCOME, got type {frame_type:#x}"
        self.welcome = parse_welcome(body)
        return self.welcome

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_frame(self, frame_type: int, body: bytes = b"") -> bytes:
        wire = encode_frame(frame_type, body)
        self.sock.sendall(wire)
        return wire

    def send_message(self, plaintext: bytes) -> bytes:
        """Seals and sends one DATA frame; returns its exact wire bytes."""
        return self.send_frame(DATA, seal(self.key, plaintext))

    def recv_frame(self) -> tuple[int, bytes, bytes]:
        return recv_frame(self.sock)

    def expect(self, frame_type: int) -> tuple[bytes, bytes]:
        got, body, wire = self.recv_frame()
        if got == ERROR and frame_type != ERROR:
            code, message = parse_error(body)
            raise AssertionError(f"expected type {frame_type:#x}, got ERROR {ERROR_CODES.get(code, code)}: {message}")
        assert got == frame_type, f"expected type {frame_type:#x}, got {got:#x}"
        return body, wire

    def expect_error(self) -> tuple[int, str]:
        body, _ = self.expect(ERROR)
        return parse_error(body)

    def recv_message(self) -> bytes:
        body, _ = self.expect(DATA)
        return open_sealed(self.key, body)

    def bye(self) -> None:
        self.send_frame(BYE)

    def wait_closed(self) -> None:
        """Reads until EOF; fails on a timeout."""
        while self.sock.recv(65536):
            pass

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "V1Peer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------- a legacy client (section 4)

class LegacyClient:
    """The original Python relay's client, as it was written."""

    def __init__(self, host: str, port: int, name: str | bytes | None, *, timeout: float = SOCKET_TIMEOUT):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.key: bytes | None = None
        if name is not None:
            self.join(name)

    def join(self, name: str | bytes) -> bytes:
        self.sock.send(name.encode("utf-8") if isinstance(name, str) else name)
        self.key = recv_exact(self.sock, 32)
        return self.key

    def send_payload(self, payload: bytes) -> bytes:
        wire = struct.pack("!I", len(payload)) + payload
        self.sock.sendall(wire)
        return wire

    def send_message(self, text: str | bytes) -> bytes:
        data = text.encode("utf-8") if isinstance(text, str) else text
        return self.send_payload(legacy_encrypt(self.key, data))

    def recv_payload(self) -> bytes:
        (length,) = struct.unpack("!I", recv_exact(self.sock, 4))
        return recv_exact(self.sock, length)

    def recv_message(self) -> bytes:
        return legacy_decrypt(self.key, self.recv_payload())

    def wait_closed(self) -> None:
        """Reads until EOF; fails on a timeout."""
        while self.sock.recv(65536):
            pass

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "LegacyClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""An independent end-to-end peer for PROTOCOL.md section 7, written from the text alone.

Layers (each usable on its own):

- crypto: ``commitment``, ``transcript``, ``derive_keys`` (PRK = HKDF-Extract(salt=K,
  IKM=Z), key(label) = HKDF-Expand(PRK, "relay e2e v1 " | label | T, 32)), ``sas_string``,
  ``seal_record`` / ``open_record`` (0x02 | seq:u64 | iv | ct | tag), identity content and
  signature, fingerprints, section 3 ``seal_v1`` (to inject relay-key messages);
- ``Agreement``: the pure (no I/O) state machine of 7.2 for one role; the malicious relay
  reuses it to impersonate a peer;
- ``E2EClient``: a blocking, thread-backed client over plain TCP (relays under test run with
  ``--insecure-plaintext``) that runs agreements in whatever role the frames say, sends its
  identity record first, checks the peer's, and then sends / receives chat, stream and end
  records. Everything it observes is an ``Event`` that tests wait for with a timeout.

The frame layer (sections 1 and 6) is in v2_frames.py and re-exported here.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from v2_frames import *  # noqa: F401,F403  (the frame layer is part of this module's API)
from v2_frames import (BYE, DATA, DATA_FROM, ERROR, PEER_JOINED, PEER_LEFT, PING, PONG, WELCOME,
                       FrameError, FrameSocket, PeerClosed, hello_v1, hello_v2, parse_error,
                       parse_welcome)

# --- constants of section 7 ----------------------------------------------------------------

RELAY_KEY_MESSAGE = 0x01
RECORD = 0x02
AGREEMENT = 0x03

STEP_COMMIT, STEP_PK_I, STEP_PK_R = 1, 2, 3
AGREEMENT_LEN = 34

KIND_CHAT, KIND_STREAM, KIND_END, KIND_IDENTITY = 0x00, 0x01, 0x02, 0x03
KIND_NAMES = {KIND_CHAT: "chat", KIND_STREAM: "stream", KIND_END: "end", KIND_IDENTITY: "identity"}

COMMIT_LABEL = b"relay e2e v1 commit"
TRANSCRIPT_LABEL = b"relay e2e v1"
KEY_LABEL_PREFIX = b"relay e2e v1 "
IDENTITY_LABEL = b"relay e2e v1 identity"
LABELS = ("i2r enc", "i2r mac", "r2i enc", "r2i mac", "sas")

RECORD_HEADER = 1 + 8 + 16  # type, seq, iv
RECORD_MIN = RECORD_HEADER + 16 + 32  # 73
MAX_AGREEMENTS = 3
MAX_ABORTED = 3
EXIT_SECURITY = 3

SEAL_V1_MIN = 1 + 16 + 16 + 32


class AuthError(Exception):
    """The one indistinguishable authentication error (sections 3 and 7.3)."""

    def __init__(self) -> None:
        super().__init__("authentication failed")


class SeqError(Exception):
    """An authentic record whose seq is not the expected one (dropped/replayed/reordered)."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"record seq {got}, expected {expected}")
        self.expected, self.got = expected, got


class AgreementAbort(Exception):
    """7.2: the agreement is aborted (wrong length, out of order, commitment, zero Z)."""


class Discard(Exception):
    """7.2: a message received before the first expected one: silently discarded."""


def _b(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


# --- crypto --------------------------------------------------------------------------------

def x25519_public(secret: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()


def x25519(secret: bytes, public: bytes) -> bytes:
    """X25519(secret, public); raises AgreementAbort when the output is all zero (RFC 7748
    6.1, checked in constant time). cryptography itself refuses some such inputs."""
    try:
        z = X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError as error:
        raise AgreementAbort("all-zero X25519 output") from error
    if hmac.compare_digest(z, bytes(32)):
        raise AgreementAbort("all-zero X25519 output")
    return z


def commitment(pk_r: bytes) -> bytes:
    return hashlib.sha256(COMMIT_LABEL + pk_r).digest()


def agreement_message(step: int, value: bytes) -> bytes:
    return bytes([AGREEMENT, step]) + value


def transcript_input(name_i: bytes, name_r: bytes, pk_i: bytes, pk_r: bytes) -> bytes:
    name_i, name_r = _b(name_i), _b(name_r)
    return TRANSCRIPT_LABEL + bytes([len(name_i)]) + name_i + bytes([len(name_r)]) + name_r + pk_i + pk_r


def transcript(name_i: bytes, name_r: bytes, pk_i: bytes, pk_r: bytes) -> bytes:
    return hashlib.sha256(transcript_input(name_i, name_r, pk_i, pk_r)).digest()


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def key_info(label: str, t: bytes) -> bytes:
    return KEY_LABEL_PREFIX + label.encode("ascii") + t


def hkdf_expand(prk: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(prk)


def derive_keys(session_key: bytes, z: bytes, t: bytes) -> dict[str, bytes]:
    """{'PRK': ..., 'i2r enc': ..., 'i2r mac': ..., 'r2i enc': ..., 'r2i mac': ..., 'sas': ...}"""
    prk = hkdf_extract(session_key, z)
    keys = {label: hkdf_expand(prk, key_info(label, t)) for label in LABELS}
    keys["PRK"] = prk
    return keys


def sas_number(sas_key: bytes) -> int:
    return struct.unpack(">I", sas_key[:4])[0] % 1_000_000


def format_sas(number: int) -> str:
    digits = f"{number:06d}"
    return f"{digits[:3]} {digits[3:]}"


def sas_string(sas_key: bytes) -> str:
    return format_sas(sas_number(sas_key))


def normalise_sas(text: str) -> str:
    """7.4: digits are accepted as "048213" or "048 213"."""
    digits = text.replace(" ", "")
    if len(digits) != 6 or not digits.isdigit():
        raise ValueError(f"not a SAS: {text!r}")
    return f"{digits[:3]} {digits[3:]}"


def _cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def _cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as error:
        raise AuthError() from error


def seal_record(enc_key: bytes, mac_key: bytes, seq: int, kind: int, content: bytes = b"",
                iv: bytes | None = None) -> bytes:
    """record = 0x02 | seq:u64 | iv[16] | ct | tag[32]."""
    iv = os.urandom(16) if iv is None else iv
    ct = _cbc_encrypt(enc_key, iv, bytes([kind]) + bytes(content))
    head = bytes([RECORD]) + struct.pack(">Q", seq) + iv + ct
    return head + hmac.new(mac_key, head, hashlib.sha256).digest()


def record_seq(record: bytes) -> int:
    return struct.unpack(">Q", record[1:9])[0]


def authenticate_record(mac_key: bytes, record: bytes) -> int:
    """Length, first byte, tag (constant time): returns seq, or raises AuthError."""
    ok = len(record) >= RECORD_MIN and (len(record) - 57) % 16 == 0 and record[0] == RECORD
    if not ok:
        raise AuthError()
    expected = hmac.new(mac_key, record[:-32], hashlib.sha256).digest()
    if not hmac.compare_digest(expected, record[-32:]):
        raise AuthError()
    return record_seq(record)


def decrypt_record(enc_key: bytes, record: bytes) -> tuple[int, bytes]:
    """(kind, content) of an authenticated record; an empty plaintext or bad PKCS7 is the
    authentication error."""
    plaintext = _cbc_decrypt(enc_key, record[9:25], record[25:-32])
    if not plaintext:
        raise AuthError()
    return plaintext[0], plaintext[1:]


def open_record(enc_key: bytes, mac_key: bytes, record: bytes,
                expected_seq: int | None = None) -> tuple[int, int, bytes]:
    """(seq, kind, content). Checks length, first byte and tag, then seq (SeqError), then
    decrypts (AuthError on a bad PKCS7 or missing kind byte)."""
    seq = authenticate_record(mac_key, record)
    if expected_seq is not None and seq != expected_seq:
        raise SeqError(expected_seq, seq)
    kind, content = decrypt_record(enc_key, record)
    return seq, kind, content


# section 3, for relay-key messages a malicious relay injects
def _hkdf_empty_salt(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def seal_v1(session_key: bytes, plaintext: bytes, iv: bytes | None = None) -> bytes:
    enc = _hkdf_empty_salt(session_key, b"relay v1 aes-256-cbc")
    mac = _hkdf_empty_salt(session_key, b"relay v1 hmac-sha256")
    iv = os.urandom(16) if iv is None else iv
    ct = _cbc_encrypt(enc, iv, plaintext)
    return b"\x01" + iv + ct + hmac.new(mac, b"\x01" + iv + ct, hashlib.sha256).digest()


def open_v1(session_key: bytes, sealed: bytes) -> bytes:
    enc = _hkdf_empty_salt(session_key, b"relay v1 aes-256-cbc")
    mac = _hkdf_empty_salt(session_key, b"relay v1 hmac-sha256")
    if len(sealed) < SEAL_V1_MIN or sealed[0] != 1 or (len(sealed) - 49) % 16:
        raise AuthError()
    if not hmac.compare_digest(hmac.new(mac, sealed[:-32], hashlib.sha256).digest(), sealed[-32:]):
        raise AuthError()
    return _cbc_decrypt(enc, sealed[1:17], sealed[17:-32])


# identities (7.4)
def identity_signed_message(role: str, t: bytes) -> bytes:
    return IDENTITY_LABEL + role.encode("ascii") + t


def identity_content(identity_key: Ed25519PrivateKey, role: str, t: bytes) -> bytes:
    id_pub = identity_key.public_key().public_bytes_raw()
    return id_pub + identity_key.sign(identity_signed_message(role, t))


def verify_identity(content: bytes, role: str, t: bytes) -> bytes:
    """Returns idPub; raises InvalidSignature (also for content that is not 96 bytes)."""
    if len(content) != 96:
        raise InvalidSignature("identity content is not 96 bytes")
    Ed25519PublicKey.from_public_bytes(content[:32]).verify(content[32:], identity_signed_message(role, t))
    return content[:32]


def fingerprint(id_pub: bytes) -> str:
    return "sha256:" + hashlib.sha256(id_pub).hexdigest()


def identity_pem(identity_key: Ed25519PrivateKey) -> str:
    """The identity_ed25519 file: PKCS#8 PEM, unencrypted."""
    return identity_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode("ascii")


def known_peers_line(relay: str, name: bytes, id_pub: bytes) -> str:
    return f"{relay} {_b(name).hex()} ed25519:{id_pub.hex()}"


def sas_line(peer: str, number: int, sas: str) -> str:
    return f"* SAS with {peer} (agreement {number}): {sas}"


def verified_line(peer: str, fp: str) -> str:
    return f"* {peer} is verified ({fp})"


def not_verified_line(peer: str) -> str:
    return f"* {peer} is not verified: compare the SAS, then type /verify"


# --- the agreement of 7.2, without I/O -----------------------------------------------------

class Agreement:
    """One agreement in one role ('I' or 'R'). ``start()`` and ``receive(body)`` return the
    DATA bodies to send; ``receive`` raises Discard (before the first expected message) or
    AgreementAbort. When ``done``, ``keys``, ``t``, ``sas`` and the direction keys are set.

    ``commit_to`` lets a hostile peer commit to another key than the one it reveals."""

    def __init__(self, role: str, own_name: str | bytes, peer_name: str | bytes, session_key: bytes,
                 secret: bytes | None = None, number: int = 1, public_override: bytes | None = None,
                 commit_to: bytes | None = None):
        assert role in ("I", "R")
        self.role = role
        self.number = number
        self.own_name, self.peer_name = _b(own_name), _b(peer_name)
        self.name_i, self.name_r = (self.own_name, self.peer_name) if role == "I" else (self.peer_name, self.own_name)
        self.session_key = bytes(session_key)
        self.secret = os.urandom(32) if secret is None else secret
        self.public = public_override if public_override is not None else x25519_public(self.secret)
        self.commit_to = commit_to
        self.expecting = STEP_COMMIT if role == "I" else STEP_PK_I
        self.first_arrived = False
        self.started = False
        self.done = False
        self.aborted: str | None = None
        self.peer_commitment: bytes | None = None
        self.pk_i = self.public if role == "I" else None
        self.pk_r = self.public if role == "R" else None
        self.z = self.t = None
        self.keys: dict[str, bytes] = {}

    def start(self) -> list[bytes]:
        self.started = True
        if self.role == "R":
            return [agreement_message(STEP_COMMIT, commitment(self.commit_to or self.public))]
        return []

    def abort(self, reason: str) -> None:
        self.aborted = reason
        self.wipe()
        raise AgreementAbort(reason)

    def receive(self, body: bytes) -> list[bytes]:
        if self.aborted:
            raise Discard("agreement aborted")
        if self.done:
            raise Discard("agreement already complete")
        step = body[1] if len(body) >= 2 else None
        if not self.first_arrived:
            if len(body) != AGREEMENT_LEN or step != self.expecting:
                raise Discard("before the first expected message")
        elif len(body) != AGREEMENT_LEN:
            self.abort(f"key-agreement message of {len(body)} bytes")
        elif step != self.expecting:
            self.abort(f"key-agreement step {step} while expecting {self.expecting}")
        self.first_arrived = True
        value = body[2:]
        if self.role == "I" and step == STEP_COMMIT:
            self.peer_commitment = value
            self.expecting = STEP_PK_R
            return [agreement_message(STEP_PK_I, self.public)]
        if self.role == "I" and step == STEP_PK_R:
            if not hmac.compare_digest(commitment(value), self.peer_commitment):
                self.abort("commitment does not match pkR")
            self.pk_r = value
            self._complete(value)
            return []
        # R, step 2
        self.pk_i = value
        self._complete(value)
        return [agreement_message(STEP_PK_R, self.public)]

    def _complete(self, peer_public: bytes) -> None:
        try:
            self.z = x25519(self.secret, peer_public)
        except AgreementAbort as error:
            self.abort(str(error))
        self.t = transcript(self.name_i, self.name_r, self.pk_i, self.pk_r)
        self.keys = derive_keys(self.session_key, self.z, self.t)
        self.done = True

    @property
    def sas(self) -> str | None:
        return sas_string(self.keys["sas"]) if self.done else None

    @property
    def send_keys(self) -> tuple[bytes, bytes]:
        d = "i2r" if self.role == "I" else "r2i"
        return self.keys[f"{d} enc"], self.keys[f"{d} mac"]

    @property
    def recv_keys(self) -> tuple[bytes, bytes]:
        d = "r2i" if self.role == "I" else "i2r"
        return self.keys[f"{d} enc"], self.keys[f"{d} mac"]

    @property
    def peer_role(self) -> str:
        return "R" if self.role == "I" else "I"

    def wipe(self) -> None:
        self.keys = {}
        self.z = None
        self.secret = bytes(32)


# --- the client ----------------------------------------------------------------------------

@dataclass
class Event:
    kind: str
    data: dict = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)

    def __getitem__(self, key):
        return self.data[key]

    def __repr__(self) -> str:
        return f"Event({self.kind}, {self.data})"


class Refused(Exception):
    """The client refused the session for a security reason (relay-client exit status 3)."""


class E2EClient:
    """A section 7 client over one TCP connection.

    ``E2EClient("alice", host, port).connect()`` sends HELLO (v1, or v2 when ``room`` is not
    None) and starts a reader thread that runs agreements in the role the frames say, sends
    the identity record (seq 0) as soon as an agreement completes, and checks the peer's.
    Chat / stream / end records sent before the peer's identity was checked wait in the
    client (never sealed under K). Tests observe everything through ``events`` and the
    ``wait_*`` helpers; every wait has a timeout.

    Event kinds: welcome, peer_joined, peer_left, agreement_started, agreement_aborted,
    agreement_timeout, discarded (silently discarded messages, counted), sas, identity_ok,
    chat, stream, end, auth_error, relay_key_refused, unknown_kind, after_end_refused,
    record_before_agreement, lost_messages, pending_discarded, refused (security: exit 3),
    protocol_error, error (an ERROR frame), data_from, pong, closed.
    """

    def __init__(self, name: str | bytes, host: str = "127.0.0.1", port: int = 0, *,
                 room: bytes | None = None, identity_key: Ed25519PrivateKey | None = None,
                 x25519_secrets: list[bytes] | None = None, agreement_timeout: float = 10.0,
                 timeout: float = 5.0, known_peers: dict[bytes, bytes] | None = None,
                 require_verified: bool = False, trust_relay: bool = False):
        self.name = _b(name)
        self.host, self.port = host, port
        self.room = room
        self.version = 1 if room is None else 2
        self.identity_key = identity_key or Ed25519PrivateKey.generate()
        self.id_pub = self.identity_key.public_key().public_bytes_raw()
        self._secrets = list(x25519_secrets or [])
        self.agreement_timeout = agreement_timeout
        self.timeout = timeout
        self.known_peers = dict(known_peers or {})  # peer name -> idPub
        self.require_verified = require_verified
        self.trust_relay = trust_relay
        self.sock: FrameSocket | None = None
        self.welcome = None
        self.session_key: bytes | None = None
        self.peer: bytes | None = None
        self.role: str | None = None  # role in the current agreement
        self.agreement: Agreement | None = None
        self.agreements = 0
        self.aborted = 0
        self.sas_history: list[tuple[int, str]] = []
        self.peer_id_pub: bytes | None = None
        self.peer_verified = False
        self.send_seq = 0
        self.recv_seq = 0
        self.peer_identity_ok = False
        self.peer_ended = False
        self.end_sent = False
        self.pending: list[tuple[int, bytes]] = []
        self.refused: str | None = None
        self.exit_status: int | None = None
        self.events: list[Event] = []
        self.received: list[tuple[str, bytes]] = []  # (kind name, content) accepted, in order
        self._cond = threading.Condition()
        self._lock = threading.RLock()  # state of the session
        self._thread: threading.Thread | None = None
        self._stop = False
        self._agreement_started_at: float | None = None
        self.outgoing_hook = None  # callable(body) -> body | None: a test may tamper its own sends

    # -- events --------------------------------------------------------------------------
    def _event(self, kind: str, /, **data) -> Event:
        event = Event(kind, data)
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()
        return event

    def wait_event(self, kind: str, timeout: float | None = None, predicate=None, start: int = 0) -> Event:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while True:
                for event in self.events[start:]:
                    if event.kind == kind and (predicate is None or predicate(event)):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.name!r}: no {kind} event; got {self.events!r}")
                self._cond.wait(min(remaining, 0.1))

    def has_event(self, kind: str) -> bool:
        with self._cond:
            return any(event.kind == kind for event in self.events)

    def count(self, kind: str) -> int:
        with self._cond:
            return sum(1 for event in self.events if event.kind == kind)

    def wait_sas(self, agreement: int | None = None, timeout: float | None = None) -> str:
        event = self.wait_event("sas", timeout, lambda e: agreement is None or e["agreement"] == agreement)
        return event["sas"]

    def wait_ready(self, timeout: float | None = None, agreement: int | None = None) -> Event:
        """Until the peer's identity record was checked (chat may flow), in ``agreement``
        (its number) or in any."""
        return self.wait_event("identity_ok", timeout,
                               lambda e: agreement is None or e["agreement"] == agreement)

    def recv(self, kind: str = "chat", timeout: float | None = None, start: int = 0) -> Event:
        return self.wait_event(kind, timeout, start=start)

    def recv_chat(self, timeout: float | None = None, index: int = 0) -> str:
        """The ``index``-th chat line received (0-based), waiting for it."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while True:
                chats = [e for e in self.events if e.kind == "chat"]
                if len(chats) > index:
                    return chats[index]["text"]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.name!r}: no chat #{index}; got {self.events!r}")
                self._cond.wait(min(remaining, 0.1))

    def stream_bytes(self) -> bytes:
        with self._cond:
            return b"".join(e["data"] for e in self.events if e.kind == "stream")

    def wait_stream(self, count: int, timeout: float | None = None) -> bytes:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            data = self.stream_bytes()
            if len(data) >= count or time.monotonic() > deadline:
                return data
            time.sleep(0.02)

    @property
    def sas(self) -> str | None:
        return self.sas_history[-1][1] if self.sas_history else None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.id_pub)

    @property
    def peer_fingerprint(self) -> str | None:
        return fingerprint(self.peer_id_pub) if self.peer_id_pub else None

    # -- connection ------------------------------------------------------------------------
    def connect(self) -> "E2EClient":
        self.sock = FrameSocket.connect(self.host, self.port, self.timeout)
        body = hello_v1(self.name) if self.version == 1 else hello_v2(self.name, self.room)
        self.sock.send(0x01, body)
        self._thread = threading.Thread(target=self._run, name=f"e2e-{self.name!r}", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> "E2EClient":
        return self.connect() if self.sock is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop = True
        if self.sock is not None:
            self.sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2)

    def send_data(self, body: bytes) -> None:
        """A raw DATA frame (no checks): for hostile tests."""
        if self.outgoing_hook is not None:
            body = self.outgoing_hook(body)
            if body is None:
                return
        with contextlib.suppress(OSError):
            self.sock.send(DATA, body)

    def send_frame(self, frame_type: int, body: bytes = b"") -> None:
        with contextlib.suppress(OSError):
            self.sock.send(frame_type, body)

    def bye(self) -> None:
        self.send_frame(BYE)

    def ping(self, body: bytes = b"") -> None:
        self.send_frame(PING, body)

    # -- sending records -----------------------------------------------------------------
    def send_record(self, kind: int, content: bytes = b"", seq: int | None = None) -> bytes:
        """Seals one record now under the current agreement's send keys (no ordering
        rules: hostile tests use it). Advances send_seq unless ``seq`` is given."""
        with self._lock:
            if self.agreement is None or not self.agreement.done:
                raise RuntimeError("no completed agreement")
            enc, mac = self.agreement.send_keys
            use = self.send_seq if seq is None else seq
            record = seal_record(enc, mac, use, kind, content)
            if seq is None:
                self.send_seq += 1
        self.send_data(record)
        return record

    def _queue(self, kind: int, content: bytes) -> None:
        with self._lock:
            if self.refused:
                raise Refused(self.refused)
            if self.end_sent:
                raise RuntimeError("end record already sent")
            self.pending.append((kind, content))
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            if not self.peer_identity_ok or self.agreement is None or not self.agreement.done:
                return
            while self.pending:
                kind, content = self.pending.pop(0)
                self.send_record(kind, content)
                if kind == KIND_END:
                    self.end_sent = True

    def send_chat(self, text: str | bytes) -> None:
        self._queue(KIND_CHAT, _b(text))

    def send_stream(self, data: bytes) -> None:
        self._queue(KIND_STREAM, bytes(data))

    def send_end(self) -> None:
        self._queue(KIND_END, b"")

    def finish(self, timeout: float | None = None) -> None:
        """End of input: once everything is written, one end record, then BYE."""
        self.send_end()
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            with self._lock:
                if self.end_sent or self.refused:
                    break
            time.sleep(0.02)
        with self._lock:
            if not self.end_sent:
                raise AssertionError(f"{self.name!r}: end record not sent (no peer identity?)")
        self.bye()

    # -- the reader ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop:
                try:
                    frame_type, body = self.sock.recv(timeout=0.2)
                except (socket.timeout, TimeoutError):
                    self._check_agreement_timeout()
                    continue
                self._on_frame(frame_type, body)
        except (PeerClosed, OSError, FrameError) as error:
            if not self._stop:
                self._event("closed", reason=str(error))
        except Refused:
            pass
        except Exception as error:  # a bug in this peer: make it visible to the test
            self._event("internal_error", error=repr(error))
            raise

    def _check_agreement_timeout(self) -> None:
        with self._lock:
            started = self._agreement_started_at
            if started is not None and self.agreement is not None and not self.agreement.done \
                    and time.monotonic() - started > self.agreement_timeout:
                self._agreement_started_at = None
                self._event("agreement_timeout", agreement=self.agreements)

    def _refuse(self, reason: str) -> None:
        """A security refusal: the relay-client says it, sends BYE and exits 3."""
        with self._lock:
            if self.refused:
                raise Refused(self.refused)
            self.refused = reason
            self.exit_status = EXIT_SECURITY
            self.pending.clear()
            if self.agreement is not None:
                self.agreement.wipe()
        self._event("refused", reason=reason)
        self.bye()
        self._stop = True
        raise Refused(reason)

    def _on_frame(self, frame_type: int, body: bytes) -> None:
        with self._lock:
            if frame_type == WELCOME:
                self._on_welcome(body)
            elif frame_type == PEER_JOINED:
                self._on_peer_joined(body)
            elif frame_type == PEER_LEFT:
                self._on_peer_left(body)
            elif frame_type == DATA:
                self._on_data(body)
            elif frame_type == DATA_FROM:
                self._event("data_from", body=body)
                if not self.trust_relay:
                    self._refuse("DATA_FROM: the relay could read messages in that room; --trust-relay is needed")
            elif frame_type == PING:
                self.sock.send(PONG, body)
            elif frame_type == PONG:
                self._event("pong", body=body)
            elif frame_type == ERROR:
                code, message = parse_error(body)
                self._event("error", code=code, message=message)
            else:
                self._event("protocol_error", reason=f"frame type {frame_type:#x}")

    def _on_welcome(self, body: bytes) -> None:
        if self.welcome is not None:
            self._event("protocol_error", reason="a second WELCOME")
            self._stop = True
            self.bye()
            return
        self.welcome = parse_welcome(body, self.version)
        self.session_key = self.welcome.session_key
        self._event("welcome", peers=list(self.welcome.peers), room_size=self.welcome.room_size,
                    session_key=self.session_key)
        if self.welcome.room_size > 2 and not self.trust_relay:
            self._refuse(f"room of size {self.welcome.room_size}: the relay could read messages in that room; "
                         "--trust-relay is needed")
        if self.welcome.peer is not None:
            self.peer = self.welcome.peer
            self._start_agreement("R")

    def _on_peer_joined(self, name: bytes) -> None:
        self._event("peer_joined", name=name)
        if self.peer is not None:
            self._event("protocol_error", reason="PEER_JOINED while a peer is present")
            return
        self.peer = name
        self._start_agreement("I")

    def _on_peer_left(self, name: bytes) -> None:
        discarded = len(self.pending)
        self.pending.clear()
        lost = self.agreement is not None and self.agreement.done and not self.peer_ended
        if self.agreement is not None:
            self.agreement.wipe()
        self.agreement = None
        self._agreement_started_at = None
        self.peer = None
        self.role = "I"  # the remaining client initiates the next agreement
        self._event("peer_left", name=name, discarded=discarded, lost=lost)
        if discarded:
            self._event("pending_discarded", count=discarded)
        if lost:
            self._event("lost_messages", peer=name)

    def _start_agreement(self, role: str) -> None:
        if self.agreements >= MAX_AGREEMENTS:
            self._refuse("the relay keeps restarting the key agreement")
        self.agreements += 1
        self.role = role
        secret = self._secrets.pop(0) if self._secrets else None
        self.agreement = Agreement(role, self.name, self.peer, self.session_key, secret, self.agreements)
        self.send_seq = self.recv_seq = 0
        self.peer_identity_ok = self.peer_ended = self.end_sent = False
        self.peer_id_pub = None
        self.peer_verified = False
        self._agreement_started_at = time.monotonic()
        self._event("agreement_started", agreement=self.agreements, role=role, peer=self.peer)
        for message in self.agreement.start():
            self.send_data(message)

    def _on_data(self, body: bytes) -> None:
        if not body:
            self._event("auth_error", reason="empty DATA")
            return
        first = body[0]
        if first == RELAY_KEY_MESSAGE:
            self._event("relay_key_refused", body=body)
            return
        agreement = self.agreement
        if first == AGREEMENT:
            if agreement is None:
                self._event("discarded", what="key-agreement message without an agreement")
                return
            try:
                replies = agreement.receive(body)
            except Discard as why:
                self._event("discarded", what=f"key-agreement message: {why}")
                return
            except AgreementAbort as why:
                self.aborted += 1
                self._agreement_started_at = None
                self._event("agreement_aborted", agreement=agreement.number, reason=str(why))
                if self.aborted >= MAX_ABORTED:
                    self._refuse("the relay keeps restarting the key agreement")
                return
            for reply in replies:
                self.send_data(reply)
            if agreement.done:
                self._agreement_started_at = None
                self.sas_history.append((agreement.number, agreement.sas))
                self._event("sas", agreement=agreement.number, sas=agreement.sas, peer=self.peer,
                            line=sas_line(self.peer.decode("utf-8", "replace"), agreement.number, agreement.sas))
                self.send_record(KIND_IDENTITY, identity_content(self.identity_key, agreement.role, agreement.t))
            return
        if first == RECORD:
            if agreement is None or not agreement.done:
                if agreement is not None and agreement.first_arrived and not agreement.aborted:
                    self._event("record_before_agreement", body=body)
                else:
                    self._event("discarded", what="record without a usable agreement")
                return
            self._on_record(agreement, body)
            return
        self._event("auth_error", reason=f"DATA starting with {first:#x}")

    def _on_record(self, agreement: Agreement, body: bytes) -> None:
        enc, mac = agreement.recv_keys
        try:
            seq = authenticate_record(mac, body)
        except AuthError:
            self._event("auth_error", reason="record refused", body=body)
            return
        if seq != self.recv_seq:
            self._event("seq_error", expected=self.recv_seq, got=seq)
            self._refuse(f"record seq {seq}, expected {self.recv_seq}: the relay dropped, replayed or "
                         "reordered records")
        try:
            kind, content = decrypt_record(enc, body)
        except AuthError:
            self._event("auth_error", reason="record refused (padding)", body=body)
            return
        if self.peer_ended:
            self.recv_seq += 1
            self._event("after_end_refused", kind=kind)
            return
        if seq == 0:
            if kind != KIND_IDENTITY:
                self._refuse(f"record of kind {kind} at seq 0 (expected the identity record)")
            try:
                id_pub = verify_identity(content, agreement.peer_role, agreement.t)
            except (InvalidSignature, ValueError):
                self._refuse("the peer's identity signature does not verify")
            self.recv_seq += 1
            self.peer_id_pub = id_pub
            known = self.known_peers.get(self.peer)
            if known is not None and known != id_pub:
                self._refuse("the peer's identity key changed")
            self.peer_verified = known == id_pub
            if self.require_verified and not self.peer_verified:
                self._refuse("--require-verified: the peer is not verified")
            self.peer_identity_ok = True
            self._event("identity_ok", id_pub=id_pub, fingerprint=fingerprint(id_pub),
                        verified=self.peer_verified, agreement=agreement.number)
            self._flush()
            return
        if kind == KIND_IDENTITY:
            self._refuse("a second identity record")
        self.recv_seq += 1
        if kind == KIND_CHAT:
            text = content.decode("utf-8", "replace")
            self.received.append(("chat", content))
            self._event("chat", text=text, raw=content, seq=seq)
        elif kind == KIND_STREAM:
            self.received.append(("stream", content))
            self._event("stream", data=content, seq=seq)
        elif kind == KIND_END:
            self.peer_ended = True
            self._event("end", seq=seq)
        else:
            self._event("unknown_kind", kind=kind, seq=seq)

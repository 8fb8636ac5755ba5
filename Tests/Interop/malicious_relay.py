"""A hostile relay for testing section 7 clients (PROTOCOL.md), written from the text.

It speaks sections 1 and 2 (and the version 2 HELLO / WELCOME of section 6) over plain TCP
on 127.0.0.1 and an ephemeral port, to two clients, and lets a test inject behaviours:

(a) ``mode="mitm"``: a man in the middle. It runs its own agreement with each side (its
    own X25519 keys, a commitment to its own key), so each side completes an agreement with
    the relay; then it re-seals chat / stream / end records from one side to the other.
    ``mitm_identity="own"`` sends the relay's own identity record to each side (a valid
    signature over that side's T: the SAS and the fingerprint are what betray it);
    ``"forward"`` re-seals the real peers' identity records (their signatures cover the
    other T and must fail).
(b) ``record_rules=[Drop(...), Replay(...), Reorder(...), Reflect(...), Tamper(...)]`` act on
    the 0x02 records a side sends, by index (0 = that side's identity record).
(c) ``inject_relay_key(name, plaintext)``: a section 3 DATA (first byte 0x01) sealed under
    the K that side received.
(d) ``peer_names={"alice": "mallory"}`` (what each side is told its peer is called),
    ``roles="both_responders"`` / ``"both_initiators"``, ``different_keys=True``.
(e) ``restart_agreement(name)``: PEER_LEFT + PEER_JOINED to that side; with
    ``impersonate=True`` (default) the relay itself answers the new agreement as R.

Driving a real relay-client against it::

    with MaliciousRelay(mode="mitm") as relay:
        relay-client --insecure-plaintext --host 127.0.0.1 --port relay.port --name alice

``relay.fake_sas("alice")`` is then the SAS alice must show.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import e2e_peer as e2e
from v2_frames import (BYE, DATA, DATA_FROM, ERROR, HELLO, NAME_TAKEN, PEER_JOINED, PEER_LEFT, PING,
                       PONG, RELAY_FULL, UNEXPECTED_FRAME, WELCOME, FrameError, FrameSocket, PeerClosed,
                       data_from_body, error_body, parse_hello, welcome_v1, welcome_v2)


def _b(value) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


# --- record rules (b) ----------------------------------------------------------------------

class RecordRule:
    """Acts on the ``index``-th 0x02 record sent by ``sender`` (0 = its identity record).
    ``apply`` returns the list of (target side, body) to deliver now."""

    def __init__(self, sender, index: int):
        self.sender, self.index = _b(sender), index
        self.fired = False

    def matches(self, side, index: int) -> bool:
        return side.name == self.sender and index == self.index

    def apply(self, relay, side, other, body, index):  # pragma: no cover - overridden
        raise NotImplementedError


class Drop(RecordRule):
    def apply(self, relay, side, other, body, index):
        return []


class Replay(RecordRule):
    """Delivers the record, then ``times`` more copies of it."""

    def __init__(self, sender, index: int, times: int = 1):
        super().__init__(sender, index)
        self.times = times

    def apply(self, relay, side, other, body, index):
        return [(other, body)] * (1 + self.times)


class ReplayLater(RecordRule):
    """Delivers record ``index`` normally and again right after record ``after``."""

    def __init__(self, sender, index: int, after: int):
        super().__init__(sender, index)
        assert after > index
        self.after = after
        self.saved = None

    def matches(self, side, index):
        return side.name == self.sender and index in (self.index, self.after)

    def apply(self, relay, side, other, body, index):
        if index == self.index:
            self.saved = body
            return [(other, body)]
        return [(other, body), (other, self.saved)]


class Reorder(RecordRule):
    """Holds record ``index`` and delivers it after record ``index + 1``."""

    def __init__(self, sender, index: int):
        super().__init__(sender, index)
        self.held = None

    def matches(self, side, index):
        return side.name == self.sender and index in (self.index, self.index + 1)

    def apply(self, relay, side, other, body, index):
        if self.held is None:
            self.held = body
            return []
        return [(other, body), (other, self.held)]


class Reflect(RecordRule):
    """Sends the record back to its sender (and, unless ``forward=False``, on to the peer)."""

    def __init__(self, sender, index: int, forward: bool = True):
        super().__init__(sender, index)
        self.forward = forward

    def apply(self, relay, side, other, body, index):
        return [(side, body)] + ([(other, body)] if self.forward else [])


class Tamper(RecordRule):
    """Delivers ``fn(body)`` instead."""

    def __init__(self, sender, index: int, fn):
        super().__init__(sender, index)
        self.fn = fn

    def apply(self, relay, side, other, body, index):
        return [(other, self.fn(body))]


def flip_last_byte(body: bytes) -> bytes:
    return body[:-1] + bytes([body[-1] ^ 1])


# --- one connected client --------------------------------------------------------------------

class Side:
    def __init__(self, relay: "MaliciousRelay", sock: FrameSocket, address):
        self.relay = relay
        self.conn = sock
        self.address = address
        self.name: bytes | None = None
        self.version = 1
        self.room = b""
        self.key: bytes | None = None
        self.told_peer: bytes | None = None
        self.told_role: str | None = None
        self.welcomed = False
        self.joined = False
        self.closed = False
        self.fake: e2e.Agreement | None = None  # the relay playing this side's peer
        self.fake_send_seq = 0
        self.fake_recv_seq = 0
        self.fake_identity_sent = False
        self.fake_outbox: list[tuple[int, bytes]] = []  # (kind, content) waiting for fake keys
        self.records_sent = 0  # 0x02 records this side sent
        self.sent: list[bytes] = []  # every DATA body this side sent

    def send(self, frame_type: int, body: bytes = b"") -> None:
        if self.closed:
            return
        try:
            self.conn.send(frame_type, body)
        except OSError:
            self.closed = True

    def __repr__(self) -> str:
        return f"Side({self.name!r}, role={self.told_role}, peer={self.told_peer!r})"


# --- the relay --------------------------------------------------------------------------------

class MaliciousRelay:
    def __init__(self, *, mode: str = "honest", session_key: bytes | None = None,
                 different_keys: bool = False, roles: str | None = None,
                 peer_names: dict | None = None, record_rules: list[RecordRule] | None = None,
                 mitm_identity: str = "own", identity_key: Ed25519PrivateKey | None = None,
                 room_size: int = 2, max_frame: int = 1_048_576, host: str = "127.0.0.1",
                 relay_secrets: list[bytes] | None = None):
        assert mode in ("honest", "mitm")
        assert roles in (None, "both_responders", "both_initiators")
        assert mitm_identity in ("own", "forward", "none")
        self.mode = mode
        self.session_key = session_key or os.urandom(32)
        self.different_keys = different_keys
        self.roles = roles
        self.peer_names = {_b(k): _b(v) for k, v in (peer_names or {}).items()}
        self.record_rules = list(record_rules or [])
        self.mitm_identity = mitm_identity
        self.identity_key = identity_key or Ed25519PrivateKey.generate()
        self.room_size = room_size
        self.max_frame = max_frame
        self._secrets = list(relay_secrets or [])
        self.sides: list[Side] = []
        self._queued: list[bytes] = []
        self.events: list[tuple[str, dict]] = []
        self.plaintexts: list[tuple[bytes, int, bytes]] = []  # (from name, kind, content) the MITM read
        self.errors: list[str] = []
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = False
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "MaliciousRelay":
        thread = threading.Thread(target=self._accept_loop, name="malicious-relay", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __enter__(self) -> "MaliciousRelay":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sides = list(self.sides)
        for side in sides:
            side.closed = True
            side.conn.close()
        for thread in self._threads:
            thread.join(2)

    def _event(self, kind: str, /, **data) -> None:
        with self._cond:
            self.events.append((kind, data))
            self._cond.notify_all()

    def wait_for(self, predicate, timeout: float = 5.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"relay: no {what}; events {self.events!r}")
                self._cond.wait(min(remaining, 0.1))

    def wait_joined(self, count: int = 2, timeout: float = 5.0) -> list[bytes]:
        """Until ``count`` HELLOs were accepted (the sides may have left since)."""
        def joined():
            names = [data["name"] for kind, data in self.events if kind == "joined"]
            return names if len(names) >= count else None
        return self.wait_for(joined, timeout, f"{count} joined")

    def wait_event(self, kind: str, timeout: float = 5.0, **match):
        def find():
            for k, data in self.events:
                if k == kind and all(data.get(key) == value for key, value in match.items()):
                    return data
            return None
        return self.wait_for(find, timeout, f"event {kind} {match}")

    # -- queries ---------------------------------------------------------------------------
    def side(self, name) -> Side:
        """The connected side of that name, else the last one that had it (it left)."""
        name = _b(name)
        with self._lock:
            for side in self.sides:
                if side.name == name and side.joined:
                    return side
            for side in reversed(self.sides):
                if side.name == name:
                    return side
        raise KeyError(name)

    def other(self, side: Side) -> Side | None:
        for candidate in self.sides:
            if candidate is not side and candidate.joined and not candidate.closed:
                return candidate
        return None

    def record_index(self, side: Side) -> int:
        return side.records_sent

    def records_from(self, name) -> list[bytes]:
        return [b for b in self.side(name).sent if b[:1] == b"\x02"]

    def fake_sas(self, name) -> str | None:
        """The SAS of the relay's own agreement with that side (MITM / impersonation)."""
        side = self.side(name)
        return side.fake.sas if side.fake is not None else None

    def wait_fake_done(self, name, timeout: float = 5.0) -> str:
        return self.wait_for(lambda: self.fake_sas(name), timeout, f"agreement with {name!r}")

    # -- actions for tests -----------------------------------------------------------------
    def send_frame(self, name, frame_type: int, body: bytes = b"") -> None:
        with self._lock:
            self.side(name).send(frame_type, body)

    def send_data(self, name, body: bytes) -> None:
        self.send_frame(name, DATA, body)

    def inject_relay_key(self, name, plaintext: bytes = b"forged by the relay") -> bytes:
        """(c) a section 3 message sealed under the K that side got in its WELCOME."""
        with self._lock:
            side = self.side(name)
            body = e2e.seal_v1(side.key, plaintext)
            side.send(DATA, body)
        return body

    def inject_data_from(self, name, sender, sealed: bytes = b"") -> None:
        with self._lock:
            side = self.side(name)
            side.send(DATA_FROM, data_from_body(_b(sender), sealed or e2e.seal_v1(side.key, b"x")))

    def restart_agreement(self, name, impersonate: bool = True, peer_name=None) -> None:
        """(e) PEER_LEFT + PEER_JOINED to that side. With ``impersonate`` the relay plays R in
        the new agreement (its own keys), so the side completes it and shows a new SAS."""
        with self._lock:
            side = self.side(name)
            peer = _b(peer_name) if peer_name is not None else side.told_peer
            side.send(PEER_LEFT, peer)
            side.told_peer = peer
            side.told_role = "I"
            side.fake = None
            side.send(PEER_JOINED, peer)
            if impersonate:
                self._start_fake(side)
            self._event("restarted", name=side.name)

    def send_fake_record(self, name, kind: int, content: bytes = b"", seq: int | None = None) -> bytes:
        """A record sealed under the relay's own agreement with that side."""
        with self._lock:
            side = self.side(name)
            enc, mac = side.fake.send_keys
            use = side.fake_send_seq if seq is None else seq
            if seq is None:
                side.fake_send_seq += 1
            body = e2e.seal_record(enc, mac, use, kind, content)
            side.send(DATA, body)
        return body

    # -- accept / read ---------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop:
            try:
                sock, address = self._listener.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            side = Side(self, FrameSocket(sock, self.max_frame), address)
            with self._lock:
                self.sides.append(side)
            thread = threading.Thread(target=self._reader, args=(side,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _reader(self, side: Side) -> None:
        try:
            while not self._stop and not side.closed:
                try:
                    frame_type, body = side.conn.recv(timeout=0.2)
                except (socket.timeout, TimeoutError):
                    continue
                with self._lock:
                    if not self._on_frame(side, frame_type, body):
                        break
        except (PeerClosed, OSError, FrameError):
            pass
        except Exception as error:  # a bug here: make it visible
            self.errors.append(repr(error))
            raise
        finally:
            with self._lock:
                self._leave(side)

    def _leave(self, side: Side) -> None:
        if side.closed and not side.joined:
            return
        was_joined = side.joined
        side.closed = True
        side.joined = False
        side.conn.close()
        if was_joined:
            for other in self.sides:
                if other is not side and other.joined and not other.closed:
                    other.send(PEER_LEFT, other.told_peer or side.name)
                    other.told_peer = None
                    other.fake = None
            self._event("left", name=side.name)

    def _on_frame(self, side: Side, frame_type: int, body: bytes) -> bool:
        if not side.joined and not side.welcomed:
            if frame_type != HELLO:
                side.send(ERROR, error_body(UNEXPECTED_FRAME, "HELLO first"))
                return False
            return self._on_hello(side, body)
        if frame_type == DATA:
            side.sent.append(body)
            self._event("data", name=side.name, body=body)
            self._on_data(side, body)
        elif frame_type == PING:
            side.send(PONG, body)
        elif frame_type == BYE:
            self._event("bye", name=side.name)
            return False
        else:
            self._event("unexpected", name=side.name, type=frame_type)
        return True

    def _on_hello(self, side: Side, body: bytes) -> bool:
        hello = parse_hello(body)
        present = [s for s in self.sides if s.joined and not s.closed]
        if len(present) >= 2:
            side.send(ERROR, error_body(RELAY_FULL, "relay full"))
            return False
        if any(s.name == hello.name for s in present):
            side.send(ERROR, error_body(NAME_TAKEN, "name taken"))
            return False
        side.name, side.version, side.room = hello.name, hello.version, hello.room
        side.key = os.urandom(32) if self.different_keys else self.session_key
        side.joined = True
        other = present[0] if present else None
        self._event("joined", name=side.name)
        if self.roles == "both_responders":
            if other is None:
                return True  # its WELCOME waits for the second client
            self._welcome(other, self._told_name(other, side))
            self._welcome(side, self._told_name(side, other))
        elif self.roles == "both_initiators":
            self._welcome(side, None)
            if other is not None:
                self._joined(other, self._told_name(other, side))
                self._joined(side, self._told_name(side, other))
        else:
            if other is None:
                self._welcome(side, None)
            else:
                self._welcome(side, self._told_name(side, other))
                self._joined(other, self._told_name(other, side))
        if other is not None and self._queued:  # DATA sent while the peer was absent (section 2)
            for data in self._queued:
                side.send(DATA, data)
            self._queued.clear()
        return True

    def _told_name(self, side: Side, other: Side) -> bytes:
        return self.peer_names.get(side.name, other.name)

    def _welcome(self, side: Side, peer: bytes | None) -> None:
        peers = [peer] if peer is not None else []
        if side.version == 2:
            body = welcome_v2(side.key, self.max_frame, self.room_size, peers)
        else:
            body = welcome_v1(side.key, self.max_frame, peer or b"")
        side.send(WELCOME, body)
        side.welcomed = True
        side.told_peer = peer
        if peer is not None:
            side.told_role = "R"
            if self.mode == "mitm":
                self._start_fake(side)

    def _joined(self, side: Side, peer: bytes) -> None:
        side.send(PEER_JOINED, peer)
        side.told_peer = peer
        side.told_role = "I"
        if self.mode == "mitm":
            self._start_fake(side)

    # -- impersonation (MITM, restarts) ----------------------------------------------------
    def _start_fake(self, side: Side) -> None:
        role = "R" if side.told_role == "I" else "I"
        secret = self._secrets.pop(0) if self._secrets else None
        side.fake = e2e.Agreement(role, side.told_peer, side.name, side.key, secret)
        side.fake_send_seq = side.fake_recv_seq = 0
        side.fake_identity_sent = False
        side.fake_outbox = []
        for message in side.fake.start():
            side.send(DATA, message)

    def _on_data(self, side: Side, body: bytes) -> None:
        if side.fake is not None:
            self._on_data_impersonated(side, body)
            return
        other = self.other(side)
        deliveries = [(other, body)]
        if body[:1] == b"\x02":
            index = side.records_sent
            side.records_sent += 1
            for rule in self.record_rules:
                if rule.matches(side, index):
                    rule.fired = True
                    deliveries = rule.apply(self, side, other, body, index)
                    self._event("rule", rule=type(rule).__name__, name=side.name, index=index)
                    break
        for target, data in deliveries:
            if target is None:
                self._queued.append(data)  # the peer is absent: for the next one (section 2)
            else:
                target.send(DATA, data)

    def _on_data_impersonated(self, side: Side, body: bytes) -> None:
        fake = side.fake
        if body[:1] == b"\x03":
            try:
                replies = fake.receive(body)
            except (e2e.Discard, e2e.AgreementAbort) as why:
                self._event("fake_refused", name=side.name, reason=str(why))
                return
            for reply in replies:
                side.send(DATA, reply)
            if fake.done:
                self._event("fake_done", name=side.name, sas=fake.sas)
                if self.mitm_identity == "own" or self.mode != "mitm":
                    content = e2e.identity_content(self.identity_key, fake.role, fake.t)
                    self._fake_send(side, e2e.KIND_IDENTITY, content)
                    side.fake_identity_sent = True
                self._flush_fake(side)
            return
        if body[:1] != b"\x02" or not fake.done:
            self._event("fake_ignored", name=side.name, body=body)
            return
        enc, mac = fake.recv_keys
        try:
            seq, kind, content = e2e.open_record(enc, mac, body, expected_seq=side.fake_recv_seq)
        except (e2e.AuthError, e2e.SeqError) as why:
            self._event("fake_record_refused", name=side.name, reason=repr(why))
            return
        side.fake_recv_seq += 1
        self.plaintexts.append((side.name, kind, content))
        self._event("read", name=side.name, kind=kind, content=content)
        if self.mode != "mitm":
            return
        other = self.other(side)
        if other is None or other.fake is None:
            return
        if kind == e2e.KIND_IDENTITY and self.mitm_identity != "forward":
            return
        other.fake_outbox.append((kind, content))
        self._flush_fake(other)

    def _fake_send(self, side: Side, kind: int, content: bytes) -> None:
        enc, mac = side.fake.send_keys
        side.send(DATA, e2e.seal_record(enc, mac, side.fake_send_seq, kind, content))
        side.fake_send_seq += 1

    def _flush_fake(self, side: Side) -> None:
        if side.fake is None or not side.fake.done:
            return
        while side.fake_outbox:
            kind, content = side.fake_outbox.pop(0)
            self._fake_send(side, kind, content)

"""A fake relay for tests of relay-client: a listener whose connections are handed to a
test's handler, so a test can play a broken or malicious relay byte by byte.

- ``FakeRelay(handler, host=..., tls=...)``: listens on an ephemeral port; each accepted
  connection runs ``handler(conn)`` on its own thread (``conn`` is a socket, or an
  ``ssl.SSLSocket`` after a completed handshake when ``tls`` is a server context).
  ``stop`` (or leaving the ``with``) closes the listener and every connection, and
  re-raises the first exception a handler raised.
- ``server_tls_context(issued)``: TLS 1.3, ALPN ``relay/1``, the issued certificate.
- ``welcome(...)``, ``read_hello(conn)``: the frames a relay exchanges.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import threading

from relaypeer import HELLO, WELCOME, encode_frame, recv_frame

ALPN = "relay/1"


def server_tls_context(issued) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(issued.cert, issued.key)
    context.set_alpn_protocols([ALPN])
    return context


def welcome(session_key: bytes | None = None, max_frame: int = 1_048_576, peer: bytes = b"") -> bytes:
    """A WELCOME frame (section 1)."""
    key = session_key if session_key is not None else os.urandom(32)
    return encode_frame(WELCOME, key + struct.pack("!I", max_frame) + bytes([len(peer)]) + peer)


def read_hello(conn) -> bytes:
    """Reads the client's HELLO; returns its name."""
    frame_type, body, _ = recv_frame(conn)
    assert frame_type == HELLO, f"expected HELLO, got type {frame_type:#x}"
    return body[2:2 + body[1]]


class FakeRelay:
    def __init__(self, handler, *, host: str = "127.0.0.1", family: int = socket.AF_INET,
                 tls: ssl.SSLContext | None = None, port: int = 0):
        self.handler = handler
        self.tls = tls
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.connections: list[socket.socket] = []
        self.errors: list[BaseException] = []
        self.handshake_failures: list[BaseException] = []
        self.accepted = 0
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.accepted += 1
            conn.settimeout(10)
            self.connections.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as error:  # the client gave up: its test judges that
                    self.handshake_failures.append(error)
                    return
                self.connections.append(conn)
            self.handler(conn)
        except BaseException as error:  # noqa: BLE001 - reported by stop()
            if not self.stopping.is_set():
                self.errors.append(error)

    def hold(self, conn, seconds: float = 30.0) -> None:
        """Keeps ``conn`` open, reading and discarding, until stopped or the peer closes."""
        conn.settimeout(0.2)
        deadline = seconds
        while not self.stopping.is_set() and deadline > 0:
            try:
                if not conn.recv(65536):
                    return
            except (TimeoutError, socket.timeout, ssl.SSLWantReadError):
                deadline -= 0.2
            except OSError:
                return

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.listener.close()
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.close()
        for thread in [self.acceptor, *self.threads]:
            thread.join(5)
        if self.errors:
            raise self.errors[0]

    def __enter__(self) -> "FakeRelay":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

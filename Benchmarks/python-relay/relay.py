#!/usr/bin/env python3
"""The baseline users had: a relay built the way the original Python relay was.

One thread per client. Each thread loops: ``recv`` the 4-byte length, ``recv`` the body,
``sendall`` length and body to the other client. Nothing is batched, nothing is parsed
beyond the length.

Handshake (the baseline's, defined for bench-relay): a client's first frame is a v1 HELLO
(``length:u32 | 0x01 | 0x01 | nameLen | name``); the relay answers a v1 WELCOME
(``sessionKey[32] | maxFrame:u32 | peerLen=0``) with one random key per pair, as the
original sent its key after the name. Every later frame, whatever its type byte, is
forwarded unchanged, so the v1 DATA frames bench-relay sends (``length | 0x10 | body``)
pass through exactly as they pass through relay-server. A frame from a client whose peer
has not connected yet waits for the peer.

Prints ``listening on HOST:PORT`` once it listens (``--port 0`` picks a free port), like
relay-server. Stop it with SIGTERM or SIGINT.
"""

import argparse
import os
import signal
import socket
import struct
import sys
import threading

HELLO = 0x01
WELCOME = 0x02
MAX_FRAME = 1 << 30


class Pair:
    """The two clients of the relay and their shared key."""

    def __init__(self):
        self.key = os.urandom(32)
        self.clients = []
        self.changed = threading.Condition()

    def join(self, conn):
        with self.changed:
            self.clients.append(conn)
            self.changed.notify_all()

    def other(self, conn):
        with self.changed:
            while True:
                others = [c for c in self.clients if c is not conn]
                if others:
                    return others[0]
                self.changed.wait()


def recv_exact(conn, count):
    """``recv`` of exactly ``count`` bytes (one call with MSG_WAITALL), or None at EOF."""
    data = conn.recv(count, socket.MSG_WAITALL)
    return data if len(data) == count else None


def serve_client(conn, pair):
    try:
        header = recv_exact(conn, 4)
        if header is None:
            return
        (length,) = struct.unpack("!I", header)
        if length < 3 or length > 1 + 2 + 255:
            return
        hello = recv_exact(conn, length)
        if hello is None or hello[0] != HELLO:
            return
        welcome = bytes([WELCOME]) + pair.key + struct.pack("!IB", MAX_FRAME, 0)
        conn.sendall(struct.pack("!I", len(welcome)) + welcome)
        pair.join(conn)
        while True:
            header = recv_exact(conn, 4)
            if header is None:
                break
            (length,) = struct.unpack("!I", header)
            if length == 0 or length > MAX_FRAME:
                break
            body = recv_exact(conn, length)
            if body is None:
                break
            pair.other(conn).sendall(header + body)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(16)
    host, port = listener.getsockname()
    print(f"listening on {host}:{port}", flush=True)

    pair, accepted = Pair(), 0
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        accepted += 1
        if accepted > 2:
            pair, accepted = Pair(), 1
        threading.Thread(target=serve_client, args=(conn, pair), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())

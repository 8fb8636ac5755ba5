"""relay-client against broken and malicious relays (issue 10, client items): the
host-name check with --ca fails closed, TLS failures are described as what happened,
the client's own frame limit, one deadline for connect + TLS + WELCOME over every
address, peers' text that cannot disguise itself, known_servers written safely, and
private keys and state directories that others can read or write refused.

The relays here are mostly fakes (``fakerelay``) on 127.0.0.1 with ephemeral ports."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import stat
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import RelayProcess
from fakerelay import FakeRelay, read_hello, server_tls_context, welcome
from relaypeer import DATA, encode_frame, seal
from tls_support import CertificateAuthority, deliver, known_servers_lines, printed_fingerprint

PLAINTEXT_HINTS = ("--insecure-plaintext", "--legacy")


def run_client(bin_dir, relay_env, port, *args, name="alice", host="127.0.0.1", stdin=b"", timeout=15.0):
    """Runs relay-client to its end; returns (CompletedProcess, seconds it took)."""
    started = time.monotonic()
    mode = [] if "--legacy" in args else ["--trust-relay"]  # these tests are about sections 3 and 5
    done = subprocess.run([str(bin_dir / "relay-client"), "--name", name, "--host", host, "--port", str(port), *mode, *args],
                          env=relay_env, input=stdin, capture_output=True, timeout=timeout, cwd=relay_env["HOME"])
    return done, time.monotonic() - started


@pytest.fixture
def pki(tmp_path):
    return CertificateAuthority(tmp_path / "pki", "hardening CA")


# ---------------------------------------------------------------- 5. host-name check fails closed

def test_ca_refuses_a_certificate_for_another_name_whatever_the_address_spelling(relay_server, relay_client, pki):
    other = pki.issue("other.example", dns=("other.example",), stem="other")
    with relay_server("--tls-cert", str(other.cert), "--tls-key", str(other.key)) as server:
        for host in ("127.0.0.1", "127.1", "127.0.1"):
            code, client = deliver(relay_client, server, "--ca", str(pki.cert), host=host)
            assert code == 1, f"--host {host}: accepted a certificate for other.example: {client.stderr.text}"
            assert "refused" in client.stderr.text or "refusing" in client.stderr.text, client.stderr.text


def test_ca_accepts_the_right_address_written_another_way(relay_server, relay_client, pki):
    right = pki.issue("relay", ips=("127.0.0.1",), stem="right")
    with relay_server("--tls-cert", str(right.cert), "--tls-key", str(right.key)) as server:
        code, client = deliver(relay_client, server, "--ca", str(pki.cert), host="127.1")
        assert code == 0, client.stderr.text


# ---------------------------------------------------------------- 6. TLS failures said as they are

def _close_after_client_hello(conn) -> None:
    conn.recv(4096)
    conn.close()


def _reset_after_client_hello(conn) -> None:
    conn.recv(4096)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@pytest.mark.parametrize("handler, said", [(_close_after_client_hello, "closed the connection"),
                                           (_reset_after_client_hello, "reset")])
def test_a_broken_tls_connection_is_not_blamed_on_tls(bin_dir, relay_env, handler, said):
    with FakeRelay(handler) as relay:
        done, _ = run_client(bin_dir, relay_env, relay.port)
    message = done.stderr.decode()
    assert done.returncode == 1, message
    assert said in message, message
    for hint in PLAINTEXT_HINTS:
        assert hint not in message, f"a broken connection must not suggest {hint}: {message}"
    assert "does not seem to speak TLS" not in message


def test_a_plaintext_relay_is_named_with_the_warning(relay_server, bin_dir, relay_env):
    with relay_server("--insecure-plaintext") as server:
        done, _ = run_client(bin_dir, relay_env, server.port)
    message = done.stderr.decode()
    assert done.returncode == 1, message
    assert "plaintext" in message and "--insecure-plaintext" in message, message
    assert "in clear" in message, "the suggestion must come with the warning: " + message
    assert "--legacy" not in message


def test_a_legacy_or_garbage_answer_suggests_no_plaintext_mode(relay_server, bin_dir, relay_env):
    with relay_server("--legacy") as server:
        done, _ = run_client(bin_dir, relay_env, server.port)
    message = done.stderr.decode()
    assert done.returncode == 1, message
    for hint in PLAINTEXT_HINTS:
        assert hint not in message, f"random bytes must not suggest {hint}: {message}"


# ---------------------------------------------------------------- 7. the client's own frame limit

def _endless_data(announced: int, frame_length: int, sent: list[int]):
    def handler(conn) -> None:
        read_hello(conn)
        conn.sendall(welcome(max_frame=announced))
        conn.sendall(struct.pack("!IB", frame_length, DATA))
        chunk = bytes(256 * 1024)
        with pytest.raises(OSError):  # the client must hang up long before this ends
            for _ in range(64 * 4):  # 64 MiB
                conn.sendall(chunk)
                sent[0] += len(chunk)
    return handler


def test_a_relay_cannot_raise_the_clients_frame_limit(bin_dir, relay_env):
    sent = [0]
    with FakeRelay(_endless_data(0xFFFFFFFF, 0xFFFFFFF0, sent)) as relay:
        done, _ = run_client(bin_dir, relay_env, relay.port, "--insecure-plaintext", timeout=10)
    message = done.stderr.decode()
    assert done.returncode == 1, message
    assert "too large" in message or "limit" in message, message
    assert sent[0] <= 8 * 1024 * 1024, f"the client read {sent[0]} bytes of one frame"


def test_max_frame_lowers_the_limit_below_the_relays(bin_dir, relay_env):
    sent = [0]
    with FakeRelay(_endless_data(1_048_576, 8192, sent)) as relay:
        done, _ = run_client(bin_dir, relay_env, relay.port, "--insecure-plaintext", "--max-frame", "4096", timeout=10)
    assert done.returncode == 1, done.stderr
    assert b"4096" in done.stderr, done.stderr


def test_max_frame_is_documented(run_tool):
    done = run_tool("relay-client", "--help")
    assert b"--max-frame" in done.stdout and b"--connect-timeout" in done.stdout, done.stdout


# ---------------------------------------------------------------- 8. one deadline, every address

def test_a_silent_plaintext_relay_times_out(bin_dir, relay_env):
    with FakeRelay(lambda conn: relay.hold(conn)) as relay:
        done, took = run_client(bin_dir, relay_env, relay.port, "--insecure-plaintext", "--connect-timeout", "1",
                                timeout=10)
    assert done.returncode == 1, done.stderr
    assert b"--connect-timeout" in done.stderr, done.stderr
    assert took < 5, f"took {took:.1f} s"


def test_a_silent_tls_relay_times_out_during_the_handshake(bin_dir, relay_env):
    with FakeRelay(lambda conn: relay.hold(conn)) as relay:
        done, took = run_client(bin_dir, relay_env, relay.port, "--connect-timeout", "1", timeout=10)
    assert done.returncode == 1, done.stderr
    assert b"--connect-timeout" in done.stderr, done.stderr
    assert took < 5, f"took {took:.1f} s"


def test_a_tls_relay_that_never_sends_welcome_times_out(bin_dir, relay_env, pki):
    issued = pki.issue("relay", ips=("127.0.0.1",), stem="silent")
    with FakeRelay(lambda conn: relay.hold(conn), tls=server_tls_context(issued)) as relay:
        done, took = run_client(bin_dir, relay_env, relay.port, "--connect-timeout", "1", timeout=10)
    assert done.returncode == 1, done.stderr
    assert b"did not answer HELLO" in done.stderr, done.stderr
    assert took < 5, f"took {took:.1f} s"


def test_a_slow_trickle_cannot_stretch_the_deadline(bin_dir, relay_env):
    """One byte of a plausible WELCOME every 0.3 s: each read succeeds, but the whole
    handshake must still end at the deadline."""
    def trickle(conn) -> None:
        read_hello(conn)
        for byte in welcome():
            if relay.stopping.is_set():
                return
            conn.sendall(bytes([byte]))
            time.sleep(0.3)
    with FakeRelay(trickle) as relay:
        done, took = run_client(bin_dir, relay_env, relay.port, "--insecure-plaintext", "--connect-timeout", "1.5",
                                timeout=20)
    assert done.returncode == 1, done.stderr
    assert took < 5, f"took {took:.1f} s"


def _localhost_families() -> list[int]:
    try:
        infos = socket.getaddrinfo("localhost", 1, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG)
    except socket.gaierror:
        return []
    families = []
    for info in infos:
        if info[0] not in families:
            families.append(info[0])
    return families


def test_every_address_of_the_host_is_tried(bin_dir, relay_env):
    """The relay listens only on the address getaddrinfo gives last for "localhost"."""
    families = _localhost_families()
    if len(families) < 2:
        pytest.skip("localhost does not resolve to both IPv4 and IPv6 here")
    last = families[-1]
    host = "::1" if last == socket.AF_INET6 else "127.0.0.1"

    def serve(conn) -> None:
        read_hello(conn)
        conn.sendall(welcome(peer=b"bob"))
        relay.hold(conn)

    with FakeRelay(serve, host=host, family=last) as relay:
        client = RelayProcess([str(bin_dir / "relay-client"), "--name", "alice", "--host", "localhost", "--port",
                               str(relay.port), "--insecure-plaintext", "--trust-relay", "--connect-timeout", "5"],
                              relay_env, stdin=subprocess.PIPE)
        try:
            client.stderr.wait_for("bob is here")
        finally:
            client.stop()


# ---------------------------------------------------------------- 9. peers' text cannot disguise itself

def test_format_characters_separators_and_padding_are_neutralised(bin_dir, relay_env):
    key = os.urandom(32)
    messages = ["a\u202Eevil".encode(), "zero\u200Bwidth\u200Djoin".encode(), "line\u2028break".encode(),
                b"hi" + b" " * 300 + b"* alice left", "iso\u2066late\u2069".encode(), "bom\ufeff".encode()]

    def serve(conn) -> None:
        read_hello(conn)
        conn.sendall(welcome(key, peer=b"bob"))
        for message in messages:
            conn.sendall(encode_frame(DATA, seal(key, message)))
        relay.hold(conn, 5)

    with FakeRelay(serve) as relay:
        client = RelayProcess([str(bin_dir / "relay-client"), "--name", "alice", "--port", str(relay.port),
                               "--insecure-plaintext", "--trust-relay"], relay_env, stdin=subprocess.PIPE)
        try:
            lines = client.stdout.wait_count(len(messages))
        finally:
            client.stop()
    assert all(line.startswith("bob: ") for line in lines), lines
    text = "\n".join(lines)
    for invisible in ("\u202E", "\u200B", "\u200D", "\u2028", "\u2066", "\u2069", "\ufeff"):
        assert invisible not in text, f"U+{ord(invisible):04X} reached the terminal: {lines!r}"
    padded = lines[3]
    assert padded == "bob: hi    * alice left", repr(padded)
    assert len(padded) < 40, "padding must not push text onto a line of its own"


# ---------------------------------------------------------------- 10. known_servers

def test_known_servers_without_a_trailing_newline_keeps_its_last_entry(relay_server, relay_client, tmp_path):
    known = tmp_path / "known"
    other = "127.0.0.1:1 sha256:" + "ab" * 32
    known.write_text(other)  # no newline at the end
    known.chmod(0o600)
    with relay_server() as server:
        code, client = deliver(relay_client, server, "--known-servers", str(known))
        assert code == 0, client.stderr.text
        entry = f"127.0.0.1:{server.port} {printed_fingerprint(server)}"
        assert known.read_text() == f"{other}\n{entry}\n"
        code, client = deliver(relay_client, server, "--known-servers", str(known), text="again")
        assert code == 0, client.stderr.text
        assert "recorded" not in client.stderr.text, "the entry must be found the second time"
        assert known_servers_lines(known) == [other, entry]


def test_known_servers_with_crlf_line_endings(relay_server, relay_client, tmp_path):
    known = tmp_path / "known"
    with relay_server() as server:
        entry = f"127.0.0.1:{server.port} {printed_fingerprint(server)}"
        original = f"# relays\r\n127.0.0.1:1 sha256:{'cd' * 32}\r\n{entry}\r\n".encode()
        known.write_bytes(original)
        known.chmod(0o600)
        code, client = deliver(relay_client, server, "--known-servers", str(known))
        assert code == 0, client.stderr.text
        assert "recorded" not in client.stderr.text
        assert known.read_bytes() == original


def test_known_servers_is_written_under_a_lock_through_a_rename(relay_server, relay_client, tmp_path):
    known = tmp_path / "known"
    other = "127.0.0.1:1 sha256:" + "ab" * 32 + "\n"
    known.write_text(other)
    known.chmod(0o600)
    inode = known.stat().st_ino
    lock = open(str(known) + ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    released = threading.Timer(1.5, lambda: lock.close())
    with relay_server() as server:
        entry = f"127.0.0.1:{server.port} {printed_fingerprint(server)}"
        result = {}

        def connect() -> None:
            result["delivered"] = deliver(relay_client, server, "--known-servers", str(known))
        thread = threading.Thread(target=connect)
        thread.start()
        time.sleep(1.0)
        assert known.read_text() == other, "the file changed while another client held the lock"
        released.start()
        thread.join(15)
        code, client = result["delivered"]
        assert code == 0, client.stderr.text
    assert known.read_text() == other + entry + "\n"
    assert known.stat().st_ino != inode, "the new contents are renamed into place"
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    assert not Path(str(known) + ".tmp").exists()


# ---------------------------------------------------------------- 11. key hygiene

def test_a_client_key_readable_by_others_is_refused(relay_server, relay_client, pki, tmp_path):
    issued = pki.issue("alice", client=True, stem="alice")
    issued.key.chmod(0o644)
    with relay_server() as server:
        code, client = deliver(relay_client, server, "--cert", str(issued.cert), "--key", str(issued.key),
                               "--known-servers", str(tmp_path / "known"))
    assert code == 1, client.stderr.text
    assert f"chmod 600 {issued.key}" in client.stderr.text, client.stderr.text


def test_a_server_key_readable_by_others_is_refused(bin_dir, relay_env, pki):
    issued = pki.issue("relay", ips=("127.0.0.1",), stem="server")
    issued.key.chmod(0o640)
    server = RelayProcess([str(bin_dir / "relay-server"), "--port", "0", "--tls-cert", str(issued.cert),
                           "--tls-key", str(issued.key)], relay_env)
    try:
        code = server.wait()
    finally:
        server.stop()
    assert code != 0
    assert f"chmod 600 {issued.key}" in server.stderr.text, server.stderr.text


def test_a_state_directory_others_can_write_is_refused(bin_dir, relay_env, tmp_path):
    state = tmp_path / "state-open"
    state.mkdir()
    state.chmod(0o777)
    server = RelayProcess([str(bin_dir / "relay-server"), "--port", "0", "--state-dir", str(state)], relay_env)
    try:
        code = server.wait()
    finally:
        server.stop()
    assert code != 0
    assert f"chmod 700 {state}" in server.stderr.text, server.stderr.text
    assert not (state / "server-key.pem").exists()


def test_a_stored_server_key_made_readable_is_refused(relay_server, bin_dir, relay_env, tmp_path):
    state = tmp_path / "state-key"
    with relay_server("--state-dir", str(state)):
        pass
    (state / "server-key.pem").chmod(0o644)
    server = RelayProcess([str(bin_dir / "relay-server"), "--port", "0", "--state-dir", str(state)], relay_env)
    try:
        code = server.wait()
    finally:
        server.stop()
    assert code != 0
    assert "chmod 600" in server.stderr.text, server.stderr.text


def test_a_known_servers_directory_others_can_write_is_refused(relay_server, relay_client, tmp_path):
    directory = tmp_path / "open"
    directory.mkdir()
    directory.chmod(0o777)
    with relay_server() as server:
        code, client = deliver(relay_client, server, "--known-servers", str(directory / "known"))
    assert code == 1, client.stderr.text
    assert f"chmod 700 {directory}" in client.stderr.text, client.stderr.text
    assert not (directory / "known").exists()


def test_status_lines_on_a_terminal_are_marked_as_no_peer_can(bin_dir, relay_env):
    """On a terminal, status lines are in reverse video; a peer's text, however long or
    padded, reaches the terminal without any escape sequence, so it cannot look like one."""
    import pty
    import select

    key = os.urandom(32)
    fake_status = b"hi" + b"x" * 200 + b"* alice left"

    def serve(conn) -> None:
        read_hello(conn)
        conn.sendall(welcome(key, peer=b"bob"))
        conn.sendall(encode_frame(DATA, seal(key, fake_status + b"\x1b[7m* forged\x1b[0m")))
        relay.hold(conn, 5)

    master, slave = pty.openpty()
    env = {k: v for k, v in relay_env.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm"
    with FakeRelay(serve) as relay:
        proc = subprocess.Popen([str(bin_dir / "relay-client"), "--name", "alice", "--port", str(relay.port),
                                 "--insecure-plaintext", "--trust-relay"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=slave, cwd=env["HOME"])
        os.close(slave)
        try:
            terminal = b""
            deadline = time.monotonic() + 5
            while b"bob is here" not in terminal and time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    terminal += os.read(master, 4096)
            message = proc.stdout.readline()
        finally:
            proc.kill()
            proc.wait(5)
            os.close(master)
            proc.stdout.close()
            proc.stdin.close()
    assert b"\x1b[7m* bob is here\x1b[0m" in terminal, terminal
    assert message.startswith(b"bob: hi"), message
    assert b"\x1b" not in message, "a peer's escape sequence reached the terminal"


# ---------------------------------------------------------------- reading TLS ahead

def test_records_read_ahead_are_decoded_though_the_socket_has_nothing_more(bin_dir, relay_env, pki):
    """relay-client reads TLS ahead (OpenSSL's record buffer takes several records per
    read) and decodes at most 256 KiB per wake-up, so records can wait in OpenSSL's
    buffer with none on the socket. A burst a little over 256 KiB, sent while the client
    is stopped (queued in the kernel when it reads), and then nothing more: every
    message must be displayed. (Whether the last records are then in OpenSSL's buffer
    alone depends on the kernel's receive window, so this does not force that case.)"""
    issued = pki.issue("relay", ips=("127.0.0.1",), stem="burst")
    key = os.urandom(32)
    messages = [f"burst message {index:05d} " + "x" * 100 for index in range(1480)]
    frames = [encode_frame(DATA, seal(key, text.encode())) for text in messages]
    assert 256 * 1024 < sum(map(len, frames)) < 256 * 1024 + 16 * 1024
    welcomed = threading.Event()
    stopped = threading.Event()
    sent = threading.Event()

    def serve(conn) -> None:
        read_hello(conn)
        conn.sendall(welcome(key, peer=b"bob"))
        welcomed.set()
        if not stopped.wait(10):
            return
        conn.sendall(b"".join(frames))
        sent.set()
        relay.hold(conn, 10)

    with FakeRelay(serve, tls=server_tls_context(issued)) as relay:
        client = RelayProcess([str(bin_dir / "relay-client"), "--name", "alice", "--port", str(relay.port),
                               "--trust-relay"], relay_env, stdin=subprocess.PIPE)
        try:
            assert welcomed.wait(10), client.stderr.text
            client.stderr.wait_for("bob is here")
            os.kill(client.pid, signal.SIGSTOP)
            try:
                stopped.set()
                assert sent.wait(10), "the burst did not fit the socket buffers"
            finally:
                os.kill(client.pid, signal.SIGCONT)
            lines = client.stdout.wait_count(len(messages), timeout=5)
        finally:
            client.stop()
    assert lines == [f"bob: {text}" for text in messages], lines[-3:]


def test_the_client_reads_several_tls_records_per_read(bin_dir, relay_env, pki):
    """Read-ahead, counted: 16 MiB of messages arrive in 16 KiB TLS records (Python's ssl
    writes full records), 1,024 or more of them. Without read-ahead OpenSSL reads each
    record's header and then its body, two read(2)s per record; with its 60 KiB buffer
    it takes several records per read. The client's read system calls (/proc/PID/io
    syscr, start-up included) must stay under one per record."""
    issued = pki.issue("relay", ips=("127.0.0.1",), stem="ahead")
    key = os.urandom(32)
    messages = [f"{index:05d} " + "y" * 4000 for index in range(4300)]
    frames = b"".join(encode_frame(DATA, seal(key, text.encode())) for text in messages)
    records = len(frames) // (16 * 1024)
    assert records >= 1024

    def serve(conn) -> None:
        read_hello(conn)
        conn.sendall(welcome(key, peer=b"bob"))
        conn.sendall(frames)
        relay.hold(conn, 10)

    with FakeRelay(serve, tls=server_tls_context(issued)) as relay:
        client = RelayProcess([str(bin_dir / "relay-client"), "--name", "alice", "--port", str(relay.port),
                               "--trust-relay"], relay_env, stdin=subprocess.PIPE)
        try:
            lines = client.stdout.wait_count(len(messages), timeout=20)
            io = dict(line.split(": ") for line in Path(f"/proc/{client.pid}/io").read_text().splitlines())
        finally:
            client.stop()
    assert lines[-1] == f"bob: {messages[-1]}"
    reads = int(io["syscr"])
    assert reads < records, f"{reads} read calls for {records} TLS records: is read-ahead off?"

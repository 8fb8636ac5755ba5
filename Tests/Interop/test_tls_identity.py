"""TLS by default, seen from an independent TLS peer (Python's ssl module): the relay's
identity is created once and reused, its fingerprint is SHA-256 over the certificate's
SubjectPublicKeyInfo, only TLS 1.3 with ALPN relay/1 is spoken, and the handshake
timeout covers the TLS handshake and HELLO together."""

from __future__ import annotations

import socket
import ssl
import stat
from pathlib import Path

import pytest

from relaypeer import ERROR, ERROR_CODES, HELLO, V1Peer, encode_frame, hello_body, parse_error
from tls_support import (ALPN, TLSPeer, client_context, deliver, known_servers_lines, printed_fingerprint,
                         spki_fingerprint, tls_socket)


def test_default_start_creates_the_identity_once_and_reuses_it(relay_server, relay_env):
    state = relay_env["XDG_STATE_HOME"] + "/relay"
    with relay_server() as server:
        first = printed_fingerprint(server)
        assert "created a TLS identity" in server.stderr.text
        with TLSPeer(server.host, server.port, "alice") as peer:
            presented = peer.peer_fingerprint
    key = Path(state) / "server-key.pem"
    cert = Path(state) / "server-cert.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key.read_bytes()
    # Computed here from the certificate file and from the certificate on the wire.
    assert spki_fingerprint(cert.read_bytes()) == first
    assert presented == first

    with relay_server() as server:
        assert printed_fingerprint(server) == first
        assert "created a TLS identity" not in server.stderr.text
        with TLSPeer(server.host, server.port, "alice") as peer:
            assert peer.peer_fingerprint == first


def test_without_xdg_variables_the_identity_and_records_live_under_home(relay_server, relay_client, relay_env):
    del relay_env["XDG_STATE_HOME"], relay_env["XDG_CONFIG_HOME"]
    home = Path(relay_env["HOME"])
    with relay_server() as server:
        fingerprint = printed_fingerprint(server)
        assert spki_fingerprint((home / ".local/state/relay/server-cert.pem").read_bytes()) == fingerprint
        assert stat.S_IMODE((home / ".local/state/relay").stat().st_mode) == 0o700
        code, client = deliver(relay_client, server)
        assert code == 0, client.stderr.text
        assert known_servers_lines(home / ".config/relay/known_servers") == [f"127.0.0.1:{server.port} {fingerprint}"]


def test_an_identity_missing_one_file_is_refused_not_replaced(relay_server, run_tool, relay_env):
    state = Path(relay_env["XDG_STATE_HOME"]) / "relay"
    with relay_server():
        pass
    (state / "server-cert.pem").unlink()
    result = run_tool("relay-server", "--port", "0")
    assert result.returncode == 1
    assert b"server-cert.pem" in result.stderr and b"listening" not in result.stdout
    assert not (state / "server-cert.pem").exists(), "a new certificate for the old key would hide the loss"


def test_state_dir_option_holds_a_separate_identity(relay_server, tmp_path):
    with relay_server() as server:
        default = printed_fingerprint(server)
    with relay_server("--state-dir", str(tmp_path / "other")) as server:
        other = printed_fingerprint(server)
    assert other != default
    assert spki_fingerprint((tmp_path / "other" / "server-cert.pem").read_bytes()) == other


def test_ssl_client_negotiates_tls13_and_alpn_and_completes_hello(relay_server):
    with relay_server() as server, TLSPeer(server.host, server.port, "alice", hello=False) as peer:
        assert peer.sock.version() == "TLSv1.3"
        assert peer.sock.selected_alpn_protocol() == ALPN
        welcome = peer.hello()
        assert len(welcome.session_key) == 32
        assert welcome.max_frame == 1_048_576
        assert welcome.peer == b""
        # Read after the handshake, a NewSessionTicket would have arrived by now: none is sent.
        assert not peer.sock.session.has_ticket
        with TLSPeer(server.host, server.port, "bob") as bob:
            assert bob.key == welcome.session_key
            assert bob.welcome.peer == b"alice"
            peer.send_message(b"over TLS")
            assert bob.recv_message() == b"over TLS"


def test_tls12_only_client_is_refused(relay_server):
    with relay_server() as server:
        with pytest.raises(ssl.SSLError):
            tls_socket(server.host, server.port, client_context(maximum_version=ssl.TLSVersion.TLSv1_2))
        # The refusal harms nothing: the next client is served.
        with TLSPeer(server.host, server.port, "alice") as peer:
            assert peer.sock.version() == "TLSv1.3"


@pytest.mark.parametrize("alpn", [("h2", "http/1.1"), None], ids=["other-protocols", "no-alpn"])
def test_client_without_relay_alpn_is_refused(relay_server, alpn):
    with relay_server() as server:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            sock = tls_socket(server.host, server.port, client_context(alpn=alpn))
            # TLS 1.3: a refusal may only be read after the client's Finished.
            with sock:
                sock.sendall(encode_frame(HELLO, hello_body(b"alice")))
                if not sock.recv(1):
                    raise ConnectionError("closed without a WELCOME")


def test_handshake_timeout_covers_tls_and_hello(relay_server):
    with relay_server("--handshake-timeout", "1") as server:
        # TLS completed, no HELLO: told so over TLS.
        with TLSPeer(server.host, server.port, "alice", hello=False) as peer:
            code, message = peer.expect_error()
            assert ERROR_CODES[code] == "HANDSHAKE_TIMEOUT", message
            peer.wait_closed()
        # Half a ClientHello: closed after the same timeout, without a word.
        with socket.create_connection((server.host, server.port), timeout=5) as raw:
            raw.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))
            try:
                assert raw.recv(100) == b""
            except ConnectionResetError:
                pass
        with TLSPeer(server.host, server.port, "alice") as peer:
            assert peer.welcome is not None


def test_plaintext_v1_client_gets_a_plaintext_error_from_a_tls_relay(relay_server):
    with relay_server() as server, V1Peer(server.host, server.port, "alice", hello=False) as peer:
        peer.send_frame(HELLO, hello_body(b"alice"))
        frame_type, body, _ = peer.recv_frame()
        assert frame_type == ERROR
        code, message = parse_error(body)
        assert "TLS" in message and "\n" not in message, message
        peer.wait_closed()


@pytest.mark.parametrize("executable, args", [
    ("relay-server", ["--legacy", "--state-dir", "x"]),
    ("relay-server", ["--legacy", "--client-ca", "x.pem"]),
    ("relay-server", ["--insecure-plaintext", "--tls-cert", "c.pem", "--tls-key", "k.pem"]),
    ("relay-server", ["--tls-cert", "c.pem"]),
    ("relay-client", ["--name", "a", "--legacy", "--fingerprint", "sha256:" + "0" * 64]),
    ("relay-client", ["--name", "a", "--insecure-plaintext", "--ca", "ca.pem"]),
    ("relay-client", ["--name", "a", "--fingerprint", "sha256:12"]),
    ("relay-client", ["--name", "a", "--p12", "x.p12"]),
])
def test_plaintext_modes_with_tls_options_are_usage_errors(run_tool, executable, args):
    result = run_tool(executable, *args)
    assert result.returncode == 64, result.stderr
    assert result.stderr.strip()

"""How relay-client decides to trust the relay: trust on first use (recorded, accepted
again, a changed key refused with exit code 3), a pinned --fingerprint, and a CA with
host-name verification. Each accepted connection is shown to be real: the client's
sealed message reaches an independent TLS peer and opens under the session key."""

from __future__ import annotations

import subprocess

import pytest

from conftest import RelayProcess
from tls_support import CertificateAuthority, deliver, known_servers_lines, printed_fingerprint


def test_trust_on_first_use_records_accepts_again_and_refuses_a_changed_key(relay_server, relay_client, tmp_path):
    known = tmp_path / "known"
    with relay_server() as server:
        fingerprint = printed_fingerprint(server)
        port = server.port
        code, client = deliver(relay_client, server, "--known-servers", str(known))
        assert code == 0, client.stderr.text
        entry = f"127.0.0.1:{port} {fingerprint}"
        assert known_servers_lines(known) == [entry]
        assert fingerprint in client.stderr.wait_for("recorded")
        assert str(known) in client.stderr.wait_for("recorded")

        code, client = deliver(relay_client, server, "--known-servers", str(known), text="again")
        assert code == 0, client.stderr.text
        assert "recorded" not in client.stderr.text
        assert known_servers_lines(known) == [entry]

    # The same address with another identity.
    with relay_server("--port", str(port), "--state-dir", str(tmp_path / "impostor")) as server:
        impostor = printed_fingerprint(server)
        assert impostor != fingerprint
        code, client = deliver(relay_client, server, "--known-servers", str(known))
        assert code == 3, client.stderr.text
        message = client.stderr.text
        assert fingerprint in message and impostor in message, message
        assert entry in message, "the message shows the line to remove"
        assert "line 1" in message and str(known) in message
        assert known_servers_lines(known) == [entry], "a refused key is never recorded"


def test_trust_on_first_use_defaults_to_xdg_config_home(relay_server, relay_client, relay_env):
    with relay_server() as server:
        code, client = deliver(relay_client, server)
        assert code == 0, client.stderr.text
        known = relay_env["XDG_CONFIG_HOME"] + "/relay/known_servers"
        assert known_servers_lines(known) == [f"127.0.0.1:{server.port} {printed_fingerprint(server)}"]
        assert known in client.stderr.text


def test_trust_on_first_use_keeps_other_entries_and_finds_its_own(relay_server, relay_client, tmp_path):
    known = tmp_path / "known"
    with relay_server() as server:
        lines = ["# relays", "", f"127.0.0.1:{server.port + 1 if server.port < 65535 else 1} sha256:" + "ab" * 32,
                 f"127.0.0.1:{server.port} {printed_fingerprint(server)}"]
        known.write_text("\n".join(lines) + "\n")
        code, client = deliver(relay_client, server, "--known-servers", str(known))
        assert code == 0, client.stderr.text
        assert "recorded" not in client.stderr.text
        assert known.read_text() == "\n".join(lines) + "\n"


def test_pinned_fingerprint_accepts_the_right_key_and_refuses_another(relay_server, relay_client, tmp_path):
    known = tmp_path / "known"
    with relay_server() as server:
        fingerprint = printed_fingerprint(server)
        code, client = deliver(relay_client, server, "--fingerprint", fingerprint.upper().replace("SHA256", "sha256"),
                               "--known-servers", str(known))
        assert code == 0, client.stderr.text
        wrong = "sha256:" + ("0" if fingerprint[-1] != "0" else "1") * 64
        code, client = deliver(relay_client, server, "--fingerprint", wrong, "--known-servers", str(known))
        assert code == 3, client.stderr.text
        assert fingerprint in client.stderr.text and wrong in client.stderr.text
        assert not known.exists(), "a pin never records anything"


@pytest.fixture
def server_pki(tmp_path):
    """A CA, a server certificate for 127.0.0.1 from it, one for another name, and a
    second, unrelated CA."""
    ca = CertificateAuthority(tmp_path / "pki", "relay test CA")
    other_ca = CertificateAuthority(tmp_path / "pki-other", "another CA")
    return {
        "ca": ca,
        "other_ca": other_ca,
        "right": ca.issue("relay", dns=("localhost",), ips=("127.0.0.1",)),
        "other_name": ca.issue("relay.example", dns=("relay.example",), ips=("10.9.8.7",)),
    }


def test_ca_verification_accepts_a_certificate_for_the_address(relay_server, relay_client, server_pki, tmp_path):
    right = server_pki["right"]
    with relay_server("--tls-cert", str(right.cert), "--tls-key", str(right.key)) as server:
        assert printed_fingerprint(server) == right.fingerprint
        code, client = deliver(relay_client, server, "--ca", str(server_pki["ca"].cert),
                               "--known-servers", str(tmp_path / "known"))
        assert code == 0, client.stderr.text
        assert not (tmp_path / "known").exists()


@pytest.mark.parametrize("case, expected", [
    ("wrong-ca", "certificate"),
    ("wrong-name", "mismatch"),
])
def test_ca_verification_refuses(relay_server, relay_client, server_pki, case, expected):
    issued = server_pki["right"] if case == "wrong-ca" else server_pki["other_name"]
    trusted = server_pki["other_ca"] if case == "wrong-ca" else server_pki["ca"]
    with relay_server("--tls-cert", str(issued.cert), "--tls-key", str(issued.key)) as server:
        # The CA takes precedence over a pin that would match.
        code, client = deliver(relay_client, server, "--ca", str(trusted.cert), "--fingerprint", issued.fingerprint)
        assert code == 1, client.stderr.text
        assert "refused" in client.stderr.text and expected in client.stderr.text, client.stderr.text


@pytest.mark.parametrize("names, accepted", [(("localhost",), True), (("relay.example",), False)])
def test_ca_verification_checks_the_host_name(relay_server, relay_client, server_pki, names, accepted):
    """By name: the relay listens where "localhost" resolves, the client connects to
    "localhost" and the certificate must carry that DNS name (no IP address in it)."""
    issued = server_pki["ca"].issue(names[0], dns=names, stem="by-name-" + names[0])
    with relay_server("--host", "localhost", "--tls-cert", str(issued.cert), "--tls-key", str(issued.key)) as server:
        code, client = deliver(relay_client, server, "--ca", str(server_pki["ca"].cert), host="localhost")
        if accepted:
            assert code == 0, client.stderr.text
        else:
            assert code == 1
            assert "refused" in client.stderr.text and "mismatch" in client.stderr.text, client.stderr.text


def test_two_clients_chat_over_tls_with_only_name_and_port(relay_server, bin_dir, relay_env):
    """The quick start: TLS on, trust on first use, no flag beyond --name (and --port,
    as the test's relay listens on a free port)."""
    with relay_server() as server:
        argv = [str(bin_dir / "relay-client"), "--port", str(server.port), "--trust-relay", "--name"]
        alice = RelayProcess(argv + ["alice"], relay_env, stdin=subprocess.PIPE)
        bob = None
        try:
            alice.stderr.wait_for("waiting for a peer")
            bob = RelayProcess(argv + ["bob"], relay_env, stdin=subprocess.PIPE)
            bob.stderr.wait_for("alice is here")
            alice.send_line("hello bob, over TLS")
            assert bob.stdout.wait_for("alice:") == "alice: hello bob, over TLS"
            bob.send_line("hi alice")
            assert alice.stdout.wait_for("bob:") == "bob: hi alice"
            # Alice leaves while Bob is there: she says goodbye and exits 0.
            alice.close_stdin()
            assert alice.wait() == 0, alice.stderr.text
            bob.stderr.wait_for("alice left")
            assert bob.alive()
        finally:
            alice.stop()
            if bob is not None:
                bob.stop()
        assert "recorded" in alice.stderr.text
        assert "recorded" not in bob.stderr.text
        assert known_servers_lines(relay_env["XDG_CONFIG_HOME"] + "/relay/known_servers") == [
            f"127.0.0.1:{server.port} {printed_fingerprint(server)}"]

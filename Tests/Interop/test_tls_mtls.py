"""Mutual TLS: relay-server --client-ca requires a client certificate from that CA and a
HELLO name equal to the certificate's common name or one of its DNS names; relay-client
presents PEM files or a PKCS#12 bundle whose password comes from the environment."""

from __future__ import annotations

import shutil
import ssl

import pytest

from relaypeer import ERROR_CODES, HELLO, PeerClosed, hello_body
from tls_support import CertificateAuthority, TLSPeer, client_context, deliver, legacy_pkcs12, printed_fingerprint

P12_PASSWORD_VARIABLE = "RELAY_TEST_P12_PASSWORD"


@pytest.fixture
def pki(tmp_path):
    clients = CertificateAuthority(tmp_path / "clients", "clients CA")
    stranger = CertificateAuthority(tmp_path / "stranger", "stranger CA")
    return {
        "ca": clients,
        "alice": clients.issue("alice", client=True),
        "carol": clients.issue("Carol Example", dns=("carol", "carol.example"), client=True),
        "peer": clients.issue("peer", client=True),
        "forged-alice": stranger.issue("alice", client=True),
    }


@pytest.fixture
def mtls_server(relay_server, pki):
    """A relay requiring client certificates; yields (server, its fingerprint, the
    context of a verified Python peer named 'peer')."""
    with relay_server("--client-ca", str(pki["ca"].cert)) as server:
        yield server, printed_fingerprint(server), client_context(issued=pki["peer"])


@pytest.mark.parametrize("holder, name", [
    ("alice", "alice"),                 # the subject common name
    ("carol", "carol.example"),         # a DNS subject alternative name
    ("carol", "carol"),
])
def test_client_certificate_with_a_matching_name_is_accepted(mtls_server, relay_client, pki, holder, name):
    server, fingerprint, peer_context = mtls_server
    issued = pki[holder]
    code, client = deliver(relay_client, server, "--fingerprint", fingerprint, "--cert", str(issued.cert),
                           "--key", str(issued.key), name=name, context=peer_context)
    assert code == 0, client.stderr.text


def test_client_without_a_certificate_is_refused(mtls_server, relay_client):
    server, fingerprint, peer_context = mtls_server
    code, client = deliver(relay_client, server, "--fingerprint", fingerprint, context=peer_context)
    assert code == 1, client.stderr.text
    assert "certificate" in client.stderr.text, client.stderr.text
    # Python's ssl module: the handshake itself succeeds in TLS 1.3; the refusal arrives
    # before any frame does.
    with pytest.raises((ssl.SSLError, PeerClosed, ConnectionError)):
        TLSPeer(server.host, server.port, "alice")


def test_certificate_from_another_ca_is_refused(mtls_server, relay_client, pki):
    server, fingerprint, peer_context = mtls_server
    forged = pki["forged-alice"]
    code, client = deliver(relay_client, server, "--fingerprint", fingerprint, "--cert", str(forged.cert),
                           "--key", str(forged.key), context=peer_context)
    assert code == 1, client.stderr.text
    with pytest.raises((ssl.SSLError, PeerClosed, ConnectionError)):
        TLSPeer(server.host, server.port, "alice", context=client_context(issued=forged))


def test_name_that_the_certificate_does_not_carry_is_invalid(mtls_server, relay_client, pki):
    server, fingerprint, peer_context = mtls_server
    with TLSPeer(server.host, server.port, "mallory", context=client_context(issued=pki["carol"]),
                 hello=False) as peer:
        peer.send_frame(HELLO, hello_body(b"mallory"))
        code, message = peer.expect_error()
        assert ERROR_CODES[code] == "INVALID_NAME"
        assert "mallory" in message and "carol.example" in message and "Carol Example" in message, message
        assert "certificate" in message
        peer.wait_closed()

    alice = pki["alice"]
    code, client = deliver(relay_client, server, "--fingerprint", fingerprint, "--cert", str(alice.cert),
                           "--key", str(alice.key), name="bob", context=peer_context)
    assert code == 1
    assert "'bob' does not match the client certificate" in client.stderr.text, client.stderr.text


def test_pkcs12_client(mtls_server, relay_client, relay_env, pki, tmp_path):
    server, fingerprint, peer_context = mtls_server
    bundle = pki["ca"].pkcs12(pki["alice"], b"correct horse", tmp_path / "userdata.p12")
    relay_env[P12_PASSWORD_VARIABLE] = "correct horse"
    code, client = deliver(relay_client, server, "--fingerprint", fingerprint, "--p12", str(bundle),
                           "--p12-password-env", P12_PASSWORD_VARIABLE, context=peer_context)
    assert code == 0, client.stderr.text
    assert "correct horse" not in client.stderr.text

    relay_env[P12_PASSWORD_VARIABLE] = "wrong"
    code, client = deliver(relay_client, server, "--fingerprint", fingerprint, "--p12", str(bundle),
                           "--p12-password-env", P12_PASSWORD_VARIABLE, context=peer_context)
    assert code == 1, client.stderr.text
    assert str(bundle) in client.stderr.text and "password" in client.stderr.text

    del relay_env[P12_PASSWORD_VARIABLE]
    code, client = deliver(relay_client, server, "--fingerprint", fingerprint, "--p12", str(bundle),
                           "--p12-password-env", P12_PASSWORD_VARIABLE, context=peer_context)
    assert code == 1
    assert P12_PASSWORD_VARIABLE in client.stderr.text


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_pkcs12_client_in_the_pre_openssl3_format(mtls_server, relay_client, relay_env, pki, tmp_path):
    """Bundles like the original clients' userdata.p12: RC2-40 certificate encryption,
    which OpenSSL 3 only has in its legacy provider."""
    server, fingerprint, peer_context = mtls_server
    bundle = legacy_pkcs12(pki["alice"], "old secret", tmp_path / "userdata.p12")
    relay_env[P12_PASSWORD_VARIABLE] = "old secret"
    code, client = deliver(relay_client, server, "--fingerprint", fingerprint, "--p12", str(bundle),
                           "--p12-password-env", P12_PASSWORD_VARIABLE, context=peer_context)
    assert code == 0, client.stderr.text

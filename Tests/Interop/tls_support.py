"""TLS helpers of the interoperability suite: test certificates made on the fly (never
committed keys), the independent fingerprint computation, and Python ``ssl`` peers that
speak protocol v1 through ``relaypeer``'s codec.

- ``CertificateAuthority``: a throw-away ECDSA P-256 CA in a tmp dir that issues server and
  client certificates (subject CN, DNS and IP subject alternative names) as PEM files, and
  PKCS#12 bundles.
- ``spki_fingerprint``: ``sha256:`` + lowercase hex of SHA-256 over the certificate's DER
  SubjectPublicKeyInfo, computed with ``cryptography`` (not with the relay's code).
- ``deliver``: relay-client sends one line to a ``TLSPeer`` that opens it (the proof that a
  connection the client accepted is real); returns the client's exit code.
- ``client_context`` / ``TLSPeer``: a TLS 1.3 client with ALPN ``relay/1``; ``TLSPeer`` is a
  ``relaypeer.V1Peer`` whose socket is wrapped in TLS, so HELLO, frames and sealing are
  relaypeer's.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import re
import socket
import ssl
import subprocess
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from relaypeer import PEER_JOINED, PEER_LEFT, SOCKET_TIMEOUT, V1Peer

ALPN = "relay/1"
FINGERPRINT_LINE = re.compile(r"^fingerprint (sha256:[0-9a-f]{64})$")


# ---------------------------------------------------------------- fingerprints

def spki_fingerprint(certificate: bytes | x509.Certificate) -> str:
    """The relay's fingerprint of a certificate (PEM or DER bytes, or parsed)."""
    if isinstance(certificate, bytes):
        certificate = (x509.load_pem_x509_certificate(certificate) if certificate.startswith(b"-----")
                       else x509.load_der_x509_certificate(certificate))
    spki = certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + sha256(spki).hexdigest()


def printed_fingerprint(server) -> str:
    """The `fingerprint sha256:HEX` line of a started relay-server; it must come before
    `listening on`."""
    lines = server.stdout.lines
    listening = next(i for i, line in enumerate(lines) if line.startswith("listening on "))
    found = [(i, m.group(1)) for i, line in enumerate(lines) if (m := FINGERPRINT_LINE.match(line))]
    assert len(found) == 1, f"expected one fingerprint line, got {lines!r}"
    index, fingerprint = found[0]
    assert index < listening, f"the fingerprint must be printed before 'listening on': {lines!r}"
    return fingerprint


# ---------------------------------------------------------------- certificates

def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass
class Issued:
    """A certificate and its key on disk."""
    cert: Path
    key: Path
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def fingerprint(self) -> str:
        return spki_fingerprint(self.certificate)


class CertificateAuthority:
    """A throw-away CA whose files live in ``directory``."""

    def __init__(self, directory: Path, name: str = "relay test CA"):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.key = _new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        stem = re.sub(r"[^a-z0-9]+", "-", name.lower())
        self.cert = directory / f"{stem}.pem"
        self.cert.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: str | None, *, dns: tuple[str, ...] = (), ips: tuple[str, ...] = (),
              client: bool = False, stem: str | None = None) -> Issued:
        """A leaf certificate (server or client use) with these names, and its key."""
        key = _new_key()
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else []
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes)).issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        names = [x509.DNSName(name) for name in dns] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        stem = stem or re.sub(r"[^a-z0-9]+", "-", (common_name or "noname").lower())
        cert_path, key_path = self.directory / f"{stem}-cert.pem", self.directory / f"{stem}-key.pem"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(_key_pem(key))
        key_path.chmod(0o600)
        return Issued(cert_path, key_path, certificate, key)

    def pkcs12(self, issued: Issued, password: bytes, path: Path) -> Path:
        """``issued`` and this CA's certificate as a password-protected PKCS#12 bundle."""
        path.write_bytes(pkcs12.serialize_key_and_certificates(
            b"relay client", issued.private_key, issued.certificate, [self.certificate],
            serialization.BestAvailableEncryption(password)))
        return path


def legacy_pkcs12(issued: Issued, password: str, path: Path) -> Path:
    """A PKCS#12 bundle in the pre-OpenSSL-3 format (certificates under RC2-40, the key
    under 3DES, SHA-1 MAC), as `openssl pkcs12 -export` made them; needs the `openssl`
    command."""
    subprocess.run(["openssl", "pkcs12", "-export", "-legacy", "-in", str(issued.cert), "-inkey", str(issued.key),
                    "-out", str(path), "-passout", "env:RELAY_TEST_LEGACY_P12"],
                   env={**os.environ, "RELAY_TEST_LEGACY_P12": password}, check=True, capture_output=True,
                   timeout=10)
    return path


# ---------------------------------------------------------------- ssl-module peers

def client_context(*, alpn: tuple[str, ...] | None = (ALPN,), issued: Issued | None = None,
                   maximum_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context that does not verify the relay (tests compare fingerprints
    themselves), TLS 1.3 unless told otherwise, offering ``alpn``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if maximum_version is not None:
        context.maximum_version = maximum_version
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_3
    if alpn:
        context.set_alpn_protocols(list(alpn))
    if issued is not None:
        context.load_cert_chain(issued.cert, issued.key)
    return context


def tls_socket(host: str, port: int, context: ssl.SSLContext | None = None,
               timeout: float = SOCKET_TIMEOUT, strict_close: bool = False) -> ssl.SSLSocket:
    """A connected, handshaken TLS socket (raises ssl.SSLError when refused). With
    ``strict_close``, an end of input without close_notify raises ssl.SSLEOFError."""
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        return (context or client_context()).wrap_socket(raw, suppress_ragged_eofs=not strict_close)
    except BaseException:
        raw.close()
        raise


class TLSPeer(V1Peer):
    """relaypeer's v1 peer over a TLS socket of the ssl module."""

    def __init__(self, host: str, port: int, name: str | bytes, *, context: ssl.SSLContext | None = None,
                 timeout: float = SOCKET_TIMEOUT, hello: bool = True, strict_close: bool = False):
        self.name = name.encode() if isinstance(name, str) else name
        self.sock = tls_socket(host, port, context, timeout, strict_close)
        self.welcome = None
        if hello:
            self.hello()

    @property
    def peer_fingerprint(self) -> str:
        return spki_fingerprint(self.sock.getpeercert(binary_form=True))


# ---------------------------------------------------------------- relay-client against a TLS peer

def deliver(relay_client, server, *args: str, name: str = "alice", text: str = "hello over TLS",
            context: ssl.SSLContext | None = None, peer_name: str = "peer",
            host: str = "127.0.0.1") -> tuple[int, object]:
    """Runs ``relay-client --name NAME --host HOST ARGS`` with one line of input while a
    TLS peer is joined. Returns (exit code, the client process); on exit code 0 the peer
    has received the line, sealed under the session key, between PEER_JOINED and
    PEER_LEFT."""
    with TLSPeer(host, server.port, peer_name, context=context) as peer, \
            relay_client(*args, name=name, port=server.port, host=host) as client:
        with contextlib.suppress(BrokenPipeError):  # a refusing client may be gone already
            client.send_line(text)
            client.close_stdin()
        code = client.wait()
        if code == 0:
            assert peer.expect(PEER_JOINED)[0] == name.encode()
            assert peer.recv_message() == text.encode()
            assert peer.expect(PEER_LEFT)[0] == name.encode()
        return code, client


def known_servers_lines(path) -> list[str]:
    """The non-empty lines of a known_servers file."""
    return [line for line in Path(path).read_text().splitlines() if line]

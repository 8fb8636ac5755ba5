"""Two Swift relay-clients, as two people in two terminals, through the real relay-server
over its default transport (TLS 1.3, trust on first use): they agree a key the relay
never learns and show the same SAS (PROTOCOL.md section 7), chat both ways, verify each
other, and a second session is verified from known_peers without comparing.

Each client has its own home (its own identity key, known_servers and known_peers), as
two people on two machines would."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

from conftest import RelayProcess

WAIT = 10.0
SAS = re.compile(r"^\* SAS with (\S+) \(agreement (\d+)\): (\d{3} \d{3})$")


def own_env(relay_env: dict[str, str], home: Path) -> dict[str, str]:
    for sub in ("state", "config"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = dict(relay_env)
    env.update(HOME=str(home), XDG_STATE_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "config"))
    return env


def client(bin_dir: Path, env: dict[str, str], name: str, port: int) -> RelayProcess:
    return RelayProcess([str(bin_dir / "relay-client"), "--name", name, "--host", "127.0.0.1", "--port", str(port)],
                        env, stdin=subprocess.PIPE)


def shown_sas(process: RelayProcess) -> tuple[str, str, str]:
    line = process.stderr.wait_for(SAS.match, WAIT)
    return SAS.match(line).groups()


def identity_public_key(home: Path) -> bytes:
    """The raw Ed25519 public key of the identity file the client made in ``home``."""
    key = load_pem_private_key((home / "state" / "relay" / "identity_ed25519").read_bytes(), password=None)
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint_of(home: Path) -> str:
    """sha256: and the hex SHA-256 of the identity's public key (section 7.4)."""
    return "sha256:" + hashlib.sha256(identity_public_key(home)).hexdigest()


def test_two_clients_show_the_same_sas_chat_verify_and_are_verified_next_time(relay_server, relay_env, bin_dir, tmp_path):
    alice_home, bob_home = tmp_path / "alice", tmp_path / "bob"
    alice_env, bob_env = own_env(relay_env, alice_home), own_env(relay_env, bob_home)
    with relay_server() as server:
        alice = client(bin_dir, alice_env, "alice", server.port)
        bob = client(bin_dir, bob_env, "bob", server.port)
        try:
            name_a, number_a, sas_a = shown_sas(alice)
            name_b, number_b, sas_b = shown_sas(bob)
            assert (name_a, name_b, number_a, number_b) == ("bob", "alice", "1", "1")
            assert sas_a == sas_b
            alice.stderr.wait_for("* bob is not verified: compare the SAS, then type /verify", WAIT)
            bob.stderr.wait_for("* alice is not verified: compare the SAS, then type /verify", WAIT)

            alice.send_line("hello bob")
            bob.stdout.wait_for(lambda line: line == "alice: hello bob", WAIT)
            bob.send_line("hello alice")
            alice.stdout.wait_for(lambda line: line == "bob: hello alice", WAIT)

            # Both compared the code (here: read it from the other's screen) and verify.
            alice.send_line(f"/verify {sas_b}")
            bob.send_line(f"/verify {sas_a.replace(' ', '')}")
            alice.stderr.wait_for(f"* bob is verified ({fingerprint_of(bob_home)})", WAIT)
            bob.stderr.wait_for(f"* alice is verified ({fingerprint_of(alice_home)})", WAIT)

            alice.close_stdin()
            assert alice.wait(WAIT) == 0
            bob.stderr.wait_for("* alice left", WAIT)
            assert "may have been lost" not in bob.stderr.text
            bob.close_stdin()
            assert bob.wait(WAIT) == 0
        finally:
            alice.stop()
            bob.stop()

        known = (alice_home / "config" / "relay" / "known_peers").read_text()
        assert known == f"127.0.0.1:{server.port} {b'bob'.hex()} ed25519:{identity_public_key(bob_home).hex()}\n"
        assert os.stat(alice_home / "config" / "relay" / "known_peers").st_mode & 0o077 == 0

        # A second session: each is verified from known_peers, with no comparison.
        alice = client(bin_dir, alice_env, "alice", server.port)
        bob = client(bin_dir, bob_env, "bob", server.port)
        try:
            alice.stderr.wait_for(f"* bob is verified ({fingerprint_of(bob_home)})", WAIT)
            bob.stderr.wait_for(f"* alice is verified ({fingerprint_of(alice_home)})", WAIT)
            assert shown_sas(alice)[2] == shown_sas(bob)[2]
            assert "not verified" not in alice.stderr.text + bob.stderr.text
            bob.send_line("again")
            alice.stdout.wait_for(lambda line: line == "bob: again", WAIT)
        finally:
            alice.stop()
            bob.stop()


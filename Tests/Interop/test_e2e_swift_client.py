"""The Swift relay-client's end-to-end sessions (PROTOCOL.md section 7), judged by the
independent peer (e2e_peer.E2EClient) and the hostile relay (malicious_relay.MaliciousRelay).

Each test starts MaliciousRelay on 127.0.0.1:<ephemeral> and relay-client with
``--insecure-plaintext --host 127.0.0.1 --port relay.port --name alice``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import e2e_peer as e2e
from malicious_relay import MaliciousRelay, Reflect, Replay
from v2_frames import PEER_JOINED, PEER_LEFT, room_bytes

WAIT = 8.0
SAS = re.compile(r"^\* SAS with (.+) \(agreement (\d+)\): (\d{3} \d{3})$")


def sas_lines(client, count=1):
    lines = client.stderr.wait_matching("* SAS with ", count, WAIT)
    return [SAS.match(line).groups() for line in lines]


def start(relay_client, relay, *args, name="alice"):
    return relay_client("--insecure-plaintext", *args, name=name, port=relay.port, e2e=True)


def peer(relay, name="bob", **kwargs):
    return e2e.E2EClient(name, relay.host, relay.port, timeout=WAIT, **kwargs).connect()


def test_honest_sas_matches_and_records_flow(relay_client):
    with MaliciousRelay() as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay) as bob:
            ((name, number, sas),) = sas_lines(alice)
            assert (name, number) == ("bob", "1") and sas == bob.wait_sas(1, WAIT)
            alice.stderr.wait_for("* bob is not verified: compare the SAS, then type /verify")
            bob.wait_ready(WAIT)  # alice's identity record (seq 0) verified
            bob.send_chat("hi alice")
            alice.stdout.wait_for("bob: hi alice")
            alice.send_line("hello bob")
            assert bob.recv_chat(WAIT) == "hello bob"
            alice.close_stdin()
            bob.wait_event("end", WAIT)
            relay.wait_event("bye", WAIT, name=b"alice")
            assert alice.wait() == 0
            # nothing alice sent was sealed under K
            assert all(b[:1] in (b"\x02", b"\x03") for b in relay.records_from("alice") + relay.side("bob").sent)


def test_lines_typed_before_the_peer_wait_and_are_never_sealed_under_k(relay_client):
    with MaliciousRelay() as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        alice.send_line("early")
        with peer(relay) as bob:
            assert bob.recv_chat(WAIT) == "early"
            assert not bob.has_event("relay_key_refused")


def test_mitm_sas_differs_from_the_peer(relay_client):
    with MaliciousRelay(mode="mitm") as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay) as bob:
            ((_, _, sas),) = sas_lines(alice)
            assert sas == relay.wait_fake_done("alice") != bob.wait_sas(1, WAIT)


def test_mitm_between_two_swift_clients(relay_client):
    with MaliciousRelay(mode="mitm") as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with start(relay_client, relay, name="bob") as bob:
            ((_, _, sas_a),) = sas_lines(alice)
            ((_, _, sas_b),) = sas_lines(bob)
            # bob (R) shows its SAS before the relay has read its pkR: wait for the relay's side
            assert sas_a == relay.wait_fake_done("alice") and sas_b == relay.wait_fake_done("bob") and sas_a != sas_b


def test_replayed_record_exits_3(relay_client):
    with MaliciousRelay(record_rules=[Replay("bob", 1)]) as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay) as bob:
            bob.wait_ready(WAIT)
            bob.send_chat("once")
            bob.send_chat("twice?")
            assert alice.wait() == 3
            relay.wait_event("bye", WAIT, name=b"alice")


def test_reflected_record_is_refused_and_the_session_goes_on(relay_client):
    with MaliciousRelay(record_rules=[Reflect("alice", 1)]) as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay) as bob:
            bob.wait_ready(WAIT)
            alice.send_line("to bob")
            assert bob.recv_chat(WAIT) == "to bob"
            bob.send_chat("still here")
            alice.stdout.wait_for("bob: still here")
            assert alice.alive()


def test_relay_key_message_is_refused_and_reported(relay_client):
    with MaliciousRelay() as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay) as bob:
            bob.wait_ready(WAIT)
            relay.inject_relay_key("alice", b"forged by the relay")
            bob.send_chat("real")
            alice.stdout.wait_for("bob: real")
            assert "forged" not in alice.stdout.text and alice.alive()


def test_restarted_agreements_are_numbered_and_a_fourth_exits_3(relay_client):
    with MaliciousRelay() as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay):
            sas_lines(alice, 1)
            for number in (2, 3):
                relay.restart_agreement("alice")
                assert sas_lines(alice, number)[-1][1:] == (str(number), relay.wait_fake_done("alice"))
            relay.restart_agreement("alice")
            assert alice.wait() == 3


def test_changed_identity_exits_3(relay_client, relay_env):
    with MaliciousRelay() as relay:
        known = Path(relay_env["XDG_CONFIG_HOME"]) / "relay" / "known_peers"
        known.parent.mkdir(parents=True, exist_ok=True)
        other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        known.write_text(e2e.known_peers_line(f"127.0.0.1:{relay.port}", b"bob", other) + "\n")
        with start(relay_client, relay) as alice:
            relay.wait_joined(1, WAIT)
            with peer(relay):
                assert alice.wait() == 3
                assert str(known) in alice.stderr.text


def test_known_identity_is_verified(relay_client, relay_env):
    key = Ed25519PrivateKey.generate()
    with MaliciousRelay() as relay:
        known = Path(relay_env["XDG_CONFIG_HOME"]) / "relay" / "known_peers"
        known.parent.mkdir(parents=True, exist_ok=True)
        pub = key.public_key().public_bytes_raw()
        known.write_text(e2e.known_peers_line(f"127.0.0.1:{relay.port}", b"bob", pub) + "\n")
        with start(relay_client, relay, "--require-verified") as alice:
            relay.wait_joined(1, WAIT)
            with peer(relay, identity_key=key):
                alice.stderr.wait_for(e2e.verified_line("bob", e2e.fingerprint(pub)), WAIT)


def test_require_verified_unknown_peer_exits_3(relay_client):
    with MaliciousRelay() as relay, start(relay_client, relay, "--require-verified") as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay):
            assert alice.wait() == 3


def test_verify_records_the_peer(relay_client, relay_env):
    with MaliciousRelay() as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay) as bob:
            ((_, _, sas),) = sas_lines(alice)
            alice.send_line(f"/verify {sas.replace(' ', '')}")
            known = Path(relay_env["XDG_CONFIG_HOME"]) / "relay" / "known_peers"
            line = e2e.known_peers_line(f"127.0.0.1:{relay.port}", b"bob", bob.id_pub)
            relay.wait_for(lambda: known.exists() and line in known.read_text().splitlines(), WAIT, "known_peers")


def test_verify_with_wrong_digits_exits_3_and_records_nothing(relay_client, relay_env):
    with MaliciousRelay() as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay):
            ((_, _, sas),) = sas_lines(alice)
            wrong = "000 001" if sas != "000 001" else "000 002"
            alice.send_line(f"/verify {wrong}")
            assert alice.wait() == 3
            assert not (Path(relay_env["XDG_CONFIG_HOME"]) / "relay" / "known_peers").exists()


def test_larger_room_exits_3_without_sending(relay_client):
    with MaliciousRelay(room_size=3) as relay, start(relay_client, relay, "--room", "OPEN-ROOM") as alice:
        relay.wait_joined(1, WAIT)
        assert alice.wait() == 3
        assert relay.sides[0].room == room_bytes("OPEN-ROOM") and relay.sides[0].sent == []
        assert "--trust-relay" in alice.stderr.text


def test_data_from_exits_3(relay_client):
    with MaliciousRelay() as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay):
            sas_lines(alice)
            relay.inject_data_from("alice", "carol")
            assert alice.wait() == 3


def test_chat_at_seq_0_exits_3(relay_client):
    with MaliciousRelay(mode="mitm", mitm_identity="none") as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay):
            relay.wait_fake_done("alice")
            relay.send_fake_record("alice", e2e.KIND_CHAT, b"no identity first")
            assert alice.wait() == 3
            assert "no identity first" not in alice.stdout.text


def test_small_order_key_aborts_the_agreement(relay_client):
    pk = bytes(32)
    with MaliciousRelay() as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        relay.send_frame("alice", PEER_JOINED, b"bob")
        relay.send_data("alice", bytes([3, 1]) + e2e.commitment(pk))
        relay.wait_for(lambda: any(b[:2] == b"\x03\x02" for b in relay.sides[0].sent), WAIT, "pkI")
        relay.send_data("alice", bytes([3, 3]) + pk)
        with pytest.raises(AssertionError):
            alice.stderr.wait_for("* SAS with ", 1.0)


def test_commitment_mismatch_aborts_and_the_third_abort_exits_3(relay_client):
    pk_committed = e2e.x25519_public(bytes(range(32)))
    pk_revealed = e2e.x25519_public(bytes(range(1, 33)))
    with MaliciousRelay() as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        for number in (1, 2, 3):
            if number > 1:
                relay.send_frame("alice", PEER_LEFT, b"bob")
            relay.send_frame("alice", PEER_JOINED, b"bob")
            relay.send_data("alice", bytes([3, 1]) + e2e.commitment(pk_committed))
            relay.wait_for(lambda: sum(b[:2] == b"\x03\x02" for b in relay.sides[0].sent) >= number,
                           WAIT, f"pkI of agreement {number}")
            relay.send_data("alice", bytes([3, 3]) + pk_revealed)
        assert alice.wait() == 3
        assert "* SAS with " not in alice.stderr.text
        relay.wait_event("bye", WAIT, name=b"alice")


def test_lie_about_the_peer_name_shows_in_the_sas_line(relay_client):
    with MaliciousRelay(peer_names={"alice": "mallory"}) as relay, start(relay_client, relay) as alice:
        relay.wait_joined(1, WAIT)
        with peer(relay) as bob:
            ((name, _, sas),) = sas_lines(alice)
            assert name == "mallory" and sas != bob.wait_sas(1, WAIT)
            bob.send_chat("never readable")  # sealed under keys alice does not have
            with pytest.raises(AssertionError):
                alice.stdout.wait_for("never readable", 1.0)

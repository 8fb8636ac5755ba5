"""Self-test of the independent section 7 peer and of the malicious relay: two E2EClient
instances talk through MaliciousRelay, honestly and in each hostile mode, and the test
checks what the client detects. No Swift binaries are needed."""

from __future__ import annotations

import contextlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import e2e_peer as e2e
from malicious_relay import (Drop, MaliciousRelay, Reflect, Reorder, Replay, ReplayLater, Tamper,
                             flip_last_byte)
from v2_frames import PEER_JOINED, PEER_LEFT, room_bytes

WAIT = 3.0
SHORT = 0.6


@contextlib.contextmanager
def session(relay_kwargs=None, alice_kwargs=None, bob_kwargs=None, bob=True):
    """A relay, alice (joins first: the initiator) and, unless bob=False, bob."""
    relay = MaliciousRelay(**(relay_kwargs or {})).start()
    clients = []
    try:
        alice = E(relay, "alice", **(alice_kwargs or {}))
        clients.append(alice)
        relay.wait_joined(1, WAIT)
        alice.wait_event("welcome", WAIT) if not (relay_kwargs or {}).get("roles") == "both_responders" else None
        if bob:
            b = E(relay, "bob", **(bob_kwargs or {}))
            clients.append(b)
            relay.wait_joined(2, WAIT)
            yield relay, alice, b
        else:
            yield relay, alice
    finally:
        for client in clients:
            client.close()
        relay.stop()
        assert not relay.errors, relay.errors
        for client in clients:
            assert not client.has_event("internal_error"), client.events


def E(relay, name, **kwargs):
    kwargs.setdefault("timeout", WAIT)
    return e2e.E2EClient(name, relay.host, relay.port, **kwargs).connect()


def ready(*clients):
    for client in clients:
        client.wait_ready(WAIT)


# --- honest ----------------------------------------------------------------------------------

def test_honest_session_roles_sas_chat_stream_end():
    with session() as (relay, alice, bob):
        sas_a, sas_b = alice.wait_sas(1, WAIT), bob.wait_sas(1, WAIT)
        assert sas_a == sas_b and len(sas_a) == 7 and sas_a[3] == " "
        assert alice.role == "I" and bob.role == "R"
        ready(alice, bob)
        assert alice.peer_fingerprint == bob.fingerprint and bob.peer_fingerprint == alice.fingerprint
        alice.send_chat("hello bob")
        assert bob.recv_chat(WAIT) == "hello bob"
        bob.send_chat("olá — ✓")
        assert alice.recv_chat(WAIT) == "olá — ✓"
        payload = bytes(range(256)) * 4
        bob.send_stream(payload[:500])
        bob.send_stream(payload[500:])
        assert alice.wait_stream(len(payload), WAIT) == payload
        alice.finish(WAIT)
        bob.wait_event("end", WAIT)
        left = bob.wait_event("peer_left", WAIT)
        assert left["name"] == b"alice" and not left["lost"]
        assert not bob.has_event("lost_messages")
        # the relay only saw DATA it could not read: 0x03 agreement and 0x02 records
        for kind, data in relay.events:
            if kind == "data":
                assert data["body"][:1] in (b"\x02", b"\x03")
        assert relay.plaintexts == []
        assert alice.exit_status is None and bob.exit_status is None


def test_honest_lines_typed_early_wait_for_the_peer_identity():
    with session(bob=False) as (relay, alice):
        alice.send_chat("typed before bob came")  # no agreement yet: waits in the client
        assert relay.side("alice").sent == []  # nothing sealed under K, nothing at all
        bob = E(relay, "bob")
        try:
            assert bob.recv_chat(WAIT) == "typed before bob came"
            # every DATA alice sent was a key-agreement message or an e2e record
            assert all(b[:1] in (b"\x02", b"\x03") for b in relay.side("alice").sent)
        finally:
            bob.close()


def test_honest_version2_room():
    room = room_bytes("7K3M-QX9P-T2WD-8H")
    with session(alice_kwargs={"room": room}, bob_kwargs={"room": room}) as (relay, alice, bob):
        assert alice.wait_event("welcome", WAIT)["room_size"] == 2
        assert bob.wait_event("welcome", WAIT)["peers"] == [b"alice"]
        assert relay.side("alice").room == room
        assert alice.wait_sas(1, WAIT) == bob.wait_sas(1, WAIT)
        ready(alice, bob)
        bob.send_chat("in a room")
        assert alice.recv_chat(WAIT) == "in a room"


def test_peer_left_without_end_record_says_messages_may_be_lost():
    with session() as (relay, alice, bob):
        ready(alice, bob)
        bob.bye()
        event = alice.wait_event("peer_left", WAIT)
        assert event["lost"]
        alice.wait_event("lost_messages", WAIT)


# --- (a) man in the middle -----------------------------------------------------------------

def test_mitm_gives_different_sas_on_the_two_sides():
    with session({"mode": "mitm"}) as (relay, alice, bob):
        sas_a, sas_b = alice.wait_sas(1, WAIT), bob.wait_sas(1, WAIT)
        assert sas_a == relay.wait_fake_done("alice") and sas_b == relay.wait_fake_done("bob")
        assert sas_a != sas_b  # (a 1 in 10^6 coincidence aside: keys are random)
        ready(alice, bob)
        # the relay's identity key, not the peer's: the fingerprint betrays it too
        relay_fp = e2e.fingerprint(relay.identity_key.public_key().public_bytes_raw())
        assert alice.peer_fingerprint == relay_fp != bob.fingerprint
        alice.send_chat("secret")
        assert bob.recv_chat(WAIT) == "secret"
        assert (b"alice", e2e.KIND_CHAT, b"secret") in relay.plaintexts  # the MITM read it


def test_mitm_commits_to_its_own_key():
    with session({"mode": "mitm"}) as (relay, alice, bob):
        alice.wait_sas(1, WAIT)
        fake = relay.side("alice").fake
        assert fake.role == "R" and alice.agreement.peer_commitment == e2e.commitment(fake.public)
        assert alice.agreement.pk_r == fake.public


def test_mitm_against_a_known_peer_is_refused():
    bob_key = Ed25519PrivateKey.generate()
    bob_pub = bob_key.public_key().public_bytes_raw()
    with session({"mode": "mitm"}, alice_kwargs={"known_peers": {b"bob": bob_pub}},
                 bob_kwargs={"identity_key": bob_key}) as (relay, alice, bob):
        event = alice.wait_event("refused", WAIT)
        assert "changed" in event["reason"] and alice.exit_status == 3
        relay.wait_event("bye", WAIT, name=b"alice")


def test_known_peer_honest_is_verified():
    bob_key = Ed25519PrivateKey.generate()
    bob_pub = bob_key.public_key().public_bytes_raw()
    with session(alice_kwargs={"known_peers": {b"bob": bob_pub}, "require_verified": True},
                 bob_kwargs={"identity_key": bob_key}) as (relay, alice, bob):
        assert alice.wait_ready(WAIT)["verified"]
        assert not bob.wait_ready(WAIT)["verified"]


def test_mitm_forwarding_real_identities_fails_their_signatures():
    with session({"mode": "mitm", "mitm_identity": "forward"}) as (relay, alice, bob):
        for client in (alice, bob):
            event = client.wait_event("refused", WAIT)
            assert "signature" in event["reason"] and client.exit_status == 3


# --- (b) replay, reorder, drop, reflect, tamper ---------------------------------------------

def _chat_then_expect_refusal(relay_kwargs, sends=3):
    with session(relay_kwargs) as (relay, alice, bob):
        ready(alice, bob)
        for i in range(sends):
            alice.send_chat(f"line {i}")
        event = bob.wait_event("refused", WAIT)
        assert bob.exit_status == 3 and "seq" in event["reason"]
        relay.wait_event("bye", WAIT, name=b"bob")
        return bob


def test_replayed_record_is_detected():
    bob = _chat_then_expect_refusal({"record_rules": [Replay("alice", 1)]})
    assert bob.wait_event("seq_error", WAIT).data == {"expected": 2, "got": 1}
    assert bob.recv_chat(WAIT) == "line 0"  # the original was accepted once


def test_replayed_later_record_is_detected():
    bob = _chat_then_expect_refusal({"record_rules": [ReplayLater("alice", 1, after=2)]})
    assert bob.wait_event("seq_error", WAIT).data == {"expected": 3, "got": 1}


def test_dropped_record_is_detected():
    bob = _chat_then_expect_refusal({"record_rules": [Drop("alice", 1)]})
    assert bob.wait_event("seq_error", WAIT).data == {"expected": 1, "got": 2}
    assert not bob.has_event("chat")


def test_reordered_records_are_detected():
    bob = _chat_then_expect_refusal({"record_rules": [Reorder("alice", 1)]})
    assert bob.wait_event("seq_error", WAIT).data == {"expected": 1, "got": 2}


def test_reordered_identity_record_is_detected():
    with session({"record_rules": [Reorder("alice", 0)]}) as (relay, alice, bob):
        alice.wait_ready(WAIT)  # bob's identity reached alice; alice may now chat
        alice.send_chat("first chat")  # record 1 overtakes the held identity record 0
        assert "seq" in bob.wait_event("refused", WAIT)["reason"]
        assert bob.wait_event("seq_error", WAIT).data == {"expected": 0, "got": 1}


def test_dropped_identity_record_blocks_chat_and_then_is_detected():
    with session({"record_rules": [Drop("alice", 0)]}) as (relay, alice, bob):
        alice.wait_ready(WAIT)
        bob.send_chat("waits")  # bob has not seen alice's identity: this line must wait
        with pytest.raises(AssertionError):
            alice.recv_chat(SHORT)
        assert len(relay.records_from("bob")) == 1  # only bob's identity record
        alice.send_chat("now")
        bob.wait_event("refused", WAIT)


def test_reflected_record_fails_authentication_and_the_session_goes_on():
    with session({"record_rules": [Reflect("alice", 1)]}) as (relay, alice, bob):
        ready(alice, bob)
        alice.send_chat("to bob")
        assert bob.recv_chat(WAIT) == "to bob"
        alice.wait_event("auth_error", WAIT)
        bob.send_chat("reply")
        assert alice.recv_chat(WAIT) == "reply"
        assert alice.exit_status is None


def test_tampered_record_fails_authentication_and_advances_nothing():
    with session({"record_rules": [Tamper("alice", 1, flip_last_byte)]}) as (relay, alice, bob):
        ready(alice, bob)
        alice.send_chat("tampered")
        bob.wait_event("auth_error", WAIT)
        assert bob.recv_seq == 1 and bob.exit_status is None
        alice.send_chat("next")  # seq 2 while 1 is expected: the relay dropped one
        assert bob.wait_event("seq_error", WAIT).data == {"expected": 1, "got": 2}


def test_agreement_message_after_completion_is_ignored():
    with session() as (relay, alice, bob):
        ready(alice, bob)
        relay.send_data("alice", bytes([3, 1]) + bytes(32))
        alice.wait_event("discarded", WAIT)
        bob.send_chat("still fine")
        assert alice.recv_chat(WAIT) == "still fine"


# --- (c) relay-key messages ----------------------------------------------------------------

def test_injected_relay_key_message_is_refused_and_reported():
    with session() as (relay, alice, bob):
        ready(alice, bob)
        body = relay.inject_relay_key("alice", b"forged")
        assert alice.wait_event("relay_key_refused", WAIT)["body"] == body
        assert not alice.has_event("chat")
        bob.send_chat("real")
        assert alice.recv_chat(WAIT) == "real"


def test_relay_key_message_before_the_agreement_is_refused():
    with session(bob=False) as (relay, alice):
        relay.inject_relay_key("alice", b"early")
        alice.wait_event("relay_key_refused", WAIT)


# --- (d) lies about names, keys, roles -----------------------------------------------------

def _no_identity(alice, bob):
    with pytest.raises(AssertionError):
        alice.wait_ready(SHORT)
    assert not bob.has_event("identity_ok")
    alice.wait_event("auth_error", WAIT)
    bob.wait_event("auth_error", WAIT)


def test_lie_about_a_name_gives_different_sas_and_no_session():
    with session({"peer_names": {"alice": "mallory"}}) as (relay, alice, bob):
        assert alice.wait_event("agreement_started", WAIT)["peer"] == b"mallory"
        assert alice.wait_sas(1, WAIT) != bob.wait_sas(1, WAIT)
        _no_identity(alice, bob)


def test_swapped_names_give_different_sas():
    with session({"peer_names": {"alice": "alice", "bob": "bob"}}) as (relay, alice, bob):
        assert alice.wait_sas(1, WAIT) != bob.wait_sas(1, WAIT)
        _no_identity(alice, bob)


def test_different_session_keys_give_different_sas():
    with session({"different_keys": True}) as (relay, alice, bob):
        assert alice.wait_sas(1, WAIT) != bob.wait_sas(1, WAIT)
        _no_identity(alice, bob)


@pytest.mark.parametrize("roles", ["both_responders", "both_initiators"])
def test_lie_about_roles_no_agreement_completes(roles):
    kwargs = {"agreement_timeout": 0.4}
    with session({"roles": roles}, alice_kwargs=kwargs, bob_kwargs=kwargs) as (relay, alice, bob):
        for client in (alice, bob):
            expected = "R" if roles == "both_responders" else "I"
            assert client.wait_event("agreement_started", WAIT)["role"] == expected
        for client in (alice, bob):
            client.wait_event("agreement_timeout", WAIT)
            assert client.sas is None and client.exit_status is None
        if roles == "both_responders":  # each commitment reached the other R: silently discarded
            alice.wait_event("discarded", WAIT)
            bob.wait_event("discarded", WAIT)


# --- (e) restarted agreements ---------------------------------------------------------------

def test_restarted_agreements_are_numbered_and_the_fourth_is_refused():
    with session() as (relay, alice, bob):
        first = alice.wait_sas(1, WAIT)
        ready(alice, bob)
        bob.send_chat("hi")
        alice.recv_chat(WAIT)
        alice.send_chat("typed")  # sent at once: nothing pending
        relay.restart_agreement("alice")
        left = alice.wait_event("peer_left", WAIT)
        assert left["lost"]  # bob's end record never came
        second = alice.wait_sas(2, WAIT)
        assert second == relay.fake_sas("alice") and alice.role == "I"
        assert alice.wait_event("sas", WAIT, lambda e: e["agreement"] == 2)["line"] == \
            f"* SAS with bob (agreement 2): {second}"
        relay.restart_agreement("alice")
        alice.wait_sas(3, WAIT)
        relay.restart_agreement("alice")
        assert "restarting" in alice.wait_event("refused", WAIT)["reason"]
        assert alice.exit_status == 3 and len(alice.sas_history) == 3
        relay.wait_event("bye", WAIT, name=b"alice")
        assert first == bob.wait_sas(1, WAIT)


def test_responder_counts_its_welcome_agreement():
    with session() as (relay, alice, bob):
        bob.wait_sas(1, WAIT)
        relay.restart_agreement("bob")
        bob.wait_sas(2, WAIT)
        relay.restart_agreement("bob")
        bob.wait_sas(3, WAIT)
        relay.restart_agreement("bob")
        bob.wait_event("refused", WAIT)


def test_lines_pending_at_peer_left_are_discarded_and_counted():
    with session({"mode": "mitm", "mitm_identity": "none"}) as (relay, alice, bob):
        alice.wait_sas(1, WAIT)  # no identity from the "peer": lines wait
        alice.send_chat("one")
        alice.send_chat("two")
        relay.restart_agreement("alice", impersonate=False)
        assert alice.wait_event("pending_discarded", WAIT)["count"] == 2
        assert alice.wait_event("peer_left", WAIT)["discarded"] == 2


def _abort_once(relay, alice, number, bad):
    """Makes alice (I) start agreement ``number`` and feeds it a bad sequence."""
    if number > 1:
        relay.send_frame("alice", PEER_LEFT, b"bob")
    relay.send_frame("alice", PEER_JOINED, b"bob")
    alice.wait_event("agreement_started", WAIT, lambda e: e["agreement"] == number)
    for body in bad:
        relay.send_data("alice", body)


def test_third_aborted_agreement_is_refused():
    pk_real, pk_other = e2e.x25519_public(bytes(range(32))), e2e.x25519_public(bytes(range(1, 33)))
    bad_sequences = [
        [bytes([3, 1]) + e2e.commitment(pk_real), bytes([3, 3]) + pk_other],  # commitment fails
        [bytes([3, 1]) + e2e.commitment(pk_real), bytes([3, 3]) + pk_real + b"\x00"],  # 35 bytes
        [bytes([3, 1]) + e2e.commitment(pk_real), bytes([3, 1]) + e2e.commitment(pk_real)],  # order
    ]
    with session(bob=False) as (relay, alice):
        for number, bad in enumerate(bad_sequences, 1):
            _abort_once(relay, alice, number, bad)
            alice.wait_event("agreement_aborted", WAIT, lambda e: e["agreement"] == number)
        assert "restarting" in alice.wait_event("refused", WAIT)["reason"]
        assert alice.exit_status == 3 and alice.sas is None


@pytest.mark.parametrize("pk_hex", [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
])
def test_small_order_key_aborts(pk_hex):
    pk = bytes.fromhex(pk_hex)
    with session(bob=False) as (relay, alice):
        _abort_once(relay, alice, 1, [bytes([3, 1]) + e2e.commitment(pk), bytes([3, 3]) + pk])
        assert "zero" in alice.wait_event("agreement_aborted", WAIT)["reason"]
        assert alice.sas is None


def test_messages_before_the_first_expected_one_are_silently_discarded():
    with session(bob=False) as (relay, alice):
        _abort_once(relay, alice, 1, [bytes([3, 3]) + bytes(32), bytes([3, 2]) + bytes(32),
                                      bytes([3, 1]), b"\x02" + bytes(72)])
        assert alice.wait_event("discarded", WAIT)
        with pytest.raises(AssertionError):
            alice.wait_event("agreement_aborted", SHORT)
        # the agreement still works once its first expected message arrives
        responder = e2e.Agreement("R", b"bob", b"alice", alice.session_key)
        (msg1,) = responder.start()
        relay.send_data("alice", msg1)
        reply = relay.wait_for(lambda: [b for b in relay.side("alice").sent if b[:2] == b"\x03\x02"], WAIT)
        (msg3,) = responder.receive(reply[0])
        relay.send_data("alice", msg3)
        assert alice.wait_sas(1, WAIT) == responder.sas


# --- identity record rules, kinds, end, rooms ---------------------------------------------

def test_chat_at_seq_0_is_refused():
    with session({"mode": "mitm", "mitm_identity": "none"}) as (relay, alice, bob):
        relay.wait_fake_done("alice")
        relay.send_fake_record("alice", e2e.KIND_CHAT, b"no identity")
        assert "seq 0" in alice.wait_event("refused", WAIT)["reason"]


def test_second_identity_record_is_refused():
    with session({"mode": "mitm"}) as (relay, alice, bob):
        alice.wait_ready(WAIT)
        fake = relay.side("alice").fake
        relay.send_fake_record("alice", e2e.KIND_IDENTITY,
                               e2e.identity_content(relay.identity_key, fake.role, fake.t))
        assert "second identity" in alice.wait_event("refused", WAIT)["reason"]


def test_identity_signed_with_the_wrong_role_is_refused():
    with session({"mode": "mitm", "mitm_identity": "none"}) as (relay, alice, bob):
        relay.wait_fake_done("alice")
        fake = relay.side("alice").fake
        relay.send_fake_record("alice", e2e.KIND_IDENTITY, e2e.identity_content(relay.identity_key, "I", fake.t))
        assert "signature" in alice.wait_event("refused", WAIT)["reason"]


def test_unknown_kind_is_reported_and_the_session_goes_on():
    with session({"mode": "mitm"}) as (relay, alice, bob):
        alice.wait_ready(WAIT)
        relay.send_fake_record("alice", 0x09, b"?")
        assert alice.wait_event("unknown_kind", WAIT)["kind"] == 9
        relay.send_fake_record("alice", e2e.KIND_CHAT, b"after")
        assert alice.recv_chat(WAIT) == "after" and alice.exit_status is None


def test_record_after_the_peer_end_is_refused():
    with session() as (relay, alice, bob):
        ready(alice, bob)
        bob.send_end()
        alice.wait_event("end", WAIT)
        bob.send_record(e2e.KIND_CHAT, b"after end")
        alice.wait_event("after_end_refused", WAIT)
        assert not alice.has_event("chat")


def test_larger_room_is_refused_without_trust_relay():
    room = room_bytes("big")
    with session({"room_size": 3}, alice_kwargs={"room": room}, bob=False) as (relay, alice):
        assert "--trust-relay" in alice.wait_event("refused", WAIT)["reason"]
        assert alice.exit_status == 3
        assert relay.sides[0].sent == []  # it sent nothing in that room


def test_data_from_is_refused_without_trust_relay():
    with session() as (relay, alice, bob):
        relay.inject_data_from("alice", "carol")
        alice.wait_event("refused", WAIT)
        assert alice.exit_status == 3


def test_second_welcome_is_a_protocol_error():
    with session(bob=False) as (relay, alice):
        relay.send_frame("alice", 0x02, bytes(32) + bytes([0, 0, 0, 64, 0]))
        alice.wait_event("protocol_error", WAIT)

"""Section 7 needs no relay change: two independent E2EClient peers complete an agreement,
exchange identity, chat, stream and end records through the real relay-server (v1 HELLO,
default room), and the server sees only 0x03 / 0x02 DATA bodies it cannot open."""

from __future__ import annotations

import e2e_peer as e2e

WAIT = 5.0


def test_two_independent_peers_through_relay_server(relay_server):
    with relay_server("--insecure-plaintext") as server:
        with e2e.E2EClient("alice", server.host, server.port, timeout=WAIT).connect() as alice:
            alice.wait_event("welcome", WAIT)
            with e2e.E2EClient("bob", server.host, server.port, timeout=WAIT).connect() as bob:
                assert alice.wait_sas(1, WAIT) == bob.wait_sas(1, WAIT)
                assert (alice.role, bob.role) == ("I", "R")
                alice.wait_ready(WAIT)
                bob.wait_ready(WAIT)
                # both sides used the same relay session key K as PRK salt
                assert alice.session_key == bob.session_key
                alice.send_chat("over the real relay")
                assert bob.recv_chat(WAIT) == "over the real relay"
                bob.send_stream(b"\x00\x01\xff" * 100)
                assert alice.wait_stream(300, WAIT) == b"\x00\x01\xff" * 100
                bob.finish(WAIT)
                alice.wait_event("end", WAIT)
                assert not alice.wait_event("peer_left", WAIT)["lost"]


def test_peer_rejoining_starts_agreement_2_with_the_remaining_client_as_initiator(relay_server):
    with relay_server("--insecure-plaintext") as server:
        with e2e.E2EClient("bob", server.host, server.port, timeout=WAIT).connect() as bob:
            bob.wait_event("welcome", WAIT)
            with e2e.E2EClient("alice", server.host, server.port, timeout=WAIT).connect() as alice:
                assert bob.wait_sas(1, WAIT) == alice.wait_sas(1, WAIT)
                alice.wait_ready(WAIT)
                alice.bye()
                bob.wait_event("peer_left", WAIT)
            with e2e.E2EClient("alice", server.host, server.port, timeout=WAIT).connect() as again:
                assert bob.wait_sas(2, WAIT) == again.wait_sas(1, WAIT)
                assert bob.role == "I" and again.role == "R"
                again.wait_ready(WAIT)
                bob.wait_ready(WAIT, agreement=2)
                bob.send_chat("second agreement")
                assert again.recv_chat(WAIT) == "second agreement"

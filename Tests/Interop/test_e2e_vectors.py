"""e2e_peer.py reproduces every field of vectors/e2e-v1.json (PROTOCOL.md section 7).

No relay binaries are needed: this checks the independent peer's crypto against the
vectors, so the peer can then be trusted to judge the Swift relay-client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import e2e_peer as e2e

VECTORS = json.loads((Path(__file__).resolve().parent / "vectors" / "e2e-v1.json").read_text("utf-8"))
CASES = VECTORS["cases"]
IDS = [case["name"] for case in CASES]
h = bytes.fromhex


def _agreed(case):
    """Runs both Agreement state machines with the case's secrets; returns (I, R)."""
    inp = case["inputs"]
    name_i, name_r = h(inp["nameIHex"]), h(inp["nameRHex"])
    k = h(inp["sessionKey"])
    ai = e2e.Agreement("I", name_i, name_r, k, secret=h(inp["x25519SecretI"]))
    ar = e2e.Agreement("R", name_r, name_i, k, secret=h(inp["x25519SecretR"]))
    assert ai.start() == []
    (msg1,) = ar.start()
    (msg2,) = ai.receive(msg1)
    (msg3,) = ar.receive(msg2)
    assert ai.receive(msg3) == []
    assert ai.done and ar.done
    return ai, ar, (msg1, msg2, msg3)


def _dir_keys(keys, direction):
    return keys[f"{direction} enc"], keys[f"{direction} mac"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_names(case):
    inp = case["inputs"]
    assert inp["nameI"].encode("utf-8") == h(inp["nameIHex"])
    assert inp["nameR"].encode("utf-8") == h(inp["nameRHex"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_agreement(case):
    inp, ag = case["inputs"], case["agreement"]
    assert e2e.x25519_public(h(inp["x25519SecretI"])).hex() == ag["pkI"]
    assert e2e.x25519_public(h(inp["x25519SecretR"])).hex() == ag["pkR"]
    assert (e2e.COMMIT_LABEL + h(ag["pkR"])).hex() == ag["commitmentInput"]
    assert e2e.commitment(h(ag["pkR"])).hex() == ag["commitment"]
    ai, ar, (msg1, msg2, msg3) = _agreed(case)
    assert msg1.hex() == ag["msg1"] and msg2.hex() == ag["msg2"] and msg3.hex() == ag["msg3"]
    assert len(msg1) == len(msg2) == len(msg3) == 34
    assert ai.z.hex() == ar.z.hex() == ag["Z"]
    assert e2e.x25519(h(inp["x25519SecretI"]), h(ag["pkR"])).hex() == ag["Z"]
    ti = e2e.transcript_input(h(inp["nameIHex"]), h(inp["nameRHex"]), h(ag["pkI"]), h(ag["pkR"]))
    assert ti.hex() == ag["transcriptInput"]
    assert ai.t.hex() == ar.t.hex() == ag["T"]
    assert e2e.key_info("i2r enc", h(ag["T"])).hex() == ag["info(i2r enc)"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_pkr_aborts_initiator(case):
    inp, ag = case["inputs"], case["agreement"]
    ai = e2e.Agreement("I", h(inp["nameIHex"]), h(inp["nameRHex"]), h(inp["sessionKey"]),
                       secret=h(inp["x25519SecretI"]))
    ai.receive(h(ag["msg1"]))
    with pytest.raises(e2e.AgreementAbort):
        ai.receive(bytes([3, 3]) + h(ag["wrongPkR"]))
    assert not ai.done and ai.keys == {}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_keys_and_sas(case):
    inp, ag, keys = case["inputs"], case["agreement"], case["keys"]
    derived = e2e.derive_keys(h(inp["sessionKey"]), h(ag["Z"]), h(ag["T"]))
    assert derived["PRK"].hex() == keys["PRK"]
    for label in e2e.LABELS:
        assert derived[label].hex() == keys[f"key({label})"], label
    assert e2e.sas_number(derived["sas"]) == keys["sasNumber"]
    assert e2e.sas_string(derived["sas"]) == keys["sas"]
    assert e2e.format_sas(keys["sasNumber"]) == keys["sas"]
    ai, ar, _ = _agreed(case)
    assert ai.sas == ar.sas == keys["sas"]
    assert ai.send_keys == ar.recv_keys == _dir_keys(derived, "i2r")
    assert ar.send_keys == ai.recv_keys == _dir_keys(derived, "r2i")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_identity_records(case):
    inp, ag, keys = case["inputs"], case["agreement"], case["keys"]
    t = h(ag["T"])
    seeds = {"I": h(inp["ed25519SeedI"]), "R": h(inp["ed25519SeedR"])}
    for ident in case["identity"]:
        role = ident["signer"]
        key = Ed25519PrivateKey.from_private_bytes(seeds[role])
        assert key.public_key().public_bytes_raw().hex() == ident["idPub"]
        assert e2e.fingerprint(h(ident["idPub"])) == ident["fingerprint"]
        assert e2e.identity_signed_message(role, t).hex() == ident["signedMessage"]
        content = e2e.identity_content(key, role, t)  # Ed25519 is deterministic
        assert content[32:].hex() == ident["signature"]
        assert content.hex() == ident["content"]
        assert ident["direction"] == ("i2r" if role == "I" else "r2i")
        assert ident["seq"] == 0 and ident["kind"] == e2e.KIND_IDENTITY
        enc, mac = _dir_keys({k: h(keys[f"key({k})"]) for k in e2e.LABELS}, ident["direction"])
        record = e2e.seal_record(enc, mac, 0, e2e.KIND_IDENTITY, content, iv=h(ident["iv"]))
        assert record.hex() == ident["record"]
        seq, kind, opened = e2e.open_record(enc, mac, h(ident["record"]), expected_seq=0)
        assert (seq, kind, opened) == (0, 3, content)
        assert e2e.verify_identity(opened, role, t) == h(ident["idPub"])
        other = "R" if role == "I" else "I"
        with pytest.raises(InvalidSignature):
            e2e.verify_identity(opened, other, t)  # the role byte is bound
        with pytest.raises(InvalidSignature):
            e2e.verify_identity(opened[:-1], role, t)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_records(case):
    keys = {k: h(case["keys"][f"key({k})"]) for k in e2e.LABELS}
    for rec in case["records"]:
        enc, mac = _dir_keys(keys, rec["direction"])
        plaintext = bytes([rec["kind"]]) + h(rec["content"])
        assert plaintext.hex() == rec["plaintext"]
        if "contentText" in rec:
            assert rec["contentText"].encode("utf-8") == h(rec["content"])
        record = e2e.seal_record(enc, mac, rec["seq"], rec["kind"], h(rec["content"]), iv=h(rec["iv"]))
        assert record.hex() == rec["record"], rec
        assert len(record) >= e2e.RECORD_MIN and (len(record) - 57) % 16 == 0
        assert e2e.record_seq(record) == rec["seq"]
        assert e2e.open_record(enc, mac, record, expected_seq=rec["seq"]) == (rec["seq"], rec["kind"], h(rec["content"]))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_records_in_a_session_order(case):
    """The seq of each direction counts the records it sent before (identity included)."""
    per_dir = {"i2r": [0], "r2i": [0]}
    for rec in case["records"]:
        if rec["seq"] > 1000:
            continue  # layout-only record
        per_dir[rec["direction"]].append(rec["seq"])
    for seqs in per_dir.values():
        assert seqs == list(range(len(seqs)))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_must_refuse(case):
    keys = {k: h(case["keys"][f"key({k})"]) for k in e2e.LABELS}
    for bad in case["mustRefuse"]:
        enc, mac = _dir_keys(keys, bad["direction"])
        error = {"auth": e2e.AuthError, "seq": e2e.SeqError}[bad["error"]]
        with pytest.raises(error):
            e2e.open_record(enc, mac, h(bad["record"]), expected_seq=bad["expectedSeq"])


def test_section3_message_in_must_refuse_is_sealed_under_k():
    """The 'sealed under K' entry really is a section 3 message under the case's K."""
    for case in CASES:
        (bad,) = [b for b in case["mustRefuse"] if "section 3" in b["what"]]
        e2e.open_v1(h(case["inputs"]["sessionKey"]), h(bad["record"]))


def test_small_order_public_keys_abort():
    for case in CASES[:1]:
        inp = case["inputs"]
        for pk in VECTORS["smallOrderPublicKeys"]:
            with pytest.raises(e2e.AgreementAbort):
                e2e.x25519(h(inp["x25519SecretI"]), h(pk))
            # as R receiving pkI
            ar = e2e.Agreement("R", b"bob", b"alice", h(inp["sessionKey"]), secret=h(inp["x25519SecretR"]))
            ar.start()
            with pytest.raises(e2e.AgreementAbort):
                ar.receive(bytes([3, 2]) + h(pk))
            # as I receiving a pkR that matches its commitment
            ai = e2e.Agreement("I", b"alice", b"bob", h(inp["sessionKey"]), secret=h(inp["x25519SecretI"]))
            ai.receive(bytes([3, 1]) + e2e.commitment(h(pk)))
            with pytest.raises(e2e.AgreementAbort):
                ai.receive(bytes([3, 3]) + h(pk))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_files(case):
    files, inp = case["files"], case["inputs"]
    for role, seed in (("I", inp["ed25519SeedI"]), ("R", inp["ed25519SeedR"])):
        pem = files[f"identityKeyPem{role}"]
        key = Ed25519PrivateKey.from_private_bytes(h(seed))
        assert e2e.identity_pem(key) == pem
        loaded = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
        assert loaded.private_bytes_raw() == h(seed)
    ids = {i["signer"]: h(i["idPub"]) for i in case["identity"]}
    assert e2e.known_peers_line(files["relay"], h(inp["nameRHex"]), ids["R"]) == files["knownPeersLineAtI"]
    assert e2e.known_peers_line(files["relay"], h(inp["nameIHex"]), ids["I"]) == files["knownPeersLineAtR"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_display(case):
    disp, inp, sas = case["display"], case["inputs"], case["keys"]["sas"]
    ids = {i["signer"]: h(i["idPub"]) for i in case["identity"]}
    assert e2e.sas_line(inp["nameR"], 1, sas) == disp["sasLineAtI"]
    assert e2e.sas_line(inp["nameI"], 1, sas) == disp["sasLineAtR"]
    assert e2e.verified_line(inp["nameR"], e2e.fingerprint(ids["R"])) == disp["verifiedLineAtI"]
    assert e2e.verified_line(inp["nameI"], e2e.fingerprint(ids["I"])) == disp["verifiedLineAtR"]
    assert e2e.not_verified_line(inp["nameR"]) == disp["notVerifiedLineAtI"]
    assert e2e.not_verified_line(inp["nameI"]) == disp["notVerifiedLineAtR"]


def test_sas_formatting_and_parsing():
    assert e2e.format_sas(48213) == "048 213"
    assert e2e.format_sas(0) == "000 000"
    assert e2e.normalise_sas("048213") == e2e.normalise_sas("048 213") == "048 213"
    with pytest.raises(ValueError):
        e2e.normalise_sas("48213")


def test_room_bytes():
    import hashlib
    code = "7K3M-QX9P-T2WD-8H"
    assert e2e.room_bytes(code) == hashlib.sha256(b"relay room v2:" + code.encode()).digest()[:16]
    assert len(e2e.room_bytes("x")) == 16

"""The independent peer itself checked against the shared seal vectors (PROTOCOL.md
section 3), so the interoperability tests rest on a codec known to follow the text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import relaypeer as rp

# The contract's vectors as copied into the repository (never the shared folder beside the checkout).
VECTORS = Path(__file__).resolve().parents[1] / "RelayCryptoTests" / "Vectors" / "seal-v1.json"


def load_cases():
    assert VECTORS.is_file(), f"the seal vectors are missing: {VECTORS}"
    return json.loads(VECTORS.read_text())["cases"]


CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"len{len(c['plaintext']) // 2}")
def test_seal_matches_vector(case):
    key, iv, plaintext = (bytes.fromhex(case[k]) for k in ("sessionKey", "iv", "plaintext"))
    enc_key, mac_key = rp.derive_keys(key)
    assert enc_key.hex() == case["encKey"]
    assert mac_key.hex() == case["macKey"]
    assert rp.seal(key, plaintext, iv=iv).hex() == case["sealed"]
    assert rp.legacy_encrypt(key, plaintext, iv=iv).hex() == case["legacy"]
    assert rp.open_sealed(key, bytes.fromhex(case["sealed"])) == plaintext
    assert rp.legacy_decrypt(key, bytes.fromhex(case["legacy"])) == plaintext


@pytest.mark.parametrize("case", CASES[:3], ids=lambda c: f"len{len(c['plaintext']) // 2}")
def test_open_rejects_every_single_byte_change(case):
    key = bytes.fromhex(case["sessionKey"])
    sealed = bytes.fromhex(case["sealed"])
    for index in range(len(sealed)):
        changed = bytearray(sealed)
        changed[index] ^= 0x80
        with pytest.raises(rp.AuthenticationError):
            rp.open_sealed(key, bytes(changed))
    for cut in (0, 1, rp.MIN_SEALED - 1, len(sealed) - 1):
        with pytest.raises(rp.AuthenticationError):
            rp.open_sealed(key, sealed[:cut])

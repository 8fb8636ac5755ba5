#!/usr/bin/env python3
"""An independent peer for RelayCryptoTests, written from PROTOCOL.md section 3.

It shares no code with the Swift implementation: HKDF, AES-256-CBC, PKCS7 and
HMAC-SHA256 all come from Python's `cryptography` package. The Swift tests run it
as `python3 peer.py seal|open REQUEST.json`; the request and the answer are JSON,
all bytes as hex:

    seal  {"form": "v1"|"legacy", "key": K, "plaintexts": [P, ...]}
          -> {"messages": [M, ...]}            fresh random IVs
    open  {"form": "v1"|"legacy", "key": K, "messages": [M, ...]}
          -> {"plaintexts": [P or null, ...]}  null: the message was refused

"v1" is the sealed form `0x01 | iv | ct | tag`; "legacy" is the unauthenticated
GPUCrypto form `iv | ct` under the session key itself.
"""

import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = 0x01
IV_SIZE = 16
BLOCK = 16
TAG_SIZE = 32


def derive(session_key: bytes, info: bytes) -> bytes:
    # salt=None is RFC 5869's default: HashLen zero bytes, as section 3 says.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(session_key)


def keys(session_key: bytes):
    return derive(session_key, b"relay v1 aes-256-cbc"), derive(session_key, b"relay v1 hmac-sha256")


def cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()  # ValueError on bad padding


def mac(key: bytes, data: bytes) -> bytes:
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def seal_v1(session_key: bytes, plaintext: bytes) -> bytes:
    enc_key, mac_key = keys(session_key)
    iv = os.urandom(IV_SIZE)
    authenticated = bytes([VERSION]) + iv + cbc_encrypt(enc_key, iv, plaintext)
    return authenticated + mac(mac_key, authenticated)


def open_v1(session_key: bytes, sealed: bytes):
    """The checks of section 3 in its order; None for every failure."""
    if len(sealed) < 1 + IV_SIZE + BLOCK + TAG_SIZE or sealed[0] != VERSION:
        return None
    authenticated, tag = sealed[:-TAG_SIZE], sealed[-TAG_SIZE:]
    ciphertext = authenticated[1 + IV_SIZE:]
    if len(ciphertext) % BLOCK != 0:
        return None
    enc_key, mac_key = keys(session_key)
    verifier = hmac.HMAC(mac_key, hashes.SHA256())
    verifier.update(authenticated)
    try:
        verifier.verify(tag)  # constant time
    except InvalidSignature:
        return None
    try:
        return cbc_decrypt(enc_key, authenticated[1:1 + IV_SIZE], ciphertext)
    except ValueError:
        return None


def seal_legacy(session_key: bytes, plaintext: bytes) -> bytes:
    iv = os.urandom(IV_SIZE)
    return iv + cbc_encrypt(session_key, iv, plaintext)


def open_legacy(session_key: bytes, message: bytes):
    ciphertext = message[IV_SIZE:]
    if len(ciphertext) < BLOCK or len(ciphertext) % BLOCK != 0:
        return None
    try:
        return cbc_decrypt(session_key, message[:IV_SIZE], ciphertext)
    except ValueError:
        return None


FORMS = {"v1": (seal_v1, open_v1), "legacy": (seal_legacy, open_legacy)}


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("seal", "open"):
        print("usage: peer.py seal|open REQUEST.json", file=sys.stderr)
        return 2
    with open(sys.argv[2], encoding="utf-8") as request_file:
        request = json.load(request_file)
    seal, open_ = FORMS[request["form"]]
    key = bytes.fromhex(request["key"])
    if len(key) != 32:
        print("the session key must be 32 bytes", file=sys.stderr)
        return 2
    if sys.argv[1] == "seal":
        answer = {"messages": [seal(key, bytes.fromhex(p)).hex() for p in request["plaintexts"]]}
    else:
        opened = (open_(key, bytes.fromhex(m)) for m in request["messages"])
        answer = {"plaintexts": [None if p is None else p.hex() for p in opened]}
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

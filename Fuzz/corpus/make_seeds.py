#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (Fuzz/corpus/TARGET/*), built from the wire
contract (PROTOCOL.md sections 1, 3, 4 and 7) independently of the Swift code.

Each target reads a few control bytes first (see the comment at the top of its
main.swift); the seeds put valid and nearly valid data behind typical control bytes.
Run it again after changing a target's input layout: `python3 Fuzz/corpus/make_seeds.py`.
"""
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes(range(32))  # the fixed key of Fuzz/FuzzOpen


def frame(type_byte, body=b""):
    return struct.pack(">IB", 1 + len(body), type_byte) + body


def hello(name, version=1):
    return frame(0x01, bytes([version, len(name)]) + name)


def welcome(peer=b"", max_frame=1 << 20):
    return frame(0x02, bytes(range(32)) + struct.pack(">IB", max_frame, len(peer)) + peer)


FRAMES = {
    "hello": hello(b"alice"),
    "hello-v2": hello(b"alice", version=2),
    "welcome": welcome(),
    "welcome-peer": welcome(b"bob"),
    "joined": frame(0x03, b"bob"),
    "left": frame(0x04, "zoë".encode()),
    "data": frame(0x10, bytes(range(80))),
    "ping": frame(0x20, b"12345678"),
    "pong": frame(0x21, b""),
    "bye": frame(0x30),
    "error": frame(0x7F, b"\x00\x03the name is empty"),
    "too-large": struct.pack(">IB", 0x00200000, 0x10),
    "zero-length": b"\x00\x00\x00\x00\x10",
    "unknown-type": frame(0x55, b"x"),
}


def write(target, name, data):
    folder = os.path.join(HERE, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def frame_decoder_seeds():
    # control: low 3 bits = chunk sizes - 1, bits 3-4 = frame limit (0: 1 MiB, 3: 300)
    conversation = b"".join(FRAMES[k] for k in ("hello", "welcome-peer", "data", "ping", "pong", "joined", "left", "bye"))
    for name, data in FRAMES.items():
        write("FrameDecoder", name, b"\x00\xff" + data)
    write("FrameDecoder", "conversation-bytewise", b"\x00\x01" + conversation)
    write("FrameDecoder", "conversation-chunks", b"\x02\x03\x00\x11" + conversation)
    write("FrameDecoder", "conversation-limit-300", b"\x18\x07" + conversation + FRAMES["error"])
    write("FrameDecoder", "limit-64", b"\x11\x05\x40" + FRAMES["data"] + FRAMES["hello"])


def hkdf(info):
    return HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(KEY)


def seal(plaintext, iv):
    enc_key, mac_key = hkdf(b"relay v1 aes-256-cbc"), hkdf(b"relay v1 hmac-sha256")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    body = b"\x01" + iv + encryptor.update(padded) + encryptor.finalize()
    return body + hmac.new(mac_key, body, hashlib.sha256).digest()


def legacy_encrypt(plaintext, iv):
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(KEY), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(padded) + encryptor.finalize()


def open_seeds():
    iv = bytes(range(16, 32))
    write("Open", "sealed-empty", seal(b"", iv))
    write("Open", "sealed-hello", seal(b"hello, bob", iv))
    write("Open", "sealed-two-blocks", seal(bytes(range(40)), iv))
    write("Open", "legacy-hello", legacy_encrypt(b"hello, bob", iv))
    write("Open", "legacy-block", legacy_encrypt(bytes(16), iv))
    tampered = bytearray(seal(b"hello, bob", iv))
    tampered[20] ^= 1
    write("Open", "sealed-tampered", bytes(tampered))
    write("Open", "short", b"\x01" + bytes(30))


def legacy_seeds():
    # control: 2 bytes first-read length (mod 300), 1 byte frame limit (0: 1 MiB, 2: 16 bytes)
    def seed(name_bytes, stream, limit=0):
        return struct.pack(">HB", len(name_bytes), limit) + name_bytes + stream

    payload = legacy_encrypt(b"hi", bytes(16))
    stream = struct.pack(">I", len(payload)) + payload
    write("LegacyHandshake", "alice", seed(b"alice", stream * 2))
    write("LegacyHandshake", "unicode", seed("Zoë Ünïcødé 名前".encode(), stream))
    write("LegacyHandshake", "long-name", seed(b"n" * 255, stream))
    write("LegacyHandshake", "space", seed(b" alice", b""))
    write("LegacyHandshake", "control", seed(b"al\x07ice", b""))
    write("LegacyHandshake", "bad-utf8", seed(b"al\xc3ice", b""))
    write("LegacyHandshake", "limit-16", seed(b"bob", stream + b"\x00\x00\x00\x00", limit=2))


def record_open_seeds():
    # Records and agreement messages of case 1 of the section 7 vectors (computed by an
    # independent implementation), whose i2r keys Fuzz/FuzzRecordOpen uses; the input is
    # the record itself.
    import json
    path = os.path.join(HERE, "..", "..", "Tests", "RelayCryptoTests", "Vectors", "e2e-v1.json")
    with open(path) as f:
        case = json.load(f)["cases"][0]
    for record in case["records"]:
        if record["direction"] == "i2r":
            write("RecordOpen", "i2r-seq-%d-kind-%d" % (record["seq"], record["kind"]), bytes.fromhex(record["record"]))
    write("RecordOpen", "identity-i", bytes.fromhex(case["identity"][0]["record"]))
    for index, refusal in enumerate(case["mustRefuse"]):
        write("RecordOpen", "refused-%d" % index, bytes.fromhex(refusal["record"]))
    for step in ("msg1", "msg2", "msg3"):
        write("RecordOpen", "agreement-" + step, bytes.fromhex(case["agreement"][step]))


if __name__ == "__main__":
    frame_decoder_seeds()
    open_seeds()
    legacy_seeds()
    record_open_seeds()

"""The reference's encrypted config file (nomq-v1 §19), written and read independently of nomq.
A module of its own, not the conftest, so tests import it by a name no other test directory
uses."""
import base64
import hashlib
import json
import os
import pathlib

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CONFIG_KEY = hashlib.sha256(b"nomq_config_key").digest()  # nomq-v1 §19


def write_reference_config(path: pathlib.Path, enc_key: bytes, hmac_key: bytes) -> None:
    """The reference's encrypted config file, written independently of nomq (§19)."""
    doc = json.dumps({"ip": "0.0.0.0", "port": 8888, "use_ipv6": False,
                      "encryption_key": enc_key.hex(), "hmac_key": hmac_key.hex()}).encode()
    padder = padding.PKCS7(128).padder()
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(CONFIG_KEY), modes.CBC(iv)).encryptor()
    blob = iv + enc.update(padder.update(doc) + padder.finalize()) + enc.finalize()
    path.write_text(base64.b64encode(blob).decode() + "\n")


def read_reference_config(path: pathlib.Path) -> dict:
    blob = base64.b64decode(path.read_text().strip())
    dec = Cipher(algorithms.AES(CONFIG_KEY), modes.CBC(blob[:16])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    return json.loads(unpadder.update(dec.update(blob[16:]) + dec.finalize()) + unpadder.finalize())

import base64
import hashlib
import json
import os
import pathlib
import subprocess

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG_KEY = hashlib.sha256(b"nomq_config_key").digest()  # nomq-v1 §19


@pytest.fixture(scope="session")
def nomq_bin() -> str:
    """The `nomq` binary (scripts/test.sh builds it; NOMQ_BIN overrides)."""
    path = pathlib.Path(os.environ.get("NOMQ_BIN", ROOT / "target" / "release" / "nomq"))
    if not path.exists():
        subprocess.run(["cargo", "build", "--release", "-p", "nomq-cli"], cwd=ROOT, check=True)
    assert path.exists(), f"{path} missing: build it with cargo build --release -p nomq-cli"
    return str(path)


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


@pytest.fixture
def keys(tmp_path):
    enc, mac = os.urandom(32), os.urandom(32)
    config = tmp_path / "nomq_config.json"
    write_reference_config(config, enc, mac)
    return enc, mac, config

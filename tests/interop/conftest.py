import os
import pathlib
import subprocess

import pytest
from reference_config import write_reference_config

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def nomq_bin() -> str:
    """The `nomq` binary (scripts/test.sh builds it; NOMQ_BIN overrides)."""
    path = pathlib.Path(os.environ.get("NOMQ_BIN", ROOT / "target" / "release" / "nomq"))
    if not path.exists():
        subprocess.run(["cargo", "build", "--release", "-p", "nomq-cli"], cwd=ROOT, check=True)
    assert path.exists(), f"{path} missing: build it with cargo build --release -p nomq-cli"
    return str(path)


@pytest.fixture
def keys(tmp_path):
    enc, mac = os.urandom(32), os.urandom(32)
    config = tmp_path / "nomq_config.json"
    write_reference_config(config, enc, mac)
    return enc, mac, config

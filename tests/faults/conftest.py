"""Fixtures for the fault tests: real mosquitto brokers (tests/support/mosquitto.py), the `nomq`
binary, and the keys NoMQ endpoints share. tests/support is on pytest's pythonpath
(pyproject.toml), which is where the relay (fault_relay.py) and mosquitto.py come from."""
from __future__ import annotations

import os
import pathlib
from typing import Iterator

import pytest
from mosquitto import Mosquitto

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def broker() -> Iterator[Mosquitto]:
    """A mosquitto shared by the tests that do not restart it (anonymous access, persistence)."""
    try:
        with Mosquitto() as b:
            yield b
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture
def own_broker() -> Iterator[Mosquitto]:
    """A mosquitto of the test's own, for tests that restart it."""
    try:
        with Mosquitto() as b:
            yield b
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def nomq_bin() -> str:
    """The `nomq` binary: NOMQ_BIN (scripts/test.sh sets it), else target/release/nomq. It is
    not built here: build it with `cargo build --release -p nomq-cli`."""
    path = pathlib.Path(os.environ.get("NOMQ_BIN", ROOT / "target" / "release" / "nomq"))
    if not path.exists():
        pytest.fail(f"{path} missing: build it with cargo build --release -p nomq-cli")
    return str(path)

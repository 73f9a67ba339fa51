"""Fixtures for the Python tests: a real mosquitto broker on a free loopback port (installed by
scripts/test.sh), through the helper the Rust and C tests share (tests/support/mosquitto.py)."""
from __future__ import annotations

from typing import Iterator

import pytest
from mosquitto import Mosquitto  # tests/support, on pytest's pythonpath


@pytest.fixture(scope="session")
def broker() -> Iterator[int]:
    """The port of a running mosquitto (tests/support/mosquitto.py: anonymous access)."""
    try:
        with Mosquitto() as b:
            yield b.port
    except RuntimeError as e:
        pytest.fail(str(e))

"""Fixtures for the Python tests: a real mosquitto broker on a free loopback port (installed by
scripts/test.sh), through the helper the Rust and C tests share (tests/support/mosquitto.py)."""
from __future__ import annotations

import os
import sys
from typing import Iterator

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from mosquitto import Mosquitto  # noqa: E402


@pytest.fixture(scope="session")
def broker() -> Iterator[int]:
    """The port of a running mosquitto (tests/support/mosquitto.py: anonymous access)."""
    try:
        with Mosquitto() as b:
            yield b.port
    except RuntimeError as e:
        pytest.fail(str(e))

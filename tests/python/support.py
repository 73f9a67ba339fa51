"""Helpers shared by the Python tests (conftest.py holds the fixtures; a second module name
avoids the clash with tests/interop/conftest.py on the shared import path)."""
import socket

KEYS = (bytes(range(32)), bytes(range(32, 64)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

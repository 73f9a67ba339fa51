"""Helpers shared by the Python tests (conftest.py holds the fixtures; a second module name
avoids the clash with tests/interop/conftest.py on the shared import path)."""
from mosquitto import free_port  # noqa: F401  (tests/support: one definition for every test)

KEYS = (bytes(range(32)), bytes(range(32, 64)))

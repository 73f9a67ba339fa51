"""MQTT session options: each case of tests/cases/mqtt_options.txt applied to the Python client
must give the error kind the case names, the same kind the C library reports for it
(tests/c/test_options.c)."""

import pathlib
from typing import Any, Dict, List, Tuple

import pytest

from nomq import _nomq, errors
from nomq.mqtt import ConnectOptions, EnhancedAuth, Reconnect, Will
from mosquitto import free_port

CASES = pathlib.Path(__file__).resolve().parents[1] / "cases" / "mqtt_options.txt"


def cases() -> List[Tuple[str, int]]:
    out = []
    for line in CASES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            changes, expected = line.split("->")
            out.append((changes.strip(), int(expected)))
    return out


def options(changes: str) -> ConnectOptions:
    """The options of a case, from the C names to the Python ones (times in seconds)."""
    kw: Dict[str, Any] = {}
    reconnect = Reconnect()
    will: Dict[str, Any] = {}
    for change in changes.split():
        name, value = change.split("=", 1)
        number = int(value) if value.isdigit() else None
        if name in ("version", "max_inflight", "max_outbox_messages", "max_outbox_bytes", "max_packet_size",
                    "session_expiry"):
            kw[name] = number
        elif name == "keep_alive":
            kw["keepalive"] = number
        elif name == "connect_timeout_ms":
            kw["connect_timeout"] = number / 1000
        elif name == "reconnect":
            reconnect.enabled = bool(number)
        elif name == "reconnect_initial_ms":
            reconnect.initial_delay = number / 1000
        elif name == "reconnect_max_ms":
            reconnect.max_delay = number / 1000
        elif name == "clean_start":
            kw["clean_start"] = bool(number)
        elif name in ("client_id", "username", "password"):
            kw[name] = value
        elif name == "auth_method":
            kw["auth"] = EnhancedAuth(value, respond=lambda challenge: challenge)
        elif name == "will_topic":
            will["topic"] = value
        elif name == "will_qos":
            will["qos"] = number
        else:
            raise AssertionError(f"unknown option {name}")
    if will:
        kw["will"] = Will(will["topic"], b"", will.get("qos", 0))
    kw.setdefault("client_id", "options")
    return ConnectOptions(port=free_port(), reconnect=reconnect, **kw)


@pytest.mark.parametrize("changes, expected", cases(), ids=[c for c, _ in cases()])
def test_the_python_client_judges_options_like_the_c_library(changes: str, expected: int) -> None:
    native = options(changes)._native()
    try:
        # Nothing listens on the port: accepted options fail later, on the network.
        _nomq.NativeClient.connect(None, native)
    except errors.NomqError as e:
        got = 0 if isinstance(e, errors.NetworkError) else e.code
        assert got == expected, f"{changes}: {type(e).__name__}({e}) code {e.code}, expected {expected}"
        if expected:
            assert isinstance(e, errors.InvalidArgument)
    else:
        raise AssertionError(f"{changes}: connected to a port nobody listens on")

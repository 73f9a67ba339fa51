"""The NoMQ config file (nomq-v1 §19): one line of base64 holding the JSON settings and the two
group keys, AES-256-CBC under a public constant. It is obfuscation, not protection (v1 §22.13):
protect the file with file-system permissions.

Readers also take the plain JSON object (what ``nomq keygen --plain`` writes), checked by the
core with the same rules; writers always produce the encrypted form, which the reference reads.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Tuple

from . import _nomq
from .errors import ConfigError

__all__ = ["read_config", "write_config", "config_keys", "config_bind"]


def read_config(path: "str | os.PathLike[str]" = "nomq_config.json") -> Dict[str, Any]:
    """The settings dict of a config file, encrypted or plain JSON (``ip``, ``port``,
    ``use_ipv6``, ``encryption_key``, ``hmac_key`` and any other fields). Raises ``ConfigError``
    for an invalid file."""
    try:
        with open(path, encoding="ascii") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise ConfigError(f"{os.fspath(path)}: not a NoMQ config file (not base64 text)") from None
    if text.lstrip().startswith("{"):
        # Validated by the same core rules as the encrypted form (the sealed text is discarded).
        _nomq.config_text_from_json(text.encode("ascii"))
        settings = json.loads(text)
    else:
        settings = json.loads(_nomq.config_json_from_text(text))
    if not isinstance(settings, dict):
        raise ConfigError(f"{os.fspath(path)}: the config is not a JSON object")
    return settings


def write_config(settings: Dict[str, Any], path: "str | os.PathLike[str]") -> None:
    """Writes ``settings`` as a config file readable by the reference implementation. The keys
    must be 64 hex characters each (``encryption_key``, ``hmac_key``)."""
    text = _nomq.config_text_from_json(json.dumps(settings).encode("utf-8"))
    tmp = f"{os.fspath(path)}.tmp"
    # Owner-only permissions: the file holds the group keys.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)  # a temporary file left by an earlier run keeps its old mode
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def config_keys(settings: Dict[str, Any]) -> Tuple[bytes, bytes]:
    """``(encryption_key, trailer_key)`` as bytes from a settings dict."""
    try:
        return bytes.fromhex(settings["encryption_key"]), bytes.fromhex(settings["hmac_key"])
    except (KeyError, ValueError, TypeError) as e:
        raise ConfigError(f"config keys: {e}") from None


def config_bind(settings: Dict[str, Any]) -> Tuple[str, int]:
    """``(ip, port)`` to bind, from a settings dict; ``use_ipv6`` turns the default ``0.0.0.0``
    into ``::``."""
    ip = str(settings.get("ip", "0.0.0.0"))
    if settings.get("use_ipv6") and ip == "0.0.0.0":
        ip = "::"
    return ip, int(settings.get("port", 8888))

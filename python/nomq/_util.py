"""Small argument helpers shared by the Python layers."""
from __future__ import annotations

from typing import Tuple, Union

from .errors import InvalidArgument

Address = Union[str, Tuple[str, int]]
Payload = Union[bytes, bytearray, memoryview, str]


def address(addr: Address) -> str:
    """``"ip:port"`` (IPv6 in brackets) from a string or an ``(ip, port)`` tuple."""
    if isinstance(addr, str):
        return addr
    try:
        ip, port = addr[0], int(addr[1])
    except (TypeError, ValueError, IndexError):
        raise InvalidArgument(f"{addr!r} is not an address: use 'ip:port' or (ip, port)") from None
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def payload(data: Payload) -> bytes:
    """Bytes from bytes-like or text (UTF-8)."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise InvalidArgument(f"payload must be bytes or str, not {type(data).__name__}")

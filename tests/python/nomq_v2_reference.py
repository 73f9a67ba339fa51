"""An independent implementation of NoMQ v2 framing, written from docs/nomq-v2.md with
the `cryptography` package and the standard library only (no code shared with the Rust core).
It exists to check the Rust-generated vectors in tests/vectors/nomq-v2.json."""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAGIC = b"NM"
# version, type, flags, packet_id, session_id, ttl, timestamp_ms, channel_id, iv, L
HEADER = struct.Struct(">BBBIIHQ16s16sH")
HEADER_LEN = 2 + HEADER.size  # 57
TAG_LEN = 32
BODY_TYPES = {1, 2, 4}  # PUBLISH, SUBSCRIBE, UNSUBSCRIBE carry a ciphertext; the others L = 0


class Rejected(Exception):
    """A packet refused for `reason`: malformed | unsupported_version | auth_failed | stale."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def hmac_sha256(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def derive(encryption_key: bytes, hmac_key: bytes) -> tuple:
    """Invariant 3: the v2 working keys."""
    return hmac_sha256(encryption_key, b"nomq v2 enc"), hmac_sha256(hmac_key, b"nomq v2 mac")


def channel_id(mac2: bytes, name) -> bytes:
    """Invariant 4; HEARTBEAT (no channel) uses 16 zero bytes."""
    if name is None:
        return bytes(16)
    return hmac_sha256(mac2, b"nomq v2 channel", name.encode("utf-8"))[:16]


def _encrypt(enc2: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(enc2), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def _decrypt(enc2: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    dec = Cipher(algorithms.AES(enc2), modes.CBC(iv)).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def build(enc2, mac2, *, type, flags, packet_id, session_id, ttl, timestamp_ms, channel_id, iv, plaintext):
    if type in BODY_TYPES:
        ciphertext = _encrypt(enc2, iv, plaintext)
    else:
        if plaintext:
            raise ValueError("ACK-family and HEARTBEAT packets carry no plaintext in v2")
        ciphertext = b""
    head = MAGIC + HEADER.pack(2, type, flags, packet_id, session_id, ttl, timestamp_ms, channel_id, iv, len(ciphertext))
    data = head + ciphertext
    return data + hmac_sha256(mac2, data)


def parse(enc2, mac2, packet: bytes, now_ms: int, window_ms: int = 30_000) -> dict:
    """Receiving steps 1-3 and 5 of the spec, in its order."""
    if len(packet) < HEADER_LEN + TAG_LEN or packet[:2] != MAGIC:
        raise Rejected("malformed")
    if packet[2] != 2:
        raise Rejected("unsupported_version")
    version, type_, flags, pid, sid, ttl, ts, chan, iv, length = HEADER.unpack_from(packet, 2)
    if len(packet) != HEADER_LEN + length + TAG_LEN or length % 16:
        raise Rejected("malformed")
    body_end = HEADER_LEN + length
    if not hmac.compare_digest(packet[body_end:], hmac_sha256(mac2, packet[:body_end])):
        raise Rejected("auth_failed")
    if abs(now_ms - ts) > window_ms:
        raise Rejected("stale")
    if not 1 <= type_ <= 8 or (type_ in BODY_TYPES) == (length == 0):
        raise Rejected("malformed")
    plaintext = b""
    if length:
        try:
            plaintext = _decrypt(enc2, iv, packet[HEADER_LEN:body_end])
        except ValueError:
            raise Rejected("auth_failed") from None
    return dict(type=type_, flags=flags, packet_id=pid, session_id=sid, ttl=ttl, timestamp_ms=ts,
                channel_id=chan, iv=iv, plaintext=plaintext)

"""An independent implementation of NoMQ v1 as the reference node puts it on the wire, written
from docs/nomq-v1.md with the `cryptography` package and the standard library only (no
code shared with the Rust core). test_v1_vectors.py proves it against the reference's own
captured packets; tests/interop uses it to play a reference node against the nomq binary."""
import hashlib
import hmac
import os
import struct
import time

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAGIC = 0x4E4D
HEADER = struct.Struct(">HBBBIIH16sI16sH")  # §3: 53 bytes
INNER = struct.Struct(">QII")  # §10: timestamp, nonce, text_len
PUBLISH, SUBSCRIBE, ACK, UNSUBSCRIBE, HEARTBEAT, PUBREC, PUBREL, PUBCOMP = range(1, 9)


class Rejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def channel_id(name) -> bytes:
    return bytes(16) if name is None else hashlib.sha256(name.encode("utf-8")).digest()[:16]


def trailer(data: bytes, hmac_key: bytes) -> bytes:
    """§7: SHA256(data || key) -- not HMAC."""
    return hashlib.sha256(data + hmac_key).digest()


def publish_flags(qos: int, retain: bool, priority: int) -> int:
    return (qos & 3) | (4 if retain else 0) | (max(0, min(priority, 15)) << 4)


def inner_publish(text: str, timestamp: int, nonce: int) -> bytes:
    raw = text.encode("utf-8")
    return INNER.pack(timestamp, nonce, len(raw)) + raw


def build(enc_key, hmac_key, *, type, flags, packet_id, session_id, ttl, iv, timestamp, channel, plaintext):
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    region = iv + encryptor.update(padded) + encryptor.finalize()
    header = HEADER.pack(MAGIC, 1, type, flags, packet_id, session_id, ttl, iv, timestamp, channel, len(region))
    data = header + region
    return data + trailer(data, hmac_key)


def parse(enc_key, hmac_key, packet: bytes, now: float) -> dict:
    """§9.1, in the reference's order."""
    if len(packet) < 85:
        raise Rejected("too_short")
    magic, version, type_, flags, pid, sid, ttl, iv1, ts, chan, length = HEADER.unpack_from(packet)
    if magic != MAGIC:
        raise Rejected("bad_magic")
    if version != 1:
        raise Rejected("bad_version")
    if abs(now - ts) > 30:
        raise Rejected("stale_timestamp")
    if len(packet) < 53 + length + 32:
        raise Rejected("length_mismatch")
    if not hmac.compare_digest(packet[53 + length:], trailer(packet[:53 + length], hmac_key)):
        raise Rejected("bad_trailer")
    iv2, ciphertext = packet[53:69], packet[69:53 + length]
    if not ciphertext or len(ciphertext) % 16:
        raise Rejected("length_mismatch")
    decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv2)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    n = padded[-1]
    if not 1 <= n <= 16 or padded[-n:] != bytes([n]) * n:
        raise Rejected("bad_padding")
    return dict(type=type_, flags=flags, packet_id=pid, session_id=sid, ttl=ttl, iv=iv2, iv_header=iv1,
                timestamp=ts, channel_id=chan, plaintext=padded[:-n])


def parse_inner(plaintext: bytes) -> dict:
    """§10, as a correct receiver reads it (text at offset 16, or 20 with the §22.1 filler)."""
    if len(plaintext) < 16:
        raise Rejected("bad_inner")
    ts, nonce, text_len = INNER.unpack_from(plaintext)
    rest = len(plaintext) - 16
    if rest == text_len:
        offset = 16
    elif rest == text_len + 4:
        offset = 20
    else:
        raise Rejected("bad_inner")
    return dict(timestamp=ts, nonce=nonce, text=plaintext[offset:offset + text_len].decode("utf-8"), offset=offset)


class Node:
    """A reference node's sending side: random ids, one session, ttl 3600 (§2, §5, §8)."""

    def __init__(self, enc_key: bytes, hmac_key: bytes):
        self.enc_key, self.hmac_key = enc_key, hmac_key
        self.session_id = int.from_bytes(os.urandom(4), "big")

    def packet(self, type, *, channel, plaintext, flags=0, packet_id=None):
        return build(self.enc_key, self.hmac_key, type=type, flags=flags,
                     packet_id=int.from_bytes(os.urandom(4), "big") if packet_id is None else packet_id,
                     session_id=self.session_id, ttl=3600, iv=os.urandom(16), timestamp=int(time.time()),
                     channel=channel, plaintext=plaintext)

    def publish(self, channel_name: str, text: str, qos: int):
        chan = channel_id(channel_name)
        plaintext = inner_publish(text, int(time.time()), int.from_bytes(os.urandom(4), "big"))
        return self.packet(PUBLISH, channel=chan, plaintext=plaintext, flags=publish_flags(qos, False, 0))

    def reply(self, type, answered: dict):
        """ACK (flags 1), PUBREC, PUBREL, PUBCOMP: id in header and as the u32 plaintext."""
        return self.packet(type, channel=answered["channel_id"], flags=1 if type == ACK else 0,
                           packet_id=answered["packet_id"], plaintext=struct.pack(">I", answered["packet_id"]))

    def open(self, packet: bytes) -> dict:
        return parse(self.enc_key, self.hmac_key, packet, time.time())

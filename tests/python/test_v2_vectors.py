"""tests/vectors/nomq-v2.json (made by the Rust core) checked by the independent Python v2."""
import json
import pathlib

import pytest

import nomq_v2_reference as v2

VECTORS = json.loads((pathlib.Path(__file__).parents[1] / "vectors" / "nomq-v2.json").read_text())
KEYS = v2.derive(bytes.fromhex(VECTORS["encryption_key"]), bytes.fromhex(VECTORS["hmac_key"]))


def test_working_keys_are_derived_as_specified():
    assert KEYS == (bytes.fromhex(VECTORS["enc2"]), bytes.fromhex(VECTORS["mac2"]))
    assert KEYS[0] != bytes.fromhex(VECTORS["encryption_key"])
    assert KEYS[1] != bytes.fromhex(VECTORS["hmac_key"])


@pytest.mark.parametrize("vec", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vector_rebuilds_and_parses(vec):
    enc2, mac2 = KEYS
    chan = v2.channel_id(mac2, vec["channel"])
    assert chan.hex() == vec["channel_id"]
    plaintext = bytes.fromhex(vec["plaintext"])
    packet = v2.build(enc2, mac2, type=vec["type"], flags=vec["flags"], packet_id=vec["packet_id"],
                      session_id=vec["session_id"], ttl=vec["ttl"], timestamp_ms=vec["timestamp_ms"],
                      channel_id=chan, iv=bytes.fromhex(vec["iv"]), plaintext=plaintext)
    assert packet.hex() == vec["packet"]
    assert len(packet) == vec["packet_length"] == 89 + vec["payload_length"]
    parsed = v2.parse(enc2, mac2, packet, vec["receiver_time_ms"])
    assert parsed["plaintext"] == plaintext
    assert (parsed["type"], parsed["flags"], parsed["packet_id"]) == (vec["type"], vec["flags"], vec["packet_id"])
    # The acceptance window is +-30 s inclusive.
    v2.parse(enc2, mac2, packet, vec["timestamp_ms"] + 30_000)
    with pytest.raises(v2.Rejected, match="stale"):
        v2.parse(enc2, mac2, packet, vec["timestamp_ms"] - 30_001)


@pytest.mark.parametrize("vec", VECTORS["negative"], ids=lambda v: v["name"])
def test_negative_vector_is_refused_for_its_reason(vec):
    with pytest.raises(v2.Rejected) as refused:
        v2.parse(*KEYS, bytes.fromhex(vec["packet"]), vec["receiver_time_ms"])
    assert refused.value.reason == vec["expected"]["reason"]


def test_every_packet_type_and_flag_kind_is_covered():
    types = {v["type"] for v in VECTORS["vectors"]}
    assert types == set(range(1, 9))
    flags = {v["flags"] for v in VECTORS["vectors"] if v["type"] == 1}
    assert any(f & 0x08 for f in flags), "a DUP retransmission"
    assert any(f & 0x04 for f in flags), "a retained message"
    assert {v["flags"] for v in VECTORS["vectors"] if v["type"] == 5} == {0, 1}, "heartbeat and answer"

"""The independent Python v1 (nomq_v1_reference.py) checked against the reference's captures,
so the interop tests that rely on it stand on verified ground."""
import json
import pathlib

import pytest

import nomq_v1_reference as v1

VECTORS = json.loads((pathlib.Path(__file__).parents[1] / "vectors" / "nomq-v1.json").read_text())
ENC, MAC = bytes.fromhex(VECTORS["encryption_key"]), bytes.fromhex(VECTORS["hmac_key"])


@pytest.mark.parametrize("vec", VECTORS["vectors"], ids=lambda v: v["name"])
def test_rebuilds_every_reference_packet(vec):
    assert v1.channel_id(vec["channel"]).hex() == vec["channel_id"]
    plaintext = bytes.fromhex(vec["plaintext"])
    if vec["type"] == v1.PUBLISH:
        inner = vec["inner"]
        assert v1.inner_publish(inner["message"], inner["timestamp"], inner["nonce"]) == plaintext
        args = vec["publish_args"]
        assert v1.publish_flags(args["qos"], args["retain"], args["priority"]) == vec["flags"]
    packet = v1.build(ENC, MAC, type=vec["type"], flags=vec["flags"], packet_id=vec["packet_id"],
                      session_id=vec["session_id"], ttl=vec["ttl"], iv=bytes.fromhex(vec["iv"]),
                      timestamp=vec["timestamp"], channel=bytes.fromhex(vec["channel_id"]), plaintext=plaintext)
    assert packet.hex() == vec["packet"]
    parsed = v1.parse(ENC, MAC, packet, vec["receiver_time"])
    assert parsed["plaintext"] == plaintext


@pytest.mark.parametrize("vec", VECTORS["negative"], ids=lambda v: v["name"])
def test_refuses_every_negative_vector_for_its_reason(vec):
    with pytest.raises(v1.Rejected) as refused:
        v1.parse(ENC, MAC, bytes.fromhex(vec["packet"]), vec["receiver_time"])
    assert refused.value.reason == vec["expected"]["reason"]

"""nomq.Codec, channel_id and the config file, against the independent Python implementations
and the reference's captured vectors."""
import json
import os
import pathlib

import nomq
import nomq_v1_reference as ref
import pytest
from support import KEYS

VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"


def test_v1_seal_is_opened_by_the_independent_reference_implementation():
    codec = nomq.Codec(*KEYS, version=1)
    datagram = codec.seal_publish("sensors/temp", b"21.5", qos=2, retain=True, priority=3, packet_id=7, session_id=9)
    import time

    parsed = ref.parse(*KEYS, datagram, time.time())
    assert parsed["packet_id"] == 7 and parsed["session_id"] == 9
    assert parsed["channel_id"] == nomq.channel_id("sensors/temp") == codec.channel_id("sensors/temp")
    assert ref.parse_inner(parsed["plaintext"])["text"] == "21.5"
    opened = codec.open(datagram)
    assert (opened.kind, opened.qos, opened.retain, opened.priority) == (1, 2, True, 3)
    assert opened.text == "21.5" and opened.payload == b"21.5"


def test_every_positive_v1_vector_opens():
    vectors = json.loads((VECTORS / "nomq-v1.json").read_text())
    opened = 0
    for v in vectors["vectors"]:
        codec = nomq.Codec(bytes.fromhex(v["encryption_key"]), bytes.fromhex(v["hmac_key"]), version=1)
        p = codec.open(bytes.fromhex(v["packet"]), now_ms=v["receiver_time"] * 1000)
        assert (p.kind, p.flags, p.packet_id, p.session_id) == (v["type"], v["flags"], v["packet_id"], v["session_id"])
        assert p.channel_id.hex() == v["channel_id"] or v["type"] == 5
        opened += 1
    assert opened == 20


def test_v2_round_trip_and_rejections():
    codec = nomq.Codec(*KEYS, version=2)
    d = codec.seal_publish("c", bytes(range(256)) * 4, qos=1)
    assert codec.open(d).payload == bytes(range(256)) * 4
    with pytest.raises(nomq.AuthenticationError):
        nomq.Codec(KEYS[1], KEYS[0], version=2).open(d)
    tampered = bytearray(d)
    tampered[-1] ^= 1
    with pytest.raises(nomq.AuthenticationError):
        codec.open(bytes(tampered))
    with pytest.raises(nomq.StaleError):
        codec.open(d, now_ms=0)
    with pytest.raises(nomq.FrameError):
        codec.open(b"\x00" * 10)
    with pytest.raises(nomq.FrameError):
        nomq.Codec(*KEYS, version=1).open(d)  # a v2 packet on a v1 codec


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(nomq.ConfigError, match="32 bytes"):
        nomq.Codec(b"short", KEYS[1])
    with pytest.raises(nomq.InvalidArgument, match="version"):
        nomq.Codec(*KEYS, version=3)
    codec = nomq.Codec(*KEYS)
    with pytest.raises(nomq.InvalidArgument, match="qos"):
        codec.seal_publish("c", b"x", qos=3)
    with pytest.raises(nomq.InvalidArgument):
        codec.seal_publish("c", b"\xff\xfe")  # v1 text must be UTF-8
    with pytest.raises(nomq.PayloadTooLarge):
        codec.seal_publish("c", b"x" * 70_000)
    with pytest.raises(TypeError):
        codec.seal_publish("c", 42)


def test_config_file_round_trip_and_reference_example(tmp_path):
    vectors = json.loads((VECTORS / "nomq-v1.json").read_text())
    example = vectors["config_example"]
    path = tmp_path / "nomq_config.json"
    path.write_text(example["file_text"])
    settings = nomq.read_config(path)
    assert settings == json.loads(example["json_plaintext"])
    out = tmp_path / "copy.json"
    nomq.write_config(settings, out)
    assert nomq.read_config(out) == settings
    assert os.stat(out).st_mode & 0o777 == 0o600
    with pytest.raises(nomq.ConfigError):
        nomq.write_config({"ip": "0.0.0.0"}, tmp_path / "bad.json")  # no keys
    (tmp_path / "garbage.json").write_text("not base64 !!!")
    with pytest.raises(nomq.ConfigError):
        nomq.read_config(tmp_path / "garbage.json")

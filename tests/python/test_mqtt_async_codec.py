"""mqtt_async's packet codec against bytes laid out by hand from the MQTT 3.1.1 specification
(§3.1 to §3.14), split input, and malformed input."""
import pytest
from mqtt_async import _codec
from nomq.errors import InvalidArgument, ProtocolError


def test_connect_layout():
    # protocol name, level 4, flags, keepalive, then client id, will, user name, password
    assert _codec.connect(b"cid", True, 0, None, None, None) == (
        b"\x10\x0f" b"\x00\x04MQTT\x04\x02\x00\x00" b"\x00\x03cid")
    packet = _codec.connect(b"c", False, 60, b"u", b"pw", (b"w/t", b"bye", 1, True))
    assert packet == (b"\x10\x1e" b"\x00\x04MQTT\x04" + bytes([0x80 | 0x40 | 0x20 | 0x08 | 0x04]) + b"\x00\x3c"
                      b"\x00\x01c" b"\x00\x03w/t" b"\x00\x03bye" b"\x00\x01u" b"\x00\x02pw")
    assert _codec.connect(b"c", False, 0, b"u", None, (b"w", b"", 2, False))[9] == 0x80 | 0x10 | 0x04


def test_publish_ack_subscribe_layout():
    assert _codec.publish(b"a/b", b"hi", 0, False, False, None) == b"\x30\x07\x00\x03a/bhi"
    assert _codec.publish(b"a", b"x", 1, True, True, 0x1234) == b"\x3b\x06\x00\x01a\x12\x34x"
    assert _codec.publish(b"a", b"", 2, False, False, 7) == b"\x34\x05\x00\x01a\x00\x07"
    big = _codec.publish(b"t", bytes(200), 0, False, False, None)
    assert big[:3] == b"\x30\xcb\x01" and len(big) == 3 + 203  # two-byte remaining length
    assert [_codec.ack(k, 5) for k in (4, 5, 6, 7)] == [b"\x40\x02\x00\x05", b"\x50\x02\x00\x05",
                                                       b"\x62\x02\x00\x05", b"\x70\x02\x00\x05"]
    assert _codec.subscribe(10, b"s/+/#", 2) == b"\x82\x0a\x00\x0a\x00\x05s/+/#\x02"
    assert _codec.unsubscribe(11, b"s/#") == b"\xa2\x07\x00\x0b\x00\x03s/#"
    assert (_codec.PINGREQ, _codec.DISCONNECT) == (b"\xc0\x00", b"\xe0\x00")
    with pytest.raises(InvalidArgument):
        _codec.publish(b"a", b"x", 1, False, False, None)  # QoS 1 without a packet id


def test_topics_are_checked_before_anything_is_sent():
    for bad in (b"", b"a/+", b"a/#", b"\xff", b"a\x00b", bytes(65536)):
        with pytest.raises(InvalidArgument):
            _codec.topic_name(bad)
    for bad in (b"a/b#", b"a/#/b", b"a+/b", b""):
        with pytest.raises(InvalidArgument):
            _codec.topic_filter(bad)
    assert _codec.topic_filter(b"+/x/#") == b"+/x/#" and _codec.topic_name("é/x".encode()) == "é/x".encode()


def decode_all(data):
    buf, out = bytearray(data), []
    while True:
        got = _codec.decode(buf)
        if got is None:
            return out, bytes(buf)
        packet, used = got
        del buf[:used]
        out.append(packet)


def test_decodes_what_a_server_sends_even_split_anywhere():
    stream = (b"\x20\x02\x01\x00"  # CONNACK, session present
              b"\x3d\x09\x00\x03a/b\x00\x2aok"  # PUBLISH QoS 2, DUP, retain, pid 42
              b"\x40\x02\x00\x07" b"\x50\x02\x00\x08" b"\x62\x02\x00\x09" b"\x70\x02\x00\x0a"
              b"\x90\x03\x00\x0b\x80" b"\xb0\x02\x00\x0c" b"\xd0\x00"
              b"\x30\x82\x01\x00\x01t" + bytes(127))  # QoS 0, remaining length 130 in two bytes
    packets, rest = decode_all(stream)
    assert rest == b""
    assert [p.kind for p in packets] == [2, 3, 4, 5, 6, 7, 9, 11, 13, 3]
    connack, pub = packets[0], packets[1]
    assert (connack.session_present, connack.code) == (True, 0)
    assert (pub.topic, pub.payload, pub.qos, pub.dup, pub.retain, pub.packet_id) == (b"a/b", b"ok", 2, True, True, 42)
    assert [p.packet_id for p in packets[2:8]] == [7, 8, 9, 10, 11, 12]
    assert packets[6].code == 0x80
    assert (packets[9].topic, packets[9].payload, packets[9].packet_id) == (b"t", bytes(127), None)
    for cut in range(1, len(stream)):
        head, _ = decode_all(stream[:cut])
        tail, rest = decode_all(_rest(stream, cut))
        assert [p.kind for p in head + tail] == [p.kind for p in packets]


def _rest(stream, cut):
    """What a reader holds after decoding the complete packets of stream[:cut] and receiving the
    remaining bytes."""
    _, left = decode_all(stream[:cut])
    return left + stream[cut:]


@pytest.mark.parametrize("bad", [
    b"\x36\x05\x00\x01a\x00\x01",  # PUBLISH with QoS 3
    b"\x30\x01\x00",  # PUBLISH shorter than a topic length
    b"\x32\x04\x00\x03ab",  # topic longer than the packet
    b"\x40\x03\x00\x01\x00",  # PUBACK with a wrong length
    b"\x10\x00",  # CONNECT: never sent to a client
    b"\xf0\x00",  # reserved type
    b"\x30\xff\xff\xff\xff\x01",  # remaining length over four bytes
])
def test_malformed_input_is_a_protocol_error(bad):
    with pytest.raises(ProtocolError):
        _codec.decode(bad)

"""The v1 and v2 test vectors through `_nomq`: every positive vector sealed byte for byte
(raw `seal` from its plaintext, and `seal_publish` from its message with the vector's IV,
ids, timestamp and nonce) and opened to the same fields, inside the ±30 s window and not
outside it; every negative vector refused with the exception class of its reason."""
import _nomq
from mptest import check, raises, finish
from nomq_vectors import V1_KEYS, V2_KEYS, V1_POSITIVE, V1_NEGATIVE, V2_POSITIVE, V2_NEGATIVE

# The reason tags of tests/vectors/ as `_nomq` exception classes.
REASONS = {
    "too_short": _nomq.FrameError, "bad_magic": _nomq.FrameError, "length_mismatch": _nomq.FrameError,
    "bad_version": _nomq.FrameError, "malformed": _nomq.FrameError, "unsupported_version": _nomq.FrameError,
    "bad_trailer": _nomq.AuthenticationError, "bad_padding": _nomq.AuthenticationError,
    "auth_failed": _nomq.AuthenticationError,
    "stale_timestamp": _nomq.StaleError, "stale": _nomq.StaleError,
}


def positive(version, keys, vectors):
    codec = _nomq.Codec(keys[0], keys[1], version=version)
    for v in vectors:
        name = "v%d %s" % (version, v["name"])
        if v["channel"] is not None:
            check(codec.channel_id(v["channel"]) == v["channel_id"], name + ": channel id")
        sealed = codec.seal(v["type"], v["channel_id"], v["plaintext"], flags=v["flags"],
                            packet_id=v["packet_id"], session_id=v["session_id"], ttl=v["ttl"],
                            timestamp_ms=v["timestamp_ms"], iv=v["iv"])
        check(sealed == v["packet"], name + ": seal is byte-exact")
        if v["type"] == _nomq.PUBLISH:
            publish(codec, version, v, name)
        p = codec.open(v["packet"], now_ms=v["receiver_time_ms"])
        check(p.kind == v["type"] and p.flags == v["flags"] and p.ttl == v["ttl"], name + ": kind, flags, ttl")
        check(p.packet_id == v["packet_id"] and p.session_id == v["session_id"], name + ": ids")
        check(p.timestamp_ms == v["timestamp_ms"], name + ": timestamp")
        check(p.channel_id == v["channel_id"] and p.iv == v["iv"], name + ": channel id and iv")
        if version == 1 and v["type"] == _nomq.PUBLISH:
            # v1 PUBLISH: the text after the reference's 16-byte inner header.
            check(p.payload == v["plaintext"][16:], name + ": payload")
            check(p.text == v["message"], name + ": text")
        else:
            check(p.payload == v["plaintext"] and p.text is None, name + ": payload")
        # The acceptance window: ±30 s in, 31 s out (v1 carries whole seconds).
        t = v["timestamp_ms"]
        check(codec.open(v["packet"], now_ms=t + 30000).packet_id == v["packet_id"], name + ": +30 s accepted")
        check(codec.open(v["packet"], now_ms=t - 30000).packet_id == v["packet_id"], name + ": -30 s accepted")
        raises(_nomq.StaleError, name + ": +31 s refused", codec.open, v["packet"], now_ms=t + 31000)
        raises(_nomq.StaleError, name + ": -31 s refused", codec.open, v["packet"], t - 31000)
    print("v%d: %d positive vectors sealed byte for byte and opened" % (version, len(vectors)))


def publish(codec, version, v, name):
    if version == 1:
        args = v["publish_args"]
        message, qos, retain, priority = v["message"], args["qos"], args["retain"], args["priority"]
        check(v["inner_timestamp_ms"] == v["timestamp_ms"], name + ": inner timestamp is the header's")
        nonce = v["nonce"]
    else:
        # v2: the plaintext is the message; the flags carry QoS, retain, DUP and priority.
        message, qos, retain, priority = v["plaintext"], v["flags"] & 3, bool(v["flags"] & 4), v["flags"] >> 4
        nonce = 0
        if v["flags"] & 8:
            return  # DUP is set on retransmission only; seal_publish never sets it
    sealed = codec.seal_publish(v["channel"], message, qos=qos, retain=retain, priority=priority, ttl=v["ttl"],
                                packet_id=v["packet_id"], session_id=v["session_id"],
                                timestamp_ms=v["timestamp_ms"], iv=v["iv"], nonce=nonce)
    check(sealed == v["packet"], name + ": seal_publish is byte-exact")


def negative(version, keys, vectors):
    for v in vectors:
        if "encryption_key" in v:
            keys = (v["encryption_key"], v["hmac_key"])
        codec = _nomq.Codec(keys[0], keys[1], version=version)
        expected = REASONS[v["reason"]]
        e = raises(expected, "v%d negative %s (%s)" % (version, v["name"], v["reason"]),
                   codec.open, v["packet"], now_ms=v["receiver_time_ms"])
        check(e is None or "(nomq " in str(e), "v%d negative %s: the message names the nomq code" % (version, v["name"]))
    print("v%d: %d negative vectors refused, each with its reason's class" % (version, len(vectors)))


print("_nomq from", getattr(_nomq, "__file__", "the interpreter (built in)"), "nomq", _nomq.version())
check(len(V1_POSITIVE) == 20 and len(V1_NEGATIVE) == 12, "all v1 vectors loaded")
check(len(V2_POSITIVE) >= 18 and len(V2_NEGATIVE) >= 15, "all v2 vectors loaded")
positive(1, V1_KEYS, V1_POSITIVE)
negative(1, V1_KEYS, V1_NEGATIVE)
positive(2, V2_KEYS, V2_POSITIVE)
negative(2, V2_KEYS, V2_NEGATIVE)
check(_nomq.channel_id("sensors/temp") == V1_POSITIVE[0]["channel_id"], "module-level v1 channel id")
finish("test_vectors")

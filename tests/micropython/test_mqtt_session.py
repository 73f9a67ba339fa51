"""`_nomq.MqttSession`, the sans-IO MQTT client session, on both builds (no sockets: this
script plays the server with the bytes of MQTT 3.1.1 §3 and MQTT 5.0 §3): the connection
sequence, QoS 0/1/2 out and in, subscriptions, a lost connection with its backoff and the
retransmission of what was unacknowledged, malformed server bytes, bounded outboxes, bad
input refused with its class, large messages through the heap path, and closed sessions."""
import gc

import _nomq
from mptest import check, events, raises, finish

CONNACK = b"\x20\x02\x00\x00"


def pid(n):
    return bytes((n >> 8, n & 255))


def varint(n):
    out = b""
    while True:
        b = n & 127
        n >>= 7
        out += bytes((b | (128 if n else 0),))
        if not n:
            return out


def publish_packet(topic, payload, qos=0, packet_id=0, dup=False, retain=False):
    """A server's PUBLISH (MQTT 3.1.1 §3.3)."""
    body = bytes((len(topic) >> 8, len(topic) & 255)) + topic.encode() + (pid(packet_id) if qos else b"") + payload
    first = 0x30 | qos << 1 | (8 if dup else 0) | (1 if retain else 0)
    return bytes((first,)) + varint(len(body)) + body


def sent(s, now):
    out = b""
    while True:
        chunk = s.poll_transmit(now)
        if chunk is None:
            return out
        out += chunk


def connected(now=10, **options):
    """A session through OPEN_TRANSPORT, CONNECT and CONNACK."""
    s = _nomq.MqttSession("mp-test", **options)
    s.start(now)
    check(events(s) == [(_nomq.MQTT_OPEN_TRANSPORT,)], "start asks for a transport")
    check(s.state() == 3, "opening")
    s.connect(now)
    connect = sent(s, now)
    s.handle_bytes(CONNACK if options.get("version", 4) == 4 else b"\x20\x03\x00\x00\x00", now)
    check(events(s, _nomq.MQTT_CONNECTED) == [(_nomq.MQTT_CONNECTED, False, 0)], "CONNACK: connected")
    check(s.state() == 2, "connected state")
    return s, connect


# CONNECT as MQTT 3.1.1 §3.1 lays it out: protocol name and level 4, clean session, keep alive,
# client id.
s, connect = connected(keep_alive=30)
check(connect == b"\x10\x13\x00\x04MQTT\x04\x02\x00\x1e\x00\x07mp-test", "3.1.1 CONNECT bytes: %r" % connect)

# QoS 0, 1 and 2 out: PUBLISH bytes, then PUBACK / PUBREC-PUBREL-PUBCOMP, one outcome each.
i0 = s.publish("a/b", b"zero", 0, now_ms=20)
check(sent(s, 20) == b"\x30\x09\x00\x03a/bzero", "QoS 0 PUBLISH bytes")
i1 = s.publish("a/b", "one", 1, now_ms=20)
check(sent(s, 20) == b"\x32\x0a\x00\x03a/b\x00\x01one", "QoS 1 PUBLISH carries packet id 1")
s.handle_bytes(b"\x40\x02" + pid(1), 21)
i2 = s.publish("a/b", b"two", 2, retain=True, now_ms=22)
check(sent(s, 22) == b"\x35\x0a\x00\x03a/b\x00\x02two", "QoS 2 retained PUBLISH")
s.handle_bytes(b"\x50\x02" + pid(2), 23)
check(sent(s, 23) == b"\x62\x02" + pid(2), "PUBREC answered with PUBREL")
s.handle_bytes(b"\x70\x02" + pid(2), 24)
done = {e[1]: e[2] for e in events(s, _nomq.MQTT_PUBLISH_DONE)}
check(done == {i0: _nomq.MQTT_SENT, i1: _nomq.MQTT_CONFIRMED, i2: _nomq.MQTT_CONFIRMED}, "outcomes: %r" % done)
m = s.metrics()
check(m["sent"] == 3 and m["inflight"] == 0 and m["queued_messages"] == 0, "metrics: %r" % m)

# SUBSCRIBE and its SUBACK codes; QoS 1 and QoS 2 messages in, acknowledged per the spec.
rid = s.subscribe("sensors/#", 2, 30)
check(sent(s, 30) == b"\x82\x0e\x00\x03\x00\x09sensors/#\x02", "SUBSCRIBE bytes")
s.handle_bytes(b"\x90\x03\x00\x03\x02", 31)
check(events(s) == [(_nomq.MQTT_SUBSCRIBED, rid, b"\x02")], "SUBACK: granted QoS 2")
s.handle_bytes(publish_packet("sensors/t1", b"21", 1, 7), 32)
check(events(s) == [(_nomq.MQTT_MESSAGE, "sensors/t1", b"21", 1, False)], "a QoS 1 message")
check(sent(s, 32) == b"\x40\x02\x00\x07", "answered with PUBACK")
s.handle_bytes(publish_packet("sensors/t2", b"22", 2, 8), 33)
check(sent(s, 33) == b"\x50\x02\x00\x08", "QoS 2 message answered with PUBREC")
s.handle_bytes(publish_packet("sensors/t2", b"22", 2, 8, dup=True), 34)  # the server's resend
s.handle_bytes(b"\x62\x02\x00\x08", 35)
check(sent(s, 35).endswith(b"\x70\x02\x00\x08"), "PUBREL answered with PUBCOMP")
got = events(s, _nomq.MQTT_MESSAGE)
check(got == [(_nomq.MQTT_MESSAGE, "sensors/t2", b"22", 2, False)], "QoS 2 delivered exactly once: %r" % got)

# A message larger than the event buffer on the stack goes through the heap path intact.
payload = bytes(i % 253 for i in range(3000))
s.handle_bytes(publish_packet("big", payload), 36)
got = events(s, _nomq.MQTT_MESSAGE)
check(len(got) == 1 and got[0][2] == payload, "a 3000-byte message arrives intact")

# The connection is lost with a QoS 1 publish unacknowledged: DISCONNECTED, a new
# OPEN_TRANSPORT after the backoff, and after CONNACK (session present) the PUBLISH again with DUP.
i3 = s.publish("a/b", b"again", 1, now_ms=40)
first = sent(s, 40)
s.connection_lost(41)
e = events(s)
check(len(e) == 1 and e[0][0] == _nomq.MQTT_DISCONNECTED and e[0][1] == 4, "transport closed: %r" % e)
at = s.poll_timeout()
check(at is not None and at <= 41 + 30000, "a reconnect is scheduled: %r" % at)
s.handle_timeout(at)
check(events(s) == [(_nomq.MQTT_OPEN_TRANSPORT,)], "the backoff over, a transport is asked for")
s.connect(at)
sent(s, at)
s.handle_bytes(b"\x20\x02\x01\x00", at + 1)
check(events(s, _nomq.MQTT_CONNECTED) == [(_nomq.MQTT_CONNECTED, True, 0)], "reconnected, session present")
resent = sent(s, at + 1)
check(resent == bytes((first[0] | 8,)) + first[1:], "the unacknowledged PUBLISH again with DUP: %r" % resent)
s.handle_bytes(b"\x40\x02" + first[7:9], at + 2)
check({e[1]: e[2] for e in events(s, _nomq.MQTT_PUBLISH_DONE)} == {i3: _nomq.MQTT_CONFIRMED}, "then confirmed")
check(s.metrics()["retransmitted"] == 1 and s.metrics()["reconnects"] == 1, "counted: %r" % s.metrics())

# Malformed bytes from the server end the connection with a protocol error, never a crash.
s.handle_bytes(b"\xf0\xff\xff\xff\xff\x7f", at + 3)
e = events(s, _nomq.MQTT_DISCONNECTED)
check(len(e) == 1 and e[0][1] == 3, "malformed bytes: protocol error: %r" % e)

# DISCONNECT: the bytes, then idle with no reconnect.
s2, _ = connected()
s2.disconnect(50)
check(sent(s2, 50) == b"\xe0\x00", "DISCONNECT bytes")
check(s2.is_idle() and s2.poll_timeout() is None, "idle after disconnect")

# MQTT 5: CONNECT with protocol level 5 and its properties length.
s5, connect5 = connected(version=5, keep_alive=60, session_expiry=300)
check(connect5[7:9] == b"\x04\x05" or connect5[8] == 5, "MQTT 5 CONNECT protocol level: %r" % connect5)
s5.publish("x", b"5", 1, now_ms=20)
check(sent(s5, 20)[0] == 0x32, "MQTT 5 PUBLISH")

# A bounded outbox (refuse policy): while disconnected, publishes queue up to the bound, the
# next one is refused with NomqError (full), and nothing already queued is lost.
q = _nomq.MqttSession("q", max_outbox_messages=3, max_outbox_bytes=1024)
ids = [q.publish("t", b"m%d" % i, 1, now_ms=1) for i in range(3)]
e = raises(_nomq.QueueFull, "a fourth publish with room for three", q.publish, "t", b"m3", 1)
check(e is not None and "nomq 400" in str(e), "full names its result: %s" % e)
check(q.metrics()["queued_messages"] == 3, "the three queued stay")
drop = _nomq.MqttSession("d", max_outbox_messages=2, drop_oldest=True)
first_id = drop.publish("t", b"old", 1, now_ms=1)
drop.publish("t", b"new1", 1, now_ms=1)
drop.publish("t", b"new2", 1, now_ms=1)
check(events(drop) == [(_nomq.MQTT_DROPPED, first_id)], "drop-oldest policy reports the dropped publish")

# Bad input: each refused with its class and a message; the session stays usable.


def usable(what):
    check(isinstance(s.publish("ok", b"fine", 0, now_ms=60), int), "usable after " + what)
    sent(s, 60)


def refused(exc, what, fn, *args, **kwargs):
    e = raises(exc, what, fn, *args, **kwargs)
    check(e is not None and len(str(e)) > 0, what + ": has a message")
    usable(what)
    return e


s, _ = connected()
refused(ValueError, "a wildcard in a publish topic", s.publish, "a/#", b"x")
refused(ValueError, "an empty topic", s.publish, "", b"x")
refused(ValueError, "a malformed filter", s.subscribe, "a/#/b", 0)
refused(ValueError, "a NUL in a topic", s.publish, "a\x00b", b"x")
refused(ValueError, "qos 3", s.publish, "a", b"x", 3)
refused(TypeError, "a topic as bytes", s.publish, b"a", b"x")
refused(TypeError, "a payload as int", s.publish, "a", 5)
refused(TypeError, "data as str", s.handle_bytes, "text")
refused(ValueError, "version 3", _nomq.MqttSession, "c", version=3)
refused(TypeError, "an unknown keyword", _nomq.MqttSession, "c", keepalive=5)
refused(ValueError, "keep alive out of range", _nomq.MqttSession, "c", keep_alive=70000)
big = _nomq.MqttSession("b", max_outbox_bytes=1000)
e = refused(ValueError, "a message larger than the whole outbox", big.publish, "t", bytes(2000), 1)
check(e is not None and "(nomq 103)" in str(e), "it is too large, not a full outbox: %s" % e)

# Closed: every call raises NomqError (CLOSED); close twice is fine.
s.close()
s.close()
raises(_nomq.NomqError, "publish after close", s.publish, "a", b"x")
raises(_nomq.NomqError, "poll_event after close", s.poll_event)

# Collections between calls: a session kept across gc.collect() keeps its state; dropped
# sessions are reclaimed.
k, _ = connected()
for i in range(50):
    k.publish("gc/t", b"m%d" % i, 1, now_ms=100 + i)
    if i % 10 == 0:
        _nomq.MqttSession("garbage").publish("t", b"x", 1, now_ms=1)
        gc.collect()
# At most max_inflight (20) are written before their PUBACKs; the rest follow as those arrive.
written = 0
for rnd in range(10):
    out = sent(k, 200 + rnd)
    n_out = out.count(b"gc/t")
    check(n_out <= 20, "at most 20 in flight")
    for n in range(written + 1, written + n_out + 1):
        k.handle_bytes(b"\x40\x02" + pid(n), 200 + rnd)
    written += n_out
    gc.collect()
check(written == 50, "50 PUBLISH packets across collections: %d" % written)
check(len(events(k, _nomq.MQTT_PUBLISH_DONE)) == 50 and k.metrics()["inflight"] == 0, "50 confirmed")


def churn(n):
    for i in range(n):
        _nomq.MqttSession("c%d" % i).publish("t", b"x", 1, now_ms=1)


churn(20)
gc.collect()
before = gc.mem_alloc()
churn(200)
gc.collect()
check(gc.mem_alloc() - before < 16384, "200 dropped sessions are reclaimed: %d -> %d bytes" % (before, gc.mem_alloc()))

finish("test_mqtt_session")

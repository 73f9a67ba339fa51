"""`_nomq.Endpoint`, the sans-IO NoMQ node, on both builds (no sockets: datagrams are carried
between two endpoints by this script, with explicit clocks): QoS 0/1/2 in v1 and v2,
retransmission after a lost datagram, expiry, wrong keys counted and dropped, large messages
through the heap paths, addresses in every accepted form, bad input refused with its class,
a failing urandom raised after the call without harming the endpoint, and closed endpoints."""
import gc

import _nomq
from mptest import check, events, raises, finish

K1 = bytes(range(32))
K2 = bytes(range(0xA0, 0xC0))
OTHER = bytes(32)
A = ("10.0.0.1", 9001)
B = ("10.0.0.2", 9002)
UNIX = 1750000000000  # wall clock, Unix ms: sealed into datagrams and checked by receivers


class Net:
    """Two endpoints and a clock. `carry` moves every queued datagram until none is left;
    `lose` drops the next datagram of `src` instead."""

    def __init__(self, version, **bounds):
        self.now = 1000
        self.a = _nomq.Endpoint(K1, K2, version, now_ms=self.now, **bounds)
        self.b = _nomq.Endpoint(K1, K2, version, now_ms=self.now, **bounds)
        self.addr = {id(self.a): A, id(self.b): B}

    def carry(self):
        moved = 0
        while True:
            progress = False
            for src, dst in ((self.a, self.b), (self.b, self.a)):
                t = src.poll_transmit(UNIX + self.now)
                if t is not None:
                    progress = True
                    moved += 1
                    dst.handle_datagram(t[0], self.addr[id(src)], self.now, UNIX + self.now)
            if not progress:
                return moved

    def lose(self, src):
        return src.poll_transmit(UNIX + self.now)

    def advance(self, ms):
        """Runs both endpoints' timers up to now + ms, carrying datagrams after each."""
        end = self.now + ms
        while True:
            due = [t for t in (self.a.poll_timeout(), self.b.poll_timeout()) if t is not None and t <= end]
            if not due:
                break
            self.now = max(self.now, min(due))
            self.a.handle_timeout(self.now)
            self.b.handle_timeout(self.now)
            self.carry()
        self.now = end


def done_outcomes(ep):
    return {e[1]: e[2] for e in events(ep, _nomq.EV_PUBLISH_DONE)}


# QoS 0/1/2 in both versions, one message each, confirmed where QoS asks for it.
for version in (1, 2):
    net = Net(version)
    net.b.subscribe("sensors/temp")
    ids = [net.a.publish(B, "sensors/temp", "reading %d" % q, qos=q, now_ms=net.now) for q in (0, 1, 2)]
    net.carry()
    got = events(net.b, _nomq.EV_MESSAGE)
    check([(e[1], e[2], e[3], e[4]) for e in got] == [("sensors/temp", b"reading %d" % q, A, q) for q in (0, 1, 2)],
          "v%d: three messages with channel, payload, sender and QoS: %r" % (version, got))
    outcomes = done_outcomes(net.a)
    check(outcomes == {ids[0]: _nomq.OUTCOME_SENT, ids[1]: _nomq.OUTCOME_CONFIRMED, ids[2]: _nomq.OUTCOME_CONFIRMED},
          "v%d: QoS 0 sent, QoS 1 and 2 confirmed: %r" % (version, outcomes))
    stats = net.a.stats()
    check(stats["published"] == 3 and stats["confirmed"] == 2, "v%d: stats count the publishes: %r" % (version, stats))
    check(all(isinstance(v, int) for v in stats.values()) and len(stats) == 20, "v%d: 20 counters" % version)

# A lost datagram is retransmitted when its timer runs; the receiver delivers it once.
net = Net(2)
net.b.subscribe("c")
pid = net.a.publish(B, "c", b"once", qos=2, now_ms=net.now)
check(net.lose(net.a) is not None, "the first transmission is lost")
check(net.a.poll_timeout() is not None, "a retransmission timer is armed")
net.advance(1000)
check([e[2] for e in events(net.b, _nomq.EV_MESSAGE)] == [b"once"], "delivered once after the retransmission")
check(done_outcomes(net.a) == {pid: _nomq.OUTCOME_CONFIRMED}, "confirmed after the retransmission")
check(net.a.stats()["retransmitted"] >= 1, "the retransmission is counted")

# Nobody answers: the publish expires when its ttl runs out.
net = Net(1)
pid = net.a.publish(B, "c", "lost", qos=1, ttl=2, now_ms=net.now)
while net.lose(net.a) is not None:
    pass
for _ in range(40):
    at = net.a.poll_timeout()
    if at is None:
        break
    net.now = at
    net.a.handle_timeout(net.now)
    while net.lose(net.a) is not None:
        pass
    outcomes = done_outcomes(net.a)
    if outcomes:
        break
check(outcomes == {pid: _nomq.OUTCOME_EXPIRED}, "unanswered QoS 1 expires: %r" % outcomes)

# Wrong keys: the datagram is refused and counted, nothing is delivered, the node goes on.
a = _nomq.Endpoint(K1, K2, 1, now_ms=1000)
stranger = _nomq.Endpoint(OTHER, K2, 1, now_ms=1000)
a.subscribe("c")
stranger.publish(A, "c", "intruder", qos=0, now_ms=1000)
d = stranger.poll_transmit(UNIX)
a.handle_datagram(d[0], B, 1000, UNIX)
check(events(a) == [] and a.stats()["rejected_auth"] == 1, "wrong keys: refused and counted")
a.handle_datagram(b"\x00garbage", B, 1000, UNIX)
a.handle_datagram(d[0], B, 1000, UNIX + 120000)
s = a.stats()
check(s["rejected_malformed"] + s["rejected_version"] >= 1, "garbage counted: %r" % s)
check(s["datagrams_in"] == 3, "every datagram fed is counted")

# Outcomes past unread messages: poll_event(False) leaves messages queued, in order, and
# takes the publish outcomes behind them.
net = Net(1)
net.a.subscribe("back")
net.b.subscribe("c")
ids = []
for i in range(3):
    net.b.publish(A, "back", "m%d" % i, qos=1, now_ms=net.now)
    ids.append(net.a.publish(B, "c", "out", qos=1, now_ms=net.now))
    net.carry()
others = []
while True:
    e = net.a.poll_event(False)
    if e is None:
        break
    others.append(e)
check(all(e[0] != _nomq.EV_MESSAGE for e in others), "poll_event(False) gives no message")
check([e[1] for e in others if e[0] == _nomq.EV_PUBLISH_DONE] == ids, "every outcome, in order: %r" % others)
check([e[2] for e in events(net.a)] == [b"m0", b"m1", b"m2"], "the messages waited, in order")

# Large messages: a v2 datagram bigger than the stack buffer and an event bigger than the
# event buffer go through their heap paths intact.
net = Net(2)
net.b.subscribe("big")
payload = bytes(i % 251 for i in range(20000))
net.a.publish(B, "big", payload, qos=1, now_ms=net.now)
net.carry()
got = events(net.b, _nomq.EV_MESSAGE)
check(len(got) == 1 and got[0][2] == payload, "a 20000-byte v2 message arrives intact")
check(net.a.max_datagram_len() > 20000, "v2 datagrams can carry it")

# Addresses: IPv6 text in, the same text out; the unix port's sockaddr bytes accepted.
net = Net(1)
net.b.subscribe("c")
six = ("2001:db8::1", 7000)
net.addr[id(net.a)] = six
net.a.publish(B, "c", "v6", qos=0, now_ms=net.now)
net.carry()
got = events(net.b, _nomq.EV_MESSAGE)
check(got and got[0][3] == ("2001:db8:0:0:0:0:0:1", 7000), "IPv6 sender as eight groups: %r" % (got and got[0][3],))
sockaddr = bytes([2, 0, 0x1F, 0x40, 127, 0, 0, 1]) + bytes(8)  # AF_INET, port 8000, 127.0.0.1
net.a.publish(sockaddr, "c", "to a sockaddr", qos=0, now_ms=net.now)
t = net.a.poll_transmit(UNIX)
check(t is not None and t[1] == ("127.0.0.1", 8000), "sockaddr bytes as a destination: %r" % (t and t[1],))
net.a.heartbeat(("192.168.1.255", 8888))
t = net.a.poll_transmit(UNIX)
check(t is not None and t[1] == ("192.168.1.255", 8888), "a heartbeat to a broadcast address")

# Bad input: each refused with its class and a message; the endpoint stays usable.
ep = _nomq.Endpoint(K1, K2, 1, now_ms=1000)


def usable(what):
    ep.subscribe("ok")
    check(isinstance(ep.publish(B, "ok", "fine", qos=0, now_ms=1000), int), "usable after " + what)


def refused(exc, what, fn, *args, **kwargs):
    e = raises(exc, what, fn, *args, **kwargs)
    check(e is not None and len(str(e)) > 0, what + ": has a message")
    usable(what)
    return e


e = refused(ValueError, "v1 payload over its limit", ep.publish, B, "c", "x" * 5000, 1)
check(e is not None and "nomq 103" in str(e), "payload too large names its result: %s" % e)
refused(ValueError, "v1 payload that is not UTF-8", ep.publish, B, "c", b"\xff\xfe", 1)
refused(ValueError, "qos 3", ep.publish, B, "c", "x", 3)
refused(ValueError, "priority 16", ep.publish, B, "c", "x", 1, False, 16)
refused(TypeError, "channel as bytes", ep.publish, B, b"c", "x")
refused(TypeError, "payload as int", ep.publish, B, "c", 5)
refused(TypeError, "address as str", ep.publish, "10.0.0.2:9002", "c", "x")
refused(ValueError, "address with a host name", ep.publish, ("example.com", 1), "c", "x")
refused(ValueError, "address with a bad IPv4", ep.publish, ("10.0.0.256", 1), "c", "x")
refused(ValueError, "port out of range", ep.publish, ("10.0.0.1", 70000), "c", "x")
refused(ValueError, "sockaddr of the wrong size", ep.publish, bytes(10), "c", "x")
refused(TypeError, "datagram as str", ep.handle_datagram, "text", B)
refused(ValueError, "short key", _nomq.Endpoint, K1[:16], K2)
refused(ValueError, "version 3", _nomq.Endpoint, K1, K2, 3)
refused(ValueError, "a zero bound", _nomq.Endpoint, K1, K2, 1, max_events=0)
refused(TypeError, "a bound of the wrong type", _nomq.Endpoint, K1, K2, 1, max_events="many")
refused(TypeError, "an unknown keyword", _nomq.Endpoint, K1, K2, 1, max_everything=1)
refused(TypeError, "urandom not callable", _nomq.Endpoint, K1, K2, 1, urandom=5)

# Tables are bounded: a subscription past max_subscriptions is refused, not stored.
small = _nomq.Endpoint(K1, K2, 1, now_ms=1000, max_subscriptions=2)
small.subscribe("one")
small.subscribe("two")
e = raises(_nomq.QueueFull, "a third subscription with room for two", small.subscribe, "three")
check(e is not None and "nomq 400" in str(e), "full names its result: %s" % e)

# A urandom that fails inside a nomq call: the exception reaches the caller after the call,
# the datagram sealed without its random bytes is not handed out, and the endpoint goes on.
class Flaky:
    def __init__(self):
        self.fail = False

    def __call__(self, n):
        if self.fail:
            raise OSError(5)
        return bytes((i * 7 + 1) % 256 for i in range(n))


flaky = Flaky()
ep = _nomq.Endpoint(K1, K2, 1, now_ms=1000, urandom=flaky)
ep.publish(B, "c", "first", qos=0, now_ms=1000)
flaky.fail = True
raised = None
for _ in range(8):  # the pool holds some bytes: fail once it runs dry
    try:
        ep.publish(B, "c", "more", qos=0, now_ms=1000)
        while ep.poll_transmit(UNIX) is not None:
            pass
    except OSError as exc:
        raised = exc
        break
check(raised is not None and raised.errno == 5, "urandom's OSError reaches the caller: %r" % raised)
flaky.fail = False
ep.publish(B, "c", "after", qos=0, now_ms=1000)
sent = []
while True:
    t = ep.poll_transmit(UNIX)
    if t is None:
        break
    sent.append(t)
check(len(sent) >= 1, "the endpoint works again once urandom does")

# Closed: every call raises NomqError (CLOSED); close twice is fine.
ep.close()
ep.close()
raises(_nomq.NomqError, "publish after close", ep.publish, B, "c", "x")
raises(_nomq.NomqError, "poll_event after close", ep.poll_event)

# Collections between calls: endpoints kept across gc.collect() keep working, dropped ones
# are reclaimed.
kept = Net(2)
kept.b.subscribe("gc")
for i in range(60):
    kept.a.publish(B, "gc", b"m%d" % i, qos=1 + i % 2, now_ms=kept.now)
    if i % 10 == 0:
        _nomq.Endpoint(K1, K2, 1 + i % 2, now_ms=1000).subscribe("garbage")
        gc.collect()
    kept.carry()
got = [e[2] for e in events(kept.b, _nomq.EV_MESSAGE)]
check(got == [b"m%d" % i for i in range(60)], "60 messages in order across collections")
check(len(done_outcomes(kept.a)) == 60, "60 outcomes across collections")


def churn(n):
    for i in range(n):
        _nomq.Endpoint(K1, K2, 2, now_ms=1000, max_payload=1024).subscribe("x")


# The collector is conservative: a few endpoints made last may survive a collection through
# stale words on the C stack. A leak grows with the count; that residue does not.
churn(20)
gc.collect()
before = gc.mem_alloc()
churn(100)
gc.collect()
check(gc.mem_alloc() - before < 32768, "100 dropped endpoints are reclaimed: %d -> %d bytes" % (before, gc.mem_alloc()))

# Embedded bounds: a v2 endpoint for 1 KiB messages holds a few KiB, not the 64 KiB default.
gc.collect()
before = gc.mem_alloc()
small = _nomq.Endpoint(K1, K2, 2, now_ms=1000, max_payload=1024, max_pending=32, max_inbound=512, max_events=64)
gc.collect()
held = gc.mem_alloc() - before
# In a user C module nomq allocates with malloc (not counted); in a native module from the heap.
check(held < 16384, "an endpoint with embedded bounds holds %d bytes of the heap" % held)
small.close()

finish("test_endpoint")

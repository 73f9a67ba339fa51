"""`_nomq` under garbage collection: packets, payloads and codecs kept across gc.collect()
stay intact; codecs and packets dropped in a loop are reclaimed (the free heap returns to its
level after a collection); codecs freed by their finaliser or close() leave nothing behind
(valgrind checks that natively, scripts/test-micropython.sh)."""
import gc

import _nomq
from mptest import check, finish

K1 = bytes(range(32))
K2 = bytes(range(0xA0, 0xC0))
NOW = 1750000000000
ROUNDS = 300


def round_trip(codec, i):
    message = b"reading %d " % i + bytes(i % 200)
    d = codec.seal_publish("sensors/%d" % (i % 7), message, packet_id=i, timestamp_ms=NOW + i)
    return codec.open(d, now_ms=NOW + i), message


# Objects kept while the collector runs between calls. Each codec's datagram for fixed
# inputs, taken now, must come out the same at the end: a codec whose native memory the
# collector reclaimed (and churn overwrote) would seal with other keys.
codecs = [_nomq.Codec(K1, K2, version=1 + i % 2) for i in range(8)]


def fixed_seal(codec):
    return codec.seal_publish("fixed", "same", packet_id=1, session_id=2, timestamp_ms=NOW, iv=bytes(16), nonce=3)


references = [fixed_seal(c) for c in codecs]
kept = []
for i in range(ROUNDS):
    codec = codecs[i % len(codecs)]
    p, message = round_trip(codec, i)
    if codec.version == 1:
        message = message.decode()
        check(p.text == message, "text intact in round %d" % i)
    else:
        check(p.payload == message, "payload intact in round %d" % i)
    kept.append((p, message))
    if i % 10 == 0:
        gc.collect()
gc.collect()
bad = [i for i, (p, m) in enumerate(kept) if p.packet_id != i or (p.payload if isinstance(m, bytes) else p.text) != m]
check(not bad, "every kept packet intact after collections: %r" % bad[:5])
kept = None

# Churn: codecs and packets made and dropped; the heap must come back.
gc.collect()
free_before = gc.mem_free()
for i in range(ROUNDS):
    codec = _nomq.Codec(K1, K2, version=1 + i % 2)
    round_trip(codec, i)
    if i % 3 == 0:
        codec.close()  # the others are freed by their finaliser (or, in a native module, the GC)
    codec = None
    if i % 25 == 0:
        gc.collect()
gc.collect()
free_after = gc.mem_free()
# A little slack for interned strings and the allocator's fragmentation.
check(free_after >= free_before - 4096, "heap reclaimed: %d bytes free before, %d after" % (free_before, free_after))
same = [i for i, c in enumerate(codecs) if fixed_seal(c) != references[i]]
check(not same, "kept codecs seal as before the churn: %r differ" % same)

# Exceptions raised mid-call leave nothing reachable behind either.
codec = codecs[0]
gc.collect()
free_before = gc.mem_free()
for i in range(ROUNDS):
    try:
        codec.open(b"\x00" * (100 + i), now_ms=NOW)
    except _nomq.FrameError:
        pass
    try:
        codec.seal_publish("c", b"\xff")  # v1 needs text
    except ValueError:
        pass
gc.collect()
free_after = gc.mem_free()
check(free_after >= free_before - 4096, "heap reclaimed after errors: %d before, %d after" % (free_before, free_after))
finish("test_gc")

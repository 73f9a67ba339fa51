"""nomq.Endpoint over UDP: a MicroPython node and the Rust `nomq` CLI both ways at QoS 0, 1
and 2 in v1 and v2; two nodes in one process (host names, async iteration, heartbeats and peer
events, a slow reader holding its senders back without losing anything); expiry, close and the
heap an endpoint takes; gc.collect() between the steps."""
import gc
import socket

import asyncio
import _nomq
import nomq_net as net
from mptest import check, finish
from nomq import Endpoint
from nomq.endpoint import ClosedError, ExpiredError

folder = net.setup("endpoint")
CONFIG = net.write_config(folder + "/keys.json")


def v2_flag(version):
    return ["--v2"] if version == 2 else []


async def cli_to_micropython(version):
    port = net.free_port()
    ep = Endpoint(net.KEY1, net.KEY2, version=version, bind=("127.0.0.1", port))
    await ep.start()
    check(ep.local_addr == "127.0.0.1:%d" % port, "local_addr %s" % ep.local_addr)
    ep.subscribe("to/mp")
    for qos in (0, 1, 2):
        gc.collect()
        text = "v%d qos %d #{i}" % (version, qos)
        pub = net.spawn(folder, "pub_v%d_q%d" % (version, qos),
                        net.cli("pub", "--config", CONFIG, "--to", "127.0.0.1:%d" % port, "--channel", "to/mp",
                                "--qos", qos, "--count", 3, "--json", *v2_flag(version), text))
        got = []
        for _ in range(3):
            m = await ep.recv(5000)
            if m is None:
                break
            got.append(m)
        what = "CLI -> MicroPython v%d qos %d" % (version, qos)
        check([m.text for m in got] == [text.replace("{i}", str(i)) for i in range(3)],
              "%s: %r" % (what, [m.payload for m in got]))
        check(all(m.channel == "to/mp" and m.qos == qos and m.addr[0] == "127.0.0.1" and not m.retain
                  for m in got), what + ": message fields")
        check(all(isinstance(m.payload, bytes) and m.timestamp_ms > 1600000000000 for m in got),
              what + ": payload bytes, sender's timestamp")
        check(await net.wait_exit(pub, 10) == 0, what + ": the CLI saw every publish confirmed")
        outcomes = [o["outcome"] for o in net.json_lines(pub + ".out")]
        check(outcomes == ["sent" if qos == 0 else "confirmed"] * 3, what + ": outcomes %r" % outcomes)
    s = ep.stats()
    check(s["delivered"] == 9 and s["rejected_auth"] == 0 and s["receive_errors"] == 0, "stats %r" % s)
    ep.close()


async def micropython_to_cli(version):
    sub_port = net.free_port()
    sub = net.spawn(folder, "sub_v%d" % version,
                    net.cli("sub", "--config", CONFIG, "--bind", "127.0.0.1:%d" % sub_port, "--channel", "to/cli",
                            "--count", 4, "--seconds", 20, "--json", *v2_flag(version)))
    check(await net.wait_text(sub + ".err", "listening"), "v%d: the CLI subscriber started" % version)
    ep = Endpoint(net.KEY1, net.KEY2, version=version, bind=("127.0.0.1", 0))
    await ep.start()
    to = ("127.0.0.1", sub_port)
    for qos in (0, 1, 2):
        gc.collect()
        await ep.publish("to/cli", "v%d qos %d" % (version, qos), to, qos=qos)
    await ep.publish("to/cli", b"retained, priority 5", to, qos=1, retain=True, priority=5)
    check(await net.wait_exit(sub, 10) == 0, "v%d: the CLI received 4 messages" % version)
    lines = net.json_lines(sub + ".out")
    check([(o["message"], o["qos"]) for o in lines]
          == [("v%d qos %d" % (version, q), q) for q in (0, 1, 2)] + [("retained, priority 5", 1)],
          "MicroPython -> CLI v%d: %r" % (version, lines))
    check(all(o["from"] == ep.local_addr for o in lines), "v%d: sent from the endpoint's port" % version)
    check(lines[-1]["retain"] is True and lines[-1]["priority"] == 5, "v%d: retain and priority" % version)
    if version == 1:
        check(ep.session_id == lines[0]["session_id"], "v1: session_id as on the wire")
    s = ep.stats()
    check(s["published"] == 4 and s["confirmed"] == 3 and s["expired"] == 0 and s["send_errors"] == 0,
          "v%d publisher stats %r" % (version, s))
    ep.close()


async def take(ep, n):
    """(text, qos) of the next n messages (fewer if they stop coming). No await in
    comprehensions on MicroPython."""
    got = []
    for _ in range(n):
        m = await ep.recv(2000)
        if m is None:
            break
        got.append((m.text, m.qos))
    return got


async def two_endpoints_in_one_process():
    a = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0))
    b = Endpoint(net.KEY1, net.KEY2, bind=("0.0.0.0", 0))
    await a.start()
    await b.start()
    a.subscribe("a/in")
    b.subscribe("b/in")
    peers = []  # a's peer events
    a.on_peer = lambda addr, alive: peers.append((addr, alive))
    b_addr = ("localhost", b._port)  # a host name: resolved once
    for qos in (0, 1, 2):
        gc.collect()
        await a.publish("b/in", "to b %d" % qos, b_addr, qos=qos)
        await b.publish("a/in", b"to a %d" % qos, ("127.0.0.1", a._port), qos=qos)
    got_b = await take(b, 3)
    got_a = await take(a, 3)
    check(got_b == [("to b %d" % q, q) for q in range(3)], "a -> b: %r" % got_b)
    check(got_a == [("to a %d" % q, q) for q in range(3)], "b -> a: %r" % got_a)

    # async iteration, a message's sender address used as the reply address
    async def replies():
        seen = []
        async for m in a:
            seen.append(m.text)
            await a.publish("b/in", "re: " + m.text, m.addr, qos=1)
            if len(seen) == 2:
                break
        return seen

    task = asyncio.create_task(replies())
    await b.publish("a/in", "one", ("127.0.0.1", a._port))
    await b.publish("a/in", "two", ("127.0.0.1", a._port))
    check(await task == ["one", "two"], "async for")
    got = await take(b, 2)
    check(got == [("re: one", 1), ("re: two", 1)], "replies to Message.addr: %r" % got)

    check(peers == [(("127.0.0.1", b._port), True)], "on_peer(addr, True) once b was heard: %r" % peers)
    # heartbeats: the peer answers
    a.heartbeat(("127.0.0.1", b._port))
    check(await net.until(lambda: b.stats()["heartbeats_answered"] == 1, 2), "the peer answered the heartbeat")

    # expiry: nobody confirms, the core stops after the ttl
    gc.collect()
    try:
        await a.publish("x", "lost", ("127.0.0.1", net.free_port()), qos=1, ttl=1)
        check(False, "ExpiredError")
    except ExpiredError as e:
        check(isinstance(e, _nomq.NomqError) and "ttl" in str(e), "ExpiredError: %s" % e)
    check(a.stats()["expired"] == 1, "expired counted")
    a.close()
    b.close()


async def slow_reader_loses_nothing():
    """A reader with room for 2 messages in its buffer and 4 in its core: the 12 publishes that
    do not fit are refused unanswered and retransmitted until it reads them."""
    reader = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0), message_buffer=2, max_events=4)
    sender = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0), initial_retry_ms=50, max_retry_ms=400)
    await reader.start()
    await sender.start()
    reader.subscribe("slow")
    to = ("127.0.0.1", reader._port)
    publishes = [asyncio.create_task(sender.publish("slow", "m%d" % i, to, qos=1)) for i in range(12)]
    await asyncio.sleep_ms(300)
    s = reader.stats()
    check(s["waiting"] == 2 and s["refused_full"] > 0, "held back while unread: %r" % s)
    gc.collect()
    got = []
    while len(got) < 12:
        m = await reader.recv(5000)
        if m is None:
            break
        got.append(m.text)
    check(sorted(got) == sorted("m%d" % i for i in range(12)), "every message arrived once: %r" % got)
    await asyncio.gather(*publishes)
    check(sender.stats()["confirmed"] == 12 and sender.stats()["retransmitted"] > 0, "all confirmed, some retried")
    reader.close()
    sender.close()


async def publishes_finish_while_messages_wait():
    """A node that publishes to a peer and gets messages back it does not read yet: with its
    message buffer full, its own publishes are still confirmed (their outcomes are taken past
    the waiting messages), and every message is there when it reads."""
    node = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0), message_buffer=1)
    peer = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0))
    await node.start()
    await peer.start()
    node.subscribe("back")
    peer.subscribe("out")
    to_node = ("127.0.0.1", node._port)
    to_peer = ("127.0.0.1", peer._port)
    for i in range(6):
        await peer.publish("back", "m%d" % i, to_node, qos=1)
    check(node.stats()["waiting"] == 1, "the node's buffer is full: %r" % node.stats())
    done = 0
    for i in range(6):
        await asyncio.wait_for_ms(node.publish("out", "o%d" % i, to_peer, qos=1), 3000)
        done += 1
    check(done == 6, "6 publishes confirmed while 6 messages wait unread")
    got = []
    while len(got) < 6:
        m = await node.recv(2000)
        if m is None:
            break
        got.append(m.text)
    check(got == ["m%d" % i for i in range(6)], "then every message, in order: %r" % got)
    node.close()
    peer.close()


async def ipv6():
    """An IPv6 node, a dual-stack one ("::") and an IPv4 one, and the CLI over IPv6."""
    probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        probe.bind(socket.getaddrinfo("::1", 0)[0][-1])
    except OSError as e:
        print("SKIPPED: IPv6 checks: ::1 cannot be bound here (%s)" % e)
        return
    finally:
        probe.close()
    v6 = Endpoint(net.KEY1, net.KEY2, bind=("::1", 0))
    dual = Endpoint(net.KEY1, net.KEY2, bind=("::", 0))
    v4 = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0))
    for ep in (v6, dual, v4):
        await ep.start()
        ep.subscribe("c")
    check(v6.local_addr.startswith("[::1]:"), "an IPv6 local_addr: " + v6.local_addr)
    await v6.publish("c", "v6 to dual", ("::1", dual._port), qos=2)
    m = await dual.recv(2000)
    check(m is not None and m.text == "v6 to dual" and ":" in m.addr[0], "IPv6 -> dual stack: %r" % m)
    await dual.publish("c", "dual to v6", m.addr, qos=1)
    m = await v6.recv(2000)
    check(m is not None and m.text == "dual to v6", "reply to an IPv6 sender")
    await v4.publish("c", "v4 to dual", ("127.0.0.1", dual._port), qos=1)
    m = await dual.recv(2000)
    check(m is not None and m.addr[0] == "127.0.0.1", "an IPv4-mapped sender is reported as IPv4: %r" % m)
    await dual.publish("c", "dual to v4", m.addr, qos=1)
    await dual.publish("c", "dual to localhost", ("localhost", v4._port), qos=1)
    got = await take(v4, 2)
    check(got == [("dual to v4", 1), ("dual to localhost", 1)], "dual stack -> IPv4 (mapped): %r" % got)
    pub = net.spawn(folder, "pub_v6", net.cli("pub", "--config", CONFIG, "--to", "[::1]:%d" % v6._port, "--channel",
                                              "c", "--qos", 1, "--json", "CLI over IPv6"))
    m = await v6.recv(5000)
    check(m is not None and m.text == "CLI over IPv6", "CLI -> IPv6 node")
    check(await net.wait_exit(pub, 10) == 0, "CLI over IPv6: confirmed")
    for ep in (v6, dual, v4):
        check(ep.stats()["send_errors"] == 0, "no send errors")
        ep.close()


async def close_and_heap():
    gc.collect()
    before = gc.mem_alloc()
    ep = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0))
    await ep.start()
    gc.collect()
    size = gc.mem_alloc() - before
    print("an endpoint with the embedded bounds, started: %d bytes of heap" % size)
    check(size < 40000, "an idle endpoint takes under 40 KB of heap (%d)" % size)
    ep.subscribe("c")
    waiting = asyncio.create_task(ep.publish("c", "x", ("127.0.0.1", net.free_port()), qos=1))
    await asyncio.sleep_ms(50)
    ep.close()
    try:
        await waiting
        check(False, "ClosedError for a publish awaited at close")
    except ClosedError:
        check(True, "ClosedError for a publish awaited at close")
    check(await ep.recv() is None and ep.recv_nowait() is None, "recv returns None once closed")
    for call, args in ((ep.subscribe, ("c",)), (ep.stats, ()), (ep.heartbeat, (("127.0.0.1", 1),))):
        try:
            call(*args)
            check(False, "ClosedError after close")
        except ClosedError:
            check(True, "ClosedError after close")
    ep.close()  # twice: nothing
    gc.collect()
    check(gc.mem_alloc() - before < 2000, "the heap is back after close (%d)" % (gc.mem_alloc() - before))


async def main():
    try:
        for version in (1, 2):
            await cli_to_micropython(version)
            await micropython_to_cli(version)
        await two_endpoints_in_one_process()
        await slow_reader_loses_nothing()
        await publishes_finish_while_messages_wait()
        await ipv6()
        await close_and_heap()
    finally:
        net.stop_all()


asyncio.run(main())
finish("test_nomq_endpoint")

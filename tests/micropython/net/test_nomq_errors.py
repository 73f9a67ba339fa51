"""Bad input to nomq.Endpoint: datagrams under the wrong keys, of the other version, garbage
and replays are refused and counted while the node keeps working; oversize payloads raise
ValueError, arguments of the wrong type TypeError, out of range ValueError; a round trip
works after each; gc.collect() between the steps."""
import gc
import os
import socket

import asyncio
import _nomq
import nomq_net as net
from mptest import check, finish, raises
from nomq import Endpoint

folder = net.setup("errors")
CONFIG = net.write_config(folder + "/keys.json")
OTHER_KEYS = net.write_config(folder + "/other.json", keys=(net.KEY2, net.KEY1))


async def round_trip(sender, receiver, what):
    """A QoS 1 publish from sender to receiver still arrives and is confirmed."""
    gc.collect()
    receiver.subscribe("rt")
    text = "still working after " + what
    await sender.publish("rt", text, ("127.0.0.1", receiver._port), qos=1)
    m = await receiver.recv(2000)
    check(m is not None and m.text == text, "round trip after " + what)


def raw_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(socket.getaddrinfo("127.0.0.1", 0)[0][-1])
    return s


async def refused_datagrams():
    port = net.free_port()
    ep = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", port))
    peer = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0))
    await ep.start()
    await peer.start()
    ep.subscribe("c")
    to = "127.0.0.1:%d" % port

    # the wrong keys: refused unanswered, so the sender's QoS 1 publish expires
    status = net.run(folder, "wrong_keys", net.cli("pub", "--config", OTHER_KEYS, "--to", to, "--channel", "c",
                                                   "--qos", 1, "--ttl", 1, "--json", "under other keys"))
    check(status == 1, "wrong keys: the CLI's publish was never confirmed")
    # (net.run blocked the VM: the endpoint reads the datagrams now)
    check(await net.until(lambda: ep.stats()["rejected_auth"] >= 1, 2), "wrong keys: counted in rejected_auth")
    check(ep.stats()["delivered"] == 0, "wrong keys: nothing delivered")
    check(ep.recv_nowait() is None, "wrong keys: nothing delivered")
    await round_trip(peer, ep, "wrong keys")

    # a message larger than max_payload (1024 by default) is refused: the CLI sends 1500 bytes
    status = net.run(folder, "too_large", net.cli("pub", "--config", CONFIG, "--to", to, "--channel", "c", "--qos", 1,
                                                  "--ttl", 1, "--json", "x" * 1500))
    check(status == 1, "too large: the CLI's publish was never confirmed")
    check(await net.until(lambda: ep.stats()["rejected_malformed"] >= 1, 2), "too large: counted as malformed")
    check(ep.recv_nowait() is None, "too large: nothing delivered")
    await round_trip(peer, ep, "too large a message")

    # the other version
    status = net.run(folder, "v2_to_v1", net.cli("pub", "--v2", "--config", CONFIG, "--to", to, "--channel", "c",
                                                 "--qos", 0, "--json", "v2 to a v1 node"))
    check(status == 0, "v2 datagram sent")
    check(await net.until(lambda: ep.stats()["rejected_version"] + ep.stats()["rejected_malformed"] >= 1, 2),
          "the other version counted: %r" % ep.stats())
    check(ep.recv_nowait() is None, "the other version: nothing delivered")

    # garbage, an empty datagram and one longer than the largest the endpoint reads
    raw = raw_socket()
    sockaddr = socket.getaddrinfo("127.0.0.1", port)[0][-1]
    before = ep.stats()["datagrams_in"]
    for datagram in (b"\x4e\x4d\x01garbage", os.urandom(200), b"", os.urandom(4000)):
        raw.sendto(datagram, sockaddr)
    check(await net.until(lambda: ep.stats()["datagrams_in"] >= before + 4, 2), "garbage read")
    s = ep.stats()
    check(s["rejected_malformed"] + s["rejected_version"] >= 6 and s["delivered"] == 2, "garbage counted: %r" % s)
    await round_trip(peer, ep, "garbage")

    # a replayed datagram: captured from the CLI, then sent twice
    capture = raw_socket()
    capture_port = net.free_port()
    capture.close()
    capture = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    capture.bind(socket.getaddrinfo("127.0.0.1", capture_port)[0][-1])
    net.run(folder, "capture", net.cli("pub", "--config", CONFIG, "--to", "127.0.0.1:%d" % capture_port,
                                       "--channel", "c", "--qos", 0, "--json", "said once"))
    datagram = capture.recvfrom(4096)[0]
    capture.close()
    raw.sendto(datagram, sockaddr)
    raw.sendto(datagram, sockaddr)
    check(await net.until(lambda: ep.stats()["duplicates"] >= 1, 2), "the replay counted as a duplicate")
    m = await ep.recv(1000)
    check(m is not None and m.text == "said once", "the first copy delivered")
    check(await ep.recv(300) is None, "the replay not delivered")
    check(ep.stats()["receive_errors"] == 0, "refusals are the core's counters, not errors")
    raw.close()
    await round_trip(peer, ep, "a replay")
    ep.close()
    peer.close()


async def bad_arguments():
    a = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0))
    b = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0))
    v2 = Endpoint(net.KEY1, net.KEY2, version=2, bind=("127.0.0.1", 0))
    for ep in (a, b, v2):
        await ep.start()
    to = ("127.0.0.1", b._port)
    gc.collect()

    # oversize payloads: 1024 bytes by default (the embedded profile); v1 carries 1919 bytes
    # of text at most, v2 65402
    raises(ValueError, "v1 payload of 1025 bytes", a.publish_nowait, "c", "x" * 1025, to)
    raises(ValueError, "v2 payload of 1025 bytes", v2.publish_nowait, "c", b"x" * 1025, to)
    big = Endpoint(net.KEY1, net.KEY2, version=2, bind=("127.0.0.1", 0), max_payload=65402)
    await big.start()
    big.publish_nowait("c", b"x" * 65402, ("127.0.0.1", net.free_port()), 0)
    check(big.stats()["published"] == 1, "v2 max_payload up to 65402")
    raises(ValueError, "v2 payload of 65403 bytes", big.publish_nowait, "c", b"x" * 65403, to, 0)
    big.close()
    raises(ValueError, "v1 max_payload over 1919", Endpoint, net.KEY1, net.KEY2, max_payload=1920)
    raises(ValueError, "v2 max_payload over 65402", Endpoint, net.KEY1, net.KEY2, version=2, max_payload=65403)
    raises(ValueError, "a v1 payload that is not UTF-8", a.publish_nowait, "c", b"\xff\xfe", to)
    await round_trip(a, b, "oversize payloads")

    # wrong types
    raises(TypeError, "channel int", a.publish_nowait, 5, b"x", to)
    raises(TypeError, "payload int", a.publish_nowait, "c", 5, to)
    raises(TypeError, "payload None", a.publish_nowait, "c", None, to)
    raises(TypeError, "addr str", a.publish_nowait, "c", b"x", "127.0.0.1:1")
    raises(TypeError, "addr of three", a.publish_nowait, "c", b"x", ("127.0.0.1", 1, 2))
    raises(TypeError, "qos float", a.publish_nowait, "c", b"x", to, 1.0)
    raises(TypeError, "port str", a.publish_nowait, "c", b"x", ("127.0.0.1", "1"))
    raises(TypeError, "subscribe int", a.subscribe, 5)
    raises(TypeError, "key str", Endpoint, "k" * 32, net.KEY2)
    raises(TypeError, "an unknown bound", Endpoint, net.KEY1, net.KEY2, max_everything=1)
    raises(TypeError, "urandom not callable", Endpoint, net.KEY1, net.KEY2, urandom=5)
    await round_trip(a, b, "wrong types")

    # out of range
    raises(ValueError, "qos 3", a.publish_nowait, "c", b"x", to, 3)
    raises(ValueError, "priority 16", a.publish_nowait, "c", b"x", to, 1, False, 16)
    raises(ValueError, "ttl 65536", a.publish_nowait, "c", b"x", to, 1, False, 0, 65536)
    raises(ValueError, "port 65536", a.publish_nowait, "c", b"x", ("127.0.0.1", 65536))
    raises(ValueError, "key of 31 bytes", Endpoint, net.KEY1[:31], net.KEY2)
    raises(ValueError, "message_buffer 0", Endpoint, net.KEY1, net.KEY2, message_buffer=0)
    raises(ValueError, "max_pending 0", Endpoint, net.KEY1, net.KEY2, max_pending=0)
    raises(ValueError, "version 3", Endpoint, net.KEY1, net.KEY2, version=3)
    raises(OSError, "a host name that does not resolve", a.publish_nowait, "c", b"x", ("no-such-host.invalid", 1))
    await round_trip(a, b, "out of range")

    # a port in use, and publishing before start
    taken = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", b._port))
    try:
        await taken.start()
        check(False, "EADDRINUSE")
    except OSError as e:
        check(e.errno == 98, "a bound port: OSError EADDRINUSE (%s)" % e)
    raises(_nomq.NomqError, "publish before start", taken.publish_nowait, "c", b"x", to)
    taken.close()
    await round_trip(a, b, "a port in use")

    # a full pending table: the core's Full error, and the endpoint goes on
    small = Endpoint(net.KEY1, net.KEY2, bind=("127.0.0.1", 0), max_pending=2)
    await small.start()
    nobody = ("127.0.0.1", net.free_port())
    small.publish_nowait("c", b"1", nobody)
    small.publish_nowait("c", b"2", nobody)
    raises(_nomq.NomqError, "a third unconfirmed publish with max_pending 2", small.publish_nowait, "c", b"3", nobody)
    small.close()
    await round_trip(a, b, "a full pending table")
    for ep in (a, b, v2):
        ep.close()


async def main():
    try:
        await refused_datagrams()
        gc.collect()
        await bad_arguments()
    finally:
        net.stop_all()


asyncio.run(main())
finish("test_nomq_errors")

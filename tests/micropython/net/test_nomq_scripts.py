"""Scripts in the reference NoMQ's style, run unchanged in child interpreters:

1. examples/micropython/nomq_receiver.py then nomq_sender.py, from one directory with one
   config: three readings confirmed and printed; the sender alone exits with status 1;
2. the reference repository's own tests/sender.py and tests/receiver.py, from the checkout
   named by NOMQ_UPSTREAM_NOMQ (nothing is fetched here), with the board stand-ins of
   tests/micropython/board (network, machine.unique_id, uasyncio). They loop forever and
   talk to port 8888 (the sender broadcasts to 255.255.255.255:8888), so they run in a network
   namespace of their own when `unshare -rn` works (else on the host, if port 8888 is free),
   with the Rust CLI as the other peer, and are stopped with SIGINT (KeyboardInterrupt) once
   the messages were exchanged:
   - the sender's QoS 2 broadcast reaches `nomq sub` on port 8888, which confirms it;
   - `nomq pub` delivers three JSON messages to the receiver on port 8888 at QoS 2, and the
     sender's broadcast reaches the receiver too.
   Its tests/test.py runs too, and reports what it reports with the reference: 0 of 9.
   Without NOMQ_UPSTREAM_NOMQ this part prints SKIPPED: not run, so neither passed nor failed."""
import json
import os
import socket

import asyncio
import nomq_net as net
from mptest import check, finish

folder = net.setup("scripts")
EXAMPLES = net.ROOT + "/examples/micropython"


async def examples():
    d = folder + "/examples"
    net.sh("mkdir -p " + net.quote(d))
    port = net.free_port()
    net.write_config(d + "/nomq_config.json", ip="0.0.0.0", port=port)
    env, args = net.micropython(EXAMPLES + "/nomq_receiver.py")
    receiver = net.spawn(d, "receiver", args, 30, env)
    check(await net.wait_text(receiver + ".out", "ready"), "the example receiver started: " + net.read(receiver + ".err"))
    env, args = net.micropython(EXAMPLES + "/nomq_sender.py")
    status = net.run(d, "sender", args, 30, env)
    out = net.read(d + "/sender.out")
    check(status == 0 and "3 messages confirmed" in out, "the example sender: %d %s %s"
          % (status, out, net.read(d + "/sender.err")))
    check("is in use by another program" in out, "the sender took a port of its own")
    check(await net.wait_exit(receiver, 10) == 0, "the example receiver exited: " + net.read(receiver + ".err"))
    lines = net.read(receiver + ".out").strip().split("\n")
    check(lines == ["ready"] + ["sensors/temp reading %d" % i for i in range(3)], "the receiver printed %r" % lines)

    # alone, nothing is confirmed
    env, args = net.micropython(EXAMPLES + "/nomq_sender.py")
    status = net.run(d, "alone", args, 30, env)
    check(status == 1 and "3 of 3 messages not confirmed within 5 s" in net.read(d + "/alone.err"),
          "the example sender fails when nothing is confirmed: %d" % status)


SCENARIO = r"""
set -u
cd "$DIR"
if [ "$NETNS" = 1 ]; then
    ip link set lo up && ip route add default dev lo src 127.0.0.1 || exit 90
fi
export MICROPYPATH="$MPYPATH"
wait_for() {  # FILE TEXT TENTHS_OF_SECONDS
    n=0
    while ! grep -q "$2" "$1" 2> /dev/null; do
        n=$((n + 1)); [ $n -gt "$3" ] && return 1; sleep 0.1
    done
}
# 1. the upstream sender's broadcast to the Rust CLI on port 8888
timeout 40 "$CLI" sub --config nomq_config.json --bind 0.0.0.0:8888 --channel test_channel --count 1 --json \
    > a_sub.out 2> a_sub.err &
SUB=$!
wait_for a_sub.err listening 100
timeout -s INT 40 "$MPY" "$UP/tests/sender.py" > a_sender.out 2> a_sender.err &
SENDER=$!
wait_for a_sender.out "Confirmed: test_channel" 200
sleep 0.3
kill -INT $SENDER 2> /dev/null; wait $SENDER; echo $? > a_sender.rc
wait $SUB; echo $? > a_sub.rc
# 2. the Rust CLI and the upstream sender to the upstream receiver on port 8888
timeout -s INT 60 "$MPY" "$UP/tests/receiver.py" > b_receiver.out 2> b_receiver.err &
RECEIVER=$!
wait_for b_receiver.out "Starting to listen" 100
timeout 30 "$CLI" pub --config nomq_config.json --to 127.0.0.1:8888 --channel test_channel --qos 2 --count 3 \
    --json '{"seq": {i}}' > b_pub.out 2> b_pub.err; echo $? > b_pub.rc
timeout -s INT 40 "$MPY" "$UP/tests/sender.py" > b_sender.out 2> b_sender.err &
SENDER=$!
wait_for b_sender.out "Confirmed: test_channel" 200
wait_for b_receiver.out advanced_environmental_sensor 50
sleep 0.3
kill -INT $SENDER $RECEIVER 2> /dev/null
wait $SENDER; echo $? > b_sender.rc
wait $RECEIVER; echo $? > b_receiver.rc
"""


def port_8888_free():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(socket.getaddrinfo("0.0.0.0", 8888)[0][-1])
        return True
    except OSError:
        return False
    finally:
        s.close()


def upstream():
    checkout = os.getenv("NOMQ_UPSTREAM_NOMQ")
    if not checkout or not net.read(checkout + "/tests/sender.py") or not net.read(checkout + "/tests/receiver.py"):
        print("SKIPPED: the reference NoMQ's tests/sender.py and tests/receiver.py: set NOMQ_UPSTREAM_NOMQ to a "
              "checkout of github.com/armanghobadi/nomq (got %r)" % checkout)
        return
    d = folder + "/upstream"
    net.sh("mkdir -p " + net.quote(d))
    check(net.run(d, "keygen", net.cli("keygen", "--out", d + "/nomq_config.json", "--ip", "0.0.0.0", "--port", 8888))
          == 0, "nomq keygen: the reference's config format")
    with open(d + "/scenario.sh", "w") as f:
        f.write(SCENARIO)
    env = "DIR=%s CLI=%s MPY=%s UP=%s MPYPATH=%s" % (net.quote(d), net.quote(net.CLI), net.quote(net.MICROPYTHON),
                                                     net.quote(checkout), net.quote(net.child_path(board=True)))
    probe = "unshare -rn sh -c 'ip link set lo up && ip route add default dev lo src 127.0.0.1' > /dev/null 2>&1"
    if net.sh(probe) == 0:
        where = "a network namespace of their own"
        status = net.sh("cd %s && %s NETNS=1 timeout 180 unshare -rn sh scenario.sh > scenario.log 2>&1"
                        % (net.quote(d), env))
    elif port_8888_free():
        where = "the host (no network namespace: unshare -rn failed)"
        status = net.sh("cd %s && %s NETNS=0 timeout 180 sh scenario.sh > scenario.log 2>&1" % (net.quote(d), env))
    else:
        print("FAILED: the reference's scripts need port 8888: no network namespace (unshare -rn) and the host's "
              "port is in use")
        check(False, "the reference's scripts were not run (port 8888)")
        return
    print("the reference's scripts ran in " + where)
    check(status == 0, "the scenario ran: %d %s" % (status, net.read(d + "/scenario.log")))

    def rc(name):
        return net.read(d + "/" + name + ".rc").strip()

    def interrupted(name):
        # PyPI's unix interpreter runs inside a CPython process, whose own SIGINT handler may
        # also see the signal and end the process with 130 after the script's handler ran.
        return rc(name) in ("0", "130")

    # 1. the sender's broadcast, confirmed by the Rust CLI
    sender = net.read(d + "/a_sender.out")
    what = "reference sender -> nomq sub"
    check("Wi-Fi connected:" in sender and "Subscribing to test_channel..." in sender, what + ": ran: " + sender)
    check("[INFO] Confirmed: test_channel to 255.255.255.255:8888" in sender, what + ": QoS 2 confirmed")
    check("[WARNING] 0.0.0.0:8888 is in use by another program" in sender, what + ": took a port of its own")
    check("Program terminated by user" in sender and interrupted("a_sender"), what + ": stopped by SIGINT")
    check(rc("a_sub") == "0", what + ": the CLI received it: " + net.read(d + "/a_sub.err"))
    lines = net.json_lines(d + "/a_sub.out")
    if check(len(lines) == 1, what + ": one message"):
        m = lines[0]
        reading = json.loads(m["message"])
        check((m["channel"], m["qos"], m["retain"]) == ("test_channel", 2, True), what + ": channel, QoS 2, retain")
        check(reading["device_id"] == "020000000001" and reading["type"] == "advanced_environmental_sensor"
              and reading["data"]["temperature"]["value"] == 25.3, what + ": the sender's JSON: %r" % reading)

    # 2. the Rust CLI and the sender to the receiver
    receiver = net.read(d + "/b_receiver.out")
    what = "nomq pub -> reference receiver"
    check(rc("b_pub") == "0", what + ": the three QoS 2 publishes confirmed: " + net.read(d + "/b_pub.out"))
    got = [line for line in receiver.split("\n") if line.startswith("Received JSON: test_channel -> {'seq'")]
    check(got == ["Received JSON: test_channel -> {'seq': %d}" % i for i in range(3)], what + ": %r" % got)
    what = "reference sender -> reference receiver"
    check("[INFO] Confirmed: test_channel to 255.255.255.255:8888" in net.read(d + "/b_sender.out"),
          what + ": confirmed")
    check("Received JSON: test_channel -> {" in receiver and "'type': 'advanced_environmental_sensor'" in receiver,
          what + ": received " + receiver)
    check("Program terminated by user" in receiver and interrupted("b_receiver"), what + ": the receiver stopped")
    check("Error in main" not in receiver + sender, "no errors in the scripts")

    # tests/test.py: each of its tests constructs NoMQ(ip=..., port=...) or
    # NoMQ(encryption_key=...), which the reference's constructor does not take either: 0/9,
    # the reference's own result, each a TypeError
    env, args = net.micropython(checkout + "/tests/test.py", board=True)
    status = net.run(d, "test_py", args, 60, env)
    out = net.read(d + "/test_py.out")
    check(status == 0 and "0/9 tests passed" in out and out.count("unexpected keyword argument") == 9,
          "the reference's tests/test.py runs and fails as with the reference: %d %s" % (status, out[-300:]))


async def main():
    try:
        await examples()
    finally:
        net.stop_all()
    upstream()


asyncio.run(main())
finish("test_nomq_scripts")

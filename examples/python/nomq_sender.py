"""A NoMQ sender in the reference implementation's style (nomq.NoMQ). It publishes three
readings to the receiver at 127.0.0.1 on the config's port (or the port given as argument) and
exits with status 1 unless all three were confirmed.

Both scripts can share one directory and one nomq_config.json: the receiver, started first,
holds the config's port, and the sender, finding it taken, binds a port of its own."""
import asyncio
import sys
import time

from nomq import NoMQ


async def main(port):
    nomq = NoMQ(config_file="nomq_config.json", log_level="WARNING", timeout=5)
    for i in range(3):
        await nomq.publish("sensors/temp", "reading {}".format(i), qos=1, ip="127.0.0.1", port=port or nomq.port)
    # publish returns once the message is sent; it stays in pending_messages until confirmed.
    deadline = time.monotonic() + nomq.timeout
    while nomq.pending_messages and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    unconfirmed = len(nomq.pending_messages)
    nomq.close()
    if unconfirmed:
        print("{} of 3 messages not confirmed within {} s".format(unconfirmed, nomq.timeout), file=sys.stderr)
        sys.exit(1)
    print("3 messages confirmed")


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else None))

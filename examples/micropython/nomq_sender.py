"""A NoMQ sender for MicroPython in the reference implementation's style (nomq.NoMQ). It
publishes three readings at QoS 1 to the receiver (nomq_receiver.py) at RECEIVER on the
config's port (or the port given as argument on the unix port), and exits with status 1 unless
all three were confirmed within the config's timeout.

On a board, set SSID, PASSWORD and RECEIVER (the receiving board's address)."""
import sys
import time

import asyncio
from nomq import NoMQ

SSID = "your_wifi_ssid"
PASSWORD = "your_wifi_password"
RECEIVER = "127.0.0.1"


async def connect_wifi():
    try:
        import network
    except ImportError:
        return  # the unix port: the host's network
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    if not wlan.isconnected():
        print("Connecting to Wi-Fi...")
        wlan.connect(SSID, PASSWORD)
        while not wlan.isconnected():
            await asyncio.sleep(1)
    print("Wi-Fi connected:", wlan.ifconfig())


async def main(port):
    await connect_wifi()
    nomq = NoMQ(config_file="nomq_config.json", log_level="WARNING", timeout=5)
    for i in range(3):
        await nomq.publish("sensors/temp", "reading {}".format(i), qos=1, ip=RECEIVER, port=port or nomq.port)
    # publish returns once the message is sent; it stays in pending_messages until confirmed.
    deadline = time.ticks_add(time.ticks_ms(), int(nomq.timeout * 1000))
    while nomq.pending_messages and time.ticks_diff(deadline, time.ticks_ms()) > 0:
        await asyncio.sleep_ms(50)
    unconfirmed = len(nomq.pending_messages)
    nomq.close()
    if unconfirmed:
        print("{} of 3 messages not confirmed within {} s".format(unconfirmed, nomq.timeout), file=sys.stderr)
    else:
        print("3 messages confirmed")
    return unconfirmed


if asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else None)):
    sys.exit(1)

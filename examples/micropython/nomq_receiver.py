"""A NoMQ receiver for MicroPython in the reference implementation's style (nomq.NoMQ): the
documented `listener = await nomq.listen(); while True: listener.mssg()` loop. It receives
three readings on "sensors/temp", then exits.

Copy bindings/micropython/package (nomq/, NoMQ.py) and nomq_config.json (`nomq keygen --out
nomq_config.json` writes one) to the board, set SSID and PASSWORD, and start this first, then
nomq_sender.py. On the unix port both run from one directory with one config: the receiver
holds the config's port, and the sender, finding it taken, binds a port of its own."""
import asyncio

from nomq import NoMQ

SSID = "your_wifi_ssid"
PASSWORD = "your_wifi_password"


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


async def main():
    await connect_wifi()
    nomq = NoMQ(config_file="nomq_config.json", log_level="WARNING", timeout=5)
    await nomq.subscribe("sensors/temp")
    listener = await nomq.listen()
    print("ready")
    received = 0
    while received < 3:
        msg = listener.mssg()
        if msg:
            print(msg["channel"], msg["message"])
            received += 1
        await asyncio.sleep_ms(10)
    nomq.close()


asyncio.run(main())

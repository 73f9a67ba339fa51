"""mqboard's mqtt_async hello world, run over nomq's MQTT core (the `mqtt_async` module of
bindings/micropython/package).

    micropython mqtt_async_hello.py [server [port [count]]]

The server and port also come from MQTT_SERVER and MQTT_PORT (default 127.0.0.1:1883); it
publishes `count` messages (default: forever, as mqboard's does) every HELLO_INTERVAL seconds
(default 5) and prints what its subscription receives. On a board, set config.ssid and
config.wifi_pw: mqtt_async brings WiFi up first; the unix port skips WiFi.
"""
import os
import sys

from mqtt_async import MQTTClient, config
import uasyncio as asyncio


def arg(i, env, default):
    if len(sys.argv) > i:
        return sys.argv[i]
    return os.getenv(env) or default


# Change the following configs to suit your environment
TOPIC = "test/mqtt_async"
config.server = arg(1, "MQTT_SERVER", "127.0.0.1")  # can also be a hostname
config.port = int(arg(2, "MQTT_PORT", "1883"))
config.ssid = "wifi-ssid"
config.wifi_pw = "wifi-password"
COUNT = int(arg(3, "HELLO_COUNT", "0"))  # 0: forever
INTERVAL = float(os.getenv("HELLO_INTERVAL") or 5)

received = []


def callback(topic, msg, retained, qos):
    print(topic, msg, retained, qos)
    received.append(msg)


async def conn_callback(client):
    await client.subscribe(TOPIC, 1)


async def main(client):
    await client.connect()
    n = 0
    while not COUNT or n < COUNT:
        print("publish", n)
        await client.publish(TOPIC, "Hello World #{}!".format(n), qos=1)
        await asyncio.sleep(INTERVAL)
        n += 1
    await client.disconnect()


config.subs_cb = callback
config.connect_coro = conn_callback

client = MQTTClient(config)
loop = asyncio.get_event_loop()
loop.run_until_complete(main(client))

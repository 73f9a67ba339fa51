"""mqboard's mqtt_async hello world, unchanged except for the server, the callback's fifth
parameter (mqboard calls it with five, its hello world declares four) and a stop after three
messages so that it can run in a test."""
import asyncio
import sys

from mqtt_async import MQTTClient, config

TOPIC = "test/mqtt_async"
config.server = "127.0.0.1"
config.port = int(sys.argv[1])
config.ssid = "wifi-ssid"
config.wifi_pw = "wifi-password"

received = []


def callback(topic, msg, retained, qos, dup):
    print(topic, msg, retained, qos, flush=True)
    received.append(msg)


async def conn_callback(client):
    await client.subscribe(TOPIC, 1)


async def main(client):
    await client.connect()
    n = 0
    while len(received) < 3:
        print("publish", n, flush=True)
        await client.publish(TOPIC, "Hello World #{}!".format(n), qos=1)
        await asyncio.sleep(0.2)
        n += 1
    await client.disconnect()


config.subs_cb = callback
config.connect_coro = conn_callback

client = MQTTClient(config)
loop = asyncio.new_event_loop()
loop.run_until_complete(main(client))

"""A NoMQ receiver in the reference implementation's style (nomq.NoMQ): the documented
`listener = await nomq.listen(); while True: listener.mssg()` loop. Start it first, then
nomq_sender.py from the same directory: both read nomq_config.json (`nomq keygen --out
nomq_config.json` writes one)."""
import asyncio

from nomq import NoMQ


async def main():
    nomq = NoMQ(config_file="nomq_config.json", log_level="WARNING", timeout=5)
    await nomq.subscribe("sensors/temp")
    listener = await nomq.listen()
    print("ready", flush=True)
    received = 0
    while received < 3:
        msg = listener.mssg()
        if msg:
            print(msg["channel"], msg["message"], flush=True)
            received += 1
        await asyncio.sleep(0.01)
    nomq.close()


asyncio.run(main())

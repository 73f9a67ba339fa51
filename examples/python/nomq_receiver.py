"""A NoMQ receiver written exactly in the reference implementation's style (nomq.NoMQ): the
documented `listener = await nomq.listen(); while True: listener.mssg()` loop."""
import asyncio

from nomq import NoMQ


async def main():
    nomq = NoMQ(config_file="nomq_config.json", log_level="INFO", timeout=5)
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

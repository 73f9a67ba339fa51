"""A NoMQ sender written exactly in the reference implementation's style (nomq.NoMQ)."""
import asyncio
import sys

from nomq import NoMQ


async def main(port):
    nomq = NoMQ(config_file="nomq_config.json", log_level="INFO", timeout=5)
    for i in range(3):
        await nomq.publish("sensors/temp", "reading {}".format(i), qos=1, ip="127.0.0.1", port=port)
    nomq.close()


asyncio.run(main(int(sys.argv[1])))

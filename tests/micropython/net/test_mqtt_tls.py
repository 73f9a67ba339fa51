"""TLS: nomq.mqtt (`ssl=` an SSLContext) and mqtt_async (`config.ssl_params`) against a
mosquitto of its own with a TLS listener and a self-signed certificate (openssl), verified
as the CA with the server name checked; a wrong name fails the handshake.

Env: NOMQ_TMP (the broker's directory and the certificate go there)."""
import os
import ssl

import asyncio
from mptest import check, finish

TMP = os.getenv("NOMQ_TMP") or "/tmp"
ROOT = (__file__.rsplit("/", 1)[0] if "/" in __file__ else ".") + "/../../.."
DIR = TMP + "/tls-broker"
TLS_PORT = 30000 + int.from_bytes(os.urandom(2), "little") % 20000


def sh(cmd):
    return os.system(cmd) == 0


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def setup():
    os.system("rm -rf %s; mkdir -p %s" % (DIR, DIR))
    ok = sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem -out %s/cert.pem -days 2 "
            "-subj /CN=localhost -addext subjectAltName=DNS:localhost > /dev/null 2>&1" % (DIR, DIR))
    ok = ok and sh("openssl x509 -in %s/cert.pem -outform der -out %s/cert.der" % (DIR, DIR))
    # mosquitto started as root drops to its own user, which must be able to read the key.
    ok = ok and sh("chmod 644 %s/key.pem %s/cert.pem" % (DIR, DIR))
    if not check(ok, "openssl made a certificate"):
        return False
    extra = "listener %d 127.0.0.1\\ncertfile %s/cert.pem\\nkeyfile %s/key.pem" % (TLS_PORT, DIR, DIR)
    ok = sh("python3 %s/tests/support/mosquitto.py start %s --extra \"$(printf '%s')\" > %s/port.out"
            % (ROOT, DIR, extra, DIR))
    return check(ok, "a mosquitto with a TLS listener on %d" % TLS_PORT)


def context(verify=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=read(DIR + "/cert.der"))
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def nomq_tls():
    from nomq.mqtt import MqttClient

    c = MqttClient("127.0.0.1", TLS_PORT, client_id="mpt-tls", ssl=context(), server_hostname="localhost")
    await c.connect()
    check(await c.subscribe("tls/t", 2) == b"\x02", "TLS: subscribed")
    for qos in (0, 1, 2):
        await c.publish("tls/t", b"secret %d" % qos, qos=qos)
    got = []
    try:
        while len(got) < 3:
            got.append((await asyncio.wait_for_ms(c.recv(), 3000)).payload)
    except asyncio.TimeoutError:
        pass
    check(got == [b"secret 0", b"secret 1", b"secret 2"], "TLS: QoS 0/1/2 round trip: %r" % got)
    await c.disconnect()

    wrong = MqttClient("127.0.0.1", TLS_PORT, client_id="mpt-tls-wrong", ssl=context(), server_hostname="not-localhost",
                       reconnect=False)
    try:
        await wrong.connect(timeout_ms=3000)
        check(False, "TLS: a wrong server name must not connect")
    except OSError:
        check(not wrong.connected, "TLS: a wrong server name fails the handshake")
    wrong.close()


async def mqtt_async_tls():
    from mqtt_async import MQTTClient, config

    got = []
    conf = config.copy()
    conf.server = "127.0.0.1"
    conf.port = TLS_PORT
    conf.client_id = "mpa-tls"
    conf.ssl_params = {"server_hostname": "localhost", "cadata": read(DIR + "/cert.der"), "cert_reqs": ssl.CERT_REQUIRED}
    conf.subs_cb = lambda topic, msg, retained, qos: got.append(msg)
    c = MQTTClient(conf)
    await c.connect()
    await c.subscribe("tls/ma", 1)
    await c.publish("tls/ma", "over TLS", qos=1)
    for _ in range(100):
        if got:
            break
        await asyncio.sleep_ms(20)
    check(got == [b"over TLS"], "mqtt_async over TLS (ssl_params): %r" % got)
    await c.disconnect()


async def main():
    await nomq_tls()
    await mqtt_async_tls()


if setup():
    try:
        asyncio.run(main())
    finally:
        os.system("python3 %s/tests/support/mosquitto.py stop %s > /dev/null" % (ROOT, DIR))
finish("test_mqtt_tls")

"""nomq.mqtt.Client over TLS against a real mosquitto: a CA and certificates generated here,
server verification, mutual TLS, and the clear errors of an untrusted server and a missing
client certificate."""
import asyncio
import datetime
import os
import shutil
import tempfile

import nomq
import pytest
from mosquitto import Mosquitto
from support import free_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from nomq.mqtt import TLS, Client, Reconnect


def _cert(name, issuer=None, issuer_key=None, ca=False, san=None):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer or subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert, key, pem, key_pem


@pytest.fixture(scope="module")
def tls_broker():
    ca, ca_key, ca_pem, _ = _cert("nomq test CA", ca=True)
    _, _, server_pem, server_key = _cert("localhost", ca.subject, ca_key, san="localhost")
    _, _, client_pem, client_key = _cert("client-1", ca.subject, ca_key)
    d = tempfile.mkdtemp(prefix="nomq-py-tls-")
    os.chmod(d, 0o777)
    files = {"ca.pem": ca_pem, "server.pem": server_pem, "server.key": server_key}
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(d, name), 0o644)
    port, mport = free_port(), free_port()
    files = f"cafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n"
    extra = f"listener {port} 127.0.0.1\n{files}listener {mport} 127.0.0.1\n{files}require_certificate true\n"
    with Mosquitto(os.path.join(d, "broker"), extra=extra):
        yield dict(port=port, mutual_port=mport, ca=ca_pem, cert=client_pem, key=client_key)
    shutil.rmtree(d, ignore_errors=True)


def test_tls_and_mutual_tls(tls_broker):
    b = tls_broker

    async def round_trip(port, tls):
        async with Client(f"mqtts://localhost:{port}", client_id=f"tls-{port}", tls=tls) as c:
            await c.subscribe("tls/t", 1)
            await c.publish("tls/t", b"secret", qos=1)
            assert (await c.recv(timeout=5)).payload == b"secret"

    async def main():
        await round_trip(b["port"], TLS(ca_pem=b["ca"]))
        await round_trip(b["mutual_port"], TLS(ca_pem=b["ca"], client_cert_pem=b["cert"], client_key_pem=b["key"]))
        # A server the client does not trust: a TLS error, not a hang.
        other_ca = _cert("someone else", ca=True)[2]
        with pytest.raises(nomq.TLSError):
            await Client(f"mqtts://localhost:{b['port']}", tls=TLS(ca_pem=other_ca), connect_timeout=5,
                         reconnect=Reconnect(enabled=False)).connect()
        # Mutual TLS without a client certificate: refused.
        with pytest.raises(nomq.NomqError):
            await Client(f"mqtts://localhost:{b['mutual_port']}", tls=TLS(ca_pem=b["ca"]), connect_timeout=5,
                         reconnect=Reconnect(enabled=False)).connect()
        with pytest.raises(nomq.TLSError):
            await Client(f"mqtts://localhost:{b['port']}", tls=TLS(ca_pem=b"not a pem"), connect_timeout=5).connect()

    asyncio.run(main())

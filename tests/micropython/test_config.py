"""The reference's config file through `_nomq.read_config` / `write_config`: the file the
reference wrote (tests/vectors, config_example) reads back to its settings; a written file reads
back to what was written, its IV from `urandom`; a plain JSON object is accepted; bad files and
bad arguments raise their class and leave the VM usable."""
import _nomq
from mptest import check, raises, finish
from nomq_vectors import CONFIG_EXAMPLE as REF

SETTINGS = ("encryption_key", "hmac_key", "ip", "port", "use_ipv6")

got = _nomq.read_config(REF["file_text"])
check(all(got[k] == REF[k] for k in SETTINGS), "the reference's file reads back: %r" % got)

text = _nomq.write_config(REF["encryption_key"], REF["hmac_key"], "192.168.4.1", 9999, False,
                          urandom=lambda n: REF["iv"][:n])
again = _nomq.read_config(text)
check(again["ip"] == "192.168.4.1" and again["port"] == 9999 and again["encryption_key"] == REF["encryption_key"],
      "a written file reads back: %r" % again)
check(text.startswith(REF["file_text"][:20]), "the IV comes from urandom (the file starts with it, in base64)")
check(_nomq.write_config(REF["encryption_key"], REF["hmac_key"]) != _nomq.write_config(REF["encryption_key"], REF["hmac_key"]),
      "a fresh IV for each file by default")
v6 = _nomq.read_config(_nomq.write_config(REF["encryption_key"], REF["hmac_key"], "::", 8888, True))
check(v6["use_ipv6"] is True and v6["ip"] == "::", "IPv6 settings: %r" % v6)

plain = '{"encryption_key": "%s", "hmac_key": "%s", "port": 7000}' % ("11" * 32, "22" * 32)
p = _nomq.read_config(plain)
check(p["encryption_key"] == bytes([0x11] * 32) and p["port"] == 7000 and p["ip"] == "0.0.0.0",
      "a plain JSON object, defaults filled in: %r" % p)


def refused(exc, what, fn, *args, **kwargs):
    e = raises(exc, what, fn, *args, **kwargs)
    check(e is not None and len(str(e)) > 0, what + ": has a message")
    check(_nomq.read_config(REF["file_text"])["port"] == REF["port"], "usable after " + what)


refused(_nomq.ConfigError, "not base64", _nomq.read_config, "%%%")
refused(_nomq.ConfigError, "a truncated file", _nomq.read_config, REF["file_text"][:40])
refused(_nomq.ConfigError, "short keys in JSON", _nomq.read_config, '{"encryption_key": "11", "hmac_key": "22"}')
refused(_nomq.ConfigError, "an empty file", _nomq.read_config, "")
refused(TypeError, "text as int", _nomq.read_config, 5)
refused(ValueError, "a short key to write", _nomq.write_config, b"x" * 31, REF["hmac_key"])
refused(TypeError, "a key as str", _nomq.write_config, "00" * 32, REF["hmac_key"])
refused(ValueError, "an ip of 46 characters", _nomq.write_config, REF["encryption_key"], REF["hmac_key"], "1" * 46)
refused(ValueError, "port out of range", _nomq.write_config, REF["encryption_key"], REF["hmac_key"], "0.0.0.0", 70000)

finish("test_config")

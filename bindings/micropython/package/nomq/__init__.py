"""nomq for MicroPython: NoMQ and MQTT over nomq's Rust core (the `_nomq` native module).

    from nomq import NoMQ          # the reference NoMQ API: upstream scripts run unchanged
    from nomq import Endpoint      # a NoMQ node (asyncio, UDP)
    from nomq import MqttClient    # an MQTT 3.1.1/5.0 client (asyncio, TCP), QoS 0/1/2
    import mqtt_async              # mqboard's mqtt_async API, over the same session

Submodules load on first use, so a board that only speaks MQTT never loads the NoMQ code.
`_nomq` is built into the firmware (user C module) or installed as a native .mpy
(docs/micropython.md).
"""
from _nomq import AuthenticationError, ConfigError, FrameError, NomqError, QueueFull, StaleError, version

__version__ = version()

# name -> submodule that defines it
_LAZY = {
    "NoMQ": "compat",
    "SimpleLogger": "compat",
    "Listener": "compat",
    "create_config": "compat",
    "Endpoint": "endpoint",
    "Message": "endpoint",
    "ExpiredError": "endpoint",
    "ClosedError": "endpoint",
    "MqttClient": "mqtt",
    "MqttMessage": "mqtt",
}
_SUBMODULES = ("compat", "endpoint", "mqtt")


def __getattr__(name):
    sub = _LAZY.get(name)
    if sub is None and name not in _SUBMODULES:
        raise AttributeError(name)
    # `from nomq import endpoint` asks for the submodule itself.
    module = __import__("nomq." + (sub or name), None, None, ("_",))
    value = module if sub is None else getattr(module, name)
    globals()[name] = value
    return value

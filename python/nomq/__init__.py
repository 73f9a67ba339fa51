"""nomq: NoMQ and MQTT for IoT on one Rust core.

- ``nomq.Endpoint``: a NoMQ node (v1, byte-compatible with the reference, or the secure v2);
- ``nomq.mqtt.Client``: an MQTT 3.1.1 / 5.0 client;
- ``nomq.sync``: blocking facades for scripts;
- ``nomq.Codec``, ``nomq.channel_id``, ``nomq.read_config``, ``nomq.write_config``: framing
  and the config file;
- ``nomq.NoMQ``: the reference implementation's API, unchanged (also importable as
  ``NoMQ.nomq.NoMQ``, the reference's own path, through the top-level module ``NoMQ``);
- ``mqtt_async`` (a top-level module of the same wheel): mqboard's MQTT API.

The compiled core is the private module ``nomq._nomq``. Logs go to the ``nomq`` logger.
"""
from . import errors, mqtt, sync
from ._nomq import Codec, Packet, __version__, channel_id
from .compat import Listener, NoMQ, SimpleLogger, create_config
from .config import read_config, write_config
from .endpoint import Endpoint, EndpointMessage
from .errors import (
    AuthenticationError,
    ClosedError,
    ConfigError,
    ConnectionRefused,
    DeliveryUnknown,
    DroppedError,
    EnhancedAuthError,
    ExpiredError,
    FrameError,
    InvalidArgument,
    InvalidUrl,
    NetworkError,
    NomqError,
    PayloadTooLarge,
    ProtocolError,
    PublishRefused,
    QueueFull,
    RefusedError,
    StaleError,
    SubscribeRefused,
    TimedOutError,
    TLSError,
    UnsubscribeRefused,
)

__all__ = [
    "__version__",
    "AuthenticationError",
    "ClosedError",
    "Codec",
    "ConfigError",
    "ConnectionRefused",
    "DeliveryUnknown",
    "DroppedError",
    "Endpoint",
    "EndpointMessage",
    "EnhancedAuthError",
    "ExpiredError",
    "FrameError",
    "InvalidArgument",
    "InvalidUrl",
    "Listener",
    "NetworkError",
    "NoMQ",
    "NomqError",
    "Packet",
    "PayloadTooLarge",
    "ProtocolError",
    "PublishRefused",
    "QueueFull",
    "RefusedError",
    "SimpleLogger",
    "StaleError",
    "SubscribeRefused",
    "TLSError",
    "TimedOutError",
    "UnsubscribeRefused",
    "channel_id",
    "create_config",
    "errors",
    "mqtt",
    "read_config",
    "sync",
    "write_config",
]

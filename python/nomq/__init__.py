"""nomq: NoMQ and MQTT for IoT on one Rust core.

The compiled core is the private module ``nomq._nomq``; this package re-exports its public
names. The framing, endpoint, MQTT and compatibility APIs arrive with the Python wheel work.
"""
from ._nomq import __version__

__all__ = ["__version__"]

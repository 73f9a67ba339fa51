"""Exceptions raised by nomq.

Every error of the Rust core has a kind in one table (``nomq._nomq.error_kinds()``; the C
``nomq_result`` codes are the same numbers). The kind picks the class and travels as ``code``;
a server's refusal also carries its MQTT ``reason_code``. All classes derive from
:class:`NomqError`; several also derive from the built-in exception a caller would naturally
catch (``ValueError`` for bad arguments, ``OSError`` for network failures, ``TimeoutError`` for
expiry).

=====================  ==========================================================
class                  raised when
=====================  ==========================================================
FrameError             a datagram is malformed or of another protocol version
AuthenticationError    a datagram fails authentication: wrong keys or tampering
StaleError             a datagram's timestamp is outside the acceptance window
ConfigError            a config file or key is invalid
InvalidArgument        an argument or option cannot be used (bad QoS, topic, limit...)
InvalidUrl             a server URL is not ``mqtt://host[:port]`` or ``mqtts://...``
PayloadTooLarge        a payload or packet exceeds the protocol's or the peer's limit
QueueFull              a bounded table or outbox is full (``try_publish``)
ProtocolError          the MQTT server broke the protocol
RefusedError           the MQTT server refused a request (``reason_code``); one of:
ConnectionRefused        CONNACK refused the connection
SubscribeRefused         SUBACK refused the subscription
UnsubscribeRefused       UNSUBACK refused the unsubscription
PublishRefused           PUBACK or PUBREC refused the publish
NetworkError           a socket error (connection refused, reset, timed out...)
TLSError               TLS configuration or handshake failure
TimedOutError          the MQTT server did not answer a request in time
EnhancedAuthError      MQTT 5.0 enhanced authentication failed
ExpiredError           a QoS 1/2 publish was not confirmed within its ttl
DeliveryUnknown        a QoS 2 publish the server took, then lost with its session
ClosedError            the endpoint or client closed before the operation finished
DroppedError           the message was dropped from a full outbox (drop-oldest policy)
=====================  ==========================================================
"""

__all__ = [
    "NomqError",
    "FrameError",
    "AuthenticationError",
    "StaleError",
    "ConfigError",
    "InvalidArgument",
    "InvalidUrl",
    "PayloadTooLarge",
    "QueueFull",
    "ProtocolError",
    "RefusedError",
    "ConnectionRefused",
    "SubscribeRefused",
    "UnsubscribeRefused",
    "PublishRefused",
    "NetworkError",
    "TLSError",
    "TimedOutError",
    "EnhancedAuthError",
    "ExpiredError",
    "DeliveryUnknown",
    "ClosedError",
    "DroppedError",
]


class NomqError(Exception):
    """Base class of every nomq error. ``code`` is the error kind's number (the C
    ``nomq_result``); 0 when raised outside the core."""

    code: int = 0


class FrameError(NomqError):
    """A datagram is malformed or of another protocol version."""


class AuthenticationError(FrameError):
    """A datagram failed authentication: wrong keys, tampering or corruption."""


class StaleError(FrameError):
    """A datagram's timestamp is outside the acceptance window (replay or clock skew)."""


class ConfigError(NomqError, ValueError):
    """A config file or key is invalid."""


class InvalidArgument(NomqError, ValueError):
    """An argument cannot be encoded."""


class InvalidUrl(InvalidArgument):
    """A server URL is not ``mqtt://host[:port]`` or ``mqtts://host[:port]``."""


class PayloadTooLarge(InvalidArgument):
    """A payload or packet exceeds a size limit."""


class QueueFull(NomqError):
    """A bounded table or outbox is full."""


class ProtocolError(NomqError):
    """The MQTT server broke the protocol or refused a request."""


class RefusedError(ProtocolError):
    """The MQTT server refused a request; ``reason_code`` is its reason code (MQTT 5.0, or the
    3.1.1 CONNACK return code)."""

    def __init__(self, message: str, reason_code: int = 0x80) -> None:
        super().__init__(message)
        self.reason_code = reason_code


class ConnectionRefused(RefusedError):
    """CONNACK refused the connection (bad credentials, not authorized, banned...)."""


class SubscribeRefused(RefusedError):
    """SUBACK refused the subscription (reason code 0x80 or above)."""


class UnsubscribeRefused(RefusedError):
    """UNSUBACK refused the unsubscription (MQTT 5.0)."""


class PublishRefused(RefusedError):
    """PUBACK or PUBREC refused the publish (MQTT 5.0 reason code 0x80 or above)."""


class NetworkError(NomqError, OSError):
    """A socket error."""


class TLSError(NomqError):
    """TLS configuration or handshake failure."""


class TimedOutError(NomqError, TimeoutError):
    """The MQTT server did not answer a request (SUBSCRIBE, UNSUBSCRIBE) in time."""


class EnhancedAuthError(NomqError):
    """MQTT 5.0 enhanced authentication failed."""


class ExpiredError(NomqError, TimeoutError):
    """A QoS 1/2 publish was not confirmed within its ttl."""


class DeliveryUnknown(NomqError):
    """A QoS 2 publish the MQTT server had taken (PUBREC), whose session the server then lost
    (a reconnect without session present): it may or may not have reached subscribers, and
    sending it again risks a duplicate."""


class ClosedError(NomqError):
    """The endpoint or client closed before the operation finished."""


class DroppedError(NomqError):
    """The message was dropped from a full outbox (drop-oldest policy)."""

//! What a client session reports (`Session::poll_event`).

use alloc::vec::Vec;

use super::config::Message;
use crate::mqtt::{MqttError, ReasonCode};

/// Identifies one `publish` call; each ends in exactly one [`Event::PublishDone`] (or
/// [`Event::Dropped`] under the drop-oldest policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublishId(pub u64);

/// Identifies one `subscribe` or `unsubscribe` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// How a publish ended.
// `MqttPublishOutcome` in the bindings, beside the NoMQ endpoint's `NodePublishOutcome`.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum), uniffi(name = "MqttPublishOutcome"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishOutcome {
    /// QoS 0: written to the connection.
    Sent,
    /// QoS 1: PUBACK; QoS 2: PUBCOMP (with the server's reason code; 5.0 servers may answer
    /// "no matching subscribers", still a success).
    Confirmed(ReasonCode),
    /// The server refused it (5.0 reason code 0x80 or above in PUBACK or PUBREC).
    Refused(ReasonCode),
    /// Its message expiry interval passed while it waited in the outbox.
    Expired,
    /// QoS 2: the server took it (PUBREC), then a reconnect found the server had lost the
    /// session before PUBCOMP. Whether subscribers got it is unknown: the server may deliver
    /// on PUBLISH or only on PUBREL (§4.3.3). Sending it again risks a duplicate, so the
    /// application decides.
    SessionLost,
}

/// Why the connection ended (the caller closes the transport; the session schedules the next
/// attempt unless the application ended it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disconnect {
    /// CONNACK refused the connection: the 5.0 reason code or the 3.1.1 return code.
    Refused(ReasonCode),
    /// The server sent DISCONNECT (5.0) with this reason.
    ByServer(ReasonCode),
    /// No CONNACK within [`super::SessionConfig::connect_timeout_ms`] of asking for a
    /// transport (opening it, TLS and MQTT handshakes included).
    ConnectTimeout,
    /// No PINGRESP within the ping timeout.
    KeepAliveTimeout,
    /// The server sent bytes we refuse; we sent DISCONNECT with 0x81/0x82/0x95 where possible.
    ProtocolError(MqttError),
    /// The caller reported the transport closed or failed, or that it could not be opened.
    TransportClosed,
    /// Our own `disconnect`.
    ByClient,
}

/// Everything a session tells its application or driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Open a transport to the server now, then call `Session::connect`, or
    /// `Session::connection_lost` if it cannot be opened. Comes from `Session::start` and from
    /// the reconnect backoff.
    OpenTransport,
    /// CONNACK success. `session_present`: the server resumed our session.
    Connected {
        /// The server had our session.
        session_present: bool,
    },
    /// The connection ended (or a transport being opened is no longer wanted): close the
    /// transport. The session keeps its state for the next connection.
    Disconnected(Disconnect),
    /// A message from the server, delivered once per QoS rules.
    Message(Message),
    /// A publish finished.
    PublishDone {
        /// Which one.
        id: PublishId,
        /// How.
        outcome: PublishOutcome,
    },
    /// A queued message was dropped by the drop-oldest outbox policy.
    Dropped {
        /// Which one.
        id: PublishId,
    },
    /// SUBACK: one code per filter (granted QoS or failure).
    Subscribed {
        /// Which request.
        id: RequestId,
        /// Reason codes in filter order.
        reasons: Vec<ReasonCode>,
    },
    /// UNSUBACK.
    Unsubscribed {
        /// Which request.
        id: RequestId,
        /// Reason codes in filter order (5.0; empty in 3.1.1).
        reasons: Vec<ReasonCode>,
    },
    /// MQTT 5.0 AUTH from the server (enhanced authentication): answer with `Session::auth`.
    AuthChallenge {
        /// Reason code (0x18 continue, 0x19 re-authenticate, 0 success).
        reason: ReasonCode,
        /// Authentication data.
        data: Vec<u8>,
    },
}

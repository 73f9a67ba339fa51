//! What a client session is configured with, and the owned message types it queues.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::OptionError;
use crate::frame::Qos;
use crate::mqtt::codec::{Properties, ProtocolVersion};

/// What happens when `publish` finds the outbox full (by messages or bytes).
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutboxPolicy {
    /// Refuse the new message with `Full(Outbox)`; the async driver's `publish` waits for room
    /// instead, and its `try_publish` reports the refusal.
    #[default]
    Fail,
    /// Drop the oldest queued (not yet sent) message, reporting it with `Event::Dropped`.
    DropOldest,
}

/// When and how fast the session reconnects after a connection ends.
///
/// The delay before each attempt is drawn uniformly from 0 to `min(max_ms, initial_ms * 2^n)`
/// ("full jitter"), where `n` counts the attempts since the last connection that stayed up for
/// `stable_ms`: a fleet that lost its broker spreads its reconnects, and a server that accepts
/// and then drops connections sees them come ever more slowly. The application's own activity
/// (publishing into the outbox meanwhile) never shortens the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Reconnect at all after a connection ends (the application's `disconnect` aside).
    pub enabled: bool,
    /// First backoff ceiling, in milliseconds.
    pub initial_ms: u64,
    /// Largest backoff ceiling, in milliseconds.
    pub max_ms: u64,
    /// How long a connection must stay up (from CONNACK) before its loss starts the backoff
    /// again from `initial_ms`, in milliseconds.
    pub stable_ms: u64,
}

impl Default for ReconnectPolicy {
    /// Enabled; 100 ms doubling to 30 s; stable after 10 s.
    fn default() -> Self {
        ReconnectPolicy { enabled: true, initial_ms: 100, max_ms: 30_000, stable_ms: 10_000 }
    }
}

/// Message properties (MQTT 5.0 §3.3.2.3), owned. In 3.1.1 they are not sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)] // The specification's property names.
pub struct MessageProperties {
    pub payload_format_indicator: Option<u8>,
    /// Seconds; a queued message whose expiry passes before it is sent is dropped (reported as
    /// expired), and the remaining time is what the server receives.
    pub message_expiry_interval: Option<u32>,
    pub content_type: Option<String>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Vec<u8>>,
    pub user_properties: Vec<(String, String)>,
    /// Received messages only: the identifiers of the matching subscriptions.
    pub subscription_identifiers: Vec<u32>,
}

impl MessageProperties {
    pub(crate) fn borrowed(&self) -> Properties<'_> {
        Properties {
            payload_format_indicator: self.payload_format_indicator,
            message_expiry_interval: self.message_expiry_interval,
            content_type: self.content_type.as_deref(),
            response_topic: self.response_topic.as_deref(),
            correlation_data: self.correlation_data.as_deref(),
            user_properties: self.user_properties.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            ..Properties::default()
        }
    }

    pub(crate) fn from_borrowed(p: &Properties<'_>) -> Self {
        MessageProperties {
            payload_format_indicator: p.payload_format_indicator,
            message_expiry_interval: p.message_expiry_interval,
            content_type: p.content_type.map(String::from),
            response_topic: p.response_topic.map(String::from),
            correlation_data: p.correlation_data.map(<[u8]>::to_vec),
            user_properties: p
                .user_properties
                .iter()
                .map(|(k, v)| (String::from(*k), String::from(*v)))
                .collect(),
            subscription_identifiers: p.subscription_identifiers.clone(),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.content_type.as_ref().map_or(0, String::len)
            + self.response_topic.as_ref().map_or(0, String::len)
            + self.correlation_data.as_ref().map_or(0, Vec::len)
            + self.user_properties.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
    }
}

/// An application message, owned (to publish, or as received).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Quality of service.
    pub qos: Qos,
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5.0 properties.
    pub properties: MessageProperties,
}

impl Message {
    /// A message without properties.
    pub fn new(topic: impl Into<String>, payload: impl Into<Vec<u8>>, qos: Qos, retain: bool) -> Self {
        Message {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain,
            properties: MessageProperties::default(),
        }
    }

    /// Bytes the message holds in the outbox.
    pub fn size(&self) -> usize {
        self.topic.len() + self.payload.len() + self.properties.size()
    }
}

/// The will message, sent by the server if the connection ends without DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWill {
    /// The message.
    pub message: Message,
    /// MQTT 5.0: seconds the server waits before publishing it.
    pub delay_interval: Option<u32>,
}

/// Connection and session settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// MQTT 3.1.1 or 5.0.
    pub version: ProtocolVersion,
    /// Client identifier; empty asks the server to assign one (5.0, or 3.1.1 with clean start).
    pub client_id: String,
    /// Start a new session (true) or resume the stored one (false), on the first connection.
    /// Once a connection is accepted, reconnects resume the session (Clean Start 0) so that
    /// QoS 1/2 exchanges in flight carry over without duplicates (§4.4). The server keeps a
    /// 5.0 session only for `session_expiry_interval` (see there); a 3.1.1 server keeps it
    /// from the first resumed connection on, for a non-empty client id.
    pub clean_start: bool,
    /// Keep alive in seconds (0 disables it).
    pub keep_alive: u16,
    /// How long to wait for PINGRESP before the connection is declared dead, in milliseconds.
    pub ping_timeout_ms: u64,
    /// From asking for a transport ([`crate::mqtt::session::Event::OpenTransport`]) to CONNACK,
    /// in milliseconds: opening the transport and the TLS and MQTT handshakes, together.
    pub connect_timeout_ms: u64,
    /// Reconnection after a connection ends.
    pub reconnect: ReconnectPolicy,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<Vec<u8>>,
    /// Last will.
    pub will: Option<LastWill>,
    /// MQTT 5.0: seconds the server keeps the session after the connection closes
    /// (0: ends with the connection; u32::MAX: never expires). The 5.0 default,
    /// [`RESUME_WINDOW_S`] (300 s), lets an automatic reconnect within five minutes resume the
    /// session, so a QoS 2 message whose PUBREC was lost completes once instead of being sent
    /// again as new (§4.3.3, §3.1.2.11.2). The trade-off: after the connection ends (lost, or
    /// by `disconnect`) the server holds the session, and queues QoS 1/2 messages for its
    /// subscriptions, for that long.
    /// 0 restores "the session ends with the connection": a QoS 2 publish caught by a loss
    /// after PUBREC then ends as `SessionLost`. Must be 0 for 3.1.1.
    pub session_expiry_interval: u32,
    /// MQTT 5.0: QoS 1/2 messages we accept unacknowledged at once (Receive Maximum).
    pub receive_maximum: u16,
    /// Largest packet we accept (1 MiB by default); larger ones close the connection (reason
    /// 0x95).
    pub maximum_packet_size: u32,
    /// MQTT 5.0: topic aliases the server may use towards us.
    pub topic_alias_maximum: u16,
    /// Use topic aliases towards the server when it allows them (5.0).
    pub auto_topic_alias: bool,
    /// QoS 1/2 publishes unacknowledged at once, at most; the server's Receive Maximum (5.0)
    /// lowers it further. MQTT 3.1.1 has no way to learn the server's limit, and brokers close
    /// connections that exceed it (mosquitto's default `max_inflight_messages` is 20), so the
    /// default is 20, as in paho.
    pub max_inflight: u16,
    /// Refill a full inflight window half a window at a time rather than one place per
    /// acknowledgement (silly-window avoidance, the idea of RFC 1122 §4.2.3.4 applied to MQTT's
    /// window): one write and one segment for many publishes. Off by default, because after an
    /// acknowledgement that refills nothing the transport has no data to carry its TCP ACK, and
    /// a server with Nagle's algorithm on (mosquitto's default) then holds its next packets until
    /// the delayed ACK fires (40 ms on Linux, up to 250 ms on lwIP). Turn it on only when the
    /// transport acknowledges such reads at once: the tokio client does on Linux with
    /// `TCP_QUICKACK`, asked whenever [`crate::mqtt::Session::holding_back`] is true after a read.
    pub refill_half_window: bool,
    /// Messages waiting to be sent, at most.
    pub max_outbox_messages: usize,
    /// Bytes (topics, payloads, properties) waiting to be sent, at most.
    pub max_outbox_bytes: usize,
    /// What `publish` does when the outbox is full.
    pub outbox_policy: OutboxPolicy,
    /// User properties sent with CONNECT (5.0).
    pub user_properties: Vec<(String, String)>,
    /// MQTT 5.0 enhanced authentication (§4.12): the method named in CONNECT, and its initial
    /// data. The server's challenges arrive as `Event::AuthChallenge`, answered with
    /// `Session::auth`.
    pub authentication_method: Option<String>,
    /// Initial authentication data sent with CONNECT.
    pub authentication_data: Option<Vec<u8>>,
}

/// The MQTT 5.0 default of [`SessionConfig::session_expiry_interval`], in seconds: how long an
/// automatic reconnect may take and still resume the session.
pub const RESUME_WINDOW_S: u32 = 300;

impl SessionConfig {
    /// The default `session_expiry_interval` of `version`: [`RESUME_WINDOW_S`] for 5.0, 0 for
    /// 3.1.1 (which has no such interval).
    pub fn default_session_expiry(version: ProtocolVersion) -> u32 {
        match version {
            ProtocolVersion::V5 => RESUME_WINDOW_S,
            ProtocolVersion::V311 => 0,
        }
    }

    /// Defaults: clean start, keep alive 60 s, connect deadline 10 s, reconnect per
    /// [`ReconnectPolicy::default`], outbox of 10,000 messages or 16 MiB.
    pub fn new(version: ProtocolVersion, client_id: impl Into<String>) -> Self {
        SessionConfig {
            version,
            client_id: client_id.into(),
            clean_start: true,
            keep_alive: 60,
            ping_timeout_ms: 10_000,
            connect_timeout_ms: 10_000,
            reconnect: ReconnectPolicy::default(),
            username: None,
            password: None,
            will: None,
            session_expiry_interval: Self::default_session_expiry(version),
            receive_maximum: 65_535,
            // Large enough for any sensor or command traffic, small enough that a broker or a
            // publisher cannot make one packet cost much memory; raise it for bulk payloads.
            maximum_packet_size: 1 << 20,
            topic_alias_maximum: 64,
            auto_topic_alias: true,
            max_inflight: 20,
            refill_half_window: false,
            max_outbox_messages: 10_000,
            max_outbox_bytes: 16 << 20,
            outbox_policy: OutboxPolicy::Fail,
            user_properties: Vec::new(),
            authentication_method: None,
            authentication_data: None,
        }
    }

    /// Checks every value before a session uses it: each binding (Rust, C, Python) refuses
    /// the same configurations with the same error. A zero limit, a deadline of zero or over a
    /// day, a backoff that shrinks, a 5.0 setting on a 3.1.1 session or a will on an invalid
    /// topic is refused with the option's name and the rule it breaks.
    pub fn validate(&self) -> Result<(), OptionError> {
        const DAY_MS: u64 = 86_400_000;
        let v5 = self.version == ProtocolVersion::V5;
        let fail = |name, rule| Err(OptionError { name, rule });
        if self.client_id.len() > 65_535 || self.client_id.contains('\0') {
            return fail("client_id", "must be an MQTT string (no NUL, at most 65,535 bytes)");
        }
        if !v5 && self.client_id.is_empty() && !self.clean_start {
            return fail("client_id", "may be empty only with clean_start in MQTT 3.1.1 (§3.1.3-7)");
        }
        if !v5 && self.password.is_some() && self.username.is_none() {
            return fail("password", "needs a username in MQTT 3.1.1 (§3.1.2-22)");
        }
        if !(1..=DAY_MS).contains(&self.connect_timeout_ms) {
            return fail("connect_timeout_ms", "must be between 1 ms and one day");
        }
        if !(1..=DAY_MS).contains(&self.ping_timeout_ms) {
            return fail("ping_timeout_ms", "must be between 1 ms and one day");
        }
        let r = &self.reconnect;
        if r.enabled && !(1..=DAY_MS).contains(&r.initial_ms) {
            return fail("reconnect_initial_ms", "must be between 1 ms and one day");
        }
        if r.enabled && !(r.initial_ms..=DAY_MS).contains(&r.max_ms) {
            return fail("reconnect_max_ms", "must be between reconnect_initial_ms and one day");
        }
        if r.stable_ms > DAY_MS {
            return fail("reconnect_stable_ms", "must be at most one day");
        }
        if self.receive_maximum == 0 {
            return fail("receive_maximum", "must be at least 1 (§3.1.2.11.3)");
        }
        // §2.2.3: a remaining length fits 4 bytes (268,435,455), plus 5 bytes of header.
        if !(128..=268_435_460).contains(&self.maximum_packet_size) {
            return fail("max_packet_size", "must be between 128 bytes and 256 MiB");
        }
        if self.max_inflight == 0 {
            return fail("max_inflight", "must be at least 1");
        }
        if self.max_outbox_messages == 0 {
            return fail("max_outbox_messages", "must be at least 1");
        }
        if self.max_outbox_bytes == 0 {
            return fail("max_outbox_bytes", "must be at least 1");
        }
        if !v5 && self.session_expiry_interval != 0 {
            return fail("session_expiry", "is MQTT 5.0 only: leave it 0 with 3.1.1");
        }
        if let Some(will) = &self.will {
            if crate::mqtt::topic::validate_topic_name(&will.message.topic).is_err() {
                return fail("will_topic", "must be a valid topic name (no wildcards, not empty)");
            }
            if will.message.payload.len() > 65_535 {
                return fail("will_payload", "must be at most 65,535 bytes (§3.1.3.4)");
            }
        }
        if self.authentication_method.is_some() && !v5 {
            return fail("auth_method", "is MQTT 5.0 only (§4.12)");
        }
        if self.authentication_data.is_some() && self.authentication_method.is_none() {
            return fail("auth_data", "needs an auth_method");
        }
        Ok(())
    }
}

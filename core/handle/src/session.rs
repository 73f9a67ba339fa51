//! [`SessionHandle`]: the MQTT session as a binding holds it. Events are read flat into the
//! caller's buffer ([`FlatMqttEvent`] borrows its topic and payload from it); an event that does
//! not fit is kept, and the caller learns how much room it needs ([`Spilled`]). The kind enums
//! are `#[repr(u32)]`: the C header uses them as they are (`nomq_mqtt_event_kind`,
//! `nomq_mqtt_disconnect`, `nomq_mqtt_outcome`).

use alloc::boxed::Box;

use nomq_proto::Error;
use nomq_proto::endpoint::Random;
use nomq_proto::mqtt::Session;
use nomq_proto::mqtt::session::{Disconnect, Event, PublishOutcome, SessionConfig};

/// What an event reports.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MqttEventKind {
    /// No event waiting.
    None = 0,
    /// CONNACK accepted: `session_present`.
    Connected = 1,
    /// The connection ended, or a transport being opened is no longer wanted: close the
    /// socket. `disconnect` says why (and `reason_code` when the server said why).
    Disconnected = 3,
    /// A message: `topic`, `payload`, `qos`, `retain`.
    Message = 4,
    /// A publish finished: `id`, `outcome`, `reason_code`.
    PublishDone = 5,
    /// A queued publish was dropped by the outbox policy: `id`.
    Dropped = 6,
    /// SUBACK: `id`, the granted codes in `payload`.
    Subscribed = 7,
    /// UNSUBACK: `id`, reason codes (5.0) in `payload`.
    Unsubscribed = 8,
    /// MQTT 5.0 AUTH from the server: `reason_code`, data in `payload`; answer 0x18 with
    /// `nomq_mqtt_session_auth`.
    AuthChallenge = 9,
    /// Open a socket to the broker now, then call `nomq_mqtt_session_connect`, or
    /// `nomq_mqtt_session_connection_lost` if it cannot be opened.
    OpenTransport = 10,
}

/// Why a connection ended.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// Not a DISCONNECTED event.
    NotDisconnected = 0,
    /// The server sent DISCONNECT (`reason_code`).
    ByServer = 1,
    /// No PINGRESP in time.
    KeepAliveTimeout = 2,
    /// The server broke the protocol or sent malformed bytes.
    ProtocolError = 3,
    /// The transport closed (`nomq_mqtt_session_connection_lost`).
    TransportClosed = 4,
    /// We sent DISCONNECT.
    ByClient = 5,
    /// CONNACK refused the connection (`reason_code`).
    Refused = 6,
    /// No CONNACK within `connect_timeout_ms` of OPEN_TRANSPORT.
    ConnectTimeout = 7,
}

/// How a publish finished.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MqttOutcome {
    /// QoS 0: written.
    Sent = 0,
    /// PUBACK or PUBCOMP (`reason_code` 0, or 0x10 "no matching subscribers").
    Confirmed = 1,
    /// The server refused it (`reason_code` >= 0x80).
    Refused = 2,
    /// Its message expiry passed while queued.
    Expired = 3,
    /// QoS 2, taken by the server (PUBREC), whose session was then lost: delivery unknown.
    SessionLost = 4,
}

/// One event, flat: the fields its kind names are set, the others are zero. `topic` and
/// `payload` borrow the buffer given to [`SessionHandle::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlatMqttEvent<'a> {
    /// What happened.
    pub kind: MqttEventKind,
    /// CONNECTED: the server kept our session.
    pub session_present: bool,
    /// The MQTT reason code, where the kind says so.
    pub reason_code: u8,
    /// DISCONNECTED: why.
    pub disconnect: DisconnectReason,
    /// PUBLISH_DONE, DROPPED: the publish id; SUBSCRIBED, UNSUBSCRIBED: the request id.
    pub id: u64,
    /// PUBLISH_DONE: how.
    pub outcome: MqttOutcome,
    /// MESSAGE: QoS.
    pub qos: u8,
    /// MESSAGE: retain flag.
    pub retain: bool,
    /// MESSAGE: the topic (UTF-8).
    pub topic: &'a [u8],
    /// MESSAGE: payload; SUBSCRIBED/UNSUBSCRIBED: reason codes; AUTH_CHALLENGE: data.
    pub payload: &'a [u8],
}

/// The next event did not fit the buffer and stays queued; a buffer of `topic_len +
/// payload_len` bytes takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spilled {
    /// Its kind.
    pub kind: MqttEventKind,
    /// Bytes of its topic.
    pub topic_len: usize,
    /// Bytes of its payload.
    pub payload_len: usize,
}

/// A session and the event that did not fit the caller's last buffer.
pub struct SessionHandle {
    session: Session,
    spilled: Option<Event>,
}

impl core::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionHandle").field("state", &self.session.state()).finish()
    }
}

impl SessionHandle {
    /// A session over `config`, checked first (`SessionConfig::validate`: the same rules in
    /// every binding). `random` draws the reconnect jitter.
    pub fn new(config: SessionConfig, random: Box<dyn Random + Send>) -> Result<Self, Error> {
        config.validate()?;
        Ok(SessionHandle { session: Session::new(config, random), spilled: None })
    }

    /// The session, for getters.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session, for inputs and mutators (`handle_*`, `publish`, `subscribe`...).
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Takes the next event, copying its topic then its payload into `buf`; `Ok(None)` when
    /// none waits. When they do not fit, the event stays queued and `Err(Spilled)` says how
    /// much room it needs. A buffer of the session's maximum packet size plus 65,535 bytes
    /// always suffices (a topic alias lets the server leave the topic out of the packet).
    pub fn poll_event<'b>(&mut self, buf: &'b mut [u8]) -> Result<Option<FlatMqttEvent<'b>>, Spilled> {
        let Some(event) = self.spilled.take().or_else(|| self.session.poll_event()) else {
            return Ok(None);
        };
        let kind = kind_of(&event);
        let (topic, payload): (&[u8], &[u8]) = match &event {
            Event::Message(m) => (m.topic.as_bytes(), &m.payload),
            Event::AuthChallenge { data, .. } => (&[], data),
            _ => (&[], &[]),
        };
        // SUBACK/UNSUBACK reason codes go in the payload, one byte per filter.
        let codes = match &event {
            Event::Subscribed { reasons, .. } | Event::Unsubscribed { reasons, .. } => reasons.len(),
            _ => 0,
        };
        let (topic_len, payload_len) = (topic.len(), payload.len() + codes);
        if topic_len + payload_len > buf.len() {
            self.spilled = Some(event);
            return Err(Spilled { kind, topic_len, payload_len });
        }
        let (topic_buf, rest) = buf.split_at_mut(topic_len);
        topic_buf.copy_from_slice(topic);
        let payload_buf = &mut rest[..payload_len];
        match &event {
            Event::Subscribed { reasons, .. } | Event::Unsubscribed { reasons, .. } => {
                for (b, r) in payload_buf.iter_mut().zip(reasons) {
                    *b = r.0;
                }
            }
            _ => payload_buf.copy_from_slice(payload),
        }
        let mut flat = FlatMqttEvent {
            kind,
            session_present: false,
            reason_code: 0,
            disconnect: DisconnectReason::NotDisconnected,
            id: 0,
            outcome: MqttOutcome::Sent,
            qos: 0,
            retain: false,
            topic: topic_buf,
            payload: payload_buf,
        };
        match event {
            Event::OpenTransport => {}
            Event::Connected { session_present } => flat.session_present = session_present,
            Event::Disconnected(why) => {
                (flat.disconnect, flat.reason_code) = match why {
                    Disconnect::ByServer(r) => (DisconnectReason::ByServer, r.0),
                    Disconnect::Refused(r) => (DisconnectReason::Refused, r.0),
                    Disconnect::ConnectTimeout => (DisconnectReason::ConnectTimeout, 0),
                    Disconnect::KeepAliveTimeout => (DisconnectReason::KeepAliveTimeout, 0),
                    Disconnect::ProtocolError(_) => (DisconnectReason::ProtocolError, 0),
                    Disconnect::TransportClosed => (DisconnectReason::TransportClosed, 0),
                    Disconnect::ByClient => (DisconnectReason::ByClient, 0),
                };
            }
            Event::Message(m) => {
                flat.qos = m.qos as u8;
                flat.retain = m.retain;
            }
            Event::PublishDone { id, outcome } => {
                flat.id = id.0;
                (flat.outcome, flat.reason_code) = match outcome {
                    PublishOutcome::Sent => (MqttOutcome::Sent, 0),
                    PublishOutcome::Confirmed(r) => (MqttOutcome::Confirmed, r.0),
                    PublishOutcome::Refused(r) => (MqttOutcome::Refused, r.0),
                    PublishOutcome::Expired => (MqttOutcome::Expired, 0),
                    PublishOutcome::SessionLost => (MqttOutcome::SessionLost, 0),
                };
            }
            Event::Dropped { id } => flat.id = id.0,
            Event::Subscribed { id, .. } | Event::Unsubscribed { id, .. } => flat.id = id.0,
            Event::AuthChallenge { reason, .. } => flat.reason_code = reason.0,
        }
        Ok(Some(flat))
    }
}

fn kind_of(e: &Event) -> MqttEventKind {
    match e {
        Event::OpenTransport => MqttEventKind::OpenTransport,
        Event::Connected { .. } => MqttEventKind::Connected,
        Event::Disconnected(_) => MqttEventKind::Disconnected,
        Event::Message(_) => MqttEventKind::Message,
        Event::PublishDone { .. } => MqttEventKind::PublishDone,
        Event::Dropped { .. } => MqttEventKind::Dropped,
        Event::Subscribed { .. } => MqttEventKind::Subscribed,
        Event::Unsubscribed { .. } => MqttEventKind::Unsubscribed,
        Event::AuthChallenge { .. } => MqttEventKind::AuthChallenge,
    }
}

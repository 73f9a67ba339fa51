//! `MqttClient`: MQTT 3.1.1/5.0 over TCP or TLS. `publish` resolves when the QoS flow
//! completes (QoS 0 written, QoS 1 PUBACK, QoS 2 PUBCOMP); the outbox is bounded by count and
//! bytes; the client reconnects with backoff and jitter, resumes the session and resends what
//! was unacknowledged, so nothing is lost at QoS 1/2 across reconnects.

use std::sync::Arc;
use std::time::Duration;

use nomq::mqtt::{
    Client, ClientOptions, ConnectionState, LastWill, MessageProperties, OutboxPolicy, ProtocolVersion,
    ReconnectPolicy, TlsOptions,
};
use nomq_proto::frame::Qos;
use nomq_proto::mqtt::session::{Message, PublishOutcome};
use nomq_proto::mqtt::topic::validate_topic_name;

use crate::NomqError;
use crate::listen::{Listening, MqttListener, deliver};
use crate::runtime::{on_runtime, runtime};

/// Messages taken from the client per wake-up of a listener.
const LISTEN_BATCH: usize = 64;

/// A user property (MQTT 5.0): a name and a value.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UserProperty {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A message's MQTT 5.0 properties (§3.3.2.3); not sent over 3.1.1.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct MqttProperties {
    /// 1: the payload is UTF-8 text.
    #[uniffi(default = None)]
    pub payload_format_indicator: Option<u8>,
    /// Seconds the message stays valid.
    #[uniffi(default = None)]
    pub message_expiry_interval: Option<u32>,
    /// The payload's content type.
    #[uniffi(default = None)]
    pub content_type: Option<String>,
    /// Where a responder should publish its answer.
    #[uniffi(default = None)]
    pub response_topic: Option<String>,
    /// Matches a response to its request.
    #[uniffi(default = None)]
    pub correlation_data: Option<Vec<u8>>,
    /// User properties, in order.
    #[uniffi(default)]
    pub user_properties: Vec<UserProperty>,
    /// Received messages only: the identifiers of the matching subscriptions.
    #[uniffi(default)]
    pub subscription_identifiers: Vec<u32>,
}

impl From<MqttProperties> for MessageProperties {
    fn from(p: MqttProperties) -> Self {
        MessageProperties {
            payload_format_indicator: p.payload_format_indicator,
            message_expiry_interval: p.message_expiry_interval,
            content_type: p.content_type,
            response_topic: p.response_topic,
            correlation_data: p.correlation_data,
            user_properties: p.user_properties.into_iter().map(|u| (u.name, u.value)).collect(),
            subscription_identifiers: p.subscription_identifiers,
        }
    }
}

impl From<MessageProperties> for MqttProperties {
    fn from(p: MessageProperties) -> Self {
        MqttProperties {
            payload_format_indicator: p.payload_format_indicator,
            message_expiry_interval: p.message_expiry_interval,
            content_type: p.content_type,
            response_topic: p.response_topic,
            correlation_data: p.correlation_data,
            user_properties: p
                .user_properties
                .into_iter()
                .map(|(name, value)| UserProperty { name, value })
                .collect(),
            subscription_identifiers: p.subscription_identifiers,
        }
    }
}

/// A message: one to publish, or one received.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MqttMessage {
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Quality of service.
    pub qos: Qos,
    /// Retain flag.
    #[uniffi(default = false)]
    pub retain: bool,
    /// MQTT 5.0 properties.
    #[uniffi(default)]
    pub properties: MqttProperties,
}

impl From<Message> for MqttMessage {
    fn from(m: Message) -> Self {
        MqttMessage {
            topic: m.topic,
            payload: m.payload,
            qos: m.qos,
            retain: m.retain,
            properties: m.properties.into(),
        }
    }
}

impl From<MqttMessage> for Message {
    fn from(m: MqttMessage) -> Self {
        Message {
            topic: m.topic,
            payload: m.payload,
            qos: m.qos,
            retain: m.retain,
            properties: m.properties.into(),
        }
    }
}

/// The will: published by the server when the connection ends without DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MqttWill {
    /// The message.
    pub message: MqttMessage,
    /// MQTT 5.0: seconds the server waits before publishing it.
    #[uniffi(default = None)]
    pub delay_interval: Option<u32>,
}

/// TLS (`mqtts`): a custom CA and a client certificate, all PEM.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct MqttTls {
    /// Trust only these CA certificates; `null`: the operating system's roots.
    #[uniffi(default = None)]
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate chain, for brokers that require one.
    #[uniffi(default = None)]
    pub client_cert_pem: Option<Vec<u8>>,
    /// The client certificate's private key.
    #[uniffi(default = None)]
    pub client_key_pem: Option<Vec<u8>>,
    /// Name to verify the server certificate against; `null`: the host.
    #[uniffi(default = None)]
    pub server_name: Option<String>,
}

/// When and how fast the client reconnects: the delay before each attempt is drawn between
/// 0 and `min(max_ms, initial_ms * 2^n)` (full jitter).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MqttReconnect {
    /// Reconnect at all after a connection ends.
    #[uniffi(default = true)]
    pub enabled: bool,
    /// First backoff ceiling, ms.
    #[uniffi(default = 100)]
    pub initial_ms: u64,
    /// Largest backoff ceiling, ms.
    #[uniffi(default = 30000)]
    pub max_ms: u64,
    /// How long a connection must stay up before its loss starts the backoff again, ms.
    #[uniffi(default = 10000)]
    pub stable_ms: u64,
}

/// Where and how to connect. Only `host` is required; `null` fields take the client's
/// defaults (docs/kotlin-swift.md lists them).
#[derive(Debug, Clone, uniffi::Record)]
pub struct MqttOptions {
    /// Broker host name or address.
    pub host: String,
    /// Broker port; `null`: 1883, or 8883 with `tls`.
    #[uniffi(default = None)]
    pub port: Option<u16>,
    /// Client id; empty asks the server to assign one (3.1.1: only with a clean session).
    #[uniffi(default = "")]
    pub client_id: String,
    /// Protocol version; `null`: 3.1.1.
    #[uniffi(default = None)]
    pub version: Option<ProtocolVersion>,
    /// Start a new session (true) or resume the server's.
    #[uniffi(default = true)]
    pub clean_start: bool,
    /// Keep alive in seconds (0: off).
    #[uniffi(default = 60)]
    pub keep_alive_s: u16,
    /// User name.
    #[uniffi(default = None)]
    pub username: Option<String>,
    /// Password.
    #[uniffi(default = None)]
    pub password: Option<Vec<u8>>,
    /// The will.
    #[uniffi(default = None)]
    pub will: Option<MqttWill>,
    /// TLS; `null`: plain TCP.
    #[uniffi(default = None)]
    pub tls: Option<MqttTls>,
    /// Reconnect policy; `null`: on, 100 ms doubling to 30 s.
    #[uniffi(default = None)]
    pub reconnect: Option<MqttReconnect>,
    /// QoS 1/2 publishes in flight at once; `null`: the client's default.
    #[uniffi(default = None)]
    pub max_inflight: Option<u16>,
    /// Outbox bound in messages (queued and in flight); `null`: the default.
    #[uniffi(default = None)]
    pub max_outbox_messages: Option<u32>,
    /// Outbox bound in bytes; `null`: the default.
    #[uniffi(default = None)]
    pub max_outbox_bytes: Option<u64>,
    /// What `publish` does when the outbox is full: `FAIL` (default) waits for room,
    /// `DROP_OLDEST` drops the oldest queued message (its publish fails with `Dropped`).
    #[uniffi(default = None)]
    pub outbox_policy: Option<OutboxPolicy>,
    /// MQTT 5.0: seconds the server keeps the session after the connection ends.
    #[uniffi(default = None)]
    pub session_expiry_interval: Option<u32>,
    /// Deadline for TCP, TLS and CONNACK together, ms; `null`: the default.
    #[uniffi(default = None)]
    pub connect_timeout_ms: Option<u64>,
    /// Received messages buffered for `recv` or a listener before the client stops reading.
    #[uniffi(default = None)]
    pub message_buffer: Option<u32>,
    /// MQTT 5.0 user properties of CONNECT.
    #[uniffi(default)]
    pub user_properties: Vec<UserProperty>,
}

fn client_options(o: MqttOptions) -> Result<ClientOptions, NomqError> {
    let port = o.port.unwrap_or(if o.tls.is_some() { 8883 } else { 1883 });
    let mut c = ClientOptions::new(o.host, port, o.client_id);
    if let Some(v) = o.version {
        c = c.version(v);
    }
    let s = &mut c.session;
    s.clean_start = o.clean_start;
    s.keep_alive = o.keep_alive_s;
    s.username = o.username;
    s.password = o.password;
    s.will = o.will.map(|w| LastWill { message: w.message.into(), delay_interval: w.delay_interval });
    if let Some(r) = o.reconnect {
        s.reconnect = ReconnectPolicy {
            enabled: r.enabled,
            initial_ms: r.initial_ms,
            max_ms: r.max_ms,
            stable_ms: r.stable_ms,
        };
    }
    if let Some(n) = o.max_inflight {
        s.max_inflight = n;
    }
    if let Some(n) = o.max_outbox_messages {
        s.max_outbox_messages = n as usize;
    }
    if let Some(n) = o.max_outbox_bytes {
        s.max_outbox_bytes = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(p) = o.outbox_policy {
        s.outbox_policy = p;
    }
    if let Some(e) = o.session_expiry_interval {
        s.session_expiry_interval = e;
    }
    if let Some(ms) = o.connect_timeout_ms {
        c = c.connect_timeout(Duration::from_millis(ms));
    }
    c.session.user_properties = o.user_properties.into_iter().map(|u| (u.name, u.value)).collect();
    if let Some(n) = o.message_buffer {
        c.message_buffer = n as usize;
    }
    c.tls = o.tls.map(|t| TlsOptions {
        ca_pem: t.ca_pem,
        client_cert_pem: t.client_cert_pem,
        client_key_pem: t.client_key_pem,
        alpn: vec![],
        server_name: t.server_name,
    });
    c.session.validate().map_err(|e| NomqError::from(nomq_proto::Error::from(e)))?;
    Ok(c)
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MqttConnectionState {
    /// Opening the first connection.
    Connecting,
    /// The server accepted the connection; `session_present` as it said.
    Connected {
        /// The server resumed a session it kept.
        session_present: bool,
    },
    /// The connection ended; the client reconnects per its policy.
    Reconnecting,
    /// Stopped for good.
    Closed,
}

impl From<ConnectionState> for MqttConnectionState {
    fn from(s: ConnectionState) -> Self {
        match s {
            ConnectionState::Connecting => MqttConnectionState::Connecting,
            ConnectionState::Connected { session_present } => {
                MqttConnectionState::Connected { session_present }
            }
            ConnectionState::Reconnecting => MqttConnectionState::Reconnecting,
            // Closed, and any state a later core adds: the binding has nothing better to say.
            _ => MqttConnectionState::Closed,
        }
    }
}

/// The session's counters and gauges.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MqttMetrics {
    /// PUBLISH packets sent (retransmissions included).
    pub sent: u64,
    /// PUBLISH packets received.
    pub received: u64,
    /// Retransmissions.
    pub retransmitted: u64,
    /// Reconnections.
    pub reconnects: u64,
    /// Messages dropped from the outbox.
    pub dropped: u64,
    /// Duplicate QoS 2 deliveries suppressed.
    pub duplicates: u64,
    /// QoS 1/2 publishes written and not yet confirmed.
    pub inflight: u64,
    /// Messages in the outbox.
    pub queued_messages: u64,
    /// Bytes in the outbox.
    pub queued_bytes: u64,
}

/// An MQTT client; `disconnect()` ends it, and so does destroying the object.
#[derive(Debug, uniffi::Object)]
pub struct MqttClient {
    client: Arc<Client>,
}

#[uniffi::export]
impl MqttClient {
    /// Connects (TCP or TLS, CONNECT, CONNACK) and returns once the first connection is up;
    /// later losses are repaired in the background per the reconnect policy.
    #[uniffi::constructor]
    pub async fn connect(options: MqttOptions) -> Result<Arc<Self>, NomqError> {
        let options = client_options(options)?;
        let client =
            on_runtime(async move { Client::connect(options).await.map_err(NomqError::from) }).await?;
        Ok(Arc::new(MqttClient { client: Arc::new(client) }))
    }

    /// Publishes and resolves when the QoS flow completes: `Sent` (QoS 0, written),
    /// `Confirmed` (PUBACK or PUBCOMP, with the server's reason code), `Refused` (an MQTT 5.0
    /// reason code 0x80 or above), `SessionLost` (QoS 2 whose session the server lost after
    /// PUBREC: delivery unknown). Waits while the outbox is full (policy `FAIL`); an invalid
    /// topic or a message larger than the outbox fails at once.
    pub async fn publish(
        &self,
        topic: String,
        payload: Vec<u8>,
        qos: Qos,
        retain: bool,
    ) -> Result<PublishOutcome, NomqError> {
        Ok(self.client.publish_message(Message::new(topic, payload, qos, retain)).await?)
    }

    /// Publishes `messages` in order, in one call across the FFI, and resolves when every one
    /// has completed, with their outcomes in the same order. For streams of many messages:
    /// through JNA each call costs tens of microseconds, a batch pays it once. Every topic is
    /// checked before anything is queued (an invalid one fails the batch, nothing sent); a
    /// message that fails later (`Dropped`, `Closed`, larger than the outbox, a server limit)
    /// fails the batch with its error once all have completed, the others having been
    /// published. Cancelled, the queuing stops where it is; what was queued is still sent.
    pub async fn publish_batch(&self, messages: Vec<MqttMessage>) -> Result<Vec<PublishOutcome>, NomqError> {
        for m in &messages {
            validate_topic_name(&m.topic)
                .map_err(|e| NomqError::from(nomq_proto::Error::from(e)).with_detail_prefix(&m.topic))?;
        }
        let mut completions = Vec::with_capacity(messages.len());
        for m in messages {
            // Waits while the outbox is full: the rest follows in order.
            completions.push(self.client.enqueue(m.into()).await?);
        }
        let mut outcomes = Vec::with_capacity(completions.len());
        let mut first_error = None;
        for completion in completions {
            match completion.await {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(outcomes),
        }
    }

    /// [`MqttClient::publish`] with MQTT 5.0 properties.
    pub async fn publish_message(&self, message: MqttMessage) -> Result<PublishOutcome, NomqError> {
        // Queued from this thread, answered by the driver: no task and no thread hop per
        // publish (the client's futures need no runtime). Past the outbox it waits for room.
        Ok(self.client.publish_message(message.into()).await?)
    }

    /// Subscribes to `filter`; returns the server's reason codes (the granted QoS, or 0x80
    /// and above for a refusal, which also raises `SubscribeRefused`).
    pub async fn subscribe(&self, filter: String, qos: Qos) -> Result<Vec<u8>, NomqError> {
        let client = self.client.clone();
        on_runtime(async move {
            let codes = client.subscribe(&filter, qos).await?;
            Ok(codes.into_iter().map(|c| c.0).collect())
        })
        .await
    }

    /// Unsubscribes from `filter`.
    pub async fn unsubscribe(&self, filter: String) -> Result<Vec<u8>, NomqError> {
        let client = self.client.clone();
        on_runtime(async move {
            let codes = client.unsubscribe(&filter).await?;
            Ok(codes.into_iter().map(|c| c.0).collect())
        })
        .await
    }

    /// The next message of the subscriptions; `null` after `disconnect`. Cancelling the call
    /// loses nothing.
    pub async fn recv(&self) -> Option<MqttMessage> {
        self.client.recv().await.map(MqttMessage::from)
    }

    /// Waits for at least one message, then returns up to `limit` of those waiting (one call
    /// for a burst); empty after `disconnect`. Cancelling the call loses nothing.
    pub async fn recv_many(&self, limit: u32) -> Vec<MqttMessage> {
        let mut batch = Vec::new();
        self.client.recv_many(&mut batch, (limit as usize).max(1)).await;
        batch.into_iter().map(MqttMessage::from).collect()
    }

    /// Calls `listener` with the current connection state, then for every message and every
    /// change of state, from a thread of its own, until the returned handle is stopped or the
    /// client closes (see `Listening`). States are reported as the listener's turn comes: a
    /// loss and a reconnection closer together than that are seen as the latter, and messages
    /// read just before a loss may come after its `Reconnecting`.
    pub fn listen(&self, listener: Arc<dyn MqttListener>) -> Arc<Listening> {
        let client = self.client.clone();
        Arc::new(Listening::spawn("mqtt", move |mut stop| {
            let mut states = client.watch_state();
            let mut batch = Vec::with_capacity(LISTEN_BATCH);
            let mut state = *states.borrow_and_update();
            deliver(|| listener.on_state(state.into()));
            enum Next {
                Messages(usize),
                /// The state changed (false: its sender is gone).
                State(bool),
                Stop,
            }
            while !stop.is_requested() {
                let next = runtime().block_on(async {
                    tokio::select! {
                        biased;
                        () = stop.requested() => Next::Stop,
                        n = client.recv_many(&mut batch, LISTEN_BATCH) => Next::Messages(n),
                        changed = states.changed() => Next::State(changed.is_ok()),
                    }
                });
                match next {
                    Next::Stop => return,
                    Next::Messages(n) => {
                        // Taken off the queue: handed over even if a stop came meanwhile.
                        for m in batch.drain(..) {
                            deliver(|| listener.on_message(m.into()));
                        }
                        if n == 0 {
                            break;
                        }
                    }
                    Next::State(true) => {
                        let now = *states.borrow_and_update();
                        if now != state {
                            state = now;
                            deliver(|| listener.on_state(state.into()));
                        }
                    }
                    Next::State(false) => break,
                }
            }
            if !stop.is_requested() && state != ConnectionState::Closed {
                deliver(|| listener.on_state(MqttConnectionState::Closed));
            }
        }))
    }

    /// Where the connection stands now.
    pub fn state(&self) -> MqttConnectionState {
        self.client.state().into()
    }

    /// Whether the connection is up now.
    pub fn is_connected(&self) -> bool {
        matches!(self.client.state(), ConnectionState::Connected { .. })
    }

    /// The session's counters and gauges.
    pub async fn metrics(&self) -> Result<MqttMetrics, NomqError> {
        let m = self.client.metrics().await?;
        let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Ok(MqttMetrics {
            sent: m.sent,
            received: m.received,
            retransmitted: m.retransmitted,
            reconnects: m.reconnects,
            dropped: m.dropped,
            duplicates: m.duplicates,
            inflight: wide(m.inflight),
            queued_messages: wide(m.queued_messages),
            queued_bytes: wide(m.queued_bytes),
        })
    }

    /// Sends DISCONNECT (the will is not published) and stops; publishes still pending fail
    /// with `Closed`.
    pub async fn disconnect(&self) {
        let client = self.client.clone();
        let _ = on_runtime(async move {
            client.disconnect().await;
            Ok(())
        })
        .await;
    }
}

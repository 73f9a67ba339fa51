//! `nomq._nomq.NativeClient`: the MQTT client for `nomq.mqtt.Client` and `nomq.sync`. Publishes
//! resolve their asyncio future straight from the driver task through the loop's completer: no
//! task and no GIL per publish.

use std::sync::Arc;

use nomq::mqtt::{Client, ClientOptions, LastWill, MessageProperties, ReconnectPolicy, TlsOptions};
use nomq::proto::ErrorKind;
use nomq::proto::mqtt::codec::SubscriptionOptions;
use nomq::proto::mqtt::session::{Message, Metrics, PublishOutcome};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::bridge::{self, Target};
use crate::errors;
use crate::framing;

/// Everything `nomq.mqtt.ConnectOptions` carries, as the dict `nomq/mqtt.py` builds (every key
/// present).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct Options {
    host: String,
    port: u16,
    client_id: String,
    version: u8,
    clean_start: bool,
    keepalive: u16,
    username: Option<String>,
    password: Option<Vec<u8>>,
    will: Option<Will>,
    /// None: the version's default (300 s for 5.0, 0 for 3.1.1).
    session_expiry: Option<u32>,
    tls: Option<Tls>,
    /// (enabled, initial delay s, maximum delay s, stable after s)
    reconnect: (bool, f64, f64, f64),
    connect_timeout: f64,
    request_timeout: f64,
    max_inflight: u16,
    max_packet_size: u32,
    max_outbox_messages: usize,
    max_outbox_bytes: usize,
    outbox_policy: String,
    message_buffer: usize,
    message_buffer_bytes: usize,
    user_properties: Vec<(String, String)>,
    /// (method, initial data, respond(challenge: bytes) -> bytes)
    auth: Option<(String, Option<Vec<u8>>, Py<PyAny>)>,
}

/// The last will, as a dict.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct Will {
    topic: String,
    payload: Vec<u8>,
    qos: u8,
    retain: bool,
    delay_interval: Option<u32>,
}

/// TLS settings, as a dict (PEM bytes).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct Tls {
    ca_pem: Option<Vec<u8>>,
    client_cert_pem: Option<Vec<u8>>,
    client_key_pem: Option<Vec<u8>>,
    alpn: Vec<Vec<u8>>,
    server_name: Option<String>,
}

/// MQTT 5.0 message properties, as the dict `nomq/mqtt.py` builds.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct Properties {
    payload_format_indicator: Option<u8>,
    message_expiry_interval: Option<u32>,
    content_type: Option<String>,
    response_topic: Option<String>,
    correlation_data: Option<Vec<u8>>,
    user_properties: Vec<(String, String)>,
}

/// Milliseconds from `s` seconds for the option `name`, by the handle layer's parser.
fn millis(py: Python<'_>, name: &'static str, s: f64) -> PyResult<u64> {
    nomq_handle::options::millis(name, s).map_err(|e| errors::proto(py, e.into()))
}

fn will_qos(py: Python<'_>, q: u8) -> PyResult<nomq::Qos> {
    nomq_handle::options::qos("will_qos", q).map_err(|e| errors::proto(py, e.into()))
}

impl Options {
    fn into_client_options(self, py: Python<'_>) -> PyResult<ClientOptions> {
        let version =
            nomq_handle::options::mqtt_version(self.version).map_err(|e| errors::proto(py, e.into()))?;
        let mut o = ClientOptions::new(self.host, self.port, self.client_id).version(version);
        let s = &mut o.session;
        s.clean_start = self.clean_start;
        s.keep_alive = self.keepalive;
        s.username = self.username;
        s.password = self.password;
        if let Some(expiry) = self.session_expiry {
            s.session_expiry_interval = expiry;
        }
        s.max_inflight = self.max_inflight;
        s.max_outbox_messages = self.max_outbox_messages;
        s.max_outbox_bytes = self.max_outbox_bytes;
        s.maximum_packet_size = self.max_packet_size;
        s.user_properties = self.user_properties;
        s.outbox_policy = nomq_handle::options::outbox_policy(&self.outbox_policy)
            .map_err(|e| errors::proto(py, e.into()))?;
        if let Some(w) = self.will {
            s.will = Some(LastWill {
                message: Message::new(w.topic, w.payload, will_qos(py, w.qos)?, w.retain),
                delay_interval: w.delay_interval,
            });
        }
        let (enabled, initial, max, stable) = self.reconnect;
        o.session.reconnect = ReconnectPolicy {
            enabled,
            initial_ms: millis(py, "reconnect.initial_delay", initial)?,
            max_ms: millis(py, "reconnect.max_delay", max)?,
            stable_ms: millis(py, "reconnect.stable_after", stable)?,
        };
        o.session.connect_timeout_ms = millis(py, "connect_timeout", self.connect_timeout)?;
        o.request_timeout =
            std::time::Duration::from_millis(millis(py, "request_timeout", self.request_timeout)?);
        if self.message_buffer == 0 {
            return Err(errors::raise(
                py,
                ErrorKind::InvalidArgument,
                "option `message_buffer` must be at least 1",
            ));
        }
        o.message_buffer = self.message_buffer;
        if self.message_buffer_bytes == 0 {
            return Err(errors::raise(
                py,
                ErrorKind::InvalidArgument,
                "option `message_buffer_bytes` must be at least 1",
            ));
        }
        o.message_buffer_bytes = self.message_buffer_bytes;
        if let Some(t) = self.tls {
            o.tls = Some(TlsOptions {
                ca_pem: t.ca_pem,
                client_cert_pem: t.client_cert_pem,
                client_key_pem: t.client_key_pem,
                alpn: t.alpn,
                server_name: t.server_name,
            });
        }
        if let Some((method, initial, respond)) = self.auth {
            o = o.enhanced_auth(method, initial, move |challenge| {
                // Runs on the driver task during the handshake; the GIL is free then (the
                // caller awaits `connect`).
                Python::attach(|py| {
                    respond
                        .call1(py, (PyBytes::new(py, challenge),))
                        .and_then(|answer| answer.extract::<Vec<u8>>(py))
                        .map_err(|e| e.to_string())
                })
            });
        }
        // `enhanced_auth` picks 5.0 for Rust callers; Python's options name their version, and
        // auth with 3.1.1 is refused as in every binding.
        o.session.version = version;
        // The core's rules, the same in every binding.
        o.session.validate().map_err(|e| errors::proto(py, e.into()))?;
        Ok(o)
    }
}

/// A received MQTT message.
#[pyclass(frozen, get_all, module = "nomq._nomq")]
pub(crate) struct MqttMessage {
    topic: String,
    payload: Py<PyBytes>,
    qos: u8,
    retain: bool,
    /// MQTT 5.0 properties as a dict, or None.
    properties: Py<PyAny>,
}

#[pymethods]
impl MqttMessage {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Message(topic={:?}, payload={} bytes, qos={}, retain={})",
            self.topic,
            self.payload.as_bytes(py).len(),
            self.qos,
            if self.retain { "True" } else { "False" }
        )
    }
}

fn properties_dict(py: Python<'_>, p: MessageProperties) -> PyResult<Py<PyAny>> {
    if p == MessageProperties::default() {
        return Ok(py.None());
    }
    let d = PyDict::new(py);
    d.set_item("payload_format_indicator", p.payload_format_indicator)?;
    d.set_item("message_expiry_interval", p.message_expiry_interval)?;
    d.set_item("content_type", p.content_type)?;
    d.set_item("response_topic", p.response_topic)?;
    d.set_item("correlation_data", p.correlation_data.map(|c| PyBytes::new(py, &c)))?;
    d.set_item("user_properties", p.user_properties)?;
    d.set_item("subscription_identifiers", p.subscription_identifiers)?;
    Ok(d.into_any().unbind())
}

fn messages(py: Python<'_>, batch: Vec<Message>) -> PyResult<Py<PyAny>> {
    let mut list = Vec::with_capacity(batch.len());
    for m in batch {
        list.push(MqttMessage {
            payload: PyBytes::new(py, &m.payload).unbind(),
            topic: m.topic,
            qos: m.qos as u8,
            retain: m.retain,
            properties: properties_dict(py, m.properties)?,
        });
    }
    bridge::value(py, list)
}

/// The Python value of a finished publish: the reason code (0, or 0x10 "no matching
/// subscribers" from a 5.0 server); a refusal raises `PublishRefused`.
fn outcome(py: Python<'_>, o: PublishOutcome) -> PyResult<Py<PyAny>> {
    match o {
        PublishOutcome::Sent => bridge::value(py, 0u8),
        PublishOutcome::Confirmed(reason) => bridge::value(py, reason.0),
        PublishOutcome::Refused(reason) => Err(errors::refused(
            py,
            ErrorKind::PublishRefused,
            format!("the server refused the publish: {reason}"),
            reason.0,
        )),
        PublishOutcome::Expired => Err(errors::to_py(py, &nomq::Error::Expired)),
        PublishOutcome::SessionLost => Err(errors::raise(
            py,
            ErrorKind::DeliveryUnknown,
            "the server lost its session after taking the message (PUBREC): delivery unknown",
        )),
    }
}

fn metrics(py: Python<'_>, m: Metrics) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    for (name, value) in m.fields() {
        d.set_item(name, value)?;
    }
    Ok(d.into_any().unbind())
}

fn reasons(py: Python<'_>, r: Vec<nomq::proto::mqtt::ReasonCode>) -> PyResult<Py<PyAny>> {
    // A list of ints (a Vec<u8> would become `bytes`).
    Ok(pyo3::types::PyList::new(py, r.into_iter().map(|c| c.0))?.into_any().unbind())
}

fn message(
    py: Python<'_>,
    topic: String,
    payload: Vec<u8>,
    qos: u8,
    retain: bool,
    props: Option<Properties>,
) -> PyResult<Message> {
    let mut m = Message::new(topic, payload, framing::qos(py, qos)?, retain);
    if let Some(p) = props {
        m.properties = MessageProperties {
            payload_format_indicator: p.payload_format_indicator,
            message_expiry_interval: p.message_expiry_interval,
            content_type: p.content_type,
            response_topic: p.response_topic,
            correlation_data: p.correlation_data,
            user_properties: p.user_properties,
            subscription_identifiers: Vec::new(),
        };
    }
    Ok(m)
}

/// A connected MQTT client (reconnecting in the background per its options).
#[pyclass(frozen, module = "nomq._nomq")]
pub(crate) struct NativeClient {
    client: Arc<Client>,
    stash: bridge::Stash<Message>,
}

#[pymethods]
impl NativeClient {
    /// Connects (TCP or TLS, CONNECT, CONNACK); the value is the client.
    #[staticmethod]
    fn connect(py: Python<'_>, target: Target, options: Options) -> PyResult<Py<PyAny>> {
        let options = options.into_client_options(py)?;
        crate::logging::sync_level(py);
        let work = async move { Client::connect(options).await };
        bridge::run(py, target, work, |py, client| {
            bridge::value(py, NativeClient { client: Arc::new(client), stash: Default::default() })
        })
    }

    /// Publishes; completes with the QoS flow (written, PUBACK, PUBCOMP).
    /// Blocking (no target), `timeout` seconds bound the wait: `TimedOutError` then (the
    /// message stays queued and may still be delivered).
    #[pyo3(signature = (target, topic, payload, qos = 0, retain = false, properties = None, timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn publish(
        &self,
        py: Python<'_>,
        target: Target,
        topic: String,
        payload: &[u8],
        qos: u8,
        retain: bool,
        properties: Option<Properties>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let limit = timeout.map(|t| millis(py, "timeout", t)).transpose()?;
        bridge::not_forked(py)?;
        let m = message(py, topic, payload.to_vec(), qos, retain, properties)?;
        match target {
            Some((completer, future)) => {
                // The outbox policy's "wait" is the line of publishes waiting for room; past it
                // the publish fails with QueueFull rather than holding its message in a task.
                let done = bridge::resolve(completer, future, outcome);
                self.client.publish_or_refuse_with(m, done);
                Ok(py.None())
            }
            None => {
                let client = self.client.clone();
                let work = async move {
                    match limit {
                        Some(ms) => tokio::time::timeout(
                            std::time::Duration::from_millis(ms),
                            client.publish_message(m),
                        )
                        .await
                        .unwrap_or(Err(nomq::Error::TimedOut("confirmation"))),
                        None => client.publish_message(m).await,
                    }
                };
                bridge::run(py, None, work, outcome)
            }
        }
    }

    /// Publishes without waiting for outbox room: `QueueFull` at once when it is full.
    #[pyo3(signature = (target, topic, payload, qos = 0, retain = false))]
    fn try_publish(
        &self,
        py: Python<'_>,
        target: Target,
        topic: String,
        payload: &[u8],
        qos: u8,
        retain: bool,
    ) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        let q = framing::qos(py, qos)?;
        let payload = payload.to_vec();
        bridge::run(py, target, async move { client.try_publish(&topic, &payload, q, retain).await }, outcome)
    }

    /// Subscribes; the value is the list of granted reason codes. With `stream`, the value is a
    /// `NativeSubscription` receiving the matching messages instead.
    #[pyo3(signature = (target, filter, qos = 0, no_local = false, retain_as_published = false,
                        retain_handling = 0, stream = false))]
    #[allow(clippy::too_many_arguments)]
    fn subscribe(
        &self,
        py: Python<'_>,
        target: Target,
        filter: String,
        qos: u8,
        no_local: bool,
        retain_as_published: bool,
        retain_handling: u8,
        stream: bool,
    ) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        let q = framing::qos(py, qos)?;
        if stream {
            let work = async move { client.subscription(&filter, q).await };
            return bridge::run(py, target, work, |py, s| {
                let granted: Vec<u8> = s.granted.iter().map(|c| c.0).collect();
                bridge::value(
                    py,
                    NativeSubscription {
                        granted,
                        rx: Arc::new(tokio::sync::Mutex::new(s)),
                        stash: Default::default(),
                    },
                )
            });
        }
        let options = SubscriptionOptions { qos: q, no_local, retain_as_published, retain_handling };
        bridge::run(py, target, async move { client.subscribe_with(&filter, options).await }, reasons)
    }

    /// Unsubscribes; the value is the list of reason codes (5.0; empty in 3.1.1).
    fn unsubscribe(&self, py: Python<'_>, target: Target, filter: String) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        bridge::run(py, target, async move { client.unsubscribe(&filter).await }, reasons)
    }

    /// Waits for messages of plain subscriptions and returns up to `limit`; empty once closed,
    /// `None` after `timeout` seconds without any.
    #[pyo3(signature = (target, limit, timeout = None))]
    fn recv_many(
        &self,
        py: Python<'_>,
        target: Target,
        limit: usize,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        let recv = async move {
            let mut batch = Vec::new();
            bridge::within(timeout, client.recv_many(&mut batch, limit)).await.map(|_| batch)
        };
        bridge::receive(py, target, &self.stash, limit, recv, messages)
    }

    /// Resolves the asyncio `target` with up to `limit` messages of plain subscriptions as
    /// soon as the driver hands some over, straight from the driver's thread (no task, no
    /// second thread hop); `[]` once closed; `None` when another receiver took them first (wait
    /// again through `recv_many`). Returns the future's done-callback, which drops the wait
    /// once the future is done by other means (cancelled, timed out): nothing is taken then.
    fn wait_many(&self, py: Python<'_>, target: Target, limit: usize) -> PyResult<Py<PyAny>> {
        bridge::wait_many(py, target, &self.client, &self.stash, limit, messages)
    }

    /// The messages already waiting, up to `limit`, without waiting.
    fn try_recv_many(&self, py: Python<'_>, limit: usize) -> PyResult<Py<PyAny>> {
        messages(py, bridge::waiting(&self.stash, &*self.client, limit))
    }

    /// Counters and gauges, as a dict.
    fn metrics(&self, py: Python<'_>, target: Target) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        bridge::run(py, target, async move { client.metrics().await }, metrics)
    }

    /// Sends DISCONNECT and stops; pending publishes fail with `ClosedError`.
    fn disconnect(&self, py: Python<'_>, target: Target) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        let work = async move {
            client.disconnect().await;
            Ok(())
        };
        bridge::run(py, target, work, bridge::none)
    }
}

/// The message stream of one subscription.
#[pyclass(frozen, module = "nomq._nomq")]
pub(crate) struct NativeSubscription {
    rx: Arc<tokio::sync::Mutex<nomq::mqtt::Subscription>>,
    stash: bridge::Stash<Message>,
    /// Granted reason codes.
    #[pyo3(get)]
    granted: Vec<u8>,
}

#[pymethods]
impl NativeSubscription {
    /// Waits for messages and returns up to `limit`; empty once the client is closed, `None`
    /// after `timeout` seconds without any.
    #[pyo3(signature = (target, limit, timeout = None))]
    fn recv_many(
        &self,
        py: Python<'_>,
        target: Target,
        limit: usize,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let rx = self.rx.clone();
        let recv = async move {
            let mut batch = Vec::new();
            let mut rx = rx.lock().await;
            bridge::within(timeout, rx.recv_many(&mut batch, limit)).await.map(|_| batch)
        };
        bridge::receive(py, target, &self.stash, limit, recv, messages)
    }
}

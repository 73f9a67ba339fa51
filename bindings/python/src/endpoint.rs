//! `nomq._nomq.NativeEndpoint`: a NoMQ node (the tokio UDP driver) for `nomq.Endpoint` and
//! the `nomq.NoMQ` compatibility layer. Every operation takes a [`Target`]: an asyncio future
//! to resolve, or `None` to block with the GIL released. Publishes and receives resolve their
//! asyncio future straight from the driver task through the loop's completer, as the MQTT
//! client's do (`mqtt.rs`): no task and no GIL per operation.

use std::net::SocketAddr;
use std::sync::Arc;

use nomq::proto::ErrorKind;
use nomq::proto::endpoint::PublishOptions;
use nomq::{Node, NodeConfig};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::bridge::{self, Target};
use crate::errors;
use crate::framing;

fn addr(py: Python<'_>, s: &str) -> PyResult<SocketAddr> {
    s.parse().map_err(|_| {
        errors::raise(
            py,
            ErrorKind::InvalidArgument,
            format!("{s:?} is not an address: use \"ip:port\" or \"[ipv6]:port\""),
        )
    })
}

/// A message received by an endpoint.
#[pyclass(frozen, get_all, module = "nomq._nomq")]
pub(crate) struct EndpointMessage {
    /// Channel name.
    channel: String,
    /// Payload bytes (v1: UTF-8 text).
    payload: Py<PyBytes>,
    /// Sender as "ip:port".
    sender: String,
    qos: u8,
    retain: bool,
    priority: u8,
    session_id: u32,
    packet_id: u32,
    timestamp_ms: u64,
}

#[pymethods]
impl EndpointMessage {
    /// The payload as text (v1 messages are always UTF-8).
    #[getter]
    fn text(&self, py: Python<'_>) -> PyResult<String> {
        Ok(String::from_utf8_lossy(self.payload.as_bytes(py)).into_owned())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "EndpointMessage(channel={:?}, payload={} bytes, sender={:?}, qos={})",
            self.channel,
            self.payload.as_bytes(py).len(),
            self.sender,
            self.qos
        )
    }
}

fn messages(py: Python<'_>, batch: Vec<nomq::Message>) -> PyResult<Py<PyAny>> {
    let list: Vec<EndpointMessage> = batch
        .into_iter()
        .map(|m| EndpointMessage {
            payload: PyBytes::new(py, &m.payload).unbind(),
            channel: m.channel,
            sender: m.from.to_string(),
            qos: m.qos as u8,
            retain: m.retain,
            priority: m.priority,
            session_id: m.session_id,
            packet_id: m.packet_id,
            timestamp_ms: m.timestamp.0,
        })
        .collect();
    bridge::value(py, list)
}

/// A running NoMQ node.
#[pyclass(frozen, module = "nomq._nomq")]
pub(crate) struct NativeEndpoint {
    node: Arc<Node>,
    stash: bridge::Stash<nomq::Message>,
}

#[pymethods]
impl NativeEndpoint {
    /// Binds the UDP socket and starts the node. `version` 1 speaks the reference's wire format.
    #[new]
    #[pyo3(signature = (bind, encryption_key, trailer_key, version = 1, multicast = Vec::new(),
                        message_buffer = 1024, max_pending = None, reference_layout = false,
                        share_port = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        bind: &str,
        encryption_key: &[u8],
        trailer_key: &[u8],
        version: u8,
        multicast: Vec<String>,
        message_buffer: usize,
        max_pending: Option<usize>,
        reference_layout: bool,
        share_port: bool,
    ) -> PyResult<Self> {
        bridge::not_forked(py)?;
        let keys = framing::keys(py, encryption_key, trailer_key)?;
        let mut config = NodeConfig::new(addr(py, bind)?, keys, framing::version(py, version)?);
        for group in multicast {
            config.multicast.push(group.parse().map_err(|_| {
                errors::raise(py, ErrorKind::InvalidArgument, format!("{group:?} is not a multicast address"))
            })?);
        }
        config.message_buffer = message_buffer.max(1);
        config.share_port = share_port;
        if let Some(n) = max_pending {
            config.endpoint.max_pending = n;
        }
        if reference_layout {
            config.endpoint.inner_layout = nomq::proto::frame::InnerLayout::ReferenceListener;
        }
        let node = py
            .detach(|| bridge::runtime().block_on(Node::bind(config)))
            .map_err(|e| errors::to_py(py, &e))?;
        Ok(NativeEndpoint { node: Arc::new(node), stash: Default::default() })
    }

    /// The bound address as "ip:port".
    #[getter]
    fn local_addr(&self) -> String {
        self.node.local_addr().to_string()
    }

    /// The node's current session id, as its packets carry it.
    #[getter]
    fn session_id(&self) -> u32 {
        self.node.session_id()
    }

    /// Subscribes to `channel`; with `announce`, also sends SUBSCRIBE there (publishers reply
    /// with their retained messages).
    #[pyo3(signature = (target, channel, announce = None, priority = 0))]
    fn subscribe(
        &self,
        py: Python<'_>,
        target: Target,
        channel: String,
        announce: Option<&str>,
        priority: u8,
    ) -> PyResult<Py<PyAny>> {
        let node = self.node.clone();
        let announce = announce.map(|a| addr(py, a)).transpose()?;
        let work = async move {
            match announce {
                Some(to) => node.subscribe_and_announce(&channel, to, priority).await,
                None => node.subscribe(&channel).await,
            }
        };
        bridge::run(py, target, work, bridge::none)
    }

    /// Unsubscribes; the value tells whether `channel` was subscribed.
    #[pyo3(signature = (target, channel, announce = None))]
    fn unsubscribe(
        &self,
        py: Python<'_>,
        target: Target,
        channel: String,
        announce: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let node = self.node.clone();
        let announce = announce.map(|a| addr(py, a)).transpose()?;
        let work = async move { node.unsubscribe(&channel, announce).await };
        bridge::run(py, target, work, bridge::value)
    }

    /// Publishes to `to` ("ip:port"; a broadcast or multicast address reaches a group) and
    /// completes when the QoS flow does: sent (0), ACK (1), PUBCOMP (2).
    #[pyo3(signature = (target, to, channel, payload, qos = 1, retain = false, priority = 0, ttl = 3600))]
    #[allow(clippy::too_many_arguments)]
    fn publish(
        &self,
        py: Python<'_>,
        target: Target,
        to: &str,
        channel: String,
        payload: &[u8],
        qos: u8,
        retain: bool,
        priority: u8,
        ttl: u16,
    ) -> PyResult<Py<PyAny>> {
        bridge::not_forked(py)?;
        let to = addr(py, to)?;
        let options = PublishOptions { qos: framing::qos(py, qos)?, retain, priority, ttl };
        match target {
            Some((completer, future)) => {
                let done = bridge::resolve(completer, future, bridge::none);
                // Past the driver's queue the publish fails with QueueFull rather than holding
                // its message in a task.
                self.node.publish_or_refuse_with(to, &channel, payload, options, done);
                Ok(py.None())
            }
            None => {
                let node = self.node.clone();
                let payload = payload.to_vec();
                let work = async move { node.publish(to, &channel, &payload, options).await };
                bridge::run(py, None, work, bridge::none)
            }
        }
    }

    /// Sends a HEARTBEAT to `to`.
    fn heartbeat(&self, py: Python<'_>, target: Target, to: &str) -> PyResult<Py<PyAny>> {
        let node = self.node.clone();
        let to = addr(py, to)?;
        bridge::run(py, target, async move { node.heartbeat(to).await }, bridge::none)
    }

    /// Waits for messages and returns up to `limit` of them; an empty list once closed, `None`
    /// after `timeout` seconds without any.
    #[pyo3(signature = (target, limit, timeout = None))]
    fn recv_many(
        &self,
        py: Python<'_>,
        target: Target,
        limit: usize,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let node = self.node.clone();
        let recv = async move {
            let mut batch = Vec::new();
            bridge::within(timeout, node.recv_many(&mut batch, limit)).await.map(|_| batch)
        };
        bridge::receive(py, target, &self.stash, limit, recv, messages)
    }

    /// Resolves the asyncio `target` with up to `limit` messages as soon as the driver hands
    /// some over, straight from the driver's thread (no task, no second thread hop); `[]` once
    /// closed; `None` when another receiver took them first (wait again through `recv_many`).
    /// Returns the future's done-callback, which drops the wait once the future is done by
    /// other means (cancelled, timed out): nothing is taken then.
    fn wait_many(&self, py: Python<'_>, target: Target, limit: usize) -> PyResult<Py<PyAny>> {
        bridge::wait_many(py, target, &self.node, &self.stash, limit, messages)
    }

    /// The messages already waiting, up to `limit`, without waiting.
    fn try_recv_many(&self, py: Python<'_>, limit: usize) -> PyResult<Py<PyAny>> {
        messages(py, bridge::waiting(&self.stash, &*self.node, limit))
    }

    /// The endpoint's counters, as a dict.
    fn stats(&self, py: Python<'_>, target: Target) -> PyResult<Py<PyAny>> {
        let node = self.node.clone();
        bridge::run(py, target, async move { node.stats().await }, |py, s| {
            let d = PyDict::new(py);
            for (name, value) in s.fields() {
                d.set_item(name, value)?;
            }
            Ok(d.into_any().unbind())
        })
    }

    /// Stops the node: pending publishes fail with `ClosedError`, receivers get no more.
    fn close(&self, py: Python<'_>, target: Target) -> PyResult<Py<PyAny>> {
        let node = self.node.clone();
        bridge::run(
            py,
            target,
            async move {
                node.close().await;
                Ok(())
            },
            bridge::none,
        )
    }
}

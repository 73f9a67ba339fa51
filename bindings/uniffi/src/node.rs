//! `NomqNode`: a NoMQ node (v1 or v2) on a UDP socket, with per-publish completion: `publish`
//! resolves when the QoS flow completes (QoS 0 sent, QoS 1 ACK, QoS 2 PUBCOMP).

use std::net::SocketAddr;
use std::sync::Arc;

use nomq::{Node, NodeConfig, PublishOptions, Stats};
use nomq_proto::endpoint::PublishOutcome;
use nomq_proto::frame::{Qos, Version};
use tokio::sync::oneshot;

use crate::NomqError;
use crate::framing::keys;
use crate::listen::{Listening, NodeListener, deliver};
use crate::runtime::{on_runtime, runtime};

/// Messages taken from the node per wake-up of a listener.
const LISTEN_BATCH: usize = 64;

/// Where and how a node runs.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NodeOptions {
    /// The 32-byte encryption key.
    pub encryption_key: Vec<u8>,
    /// The 32-byte trailer (HMAC) key.
    pub hmac_key: Vec<u8>,
    /// Local address to bind: `0.0.0.0:8888` like the reference; port 0 picks a free one.
    #[uniffi(default = "0.0.0.0:8888")]
    pub bind: String,
    /// Protocol version; `null`: v1 (the reference's).
    #[uniffi(default = None)]
    pub version: Option<Version>,
    /// Multicast groups to join.
    #[uniffi(default)]
    pub multicast: Vec<String>,
    /// Received messages buffered for `recv` or a listener before the node pushes back.
    #[uniffi(default = 1024)]
    pub message_buffer: u32,
}

/// A message received on a subscribed channel.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NodeMessage {
    /// The sender's address (`ip:port`).
    pub from: String,
    /// The channel.
    pub channel: String,
    /// The payload (v1: UTF-8 text).
    pub payload: Vec<u8>,
    /// The QoS it was published with.
    pub qos: Qos,
    /// Set on a retained message replayed to a new subscriber.
    pub retain: bool,
    /// Priority 0..=15.
    pub priority: u8,
    /// The sender's session id.
    pub session_id: u32,
    /// The packet id.
    pub packet_id: u32,
    /// The sender's timestamp in Unix milliseconds (v1 carries whole seconds).
    pub timestamp_ms: u64,
}

impl From<nomq::Message> for NodeMessage {
    fn from(m: nomq::Message) -> Self {
        NodeMessage {
            from: m.from.to_string(),
            channel: m.channel,
            payload: m.payload,
            qos: m.qos,
            retain: m.retain,
            priority: m.priority,
            session_id: m.session_id,
            packet_id: m.packet_id,
            timestamp_ms: m.timestamp.0,
        }
    }
}

/// The node's counters since it started.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NodeStats {
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Refused: malformed.
    pub rejected_malformed: u64,
    /// Refused: another protocol version.
    pub rejected_version: u64,
    /// Refused: authentication failed (wrong keys, tampering).
    pub rejected_auth: u64,
    /// Refused: outside the timestamp window.
    pub rejected_stale: u64,
    /// Duplicates and replays suppressed.
    pub duplicates: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Publishes accepted.
    pub published: u64,
    /// Retransmissions.
    pub retransmitted: u64,
}

impl From<Stats> for NodeStats {
    fn from(s: Stats) -> Self {
        NodeStats {
            datagrams_in: s.datagrams_in,
            datagrams_out: s.datagrams_out,
            rejected_malformed: s.rejected_malformed,
            rejected_version: s.rejected_version,
            rejected_auth: s.rejected_auth,
            rejected_stale: s.rejected_stale,
            duplicates: s.duplicates,
            delivered: s.delivered,
            published: s.published,
            retransmitted: s.retransmitted,
        }
    }
}

fn address(what: &str, s: &str) -> Result<SocketAddr, NomqError> {
    s.parse().map_err(|_| {
        NomqError::invalid(format!("{what} must be ip:port (an IPv6 address in brackets), got {s:?}"))
    })
}

/// A running NoMQ node. `close()` stops it; so does destroying the object.
#[derive(Debug, uniffi::Object)]
pub struct NomqNode {
    node: Arc<Node>,
}

#[uniffi::export]
impl NomqNode {
    /// Binds the socket and starts the node.
    #[uniffi::constructor]
    pub async fn bind(options: NodeOptions) -> Result<Arc<Self>, NomqError> {
        let keys = keys(&options.encryption_key, &options.hmac_key)?;
        let mut config =
            NodeConfig::new(address("bind", &options.bind)?, keys, options.version.unwrap_or(Version::V1));
        config.multicast = options
            .multicast
            .iter()
            .map(|g| {
                g.parse()
                    .map_err(|_| NomqError::invalid(format!("multicast group {g:?} is not an IP address")))
            })
            .collect::<Result<_, _>>()?;
        config.message_buffer = usize::try_from(options.message_buffer).unwrap_or(usize::MAX);
        let node = on_runtime(async move { Node::bind(config).await.map_err(NomqError::from) }).await?;
        Ok(Arc::new(NomqNode { node: Arc::new(node) }))
    }

    /// The bound address (`ip:port`, with the port the OS chose when 0 was asked for).
    pub fn local_addr(&self) -> String {
        self.node.local_addr().to_string()
    }

    /// Starts delivering messages of `channel`.
    pub async fn subscribe(&self, channel: String) -> Result<(), NomqError> {
        let node = self.node.clone();
        on_runtime(async move { node.subscribe(&channel).await.map_err(NomqError::from) }).await
    }

    /// Subscribes and announces it to `to` (a peer or a broadcast address); publishers
    /// answer with their retained messages for the channel.
    pub async fn subscribe_and_announce(
        &self,
        channel: String,
        to: String,
        priority: u8,
    ) -> Result<(), NomqError> {
        let to = address("to", &to)?;
        let node = self.node.clone();
        on_runtime(async move {
            node.subscribe_and_announce(&channel, to, priority).await.map_err(NomqError::from)
        })
        .await
    }

    /// Stops delivering `channel`; false when it was not subscribed.
    pub async fn unsubscribe(&self, channel: String) -> Result<bool, NomqError> {
        let node = self.node.clone();
        on_runtime(async move { node.unsubscribe(&channel, None).await.map_err(NomqError::from) }).await
    }

    /// Publishes `payload` on `channel` to `to` (`ip:port`, or a broadcast or multicast
    /// address) and resolves when the QoS flow completes: `Sent` at QoS 0, `Confirmed` on ACK
    /// (QoS 1) or PUBCOMP (QoS 2). Unconfirmed within `ttl_s`: `NomqException.Expired`.
    pub async fn publish(
        &self,
        to: String,
        channel: String,
        payload: Vec<u8>,
        qos: Qos,
        retain: bool,
        ttl_s: u16,
    ) -> Result<PublishOutcome, NomqError> {
        let to = address("to", &to)?;
        let options = PublishOptions { qos, retain, ttl: ttl_s, ..PublishOptions::default() };
        let (tx, rx) = oneshot::channel();
        // Queued from this thread; the driver answers the oneshot (no task per publish).
        if let Some(wait) = self.node.publish_with(to, &channel, &payload, options, move |r| drop(tx.send(r)))
        {
            wait.await;
        }
        match rx.await {
            Ok(r) => r.map_err(NomqError::from),
            Err(_) => Err(NomqError::from(nomq::Error::Closed)),
        }
    }

    /// Sends a HEARTBEAT to `to`.
    pub async fn heartbeat(&self, to: String) -> Result<(), NomqError> {
        let to = address("to", &to)?;
        let node = self.node.clone();
        on_runtime(async move { node.heartbeat(to).await.map_err(NomqError::from) }).await
    }

    /// The next message; `null` once the node is closed. Cancelling the call loses nothing.
    pub async fn recv(&self) -> Option<NodeMessage> {
        self.node.recv().await.map(NodeMessage::from)
    }

    /// Waits for at least one message, then returns up to `limit` of those waiting; empty
    /// once the node is closed. Cancelling the call loses nothing.
    pub async fn recv_many(&self, limit: u32) -> Vec<NodeMessage> {
        let mut batch = Vec::new();
        self.node.recv_many(&mut batch, (limit as usize).max(1)).await;
        batch.into_iter().map(NodeMessage::from).collect()
    }

    /// Calls `listener` for every message, from a thread of its own, until the returned
    /// handle is stopped or the node closes (see `Listening`).
    pub fn listen(&self, listener: Arc<dyn NodeListener>) -> Arc<Listening> {
        let node = self.node.clone();
        Arc::new(Listening::spawn("node", move |mut stop| {
            let mut batch = Vec::with_capacity(LISTEN_BATCH);
            while !stop.is_requested() {
                let taken = runtime().block_on(async {
                    tokio::select! {
                        biased;
                        () = stop.requested() => None,
                        n = node.recv_many(&mut batch, LISTEN_BATCH) => Some(n),
                    }
                });
                let Some(n) = taken else { return };
                // Taken off the queue: handed over even if a stop came meanwhile.
                for m in batch.drain(..) {
                    deliver(|| listener.on_message(m.into()));
                }
                if n == 0 {
                    break;
                }
            }
        }))
    }

    /// The node's counters.
    pub async fn stats(&self) -> Result<NodeStats, NomqError> {
        let node = self.node.clone();
        on_runtime(async move { node.stats().await.map(NodeStats::from).map_err(NomqError::from) }).await
    }

    /// Whether the node has stopped.
    pub fn is_closed(&self) -> bool {
        self.node.is_closed()
    }

    /// Stops the node: publishes still pending fail with `Closed`, `recv` returns `null`.
    /// (Not `close`: in Kotlin that name frees the object, which also stops the node.)
    pub async fn shutdown(&self) {
        let node = self.node.clone();
        let _ = on_runtime(async move {
            node.close().await;
            Ok(())
        })
        .await;
    }
}

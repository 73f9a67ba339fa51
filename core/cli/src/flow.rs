//! One measured exchange between two nodes on loopback, shared by `demo` and `bench nomq`:
//! `count` publishes kept `window` in flight, a receiver counting deliveries, and the time from
//! the first publish to the last confirmation or delivery.

use nomq::proto::endpoint::PublishOptions;
use nomq::{Node, NodeConfig, Qos, Version};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

use crate::common;

pub struct Flow {
    pub qos: Qos,
    pub count: usize,
    pub confirmed: usize,
    pub delivered: usize,
    pub duplicates: u64,
    pub elapsed: Duration,
    pub first_messages: Vec<String>,
}

impl Flow {
    pub fn rate(&self) -> f64 {
        let done = if self.qos == Qos::AtMostOnce { self.delivered } else { self.confirmed };
        done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub async fn pair(version: Version) -> Result<(Arc<Node>, Arc<Node>), String> {
    let bind = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    let a =
        Node::bind(NodeConfig::new(bind, common::demo_keys(), version)).await.map_err(|e| e.to_string())?;
    let b =
        Node::bind(NodeConfig::new(bind, common::demo_keys(), version)).await.map_err(|e| e.to_string())?;
    Ok((Arc::new(a), Arc::new(b)))
}

/// Runs one flow on `channel`; `message(i)` makes the i-th payload.
pub async fn run(
    a: &Arc<Node>,
    b: &Arc<Node>,
    channel: &str,
    qos: Qos,
    count: usize,
    window: usize,
    message: impl Fn(usize) -> Vec<u8>,
) -> Result<Flow, String> {
    b.subscribe(channel).await.map_err(|e| e.to_string())?;
    let duplicates_before = b.stats().await.map_err(|e| e.to_string())?.duplicates;
    let receiver = {
        let b = b.clone();
        tokio::spawn(async move {
            let (mut delivered, mut first, mut last) = (0usize, Vec::new(), Instant::now());
            // QoS 0 can lose datagrams under load: stop after a quiet second.
            while delivered < count {
                match tokio::time::timeout(Duration::from_secs(1), b.recv()).await {
                    Ok(Some(m)) => {
                        delivered += 1;
                        last = Instant::now();
                        if first.len() < 3 {
                            first.push(String::from_utf8_lossy(&m.payload).into_owned());
                        }
                    }
                    _ => break,
                }
            }
            (delivered, first, last)
        })
    };
    let window = Arc::new(Semaphore::new(window.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let to = b.local_addr();
    for i in 0..count {
        let permit = window.clone().acquire_owned().await.map_err(|e| e.to_string())?;
        let (a, payload, channel) = (a.clone(), message(i), channel.to_owned());
        tasks.spawn(async move {
            let options = PublishOptions { qos, ..PublishOptions::default() };
            let ok = a.publish(to, &channel, &payload, options).await.is_ok();
            drop(permit);
            (ok, Instant::now())
        });
    }
    let (mut confirmed, mut last_confirm) = (0, started);
    while let Some(done) = tasks.join_next().await {
        let (ok, at) = done.map_err(|e| e.to_string())?;
        confirmed += usize::from(ok);
        last_confirm = last_confirm.max(at);
    }
    let (delivered, first_messages, last_delivery) = receiver.await.map_err(|e| e.to_string())?;
    let end = if qos == Qos::AtMostOnce { last_delivery } else { last_confirm };
    let duplicates = b.stats().await.map_err(|e| e.to_string())?.duplicates - duplicates_before;
    Ok(Flow {
        qos,
        count,
        confirmed,
        delivered,
        duplicates,
        elapsed: end.saturating_duration_since(started),
        first_messages,
    })
}

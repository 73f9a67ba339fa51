//! `nomq pub` and `nomq sub`.

use nomq::proto::endpoint::PublishOptions;
use nomq::{Error, Message, Node, NodeConfig, Qos};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common;

/// How long `sub` keeps answering QoS 2 handshakes after its last message.
const LINGER: Duration = Duration::from_millis(1000);

pub struct SubArgs {
    pub bind: SocketAddr,
    pub channel: String,
    pub keys: nomq::Keys,
    pub v2: bool,
    pub count: Option<u64>,
    pub seconds: Option<f64>,
    pub json: bool,
    pub announce: Option<SocketAddr>,
}

pub fn sub(args: SubArgs) -> Result<bool, String> {
    common::runtime().block_on(async move {
        let node = Node::bind(NodeConfig::new(args.bind, args.keys, common::version(args.v2)))
            .await
            .map_err(|e| format!("bind {}: {e}", args.bind))?;
        match args.announce {
            Some(to) => node.subscribe_and_announce(&args.channel, to, 0).await,
            None => node.subscribe(&args.channel).await,
        }
        .map_err(|e| e.to_string())?;
        eprintln!("nomq: listening on {} for channel {:?}", node.local_addr(), args.channel);
        let deadline = args.seconds.map(|s| Instant::now() + Duration::from_secs_f64(s));
        let mut received = 0u64;
        while args.count.is_none_or(|c| received < c) {
            let next = match deadline {
                Some(d) => match tokio::time::timeout_at(d.into(), node.recv()).await {
                    Ok(m) => m,
                    Err(_) => break,
                },
                None => node.recv().await,
            };
            let Some(m) = next else { break };
            received += 1;
            print_message(&m, args.json);
        }
        // Take no new messages, but stay a moment to answer the PUBREL of a QoS 2 message just
        // delivered: leaving at once would make its publisher retransmit until the ttl.
        let _ = node.unsubscribe(&args.channel, None).await;
        tokio::time::sleep(LINGER).await;
        node.close().await;
        Ok(args.count.is_none_or(|c| received >= c))
    })
}

fn print_message(m: &Message, json: bool) {
    let text = std::str::from_utf8(&m.payload).ok();
    if json {
        let mut line = json!({
            "channel": m.channel, "qos": m.qos as u8, "from": m.from.to_string(), "retain": m.retain,
            "priority": m.priority, "session_id": m.session_id, "packet_id": m.packet_id, "timestamp_ms": m.timestamp.0,
        });
        match text {
            Some(t) => line["message"] = json!(t),
            None => line["message_hex"] = json!(hex::encode(&m.payload)),
        }
        println!("{line}");
    } else {
        match text {
            Some(t) => println!("{}: {t}", m.channel),
            None => println!("{}: 0x{}", m.channel, hex::encode(&m.payload)),
        }
    }
}

/// How often `pub` says it is still waiting for a confirmation.
const UNCONFIRMED_REPORT: std::time::Duration = std::time::Duration::from_secs(2);

pub struct PubArgs {
    pub bind: SocketAddr,
    pub to: SocketAddr,
    pub channel: String,
    pub keys: nomq::Keys,
    pub v2: bool,
    pub qos: Qos,
    pub retain: bool,
    pub priority: u8,
    pub ttl: u16,
    pub count: u64,
    pub json: bool,
    pub reference_listener: bool,
    pub message: String,
}

/// Returns whether every message was confirmed (QoS 1/2) or sent (QoS 0).
pub fn publish(args: PubArgs) -> Result<bool, String> {
    common::runtime().block_on(async move {
        let mut config = NodeConfig::new(args.bind, args.keys.clone(), common::version(args.v2));
        if args.reference_listener {
            config.endpoint.inner_layout = nomq::proto::frame::InnerLayout::ReferenceListener;
        }
        let node = Arc::new(Node::bind(config).await.map_err(|e| format!("bind {}: {e}", args.bind))?);
        let options = PublishOptions { qos: args.qos, retain: args.retain, priority: args.priority, ttl: args.ttl };
        let mut all_ok = true;
        for i in 0..args.count {
            let text = args.message.replace("{i}", &i.to_string());
            let started = Instant::now();
            let publish = node.publish(args.to, &args.channel, text.as_bytes(), options);
            tokio::pin!(publish);
            // Waiting for a confirmation that may never come (nobody there, other keys or
            // version) is said while it lasts, not only when the ttl runs out.
            let result = loop {
                match tokio::time::timeout(UNCONFIRMED_REPORT, &mut publish).await {
                    Ok(result) => break result,
                    Err(_) => eprintln!(
                        "nomq: #{i} not confirmed after {:.0} s (retransmitting until its ttl of {} s): is a \
                         node listening at {} with the same keys and version?",
                        started.elapsed().as_secs_f64(),
                        args.ttl,
                        args.to
                    ),
                }
            };
            let ms = started.elapsed().as_secs_f64() * 1e3;
            let outcome = match &result {
                Ok(()) if args.qos == Qos::AtMostOnce => "sent",
                Ok(()) => "confirmed",
                Err(Error::Expired) => "expired",
                Err(_) => "failed",
            };
            all_ok &= result.is_ok();
            if args.json {
                let mut line = json!({"seq": i, "channel": args.channel, "qos": args.qos as u8, "outcome": outcome, "ms": ms});
                if let Err(e) = &result {
                    line["error"] = json!(e.to_string());
                }
                println!("{line}");
            } else {
                match &result {
                    Ok(()) => println!("{outcome} #{i} qos {} in {ms:.2} ms", args.qos as u8),
                    Err(e) => println!("{outcome} #{i}: {e}"),
                }
            }
        }
        node.close().await;
        Ok(all_ok)
    })
}

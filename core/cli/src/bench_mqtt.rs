//! `nomq bench mqtt`: the MQTT client measured against a broker, with an interface any other
//! client can implement for comparison (`benches/rumqttc-bench` does for rumqttc). MQTT 3.1.1,
//! clean session, plain TCP, topics and client ids unique per process; one JSON line on stdout.

use nomq::Qos;
use nomq::mqtt::{Client, ClientOptions, ReconnectPolicy};
use nomq::proto::mqtt::session::Message;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Publishes kept in flight by the throughput mode: "as fast as the API allows" for an API
/// whose `publish` resolves on completion means pipelining many of them.
const WINDOW: usize = 1000;
/// Stop waiting this long after the last message.
const IDLE: Duration = Duration::from_secs(5);

pub struct Args {
    pub host: String,
    pub port: u16,
    pub mode: String,
    pub qos: u8,
    pub count: usize,
    pub size: usize,
}

fn options(args: &Args, role: &str) -> ClientOptions {
    let id = format!("nomq-bench-{}-{role}", std::process::id());
    let mut o = ClientOptions::new(args.host.clone(), args.port, id);
    o.session.reconnect = ReconnectPolicy { enabled: false, ..ReconnectPolicy::default() };
    o.session.max_outbox_messages = WINDOW * 2;
    // rumqttc's default inflight window is 100; the comparison broker allows it
    // (`max_inflight_messages` in scripts/bench-mqtt.sh).
    // BENCH_INFLIGHT measures another window (the client's default is 20).
    o.session.max_inflight = std::env::var("BENCH_INFLIGHT").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    o
}

pub fn run(args: Args) -> Result<bool, String> {
    let qos = Qos::from_u8(args.qos).ok_or("--qos takes 0, 1 or 2")?;
    // BENCH_RUNTIME=current_thread runs everything on one thread (benches/rumqttc-bench reads
    // the same variable); the default is tokio's multi-threaded runtime.
    let rt = match std::env::var("BENCH_RUNTIME").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        _ => tokio::runtime::Runtime::new(),
    }
    .map_err(|e| e.to_string())?;
    let line = rt.block_on(async {
        match args.mode.as_str() {
            "throughput" => throughput(&args, qos).await,
            "rtt" => rtt(&args, qos).await,
            "connect" => connect(&args).await,
            other => Err(format!("--mode {other}: expected throughput, rtt or connect")),
        }
    })?;
    println!("{line}");
    Ok(true)
}

async fn throughput(args: &Args, qos: Qos) -> Result<serde_json::Value, String> {
    let topic = format!("nomq-bench/{}/tp", std::process::id());
    let sub = Client::connect(options(args, "sub")).await.map_err(|e| e.to_string())?;
    sub.subscribe(&topic, qos).await.map_err(|e| e.to_string())?;
    let publisher = Arc::new(Client::connect(options(args, "pub")).await.map_err(|e| e.to_string())?);
    let payload = vec![b'x'; args.size];
    let (start, cpu0) = (Instant::now(), cpu_seconds());
    let sender = {
        let (publisher, topic, count) = (publisher.clone(), topic.clone(), args.count);
        tokio::spawn(async move {
            // Keep WINDOW completions outstanding; the client pipelines the rest.
            let mut pending = std::collections::VecDeque::with_capacity(WINDOW);
            let mut ok = 0usize;
            for _ in 0..count {
                if pending.len() >= WINDOW {
                    let done: nomq::mqtt::Completion = pending.pop_front().expect("non-empty");
                    ok += usize::from(done.wait().await.is_ok());
                }
                let message = Message::new(topic.clone(), payload.clone(), qos, false);
                pending.push_back(publisher.enqueue(message).await.map_err(|e| e.to_string())?);
            }
            for done in pending {
                ok += usize::from(done.wait().await.is_ok());
            }
            Ok::<usize, String>(ok)
        })
    };
    let (mut received, mut last) = (0usize, start);
    // Take messages in bursts: one wake-up for everything that arrived together.
    let mut batch = Vec::with_capacity(1024);
    while received < args.count {
        batch.clear();
        match tokio::time::timeout(IDLE, sub.recv_many(&mut batch, 1024)).await {
            Ok(n) if n > 0 => {
                received += n;
                last = Instant::now();
            }
            _ => break,
        }
    }
    let _ = sender.await;
    let elapsed = last.duration_since(start).as_secs_f64();
    publisher.disconnect().await;
    sub.disconnect().await;
    let cpu_us = (cpu_seconds() - cpu0) * 1e6 / received.max(1) as f64;
    Ok(json!({
        "msgs_per_s": (received as f64 / elapsed.max(1e-9)).round(),
        "received": received,
        "elapsed_s": elapsed,
        "cpu_us_per_msg": (cpu_us * 100.0).round() / 100.0,
    }))
}

async fn rtt(args: &Args, qos: Qos) -> Result<serde_json::Value, String> {
    let topic = format!("nomq-bench/{}/rtt", std::process::id());
    let client = Client::connect(options(args, "rtt")).await.map_err(|e| e.to_string())?;
    client.subscribe(&topic, qos).await.map_err(|e| e.to_string())?;
    let payload = vec![b'x'; args.size];
    let warmup = (args.count / 10).clamp(10, 1000);
    let mut samples = Vec::with_capacity(args.count);
    for i in 0..warmup + args.count {
        // A sample is publish to message back, as rumqttc's and paho's benches measure it (their
        // publish returns before the PUBACK); the completion is awaited after the sample, so one
        // message is in flight at a time and every publish is confirmed.
        let t = Instant::now();
        let message = Message::new(topic.clone(), payload.clone(), qos, false);
        let done = client.enqueue(message).await.map_err(|e| e.to_string())?;
        tokio::time::timeout(IDLE, client.recv()).await.map_err(|_| "message did not come back")?;
        if i >= warmup {
            samples.push(t.elapsed().as_secs_f64() * 1e6);
        }
        done.wait().await.map_err(|e| e.to_string())?;
    }
    client.disconnect().await;
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    Ok(json!({"p50_us": pct(0.5).round(), "p99_us": pct(0.99).round(), "samples": samples.len()}))
}

async fn connect(args: &Args) -> Result<serde_json::Value, String> {
    let mut times = Vec::with_capacity(args.count);
    for i in 0..args.count {
        let t = Instant::now();
        let c = Client::connect(options(args, &format!("c{i}"))).await.map_err(|e| e.to_string())?;
        c.disconnect().await;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(json!({"median_ms": times[times.len() / 2], "count": times.len()}))
}

/// CPU time (user + system) this process has used, in seconds, from /proc/self/stat (Linux);
/// 0 elsewhere. Clock ticks are 1/100 s on Linux.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

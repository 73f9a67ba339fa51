//! `rumqttc-bench`: the interface of `nomq bench mqtt`, implemented with rumqttc 0.25.
//! MQTT 3.1.1, clean session, plain TCP, topics and client ids unique per process.

use clap::Parser;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 1883)]
    port: u16,
    #[arg(long, default_value = "throughput")]
    mode: String,
    #[arg(long, default_value_t = 1)]
    qos: u8,
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    #[arg(long, default_value_t = 64)]
    size: usize,
}

const IDLE: Duration = Duration::from_secs(5);

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn client(args: &Args, role: &str) -> (AsyncClient, EventLoop) {
    let mut o = MqttOptions::new(
        format!("rumqttc-bench-{}-{role}", std::process::id()),
        args.host.clone(),
        args.port,
    );
    o.set_keep_alive(Duration::from_secs(60));
    o.set_clean_session(true);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(o, 10_000);
    // rumqttc leaves Nagle's algorithm on by default; NODELAY=1 measures it with TCP_NODELAY,
    // the socket setting nomq always uses.
    if std::env::var_os("NODELAY").is_some_and(|v| v == "1") {
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        eventloop.set_network_options(network);
    }
    (client, eventloop)
}

/// Runs an event loop, forwarding incoming PUBLISH payloads; returns the receiver.
fn drive(mut ev: EventLoop) -> mpsc::UnboundedReceiver<Vec<u8>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send(p.payload.to_vec()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    rx
}

async fn subscribed(c: &AsyncClient, topic: &str, q: QoS) {
    c.subscribe(topic, q).await.expect("subscribe");
    // Give the SUBACK time to arrive before publishing.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

fn main() {
    // BENCH_RUNTIME=current_thread runs everything on one thread, as `nomq bench mqtt` does
    // with the same variable; the default is tokio's multi-threaded runtime.
    let runtime = match std::env::var("BENCH_RUNTIME").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        _ => tokio::runtime::Runtime::new(),
    };
    runtime.expect("tokio runtime").block_on(run(Args::parse()));
}

async fn run(args: Args) {
    let q = qos(args.qos);
    let line = match args.mode.as_str() {
        "throughput" => {
            let topic = format!("rumqttc-bench/{}/tp", std::process::id());
            let (sub, sub_ev) = client(&args, "sub");
            let mut rx = drive(sub_ev);
            subscribed(&sub, &topic, q).await;
            let (publisher, pub_ev) = client(&args, "pub");
            let _pub_rx = drive(pub_ev);
            let payload = vec![b'x'; args.size];
            let (start, cpu0) = (Instant::now(), cpu_seconds());
            let (p, t, n) = (publisher.clone(), topic.clone(), args.count);
            tokio::spawn(async move {
                for _ in 0..n {
                    if p.publish(&t, q, false, payload.clone()).await.is_err() {
                        return;
                    }
                }
            });
            let (mut received, mut last) = (0usize, start);
            while received < args.count {
                match tokio::time::timeout(IDLE, rx.recv()).await {
                    Ok(Some(_)) => {
                        received += 1;
                        last = Instant::now();
                    }
                    _ => break,
                }
            }
            let elapsed = last.duration_since(start).as_secs_f64();
            let cpu_us = (cpu_seconds() - cpu0) * 1e6 / received.max(1) as f64;
            json!({"msgs_per_s": (received as f64 / elapsed.max(1e-9)).round(), "received": received, "elapsed_s": elapsed, "cpu_us_per_msg": (cpu_us * 100.0).round() / 100.0})
        }
        "rtt" => {
            let topic = format!("rumqttc-bench/{}/rtt", std::process::id());
            let (c, ev) = client(&args, "rtt");
            let mut rx = drive(ev);
            subscribed(&c, &topic, q).await;
            let payload = vec![b'x'; args.size];
            let warmup = (args.count / 10).clamp(10, 1000);
            let mut samples = Vec::with_capacity(args.count);
            for i in 0..warmup + args.count {
                let t = Instant::now();
                c.publish(&topic, q, false, payload.clone()).await.expect("publish");
                tokio::time::timeout(IDLE, rx.recv()).await.expect("message came back");
                if i >= warmup {
                    samples.push(t.elapsed().as_secs_f64() * 1e6);
                }
            }
            samples.sort_by(f64::total_cmp);
            let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
            json!({"p50_us": pct(0.5).round(), "p99_us": pct(0.99).round(), "samples": samples.len()})
        }
        "connect" => {
            let mut times = Vec::with_capacity(args.count);
            for i in 0..args.count {
                let t = Instant::now();
                let (c, mut ev) = client(&args, &format!("c{i}"));
                loop {
                    if let Ok(Event::Incoming(Packet::ConnAck(_))) = ev.poll().await {
                        break;
                    }
                }
                c.disconnect().await.expect("disconnect");
                while ev.poll().await.is_ok() {}
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            json!({"median_ms": times[times.len() / 2], "count": times.len()})
        }
        other => panic!("--mode {other}: expected throughput, rtt or connect"),
    };
    println!("{line}");
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

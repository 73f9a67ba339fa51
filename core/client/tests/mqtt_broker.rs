//! The MQTT client against a real mosquitto: every QoS both ways in 3.1.1 and 5.0, retained
//! messages, last will, wildcards, unsubscribe, persistent sessions, a broker restart in the
//! middle of 10,000 messages at QoS 1 and 2; and against scripted servers: hostile, silent,
//! flapping (reconnect backoff), enhanced authentication.

mod support;

use nomq::mqtt::{Client, ClientOptions, ConnectionState, ProtocolVersion, ReconnectPolicy};
use nomq::proto::ErrorKind;
use nomq::proto::mqtt::session::PublishOutcome;
use nomq::{Error, Qos, Refused};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use support::broker::Broker;
use tokio::time::timeout;

fn options(broker: &Broker, id: &str, v: ProtocolVersion) -> ClientOptions {
    let mut o = ClientOptions::new("127.0.0.1", broker.port, id).version(v);
    o.session.connect_timeout_ms = 5000;
    o.session.reconnect = ReconnectPolicy { initial_ms: 50, max_ms: 500, ..ReconnectPolicy::default() };
    o
}

async fn next(c: &Client) -> nomq::proto::mqtt::session::Message {
    timeout(Duration::from_secs(5), c.recv()).await.expect("message in time").expect("client open")
}

#[tokio::test]
async fn every_qos_both_ways_in_both_versions() {
    let broker = Broker::start();
    for v in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let sub = Client::connect(options(&broker, &format!("sub-{v:?}"), v)).await.unwrap();
        let publisher = Client::connect(options(&broker, &format!("pub-{v:?}"), v)).await.unwrap();
        let granted = sub.subscribe("q/+", Qos::ExactlyOnce).await.unwrap();
        assert_eq!(granted[0].0, 2);
        for qos in [Qos::AtMostOnce, Qos::AtLeastOnce, Qos::ExactlyOnce] {
            let topic = format!("q/{}", qos as u8);
            let outcome = publisher.publish(&topic, b"payload", qos, false).await.unwrap();
            match qos {
                Qos::AtMostOnce => assert_eq!(outcome, PublishOutcome::Sent),
                _ => assert!(matches!(outcome, PublishOutcome::Confirmed(_)), "{outcome:?}"),
            }
            let m = next(&sub).await;
            assert_eq!(
                (m.topic.as_str(), m.payload.as_slice(), m.qos),
                (topic.as_str(), &b"payload"[..], qos),
                "{v:?}"
            );
        }
        let metrics = publisher.metrics().await.unwrap();
        assert_eq!((metrics.sent, metrics.inflight, metrics.queued_messages), (3, 0, 0));
        sub.disconnect().await;
        publisher.disconnect().await;
    }
}

/// Callers act on the session under the client's lock, from any thread: a publish from a
/// thread outside the runtime is written, a completion callback may publish again (callbacks
/// run outside the lock), and after `disconnect` every stream ends and every call fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_act_on_the_session_from_any_thread() {
    use nomq::proto::mqtt::session::Message;
    let broker = Broker::start();
    let client = Arc::new(Client::connect(options(&broker, "callers", ProtocolVersion::V311)).await.unwrap());
    let mut own = client.subscription("callers/#", Qos::AtLeastOnce).await.unwrap();
    let (done, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    let c = client.clone();
    std::thread::spawn(move || {
        let (again, done2) = (c.clone(), done.clone());
        let first = Message::new("callers/1", b"one".to_vec(), Qos::AtLeastOnce, false);
        let queued = c.publish_with(first, move |r| {
            done.send(r.is_ok()).unwrap();
            let second = Message::new("callers/2", b"two".to_vec(), Qos::ExactlyOnce, false);
            assert!(again.publish_with(second, move |r| done2.send(r.is_ok()).unwrap()).is_none());
        });
        assert!(queued.is_none(), "room in the outbox");
    })
    .join()
    .unwrap();
    for _ in 0..2 {
        assert_eq!(timeout(Duration::from_secs(5), outcomes.recv()).await.unwrap(), Some(true));
    }
    for (topic, payload) in [("callers/1", &b"one"[..]), ("callers/2", b"two")] {
        let m = timeout(Duration::from_secs(5), own.recv()).await.unwrap().unwrap();
        assert_eq!((m.topic.as_str(), m.payload.as_slice()), (topic, payload));
    }
    // `when_messages`: called once messages wait for `recv`, and once more at the close.
    client.subscribe("plain/#", Qos::AtLeastOnce).await.unwrap();
    let (ready, mut fired) = tokio::sync::mpsc::unbounded_channel();
    let r = ready.clone();
    let _wait = client.when_messages(move || r.send("message").unwrap());
    let cancelled = client.when_messages(|| panic!("a cancelled wait is never called"));
    cancelled.cancel();
    client.publish("plain/1", b"p", Qos::AtLeastOnce, false).await.unwrap();
    assert_eq!(timeout(Duration::from_secs(5), fired.recv()).await.unwrap(), Some("message"));
    let mut batch = Vec::new();
    assert_eq!(client.try_recv_many(&mut batch, 10), 1);
    let _wait = client.when_messages(move || ready.send("closed").unwrap());
    client.disconnect().await;
    assert_eq!(timeout(Duration::from_secs(5), fired.recv()).await.unwrap(), Some("closed"));
    assert!(client.is_closed());
    assert!(timeout(Duration::from_secs(5), own.recv()).await.unwrap().is_none(), "stream ended");
    assert!(timeout(Duration::from_secs(5), client.recv()).await.unwrap().is_none(), "recv ended");
    assert!(matches!(client.publish("callers/3", b"x", Qos::AtLeastOnce, false).await, Err(Error::Closed)));
    assert!(matches!(client.subscribe("callers/#", Qos::AtMostOnce).await, Err(Error::Closed)));
    assert!(matches!(client.metrics().await, Err(Error::Closed)));
}

#[tokio::test]
async fn retained_wildcards_and_unsubscribe() {
    let broker = Broker::start();
    let v = ProtocolVersion::V5;
    let publisher = Client::connect(options(&broker, "ret-pub", v)).await.unwrap();
    publisher.publish("home/door", b"open", Qos::AtLeastOnce, true).await.unwrap();
    let sub = Client::connect(options(&broker, "ret-sub", v)).await.unwrap();
    let mut door = sub.subscription("home/+", Qos::AtLeastOnce).await.unwrap();
    let m = timeout(Duration::from_secs(5), door.recv()).await.unwrap().unwrap();
    assert!(m.retain && m.payload == b"open", "retained message on subscribe: {m:?}");
    sub.subscribe("sensors/#", Qos::AtMostOnce).await.unwrap();
    for t in ["sensors/a", "sensors/a/b", "home/window", "other"] {
        publisher.publish(t, t.as_bytes(), Qos::AtLeastOnce, false).await.unwrap();
    }
    assert_eq!(next(&sub).await.topic, "sensors/a");
    assert_eq!(next(&sub).await.topic, "sensors/a/b");
    let m = timeout(Duration::from_secs(5), door.recv()).await.unwrap().unwrap();
    assert_eq!(m.topic, "home/window", "per-subscription stream");
    sub.unsubscribe("sensors/#").await.unwrap();
    publisher.publish("sensors/a", b"after", Qos::AtLeastOnce, false).await.unwrap();
    publisher.publish("home/x", b"marker", Qos::AtLeastOnce, false).await.unwrap();
    let m = timeout(Duration::from_secs(5), door.recv()).await.unwrap().unwrap();
    assert_eq!(m.topic, "home/x");
    assert!(timeout(Duration::from_millis(300), sub.recv()).await.is_err(), "nothing after unsubscribe");
    publisher.publish("home/door", b"", Qos::AtLeastOnce, true).await.unwrap(); // clear it
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_state_follows_a_broker_restart_and_the_disconnect() {
    let mut broker = Broker::start();
    let mut o = options(&broker, "state", ProtocolVersion::V311);
    o.session.clean_start = false;
    let c = Client::connect(o).await.unwrap();
    assert_eq!(c.state(), ConnectionState::Connected { session_present: false });
    // A watcher of its own sees the loss while the broker is down (a watch keeps only the
    // latest state: changes closer together than the watcher's turn coalesce).
    let mut states = c.watch_state();
    states.borrow_and_update();
    let watcher = tokio::spawn(async move {
        let mut seen = vec![];
        while !matches!(seen.last(), Some(ConnectionState::Connected { .. })) {
            timeout(Duration::from_secs(10), states.changed())
                .await
                .expect("a state change in time")
                .unwrap();
            seen.push(*states.borrow_and_update());
        }
        seen
    });
    tokio::task::block_in_place(|| broker.restart());
    let seen = watcher.await.unwrap();
    assert_eq!(seen.first(), Some(&ConnectionState::Reconnecting), "{seen:?}");
    // mosquitto kept the session across its restart (persistence, clean session off).
    assert_eq!(seen.last(), Some(&ConnectionState::Connected { session_present: true }), "{seen:?}");
    let mut states = c.watch_state();
    c.disconnect().await;
    assert_eq!(c.state(), ConnectionState::Closed);
    assert_eq!(*states.borrow_and_update(), ConnectionState::Closed);
}

#[tokio::test]
async fn persistent_session_survives_a_client_restart() {
    let broker = Broker::start();
    for v in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let id = format!("persist-{v:?}");
        let mut o = options(&broker, &id, v);
        // 3.1.1 discards a clean session at disconnect, so persistence means clean = false from
        // the start; 5.0 starts clean and keeps the session for its expiry interval.
        o.session.clean_start = v == ProtocolVersion::V5;
        if v == ProtocolVersion::V5 {
            o.session.session_expiry_interval = 3600;
        }
        let sub = Client::connect(o.clone()).await.unwrap();
        sub.subscribe("persist/t", Qos::AtLeastOnce).await.unwrap();
        sub.disconnect().await;
        let publisher = Client::connect(options(&broker, &format!("persist-pub-{v:?}"), v)).await.unwrap();
        for i in 0..20 {
            publisher.publish("persist/t", format!("{i}").as_bytes(), Qos::AtLeastOnce, false).await.unwrap();
        }
        o.session.clean_start = false;
        let sub = Client::connect(o).await.unwrap();
        for i in 0..20 {
            assert_eq!(next(&sub).await.payload, format!("{i}").as_bytes(), "{v:?}: queued while away");
        }
        sub.disconnect().await;
    }
}

#[tokio::test]
async fn last_will_on_abrupt_disconnect() {
    use nomq::proto::mqtt::Session;
    use nomq::proto::mqtt::session::{Event, LastWill, Message, SessionConfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let broker = Broker::start();
    let watcher = Client::connect(options(&broker, "will-watcher", ProtocolVersion::V311)).await.unwrap();
    watcher.subscribe("wills/#", Qos::AtLeastOnce).await.unwrap();
    // A client on a raw socket with a will, which then vanishes without DISCONNECT.
    let mut config = SessionConfig::new(ProtocolVersion::V311, "dying-client");
    config.will = Some(LastWill {
        message: Message::new("wills/dying", b"gone".to_vec(), Qos::AtLeastOnce, false),
        delay_interval: None,
    });
    let mut session = Session::new(config, Box::new(nomq::OsRandom));
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", broker.port)).await.unwrap();
    session.connect(0).unwrap();
    stream.write_all(session.transmit()).await.unwrap();
    session.transmitted(0, session.transmit().len());
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).await.unwrap();
    session.handle_bytes(0, &buf[..n]);
    assert_eq!(session.poll_event(), Some(Event::Connected { session_present: false }));
    drop(stream);
    let m = next(&watcher).await;
    assert_eq!((m.topic.as_str(), m.payload.as_slice()), ("wills/dying", &b"gone"[..]));
    // A clean disconnect publishes no will.
    let mut o = options(&broker, "polite-client", ProtocolVersion::V311);
    o.session.will = Some(LastWill {
        message: Message::new("wills/polite", b"x".to_vec(), Qos::AtLeastOnce, false),
        delay_interval: None,
    });
    Client::connect(o).await.unwrap().disconnect().await;
    assert!(timeout(Duration::from_millis(500), watcher.recv()).await.is_err());
}

/// Publishes `count` sequence numbers at `qos` (inflight window `window`, else the default)
/// while the broker is restarted midway; returns how often each arrived.
async fn stream_through_restart(qos: Qos, count: usize, window: Option<u16>) -> HashMap<u32, u32> {
    let mut broker = Broker::start();
    let v = ProtocolVersion::V311;
    let mut so = options(&broker, &format!("restart-sub-{}", qos as u8), v);
    so.session.clean_start = false;
    let sub = Arc::new(Client::connect(so).await.unwrap());
    sub.subscribe("stream/seq", qos).await.unwrap();
    let mut po = options(&broker, &format!("restart-pub-{}", qos as u8), v);
    po.session.clean_start = false;
    if let Some(w) = window {
        po.session.max_inflight = w;
    }
    let publisher = Arc::new(Client::connect(po).await.unwrap());
    let pubs = {
        let publisher = publisher.clone();
        tokio::spawn(async move {
            // More publishes outstanding than the inflight window: some wait in the outbox.
            let outstanding = usize::from(window.unwrap_or(20)).max(50) * 2;
            let window = Arc::new(tokio::sync::Semaphore::new(outstanding));
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..count as u32 {
                let permit = window.clone().acquire_owned().await.unwrap();
                let p = publisher.clone();
                tasks.spawn(async move {
                    let r = p.publish("stream/seq", &i.to_be_bytes(), qos, false).await;
                    drop(permit);
                    r
                });
            }
            tasks.join_all().await
        })
    };
    let mut seen: HashMap<u32, u32> = HashMap::new();
    let mut restarted = false;
    while seen.len() < count {
        let m = match timeout(Duration::from_secs(30), sub.recv()).await {
            Ok(m) => m.unwrap(),
            Err(_) => panic!(
                "stalled after {} messages; publisher {:?}, subscriber {:?}",
                seen.len(),
                publisher.metrics().await,
                sub.metrics().await
            ),
        };
        *seen.entry(u32::from_be_bytes(m.payload[..4].try_into().unwrap())).or_default() += 1;
        if !restarted && seen.len() >= count / 3 {
            restarted = true;
            // Restarting blocks this worker; the clients run on the other one.
            tokio::task::block_in_place(|| broker.restart());
        }
    }
    let results = pubs.await.unwrap();
    assert!(results.iter().all(Result::is_ok), "every publish completed");
    assert!(restarted);
    let m = publisher.metrics().await.unwrap();
    assert!(m.reconnects >= 1, "the publisher reconnected: {m:?}");
    // Late duplicates (QoS 1) may still be in flight; collect them briefly.
    while let Ok(Some(m)) = timeout(Duration::from_millis(300), sub.recv()).await {
        *seen.entry(u32::from_be_bytes(m.payload[..4].try_into().unwrap())).or_default() += 1;
    }
    drop(broker);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_mid_stream_qos1_delivers_everything() {
    let seen = stream_through_restart(Qos::AtLeastOnce, 10_000, None).await;
    assert_eq!(seen.len(), 10_000, "every message arrived at least once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_mid_stream_qos2_delivers_exactly_once() {
    assert_exactly_once(&stream_through_restart(Qos::ExactlyOnce, 10_000, None).await);
}

/// A window of 100 refills half a window at a time with ACKs paced by the driver's timer
/// (`mqtt::ack`); the default window of 20 sends them at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_mid_stream_qos2_wide_window_delivers_exactly_once() {
    assert_exactly_once(&stream_through_restart(Qos::ExactlyOnce, 10_000, Some(100)).await);
}

fn assert_exactly_once(seen: &HashMap<u32, u32>) {
    assert_eq!(seen.len(), 10_000, "every message arrived");
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dups.is_empty(),
        "QoS 2 delivered {} messages twice: {:?}",
        dups.len(),
        &dups[..dups.len().min(5)]
    );
}

#[tokio::test]
async fn hostile_or_silent_servers_fail_cleanly() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A server that answers CONNECT with garbage.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]).await;
        }
    });
    let mut o = ClientOptions::new("127.0.0.1", port, "victim");
    o.session.connect_timeout_ms = 2000;
    let started = std::time::Instant::now();
    let r = Client::connect(o.clone()).await;
    assert!(matches!(r, Err(Error::Proto(_)) | Err(Error::Io(_))), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "no hang");
    // A server that accepts and says nothing: CONNACK timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    o.port = silent.local_addr().unwrap().port();
    let keep = tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let started = std::time::Instant::now();
    assert!(matches!(Client::connect(o.clone()).await, Err(Error::Io(_))));
    assert!(started.elapsed() < Duration::from_secs(3));
    keep.abort();
    // Nobody listening at all.
    o.port = 1;
    assert!(matches!(Client::connect(o).await, Err(Error::Io(_))));
}

/// Durations over a day are refused before anything starts, with the option's name; the
/// largest accepted ones (a day) work all the way to the tokio timers.
#[tokio::test]
async fn absurd_timeouts_are_refused_and_a_day_works() {
    use nomq::proto::error::{Error as Proto, InvalidInput};
    let broker = Broker::start();
    let mut o = options(&broker, "huge-timeouts", ProtocolVersion::V311);
    o.session.connect_timeout_ms = u64::MAX;
    let refused = Client::connect(o.clone()).await;
    assert!(
        matches!(&refused, Err(Error::Proto(Proto::Invalid(InvalidInput::Option(e)))) if e.name == "connect_timeout_ms"),
        "{refused:?}"
    );
    assert_eq!(refused.err().unwrap().kind(), ErrorKind::InvalidArgument);
    const DAY_MS: u64 = 86_400_000;
    o.session.connect_timeout_ms = DAY_MS;
    o.session.ping_timeout_ms = DAY_MS;
    o.session.reconnect =
        ReconnectPolicy { initial_ms: DAY_MS, max_ms: DAY_MS, ..ReconnectPolicy::default() };
    let client =
        timeout(Duration::from_secs(5), Client::connect(o)).await.expect("no hang").expect("connected");
    client.publish("huge/t", b"x", Qos::AtLeastOnce, false).await.expect("confirmed");
    client.disconnect().await;
}

/// A server that accepts CONNECT, answers CONNACK and closes 20 ms later, every time: the
/// client's attempts come ever more slowly (the backoff resets only after a stable connection,
/// not at CONNACK), and each waits at most its doubling ceiling.
#[tokio::test]
async fn a_flapping_server_sees_reconnects_spaced_by_a_growing_backoff() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted_tx, mut accepted) = tokio::sync::mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = accepted_tx.send(std::time::Instant::now());
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                if s.read(&mut buf).await.unwrap_or(0) > 0 {
                    let _ = s.write_all(&[0x20, 0x02, 0x00, 0x00]).await; // CONNACK, accepted
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
    });
    let mut o = ClientOptions::new("127.0.0.1", port, "flapping");
    o.session.reconnect = ReconnectPolicy { initial_ms: 100, max_ms: 30_000, ..ReconnectPolicy::default() };
    let client = Client::connect(o).await.expect("the first CONNACK");
    tokio::time::sleep(Duration::from_secs(4)).await;
    client.disconnect().await;
    server.abort();
    let mut times = vec![];
    while let Ok(t) = accepted.try_recv() {
        times.push(t);
    }
    // Reset at each CONNACK, 4 s of this would be ~50 connections (20 ms up, ~50 ms of jitter).
    // With the backoff: ceilings of 0.1, 0.2, 0.4, 0.8, 1.6, 3.2 s, so about 6 in 4 s.
    assert!((2..=12).contains(&times.len()), "{} connections in 4 s", times.len());
    for (n, w) in times.windows(2).enumerate() {
        let gap = w[1] - w[0];
        // 20 ms up, then at most the ceiling; 250 ms of slack for a loaded machine.
        let ceiling = Duration::from_millis(20 + (100 << n) + 250);
        assert!(gap <= ceiling, "attempt {n}: {gap:?} after the previous, ceiling {ceiling:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_policies_while_the_broker_is_away() {
    use nomq::mqtt::OutboxPolicy;
    use nomq::proto::mqtt::session::Message;
    let mut broker = Broker::start();
    let mut o = options(&broker, "outbox-fail", ProtocolVersion::V311);
    o.session.max_outbox_messages = 3;
    o.session.clean_start = false;
    let client = Arc::new(Client::connect(o).await.unwrap());
    let mut d = options(&broker, "outbox-drop", ProtocolVersion::V311);
    d.session.max_outbox_messages = 2;
    d.session.outbox_policy = OutboxPolicy::DropOldest;
    let dropper = Client::connect(d).await.unwrap();
    tokio::task::block_in_place(|| broker.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Fill the outbox while disconnected: three queued completions.
    let mut queued = vec![];
    for i in 0..3 {
        queued.push(client.enqueue(Message::new("away/t", vec![i], Qos::AtLeastOnce, false)).await.unwrap());
    }
    // Fail fast when full...
    let full =
        timeout(Duration::from_secs(1), client.try_publish("away/t", b"x", Qos::AtLeastOnce, false)).await;
    assert!(matches!(full, Ok(Err(Error::Proto(_)))), "try_publish refuses at once: {full:?}");
    // ...or wait for room.
    let waiting = {
        let c = client.clone();
        tokio::spawn(async move { c.publish("away/t", b"waited", Qos::AtLeastOnce, false).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "publish waits while the outbox is full");
    let m = client.metrics().await;
    assert!(m.is_err() || m.unwrap().queued_messages <= 3, "the outbox stays bounded");

    // Drop-oldest: the first of three is dropped and reported.
    let first =
        dropper.enqueue(Message::new("away/d", b"1".to_vec(), Qos::AtLeastOnce, false)).await.unwrap();
    for p in [b"2", b"3"] {
        // Not awaited: the outcomes of these two do not matter here.
        drop(dropper.enqueue(Message::new("away/d", p.to_vec(), Qos::AtLeastOnce, false)).await.unwrap());
    }
    assert!(matches!(timeout(Duration::from_secs(2), first.wait()).await, Ok(Err(Error::Dropped))));

    // The broker returns: everything accepted completes.
    tokio::task::block_in_place(|| broker.restart());
    for done in queued {
        assert!(matches!(
            timeout(Duration::from_secs(10), done.wait()).await,
            Ok(Ok(PublishOutcome::Confirmed(_)))
        ));
    }
    assert!(matches!(
        timeout(Duration::from_secs(10), waiting).await,
        Ok(Ok(Ok(PublishOutcome::Confirmed(_))))
    ));
    assert!(client.metrics().await.unwrap().reconnects >= 1);
}

/// Publishes that wait for outbox room because of its byte bound are woken as room frees; a
/// message larger than the whole bound is refused at once rather than left waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_waiting_on_the_outbox_byte_bound_all_complete() {
    let mut broker = Broker::start();
    let mut o = options(&broker, "outbox-bytes", ProtocolVersion::V311);
    o.session.max_outbox_bytes = 4096;
    o.session.clean_start = false;
    let client = Arc::new(Client::connect(o).await.unwrap());
    // While the broker is away nothing is acknowledged: the outbox and the line behind it fill.
    tokio::task::block_in_place(|| broker.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut sends = vec![];
    for i in 0..40u8 {
        let c = client.clone();
        // 1 KiB each: four fill the outbox, four more the line, the rest wait on bytes.
        sends.push(tokio::spawn(
            async move { c.publish("bytes/t", &[i; 1024], Qos::AtLeastOnce, false).await },
        ));
    }
    let big = {
        let c = client.clone();
        tokio::spawn(async move { c.publish("bytes/big", &[7; 10_000], Qos::AtLeastOnce, false).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio::task::block_in_place(|| broker.restart());
    for send in sends {
        let r = timeout(Duration::from_secs(20), send).await.expect("a publish waiting on bytes completes");
        assert!(matches!(r, Ok(Ok(PublishOutcome::Confirmed(_)))), "{r:?}");
    }
    let r = timeout(Duration::from_secs(1), big).await.expect("the message larger than the bound is refused");
    assert!(matches!(r, Ok(Err(Error::Proto(ref e))) if e.kind() == ErrorKind::PayloadTooLarge), "{r:?}");
    client.disconnect().await;
}

/// Credentials (a refusal carries its CONNACK code), user properties and message expiry.
#[tokio::test]
async fn credentials_user_properties_and_message_expiry() {
    use nomq::proto::mqtt::session::{Message, MessageProperties};
    let dir = std::env::temp_dir().join(format!("nomq-passwd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let passwd = dir.join("passwd");
    let made = std::process::Command::new("mosquitto_passwd")
        .arg("-b")
        .arg("-c")
        .arg(&passwd)
        .args(["alice", "s3cret"])
        .status();
    assert!(made.map(|s| s.success()).unwrap_or(false), "mosquitto_passwd (from the mosquitto package)");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o644)).unwrap();
    let broker = Broker::start_with(&format!("allow_anonymous false\npassword_file {}", passwd.display()));
    for v in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut o = options(&broker, &format!("cred-{v:?}"), v);
        o.session.reconnect.enabled = false;
        let r = Client::connect(o.clone()).await;
        // CONNACK refusal "not authorized": 3.1.1 return code 5, 5.0 reason code 0x87.
        let not_authorized = if v == ProtocolVersion::V5 { 0x87 } else { 5 };
        assert!(
            matches!(&r, Err(Error::Refused(Refused::Connect, reason)) if reason.0 == not_authorized),
            "{v:?}: anonymous refused: {r:?}"
        );
        assert_eq!(r.err().unwrap().kind(), ErrorKind::ConnectionRefused);
        o.session.username = Some("alice".into());
        o.session.password = Some(b"wrong".to_vec());
        let r = Client::connect(o.clone()).await;
        assert!(
            matches!(&r, Err(e) if e.to_string().contains("user name or password") || e.to_string().contains("not authorized")),
            "{v:?}: {r:?}"
        );
        o.session.password = Some(b"s3cret".to_vec());
        let client = Client::connect(o).await.unwrap();
        client.subscribe("props/t", Qos::AtLeastOnce).await.unwrap();
        let mut m = Message::new("props/t", b"with properties".to_vec(), Qos::AtLeastOnce, false);
        m.properties = MessageProperties {
            message_expiry_interval: Some(120),
            content_type: Some("text/plain".into()),
            user_properties: vec![("origin".into(), "test".into())],
            ..MessageProperties::default()
        };
        client.publish_message(m).await.unwrap();
        let got = next(&client).await;
        if v == ProtocolVersion::V5 {
            // The broker forwards 5.0 properties; the expiry arrives reduced by the time it waited.
            assert_eq!(got.properties.user_properties, vec![("origin".to_string(), "test".to_string())]);
            assert_eq!(got.properties.content_type.as_deref(), Some("text/plain"));
            assert!(got.properties.message_expiry_interval.is_some_and(|e| (110..=120).contains(&e)));
        } else {
            assert!(got.properties.user_properties.is_empty(), "3.1.1 carries no properties");
        }
        client.disconnect().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// MQTT 5.0 enhanced authentication (§4.12) against a scripted server (mosquitto needs a
/// plugin for it): CONNECT carries the method and initial data, the server's challenge reaches
/// the authenticator, its answer goes back in AUTH, and CONNACK completes `connect`. A refusing
/// authenticator fails `connect` with `Error::Auth`.
#[tokio::test]
async fn enhanced_authentication_against_a_scripted_server() {
    use nomq::proto::mqtt::codec::{ConnAck, Properties, ReasonPacket};
    use nomq::proto::mqtt::{Packet, ReasonCode, decode};
    use support::scripted::{V5, read_packet, send};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut answers = vec![];
        for _ in 0..2 {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![];
            let connect = read_packet(&mut s, &mut buf).await.expect("CONNECT");
            let Packet::Connect(c) = decode(&connect, V5, u32::MAX).unwrap().unwrap().0 else {
                panic!("CONNECT first")
            };
            assert_eq!(c.properties.authentication_method, Some("X-HMAC"));
            assert_eq!(c.properties.authentication_data, Some(&b"hello"[..]));
            let challenge = Properties {
                authentication_method: Some("X-HMAC"),
                authentication_data: Some(b"nonce-42"),
                ..Properties::default()
            };
            send(
                &mut s,
                Packet::Auth(ReasonPacket {
                    reason: ReasonCode::CONTINUE_AUTHENTICATION,
                    properties: challenge,
                }),
            )
            .await;
            let mut chunk = vec![];
            let answer = tokio::time::timeout(Duration::from_secs(2), read_packet(&mut s, &mut buf)).await;
            if let Ok(Some(answer)) = answer {
                if let Packet::Auth(a) = decode(&answer, V5, u32::MAX).unwrap().unwrap().0 {
                    chunk = a.properties.authentication_data.unwrap_or_default().to_vec();
                    let ok = ConnAck {
                        session_present: false,
                        reason: ReasonCode::SUCCESS,
                        properties: Properties::default(),
                    };
                    send(&mut s, Packet::ConnAck(ok)).await;
                    // Hold the connection until the client disconnects.
                    let _ = read_packet(&mut s, &mut buf).await;
                }
            }
            answers.push(chunk);
        }
        answers
    });
    let base = ClientOptions::new("127.0.0.1", port, "authed");
    let good = base.clone().enhanced_auth("X-HMAC", Some(b"hello".to_vec()), |challenge| {
        Ok([b"proof:".as_slice(), challenge].concat())
    });
    let client = Client::connect(good).await.expect("authenticated");
    client.disconnect().await;
    let mut bad =
        base.enhanced_auth("X-HMAC", Some(b"hello".to_vec()), |_| Err("no secret for this server".into()));
    bad.session.connect_timeout_ms = 2000;
    let refused = Client::connect(bad).await;
    assert!(matches!(&refused, Err(Error::Auth(why)) if why.contains("no secret")), "{refused:?}");
    assert_eq!(server.await.unwrap(), vec![b"proof:nonce-42".to_vec(), vec![]]);
}

/// A server that refuses every request answers with 5.0 failure codes: SUBACK and UNSUBACK
/// refusals are errors carrying their code, PUBACK and PUBREC refusals are refused outcomes,
/// and the connection stays up through all of them.
#[tokio::test]
async fn refusals_carry_their_reason_codes() {
    use nomq::proto::mqtt::codec::{Ack, Properties, SubAck};
    use nomq::proto::mqtt::{Packet, ReasonCode, decode};
    use support::scripted::{V5, read_packet, send};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut s, mut buf) = support::scripted::accept_connected(&listener).await;
        let refuse = |packet_id| SubAck {
            packet_id,
            reasons: vec![ReasonCode(0x87)],
            properties: Properties::default(),
        };
        while let Some(bytes) = read_packet(&mut s, &mut buf).await {
            let reply = match decode(&bytes, V5, u32::MAX).unwrap().unwrap().0 {
                Packet::Subscribe(r) => Packet::SubAck(refuse(r.packet_id)),
                Packet::Unsubscribe(r) => Packet::UnsubAck(refuse(r.packet_id)),
                Packet::Publish(p) if p.qos == Qos::AtLeastOnce => Packet::PubAck(Ack {
                    packet_id: p.packet_id.unwrap(),
                    reason: ReasonCode(0x87),
                    properties: Properties::default(),
                }),
                Packet::Publish(p) => Packet::PubRec(Ack {
                    packet_id: p.packet_id.unwrap(),
                    reason: ReasonCode(0x97),
                    properties: Properties::default(),
                }),
                Packet::Disconnect(_) => break,
                other => panic!("unexpected {other:?}"),
            };
            send(&mut s, reply).await;
        }
    });
    let options = ClientOptions::new("127.0.0.1", port, "refused").version(ProtocolVersion::V5);
    let client = Client::connect(options).await.unwrap();
    let sub = client.subscribe("a/b", Qos::AtLeastOnce).await;
    assert!(matches!(&sub, Err(Error::Refused(Refused::Subscribe, ReasonCode(0x87)))), "{sub:?}");
    let stream = client.subscription("a/c", Qos::AtMostOnce).await;
    assert!(matches!(&stream, Err(Error::Refused(Refused::Subscribe, _))), "no stream for a refusal");
    let unsub = client.unsubscribe("a/b").await;
    assert!(matches!(&unsub, Err(Error::Refused(Refused::Unsubscribe, ReasonCode(0x87)))), "{unsub:?}");
    assert_eq!(unsub.unwrap_err().kind(), ErrorKind::UnsubscribeRefused);
    let q1 = client.publish("a/b", b"x", Qos::AtLeastOnce, false).await;
    assert!(matches!(q1, Ok(PublishOutcome::Refused(ReasonCode(0x87)))), "{q1:?}");
    let q2 = client.publish("a/b", b"x", Qos::ExactlyOnce, false).await;
    assert!(matches!(q2, Ok(PublishOutcome::Refused(ReasonCode(0x97)))), "{q2:?}");
    assert!(!client.is_closed());
    client.disconnect().await;
    timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
}

/// A server that never answers SUBSCRIBE or UNSUBSCRIBE: both fail with `TimedOut` after the
/// request timeout, and the connection goes on working.
#[tokio::test]
async fn unanswered_requests_time_out() {
    use nomq::proto::mqtt::{Packet, decode};
    use support::scripted::{V5, read_packet};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut s, mut buf) = support::scripted::accept_connected(&listener).await;
        let mut published = 0;
        while let Some(bytes) = read_packet(&mut s, &mut buf).await {
            match decode(&bytes, V5, u32::MAX).unwrap().unwrap().0 {
                Packet::Publish(_) => published += 1,
                Packet::Disconnect(_) => break,
                _ => {} // SUBSCRIBE, UNSUBSCRIBE: never answered
            }
        }
        published
    });
    let mut options = ClientOptions::new("127.0.0.1", port, "no-answers").version(ProtocolVersion::V5);
    options.request_timeout = Duration::from_millis(200);
    let client = Client::connect(options).await.unwrap();
    let within = Duration::from_secs(5);
    let sub = timeout(within, client.subscribe("a/b", Qos::AtLeastOnce)).await.expect("no hang");
    assert!(matches!(&sub, Err(Error::TimedOut("SUBACK"))), "{sub:?}");
    assert_eq!(sub.unwrap_err().kind(), ErrorKind::TimedOut);
    let unsub = timeout(within, client.unsubscribe("a/b")).await.expect("no hang");
    assert!(matches!(&unsub, Err(Error::TimedOut("UNSUBACK"))), "{unsub:?}");
    client.publish("a/b", b"still connected", Qos::AtMostOnce, false).await.unwrap();
    client.disconnect().await;
    assert_eq!(timeout(Duration::from_secs(5), server).await.unwrap().unwrap(), 1);
}

/// A dropped `Subscription` stops taking messages: they go to `recv` instead of being
/// discarded, and subscribing to the same filter again gives a stream that receives.
#[tokio::test]
async fn a_dropped_subscription_neither_loses_nor_shadows() {
    let broker = Broker::start();
    let client = Client::connect(options(&broker, "dropped-stream", ProtocolVersion::V5)).await.unwrap();
    let stream = client.subscription("drop/#", Qos::AtLeastOnce).await.unwrap();
    drop(stream);
    client.publish("drop/a", b"one", Qos::AtLeastOnce, false).await.unwrap();
    assert_eq!(next(&client).await.payload, b"one", "delivered to recv, not discarded");
    let mut again = client.subscription("drop/#", Qos::AtLeastOnce).await.unwrap();
    client.publish("drop/b", b"two", Qos::AtLeastOnce, false).await.unwrap();
    let got = timeout(Duration::from_secs(5), again.recv()).await.expect("in time").expect("open");
    assert_eq!(got.payload, b"two");
    client.disconnect().await;
}

/// A slow consumer keeps its connection: while the client does not read (messages wait for
/// the application), keep-alive pings go on and a PINGRESP left unread does not end it.
#[tokio::test]
async fn a_slow_consumer_keeps_its_connection() {
    let broker = Broker::start();
    let mut o = options(&broker, "slow-consumer", ProtocolVersion::V311);
    o.session.keep_alive = 1;
    o.session.ping_timeout_ms = 300;
    o.message_buffer = 2;
    let slow = Client::connect(o).await.unwrap();
    slow.subscribe("slow/#", Qos::AtMostOnce).await.unwrap();
    let publisher = Client::connect(options(&broker, "slow-publisher", ProtocolVersion::V311)).await.unwrap();
    for i in 0..50u32 {
        publisher.publish("slow/t", &i.to_be_bytes(), Qos::AtMostOnce, false).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // several keep alives, nothing read
    for _ in 0..50 {
        next(&slow).await;
    }
    // A connection dropped meanwhile would be reconnected by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(slow.metrics().await.unwrap().reconnects, 0, "the connection stayed up");
    slow.disconnect().await;
    publisher.disconnect().await;
}

/// Received messages held for a slow application are bounded in bytes as well as in count:
/// past `message_buffer_bytes` the client stops handing messages over (and reading), and
/// goes on as the application takes them. Nothing is lost.
#[tokio::test]
async fn received_messages_are_bounded_in_bytes() {
    let broker = Broker::start();
    let mut o = options(&broker, "byte-budget", ProtocolVersion::V311);
    o.message_buffer = 1000;
    o.message_buffer_bytes = 1000;
    let slow = Client::connect(o).await.unwrap();
    slow.subscribe("bytes/#", Qos::AtLeastOnce).await.unwrap();
    let publisher = Client::connect(options(&broker, "byte-publisher", ProtocolVersion::V311)).await.unwrap();
    for i in 0..20u8 {
        publisher.publish("bytes/t", &[i; 400], Qos::AtLeastOnce, false).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut got = Vec::new();
    let first = slow.try_recv_many(&mut got, 100);
    assert!((1..=3).contains(&first), "at most 1000 bytes were handed over: {first}");
    while got.len() < 20 {
        let m = next(&slow).await;
        got.push(m);
    }
    let order: Vec<u8> = got.iter().map(|m| m.payload[0]).collect();
    assert_eq!(order, (0..20).collect::<Vec<u8>>());
    slow.disconnect().await;
    publisher.disconnect().await;
}

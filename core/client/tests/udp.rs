//! The tokio UDP driver over real loopback sockets: IPv4 and IPv6 at every QoS,
//! broadcast and multicast where the machine allows them, expiry, close.

use nomq::proto::endpoint::{PublishOptions, PublishOutcome};
use nomq::{Error, Keys, Node, NodeConfig, Qos, Version};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::timeout;

fn keys() -> Keys {
    Keys::new([0x31; 32], [0x42; 32])
}

async fn node(bind: &str, version: Version) -> Node {
    Node::bind(NodeConfig::new(bind.parse().unwrap(), keys(), version)).await.unwrap()
}

fn opts(qos: Qos) -> PublishOptions {
    PublishOptions { qos, ..PublishOptions::default() }
}

/// Publishes `n` messages at each QoS from `a` to `b` and checks each arrives once, in full.
async fn exchange(a: &Node, b: &Node, to: SocketAddr, n: usize) {
    b.subscribe("t").await.unwrap();
    for qos in [Qos::AtMostOnce, Qos::AtLeastOnce, Qos::ExactlyOnce] {
        for i in 0..n {
            let text = format!("{qos:?} {i}");
            a.publish(to, "t", text.as_bytes(), opts(qos)).await.unwrap();
            let m = timeout(Duration::from_secs(5), b.recv()).await.expect("delivered").unwrap();
            assert_eq!(m.payload, text.as_bytes());
            assert_eq!((m.channel.as_str(), m.qos), ("t", qos));
        }
    }
    let s = b.stats().await.unwrap();
    assert_eq!(s.delivered, 3 * n as u64);
    assert_eq!(s.duplicates, 0, "loopback loses nothing, so nothing is retransmitted");
}

#[tokio::test]
async fn ipv4_loopback_every_qos_both_versions() {
    for version in [Version::V1, Version::V2] {
        let (a, b) = (node("127.0.0.1:0", version).await, node("127.0.0.1:0", version).await);
        exchange(&a, &b, b.local_addr(), 30).await;
        a.close().await;
        b.close().await;
    }
}

#[tokio::test]
async fn ipv6_loopback_every_qos() {
    let (a, b) = (node("[::1]:0", Version::V2).await, node("[::1]:0", Version::V2).await);
    exchange(&a, &b, b.local_addr(), 10).await;
}

#[tokio::test]
async fn dual_stack_socket_receives_ipv4() {
    let b = match Node::bind(NodeConfig::new("[::]:0".parse().unwrap(), keys(), Version::V1)).await {
        Ok(b) => b,
        Err(e) => panic!("binding [::]: {e}"),
    };
    let a = node("127.0.0.1:0", Version::V1).await;
    let to: SocketAddr = format!("127.0.0.1:{}", b.local_addr().port()).parse().unwrap();
    // Replies come back from a mapped address; the endpoint compares canonical forms, so the
    // QoS 2 flow still completes.
    exchange(&a, &b, to, 5).await;
}

#[tokio::test]
async fn unconfirmed_publish_expires_and_wrong_keys_are_refused() {
    let a = node("127.0.0.1:0", Version::V1).await;
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = silent.local_addr().unwrap();
    let ttl1 = PublishOptions { ttl: 1, ..opts(Qos::AtLeastOnce) };
    let started = std::time::Instant::now();
    assert!(matches!(a.publish(to, "t", b"nobody acks", ttl1).await, Err(Error::Expired)));
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(a.stats().await.unwrap().retransmitted >= 1);

    let other =
        Node::bind(NodeConfig::new("127.0.0.1:0".parse().unwrap(), Keys::new([9; 32], [9; 32]), Version::V1))
            .await
            .unwrap();
    other.subscribe("t").await.unwrap();
    let quick = PublishOptions { ttl: 1, ..opts(Qos::AtLeastOnce) };
    assert!(matches!(a.publish(other.local_addr(), "t", b"x", quick).await, Err(Error::Expired)));
    assert!(other.stats().await.unwrap().rejected_auth >= 1);
    assert_eq!(other.stats().await.unwrap().delivered, 0);
}

#[tokio::test]
async fn close_fails_pending_publishes_and_ends_recv() {
    let a = node("127.0.0.1:0", Version::V2).await;
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = silent.local_addr().unwrap();
    let a = std::sync::Arc::new(a);
    let a2 = a.clone();
    let pending =
        tokio::spawn(async move { a2.publish(to, "t", b"never acked", opts(Qos::ExactlyOnce)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.close().await;
    assert!(matches!(pending.await.unwrap(), Err(Error::Closed)));
    assert!(timeout(Duration::from_secs(1), a.recv()).await.unwrap().is_none());
    assert!(matches!(a.subscribe("t").await, Err(Error::Closed)));
}

#[tokio::test]
async fn broadcast_on_loopback() {
    // 127.255.255.255 is the loopback network's broadcast address; with SO_BROADCAST set by
    // the driver (the reference forgot it, v1 §22.18) Linux delivers it to sockets on 0.0.0.0.
    let b = node("0.0.0.0:0", Version::V1).await;
    let a = node("0.0.0.0:0", Version::V1).await;
    b.subscribe("all").await.unwrap();
    let to: SocketAddr = format!("127.255.255.255:{}", b.local_addr().port()).parse().unwrap();
    a.publish(to, "all", b"to everyone", opts(Qos::AtLeastOnce)).await.unwrap();
    let m = timeout(Duration::from_secs(5), b.recv()).await.unwrap().unwrap();
    assert_eq!(m.payload, b"to everyone");
}

#[tokio::test]
async fn multicast_on_loopback() {
    let group = "239.255.77.77".parse().unwrap();
    let mut cfg = NodeConfig::new("0.0.0.0:0".parse().unwrap(), keys(), Version::V2);
    cfg.multicast = vec![group];
    let b = Node::bind(cfg).await.unwrap();
    let a = node("0.0.0.0:0", Version::V2).await;
    b.subscribe("m").await.unwrap();
    let to = SocketAddr::new(group, b.local_addr().port());
    a.publish(to, "m", b"to the group", opts(Qos::ExactlyOnce)).await.unwrap();
    let m = timeout(Duration::from_secs(5), b.recv()).await.unwrap().unwrap();
    assert_eq!(m.payload, b"to the group");
}

/// A v2 reader subscribed to "t" with its buffers shrunk by `shrink`, and a sender that
/// retransmits quickly (every 400 ms at most), so backpressure shows within a test's time.
async fn slow_reader_and_sender(shrink: impl FnOnce(&mut NodeConfig)) -> (Node, std::sync::Arc<Node>) {
    let mut slow = NodeConfig::new("127.0.0.1:0".parse().unwrap(), keys(), Version::V2);
    shrink(&mut slow);
    let reader = Node::bind(slow).await.unwrap();
    reader.subscribe("t").await.unwrap();
    let mut fast = NodeConfig::new("127.0.0.1:0".parse().unwrap(), keys(), Version::V2);
    fast.endpoint.max_retry_ms = 400;
    (reader, std::sync::Arc::new(Node::bind(fast).await.unwrap()))
}

#[tokio::test]
async fn a_slow_reader_loses_nothing() {
    // Tiny buffers: the reader pauses, the receiving endpoint's queue fills, new messages are
    // refused unanswered, and the sender's retransmissions deliver them once it reads again.
    let (b, a) = slow_reader_and_sender(|slow| {
        slow.message_buffer = 8;
        slow.endpoint.max_events = 16;
    })
    .await;
    let to = b.local_addr();
    let publisher = tokio::spawn({
        let a = a.clone();
        async move {
            let window = std::sync::Arc::new(tokio::sync::Semaphore::new(50));
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..500 {
                let permit = window.clone().acquire_owned().await.unwrap();
                let a = a.clone();
                tasks.spawn(async move {
                    let r = a.publish(to, "t", format!("{i}").as_bytes(), opts(Qos::AtLeastOnce)).await;
                    drop(permit);
                    r
                });
            }
            tasks.join_all().await
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 500 {
        let m = timeout(Duration::from_secs(10), b.recv()).await.expect("all messages arrive").unwrap();
        assert!(seen.insert(m.payload), "delivered twice");
    }
    let results = publisher.await.unwrap();
    assert!(results.iter().all(Result::is_ok), "every publish confirmed");
    let s = b.stats().await.unwrap();
    assert!(s.refused_full > 0, "backpressure engaged: {s:?}");
    assert_eq!(s.delivered, 500);
}

#[tokio::test]
async fn a_slow_reader_of_large_messages_is_bounded_in_bytes_and_loses_nothing() {
    // Counts far above what is sent; bytes far below it: the byte bounds must do the work.
    let (b, a) = slow_reader_and_sender(|slow| {
        slow.message_buffer_bytes = 40_000;
        slow.endpoint.max_event_bytes = 40_000;
    })
    .await;
    let to = b.local_addr();
    let publisher = tokio::spawn({
        let a = a.clone();
        async move {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..100u8 {
                let a = a.clone();
                tasks.spawn(async move { a.publish(to, "t", &[i; 10_000], opts(Qos::ExactlyOnce)).await });
            }
            tasks.join_all().await
        }
    });
    // Nobody reads: at most 40 kB in the channel and 40 kB in the endpoint (one more message
    // each, as a single message always fits an empty budget).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = b.stats().await.unwrap();
    assert!(s.delivered <= 10, "{} messages taken in while nobody read", s.delivered);
    assert!(s.refused_full > 0, "backpressure engaged: {s:?}");
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 100 {
        let m = timeout(Duration::from_secs(20), b.recv()).await.expect("all messages arrive").unwrap();
        assert_eq!(m.payload.len(), 10_000);
        assert!(seen.insert(m.payload[0]), "delivered twice");
    }
    let results = publisher.await.unwrap();
    assert!(results.iter().all(Result::is_ok), "every publish confirmed");
}

type Outcomes = tokio::sync::mpsc::UnboundedSender<(&'static str, Result<PublishOutcome, Error>)>;

/// A publish callback that reports its outcome under the name `what`.
fn report(
    done: &Outcomes,
    what: &'static str,
) -> impl FnOnce(Result<PublishOutcome, Error>) + Send + 'static {
    let done = done.clone();
    move |r| done.send((what, r)).unwrap()
}

/// `publish_with` queues from a thread outside the runtime and calls its callback exactly once
/// with the outcome: `Sent` for QoS 0, `Confirmed` for QoS 1/2, `Expired` when nobody answers
/// within the ttl, `Closed` for a publish pending at the close and for one queued after it.
/// A callback may publish again (it runs on the driver task, which holds no lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_with_calls_back_once_with_the_outcome() {
    let a = std::sync::Arc::new(node("127.0.0.1:0", Version::V2).await);
    let b = node("127.0.0.1:0", Version::V2).await;
    b.subscribe("t").await.unwrap();
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (to, nowhere) = (b.local_addr(), silent.local_addr().unwrap());
    let (done, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    let node = a.clone();
    std::thread::spawn(move || {
        let again = node.clone();
        let then = report(&done, "again");
        let qos1 = report(&done, "qos1");
        let first = move |r: Result<PublishOutcome, Error>| {
            qos1(r);
            assert!(again.publish_with(to, "t", b"again", opts(Qos::AtMostOnce), then).is_none());
        };
        assert!(node.publish_with(to, "t", b"one", opts(Qos::AtLeastOnce), first).is_none());
        let expiring = PublishOptions { ttl: 1, ..opts(Qos::AtLeastOnce) };
        assert!(node.publish_with(nowhere, "t", b"lost", expiring, report(&done, "expired")).is_none());
    })
    .join()
    .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(timeout(Duration::from_secs(5), outcomes.recv()).await.unwrap().unwrap());
    }
    got.sort_by_key(|(what, _)| *what);
    assert!(matches!(got[0], ("again", Ok(PublishOutcome::Sent))), "{got:?}");
    assert!(matches!(got[1], ("expired", Err(Error::Expired))), "{got:?}");
    assert!(matches!(got[2], ("qos1", Ok(PublishOutcome::Confirmed))), "{got:?}");
    for payload in [&b"one"[..], b"again"] {
        let m = timeout(Duration::from_secs(5), b.recv()).await.unwrap().unwrap();
        assert_eq!(m.payload, payload);
    }

    // Every callback was called (and dropped): nothing else comes.
    assert!(timeout(Duration::from_secs(1), outcomes.recv()).await.unwrap().is_none());

    // Pending at the close, and queued after it (answered at once, on the caller's thread).
    let (done, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    let d = done.clone();
    assert!(
        a.publish_with(nowhere, "t", b"pending", opts(Qos::ExactlyOnce), move |r| d.send(r).unwrap())
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.close().await;
    assert!(matches!(
        timeout(Duration::from_secs(5), outcomes.recv()).await.unwrap(),
        Some(Err(Error::Closed))
    ));
    let d = done.clone();
    assert!(a.publish_with(to, "t", b"late", opts(Qos::AtLeastOnce), move |r| d.send(r).unwrap()).is_none());
    assert!(matches!(outcomes.try_recv(), Ok(Err(Error::Closed))), "answered before publish_with returned");
    drop(done);
    assert!(timeout(Duration::from_secs(1), outcomes.recv()).await.unwrap().is_none());
    assert!(a.is_closed());
}

/// `when_messages` calls back once messages wait for `recv` (at once when some already do),
/// never once cancelled, and once more at the close; `try_recv_many` takes what waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_messages_calls_back_on_arrival_and_close() {
    let a = node("127.0.0.1:0", Version::V1).await;
    let b = node("127.0.0.1:0", Version::V1).await;
    b.subscribe("t").await.unwrap();
    let (ready, mut fired) = tokio::sync::mpsc::unbounded_channel();
    let mut batch = Vec::new();
    assert_eq!(b.try_recv_many(&mut batch, 10), 0, "nothing yet");

    let r = ready.clone();
    let _wait = b.when_messages(move || r.send("message").unwrap());
    let cancelled = b.when_messages(|| panic!("a cancelled wait is never called"));
    cancelled.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(fired.try_recv().is_err(), "no message, no call");
    a.publish(b.local_addr(), "t", b"m1", opts(Qos::AtLeastOnce)).await.unwrap();
    assert_eq!(timeout(Duration::from_secs(5), fired.recv()).await.unwrap(), Some("message"));

    // A message already waits: called at once, on the caller's thread.
    let r = ready.clone();
    let _wait = b.when_messages(move || r.send("waiting").unwrap());
    assert_eq!(fired.try_recv(), Ok("waiting"));
    assert_eq!(b.try_recv_many(&mut batch, 10), 1);
    assert_eq!(batch[0].payload, b"m1");

    // A cancelled wait stays uncalled when a message does come.
    let cancelled = b.when_messages(|| panic!("a cancelled wait is never called"));
    cancelled.cancel();
    a.publish(b.local_addr(), "t", b"m2", opts(Qos::AtLeastOnce)).await.unwrap();
    let m = timeout(Duration::from_secs(5), b.recv()).await.unwrap().unwrap();
    assert_eq!(m.payload, b"m2");

    let r = ready.clone();
    let _wait = b.when_messages(move || r.send("closed").unwrap());
    assert!(!b.is_closed());
    b.close().await;
    assert_eq!(timeout(Duration::from_secs(5), fired.recv()).await.unwrap(), Some("closed"));
    assert!(b.is_closed());
    let _wait = b.when_messages(move || ready.send("after close").unwrap());
    assert_eq!(fired.try_recv(), Ok("after close"));
    assert!(timeout(Duration::from_secs(1), b.recv()).await.unwrap().is_none(), "recv ended");
    assert_eq!(b.try_recv_many(&mut batch, 10), 0);
    a.close().await;
}

/// A port in use is an error unless sharing is asked for: two nodes silently splitting the
/// datagrams of one port is never what a user meant.
#[tokio::test]
async fn a_port_in_use_is_refused_unless_shared() {
    let keys = Keys::new([1; 32], [2; 32]);
    let first =
        Node::bind(NodeConfig::new("127.0.0.1:0".parse().unwrap(), keys.clone(), Version::V2)).await.unwrap();
    let taken = first.local_addr();
    let second = Node::bind(NodeConfig::new(taken, keys.clone(), Version::V2)).await;
    assert!(matches!(&second, Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::AddrInUse), "{second:?}");
    first.close().await;
    let mut shared = NodeConfig::new("127.0.0.1:0".parse().unwrap(), keys.clone(), Version::V2);
    shared.share_port = true;
    let a = Node::bind(shared.clone()).await.unwrap();
    shared.bind = a.local_addr();
    let b = Node::bind(shared).await.expect("both asked to share");
    a.close().await;
    b.close().await;
}

/// An IPv4 node cannot reach an IPv6 address: the publish fails at once (nothing reported
/// sent, nothing retransmitted until the ttl).
#[tokio::test]
async fn an_unreachable_address_family_fails_at_once() {
    let keys = Keys::new([1; 32], [2; 32]);
    let node = Node::bind(NodeConfig::new("127.0.0.1:0".parse().unwrap(), keys, Version::V2)).await.unwrap();
    let v6: SocketAddr = "[::1]:9".parse().unwrap();
    for qos in [Qos::AtMostOnce, Qos::AtLeastOnce] {
        let options = PublishOptions { qos, ..PublishOptions::default() };
        let r = timeout(Duration::from_secs(2), node.publish(v6, "c", b"x", options)).await.expect("at once");
        assert!(matches!(&r, Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::Unsupported), "{r:?}");
    }
    assert!(node.heartbeat(v6).await.is_err());
    node.close().await;
}

/// A node whose application is not reading (its `recv` buffer full) still completes its own
/// publishes: their confirmations do not wait behind undelivered messages.
#[tokio::test]
async fn completions_do_not_wait_behind_unread_messages() {
    let keys = Keys::new([1; 32], [2; 32]);
    let mut slow = NodeConfig::new("127.0.0.1:0".parse().unwrap(), keys.clone(), Version::V2);
    slow.message_buffer = 1;
    let a = Node::bind(slow).await.unwrap();
    let b = Node::bind(NodeConfig::new("127.0.0.1:0".parse().unwrap(), keys, Version::V2)).await.unwrap();
    a.subscribe("to-a").await.unwrap();
    b.subscribe("to-b").await.unwrap();
    let qos0 = PublishOptions { qos: Qos::AtMostOnce, ..PublishOptions::default() };
    for _ in 0..3 {
        b.publish(a.local_addr(), "to-a", b"unread", qos0).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await; // they reach A, which does not read
    let confirmed = timeout(
        Duration::from_secs(5),
        a.publish(b.local_addr(), "to-b", b"needs an ACK", PublishOptions::default()),
    )
    .await;
    assert!(matches!(confirmed, Ok(Ok(()))), "{confirmed:?}");
    a.close().await;
    b.close().await;
}

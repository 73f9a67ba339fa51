//! The MQTT session's connection policy on a virtual clock: it asks for a transport, abandons
//! an attempt past the connect deadline, spaces reconnects with a doubling backoff with full
//! jitter that resets only after a connection stayed up for the stable period (a server that
//! accepts and then drops every connection is not hammered), keeps the connection alive, and
//! stops for good on the application's disconnect.

use nomq_proto::endpoint::SeededRandom;
use nomq_proto::frame::Qos;
use nomq_proto::mqtt::codec::{ConnAck, Properties};
use nomq_proto::mqtt::session::{Disconnect, Event, Message, ReconnectPolicy, SessionConfig, State};
use nomq_proto::mqtt::{Packet, ProtocolVersion, ReasonCode, Session, decode};

const POLICY: ReconnectPolicy =
    ReconnectPolicy { enabled: true, initial_ms: 100, max_ms: 30_000, stable_ms: 10_000 };

fn session(seed: u64) -> Session {
    let mut config = SessionConfig::new(ProtocolVersion::V311, "policy");
    config.reconnect = POLICY;
    config.connect_timeout_ms = 5_000;
    Session::new(config, Box::new(SeededRandom::new(seed)))
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn packets(s: &mut Session, now: u64) -> Vec<Vec<u8>> {
    let bytes = s.transmit().to_vec();
    s.transmitted(now, bytes.len());
    let mut out = vec![];
    let mut rest = &bytes[..];
    while let Some((_, n)) = decode(rest, ProtocolVersion::V311, u32::MAX).unwrap() {
        out.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    out
}

fn connack(s: &mut Session, now: u64, reason: ReasonCode) {
    let p = Packet::ConnAck(ConnAck { session_present: false, reason, properties: Properties::default() });
    let mut buf = vec![0u8; p.encoded_len(ProtocolVersion::V311)];
    p.encode(ProtocolVersion::V311, &mut buf).unwrap();
    s.handle_bytes(now, &buf);
}

/// Runs the clock to the session's next deadline and handles it; returns that time.
fn advance(s: &mut Session) -> u64 {
    let at = s.poll_timeout().expect("a deadline");
    s.handle_timeout(at);
    at
}

/// The transport the session asked for opens and the server accepts at once.
fn open_and_accept(s: &mut Session, now: u64) {
    assert_eq!(events(s), vec![Event::OpenTransport]);
    s.connect(now).unwrap();
    assert_eq!(s.state(), State::Connecting);
    packets(s, now);
    connack(s, now, ReasonCode::SUCCESS);
    assert_eq!(events(s), vec![Event::Connected { session_present: false }]);
}

#[test]
fn start_asks_for_a_transport_and_the_deadline_abandons_an_attempt() {
    let mut s = session(1);
    assert!(s.is_idle());
    assert_eq!(s.poll_timeout(), None);
    s.start(0);
    assert_eq!(events(&mut s), vec![Event::OpenTransport]);
    assert_eq!(s.state(), State::Opening);
    s.start(1);
    assert!(events(&mut s).is_empty(), "one transport at a time");
    // Opening the transport (TCP, TLS) and CONNACK share one deadline from the request.
    s.connect(4_000).unwrap();
    assert_eq!(s.poll_timeout(), Some(5_000));
    s.handle_timeout(4_999);
    assert_eq!(s.state(), State::Connecting);
    s.handle_timeout(5_000);
    assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::ConnectTimeout)]);
    assert_eq!(s.state(), State::Disconnected);
    assert!(!s.is_idle(), "a reconnect is scheduled");
    let at = s.poll_timeout().unwrap();
    assert!((5_000..=5_100).contains(&at), "first backoff within 100 ms: {at}");
    s.handle_timeout(at);
    assert_eq!(events(&mut s), vec![Event::OpenTransport]);
}

/// The server accepts CONNECT, sends CONNACK and closes 20 ms later, every time: the attempts
/// are spaced by a backoff whose ceiling doubles, never reset by the CONNACKs.
#[test]
fn a_flapping_server_sees_attempts_spaced_by_a_growing_backoff() {
    for seed in 1..=20 {
        let mut s = session(seed);
        s.start(0);
        let mut now = 0;
        let mut attempts = vec![0u64];
        while now < 120_000 {
            open_and_accept(&mut s, now);
            now += 20;
            s.connection_lost(now);
            assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::TransportClosed)]);
            now = advance(&mut s);
            attempts.push(now);
        }
        let gaps: Vec<u64> = attempts.windows(2).map(|w| w[1] - w[0] - 20).collect();
        for (n, gap) in gaps.iter().enumerate() {
            let ceiling = (100u64 << n.min(20)).min(30_000);
            assert!(*gap <= ceiling, "seed {seed}: attempt {n} waited {gap} ms, ceiling {ceiling}");
        }
        // Reset at every CONNACK, 120 s of flapping would be ~1,700 attempts (one per ~70 ms);
        // with the backoff it is the doubling up to 30 s plus some at the cap (~16 expected).
        assert!(attempts.len() <= 30, "seed {seed}: {} attempts in 120 s", attempts.len());
        let late: u64 = gaps[8..].iter().sum::<u64>() / (gaps.len() as u64 - 8);
        assert!(late > 2_000, "seed {seed}: late attempts average {late} ms apart");
    }
}

#[test]
fn only_a_connection_that_stayed_up_resets_the_backoff() {
    let mut s = session(3);
    s.start(0);
    let mut now = 0;
    // Five short-lived connections: the ceiling grows to 3.2 s.
    for _ in 0..5 {
        open_and_accept(&mut s, now);
        s.connection_lost(now + 10);
        events(&mut s);
        now = advance(&mut s);
    }
    // One that stays up for the stable period: the next wait is back under 100 ms.
    open_and_accept(&mut s, now);
    now += POLICY.stable_ms;
    s.connection_lost(now);
    events(&mut s);
    let wait = s.poll_timeout().unwrap() - now;
    assert!(wait <= POLICY.initial_ms, "after a stable connection the backoff restarts: {wait} ms");
}

#[test]
fn refusals_and_failed_opens_reconnect_with_backoff_and_disconnect_stops_it() {
    let mut s = session(4);
    s.start(0);
    assert_eq!(events(&mut s), vec![Event::OpenTransport]);
    s.connect(0).unwrap();
    connack(&mut s, 1, ReasonCode(5));
    assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::Refused(ReasonCode(5)))]);
    let now = advance(&mut s);
    assert_eq!(events(&mut s), vec![Event::OpenTransport]);
    // The socket cannot be opened: reported as lost, retried later.
    s.connection_lost(now);
    assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::TransportClosed)]);
    assert!(s.poll_timeout().is_some());
    // Publishing while waiting queues, and does not shorten the wait.
    let before = s.poll_timeout();
    s.publish(now + 1, Message::new("t", b"x".to_vec(), Qos::AtLeastOnce, false)).unwrap();
    assert_eq!(s.poll_timeout(), before);
    // The application's disconnect ends it all: no reconnect, no timer.
    s.disconnect(now + 2, ReasonCode::SUCCESS).unwrap();
    assert!(s.is_idle());
    assert_eq!(s.poll_timeout(), None);
    // A disconnect while a transport is being opened tells the caller to drop it.
    s.start(now + 3);
    assert_eq!(events(&mut s), vec![Event::OpenTransport]);
    s.disconnect(now + 4, ReasonCode::SUCCESS).unwrap();
    assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::ByClient)]);
    assert!(s.is_idle());
}

#[test]
fn reconnect_off_leaves_the_session_idle_after_a_loss() {
    let mut config = SessionConfig::new(ProtocolVersion::V311, "once");
    config.reconnect.enabled = false;
    let mut s = Session::new(config, Box::new(SeededRandom::new(5)));
    s.start(0);
    open_and_accept(&mut s, 0);
    s.connection_lost(10);
    assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::TransportClosed)]);
    assert!(s.is_idle());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn keep_alive_pings_when_idle_and_a_late_pingresp_ends_the_connection() {
    let mut config = SessionConfig::new(ProtocolVersion::V311, "alive");
    config.keep_alive = 10;
    config.ping_timeout_ms = 2_000;
    let mut s = Session::new(config, Box::new(SeededRandom::new(6)));
    s.start(0);
    open_and_accept(&mut s, 0);
    assert_eq!(s.poll_timeout(), Some(10_000));
    // Writing moves the keep alive.
    s.publish(3_000, Message::new("t", b"x".to_vec(), Qos::AtMostOnce, false)).unwrap();
    packets(&mut s, 3_000);
    events(&mut s);
    assert_eq!(s.poll_timeout(), Some(13_000));
    s.handle_timeout(13_000);
    let sent = packets(&mut s, 13_000);
    assert_eq!(sent, vec![vec![0xc0, 0x00]], "PINGREQ");
    // Due again at the PINGRESP deadline (15 s), before the next keep alive (23 s).
    assert_eq!(s.poll_timeout(), Some(15_000));
    s.handle_bytes(14_000, &[0xd0, 0x00]);
    assert_eq!(s.poll_timeout(), Some(23_000), "PINGRESP stops its deadline");
    s.handle_timeout(23_000);
    assert_eq!(packets(&mut s, 23_000), vec![vec![0xc0, 0x00]]);
    s.handle_timeout(25_000);
    assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::KeepAliveTimeout)]);
    assert!(!s.is_idle(), "and a reconnect is scheduled");
}

/// A ping timeout longer than the keep alive: the keep alive fires again while a PINGREQ is
/// out, sends nothing, and keeps running, so an idle connection goes on pinging after PINGRESP.
#[test]
fn the_keep_alive_keeps_running_while_a_pingreq_is_out() {
    let mut config = SessionConfig::new(ProtocolVersion::V311, "slow-ping");
    config.keep_alive = 1;
    config.ping_timeout_ms = 3_000;
    let mut s = Session::new(config, Box::new(SeededRandom::new(9)));
    s.start(0);
    open_and_accept(&mut s, 0);
    s.handle_timeout(1_000);
    assert_eq!(packets(&mut s, 1_000), vec![vec![0xc0, 0x00]], "PINGREQ");
    assert_eq!(s.poll_timeout(), Some(2_000));
    s.handle_timeout(2_000);
    assert!(packets(&mut s, 2_000).is_empty(), "one PINGREQ at a time");
    assert_eq!(s.poll_timeout(), Some(3_000));
    s.handle_bytes(2_500, &[0xd0, 0x00]);
    assert_eq!(s.poll_timeout(), Some(3_000), "the keep alive still runs after PINGRESP");
    s.handle_timeout(3_000);
    assert_eq!(packets(&mut s, 3_000), vec![vec![0xc0, 0x00]]);
}

/// Until the caller reports the transport open, nothing flows: bytes are ignored and no AUTH
/// can be written ahead of CONNECT.
#[test]
fn nothing_flows_while_the_transport_is_being_opened() {
    let mut config = SessionConfig::new(ProtocolVersion::V5, "opening");
    config.authentication_method = Some("TOKEN".into());
    let mut s = Session::new(config, Box::new(SeededRandom::new(10)));
    s.start(0);
    assert_eq!(events(&mut s), vec![Event::OpenTransport]);
    s.handle_bytes(1, &[0x20, 0x03, 0x00, 0x00, 0x00]); // a CONNACK nobody asked for yet
    assert!(events(&mut s).is_empty());
    assert!(s.transmit().is_empty());
    assert_eq!(s.state(), State::Opening);
    assert!(s.auth(2, ReasonCode::CONTINUE_AUTHENTICATION, b"x").is_err());
    assert!(s.transmit().is_empty());
}

/// Durations too large for the clock mean "never": a deadline never wraps into the past.
#[test]
fn absurd_durations_never_fire_instead_of_wrapping() {
    let mut config = SessionConfig::new(ProtocolVersion::V311, "huge");
    config.connect_timeout_ms = u64::MAX;
    config.reconnect = ReconnectPolicy { initial_ms: u64::MAX, max_ms: u64::MAX, ..POLICY };
    let mut s = Session::new(config, Box::new(SeededRandom::new(11)));
    s.start(1_000);
    assert_eq!(events(&mut s), vec![Event::OpenTransport]);
    assert_eq!(s.poll_timeout(), Some(u64::MAX));
    s.handle_timeout(2_000);
    assert_eq!(s.state(), State::Opening, "no connect timeout");
    s.connection_lost(3_000);
    events(&mut s);
    let at = s.poll_timeout().unwrap();
    assert!(at >= 3_000, "the reconnect is not in the past: {at}");
}

/// Whatever happens, a handled deadline is never left in the past (a driver would spin); only
/// a reconnect may be due at once (full jitter can draw a zero wait).
#[test]
fn handled_deadlines_move_forward() {
    let mut s = session(8);
    s.start(0);
    let mut now = 0;
    for round in 0..200u64 {
        if let Some(Event::OpenTransport) = s.poll_event() {
            s.connect(now).unwrap();
            packets(&mut s, now);
            if round % 3 != 0 {
                connack(&mut s, now, ReasonCode::SUCCESS);
            }
        }
        events(&mut s);
        let at = s.poll_timeout().expect("always a deadline: keep alive, connect or reconnect");
        now = at.max(now);
        s.handle_timeout(now);
        packets(&mut s, now);
        if let Some(next) = s.poll_timeout() {
            assert!(
                next > now || s.state() == State::Disconnected,
                "round {round}: deadline {next} not after {now} in {:?}",
                s.state()
            );
        }
        if round % 5 == 4 {
            s.connection_lost(now);
        }
    }
}

//! The driver task: one loop that owns the socket and the sans-IO endpoint. It drains every
//! datagram as it arrives (no sleeps, nomq-v1 §22.7), runs timers exactly when the endpoint asks,
//! sends what the endpoint produces, and routes events to waiting publishers and to `recv`.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, mpsc};

use super::{Command, NodeConfig, PublishReply};
use crate::budget::HandedBytes;
use crate::completion::MessageSignal;
use crate::{Error, OsRandom};
use nomq_handle::ChannelCache;
use nomq_proto::endpoint::{Channel, Endpoint, Event, Message, PublishId, PublishOutcome};
use nomq_proto::{MonoMillis, Now, UnixMillis};

/// Datagrams handled per wake-up before timers and commands get a turn.
const RECV_BATCH: usize = 64;
/// Refused datagrams are reported at most this often (monotonic milliseconds).
const REFUSAL_REPORT_MS: u64 = 10_000;

pub(super) struct Driver {
    endpoint: Endpoint,
    socket: UdpSocket,
    /// The bound address, read once at bind (a system call): `reachable` checks it per send.
    local: std::net::SocketAddr,
    commands: mpsc::Receiver<Command>,
    delivery: Delivery,
    /// The last message offered to `recv` did not fit the byte budget.
    budget_blocked: bool,
    closed: Arc<Notify>,
    /// Channel ids computed once per name, in a bounded table (least recently used out).
    channels: ChannelCache<Channel>,
    waiting: HashMap<PublishId, PublishReply>,
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
    clock: Clock,
    /// Refusal counters at the last report, and the report (total, when).
    refusals_reported: [u64; 4],
    last_refusal_report: (u64, MonoMillis),
}

/// Where received messages go: the `recv` channel, bounded by count (its capacity) and by bytes
/// (the budget shared with the receive calls).
pub(super) struct Delivery {
    pub(super) messages: mpsc::Sender<Message>,
    /// Wakes `when_messages` callers after a hand-over to `recv`, and at the end.
    pub(super) signal: Arc<MessageSignal>,
    pub(super) budget: Arc<HandedBytes>,
    /// Notified by a receive call that freed a blocked budget.
    pub(super) budget_freed: Arc<Notify>,
    /// The endpoint's session id, published for `Node::session_id` (it changes when the packet
    /// ids wrap around).
    pub(super) session_id: Arc<AtomicU32>,
}

/// What a message holds of the byte budget.
pub(super) fn size(m: &Message) -> usize {
    m.payload.len() + m.channel.len()
}

/// The endpoint's two clocks: the wall clock for packet timestamps, and a monotonic one for its
/// timers, in milliseconds since the driver started.
struct Clock {
    start: Instant,
}

impl Clock {
    fn unix(&self) -> UnixMillis {
        UnixMillis(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64))
    }

    fn mono(&self) -> MonoMillis {
        MonoMillis(self.start.elapsed().as_millis() as u64)
    }

    fn now(&self) -> Now {
        Now::new(self.unix(), self.mono())
    }
}

impl Driver {
    pub(super) fn new(
        config: NodeConfig,
        socket: UdpSocket,
        local: std::net::SocketAddr,
        commands: mpsc::Receiver<Command>,
        delivery: Delivery,
        closed: Arc<Notify>,
    ) -> Self {
        let clock = Clock { start: Instant::now() };
        let endpoint = Endpoint::new(config.endpoint, &config.keys, Box::new(OsRandom), clock.mono());
        let send_buf = vec![0u8; endpoint.max_datagram_len()];
        delivery.session_id.store(endpoint.session_id(), Ordering::Relaxed);
        Driver {
            endpoint,
            socket,
            local,
            commands,
            delivery,
            budget_blocked: false,
            closed,
            channels: ChannelCache::default(),
            waiting: HashMap::new(),
            recv_buf: vec![0u8; 65_536],
            send_buf,
            clock,
            refusals_reported: [0; 4],
            last_refusal_report: (0, MonoMillis(0)),
        }
    }

    pub(super) async fn run(mut self) {
        loop {
            self.delivery.session_id.store(self.endpoint.session_id(), Ordering::Relaxed);
            let deadline = self.endpoint.poll_timeout();
            let sleep = deadline.map(|d| Duration::from_millis(d.saturating_since(self.clock.mono())));
            // Messages wait in the endpoint while `recv` lags; its bounded queue then refuses
            // new ones and senders retransmit (backpressure, nothing lost).
            let backlog = self.endpoint.usage().events > 0;
            let channel_full = backlog && self.delivery.messages.capacity() == 0;
            let bytes_full = backlog && self.budget_blocked;
            let wake = tokio::select! {
                biased;
                _ = self.closed.notified() => Wake::Closed,
                received = self.socket.recv_from(&mut self.recv_buf) => Wake::Datagram(received),
                command = self.commands.recv() => Wake::Command(command),
                _ = tokio::time::sleep(sleep.unwrap_or(Duration::MAX)), if sleep.is_some() => Wake::Timer,
                _ = self.delivery.messages.reserve(), if channel_full => Wake::Capacity,
                _ = self.delivery.budget_freed.notified(), if bytes_full => Wake::Capacity,
            };
            match wake {
                Wake::Closed | Wake::Command(None) => break,
                Wake::Datagram(Ok((n, from))) => {
                    self.endpoint.handle_datagram(self.clock.now(), from, &self.recv_buf[..n]);
                    self.drain_socket();
                    self.report_refusals();
                }
                // ICMP errors (port unreachable) surface here on some systems; not fatal.
                Wake::Datagram(Err(e)) => log::debug!("recv_from: {e}"),
                Wake::Command(Some(c)) => self.apply(c),
                Wake::Timer => self.endpoint.handle_timeout(self.clock.mono()),
                Wake::Capacity => {}
            }
            self.flush().await;
            self.dispatch_events();
        }
        self.finish();
    }

    /// The loop has ended: every publish still waiting, and every command not taken yet, fails
    /// with [`Error::Closed`]; message waiters are woken and later ones called at once.
    fn finish(&mut self) {
        for (_, reply) in self.waiting.drain() {
            reply.send(Err(Error::Closed));
        }
        // Commands sent after this fail at once; a dropped command's replies answer `Closed`.
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            drop(command);
        }
        self.delivery.signal.close();
    }

    /// Handles the datagrams already queued in the kernel without waiting.
    fn drain_socket(&mut self) {
        for _ in 0..RECV_BATCH {
            match self.socket.try_recv_from(&mut self.recv_buf) {
                Ok((n, from)) => self.endpoint.handle_datagram(self.clock.now(), from, &self.recv_buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    log::debug!("try_recv_from: {e}");
                    break;
                }
            }
        }
    }

    fn channel(&mut self, name: &str) -> Channel {
        let endpoint = &self.endpoint;
        self.channels.get_or_insert_with(name, |name| endpoint.channel(name))
    }

    /// Says, at most every [`REFUSAL_REPORT_MS`], how many datagrams were refused and why:
    /// wrong keys, another version or clocks apart otherwise look like silence.
    fn report_refusals(&mut self) {
        let s = self.endpoint.stats();
        let now = self.clock.mono();
        let refused = [s.rejected_auth, s.rejected_stale, s.rejected_version, s.rejected_malformed];
        let total: u64 = refused.iter().sum();
        let (last_total, last_at) = self.last_refusal_report;
        if total == last_total || now.saturating_since(last_at) < REFUSAL_REPORT_MS && last_total > 0 {
            return;
        }
        let [auth, stale, version, malformed] = refused;
        let [a0, s0, v0, m0] = self.refusals_reported;
        log::warn!(
            "refused {} datagrams: {} failed authentication (other keys?), {} outside the time window \
             (clocks apart, or replayed), {} of another protocol version, {} malformed",
            total - last_total,
            auth - a0,
            stale - s0,
            version - v0,
            malformed - m0
        );
        self.refusals_reported = refused;
        self.last_refusal_report = (total, now);
    }

    /// Whether this socket can send to `to` at all: an IPv4 socket cannot reach an IPv6
    /// address (nor an IPv6-only one an IPv4 address). Refused at once, so nothing is
    /// reported sent that never left, and nothing retransmits into nothing until its ttl.
    fn reachable(&self, to: std::net::SocketAddr) -> Result<(), Error> {
        let local = self.local;
        if local.is_ipv4() && to.is_ipv6() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                format!("{to} is an IPv6 address and this node is bound to IPv4 ({local}): bind [::]:port"),
            )));
        }
        Ok(())
    }

    fn apply(&mut self, command: Command) {
        let now = self.clock.mono();
        match command {
            Command::Subscribe { channel, announce, reply } => {
                let c = self.channel(&channel);
                let mut result = self.endpoint.subscribe(&c).map_err(Error::from);
                if let (Ok(()), Some((to, priority))) = (&result, announce) {
                    result = self
                        .reachable(to)
                        .and_then(|()| self.endpoint.announce(to, &c, true, priority).map_err(Error::from));
                }
                let _ = reply.send(result);
            }
            Command::Unsubscribe { channel, announce, reply } => {
                let c = self.channel(&channel);
                let was = self.endpoint.unsubscribe(&c);
                let result = match announce {
                    Some(to) => self.endpoint.announce(to, &c, false, 0).map(|()| was).map_err(Error::from),
                    None => Ok(was),
                };
                let _ = reply.send(result);
            }
            Command::Publish { to, channel, payload, options, reply } => {
                if let Err(e) = self.reachable(to) {
                    return reply.send(Err(e));
                }
                let c = self.channel(&channel);
                match self.endpoint.publish(now, to, &c, &payload, options) {
                    Ok(id) => {
                        self.waiting.insert(id, reply);
                    }
                    Err(e) => reply.send(Err(e.into())),
                }
            }
            Command::Heartbeat { to, reply } => {
                let sent = self.reachable(to).and_then(|()| self.endpoint.heartbeat(to).map_err(Error::from));
                let _ = reply.send(sent);
            }
            Command::Stats { reply } => {
                let _ = reply.send(self.endpoint.stats());
            }
        }
    }

    /// Sends everything the endpoint has queued. A failed send (unreachable network, no route)
    /// is logged; QoS 1/2 retransmission covers it.
    async fn flush(&mut self) {
        loop {
            let now = self.clock.unix();
            let t = match self.endpoint.poll_transmit(now, &mut self.send_buf) {
                Ok(Some(t)) => t,
                Ok(None) => break,
                Err(e) => {
                    log::warn!("poll_transmit: {e}");
                    break;
                }
            };
            if let Err(e) = self.socket.send_to(&self.send_buf[..t.len], t.to).await {
                log::warn!("send_to {}: {e}", t.to);
            }
        }
    }

    /// Routes events: messages to `recv` (only while it has room), outcomes to the waiting
    /// publishers. Publish callbacks run here, on the driver task.
    fn dispatch_events(&mut self) {
        let mut delivered = false;
        self.budget_blocked = false;
        loop {
            // While `recv` is full (by count or bytes), messages wait in the endpoint
            // (backpressure) but completions behind them are still handed out.
            let take_message = self.delivery.messages.capacity() > 0
                && match self.endpoint.peek_event() {
                    Some(Event::Message(m)) => {
                        let fits = self.delivery.budget.admits(size(m));
                        self.budget_blocked = !fits;
                        fits
                    }
                    _ => true,
                };
            let event = if take_message {
                self.endpoint.poll_event()
            } else {
                self.endpoint.poll_event_except_messages()
            };
            let Some(event) = event else { break };
            match event {
                Event::Message(m) => {
                    // Counted before the hand-over, so a receive taking it at once never
                    // subtracts first. Capacity was checked; the only failure left is a closed
                    // receiver.
                    let n = size(&m);
                    self.delivery.budget.handed(n);
                    if self.delivery.messages.try_send(m).is_ok() {
                        delivered = true;
                    } else {
                        self.delivery.budget.taken(n);
                    }
                }
                Event::PublishDone { id, outcome } => {
                    if let Some(reply) = self.waiting.remove(&id) {
                        reply.send(match outcome {
                            PublishOutcome::Expired => Err(Error::Expired),
                            other => Ok(other),
                        });
                    }
                }
                Event::PeerAlive { addr, session_id } => {
                    log::debug!("peer {addr} alive (session {session_id:08x})")
                }
                Event::PeerLost { addr } => log::debug!("peer {addr} lost"),
                Event::Dropped(d) => log::warn!("dropped: {d:?}"),
            }
        }
        if delivered {
            self.delivery.signal.delivered();
        }
    }
}

enum Wake {
    Closed,
    Datagram(io::Result<(usize, std::net::SocketAddr)>),
    Command(Option<Command>),
    Timer,
    Capacity,
}

//! The connection's life: asking for a transport, CONNECT, its end, the reconnect backoff, and
//! the timers that drive them (connect deadline, keep alive, PINGRESP deadline).

use alloc::vec::Vec;

use super::event::{Disconnect, Event};
use super::timers::Timer;
use super::{Request, ServerLimits, Session, State, encode_into};
use crate::error::Error;
use crate::mqtt::codec::{Properties, ReasonPacket};
use crate::mqtt::{Packet, ProtocolVersion, ReasonCode};

impl Session {
    /// Asks for a connection: [`Event::OpenTransport`] now (unless one is already open or being
    /// opened), and after every loss per [`super::SessionConfig::reconnect`], until
    /// [`Session::disconnect`].
    pub fn start(&mut self, now: u64) {
        if self.state == State::Disconnected {
            self.open_transport(now);
        }
    }

    /// The transport is open (after [`Event::OpenTransport`], or a caller's own): writes
    /// CONNECT. Anything left from a previous connection's byte streams is discarded; the
    /// session state (outbox, inflight, subscriptions) is kept. The connect deadline runs from
    /// the `OpenTransport` event, or from here when there was none.
    pub fn connect(&mut self, now: u64) -> Result<(), Error> {
        self.rx.clear();
        self.tx.clear();
        self.incoming_aliases.clear();
        self.outgoing_aliases.clear();
        self.window_closed = false;
        // PUBREL is resent for every message past PUBREC once connected (`resume`).
        self.unreleased.clear();
        self.server = ServerLimits::defaults(&self.config);
        self.timers.stop(Timer::Reconnect);
        // `open_transport` armed it already.
        if self.state != State::Opening {
            self.timers.arm(Timer::Connect, now, self.config.connect_timeout_ms);
        }
        self.state = State::Connecting;
        self.connect_sent_at = now;
        let connect = Packet::Connect(alloc::boxed::Box::new(super::send::connect_packet(&self.config)));
        encode_into(&mut self.tx, self.config.version, &connect)
    }

    /// The transport closed or failed, or could not be opened. Unacknowledged messages stay for
    /// the next connection, which the backoff schedules.
    pub fn connection_lost(&mut self, now: u64) {
        if self.state != State::Disconnected {
            self.close(now, Disconnect::TransportClosed);
        }
    }

    /// Writes DISCONNECT when connected (a normal one keeps the will unpublished), ends the
    /// connection and stops reconnecting until the next [`Session::start`].
    pub fn disconnect(&mut self, now: u64, reason: ReasonCode) -> Result<(), Error> {
        if self.state.has_transport() {
            let packet = match self.config.version {
                ProtocolVersion::V5 => ReasonPacket { reason, properties: Properties::default() },
                ProtocolVersion::V311 => ReasonPacket::default(),
            };
            self.write(now, &Packet::Disconnect(packet))?;
        }
        if self.state != State::Disconnected {
            self.close(now, Disconnect::ByClient);
        }
        self.timers.stop(Timer::Reconnect);
        Ok(())
    }

    /// Disconnected with no reconnect scheduled: nothing happens until [`Session::start`].
    pub fn is_idle(&self) -> bool {
        self.state == State::Disconnected && self.timers.get(Timer::Reconnect).is_none()
    }

    /// When [`Session::handle_timeout`] is next due: a reconnect, the connect deadline, the keep
    /// alive or the PINGRESP deadline, whichever is first.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.timers.next()
    }

    /// Runs the timers due at `now`: asks for a transport when the backoff is over, abandons a
    /// connection attempt past its deadline, sends PINGREQ when the connection was idle for
    /// the keep alive, and declares the connection dead when PINGRESP is late (§3.1.2.10).
    pub fn handle_timeout(&mut self, now: u64) {
        if self.timers.expired(Timer::Reconnect, now) {
            self.timers.stop(Timer::Reconnect);
            if self.state == State::Disconnected {
                self.open_transport(now);
            }
        }
        if self.timers.expired(Timer::Connect, now) {
            self.close(now, Disconnect::ConnectTimeout);
            return;
        }
        if self.timers.expired(Timer::PingResponse, now) {
            if self.reading_paused {
                // The PINGRESP may be in bytes the caller has not read: wait again.
                self.timers.arm(Timer::PingResponse, now, self.config.ping_timeout_ms);
            } else {
                self.close(now, Disconnect::KeepAliveTimeout);
                return;
            }
        }
        if self.timers.expired(Timer::KeepAlive, now) {
            // Writing PINGREQ re-arms the keep alive, and PINGRESP gets its own deadline. With a
            // PINGREQ already out (a ping timeout longer than the keep alive), only the keep
            // alive is re-armed: it must never stay expired, nor stop.
            if self.timers.get(Timer::PingResponse).is_none() && self.write(now, &Packet::PingReq).is_ok() {
                self.timers.arm(Timer::PingResponse, now, self.config.ping_timeout_ms);
            } else {
                self.wrote(now);
            }
        }
    }

    /// Emits [`Event::OpenTransport`] and starts the connect deadline.
    fn open_transport(&mut self, now: u64) {
        self.timers.stop(Timer::Reconnect);
        self.timers.arm(Timer::Connect, now, self.config.connect_timeout_ms);
        self.state = State::Opening;
        self.events.push_back(Event::OpenTransport);
    }

    /// Ends the connection state (the transport is the caller's to close) and, unless the
    /// application ended it, schedules the next attempt.
    pub(super) fn close(&mut self, now: u64, why: Disconnect) {
        self.state = State::Disconnected;
        self.timers.stop_connection();
        // Requests written but not acknowledged are sent again on the next connection.
        let pending: Vec<Request> = core::mem::take(&mut self.pending_requests).into_values().collect();
        for r in pending.into_iter().rev() {
            self.unsent_requests.push_front(r);
        }
        self.events.push_back(Event::Disconnected(why));
        let up_since = self.connected_at.take();
        let policy = self.config.reconnect;
        if why == Disconnect::ByClient || !policy.enabled {
            return;
        }
        // Only a connection that stayed up for the stable period resets the backoff: a server
        // that accepts and then drops every connection must not get a reconnect per CONNACK.
        if up_since.is_some_and(|t| now.saturating_sub(t) >= policy.stable_ms) {
            self.backoff.attempt = 0;
        }
        let random = self.jitter.0.next_u32();
        let delay = self.backoff.next_delay(policy.initial_ms, policy.max_ms, random);
        self.timers.arm(Timer::Reconnect, now, delay);
    }

    /// CONNACK accepted: the connect deadline is met, and the keep alive counts from CONNECT,
    /// our last packet so far.
    pub(super) fn connected(&mut self, now: u64) {
        self.timers.stop(Timer::Connect);
        self.connected_at = Some(now);
        self.state = State::Connected;
        self.wrote(self.connect_sent_at);
    }
}

//! When our TCP ACK leaves while the session holds publishes back
//! (`SessionConfig::refill_half_window`).
//!
//! Holding back, the acknowledgements we read are answered by no data, so no segment carries
//! our TCP ACK. Linux then delays it (40 ms) in its "ping-pong" mode, which a reply soon after
//! a read enters, and a server with Nagle's algorithm on (mosquitto's default) holds its next
//! packets until the ACK arrives: measured, the broker-restart tests fell to about 230 msg/s.
//!
//! Acknowledging each such read at once keeps data flowing, but each ACK then releases only
//! what the server produced meanwhile, a few acknowledgements per segment (measured at QoS 1
//! with a window of 100: 0.35 segments from the broker and 0.32 bare ACKs from us per
//! message). So while many completions are still to come, the ACK goes once, [`DELAY`] later,
//! and the server answers in bulk (0.13 to 0.17 segments and 0.08 to 0.12 bare ACKs). When few
//! are to come it goes at once: waiting would leave the server idle at the end of each refill
//! (measured at QoS 2 with a window of 20, always waiting cut throughput from about 20,000 to
//! 4,200 msg/s).

use std::time::Duration;

use nomq_proto::mqtt::Session;

/// How long the ACK waits while many completions are still to come: the timer's resolution.
pub(super) const DELAY: Duration = Duration::from_millis(1);
/// Completions still needed before the window refills from which the ACK waits.
const WAIT_FROM: usize = 16;

/// What to do about reads left unanswered.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ack {
    /// Nothing: a write carried the ACK, or nothing is held back.
    None,
    /// Send it now and let the kernel acknowledge later reads itself.
    Now,
    /// Send it after [`DELAY`] (see [`AckPacing::owed`]).
    Later,
}

#[derive(Debug, Default)]
pub(super) struct AckPacing {
    /// Bytes were read and nothing was written since.
    unanswered: bool,
    /// Bytes were written since the kernel was last told to acknowledge at once: it may be
    /// delaying its ACKs (ping-pong mode).
    delaying: bool,
    /// An ACK waits for the driver's timer.
    owed: bool,
}

impl AckPacing {
    pub(super) fn read(&mut self) {
        self.unanswered = true;
    }

    /// Bytes went out: they carry the ACK, and the kernel delays ACKs again.
    pub(super) fn wrote(&mut self) {
        self.unanswered = false;
        self.owed = false;
        self.delaying = true;
    }

    /// After the session has taken what was read and written its answers.
    pub(super) fn decide(&mut self, session: &Session) -> Ack {
        if !std::mem::take(&mut self.unanswered) || !session.holding_back() {
            return Ack::None;
        }
        if session.completions_before_refill() >= WAIT_FROM {
            self.owed = true;
            return Ack::Later;
        }
        // Out of ping-pong mode, the kernel acknowledges each read itself until we write.
        if std::mem::take(&mut self.delaying) || self.owed {
            self.owed = false;
            return Ack::Now;
        }
        Ack::None
    }

    /// Whether the driver's timer must send an ACK.
    pub(super) fn owed(&self) -> bool {
        self.owed
    }

    /// The timer fired: true when the ACK is still owed. The kernel keeps delaying ACKs, so
    /// the next reads wait for the next timer too.
    pub(super) fn fire(&mut self) -> bool {
        std::mem::take(&mut self.owed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomq_proto::frame::Qos;
    use nomq_proto::mqtt::ProtocolVersion;
    use nomq_proto::mqtt::session::{Message, SessionConfig};

    /// A connected session with a window of `window`, `window` publishes in flight and as many
    /// queued; its first `acked` publishes acknowledged (packet ids 1, 2, ...).
    fn holding(window: u16, acked: u16) -> Session {
        let config = SessionConfig {
            max_inflight: window,
            refill_half_window: true,
            ..SessionConfig::new(ProtocolVersion::V311, "ack-test")
        };
        let mut s = Session::new(config, Box::new(nomq_proto::endpoint::SeededRandom::new(1)));
        s.connect(0).unwrap();
        s.transmitted(0, s.transmit().len());
        s.handle_bytes(0, &[0x20, 2, 0, 0]); // CONNACK
        for _ in 0..2 * window {
            s.publish(0, Message::new("t", b"x".to_vec(), Qos::AtLeastOnce, false)).unwrap();
        }
        s.transmitted(0, s.transmit().len());
        for id in 1..=acked {
            let [hi, lo] = id.to_be_bytes();
            s.handle_bytes(0, &[0x40, 2, hi, lo]); // PUBACK
        }
        s
    }

    #[test]
    fn nothing_to_do_when_nothing_is_held_back() {
        let idle = holding(100, 0);
        let mut p = AckPacing::default();
        p.wrote();
        assert_eq!(p.decide(&idle), Ack::None, "no read");
        let mut s = Session::new(
            SessionConfig::new(ProtocolVersion::V311, "x"),
            Box::new(nomq_proto::endpoint::SeededRandom::new(1)),
        );
        s.connect(0).unwrap();
        p.read();
        assert_eq!(p.decide(&s), Ack::None, "not holding back");
    }

    #[test]
    fn many_completions_to_come_wait_for_the_timer_unless_a_write_carries_the_ack() {
        let s = holding(100, 1);
        assert!(s.completions_before_refill() >= WAIT_FROM);
        let mut p = AckPacing::default();
        p.wrote();
        p.read();
        assert_eq!(p.decide(&s), Ack::Later);
        assert!(p.owed());
        p.wrote();
        assert!(!p.owed(), "the write carried it");
        assert!(!p.fire());
        p.read();
        assert_eq!(p.decide(&s), Ack::Later);
        assert!(p.fire());
        assert!(!p.fire(), "once");
    }

    #[test]
    fn few_completions_to_come_are_acknowledged_at_once_once_per_write() {
        let s = holding(20, 1);
        assert!(s.completions_before_refill() < WAIT_FROM);
        let mut p = AckPacing::default();
        p.wrote();
        p.read();
        assert_eq!(p.decide(&s), Ack::Now);
        assert!(!p.owed());
        p.read();
        assert_eq!(p.decide(&s), Ack::None, "the kernel acknowledges reads itself until we write");
        p.wrote();
        p.read();
        assert_eq!(p.decide(&s), Ack::Now);
    }

    #[test]
    fn an_ack_owed_goes_at_once_when_the_refill_comes_close() {
        let mut p = AckPacing::default();
        p.wrote();
        p.read();
        assert_eq!(p.decide(&holding(100, 1)), Ack::Later);
        p.read();
        assert_eq!(p.decide(&holding(100, 40)), Ack::Now);
        assert!(!p.owed());
    }
}

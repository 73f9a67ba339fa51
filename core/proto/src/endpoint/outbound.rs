//! Our QoS 1/2 publishes awaiting confirmation, and the retransmission schedule
//! (nomq-v1 §22.5: the reference never retransmits; v2 "Exchanges").

use alloc::collections::BTreeMap;
use core::net::SocketAddr;

use super::event::PublishId;
use super::transmit::OutMessage;
use crate::time::MonoMillis;

/// What a tracked publish waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// QoS 1: PUBLISH sent, waiting for ACK.
    Ack,
    /// QoS 2: PUBLISH sent, waiting for PUBREC.
    Rec,
    /// QoS 2: PUBREL sent to `peer`, waiting for PUBCOMP.
    Comp,
}

#[derive(Debug)]
pub(super) struct Pending {
    pub(super) id: PublishId,
    /// Destination of the PUBLISH.
    pub(super) to: SocketAddr,
    /// Broadcast or multicast destination: any peer may confirm.
    pub(super) group: bool,
    /// QoS 2: the peer whose PUBREC we answered; PUBREL goes there and PUBCOMP must come from it.
    pub(super) peer: Option<SocketAddr>,
    pub(super) msg: OutMessage,
    pub(super) stage: Stage,
    pub(super) expires_at: MonoMillis,
    pub(super) next_retry: MonoMillis,
    /// Transmissions after the first, of the current stage.
    pub(super) retries: u32,
}

impl Pending {
    /// Confirmations are matched by (peer, packet id), never by subscription (v1 §22.3).
    pub(super) fn accepts_from(&self, from: SocketAddr) -> bool {
        match self.stage {
            Stage::Ack | Stage::Rec => self.group || from == self.to,
            Stage::Comp => self.peer == Some(from),
        }
    }

    /// Where the next (re)transmission of this entry goes.
    pub(super) fn destination(&self) -> SocketAddr {
        match self.stage {
            Stage::Comp => self.peer.unwrap_or(self.to),
            _ => self.to,
        }
    }
}

/// Tracked publishes by packet id.
#[derive(Debug, Default)]
pub(super) struct Outbound {
    pub(super) entries: BTreeMap<u32, Pending>,
}

impl Outbound {
    /// The earliest retransmission or expiry deadline.
    pub(super) fn next_deadline(&self) -> Option<MonoMillis> {
        self.entries.values().map(|p| p.next_retry.min(p.expires_at)).min()
    }
}

/// Exponential backoff with "equal jitter": half the capped delay plus a random part of the
/// other half, so synchronized senders spread out while progress stays guaranteed.
pub(super) fn retry_delay(initial_ms: u64, max_ms: u64, retries: u32, random: u32) -> u64 {
    let capped = initial_ms.saturating_mul(1u64 << retries.min(32)).min(max_ms).max(2);
    capped / 2 + u64::from(random) % (capped / 2 + 1)
}

#[cfg(test)]
mod tests {
    use super::retry_delay;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for (retries, lo, hi) in
            [(0, 100, 200), (1, 200, 400), (2, 400, 800), (10, 4000, 8000), (60, 4000, 8000)]
        {
            let low = retry_delay(200, 8000, retries, 0);
            let high = retry_delay(200, 8000, retries, u32::MAX - 1);
            assert!(low >= lo && high <= hi, "retries {retries}: {low}..{high}");
        }
    }
}

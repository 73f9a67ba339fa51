//! Retained messages of the channels this node publishes on. A SUBSCRIBE for such a channel is
//! answered by sending them to the subscriber with fresh timestamps (the reference replays them
//! only to itself with stale timestamps, nomq-v1 §22.6; reference nodes ignore SUBSCRIBE, so
//! this stays compatible).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use super::event::Dropped;
use super::transmit::OutMessage;
use crate::frame::ChannelId;
use crate::time::MonoMillis;

#[derive(Debug)]
struct Stored {
    msg: OutMessage,
    expires_at: MonoMillis,
}

#[derive(Debug)]
struct ChannelStore {
    name: String,
    messages: VecDeque<Stored>,
    updated: MonoMillis,
}

#[derive(Debug, Default)]
pub(super) struct Retained {
    channels: BTreeMap<ChannelId, ChannelStore>,
}

impl Retained {
    /// Keeps `msg`; evicts the oldest message of the channel, or the least recently updated
    /// channel, when a limit is reached, reporting each eviction.
    pub(super) fn store(
        &mut self,
        name: &str,
        msg: OutMessage,
        now: MonoMillis,
        expires_at: MonoMillis,
        (per_channel, max_channels): (usize, usize),
        dropped: &mut impl FnMut(Dropped),
    ) {
        if !self.channels.contains_key(&msg.channel) && self.channels.len() >= max_channels.max(1) {
            if let Some(oldest) = self.channels.iter().min_by_key(|(_, c)| c.updated).map(|(id, _)| *id) {
                if let Some(gone) = self.channels.remove(&oldest) {
                    for _ in gone.messages {
                        dropped(Dropped::Retained { channel: gone.name.clone() });
                    }
                }
            }
        }
        let store = self.channels.entry(msg.channel).or_insert_with(|| ChannelStore {
            name: String::from(name),
            messages: VecDeque::new(),
            updated: now,
        });
        store.updated = now;
        while store.messages.len() >= per_channel.max(1) {
            store.messages.pop_front();
            dropped(Dropped::Retained { channel: store.name.clone() });
        }
        store.messages.push_back(Stored { msg, expires_at });
    }

    /// The live retained messages of `channel`.
    pub(super) fn messages(&mut self, channel: &ChannelId, now: MonoMillis) -> Vec<OutMessage> {
        let Some(store) = self.channels.get_mut(channel) else {
            return Vec::new();
        };
        store.messages.retain(|s| s.expires_at > now);
        store.messages.iter().map(|s| s.msg.clone()).collect()
    }

    /// Drops expired messages and empty channels.
    pub(super) fn expire(&mut self, now: MonoMillis) {
        self.channels.retain(|_, c| {
            c.messages.retain(|s| s.expires_at > now);
            !c.messages.is_empty()
        });
    }

    pub(super) fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    pub(super) fn channels(&self) -> usize {
        self.channels.len()
    }
}

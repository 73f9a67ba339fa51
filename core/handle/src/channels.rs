//! [`ChannelCache`]: bindings name channels by text on every call, and a channel id costs a
//! hash (v1: SHA-256, v2: keyed). The cache computes each id once and stays bounded: when full,
//! the least recently used name makes room, so a hot channel is never recomputed because an
//! application cycled through many cold ones.

use alloc::collections::BTreeMap;
use alloc::string::String;

/// Values computed from channel names, at most `capacity` of them.
#[derive(Debug, Clone)]
pub struct ChannelCache<V> {
    entries: BTreeMap<String, (V, u64)>,
    capacity: usize,
    /// A use counter: the entry with the smallest stamp is the least recently used.
    clock: u64,
}

/// The default bound: more channels than an endpoint subscribes to by default
/// (`max_subscriptions`), plus publish-only ones.
const DEFAULT_CAPACITY: usize = 256;

impl<V: Clone> ChannelCache<V> {
    /// An empty cache of at most `capacity` names (at least 1).
    pub fn new(capacity: usize) -> Self {
        ChannelCache { entries: BTreeMap::new(), capacity: capacity.max(1), clock: 0 }
    }

    /// The value for `name`, computed by `make` on a miss.
    pub fn get_or_insert_with(&mut self, name: &str, make: impl FnOnce(&str) -> V) -> V {
        self.clock += 1;
        if let Some((value, stamp)) = self.entries.get_mut(name) {
            *stamp = self.clock;
            return value.clone();
        }
        if self.entries.len() >= self.capacity {
            // O(capacity), only on a miss with a full table.
            let oldest = self.entries.iter().min_by_key(|(_, (_, stamp))| *stamp).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        let value = make(name);
        self.entries.insert(name.into(), (value.clone(), self.clock));
        value
    }

    /// Names held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl<V: Clone> Default for ChannelCache<V> {
    /// A cache of 256 names.
    fn default() -> Self {
        ChannelCache::new(DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::ChannelCache;
    use alloc::format;

    #[test]
    fn bounded_and_keeps_the_recently_used() {
        let mut made = 0;
        let mut cache = ChannelCache::new(3);
        let mut get = |name: &str| {
            cache.get_or_insert_with(name, |n| {
                made += 1;
                n.len()
            });
        };
        for name in ["a", "bb", "ccc"] {
            get(name);
        }
        get("a"); // hit: "bb" is now the least recently used
        get("dddd"); // evicts "bb"
        get("a");
        get("ccc");
        get("bb");
        for i in 0..1000 {
            get(&format!("cold/{i}"));
        }
        // a, bb, ccc, dddd, then bb again (evicted), then the cold names.
        assert_eq!(made, 5 + 1000);
        assert_eq!(cache.len(), 3);
    }
}

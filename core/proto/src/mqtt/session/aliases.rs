//! Topic aliases (MQTT 5.0 §3.3.2.3.4): the server's toward us (resolved on receipt) and ours
//! toward the server (assigned automatically). Both are per connection.

use alloc::collections::BTreeMap;
use alloc::string::String;

/// Aliases the server set for messages it sends us.
#[derive(Debug, Default)]
pub(super) struct Incoming {
    map: BTreeMap<u16, String>,
}

impl Incoming {
    /// The topic of a received PUBLISH: a non-empty topic (re)defines the alias; an empty one
    /// uses it. `None` for an alias out of range or never defined (protocol error 0x94).
    pub(super) fn resolve(&mut self, topic: &str, alias: Option<u16>, max: u16) -> Option<String> {
        match alias {
            None => Some(String::from(topic)),
            Some(a) if a == 0 || a > max => None,
            Some(a) if topic.is_empty() => self.map.get(&a).cloned(),
            Some(a) => {
                self.map.insert(a, String::from(topic));
                Some(String::from(topic))
            }
        }
    }

    pub(super) fn clear(&mut self) {
        self.map.clear();
    }
}

/// Aliases we assign: the first `max` distinct topics get one for the whole connection.
#[derive(Debug, Default)]
pub(super) struct Outgoing {
    map: BTreeMap<String, u16>,
}

/// How to send a topic.
pub(super) enum Use {
    /// Full topic, no alias.
    Plain,
    /// Full topic, and define alias `n`.
    Define(u16),
    /// Empty topic, alias `n`.
    Reuse(u16),
}

impl Outgoing {
    pub(super) fn assign(&mut self, topic: &str, max: u16) -> Use {
        if let Some(&a) = self.map.get(topic) {
            return Use::Reuse(a);
        }
        let next = self.map.len() + 1;
        if next > usize::from(max) {
            return Use::Plain;
        }
        let alias = next as u16;
        self.map.insert(String::from(topic), alias);
        Use::Define(alias)
    }

    /// Takes back the alias just defined for `topic` (its PUBLISH was not written: the server
    /// never learned it). Aliases are numbered in order, so only the newest can go.
    pub(super) fn undefine(&mut self, topic: &str) {
        if self.map.get(topic).is_some_and(|&a| usize::from(a) == self.map.len()) {
            self.map.remove(topic);
        }
    }

    pub(super) fn clear(&mut self) {
        self.map.clear();
    }
}

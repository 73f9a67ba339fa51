//! Topic names and filters (MQTT 5.0 §4.7): validation and matching, including `$` topics and
//! shared subscriptions (§4.8.2).

use crate::mqtt::MqttError;

/// Checks a topic name for PUBLISH: at least one character, no wildcards, no U+0000, at most
/// 65,535 bytes (§4.7.3, [MQTT-4.7.0-1]).
pub fn validate_topic_name(topic: &str) -> Result<(), MqttError> {
    if topic.is_empty() || topic.len() > usize::from(u16::MAX) || topic.contains(['+', '#', '\0']) {
        return Err(MqttError::InvalidTopic);
    }
    Ok(())
}

/// Checks a topic filter: `#` only as the whole last level, `+` only as a whole level, and for
/// `$share/{group}/{filter}` a group without wildcards or `/` and a valid filter (§4.7.1, §4.8.2).
pub fn validate_topic_filter(filter: &str) -> Result<(), MqttError> {
    if filter.is_empty() || filter.len() > usize::from(u16::MAX) || filter.contains('\0') {
        return Err(MqttError::InvalidTopic);
    }
    let filter = match shared_parts(filter) {
        Some((group, rest)) => {
            if group.is_empty() || group.contains(['+', '#']) || rest.is_empty() {
                return Err(MqttError::InvalidTopic);
            }
            rest
        }
        None => filter,
    };
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let last = levels.peek().is_none();
        let ok = match level {
            "#" => last,
            "+" => true,
            l => !l.contains(['+', '#']),
        };
        if !ok {
            return Err(MqttError::InvalidTopic);
        }
    }
    Ok(())
}

/// `$share/{group}/{filter}` split into group and filter.
fn shared_parts(filter: &str) -> Option<(&str, &str)> {
    let rest = filter.strip_prefix("$share/")?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

/// Whether `topic` matches `filter` (§4.7). Topics starting with `$` are not matched by filters
/// starting with a wildcard ([MQTT-4.7.2-1]). A shared subscription matches like its inner filter.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let filter = shared_parts(filter).map_or(filter, |(_, f)| f);
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_follow_section_4_7() {
        for ok in ["#", "+", "a/#", "a/+/b", "+/+", "/", "a//b", "$SYS/#", "$share/g/a/+", "sport/tennis/#"] {
            assert!(validate_topic_filter(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a#", "a/#/b", "a+/b", "a/b+", "#/a", "$share//a", "$share/g", "$share/g+/a", "a\0b"]
        {
            assert!(validate_topic_filter(bad).is_err(), "{bad}");
        }
        assert!(validate_topic_name("a/b").is_ok());
        for bad in ["", "a/+", "a/#", "a\0"] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_examples_from_the_specification() {
        // §4.7.1.2 and §4.7.1.3 examples.
        for (filter, topic, expected) in [
            ("sport/tennis/player1/#", "sport/tennis/player1", true),
            ("sport/tennis/player1/#", "sport/tennis/player1/ranking", true),
            ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true),
            ("sport/#", "sport", true),
            ("#", "any/thing", true),
            ("sport/tennis/+", "sport/tennis/player1", true),
            ("sport/tennis/+", "sport/tennis/player1/ranking", false),
            ("sport/+", "sport", false),
            ("sport/+", "sport/", true),
            ("+/+", "/finance", true),
            ("/+", "/finance", true),
            ("+", "/finance", false),
            ("#", "$SYS/broker", false),
            ("+/monitor/Clients", "$SYS/monitor/Clients", false),
            ("$SYS/#", "$SYS/broker", true),
            ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
            ("$share/g/a/+", "a/b", true),
            ("a/b", "a/b/c", false),
        ] {
            assert_eq!(topic_matches(filter, topic), expected, "{filter} vs {topic}");
        }
    }
}

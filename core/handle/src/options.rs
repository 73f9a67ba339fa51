//! Parsers from what bindings receive (numbers, names, seconds) to the core's option types.
//! Each refusal is an [`OptionError`] naming the option, so every binding reports a bad value
//! the same way (kind `InvalidArgument`); whole configurations are then checked by the core
//! (`SessionConfig::validate`).

use nomq_proto::error::OptionError;
use nomq_proto::frame::{Qos, Version};
use nomq_proto::mqtt::ProtocolVersion;
use nomq_proto::mqtt::session::OutboxPolicy;

/// MQTT protocol level: 4 (3.1.1) or 5.
pub fn mqtt_version(level: u8) -> Result<ProtocolVersion, OptionError> {
    ProtocolVersion::from_level(level)
        .ok_or(OptionError { name: "version", rule: "must be 4 (MQTT 3.1.1) or 5" })
}

/// NoMQ wire version: 1 (the reference's format) or 2.
pub fn nomq_version(version: u8) -> Result<Version, OptionError> {
    match version {
        1 => Ok(Version::V1),
        2 => Ok(Version::V2),
        _ => Err(OptionError { name: "version", rule: "must be 1 or 2" }),
    }
}

/// A QoS of 0, 1 or 2 for the option `name`.
pub fn qos(name: &'static str, qos: u8) -> Result<Qos, OptionError> {
    Qos::from_u8(qos).ok_or(OptionError { name, rule: "must be 0, 1 or 2" })
}

/// What a full outbox does: `"fail"` (or `"wait"`: async clients wait for room, and fail only
/// in `try_publish`) refuses, `"drop_oldest"` drops the oldest queued message.
pub fn outbox_policy(name: &str) -> Result<OutboxPolicy, OptionError> {
    match name {
        "fail" | "wait" => Ok(OutboxPolicy::Fail),
        "drop_oldest" => Ok(OutboxPolicy::DropOldest),
        _ => {
            Err(OptionError { name: "outbox_policy", rule: "must be \"wait\", \"fail\" or \"drop_oldest\"" })
        }
    }
}

/// Seconds (as Python and configuration files give them) to milliseconds, for the option
/// `name`: finite and not negative; beyond `u64` milliseconds saturates (the core's
/// validation bounds each deadline).
pub fn millis(name: &'static str, seconds: f64) -> Result<u64, OptionError> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(OptionError { name, rule: "must be a non-negative number of seconds" });
    }
    // `as` saturates for floats (and the value is finite and non-negative).
    Ok((seconds * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers_name_the_option() {
        assert_eq!(mqtt_version(5), Ok(ProtocolVersion::V5));
        assert_eq!(mqtt_version(3).unwrap_err().name, "version");
        assert_eq!(nomq_version(0).unwrap_err().name, "version");
        assert_eq!(qos("will_qos", 3).unwrap_err().name, "will_qos");
        assert_eq!(outbox_policy("wait"), Ok(OutboxPolicy::Fail));
        assert!(outbox_policy("drop_newest").is_err());
        assert_eq!(millis("connect_timeout", 1.5), Ok(1500));
        assert_eq!(millis("connect_timeout", 1e300), Ok(u64::MAX));
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(millis("connect_timeout", bad).unwrap_err().name, "connect_timeout");
        }
    }
}

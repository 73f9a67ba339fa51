//! MQTT session options: each case of tests/cases/mqtt_options.txt applied to
//! `SessionConfig::validate` gives the error kind the case names, the kind the C library and
//! the Python client report for it too (tests/c/test_options.c, tests/python/test_options.py).

use nomq_proto::ErrorKind;
use nomq_proto::frame::Qos;
use nomq_proto::mqtt::ProtocolVersion;
use nomq_proto::mqtt::session::{LastWill, Message, SessionConfig};

fn apply(c: &mut SessionConfig, name: &str, value: &str) {
    let n = || value.parse::<u64>().unwrap();
    match name {
        "version" => match ProtocolVersion::from_level(n() as u8) {
            Some(v) => c.version = v,
            None => panic!("unknown level: the caller refuses it before building a config"),
        },
        "max_inflight" => c.max_inflight = n() as u16,
        "max_outbox_messages" => c.max_outbox_messages = n() as usize,
        "max_outbox_bytes" => c.max_outbox_bytes = n() as usize,
        "max_packet_size" => c.maximum_packet_size = n() as u32,
        "connect_timeout_ms" => c.connect_timeout_ms = n(),
        "reconnect" => c.reconnect.enabled = n() != 0,
        "reconnect_initial_ms" => c.reconnect.initial_ms = n(),
        "reconnect_max_ms" => c.reconnect.max_ms = n(),
        "session_expiry" => c.session_expiry_interval = n() as u32,
        "auth_method" => c.authentication_method = Some(value.into()),
        "client_id" => c.client_id = value.into(),
        "clean_start" => c.clean_start = n() != 0,
        "username" => c.username = Some(value.into()),
        "password" => c.password = Some(value.as_bytes().to_vec()),
        "will_topic" => {
            let message = Message::new(value, Vec::new(), Qos::AtMostOnce, false);
            c.will = Some(LastWill { message, delay_interval: None });
        }
        "will_qos" => {
            c.will.as_mut().unwrap().message.qos = Qos::from_u8(n() as u8).unwrap();
        }
        "keep_alive" => c.keep_alive = n() as u16,
        other => panic!("unknown option {other}"),
    }
}

#[test]
fn options_are_judged_like_every_binding() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/cases/mqtt_options.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut cases = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (changes, expected) = line.split_once("->").unwrap();
        let expected: u32 = expected.trim().parse().unwrap();
        cases += 1;
        // A version level or QoS outside the enums cannot be built in Rust: the binding refuses
        // it while parsing, with the same kind.
        let unrepresentable =
            changes.split_whitespace().any(|c| matches!(c, "version=3" | "version=6" | "will_qos=3"));
        if unrepresentable {
            assert_eq!(expected, ErrorKind::InvalidArgument.code(), "{line}");
            continue;
        }
        let mut config = SessionConfig::new(ProtocolVersion::V311, "options");
        for change in changes.split_whitespace() {
            let (name, value) = change.split_once('=').unwrap();
            apply(&mut config, name, value);
        }
        let got = config.validate().map_or_else(|e| nomq_proto::Error::from(e).kind().code(), |()| 0);
        assert_eq!(got, expected, "{line}: {:?}", config.validate());
    }
    assert!(cases >= 20);
}

//! Arbitrary bytes into the MQTT decoder, both versions, as a TCP stream would deliver them:
//! every input gives packets or an error, never a panic; whatever decodes re-encodes to the same
//! packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nomq_proto::mqtt::{ProtocolVersion, decode};

fuzz_target!(|data: &[u8]| {
    for v in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut rest = data;
        while let Ok(Some((packet, used))) = decode(rest, v, 1 << 20) {
            let mut out = vec![0u8; packet.encoded_len(v)];
            if let Ok(n) = packet.encode(v, &mut out) {
                let (again, _) = decode(&out[..n], v, 1 << 20).expect("re-encoded packet decodes").expect("complete");
                assert_eq!(again, packet);
            }
            rest = &rest[used..];
        }
    }
});

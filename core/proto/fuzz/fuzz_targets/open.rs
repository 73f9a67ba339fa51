//! Arbitrary datagrams into `open` and `open_in_place`, both versions, and into the v1 inner
//! PUBLISH decoder and the config file reader: every input must give a value, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nomq_proto::config::Config;
use nomq_proto::frame::{FrameCodec, V1Publish, Version};
use nomq_proto::Keys;

fuzz_target!(|data: &[u8]| {
    let keys = Keys::new([0x11; 32], [0x22; 32]);
    let now_ms = 1_750_000_000_000;
    let mut out = [0u8; 70_000];
    for version in [Version::V1, Version::V2] {
        let codec = FrameCodec::new(&keys, version);
        let a = codec.open(data, now_ms, &mut out).map(|o| (o.header, o.plaintext.to_vec()));
        let mut copy = data.to_vec();
        let b = codec.open_in_place(&mut copy, now_ms).map(|o| (o.header, o.plaintext.to_vec()));
        assert_eq!(a, b, "both open paths agree");
    }
    let _ = V1Publish::decode(data);
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = Config::from_text(text);
    }
});

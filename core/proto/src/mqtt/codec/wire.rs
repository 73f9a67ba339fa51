//! The MQTT data representations (MQTT 5.0 §1.5): big-endian integers, Variable Byte Integers,
//! length-prefixed UTF-8 strings and binary data, read from and written to byte slices.

use crate::mqtt::MqttError;

/// Largest value a Variable Byte Integer can hold (§1.5.5): 268,435,455.
pub const MAX_VARINT: u32 = 268_435_455;

/// A cursor over received bytes. Every read checks bounds; running out is a malformed packet.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

const SHORT: MqttError = MqttError::Malformed("packet ends early");

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], MqttError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(SHORT)?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    pub(crate) fn u8(&mut self) -> Result<u8, MqttError> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, MqttError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, MqttError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// §1.5.5: at most four bytes, and (MQTT 5.0) encoded in the fewest bytes.
    pub(crate) fn varint(&mut self) -> Result<u32, MqttError> {
        match decode_varint(&self.buf[self.pos..])? {
            Some((value, used)) => {
                self.pos += used;
                Ok(value)
            }
            None => Err(SHORT),
        }
    }

    /// A UTF-8 Encoded String (§1.5.4).
    pub(crate) fn string(&mut self) -> Result<&'a str, MqttError> {
        let len = usize::from(self.u16()?);
        check_str(self.bytes(len)?)
    }

    /// Binary Data (§1.5.6).
    pub(crate) fn binary(&mut self) -> Result<&'a [u8], MqttError> {
        let len = usize::from(self.u16()?);
        self.bytes(len)
    }
}

/// Decodes a Variable Byte Integer at the start of `buf`: `Ok(None)` when more bytes are
/// needed, an error for a fifth continuation byte or a non-minimal encoding.
pub(crate) fn decode_varint(buf: &[u8]) -> Result<Option<(u32, usize)>, MqttError> {
    let mut value = 0u32;
    for (i, &b) in buf.iter().enumerate().take(4) {
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // A trailing 0x00 after a continuation byte is a non-minimal encoding (§1.5.5).
            if i > 0 && b == 0 {
                return Err(MqttError::Malformed("variable byte integer not minimally encoded"));
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 4 {
        return Err(MqttError::Malformed("variable byte integer longer than 4 bytes"));
    }
    Ok(None)
}

/// Bytes a Variable Byte Integer takes.
pub(crate) const fn varint_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// MQTT UTF-8 rules on received text: valid UTF-8 (no surrogates, by Rust's definition) and no
/// U+0000 (§1.5.4, [MQTT-1.5.4-2]).
pub(crate) fn check_str(bytes: &[u8]) -> Result<&str, MqttError> {
    let s = core::str::from_utf8(bytes).map_err(|_| MqttError::InvalidString)?;
    if s.contains('\0') {
        return Err(MqttError::InvalidString);
    }
    Ok(s)
}

/// A cursor writing into a caller's buffer; overflow is reported once at the end.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Callers size the buffer first (`encoded_len`), so this never truncates silently: a
    /// short buffer was rejected before writing began.
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        let end = self.pos + b.len();
        if end <= self.buf.len() {
            self.buf[self.pos..end].copy_from_slice(b);
        }
        self.pos = end;
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    pub(crate) fn varint(&mut self, mut v: u32) {
        loop {
            let mut b = (v % 128) as u8;
            v /= 128;
            if v > 0 {
                b |= 0x80;
            }
            self.u8(b);
            if v == 0 {
                break;
            }
        }
    }

    /// Length-prefixed string or binary; lengths were validated (≤ 65,535) before encoding.
    pub(crate) fn prefixed(&mut self, b: &[u8]) {
        self.u16(b.len() as u16);
        self.bytes(b);
    }
}

/// Checks an outgoing string: MQTT UTF-8 rules and the 16-bit length prefix.
pub(crate) fn check_out_str(s: &str) -> Result<(), MqttError> {
    if s.len() > usize::from(u16::MAX) || s.contains('\0') {
        return Err(MqttError::InvalidString);
    }
    Ok(())
}

/// Checks outgoing binary data fits its 16-bit length prefix.
pub(crate) fn check_out_binary(b: &[u8]) -> Result<(), MqttError> {
    if b.len() > usize::from(u16::MAX) {
        return Err(MqttError::Malformed("binary data over 65535 bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_spec_boundaries() {
        // §1.5.5 table: 0, 127 | 128, 16383 | 16384, 2097151 | 2097152, 268435455.
        for (value, bytes) in [
            (0u32, &[0x00][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xff, 0xff, 0x7f]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (MAX_VARINT, &[0xff, 0xff, 0xff, 0x7f]),
        ] {
            let mut out = [0u8; 4];
            let written = {
                let mut w = Writer::new(&mut out);
                w.varint(value);
                w.position()
            };
            assert_eq!(&out[..written], bytes, "{value}");
            assert_eq!(varint_len(value), bytes.len());
            assert_eq!(decode_varint(bytes), Ok(Some((value, bytes.len()))));
        }
        assert_eq!(decode_varint(&[0x80]), Ok(None), "incomplete");
        assert!(decode_varint(&[0xff, 0xff, 0xff, 0xff, 0x01]).is_err(), "five bytes");
        assert!(decode_varint(&[0x80, 0x00]).is_err(), "non-minimal");
    }

    #[test]
    fn strings_follow_mqtt_rules() {
        assert_eq!(Reader::new(&[0, 3, b'a', b'/', b'b']).string(), Ok("a/b"));
        assert_eq!(Reader::new(&[0, 1, 0]).string(), Err(MqttError::InvalidString), "U+0000");
        assert_eq!(Reader::new(&[0, 2, 0xc3, 0x28]).string(), Err(MqttError::InvalidString));
        assert_eq!(Reader::new(&[0, 5, b'a']).string(), Err(SHORT));
        assert!(check_out_str(&"x".repeat(65_536)).is_err());
    }
}

//! NoMQ framing without a node: seal and open v1/v2 packets (`Codec`), channel ids, and the
//! reference's config file. For gateways that carry NoMQ packets over their own transport,
//! and for checking packets byte for byte against the vectors (docs/nomq-v1.md, nomq-v2.md).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use nomq::OsRandom;
use nomq_proto::config::Config;
use nomq_proto::endpoint::Random;
use nomq_proto::frame::{
    Body, ChannelId, DEFAULT_TTL, Flags, FrameCodec, Header, InnerLayout, PacketType, Qos, Version,
};
use nomq_proto::{ErrorKind, Keys};

use crate::NomqError;

/// Largest datagram `open` takes (a UDP datagram).
const MAX_DATAGRAM: usize = 65_535;

pub(crate) fn keys(encryption_key: &[u8], hmac_key: &[u8]) -> Result<Keys, NomqError> {
    let encryption: [u8; 32] = encryption_key.try_into().map_err(|_| {
        NomqError::invalid(format!("encryption_key must be 32 bytes, got {}", encryption_key.len()))
    })?;
    let trailer: [u8; 32] = hmac_key
        .try_into()
        .map_err(|_| NomqError::invalid(format!("hmac_key must be 32 bytes, got {}", hmac_key.len())))?;
    Ok(Keys::new(encryption, trailer))
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn bytes16(what: &str, b: &[u8]) -> Result<[u8; 16], NomqError> {
    b.try_into().map_err(|_| NomqError::invalid(format!("{what} must be 16 bytes, got {}", b.len())))
}

/// A packet's parts, for [`Codec::seal`]: everything a datagram is made of, so the caller
/// controls every byte (test vectors, a transport of its own).
#[derive(Debug, Clone, uniffi::Record)]
pub struct PacketParts {
    /// Packet type 1..=8 (PUBLISH 1, SUBSCRIBE 2, ... v1 §3).
    pub kind: u8,
    /// The 16-byte channel id.
    pub channel_id: Vec<u8>,
    /// The exact plaintext (empty for v2 ACK-family and HEARTBEAT packets).
    #[uniffi(default)]
    pub body: Vec<u8>,
    /// The flags byte.
    #[uniffi(default = 0)]
    pub flags: u8,
    /// Packet id.
    #[uniffi(default = 0)]
    pub packet_id: u32,
    /// Session id.
    #[uniffi(default = 0)]
    pub session_id: u32,
    /// Seconds the packet stays valid.
    #[uniffi(default = 3600)]
    pub ttl: u16,
    /// Timestamp in milliseconds (v1 carries whole seconds); `null`: now.
    #[uniffi(default = None)]
    pub timestamp_ms: Option<u64>,
    /// The 16-byte IV; `null`: random.
    #[uniffi(default = None)]
    pub iv: Option<Vec<u8>>,
}

/// An opened (authenticated, decrypted) packet.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OpenedPacket {
    /// Packet type 1..=8.
    pub kind: u8,
    /// The flags byte.
    pub flags: u8,
    /// QoS, for PUBLISH.
    pub qos: Option<Qos>,
    /// Retain flag.
    pub retain: bool,
    /// Priority 0..=15.
    pub priority: u8,
    /// Packet id.
    pub packet_id: u32,
    /// Session id.
    pub session_id: u32,
    /// Seconds the packet stays valid.
    pub ttl: u16,
    /// Timestamp in milliseconds.
    pub timestamp_ms: u64,
    /// The 16-byte channel id.
    pub channel_id: Vec<u8>,
    /// The 16-byte IV.
    pub iv: Vec<u8>,
    /// The message of a PUBLISH (v1: its UTF-8 text, without the inner header), or the
    /// plaintext of any other packet.
    pub payload: Vec<u8>,
    /// The message as text, for a v1 PUBLISH.
    pub text: Option<String>,
}

/// Seals and opens NoMQ packets of one version under one key pair.
#[derive(Debug, uniffi::Object)]
pub struct Codec {
    codec: FrameCodec,
    random: Mutex<OsRandom>,
}

#[uniffi::export]
impl Codec {
    /// A codec for `version` (v2 derives its own keys from these, docs/nomq-v2.md).
    #[uniffi::constructor]
    pub fn new(encryption_key: Vec<u8>, hmac_key: Vec<u8>, version: Version) -> Result<Arc<Self>, NomqError> {
        let keys = keys(&encryption_key, &hmac_key)?;
        Ok(Arc::new(Codec { codec: FrameCodec::new(&keys, version), random: Mutex::new(OsRandom) }))
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.codec.version()
    }

    /// The 16-byte channel id of `name` (v1: a SHA-256 prefix; v2: keyed).
    pub fn channel_id(&self, name: String) -> Vec<u8> {
        self.codec.channel_id(&name).as_bytes().to_vec()
    }

    /// A PUBLISH datagram of `payload` on `channel`, with random ids and IV. v1 messages must
    /// be UTF-8 text (v1 §10); v2 takes any bytes.
    pub fn seal_publish(
        &self,
        channel: String,
        payload: Vec<u8>,
        qos: Qos,
        retain: bool,
        timestamp_ms: Option<u64>,
    ) -> Result<Vec<u8>, NomqError> {
        let mut random = self.random.lock().unwrap_or_else(PoisonError::into_inner);
        let mut iv = [0u8; 16];
        random.fill(&mut iv);
        let timestamp_ms = timestamp_ms.unwrap_or_else(now_ms);
        let header = Header {
            kind: PacketType::Publish,
            flags: Flags::publish(qos, retain, 0),
            packet_id: random.next_u32(),
            session_id: random.next_u32(),
            ttl: DEFAULT_TTL,
            timestamp_ms,
            channel: self.codec.channel_id(&channel),
            iv,
        };
        let nonce = random.next_u32();
        drop(random);
        let body = Body::publish(self.codec.version(), timestamp_ms, nonce, &payload, InnerLayout::Standard)
            .map_err(|e| NomqError::from(nomq_proto::Error::from(e)))?;
        self.seal_header(&header, &body)
    }

    /// Any packet from its parts, byte for byte.
    pub fn seal(&self, parts: PacketParts) -> Result<Vec<u8>, NomqError> {
        let kind = PacketType::from_byte(parts.kind).map_err(|_| {
            NomqError::invalid(format!("kind must be a packet type 1..=8, got {}", parts.kind))
        })?;
        let iv = match parts.iv {
            Some(iv) => bytes16("iv", &iv)?,
            None => {
                let mut iv = [0u8; 16];
                self.random.lock().unwrap_or_else(PoisonError::into_inner).fill(&mut iv);
                iv
            }
        };
        let header = Header {
            kind,
            flags: Flags(parts.flags),
            packet_id: parts.packet_id,
            session_id: parts.session_id,
            ttl: parts.ttl,
            timestamp_ms: parts.timestamp_ms.unwrap_or_else(now_ms),
            channel: ChannelId(bytes16("channel_id", &parts.channel_id)?),
            iv,
        };
        let body = if parts.body.is_empty() { Body::Empty } else { Body::Bytes(&parts.body) };
        self.seal_header(&header, &body)
    }

    /// Verifies (tag first, in constant time), checks the timestamp against `now_ms`
    /// (default: now) and decrypts. Wrong keys or tampering: `AuthFailed`; outside the
    /// window: `Stale`; malformed bytes: `Malformed`.
    pub fn open(&self, datagram: Vec<u8>, now_ms: Option<u64>) -> Result<OpenedPacket, NomqError> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(NomqError::new(
                ErrorKind::Malformed,
                format!("datagram of {} bytes", datagram.len()),
            ));
        }
        let mut plain = vec![0u8; datagram.len()];
        let opened = self.codec.open(&datagram, now_ms.unwrap_or_else(self::now_ms), &mut plain)?;
        let h = opened.header;
        let (payload, text) = match (h.kind, self.codec.version()) {
            (PacketType::Publish, Version::V1) => {
                let p = opened.v1_publish().map_err(|e| NomqError::from(nomq_proto::Error::from(e)))?;
                (p.text.as_bytes().to_vec(), Some(p.text.to_string()))
            }
            _ => (opened.plaintext.to_vec(), None),
        };
        Ok(OpenedPacket {
            kind: h.kind as u8,
            flags: h.flags.bits(),
            qos: h.flags.qos(),
            retain: h.flags.retain(),
            priority: h.flags.priority(),
            packet_id: h.packet_id,
            session_id: h.session_id,
            ttl: h.ttl,
            timestamp_ms: h.timestamp_ms,
            channel_id: h.channel.as_bytes().to_vec(),
            iv: h.iv.to_vec(),
            payload,
            text,
        })
    }
}

impl Codec {
    fn seal_header(&self, header: &Header, body: &Body<'_>) -> Result<Vec<u8>, NomqError> {
        let mut out = vec![0u8; self.codec.sealed_len(header.kind, body.len())];
        let n = self.codec.seal(header, body, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

/// The v1 channel id of `name`: the first 16 bytes of its SHA-256 (v1 §6).
#[uniffi::export]
pub fn v1_channel_id(name: String) -> Vec<u8> {
    ChannelId::v1(&name).as_bytes().to_vec()
}

/// A node's settings as the reference's config file holds them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConfigFile {
    /// Bind address.
    pub ip: String,
    /// UDP port.
    pub port: u16,
    /// Bind an IPv6 socket.
    pub use_ipv6: bool,
    /// The 32-byte encryption key.
    pub encryption_key: Vec<u8>,
    /// The 32-byte trailer (HMAC) key.
    pub hmac_key: Vec<u8>,
}

/// Reads a config: the reference's encrypted file (base64) or its plain JSON object.
#[uniffi::export]
pub fn read_config(text: String) -> Result<ConfigFile, NomqError> {
    let c = Config::from_text(&text).map_err(|e| NomqError::from(nomq_proto::Error::from(e)))?;
    Ok(ConfigFile {
        ip: c.ip.clone(),
        port: c.port,
        use_ipv6: c.use_ipv6,
        encryption_key: c.keys.encryption_key().to_vec(),
        hmac_key: c.keys.trailer_key().to_vec(),
    })
}

/// The reference's encrypted config file for `config`, under a random IV.
#[uniffi::export]
pub fn write_config(config: ConfigFile) -> Result<String, NomqError> {
    let mut c = Config::new(keys(&config.encryption_key, &config.hmac_key)?);
    c.ip = config.ip;
    c.port = config.port;
    c.use_ipv6 = config.use_ipv6;
    let mut iv = [0u8; 16];
    OsRandom.fill(&mut iv);
    Ok(c.to_file_text(&iv))
}

//! NoMQ framing from Python: `Codec` seals and opens v1/v2 packets, `channel_id` names
//! channels, and the config helpers read and write the reference's config file (v1 §19).

use nomq::proto::ErrorKind;
use nomq::proto::endpoint::Random;
use nomq::proto::frame::{Body, Flags, Header, InnerLayout, OpenOptions, PacketType};
use nomq::{FrameCodec, Keys, OsRandom, Qos, Version};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors;
use nomq_handle::ChannelCache;

/// Largest datagram the codec produces or accepts (the v1 receive buffer is 2048 bytes; v2
/// allows up to a UDP datagram).
const MAX_DATAGRAM: usize = 65_507;

/// A NoMQ wire version (1 or 2), by the handle layer's parser.
pub fn version(py: Python<'_>, v: u8) -> PyResult<Version> {
    nomq_handle::options::nomq_version(v).map_err(|e| errors::proto(py, e.into()))
}

/// A QoS (0, 1 or 2), by the handle layer's parser.
pub fn qos(py: Python<'_>, q: u8) -> PyResult<Qos> {
    nomq_handle::options::qos("qos", q).map_err(|e| errors::proto(py, e.into()))
}

pub fn keys(py: Python<'_>, encryption_key: &[u8], trailer_key: &[u8]) -> PyResult<Keys> {
    let as_key = |k: &[u8], what: &str| -> PyResult<[u8; 32]> {
        k.try_into().map_err(|_| {
            errors::raise(py, ErrorKind::ConfigInvalid, format!("{what} must be 32 bytes, got {}", k.len()))
        })
    };
    Ok(Keys::new(as_key(encryption_key, "encryption_key")?, as_key(trailer_key, "trailer_key")?))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Seals and opens NoMQ packets of one version under one key pair.
#[pyclass(frozen, module = "nomq._nomq")]
pub(crate) struct Codec {
    codec: FrameCodec,
    /// IVs, nonces and ids: AES-CTR keyed once from the OS (no system call per packet).
    random: std::sync::Mutex<crate::random::CtrRandom>,
    /// Channel ids computed once per name (bounded, least recently used out).
    channels: std::sync::Mutex<ChannelCache<nomq::proto::frame::ChannelId>>,
}

#[pymethods]
impl Codec {
    #[new]
    #[pyo3(signature = (encryption_key, trailer_key, version = 1, window_s = 30.0, strict_iv = false))]
    fn new(
        py: Python<'_>,
        encryption_key: &[u8],
        trailer_key: &[u8],
        version: u8,
        window_s: f64,
        strict_iv: bool,
    ) -> PyResult<Self> {
        let keys = keys(py, encryption_key, trailer_key)?;
        let v = self::version(py, version)?;
        if !(0.0..=86_400.0).contains(&window_s) {
            return Err(errors::raise(py, ErrorKind::InvalidArgument, "window_s must be within 0..86400"));
        }
        let options = OpenOptions { window_ms: (window_s * 1000.0) as u64, strict_iv };
        Ok(Codec {
            codec: FrameCodec::new(&keys, v).with_options(options),
            random: std::sync::Mutex::new(crate::random::CtrRandom::new()),
            channels: std::sync::Mutex::default(),
        })
    }

    /// 1 or 2.
    #[getter]
    fn version(&self) -> u8 {
        match self.codec.version() {
            Version::V1 => 1,
            Version::V2 => 2,
        }
    }

    /// The 16-byte channel id of `name` (v1: SHA-256 prefix; v2: keyed).
    fn channel_id<'py>(&self, py: Python<'py>, name: &str) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.codec.channel_id(name).as_bytes())
    }

    /// A PUBLISH datagram. v1 messages must be UTF-8 text (v1 §10); v2 takes any bytes.
    /// `packet_id` and `session_id` default to random values, `timestamp_ms` to now.
    #[pyo3(signature = (channel, message, qos = 1, retain = false, priority = 0, ttl = 3600,
                        packet_id = None, session_id = None, timestamp_ms = None))]
    #[allow(clippy::too_many_arguments)]
    fn seal_publish<'py>(
        &self,
        py: Python<'py>,
        channel: &str,
        message: &Bound<'py, PyAny>,
        qos: u8,
        retain: bool,
        priority: u8,
        ttl: u16,
        packet_id: Option<u32>,
        session_id: Option<u32>,
        timestamp_ms: Option<u64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let q = self::qos(py, qos)?;
        // Text (v1 messages are text) or bytes.
        let text: Vec<u8>;
        let message: &[u8] = match message.cast::<pyo3::types::PyString>() {
            Ok(t) => {
                text = t.to_cow()?.into_owned().into_bytes();
                &text
            }
            Err(_) => message.extract()?,
        };
        let mut rng = self.random.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let timestamp_ms = timestamp_ms.unwrap_or_else(now_ms);
        let mut iv = [0u8; 16];
        rng.fill(&mut iv);
        let header = Header {
            kind: PacketType::Publish,
            flags: Flags::publish(q, retain, priority),
            packet_id: packet_id.unwrap_or_else(|| rng.next_u32()),
            session_id: session_id.unwrap_or_else(|| rng.next_u32()),
            ttl,
            timestamp_ms,
            channel: self.channel(channel),
            iv,
        };
        let body =
            Body::publish(self.codec.version(), timestamp_ms, rng.next_u32(), message, InnerLayout::Standard)
                .map_err(|e| errors::proto(py, e.into()))?;
        self.seal_header(py, &header, &body)
    }

    /// Any packet from raw parts: `kind` 1..8 (v1 §3), the flags byte, a 16-byte channel id
    /// and the exact plaintext `body` (empty for v2 ACK-family and HEARTBEAT packets).
    #[pyo3(signature = (kind, channel_id, body = b"".as_slice(), flags = 0, packet_id = 0,
                        session_id = 0, ttl = 3600, timestamp_ms = None, iv = None))]
    #[allow(clippy::too_many_arguments)]
    fn seal<'py>(
        &self,
        py: Python<'py>,
        kind: u8,
        channel_id: &[u8],
        body: &[u8],
        flags: u8,
        packet_id: u32,
        session_id: u32,
        ttl: u16,
        timestamp_ms: Option<u64>,
        iv: Option<&[u8]>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let kind = PacketType::from_byte(kind).map_err(|e| errors::proto(py, e.into()))?;
        let channel: [u8; 16] = channel_id.try_into().map_err(|_| {
            errors::raise(
                py,
                ErrorKind::InvalidArgument,
                format!("channel_id must be 16 bytes, got {}", channel_id.len()),
            )
        })?;
        let iv: [u8; 16] = match iv {
            Some(iv) => iv.try_into().map_err(|_| {
                errors::raise(
                    py,
                    ErrorKind::InvalidArgument,
                    format!("iv must be 16 bytes, got {}", iv.len()),
                )
            })?,
            None => {
                let mut iv = [0u8; 16];
                self.random.lock().unwrap_or_else(std::sync::PoisonError::into_inner).fill(&mut iv);
                iv
            }
        };
        let header = Header {
            kind,
            flags: Flags(flags),
            packet_id,
            session_id,
            ttl,
            timestamp_ms: timestamp_ms.unwrap_or_else(now_ms),
            channel: nomq::proto::frame::ChannelId(channel),
            iv,
        };
        let body = if body.is_empty() { Body::Empty } else { Body::Bytes(body) };
        self.seal_header(py, &header, &body)
    }

    /// Verifies (tag first, constant time), checks the timestamp against `now_ms` (default:
    /// now) and decrypts. Raises `AuthenticationError` for wrong keys or tampering,
    /// `StaleError` outside the window, `FrameError` for malformed bytes.
    #[pyo3(signature = (datagram, now_ms = None))]
    fn open(&self, py: Python<'_>, datagram: &[u8], now_ms: Option<u64>) -> PyResult<Packet> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(errors::raise(
                py,
                ErrorKind::Malformed,
                format!("datagram of {} bytes", datagram.len()),
            ));
        }
        // Most datagrams fit the v1 receive size (2048 bytes): no heap buffer for them, and
        // short ones (sensor readings) not even a 2 KiB buffer to zero.
        let mut tiny = [0u8; 256];
        let mut small_buf;
        let mut large = Vec::new();
        let plain: &mut [u8] = if datagram.len() <= tiny.len() {
            &mut tiny[..]
        } else if datagram.len() <= 2048 {
            small_buf = [0u8; 2048];
            &mut small_buf[..]
        } else {
            large.resize(datagram.len(), 0);
            &mut large
        };
        let opened = self
            .codec
            .open(datagram, now_ms.unwrap_or_else(now_ms_fn), plain)
            .map_err(|e| errors::proto(py, e))?;
        let h = opened.header;
        let (payload, is_text) = match (h.kind, self.codec.version()) {
            (PacketType::Publish, Version::V1) => {
                let p = opened.v1_publish().map_err(|e| errors::proto(py, e.into()))?;
                (p.text.as_bytes(), true)
            }
            _ => (opened.plaintext, false),
        };
        Ok(Packet {
            kind: h.kind as u8,
            flags: h.flags.bits(),
            qos: h.flags.qos().map(|q| q as u8),
            retain: h.flags.retain(),
            priority: h.flags.priority(),
            packet_id: h.packet_id,
            session_id: h.session_id,
            ttl: h.ttl,
            timestamp_ms: h.timestamp_ms,
            channel: *h.channel.as_bytes(),
            iv_bytes: h.iv,
            payload: PyBytes::new(py, payload).unbind(),
            is_text,
        })
    }
}

fn now_ms_fn() -> u64 {
    now_ms()
}

impl Codec {
    /// The channel id of `name`, from a small cache (a SHA-256 or HMAC per packet otherwise).
    fn channel(&self, name: &str) -> nomq::proto::frame::ChannelId {
        let mut cache = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.get_or_insert_with(name, |name| self.codec.channel_id(name))
    }

    fn seal_header<'py>(
        &self,
        py: Python<'py>,
        header: &Header,
        body: &Body<'_>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let len = self.codec.sealed_len(header.kind, body.len());
        if len > MAX_DATAGRAM {
            return Err(errors::proto(py, nomq::proto::error::InvalidInput::PayloadTooLarge.into()));
        }
        PyBytes::new_with(py, len, |out| {
            self.codec.seal(header, body, out).map(drop).map_err(|e| errors::proto(py, e))
        })
    }
}

/// An opened packet. The byte fields are made on access: most readers want the payload only.
#[pyclass(frozen, module = "nomq._nomq")]
pub(crate) struct Packet {
    /// Packet type 1..8 (1 PUBLISH, 2 SUBSCRIBE, 3 ACK, 4 UNSUBSCRIBE, 5 HEARTBEAT, 6 PUBREC,
    /// 7 PUBREL, 8 PUBCOMP).
    #[pyo3(get)]
    kind: u8,
    #[pyo3(get)]
    flags: u8,
    #[pyo3(get)]
    qos: Option<u8>,
    #[pyo3(get)]
    retain: bool,
    #[pyo3(get)]
    priority: u8,
    #[pyo3(get)]
    packet_id: u32,
    #[pyo3(get)]
    session_id: u32,
    #[pyo3(get)]
    ttl: u16,
    #[pyo3(get)]
    timestamp_ms: u64,
    /// The message (v1 PUBLISH: the text's bytes) or the plaintext.
    #[pyo3(get)]
    payload: Py<PyBytes>,
    channel: [u8; 16],
    iv_bytes: [u8; 16],
    is_text: bool,
}

#[pymethods]
impl Packet {
    /// The 16-byte channel id.
    #[getter]
    fn channel_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.channel)
    }

    /// The 16-byte IV.
    #[getter]
    fn iv<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.iv_bytes)
    }

    /// v1 PUBLISH: the message text; otherwise None.
    #[getter]
    fn text(&self, py: Python<'_>) -> Option<String> {
        self.is_text.then(|| String::from_utf8_lossy(self.payload.as_bytes(py)).into_owned())
    }

    fn __repr__(&self) -> String {
        format!(
            "Packet(kind={}, packet_id={}, flags={:#04x}, ttl={})",
            self.kind, self.packet_id, self.flags, self.ttl
        )
    }
}

/// The v1 channel id of `name` (SHA-256 prefix, v1 §2).
#[pyfunction]
pub fn channel_id<'py>(py: Python<'py>, name: &str) -> Bound<'py, PyBytes> {
    PyBytes::new(py, nomq::proto::frame::ChannelId::v1(name).as_bytes())
}

/// The JSON text inside a config file's text (v1 §19); raises `ConfigError` when the file is
/// not a valid config (bad base64, padding, JSON, or missing keys).
#[pyfunction]
pub fn config_json_from_text<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyBytes>> {
    nomq::Config::from_file_text(text).map_err(|e| errors::proto(py, e.into()))?;
    let json = nomq::proto::config::open_config_file(text).map_err(|e| errors::proto(py, e.into()))?;
    Ok(PyBytes::new(py, &json))
}

/// The config file text for `json` (validated first), with a fresh random IV.
#[pyfunction]
pub fn config_text_from_json(py: Python<'_>, json: &[u8]) -> PyResult<String> {
    nomq::Config::from_json(json).map_err(|e| errors::proto(py, e.into()))?;
    let mut iv = [0u8; 16];
    OsRandom.fill(&mut iv);
    Ok(nomq::proto::config::seal_config_json(json, &iv))
}

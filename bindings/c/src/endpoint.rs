//! The sans-IO NoMQ endpoint from C (`nomq_proto::endpoint`): the application owns the UDP
//! socket, the buffers and two clocks, both in milliseconds:
//!
//! - `now_unix_ms`, the wall clock (Unix time, `CLOCK_REALTIME`, set by SNTP): sealed into
//!   every packet and checked against received ones (±30 s by default);
//! - `now_mono_ms`, a monotonic clock (`CLOCK_MONOTONIC`, `esp_timer_get_time`), from any
//!   origin: every timer runs on it, so a step of the wall clock moves none.
//!
//! The loop:
//!
//! 1. on a datagram: `nomq_endpoint_handle_datagram(now_unix_ms, now_mono_ms, from, bytes)`;
//! 2. send everything `nomq_endpoint_poll_transmit(now_unix_ms, ...)` gives until it reports
//!    length 0;
//! 3. read every event with `nomq_endpoint_poll_event` until its kind is NONE;
//! 4. sleep until the monotonic clock reaches `nomq_endpoint_poll_timeout()` (or the next
//!    datagram), then `nomq_endpoint_handle_timeout(now_mono_ms)`.

use alloc::boxed::Box;
use core::ffi::{c_char, c_void};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use nomq_handle::EndpointHandle;
pub use nomq_handle::endpoint::{
    EndpointEventKind as nomq_endpoint_event_kind, EndpointOutcome as nomq_publish_outcome,
};
use nomq_handle::endpoint::{EndpointSpilled, FlatEndpointEvent};
pub use nomq_proto::endpoint::Stats as nomq_endpoint_stats;
use nomq_proto::endpoint::{EndpointConfig, PublishOptions, Random};
use nomq_proto::frame::Qos;
use nomq_proto::{Keys, MonoMillis, Now, UnixMillis};

use crate::guard::{self, guard};
use crate::result::nomq_result;

/// An IPv4 or IPv6 address and port.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct nomq_addr {
    /// 4 or 6.
    pub family: u8,
    /// Port, host byte order.
    pub port: u16,
    /// The address in network order: IPv4 in the first 4 bytes, IPv6 in all 16.
    pub ip: [u8; 16],
}

impl nomq_addr {
    pub(crate) fn to_socket_addr(self) -> Result<SocketAddr, nomq_result> {
        let ip = match self.family {
            4 => IpAddr::V4(Ipv4Addr::new(self.ip[0], self.ip[1], self.ip[2], self.ip[3])),
            6 => IpAddr::V6(Ipv6Addr::from(self.ip)),
            _ => return Err(nomq_result::InvalidArgument),
        };
        Ok(SocketAddr::new(ip, self.port))
    }

    pub(crate) fn from_socket_addr(a: SocketAddr) -> Self {
        let mut ip = [0u8; 16];
        let family = match a.ip() {
            IpAddr::V4(v4) => {
                ip[..4].copy_from_slice(&v4.octets());
                4
            }
            IpAddr::V6(v6) => {
                ip = v6.octets();
                6
            }
        };
        nomq_addr { family, port: a.port(), ip }
    }
}

/// Fills `buf` with `len` cryptographically secure random bytes (IVs, ids, nonces). On
/// ESP-IDF: `esp_fill_random`; on Linux: `getrandom`.
pub type nomq_random_fn = Option<unsafe extern "C" fn(ctx: *mut c_void, buf: *mut u8, len: usize)>;

/// The caller's `nomq_random_fn` as the core's random source.
pub(crate) struct CallbackRandom {
    fill: unsafe extern "C" fn(*mut c_void, *mut u8, usize),
    ctx: *mut c_void,
}

impl CallbackRandom {
    /// `NOMQ_RESULT_NULL_POINTER` without a function.
    pub(crate) fn new(fill: nomq_random_fn, ctx: *mut c_void) -> Result<Self, nomq_result> {
        Ok(CallbackRandom { fill: fill.ok_or(nomq_result::NullPointer)?, ctx })
    }
}

// SAFETY: the documented contract of `nomq_endpoint_new` and `nomq_mqtt_session_new`: the
// callback and its context may be called from whichever thread uses the object.
unsafe impl Send for CallbackRandom {}

impl Random for CallbackRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        // SAFETY: `dest` is valid for `dest.len()` bytes; the callback's contract is to fill it.
        unsafe { (self.fill)(self.ctx, dest.as_mut_ptr(), dest.len()) }
    }
}

/// One endpoint event. `channel` and `payload` point into the buffer given to
/// `nomq_endpoint_poll_event` and are valid until that buffer is reused.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nomq_endpoint_event {
    /// What happened.
    pub kind: nomq_endpoint_event_kind,
    /// PUBLISH_DONE: the id `nomq_endpoint_publish` returned.
    pub publish_id: u64,
    /// PUBLISH_DONE: how.
    pub outcome: nomq_publish_outcome,
    /// MESSAGE: the sender; PEER_*: the peer.
    pub peer: nomq_addr,
    /// MESSAGE: QoS it was published with.
    pub qos: u8,
    /// MESSAGE: retain flag.
    pub retain: bool,
    /// MESSAGE: priority 0..15.
    pub priority: u8,
    /// MESSAGE, PEER_ALIVE: the sender's session id.
    pub session_id: u32,
    /// MESSAGE: packet id.
    pub packet_id: u32,
    /// MESSAGE: the sender's timestamp, Unix milliseconds.
    pub timestamp_ms: u64,
    /// MESSAGE, DROPPED (retained): channel name, not NUL-terminated.
    pub channel: *const c_char,
    /// Length of `channel`.
    pub channel_len: usize,
    /// MESSAGE: the payload (v1: UTF-8 text).
    pub payload: *const u8,
    /// Length of `payload`.
    pub payload_len: usize,
    /// DROPPED: how many.
    pub dropped_count: u64,
}

impl Default for nomq_endpoint_event {
    fn default() -> Self {
        nomq_endpoint_event {
            kind: nomq_endpoint_event_kind::None,
            publish_id: 0,
            outcome: nomq_publish_outcome::Sent,
            peer: nomq_addr::default(),
            qos: 0,
            retain: false,
            priority: 0,
            session_id: 0,
            packet_id: 0,
            timestamp_ms: 0,
            channel: core::ptr::null(),
            channel_len: 0,
            payload: core::ptr::null(),
            payload_len: 0,
            dropped_count: 0,
        }
    }
}

/// A NoMQ node without I/O. Create with `nomq_endpoint_new`, free with
/// `nomq_endpoint_free`. Not thread-safe: use one endpoint from one thread at a time.
pub struct nomq_endpoint {
    handle: EndpointHandle,
}

impl core::fmt::Debug for nomq_endpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.handle.fmt(f)
    }
}

/// An endpoint's timers and table bounds; fill with `nomq_endpoint_config_init`, change what
/// you need, then `nomq_endpoint_new_with_config`. Every bound is a count; a full table
/// refuses and reports, never grows.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nomq_endpoint_config {
    /// 1 (the reference's wire format) or 2 (secure v2).
    pub version: u8,
    /// Timestamp acceptance window, plus or minus milliseconds (30 s).
    pub window_ms: u64,
    /// First retransmission delay (200 ms).
    pub initial_retry_ms: u64,
    /// Retransmission backoff cap, below `window_ms` (8 s).
    pub max_retry_ms: u64,
    /// Largest payload `publish` accepts and received messages may carry (v1 1919 bytes of
    /// text, v2 65402 bytes); it sizes the receive buffer, so firmware keeps it small.
    pub max_payload: usize,
    /// QoS 1/2 publishes awaiting confirmation (1024).
    pub max_pending: usize,
    /// Packet ids remembered for duplicate and replay suppression (16384).
    pub max_inbound: usize,
    /// Sender sessions tracked by the duplicate cache (1024).
    pub max_sessions: usize,
    /// Local channel subscriptions (256).
    pub max_subscriptions: usize,
    /// Retained messages kept per channel (5).
    pub max_retained_per_channel: usize,
    /// Channels with retained messages (64).
    pub max_retained_channels: usize,
    /// Peers tracked for liveness (1024).
    pub max_peers: usize,
    /// Undelivered events (4096).
    pub max_events: usize,
    /// Queued outgoing datagrams (4096).
    pub max_transmits: usize,
    /// A peer's heartbeat is answered at most once per interval (30 s).
    pub heartbeat_interval_ms: u64,
    /// A peer not heard from for this long is reported lost (90 s).
    pub peer_timeout_ms: u64,
    /// Payload bytes of undelivered messages (4 MiB); past it, new ones are refused unanswered
    /// and their senders retransmit.
    pub max_event_bytes: usize,
}

/// Fills `*config` with the defaults for `version` (1 or 2).
///
/// # Safety
/// `config` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_config_init(
    version: u8,
    config: *mut nomq_endpoint_config,
) -> nomq_result {
    guard(|| {
        let d = EndpointConfig::new(crate::framing::version(version)?);
        let c = nomq_endpoint_config {
            version,
            window_ms: d.window_ms,
            initial_retry_ms: d.initial_retry_ms,
            max_retry_ms: d.max_retry_ms,
            max_payload: d.max_payload,
            max_pending: d.max_pending,
            max_inbound: d.max_inbound,
            max_sessions: d.max_sessions,
            max_subscriptions: d.max_subscriptions,
            max_retained_per_channel: d.max_retained_per_channel,
            max_retained_channels: d.max_retained_channels,
            max_peers: d.max_peers,
            max_events: d.max_events,
            max_transmits: d.max_transmits,
            heartbeat_interval_ms: d.heartbeat_interval_ms,
            peer_timeout_ms: d.peer_timeout_ms,
            max_event_bytes: d.max_event_bytes,
        };
        // SAFETY: per the contract above.
        unsafe { guard::write(config, c) }
    })
}

/// Creates an endpoint with the defaults for `version` (1: the reference's wire format, 2:
/// secure v2) under the two 32-byte keys (copied): `nomq_endpoint_new_with_config` with
/// `nomq_endpoint_config_init`'s values.
///
/// # Safety
/// As `nomq_endpoint_new_with_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_new(
    version: u8,
    encryption_key: *const u8,
    trailer_key: *const u8,
    random: nomq_random_fn,
    random_ctx: *mut c_void,
    now_mono_ms: u64,
    out: *mut *mut nomq_endpoint,
) -> nomq_result {
    guard(|| {
        let config = EndpointConfig::new(crate::framing::version(version)?);
        // SAFETY: forwarded contract.
        unsafe { new_endpoint(config, encryption_key, trailer_key, random, random_ctx, now_mono_ms, out) }
    })
}

/// Creates an endpoint from `*config` (copied) under the two 32-byte keys (copied). `random`
/// supplies IVs and ids and is called with `random_ctx` from whichever thread uses the
/// endpoint; `now_mono_ms` is the monotonic clock. `NOMQ_RESULT_INVALID_ARGUMENT` for a zero
/// bound, a payload limit over the version's, or timers out of range (the core's
/// `EndpointConfig::validate`). Writes the endpoint to `*out` on success.
///
/// # Safety
/// `config` readable; keys readable for 32 bytes each; `random` non-NULL and valid for the
/// endpoint's life, with `random_ctx`; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_new_with_config(
    config: *const nomq_endpoint_config,
    encryption_key: *const u8,
    trailer_key: *const u8,
    random: nomq_random_fn,
    random_ctx: *mut c_void,
    now_mono_ms: u64,
    out: *mut *mut nomq_endpoint,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let c = unsafe { config.as_ref() }.ok_or(nomq_result::NullPointer)?;
        let mut e = EndpointConfig::new(crate::framing::version(c.version)?);
        e.window_ms = c.window_ms;
        e.initial_retry_ms = c.initial_retry_ms;
        e.max_retry_ms = c.max_retry_ms;
        e.max_payload = c.max_payload;
        e.max_pending = c.max_pending;
        e.max_inbound = c.max_inbound;
        e.max_sessions = c.max_sessions;
        e.max_subscriptions = c.max_subscriptions;
        e.max_retained_per_channel = c.max_retained_per_channel;
        e.max_retained_channels = c.max_retained_channels;
        e.max_peers = c.max_peers;
        e.max_events = c.max_events;
        e.max_event_bytes = c.max_event_bytes;
        e.max_transmits = c.max_transmits;
        e.heartbeat_interval_ms = c.heartbeat_interval_ms;
        e.peer_timeout_ms = c.peer_timeout_ms;
        // SAFETY: forwarded contract.
        unsafe { new_endpoint(e, encryption_key, trailer_key, random, random_ctx, now_mono_ms, out) }
    })
}

/// # Safety
/// As `nomq_endpoint_new_with_config`.
unsafe fn new_endpoint(
    config: EndpointConfig,
    encryption_key: *const u8,
    trailer_key: *const u8,
    random: nomq_random_fn,
    random_ctx: *mut c_void,
    now_mono_ms: u64,
    out: *mut *mut nomq_endpoint,
) -> Result<(), nomq_result> {
    // SAFETY: the caller passes two 32-byte keys.
    let keys = unsafe { Keys::new(guard::key(encryption_key)?, guard::key(trailer_key)?) };
    let rng = Box::new(CallbackRandom::new(random, random_ctx)?);
    if out.is_null() {
        return Err(nomq_result::NullPointer);
    }
    let handle = EndpointHandle::new(config, &keys, rng, MonoMillis(now_mono_ms))?;
    let ep = nomq_endpoint { handle };
    // SAFETY: `out` is non-NULL and writable per the contract.
    unsafe { out.write(Box::into_raw(Box::new(ep))) };
    Ok(())
}

/// Frees an endpoint (pending publishes are abandoned). NULL is ignored.
///
/// # Safety
/// `endpoint` comes from `nomq_endpoint_new` and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_free(endpoint: *mut nomq_endpoint) {
    // SAFETY: per the contract above.
    unsafe { guard::free(endpoint) }
}

/// Delivers messages of `channel` (UTF-8, `channel_len` bytes). `NOMQ_RESULT_FULL` when the
/// subscription table is full.
///
/// # Safety
/// `endpoint` live; `channel` readable for `channel_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_subscribe(
    endpoint: *mut nomq_endpoint,
    channel: *const c_char,
    channel_len: usize,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let (ep, name) = unsafe { (guard::object(endpoint)?, guard::text(channel, channel_len)?) };
        let c = ep.handle.channel(name);
        Ok(ep.handle.endpoint_mut().subscribe(&c)?)
    })
}

/// Stops delivering `channel` (a channel that was not subscribed is not an error).
///
/// # Safety
/// As `nomq_endpoint_subscribe`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_unsubscribe(
    endpoint: *mut nomq_endpoint,
    channel: *const c_char,
    channel_len: usize,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let (ep, name) = unsafe { (guard::object(endpoint)?, guard::text(channel, channel_len)?) };
        let c = ep.handle.channel(name);
        ep.handle.endpoint_mut().unsubscribe(&c);
        Ok(())
    })
}

/// Queues a publish of `payload` on `channel` to `*to` (unicast, broadcast or multicast) and
/// writes its id to `*publish_id`; a PUBLISH_DONE event with that id follows (sent for QoS 0,
/// confirmed or expired for QoS 1/2). QoS 1/2 publishes are retransmitted until confirmed or
/// until `ttl` seconds pass on the monotonic clock (`now_mono_ms` starts both). v1 payloads
/// must be UTF-8 text.
///
/// # Safety
/// `endpoint` live; `to` readable; `channel` and `payload` readable for their lengths;
/// `publish_id` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_publish(
    endpoint: *mut nomq_endpoint,
    now_mono_ms: u64,
    to: *const nomq_addr,
    channel: *const c_char,
    channel_len: usize,
    payload: *const u8,
    payload_len: usize,
    qos: u8,
    retain: bool,
    priority: u8,
    ttl: u16,
    publish_id: *mut u64,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let (ep, to, name, payload) = unsafe {
            (
                guard::object(endpoint)?,
                to.as_ref().ok_or(nomq_result::NullPointer)?,
                guard::text(channel, channel_len)?,
                guard::bytes(payload, payload_len)?,
            )
        };
        if publish_id.is_null() {
            return Err(nomq_result::NullPointer);
        }
        let qos = Qos::from_u8(qos).ok_or(nomq_result::InvalidArgument)?;
        let c = ep.handle.channel(name);
        let options = PublishOptions { qos, retain, priority, ttl };
        let id = ep.handle.endpoint_mut().publish(
            MonoMillis(now_mono_ms),
            to.to_socket_addr()?,
            &c,
            payload,
            options,
        )?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { publish_id.write(id.0) };
        Ok(())
    })
}

/// Queues a HEARTBEAT to `*to`.
///
/// # Safety
/// `endpoint` live; `to` readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_heartbeat(
    endpoint: *mut nomq_endpoint,
    to: *const nomq_addr,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let (ep, to) = unsafe { (guard::object(endpoint)?, to.as_ref().ok_or(nomq_result::NullPointer)?) };
        Ok(ep.handle.endpoint_mut().heartbeat(to.to_socket_addr()?)?)
    })
}

/// Feeds a received datagram. Its timestamp is checked against `now_unix_ms` (the wall
/// clock); `now_mono_ms` (the monotonic clock) dates what it updates. Bad datagrams (wrong keys,
/// replays, stale timestamps, garbage) are counted and dropped; they are never an error of this
/// call.
///
/// # Safety
/// `endpoint` live; `from` readable; `datagram` readable for `datagram_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_handle_datagram(
    endpoint: *mut nomq_endpoint,
    now_unix_ms: u64,
    now_mono_ms: u64,
    from: *const nomq_addr,
    datagram: *const u8,
    datagram_len: usize,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let (ep, from, data) = unsafe {
            (
                guard::object(endpoint)?,
                from.as_ref().ok_or(nomq_result::NullPointer)?,
                guard::bytes(datagram, datagram_len)?,
            )
        };
        let now = Now::new(UnixMillis(now_unix_ms), MonoMillis(now_mono_ms));
        ep.handle.endpoint_mut().handle_datagram(now, from.to_socket_addr()?, data);
        Ok(())
    })
}

/// Writes the next datagram to send into `buf` (`buf_cap` bytes), its destination to `*to`
/// and its length to `*len`; `*len` is 0 when nothing is waiting. A buffer of
/// `nomq_endpoint_max_datagram_len()` bytes always suffices; with a smaller one the datagram
/// stays queued and the result is `NOMQ_RESULT_BUFFER_TOO_SMALL`. The datagram is sealed with
/// `now_unix_ms` (the wall clock) as its timestamp: send it right away.
///
/// # Safety
/// `endpoint` live; `buf` writable for `buf_cap` bytes; `to` and `len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_poll_transmit(
    endpoint: *mut nomq_endpoint,
    now_unix_ms: u64,
    buf: *mut u8,
    buf_cap: usize,
    to: *mut nomq_addr,
    len: *mut usize,
) -> nomq_result {
    guard(|| {
        if to.is_null() || len.is_null() {
            return Err(nomq_result::NullPointer);
        }
        // SAFETY: per the contract above.
        let (ep, buf) = unsafe { (guard::object(endpoint)?, guard::buffer(buf, buf_cap)?) };
        let (addr, n) = match ep.handle.endpoint_mut().poll_transmit(UnixMillis(now_unix_ms), buf)? {
            Some(t) => (nomq_addr::from_socket_addr(t.to), t.len),
            None => (nomq_addr::default(), 0),
        };
        // SAFETY: both checked non-NULL above; writable per the contract.
        unsafe {
            to.write(addr);
            len.write(n);
        }
        Ok(())
    })
}

/// The largest datagram `nomq_endpoint_poll_transmit` can produce (0 for NULL).
///
/// # Safety
/// `endpoint` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_max_datagram_len(endpoint: *const nomq_endpoint) -> usize {
    guard::guard_or(0, || {
        // SAFETY: per the contract above.
        unsafe { guard::object_ref(endpoint) }.map_or(0, |ep| ep.handle.endpoint().max_datagram_len())
    })
}

/// When `nomq_endpoint_handle_timeout` is next due, on the monotonic clock (`now_mono_ms`);
/// `UINT64_MAX` when no timer is armed (or for NULL). Read it again after every other call.
///
/// # Safety
/// `endpoint` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_poll_timeout(endpoint: *const nomq_endpoint) -> u64 {
    guard::guard_or(u64::MAX, || {
        // SAFETY: per the contract above.
        unsafe { guard::object_ref(endpoint) }
            .ok()
            .and_then(|ep| ep.handle.endpoint().poll_timeout())
            .map_or(u64::MAX, |t| t.0)
    })
}

/// Runs the timers due at `now_mono_ms` (the monotonic clock): retransmissions, expiries, peer
/// liveness.
///
/// # Safety
/// `endpoint` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_handle_timeout(
    endpoint: *mut nomq_endpoint,
    now_mono_ms: u64,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        unsafe { guard::object(endpoint) }?.handle.endpoint_mut().handle_timeout(MonoMillis(now_mono_ms));
        Ok(())
    })
}

/// Takes the next event into `*event`; `event->kind` is NONE when none is waiting. A
/// message's channel and payload are copied into `buf` (`buf_cap` bytes) and `event` points
/// there (NULL for an empty part). When they do not fit: `NOMQ_RESULT_BUFFER_TOO_SMALL`, the
/// event stays queued, and `*event` carries only its kind, `channel_len` and `payload_len`:
/// call again with a buffer of at least their sum.
///
/// # Safety
/// `endpoint` live; `event` writable; `buf` writable for `buf_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_poll_event(
    endpoint: *mut nomq_endpoint,
    event: *mut nomq_endpoint_event,
    buf: *mut u8,
    buf_cap: usize,
) -> nomq_result {
    // SAFETY: forwarded contract.
    guard(|| unsafe { poll_event_with(endpoint, event, buf, buf_cap, EndpointHandle::poll_event) })
}

/// As `nomq_endpoint_poll_event`, skipping MESSAGE events, which stay queued in order: for an
/// application whose own message buffer is full, so that PUBLISH_DONE and peer events do not
/// wait behind messages it cannot take yet.
///
/// # Safety
/// As `nomq_endpoint_poll_event`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_poll_event_except_messages(
    endpoint: *mut nomq_endpoint,
    event: *mut nomq_endpoint_event,
    buf: *mut u8,
    buf_cap: usize,
) -> nomq_result {
    // SAFETY: forwarded contract.
    guard(|| unsafe {
        poll_event_with(endpoint, event, buf, buf_cap, EndpointHandle::poll_event_except_messages)
    })
}

/// The two poll_event exports, run inside their guard: `take` picks the event from the handle.
///
/// # Safety
/// As `nomq_endpoint_poll_event`.
unsafe fn poll_event_with(
    endpoint: *mut nomq_endpoint,
    event: *mut nomq_endpoint_event,
    buf: *mut u8,
    buf_cap: usize,
    take: for<'b> fn(
        &mut EndpointHandle,
        &'b mut [u8],
    ) -> Result<Option<FlatEndpointEvent<'b>>, EndpointSpilled>,
) -> Result<(), nomq_result> {
    if event.is_null() {
        return Err(nomq_result::NullPointer);
    }
    // SAFETY: per the contract above.
    let (ep, buf) = unsafe { (guard::object(endpoint)?, guard::buffer(buf, buf_cap)?) };
    let e = match take(&mut ep.handle, buf) {
        Ok(Some(f)) => nomq_endpoint_event {
            kind: f.kind,
            publish_id: f.publish_id,
            outcome: f.outcome,
            peer: f.peer.map(nomq_addr::from_socket_addr).unwrap_or_default(),
            qos: f.qos,
            retain: f.retain,
            priority: f.priority,
            session_id: f.session_id,
            packet_id: f.packet_id,
            timestamp_ms: f.timestamp_ms,
            channel: pointer(f.channel).cast(),
            channel_len: f.channel.len(),
            payload: pointer(f.payload),
            payload_len: f.payload.len(),
            dropped_count: f.dropped_count,
        },
        Ok(None) => nomq_endpoint_event::default(),
        Err(spilled) => {
            // The caller learns the lengths to make room for; the event stays queued.
            let e = nomq_endpoint_event {
                kind: spilled.kind,
                channel_len: spilled.channel_len,
                payload_len: spilled.payload_len,
                ..nomq_endpoint_event::default()
            };
            // SAFETY: checked non-NULL; writable per the contract.
            unsafe { event.write(e) };
            return Err(nomq_result::BufferTooSmall);
        }
    };
    // SAFETY: checked non-NULL; writable per the contract.
    unsafe { event.write(e) };
    Ok(())
}

/// NULL for an empty part (it might not point into the caller's buffer).
pub(crate) fn pointer(part: &[u8]) -> *const u8 {
    if part.is_empty() { core::ptr::null() } else { part.as_ptr() }
}

/// Copies the endpoint's counters (datagrams in and out, refusals by reason, duplicates,
/// deliveries, retransmissions, confirmations, expiries...) to `*out`.
///
/// # Safety
/// `endpoint` live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_endpoint_get_stats(
    endpoint: *const nomq_endpoint,
    out: *mut nomq_endpoint_stats,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let stats = unsafe { guard::object_ref(endpoint) }?.handle.endpoint().stats();
        // SAFETY: per the contract above.
        unsafe { guard::write(out, stats) }
    })
}

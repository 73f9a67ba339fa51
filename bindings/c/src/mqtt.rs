//! The sans-IO MQTT 3.1.1/5.0 client session from C (`nomq_proto::mqtt::Session`): the
//! application owns the TCP (or TLS) connection, a monotonic clock and a random source; the
//! session owns the policy (when to connect, the connect deadline, keep alive, reconnect
//! backoff with jitter). The loop:
//!
//! 1. `nomq_mqtt_session_start(now)` once;
//! 2. read every event with `nomq_mqtt_session_poll_event` until its kind is NONE. On
//!    OPEN_TRANSPORT open a socket to the broker, then call `nomq_mqtt_session_connect(now)`,
//!    or `nomq_mqtt_session_connection_lost(now)` if it cannot be opened; on DISCONNECTED close
//!    the socket (the session schedules the next attempt itself);
//! 3. write what `nomq_mqtt_session_poll_transmit` gives (or borrow it with
//!    `nomq_mqtt_session_transmit` and report `nomq_mqtt_session_transmitted`);
//! 4. feed what the socket reads to `nomq_mqtt_session_handle_bytes`; when the socket fails or
//!    closes, `nomq_mqtt_session_connection_lost(now)`;
//! 5. call `nomq_mqtt_session_handle_timeout` at `nomq_mqtt_session_poll_timeout()`, then go
//!    back to 2. QoS 1/2 messages not yet acknowledged are resent after a reconnect (MQTT 5.0
//!    §4.4).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use core::ffi::{c_char, c_void};

use nomq_handle::SessionHandle;
pub use nomq_handle::session::{
    DisconnectReason as nomq_mqtt_disconnect, MqttEventKind as nomq_mqtt_event_kind,
    MqttOutcome as nomq_mqtt_outcome,
};
use nomq_proto::frame::Qos;
use nomq_proto::mqtt::codec::SubscriptionOptions;
pub use nomq_proto::mqtt::session::Metrics as nomq_mqtt_metrics;
use nomq_proto::mqtt::session::{LastWill, Message, OutboxPolicy, ReconnectPolicy, SessionConfig, State};
use nomq_proto::mqtt::{ProtocolVersion, ReasonCode};

use crate::endpoint::{CallbackRandom, nomq_random_fn, pointer};
use crate::guard::{self, guard};
use crate::result::nomq_result;

/// Session settings; fill with `nomq_mqtt_config_init`, then change what you need. Strings
/// are NUL-terminated UTF-8 and are copied by `nomq_mqtt_session_new`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nomq_mqtt_config {
    /// 4 (MQTT 3.1.1) or 5.
    pub version: u8,
    /// Client identifier; NULL or "" asks the server to assign one.
    pub client_id: *const c_char,
    /// Start a new session (true) or resume the stored one.
    pub clean_start: bool,
    /// Keep alive in seconds (0 disables it).
    pub keep_alive: u16,
    /// User name, or NULL.
    pub username: *const c_char,
    /// Password bytes, or NULL.
    pub password: *const u8,
    /// Length of `password`.
    pub password_len: usize,
    /// MQTT 5.0: seconds the server keeps the session after the connection closes.
    pub session_expiry: u32,
    /// QoS 1/2 publishes unacknowledged at once.
    pub max_inflight: u16,
    /// Messages waiting to be sent, at most.
    pub max_outbox_messages: usize,
    /// Bytes waiting to be sent, at most.
    pub max_outbox_bytes: usize,
    /// Largest packet accepted from the server (bytes, at least 128); a larger one ends the
    /// connection (reason 0x95). Bounds the memory a broker or publisher can make us use; an
    /// event buffer of `max_packet_size` plus 65,535 bytes (the longest topic, which a topic
    /// alias lets the server omit from the packet) always suffices.
    pub max_packet_size: u32,
    /// When the outbox is full: false refuses the new publish (`NOMQ_RESULT_FULL`), true
    /// drops the oldest queued message (a DROPPED event reports it).
    pub drop_oldest: bool,
    /// Will topic, or NULL for no will.
    pub will_topic: *const c_char,
    /// Will payload.
    pub will_payload: *const u8,
    /// Length of `will_payload`.
    pub will_payload_len: usize,
    /// Will QoS.
    pub will_qos: u8,
    /// Will retain flag.
    pub will_retain: bool,
    /// From OPEN_TRANSPORT to CONNACK (socket, TLS and MQTT handshakes), in milliseconds.
    pub connect_timeout_ms: u64,
    /// Reconnect after a connection ends (the application's own disconnect aside).
    pub reconnect: bool,
    /// First reconnect backoff ceiling, in milliseconds; each attempt draws a delay between 0
    /// and the ceiling, which doubles per attempt up to `reconnect_max_ms`.
    pub reconnect_initial_ms: u64,
    /// Largest reconnect backoff ceiling, in milliseconds.
    pub reconnect_max_ms: u64,
    /// A connection that stayed up this long (from CONNACK) starts the backoff again from
    /// `reconnect_initial_ms` when it ends, in milliseconds.
    pub reconnect_stable_ms: u64,
    /// MQTT 5.0 enhanced authentication (§4.12): the method named in CONNECT, or NULL. The
    /// server's challenges arrive as AUTH_CHALLENGE events, answered with
    /// `nomq_mqtt_session_auth`.
    pub auth_method: *const c_char,
    /// Initial authentication data sent with CONNECT, or NULL.
    pub auth_data: *const u8,
    /// Length of `auth_data`.
    pub auth_data_len: usize,
}

/// Fills `*config` with the defaults: MQTT 3.1.1, clean start, keep alive 60 s, inflight 20,
/// outbox of 1000 messages or 1 MiB refusing when full, packets up to 64 KiB, no credentials,
/// no will, connect deadline 10 s, reconnect backoff 100 ms doubling to 30 s and reset after a
/// connection stayed up 10 s, no enhanced authentication.
///
/// # Safety
/// `config` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_config_init(config: *mut nomq_mqtt_config) -> nomq_result {
    guard(|| {
        let defaults = SessionConfig::new(ProtocolVersion::V311, "");
        let c = nomq_mqtt_config {
            version: 4,
            client_id: core::ptr::null(),
            clean_start: true,
            keep_alive: 60,
            username: core::ptr::null(),
            password: core::ptr::null(),
            password_len: 0,
            session_expiry: 0,
            max_inflight: 20,
            max_outbox_messages: 1000,
            max_outbox_bytes: 1 << 20,
            max_packet_size: 64 * 1024,
            drop_oldest: false,
            will_topic: core::ptr::null(),
            will_payload: core::ptr::null(),
            will_payload_len: 0,
            will_qos: 0,
            will_retain: false,
            connect_timeout_ms: defaults.connect_timeout_ms,
            reconnect: defaults.reconnect.enabled,
            reconnect_initial_ms: defaults.reconnect.initial_ms,
            reconnect_max_ms: defaults.reconnect.max_ms,
            reconnect_stable_ms: defaults.reconnect.stable_ms,
            auth_method: core::ptr::null(),
            auth_data: core::ptr::null(),
            auth_data_len: 0,
        };
        // SAFETY: per the contract above.
        unsafe { guard::write(config, c) }
    })
}

/// A client session without I/O. Not thread-safe: one thread at a time.
pub struct nomq_mqtt_session {
    handle: SessionHandle,
}

impl core::fmt::Debug for nomq_mqtt_session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.handle.fmt(f)
    }
}

/// Creates a session from `*config` (copied) and writes it to `*out`. `random` draws the
/// reconnect jitter and is called with `random_ctx` from whichever thread uses the session.
///
/// # Safety
/// `config` readable, its strings NUL-terminated or NULL, its byte pointers readable for
/// their lengths; `random` non-NULL and valid for the session's life, with `random_ctx`;
/// `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_new(
    config: *const nomq_mqtt_config,
    random: nomq_random_fn,
    random_ctx: *mut c_void,
    out: *mut *mut nomq_mqtt_session,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let c = unsafe { config.as_ref() }.ok_or(nomq_result::NullPointer)?;
        let random = CallbackRandom::new(random, random_ctx)?;
        if out.is_null() {
            return Err(nomq_result::NullPointer);
        }
        let version = ProtocolVersion::from_level(c.version).ok_or(nomq_result::InvalidArgument)?;
        // SAFETY: per the contract above (NUL-terminated or NULL).
        let client_id = unsafe { guard::c_string(c.client_id) }?.unwrap_or("");
        let mut s = SessionConfig::new(version, client_id);
        s.clean_start = c.clean_start;
        s.keep_alive = c.keep_alive;
        // SAFETY: per the contract above.
        s.username = unsafe { guard::c_string(c.username) }?.map(String::from);
        if !c.password.is_null() {
            // SAFETY: per the contract above.
            s.password = Some(unsafe { guard::bytes(c.password, c.password_len) }?.to_vec());
        }
        s.session_expiry_interval = c.session_expiry;
        s.max_inflight = c.max_inflight;
        s.max_outbox_messages = c.max_outbox_messages;
        s.max_outbox_bytes = c.max_outbox_bytes;
        s.maximum_packet_size = c.max_packet_size;
        s.outbox_policy = if c.drop_oldest { OutboxPolicy::DropOldest } else { OutboxPolicy::Fail };
        // SAFETY: per the contract above.
        if let Some(topic) = unsafe { guard::c_string(c.will_topic) }? {
            // SAFETY: per the contract above.
            let payload = unsafe { guard::bytes(c.will_payload, c.will_payload_len) }?;
            let qos = Qos::from_u8(c.will_qos).ok_or(nomq_result::InvalidArgument)?;
            s.will = Some(LastWill {
                message: Message::new(topic, payload.to_vec(), qos, c.will_retain),
                delay_interval: None,
            });
        }
        s.connect_timeout_ms = c.connect_timeout_ms;
        s.reconnect = ReconnectPolicy {
            enabled: c.reconnect,
            initial_ms: c.reconnect_initial_ms,
            max_ms: c.reconnect_max_ms,
            stable_ms: c.reconnect_stable_ms,
        };
        // SAFETY: per the contract above (NUL-terminated or NULL).
        s.authentication_method = unsafe { guard::c_string(c.auth_method) }?.map(String::from);
        if !c.auth_data.is_null() {
            // SAFETY: per the contract above.
            s.authentication_data = Some(unsafe { guard::bytes(c.auth_data, c.auth_data_len) }?.to_vec());
        }
        // Checked with the same rules, and the same error kind, as in every other binding.
        let session = nomq_mqtt_session { handle: SessionHandle::new(s, Box::new(random))? };
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { out.write(Box::into_raw(Box::new(session))) };
        Ok(())
    })
}

/// Frees a session. NULL is ignored.
///
/// # Safety
/// `session` comes from `nomq_mqtt_session_new` and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_free(session: *mut nomq_mqtt_session) {
    // SAFETY: per the contract above.
    unsafe { guard::free(session) }
}

macro_rules! session {
    ($ptr:expr) => {
        // SAFETY: every export documents that its session pointer is live or NULL.
        unsafe { guard::object($ptr) }?.handle.session_mut()
    };
}

/// Asks for a connection: an OPEN_TRANSPORT event follows at once, and again after every
/// loss per the reconnect settings, until `nomq_mqtt_session_disconnect`.
///
/// # Safety
/// `session` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_start(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
) -> nomq_result {
    guard(|| {
        session!(session).start(now_ms);
        Ok(())
    })
}

/// The transport asked for by OPEN_TRANSPORT is open: queues CONNECT.
///
/// # Safety
/// `session` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_connect(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
) -> nomq_result {
    guard(|| Ok(session!(session).connect(now_ms)?))
}

/// Feeds bytes read from the transport. Malformed or hostile bytes end the connection with
/// a DISCONNECTED event (protocol error), never a crash.
///
/// # Safety
/// `session` live; `data` readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_handle_bytes(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
    data: *const u8,
    len: usize,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let data = unsafe { guard::bytes(data, len) }?;
        session!(session).handle_bytes(now_ms, data);
        Ok(())
    })
}

/// Copies up to `buf_cap` pending bytes to `buf` (whole or partial packets: a byte stream)
/// and writes the count to `*len` (0: nothing to send). The copied bytes count as sent.
///
/// # Safety
/// `session` live; `buf` writable for `buf_cap`; `len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_poll_transmit(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
    buf: *mut u8,
    buf_cap: usize,
    len: *mut usize,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let buf = unsafe { guard::buffer(buf, buf_cap) }?;
        if len.is_null() {
            return Err(nomq_result::NullPointer);
        }
        let n = session!(session).poll_transmit(now_ms, buf);
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { len.write(n) };
        Ok(())
    })
}

/// Borrows the pending bytes without copying: `*data` and `*len` stay valid until the next
/// call on this session. Report what the transport took with `nomq_mqtt_session_transmitted`.
///
/// # Safety
/// `session` live; `data` and `len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_transmit(
    session: *mut nomq_mqtt_session,
    data: *mut *const u8,
    len: *mut usize,
) -> nomq_result {
    guard(|| {
        if data.is_null() || len.is_null() {
            return Err(nomq_result::NullPointer);
        }
        // SAFETY: per the contract above.
        let tx = unsafe { guard::object(session) }?.handle.session_mut().transmit();
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe {
            data.write(tx.as_ptr());
            len.write(tx.len());
        }
        Ok(())
    })
}

/// `n` bytes of `nomq_mqtt_session_transmit` were written to the transport.
///
/// # Safety
/// `session` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_transmitted(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
    n: usize,
) -> nomq_result {
    guard(|| {
        session!(session).transmitted(now_ms, n);
        Ok(())
    })
}

/// When `nomq_mqtt_session_handle_timeout` is next due (ms, the caller's clock);
/// `UINT64_MAX` when none (disconnected, keep alive off) or for NULL.
///
/// # Safety
/// `session` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_poll_timeout(session: *const nomq_mqtt_session) -> u64 {
    guard::guard_or(u64::MAX, || {
        // SAFETY: per the contract above.
        unsafe { guard::object_ref(session) }
            .ok()
            .and_then(|s| s.handle.session().poll_timeout())
            .unwrap_or(u64::MAX)
    })
}

/// Sends PINGREQ when idle for the keep alive; declares the connection dead (DISCONNECTED
/// event) when PINGRESP is late.
///
/// # Safety
/// `session` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_handle_timeout(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
) -> nomq_result {
    guard(|| {
        session!(session).handle_timeout(now_ms);
        Ok(())
    })
}

/// The transport failed or closed, or could not be opened: a DISCONNECTED event follows and
/// the session schedules the next attempt (an OPEN_TRANSPORT event once the backoff is over).
/// Unacknowledged QoS 1/2 messages are kept and resent after the next CONNACK.
///
/// # Safety
/// `session` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_connection_lost(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
) -> nomq_result {
    guard(|| {
        session!(session).connection_lost(now_ms);
        Ok(())
    })
}

/// MQTT 5.0 enhanced authentication (§4.12): answers an AUTH_CHALLENGE with `reason` 0x18
/// (continue authentication), or starts a re-authentication with 0x19 while connected;
/// `data` (`len` bytes) goes with the configured `auth_method`.
/// `NOMQ_RESULT_PROTOCOL` for any other reason, without a method, or in 3.1.1.
///
/// # Safety
/// `session` live; `data` readable for `len` bytes (or NULL with `len` 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_auth(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
    reason: u8,
    data: *const u8,
    len: usize,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let data = unsafe { guard::bytes(data, len) }?;
        Ok(session!(session).auth(now_ms, ReasonCode(reason), data)?)
    })
}

/// Whether the session is disconnected with no reconnect scheduled (before `start`, after
/// `disconnect`, or after a loss with reconnect off); true for NULL.
///
/// # Safety
/// `session` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_is_idle(session: *const nomq_mqtt_session) -> bool {
    guard::guard_or(true, || {
        // SAFETY: per the contract above.
        unsafe { guard::object_ref(session) }.map_or(true, |s| s.handle.session().is_idle())
    })
}

/// Queues DISCONNECT when connected (the will is not published); the session is then
/// disconnected and stops reconnecting until the next `nomq_mqtt_session_start`.
///
/// # Safety
/// `session` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_disconnect(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
) -> nomq_result {
    guard(|| Ok(session!(session).disconnect(now_ms, ReasonCode::SUCCESS)?))
}

/// 0 disconnected, 1 connecting (CONNECT sent), 2 connected, 3 opening (OPEN_TRANSPORT
/// emitted, waiting for `nomq_mqtt_session_connect`); 0 for NULL.
///
/// # Safety
/// `session` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_state(session: *const nomq_mqtt_session) -> u8 {
    guard::guard_or(0, || {
        // SAFETY: per the contract above.
        match unsafe { guard::object_ref(session) }.map(|s| s.handle.session().state()) {
            Ok(State::Connecting) => 1,
            Ok(State::Connected) => 2,
            Ok(State::Opening) => 3,
            _ => 0,
        }
    })
}

/// Publishes `payload` on `topic` (NUL-terminated) and writes its id to `*publish_id`; one
/// PUBLISH_DONE (or DROPPED) event with that id follows: QoS 0 when written, QoS 1 on
/// PUBACK, QoS 2 on PUBCOMP. Queued while disconnected. `NOMQ_RESULT_FULL` when the outbox
/// is full (refuse policy).
///
/// # Safety
/// `session` live; `topic` NUL-terminated; `payload` readable for `payload_len`;
/// `publish_id` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_publish(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
    topic: *const c_char,
    payload: *const u8,
    payload_len: usize,
    qos: u8,
    retain: bool,
    publish_id: *mut u64,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let (topic, payload) = unsafe { (guard::c_string(topic)?, guard::bytes(payload, payload_len)?) };
        let topic = topic.ok_or(nomq_result::NullPointer)?;
        if publish_id.is_null() {
            return Err(nomq_result::NullPointer);
        }
        let qos = Qos::from_u8(qos).ok_or(nomq_result::InvalidArgument)?;
        let id = session!(session).publish(now_ms, Message::new(topic, payload.to_vec(), qos, retain))?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { publish_id.write(id.0) };
        Ok(())
    })
}

/// Subscribes to `filter` (NUL-terminated) at `qos`; a SUBSCRIBED event with the request id
/// written to `*request_id` carries the granted reason codes. Resubscribed automatically after
/// a reconnect that lost the session.
///
/// # Safety
/// `session` live; `filter` NUL-terminated; `request_id` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_subscribe(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
    filter: *const c_char,
    qos: u8,
    request_id: *mut u64,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let filter = unsafe { guard::c_string(filter) }?.ok_or(nomq_result::NullPointer)?;
        if request_id.is_null() {
            return Err(nomq_result::NullPointer);
        }
        let qos = Qos::from_u8(qos).ok_or(nomq_result::InvalidArgument)?;
        let id = session!(session).subscribe(
            now_ms,
            vec![(filter.into(), SubscriptionOptions::qos(qos))],
            None,
        )?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { request_id.write(id.0) };
        Ok(())
    })
}

/// Unsubscribes from `filter`; an UNSUBSCRIBED event with the request id follows.
///
/// # Safety
/// As `nomq_mqtt_session_subscribe`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_unsubscribe(
    session: *mut nomq_mqtt_session,
    now_ms: u64,
    filter: *const c_char,
    request_id: *mut u64,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let filter = unsafe { guard::c_string(filter) }?.ok_or(nomq_result::NullPointer)?;
        if request_id.is_null() {
            return Err(nomq_result::NullPointer);
        }
        let id = session!(session).unsubscribe(now_ms, vec![filter.into()])?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { request_id.write(id.0) };
        Ok(())
    })
}

/// One session event; `topic` and `payload` point into the buffer given to
/// `nomq_mqtt_session_poll_event`, valid until it is reused.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nomq_mqtt_event {
    /// What happened.
    pub kind: nomq_mqtt_event_kind,
    /// CONNECTED: the server kept our session.
    pub session_present: bool,
    /// The MQTT reason code, where the kind says so.
    pub reason_code: u8,
    /// DISCONNECTED: why.
    pub disconnect: nomq_mqtt_disconnect,
    /// PUBLISH_DONE, DROPPED: the publish id; SUBSCRIBED, UNSUBSCRIBED: the request id.
    pub id: u64,
    /// PUBLISH_DONE: how.
    pub outcome: nomq_mqtt_outcome,
    /// MESSAGE: QoS.
    pub qos: u8,
    /// MESSAGE: retain flag.
    pub retain: bool,
    /// MESSAGE: topic, not NUL-terminated.
    pub topic: *const c_char,
    /// Length of `topic`.
    pub topic_len: usize,
    /// MESSAGE: payload; SUBSCRIBED/UNSUBSCRIBED: reason codes; AUTH_CHALLENGE: data.
    pub payload: *const u8,
    /// Length of `payload`.
    pub payload_len: usize,
}

/// Takes the next event into `*event` (kind NONE when none). Variable data is copied into
/// `buf` (`buf_cap` bytes; pointers are NULL for empty parts). When it does not fit:
/// `NOMQ_RESULT_BUFFER_TOO_SMALL`, the event stays queued, and `*event` carries only its kind,
/// `topic_len` and `payload_len`: call again with a buffer of at least their sum. A buffer of
/// `max_packet_size` plus 65,535 bytes always suffices (a topic alias lets the server leave the
/// topic, up to 65,535 bytes, out of the packet).
///
/// # Safety
/// `session` live; `event` writable; `buf` writable for `buf_cap`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_poll_event(
    session: *mut nomq_mqtt_session,
    event: *mut nomq_mqtt_event,
    buf: *mut u8,
    buf_cap: usize,
) -> nomq_result {
    guard(|| {
        if event.is_null() {
            return Err(nomq_result::NullPointer);
        }
        // SAFETY: per the contract above.
        let (s, buf) = unsafe { (guard::object(session)?, guard::buffer(buf, buf_cap)?) };
        let e = match s.handle.poll_event(buf) {
            Ok(Some(f)) => nomq_mqtt_event {
                kind: f.kind,
                session_present: f.session_present,
                reason_code: f.reason_code,
                disconnect: f.disconnect,
                id: f.id,
                outcome: f.outcome,
                qos: f.qos,
                retain: f.retain,
                topic: pointer(f.topic).cast(),
                topic_len: f.topic.len(),
                payload: pointer(f.payload),
                payload_len: f.payload.len(),
            },
            Ok(None) => nomq_mqtt_event { kind: nomq_mqtt_event_kind::None, ..empty_event() },
            Err(spilled) => {
                // The caller learns the lengths to make room for; the event stays queued.
                let e = nomq_mqtt_event {
                    kind: spilled.kind,
                    topic_len: spilled.topic_len,
                    payload_len: spilled.payload_len,
                    ..empty_event()
                };
                // SAFETY: checked non-NULL; writable per the contract.
                unsafe { event.write(e) };
                return Err(nomq_result::BufferTooSmall);
            }
        };
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { event.write(e) };
        Ok(())
    })
}

fn empty_event() -> nomq_mqtt_event {
    nomq_mqtt_event {
        kind: nomq_mqtt_event_kind::None,
        session_present: false,
        reason_code: 0,
        disconnect: nomq_mqtt_disconnect::NotDisconnected,
        id: 0,
        outcome: nomq_mqtt_outcome::Sent,
        qos: 0,
        retain: false,
        topic: core::ptr::null(),
        topic_len: 0,
        payload: core::ptr::null(),
        payload_len: 0,
    }
}

/// Copies the session's metrics (publishes sent, received and resent, reconnects, drops,
/// duplicates; the inflight and outbox gauges) to `*out`.
///
/// # Safety
/// `session` live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_get_metrics(
    session: *const nomq_mqtt_session,
    out: *mut nomq_mqtt_metrics,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let metrics = unsafe { guard::object_ref(session) }?.handle.session().metrics();
        // SAFETY: per the contract above.
        unsafe { guard::write(out, metrics) }
    })
}

/// The application has stopped (`paused` true) or resumed reading the socket, to push back on
/// the server while it cannot take messages. While paused, a PINGRESP not read in time does not
/// end the connection (it may be in the unread bytes); PINGREQ still goes out.
///
/// # Safety
/// `session` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_mqtt_session_set_reading_paused(
    session: *mut nomq_mqtt_session,
    paused: bool,
) -> nomq_result {
    guard(|| {
        session!(session).set_reading_paused(paused);
        Ok(())
    })
}

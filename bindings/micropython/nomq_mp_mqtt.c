// `_nomq.MqttSession`: an MQTT 3.1.1/5.0 client session without I/O over nomq's C session API
// (nomq_mqtt_session_*): the packets, QoS 0/1/2 state, keep alive, outbox bounds and the
// reconnect backoff are nomq's; the caller owns the TCP connection. The MicroPython package
// (bindings/micropython/package: mqtt_async and nomq.mqtt) drives it with asyncio streams:
//
//   MqttSession(client_id="", *, version=4, clean_start=True, keep_alive=60, username=None,
//               password=None, session_expiry=0, will_topic=None, will_payload=b"",
//               will_qos=0, will_retain=False, reconnect=True, urandom=None, <bounds>)
//   .start(now_ms=None)              ask for a connection: an EV_OPEN_TRANSPORT event follows
//   .connect(now_ms=None)            the TCP connection is open: CONNECT is queued
//   .handle_bytes(data, now_ms=None) bytes read from the connection
//   .poll_transmit(now_ms=None)      -> bytes to write (counted as written), or None
//   .poll_timeout()                  -> when handle_timeout is due (ms), or None
//   .handle_timeout(now_ms=None)     keep alive, connect deadline, reconnect backoff
//   .connection_lost(now_ms=None)    the connection failed or closed
//   .disconnect(now_ms=None)         DISCONNECT, and no more reconnects until start()
//   .publish(topic, payload, qos=0, retain=False, now_ms=None)  -> publish id
//   .subscribe(filter, qos=0, now_ms=None) / .unsubscribe(filter, now_ms=None) -> request id
//   .poll_event()                    -> an event tuple (below) or None
//   .state() 0 disconnected, 1 connecting, 2 connected, 3 opening; .is_idle()
//   .metrics() -> dict; .set_reading_paused(paused); .close()
//
// Events, by their first item (the module's MQTT_* constants):
//   (MQTT_CONNECTED, session_present, reason_code)
//   (MQTT_DISCONNECTED, why, reason_code)          why: MQTT_BY_SERVER ... (nomq_mqtt_disconnect)
//   (MQTT_MESSAGE, topic, payload, qos, retain)
//   (MQTT_PUBLISH_DONE, publish_id, outcome, reason_code)   outcome: nomq_mqtt_outcome
//   (MQTT_DROPPED, publish_id)
//   (MQTT_SUBSCRIBED, request_id, reason_codes) / (MQTT_UNSUBSCRIBED, request_id, reason_codes)
//   (MQTT_AUTH_CHALLENGE, data)
//   (MQTT_OPEN_TRANSPORT,)
//
// `now_ms` is the monotonic clock (_nomq.monotonic_ms()). `<bounds>` are keyword arguments
// named after nomq_mqtt_config's fields (max_inflight, max_outbox_messages, max_outbox_bytes,
// max_packet_size, drop_oldest, connect_timeout_ms, reconnect_initial_ms, reconnect_max_ms,
// reconnect_stable_ms); omitted ones keep nomq_mqtt_config_init's defaults.
#include <string.h>

#include "nomq_mp.h"

#if NOMQ_MP_MQTT

typedef struct {
    mp_obj_base_t base;
    nomq_mqtt_session *session;  // NULL once closed
    void *blocks;                // native module: nomq's heap blocks (NOMQ_MP_ALLOCATE_INTO)
    nomq_mp_random_t random;     // reconnect jitter
} session_obj_t;

// Bytes handed to the caller per poll_transmit at most: bounds the temporary object; the
// caller writes and polls again until None.
#define TRANSMIT_CHUNK 8192

static nomq_mqtt_session *live(session_obj_t *self) {
    if (self->session == NULL) {
        nomq_mp_raise_result(NOMQ_RESULT_CLOSED, "MqttSession");
    }
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    return self->session;
}

static void done(session_obj_t *self, nomq_result r, const char *what) {
    if (r != NOMQ_RESULT_OK) {
        self->random.error = MP_OBJ_NULL;
        nomq_mp_raise_result(r, what);
    }
    nomq_mp_random_check(&self->random);
}

// A str for a C string argument: NUL-terminated already (MicroPython's str data is), with no
// NUL inside (MQTT strings may not hold one, and C would cut the string there).
static const char *c_string(mp_obj_t value, const char *name) {
    size_t len;
    const char *s = nomq_mp_text(value, &len, name);
    if (strlen(s) != len) {
        nomq_mp_raise_arg(&mp_type_ValueError, name, " must not contain NUL");
    }
    return s;
}

// c_string, or NULL for None (an optional config field).
static const char *c_string_or_null(mp_obj_t value, const char *name) {
    return value == mp_const_none ? NULL : c_string(value, name);
}

#define U64_FIELDS(X) X(connect_timeout_ms) X(reconnect_initial_ms) X(reconnect_max_ms) X(reconnect_stable_ms)
#define SIZE_FIELDS(X) X(max_outbox_messages) X(max_outbox_bytes)

static mp_obj_t session_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    #define ARG_ENUM(name) ARG_##name,
    enum { ARG_client_id, ARG_version, ARG_clean_start, ARG_keep_alive, ARG_username, ARG_password,
           ARG_session_expiry, ARG_will_topic, ARG_will_payload, ARG_will_qos, ARG_will_retain, ARG_reconnect,
           ARG_urandom, ARG_max_inflight, ARG_max_packet_size, ARG_drop_oldest,
           U64_FIELDS(ARG_ENUM) SIZE_FIELDS(ARG_ENUM) };
    #define KW_NONE(name) { MP_QSTR_##name, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    NOMQ_MP_ARG_TABLE allowed[] = {
        { MP_QSTR_client_id, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        KW_NONE(version) KW_NONE(clean_start) KW_NONE(keep_alive) KW_NONE(username) KW_NONE(password)
        KW_NONE(session_expiry) KW_NONE(will_topic) KW_NONE(will_payload) KW_NONE(will_qos) KW_NONE(will_retain)
        KW_NONE(reconnect) KW_NONE(urandom) KW_NONE(max_inflight) KW_NONE(max_packet_size) KW_NONE(drop_oldest)
        U64_FIELDS(KW_NONE) SIZE_FIELDS(KW_NONE)
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all_kw_array(n_args, n_kw, args, MP_ARRAY_SIZE(allowed), allowed, a);

    nomq_mqtt_config c;
    nomq_mqtt_config_init(&c);
    #define GIVEN(name) (a[ARG_##name].u_obj != mp_const_none)
    c.client_id = c_string_or_null(a[ARG_client_id].u_obj, "client_id");
    if (GIVEN(version)) {
        c.version = (uint8_t)nomq_mp_uint(a[ARG_version].u_obj, 5, "version");
        if (c.version != 4 && c.version != 5) {
            nomq_mp_raise_arg(&mp_type_ValueError, "version", " must be 4 (MQTT 3.1.1) or 5");
        }
    }
    if (GIVEN(clean_start)) {
        c.clean_start = mp_obj_is_true(a[ARG_clean_start].u_obj);
    }
    if (GIVEN(keep_alive)) {
        c.keep_alive = (uint16_t)nomq_mp_uint(a[ARG_keep_alive].u_obj, 65535, "keep_alive");
    }
    c.username = c_string_or_null(a[ARG_username].u_obj, "username");
    if (GIVEN(password)) {
        c.password = nomq_mp_text_or_bytes(a[ARG_password].u_obj, &c.password_len, "password");
    }
    if (GIVEN(session_expiry)) {
        c.session_expiry = (uint32_t)nomq_mp_uint(a[ARG_session_expiry].u_obj, UINT32_MAX, "session_expiry");
    }
    c.will_topic = c_string_or_null(a[ARG_will_topic].u_obj, "will_topic");
    if (GIVEN(will_payload)) {
        c.will_payload = nomq_mp_text_or_bytes(a[ARG_will_payload].u_obj, &c.will_payload_len, "will_payload");
    }
    if (GIVEN(will_qos)) {
        c.will_qos = (uint8_t)nomq_mp_uint(a[ARG_will_qos].u_obj, 2, "will_qos");
    }
    if (GIVEN(will_retain)) {
        c.will_retain = mp_obj_is_true(a[ARG_will_retain].u_obj);
    }
    if (GIVEN(reconnect)) {
        c.reconnect = mp_obj_is_true(a[ARG_reconnect].u_obj);
    }
    if (GIVEN(max_inflight)) {
        c.max_inflight = (uint16_t)nomq_mp_uint(a[ARG_max_inflight].u_obj, 65535, "max_inflight");
    }
    if (GIVEN(max_packet_size)) {
        c.max_packet_size = (uint32_t)nomq_mp_uint(a[ARG_max_packet_size].u_obj, UINT32_MAX, "max_packet_size");
    }
    if (GIVEN(drop_oldest)) {
        c.drop_oldest = mp_obj_is_true(a[ARG_drop_oldest].u_obj);
    }
    #define SET_U64(name) if (GIVEN(name)) { c.name = nomq_mp_uint(a[ARG_##name].u_obj, UINT64_MAX, #name); }
    #define SET_SIZE(name) if (GIVEN(name)) { c.name = (size_t)nomq_mp_uint(a[ARG_##name].u_obj, SIZE_MAX, #name); }
    U64_FIELDS(SET_U64)
    SIZE_FIELDS(SET_SIZE)

    #if MICROPY_ENABLE_DYNRUNTIME
    session_obj_t *self = mp_obj_malloc(session_obj_t, type);
    #else
    session_obj_t *self = mp_obj_malloc_with_finaliser(session_obj_t, type);
    #endif
    self->session = NULL;
    self->blocks = NULL;
    nomq_mp_random_init(&self->random, a[ARG_urandom].u_obj);
    if (self->random.urandom == MP_OBJ_NULL) {
        self->random.urandom = nomq_mp_os_urandom();  // nomq draws inside its calls: look it up now
    }
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    done(self, nomq_mqtt_session_new(&c, nomq_mp_random_fill, &self->random, &self->session), "MqttSession");
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t session_close(mp_obj_t self_in) {
    session_obj_t *self = MP_OBJ_TO_PTR(self_in);
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    nomq_mqtt_session_free(self->session);
    self->session = NULL;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_close_obj, session_close);

static uint64_t now_arg(size_t n_args, const mp_obj_t *args, size_t at) {
    return nomq_mp_time_arg(n_args > at ? args[at] : mp_const_none, false, "now_ms");
}

// The calls that take only the clock: (self, now_ms=None).
#define CLOCK_CALL(name, call) \
    static mp_obj_t session_##name(size_t n_args, const mp_obj_t *args) { \
        session_obj_t *self = MP_OBJ_TO_PTR(args[0]); \
        uint64_t now = now_arg(n_args, args, 1); \
        done(self, call(live(self), now), #name); \
        return mp_const_none; \
    } \
    static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(session_##name##_obj, 1, 2, session_##name);

CLOCK_CALL(start, nomq_mqtt_session_start)
CLOCK_CALL(connect, nomq_mqtt_session_connect)
CLOCK_CALL(handle_timeout, nomq_mqtt_session_handle_timeout)
CLOCK_CALL(connection_lost, nomq_mqtt_session_connection_lost)
CLOCK_CALL(disconnect, nomq_mqtt_session_disconnect)

static mp_obj_t session_handle_bytes(size_t n_args, const mp_obj_t *args) {
    session_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    mp_buffer_info_t data;
    nomq_mp_bytes(args[1], &data, "data");
    uint64_t now = now_arg(n_args, args, 2);
    done(self, nomq_mqtt_session_handle_bytes(live(self), now, data.buf, data.len), "handle_bytes");
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(session_handle_bytes_obj, 2, 3, session_handle_bytes);

static mp_obj_t session_poll_transmit(size_t n_args, const mp_obj_t *args) {
    session_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    uint64_t now = now_arg(n_args, args, 1);
    const uint8_t *data = NULL;
    size_t len = 0;
    done(self, nomq_mqtt_session_transmit(live(self), &data, &len), "poll_transmit");
    if (len == 0) {
        return mp_const_none;
    }
    if (len > TRANSMIT_CHUNK) {
        len = TRANSMIT_CHUNK;
    }
    // Copy first: the borrowed bytes are valid only until the next call on the session.
    mp_obj_t out = mp_obj_new_bytes(data, len);
    done(self, nomq_mqtt_session_transmitted(live(self), now, len), "poll_transmit");
    return out;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(session_poll_transmit_obj, 1, 2, session_poll_transmit);

static mp_obj_t session_poll_timeout(mp_obj_t self_in) {
    session_obj_t *self = MP_OBJ_TO_PTR(self_in);
    uint64_t at = nomq_mqtt_session_poll_timeout(live(self));
    return at == UINT64_MAX ? mp_const_none : nomq_mp_new_uint(at);
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_poll_timeout_obj, session_poll_timeout);

static mp_obj_t session_publish(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_self, ARG_topic, ARG_payload, ARG_qos, ARG_retain, ARG_now_ms };
    NOMQ_MP_ARG_TABLE allowed[] = {
        { MP_QSTR_self, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_topic, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_payload, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_qos, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_retain, MP_ARG_OBJ, {.u_obj = mp_const_false} },
        { MP_QSTR_now_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    session_obj_t *self = MP_OBJ_TO_PTR(a[ARG_self].u_obj);
    const char *topic = c_string(a[ARG_topic].u_obj, "topic");
    size_t len;
    const uint8_t *payload = nomq_mp_text_or_bytes(a[ARG_payload].u_obj, &len, "payload");
    uint8_t qos = (uint8_t)nomq_mp_uint(a[ARG_qos].u_obj, 2, "qos");
    bool retain = mp_obj_is_true(a[ARG_retain].u_obj);
    uint64_t now = nomq_mp_time_arg(a[ARG_now_ms].u_obj, false, "now_ms");
    uint64_t id = 0;
    done(self, nomq_mqtt_session_publish(live(self), now, topic, payload, len, qos, retain, &id), "publish");
    return nomq_mp_new_uint(id);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(session_publish_obj, 3, session_publish);

static mp_obj_t session_subscribe(size_t n_args, const mp_obj_t *args) {
    session_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    const char *filter = c_string(args[1], "filter");
    uint8_t qos = n_args > 2 ? (uint8_t)nomq_mp_uint(args[2], 2, "qos") : 0;
    uint64_t now = now_arg(n_args, args, 3);
    uint64_t id = 0;
    done(self, nomq_mqtt_session_subscribe(live(self), now, filter, qos, &id), "subscribe");
    return nomq_mp_new_uint(id);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(session_subscribe_obj, 2, 4, session_subscribe);

static mp_obj_t session_unsubscribe(size_t n_args, const mp_obj_t *args) {
    session_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    const char *filter = c_string(args[1], "filter");
    uint64_t now = now_arg(n_args, args, 2);
    uint64_t id = 0;
    done(self, nomq_mqtt_session_unsubscribe(live(self), now, filter, &id), "unsubscribe");
    return nomq_mp_new_uint(id);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(session_unsubscribe_obj, 2, 3, session_unsubscribe);

static mp_obj_t event_tuple(const nomq_mqtt_event *e) {
    mp_obj_t items[5];
    size_t n = 0;
    items[n++] = MP_OBJ_NEW_SMALL_INT(e->kind);
    switch (e->kind) {
        case NOMQ_MQTT_EVENT_KIND_CONNECTED:
            items[n++] = mp_obj_new_bool(e->session_present);
            items[n++] = MP_OBJ_NEW_SMALL_INT(e->reason_code);
            break;
        case NOMQ_MQTT_EVENT_KIND_DISCONNECTED:
            items[n++] = MP_OBJ_NEW_SMALL_INT(e->disconnect);
            items[n++] = MP_OBJ_NEW_SMALL_INT(e->reason_code);
            break;
        case NOMQ_MQTT_EVENT_KIND_MESSAGE:
            items[n++] = mp_obj_new_str(e->topic == NULL ? "" : e->topic, e->topic_len);
            items[n++] = mp_obj_new_bytes(e->payload, e->payload_len);
            items[n++] = MP_OBJ_NEW_SMALL_INT(e->qos);
            items[n++] = mp_obj_new_bool(e->retain);
            break;
        case NOMQ_MQTT_EVENT_KIND_PUBLISH_DONE:
            items[n++] = nomq_mp_new_uint(e->id);
            items[n++] = MP_OBJ_NEW_SMALL_INT(e->outcome);
            items[n++] = MP_OBJ_NEW_SMALL_INT(e->reason_code);
            break;
        case NOMQ_MQTT_EVENT_KIND_DROPPED:
            items[n++] = nomq_mp_new_uint(e->id);
            break;
        case NOMQ_MQTT_EVENT_KIND_SUBSCRIBED:
        case NOMQ_MQTT_EVENT_KIND_UNSUBSCRIBED:
            items[n++] = nomq_mp_new_uint(e->id);
            items[n++] = mp_obj_new_bytes(e->payload, e->payload_len);
            break;
        case NOMQ_MQTT_EVENT_KIND_AUTH_CHALLENGE:
            items[n++] = mp_obj_new_bytes(e->payload, e->payload_len);
            break;
        default:  // OPEN_TRANSPORT
            break;
    }
    return mp_obj_new_tuple(n, items);
}

static mp_obj_t session_poll_event(mp_obj_t self_in) {
    session_obj_t *self = MP_OBJ_TO_PTR(self_in);
    uint8_t stack[NOMQ_MP_EVENT_STACK];
    nomq_mqtt_event e;
    nomq_result r = nomq_mqtt_session_poll_event(live(self), &e, stack, sizeof stack);
    if (r == NOMQ_RESULT_BUFFER_TOO_SMALL) {
        size_t cap = e.topic_len + e.payload_len;
        uint8_t *buf = m_new(uint8_t, cap);
        r = nomq_mqtt_session_poll_event(live(self), &e, buf, cap);
        mp_obj_t event = r == NOMQ_RESULT_OK ? event_tuple(&e) : mp_const_none;
        m_free(buf);
        done(self, r, "poll_event");
        return event;
    }
    done(self, r, "poll_event");
    return e.kind == NOMQ_MQTT_EVENT_KIND_NONE ? mp_const_none : event_tuple(&e);
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_poll_event_obj, session_poll_event);

static mp_obj_t session_state(mp_obj_t self_in) {
    session_obj_t *self = MP_OBJ_TO_PTR(self_in);
    return MP_OBJ_NEW_SMALL_INT(nomq_mqtt_session_state(live(self)));
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_state_obj, session_state);

static mp_obj_t session_is_idle(mp_obj_t self_in) {
    session_obj_t *self = MP_OBJ_TO_PTR(self_in);
    return mp_obj_new_bool(nomq_mqtt_session_is_idle(live(self)));
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_is_idle_obj, session_is_idle);

static mp_obj_t session_set_reading_paused(mp_obj_t self_in, mp_obj_t paused) {
    session_obj_t *self = MP_OBJ_TO_PTR(self_in);
    done(self, nomq_mqtt_session_set_reading_paused(live(self), mp_obj_is_true(paused)), "set_reading_paused");
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(session_set_reading_paused_obj, session_set_reading_paused);

static mp_obj_t session_metrics(mp_obj_t self_in) {
    session_obj_t *self = MP_OBJ_TO_PTR(self_in);
    nomq_mqtt_metrics m;
    done(self, nomq_mqtt_session_get_metrics(live(self), &m), "metrics");
    #define METRIC_FIELDS(X) X(sent) X(received) X(retransmitted) X(reconnects) X(dropped) X(duplicates) \
        X(inflight) X(queued_messages) X(queued_bytes)
    #define COUNT(name) +1
    mp_obj_t d = mp_obj_new_dict(0 METRIC_FIELDS(COUNT));
    #define STORE(name) mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_##name), nomq_mp_new_uint(m.name));
    METRIC_FIELDS(STORE)
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_metrics_obj, session_metrics);

#define SESSION_METHODS(X) X(start) X(connect) X(handle_bytes) X(poll_transmit) X(poll_timeout) \
    X(handle_timeout) X(connection_lost) X(disconnect) X(publish) X(subscribe) X(unsubscribe) \
    X(poll_event) X(state) X(is_idle) X(set_reading_paused) X(metrics) X(close)

#if MICROPY_ENABLE_DYNRUNTIME
mp_obj_full_type_t nomq_mp_type_MqttSession;
#define ONE(name) +1
static mp_map_elem_t session_locals_table[0 SESSION_METHODS(ONE)];
static mp_obj_dict_t session_locals;

void nomq_mp_mqtt_init_type(void) {
    size_t i = 0;
    #define FILL(name) \
        session_locals_table[i].key = MP_OBJ_NEW_QSTR(MP_QSTR_##name); \
        session_locals_table[i++].value = MP_OBJ_FROM_PTR(&session_##name##_obj);
    SESSION_METHODS(FILL)
    nomq_mp_init_fixed_dict(&session_locals, session_locals_table, MP_ARRAY_SIZE(session_locals_table));
    nomq_mp_type_MqttSession.base.type = &mp_type_type;
    nomq_mp_type_MqttSession.flags = MP_TYPE_FLAG_NONE;
    nomq_mp_type_MqttSession.name = MP_QSTR_MqttSession;
    MP_OBJ_TYPE_SET_SLOT(&nomq_mp_type_MqttSession, make_new, session_make_new, 0);
    MP_OBJ_TYPE_SET_SLOT(&nomq_mp_type_MqttSession, locals_dict, &session_locals, 1);
}
#else
#define ENTRY(name) { MP_ROM_QSTR(MP_QSTR_##name), MP_ROM_PTR(&session_##name##_obj) },
static const mp_rom_map_elem_t session_locals_table[] = {
    SESSION_METHODS(ENTRY)
    // Frees the native session when the object is collected (a native module has no finalisers).
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&session_close_obj) },
};
static MP_DEFINE_CONST_DICT(session_locals, session_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(nomq_mp_type_MqttSession, MP_QSTR_MqttSession, MP_TYPE_FLAG_NONE,
    make_new, session_make_new,
    locals_dict, &session_locals);
#endif

#endif  // NOMQ_MP_MQTT

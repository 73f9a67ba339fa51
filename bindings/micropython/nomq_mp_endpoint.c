// `_nomq.Endpoint`: a NoMQ node without I/O over nomq's C endpoint API (nomq_endpoint_*).
// The caller owns the socket and the loop: it feeds received datagrams in, sends what
// poll_transmit gives out, and runs handle_timeout when poll_timeout says. The MicroPython
// package (bindings/micropython/package: nomq.Endpoint and the NoMQ drop-in) does that with
// asyncio; the API mirrors the core's sans-IO endpoint:
//
//   Endpoint(encryption_key, trailer_key, version=1, *, urandom=None, now_ms=None, <bounds>)
//   .subscribe(channel) / .unsubscribe(channel)
//   .publish(addr, channel, payload, qos=1, retain=False, priority=0, ttl=3600, now_ms=None) -> id
//   .heartbeat(addr)
//   .handle_datagram(datagram, addr, now_ms=None, unix_ms=None)
//   .poll_transmit(unix_ms=None)      -> (datagram, (ip, port)) or None
//   .poll_timeout()                   -> monotonic ms when handle_timeout is due, or None
//   .handle_timeout(now_ms=None)
//   .poll_event(messages=True)        -> an event tuple (below) or None; messages False
//                                        leaves messages queued and takes the next other event
//   .stats()                          -> dict of counters
//   .close()
//
// Events, by their first item (the module's EV_* constants):
//   (EV_MESSAGE, channel, payload, addr, qos, retain, priority, session_id, packet_id, timestamp_ms)
//   (EV_PUBLISH_DONE, publish_id, outcome)       outcome: OUTCOME_SENT, _CONFIRMED, _EXPIRED
//   (EV_PEER_ALIVE, addr, session_id)
//   (EV_PEER_LOST, addr)
//   (EV_DROPPED, count, channel or None)
//
// `now_ms` is the monotonic clock (_nomq.monotonic_ms()), `unix_ms` the wall clock; omitted,
// each is read from the port. `<bounds>` are the keyword arguments named after the fields of
// nomq_endpoint_config (window_ms, max_pending, max_inbound, ...); omitted ones keep the
// core's defaults. Addresses are `(ip, port)` tuples or the unix port's sockaddr bytes.
#include <string.h>

#include "nomq_mp.h"

#if NOMQ_MP_ENDPOINT

typedef struct {
    mp_obj_base_t base;
    nomq_endpoint *endpoint;  // NULL once closed
    void *blocks;             // native module: nomq's heap blocks (NOMQ_MP_ALLOCATE_INTO)
    nomq_mp_random_t random;
    size_t max_datagram;
} endpoint_obj_t;

static nomq_endpoint *live(endpoint_obj_t *self) {
    if (self->endpoint == NULL) {
        nomq_mp_raise_result(NOMQ_RESULT_CLOSED, "Endpoint");
    }
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    return self->endpoint;
}

// After every nomq call that may have drawn random bytes: the call's result first (it failed
// on its own), then urandom's exception (the call's output used bytes urandom never gave).
static void done(endpoint_obj_t *self, nomq_result r, const char *what) {
    if (r != NOMQ_RESULT_OK) {
        self->random.error = MP_OBJ_NULL;
        nomq_mp_raise_result(r, what);
    }
    nomq_mp_random_check(&self->random);
}

// The keyword arguments that set nomq_endpoint_config fields: name, then the field, its
// width and range (u64 timers, size_t bounds).
#define BOUND_FIELDS(X) \
    X(window_ms, u64) X(initial_retry_ms, u64) X(max_retry_ms, u64) X(max_payload, size) \
    X(max_pending, size) X(max_inbound, size) X(max_sessions, size) X(max_subscriptions, size) \
    X(max_retained_per_channel, size) X(max_retained_channels, size) X(max_peers, size) \
    X(max_events, size) X(max_transmits, size) X(heartbeat_interval_ms, u64) \
    X(peer_timeout_ms, u64) X(max_event_bytes, size)

static void set_u64(uint64_t *field, mp_obj_t v, const char *name) {
    if (v != mp_const_none) {
        *field = nomq_mp_uint(v, UINT64_MAX, name);
    }
}

static void set_size(size_t *field, mp_obj_t v, const char *name) {
    if (v != mp_const_none) {
        *field = (size_t)nomq_mp_uint(v, SIZE_MAX, name);
    }
}

static mp_obj_t endpoint_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    #define ARG_ENUM(name, kind) ARG_##name,
    enum { ARG_encryption_key, ARG_trailer_key, ARG_version, ARG_urandom, ARG_now_ms, BOUND_FIELDS(ARG_ENUM) };
    #define ARG_ENTRY(name, kind) { MP_QSTR_##name, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    NOMQ_MP_ARG_TABLE allowed[] = {
        { MP_QSTR_encryption_key, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_trailer_key, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_version, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(1)} },
        { MP_QSTR_urandom, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_now_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        BOUND_FIELDS(ARG_ENTRY)
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all_kw_array(n_args, n_kw, args, MP_ARRAY_SIZE(allowed), allowed, a);

    uint8_t version = (uint8_t)nomq_mp_uint(a[ARG_version].u_obj, 255, "version");
    nomq_endpoint_config config;
    nomq_result r = nomq_endpoint_config_init(version, &config);
    if (r != NOMQ_RESULT_OK) {
        nomq_mp_raise_result(r, "Endpoint");
    }
    #define ARG_SET(name, kind) set_##kind(&config.name, a[ARG_##name].u_obj, #name);
    BOUND_FIELDS(ARG_SET)
    uint64_t now = nomq_mp_time_arg(a[ARG_now_ms].u_obj, false, "now_ms");

    uint8_t enc[32], trailer[32];
    nomq_mp_fixed_bytes(a[ARG_encryption_key].u_obj, enc, sizeof enc, "encryption_key");
    nomq_mp_fixed_bytes(a[ARG_trailer_key].u_obj, trailer, sizeof trailer, "trailer_key");

    #if MICROPY_ENABLE_DYNRUNTIME
    endpoint_obj_t *self = mp_obj_malloc(endpoint_obj_t, type);
    #else
    endpoint_obj_t *self = mp_obj_malloc_with_finaliser(endpoint_obj_t, type);
    #endif
    self->endpoint = NULL;
    self->blocks = NULL;
    nomq_mp_random_init(&self->random, a[ARG_urandom].u_obj);
    if (self->random.urandom == MP_OBJ_NULL) {
        self->random.urandom = nomq_mp_os_urandom();  // nomq draws inside its calls: look it up now
    }
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    r = nomq_endpoint_new_with_config(&config, enc, trailer, nomq_mp_random_fill, &self->random, now, &self->endpoint);
    for (volatile uint8_t *p = enc; p < enc + sizeof enc; p++) {
        *p = 0;
    }
    for (volatile uint8_t *p = trailer; p < trailer + sizeof trailer; p++) {
        *p = 0;
    }
    if (r == NOMQ_RESULT_OK && self->random.error != MP_OBJ_NULL) {
        nomq_endpoint_free(self->endpoint);
        self->endpoint = NULL;
    }
    done(self, r, "Endpoint");
    self->max_datagram = nomq_endpoint_max_datagram_len(self->endpoint);
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t endpoint_close(mp_obj_t self_in) {
    endpoint_obj_t *self = MP_OBJ_TO_PTR(self_in);
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    nomq_endpoint_free(self->endpoint);
    self->endpoint = NULL;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(endpoint_close_obj, endpoint_close);

// subscribe and unsubscribe: one call on a channel name.
static mp_obj_t channel_call(mp_obj_t self_in, mp_obj_t channel_in,
    nomq_result (*call)(nomq_endpoint *, const char *, size_t), const char *what) {
    endpoint_obj_t *self = MP_OBJ_TO_PTR(self_in);
    size_t len;
    const char *channel = nomq_mp_text(channel_in, &len, "channel");
    done(self, call(live(self), channel, len), what);
    return mp_const_none;
}

static mp_obj_t endpoint_subscribe(mp_obj_t self_in, mp_obj_t channel_in) {
    return channel_call(self_in, channel_in, nomq_endpoint_subscribe, "subscribe");
}
static MP_DEFINE_CONST_FUN_OBJ_2(endpoint_subscribe_obj, endpoint_subscribe);

static mp_obj_t endpoint_unsubscribe(mp_obj_t self_in, mp_obj_t channel_in) {
    return channel_call(self_in, channel_in, nomq_endpoint_unsubscribe, "unsubscribe");
}
static MP_DEFINE_CONST_FUN_OBJ_2(endpoint_unsubscribe_obj, endpoint_unsubscribe);

static mp_obj_t endpoint_publish(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_self, ARG_addr, ARG_channel, ARG_payload, ARG_qos, ARG_retain, ARG_priority, ARG_ttl, ARG_now_ms };
    NOMQ_MP_ARG_TABLE allowed[] = {
        { MP_QSTR_self, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_addr, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_channel, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_payload, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_qos, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(1)} },
        { MP_QSTR_retain, MP_ARG_OBJ, {.u_obj = mp_const_false} },
        { MP_QSTR_priority, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_ttl, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(3600)} },
        { MP_QSTR_now_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    endpoint_obj_t *self = MP_OBJ_TO_PTR(a[ARG_self].u_obj);
    nomq_addr to;
    nomq_mp_addr_from_obj(a[ARG_addr].u_obj, &to, "addr");
    size_t channel_len, payload_len;
    const char *channel = nomq_mp_text(a[ARG_channel].u_obj, &channel_len, "channel");
    const uint8_t *payload = nomq_mp_text_or_bytes(a[ARG_payload].u_obj, &payload_len, "payload");
    uint8_t qos = (uint8_t)nomq_mp_uint(a[ARG_qos].u_obj, 2, "qos");
    bool retain = mp_obj_is_true(a[ARG_retain].u_obj);
    uint8_t priority = (uint8_t)nomq_mp_uint(a[ARG_priority].u_obj, 15, "priority");
    uint16_t ttl = (uint16_t)nomq_mp_uint(a[ARG_ttl].u_obj, 65535, "ttl");
    uint64_t now = nomq_mp_time_arg(a[ARG_now_ms].u_obj, false, "now_ms");
    uint64_t id = 0;
    done(self, nomq_endpoint_publish(live(self), now, &to, channel, channel_len, payload, payload_len, qos, retain,
        priority, ttl, &id), "publish");
    return nomq_mp_new_uint(id);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(endpoint_publish_obj, 4, endpoint_publish);

static mp_obj_t endpoint_heartbeat(mp_obj_t self_in, mp_obj_t addr_in) {
    endpoint_obj_t *self = MP_OBJ_TO_PTR(self_in);
    nomq_addr to;
    nomq_mp_addr_from_obj(addr_in, &to, "addr");
    done(self, nomq_endpoint_heartbeat(live(self), &to), "heartbeat");
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(endpoint_heartbeat_obj, endpoint_heartbeat);

static mp_obj_t endpoint_handle_datagram(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_self, ARG_datagram, ARG_addr, ARG_now_ms, ARG_unix_ms };
    NOMQ_MP_ARG_TABLE allowed[] = {
        { MP_QSTR_self, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_datagram, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_addr, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_now_ms, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_unix_ms, MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    endpoint_obj_t *self = MP_OBJ_TO_PTR(a[ARG_self].u_obj);
    mp_buffer_info_t datagram;
    nomq_mp_bytes(a[ARG_datagram].u_obj, &datagram, "datagram");
    nomq_addr from;
    nomq_mp_addr_from_obj(a[ARG_addr].u_obj, &from, "addr");
    uint64_t now = nomq_mp_time_arg(a[ARG_now_ms].u_obj, false, "now_ms");
    uint64_t unix_ms = nomq_mp_time_arg(a[ARG_unix_ms].u_obj, true, "unix_ms");
    done(self, nomq_endpoint_handle_datagram(live(self), unix_ms, now, &from, datagram.buf, datagram.len),
        "handle_datagram");
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(endpoint_handle_datagram_obj, 3, endpoint_handle_datagram);


static mp_obj_t endpoint_poll_transmit(size_t n_args, const mp_obj_t *args) {
    endpoint_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    uint64_t unix_ms = nomq_mp_time_arg(n_args > 1 ? args[1] : mp_const_none, true, "unix_ms");
    uint8_t stack[NOMQ_MP_STACK_BUFFER];  // a larger v2 datagram: heap
    uint8_t *buf = stack;
    size_t cap = sizeof stack, len = 0;
    nomq_addr to;
    nomq_result r = nomq_endpoint_poll_transmit(live(self), unix_ms, buf, cap, &to, &len);
    if (r == NOMQ_RESULT_BUFFER_TOO_SMALL) {
        cap = self->max_datagram;
        buf = m_new(uint8_t, cap);
        r = nomq_endpoint_poll_transmit(live(self), unix_ms, buf, cap, &to, &len);
    }
    mp_obj_t result = mp_const_none;
    if (r == NOMQ_RESULT_OK && len > 0 && self->random.error == MP_OBJ_NULL) {
        mp_obj_t items[2] = {mp_obj_new_bytes(buf, len), nomq_mp_addr_to_obj(&to)};
        result = mp_obj_new_tuple(2, items);
    }
    if (buf != stack) {
        m_free(buf);
    }
    // A datagram sealed while urandom failed had no real IV: it is dropped, like a lost
    // datagram (QoS 1/2 retransmit it), and urandom's exception is raised.
    done(self, r, "poll_transmit");
    return result;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(endpoint_poll_transmit_obj, 1, 2, endpoint_poll_transmit);

static mp_obj_t endpoint_poll_timeout(mp_obj_t self_in) {
    endpoint_obj_t *self = MP_OBJ_TO_PTR(self_in);
    uint64_t at = nomq_endpoint_poll_timeout(live(self));
    return at == UINT64_MAX ? mp_const_none : nomq_mp_new_uint(at);
}
static MP_DEFINE_CONST_FUN_OBJ_1(endpoint_poll_timeout_obj, endpoint_poll_timeout);

static mp_obj_t endpoint_handle_timeout(size_t n_args, const mp_obj_t *args) {
    endpoint_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    uint64_t now = nomq_mp_time_arg(n_args > 1 ? args[1] : mp_const_none, false, "now_ms");
    done(self, nomq_endpoint_handle_timeout(live(self), now), "handle_timeout");
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(endpoint_handle_timeout_obj, 1, 2, endpoint_handle_timeout);

static mp_obj_t text_or_none(const char *text, size_t len) {
    return text == NULL ? mp_const_none : mp_obj_new_str(text, len);
}

static mp_obj_t event_tuple(const nomq_endpoint_event *e) {
    mp_obj_t items[10];
    size_t n = 0;
    items[n++] = MP_OBJ_NEW_SMALL_INT(e->kind);
    switch (e->kind) {
        case NOMQ_ENDPOINT_EVENT_KIND_MESSAGE:
            items[n++] = mp_obj_new_str(e->channel == NULL ? "" : e->channel, e->channel_len);
            items[n++] = mp_obj_new_bytes(e->payload, e->payload_len);
            items[n++] = nomq_mp_addr_to_obj(&e->peer);
            items[n++] = MP_OBJ_NEW_SMALL_INT(e->qos);
            items[n++] = mp_obj_new_bool(e->retain);
            items[n++] = MP_OBJ_NEW_SMALL_INT(e->priority);
            items[n++] = nomq_mp_new_uint(e->session_id);
            items[n++] = nomq_mp_new_uint(e->packet_id);
            items[n++] = nomq_mp_new_uint(e->timestamp_ms);
            break;
        case NOMQ_ENDPOINT_EVENT_KIND_PUBLISH_DONE:
            items[n++] = nomq_mp_new_uint(e->publish_id);
            items[n++] = MP_OBJ_NEW_SMALL_INT(e->outcome);
            break;
        case NOMQ_ENDPOINT_EVENT_KIND_PEER_ALIVE:
            items[n++] = nomq_mp_addr_to_obj(&e->peer);
            items[n++] = nomq_mp_new_uint(e->session_id);
            break;
        case NOMQ_ENDPOINT_EVENT_KIND_PEER_LOST:
            items[n++] = nomq_mp_addr_to_obj(&e->peer);
            break;
        default:  // DROPPED
            items[n++] = nomq_mp_new_uint(e->dropped_count);
            items[n++] = text_or_none(e->channel, e->channel_len);
            break;
    }
    return mp_obj_new_tuple(n, items);
}

// poll_event(messages=True): with messages False, messages stay queued and the next other
// event comes (for a caller whose message buffer is full: outcomes do not wait behind them).
static mp_obj_t endpoint_poll_event(size_t n_args, const mp_obj_t *args) {
    endpoint_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    nomq_result (*poll)(nomq_endpoint *, nomq_endpoint_event *, uint8_t *, size_t) =
        n_args > 1 && !mp_obj_is_true(args[1]) ? nomq_endpoint_poll_event_except_messages : nomq_endpoint_poll_event;
    uint8_t stack[NOMQ_MP_EVENT_STACK];
    nomq_endpoint_event e;
    nomq_result r = poll(live(self), &e, stack, sizeof stack);
    if (r == NOMQ_RESULT_BUFFER_TOO_SMALL) {
        size_t cap = e.channel_len + e.payload_len;
        uint8_t *buf = m_new(uint8_t, cap);
        r = poll(live(self), &e, buf, cap);
        mp_obj_t event = r == NOMQ_RESULT_OK ? event_tuple(&e) : mp_const_none;
        m_free(buf);
        done(self, r, "poll_event");
        return event;
    }
    done(self, r, "poll_event");
    return e.kind == NOMQ_ENDPOINT_EVENT_KIND_NONE ? mp_const_none : event_tuple(&e);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(endpoint_poll_event_obj, 1, 2, endpoint_poll_event);

static mp_obj_t endpoint_stats(mp_obj_t self_in) {
    endpoint_obj_t *self = MP_OBJ_TO_PTR(self_in);
    nomq_endpoint_stats s;
    done(self, nomq_endpoint_get_stats(live(self), &s), "stats");
    #define STAT_FIELDS(X) X(datagrams_in) X(datagrams_out) X(rejected_malformed) X(rejected_version) \
        X(rejected_auth) X(rejected_stale) X(unknown_channel) X(invalid) X(duplicates) X(too_old) \
        X(delivered) X(refused_full) X(published) X(retransmitted) X(confirmed) X(expired) \
        X(unmatched_replies) X(heartbeats_answered) X(events_discarded) X(answers_limited)
    #define COUNT(name) +1
    mp_obj_t d = mp_obj_new_dict(0 STAT_FIELDS(COUNT));
    #define STORE(name) mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_##name), nomq_mp_new_uint(s.name));
    STAT_FIELDS(STORE)
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_1(endpoint_stats_obj, endpoint_stats);

static mp_obj_t endpoint_max_datagram_len(mp_obj_t self_in) {
    endpoint_obj_t *self = MP_OBJ_TO_PTR(self_in);
    live(self);
    return MP_OBJ_NEW_SMALL_INT(self->max_datagram);
}
static MP_DEFINE_CONST_FUN_OBJ_1(endpoint_max_datagram_len_obj, endpoint_max_datagram_len);

#define ENDPOINT_METHODS(X) X(subscribe) X(unsubscribe) X(publish) X(heartbeat) X(handle_datagram) \
    X(poll_transmit) X(poll_timeout) X(handle_timeout) X(poll_event) X(stats) X(max_datagram_len) X(close)

#if MICROPY_ENABLE_DYNRUNTIME
mp_obj_full_type_t nomq_mp_type_Endpoint;
#define ONE(name) +1
static mp_map_elem_t endpoint_locals_table[0 ENDPOINT_METHODS(ONE)];
static mp_obj_dict_t endpoint_locals;

void nomq_mp_endpoint_init_type(void) {
    size_t i = 0;
    #define FILL(name) \
        endpoint_locals_table[i].key = MP_OBJ_NEW_QSTR(MP_QSTR_##name); \
        endpoint_locals_table[i++].value = MP_OBJ_FROM_PTR(&endpoint_##name##_obj);
    ENDPOINT_METHODS(FILL)
    nomq_mp_init_fixed_dict(&endpoint_locals, endpoint_locals_table, MP_ARRAY_SIZE(endpoint_locals_table));
    nomq_mp_type_Endpoint.base.type = &mp_type_type;
    nomq_mp_type_Endpoint.flags = MP_TYPE_FLAG_NONE;
    nomq_mp_type_Endpoint.name = MP_QSTR_Endpoint;
    MP_OBJ_TYPE_SET_SLOT(&nomq_mp_type_Endpoint, make_new, endpoint_make_new, 0);
    MP_OBJ_TYPE_SET_SLOT(&nomq_mp_type_Endpoint, locals_dict, &endpoint_locals, 1);
}
#else
#define ENTRY(name) { MP_ROM_QSTR(MP_QSTR_##name), MP_ROM_PTR(&endpoint_##name##_obj) },
static const mp_rom_map_elem_t endpoint_locals_table[] = {
    ENDPOINT_METHODS(ENTRY)
    // Frees the native endpoint when the object is collected (a native module has no finalisers).
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&endpoint_close_obj) },
};
static MP_DEFINE_CONST_DICT(endpoint_locals, endpoint_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(nomq_mp_type_Endpoint, MP_QSTR_Endpoint, MP_TYPE_FLAG_NONE,
    make_new, endpoint_make_new,
    locals_dict, &endpoint_locals);
#endif

#endif  // NOMQ_MP_ENDPOINT

// `_nomq.Codec`: seals and opens NoMQ v1/v2 datagrams under one key pair, over nomq's C
// framing API (nomq_codec_*). The API follows the Python package's `nomq._nomq.Codec`:
//
//   Codec(encryption_key, trailer_key, version=1, urandom=None)
//   .version                      1 or 2
//   .channel_id(name)             16 bytes (v1: SHA-256 prefix; v2: keyed)
//   .seal(kind, channel_id, body=b"", flags=0, packet_id=0, session_id=0, ttl=3600,
//         timestamp_ms=None, iv=None)                       -> bytes, any packet type
//   .seal_publish(channel, message, qos=1, retain=False, priority=0, ttl=3600,
//         packet_id=None, session_id=None, timestamp_ms=None, iv=None, nonce=None) -> bytes
//   .open(datagram, now_ms=None)  -> Packet (tag checked first, then the ±30 s window)
//   .close()                      frees the native codec now rather than at collection
//
// Omitted times are the wall clock (Unix ms); omitted IVs, ids and nonces come from `urandom`
// (os.urandom by default), drawn NOMQ_MP_RANDOM_POOL bytes at a time. Native memory: in a
// user C module the codec is malloc'd by nomq and freed by close() or the finaliser; in a
// native .mpy nomq's malloc is the GC heap and the codec lives as long as the Codec object
// that points to it.
#include <string.h>

#include "nomq_mp_packet.h"

typedef struct {
    mp_obj_base_t base;
    nomq_codec *codec;  // NULL once closed
    nomq_mp_random_t random;  // IVs, ids and nonces not given by the caller
    void *blocks;       // native module: nomq's heap blocks for this codec (NOMQ_MP_ALLOCATE_INTO)
    mp_obj_t last_channel;        // the str whose id is `last_channel_id` (MP_OBJ_NULL: none yet)
    uint8_t last_channel_id[16];  // seal_publish usually repeats a channel: its id is kept
    uint8_t version;
} codec_obj_t;

static nomq_codec *live(codec_obj_t *self) {
    if (self->codec == NULL) {
        nomq_mp_raise_result(NOMQ_RESULT_CLOSED, "Codec");
    }
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    return self->codec;
}

static void random_bytes(codec_obj_t *self, uint8_t *out, size_t len) {
    nomq_mp_random_bytes(&self->random, out, len);
}

static uint64_t time_arg(mp_obj_t value, const char *name) {
    return value == mp_const_none ? nomq_mp_wall_clock_ms() : nomq_mp_uint(value, UINT64_MAX, name);
}

static mp_obj_t codec_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    enum { ARG_encryption_key, ARG_trailer_key, ARG_version, ARG_urandom };
    NOMQ_MP_ARG_TABLE allowed[] = {
        { MP_QSTR_encryption_key, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_trailer_key, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_version, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(1)} },
        { MP_QSTR_urandom, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all_kw_array(n_args, n_kw, args, MP_ARRAY_SIZE(allowed), allowed, a);

    uint8_t enc[32], trailer[32];
    nomq_mp_fixed_bytes(a[ARG_encryption_key].u_obj, enc, sizeof enc, "encryption_key");
    nomq_mp_fixed_bytes(a[ARG_trailer_key].u_obj, trailer, sizeof trailer, "trailer_key");
    uint8_t version = (uint8_t)nomq_mp_uint(a[ARG_version].u_obj, 255, "version");
    #if MICROPY_ENABLE_DYNRUNTIME
    codec_obj_t *self = mp_obj_malloc(codec_obj_t, type);
    #else
    codec_obj_t *self = mp_obj_malloc_with_finaliser(codec_obj_t, type);
    #endif
    self->codec = NULL;
    nomq_mp_random_init(&self->random, a[ARG_urandom].u_obj);
    self->blocks = NULL;
    self->last_channel = MP_OBJ_NULL;
    self->version = version;
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    nomq_result r = nomq_codec_new(version, enc, trailer, &self->codec);
    // The keys are in nomq's copy now (zeroized when freed); wipe ours, through volatile
    // stores the compiler cannot drop as dead.
    for (volatile uint8_t *p = enc; p < enc + sizeof enc; p++) {
        *p = 0;
    }
    for (volatile uint8_t *p = trailer; p < trailer + sizeof trailer; p++) {
        *p = 0;
    }
    if (r != NOMQ_RESULT_OK) {
        nomq_mp_raise_result(r, "Codec");
    }
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t codec_close(mp_obj_t self_in) {
    codec_obj_t *self = MP_OBJ_TO_PTR(self_in);
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    nomq_codec_free(self->codec);  // NULL (already closed) is fine
    self->codec = NULL;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(codec_close_obj, codec_close);

static mp_obj_t codec_channel_id(mp_obj_t self_in, mp_obj_t name_in) {
    codec_obj_t *self = MP_OBJ_TO_PTR(self_in);
    size_t len;
    const char *name = nomq_mp_text(name_in, &len, "name");
    uint8_t id[16];
    nomq_result r = nomq_codec_channel_id(live(self), name, len, id);
    if (r != NOMQ_RESULT_OK) {
        nomq_mp_raise_result(r, "channel_id");
    }
    return mp_obj_new_bytes(id, sizeof id);
}
static MP_DEFINE_CONST_FUN_OBJ_2(codec_channel_id_obj, codec_channel_id);

// A bytes object of the sealed datagram. The buffer is GC memory, so a MemoryError or a
// raised error leaks nothing.
static mp_obj_t sealed(codec_obj_t *self, const nomq_header *h, const uint8_t *body, size_t body_len,
    bool publish, uint32_t nonce, const char *what) {
    // A v1 PUBLISH carries the reference's 16-byte inner header before the text (nomq-v1 §10).
    size_t plain_len = body_len + (publish && self->version == 1 ? 16 : 0);
    size_t len = body_len > NOMQ_MP_MAX_DATAGRAM ? 0 : nomq_codec_sealed_len(live(self), h->kind, plain_len);
    if (len > NOMQ_MP_MAX_DATAGRAM || body_len > NOMQ_MP_MAX_DATAGRAM) {
        nomq_mp_raise_result(NOMQ_RESULT_PAYLOAD_TOO_LARGE, what);
    }
    if (len == 0) {
        nomq_mp_raise_arg(&mp_type_ValueError, "kind", " must be 1..8 (PUBLISH..PUBCOMP)");
    }
    // Datagrams that fit (v1 always) are sealed on the stack: a temporary heap block freed
    // right away moves the collector's first-free mark back, and every allocation after it
    // then scans the garbage in between (6x slower seals in a large heap, measured).
    uint8_t stack[NOMQ_MP_STACK_BUFFER];
    uint8_t *out = len <= sizeof stack ? stack : m_malloc(len);
    size_t n = 0;
    // Arguments may have run Python code (urandom) since live(): claim the allocations again.
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    nomq_result r = publish
        ? nomq_codec_seal_publish(self->codec, h, nonce, body, body_len, out, len, &n)
        : nomq_codec_seal(self->codec, h, body_len ? body : NULL, body_len, out, len, &n);
    if (out != stack) {
        // Before the result exists: the block is freed either way.
        mp_obj_t result = r == NOMQ_RESULT_OK ? mp_obj_new_bytes(out, n) : MP_OBJ_NULL;
        m_free(out);
        if (r != NOMQ_RESULT_OK) {
            nomq_mp_raise_result(r, what);
        }
        return result;
    }
    if (r != NOMQ_RESULT_OK) {
        nomq_mp_raise_result(r, what);
    }
    return mp_obj_new_bytes(out, n);
}

static mp_obj_t codec_seal(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_kind, ARG_channel_id, ARG_body, ARG_flags, ARG_packet_id, ARG_session_id, ARG_ttl,
           ARG_timestamp_ms, ARG_iv };
    NOMQ_MP_ARG_TABLE allowed[] = {
        { MP_QSTR_kind, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_channel_id, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_body, MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_flags, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_packet_id, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_session_id, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_ttl, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(3600)} },
        { MP_QSTR_timestamp_ms, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_iv, MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args - 1, pos + 1, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    codec_obj_t *self = MP_OBJ_TO_PTR(pos[0]);
    live(self);

    nomq_header h;
    memset(&h, 0, sizeof h);
    h.kind = (uint8_t)nomq_mp_uint(a[ARG_kind].u_obj, 255, "kind");
    nomq_mp_fixed_bytes(a[ARG_channel_id].u_obj, h.channel_id, sizeof h.channel_id, "channel_id");
    h.flags = (uint8_t)nomq_mp_uint(a[ARG_flags].u_obj, 255, "flags");
    h.packet_id = (uint32_t)nomq_mp_uint(a[ARG_packet_id].u_obj, UINT32_MAX, "packet_id");
    h.session_id = (uint32_t)nomq_mp_uint(a[ARG_session_id].u_obj, UINT32_MAX, "session_id");
    h.ttl = (uint16_t)nomq_mp_uint(a[ARG_ttl].u_obj, UINT16_MAX, "ttl");
    h.timestamp_ms = time_arg(a[ARG_timestamp_ms].u_obj, "timestamp_ms");
    if (a[ARG_iv].u_obj == mp_const_none) {
        random_bytes(self, h.iv, sizeof h.iv);
    } else {
        nomq_mp_fixed_bytes(a[ARG_iv].u_obj, h.iv, sizeof h.iv, "iv");
    }
    mp_buffer_info_t body = {.buf = NULL, .len = 0};
    if (a[ARG_body].u_obj != MP_OBJ_NULL) {
        nomq_mp_bytes(a[ARG_body].u_obj, &body, "body");
    }
    return sealed(self, &h, body.buf, body.len, false, 0, "seal");
}
static MP_DEFINE_CONST_FUN_OBJ_KW(codec_seal_obj, 1, codec_seal);

static mp_obj_t codec_seal_publish(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_channel, ARG_message, ARG_qos, ARG_retain, ARG_priority, ARG_ttl, ARG_packet_id,
           ARG_session_id, ARG_timestamp_ms, ARG_iv, ARG_nonce };
    NOMQ_MP_ARG_TABLE allowed[] = {
        { MP_QSTR_channel, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_message, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_qos, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(1)} },
        { MP_QSTR_retain, MP_ARG_OBJ, {.u_obj = mp_const_false} },
        { MP_QSTR_priority, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_ttl, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(3600)} },
        { MP_QSTR_packet_id, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_session_id, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_timestamp_ms, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_iv, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_nonce, MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args - 1, pos + 1, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    codec_obj_t *self = MP_OBJ_TO_PTR(pos[0]);
    nomq_codec *codec = live(self);

    size_t channel_len, message_len;
    const char *channel = nomq_mp_text(a[ARG_channel].u_obj, &channel_len, "channel");
    const uint8_t *message = nomq_mp_text_or_bytes(a[ARG_message].u_obj, &message_len, "message");
    uint8_t qos = (uint8_t)nomq_mp_uint(a[ARG_qos].u_obj, 2, "qos");
    uint8_t priority = (uint8_t)nomq_mp_uint(a[ARG_priority].u_obj, 15, "priority");
    bool retain = mp_obj_is_true(a[ARG_retain].u_obj);

    nomq_header h;
    memset(&h, 0, sizeof h);
    h.kind = 1;  // PUBLISH
    // QoS in bits 0-1, retain bit 2, priority in the high nibble (nomq-v1 §3).
    h.flags = (uint8_t)(qos | (retain ? 4 : 0) | (priority << 4));
    h.ttl = (uint16_t)nomq_mp_uint(a[ARG_ttl].u_obj, UINT16_MAX, "ttl");
    h.timestamp_ms = time_arg(a[ARG_timestamp_ms].u_obj, "timestamp_ms");
    // The same str object as last time (a constant, usually): the same id.
    if (a[ARG_channel].u_obj != self->last_channel) {
        nomq_result r = nomq_codec_channel_id(codec, channel, channel_len, self->last_channel_id);
        if (r != NOMQ_RESULT_OK) {
            self->last_channel = MP_OBJ_NULL;
            nomq_mp_raise_result(r, "seal_publish");
        }
        self->last_channel = a[ARG_channel].u_obj;
    }
    memcpy(h.channel_id, self->last_channel_id, sizeof h.channel_id);
    // One draw covers whichever of IV, packet id, session id and nonce were not given.
    uint8_t drawn[16 + 4 + 4 + 4];
    if (a[ARG_iv].u_obj == mp_const_none || a[ARG_packet_id].u_obj == mp_const_none ||
        a[ARG_session_id].u_obj == mp_const_none || a[ARG_nonce].u_obj == mp_const_none) {
        random_bytes(self, drawn, sizeof drawn);
    }
    if (a[ARG_iv].u_obj == mp_const_none) {
        memcpy(h.iv, drawn, 16);
    } else {
        nomq_mp_fixed_bytes(a[ARG_iv].u_obj, h.iv, sizeof h.iv, "iv");
    }
    uint32_t r32[3];
    memcpy(r32, drawn + 16, sizeof r32);
    h.packet_id = a[ARG_packet_id].u_obj == mp_const_none
        ? r32[0] : (uint32_t)nomq_mp_uint(a[ARG_packet_id].u_obj, UINT32_MAX, "packet_id");
    h.session_id = a[ARG_session_id].u_obj == mp_const_none
        ? r32[1] : (uint32_t)nomq_mp_uint(a[ARG_session_id].u_obj, UINT32_MAX, "session_id");
    uint32_t nonce = a[ARG_nonce].u_obj == mp_const_none
        ? r32[2] : (uint32_t)nomq_mp_uint(a[ARG_nonce].u_obj, UINT32_MAX, "nonce");
    return sealed(self, &h, message, message_len, true, nonce, "seal_publish");
}
static MP_DEFINE_CONST_FUN_OBJ_KW(codec_seal_publish_obj, 3, codec_seal_publish);

static mp_obj_t codec_open(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_datagram, ARG_now_ms };
    NOMQ_MP_ARG_TABLE allowed[] = {
        { MP_QSTR_datagram, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_now_ms, MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args - 1, pos + 1, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    codec_obj_t *self = MP_OBJ_TO_PTR(pos[0]);
    nomq_codec *codec = live(self);

    mp_buffer_info_t datagram;
    nomq_mp_bytes(a[ARG_datagram].u_obj, &datagram, "datagram");
    uint64_t now = time_arg(a[ARG_now_ms].u_obj, "now_ms");
    if (datagram.len > NOMQ_MP_MAX_DATAGRAM) {
        nomq_mp_raise_result(NOMQ_RESULT_MALFORMED, "open");
    }
    // The plaintext is never longer than the datagram: on the stack when it fits (see
    // sealed()), otherwise GC memory, which nothing leaks on a raise.
    uint8_t stack[NOMQ_MP_STACK_BUFFER];
    uint8_t *plain = datagram.len + 1 <= sizeof stack ? stack : m_malloc(datagram.len + 1);
    nomq_header h;
    size_t offset = 0, len = 0;
    NOMQ_MP_ALLOCATE_INTO(&self->blocks);
    nomq_result r = nomq_codec_open(codec, datagram.buf, datagram.len, now, &h, plain, datagram.len + 1,
        &offset, &len);
    mp_obj_t payload = r == NOMQ_RESULT_OK ? mp_obj_new_bytes(plain + offset, len) : MP_OBJ_NULL;
    if (plain != stack) {
        m_free(plain);
    }
    if (r != NOMQ_RESULT_OK) {
        nomq_mp_raise_result(r, "open");
    }
    return nomq_mp_packet_new(&h, payload, h.kind == 1 && self->version == 1);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(codec_open_obj, 2, codec_open);

// `version` is an attribute; everything else is looked up in the locals dict.
static void codec_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    if (dest[0] == MP_OBJ_NULL && attr == MP_QSTR_version) {
        codec_obj_t *self = MP_OBJ_TO_PTR(self_in);
        dest[0] = MP_OBJ_NEW_SMALL_INT(self->version);
        return;
    }
    dest[1] = MP_OBJ_SENTINEL;
}

#if MICROPY_ENABLE_DYNRUNTIME
// A native module builds its tables when it is imported (nomq_mp_codec_init_type).
mp_obj_full_type_t nomq_mp_type_Codec;
static mp_map_elem_t codec_locals_table[5];
static mp_obj_dict_t codec_locals;

void nomq_mp_codec_init_type(void) {
    const qstr names[] = {MP_QSTR_channel_id, MP_QSTR_seal, MP_QSTR_seal_publish, MP_QSTR_open, MP_QSTR_close};
    static const void *const methods[] = {
        &codec_channel_id_obj, &codec_seal_obj, &codec_seal_publish_obj, &codec_open_obj, &codec_close_obj,
    };
    for (size_t i = 0; i < MP_ARRAY_SIZE(methods); i++) {
        codec_locals_table[i].key = MP_OBJ_NEW_QSTR(names[i]);
        codec_locals_table[i].value = MP_OBJ_FROM_PTR(methods[i]);
    }
    nomq_mp_init_fixed_dict(&codec_locals, codec_locals_table, MP_ARRAY_SIZE(codec_locals_table));
    nomq_mp_type_Codec.base.type = &mp_type_type;
    nomq_mp_type_Codec.flags = MP_TYPE_FLAG_NONE;
    nomq_mp_type_Codec.name = MP_QSTR_Codec;
    MP_OBJ_TYPE_SET_SLOT(&nomq_mp_type_Codec, make_new, codec_make_new, 0);
    MP_OBJ_TYPE_SET_SLOT(&nomq_mp_type_Codec, attr, codec_attr, 1);
    MP_OBJ_TYPE_SET_SLOT(&nomq_mp_type_Codec, locals_dict, &codec_locals, 2);
}
#else
static const mp_rom_map_elem_t codec_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_channel_id), MP_ROM_PTR(&codec_channel_id_obj) },
    { MP_ROM_QSTR(MP_QSTR_seal), MP_ROM_PTR(&codec_seal_obj) },
    { MP_ROM_QSTR(MP_QSTR_seal_publish), MP_ROM_PTR(&codec_seal_publish_obj) },
    { MP_ROM_QSTR(MP_QSTR_open), MP_ROM_PTR(&codec_open_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&codec_close_obj) },
    // Frees the native codec when the object is collected (a native module has no finalisers).
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&codec_close_obj) },
};
static MP_DEFINE_CONST_DICT(codec_locals, codec_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(nomq_mp_type_Codec, MP_QSTR_Codec, MP_TYPE_FLAG_NONE,
    make_new, codec_make_new,
    attr, codec_attr,
    locals_dict, &codec_locals);
#endif

// The v1 channel id needs no key: a throwaway v1 codec with zero keys computes it.
mp_obj_t nomq_mp_v1_channel_id(mp_obj_t name_in) {
    size_t len;
    const char *name = nomq_mp_text(name_in, &len, "name");
    static const uint8_t zero[32] = {0};
    nomq_codec *codec = NULL;
    void *blocks = NULL;  // on the stack, scanned by the GC while the codec lives
    NOMQ_MP_ALLOCATE_INTO(&blocks);
    nomq_result r = nomq_codec_new(1, zero, zero, &codec);
    uint8_t id[16];
    if (r == NOMQ_RESULT_OK) {
        r = nomq_codec_channel_id(codec, name, len, id);
        nomq_codec_free(codec);
    }
    NOMQ_MP_ALLOCATE_INTO(NULL);  // `blocks` goes out of scope
    if (r != NOMQ_RESULT_OK) {
        nomq_mp_raise_result(r, "channel_id");
    }
    return mp_obj_new_bytes(id, sizeof id);
}

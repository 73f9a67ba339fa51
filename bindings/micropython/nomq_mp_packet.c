// `_nomq.Packet`: what Codec.open returns. The header fields are kept as C values and made
// into objects on access; the payload is a bytes object made once.
#include "nomq_mp_packet.h"

static void packet_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    (void)kind;
    nomq_mp_packet_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "Packet(kind=%u, packet_id=%u, flags=0x%02x, ttl=%u)", (unsigned)self->header.kind,
        (unsigned)self->header.packet_id, (unsigned)self->header.flags, (unsigned)self->header.ttl);
}

static mp_obj_t qos_of(uint8_t flags) {
    return (flags & 3) == 3 ? mp_const_none : MP_OBJ_NEW_SMALL_INT(flags & 3);
}

// Read-only attributes; anything else is an AttributeError.
static void packet_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    if (dest[0] != MP_OBJ_NULL) {
        return;  // store or delete: not supported, so AttributeError
    }
    nomq_mp_packet_t *self = MP_OBJ_TO_PTR(self_in);
    const nomq_header *h = &self->header;
    // An if-chain, not a switch: a native module's qstrs are not compile-time constants.
    if (attr == MP_QSTR_kind) {
        dest[0] = MP_OBJ_NEW_SMALL_INT(h->kind);
    } else if (attr == MP_QSTR_flags) {
        dest[0] = MP_OBJ_NEW_SMALL_INT(h->flags);
    } else if (attr == MP_QSTR_qos) {
        dest[0] = qos_of(h->flags);
    } else if (attr == MP_QSTR_retain) {
        dest[0] = mp_obj_new_bool(h->flags & 4);
    } else if (attr == MP_QSTR_priority) {
        dest[0] = MP_OBJ_NEW_SMALL_INT(h->flags >> 4);
    } else if (attr == MP_QSTR_packet_id) {
        dest[0] = nomq_mp_new_uint(h->packet_id);
    } else if (attr == MP_QSTR_session_id) {
        dest[0] = nomq_mp_new_uint(h->session_id);
    } else if (attr == MP_QSTR_ttl) {
        dest[0] = MP_OBJ_NEW_SMALL_INT(h->ttl);
    } else if (attr == MP_QSTR_timestamp_ms) {
        dest[0] = nomq_mp_new_uint(h->timestamp_ms);
    } else if (attr == MP_QSTR_channel_id) {
        dest[0] = mp_obj_new_bytes(h->channel_id, sizeof h->channel_id);
    } else if (attr == MP_QSTR_iv) {
        dest[0] = mp_obj_new_bytes(h->iv, sizeof h->iv);
    } else if (attr == MP_QSTR_payload) {
        dest[0] = self->payload;
    } else if (attr == MP_QSTR_text) {
        // v1 PUBLISH messages are UTF-8 text (nomq checked it); other payloads are bytes.
        if (self->is_text) {
            size_t len;
            const char *data = mp_obj_str_get_data(self->payload, &len);
            dest[0] = mp_obj_new_str(data, len);
        } else {
            dest[0] = mp_const_none;
        }
    }
}

mp_obj_t nomq_mp_packet_new(const nomq_header *header, mp_obj_t payload, bool is_text) {
    nomq_mp_packet_t *p = mp_obj_malloc(nomq_mp_packet_t, NOMQ_MP_TYPE(Packet));
    p->header = *header;
    p->payload = payload;
    p->is_text = is_text;
    return MP_OBJ_FROM_PTR(p);
}

#if MICROPY_ENABLE_DYNRUNTIME
mp_obj_full_type_t nomq_mp_type_Packet;

void nomq_mp_packet_init_type(void) {
    nomq_mp_type_Packet.base.type = &mp_type_type;
    nomq_mp_type_Packet.flags = MP_TYPE_FLAG_NONE;
    nomq_mp_type_Packet.name = MP_QSTR_Packet;
    MP_OBJ_TYPE_SET_SLOT(&nomq_mp_type_Packet, print, packet_print, 0);
    MP_OBJ_TYPE_SET_SLOT(&nomq_mp_type_Packet, attr, packet_attr, 1);
}
#else
MP_DEFINE_CONST_OBJ_TYPE(nomq_mp_type_Packet, MP_QSTR_Packet, MP_TYPE_FLAG_NONE,
    print, packet_print,
    attr, packet_attr);
#endif

// MicroPython values to C and back for the nomq calls: unsigned integers of up to 64 bits
// (timestamps in milliseconds exceed a 32-bit port's machine word), bytes-like and text
// arguments and random bytes. Only runtime calls that a native .mpy can also
// make are used, so the same code serves both builds.
#include <string.h>

#include "nomq_mp.h"
#include "py/smallint.h"

static mp_obj_t small(mp_int_t v) {
    return MP_OBJ_NEW_SMALL_INT(v);
}

// An int beyond the small-int range, read 16 bits at a time with int operations (which every
// build has, whatever its long-int implementation).
static uint64_t big_uint(mp_obj_t value, uint64_t max, const char *name) {
    if (mp_binary_op(MP_BINARY_OP_LESS, value, small(0)) == mp_const_true ||
        mp_binary_op(MP_BINARY_OP_RSHIFT, value, small(64)) != small(0)) {
        nomq_mp_raise_range(name, max);
    }
    uint64_t v = 0;
    for (int shift = 48; shift >= 0; shift -= 16) {
        mp_obj_t part = mp_binary_op(MP_BINARY_OP_AND,
            mp_binary_op(MP_BINARY_OP_RSHIFT, value, small(shift)), small(0xffff));
        v = (v << 16) | (uint64_t)MP_OBJ_SMALL_INT_VALUE(part);
    }
    if (v > max) {
        nomq_mp_raise_range(name, max);
    }
    return v;
}

uint64_t nomq_mp_uint(mp_obj_t value, uint64_t max, const char *name) {
    if (mp_obj_is_small_int(value)) {
        mp_int_t v = MP_OBJ_SMALL_INT_VALUE(value);
        if (v < 0 || (uint64_t)v > max) {
            nomq_mp_raise_range(name, max);
        }
        return (uint64_t)v;
    }
    if (!mp_obj_is_int(value)) {
        nomq_mp_raise_arg(&mp_type_TypeError, name, " must be an int");
    }
    return big_uint(value, max, name);
}

mp_obj_t nomq_mp_new_uint(uint64_t value) {
    if (value <= (uint64_t)MP_SMALL_INT_MAX) {
        return small((mp_int_t)value);
    }
    mp_obj_t v = small(0);
    for (int shift = 48; shift >= 0; shift -= 16) {
        v = mp_binary_op(MP_BINARY_OP_LSHIFT, v, small(16));
        v = mp_binary_op(MP_BINARY_OP_OR, v, small((mp_int_t)((value >> shift) & 0xffff)));
    }
    return v;
}

void nomq_mp_bytes(mp_obj_t value, mp_buffer_info_t *info, const char *name) {
    // A str has the buffer protocol too; refuse it so that text and bytes are not confused.
    if (mp_obj_is_str(value) || !mp_get_buffer(value, info, MP_BUFFER_READ)) {
        nomq_mp_raise_arg(&mp_type_TypeError, name, " must be bytes, bytearray or memoryview");
    }
}

void nomq_mp_fixed_bytes(mp_obj_t value, uint8_t *out, size_t size, const char *name) {
    mp_buffer_info_t info;
    nomq_mp_bytes(value, &info, name);
    if (info.len != size) {
        nomq_mp_raise_size(name, size, info.len);
    }
    memcpy(out, info.buf, size);
}

const char *nomq_mp_text(mp_obj_t value, size_t *len, const char *name) {
    if (!mp_obj_is_str(value)) {
        nomq_mp_raise_arg(&mp_type_TypeError, name, " must be a str");
    }
    return mp_obj_str_get_data(value, len);
}

const uint8_t *nomq_mp_text_or_bytes(mp_obj_t value, size_t *len, const char *name) {
    if (mp_obj_is_str(value)) {
        return (const uint8_t *)mp_obj_str_get_data(value, len);
    }
    mp_buffer_info_t info;
    nomq_mp_bytes(value, &info, name);
    *len = info.len;
    return info.buf;
}

mp_obj_t nomq_mp_os_urandom(void) {
    mp_obj_t os = mp_import_name(MP_QSTR_os, mp_const_none, small(0));
    return mp_load_attr(os, MP_QSTR_urandom);
}

void nomq_mp_random(mp_obj_t urandom, uint8_t *out, size_t len) {
    mp_obj_t n = small((mp_int_t)len);
    mp_obj_t got = mp_call_function_n_kw(urandom, 1, 0, &n);
    mp_buffer_info_t info;
    nomq_mp_bytes(got, &info, "urandom()");
    if (info.len != len) {
        nomq_mp_raise_size("urandom()", len, info.len);
    }
    memcpy(out, info.buf, len);
}

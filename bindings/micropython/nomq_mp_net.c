// What the sans-IO objects (Endpoint, MqttSession) need from the port: addresses in the forms
// MicroPython's sockets use, a monotonic millisecond clock that does not wrap, and random
// bytes for nomq's callbacks. Only runtime calls a native .mpy can also make are used, so the
// same code serves both builds.
#include <string.h>

#include "nomq_mp.h"

// ---- addresses ----------------------------------------------------------------------------

// Linux's sockaddr layouts (the unix port hands them out as bytes): family in host order.
#define SOCKADDR_IN_LEN 16
#define SOCKADDR_IN6_LEN 28
#define LINUX_AF_INET 2
#define LINUX_AF_INET6 10

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Dotted IPv4 ("192.168.1.20"): four decimal parts of 0..255.
static bool parse_ipv4(const char *s, size_t len, uint8_t out[4]) {
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || s[i] != '.') {
                return false;
            }
            i++;
        }
        unsigned v = 0;
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        if (i == start || v > 255) {
            return false;
        }
        out[part] = (uint8_t)v;
    }
    return i == len;
}

// IPv6 text: up to eight hex groups, one "::" standing for the zero groups left out.
static bool parse_ipv6(const char *s, size_t len, uint8_t out[16]) {
    uint16_t head[8], tail[8];
    int n_head = 0, n_tail = 0;
    bool gap = false;
    size_t i = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = true;
        i = 2;
    }
    while (i < len) {
        unsigned v = 0;
        size_t start = i;
        int d;
        while (i < len && i - start < 4 && (d = hex_digit(s[i])) >= 0) {
            v = (v << 4) | (unsigned)d;
            i++;
        }
        if (i == start || n_head + n_tail >= 8) {
            return false;
        }
        if (gap) {
            tail[n_tail++] = (uint16_t)v;
        } else {
            head[n_head++] = (uint16_t)v;
        }
        if (i == len) {
            break;
        }
        if (s[i] != ':') {
            return false;
        }
        i++;
        if (i < len && s[i] == ':') {
            if (gap) {
                return false;  // a second "::"
            }
            gap = true;
            i++;
        } else if (i == len) {
            return false;  // a trailing single ':'
        }
    }
    if (gap ? n_head + n_tail > 7 : n_head != 8) {
        return false;
    }
    memset(out, 0, 16);
    for (int k = 0; k < n_head; k++) {
        out[2 * k] = (uint8_t)(head[k] >> 8);
        out[2 * k + 1] = (uint8_t)head[k];
    }
    for (int k = 0; k < n_tail; k++) {
        int at = 8 - n_tail + k;
        out[2 * at] = (uint8_t)(tail[k] >> 8);
        out[2 * at + 1] = (uint8_t)tail[k];
    }
    return true;
}

// A sockaddr as the unix port's sockets give it: Linux's layout, the family in host order.
static void sockaddr_from_bytes(const mp_buffer_info_t *info, nomq_addr *out, const char *name) {
    const uint8_t *b = info->buf;
    uint16_t family = info->len >= 2 ? (uint16_t)(b[0] | b[1] << 8) : 0;
    if (info->len == SOCKADDR_IN_LEN && family == LINUX_AF_INET) {
        out->family = 4;
        memcpy(out->ip, b + 4, 4);
    } else if (info->len == SOCKADDR_IN6_LEN && family == LINUX_AF_INET6) {
        out->family = 6;
        memcpy(out->ip, b + 8, 16);
    } else {
        nomq_mp_raise_arg(&mp_type_ValueError, name, ": not an IPv4 or IPv6 sockaddr");
    }
    out->port = (uint16_t)(b[2] << 8 | b[3]);
}

void nomq_mp_addr_from_obj(mp_obj_t value, nomq_addr *out, const char *name) {
    memset(out, 0, sizeof *out);
    size_t n = 0;
    mp_obj_t *items = NULL;
    mp_buffer_info_t info;
    if (mp_obj_get_type(value) == &mp_type_tuple) {
        mp_obj_get_array(value, &n, &items);
    } else if (!mp_obj_is_str(value) && mp_get_buffer(value, &info, MP_BUFFER_READ)) {
        sockaddr_from_bytes(&info, out, name);
        return;
    }
    if (n != 2) {  // a str, another type, or a tuple of the wrong size
        nomq_mp_raise_arg(&mp_type_TypeError, name, " must be an (ip, port) tuple or a sockaddr");
    }
    size_t len;
    const char *ip = nomq_mp_text(items[0], &len, name);
    out->port = (uint16_t)nomq_mp_uint(items[1], 65535, name);
    if (parse_ipv4(ip, len, out->ip)) {
        out->family = 4;
    } else if (parse_ipv6(ip, len, out->ip)) {
        out->family = 6;
    } else {
        nomq_mp_raise_arg(&mp_type_ValueError, name, ": the ip must be an IPv4 or IPv6 address (resolve host names first)");
    }
}

mp_obj_t nomq_mp_addr_to_obj(const nomq_addr *addr) {
    char text[40];
    size_t n = 0;
    if (addr->family == 4) {
        for (int i = 0; i < 4; i++) {
            unsigned v = addr->ip[i];
            if (i > 0) {
                text[n++] = '.';
            }
            if (v >= 100) {
                text[n++] = (char)('0' + v / 100);
            }
            if (v >= 10) {
                text[n++] = (char)('0' + v / 10 % 10);
            }
            text[n++] = (char)('0' + v % 10);
        }
    } else {
        static const char digits[] = "0123456789abcdef";
        for (int g = 0; g < 8; g++) {
            unsigned v = (unsigned)addr->ip[2 * g] << 8 | addr->ip[2 * g + 1];
            if (g > 0) {
                text[n++] = ':';
            }
            bool started = false;
            for (int shift = 12; shift >= 0; shift -= 4) {
                unsigned d = (v >> shift) & 15;
                if (d != 0 || started || shift == 0) {
                    text[n++] = digits[d];
                    started = true;
                }
            }
        }
    }
    mp_obj_t items[2] = {mp_obj_new_str(text, n), MP_OBJ_NEW_SMALL_INT(addr->port)};
    return mp_obj_new_tuple(2, items);
}

// ---- clocks -------------------------------------------------------------------------------

#if MICROPY_ENABLE_DYNRUNTIME
// A native module reads the clocks through the interpreter's time module. Importing it at
// every reading would search the file system each time (`time` may be extended by a
// time.py), so its functions are looked up once, on import of `_nomq`, kept here and kept
// alive by the module's globals (a native module's static data is not a GC root).
static mp_obj_t time_ns_fn, ticks_ms_fn;
// ticks_ms() counts modulo a power of two, the port's ticks period: this is the period - 1.
static mp_uint_t ticks_mask;

void nomq_mp_clock_init(void) {
    mp_obj_t time = mp_import_name(MP_QSTR_time, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
    mp_obj_t fns[2] = {
        time_ns_fn = mp_load_attr(time, MP_QSTR_time_ns),
        ticks_ms_fn = mp_load_attr(time, MP_QSTR_ticks_ms),
    };
    mp_store_global(MP_QSTR__clock, mp_obj_new_tuple(2, fns));
    // ticks_add(0, -1) wraps to the period - 1.
    mp_obj_t args[2] = {MP_OBJ_NEW_SMALL_INT(0), MP_OBJ_NEW_SMALL_INT(-1)};
    ticks_mask = (mp_uint_t)mp_obj_get_int(mp_call_function_n_kw(mp_load_attr(time, MP_QSTR_ticks_add), 2, 0, args));
}
#else
#include "py/mphal.h"

// The Unix epoch is 1970-01-01; some ports count from 2000-01-01.
#define SECONDS_1970_TO_2000 946684800ull
#endif

// The extended clock: the last raw reading and the milliseconds counted up to it. One clock
// per interpreter; reads come from the VM's thread.
static mp_uint_t last_ticks;
static uint64_t elapsed_ms;
static bool clock_started;

uint64_t nomq_mp_monotonic_ms(void) {
    #if MICROPY_ENABLE_DYNRUNTIME
    // time.ticks_ms() wraps at the port's ticks period (ticks_mask + 1).
    mp_uint_t now = (mp_uint_t)MP_OBJ_SMALL_INT_VALUE(mp_call_function_n_kw(ticks_ms_fn, 0, 0, NULL));
    if (!clock_started) {
        clock_started = true;
        last_ticks = now;
        elapsed_ms = 1;  // never 0: callers may use 0 as "before everything"
    }
    mp_int_t delta = (mp_int_t)((now - last_ticks) & ticks_mask);
    last_ticks = now;
    #else
    // mp_hal_ticks_ms wraps at the machine word: unsigned subtraction gives the step.
    mp_uint_t now = mp_hal_ticks_ms();
    if (!clock_started) {
        clock_started = true;
        last_ticks = now;
        elapsed_ms = 1;
    }
    mp_int_t delta = (mp_int_t)(now - last_ticks);
    last_ticks = now;
    #endif
    if (delta > 0) {
        elapsed_ms += (uint64_t)delta;
    }
    return elapsed_ms;
}

#if MICROPY_ENABLE_DYNRUNTIME
// The wall clock as the monotonic clock plus an offset, taken again from time.time_ns() once a
// second (so a step of the system clock shows within a second): time_ns() is a long int on
// every port (a big-number object to allocate and convert), the ticks are small ints.
#define WALL_RESYNC_MS 1000
static uint64_t wall_offset_ms, wall_synced_at;
#endif

uint64_t nomq_mp_wall_clock_ms(void) {
    #if MICROPY_ENABLE_DYNRUNTIME
    uint64_t mono = nomq_mp_monotonic_ms();
    if (wall_synced_at == 0 || mono - wall_synced_at >= WALL_RESYNC_MS) {
        // Built for the unix port, whose epoch is 1970.
        mp_obj_t ns = mp_call_function_n_kw(time_ns_fn, 0, 0, NULL);
        wall_offset_ms = nomq_mp_uint(ns, UINT64_MAX, "time.time_ns()") / 1000000u - mono;
        wall_synced_at = mono;
    }
    return mono + wall_offset_ms;
    #else
    uint64_t ms = mp_hal_time_ns() / 1000000u;
    #if MICROPY_EPOCH_IS_2000
    ms += SECONDS_1970_TO_2000 * 1000u;
    #endif
    return ms;
    #endif
}

uint64_t nomq_mp_time_arg(mp_obj_t value, bool wall_clock, const char *name) {
    if (value != mp_const_none) {
        return nomq_mp_uint(value, UINT64_MAX - 1, name);
    }
    return wall_clock ? nomq_mp_wall_clock_ms() : nomq_mp_monotonic_ms();
}

// ---- random bytes -------------------------------------------------------------------------

// The interpreter's non-local return buffer. A native module calls the interpreter's
// nlr_push through mp_fun_table, and its own nlr_buf_t layout may be smaller than the
// interpreter's: pad it.
typedef struct {
    nlr_buf_t nlr;
    void *spare[8];
} nlr_frame_t;

#if MICROPY_ENABLE_DYNRUNTIME
#define NLR_PUSH(frame) mp_fun_table.nlr_push(&(frame)->nlr)
#define NLR_POP() mp_fun_table.nlr_pop()
#else
#define NLR_PUSH(frame) nlr_push(&(frame)->nlr)
#define NLR_POP() nlr_pop()
#endif

void nomq_mp_random_init(nomq_mp_random_t *r, mp_obj_t urandom) {
    #if MICROPY_ENABLE_DYNRUNTIME
    // mp_obj_is_callable is not in mp_fun_table: a type that cannot be called has no call slot.
    bool callable = MP_OBJ_TYPE_HAS_SLOT(mp_obj_get_type(urandom), call);
    #else
    bool callable = mp_obj_is_callable(urandom);
    #endif
    if (urandom != mp_const_none && !callable) {
        nomq_mp_raise_arg(&mp_type_TypeError, "urandom", " must be callable, like os.urandom");
    }
    r->urandom = urandom == mp_const_none ? MP_OBJ_NULL : urandom;
    r->error = MP_OBJ_NULL;
    r->used = sizeof r->pool;  // empty: filled when first drawn from
}

void nomq_mp_random_fill(void *ctx, uint8_t *out, size_t len) {
    // `r->urandom` is set: nomq_mp_random_bytes and the constructors of the objects nomq calls
    // back for look os.urandom up before any draw.
    nomq_mp_random_t *r = ctx;
    while (len > 0) {
        if (r->used == sizeof r->pool) {
            if (r->error != MP_OBJ_NULL) {
                break;  // urandom failed already in this call
            }
            // Called from inside a nomq call: catch whatever urandom raises here (nomq's frames
            // must not be unwound) and keep the native allocation owner for the rest of that call.
            #if MICROPY_ENABLE_DYNRUNTIME
            void **owner = nomq_mp_alloc_list;
            #endif
            nlr_frame_t frame;
            if (NLR_PUSH(&frame) == 0) {
                nomq_mp_random(r->urandom, r->pool, sizeof r->pool);
                NLR_POP();
                r->used = 0;
            } else {
                r->error = MP_OBJ_FROM_PTR(frame.nlr.ret_val);
            }
            #if MICROPY_ENABLE_DYNRUNTIME
            nomq_mp_alloc_list = owner;
            #endif
            continue;
        }
        size_t n = sizeof r->pool - r->used;
        if (n > len) {
            n = len;
        }
        memcpy(out, r->pool + r->used, n);
        // Bytes handed out are not kept: the pool holds only what is still to come.
        memset(r->pool + r->used, 0, n);
        r->used = (uint8_t)(r->used + n);
        out += n;
        len -= n;
    }
    if (len > 0) {
        memset(out, 0, len);  // never used: nomq_mp_random_check raises before the result is
    }
}

void nomq_mp_random_bytes(nomq_mp_random_t *r, uint8_t *out, size_t len) {
    if (r->urandom == MP_OBJ_NULL) {
        r->urandom = nomq_mp_os_urandom();
    }
    nomq_mp_random_fill(r, out, len);
    nomq_mp_random_check(r);
}

void nomq_mp_random_check(nomq_mp_random_t *r) {
    if (r->error != MP_OBJ_NULL) {
        mp_obj_t e = r->error;
        r->error = MP_OBJ_NULL;
        nlr_raise(e);
    }
}

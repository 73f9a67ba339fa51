// nomq's results as MicroPython exceptions. The classes follow the Python package's
// (python/nomq/errors.py) where a datagram or a config is at fault: NomqError, FrameError,
// AuthenticationError and StaleError (both FrameErrors), ConfigError, QueueFull (a bounded
// table or outbox refused: retry later, or read what is waiting). A bad argument raises
// the built-in ValueError or TypeError, since MicroPython's native classes have one base only
// and callers catch those naturally. The message names the operation, nomq's text for the
// result and its number (the C `nomq_result`), e.g.
// "open: authentication or padding failed: wrong keys, tampering or corruption (nomq 202)".
#include <string.h>

#include "nomq_mp.h"

#if MICROPY_ENABLE_DYNRUNTIME
mp_obj_full_type_t nomq_mp_type_NomqError;
mp_obj_full_type_t nomq_mp_type_FrameError;
mp_obj_full_type_t nomq_mp_type_AuthenticationError;
mp_obj_full_type_t nomq_mp_type_StaleError;
mp_obj_full_type_t nomq_mp_type_ConfigError;
mp_obj_full_type_t nomq_mp_type_QueueFull;

void nomq_mp_errors_init_types(void) {
    mp_obj_exception_init(&nomq_mp_type_NomqError, MP_QSTR_NomqError, &mp_type_Exception);
    mp_obj_exception_init(&nomq_mp_type_FrameError, MP_QSTR_FrameError, NOMQ_MP_TYPE(NomqError));
    mp_obj_exception_init(&nomq_mp_type_AuthenticationError, MP_QSTR_AuthenticationError, NOMQ_MP_TYPE(FrameError));
    mp_obj_exception_init(&nomq_mp_type_StaleError, MP_QSTR_StaleError, NOMQ_MP_TYPE(FrameError));
    mp_obj_exception_init(&nomq_mp_type_ConfigError, MP_QSTR_ConfigError, NOMQ_MP_TYPE(NomqError));
    mp_obj_exception_init(&nomq_mp_type_QueueFull, MP_QSTR_QueueFull, NOMQ_MP_TYPE(NomqError));
}
#else
#include "py/objexcept.h"

#define DEFINE_ERROR(name, base) \
    MP_DEFINE_CONST_OBJ_TYPE(nomq_mp_type_##name, MP_QSTR_##name, MP_TYPE_FLAG_NONE, \
        make_new, mp_obj_exception_make_new, \
        print, mp_obj_exception_print, \
        attr, mp_obj_exception_attr, \
        parent, base)

DEFINE_ERROR(NomqError, &mp_type_Exception);
DEFINE_ERROR(FrameError, &nomq_mp_type_NomqError);
DEFINE_ERROR(AuthenticationError, &nomq_mp_type_FrameError);
DEFINE_ERROR(StaleError, &nomq_mp_type_FrameError);
DEFINE_ERROR(ConfigError, &nomq_mp_type_NomqError);
DEFINE_ERROR(QueueFull, &nomq_mp_type_NomqError);
#endif

// A message assembled on the stack; natmods have no libc formatting.
typedef struct {
    char buf[192];
    size_t len;
} message_t;

static void put(message_t *m, const char *text) {
    size_t n = strlen(text);
    if (n > sizeof m->buf - m->len) {
        n = sizeof m->buf - m->len;
    }
    memcpy(m->buf + m->len, text, n);
    m->len += n;
}

static void put_uint(message_t *m, uint64_t value) {
    char digits[21];
    size_t i = sizeof digits;
    digits[--i] = '\0';
    do {
        digits[--i] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    put(m, digits + i);
}

static MP_NORETURN void raise_message(const mp_obj_type_t *type, const message_t *m) {
    nlr_raise(mp_obj_new_exception_arg1(type, mp_obj_new_str(m->buf, m->len)));
}

static const mp_obj_type_t *class_of(nomq_result result) {
    switch (result) {
        case NOMQ_RESULT_INVALID_ARGUMENT:
        case NOMQ_RESULT_BUFFER_TOO_SMALL:
        case NOMQ_RESULT_PAYLOAD_TOO_LARGE:
        case NOMQ_RESULT_NOT_TEXT:
        case NOMQ_RESULT_INVALID_URL:
        case NOMQ_RESULT_MQTT_INVALID_TOPIC:     // the caller's topic or filter
        case NOMQ_RESULT_MQTT_PACKET_TOO_LARGE:  // the caller's message, over the server's limit
            return &mp_type_ValueError;
        case NOMQ_RESULT_MALFORMED:
        case NOMQ_RESULT_UNSUPPORTED_VERSION:
            return NOMQ_MP_TYPE(FrameError);
        case NOMQ_RESULT_AUTH_FAILED:
            return NOMQ_MP_TYPE(AuthenticationError);
        case NOMQ_RESULT_STALE:
            return NOMQ_MP_TYPE(StaleError);
        case NOMQ_RESULT_CONFIG_INVALID:
            return NOMQ_MP_TYPE(ConfigError);
        case NOMQ_RESULT_FULL:
            return NOMQ_MP_TYPE(QueueFull);
        default:
            return NOMQ_MP_TYPE(NomqError);
    }
}

MP_NORETURN void nomq_mp_raise_result(nomq_result result, const char *what) {
    message_t m = {.len = 0};
    put(&m, what);
    put(&m, ": ");
    put(&m, nomq_result_str(result));
    put(&m, " (nomq ");
    put_uint(&m, result);
    put(&m, ")");
    raise_message(class_of(result), &m);
}

MP_NORETURN void nomq_mp_raise_arg(const mp_obj_type_t *type, const char *name, const char *text) {
    message_t m = {.len = 0};
    put(&m, name);
    put(&m, text);
    raise_message(type, &m);
}

MP_NORETURN void nomq_mp_raise_size(const char *name, size_t size, size_t got) {
    message_t m = {.len = 0};
    put(&m, name);
    put(&m, " must be ");
    put_uint(&m, size);
    put(&m, " bytes, got ");
    put_uint(&m, got);
    raise_message(&mp_type_ValueError, &m);
}

MP_NORETURN void nomq_mp_raise_range(const char *name, uint64_t max) {
    message_t m = {.len = 0};
    put(&m, name);
    put(&m, " must be within 0..");
    put_uint(&m, max);
    raise_message(&mp_type_ValueError, &m);
}

// Shared declarations of the `_nomq` MicroPython module: the glue between MicroPython objects
// and nomq's C API (include/nomq.h). The same sources build as a user C module
// (micropython.mk, micropython.cmake) and, with MICROPY_ENABLE_DYNRUNTIME, as a native .mpy.
#ifndef NOMQ_MP_H
#define NOMQ_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "py/obj.h"
#include "py/runtime.h"
#if MICROPY_ENABLE_DYNRUNTIME
#include "py/dynruntime.h"  // the runtime through mp_fun_table (a native .mpy)
#endif

#include "nomq.h"

// The module's parts beyond the framing codec, each 1 unless the build sets it to 0 (natmod
// feature sets, to keep a native module small: the linker drops the nomq code no part uses).
#ifndef NOMQ_MP_CONFIG
#define NOMQ_MP_CONFIG 1    // read_config, write_config
#endif
#ifndef NOMQ_MP_ENDPOINT
#define NOMQ_MP_ENDPOINT 1  // Endpoint
#endif
#ifndef NOMQ_MP_MQTT
#define NOMQ_MP_MQTT 1      // MqttSession
#endif

// Largest datagram sealed or opened: a UDP datagram's payload over IPv4.
#define NOMQ_MP_MAX_DATAGRAM 65507u

// The module's types and exception classes. A user C module defines them as constants; a
// native .mpy (MICROPY_ENABLE_DYNRUNTIME) fills them in when it is imported, as its data
// cannot hold the runtime's addresses before then. Use NOMQ_MP_TYPE(Codec) for either.
#if MICROPY_ENABLE_DYNRUNTIME
#define NOMQ_MP_DECLARE_TYPE(name) extern mp_obj_full_type_t nomq_mp_type_##name
#define NOMQ_MP_TYPE(name) ((const mp_obj_type_t *)&nomq_mp_type_##name)
#else
#define NOMQ_MP_DECLARE_TYPE(name) extern const mp_obj_type_t nomq_mp_type_##name
#define NOMQ_MP_TYPE(name) (&nomq_mp_type_##name)
#endif
NOMQ_MP_DECLARE_TYPE(NomqError);            // base of every nomq error
NOMQ_MP_DECLARE_TYPE(FrameError);           // a datagram is malformed or of another version
NOMQ_MP_DECLARE_TYPE(AuthenticationError);  // wrong keys, tampering or corruption
NOMQ_MP_DECLARE_TYPE(StaleError);           // timestamp outside the acceptance window
NOMQ_MP_DECLARE_TYPE(ConfigError);          // a config file or key is invalid
NOMQ_MP_DECLARE_TYPE(QueueFull);            // a bounded table or outbox is full (nomq 400)
NOMQ_MP_DECLARE_TYPE(Codec);
NOMQ_MP_DECLARE_TYPE(Packet);
NOMQ_MP_DECLARE_TYPE(Endpoint);
NOMQ_MP_DECLARE_TYPE(MqttSession);

// Argument tables name their keywords with qstrs. A native module's qstrs are only known once
// it is loaded (they are read from its qstr table), so there the tables are built on the
// stack at each call instead of being constant data.
#if MICROPY_ENABLE_DYNRUNTIME
#define NOMQ_MP_ARG_TABLE const mp_arg_t
#else
#define NOMQ_MP_ARG_TABLE static const mp_arg_t
#endif

// Native memory. In a native module nomq's malloc is the GC heap (natmod/natmod_libc.c), and
// the GC only keeps a block alive through a pointer to its start, which nomq need not keep
// (an over-aligned block is returned past its start). So each block is linked into the list
// of the object it belongs to: call NOMQ_MP_ALLOCATE_INTO(&obj->blocks) right before every
// nomq call on that object, with no Python code in between (it could make other nomq calls).
// A user C module uses the C library's malloc and needs none of this.
#if MICROPY_ENABLE_DYNRUNTIME
extern void **nomq_mp_alloc_list;
#define NOMQ_MP_ALLOCATE_INTO(list) (nomq_mp_alloc_list = (list))
#else
#define NOMQ_MP_ALLOCATE_INTO(list) ((void)(list))
#endif

// Raises the exception for a failed nomq call: `what` names the operation.
MP_NORETURN void nomq_mp_raise_result(nomq_result result, const char *what);
// Raises `type(message)` where the message is `name` followed by `text` (both static).
MP_NORETURN void nomq_mp_raise_arg(const mp_obj_type_t *type, const char *name, const char *text);
// Raises ValueError("`name` must be `size` bytes, got `got`").
MP_NORETURN void nomq_mp_raise_size(const char *name, size_t size, size_t got);
// Raises ValueError("`name` must be within 0..`max`").
MP_NORETURN void nomq_mp_raise_range(const char *name, uint64_t max);

// Arguments (nomq_mp_args.c). Each raises TypeError for a wrong type and ValueError for a
// value out of range, naming the argument.
uint64_t nomq_mp_uint(mp_obj_t value, uint64_t max, const char *name);
mp_obj_t nomq_mp_new_uint(uint64_t value);
// Bytes-like (bytes, bytearray, memoryview), not str.
void nomq_mp_bytes(mp_obj_t value, mp_buffer_info_t *info, const char *name);
// Exactly `size` bytes, copied to `out`.
void nomq_mp_fixed_bytes(mp_obj_t value, uint8_t *out, size_t size, const char *name);
// A str's UTF-8 bytes.
const char *nomq_mp_text(mp_obj_t value, size_t *len, const char *name);
// str (its UTF-8) or bytes-like.
const uint8_t *nomq_mp_text_or_bytes(mp_obj_t value, size_t *len, const char *name);
// Unix time in milliseconds from the port's wall clock (nomq_mp_net.c).
uint64_t nomq_mp_wall_clock_ms(void);
// `len` random bytes from `urandom` (a callable like os.urandom).
void nomq_mp_random(mp_obj_t urandom, uint8_t *out, size_t len);
// os.urandom, imported when first needed.
mp_obj_t nomq_mp_os_urandom(void);

#if MICROPY_ENABLE_DYNRUNTIME
// A native module's types and tables, filled in by mpy_init (natmod/natmod_init.c).
void nomq_mp_errors_init_types(void);
void nomq_mp_codec_init_type(void);
void nomq_mp_packet_init_type(void);
void nomq_mp_endpoint_init_type(void);
void nomq_mp_mqtt_init_type(void);
// Looks up the time module's clock functions once (nomq_mp_net.c).
void nomq_mp_clock_init(void);
// A fixed, ordered dict over `table` (`n` entries with qstr keys), in static storage.
void nomq_mp_init_fixed_dict(mp_obj_dict_t *dict, mp_map_elem_t *table, size_t n);
#endif

// Random bytes (IVs, ids, nonces, jitter), drawn from `urandom` (a callable like os.urandom)
// in blocks of NOMQ_MP_RANDOM_POOL bytes: one call serves several packets (each call of
// os.urandom is a system call on the unix port). Also the nomq_random_fn of endpoints and
// sessions: nomq calls back in the middle of a call, where the pool is refilled by a protected
// call into the VM, so an exception from `urandom` never unwinds through nomq's frames: it is
// kept in `error` and raised by nomq_mp_random_check once the nomq call has returned (whatever
// that call produced with the missing bytes is discarded). Bytes handed out are wiped from the
// pool; the ones it still holds are not secret once used (IVs and ids travel in clear).
#define NOMQ_MP_RANDOM_POOL 128
typedef struct {
    mp_obj_t urandom;   // MP_OBJ_NULL: os.urandom, looked up when first needed
    mp_obj_t error;     // MP_OBJ_NULL, or the exception urandom raised during a nomq call
    uint8_t used;       // bytes of `pool` already handed out
    uint8_t pool[NOMQ_MP_RANDOM_POOL];
} nomq_mp_random_t;
// `urandom` None means os.urandom. Raises TypeError when it is not callable.
void nomq_mp_random_init(nomq_mp_random_t *r, mp_obj_t urandom);
// `len` random bytes outside a nomq call: raises what urandom raised.
void nomq_mp_random_bytes(nomq_mp_random_t *r, uint8_t *out, size_t len);
// The nomq_random_fn; `ctx` is a nomq_mp_random_t.
void nomq_mp_random_fill(void *ctx, uint8_t *out, size_t len);
// Raises the exception urandom raised during the last nomq call, if any.
void nomq_mp_random_check(nomq_mp_random_t *r);

// The monotonic clock in milliseconds, as 64 bits that do not wrap: the port's ticks_ms
// (which wraps) extended on every read. nomq's timers run on it.
uint64_t nomq_mp_monotonic_ms(void);
// A time argument: None means the given clock's now.
uint64_t nomq_mp_time_arg(mp_obj_t value, bool wall_clock, const char *name);

// Addresses (nomq_mp_net.c): `(ip, port)` with an IPv4 or IPv6 text address, or a sockaddr
// as the unix port's sockets give it (bytes: sockaddr_in or sockaddr_in6). Host names are
// resolved by the caller (socket.getaddrinfo).
void nomq_mp_addr_from_obj(mp_obj_t value, nomq_addr *out, const char *name);
// `(ip, port)`: dotted IPv4, or IPv6 as eight hex groups.
mp_obj_t nomq_mp_addr_to_obj(const nomq_addr *addr);

// Temporary buffers live on the C stack up to these sizes, on the heap beyond: datagrams
// (every v1 datagram fits) and event data. A heap block freed right after use moves the
// collector's first-free mark back and slows every later allocation until the next collection.
#define NOMQ_MP_STACK_BUFFER 1536
#define NOMQ_MP_EVENT_STACK 512

// Module functions (nomq_mp_config.c): the reference's config file text.
mp_obj_t nomq_mp_read_config(mp_obj_t text);
mp_obj_t nomq_mp_write_config(size_t n_args, const mp_obj_t *pos, mp_map_t *kw);

// Module functions (nomq_mp_codec.c).
// The v1 channel id of `name` (keyless: a SHA-256 prefix), as 16 bytes.
mp_obj_t nomq_mp_v1_channel_id(mp_obj_t name);

#endif

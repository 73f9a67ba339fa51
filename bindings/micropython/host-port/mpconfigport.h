// Configuration of the host port: the core features, plus what the nomq tests use (sys.path
// imports of generated vector modules, sys.exit, gc, bytearray and memoryview, long ints for
// u64 timestamps, finalisers so that codecs free their native memory).
#include <stdint.h>

#define MICROPY_CONFIG_ROM_LEVEL            (MICROPY_CONFIG_ROM_LEVEL_CORE_FEATURES)

#define MICROPY_ENABLE_COMPILER             (1)
#define MICROPY_ENABLE_GC                   (1)
#define MICROPY_ENABLE_FINALISER            (1)
#define MICROPY_STACK_CHECK                 (1)
#define MICROPY_HELPER_REPL                 (0)
#define MICROPY_ENABLE_EXTERNAL_IMPORT      (1)
#define MICROPY_READER_POSIX                (1)
#define MICROPY_LONGINT_IMPL                (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL                  (MICROPY_FLOAT_IMPL_DOUBLE)
#define MICROPY_ERROR_REPORTING             (MICROPY_ERROR_REPORTING_DETAILED)
#define MICROPY_ENABLE_SOURCE_LINE          (1)
#define MICROPY_CPYTHON_COMPAT              (1)
#define MICROPY_PY_BUILTINS_STR_UNICODE     (1)
#define MICROPY_PY_BUILTINS_BYTEARRAY       (1)
#define MICROPY_PY_BUILTINS_MEMORYVIEW      (1)
#define MICROPY_PY_BUILTINS_BYTES_HEX       (1)
#define MICROPY_PY_GC                       (1)
#define MICROPY_PY_SYS                      (1)
#define MICROPY_PY_SYS_PATH                 (1)
#define MICROPY_PY_SYS_ARGV                 (1)
#define MICROPY_PY_SYS_EXIT                 (1)
#define MICROPY_PY_SYS_PLATFORM             "linux"
// No open() or io module: scripts are read by the port itself (py/reader.c).
#define MICROPY_PY_IO                       (0)
// No extmod/: no os, time, json, ... modules beyond the os.urandom of this port.
#define MICROPY_PY_OS                       (0)
#define MICROPY_PY_TIME                     (0)
#define MICROPY_VFS                         (0)
// The wall clock that `_nomq` reads (mp_hal_time_ns) is Unix time.
#define MICROPY_EPOCH_IS_1970               (1)

#define MICROPY_ALLOC_PATH_MAX              (256)

// Host types: a 64-bit machine word.
typedef intptr_t mp_int_t;
typedef uintptr_t mp_uint_t;
typedef long mp_off_t;

#define MICROPY_HW_BOARD_NAME               "host"
#define MICROPY_HW_MCU_NAME                 "x86_64"

#define MP_STATE_PORT                       MP_STATE_VM

#include <alloca.h>

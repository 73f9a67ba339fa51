// Stand-in for MicroPython's extmod/modplatform.h, which py/modsys.c includes for the
// platform strings: a source tree without extmod/ lacks it. These are the only names used.
#ifndef NOMQ_HOST_PORT_MODPLATFORM_H
#define NOMQ_HOST_PORT_MODPLATFORM_H
#define MICROPY_PLATFORM_ARCH               "x86_64"
#define MICROPY_PLATFORM_SYSTEM             "Linux"
#define MICROPY_PLATFORM_VERSION            ""
#define MICROPY_PLATFORM_COMPILER           "gcc"
#define MICROPY_PLATFORM_LIBC_LIB           "glibc"
#define MICROPY_PLATFORM_LIBC_VER           ""
#endif

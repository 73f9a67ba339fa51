// `os.urandom(n)`, the one function of `os` the host port has (there is no extmod/ here):
// `_nomq` draws IVs, packet ids and nonces from it, as it does on ESP32 and the unix port.
#include <errno.h>
#include <sys/random.h>

#include "py/runtime.h"

static mp_obj_t os_urandom(mp_obj_t n_in) {
    mp_int_t n = mp_obj_get_int(n_in);
    if (n < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("negative length"));
    }
    vstr_t vstr;
    vstr_init_len(&vstr, (size_t)n);
    size_t done = 0;
    while (done < (size_t)n) {
        ssize_t got = getrandom(vstr.buf + done, (size_t)n - done, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            mp_raise_OSError(errno);
        }
        done += (size_t)got;
    }
    return mp_obj_new_bytes_from_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_1(os_urandom_obj, os_urandom);

static const mp_rom_map_elem_t os_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_os) },
    { MP_ROM_QSTR(MP_QSTR_urandom), MP_ROM_PTR(&os_urandom_obj) },
};
static MP_DEFINE_CONST_DICT(os_module_globals, os_module_globals_table);

const mp_obj_module_t mp_module_os = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&os_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_os, mp_module_os);

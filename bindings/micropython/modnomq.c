// The `_nomq` MicroPython module: NoMQ framing over nomq's C API (include/nomq.h, linked from
// libnomq.a built with the firmware profile). This file is the module's table: constant for a
// user C module, filled in by mpy_init for a native .mpy. nomq_mp_codec.c has the Codec,
// nomq_mp_packet.c the Packet it opens, nomq_mp_errors.c the exceptions and nomq_mp_args.c
// the argument conversions.
#include <string.h>

#include "nomq_mp.h"

// _nomq.channel_id(name): the v1 channel id (keyless).
static MP_DEFINE_CONST_FUN_OBJ_1(nomq_mp_channel_id_obj, nomq_mp_v1_channel_id);

// _nomq.version(): the library's version string, e.g. "0.1.0".
static mp_obj_t nomq_mp_version(void) {
    const char *v = nomq_version();
    return mp_obj_new_str(v, strlen(v));
}
static MP_DEFINE_CONST_FUN_OBJ_0(nomq_mp_version_obj, nomq_mp_version);

#if MICROPY_ENABLE_DYNRUNTIME
// The entry point of the native module, run on import: fills in the types, then stores the
// module's names in its globals.
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    nomq_mp_errors_init_types();
    nomq_mp_packet_init_type();
    nomq_mp_codec_init_type();
    mp_store_global(MP_QSTR_Codec, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(Codec)));
    mp_store_global(MP_QSTR_Packet, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(Packet)));
    mp_store_global(MP_QSTR_channel_id, MP_OBJ_FROM_PTR(&nomq_mp_channel_id_obj));
    mp_store_global(MP_QSTR_version, MP_OBJ_FROM_PTR(&nomq_mp_version_obj));
    mp_store_global(MP_QSTR_NomqError, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(NomqError)));
    mp_store_global(MP_QSTR_FrameError, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(FrameError)));
    mp_store_global(MP_QSTR_AuthenticationError, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(AuthenticationError)));
    mp_store_global(MP_QSTR_StaleError, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(StaleError)));
    mp_store_global(MP_QSTR_ConfigError, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(ConfigError)));
    const qstr kinds[] = {MP_QSTR_PUBLISH, MP_QSTR_SUBSCRIBE, MP_QSTR_ACK, MP_QSTR_UNSUBSCRIBE, MP_QSTR_HEARTBEAT,
                          MP_QSTR_PUBREC, MP_QSTR_PUBREL, MP_QSTR_PUBCOMP};
    for (size_t i = 0; i < MP_ARRAY_SIZE(kinds); i++) {
        mp_store_global(kinds[i], MP_OBJ_NEW_SMALL_INT(i + 1));
    }
    MP_DYNRUNTIME_INIT_EXIT
}
#else
static const mp_rom_map_elem_t nomq_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__nomq) },
    { MP_ROM_QSTR(MP_QSTR_Codec), MP_ROM_PTR(&nomq_mp_type_Codec) },
    { MP_ROM_QSTR(MP_QSTR_Packet), MP_ROM_PTR(&nomq_mp_type_Packet) },
    { MP_ROM_QSTR(MP_QSTR_channel_id), MP_ROM_PTR(&nomq_mp_channel_id_obj) },
    { MP_ROM_QSTR(MP_QSTR_version), MP_ROM_PTR(&nomq_mp_version_obj) },
    { MP_ROM_QSTR(MP_QSTR_NomqError), MP_ROM_PTR(&nomq_mp_type_NomqError) },
    { MP_ROM_QSTR(MP_QSTR_FrameError), MP_ROM_PTR(&nomq_mp_type_FrameError) },
    { MP_ROM_QSTR(MP_QSTR_AuthenticationError), MP_ROM_PTR(&nomq_mp_type_AuthenticationError) },
    { MP_ROM_QSTR(MP_QSTR_StaleError), MP_ROM_PTR(&nomq_mp_type_StaleError) },
    { MP_ROM_QSTR(MP_QSTR_ConfigError), MP_ROM_PTR(&nomq_mp_type_ConfigError) },
    // Packet types (nomq-v1 §3).
    { MP_ROM_QSTR(MP_QSTR_PUBLISH), MP_ROM_INT(1) },
    { MP_ROM_QSTR(MP_QSTR_SUBSCRIBE), MP_ROM_INT(2) },
    { MP_ROM_QSTR(MP_QSTR_ACK), MP_ROM_INT(3) },
    { MP_ROM_QSTR(MP_QSTR_UNSUBSCRIBE), MP_ROM_INT(4) },
    { MP_ROM_QSTR(MP_QSTR_HEARTBEAT), MP_ROM_INT(5) },
    { MP_ROM_QSTR(MP_QSTR_PUBREC), MP_ROM_INT(6) },
    { MP_ROM_QSTR(MP_QSTR_PUBREL), MP_ROM_INT(7) },
    { MP_ROM_QSTR(MP_QSTR_PUBCOMP), MP_ROM_INT(8) },
};
static MP_DEFINE_CONST_DICT(nomq_module_globals, nomq_module_globals_table);

const mp_obj_module_t nomq_mp_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&nomq_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__nomq, nomq_mp_module);
#endif

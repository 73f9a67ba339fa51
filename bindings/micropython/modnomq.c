// The `_nomq` MicroPython module: NoMQ framing, the NoMQ endpoint and the MQTT session over
// nomq's C API (include/nomq.h, linked from libnomq.a built with the firmware profile). This
// file is the module's table: constant for a user C module, filled in by mpy_init for a native
// .mpy. nomq_mp_codec.c has the Codec, nomq_mp_packet.c the Packet it opens,
// nomq_mp_endpoint.c the Endpoint, nomq_mp_mqtt.c the MqttSession, nomq_mp_net.c their
// addresses, clock and randomness, nomq_mp_config.c the config file, nomq_mp_errors.c the exceptions and nomq_mp_args.c
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

#if NOMQ_MP_CONFIG
static MP_DEFINE_CONST_FUN_OBJ_1(nomq_mp_read_config_obj, nomq_mp_read_config);
static MP_DEFINE_CONST_FUN_OBJ_KW(nomq_mp_write_config_obj, 2, nomq_mp_write_config);
#endif

// _nomq.monotonic_ms(): the clock Endpoint and MqttSession timers run on (poll_timeout).
static mp_obj_t nomq_mp_monotonic(void) {
    return nomq_mp_new_uint(nomq_mp_monotonic_ms());
}
static MP_DEFINE_CONST_FUN_OBJ_0(nomq_mp_monotonic_ms_obj, nomq_mp_monotonic);

// Integer constants: packet types (nomq-v1 §3), then the first item of Endpoint and
// MqttSession event tuples and their outcomes (include/nomq.h's enums).
#define NOMQ_MP_CONSTANTS(X) \
    X(PUBLISH, 1) X(SUBSCRIBE, 2) X(ACK, 3) X(UNSUBSCRIBE, 4) X(HEARTBEAT, 5) X(PUBREC, 6) X(PUBREL, 7) \
    X(PUBCOMP, 8)
#if NOMQ_MP_ENDPOINT
#define NOMQ_MP_ENDPOINT_CONSTANTS(X) \
    X(EV_MESSAGE, NOMQ_ENDPOINT_EVENT_KIND_MESSAGE) X(EV_PUBLISH_DONE, NOMQ_ENDPOINT_EVENT_KIND_PUBLISH_DONE) \
    X(EV_PEER_ALIVE, NOMQ_ENDPOINT_EVENT_KIND_PEER_ALIVE) X(EV_PEER_LOST, NOMQ_ENDPOINT_EVENT_KIND_PEER_LOST) \
    X(EV_DROPPED, NOMQ_ENDPOINT_EVENT_KIND_DROPPED) \
    X(OUTCOME_SENT, NOMQ_PUBLISH_OUTCOME_SENT) X(OUTCOME_CONFIRMED, NOMQ_PUBLISH_OUTCOME_CONFIRMED) \
    X(OUTCOME_EXPIRED, NOMQ_PUBLISH_OUTCOME_EXPIRED)
#else
#define NOMQ_MP_ENDPOINT_CONSTANTS(X)
#endif
#if NOMQ_MP_MQTT
#define NOMQ_MP_MQTT_CONSTANTS(X) \
    X(MQTT_CONNECTED, NOMQ_MQTT_EVENT_KIND_CONNECTED) X(MQTT_DISCONNECTED, NOMQ_MQTT_EVENT_KIND_DISCONNECTED) \
    X(MQTT_MESSAGE, NOMQ_MQTT_EVENT_KIND_MESSAGE) X(MQTT_PUBLISH_DONE, NOMQ_MQTT_EVENT_KIND_PUBLISH_DONE) \
    X(MQTT_DROPPED, NOMQ_MQTT_EVENT_KIND_DROPPED) X(MQTT_SUBSCRIBED, NOMQ_MQTT_EVENT_KIND_SUBSCRIBED) \
    X(MQTT_UNSUBSCRIBED, NOMQ_MQTT_EVENT_KIND_UNSUBSCRIBED) \
    X(MQTT_AUTH_CHALLENGE, NOMQ_MQTT_EVENT_KIND_AUTH_CHALLENGE) \
    X(MQTT_OPEN_TRANSPORT, NOMQ_MQTT_EVENT_KIND_OPEN_TRANSPORT) \
    X(MQTT_SENT, NOMQ_MQTT_OUTCOME_SENT) X(MQTT_CONFIRMED, NOMQ_MQTT_OUTCOME_CONFIRMED) \
    X(MQTT_REFUSED, NOMQ_MQTT_OUTCOME_REFUSED) X(MQTT_EXPIRED, NOMQ_MQTT_OUTCOME_EXPIRED) \
    X(MQTT_SESSION_LOST, NOMQ_MQTT_OUTCOME_SESSION_LOST)
#else
#define NOMQ_MP_MQTT_CONSTANTS(X)
#endif

#if MICROPY_ENABLE_DYNRUNTIME
// The entry point of the native module, run on import: fills in the types, then stores the
// module's names in its globals.
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    nomq_mp_clock_init();
    nomq_mp_errors_init_types();
    nomq_mp_packet_init_type();
    nomq_mp_codec_init_type();
    #if NOMQ_MP_ENDPOINT
    nomq_mp_endpoint_init_type();
    mp_store_global(MP_QSTR_Endpoint, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(Endpoint)));
    #endif
    #if NOMQ_MP_MQTT
    nomq_mp_mqtt_init_type();
    mp_store_global(MP_QSTR_MqttSession, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(MqttSession)));
    #endif
    #if NOMQ_MP_CONFIG
    mp_store_global(MP_QSTR_read_config, MP_OBJ_FROM_PTR(&nomq_mp_read_config_obj));
    mp_store_global(MP_QSTR_write_config, MP_OBJ_FROM_PTR(&nomq_mp_write_config_obj));
    #endif
    mp_store_global(MP_QSTR_Codec, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(Codec)));
    mp_store_global(MP_QSTR_Packet, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(Packet)));
    mp_store_global(MP_QSTR_monotonic_ms, MP_OBJ_FROM_PTR(&nomq_mp_monotonic_ms_obj));
    mp_store_global(MP_QSTR_channel_id, MP_OBJ_FROM_PTR(&nomq_mp_channel_id_obj));
    mp_store_global(MP_QSTR_version, MP_OBJ_FROM_PTR(&nomq_mp_version_obj));
    mp_store_global(MP_QSTR_NomqError, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(NomqError)));
    mp_store_global(MP_QSTR_FrameError, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(FrameError)));
    mp_store_global(MP_QSTR_AuthenticationError, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(AuthenticationError)));
    mp_store_global(MP_QSTR_StaleError, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(StaleError)));
    mp_store_global(MP_QSTR_ConfigError, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(ConfigError)));
    mp_store_global(MP_QSTR_QueueFull, MP_OBJ_FROM_PTR(NOMQ_MP_TYPE(QueueFull)));
    #define STORE_CONSTANT(name, value) mp_store_global(MP_QSTR_##name, MP_OBJ_NEW_SMALL_INT(value));
    NOMQ_MP_CONSTANTS(STORE_CONSTANT)
    NOMQ_MP_ENDPOINT_CONSTANTS(STORE_CONSTANT)
    NOMQ_MP_MQTT_CONSTANTS(STORE_CONSTANT)
    MP_DYNRUNTIME_INIT_EXIT
}
#else
static const mp_rom_map_elem_t nomq_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__nomq) },
    { MP_ROM_QSTR(MP_QSTR_Codec), MP_ROM_PTR(&nomq_mp_type_Codec) },
    { MP_ROM_QSTR(MP_QSTR_Packet), MP_ROM_PTR(&nomq_mp_type_Packet) },
    { MP_ROM_QSTR(MP_QSTR_monotonic_ms), MP_ROM_PTR(&nomq_mp_monotonic_ms_obj) },
    #if NOMQ_MP_ENDPOINT
    { MP_ROM_QSTR(MP_QSTR_Endpoint), MP_ROM_PTR(&nomq_mp_type_Endpoint) },
    #endif
    #if NOMQ_MP_MQTT
    { MP_ROM_QSTR(MP_QSTR_MqttSession), MP_ROM_PTR(&nomq_mp_type_MqttSession) },
    #endif
    #if NOMQ_MP_CONFIG
    { MP_ROM_QSTR(MP_QSTR_read_config), MP_ROM_PTR(&nomq_mp_read_config_obj) },
    { MP_ROM_QSTR(MP_QSTR_write_config), MP_ROM_PTR(&nomq_mp_write_config_obj) },
    #endif
    { MP_ROM_QSTR(MP_QSTR_channel_id), MP_ROM_PTR(&nomq_mp_channel_id_obj) },
    { MP_ROM_QSTR(MP_QSTR_version), MP_ROM_PTR(&nomq_mp_version_obj) },
    { MP_ROM_QSTR(MP_QSTR_NomqError), MP_ROM_PTR(&nomq_mp_type_NomqError) },
    { MP_ROM_QSTR(MP_QSTR_FrameError), MP_ROM_PTR(&nomq_mp_type_FrameError) },
    { MP_ROM_QSTR(MP_QSTR_AuthenticationError), MP_ROM_PTR(&nomq_mp_type_AuthenticationError) },
    { MP_ROM_QSTR(MP_QSTR_StaleError), MP_ROM_PTR(&nomq_mp_type_StaleError) },
    { MP_ROM_QSTR(MP_QSTR_ConfigError), MP_ROM_PTR(&nomq_mp_type_ConfigError) },
    { MP_ROM_QSTR(MP_QSTR_QueueFull), MP_ROM_PTR(&nomq_mp_type_QueueFull) },
    #define ROM_CONSTANT(name, value) { MP_ROM_QSTR(MP_QSTR_##name), MP_ROM_INT(value) },
    NOMQ_MP_CONSTANTS(ROM_CONSTANT)
    NOMQ_MP_ENDPOINT_CONSTANTS(ROM_CONSTANT)
    NOMQ_MP_MQTT_CONSTANTS(ROM_CONSTANT)
};
static MP_DEFINE_CONST_DICT(nomq_module_globals, nomq_module_globals_table);

const mp_obj_module_t nomq_mp_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&nomq_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__nomq, nomq_mp_module);
#endif

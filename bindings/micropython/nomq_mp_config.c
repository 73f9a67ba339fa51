// The reference's config file (nomq-v1 §15: base64 of an AES-256-CBC encrypted JSON object
// under a fixed key), over nomq_config_parse / nomq_config_write:
//
//   _nomq.read_config(text)  -> {"encryption_key": bytes, "hmac_key": bytes, "ip": str,
//                                "port": int, "use_ipv6": bool}
//   _nomq.write_config(encryption_key, hmac_key, ip="0.0.0.0", port=8888, use_ipv6=False,
//                      *, urandom=None)     -> the file's text
//
// `text` may also be the plain JSON object. Both raise ConfigError for a bad file, bad keys
// or an ip longer than 45 characters. The file itself is read and written by the caller.
#include <string.h>

#include "nomq_mp.h"

#if NOMQ_MP_CONFIG

// The config file text nomq_config_write produces fits this (include/nomq.h).
#define CONFIG_TEXT_MAX 768

mp_obj_t nomq_mp_read_config(mp_obj_t text_in) {
    size_t len;
    const uint8_t *text = nomq_mp_text_or_bytes(text_in, &len, "text");
    nomq_config c;
    void *blocks = NULL;  // on the stack, scanned by the GC while nomq parses
    NOMQ_MP_ALLOCATE_INTO(&blocks);
    nomq_result r = nomq_config_parse((const char *)text, len, &c);
    NOMQ_MP_ALLOCATE_INTO(NULL);
    if (r != NOMQ_RESULT_OK) {
        nomq_mp_raise_result(r, "read_config");
    }
    mp_obj_t d = mp_obj_new_dict(5);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_encryption_key), mp_obj_new_bytes(c.encryption_key, 32));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_hmac_key), mp_obj_new_bytes(c.trailer_key, 32));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_ip), mp_obj_new_str(c.ip, strlen(c.ip)));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_port), MP_OBJ_NEW_SMALL_INT(c.port));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_use_ipv6), mp_obj_new_bool(c.use_ipv6));
    for (volatile uint8_t *p = (uint8_t *)&c; p < (uint8_t *)&c + sizeof c; p++) {
        *p = 0;
    }
    return d;
}

mp_obj_t nomq_mp_write_config(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_encryption_key, ARG_hmac_key, ARG_ip, ARG_port, ARG_use_ipv6, ARG_urandom };
    NOMQ_MP_ARG_TABLE allowed[] = {
        { MP_QSTR_encryption_key, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_hmac_key, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_ip, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_port, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(8888)} },
        { MP_QSTR_use_ipv6, MP_ARG_OBJ, {.u_obj = mp_const_false} },
        { MP_QSTR_urandom, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    nomq_config c;
    memset(&c, 0, sizeof c);
    nomq_mp_fixed_bytes(a[ARG_encryption_key].u_obj, c.encryption_key, 32, "encryption_key");
    nomq_mp_fixed_bytes(a[ARG_hmac_key].u_obj, c.trailer_key, 32, "hmac_key");
    size_t ip_len = 7;
    const char *ip = "0.0.0.0";
    if (a[ARG_ip].u_obj != mp_const_none) {
        ip = nomq_mp_text(a[ARG_ip].u_obj, &ip_len, "ip");
    }
    if (ip_len >= sizeof c.ip) {
        nomq_mp_raise_arg(&mp_type_ValueError, "ip", " must be at most 45 characters");
    }
    memcpy(c.ip, ip, ip_len);
    c.port = (uint16_t)nomq_mp_uint(a[ARG_port].u_obj, 65535, "port");
    c.use_ipv6 = mp_obj_is_true(a[ARG_use_ipv6].u_obj);
    uint8_t iv[16];
    mp_obj_t urandom = a[ARG_urandom].u_obj;
    nomq_mp_random(urandom == mp_const_none ? nomq_mp_os_urandom() : urandom, iv, sizeof iv);
    char out[CONFIG_TEXT_MAX];
    size_t out_len = 0;
    void *blocks = NULL;
    NOMQ_MP_ALLOCATE_INTO(&blocks);
    nomq_result r = nomq_config_write(&c, iv, out, sizeof out, &out_len);
    NOMQ_MP_ALLOCATE_INTO(NULL);
    for (volatile uint8_t *p = (uint8_t *)&c; p < (uint8_t *)&c + sizeof c; p++) {
        *p = 0;
    }
    if (r != NOMQ_RESULT_OK) {
        nomq_mp_raise_result(r, "write_config");
    }
    return mp_obj_new_str(out, out_len);
}

#endif  // NOMQ_MP_CONFIG

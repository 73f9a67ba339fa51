/* Bad arguments get error codes, never crashes: NULL pointers, short buffers, bad versions
 * and QoS, events that do not fit stay queued, and a Rust panic comes back as
 * NOMQ_RESULT_PANIC (host builds). */
#include "nomq_test.h"

int main(void) {
    uint8_t key[32] = {1};
    nomq_codec *codec = NULL;
    CHECK_RESULT(nomq_codec_new(3, key, key, &codec), NOMQ_RESULT_INVALID_ARGUMENT);
    CHECK(codec == NULL);
    CHECK_RESULT(nomq_codec_new(1, NULL, key, &codec), NOMQ_RESULT_NULL_POINTER);
    CHECK_RESULT(nomq_codec_new(1, key, key, NULL), NOMQ_RESULT_NULL_POINTER);
    CHECK_OK(nomq_codec_new(1, key, key, &codec));
    nomq_codec_free(NULL);

    nomq_header h = {.kind = 1, .flags = 1, .ttl = 60, .timestamp_ms = now_ms()};
    uint8_t out[2048];
    size_t n = 0;
    CHECK_RESULT(nomq_codec_seal_publish(codec, &h, 0, (const uint8_t *)"hi", 2, out, 10, &n),
                 NOMQ_RESULT_BUFFER_TOO_SMALL);
    CHECK_RESULT(nomq_codec_seal_publish(codec, &h, 0, (const uint8_t *)"\xff\xfe", 2, out, sizeof out, &n),
                 NOMQ_RESULT_NOT_TEXT);
    CHECK_RESULT(nomq_codec_seal_publish(codec, NULL, 0, (const uint8_t *)"hi", 2, out, sizeof out, &n),
                 NOMQ_RESULT_NULL_POINTER);
    CHECK_RESULT(nomq_codec_seal_publish(codec, &h, 0, NULL, 2, out, sizeof out, &n), NOMQ_RESULT_NULL_POINTER);
    h.kind = 9;
    CHECK_RESULT(nomq_codec_seal(codec, &h, NULL, 0, out, sizeof out, &n), NOMQ_RESULT_INVALID_ARGUMENT);
    h.kind = 1;
    CHECK_OK(nomq_codec_seal_publish(codec, &h, 0, (const uint8_t *)"hi", 2, out, sizeof out, &n));
    nomq_header got;
    uint8_t plain[64];
    size_t off, len;
    CHECK_RESULT(nomq_codec_open(codec, out, n, now_ms(), &got, plain, 8, &off, &len), NOMQ_RESULT_BUFFER_TOO_SMALL);
    CHECK_RESULT(nomq_codec_open(codec, out, 20, now_ms(), &got, plain, sizeof plain, &off, &len),
                 NOMQ_RESULT_MALFORMED);
    CHECK_RESULT(nomq_codec_open(codec, out, n, now_ms(), NULL, plain, sizeof plain, &off, &len),
                 NOMQ_RESULT_NULL_POINTER);
    CHECK_RESULT(nomq_codec_channel_id(codec, "\xff", 1, plain), NOMQ_RESULT_NOT_TEXT);
    CHECK(nomq_codec_sealed_len(NULL, 1, 10) == 0 && nomq_codec_sealed_len(codec, 42, 10) == 0);
    CHECK(nomq_codec_sealed_len(codec, 1, SIZE_MAX) == 0);
    CHECK_RESULT(nomq_codec_open(codec, out, (size_t)-1, now_ms(), &got, plain, sizeof plain, &off, &len),
                 NOMQ_RESULT_INVALID_ARGUMENT);
    nomq_codec_free(codec);

    /* Endpoint: bad arguments, and an event larger than the buffer stays queued. */
    nomq_endpoint *a = NULL, *b = NULL;
    CHECK_RESULT(nomq_endpoint_new(1, key, key, NULL, NULL, mono_ms(), &a), NOMQ_RESULT_NULL_POINTER);
    CHECK_OK(nomq_endpoint_new(1, key, key, fill_random, NULL, mono_ms(), &a));
    CHECK_OK(nomq_endpoint_new(1, key, key, fill_random, NULL, mono_ms(), &b));
    nomq_addr to = {.family = 4, .port = 9, .ip = {127, 0, 0, 1}}, bad = {.family = 5};
    uint64_t id;
    CHECK_RESULT(nomq_endpoint_publish(a, mono_ms(), &to, "c", 1, (const uint8_t *)"x", 1, 3, false, 0, 60, &id),
                 NOMQ_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(nomq_endpoint_publish(a, mono_ms(), &bad, "c", 1, (const uint8_t *)"x", 1, 1, false, 0, 60, &id),
                 NOMQ_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(nomq_endpoint_publish(a, mono_ms(), &to, "c", 1, (const uint8_t *)"x", 1, 1, false, 0, 60, NULL),
                 NOMQ_RESULT_NULL_POINTER);
    static uint8_t big[3000];
    memset(big, 'a', sizeof big);
    CHECK_RESULT(nomq_endpoint_publish(a, mono_ms(), &to, "c", 1, big, sizeof big, 1, false, 0, 60, &id),
                 NOMQ_RESULT_PAYLOAD_TOO_LARGE);
    CHECK_OK(nomq_endpoint_subscribe(b, "c", 1));
    CHECK_OK(nomq_endpoint_publish(a, mono_ms(), &to, "c", 1, (const uint8_t *)"hello", 5, 0, false, 0, 60, &id));
    nomq_addr dst;
    CHECK_RESULT(nomq_endpoint_poll_transmit(a, now_ms(), out, 16, &dst, &n), NOMQ_RESULT_BUFFER_TOO_SMALL);
    CHECK_OK(nomq_endpoint_poll_transmit(a, now_ms(), out, sizeof out, &dst, &n));
    CHECK(n > 0 && dst.port == 9);
    nomq_addr from = {.family = 4, .port = 1234, .ip = {127, 0, 0, 1}};
    CHECK_OK(nomq_endpoint_handle_datagram(b, now_ms(), mono_ms(), &from, out, n));
    nomq_endpoint_event ev;
    uint8_t small[3];
    /* Events without data (PEER_ALIVE) fit; the message does not, and stays queued. */
    nomq_result r;
    int spins = 0;
    while ((r = nomq_endpoint_poll_event(b, &ev, small, sizeof small)) == NOMQ_RESULT_OK &&
           ev.kind != NOMQ_ENDPOINT_EVENT_KIND_NONE && spins++ < 10) {
    }
    CHECK(r == NOMQ_RESULT_BUFFER_TOO_SMALL);
    /* The caller learns what to make room for. */
    CHECK(ev.kind == NOMQ_ENDPOINT_EVENT_KIND_MESSAGE && ev.channel_len == 1 && ev.payload_len == 5);
    uint8_t evbuf[256];
    CHECK_OK(nomq_endpoint_poll_event(b, &ev, evbuf, sizeof evbuf));
    CHECK(ev.kind == NOMQ_ENDPOINT_EVENT_KIND_MESSAGE && ev.payload_len == 5 && memcmp(ev.payload, "hello", 5) == 0);
    CHECK(ev.channel_len == 1 && ev.channel[0] == 'c');
    CHECK_OK(nomq_endpoint_poll_event(b, &ev, evbuf, sizeof evbuf));
    CHECK(ev.kind == NOMQ_ENDPOINT_EVENT_KIND_NONE);
    CHECK(nomq_endpoint_poll_timeout(NULL) == UINT64_MAX);
    nomq_endpoint_free(a);
    nomq_endpoint_free(b);

    /* Tables sized from C: a zero bound is refused; a small one holds. */
    nomq_endpoint_config ec;
    CHECK_RESULT(nomq_endpoint_config_init(3, &ec), NOMQ_RESULT_INVALID_ARGUMENT);
    CHECK_OK(nomq_endpoint_config_init(2, &ec));
    CHECK(ec.max_pending == 1024 && ec.max_payload == 65402);
    ec.max_pending = 0;
    nomq_endpoint *sized = NULL;
    CHECK_RESULT(nomq_endpoint_new_with_config(&ec, key, key, fill_random, NULL, mono_ms(), &sized),
                 NOMQ_RESULT_INVALID_ARGUMENT);
    CHECK(sized == NULL);
    ec.max_pending = 2;
    CHECK_OK(nomq_endpoint_new_with_config(&ec, key, key, fill_random, NULL, mono_ms(), &sized));
    for (int i = 0; i < 2; i++)
        CHECK_OK(nomq_endpoint_publish(sized, mono_ms(), &to, "c", 1, (const uint8_t *)"x", 1, 1, false, 0, 60, &id));
    CHECK_RESULT(nomq_endpoint_publish(sized, mono_ms(), &to, "c", 1, (const uint8_t *)"x", 1, 1, false, 0, 60, &id),
                 NOMQ_RESULT_FULL);
    nomq_endpoint_free(sized);
    nomq_endpoint_free(NULL);

    /* MQTT session. */
    nomq_mqtt_config cfg;
    CHECK_OK(nomq_mqtt_config_init(&cfg));
    cfg.version = 6;
    nomq_mqtt_session *s = NULL;
    CHECK_RESULT(nomq_mqtt_session_new(&cfg, fill_random, NULL, &s), NOMQ_RESULT_INVALID_ARGUMENT);
    cfg.version = 4;
    cfg.client_id = "errors";
    CHECK_RESULT(nomq_mqtt_session_new(&cfg, NULL, NULL, &s), NOMQ_RESULT_NULL_POINTER);
    cfg.auth_method = "TOKEN"; /* enhanced authentication is MQTT 5.0 only */
    CHECK_RESULT(nomq_mqtt_session_new(&cfg, fill_random, NULL, &s), NOMQ_RESULT_INVALID_ARGUMENT);
    cfg.auth_method = NULL;
    CHECK(nomq_mqtt_session_is_idle(NULL));
    CHECK_OK(nomq_mqtt_session_new(&cfg, fill_random, NULL, &s));
    CHECK(nomq_mqtt_session_is_idle(s));
    /* No method configured: nothing to answer a challenge with. */
    CHECK_RESULT(nomq_mqtt_session_auth(s, 0, 0x18, (const uint8_t *)"x", 1), NOMQ_RESULT_MQTT_PROTOCOL);
    CHECK_RESULT(nomq_mqtt_session_publish(s, 0, "bad/+", (const uint8_t *)"x", 1, 0, false, &id),
                 NOMQ_RESULT_MQTT_INVALID_TOPIC);
    CHECK_RESULT(nomq_mqtt_session_publish(s, 0, NULL, (const uint8_t *)"x", 1, 0, false, &id),
                 NOMQ_RESULT_NULL_POINTER);
    CHECK_RESULT(nomq_mqtt_session_subscribe(s, 0, "a/#/b", 1, &id), NOMQ_RESULT_MQTT_INVALID_TOPIC);
    CHECK_RESULT(nomq_mqtt_session_subscribe(s, 0, "a", 3, &id), NOMQ_RESULT_INVALID_ARGUMENT);
    CHECK_OK(nomq_mqtt_session_connect(s, 0));
    /* Hostile server bytes: a protocol error event, no crash. */
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 1, 2};
    CHECK_OK(nomq_mqtt_session_handle_bytes(s, 1, garbage, sizeof garbage));
    nomq_mqtt_event mev;
    CHECK_OK(nomq_mqtt_session_poll_event(s, &mev, evbuf, sizeof evbuf));
    CHECK(mev.kind == NOMQ_MQTT_EVENT_KIND_DISCONNECTED && mev.disconnect == NOMQ_MQTT_DISCONNECT_PROTOCOL_ERROR);
    CHECK(nomq_mqtt_session_state(s) == 0);
    nomq_mqtt_session_free(s);

    CHECK(strcmp(nomq_result_str(NOMQ_RESULT_AUTH_FAILED), "authentication failed (wrong keys or tampering)") == 0);
    CHECK(strcmp(nomq_result_str(12345), "unknown nomq_result") == 0);
#ifdef NOMQ_HOST_BUILD
    CHECK_RESULT(nomq_test_panic(), NOMQ_RESULT_PANIC);
#endif
    return finish("test_errors");
}

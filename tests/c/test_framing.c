/* The framing through the C API: every positive v1 vector of the reference is rebuilt byte
 * for byte and opened; every negative one is refused; the config example is read and written;
 * v2 round-trips and refuses wrong keys and stale packets. */
#include "nomq_test.h"
#include "vectors.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void positive_vectors(void) {
    for (size_t i = 0; i < COUNT(POSITIVE); i++) {
        const struct positive *p = &POSITIVE[i];
        nomq_codec *codec = NULL;
        CHECK_OK(nomq_codec_new(1, p->enc, p->mac, &codec));
        nomq_header h = {.kind = p->kind, .flags = p->flags, .ttl = p->ttl, .packet_id = p->packet_id,
                         .session_id = p->session_id, .timestamp_ms = p->timestamp * 1000};
        memcpy(h.channel_id, p->channel_id, 16);
        memcpy(h.iv, p->iv, 16);
        uint8_t out[4096];
        size_t n = 0;
        CHECK_OK(nomq_codec_seal(codec, &h, p->plaintext, p->plaintext_len, out, sizeof out, &n));
        CHECK(n == p->packet_len);
        if (n != p->packet_len || memcmp(out, p->packet, n) != 0) {
            fprintf(stderr, "vector %s: sealed bytes differ\n", p->name);
            failures++;
        }
        CHECK(nomq_codec_sealed_len(codec, p->kind, p->plaintext_len) == p->packet_len);
        nomq_header got;
        uint8_t plain[4096];
        size_t off = 0, len = 0;
        CHECK_OK(nomq_codec_open(codec, p->packet, p->packet_len, p->receiver_time * 1000, &got, plain, sizeof plain,
                                 &off, &len));
        CHECK(got.packet_id == p->packet_id && got.session_id == p->session_id && got.kind == p->kind);
        if (p->kind == 1) {
            /* v1 PUBLISH: the text after the 16-byte inner header. */
            CHECK(off == 16 && len == p->plaintext_len - 16);
            CHECK(memcmp(plain + off, p->plaintext + 16, len) == 0);
        } else {
            CHECK(off == 0 && len == p->plaintext_len && memcmp(plain, p->plaintext, len) == 0);
        }
        /* The window: +/-30 s accepted, 31 s refused. */
        CHECK_OK(nomq_codec_open(codec, p->packet, p->packet_len, (p->receiver_time + 30) * 1000, &got, plain,
                                 sizeof plain, &off, &len));
        CHECK_RESULT(nomq_codec_open(codec, p->packet, p->packet_len, (p->timestamp + 31) * 1000, &got, plain,
                                     sizeof plain, &off, &len), NOMQ_RESULT_STALE);
        nomq_codec_free(codec);
    }
    printf("  %zu positive vectors rebuilt byte for byte and opened\n", COUNT(POSITIVE));
}

static void negative_vectors(void) {
    for (size_t i = 0; i < COUNT(NEGATIVE); i++) {
        const struct negative *n = &NEGATIVE[i];
        nomq_codec *codec = NULL;
        CHECK_OK(nomq_codec_new(1, n->enc, n->mac, &codec));
        nomq_header h;
        uint8_t plain[4096];
        size_t off = 0, len = 0;
        nomq_result r = nomq_codec_open(codec, n->packet, n->packet_len, n->receiver_time * 1000, &h, plain,
                                        sizeof plain, &off, &len);
        if (r != n->expected) {
            fprintf(stderr, "negative vector %s: %u (%s), expected %u\n", n->name, (unsigned)r, nomq_result_str(r),
                    (unsigned)n->expected);
            failures++;
        }
        nomq_codec_free(codec);
    }
    printf("  %zu negative vectors refused, each with its reason\n", COUNT(NEGATIVE));
}

static void config_file(void) {
    nomq_config c;
    CHECK_OK(nomq_config_parse(CONFIG_TEXT, strlen(CONFIG_TEXT), &c));
    CHECK(memcmp(c.encryption_key, CONFIG_ENC, 32) == 0 && memcmp(c.trailer_key, CONFIG_MAC, 32) == 0);
    CHECK(c.port == CONFIG_PORT && strcmp(c.ip, "0.0.0.0") == 0 && !c.use_ipv6);
    uint8_t iv[16];
    fill_random(NULL, iv, sizeof iv);
    char text[512];
    size_t n = 0;
    c.port = 9999;
    CHECK_OK(nomq_config_write(&c, iv, text, sizeof text, &n));
    CHECK(n > 0 && text[n - 1] != '\n');
    nomq_config back;
    CHECK_OK(nomq_config_parse(text, n, &back));
    CHECK(back.port == 9999 && memcmp(back.trailer_key, CONFIG_MAC, 32) == 0);
    CHECK_RESULT(nomq_config_write(&c, iv, text, 10, &n), NOMQ_RESULT_BUFFER_TOO_SMALL);
    CHECK_RESULT(nomq_config_parse("not base64!", 11, &back), NOMQ_RESULT_CONFIG_INVALID);
}

static void v2_round_trip(void) {
    uint8_t k1[32], k2[32];
    fill_random(NULL, k1, 32);
    fill_random(NULL, k2, 32);
    nomq_codec *codec = NULL, *wrong = NULL;
    CHECK_OK(nomq_codec_new(2, k1, k2, &codec));
    CHECK_OK(nomq_codec_new(2, k2, k1, &wrong));
    nomq_header h = {.kind = 1, .flags = 0x01, .ttl = 60, .packet_id = 7, .session_id = 9, .timestamp_ms = now_ms()};
    CHECK_OK(nomq_codec_channel_id(codec, "sensors/temp", 12, h.channel_id));
    fill_random(NULL, h.iv, 16);
    const uint8_t msg[] = {0, 1, 2, 255};
    uint8_t out[256], plain[256];
    size_t n = 0, off = 0, len = 0;
    CHECK_OK(nomq_codec_seal_publish(codec, &h, 0, msg, sizeof msg, out, sizeof out, &n));
    nomq_header got;
    CHECK_OK(nomq_codec_open(codec, out, n, now_ms(), &got, plain, sizeof plain, &off, &len));
    CHECK(len == sizeof msg && memcmp(plain + off, msg, len) == 0 && got.timestamp_ms == h.timestamp_ms);
    CHECK_RESULT(nomq_codec_open(wrong, out, n, now_ms(), &got, plain, sizeof plain, &off, &len),
                 NOMQ_RESULT_AUTH_FAILED);
    out[n - 1] ^= 1;
    CHECK_RESULT(nomq_codec_open(codec, out, n, now_ms(), &got, plain, sizeof plain, &off, &len),
                 NOMQ_RESULT_AUTH_FAILED);
    /* v2 ACK and HEARTBEAT carry no plaintext: offset and length 0. */
    nomq_header ack = h;
    ack.kind = 3;
    ack.flags = 0;
    fill_random(NULL, ack.iv, 16);
    CHECK_OK(nomq_codec_seal(codec, &ack, NULL, 0, out, sizeof out, &n));
    off = len = 99;
    CHECK_OK(nomq_codec_open(codec, out, n, now_ms(), &got, plain, sizeof plain, &off, &len));
    CHECK(got.kind == 3 && off == 0 && len == 0);
    /* In place is refused (the buffers must not overlap), never undefined. */
    CHECK_RESULT(nomq_codec_open(codec, out, n, now_ms(), &got, out, sizeof out, &off, &len),
                 NOMQ_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(nomq_codec_seal_publish(codec, &h, 0, out + 4, 4, out, sizeof out, &n), NOMQ_RESULT_INVALID_ARGUMENT);
    nomq_codec_free(codec);
    nomq_codec_free(wrong);
}

int main(void) {
    CHECK(nomq_version_number() == NOMQ_VERSION_MAJOR * 10000 + NOMQ_VERSION_MINOR * 100 + NOMQ_VERSION_PATCH);
    positive_vectors();
    negative_vectors();
    config_file();
    v2_round_trip();
    return finish("test_framing");
}

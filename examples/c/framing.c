/* NoMQ framing from C: seal a v1 PUBLISH and open it again, with caller-owned buffers,
 * caller-supplied time and random bytes.
 *
 *   gcc -I include examples/c/framing.c target/release/libnomq.a -lpthread -ldl -lm
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "nomq.h"

int main(void) {
    uint8_t encryption_key[32], trailer_key[32];
    getrandom(encryption_key, sizeof encryption_key, 0);
    getrandom(trailer_key, sizeof trailer_key, 0);

    nomq_codec *codec = NULL;
    nomq_result r = nomq_codec_new(1, encryption_key, trailer_key, &codec);
    if (r != NOMQ_RESULT_OK) {
        fprintf(stderr, "nomq_codec_new: %s\n", nomq_result_str(r));
        return 1;
    }

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;

    nomq_header header = {.kind = 1 /* PUBLISH */, .flags = 0x01 /* QoS 1 */, .ttl = 3600, .timestamp_ms = now};
    getrandom(&header.packet_id, sizeof header.packet_id, 0);
    getrandom(&header.session_id, sizeof header.session_id, 0);
    getrandom(header.iv, sizeof header.iv, 0);
    nomq_codec_channel_id(codec, "sensors/temp", strlen("sensors/temp"), header.channel_id);

    const char *text = "21.5";
    uint32_t nonce;
    getrandom(&nonce, sizeof nonce, 0);
    uint8_t datagram[2048];
    size_t datagram_len = 0;
    r = nomq_codec_seal_publish(codec, &header, nonce, (const uint8_t *)text, strlen(text), datagram,
                                sizeof datagram, &datagram_len);
    if (r != NOMQ_RESULT_OK) {
        fprintf(stderr, "seal: %s\n", nomq_result_str(r));
        return 1;
    }

    nomq_header opened;
    uint8_t plain[2048];
    size_t offset = 0, len = 0;
    r = nomq_codec_open(codec, datagram, datagram_len, now, &opened, plain, sizeof plain, &offset, &len);
    if (r != NOMQ_RESULT_OK) {
        fprintf(stderr, "open: %s\n", nomq_result_str(r));
        return 1;
    }
    printf("sealed %zu bytes; opened \"%.*s\" (packet id %u); nomq %s\n", datagram_len, (int)len,
           (const char *)plain + offset, (unsigned)opened.packet_id, nomq_version());
    nomq_codec_free(codec);
    return 0;
}

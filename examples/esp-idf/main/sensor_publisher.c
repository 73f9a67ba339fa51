/* A NoMQ sensor: publishes temperature readings at QoS 1 to a peer (or a broadcast address)
 * over a UDP socket and waits for each confirmation, retransmitting as the endpoint says.
 * Packets carry the wall clock (platform_unix_ms); every timer runs on the monotonic clock
 * (platform_monotonic_ms), so an SNTP step moves none. Same file on ESP-IDF (lwIP sockets)
 * and Linux. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nomq.h"
#include "platform.h"

static int send_all(nomq_endpoint *ep, int sock, uint8_t *buf, size_t cap) {
    for (;;) {
        nomq_addr to;
        size_t len = 0;
        nomq_result r = nomq_endpoint_poll_transmit(ep, platform_unix_ms(), buf, cap, &to, &len);
        if (r != NOMQ_RESULT_OK) {
            printf("poll_transmit: %s\n", nomq_result_str(r));
            return -1;
        }
        if (len == 0) return 0;
        struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(to.port)};
        memcpy(&dst.sin_addr, to.ip, 4);
        if (sendto(sock, buf, len, 0, (struct sockaddr *)&dst, sizeof dst) < 0) printf("sendto: %d\n", errno);
    }
}

int sensor_publisher_run(const char *config_text, const char *dest_ip, uint16_t dest_port, int readings) {
    nomq_config config;
    nomq_result r = nomq_config_parse(config_text, strlen(config_text), &config);
    if (r != NOMQ_RESULT_OK) {
        printf("config: %s\n", nomq_result_str(r));
        return 1;
    }
    nomq_endpoint *ep = NULL;
    r = nomq_endpoint_new(1, config.encryption_key, config.trailer_key, platform_random, NULL, platform_monotonic_ms(), &ep);
    if (r != NOMQ_RESULT_OK) {
        printf("endpoint: %s\n", nomq_result_str(r));
        return 1;
    }
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_BROADCAST, &yes, sizeof yes); /* nomq-v1 §22.18 */
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    bind(sock, (struct sockaddr *)&local, sizeof local);

    nomq_addr to = {.family = 4, .port = dest_port};
    if (inet_pton(AF_INET, dest_ip, to.ip) != 1) {
        printf("bad address %s\n", dest_ip);
        close(sock);
        nomq_endpoint_free(ep);
        return 1;
    }
    /* A buffer of nomq_endpoint_max_datagram_len() bytes always suffices (2053 for v1). */
    size_t cap = nomq_endpoint_max_datagram_len(ep);
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    int queued = 0, confirmed = 0, expired = 0;
    for (int i = 0; i < readings; i++) {
        char reading[32];
        int len = snprintf(reading, sizeof reading, "%d.%d", 20 + i % 5, i % 10);
        uint64_t id;
        r = nomq_endpoint_publish(ep, platform_monotonic_ms(), &to, "sensors/temp", strlen("sensors/temp"),
                                  (const uint8_t *)reading, (size_t)len, 1, false, 0, 30, &id);
        if (r == NOMQ_RESULT_OK) queued++;
        else printf("publish: %s\n", nomq_result_str(r));
    }
    /* Drive the endpoint until every queued reading is confirmed or expired (the ttl, 30 s,
     * bounds the wait; the deadline is a second guard). */
    uint64_t deadline = platform_monotonic_ms() + 40000;
    while (confirmed + expired < queued && platform_monotonic_ms() < deadline) {
        if (send_all(ep, sock, buf, cap) != 0) break;
        uint64_t now = platform_monotonic_ms(), due = nomq_endpoint_poll_timeout(ep);
        uint64_t wait = due == UINT64_MAX ? 1000 : (due > now ? due - now : 0);
        struct timeval tv = {.tv_sec = (long)(wait / 1000), .tv_usec = (long)(wait % 1000) * 1000};
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(sock, &fds);
        if (select(sock + 1, &fds, NULL, NULL, &tv) > 0) {
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(sock, buf, cap, 0, (struct sockaddr *)&from, &fl);
            if (n > 0) {
                nomq_addr a = {.family = 4, .port = ntohs(from.sin_port)};
                memcpy(a.ip, &from.sin_addr, 4);
                nomq_endpoint_handle_datagram(ep, platform_unix_ms(), platform_monotonic_ms(), &a, buf, (size_t)n);
            }
        }
        if (nomq_endpoint_poll_timeout(ep) <= platform_monotonic_ms())
            nomq_endpoint_handle_timeout(ep, platform_monotonic_ms());
        nomq_endpoint_event ev;
        while (nomq_endpoint_poll_event(ep, &ev, buf, cap) == NOMQ_RESULT_OK &&
               ev.kind != NOMQ_ENDPOINT_EVENT_KIND_NONE) {
            if (ev.kind == NOMQ_ENDPOINT_EVENT_KIND_PUBLISH_DONE) {
                if (ev.outcome == NOMQ_PUBLISH_OUTCOME_CONFIRMED) confirmed++;
                else expired++;
            }
        }
    }
    printf("sensor: %d readings confirmed, %d expired\n", confirmed, expired);
    free(buf);
    close(sock);
    nomq_endpoint_free(ep);
    return confirmed == readings ? 0 : 1;
}

/* An MQTT client over a TCP socket: connects, subscribes to its own topic, publishes
 * `messages` readings at QoS 1 and waits for each to come back. Same file on ESP-IDF (lwIP)
 * and Linux. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nomq.h"
#include "platform.h"

struct state {
    int connected, subscribed, received, confirmed;
};

static int flush(nomq_mqtt_session *s, int sock) {
    const uint8_t *data;
    size_t len;
    while (nomq_mqtt_session_transmit(s, &data, &len) == NOMQ_RESULT_OK && len > 0) {
        ssize_t n = send(sock, data, len, 0);
        if (n <= 0) return -1;
        nomq_mqtt_session_transmitted(s, platform_now_ms(), (size_t)n);
    }
    return 0;
}

static int drive(nomq_mqtt_session *s, int sock, struct state *st, int wait_ms) {
    static uint8_t buf[2048];
    if (flush(s, sock) != 0) return -1;
    struct timeval tv = {.tv_sec = 0, .tv_usec = wait_ms * 1000};
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(sock, &fds);
    if (select(sock + 1, &fds, NULL, NULL, &tv) > 0) {
        ssize_t n = recv(sock, buf, sizeof buf, 0);
        if (n <= 0) {
            nomq_mqtt_session_connection_lost(s);
            return -1;
        }
        nomq_mqtt_session_handle_bytes(s, platform_now_ms(), buf, (size_t)n);
    }
    if (nomq_mqtt_session_poll_timeout(s) <= platform_now_ms()) nomq_mqtt_session_handle_timeout(s, platform_now_ms());
    nomq_mqtt_event e;
    while (nomq_mqtt_session_poll_event(s, &e, buf, sizeof buf) == NOMQ_RESULT_OK &&
           e.kind != NOMQ_MQTT_EVENT_KIND_NONE) {
        switch (e.kind) {
            case NOMQ_MQTT_EVENT_KIND_CONNECTED: st->connected = 1; break;
            case NOMQ_MQTT_EVENT_KIND_SUBSCRIBED: st->subscribed = 1; break;
            case NOMQ_MQTT_EVENT_KIND_MESSAGE:
                printf("mqtt: %.*s = %.*s\n", (int)e.topic_len, e.topic, (int)e.payload_len, (const char *)e.payload);
                st->received++;
                break;
            case NOMQ_MQTT_EVENT_KIND_PUBLISH_DONE: st->confirmed += e.outcome == NOMQ_MQTT_OUTCOME_CONFIRMED; break;
            case NOMQ_MQTT_EVENT_KIND_DISCONNECTED:
            case NOMQ_MQTT_EVENT_KIND_CONNECTION_REFUSED: printf("mqtt: connection ended (%u)\n", e.reason_code); return -1;
            default: break;
        }
    }
    return flush(s, sock);
}

int mqtt_client_run(const char *broker_ip, uint16_t port, const char *client_id, int messages) {
    nomq_mqtt_config cfg;
    nomq_mqtt_config_init(&cfg);
    cfg.client_id = client_id;
    cfg.keep_alive = 30;
    nomq_mqtt_session *s = NULL;
    nomq_result r = nomq_mqtt_session_new(&cfg, &s);
    if (r != NOMQ_RESULT_OK) {
        printf("session: %s\n", nomq_result_str(r));
        return 1;
    }
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, broker_ip, &addr.sin_addr);
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
        printf("mqtt: cannot connect to %s:%u\n", broker_ip, port);
        nomq_mqtt_session_free(s);
        return 1;
    }
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char topic[96];
    snprintf(topic, sizeof topic, "devices/%s/temp", client_id);
    uint64_t id;
    nomq_mqtt_session_connect(s, platform_now_ms());
    nomq_mqtt_session_subscribe(s, platform_now_ms(), topic, 1, &id);
    struct state st = {0};
    uint64_t deadline = platform_now_ms() + 10000;
    while (!(st.connected && st.subscribed) && platform_now_ms() < deadline) {
        if (drive(s, sock, &st, 50) != 0) break;
    }
    for (int i = 0; i < messages; i++) {
        char reading[16];
        int len = snprintf(reading, sizeof reading, "%d.5", 20 + i);
        nomq_mqtt_session_publish(s, platform_now_ms(), topic, (const uint8_t *)reading, (size_t)len, 1, false, &id);
    }
    while ((st.received < messages || st.confirmed < messages) && platform_now_ms() < deadline) {
        if (drive(s, sock, &st, 50) != 0) break;
    }
    nomq_mqtt_session_disconnect(s, platform_now_ms());
    flush(s, sock);
    close(sock);
    nomq_mqtt_session_free(s);
    printf("mqtt: %d published and confirmed, %d received\n", st.confirmed, st.received);
    return st.confirmed == messages && st.received == messages ? 0 : 1;
}

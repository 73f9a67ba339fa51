/* The MQTT session through the C API over a POSIX TCP socket against a real mosquitto
 * (port in argv[1]): connect, subscribe, publish at QoS 0, 1 and 2 to our own topic, every
 * message back once and every publish completed; MQTT 3.1.1 and 5.0. */
#include <netinet/tcp.h>
#include <poll.h>

#include "nomq_test.h"

struct client {
    nomq_mqtt_session *s;
    int sock;
    int connected, subscribed, unsubscribed, messages, done[3], qos_seen[3];
};

static int tcp_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void flush(struct client *c) {
    const uint8_t *data;
    size_t len;
    for (;;) {
        CHECK_OK(nomq_mqtt_session_transmit(c->s, &data, &len));
        if (len == 0) return;
        ssize_t n = send(c->sock, data, len, 0);
        CHECK(n > 0);
        if (n <= 0) return;
        CHECK_OK(nomq_mqtt_session_transmitted(c->s, now_ms(), (size_t)n));
    }
}

static void events(struct client *c, uint64_t *ids) {
    uint8_t buf[4096];
    nomq_mqtt_event e;
    for (;;) {
        nomq_result r = nomq_mqtt_session_poll_event(c->s, &e, buf, sizeof buf);
        CHECK_OK(r);
        if (r != NOMQ_RESULT_OK) return;
        switch (e.kind) {
            case NOMQ_MQTT_EVENT_KIND_NONE: return;
            case NOMQ_MQTT_EVENT_KIND_CONNECTED: c->connected = 1; break;
            case NOMQ_MQTT_EVENT_KIND_SUBSCRIBED:
                CHECK(e.payload_len == 1 && e.payload[0] == 2);
                c->subscribed = 1;
                break;
            case NOMQ_MQTT_EVENT_KIND_UNSUBSCRIBED: c->unsubscribed = 1; break;
            case NOMQ_MQTT_EVENT_KIND_MESSAGE:
                c->messages++;
                CHECK(e.payload_len == 7 && memcmp(e.payload, "qos-", 4) == 0);
                if (e.qos <= 2) c->qos_seen[e.qos]++;
                break;
            case NOMQ_MQTT_EVENT_KIND_PUBLISH_DONE:
                for (int q = 0; q < 3; q++)
                    if (ids[q] == e.id) {
                        c->done[q]++;
                        CHECK(e.outcome == (q == 0 ? NOMQ_MQTT_OUTCOME_SENT : NOMQ_MQTT_OUTCOME_CONFIRMED));
                    }
                break;
            default:
                fprintf(stderr, "unexpected event %u\n", (unsigned)e.kind);
                failures++;
        }
    }
}

static void step(struct client *c, uint64_t *ids, int wait_ms) {
    flush(c);
    struct pollfd p = {.fd = c->sock, .events = POLLIN};
    if (poll(&p, 1, wait_ms) > 0) {
        uint8_t buf[4096];
        ssize_t n = recv(c->sock, buf, sizeof buf, 0);
        if (n > 0) CHECK_OK(nomq_mqtt_session_handle_bytes(c->s, now_ms(), buf, (size_t)n));
    }
    if (nomq_mqtt_session_poll_timeout(c->s) <= now_ms()) CHECK_OK(nomq_mqtt_session_handle_timeout(c->s, now_ms()));
    flush(c);
    events(c, ids);
}

static void run(uint16_t port, uint8_t version) {
    char id[64], topic[96], filter[96];
    snprintf(id, sizeof id, "nomq-c-%d-%u", getpid(), version);
    snprintf(filter, sizeof filter, "nomq-c/%d/%u/#", getpid(), version);
    nomq_mqtt_config cfg;
    CHECK_OK(nomq_mqtt_config_init(&cfg));
    cfg.version = version;
    cfg.client_id = id;
    cfg.keep_alive = 30;
    struct client c = {0};
    CHECK_OK(nomq_mqtt_session_new(&cfg, &c.s));
    c.sock = tcp_connect(port);
    uint64_t ids[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX}, req;
    CHECK_OK(nomq_mqtt_session_connect(c.s, now_ms()));
    /* Queued before CONNACK: sent once connected. */
    CHECK_OK(nomq_mqtt_session_subscribe(c.s, now_ms(), filter, 2, &req));
    uint64_t deadline = now_ms() + 5000;
    while (!(c.connected && c.subscribed) && now_ms() < deadline) step(&c, ids, 10);
    CHECK(c.connected && c.subscribed && nomq_mqtt_session_state(c.s) == 2);
    for (uint8_t q = 0; q < 3; q++) {
        snprintf(topic, sizeof topic, "nomq-c/%d/%u/q%u", getpid(), version, q);
        char payload[8];
        snprintf(payload, sizeof payload, "qos-%03u", q);
        CHECK_OK(nomq_mqtt_session_publish(c.s, now_ms(), topic, (const uint8_t *)payload, 7, q, false, &ids[q]));
    }
    deadline = now_ms() + 5000;
    while ((c.messages < 3 || c.done[0] + c.done[1] + c.done[2] < 3) && now_ms() < deadline) step(&c, ids, 10);
    CHECK(c.messages == 3 && c.qos_seen[0] == 1 && c.qos_seen[1] == 1 && c.qos_seen[2] == 1);
    CHECK(c.done[0] == 1 && c.done[1] == 1 && c.done[2] == 1);
    CHECK_OK(nomq_mqtt_session_unsubscribe(c.s, now_ms(), filter, &req));
    deadline = now_ms() + 5000;
    while (!c.unsubscribed && now_ms() < deadline) step(&c, ids, 10);
    CHECK(c.unsubscribed);
    CHECK_OK(nomq_mqtt_session_disconnect(c.s, now_ms()));
    flush(&c);
    CHECK(nomq_mqtt_session_state(c.s) == 0);
    printf("  MQTT %s: QoS 0/1/2 published, delivered once each and completed\n", version == 5 ? "5.0" : "3.1.1");
    close(c.sock);
    nomq_mqtt_session_free(c.s);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_mqtt PORT\n");
        return 2;
    }
    uint16_t port = (uint16_t)atoi(argv[1]);
    run(port, 4);
    run(port, 5);
    return finish("test_mqtt");
}

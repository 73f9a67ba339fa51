/* An MQTT client over a TCP socket: subscribes to its own topic, publishes `messages`
 * readings at QoS 1 (one every PUBLISH_EVERY_MS) and waits until every one is confirmed and has
 * come back. Same file on ESP-IDF (lwIP) and Linux.
 *
 * It has no reconnect logic of its own: the session says when to open a socket
 * (OPEN_TRANSPORT: at start, then after each loss once its backoff with jitter is over) and
 * when to close it (DISCONNECTED). Readings published while the broker is away wait in the
 * session's bounded outbox; unconfirmed ones are sent again after the reconnect, so a broker
 * restart loses nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nomq.h"
#include "platform.h"

#define MAX_MESSAGES 256
#define PUBLISH_EVERY_MS 100
#define RUN_FOR_MS 60000

struct client {
    nomq_mqtt_session *s;
    int sock; /* -1 while the session has no transport */
    struct sockaddr_in broker;
    int subscribed, connections, confirmed;
    unsigned char received[MAX_MESSAGES]; /* QoS 1 is at least once: count each reading once */
    int distinct;
};

static void close_socket(struct client *c) {
    if (c->sock >= 0) close(c->sock);
    c->sock = -1;
}

/* OPEN_TRANSPORT: a blocking connect (lwIP's default); a failure is reported to the session,
 * which schedules the next attempt itself. */
static void open_socket(struct client *c) {
    close_socket(c);
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    if (sock >= 0 && connect(sock, (struct sockaddr *)&c->broker, sizeof c->broker) == 0) {
        int one = 1;
        setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->sock = sock;
        nomq_mqtt_session_connect(c->s, platform_monotonic_ms());
        return;
    }
    if (sock >= 0) close(sock);
    nomq_mqtt_session_connection_lost(c->s, platform_monotonic_ms());
}

static void flush(struct client *c) {
    const uint8_t *data;
    size_t len;
    while (c->sock >= 0 && nomq_mqtt_session_transmit(c->s, &data, &len) == NOMQ_RESULT_OK && len > 0) {
        ssize_t n = send(c->sock, data, len, 0);
        if (n <= 0) {
            nomq_mqtt_session_connection_lost(c->s, platform_monotonic_ms());
            return;
        }
        nomq_mqtt_session_transmitted(c->s, platform_monotonic_ms(), (size_t)n);
    }
}

static void handle_events(struct client *c) {
    static uint8_t buf[2048];
    nomq_mqtt_event e;
    while (nomq_mqtt_session_poll_event(c->s, &e, buf, sizeof buf) == NOMQ_RESULT_OK &&
           e.kind != NOMQ_MQTT_EVENT_KIND_NONE) {
        switch (e.kind) {
            case NOMQ_MQTT_EVENT_KIND_OPEN_TRANSPORT: open_socket(c); break;
            case NOMQ_MQTT_EVENT_KIND_DISCONNECTED:
                printf("mqtt: connection ended (why %u, reason 0x%02x); the session will reconnect\n",
                       (unsigned)e.disconnect, e.reason_code);
                close_socket(c);
                break;
            case NOMQ_MQTT_EVENT_KIND_CONNECTED:
                c->connections++;
                printf("mqtt: connected (%d), session present: %d\n", c->connections, e.session_present);
                break;
            case NOMQ_MQTT_EVENT_KIND_SUBSCRIBED: c->subscribed = 1; break;
            case NOMQ_MQTT_EVENT_KIND_MESSAGE: {
                char text[16] = {0}; /* the payload is not NUL-terminated */
                memcpy(text, e.payload, e.payload_len < sizeof text - 1 ? e.payload_len : sizeof text - 1);
                int i = -1;
                if (sscanf(text, "%d", &i) == 1 && i >= 0 && i < MAX_MESSAGES && !c->received[i]) {
                    c->received[i] = 1;
                    c->distinct++;
                }
                break;
            }
            case NOMQ_MQTT_EVENT_KIND_PUBLISH_DONE: c->confirmed += e.outcome == NOMQ_MQTT_OUTCOME_CONFIRMED; break;
            default: break;
        }
    }
}

/* One turn: write, wait for bytes or the session's next deadline (at most `wait_ms`), read,
 * run the timers, then act on the events. */
static void step(struct client *c, int wait_ms) {
    static uint8_t buf[2048];
    flush(c);
    uint64_t now = platform_monotonic_ms(), due = nomq_mqtt_session_poll_timeout(c->s);
    if (due > now && due - now < (uint64_t)wait_ms) wait_ms = (int)(due - now);
    if (due <= now) wait_ms = 0;
    if (c->sock >= 0) {
        struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(c->sock, &fds);
        if (select(c->sock + 1, &fds, NULL, NULL, &tv) > 0) {
            ssize_t n = recv(c->sock, buf, sizeof buf, 0);
            if (n > 0)
                nomq_mqtt_session_handle_bytes(c->s, platform_monotonic_ms(), buf, (size_t)n);
            else if (n == 0 || errno != EINTR)
                nomq_mqtt_session_connection_lost(c->s, platform_monotonic_ms());
        }
    } else if (wait_ms > 0) {
        usleep((useconds_t)wait_ms * 1000);
    }
    if (nomq_mqtt_session_poll_timeout(c->s) <= platform_monotonic_ms())
        nomq_mqtt_session_handle_timeout(c->s, platform_monotonic_ms());
    handle_events(c);
    flush(c);
}

int mqtt_client_run(const char *broker_ip, uint16_t port, const char *client_id, int messages) {
    if (messages < 0 || messages > MAX_MESSAGES) return 2;
    nomq_mqtt_config cfg;
    nomq_mqtt_config_init(&cfg);
    cfg.client_id = client_id;
    cfg.keep_alive = 30;
    /* Resume the session after a reconnect; a broker that lost it (a restart without
     * persistence) gets the subscription and the unconfirmed readings again. */
    cfg.clean_start = false;
    cfg.reconnect_initial_ms = 100;
    cfg.reconnect_max_ms = 2000;
    struct client c = {.sock = -1, .broker = {.sin_family = AF_INET, .sin_port = htons(port)}};
    inet_pton(AF_INET, broker_ip, &c.broker.sin_addr);
    nomq_result r = nomq_mqtt_session_new(&cfg, platform_random, NULL, &c.s);
    if (r != NOMQ_RESULT_OK) {
        printf("session: %s\n", nomq_result_str(r));
        return 1;
    }
    char topic[96];
    snprintf(topic, sizeof topic, "devices/%s/temp", client_id);
    uint64_t id, start = platform_monotonic_ms(), next_publish = start;
    nomq_mqtt_session_subscribe(c.s, start, topic, 1, &id);
    nomq_mqtt_session_start(c.s, start);
    handle_events(&c);
    int published = 0;
    while ((c.confirmed < messages || c.distinct < messages) && platform_monotonic_ms() < start + RUN_FOR_MS) {
        if (c.subscribed && published < messages && platform_monotonic_ms() >= next_publish) {
            char reading[16];
            int len = snprintf(reading, sizeof reading, "%d", published);
            /* Queued in the outbox whether or not a connection is up. */
            if (nomq_mqtt_session_publish(c.s, platform_monotonic_ms(), topic, (const uint8_t *)reading,
                                          (size_t)len, 1, false, &id) == NOMQ_RESULT_OK)
                published++;
            next_publish += PUBLISH_EVERY_MS;
        }
        step(&c, 20);
    }
    /* DISCONNECT first, so the broker does not publish a will or treat this as a failure. */
    nomq_mqtt_session_disconnect(c.s, platform_monotonic_ms());
    flush(&c);
    close_socket(&c);
    nomq_mqtt_session_free(c.s);
    printf("mqtt: %d published, %d confirmed, %d distinct received, %d connections\n", published, c.confirmed,
           c.distinct, c.connections);
    return c.confirmed == messages && c.distinct == messages ? 0 : 1;
}

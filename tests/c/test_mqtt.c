/* The MQTT session through the C API over a POSIX TCP socket against a real mosquitto
 * (port in argv[1]): the session asks for the socket (OPEN_TRANSPORT), then subscribe, publish
 * at QoS 0, 1 and 2 to our own topic, every message back once and every publish completed;
 * MQTT 3.1.1 and 5.0. A lost socket is reopened when the session asks again. Without a broker:
 * the connect deadline, the reconnect backoff, and the enhanced-authentication exchange. */
#include <netinet/tcp.h>
#include <poll.h>

#include "nomq_test.h"

struct client {
    nomq_mqtt_session *s;
    int sock;
    uint16_t port;
    int opened, disconnects, connected, subscribed, unsubscribed, messages, done[3], qos_seen[3];
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
    while (c->sock >= 0) {
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
            case NOMQ_MQTT_EVENT_KIND_OPEN_TRANSPORT:
                c->opened++;
                c->sock = tcp_connect(c->port);
                CHECK_OK(nomq_mqtt_session_connect(c->s, now_ms()));
                break;
            case NOMQ_MQTT_EVENT_KIND_DISCONNECTED:
                c->disconnects++;
                if (c->sock >= 0) close(c->sock);
                c->sock = -1;
                break;
            case NOMQ_MQTT_EVENT_KIND_CONNECTED: c->connected++; break;
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
    if (c->sock < 0) {
        poll(NULL, 0, wait_ms);
    } else if (poll(&p, 1, wait_ms) > 0) {
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
    struct client c = {.sock = -1, .port = port};
    CHECK_OK(nomq_mqtt_session_new(&cfg, fill_random, NULL, &c.s));
    uint64_t ids[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX}, req;
    /* Queued before any connection: sent once connected. */
    CHECK_OK(nomq_mqtt_session_subscribe(c.s, now_ms(), filter, 2, &req));
    CHECK_OK(nomq_mqtt_session_start(c.s, now_ms()));
    CHECK(nomq_mqtt_session_state(c.s) == 3 && !nomq_mqtt_session_is_idle(c.s));
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
    /* Reading paused (an application that cannot take messages) and resumed. */
    CHECK_OK(nomq_mqtt_session_set_reading_paused(c.s, true));
    CHECK_OK(nomq_mqtt_session_set_reading_paused(c.s, false));
    CHECK_RESULT(nomq_mqtt_session_set_reading_paused(NULL, true), NOMQ_RESULT_NULL_POINTER);
    nomq_mqtt_metrics m;
    CHECK_OK(nomq_mqtt_session_get_metrics(c.s, &m));
    CHECK(m.sent >= 3 && m.received == 3 && m.inflight == 0 && m.queued_messages == 0);
    /* The socket fails: the session reports it, asks for a new one after its backoff, and
     * the subscription still works on the new connection. */
    CHECK_OK(nomq_mqtt_session_connection_lost(c.s, now_ms()));
    deadline = now_ms() + 5000;
    while (c.connected < 2 && now_ms() < deadline) step(&c, ids, 10);
    CHECK(c.opened == 2 && c.connected == 2 && c.disconnects == 1);
    CHECK_OK(nomq_mqtt_session_get_metrics(c.s, &m));
    CHECK(m.reconnects == 1);
    CHECK_OK(nomq_mqtt_session_unsubscribe(c.s, now_ms(), filter, &req));
    deadline = now_ms() + 5000;
    while (!c.unsubscribed && now_ms() < deadline) step(&c, ids, 10);
    CHECK(c.unsubscribed);
    CHECK_OK(nomq_mqtt_session_disconnect(c.s, now_ms()));
    flush(&c);
    CHECK(nomq_mqtt_session_state(c.s) == 0 && nomq_mqtt_session_is_idle(c.s));
    printf("  MQTT %s: QoS 0/1/2 published, delivered once each and completed; reconnected when asked\n",
           version == 5 ? "5.0" : "3.1.1");
    events(&c, ids);
    if (c.sock >= 0) close(c.sock);
    nomq_mqtt_session_free(c.s);
}

/* Takes the next event, which must be of `kind`. */
static nomq_mqtt_event expect_event(nomq_mqtt_session *s, nomq_mqtt_event_kind kind) {
    static uint8_t buf[256];
    nomq_mqtt_event e;
    CHECK_OK(nomq_mqtt_session_poll_event(s, &e, buf, sizeof buf));
    if (e.kind != kind) fprintf(stderr, "event %u, expected %u\n", (unsigned)e.kind, (unsigned)kind);
    CHECK(e.kind == kind);
    return e;
}

/* The session's connection policy on a virtual clock: the connect deadline abandons an
 * attempt, and the backoff spaces the next ones, each within its doubling ceiling. */
static void connect_deadline_and_backoff(void) {
    nomq_mqtt_config cfg;
    CHECK_OK(nomq_mqtt_config_init(&cfg));
    cfg.client_id = "policy";
    cfg.connect_timeout_ms = 1000;
    cfg.reconnect_initial_ms = 100;
    cfg.reconnect_max_ms = 800;
    nomq_mqtt_session *s = NULL;
    CHECK_OK(nomq_mqtt_session_new(&cfg, fill_random, NULL, &s));
    uint64_t now = 0;
    CHECK_OK(nomq_mqtt_session_start(s, now));
    expect_event(s, NOMQ_MQTT_EVENT_KIND_OPEN_TRANSPORT);
    CHECK(nomq_mqtt_session_poll_timeout(s) == 1000);
    /* The transport never opens: at the deadline the attempt is abandoned. */
    now = 1000;
    CHECK_OK(nomq_mqtt_session_handle_timeout(s, now));
    nomq_mqtt_event e = expect_event(s, NOMQ_MQTT_EVENT_KIND_DISCONNECTED);
    CHECK(e.disconnect == NOMQ_MQTT_DISCONNECT_CONNECT_TIMEOUT);
    for (uint64_t attempt = 0; attempt < 6; attempt++) {
        uint64_t ceiling = 100u << attempt;
        if (ceiling > 800) ceiling = 800;
        uint64_t at = nomq_mqtt_session_poll_timeout(s);
        CHECK(at >= now && at <= now + ceiling);
        now = at;
        CHECK_OK(nomq_mqtt_session_handle_timeout(s, now));
        expect_event(s, NOMQ_MQTT_EVENT_KIND_OPEN_TRANSPORT);
        /* The socket cannot be opened. */
        CHECK_OK(nomq_mqtt_session_connection_lost(s, now));
        e = expect_event(s, NOMQ_MQTT_EVENT_KIND_DISCONNECTED);
        CHECK(e.disconnect == NOMQ_MQTT_DISCONNECT_TRANSPORT_CLOSED);
    }
    CHECK_OK(nomq_mqtt_session_disconnect(s, now));
    CHECK(nomq_mqtt_session_is_idle(s) && nomq_mqtt_session_poll_timeout(s) == UINT64_MAX);
    nomq_mqtt_session_free(s);
    printf("  connect deadline and reconnect backoff: every attempt within its ceiling\n");
}

/* MQTT 5.0 enhanced authentication (§4.12): the method and initial data go in CONNECT, the
 * server's AUTH arrives as AUTH_CHALLENGE, and nomq_mqtt_session_auth answers it. */
static void enhanced_authentication(void) {
    nomq_mqtt_config cfg;
    CHECK_OK(nomq_mqtt_config_init(&cfg));
    cfg.version = 5;
    cfg.client_id = "auth";
    cfg.auth_method = "TOKEN";
    cfg.auth_data = (const uint8_t *)"first";
    cfg.auth_data_len = 5;
    nomq_mqtt_session *s = NULL;
    CHECK_OK(nomq_mqtt_session_new(&cfg, fill_random, NULL, &s));
    CHECK_OK(nomq_mqtt_session_start(s, 0));
    expect_event(s, NOMQ_MQTT_EVENT_KIND_OPEN_TRANSPORT);
    CHECK_OK(nomq_mqtt_session_connect(s, 0));
    uint8_t out[256];
    size_t n;
    CHECK_OK(nomq_mqtt_session_poll_transmit(s, 0, out, sizeof out, &n));
    CHECK(n > 0 && out[0] == 0x10 && memmem(out, n, "TOKEN", 5) != NULL && memmem(out, n, "first", 5) != NULL);
    /* AUTH, reason 0x18, method "TOKEN", data "hi". */
    const uint8_t auth[] = {0xf0, 15, 0x18, 13, 0x15, 0, 5, 'T', 'O', 'K', 'E', 'N', 0x16, 0, 2, 'h', 'i'};
    CHECK_OK(nomq_mqtt_session_handle_bytes(s, 1, auth, sizeof auth));
    nomq_mqtt_event e = expect_event(s, NOMQ_MQTT_EVENT_KIND_AUTH_CHALLENGE);
    CHECK(e.reason_code == 0x18 && e.payload_len == 2 && memcmp(e.payload, "hi", 2) == 0);
    CHECK_OK(nomq_mqtt_session_auth(s, 2, 0x18, (const uint8_t *)"proof", 5));
    CHECK_OK(nomq_mqtt_session_poll_transmit(s, 2, out, sizeof out, &n));
    CHECK(n > 0 && out[0] == 0xf0 && out[2] == 0x18 && memmem(out, n, "TOKEN", 5) != NULL &&
          memmem(out, n, "proof", 5) != NULL);
    CHECK_RESULT(nomq_mqtt_session_auth(s, 2, 0x00, NULL, 0), NOMQ_RESULT_MQTT_PROTOCOL);
    nomq_mqtt_session_free(s);
    printf("  enhanced authentication: challenge answered with the configured method\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_mqtt PORT\n");
        return 2;
    }
    uint16_t port = (uint16_t)atoi(argv[1]);
    run(port, 4);
    run(port, 5);
    connect_deadline_and_backoff();
    enhanced_authentication();
    return finish("test_mqtt");
}

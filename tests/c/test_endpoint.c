/* Two C endpoints over loopback UDP, each with its own socket, driven by the sans-IO API
 * (handle_datagram, poll_transmit, poll_timeout/handle_timeout, poll_event): 200 messages at
 * QoS 2, each delivered exactly once and confirmed; then QoS 0 and 1; v1 and v2. Packets carry
 * the wall clock (now_ms), timers run on the monotonic one (mono_ms); another test steps the
 * wall clock and sees no timer move. */
#include <poll.h>

#include "nomq_test.h"

struct node {
    nomq_endpoint *ep;
    int sock;
    uint16_t port;
    int delivered, confirmed, sent;
    int seen[256];
};

static void open_node(struct node *n, uint8_t version, const uint8_t *k1, const uint8_t *k2) {
    memset(n, 0, sizeof *n);
    CHECK_OK(nomq_endpoint_new(version, k1, k2, fill_random, NULL, mono_ms(), &n->ep));
    n->sock = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(n->sock, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t len = sizeof a;
    getsockname(n->sock, (struct sockaddr *)&a, &len);
    n->port = ntohs(a.sin_port);
}

static void flush(struct node *n) {
    uint8_t buf[2048];
    for (;;) {
        nomq_addr to;
        size_t len = 0;
        CHECK_OK(nomq_endpoint_poll_transmit(n->ep, now_ms(), buf, sizeof buf, &to, &len));
        if (len == 0) return;
        struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(to.port)};
        memcpy(&dst.sin_addr, to.ip, 4);
        CHECK(sendto(n->sock, buf, len, 0, (struct sockaddr *)&dst, sizeof dst) == (ssize_t)len);
    }
}

static void events(struct node *n) {
    uint8_t buf[2048];
    nomq_endpoint_event ev;
    for (;;) {
        nomq_result r = nomq_endpoint_poll_event(n->ep, &ev, buf, sizeof buf);
        CHECK_OK(r);
        if (r != NOMQ_RESULT_OK || ev.kind == NOMQ_ENDPOINT_EVENT_KIND_NONE) return;
        if (ev.kind == NOMQ_ENDPOINT_EVENT_KIND_MESSAGE) {
            n->delivered++;
            char text[16] = {0};  /* the payload is "N", not NUL-terminated */
            memcpy(text, ev.payload, ev.payload_len < 15 ? ev.payload_len : 15);
            int i = atoi(text);
            if (i >= 0 && i < 256) n->seen[i]++;
        } else if (ev.kind == NOMQ_ENDPOINT_EVENT_KIND_PUBLISH_DONE) {
            if (ev.outcome == NOMQ_PUBLISH_OUTCOME_CONFIRMED) n->confirmed++;
            if (ev.outcome == NOMQ_PUBLISH_OUTCOME_SENT) n->sent++;
            CHECK(ev.outcome != NOMQ_PUBLISH_OUTCOME_EXPIRED);
        }
    }
}

/* Receives what arrived within `wait_ms`, feeds it, runs timers, sends, reads events. */
static void step(struct node *n, int wait_ms) {
    struct pollfd p = {.fd = n->sock, .events = POLLIN};
    uint64_t due = nomq_endpoint_poll_timeout(n->ep);
    if (due != UINT64_MAX && due <= mono_ms()) wait_ms = 0;
    if (poll(&p, 1, wait_ms) > 0) {
        uint8_t buf[2048];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t got;
        while ((got = recvfrom(n->sock, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) > 0) {
            nomq_addr a = {.family = 4, .port = ntohs(from.sin_port)};
            memcpy(a.ip, &from.sin_addr, 4);
            CHECK_OK(nomq_endpoint_handle_datagram(n->ep, now_ms(), mono_ms(), &a, buf, (size_t)got));
            fl = sizeof from;
        }
    }
    due = nomq_endpoint_poll_timeout(n->ep);
    if (due != UINT64_MAX && due <= mono_ms()) CHECK_OK(nomq_endpoint_handle_timeout(n->ep, mono_ms()));
    flush(n);
    events(n);
}

static void exchange(uint8_t version, uint8_t qos, int count) {
    uint8_t k1[32], k2[32];
    fill_random(NULL, k1, 32);
    fill_random(NULL, k2, 32);
    struct node a, b;
    open_node(&a, version, k1, k2);
    open_node(&b, version, k1, k2);
    CHECK_OK(nomq_endpoint_subscribe(b.ep, "sensors/temp", 12));
    nomq_addr to = {.family = 4, .port = b.port, .ip = {127, 0, 0, 1}};
    for (int i = 0; i < count; i++) {
        char msg[16];
        int len = snprintf(msg, sizeof msg, "%d", i);
        uint64_t id;
        CHECK_OK(nomq_endpoint_publish(a.ep, mono_ms(), &to, "sensors/temp", 12, (const uint8_t *)msg, (size_t)len,
                                       qos, false, 0, 30, &id));
        flush(&a);
        step(&b, 0);
        step(&a, 0);
    }
    uint64_t deadline = mono_ms() + 10000;
    int expect_done = count;
    while (mono_ms() < deadline && (b.delivered < count || a.confirmed + a.sent < expect_done)) {
        step(&b, 5);
        step(&a, 5);
    }
    CHECK(b.delivered == count);
    for (int i = 0; i < count; i++) CHECK(b.seen[i] == 1);
    if (qos == 0) CHECK(a.sent == count);
    else CHECK(a.confirmed == count);
    printf("  v%u QoS %u: %d delivered exactly once, %d completions\n", version, qos, b.delivered,
           a.confirmed + a.sent);
    /* The counters agree with what the events said. */
    nomq_endpoint_stats sa, sb;
    CHECK_OK(nomq_endpoint_get_stats(a.ep, &sa));
    CHECK_OK(nomq_endpoint_get_stats(b.ep, &sb));
    CHECK(sa.published == (uint64_t)count && sb.delivered == (uint64_t)count);
    CHECK(qos == 0 ? sa.confirmed == 0 : sa.confirmed == (uint64_t)count);
    CHECK(sa.datagrams_out >= (uint64_t)count && sb.datagrams_in >= (uint64_t)count);
    CHECK_RESULT(nomq_endpoint_get_stats(NULL, &sa), NOMQ_RESULT_NULL_POINTER);
    nomq_endpoint_free(a.ep);
    nomq_endpoint_free(b.ep);
    close(a.sock);
    close(b.sock);
}

/* An unanswered QoS 1 publish, driven by hand on a monotonic clock that starts at 1000 ms,
 * while the wall clock steps back a day at every retransmission: the retransmissions keep
 * their backoff and the publish expires exactly at its ttl (5 s), on the monotonic clock. */
static void wall_clock_steps(void) {
    uint8_t k[32] = {7};
    nomq_endpoint *ep = NULL;
    CHECK_OK(nomq_endpoint_new(2, k, k, fill_random, NULL, 1000, &ep));
    nomq_addr to = {.family = 4, .port = 9, .ip = {127, 0, 0, 1}};
    uint64_t id, wall = now_ms(), t = 1000, expired_at = 0;
    CHECK_OK(nomq_endpoint_publish(ep, t, &to, "c", 1, (const uint8_t *)"x", 1, 1, false, 0, 5, &id));
    uint64_t due = nomq_endpoint_poll_timeout(ep);
    CHECK(due >= 1100 && due <= 1200); /* the first retry: 100..200 ms on the monotonic clock */
    int sent = 0, steps = 0;
    for (int turns = 0; turns < 100; turns++) {
        uint8_t buf[256];
        nomq_addr dst;
        size_t len;
        do {
            CHECK_OK(nomq_endpoint_poll_transmit(ep, wall, buf, sizeof buf, &dst, &len));
            if (len) sent++;
        } while (len);
        nomq_endpoint_event ev;
        do {
            CHECK_OK(nomq_endpoint_poll_event(ep, &ev, buf, sizeof buf));
            if (ev.kind == NOMQ_ENDPOINT_EVENT_KIND_PUBLISH_DONE) {
                CHECK(ev.publish_id == id && ev.outcome == NOMQ_PUBLISH_OUTCOME_EXPIRED);
                expired_at = t;
            }
        } while (ev.kind != NOMQ_ENDPOINT_EVENT_KIND_NONE);
        due = nomq_endpoint_poll_timeout(ep);
        if (due == UINT64_MAX) break;
        CHECK(due > t);
        t = due;
        wall -= 86400000u;
        steps++;
        CHECK_OK(nomq_endpoint_handle_timeout(ep, t));
    }
    CHECK(expired_at == 6000);
    CHECK(sent >= 5 && sent <= 13); /* 200 ms doubling to 8 s: a handful within 5 s, no storm */
    printf("  wall clock stepped back a day %d times: %d transmissions, expired at %llu ms (monotonic)\n", steps,
           sent, (unsigned long long)expired_at);
    nomq_endpoint_free(ep);
}

int main(void) {
    wall_clock_steps();
    exchange(1, 2, 200);
    exchange(2, 2, 200);
    exchange(1, 1, 100);
    exchange(2, 0, 100);
    return finish("test_endpoint");
}

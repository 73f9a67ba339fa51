/* Helpers shared by the C tests: checks that report the failing line, the clock and random
 * bytes the sans-IO API asks the caller for, and loopback UDP sockets. */
#ifndef NOMQ_TEST_H
#define NOMQ_TEST_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nomq.h"

static int failures = 0;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                         \
        }                                                                       \
    } while (0)

#define CHECK_RESULT(call, expected)                                            \
    do {                                                                        \
        nomq_result r_ = (call);                                                \
        if (r_ != (expected)) {                                                 \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %u\n", __FILE__, __LINE__, #call, \
                    (unsigned)r_, nomq_result_str(r_), (unsigned)(expected));   \
            failures++;                                                         \
        }                                                                       \
    } while (0)

#define CHECK_OK(call) CHECK_RESULT(call, NOMQ_RESULT_OK)

/* The wall clock, Unix milliseconds: NoMQ packet timestamps (`now_unix_ms`). */
static inline uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A monotonic clock, milliseconds since boot: timers (`now_mono_ms`). */
static inline uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* nomq_random_fn over getrandom(2). */
static inline void fill_random(void *ctx, uint8_t *buf, size_t len) {
    (void)ctx;
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            abort();
        }
        buf += n;
        len -= (size_t)n;
    }
}

static inline int finish(const char *name) {
    if (failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif

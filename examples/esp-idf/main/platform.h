/* What the sans-IO API asks of the platform: the time and secure random bytes. Two clocks:
 * NoMQ packets carry wall-clock Unix milliseconds (platform_unix_ms, set by SNTP on ESP-IDF),
 * while every timer (NoMQ retransmissions and expiry; the MQTT session's keep alive, connect
 * deadline and reconnect backoff) runs on a monotonic clock that a clock step cannot move
 * (platform_monotonic_ms). ESP-IDF: gettimeofday, esp_timer and the hardware RNG;
 * elsewhere (the Linux build CI runs): gettimeofday, clock_gettime(CLOCK_MONOTONIC) and
 * getrandom. Sockets are BSD sockets on both (lwIP). */
#ifndef NOMQ_EXAMPLE_PLATFORM_H
#define NOMQ_EXAMPLE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#ifdef ESP_PLATFORM
#include "esp_random.h"
#include "esp_timer.h"
static inline uint64_t platform_monotonic_ms(void) { return (uint64_t)esp_timer_get_time() / 1000u; }
static inline void platform_random(void *ctx, uint8_t *buf, size_t len) {
    (void)ctx;
    esp_fill_random(buf, len); /* hardware RNG; secure once Wi-Fi or the bootloader entropy is on */
}
#else
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
static inline uint64_t platform_monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
static inline void platform_random(void *ctx, uint8_t *buf, size_t len) {
    (void)ctx;
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n <= 0) abort();
        buf += n;
        len -= (size_t)n;
    }
}
#endif

/* Unix time in milliseconds: NoMQ peers accept +/-30 s, so set the clock (SNTP) first. */
static inline uint64_t platform_unix_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

int sensor_publisher_run(const char *config_text, const char *dest_ip, uint16_t dest_port, int readings);
int mqtt_client_run(const char *broker_ip, uint16_t port, const char *client_id, int messages);

#endif

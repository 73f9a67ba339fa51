// The HAL functions MicroPython's core and the `_nomq` module call on the host.
#include <time.h>
#include <unistd.h>

#include "py/mphal.h"

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    ssize_t n = write(STDOUT_FILENO, str, len);
    return n < 0 ? 0 : (mp_uint_t)n;
}

// The wall clock (Unix time): `_nomq` seals it into packets and checks received ones with it.
uint64_t mp_hal_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

mp_uint_t mp_hal_ticks_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (mp_uint_t)ts.tv_sec * 1000u + (mp_uint_t)ts.tv_nsec / 1000000u;
}

void mp_hal_delay_ms(mp_uint_t ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

// print() output: the host's newlines need no translation.
void mp_hal_stdout_tx_strn_cooked(const char *str, size_t len) {
    mp_hal_stdout_tx_strn(str, len);
}

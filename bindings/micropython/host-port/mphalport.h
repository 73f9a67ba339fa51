// The HAL of the host port: stdout and the clocks are in host_hal.c.

// No pins here. Defining the pin type keeps py/mphal.h from including extmod/virtpin.h,
// which a source tree without extmod/ lacks.
#define mp_hal_pin_obj_t void *

static inline void mp_hal_set_interrupt_char(char c) {
    (void)c;
}

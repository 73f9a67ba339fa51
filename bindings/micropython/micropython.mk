# The `_nomq` user C module for MicroPython's make-based ports (unix, and the host port in
# bindings/micropython/host-port): USER_C_MODULES=<repo>/bindings. It links libnomq.a, built
# for the target with the firmware profile:
#
#   cargo build --locked -p nomq-ffi --no-default-features --profile firmware
#
# NOMQ_LIB overrides the archive (e.g. a cross build under target/<triple>/firmware/).
NOMQ_MP_DIR := $(USERMOD_DIR)
NOMQ_REPO := $(abspath $(NOMQ_MP_DIR)/../..)
NOMQ_LIB ?= $(NOMQ_REPO)/target/firmware/libnomq.a

SRC_USERMOD_C += $(NOMQ_MP_DIR)/modnomq.c \
	$(NOMQ_MP_DIR)/nomq_mp_codec.c \
	$(NOMQ_MP_DIR)/nomq_mp_packet.c \
	$(NOMQ_MP_DIR)/nomq_mp_errors.c \
	$(NOMQ_MP_DIR)/nomq_mp_args.c \
	$(NOMQ_MP_DIR)/nomq_mp_net.c \
	$(NOMQ_MP_DIR)/nomq_mp_config.c \
	$(NOMQ_MP_DIR)/nomq_mp_endpoint.c \
	$(NOMQ_MP_DIR)/nomq_mp_mqtt.c

CFLAGS_USERMOD += -I$(NOMQ_MP_DIR) -I$(NOMQ_REPO)/include
LIBS_USERMOD += $(NOMQ_LIB)

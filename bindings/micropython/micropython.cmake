# The `_nomq` user C module for MicroPython's CMake-based ports (ESP32 with ESP-IDF, rp2):
#
#   make USER_C_MODULES=<repo>/bindings/micropython/micropython.cmake \
#        NOMQ_LIB=<repo>/target/<target triple>/firmware/libnomq.a
#
# NOMQ_LIB is libnomq.a cross-built for the board with the firmware profile (see docs/c.md:
# `cargo rustc -p nomq-ffi --no-default-features --profile firmware --target <triple>
# --crate-type staticlib`). It must be given: there is no host default for a cross build.
add_library(usermod_nomq INTERFACE)

target_sources(usermod_nomq INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modnomq.c
    ${CMAKE_CURRENT_LIST_DIR}/nomq_mp_codec.c
    ${CMAKE_CURRENT_LIST_DIR}/nomq_mp_packet.c
    ${CMAKE_CURRENT_LIST_DIR}/nomq_mp_errors.c
    ${CMAKE_CURRENT_LIST_DIR}/nomq_mp_args.c
    ${CMAKE_CURRENT_LIST_DIR}/nomq_mp_net.c
    ${CMAKE_CURRENT_LIST_DIR}/nomq_mp_config.c
    ${CMAKE_CURRENT_LIST_DIR}/nomq_mp_endpoint.c
    ${CMAKE_CURRENT_LIST_DIR}/nomq_mp_mqtt.c
)

target_include_directories(usermod_nomq INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}
    ${CMAKE_CURRENT_LIST_DIR}/../../include
)

if(NOT NOMQ_LIB AND DEFINED ENV{NOMQ_LIB})
    set(NOMQ_LIB $ENV{NOMQ_LIB})
endif()
if(NOT NOMQ_LIB OR NOT EXISTS ${NOMQ_LIB})
    message(FATAL_ERROR "_nomq: set NOMQ_LIB to libnomq.a built for this board (firmware profile); got '${NOMQ_LIB}'")
endif()
target_link_libraries(usermod_nomq INTERFACE ${NOMQ_LIB})

target_link_libraries(usermod INTERFACE usermod_nomq)

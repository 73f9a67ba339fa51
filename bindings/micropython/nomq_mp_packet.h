// `_nomq.Packet`, an opened datagram (nomq_mp_packet.c).
#ifndef NOMQ_MP_PACKET_H
#define NOMQ_MP_PACKET_H

#include "nomq_mp.h"

typedef struct {
    mp_obj_base_t base;
    nomq_header header;
    mp_obj_t payload;  // bytes: a v1 PUBLISH's text, otherwise the plaintext
    bool is_text;      // v1 PUBLISH: `text` gives the payload as str
} nomq_mp_packet_t;

mp_obj_t nomq_mp_packet_new(const nomq_header *header, mp_obj_t payload, bool is_text);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * smp_server.h - the MCU's SMP server (docs/smp.md): the 8-byte SMP header,
 * dispatch by group and command, the SMP version 1 and 2 error forms, the OS
 * group (echo, reset, MCUmgr parameters) and, through smp_img.h, the image
 * group on ota's portable core. Portable: no hardware access (reset is a
 * flag the board acts on after sending the answer).
 */
#ifndef OTA_PORT_SMP_SERVER_H
#define OTA_PORT_SMP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "smp_cbor.h"
#include "smp_img.h"
#include "smp_ota.h"

#define SMP_HDR_LEN 8
/* Largest SMP packet (header + CBOR) the server takes; reported by the OS
 * group's "MCUmgr parameters" as buf_size. */
#define SMP_MTU 1024

enum smp_op { SMP_OP_READ = 0, SMP_OP_READ_RSP = 1, SMP_OP_WRITE = 2, SMP_OP_WRITE_RSP = 3 };
enum smp_group { SMP_GROUP_OS = 0, SMP_GROUP_IMAGE = 1 };

/* mcumgr_err_t (Zephyr's mgmt/mcumgr/mgmt/mgmt_defines.h). */
enum smp_rc {
    SMP_RC_OK = 0,
    SMP_RC_EUNKNOWN = 1,
    SMP_RC_ENOMEM = 2,
    SMP_RC_EINVAL = 3,
    SMP_RC_ETIMEOUT = 4,
    SMP_RC_ENOENT = 5,
    SMP_RC_EBADSTATE = 6,
    SMP_RC_EMSGSIZE = 7,
    SMP_RC_ENOTSUP = 8,
    SMP_RC_ECORRUPT = 9,
    SMP_RC_EBUSY = 10,
    SMP_RC_EACCESSDENIED = 11,
};

struct smp_hdr {
    uint8_t ver;   /* 0: SMP version 1 (legacy errors), 1: version 2 */
    uint8_t op;
    uint8_t flags;
    uint16_t len;
    uint16_t group;
    uint8_t seq;
    uint8_t cmd;
};

/* One request being answered: a group handler writes its response map's
 * pairs with `w` (the map header is written by the server from n_pairs),
 * or reports an error with smp_err_*(). */
struct smp_req {
    struct smp_hdr hdr;
    const uint8_t *data; /* the request's CBOR */
    size_t data_len;
    struct smp_cbor_wr w;
    uint32_t n_pairs;    /* pairs written into w */
    int err_set;
    uint16_t err_group;  /* 0xffff: an SMP-level rc */
    uint16_t err_rc;
    const char *rsn;     /* optional reason text */
};

struct smp_server {
    struct smp_img img;
    struct smp_ota ota;  /* group 64: ota manifests (smp_ota.h) */
    int reset_requested; /* the board resets after sending the answer */
};

void smp_hdr_decode(const uint8_t in[SMP_HDR_LEN], struct smp_hdr *h);
void smp_hdr_encode(const struct smp_hdr *h, uint8_t out[SMP_HDR_LEN]);

/* Report an SMP-level error (rc form in both versions). */
void smp_err_rc(struct smp_req *r, enum smp_rc rc, const char *rsn);
/* Report a group error: {"err": {"group", "rc"}} in version 2, the group rc
 * translated to an mcumgr_err_t "rc" in version 1. */
void smp_err_group(struct smp_req *r, uint16_t group, uint16_t rc, enum smp_rc v1_rc,
                   const char *rsn);
/* Decode the request map (EINVAL answered on a malformed map). 0 on success. */
int smp_req_fields(struct smp_req *r, struct smp_cbor_field *f, size_t n);

/* Answer one received packet: returns the response length in rsp (0: no
 * answer, e.g. a packet shorter than a header or a response packet). */
size_t smp_server_handle(struct smp_server *s, const uint8_t *pkt, size_t len, uint8_t *rsp,
                         size_t cap);

/* The serial transport reported a damaged packet (bad CRC, base64 or
 * length); answer with ECORRUPT / EMSGSIZE when its header survived. */
size_t smp_server_transport_error(const uint8_t *partial, size_t partial_len, enum smp_rc rc,
                                  uint8_t *rsp, size_t cap);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/smp_client.h - the host side of SMP (docs/smp.md), shared by
 * `ota smp` (src/tool/cmd_smp.c) and ota-agent's gateway backend
 * (src/agent/backend_smp.c): a connection to a device's SMP serial transport
 * (a tty, a TCP socket such as QEMU's chardev, or a unix socket),
 * request/response with sequence numbers and timeouts, framed by the same
 * smp_serial.c the MCU runs, with CBOR encoded and decoded by Debian's
 * libcbor; and the requests both programs make (image state, the ota group's
 * offer / payload / status / checkpoint, reset, confirm).
 */
#ifndef OTA_HOST_SMP_CLIENT_H
#define OTA_HOST_SMP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

struct smp_link {
    int fd;
    int is_sock;      /* tcp: or unix: (sent with MSG_NOSIGNAL) */
    uint8_t seq;
    int ver;          /* 1: SMP version 2 header (default), 0: version 1 */
    int timeout_ms;   /* per answer */
    int retries;      /* resends after a timeout */
    char err[256];    /* why the last call failed */
    /* the last refusal by the device (smpc_request returned 1): its rc (the
     * group's own code in the version 2 form) and group (0: SMP level) */
    uint64_t rc;
    uint64_t rc_group;
};

/* Open "tcp:HOST:PORT", "unix:PATH" or a serial device path (raw, `baud`).
 * 0 on success, else -1 with l->err set. */
int smp_link_open(struct smp_link *l, const char *spec, unsigned baud);
void smp_link_close(struct smp_link *l);

/* Send one request (op 0 read / 2 write) whose CBOR map is req[0, req_len)
 * and wait for the matching answer; *rsp is the decoded map (cbor_decref it).
 * 0: an answer arrived (it may carry an error, see smp_rsp_error);
 * -1: no answer (l->err says why). */
int smp_link_call(struct smp_link *l, int op, uint16_t group, uint8_t cmd, const uint8_t *req,
                  size_t req_len, cbor_item_t **rsp);

/* The answer's error, if any: 0 = none; else fills buf with e.g.
 * "image group error 23 (IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC): not a signed image"
 * and returns the rc (group rc in the v2 form). */
int smp_rsp_error(cbor_item_t *rsp, char *buf, size_t cap);

/* Map lookup by text key (NULL when absent). */
cbor_item_t *smp_map_get(cbor_item_t *map, const char *key);
/* Unsigned value of key, or def when absent / not an unsigned integer. */
uint64_t smp_map_uint(cbor_item_t *map, const char *key, uint64_t def);
/* Boolean value of key (0 when absent). */
int smp_map_bool(cbor_item_t *map, const char *key);

/* A request map being built with libcbor's encoders. */
struct smp_enc {
    uint8_t buf[4096];
    size_t len;
    int overflow;
};
void smp_enc_map(struct smp_enc *e, size_t pairs);
void smp_enc_tstr(struct smp_enc *e, const char *s);
void smp_enc_uint(struct smp_enc *e, uint64_t v);
void smp_enc_bstr(struct smp_enc *e, const uint8_t *p, size_t n);
void smp_enc_bool(struct smp_enc *e, int v);

/* ---- requests both `ota smp` and the gateway make ------------------------ */

/* One request with e's map: 0 = answered without error (*rsp set: cbor_decref
 * it); 1 = the device refused (l->err says why, l->rc / l->rc_group);
 * -1 = no usable answer, or e overflowed (l->err). */
int smpc_request(struct smp_link *l, int op, uint16_t group, uint8_t cmd,
                 const struct smp_enc *e, cbor_item_t **rsp);

/* Data bytes per upload/payload request: `want` when non-zero, else from the
 * device's buf_size (OS group parameters) less room for the other fields. */
uint32_t smpc_chunk(struct smp_link *l, uint32_t want);

/* One slot of the image state read (group 1 command 0). */
struct smpc_slot {
    unsigned slot;
    char version[32];          /* "1.2.3" (".build" when non-zero) */
    uint8_t hash[64];          /* the image's SHA-256 TLV */
    size_t hash_len;
    int active, confirmed, pending, permanent, bootable;
};
/* Parse a state answer (`images`): up to cap entries into out, *n of them.
 * 0, or -1 when the answer has no "images" array (l->err). */
int smpc_state_parse(struct smp_link *l, cbor_item_t *rsp, struct smpc_slot *out, size_t cap,
                     size_t *n);
/* State read: smpc_request's return values. */
int smpc_state_read(struct smp_link *l, struct smpc_slot *out, size_t cap, size_t *n);
/* State write: confirm (hash NULL: the running image) or test. */
int smpc_state_write(struct smp_link *l, const uint8_t hash[32], int confirm, cbor_item_t **rsp);
/* OS group reset. */
int smpc_reset(struct smp_link *l);

/* ota group (64). offer: the server's manifest (and a resume record from an
 * earlier checkpoint, or NULL) -> the payload offset the device continues at
 * and the payload size. */
#define SMPC_RESUME_LEN 69
int smpc_ota_offer(struct smp_link *l, const uint8_t *manifest, size_t len,
                   const uint8_t *resume, uint64_t *off, uint64_t *size);
/* payload: bytes at off -> the device's offset after them; *pending set when
 * the last byte made the target verified and pending. */
int smpc_ota_payload(struct smp_link *l, uint64_t off, const uint8_t *data, size_t n,
                     uint64_t *next, int *pending);
struct smpc_ota_status {
    char device_id[65];
    uint64_t phase, off, size, err;
};
int smpc_ota_status(struct smp_link *l, struct smpc_ota_status *st);
/* checkpoint: the device's resume record (SMPC_RESUME_LEN bytes). */
int smpc_ota_checkpoint(struct smp_link *l, uint8_t rec[SMPC_RESUME_LEN]);

#endif

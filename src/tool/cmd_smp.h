// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/cmd_smp.h - the host side of SMP for `ota smp` (docs/smp.md): a
 * connection to a device's SMP serial transport (a tty, a TCP socket such as
 * QEMU's chardev, or a unix socket), request/response with sequence numbers
 * and timeouts, framed by the same smp_serial.c the MCU runs, with CBOR
 * encoded and decoded by Debian's libcbor.
 */
#ifndef OTA_TOOL_CMD_SMP_H
#define OTA_TOOL_CMD_SMP_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

struct smp_link {
    int fd;
    uint8_t seq;
    int ver;          /* 1: SMP version 2 header (default), 0: version 1 */
    int timeout_ms;   /* per answer */
    int retries;      /* resends after a timeout */
    char err[256];    /* why the last call failed */
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

#endif

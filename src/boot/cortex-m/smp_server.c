// SPDX-License-Identifier: Apache-2.0
/*
 * smp_server.c - SMP packet handling (smp_server.h): header, dispatch, error
 * forms, and the OS management group (smp_group_0.rst: echo, reset, MCUmgr
 * parameters). Unknown groups and commands answer MGMT_ERR_ENOTSUP; a
 * malformed request map answers MGMT_ERR_EINVAL.
 */
#include "smp_server.h"

#include <string.h>

#define RSP_MAP_AT SMP_HDR_LEN          /* one byte: map of < 24 pairs */
#define RSP_PAIRS_AT (SMP_HDR_LEN + 1)
#define NO_GROUP 0xffffu

void smp_hdr_decode(const uint8_t in[SMP_HDR_LEN], struct smp_hdr *h)
{
    h->ver = (uint8_t)((in[0] >> 3) & 3u);
    h->op = (uint8_t)(in[0] & 7u);
    h->flags = in[1];
    h->len = (uint16_t)((in[2] << 8) | in[3]);
    h->group = (uint16_t)((in[4] << 8) | in[5]);
    h->seq = in[6];
    h->cmd = in[7];
}

void smp_hdr_encode(const struct smp_hdr *h, uint8_t out[SMP_HDR_LEN])
{
    out[0] = (uint8_t)(((h->ver & 3u) << 3) | (h->op & 7u));
    out[1] = h->flags;
    out[2] = (uint8_t)(h->len >> 8);
    out[3] = (uint8_t)h->len;
    out[4] = (uint8_t)(h->group >> 8);
    out[5] = (uint8_t)h->group;
    out[6] = h->seq;
    out[7] = h->cmd;
}

void smp_err_rc(struct smp_req *r, enum smp_rc rc, const char *rsn)
{
    r->err_set = 1;
    r->err_group = NO_GROUP;
    r->err_rc = (uint16_t)rc;
    r->rsn = rsn;
}

void smp_err_group(struct smp_req *r, uint16_t group, uint16_t rc, enum smp_rc v1_rc,
                   const char *rsn)
{
    if (r->hdr.ver == 0) { /* SMP version 1: only mcumgr_err_t exists */
        smp_err_rc(r, v1_rc, rsn);
        return;
    }
    r->err_set = 1;
    r->err_group = group;
    r->err_rc = rc;
    r->rsn = rsn;
}

int smp_req_fields(struct smp_req *r, struct smp_cbor_field *f, size_t n)
{
    const char *bad = NULL;
    int e = smp_cbor_decode_map(r->data, r->data_len, f, n, &bad);

    if (e == SMP_CBOR_OK)
        return 0;
    smp_err_rc(r, SMP_RC_EINVAL,
               e == SMP_CBOR_BAD_TYPE ? "a field has the wrong CBOR type"
               : e == SMP_CBOR_DUPLICATE ? "a field appears twice"
               : e == SMP_CBOR_TRUNCATED ? "CBOR truncated"
               : e == SMP_CBOR_NOT_MAP ? "request is not a CBOR map"
                                       : "malformed CBOR");
    return -1;
}

/* ---- OS group ---- */

static void os_echo(struct smp_req *r)
{
    struct smp_cbor_field f[] = {{.key = "d", .type = SMP_CBOR_TSTR}};

    if (smp_req_fields(r, f, 1))
        return;
    if (!f[0].present) {
        smp_err_rc(r, SMP_RC_EINVAL, "echo needs \"d\"");
        return;
    }
    smp_cbor_put_tstr(&r->w, "r");
    smp_cbor_put_tstrn(&r->w, (const char *)f[0].s, f[0].slen);
    r->n_pairs++;
}

static void os_params(struct smp_req *r)
{
    smp_cbor_put_tstr(&r->w, "buf_size");
    smp_cbor_put_uint(&r->w, SMP_MTU);
    smp_cbor_put_tstr(&r->w, "buf_count");
    smp_cbor_put_uint(&r->w, 1);
    r->n_pairs += 2;
}

static void os_reset(struct smp_server *s, struct smp_req *r)
{
    if (smp_req_fields(r, NULL, 0) == 0)
        s->reset_requested = 1;
}

static void img_state_read(struct smp_server *s, struct smp_req *r) { smp_img_state_read(&s->img, r); }
static void img_state_write(struct smp_server *s, struct smp_req *r) { smp_img_state_write(&s->img, r); }
static void img_erase(struct smp_server *s, struct smp_req *r) { smp_img_erase(&s->img, r); }
static void ota_payload(struct smp_server *s, struct smp_req *r) { smp_ota_payload(&s->ota, r); }
static void ota_status(struct smp_server *s, struct smp_req *r) { smp_ota_status(&s->ota, r); }
static void ota_checkpoint(struct smp_server *s, struct smp_req *r) { smp_ota_checkpoint(&s->ota, r); }

/* One writer of the inactive slot at a time: an image upload ends an ota
 * offer in progress and the other way round. */
static void img_upload(struct smp_server *s, struct smp_req *r)
{
    smp_img_upload(&s->img, r);
    if (s->img.up_active)
        s->ota.active = 0;
}

static void ota_offer(struct smp_server *s, struct smp_req *r)
{
    smp_ota_offer(&s->ota, r);
    if (s->ota.active)
        s->img.up_active = 0;
}

static void os_echo_h(struct smp_server *s, struct smp_req *r) { (void)s; os_echo(r); }
static void os_params_h(struct smp_server *s, struct smp_req *r) { (void)s; os_params(r); }

#define RD (1u << SMP_OP_READ)
#define WR (1u << SMP_OP_WRITE)
static const struct {
    uint16_t group;
    uint8_t cmd;
    uint8_t ops; /* RD and/or WR */
    void (*fn)(struct smp_server *s, struct smp_req *r);
} HANDLERS[] = {
    {SMP_GROUP_OS, 0, RD | WR, os_echo_h},     {SMP_GROUP_OS, 5, WR, os_reset},
    {SMP_GROUP_OS, 6, RD, os_params_h},        {SMP_GROUP_IMAGE, 0, RD, img_state_read},
    {SMP_GROUP_IMAGE, 0, WR, img_state_write}, {SMP_GROUP_IMAGE, 1, WR, img_upload},
    {SMP_GROUP_IMAGE, 5, WR, img_erase},       {SMP_GROUP_OTA, 0, WR, ota_offer},
    {SMP_GROUP_OTA, 1, WR, ota_payload},       {SMP_GROUP_OTA, 2, RD, ota_status},
    {SMP_GROUP_OTA, 3, RD, ota_checkpoint},
};

static void dispatch(struct smp_server *s, struct smp_req *r)
{
    size_t i;

    for (i = 0; i < sizeof HANDLERS / sizeof HANDLERS[0]; i++)
        if (HANDLERS[i].group == r->hdr.group && HANDLERS[i].cmd == r->hdr.cmd &&
            (HANDLERS[i].ops & (1u << r->hdr.op))) {
            HANDLERS[i].fn(s, r);
            return;
        }
    smp_err_rc(r, SMP_RC_ENOTSUP, "unknown group, command or operation");
}

/* Write the error pairs over whatever the handler wrote. */
static void put_error(struct smp_req *r)
{
    struct smp_cbor_wr *w = &r->w;

    w->pos = RSP_PAIRS_AT;
    w->overflow = 0;
    r->n_pairs = 0;
    if (r->err_group == NO_GROUP) {
        smp_cbor_put_tstr(w, "rc");
        smp_cbor_put_uint(w, r->err_rc);
    } else {
        smp_cbor_put_tstr(w, "err");
        smp_cbor_put_map(w, 2);
        smp_cbor_put_tstr(w, "group");
        smp_cbor_put_uint(w, r->err_group);
        smp_cbor_put_tstr(w, "rc");
        smp_cbor_put_uint(w, r->err_rc);
    }
    r->n_pairs++;
    if (r->rsn) {
        smp_cbor_put_tstr(w, "rsn");
        smp_cbor_put_tstr(w, r->rsn);
        r->n_pairs++;
    }
}

static size_t finish(struct smp_req *r, uint8_t *rsp)
{
    struct smp_hdr h = r->hdr;

    if (r->w.overflow && !r->err_set)
        smp_err_rc(r, SMP_RC_EMSGSIZE, "response too large");
    if (r->err_set)
        put_error(r);
    if (r->w.overflow) { /* even the error did not fit: bare rc */
        r->w.pos = RSP_PAIRS_AT;
        r->w.overflow = 0;
        r->n_pairs = 1;
        smp_cbor_put_tstr(&r->w, "rc");
        smp_cbor_put_uint(&r->w, SMP_RC_EMSGSIZE);
    }
    rsp[RSP_MAP_AT] = (uint8_t)(0xa0u | r->n_pairs);
    h.op = (uint8_t)(h.op == SMP_OP_READ ? SMP_OP_READ_RSP : SMP_OP_WRITE_RSP);
    h.flags = 0;
    h.len = (uint16_t)(r->w.pos - SMP_HDR_LEN);
    smp_hdr_encode(&h, rsp);
    return r->w.pos;
}

/* Start the answer to the request whose header is hdr: 0 when there is
 * nothing to answer (too short, a response, no room). */
static int req_start(struct smp_req *r, const uint8_t *hdr, size_t len, uint8_t *rsp, size_t cap)
{
    struct smp_hdr h;

    if (len < SMP_HDR_LEN || cap < RSP_PAIRS_AT + 16)
        return 0;
    smp_hdr_decode(hdr, &h);
    if (h.op != SMP_OP_READ && h.op != SMP_OP_WRITE)
        return 0; /* a response (or reserved op): nothing to answer */
    if (h.ver > 1)
        h.ver = 1; /* answer reserved versions in the newest form we speak */
    memset(r, 0, sizeof *r);
    r->hdr = h;
    smp_cbor_wr_init(&r->w, rsp, cap);
    r->w.pos = RSP_PAIRS_AT;
    return 1;
}

size_t smp_server_handle(struct smp_server *s, const uint8_t *pkt, size_t len, uint8_t *rsp,
                         size_t cap)
{
    struct smp_req r;

    if (!req_start(&r, pkt, len, rsp, cap))
        return 0;
    r.data = pkt + SMP_HDR_LEN;
    r.data_len = len - SMP_HDR_LEN;
    if (pkt[0] & 0xe0u)
        smp_err_rc(&r, SMP_RC_EINVAL, "reserved header bits set");
    else if ((pkt[0] >> 3 & 3u) > 1)
        smp_err_rc(&r, SMP_RC_ENOTSUP, "SMP version not supported");
    else if (r.hdr.len != len - SMP_HDR_LEN)
        smp_err_rc(&r, SMP_RC_EINVAL, "header length differs from the packet's");
    else
        dispatch(s, &r);
    return finish(&r, rsp);
}

size_t smp_server_transport_error(const uint8_t *partial, size_t partial_len, enum smp_rc rc,
                                  uint8_t *rsp, size_t cap)
{
    struct smp_req r;

    if (!req_start(&r, partial, partial_len, rsp, cap))
        return 0;
    smp_err_rc(&r, rc, rc == SMP_RC_EMSGSIZE ? "packet larger than the server's buffer"
                                             : "packet damaged in transit (CRC, base64 or length)");
    return finish(&r, rsp);
}

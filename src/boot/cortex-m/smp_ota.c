// SPDX-License-Identifier: Apache-2.0
/*
 * smp_ota.c - ota's SMP group 64 (smp_ota.h) on the update engine:
 *   0 offer   (write) {"manifest": bstr} -> {"off", "size"}
 *   1 payload (write) {"off", "data"}    -> {"off"} ... {"off", "pending": true}
 *   2 status  (read)  {}                 -> {"device_id", "phase", "off", "size", "last_err"}
 *   3 checkpoint (read) {}               -> {"resume": bstr(69)}
 * An offer may carry "resume", a record a checkpoint answered earlier (kept
 * by the gateway across device resets): the engine re-hashes that payload
 * prefix in flash and continues after it only if it matches.
 * Errors: {"err": {"group": 64, "rc": <ota_err>}} (version 2), the ota error
 * translated to an mcumgr_err_t "rc" in version 1; "rsn" names it.
 */
#include "smp_ota.h"

#include <string.h>

#include "smp_server.h"

static const char *rsn_of(struct smp_ota *g, ota_err e, const struct ota_diag *d)
{
    size_t n = 0;
    const char *parts[3] = {ota_errname(e), d && d->field ? ": " : "", d && d->field ? d->field : ""};
    int i;

    for (i = 0; i < 3; i++) {
        const char *s = parts[i];
        while (*s && n + 1 < sizeof g->rsn)
            g->rsn[n++] = *s++;
    }
    g->rsn[n] = 0;
    return g->rsn;
}

static enum smp_rc v1_of(ota_err e)
{
    switch (e) {
    case OTA_ERR_MANIFEST_SIG_INVALID:
    case OTA_ERR_MANIFEST_WRONG_DEVICE:
    case OTA_ERR_IMAGE_HW_MISMATCH:
    case OTA_ERR_IMAGE_SIG_INVALID:
    case OTA_ERR_IMAGE_UNKNOWN_KEY:
        return SMP_RC_EACCESSDENIED;
    case OTA_ERR_MANIFEST_EXPIRED:
    case OTA_ERR_MANIFEST_STALE:
    case OTA_ERR_MANIFEST_DOWNGRADE:
    case OTA_ERR_IMAGE_ROLLBACK:
    case OTA_ERR_UPDATE_STATE:
    case OTA_ERR_DELTA_BASE_MISMATCH:
        return SMP_RC_EBADSTATE;
    case OTA_ERR_MANIFEST_MALFORMED:
    case OTA_ERR_MANIFEST_VERSION:
    case OTA_ERR_UPDATE_PAYLOAD_SIZE:
    case OTA_ERR_UPDATE_PAYLOAD_HASH:
    case OTA_ERR_IMAGE_TOO_LARGE:
        return SMP_RC_EINVAL;
    default:
        return SMP_RC_EUNKNOWN;
    }
}

static void fail(struct smp_ota *g, struct smp_req *r, ota_err e, const struct ota_diag *d)
{
    g->last_err = e;
    smp_err_group(r, SMP_GROUP_OTA, (uint16_t)e, v1_of(e), rsn_of(g, e, d));
}

ota_err smp_ota_init(struct smp_ota *g, const struct ota_boot_dev *dev, int running_slot,
                     const uint8_t *identity, size_t len)
{
    memset(g, 0, sizeof *g);
    g->dev = dev;
    g->running = running_slot;
    if (smp_identity_decode(identity, len, &g->id) != 0)
        return OTA_ERR_MANIFEST_MALFORMED;
    g->have_identity = 1;
    return OTA_OK;
}

static void put_u(struct smp_req *r, const char *k, uint64_t v)
{
    smp_cbor_put_tstr(&r->w, k);
    smp_cbor_put_uint(&r->w, v);
    r->n_pairs++;
}

/* The 69-byte resume record (docs/smp.md): payload digest, prefix digest,
 * offset (u32 big-endian), slot. */
static void resume_encode(const struct ota_update_progress *p, uint8_t out[SMP_OTA_RESUME_LEN])
{
    memcpy(out, p->payload_digest, OTA_SHA256_LEN);
    memcpy(out + 32, p->prefix_digest, OTA_SHA256_LEN);
    out[64] = (uint8_t)(p->offset >> 24);
    out[65] = (uint8_t)(p->offset >> 16);
    out[66] = (uint8_t)(p->offset >> 8);
    out[67] = (uint8_t)p->offset;
    out[68] = p->slot;
}

static void resume_decode(const uint8_t in[SMP_OTA_RESUME_LEN], struct ota_update_progress *p)
{
    memcpy(p->payload_digest, in, OTA_SHA256_LEN);
    memcpy(p->prefix_digest, in + 32, OTA_SHA256_LEN);
    p->offset = (uint32_t)in[64] << 24 | (uint32_t)in[65] << 16 | (uint32_t)in[66] << 8 | in[67];
    p->slot = in[68];
}

void smp_ota_offer(struct smp_ota *g, struct smp_req *r)
{
    struct smp_cbor_field f[] = {{.key = "manifest", .type = SMP_CBOR_BSTR},
                                 {.key = "resume", .type = SMP_CBOR_BSTR}};
    struct ota_update_progress resume;
    struct ota_update_cfg cfg;
    struct ota_manifest m;
    ota_err e;

    if (smp_req_fields(r, f, 2))
        return;
    if (f[1].present && f[1].slen != SMP_OTA_RESUME_LEN) {
        smp_err_rc(r, SMP_RC_EINVAL, "\"resume\" must be 69 bytes");
        return;
    }
    if (!f[0].present) {
        smp_err_rc(r, SMP_RC_EINVAL, "offer needs \"manifest\"");
        return;
    }
    if (!g->have_identity) {
        fail(g, r, OTA_ERR_MANIFEST_MALFORMED, &(struct ota_diag){.field = "device identity block"});
        return;
    }
    /* the offer being received again (a client reconnecting): continue */
    if (g->active && g->u.phase == OTA_UPDATE_RECEIVING &&
        ota_manifest_parse(f[0].s, f[0].slen, &m, NULL) == OTA_OK &&
        memcmp(m.payload_digest, g->u.m.payload_digest, OTA_SHA256_LEN) == 0 &&
        memcmp(m.target_digest, g->u.m.target_digest, OTA_SHA256_LEN) == 0) {
        put_u(r, "off", ota_update_offset(&g->u));
        put_u(r, "size", g->u.m.payload_size);
        return;
    }
    g->active = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.dev = g->dev;
    cfg.server_keys = &g->id.server_key;
    cfg.n_server_keys = 1;
    cfg.device_id = g->id.device_id;
    cfg.running_slot = g->running; /* no clock: expiry is not checked (docs/smp.md) */
    memset(&g->diag, 0, sizeof g->diag);
    if (f[1].present)
        resume_decode(f[1].s, &resume);
    /* a record that does not match the flash is ignored: the engine starts at 0 */
    e = ota_update_begin(&g->u, &cfg, f[0].s, f[0].slen, f[1].present ? &resume : NULL,
                         &g->diag);
    if (e) {
        fail(g, r, e, &g->diag);
        return;
    }
    g->active = 1;
    g->last_err = OTA_OK;
    put_u(r, "off", ota_update_offset(&g->u));
    put_u(r, "size", g->u.m.payload_size);
}

void smp_ota_payload(struct smp_ota *g, struct smp_req *r)
{
    struct smp_cbor_field f[] = {{.key = "off", .type = SMP_CBOR_UINT},
                                 {.key = "data", .type = SMP_CBOR_BSTR}};
    uint32_t at;
    ota_err e;

    if (smp_req_fields(r, f, 2))
        return;
    if (!f[0].present || !f[1].present) {
        smp_err_rc(r, SMP_RC_EINVAL, "payload needs \"off\" and \"data\"");
        return;
    }
    if (!g->active) {
        fail(g, r, OTA_ERR_UPDATE_STATE, &(struct ota_diag){.field = "no offer accepted"});
        return;
    }
    at = ota_update_offset(&g->u);
    if (f[0].u != at) { /* not where the device is: nothing written */
        put_u(r, "off", at);
        return;
    }
    e = ota_update_write(&g->u, f[1].s, f[1].slen);
    if (e) {
        g->active = 0;
        fail(g, r, e, &g->diag);
        return;
    }
    at = ota_update_offset(&g->u);
    if (at < g->u.m.payload_size) {
        put_u(r, "off", at);
        return;
    }
    g->active = 0;
    e = ota_update_finish(&g->u, NULL);
    if (e) {
        fail(g, r, e, &g->diag);
        return;
    }
    put_u(r, "off", at);
    smp_cbor_put_tstr(&r->w, "pending");
    smp_cbor_put_bool(&r->w, 1);
    r->n_pairs++;
}

void smp_ota_status(struct smp_ota *g, struct smp_req *r)
{
    smp_cbor_put_tstr(&r->w, "device_id");
    smp_cbor_put_tstr(&r->w, g->id.device_id);
    r->n_pairs++;
    put_u(r, "phase", g->u.phase);
    put_u(r, "off", g->active ? ota_update_offset(&g->u) : 0);
    put_u(r, "size", g->active ? g->u.m.payload_size : 0);
    put_u(r, "last_err", (uint64_t)g->last_err);
}

void smp_ota_checkpoint(struct smp_ota *g, struct smp_req *r)
{
    struct ota_update_progress p;
    uint8_t rec[SMP_OTA_RESUME_LEN];
    ota_err e;

    if (!g->active) {
        fail(g, r, OTA_ERR_UPDATE_STATE, &(struct ota_diag){.field = "no offer being received"});
        return;
    }
    e = ota_update_checkpoint(&g->u, &p);
    if (e) {
        fail(g, r, e, &g->diag);
        return;
    }
    resume_encode(&p, rec);
    smp_cbor_put_tstr(&r->w, "resume");
    smp_cbor_put_bstr(&r->w, rec, sizeof rec);
    r->n_pairs++;
}

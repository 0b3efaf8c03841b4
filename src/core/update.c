// SPDX-License-Identifier: Apache-2.0
/*
 * update.c - the portable update engine (ota/update.h): manifest checks
 * before any download, streaming write of a full image or a delta into the
 * inactive slot, resumable progress, and the verify-then-mark-pending finish.
 *
 * Why it exists: one implementation of the sequence that must never brick a
 * device, shared by ota-agent, the simulated devices and MCU ports. No
 * malloc, no stdio; flash through struct ota_boot_dev, time and transport
 * through the HAL structs of ota/update.h.
 */
#include "ota/update.h"

#include <stddef.h>
#include <string.h>

#include "hash_range.h"

static ota_err fail(struct ota_update *u, ota_err e, const char *field, uint32_t off)
{
    if (u->diag && field) {
        memset(u->diag, 0, sizeof *u->diag);
        u->diag->field = field;
        u->diag->offset = off;
    }
    u->err = e;
    u->phase = OTA_UPDATE_FAILED;
    return e;
}

static ota_err fail_values(struct ota_update *u, ota_err e, const char *field,
                           uint32_t off, uint32_t expected, uint32_t found)
{
    fail(u, e, field, off);
    if (u->diag) {
        u->diag->expected = expected;
        u->diag->found = found;
        u->diag->has_values = 1;
    }
    return e;
}

/* A reader over the whole flash of dev, for the hashing helpers. */
static void flash_reader(const struct ota_boot_dev *dev, struct ota_reader *r,
                         struct ota_flash_area *area)
{
    ota_reader_from_flash(r, area, dev->flash, 0, ota_flash_size(dev->flash));
}

/* Hash [off, off + len) of flash into ctx (ctx already initialised). */
static ota_err hash_flash(const struct ota_boot_dev *dev, uint32_t off, uint32_t len,
                          ota_sha256_ctx *ctx)
{
    struct ota_flash_area area;
    struct ota_reader r;

    flash_reader(dev, &r, &area);
    return ota_hash_range_feed(dev->crypto, ctx, &r, off, len, dev->buf, dev->buf_len, NULL,
                               NULL);
}

static ota_err digest_flash(const struct ota_boot_dev *dev, uint32_t off, uint32_t len,
                            uint8_t out[OTA_SHA256_LEN])
{
    struct ota_flash_area area;
    struct ota_reader r;

    flash_reader(dev, &r, &area);
    return ota_hash_range(dev->crypto, &r, off, len, dev->buf, dev->buf_len, out, NULL, NULL);
}

/*
 * Hash [0, len) of the target slot AS PUBLISHED: for an encrypted image the
 * slot holds the plaintext, so its body is re-encrypted on the way into the
 * hash (the manifest's digests are of the file the build side published).
 */
static ota_err hash_slot(struct ota_update *u, uint32_t len, ota_sha256_ctx *ctx)
{
    const struct ota_boot_dev *dev = u->cfg.dev;
    const struct ota_boot_layout *l = &u->boot_cfg.layout;
    struct ota_flash_area area;
    struct ota_enc_reader er;
    struct ota_reader slot, published;

    if (!u->encrypted)
        return hash_flash(dev, l->slot_off[u->ins.slot], len, ctx);
    ota_reader_from_flash(&slot, &area, dev->flash, l->slot_off[u->ins.slot], l->slot_size);
    ota_reader_enc(&published, &er, &slot, &u->enc);
    return ota_hash_range_feed(dev->crypto, ctx, &published, 0, len, dev->buf, dev->buf_len,
                               NULL, NULL);
}

/* SHA-256 of a copy of ctx, leaving ctx usable. */
static ota_err digest_copy(const struct ota_crypto *c, const ota_sha256_ctx *ctx,
                           uint8_t out[OTA_SHA256_LEN])
{
    ota_sha256_ctx tmp = *ctx;
    return c->sha256_final(&tmp, out);
}

static uint64_t clock_now(const struct ota_update_clock *c)
{
    return c->now ? c->now(c->ctx) : 0;
}

/* The delta applier's sink: strictly sequential bytes of the new image. */
static ota_err delta_sink(void *ctx, uint32_t off, const void *data, size_t len)
{
    struct ota_update *u = ctx;
    if (off != u->ins.w.pos)
        return OTA_ERR_INTERNAL;
    return ota_install_write(&u->ins, data, len);
}

/* An image that does not parse (its content), as opposed to a port that
 * failed while it was read (OTA_ERR_IO, power loss...: reported as such). */
static int image_content_error(ota_err e)
{
    return e >= OTA_ERR_IMAGE_TRUNCATED && e <= OTA_ERR_IMAGE_ENC_NO_KEY;
}

/* SHA-256 of the encrypted image in the active slot as it was published
 * (u->active, parsed into *info); the plaintext digest stays in out when the
 * device has no key that opens it (a port failure is returned). */
static ota_err published_digest(struct ota_update *u, const struct ota_image_info *info,
                                uint8_t out[OTA_SHA256_LEN])
{
    const struct ota_boot_dev *dev = u->cfg.dev;
    struct ota_enc_key k;
    struct ota_enc_reader er;
    struct ota_reader pub;
    ota_err e;
    if (!u->cfg.enc || !u->cfg.enc_key)
        return OTA_OK;
    e = ota_enc_image_key(&u->active, info, u->cfg.enc, u->cfg.enc_key, &k, NULL);
    if (e)
        return image_content_error(e) ? OTA_OK : fail(u, e, "active image key", 0);
    ota_reader_enc(&pub, &er, &u->active, &k);
    e = ota_hash_range(dev->crypto, &pub, 0, info->total_size, dev->buf, dev->buf_len, out, NULL,
                       NULL);
    ota_enc_key_wipe(&k);
    return e ? fail(u, e, "active image read", 0) : OTA_OK;
}

/* Delta only: the running image must be exactly the patch's base (its
 * digest as it sits in the slot or, when encrypted, as it was published). */
static ota_err check_delta_base(struct ota_update *u, int active)
{
    const struct ota_boot_dev *dev = u->cfg.dev;
    const struct ota_boot_layout *l = &u->boot_cfg.layout;
    struct ota_image_info info;
    uint8_t digest[OTA_SHA256_LEN];
    struct ota_diag pd;
    ota_err e;

    if (active < 0)
        return fail(u, OTA_ERR_DELTA_BASE_MISMATCH, "active slot (none confirmed)", 0);
    ota_reader_from_flash(&u->active, &u->active_area, dev->flash, l->slot_off[active],
                          l->slot_size);
    e = ota_image_parse(&u->active, &info, &pd);
    if (e && !image_content_error(e))
        return fail(u, e, "active image read", 0);
    if (e)
        return fail(u, OTA_ERR_DELTA_BASE_MISMATCH, "active image (does not parse)", 0);
    e = digest_flash(dev, l->slot_off[active], info.total_size, digest);
    if (e)
        return fail(u, e, "active image read", 0);
    if (memcmp(digest, u->m.base_digest, OTA_SHA256_LEN) != 0 && info.enc_aes_len) {
        /* an encrypted base runs decrypted; the server knows it by its
         * published (encrypted) digest: the slot re-encrypted on the fly with
         * the key from its own key TLV names the base as well */
        e = published_digest(u, &info, digest);
        if (e)
            return e;
    }
    if (memcmp(digest, u->m.base_digest, OTA_SHA256_LEN) != 0)
        return fail(u, OTA_ERR_DELTA_BASE_MISMATCH, "manifest base_digest", 0);
    /* The applier reads only the base image's bytes. */
    u->active.size = info.total_size;
    return OTA_OK;
}

/* Version of the image the device runs (the running slot, else the
 * confirmed one), for the manifest's downgrade rule. *has = 0 when nothing
 * parses there (no running image: nothing to protect from a downgrade); a
 * port failure while reading it is returned (the rule is not skipped). */
static ota_err running_version(struct ota_update *u, int slot, struct ota_image_version *out,
                               int *has)
{
    const struct ota_boot_layout *l = &u->boot_cfg.layout;
    struct ota_flash_area area;
    struct ota_reader r;
    struct ota_image_info info;
    ota_err e;
    *has = 0;
    if (slot < 0 || slot > 1)
        return OTA_OK;
    ota_reader_from_flash(&r, &area, u->cfg.dev->flash, l->slot_off[slot], l->slot_size);
    e = ota_image_parse(&r, &info, NULL);
    if (e)
        return image_content_error(e) ? OTA_OK : e;
    *out = info.hdr.version;
    *has = 1;
    return OTA_OK;
}

/* Re-read the prefix a previous session wrote and continue after it if it
 * still hashes to what was recorded. Returns the offset to continue at. */
static uint32_t try_resume(struct ota_update *u, const struct ota_update_progress *p)
{
    const struct ota_boot_dev *dev = u->cfg.dev;
    uint8_t digest[OTA_SHA256_LEN];

    if (!p || u->m.payload_kind != OTA_PAYLOAD_FULL || p->offset == 0)
        return 0;
    if (memcmp(p->payload_digest, u->m.payload_digest, OTA_SHA256_LEN) != 0 ||
        p->slot != (uint8_t)u->ins.slot || p->offset > u->m.payload_size ||
        p->offset % dev->flash->sector_size != 0)
        return 0;
    if (hash_slot(u, p->offset, &u->sha) ||
        digest_copy(dev->crypto, &u->sha, digest) ||
        memcmp(digest, p->prefix_digest, OTA_SHA256_LEN) != 0) {
        /* Torn or foreign prefix: start over with a clean hash. */
        (void)dev->crypto->sha256_init(&u->sha);
        return 0;
    }
    return p->offset;
}

enum { ENV_UNDECIDED = 0, ENV_PLAIN = 1, ENV_HEADER = 2, ENV_OPEN = 3 };

/*
 * Continue a delta install where ota_update_checkpoint_delta() left it, when
 * ds names this payload and slot, its hash matches, and the writer and the
 * applier accept it (otherwise the install starts at 0, as before).
 */
/* SHA-256 of a delta state's bytes before state_digest. */
static ota_err delta_state_digest(const struct ota_crypto *c, const struct ota_update_delta_state *ds,
                                  uint8_t out[OTA_SHA256_LEN])
{
    return ota_sha256(c, ds, offsetof(struct ota_update_delta_state, state_digest), out);
}

static void delta_resume(struct ota_update *u, const struct ota_delta_apply_cfg *dc,
                         const struct ota_update_delta_state *ds)
{
    const struct ota_boot_dev *dev = u->cfg.dev;
    uint8_t digest[OTA_SHA256_LEN];
    struct ota_flash_writer w = ds->w;
    /* the state's own digest first: the hash contexts in it are used as
     * they are (ota/update.h), a damaged one must never reach the port */
    if (ds->magic != OTA_UPDATE_DELTA_MAGIC || ds->size != sizeof(*ds) ||
        delta_state_digest(dev->crypto, ds, digest) ||
        memcmp(digest, ds->state_digest, OTA_SHA256_LEN) != 0 ||
        memcmp(ds->p.payload_digest, u->m.payload_digest, OTA_SHA256_LEN) != 0 ||
        ds->p.slot != (uint8_t)u->ins.slot || ds->p.offset == 0 ||
        ds->p.offset > u->m.payload_size || ds->delta.in_total != ds->p.offset ||
        w.off != u->ins.w.off || w.size != u->ins.w.size || w.pos > w.size ||
        w.fill >= OTA_FLASH_PROG_MAX || w.fill > w.pos || w.erased_end > w.size ||
        w.chunk != u->ins.w.chunk || w.pos != ds->delta.real_written ||
        digest_copy(dev->crypto, &ds->sha, digest) ||
        memcmp(digest, ds->p.prefix_digest, OTA_SHA256_LEN) != 0)
        return;
    if (ota_delta_apply_resume(&u->delta, dc, &ds->delta) != OTA_OK) {
        (void)ota_delta_apply_init(&u->delta, dc);
        return;
    }
    w.flash = u->ins.w.flash;
    u->ins.w = w;
    u->sha = ds->sha;
    u->received = ds->p.offset;
    u->start = ds->p.offset;
    u->resumed = 1;
    u->env_state = ENV_PLAIN;
}

/*
 * A full image that is encrypted: read its header and TLV areas through
 * payload_at (the key TLV is at the end of the image) and open the key with
 * the device key. Without payload_at nothing can be known yet; finish then
 * refuses an encrypted image.
 */
static ota_err payload_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    const struct ota_update_payload_at *pa = ctx;
    return pa->read(pa->ctx, off, buf, len);
}

static ota_err open_image_key(struct ota_update *u)
{
    struct ota_image_info info;
    struct ota_reader r;
    ota_err e;

    if (!u->cfg.payload_at.read)
        return OTA_OK;
    r.read = payload_read;
    r.ctx = &u->cfg.payload_at;
    r.size = u->m.target_size;
    e = ota_image_parse(&r, &info, u->diag);
    if (e) {
        u->err = e;
        return e;
    }
    if (!info.enc_aes_len)
        return OTA_OK;
    if (!u->cfg.enc)
        return fail(u, OTA_ERR_IMAGE_ENC_NO_KEY, "encryption port (none configured)", 0);
    e = ota_enc_image_key(&r, &info, u->cfg.enc, u->cfg.enc_key, &u->enc, u->diag);
    if (e) {
        u->err = e;
        return e;
    }
    u->encrypted = 1;
    return OTA_OK;
}

/*
 * At finish, when no key was opened at begin: a delta rebuilt an encrypted
 * image in the slot (as plaintext, body decrypted by the build side), so its
 * published form is recovered with the key in the slot's own key TLV. A
 * full encrypted image written as it came holds ciphertext: refused.
 */
static ota_err open_slot_key(struct ota_update *u, uint32_t slot_off)
{
    const struct ota_boot_dev *dev = u->cfg.dev;
    struct ota_flash_area area;
    struct ota_image_info info;
    struct ota_reader r;
    ota_err e;

    if (u->encrypted)
        return OTA_OK;
    ota_reader_from_flash(&r, &area, dev->flash, slot_off, u->boot_cfg.layout.slot_size);
    e = ota_image_parse(&r, &info, NULL);
    if (e && !image_content_error(e))
        return fail(u, e, "slot read", 0);
    if (e || !info.enc_aes_len)
        return OTA_OK; /* verification below reports the structure */
    if (u->m.payload_kind != OTA_PAYLOAD_DELTA || !u->cfg.enc)
        return fail(u, OTA_ERR_IMAGE_ENC_NO_KEY,
                    "encrypted image (no device key, or no payload_at to read its key TLV)", 0);
    e = ota_enc_image_key(&r, &info, u->cfg.enc, u->cfg.enc_key, &u->enc, u->diag);
    if (e) {
        u->err = e;
        u->phase = OTA_UPDATE_FAILED;
        return e;
    }
    u->encrypted = 1;
    return OTA_OK;
}

ota_err ota_update_begin(struct ota_update *u, const struct ota_update_cfg *cfg,
                         const uint8_t *manifest, size_t manifest_len,
                         const struct ota_update_progress *resume,
                         struct ota_diag *diag)
{
    struct ota_manifest_policy pol;
    struct ota_otp_counter otp;
    struct ota_boot_state bst;
    struct ota_image_version running;
    const struct ota_boot_dev *dev;
    const struct ota_boot_layout *l;
    int target, active, has_running;
    ota_err e;

    if (!u)
        return OTA_ERR_INVALID_ARG;
    memset(u, 0, sizeof *u);
    u->diag = diag;
    u->phase = OTA_UPDATE_FAILED;
    u->err = OTA_ERR_INVALID_ARG;
    if (!cfg || !cfg->dev || !cfg->dev->flash || !cfg->dev->crypto || !cfg->device_id ||
        !manifest || (!cfg->server_keys && cfg->n_server_keys))
        return fail(u, OTA_ERR_INVALID_ARG, "update config", 0);
    if (cfg->running_slot < -1 || cfg->running_slot > 1)
        return fail_values(u, OTA_ERR_INVALID_ARG, "update config: running_slot (-1, 0 or 1)",
                           0, 1, (uint32_t)cfg->running_slot);
    u->cfg = *cfg;
    dev = cfg->dev;

    e = ota_boot_config_read(dev->flash, &u->boot_cfg, diag);
    if (e)
        return fail(u, e, NULL, 0);
    l = &u->boot_cfg.layout;
    e = ota_otp_read_counter(dev->flash, l, &otp);
    if (e)
        return fail(u, e, "OTP anti-rollback counter", 0);
    u->otp_counter = otp.value;
    e = ota_boot_state_read(dev->flash, l, &bst, NULL);
    if (e)
        return fail(u, e, "boot state", 0);
    active = bst.confirmed <= 1 ? bst.confirmed : -1;

    /* 1. The offer itself: signature, addressee, hardware, time, counter,
     *    freshness, downgrade, size. */
    memset(&pol, 0, sizeof pol);
    pol.crypto = dev->crypto;
    pol.server_keys = cfg->server_keys;
    pol.n_server_keys = cfg->n_server_keys;
    pol.device_id = cfg->device_id;
    if (u->boot_cfg.hw_id_len) {
        pol.hw_id = u->boot_cfg.hw_id;
        pol.hw_id_len = u->boot_cfg.hw_id_len;
    }
    pol.now = clock_now(&cfg->clock);
    pol.min_security_counter = otp.value;
    pol.max_target_size = l->slot_size;
    pol.min_offer_seq = cfg->min_offer_seq;
    e = running_version(u, cfg->running_slot >= 0 ? cfg->running_slot : active, &running,
                        &has_running);
    if (e)
        return fail(u, e, "running image read", 0);
    if (has_running)
        pol.running_version = &running;
    e = ota_manifest_verify(manifest, manifest_len, &pol, &u->m, diag);
    if (e) {
        u->err = e;
        return e;
    }
    if (u->m.payload_kind == OTA_PAYLOAD_FULL && u->m.payload_size != u->m.target_size)
        return fail_values(u, OTA_ERR_MANIFEST_MALFORMED, "payload_size (full image)", 0,
                           u->m.target_size, u->m.payload_size);

    /* 2. Which slot: never the confirmed (known good) one, never the running one. */
    target = active == 0 ? 1 : 0;
    if (cfg->running_slot == target)
        return fail_values(u, OTA_ERR_UPDATE_STATE,
                           "target slot is the running slot (confirm it first)", 0,
                           (uint32_t)(target ^ 1), (uint32_t)target);

    /* 3. Delta: the running image must be exactly the base. */
    if (u->m.payload_kind == OTA_PAYLOAD_DELTA) {
        e = check_delta_base(u, active);
        if (e)
            return e;
    }

    /* 4. Encrypted image: its key must open before anything is written. */
    if (u->m.payload_kind == OTA_PAYLOAD_FULL) {
        e = open_image_key(u);
        if (e)
            return e;
    }

    /* Only now touch the boot state / slot. */
    e = ota_install_begin(&u->ins, dev, u->m.target_size, diag);
    if (e) {
        u->err = e;
        return e;
    }
    if (u->ins.slot != target)
        return fail_values(u, OTA_ERR_INTERNAL, "installer target slot", 0,
                           (uint32_t)target, (uint32_t)u->ins.slot);

    e = dev->crypto->sha256_init(&u->sha);
    if (e)
        return fail(u, e, "sha256", 0);
    u->start = try_resume(u, resume);
    u->resumed = u->start != 0;
    u->received = u->start;
    u->ckpt_off = u->start;
    u->ckpt_sha = u->sha;

    if (u->start) {
        /* Continue the installer after the verified prefix. */
        e = ota_install_resume(&u->ins, u->start, diag);
        if (e)
            return fail(u, e, "slot writer (resume)", u->start);
    }
    if (u->encrypted) {
        e = ota_install_decrypt(&u->ins, &u->enc);
        if (e)
            return fail(u, e, "slot writer (decrypt)", 0);
    }

    if (u->m.payload_kind == OTA_PAYLOAD_DELTA) {
        struct ota_delta_apply_cfg dc;
        memset(&dc, 0, sizeof dc);
        dc.crypto = dev->crypto;
        dc.old = &u->active;
        dc.write = delta_sink;
        dc.write_ctx = u;
        dc.max_new_len = l->slot_size;
        dc.diag = diag;
        dc.deflate = u->cfg.deflate;
        e = ota_delta_apply_init(&u->delta, &dc);
        if (e)
            return fail(u, e, "delta applier", 0);
        if (cfg->delta_resume && !u->start)
            delta_resume(u, &dc, cfg->delta_resume);
    }
    u->err = OTA_OK;
    u->phase = OTA_UPDATE_RECEIVING;
    return OTA_OK;
}

uint32_t ota_update_offset(const struct ota_update *u)
{
    return u ? u->received : 0;
}

const struct ota_manifest *ota_update_manifest(const struct ota_update *u)
{
    return u && u->phase != OTA_UPDATE_IDLE ? &u->m : NULL;
}

int ota_update_slot(const struct ota_update *u)
{
    return u ? u->ins.slot : -1;
}

/* Feed patch bytes at payload offset off to the applier, decrypting them
 * first when the patch came sealed. */
static ota_err feed_patch(struct ota_update *u, uint32_t off, const uint8_t *p, uint32_t n)
{
    uint8_t buf[256];
    if (u->env_state != ENV_OPEN)
        return ota_delta_apply_feed(&u->delta, p, n);
    while (n) {
        uint32_t k = n < sizeof buf ? n : (uint32_t)sizeof buf;
        ota_err e;
        memcpy(buf, p, k);
        e = ota_enc_xor(&u->penc, off, buf, k);
        if (!e)
            e = ota_delta_apply_feed(&u->delta, buf, k);
        if (e)
            return e;
        off += k;
        p += k;
        n -= k;
    }
    return OTA_OK;
}

/*
 * Delta payload bytes [u->received, +n): recognise a sealed patch by its
 * first bytes, open its key (before a single patch byte reaches the
 * applier), then decrypt the rest on the way in.
 */
static ota_err take_delta(struct ota_update *u, const uint8_t *p, uint32_t n)
{
    uint32_t off = u->received;
    while (n && (u->env_state == ENV_UNDECIDED || u->env_state == ENV_HEADER)) {
        uint32_t want = u->env_state == ENV_UNDECIDED ? OTA_ENC_PAYLOAD_FIXED : 0;
        uint32_t k;
        ota_err e;
        if (u->env_state == ENV_HEADER) {
            want = ota_enc_payload_hdr_len(u->env, &e);
        }
        k = want - u->env_len < n ? want - u->env_len : n;
        memcpy(u->env + u->env_len, p, k);
        u->env_len = (uint8_t)(u->env_len + k);
        p += k;
        n -= k;
        off += k;
        if (u->env_len < want)
            break;
        if (u->env_state == ENV_UNDECIDED) {
            uint32_t hl = ota_enc_payload_hdr_len(u->env, &e);
            if (e)
                return fail(u, e, "encrypted payload header", 0);
            if (!hl) {
                /* a plain patch: the buffered bytes are its start */
                u->env_state = ENV_PLAIN;
                e = ota_delta_apply_feed(&u->delta, u->env, u->env_len);
                if (e)
                    return e;
                break;
            }
            if (!u->cfg.enc)
                return fail(u, OTA_ERR_IMAGE_ENC_NO_KEY, "encryption port (none configured)",
                            0);
            u->env_state = ENV_HEADER;
            continue;
        }
        e = ota_enc_payload_open(u->cfg.enc, u->cfg.enc_key, u->env, u->env_len,
                                 u->m.payload_size, &u->penc, u->diag);
        if (e) {
            u->err = e;
            u->phase = OTA_UPDATE_FAILED;
            return e;
        }
        u->env_state = ENV_OPEN;
    }
    return n ? feed_patch(u, off, p, n) : OTA_OK;
}

/*
 * Fill *ds with what resumes the install at this point (the flash not
 * synced: the caller does). OTA_ERR_UNSUPPORTED where the applier cannot be
 * suspended: *ds and the install's diag are then left as they were (a
 * refused attempt is no failure of the install).
 */
static ota_err delta_state_fill(struct ota_update *u, struct ota_update_delta_state *ds)
{
    struct ota_diag kept;
    if (u->diag)
        kept = *u->diag;
    ota_err e = ota_delta_apply_suspend(&u->delta, &ds->delta);
    if (e) {
        if (u->diag)
            *u->diag = kept;
        return e;
    }
    ds->magic = 0; /* until the rest matches the applier's snapshot */
    ds->size = sizeof *ds;
    memset(&ds->p, 0, sizeof ds->p);
    memcpy(ds->p.payload_digest, u->m.payload_digest, OTA_SHA256_LEN);
    ds->p.slot = (uint8_t)u->ins.slot;
    ds->p.offset = u->received;
    ds->sha = u->sha;
    ds->w = u->ins.w;
    ds->w.flash = NULL;
    e = digest_copy(u->cfg.dev->crypto, &u->sha, ds->p.prefix_digest);
    if (!e)
        ds->magic = OTA_UPDATE_DELTA_MAGIC;
    return e;
}

/*
 * Plain patch bytes while a checkpoint is wanted: fed up to each point where
 * the applier can be suspended (ota_delta_apply_feed_part: for version 2/3,
 * where the next new deflate stream starts), the payload hashed exactly up
 * to the byte consumed there, and the latest such point kept in *u->want.
 */
static ota_err take_delta_cuts(struct ota_update *u, const uint8_t *p, uint32_t n)
{
    const struct ota_crypto *c = u->cfg.dev->crypto;
    while (n) {
        size_t used = 0;
        ota_err e = ota_delta_apply_feed_part(&u->delta, p, n, &used);
        if (!e)
            e = c->sha256_update(&u->sha, p, used);
        if (e)
            return e;
        u->received += (uint32_t)used;
        p += used;
        n -= (uint32_t)used;
        e = delta_state_fill(u, u->want);
        if (e && e != OTA_ERR_UNSUPPORTED)
            return e;
    }
    return OTA_OK;
}

/* Consume n payload bytes (n never crosses a sector boundary of a full image). */
static ota_err take(struct ota_update *u, const uint8_t *p, uint32_t n)
{
    const struct ota_boot_dev *dev = u->cfg.dev;
    if (u->m.payload_kind == OTA_PAYLOAD_DELTA && u->want && u->env_state == ENV_PLAIN)
        return take_delta_cuts(u, p, n);
    ota_err e = dev->crypto->sha256_update(&u->sha, p, n);
    if (e)
        return e;
    if (u->m.payload_kind == OTA_PAYLOAD_DELTA) {
        e = take_delta(u, p, n);
        if (e)
            return e;
        u->received += n;
        return OTA_OK;
    }
    e = ota_install_write(&u->ins, p, n);
    if (e)
        return e;
    u->received += n;
    if (u->received % dev->flash->sector_size == 0) {
        u->ckpt_off = u->received;
        u->ckpt_sha = u->sha;
    }
    return OTA_OK;
}

ota_err ota_update_write(struct ota_update *u, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sector;

    if (!u || (!data && len))
        return OTA_ERR_INVALID_ARG;
    if (u->phase != OTA_UPDATE_RECEIVING)
        return u->phase == OTA_UPDATE_FAILED && u->err ? u->err : OTA_ERR_UPDATE_STATE;
    if (len > (size_t)(u->m.payload_size - u->received))
        return fail_values(u, OTA_ERR_UPDATE_PAYLOAD_SIZE, "payload bytes", u->received,
                           u->m.payload_size,
                           len > UINT32_MAX - u->received ? UINT32_MAX
                                                          : u->received + (uint32_t)len);
    sector = u->cfg.dev->flash->sector_size;
    while (len) {
        uint32_t n = (uint32_t)len;
        ota_err e;
        if (u->m.payload_kind == OTA_PAYLOAD_FULL) {
            uint32_t to_boundary = sector - u->received % sector;
            if (n > to_boundary)
                n = to_boundary;
        }
        e = take(u, p, n);
        if (e)
            return fail(u, e, "payload write", u->received);
        p += n;
        len -= n;
    }
    return OTA_OK;
}

ota_err ota_update_want_checkpoint_delta(struct ota_update *u, struct ota_update_delta_state *ds)
{
    if (!u)
        return OTA_ERR_INVALID_ARG;
    if (!ds) {
        u->want = NULL;
        return OTA_OK;
    }
    if (u->phase != OTA_UPDATE_RECEIVING)
        return u->err ? u->err : OTA_ERR_UPDATE_STATE;
    if (u->m.payload_kind != OTA_PAYLOAD_DELTA ||
        (u->env_state != ENV_PLAIN && u->env_state != ENV_UNDECIDED))
        return OTA_ERR_UNSUPPORTED;
    ds->magic = 0;
    u->want = ds;
    return OTA_OK;
}

ota_err ota_update_checkpoint_delta(struct ota_update *u, struct ota_update_delta_state *ds)
{
    ota_err e;

    if (!u || !ds || !u->cfg.dev)
        return OTA_ERR_INVALID_ARG;
    if (u->phase != OTA_UPDATE_RECEIVING)
        return u->err ? u->err : OTA_ERR_UPDATE_STATE;
    if (u->m.payload_kind != OTA_PAYLOAD_DELTA || u->env_state != ENV_PLAIN)
        return OTA_ERR_UNSUPPORTED;
    if (ds == u->want) {
        /* here if possible (the latest point), else the point the writes
         * since ota_update_want_checkpoint_delta() kept in it */
        e = delta_state_fill(u, ds);
        if (e == OTA_ERR_UNSUPPORTED && ds->magic == OTA_UPDATE_DELTA_MAGIC)
            e = OTA_OK;
    } else {
        memset(ds, 0, sizeof *ds);
        e = delta_state_fill(u, ds);
    }
    if (e)
        return e;
    /* everything the applier handed to the writer, and the writer to the
     * flash, is durable before the state that relies on it is kept (bytes
     * written after the state's point are written again on resume) */
    e = ota_flash_sync(u->cfg.dev->flash);
    if (e)
        return e;
    if (ds == u->want)
        u->want = NULL;
    /* last, over the state as handed out: its own digest, which resume
     * checks before anything else (ota/update.h) */
    return delta_state_digest(u->cfg.dev->crypto, ds, ds->state_digest);
}

ota_err ota_update_checkpoint(struct ota_update *u, struct ota_update_progress *p)
{
    const struct ota_crypto *c;
    ota_err e;

    if (!u || !p || !u->cfg.dev)
        return OTA_ERR_INVALID_ARG;
    if (u->phase != OTA_UPDATE_RECEIVING && u->phase != OTA_UPDATE_DONE)
        return u->err ? u->err : OTA_ERR_UPDATE_STATE;
    c = u->cfg.dev->crypto;
    memset(p, 0, sizeof *p);
    memcpy(p->payload_digest, u->m.payload_digest, OTA_SHA256_LEN);
    p->slot = (uint8_t)u->ins.slot;
    if (u->m.payload_kind != OTA_PAYLOAD_FULL) {
        /* Delta payloads restart from 0 after an interruption. */
        return ota_sha256(c, "", 0, p->prefix_digest);
    }
    e = ota_flash_sync(u->cfg.dev->flash);
    if (e)
        return e;
    p->offset = u->ckpt_off;
    return digest_copy(c, &u->ckpt_sha, p->prefix_digest);
}

/* The verified slot is the image the manifest names. */
static ota_err check_matches_manifest(struct ota_update *u, const struct ota_image_info *info)
{
    const struct ota_manifest *m = &u->m;
    if (info->total_size != m->target_size)
        return fail_values(u, OTA_ERR_UPDATE_PAYLOAD_SIZE, "image size vs manifest target_size",
                           0, m->target_size, info->total_size);
    if (ota_image_version_cmp(&info->hdr.version, &m->target_version) != 0)
        return fail(u, OTA_ERR_MANIFEST_MALFORMED, "image version vs manifest target_version", 0);
    if (info->security_counter != m->target_security_counter)
        return fail_values(u, OTA_ERR_MANIFEST_MALFORMED,
                           "image security counter vs manifest", 0,
                           m->target_security_counter, info->security_counter);
    return OTA_OK;
}

ota_err ota_update_finish(struct ota_update *u, struct ota_image_info *info)
{
    const struct ota_boot_dev *dev;
    const struct ota_boot_layout *l;
    struct ota_image_info local;
    uint8_t digest[OTA_SHA256_LEN];
    uint32_t slot_off;
    ota_err e;

    if (!u)
        return OTA_ERR_INVALID_ARG;
    if (u->phase != OTA_UPDATE_RECEIVING)
        return u->phase == OTA_UPDATE_FAILED && u->err ? u->err : OTA_ERR_UPDATE_STATE;
    if (!info)
        info = &local;
    dev = u->cfg.dev;
    l = &u->boot_cfg.layout;
    slot_off = l->slot_off[u->ins.slot];

    if (u->received != u->m.payload_size)
        return fail_values(u, OTA_ERR_UPDATE_PAYLOAD_SIZE, "payload bytes received", 0,
                           u->m.payload_size, u->received);
    e = dev->crypto->sha256_final(&u->sha, digest);
    if (e)
        return fail(u, e, "sha256", 0);
    if (memcmp(digest, u->m.payload_digest, OTA_SHA256_LEN) != 0)
        return fail(u, OTA_ERR_UPDATE_PAYLOAD_HASH, "payload digest", 0);

    if (u->m.payload_kind == OTA_PAYLOAD_DELTA) {
        e = ota_delta_apply_finish(&u->delta);
        if (e) {
            u->err = e;
            u->phase = OTA_UPDATE_FAILED;
            return e;
        }
        /* The applier checked its output against the patch's result hash;
         * that must be the image the manifest signs (a full payload is the
         * image: the manifest parser already requires equal digests). A
         * sealed patch rebuilds the plaintext of an encrypted image, whose
         * published (encrypted) digest only the read-back below can check. */
        if (u->env_state != ENV_OPEN &&
            memcmp(ota_delta_apply_header(&u->delta)->result_hash, u->m.target_digest,
                   OTA_SHA256_LEN) != 0)
            return fail(u, OTA_ERR_IMAGE_HASH_MISMATCH,
                        "image the payload produces vs manifest target_digest", 0);
    }
    /* the writer starts at image byte ins.base (a resumed full download;
     * a resumed delta continues the whole slot's writer: 0) */
    if (u->ins.base + u->ins.w.pos != u->m.target_size)
        return fail_values(u, OTA_ERR_UPDATE_PAYLOAD_SIZE, "image bytes written", 0,
                           u->m.target_size, u->ins.base + u->ins.w.pos);
    e = ota_flash_writer_finish(&u->ins.w);
    if (e)
        return fail(u, e, "slot write", u->ins.w.pos);

    e = open_slot_key(u, slot_off);
    if (e)
        return e;

    /* Read back what is really in flash: the manifest's signed digest. The
     * right bytes were written (checked above), so a difference is the
     * flash's doing (cells that did not program, bits flipped). */
    e = dev->crypto->sha256_init(&u->sha);
    if (!e)
        e = hash_slot(u, u->m.target_size, &u->sha);
    if (!e)
        e = dev->crypto->sha256_final(&u->sha, digest);
    if (e)
        return fail(u, e, "slot read-back", 0);
    if (memcmp(digest, u->m.target_digest, OTA_SHA256_LEN) != 0)
        return fail(u, OTA_ERR_FLASH_VERIFY, "slot read-back vs manifest target_digest", 0);

    /* Exactly as the bootloader will, then that it is the promised image. */
    e = ota_boot_verify_slot(dev, &u->boot_cfg, u->ins.slot, u->otp_counter, info, u->diag);
    if (e) {
        u->err = e;
        u->phase = OTA_UPDATE_FAILED;
        return e;
    }
    e = check_matches_manifest(u, info);
    if (e)
        return e;

    /* Only now: pending, for a trial boot. */
    e = ota_install_finish(&u->ins, 0, info, u->diag);
    if (e) {
        u->err = e;
        u->phase = OTA_UPDATE_FAILED;
        return e;
    }
    u->phase = OTA_UPDATE_DONE;
    return OTA_OK;
}

ota_err ota_update_pump(struct ota_update *u, const struct ota_update_transport *t,
                        uint8_t *buf, size_t buf_len, struct ota_image_info *info)
{
    if (!u || !t || !t->read || !buf || !buf_len)
        return OTA_ERR_INVALID_ARG;
    for (;;) {
        size_t got = 0;
        size_t want = buf_len;
        uint32_t left = u->m.payload_size - u->received;
        ota_err e;
        if (u->phase != OTA_UPDATE_RECEIVING)
            return u->err ? u->err : OTA_ERR_UPDATE_STATE;
        if (left == 0)
            break;
        if (want > left)
            want = left;
        e = t->read(t->ctx, buf, want, &got);
        if (e)
            return e;
        if (got == 0)
            break;
        if (got > want)
            return fail(u, OTA_ERR_UPDATE_PAYLOAD_SIZE, "transport read", u->received);
        e = ota_update_write(u, buf, got);
        if (e)
            return e;
    }
    return ota_update_finish(u, info);
}

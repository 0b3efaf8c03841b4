// SPDX-License-Identifier: Apache-2.0
/*
 * backend_linux.c - the agent's device backend for a Linux A/B device
 * (backend = linux): the portable update engine writes the inactive root
 * filesystem slot through the remapping slot flash (backend_linux_flash.c),
 * and the bootloader environment (bootenv.c) decides what boots:
 *
 *   begin    the engine checks the signed offer; then, before the first
 *            payload byte, the target slot is marked bad so the bootloader
 *            never boots it half written;
 *   finish   the engine verifies the payload, reads the slot back and
 *            verifies the image as a boot-time check would; then linux_state
 *            records it pending and the environment makes it primary;
 *   confirm  the trial slot passed its self-test: marked good, the
 *            anti-rollback floor raised to its security counter.
 *
 * After a reboot, agent_linux_reconcile() tells the trial (running the
 * pending slot) from a fallback (the bootloader tried it and came back).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linux.h"
#include "ota/host.h"

#define LX_SCRATCH (256u * 1024u)
#define LX_CHECKPOINT_EVERY (4u << 20)
/* Delta payloads: keep a resume state every this many patch bytes (a small
 * patch can rewrite a whole root filesystem). */
#define LX_DELTA_CHECKPOINT_EVERY (256u * 1024u)

struct agent_linux_backend {
    const struct agent_config *cfg;
    struct lx_flash fl;
    struct bootenv env;
    struct lx_state st;
    int running;
    uint32_t floor;      /* anti-rollback floor: max(linux_state, environment) */
    struct ota_boot_dev dev;
    uint8_t *scratch;
    int have_running;    /* the running image parsed and its digest is known */
    struct ota_image_info info;
    uint8_t digest[OTA_SHA256_LEN];
    struct ota_update up;
    struct ota_diag *diag;
    struct ota_update_delta_state *ds; /* delta resume state (docs/linux.md) */
    uint32_t delta_since;              /* patch bytes since it was kept */
    /* delta patches with a deflate section: one port for the process,
     * allocated at the first update (its memory: docs/delta-format.md) */
    struct ota_deflate_port *zport;
};

static ota_err env_fail(struct ota_diag *d, const char *what, const char *err)
{
    LOG_E("%s: %s", what, err);
    if (d) {
        memset(d, 0, sizeof *d);
        d->field = what;
    }
    return OTA_ERR_BOOTENV;
}

/* The backend on cfg's slots with `running` read-only (-1: none, both
 * writable), its floor, and the update engine's device. */
static ota_err open_backend(const struct agent_config *cfg, int running,
                            struct agent_linux_backend **out, char *err, size_t errlen)
{
    struct agent_linux_backend *b;
    uint32_t envc = 0;
    ota_err e;

    *out = NULL;
    b = calloc(1, sizeof *b);
    if (!b || !(b->scratch = malloc(LX_SCRATCH)) || !(b->ds = malloc(sizeof *b->ds))) {
        if (b)
            free(b->scratch);
        free(b);
        snprintf(err, errlen, "out of memory");
        return OTA_ERR_NO_MEMORY;
    }
    b->cfg = cfg;
    b->env.c = &cfg->lx;
    b->fl.s[0].fd = b->fl.s[1].fd = -1;
    b->running = running;
    e = lx_state_load(&b->st, cfg->lx.state, err, errlen);
    if (!e)
        e = bootenv_counter_get(&b->env, &envc, err, errlen);
    if (!e) {
        b->floor = b->st.counter > envc ? b->st.counter : envc;
        e = lx_flash_open(&b->fl, &cfg->lx, running, b->floor, err, errlen);
    }
    if (e) {
        agent_linux_backend_free(b);
        return e;
    }
    b->dev.flash = &b->fl.f;
    b->dev.crypto = ota_crypto_openssl();
    b->dev.buf = b->scratch;
    b->dev.buf_len = LX_SCRATCH;
    *out = b;
    return OTA_OK;
}

ota_err agent_linux_backend_new(const struct agent_config *cfg,
                                struct agent_linux_backend **out, char *err, size_t errlen)
{
    int running = agent_linux_running_slot(&cfg->lx, err, errlen);
    *out = NULL;
    return running < 0 ? OTA_ERR_CONFIG : open_backend(cfg, running, out, err, errlen);
}

void agent_linux_backend_free(struct agent_linux_backend *b)
{
    if (!b)
        return;
    lx_flash_close(&b->fl);
    free(b->scratch);
    free(b->ds);
    ota_deflate_zlib_free(b->zport);
    free(b);
}

int agent_linux_backend_running(const struct agent_linux_backend *b)
{
    return b->running;
}

/* Parse the image in a slot and hash it as published (header, body, TLVs):
 * an encrypted image runs decrypted, so its body is re-encrypted on the way
 * into the hash with the key from its own key TLV, as the engine's
 * read-back does (the server knows a release by its published digest). */
static ota_err slot_image(struct agent_linux_backend *b, int slot, struct ota_image_info *info,
                          uint8_t digest[OTA_SHA256_LEN])
{
    const struct agent_linux_config *lc = &b->cfg->lx;
    const struct ota_crypto *c = b->dev.crypto;
    struct ota_flash_area area;
    struct ota_reader r, er_r;
    const struct ota_reader *rd = &r;
    struct ota_enc_reader er;
    struct ota_enc_key ek;
    ota_sha256_ctx sha;
    uint32_t at, left;
    ota_err e;

    memset(&ek, 0, sizeof ek);
    ota_reader_from_flash(&r, &area, &b->fl.f, b->fl.l.slot_off[slot], b->fl.l.slot_size);
    e = ota_image_parse(&r, info, NULL);
    if (e || !digest)
        return e;
    if (info->enc_aes_len && lc->has_enc_key &&
        ota_enc_image_key(&r, info, ota_crypto_enc_openssl(), &lc->enc_priv, &ek, NULL) ==
            OTA_OK) {
        ota_reader_enc(&er_r, &er, &r, &ek);
        rd = &er_r;
    }
    e = c->sha256_init(&sha);
    for (at = 0, left = info->total_size; !e && left;) {
        uint32_t n = left < LX_SCRATCH ? left : LX_SCRATCH;
        e = rd->read(rd->ctx, at, b->scratch, n);
        if (!e)
            e = c->sha256_update(&sha, b->scratch, n);
        at += n;
        left -= n;
    }
    ota_enc_key_wipe(&ek);
    return e ? e : c->sha256_final(&sha, digest);
}

static ota_err lx_describe(void *ctx, struct agent_device_info *out)
{
    struct agent_linux_backend *b = ctx;
    const struct agent_linux_config *c = &b->cfg->lx;
    memset(out, 0, sizeof *out);
    memcpy(out->hw_id, c->hw_id_raw, (size_t)c->hw_id_len); /* as the simulator does */
    out->running_slot = b->running;
    out->otp_counter = b->floor;
    if (!b->have_running) {
        ota_err e = slot_image(b, b->running, &b->info, b->digest);
        if (e) {
            static int warned;
            if (!warned++)
                LOG_W("slot %c holds no signed image ota can read (%s): reporting version "
                      "0.0.0 (install one with --provision)", 'A' + b->running,
                      ota_strerror(e));
        } else {
            b->have_running = 1;
        }
    }
    if (b->have_running) {
        out->version = b->info.hdr.version;
        out->security_counter = b->info.security_counter;
        memcpy(out->digest, b->digest, OTA_SHA256_LEN);
    }
    out->delta_deflate = 1; /* lx_begin gives the engine the zlib port */
    out->delta_model2 = 1;  /* ... of this build */
    out->trial = b->st.pending == b->running;
    snprintf(out->slot_state, sizeof out->slot_state, "%s",
             out->trial ? "trial" : b->have_running ? "confirmed" : "unknown");
    return OTA_OK;
}

static uint64_t wall_clock(void *ctx)
{
    (void)ctx;
    return (uint64_t)time(NULL);
}

static ota_err lx_begin(void *ctx, const uint8_t *manifest, size_t len, uint64_t min_offer_seq,
                        const struct ota_update_payload_at *payload_at,
                        const struct ota_update_progress *resume, uint32_t *offset,
                        const struct ota_manifest **m, struct ota_diag *d)
{
    struct agent_linux_backend *b = ctx;
    struct ota_update_cfg uc;
    char err[512];
    int target = b->running ^ 1;
    ota_err e;

    memset(&uc, 0, sizeof uc);
    uc.dev = &b->dev;
    uc.server_keys = b->cfg->server_keys;
    uc.n_server_keys = (size_t)b->cfg->n_server_keys;
    uc.device_id = b->cfg->device_id;
    uc.clock.now = wall_clock;
    uc.running_slot = b->running;
    uc.min_offer_seq = min_offer_seq;
    /* Encrypted images: opened with enc_key (without one they are refused,
     * OTA_ERR_IMAGE_ENC_NO_KEY, before anything is written); the slot
     * receives the plaintext. */
    uc.enc = ota_crypto_enc_openssl();
    uc.enc_key = b->cfg->lx.has_enc_key ? &b->cfg->lx.enc_priv : NULL;
    if (payload_at)
        uc.payload_at = *payload_at;
    /* Delta patches with a deflate section (ota delta create --deflate):
     * inflated and re-compressed with zlib. */
    if (!b->zport)
        b->zport = ota_deflate_zlib_new();
    uc.deflate = b->zport;
    b->diag = d;
    /* A delta install interrupted here before continues from its state
     * (the engine uses it only for the same payload and slot); a version
     * 2/3 patch's stream table goes back into the port first (the applier
     * checks it against the state). Without a port only a state without a
     * table is usable. */
    uint32_t nspans = 0;
    struct ota_delta_zspan none;
    int had_delta = lx_delta_load(b->cfg->lx.state, b->ds, b->zport ? b->zport->spans : &none,
                                  b->zport ? b->zport->span_cap : 0, &nspans);
    if (had_delta)
        uc.delta_resume = b->ds;
    b->delta_since = 0;
    /* Every check of the offer first: nothing is written until it passes. */
    e = ota_update_begin(&b->up, &uc, manifest, len, resume, d);
    if (e)
        return e;
    if (had_delta && ota_update_manifest(&b->up)->payload_kind == OTA_PAYLOAD_DELTA &&
        ota_update_offset(&b->up) > 0)
        LOG_I("delta install resumed at patch byte %u of %u (patch version %u, slot %c "
              "written up to byte %u)",
              ota_update_offset(&b->up), ota_update_manifest(&b->up)->payload_size,
              b->ds->delta.hdr.version, 'A' + target, b->ds->w.pos);
    else if (had_delta)
        lx_delta_remove(b->cfg->lx.state); /* another payload's: stale */
    /* The first write of all: the bootloader must not boot the target
     * while it is being rewritten. */
    e = bootenv_bad(&b->env, target, err, sizeof err);
    if (e)
        return env_fail(d, "bootloader environment (mark the target slot bad)", err);
    if (b->st.pending == target) {
        b->st.pending = -1; /* an earlier install, never booted: superseded */
        e = lx_state_save(&b->st, b->cfg->lx.state, err, sizeof err);
        if (e) {
            LOG_E("%s", err);
            return e;
        }
    }
    *offset = ota_update_offset(&b->up);
    *m = ota_update_manifest(&b->up);
    return OTA_OK;
}

/* Delta payloads: sync the slot and keep the state that resumes the
 * install here, or at the latest point the writes since the checkpoint was
 * wanted kept (lx_write). OTA_ERR_UNSUPPORTED: neither (before the patch's
 * stream, or a version 2/3 patch inside a new deflate stream with no new
 * stream started since): delta_since is left as it is, so that the next
 * write tries again. */
static ota_err keep_delta_state(struct agent_linux_backend *b)
{
    char err[512];
    const struct ota_manifest *m = ota_update_manifest(&b->up);
    if (!m || m->payload_kind != OTA_PAYLOAD_DELTA) {
        b->delta_since = 0;
        return OTA_OK;
    }
    ota_err e = ota_update_checkpoint_delta(&b->up, b->ds);
    if (e == OTA_ERR_UNSUPPORTED)
        return e;
    b->delta_since = 0;
    if (!e) {
        const struct ota_delta_apply *da = &b->ds->delta;
        uint32_t n = OTA_DELTA_HAS_SECTION(da->hdr.version) ? da->z_nold + da->z_nnew : 0;
        e = lx_delta_save(b->cfg->lx.state, b->ds, n ? b->zport->spans : NULL, n, err,
                          sizeof err);
    }
    if (e)
        LOG_W("delta resume state not kept: %s", e == OTA_ERR_FILE ? err : ota_strerror(e));
    return e;
}

static ota_err lx_write(void *ctx, const void *data, size_t len)
{
    struct agent_linux_backend *b = ctx;
    /* once LX_DELTA_CHECKPOINT_EVERY bytes passed: the engine keeps the
     * state at the latest point inside each write where the applier can be
     * suspended (for a version 2/3 patch, where a new deflate stream
     * starts), and after every write it is kept until one was */
    if (b->delta_since + len >= LX_DELTA_CHECKPOINT_EVERY)
        (void)ota_update_want_checkpoint_delta(&b->up, b->ds); /* full images: no */
    ota_err e = ota_update_write(&b->up, data, len);
    if (e)
        return e;
    b->delta_since += (uint32_t)len;
    if (b->delta_since >= LX_DELTA_CHECKPOINT_EVERY)
        (void)keep_delta_state(b); /* a failure costs a longer restart only */
    return OTA_OK;
}

static ota_err lx_checkpoint(void *ctx, struct ota_update_progress *p)
{
    struct agent_linux_backend *b = ctx;
    ota_err e = ota_update_checkpoint(&b->up, p);
    if (!e)
        (void)keep_delta_state(b);
    return e;
}

static ota_err lx_finish(void *ctx, struct ota_diag *d)
{
    struct agent_linux_backend *b = ctx;
    struct ota_image_info info;
    char err[512];
    int target = b->running ^ 1;
    ota_err e;
    (void)d; /* the engine fills the diag given to begin */
    e = ota_update_finish(&b->up, &info);
    lx_delta_remove(b->cfg->lx.state); /* done, or refused: never resumed */
    if (e)
        return e;
    /* Recorded before the bootloader may boot it: a cut in between leaves
     * the slot marked bad, which reads as a fallback, never as a success. */
    b->st.pending = target;
    e = lx_state_save(&b->st, b->cfg->lx.state, err, sizeof err);
    if (e) {
        LOG_E("%s", err);
        return e;
    }
    e = bootenv_primary(&b->env, target, err, sizeof err);
    if (e)
        return env_fail(b->diag, "bootloader environment (make the new slot primary)", err);
    LOG_I("slot %c: image verified in place (%u bytes of filesystem at offset 0, header and "
          "TLVs in the last %u KiB); the bootloader boots it next", 'A' + target,
          info.hdr.img_size, LX_META / 1024);
    return OTA_OK;
}

/* Raise the anti-rollback floor to the running image's counter. */
static ota_err raise_floor(struct agent_linux_backend *b, char *err, size_t errlen)
{
    uint32_t v = b->have_running && b->info.security_counter > b->floor
                     ? b->info.security_counter : b->floor;
    ota_err e;
    b->st.counter = v;
    e = lx_state_save(&b->st, b->cfg->lx.state, err, errlen);
    if (!e)
        e = bootenv_counter_set(&b->env, v, err, errlen);
    if (!e)
        b->floor = v;
    return e;
}

static ota_err lx_confirm(void *ctx, struct ota_diag *d)
{
    struct agent_linux_backend *b = ctx;
    struct agent_device_info dev;
    char err[512];
    ota_err e;

    (void)lx_describe(b, &dev);
    if (!b->have_running) {
        if (d) {
            memset(d, 0, sizeof *d);
            d->field = "running slot's image (does not parse)";
        }
        return OTA_ERR_BOOT_NOT_ON_TRIAL;
    }
    e = bootenv_primary(&b->env, b->running, err, sizeof err);
    if (e)
        return env_fail(d, "bootloader environment (mark the running slot good)", err);
    if (b->st.pending == b->running)
        b->st.pending = -1;
    e = raise_floor(b, err, sizeof err);
    if (e) {
        LOG_E("%s", err);
        return e;
    }
    LOG_I("slot %c confirmed; anti-rollback floor %u", 'A' + b->running, b->floor);
    return OTA_OK;
}

void agent_linux_backend_bind(struct agent_linux_backend *b, struct agent_backend *out)
{
    memset(out, 0, sizeof *out);
    out->ctx = b;
    out->describe = lx_describe;
    out->begin = lx_begin;
    out->write = lx_write;
    out->checkpoint = lx_checkpoint;
    out->finish = lx_finish;
    out->confirm = lx_confirm;
    out->checkpoint_every = LX_CHECKPOINT_EVERY;
}

ota_err agent_linux_reconcile(struct agent_linux_backend *b, enum lx_boot *out, char *err,
                              size_t errlen)
{
    int pending = b->st.pending, untried = 0;
    ota_err e;
    *out = LX_BOOT_NORMAL;
    if (pending < 0)
        return OTA_OK;
    if (pending == b->running) {
        *out = LX_BOOT_TRIAL;
        return OTA_OK;
    }
    e = bootenv_untried(&b->env, pending, &untried, err, errlen);
    if (e)
        return e;
    if (untried) {
        *out = LX_BOOT_WAIT_REBOOT;
        return OTA_OK;
    }
    /* The bootloader tried the pending slot and came back here. */
    LOG_W("slot %c was installed but slot %c is running: the bootloader fell back",
          'A' + pending, 'A' + b->running);
    e = bootenv_bad(&b->env, pending, err, errlen);
    if (!e)
        e = bootenv_primary(&b->env, b->running, err, errlen);
    if (e)
        return e;
    b->st.pending = -1;
    e = lx_state_save(&b->st, b->cfg->lx.state, err, errlen);
    if (!e)
        *out = LX_BOOT_FELL_BACK;
    return e;
}

ota_err agent_linux_mark_running_good(struct agent_linux_backend *b, char *err, size_t errlen)
{
    return bootenv_primary(&b->env, b->running, err, errlen);
}

ota_err agent_linux_trial_failed(struct agent_linux_backend *b, char *err, size_t errlen)
{
    return bootenv_bad(&b->env, b->running, err, errlen);
}

ota_err agent_linux_provision(const struct agent_config *cfg, int slot, const char *image,
                              char *err, size_t errlen)
{
    struct agent_linux_backend *b = NULL;
    struct ota_boot_state bst;
    struct ota_install ins;
    struct ota_image_info info;
    struct ota_diag d;
    uint64_t size;
    FILE *f = NULL;
    ota_err e;

    char why[256];
    /* On a device, never the slot the system runs from (read-only then);
     * on a build host the command line names neither slot. */
    int running = agent_linux_running_slot(&cfg->lx, why, sizeof why);

    if (running == slot) {
        snprintf(err, errlen, "slot %c (%s) is the running slot (kernel command line %s): "
                 "provision the other one", 'A' + slot, cfg->lx.slot[slot], cfg->lx.cmdline);
        return OTA_ERR_UPDATE_STATE;
    }
    e = bootenv_check(&(struct bootenv){&cfg->lx}, err, errlen);
    if (!e)
        e = open_backend(cfg, running, &b, err, errlen);
    if (!e && !(f = fopen(image, "rb"))) {
        snprintf(err, errlen, "%s: cannot open", image);
        e = OTA_ERR_FILE;
    }
    if (e)
        goto out;
    /* The other slot stands for "confirmed": the installer targets `slot`. */
    memset(&bst, 0, sizeof bst);
    bst.confirmed = (uint8_t)(slot ^ 1);
    bst.pending = bst.rejected = OTA_SLOT_NONE;
    fseek(f, 0, SEEK_END);
    size = (uint64_t)ftell(f);
    rewind(f);
    memset(&d, 0, sizeof d);
    e = ota_boot_state_write(&b->fl.f, &b->fl.l, &bst);
    if (!e && size > b->fl.l.slot_size) {
        snprintf(err, errlen, "%s: %llu bytes do not fit slot %c (%u bytes for the image, "
                 "its header and TLVs aside)", image, (unsigned long long)size, 'A' + slot,
                 b->fl.l.slot_size);
        e = OTA_ERR_IMAGE_TOO_LARGE;
        fclose(f);
        goto out;
    }
    if (!e) {
        /* The file first, exactly as the slot will be checked: nothing is
         * written for an image that would be refused. */
        struct ota_verify_params vp;
        struct ota_fd_reader fr;
        struct ota_reader r;
        memset(&vp, 0, sizeof vp);
        vp.crypto = b->dev.crypto;
        vp.keys = &cfg->lx.image_pub;
        vp.n_keys = 1;
        vp.hw_id = cfg->lx.hw_id_len ? cfg->lx.hw_id_raw : NULL;
        vp.hw_id_len = (size_t)cfg->lx.hw_id_len;
        vp.min_security_counter = b->floor;
        vp.max_total_size = b->fl.l.slot_size;
        vp.buf = b->scratch;
        vp.buf_len = LX_SCRATCH;
        ota_reader_from_fd(&r, &fr, fileno(f), (uint32_t)size);
        e = ota_image_verify(&r, &vp, &info, &d);
    }
    if (!e)
        e = ota_install_begin(&ins, &b->dev, (uint32_t)size, &d);
    while (!e) {
        size_t n = fread(b->scratch, 1, LX_SCRATCH, f);
        if (!n)
            break;
        e = ota_install_write(&ins, b->scratch, n);
    }
    fclose(f);
    if (!e)
        e = ota_install_finish(&ins, 0, &info, &d);
    if (e) {
        char dt[256];
        snprintf(err, errlen, "%s into slot %c: %s", image, 'A' + slot,
                 ota_err_diag_str(e, &d, dt, sizeof dt));
        goto out;
    }
    /* Boot it; a blank other slot must not be tried. */
    if (!b->fl.s[slot ^ 1].mapped)
        e = bootenv_bad(&b->env, slot ^ 1, err, errlen);
    if (!e)
        e = bootenv_primary(&b->env, slot, err, errlen);
    if (!e) {
        b->running = slot;
        b->have_running = 1;
        b->info = info;
        b->st.pending = -1;
        e = raise_floor(b, err, errlen);
    }
    if (!e)
        LOG_I("slot %c provisioned from %s: filesystem of %u bytes at offset 0, verified; "
              "primary and good; anti-rollback floor %u", 'A' + slot, image, info.hdr.img_size,
              b->floor);
out:
    agent_linux_backend_free(b);
    return e;
}

ota_err agent_linux_verify_slot(const struct agent_config *cfg, int slot,
                                struct ota_image_info *info, struct ota_diag *d, char *err,
                                size_t errlen)
{
    struct agent_linux_backend *b;
    struct ota_boot_config bc;
    /* the slot checked is opened read-only, as the running one is */
    ota_err e = open_backend(cfg, slot, &b, err, errlen);
    if (e)
        return e;
    e = ota_boot_config_read(&b->fl.f, &bc, d);
    if (!e)
        e = ota_boot_verify_slot(&b->dev, &bc, slot, b->floor, info, d);
    if (e) {
        char dt[256];
        snprintf(err, errlen, "slot %c (%s): %s", 'A' + slot, cfg->lx.slot[slot],
                 ota_err_diag_str(e, d, dt, sizeof dt));
    }
    agent_linux_backend_free(b);
    return e;
}

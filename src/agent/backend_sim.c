// SPDX-License-Identifier: Apache-2.0
/*
 * backend_sim.c - the agent's device backend for a simulated device: the
 * ota-sim flash (file-backed NOR model) driven by the portable core: the
 * update engine writes the inactive slot, the boot core confirms. After
 * every durable step the flash is written back to its file, so killing the
 * process is a power cut between flash operations (the simulator's armed
 * cuts add cuts inside them).
 *
 * A Linux A/B target would be another implementation of struct
 * agent_backend (partitions + bootloader environment) beside this one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "ota/boot.h"
#include "ota/host.h"
#include "ota/sim.h"

struct agent_sim_backend {
    struct ota_sim *sim;
    const char *path;
    int running_slot;
    const struct agent_config *cfg;
    struct ota_boot_dev dev;
    const struct ota_crypto_enc *enc;
    struct ota_enc_privkey enc_key; /* the device's decryption key ... */
    int has_enc_key;                /* ... when it was provisioned with one */
    uint8_t scratch[4096];
    struct ota_update up;
};

/* The device's decryption key: `ota-sim create --enc-key` keeps it in
 * FLASH.enc-key.pem, the simulated protected storage (docs/encrypted-images.md).
 * No file: a device without a key (encrypted images are refused). */
static void load_enc_key(struct agent_sim_backend *b)
{
    char path[AGENT_STR + 16], err[512];
    struct stat st;
    ota_key *k = NULL;
    if (!b->path || (size_t)snprintf(path, sizeof path, "%s.enc-key.pem", b->path) >= sizeof path)
        return;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return;
    if (ota_key_load(path, &k, err, sizeof err) != OTA_OK) {
        LOG_E("device decryption key: %s: encrypted images will be refused", err);
        return;
    }
    if (ota_key_private_scalar(k, &b->enc_key) == OTA_OK)
        b->has_enc_key = 1;
    else
        LOG_E("device decryption key %s: not a P-256 private key: encrypted images will be "
              "refused", path);
    ota_key_free(k);
}

struct agent_sim_backend *agent_sim_backend_new(struct ota_sim *sim, const char *flash_path,
                                                int running_slot,
                                                const struct agent_config *cfg)
{
    struct agent_sim_backend *b = calloc(1, sizeof *b);
    const char *c = getenv("OTA_SIM_CRYPTO");
    if (!b)
        return NULL;
    b->sim = sim;
    b->path = flash_path;
    b->running_slot = running_slot;
    b->cfg = cfg;
    b->dev.flash = &sim->flash;
    b->dev.crypto = c && strcmp(c, "mbedtls") == 0 ? ota_crypto_mbedtls() : ota_crypto_openssl();
    b->enc = c && strcmp(c, "mbedtls") == 0 ? ota_crypto_enc_mbedtls() : ota_crypto_enc_openssl();
    b->dev.buf = b->scratch;
    b->dev.buf_len = sizeof b->scratch;
    b->dev.prog_chunk = 256;
    load_enc_key(b);
    return b;
}

void agent_sim_backend_free(struct agent_sim_backend *b)
{
    if (b)
        memset(&b->enc_key, 0, sizeof b->enc_key);
    free(b);
}

ota_err agent_sim_backend_save(struct agent_sim_backend *b)
{
    char err[256];
    if (!b->path)
        return OTA_OK;
    if (ota_sim_save(b->sim, b->path, err, sizeof err) != OTA_OK) {
        LOG_E("saving the simulated flash: %s", err);
        return OTA_ERR_FILE;
    }
    return OTA_OK;
}

static ota_err sim_describe(void *ctx, struct agent_device_info *out)
{
    struct agent_sim_backend *b = ctx;
    struct ota_boot_config bc;
    struct ota_boot_state st;
    struct ota_otp_counter otp;
    struct ota_image_info info;
    struct ota_flash_area area;
    struct ota_reader r, er_r;
    const struct ota_reader *rd = &r;
    struct ota_enc_reader er;
    struct ota_enc_key ek;
    ota_sha256_ctx sha;
    uint32_t off, at, left;
    ota_err e;

    memset(out, 0, sizeof *out);
    memset(&ek, 0, sizeof ek);
    out->running_slot = -1;
    out->delta_model2 = 1; /* the simulated device runs this build's core */
    e = ota_boot_config_read(&b->sim->flash, &bc, NULL);
    if (e)
        return e;
    memcpy(out->hw_id, bc.hw_id, bc.hw_id_len);
    e = ota_otp_read_counter(&b->sim->flash, &bc.layout, &otp);
    if (e)
        return e;
    out->otp_counter = otp.value;
    e = ota_boot_state_read(&b->sim->flash, &bc.layout, &st, NULL);
    if (e)
        return e;
    if (b->running_slot < 0 || b->running_slot > 1) {
        snprintf(out->slot_state, sizeof out->slot_state, "recovery");
        return OTA_OK;
    }
    out->running_slot = b->running_slot;
    out->trial = st.pending == b->running_slot;
    snprintf(out->slot_state, sizeof out->slot_state, "%s",
             out->trial ? "trial" : st.confirmed == b->running_slot ? "confirmed" : "running");
    off = bc.layout.slot_off[b->running_slot];
    ota_reader_from_flash(&r, &area, &b->sim->flash, off, bc.layout.slot_size);
    e = ota_image_parse(&r, &info, NULL);
    if (e)
        return e;
    out->version = info.hdr.version;
    out->security_counter = info.security_counter;
    /* An encrypted image runs decrypted; the digest the server knows it by
     * is of the file as published: re-encrypt the body on the way into the
     * hash with the key from the slot's own key TLV (as the update engine's
     * read-back does). Without the device key: the slot as it is. */
    if (info.enc_aes_len && b->has_enc_key &&
        ota_enc_image_key(&r, &info, b->enc, &b->enc_key, &ek, NULL) == OTA_OK) {
        ota_reader_enc(&er_r, &er, &r, &ek);
        rd = &er_r;
    }
    e = b->dev.crypto->sha256_init(&sha);
    for (at = 0, left = info.total_size; !e && left;) {
        uint32_t n = left < sizeof b->scratch ? left : (uint32_t)sizeof b->scratch;
        e = rd->read(rd->ctx, at, b->scratch, n);
        if (!e)
            e = b->dev.crypto->sha256_update(&sha, b->scratch, n);
        at += n;
        left -= n;
    }
    ota_enc_key_wipe(&ek);
    if (!e)
        e = b->dev.crypto->sha256_final(&sha, out->digest);
    return e;
}

static uint64_t wall_clock(void *ctx)
{
    (void)ctx;
    return (uint64_t)time(NULL);
}

static ota_err sim_begin(void *ctx, const uint8_t *manifest, size_t len,
                         uint64_t min_offer_seq, const struct ota_update_payload_at *payload_at,
                         const struct ota_update_progress *resume, uint32_t *offset,
                         const struct ota_manifest **m, struct ota_diag *d)
{
    struct agent_sim_backend *b = ctx;
    struct ota_update_cfg uc;
    ota_err e;
    memset(&uc, 0, sizeof uc);
    uc.dev = &b->dev;
    uc.server_keys = b->cfg->server_keys;
    uc.n_server_keys = (size_t)b->cfg->n_server_keys;
    uc.device_id = b->cfg->device_id;
    uc.clock.now = wall_clock;
    uc.running_slot = b->running_slot;
    uc.min_offer_seq = min_offer_seq;
    uc.enc = b->enc;
    uc.enc_key = b->has_enc_key ? &b->enc_key : NULL;
    if (payload_at)
        uc.payload_at = *payload_at;
    e = ota_update_begin(&b->up, &uc, manifest, len, resume, d);
    if (e == OTA_OK) {
        *offset = ota_update_offset(&b->up);
        *m = ota_update_manifest(&b->up);
    }
    /* begin may have ended a stale trial in the boot state */
    if (agent_sim_backend_save(b) != OTA_OK && e == OTA_OK)
        e = OTA_ERR_FILE;
    return e;
}

static ota_err sim_write(void *ctx, const void *data, size_t len)
{
    struct agent_sim_backend *b = ctx;
    return ota_update_write(&b->up, data, len);
}

static ota_err sim_checkpoint(void *ctx, struct ota_update_progress *p)
{
    struct agent_sim_backend *b = ctx;
    ota_err e = ota_update_checkpoint(&b->up, p);
    if (!e)
        e = agent_sim_backend_save(b);
    return e;
}

static ota_err sim_finish(void *ctx, struct ota_diag *d)
{
    struct agent_sim_backend *b = ctx;
    ota_err e;
    (void)d; /* the engine fills the diag given to begin */
    e = ota_update_finish(&b->up, NULL);
    if (agent_sim_backend_save(b) != OTA_OK && e == OTA_OK)
        e = OTA_ERR_FILE;
    return e;
}

static ota_err sim_confirm(void *ctx, struct ota_diag *d)
{
    struct agent_sim_backend *b = ctx;
    ota_err e = ota_boot_confirm(&b->dev, b->running_slot, d);
    if (agent_sim_backend_save(b) != OTA_OK && e == OTA_OK)
        e = OTA_ERR_FILE;
    return e;
}

void agent_sim_backend_bind(struct agent_sim_backend *b, struct agent_backend *out)
{
    memset(out, 0, sizeof *out);
    out->ctx = b;
    out->describe = sim_describe;
    out->begin = sim_begin;
    out->write = sim_write;
    out->checkpoint = sim_checkpoint;
    out->finish = sim_finish;
    out->confirm = sim_confirm;
}

struct agent_sim_backend *agent_sim_start(struct agent *a, struct agent_config *cfg,
                                          struct ota_sim *sim, const char *flash_path,
                                          int running_slot, uint64_t seed_salt)
{
    struct agent_sim_backend *sb = agent_sim_backend_new(sim, flash_path, running_slot, cfg);
    if (!sb || agent_setup(a, cfg, seed_salt) != OTA_OK) {
        agent_sim_backend_free(sb);
        return NULL;
    }
    agent_sim_backend_bind(sb, &a->be);
    return sb;
}

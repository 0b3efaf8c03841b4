// SPDX-License-Identifier: Apache-2.0
/*
 * boot.c - stage 0, the bootloader's slot selection with trial boots and
 * revert, confirmation by the running firmware, slot verification, and
 * factory provisioning. The decisions and their safety argument under power
 * loss are written down in docs/boot.md.
 */
#include <string.h>

#include "boot_internal.h"
#include "hash_range.h"
#include "ota/boot.h"

/* Errors that say "the flash or the backend failed", not "this image is
 * bad": on these the bootloader stops without changing any state. */
static int is_fatal(ota_err e)
{
    return e == OTA_ERR_IO || e == OTA_ERR_POWER_LOSS || e == OTA_ERR_FLASH_BOUNDS ||
           e == OTA_ERR_FLASH_ALIGN || e == OTA_ERR_FLASH_NOT_ERASED ||
           e == OTA_ERR_CRYPTO || e == OTA_ERR_INVALID_ARG || e == OTA_ERR_INTERNAL;
}

/* SHA-256 of [off, off + len) of the device's flash, through its scratch. */
static ota_err hash_flash(const struct ota_boot_dev *dev, uint32_t off, uint32_t len,
                          uint8_t out[OTA_SHA256_LEN])
{
    struct ota_flash_area area;
    struct ota_reader r;

    ota_reader_from_flash(&r, &area, dev->flash, 0, ota_flash_size(dev->flash));
    return ota_hash_range(dev->crypto, &r, off, len, dev->buf, dev->buf_len, out, NULL, NULL);
}

static int dev_ok(const struct ota_boot_dev *dev)
{
    return dev && dev->crypto && ota_flash_check(dev->flash) == OTA_OK;
}

/* OTP sits in the last sector, fixed by "hardware": stage 0 must not learn
 * where its trust anchor is from the flash contents it is checking. */
static void otp_layout(const struct ota_flash *f, struct ota_boot_layout *l)
{
    memset(l, 0, sizeof *l);
    l->otp_off = (f->sector_count - 1) * f->sector_size;
    l->otp_size = f->sector_size;
}

ota_err ota_boot_stage0(const struct ota_boot_dev *dev, struct ota_diag *d)
{
    struct ota_boot_layout l;
    uint8_t raw[16], want[OTA_SHA256_LEN], got[OTA_SHA256_LEN];
    uint32_t boot_size, S;
    int provisioned;
    ota_err e;

    if (!dev_ok(dev))
        return ota_boot_fail(d, OTA_ERR_INVALID_ARG, "boot device", 0);
    otp_layout(dev->flash, &l);
    e = ota_otp_read_rom_hash(dev->flash, &l, want, &provisioned);
    if (e)
        return ota_boot_fail(d, e == OTA_ERR_INVALID_ARG ? OTA_ERR_OTP : e,
                             "OTP bootloader hash (read)", l.otp_off);
    if (!provisioned)
        return ota_boot_fail(d, OTA_ERR_OTP, "OTP bootloader hash (not provisioned)",
                             l.otp_off);
    /* The region's size comes from its own config block: the hash below
     * covers that field too, so it cannot be changed without a mismatch. */
    e = ota_flash_read(dev->flash, 0, raw, sizeof raw);
    if (e)
        return ota_boot_fail(d, e, "bootloader region (read)", 0);
    boot_size = ota_le_get32(raw + 12);
    S = dev->flash->sector_size;
    if (boot_size < OTA_BOOT_CFG_SIZE || boot_size % S || boot_size > l.otp_off)
        return ota_boot_fail_vals(d, OTA_ERR_BOOT_ROM_HASH,
                                  "bootloader region size (config block)", 12, 0,
                                  boot_size);
    e = hash_flash(dev, 0, boot_size, got);
    if (e)
        return ota_boot_fail(d, e, "bootloader region (hash)", 0);
    if (ota_ct_memcmp(want, got, OTA_SHA256_LEN) != 0)
        return ota_boot_fail(d, OTA_ERR_BOOT_ROM_HASH,
                             "bootloader region SHA-256 vs OTP", 0);
    return OTA_OK;
}

ota_err ota_boot_verify_slot(const struct ota_boot_dev *dev, const struct ota_boot_config *cfg,
                             int slot, uint32_t min_counter, struct ota_image_info *info,
                             struct ota_diag *d)
{
    struct ota_verify_params p;
    struct ota_flash_area area;
    struct ota_reader r;

    if (!dev_ok(dev) || !cfg || (slot != 0 && slot != 1) || !info)
        return OTA_ERR_INVALID_ARG;
    ota_reader_from_flash(&r, &area, dev->flash, cfg->layout.slot_off[slot],
                          cfg->layout.slot_size);
    memset(&p, 0, sizeof p);
    p.crypto = dev->crypto;
    p.keys = &cfg->key;
    p.n_keys = 1;
    if (cfg->hw_id_len) {
        p.hw_id = cfg->hw_id;
        p.hw_id_len = cfg->hw_id_len;
    }
    p.min_security_counter = min_counter;
    p.max_total_size = cfg->layout.slot_size;
    p.buf = dev->buf;
    p.buf_len = dev->buf ? dev->buf_len : 0;
    return ota_image_verify(&r, &p, info, d);
}

static void result_init(struct ota_boot_result *res)
{
    memset(res, 0, sizeof *res);
    res->slot = -1;
    res->slot_err[0] = OTA_ERR_NOT_CHECKED;
    res->slot_err[1] = OTA_ERR_NOT_CHECKED;
    res->info.key_index = -1;
}

static ota_err recovery(struct ota_boot_result *res, ota_err why)
{
    res->slot = -1;
    res->reason = why;
    return why;
}

ota_err ota_boot(const struct ota_boot_dev *dev, struct ota_boot_result *res)
{
    struct ota_boot_config cfg;
    struct ota_boot_state st;
    struct ota_otp_counter otp;
    struct ota_image_info info;
    struct ota_diag vd;
    uint8_t order[2];
    int n = 0, i;
    ota_err e;

    if (!res)
        return OTA_ERR_INVALID_ARG;
    result_init(res);
    e = ota_boot_stage0(dev, &res->diag);
    if (e)
        return recovery(res, e);
    e = ota_boot_config_read(dev->flash, &cfg, &res->diag);
    if (e)
        return recovery(res, e);
    e = ota_boot_state_read(dev->flash, &cfg.layout, &st, NULL);
    if (e)
        return recovery(res, e);
    e = ota_otp_read_counter(dev->flash, &cfg.layout, &otp);
    if (e)
        return recovery(res, e);
    res->otp_counter = otp.value;
    res->state = st;

    /* 1. a pending trial: count the attempt in flash, then run it. If the
     * attempt cannot be recorded (a state write fails), the trial is not
     * run at all: an uncounted trial could crash-loop forever. */
    if (st.pending != OTA_SLOT_NONE) {
        int p = st.pending, counted = 0;
        struct ota_boot_state nst = st;
        if (st.attempts > 0) {
            e = ota_boot_verify_slot(dev, &cfg, p, otp.value, &info, &vd);
            res->slot_err[p] = e;
            if (is_fatal(e))
                return recovery(res, e);
            if (e == OTA_OK) {
                nst.attempts = (uint8_t)(st.attempts - 1);
                e = ota_boot_state_write(dev->flash, &cfg.layout, &nst);
                if (e == OTA_ERR_POWER_LOSS)
                    return recovery(res, e);
                if (e == OTA_OK) {
                    res->slot = p;
                    res->trial = 1;
                    res->attempts_left = nst.attempts;
                    res->info = info;
                    res->state = nst;
                    return OTA_OK;
                }
                ota_boot_fail(&res->diag, e, "boot state (count trial attempt)",
                              cfg.layout.state_off);
                counted = -1;
            } else {
                res->diag = vd;
            }
        }
        /* exhausted, invalid or uncountable: revert, never run it again.
         * If even that cannot be written, the confirmed slot still runs;
         * the next boot tries the revert again. */
        nst = st;
        nst.pending = OTA_SLOT_NONE;
        nst.attempts = 0;
        nst.rejected = (uint8_t)p;
        if (counted == 0) {
            e = ota_boot_state_write(dev->flash, &cfg.layout, &nst);
            if (e == OTA_ERR_POWER_LOSS)
                return recovery(res, e);
            if (e)
                ota_boot_fail(&res->diag, e, "boot state (revert)", cfg.layout.state_off);
        }
        res->reverted = counted == 0;
        st = nst; /* either way the pending slot is out of the running now */
        res->state = st;
    }

    /* 2. the confirmed slot, then 3. the other one (never a rejected one) */
    if (st.confirmed != OTA_SLOT_NONE)
        order[n++] = st.confirmed;
    for (i = 0; i < 2; i++)
        if (i != st.confirmed && i != st.rejected)
            order[n++] = (uint8_t)i;
    for (i = 0; i < n; i++) {
        int s = order[i];
        e = ota_boot_verify_slot(dev, &cfg, s, otp.value, &info, &vd);
        res->slot_err[s] = e;
        if (is_fatal(e))
            return recovery(res, e);
        if (e != OTA_OK) {
            res->diag = vd;
            continue;
        }
        if (s != st.confirmed) {
            /* the state names a slot that does not verify (or none): record
             * what actually runs so the installer never overwrites it */
            struct ota_boot_state nst = st;
            res->fell_back = st.confirmed != OTA_SLOT_NONE;
            nst.confirmed = (uint8_t)s;
            e = ota_boot_state_write(dev->flash, &cfg.layout, &nst);
            if (e == OTA_ERR_POWER_LOSS)
                return recovery(res, e);
            /* bookkeeping only: the verified image runs even if it failed */
            st = nst;
        }
        /* a confirmation cut short before its OTP burn is completed here */
        if (info.has_security_counter && info.security_counter > otp.value) {
            e = ota_otp_raise_counter(dev->flash, &cfg.layout, info.security_counter);
            if (is_fatal(e))
                return recovery(res, e);
            if (e == OTA_OK)
                res->otp_counter = info.security_counter;
        }
        res->slot = s;
        res->info = info;
        res->state = st;
        return OTA_OK;
    }
    return recovery(res, OTA_ERR_BOOT_NO_VALID_SLOT);
}

ota_err ota_boot_confirm(const struct ota_boot_dev *dev, int slot, struct ota_diag *d)
{
    struct ota_boot_config cfg;
    struct ota_boot_state st, nst;
    struct ota_otp_counter otp;
    struct ota_image_info info;
    ota_err e;

    if (!dev_ok(dev) || (slot != 0 && slot != 1))
        return OTA_ERR_INVALID_ARG;
    e = ota_boot_config_read(dev->flash, &cfg, d);
    if (e)
        return e;
    e = ota_boot_state_read(dev->flash, &cfg.layout, &st, NULL);
    if (e)
        return ota_boot_fail(d, e, "boot state (read)", cfg.layout.state_off);
    /* a confirmed slot may confirm again (firmware that confirms on every
     * boot), even while an update for the other slot waits as pending */
    if (st.pending != slot && st.confirmed != slot)
        return ota_boot_fail_vals(d, OTA_ERR_BOOT_NOT_ON_TRIAL, "boot state pending slot",
                                  0, (uint32_t)slot, st.pending);
    e = ota_otp_read_counter(dev->flash, &cfg.layout, &otp);
    if (e)
        return ota_boot_fail(d, e, "OTP counter (read)", cfg.layout.otp_off);
    /* never burn OTP on the word of an image that does not verify now */
    e = ota_boot_verify_slot(dev, &cfg, slot, otp.value, &info, d);
    if (e)
        return e;
    if (st.pending == slot) {
        nst = st;
        nst.confirmed = (uint8_t)slot;
        nst.pending = OTA_SLOT_NONE;
        nst.attempts = 0;
        if (nst.rejected == slot)
            nst.rejected = OTA_SLOT_NONE;
        e = ota_boot_state_write(dev->flash, &cfg.layout, &nst);
        if (e)
            return ota_boot_fail(d, e, "boot state (write)", cfg.layout.state_off);
    }
    if (info.has_security_counter && info.security_counter > otp.value) {
        e = ota_otp_raise_counter(dev->flash, &cfg.layout, info.security_counter);
        if (e)
            return ota_boot_fail_vals(d, e, "OTP anti-rollback counter (raise)",
                                      cfg.layout.otp_off, info.security_counter, otp.value);
    }
    return OTA_OK;
}

/* ---- factory provisioning ---- */

static const char FILLER[] = "ota bootloader (simulated code) ";

ota_err ota_boot_provision(const struct ota_boot_dev *dev, const struct ota_boot_config *cfg,
                           struct ota_diag *d)
{
    const struct ota_flash *f;
    struct ota_flash_writer w;
    struct ota_boot_state st;
    uint8_t block[OTA_BOOT_CFG_SIZE];
    uint8_t hash[OTA_SHA256_LEN];
    uint32_t pos;
    ota_err e;

    if (!dev_ok(dev) || !cfg)
        return ota_boot_fail(d, OTA_ERR_INVALID_ARG, "provision arguments", 0);
    f = dev->flash;
    if (ota_boot_layout_check(f, &cfg->layout) != OTA_OK)
        return ota_boot_fail(d, OTA_ERR_BOOT_LAYOUT, "layout", 0);
    if (cfg->max_attempts == 0 || cfg->hw_id_len > OTA_HW_ID_MAX ||
        !ota_pubkey_point(&cfg->key))
        return ota_boot_fail(d, OTA_ERR_INVALID_ARG, "bootloader config", 0);

    e = ota_flash_erase(f, 0, ota_flash_size(f));
    if (e)
        return ota_boot_fail(d, e, "chip erase", 0);
    e = ota_flash_writer_init(&w, f, 0, cfg->layout.boot_size, 0);
    if (e)
        return ota_boot_fail(d, e, "bootloader region", 0);
    ota_boot_config_encode(cfg, block);
    e = ota_flash_writer_write(&w, block, sizeof block);
    for (pos = OTA_BOOT_CFG_SIZE; !e && pos < cfg->layout.boot_size;) {
        uint32_t n = (uint32_t)sizeof FILLER - 1;
        if (n > cfg->layout.boot_size - pos)
            n = cfg->layout.boot_size - pos;
        e = ota_flash_writer_write(&w, FILLER, n);
        pos += n;
    }
    if (!e)
        e = ota_flash_writer_finish(&w);
    if (e)
        return ota_boot_fail(d, e, "bootloader region (write)", w.pos);

    e = hash_flash(dev, 0, cfg->layout.boot_size, hash);
    if (!e)
        e = ota_otp_write_rom_hash(f, &cfg->layout, hash);
    if (e)
        return ota_boot_fail(d, e, "OTP bootloader hash", cfg->layout.otp_off);

    st.seq = 0;
    st.confirmed = OTA_SLOT_NONE;
    st.pending = OTA_SLOT_NONE;
    st.attempts = 0;
    st.rejected = OTA_SLOT_NONE;
    e = ota_boot_state_write(f, &cfg->layout, &st);
    if (e)
        return ota_boot_fail(d, e, "boot state (first record)", cfg->layout.state_off);
    return OTA_OK;
}

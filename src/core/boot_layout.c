// SPDX-License-Identifier: Apache-2.0
/*
 * boot_layout.c - where the bootloader, the two slots, the boot state and the
 * OTP live on flash, and the bootloader's configuration block (layout,
 * trusted key, hardware id, trial attempts) stored at the start of the
 * bootloader region so that stage 0's hash covers it.
 *
 * Also home of the CRC-32 and diag helpers the other boot files share.
 */
#include <string.h>

#include "boot_internal.h"
#include "ota/boot.h"

/* ---- shared helpers ---- */

uint32_t ota_boot_crc32(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t crc = 0xffffffffu;
    size_t i;
    int k;

    for (i = 0; i < len; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

ota_err ota_boot_fail(struct ota_diag *d, ota_err err, const char *field, uint32_t offset)
{
    return ota_diag_fail(d, err, field, offset);
}

ota_err ota_boot_fail_vals(struct ota_diag *d, ota_err err, const char *field,
                           uint32_t offset, uint32_t expected, uint32_t found)
{
    return ota_diag_fail_vals(d, err, field, offset, expected, found);
}

/* ---- layout ---- */

static uint32_t div_up(uint32_t a, uint32_t b)
{
    return (uint32_t)(((uint64_t)a + b - 1) / b);
}

ota_err ota_boot_layout_make(const struct ota_flash *f, uint32_t boot_size,
                             uint32_t slot_size, struct ota_boot_layout *l)
{
    uint32_t S, N, boot_sectors, fixed, slot_sectors;

    if (!l || ota_flash_check(f) != OTA_OK)
        return OTA_ERR_INVALID_ARG;
    S = f->sector_size;
    N = f->sector_count;
    if (boot_size == 0)
        boot_size = OTA_BOOT_MIN_REGION;
    if (boot_size < OTA_BOOT_CFG_SIZE)
        boot_size = OTA_BOOT_CFG_SIZE;
    boot_sectors = div_up(boot_size, S);
    fixed = boot_sectors + 2 + 1; /* bootloader + state + OTP */
    if (N < fixed + 2)
        return OTA_ERR_BOOT_LAYOUT;
    /* at least 1: div_up of a non-zero size, or N >= fixed + 2 */
    slot_sectors = slot_size ? div_up(slot_size, S) : (N - fixed) / 2;
    if (slot_sectors > (N - fixed) / 2)
        return OTA_ERR_BOOT_LAYOUT;

    memset(l, 0, sizeof *l);
    l->boot_off = 0;
    l->boot_size = boot_sectors * S;
    l->slot_off[0] = l->boot_size;
    l->slot_size = slot_sectors * S;
    l->slot_off[1] = l->slot_off[0] + l->slot_size;
    l->state_off = l->slot_off[1] + l->slot_size;
    l->otp_off = (N - 1) * S;
    l->otp_size = S;
    return OTA_OK;
}

static int overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return (uint64_t)a < (uint64_t)b + blen && (uint64_t)b < (uint64_t)a + alen;
}

ota_err ota_boot_layout_check(const struct ota_flash *f, const struct ota_boot_layout *l)
{
    uint32_t S, size, off[5], len[5];
    int i, j;

    if (!l || ota_flash_check(f) != OTA_OK)
        return OTA_ERR_INVALID_ARG;
    S = f->sector_size;
    size = ota_flash_size(f);
    off[0] = l->boot_off;     len[0] = l->boot_size;
    off[1] = l->slot_off[0];  len[1] = l->slot_size;
    off[2] = l->slot_off[1];  len[2] = l->slot_size;
    off[3] = l->state_off;    len[3] = 2 * S;
    off[4] = l->otp_off;      len[4] = l->otp_size;
    if (l->boot_off != 0 || l->boot_size < OTA_BOOT_CFG_SIZE)
        return OTA_ERR_BOOT_LAYOUT;
    if (l->otp_off != size - S || l->otp_size != S)
        return OTA_ERR_BOOT_LAYOUT;
    if (l->slot_size == 0 || l->slot_size > size)
        return OTA_ERR_BOOT_LAYOUT;
    for (i = 0; i < 5; i++) {
        if (off[i] % S || len[i] % S || len[i] == 0)
            return OTA_ERR_BOOT_LAYOUT;
        if (off[i] > size || len[i] > size - off[i])
            return OTA_ERR_BOOT_LAYOUT;
        for (j = 0; j < i; j++)
            if (overlap(off[i], len[i], off[j], len[j]))
                return OTA_ERR_BOOT_LAYOUT;
    }
    return OTA_OK;
}

/* ---- configuration block ---- */

static const uint8_t CFG_MAGIC[8] = {'O', 'T', 'A', 'B', 'O', 'O', 'T', '1'};
#define CFG_FORMAT 1u
#define CFG_CRC_OFF 168u

void ota_boot_config_encode(const struct ota_boot_config *cfg, uint8_t out[OTA_BOOT_CFG_SIZE])
{
    memset(out, 0, OTA_BOOT_CFG_SIZE);
    memcpy(out, CFG_MAGIC, sizeof CFG_MAGIC);
    ota_le_put32(out + 8, CFG_FORMAT);
    ota_le_put32(out + 12, cfg->layout.boot_size);
    ota_le_put32(out + 16, cfg->layout.slot_off[0]);
    ota_le_put32(out + 20, cfg->layout.slot_off[1]);
    ota_le_put32(out + 24, cfg->layout.slot_size);
    ota_le_put32(out + 28, cfg->layout.state_off);
    ota_le_put32(out + 32, cfg->layout.otp_off);
    ota_le_put32(out + 36, cfg->layout.otp_size);
    out[40] = cfg->max_attempts;
    out[41] = cfg->hw_id_len;
    memcpy(out + 44, cfg->hw_id, OTA_HW_ID_MAX);
    memcpy(out + 76, cfg->key.spki, OTA_P256_SPKI_LEN);
    ota_le_put32(out + CFG_CRC_OFF, ota_boot_crc32(out, CFG_CRC_OFF));
}

ota_err ota_boot_config_decode(const struct ota_flash *f, const uint8_t in[OTA_BOOT_CFG_SIZE],
                               struct ota_boot_config *cfg, struct ota_diag *d)
{
    uint32_t crc;

    if (!f || !in || !cfg)
        return OTA_ERR_INVALID_ARG;
    memset(cfg, 0, sizeof *cfg);
    if (memcmp(in, CFG_MAGIC, sizeof CFG_MAGIC) != 0)
        return ota_boot_fail(d, OTA_ERR_BOOT_LAYOUT, "bootloader config magic", 0);
    if (ota_le_get32(in + 8) != CFG_FORMAT)
        return ota_boot_fail_vals(d, OTA_ERR_BOOT_LAYOUT, "bootloader config format", 8,
                                  CFG_FORMAT, ota_le_get32(in + 8));
    crc = ota_boot_crc32(in, CFG_CRC_OFF);
    if (ota_le_get32(in + CFG_CRC_OFF) != crc)
        return ota_boot_fail_vals(d, OTA_ERR_BOOT_LAYOUT, "bootloader config CRC",
                                  CFG_CRC_OFF, crc, ota_le_get32(in + CFG_CRC_OFF));
    cfg->layout.boot_off = 0;
    cfg->layout.boot_size = ota_le_get32(in + 12);
    cfg->layout.slot_off[0] = ota_le_get32(in + 16);
    cfg->layout.slot_off[1] = ota_le_get32(in + 20);
    cfg->layout.slot_size = ota_le_get32(in + 24);
    cfg->layout.state_off = ota_le_get32(in + 28);
    cfg->layout.otp_off = ota_le_get32(in + 32);
    cfg->layout.otp_size = ota_le_get32(in + 36);
    cfg->max_attempts = in[40];
    cfg->hw_id_len = in[41];
    memcpy(cfg->hw_id, in + 44, OTA_HW_ID_MAX);
    memcpy(cfg->key.spki, in + 76, OTA_P256_SPKI_LEN);
    if (cfg->max_attempts == 0)
        return ota_boot_fail(d, OTA_ERR_BOOT_LAYOUT, "bootloader config max_attempts", 40);
    if (cfg->hw_id_len > OTA_HW_ID_MAX)
        return ota_boot_fail_vals(d, OTA_ERR_BOOT_LAYOUT, "bootloader config hw_id_len", 41,
                                  OTA_HW_ID_MAX, cfg->hw_id_len);
    if (ota_boot_layout_check(f, &cfg->layout) != OTA_OK)
        return ota_boot_fail(d, OTA_ERR_BOOT_LAYOUT,
                             "bootloader config layout (does not fit this flash)", 12);
    if (!ota_pubkey_point(&cfg->key))
        return ota_boot_fail(d, OTA_ERR_BOOT_LAYOUT,
                             "bootloader config key (not a P-256 SPKI)", 76);
    return OTA_OK;
}

ota_err ota_boot_config_read(const struct ota_flash *f, struct ota_boot_config *cfg,
                             struct ota_diag *d)
{
    uint8_t raw[OTA_BOOT_CFG_SIZE];
    ota_err e;

    if (!f || !cfg)
        return OTA_ERR_INVALID_ARG;
    if (ota_flash_check(f) != OTA_OK)
        return ota_boot_fail(d, OTA_ERR_INVALID_ARG, "flash geometry", 0);
    e = ota_flash_read(f, 0, raw, sizeof raw);
    if (e)
        return ota_boot_fail(d, e, "bootloader config (read)", 0);
    return ota_boot_config_decode(f, raw, cfg, d);
}

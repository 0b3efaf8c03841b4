// SPDX-License-Identifier: Apache-2.0
/*
 * otp.c - the emulated one-time-programmable area: the bootloader-region hash
 * stage 0 checks, and the anti-rollback counter.
 *
 * OTP lives in the last flash sector and is NEVER erased (the simulator
 * refuses it), so its bits only ever go 1 -> 0 (burned). The counter is a log
 * of records, one per raise, each "value, ~value" in its own program unit:
 * a torn program leaves at least one bit position where both halves still
 * read 1, so a half-burned record is never mistaken for a value. The counter
 * is the largest valid value, so it can only grow. On real hardware these
 * functions map onto eFuses / OTP words.
 */
#include <string.h>

#include "boot_internal.h"
#include "ota/boot.h"

static uint32_t unit_size(const struct ota_flash *f)
{
    return (8u + f->prog_size - 1) / f->prog_size * f->prog_size;
}

static uint32_t counter_base(const struct ota_flash *f)
{
    uint32_t u = unit_size(f);
    return (OTA_SHA256_LEN + u - 1) / u * u;
}

static ota_err otp_check(const struct ota_flash *f, const struct ota_boot_layout *l)
{
    if (!f || !l || ota_flash_check(f) != OTA_OK)
        return OTA_ERR_INVALID_ARG;
    if (l->otp_size < counter_base(f) + unit_size(f))
        return OTA_ERR_OTP;
    return OTA_OK;
}

ota_err ota_otp_read_rom_hash(const struct ota_flash *f, const struct ota_boot_layout *l,
                              uint8_t hash[OTA_SHA256_LEN], int *provisioned)
{
    ota_err e = otp_check(f, l);
    size_t i;

    if (e)
        return e;
    e = ota_flash_read(f, l->otp_off, hash, OTA_SHA256_LEN);
    if (e)
        return e;
    *provisioned = 0;
    for (i = 0; i < OTA_SHA256_LEN; i++)
        if (hash[i] != 0xff)
            *provisioned = 1;
    return OTA_OK;
}

ota_err ota_otp_write_rom_hash(const struct ota_flash *f, const struct ota_boot_layout *l,
                               const uint8_t hash[OTA_SHA256_LEN])
{
    uint8_t buf[OTA_FLASH_PROG_MAX > 64 ? OTA_FLASH_PROG_MAX : 64];
    uint32_t n;
    ota_err e = otp_check(f, l);

    if (e)
        return e;
    n = ota_flash_align_prog(f, OTA_SHA256_LEN);
    memset(buf, 0xff, sizeof buf);
    memcpy(buf, hash, OTA_SHA256_LEN);
    e = ota_flash_prog(f, l->otp_off, buf, n);
    if (e)
        return e;
    return ota_flash_sync(f);
}

/* Scan every unit: largest valid value, units in use, next blank unit. */
static ota_err scan(const struct ota_flash *f, const struct ota_boot_layout *l,
                    struct ota_otp_counter *c, uint32_t *next)
{
    uint32_t u = unit_size(f), base = counter_base(f), i, j;
    uint8_t rec[OTA_FLASH_PROG_MAX > 8 ? OTA_FLASH_PROG_MAX : 8];

    c->value = 0;
    c->used = 0;
    c->capacity = (l->otp_size - base) / u;
    if (c->capacity > OTA_OTP_MAX_RECORDS)
        c->capacity = OTA_OTP_MAX_RECORDS;
    *next = 0;
    for (i = 0; i < c->capacity; i++) {
        int blank = 1;
        uint32_t v, inv;
        ota_err e = ota_flash_read(f, l->otp_off + base + i * u, rec, u);
        if (e)
            return e;
        for (j = 0; j < u; j++)
            if (rec[j] != 0xff)
                blank = 0;
        if (blank)
            continue;
        c->used++;
        *next = i + 1;
        v = ota_le_get32(rec);
        inv = ota_le_get32(rec + 4);
        if (v == (uint32_t)~inv && v > c->value)
            c->value = v;
    }
    return OTA_OK;
}

ota_err ota_otp_read_counter(const struct ota_flash *f, const struct ota_boot_layout *l,
                             struct ota_otp_counter *c)
{
    uint32_t next;
    ota_err e = otp_check(f, l);

    if (e)
        return e;
    if (!c)
        return OTA_ERR_INVALID_ARG;
    return scan(f, l, c, &next);
}

ota_err ota_otp_raise_counter(const struct ota_flash *f, const struct ota_boot_layout *l,
                              uint32_t value)
{
    struct ota_otp_counter c;
    uint8_t rec[OTA_FLASH_PROG_MAX > 8 ? OTA_FLASH_PROG_MAX : 8];
    uint32_t next, u;
    ota_err e = otp_check(f, l);

    if (e)
        return e;
    e = scan(f, l, &c, &next);
    if (e)
        return e;
    if (c.value >= value)
        return OTA_OK;
    if (next >= c.capacity)
        return OTA_ERR_OTP_FULL;
    u = unit_size(f);
    memset(rec, 0xff, sizeof rec);
    ota_le_put32(rec, value);
    ota_le_put32(rec + 4, ~value);
    e = ota_flash_prog(f, l->otp_off + counter_base(f) + next * u, rec, u);
    if (e)
        return e;
    return ota_flash_sync(f);
}

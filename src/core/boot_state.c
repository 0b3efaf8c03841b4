// SPDX-License-Identifier: Apache-2.0
/*
 * boot_state.c - the transactional boot state: which slot is confirmed,
 * which is pending trial with how many attempts left, which was rejected.
 *
 * Two sectors hold an append-only log of fixed-size records (magic, sequence
 * number, fields, CRC-32). The newest valid record wins. A write programs the
 * next blank record of the current sector; only when that sector is full is
 * the OTHER sector erased and the record written at its start. So the newest
 * valid record is never touched by the write that replaces it: a cut before
 * or during the write leaves the old record (a torn record fails its CRC and
 * is skipped, its space is never programmed again), a cut after leaves the
 * new one. Wear is spread: one erase per records_per_sector updates.
 */
#include <string.h>

#include "boot_internal.h"
#include "ota/boot.h"

#define REC_MAGIC 0x5341544fu /* "OTAS" */
#define REC_BODY 64u          /* meaningful bytes; the rest of a record is 0xFF */
#define REC_CRC_OFF 60u

static uint32_t rec_size(const struct ota_flash *f)
{
    return (REC_BODY + f->prog_size - 1) / f->prog_size * f->prog_size;
}

static int slot_ok(uint8_t s)
{
    return s == 0 || s == 1 || s == OTA_SLOT_NONE;
}

static void encode(const struct ota_boot_state *st, uint32_t seq, uint8_t *rec, uint32_t rs)
{
    memset(rec, 0xff, rs);
    memset(rec, 0, REC_BODY);
    ota_le_put32(rec, REC_MAGIC);
    ota_le_put32(rec + 4, seq);
    rec[8] = st->confirmed;
    rec[9] = st->pending;
    rec[10] = st->attempts;
    rec[11] = st->rejected;
    ota_le_put32(rec + REC_CRC_OFF, ota_boot_crc32(rec, REC_CRC_OFF));
}

static int decode(const uint8_t *rec, struct ota_boot_state *st)
{
    if (ota_le_get32(rec) != REC_MAGIC)
        return 0;
    if (ota_le_get32(rec + REC_CRC_OFF) != ota_boot_crc32(rec, REC_CRC_OFF))
        return 0;
    if (!slot_ok(rec[8]) || !slot_ok(rec[9]) || !slot_ok(rec[11]))
        return 0;
    st->seq = ota_le_get32(rec + 4);
    st->confirmed = rec[8];
    st->pending = rec[9];
    st->attempts = rec[10];
    st->rejected = rec[11];
    return st->seq != 0;
}

static void state_empty(struct ota_boot_state *st)
{
    st->seq = 0;
    st->confirmed = OTA_SLOT_NONE;
    st->pending = OTA_SLOT_NONE;
    st->attempts = 0;
    st->rejected = OTA_SLOT_NONE;
}

ota_err ota_boot_state_read(const struct ota_flash *f, const struct ota_boot_layout *l,
                            struct ota_boot_state *st, struct ota_boot_state_info *info)
{
    struct ota_boot_state_info inf;
    uint8_t rec[OTA_FLASH_PROG_MAX > REC_BODY ? OTA_FLASH_PROG_MAX : REC_BODY];
    uint32_t rs, rps, last[2] = {0, 0};
    int s;

    if (!f || !l || !st || ota_flash_check(f) != OTA_OK)
        return OTA_ERR_INVALID_ARG;
    rs = rec_size(f);
    rps = f->sector_size / rs;
    if (rps == 0)
        return OTA_ERR_BOOT_LAYOUT;
    memset(&inf, 0, sizeof inf);
    inf.record_size = rs;
    inf.records_per_sector = rps;
    inf.sector = -1;
    state_empty(st);

    for (s = 0; s < 2; s++) {
        uint32_t base = l->state_off + (uint32_t)s * f->sector_size, i, j;
        for (i = 0; i < rps; i++) {
            struct ota_boot_state cand;
            int blank = 1;
            ota_err e = ota_flash_read(f, base + i * rs, rec, rs);
            if (e)
                return e;
            for (j = 0; j < rs; j++)
                if (rec[j] != 0xff) {
                    blank = 0;
                    break;
                }
            if (blank)
                continue;
            last[s] = i + 1;
            if (!decode(rec, &cand)) {
                inf.bad_records++;
                continue;
            }
            inf.valid_records++;
            if (cand.seq > st->seq) {
                *st = cand;
                inf.sector = s;
            }
        }
    }
    if (inf.sector >= 0)
        inf.next = last[inf.sector];
    if (info)
        *info = inf;
    return OTA_OK;
}

ota_err ota_boot_state_write(const struct ota_flash *f, const struct ota_boot_layout *l,
                             const struct ota_boot_state *st)
{
    struct ota_boot_state cur;
    struct ota_boot_state_info inf;
    uint8_t rec[OTA_FLASH_PROG_MAX > REC_BODY ? OTA_FLASH_PROG_MAX : REC_BODY];
    uint32_t sector, idx;
    ota_err e;

    if (!st || !slot_ok(st->confirmed) || !slot_ok(st->pending) || !slot_ok(st->rejected))
        return OTA_ERR_INVALID_ARG;
    e = ota_boot_state_read(f, l, &cur, &inf);
    if (e)
        return e;
    if (cur.seq == 0xffffffffu)
        return OTA_ERR_BOOT_STATE_CORRUPT;
    if (inf.sector >= 0 && inf.next < inf.records_per_sector) {
        sector = (uint32_t)inf.sector;
        idx = inf.next;
    } else {
        /* current sector full (or no state yet): start the other one */
        sector = inf.sector >= 0 ? 1u - (uint32_t)inf.sector : 0u;
        idx = 0;
        e = ota_flash_erase(f, l->state_off + sector * f->sector_size, f->sector_size);
        if (e)
            return e;
    }
    encode(st, cur.seq + 1, rec, inf.record_size);
    e = ota_flash_prog(f, l->state_off + sector * f->sector_size + idx * inf.record_size,
                       rec, inf.record_size);
    if (e)
        return e;
    return ota_flash_sync(f);
}

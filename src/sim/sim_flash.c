// SPDX-License-Identifier: Apache-2.0
/*
 * sim_flash.c - the NOR flash model behind struct ota_flash for tests and
 * ota-sim: NOR semantics checked strictly, wear and operation counters,
 * deterministic power-cut injection before or inside any operation, writes
 * that stay volatile until sync, and worn cells that silently mis-program.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "ota/sim.h"

static uint64_t rnd(struct ota_sim *s)
{
    /* xorshift64* : deterministic from the seed */
    uint64_t x = s->rng ? s->rng : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static void violation(struct ota_sim *s, const char *what, uint32_t off)
{
    if (s->violations++ == 0)
        snprintf(s->violation, sizeof s->violation, "%s at offset 0x%x", what, off);
}

/* Called at the start of every program/erase: 1 when this one is cut. */
static int cut_now(struct ota_sim *s)
{
    int cut = s->cut_mode != OTA_SIM_CUT_NONE && !s->cut_fired && s->ops == s->cut_at;
    s->ops++;
    return cut;
}

static size_t sector_of(const struct ota_sim *s, uint32_t off)
{
    return off / s->flash.sector_size;
}

/* ON_SYNC: sector `sec` is about to change after the last sync. */
static void mark_dirty(struct ota_sim *s, uint32_t sec)
{
    if (s->dirty)
        s->dirty[sec] = 1;
}

/* Power is gone: each sector changed since the last sync keeps its new
 * contents, rolls back to the synced ones, or ends up a byte-wise mix. */
static void lose_unsynced(struct ota_sim *s)
{
    uint32_t ss = s->flash.sector_size, sec, i;
    if (!s->dirty)
        return;
    for (sec = 0; sec < s->flash.sector_count; sec++) {
        uint8_t *now = s->mem + (size_t)sec * ss;
        const uint8_t *old = s->durable + (size_t)sec * ss;
        uint64_t r;
        if (!s->dirty[sec])
            continue;
        s->dirty[sec] = 0;
        r = rnd(s) % 3;
        if (r != 0)
            s->stats.sectors_lost++;
        if (r == 1) {
            memcpy(now, old, ss);
        } else if (r == 2) {
            /* runs of old and new bytes, as write-back of partial pages */
            i = 0;
            while (i < ss) {
                uint32_t run = 1 + (uint32_t)(rnd(s) % 512);
                int keep_old = (int)(rnd(s) & 1);
                if (run > ss - i)
                    run = ss - i;
                if (keep_old)
                    memcpy(now + i, old + i, run);
                i += run;
            }
        }
        memcpy(s->durable + (size_t)sec * ss, now, ss);
    }
}

static void power_lost(struct ota_sim *s)
{
    s->powered = 0;
    s->cut_fired = 1;
    lose_unsynced(s);
}

/* Worn cells: corrupt one byte of [off, off + len) that overlaps the region. */
static void lie(struct ota_sim *s, uint32_t off, size_t len, const uint8_t *src)
{
    uint32_t lo, hi, i, start;
    uint64_t x;
    if (s->lie == OTA_SIM_LIE_NONE)
        return;
    lo = off > s->lie_off ? off : s->lie_off;
    hi = (uint32_t)(off + len) < s->lie_off + s->lie_len ? (uint32_t)(off + len)
                                                         : s->lie_off + s->lie_len;
    if (lo >= hi)
        return;
    x = s->lie_rng ? s->lie_rng : 0x2545f4914f6cdd1dULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->lie_rng = x;
    x *= 0x2545f4914f6cdd1dULL;
    start = lo + (uint32_t)(x % (hi - lo));
    for (i = 0; i < hi - lo; i++) {
        uint32_t at = lo + (start - lo + i) % (hi - lo);
        uint8_t want = src[at - off];
        uint8_t bit;
        if (s->lie == OTA_SIM_LIE_UNPROGRAMMED) {
            if (want == 0xff)
                continue; /* nothing to leave unprogrammed in this byte */
            do
                bit = (uint8_t)(1u << ((x >> 8) % 8)), x = x * 6364136223846793005ULL + 1;
            while (want & bit);
            s->mem[at] |= bit;
        } else {
            s->mem[at] ^= (uint8_t)(1u << ((x >> 8) % 8));
        }
        s->stats.lies++;
        if (s->lie_budget && --s->lie_budget == 0)
            s->lie = OTA_SIM_LIE_NONE;
        return;
    }
}

static ota_err sim_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    struct ota_sim *s = ctx;
    if (!s->powered)
        return OTA_ERR_POWER_LOSS;
    if (off > ota_flash_size(&s->flash) || len > ota_flash_size(&s->flash) - off)
        return OTA_ERR_FLASH_BOUNDS;
    memcpy(buf, s->mem + off, len);
    s->stats.reads++;
    s->stats.bytes_read += len;
    return OTA_OK;
}

static void torn_prog(struct ota_sim *s, uint8_t *dst, const uint8_t *src, size_t len)
{
    size_t i;
    switch (rnd(s) % 3) {
    case 0: { /* written in order up to a random point, that byte half done */
        size_t cut = (size_t)(rnd(s) % (len + 1));
        for (i = 0; i < cut && i < len; i++)
            dst[i] &= src[i];
        if (cut < len)
            dst[cut] &= (uint8_t)(src[cut] | (uint8_t)rnd(s));
        break;
    }
    case 1: /* a random subset of bytes written, others untouched or partial */
        for (i = 0; i < len; i++) {
            uint64_t r = rnd(s) % 3;
            if (r == 0)
                dst[i] &= src[i];
            else if (r == 2)
                dst[i] &= (uint8_t)(src[i] | (uint8_t)rnd(s));
        }
        break;
    default: /* every byte: a random subset of its bits cleared */
        for (i = 0; i < len; i++)
            dst[i] &= (uint8_t)(src[i] | (uint8_t)rnd(s));
        break;
    }
}

static ota_err sim_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    struct ota_sim *s = ctx;
    const uint8_t *src = buf;
    uint8_t *dst;
    size_t i;
    int cut;

    if (!s->powered)
        return OTA_ERR_POWER_LOSS;
    if (off > ota_flash_size(&s->flash) || len > ota_flash_size(&s->flash) - off)
        return OTA_ERR_FLASH_BOUNDS;
    if (off % s->flash.prog_size || len % s->flash.prog_size)
        return OTA_ERR_FLASH_ALIGN;
    dst = s->mem + off;
    for (i = 0; i < len && !s->rewritable; i++)
        if (dst[i] != 0xff) {
            violation(s, "program of a non-erased location", off + (uint32_t)i);
            return OTA_ERR_FLASH_NOT_ERASED;
        }
    cut = cut_now(s);
    if (cut && s->cut_mode == OTA_SIM_CUT_BEFORE) {
        power_lost(s);
        return OTA_ERR_POWER_LOSS;
    }
    if (len)
        for (i = sector_of(s, off); i <= sector_of(s, off + (uint32_t)len - 1); i++)
            mark_dirty(s, (uint32_t)i);
    if (cut) {
        if (s->rewritable) /* a block device: runs of old and new bytes */
            for (i = 0; i < len; i++)
                dst[i] = rnd(s) & 1 ? src[i] : dst[i];
        else
            torn_prog(s, dst, src, len);
        power_lost(s);
        return OTA_ERR_POWER_LOSS;
    }
    for (i = 0; i < len; i++)
        dst[i] = s->rewritable ? src[i] : (uint8_t)(dst[i] & src[i]);
    lie(s, off, len, src);
    s->stats.progs++;
    s->stats.bytes_programmed += len;
    return OTA_OK;
}

void ota_sim_set_rewritable(struct ota_sim *s, int on)
{
    s->rewritable = on != 0;
}

static ota_err sim_erase(void *ctx, uint32_t sector)
{
    struct ota_sim *s = ctx;
    uint32_t ss = s->flash.sector_size;
    uint8_t *p;
    int cut;

    if (!s->powered)
        return OTA_ERR_POWER_LOSS;
    if (sector >= s->flash.sector_count)
        return OTA_ERR_FLASH_BOUNDS;
    if (sector >= s->protect_first && sector - s->protect_first < s->protect_count) {
        violation(s, "erase of a protected (OTP) sector", sector * ss);
        return OTA_ERR_FLASH_PROTECTED;
    }
    p = s->mem + (size_t)sector * ss;
    cut = cut_now(s);
    if (cut && s->cut_mode == OTA_SIM_CUT_BEFORE) {
        power_lost(s);
        return OTA_ERR_POWER_LOSS;
    }
    s->erase_count[sector]++;
    mark_dirty(s, sector);
    if (cut) {
        uint32_t i;
        if (rnd(s) % 2 == 0) {
            /* erased up to a random point, old content after it */
            uint32_t upto = (uint32_t)(rnd(s) % ss);
            memset(p, 0xff, upto);
            for (i = upto; i < ss && i < upto + 16; i++)
                p[i] |= (uint8_t)rnd(s);
        } else {
            /* every byte somewhere between old and erased, or noise */
            for (i = 0; i < ss; i++) {
                uint64_t r = rnd(s) % 3;
                if (r == 0)
                    p[i] = 0xff;
                else if (r == 1)
                    p[i] |= (uint8_t)rnd(s);
                else
                    p[i] = (uint8_t)rnd(s);
            }
        }
        power_lost(s);
        return OTA_ERR_POWER_LOSS;
    }
    memset(p, 0xff, ss);
    s->stats.erases++;
    return OTA_OK;
}

static ota_err sim_sync(void *ctx)
{
    struct ota_sim *s = ctx;
    uint32_t ss, sec;
    if (!s->powered)
        return OTA_ERR_POWER_LOSS;
    /* ON_SYNC: a sync is an operation on the cut clock too (power may go
     * after the programs, before they are made durable) */
    if (s->dirty && cut_now(s)) {
        power_lost(s);
        return OTA_ERR_POWER_LOSS;
    }
    ss = s->flash.sector_size;
    if (s->dirty)
        for (sec = 0; sec < s->flash.sector_count; sec++)
            if (s->dirty[sec]) {
                memcpy(s->durable + (size_t)sec * ss, s->mem + (size_t)sec * ss, ss);
                s->dirty[sec] = 0;
            }
    s->stats.syncs++;
    return OTA_OK;
}

ota_err ota_sim_init(struct ota_sim *s, uint32_t read_size, uint32_t prog_size,
                     uint32_t sector_size, uint32_t sector_count)
{
    size_t size;

    if (!s)
        return OTA_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    s->flash.read = sim_read;
    s->flash.prog = sim_prog;
    s->flash.erase = sim_erase;
    s->flash.sync = sim_sync;
    s->flash.ctx = s;
    s->flash.read_size = read_size;
    s->flash.prog_size = prog_size;
    s->flash.sector_size = sector_size;
    s->flash.sector_count = sector_count;
    if (ota_flash_check(&s->flash) != OTA_OK)
        return OTA_ERR_INVALID_ARG;
    size = (size_t)sector_size * sector_count;
    s->mem = malloc(size);
    s->erase_count = calloc(sector_count, sizeof *s->erase_count);
    if (!s->mem || !s->erase_count) {
        ota_sim_free(s);
        return OTA_ERR_NO_MEMORY;
    }
    memset(s->mem, 0xff, size);
    s->powered = 1;
    s->running_slot = -1;
    return OTA_OK;
}

ota_err ota_sim_init_geometry(struct ota_sim *s, const struct ota_sim_geometry *g,
                              uint32_t sector_count)
{
    ota_err e;
    if (!g)
        return OTA_ERR_INVALID_ARG;
    e = ota_sim_init(s, g->read_size, g->prog_size, g->sector_size,
                     sector_count ? sector_count : g->sector_count);
    if (e == OTA_OK)
        snprintf(s->geometry, sizeof s->geometry, "%s", g->name);
    return e;
}

void ota_sim_free(struct ota_sim *s)
{
    if (!s)
        return;
    free(s->mem);
    free(s->erase_count);
    free(s->durable);
    free(s->dirty);
    s->mem = NULL;
    s->erase_count = NULL;
    s->durable = NULL;
    s->dirty = NULL;
    s->durability = OTA_SIM_DURABLE_AT_ONCE;
}

ota_err ota_sim_set_durability(struct ota_sim *s, enum ota_sim_durability d)
{
    size_t size;
    if (!s || !s->mem || (d != OTA_SIM_DURABLE_AT_ONCE && d != OTA_SIM_DURABLE_ON_SYNC))
        return OTA_ERR_INVALID_ARG;
    free(s->durable);
    free(s->dirty);
    s->durable = NULL;
    s->dirty = NULL;
    s->durability = d;
    if (d == OTA_SIM_DURABLE_AT_ONCE)
        return OTA_OK;
    size = ota_flash_size(&s->flash);
    s->durable = malloc(size);
    s->dirty = calloc(s->flash.sector_count, 1);
    if (!s->durable || !s->dirty) {
        free(s->durable);
        free(s->dirty);
        s->durable = NULL;
        s->dirty = NULL;
        s->durability = OTA_SIM_DURABLE_AT_ONCE;
        return OTA_ERR_NO_MEMORY;
    }
    memcpy(s->durable, s->mem, size);
    return OTA_OK;
}

void ota_sim_power_cut(struct ota_sim *s, uint64_t seed)
{
    s->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
    power_lost(s);
}

void ota_sim_set_worn(struct ota_sim *s, uint32_t off, uint32_t len, enum ota_sim_lie how,
                      uint64_t seed, uint32_t budget)
{
    s->lie = len ? how : OTA_SIM_LIE_NONE;
    s->lie_off = off;
    s->lie_len = len;
    s->lie_budget = budget;
    s->lie_rng = seed * 0x9e3779b97f4a7c15ULL + 3;
}

ota_err ota_sim_copy(struct ota_sim *dst, const struct ota_sim *src)
{
    uint8_t *mem, *durable, *dirty;
    uint32_t *wear;
    enum ota_sim_durability durability;
    int rewritable;
    size_t size;

    if (!dst || !src || dst->flash.sector_size != src->flash.sector_size ||
        dst->flash.sector_count != src->flash.sector_count ||
        dst->flash.prog_size != src->flash.prog_size ||
        dst->flash.read_size != src->flash.read_size)
        return OTA_ERR_INVALID_ARG;
    mem = dst->mem;
    wear = dst->erase_count;
    durable = dst->durable;
    dirty = dst->dirty;
    durability = dst->durability;
    rewritable = dst->rewritable;
    size = ota_flash_size(&src->flash);
    memcpy(mem, src->mem, size);
    memcpy(wear, src->erase_count, src->flash.sector_count * sizeof *wear);
    if (durable && src->durable) {
        memcpy(durable, src->durable, size);
        memcpy(dirty, src->dirty, src->flash.sector_count);
    } else if (durable) {
        memcpy(durable, mem, size);
        memset(dirty, 0, src->flash.sector_count);
    }
    *dst = *src;
    dst->mem = mem;
    dst->erase_count = wear;
    dst->durable = durable;
    dst->rewritable = rewritable;
    dst->dirty = dirty;
    dst->durability = durability;
    dst->flash.ctx = dst;
    dst->cut_mode = OTA_SIM_CUT_NONE;
    dst->cut_fired = 0;
    dst->powered = 1;
    return OTA_OK;
}

void ota_sim_arm_cut(struct ota_sim *s, enum ota_sim_cut mode, uint64_t after, uint64_t seed)
{
    s->cut_mode = mode;
    s->cut_at = s->ops + after;
    s->cut_fired = 0;
    s->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
}

void ota_sim_disarm(struct ota_sim *s)
{
    s->cut_mode = OTA_SIM_CUT_NONE;
    s->cut_fired = 0;
}

void ota_sim_power_on(struct ota_sim *s)
{
    s->powered = 1;
    ota_sim_disarm(s);
}

void ota_sim_protect(struct ota_sim *s, uint32_t first, uint32_t count)
{
    s->protect_first = first;
    s->protect_count = count;
}

/*
 * ram_flash.h - a small NOR flash in RAM for the update engine's unit tests,
 * with power cuts before or inside (torn) the Nth program/erase operation.
 *
 * Why it exists: the engine's tests must cut power during download and
 * install without depending on the simulator's file format; this model is
 * enough (erase -> 0xFF, program only clears bits, a torn program writes a
 * random part, a torn erase leaves random content) and fully deterministic.
 */
#ifndef OTA_TEST_RAM_FLASH_H
#define OTA_TEST_RAM_FLASH_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota/flash.h"

struct ram_flash {
    uint8_t *mem;
    uint32_t size;
    uint32_t sector;
    uint64_t ops;     /* program + erase operations so far */
    uint64_t progs, erases;
    uint64_t cut_at;  /* cut power at this op (0: never) */
    int torn;         /* the cut happens inside the operation */
    int dead;         /* power is off: every call fails */
    uint32_t rng;
    int double_prog;  /* a program hit a non-erased location (a bug) */
};

static uint32_t ram_rand(struct ram_flash *r)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 17;
    r->rng ^= r->rng << 5;
    return r->rng;
}

/* Counts the op and decides whether power dies now. 1: cut before, 2: torn. */
static int ram_cut(struct ram_flash *r)
{
    r->ops++;
    if (r->cut_at && r->ops == r->cut_at) {
        r->dead = 1;
        return r->torn ? 2 : 1;
    }
    return 0;
}

static ota_err ram_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    struct ram_flash *r = ctx;
    if (r->dead)
        return OTA_ERR_POWER_LOSS;
    memcpy(buf, r->mem + off, len);
    return OTA_OK;
}

static ota_err ram_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    struct ram_flash *r = ctx;
    const uint8_t *p = buf;
    int cut;
    size_t i;
    if (r->dead)
        return OTA_ERR_POWER_LOSS;
    for (i = 0; i < len; i++)
        if (r->mem[off + i] != 0xff)
            r->double_prog = 1;
    if (r->double_prog)
        return OTA_ERR_FLASH_NOT_ERASED;
    cut = ram_cut(r);
    r->progs++;
    if (cut == 1)
        return OTA_ERR_POWER_LOSS;
    for (i = 0; i < len; i++) {
        if (cut == 2) {
            uint8_t mask = (uint8_t)ram_rand(r);
            r->mem[off + i] &= (uint8_t)(p[i] | mask); /* some bits cleared */
        } else {
            r->mem[off + i] &= p[i];
        }
    }
    return cut ? OTA_ERR_POWER_LOSS : OTA_OK;
}

static ota_err ram_erase(void *ctx, uint32_t sector)
{
    struct ram_flash *r = ctx;
    int cut;
    uint32_t i;
    if (r->dead)
        return OTA_ERR_POWER_LOSS;
    cut = ram_cut(r);
    r->erases++;
    if (cut == 1)
        return OTA_ERR_POWER_LOSS;
    for (i = 0; i < r->sector; i++)
        r->mem[sector * r->sector + i] = cut == 2 ? (uint8_t)(ram_rand(r) | 0x0f) : 0xff;
    return cut ? OTA_ERR_POWER_LOSS : OTA_OK;
}

static void ram_flash_init(struct ram_flash *r, struct ota_flash *f, uint32_t sector,
                           uint32_t sectors, uint32_t prog)
{
    memset(r, 0, sizeof *r);
    r->sector = sector;
    r->size = sector * sectors;
    r->mem = malloc(r->size);
    memset(r->mem, 0xff, r->size);
    r->rng = 0x12345678u;
    memset(f, 0, sizeof *f);
    f->read = ram_read;
    f->prog = ram_prog;
    f->erase = ram_erase;
    f->ctx = r;
    f->read_size = 1;
    f->prog_size = prog;
    f->sector_size = sector;
    f->sector_count = sectors;
}

/* Power back on (contents kept). */
static void ram_flash_power_on(struct ram_flash *r)
{
    r->dead = 0;
    r->cut_at = 0;
}

#endif

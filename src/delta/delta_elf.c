// SPDX-License-Identifier: Apache-2.0
/*
 * delta_elf.c - what the patch creator reads from ELF headers when both
 * images are ELF files (little-endian, 32 or 64 bit): the machine, and the
 * loadable segments, so the predictors' address map can be keyed by the
 * addresses branches and pointers hold instead of by file offsets, and only
 * the predictors of that machine are tried. Creator side only: a patch made
 * with it is an ordinary patch (the applier never sees an ELF header).
 * Anything malformed or unusual (big-endian, addresses past 4 GiB, more than
 * DELF_MAX_SEG loadable segments) makes the image "not ELF" here, and the
 * creator falls back to scanning.
 */
#include <string.h>

#include "delta_host.h"
#include "le.h"

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)ota_le_get32(p) | ((uint64_t)ota_le_get32(p + 4) << 32);
}

int delf_parse(const uint8_t *img, size_t len, struct delf *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 52 || memcmp(img, "\x7F" "ELF", 4) != 0 || img[5] != 1 /* LE */)
        return 0;
    int is64 = img[4] == 2;
    if (!is64 && img[4] != 1)
        return 0;
    if (is64 && len < 64)
        return 0;
    uint64_t phoff = is64 ? get64(img + 32) : ota_le_get32(img + 28);
    uint32_t phentsize = (uint32_t)img[is64 ? 54 : 42] | ((uint32_t)img[is64 ? 55 : 43] << 8);
    uint32_t phnum = (uint32_t)img[is64 ? 56 : 44] | ((uint32_t)img[is64 ? 57 : 45] << 8);
    if (phentsize < (is64 ? 56u : 32u) || phoff > len ||
        (uint64_t)phnum * phentsize > len - phoff)
        return 0;
    out->machine = (uint16_t)(img[18] | (img[19] << 8));
    for (uint32_t i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
        if (ota_le_get32(ph) != 1u) /* PT_LOAD */
            continue;
        uint64_t off, vaddr, filesz;
        uint32_t flags;
        if (is64) {
            flags = ota_le_get32(ph + 4);
            off = get64(ph + 8);
            vaddr = get64(ph + 16);
            filesz = get64(ph + 32);
        } else {
            off = ota_le_get32(ph + 4);
            vaddr = ota_le_get32(ph + 8);
            filesz = ota_le_get32(ph + 16);
            flags = ota_le_get32(ph + 24);
        }
        if (!filesz)
            continue;
        if (out->nseg == DELF_MAX_SEG || off > len || filesz > len - off ||
            vaddr + filesz > 0xFFFFFFFFu || vaddr + filesz < vaddr)
            return 0;
        struct delf_seg *s = &out->seg[out->nseg++];
        s->off = (uint32_t)off;
        s->vaddr = (uint32_t)vaddr;
        s->len = (uint32_t)filesz;
        s->exec = (flags & 1u) != 0; /* PF_X */
    }
    return out->nseg > 0;
}

/* The loadable segment holding file offset x (the last one when the
 * segments share a page), or NULL. */
static const struct delf_seg *seg_of(const struct delf *e, uint32_t x)
{
    const struct delf_seg *hit = NULL;
    for (unsigned i = 0; i < e->nseg; i++)
        if (x - e->seg[i].off < e->seg[i].len)
            hit = &e->seg[i];
    return hit;
}

int delf_addr(const struct delf *e, uint32_t x, uint32_t *addr, uint32_t *seg_end)
{
    const struct delf_seg *s = seg_of(e, x);
    if (!s)
        return 0;
    *addr = x - s->off + s->vaddr;
    *seg_end = s->off + s->len;
    return 1;
}

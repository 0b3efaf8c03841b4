// SPDX-License-Identifier: Apache-2.0
/*
 * delta_elf.c - what the patch creator reads from ELF headers when both
 * images are ELF files (little-endian, 32 or 64 bit): the machine, and the
 * loadable segments, so the predictors' address map can be keyed by the
 * addresses branches and pointers hold instead of by file offsets, and only
 * the predictors of that machine are tried; and the executable sections,
 * which become the patch's code regions (branch predictors inside, pointer
 * predictors outside). Creator side only: the applier never sees an ELF
 * header, only the map and the regions the patch states.
 * The ELF may also sit behind a signed image's header (what ota-server
 * diffs: the release files are images), found through the header's
 * hdr_size; offsets reported are then offsets in the whole image.
 * In a filesystem image (too large for one ELF file's model), the machine
 * of the ELF files inside it (delf_embedded_machine) still says which
 * predictors to try.
 * Anything malformed or unusual (big-endian, addresses past 4 GiB, more than
 * DELF_MAX_SEG loadable segments) makes the image "not ELF" here, and the
 * creator falls back to scanning.
 */
#include <string.h>

#include "delta_host.h"
#include "le.h"
#include "ota/image.h"

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)ota_le_get32(p) | ((uint64_t)ota_le_get32(p + 4) << 32);
}

/* Where the ELF file starts in img: 0 for a bare ELF file, the header
 * size for one wrapped in an image header (magic, then hdr_size at byte 8
 * and img_size at byte 12, image.h); *elf_len its length. -1: neither. */
static long elf_start(const uint8_t *img, size_t len, size_t *elf_len)
{
    *elf_len = len;
    if (len >= 4 && memcmp(img, "\x7F" "ELF", 4) == 0)
        return 0;
    if (len < 32 || ota_le_get32(img) != OTA_IMAGE_MAGIC)
        return -1;
    size_t hdr = (size_t)img[8] | ((size_t)img[9] << 8), body = ota_le_get32(img + 12);
    if (hdr < 32 || hdr > len || body > len - hdr || memcmp(img + hdr, "\x7F" "ELF", 4) != 0)
        return -1;
    *elf_len = body;
    return (long)hdr;
}

/*
 * The program (sections = 0) or section header table of the little-endian
 * ELF file in `whole` (bare or behind an image header, elf_start): returns
 * where the file starts (NULL when not so), with its offset in `whole`
 * *base, its length *len, *is64, the table's offset *tab, entry size *ent
 * (at least the standard one) and count *num, all inside the file.
 */
static const uint8_t *table(const uint8_t *whole, size_t whole_len, int sections, long *base,
                            size_t *len, int *is64, uint64_t *tab, uint32_t *ent, uint32_t *num)
{
    *base = elf_start(whole, whole_len, len);
    if (*base < 0)
        return NULL;
    const uint8_t *img = whole + *base;
    if (*len < 64 || memcmp(img, "\x7F" "ELF", 4) != 0 || img[5] != 1 /* LE */ ||
        (img[4] != 1 && img[4] != 2))
        return NULL;
    *is64 = img[4] == 2;
    /* e_phoff / e_shoff, then e_phentsize, e_phnum / e_shentsize, e_shnum */
    unsigned off = *is64 ? (sections ? 40u : 32u) : (sections ? 32u : 28u);
    unsigned sz = *is64 ? (sections ? 58u : 54u) : (sections ? 46u : 42u);
    *tab = *is64 ? get64(img + off) : ota_le_get32(img + off);
    *ent = (uint32_t)img[sz] | ((uint32_t)img[sz + 1] << 8);
    *num = (uint32_t)img[sz + 2] | ((uint32_t)img[sz + 3] << 8);
    uint32_t min = *is64 ? (sections ? 64u : 56u) : (sections ? 40u : 32u);
    return *ent >= min && *tab <= *len && (uint64_t)*num * *ent <= *len - *tab ? img : NULL;
}

uint16_t delf_embedded_machine(const uint8_t *img, size_t len)
{
    static const uint16_t machines[] = {3, 40, 62, 183};
    size_t count[4] = {0, 0, 0, 0};
    for (size_t off = 0; len >= 20 && off <= len - 20; off += 4096) {
        const uint8_t *h = img + off;
        if (memcmp(h, "\x7F" "ELF", 4) != 0 || (h[4] != 1 && h[4] != 2) || h[5] != 1)
            continue;
        uint16_t m = (uint16_t)(h[18] | (h[19] << 8));
        for (unsigned i = 0; i < 4; i++)
            count[i] += m == machines[i];
    }
    unsigned best = 0;
    for (unsigned i = 1; i < 4; i++)
        if (count[i] > count[best])
            best = i;
    return count[best] ? machines[best] : 0;
}

int delf_parse(const uint8_t *whole, size_t whole_len, struct delf *out)
{
    memset(out, 0, sizeof(*out));
    size_t len;
    long base;
    int is64;
    uint64_t phoff;
    uint32_t phentsize, phnum;
    const uint8_t *img = table(whole, whole_len, 0, &base, &len, &is64, &phoff, &phentsize, &phnum);
    if (!img)
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
        s->off = (uint32_t)(off + (uint64_t)base);
        s->vaddr = (uint32_t)vaddr;
        s->len = (uint32_t)filesz;
        s->exec = (flags & 1u) != 0; /* PF_X */
    }
    return out->nseg > 0;
}

int delf_code(const uint8_t *whole, size_t whole_len, uint32_t start[OTA_DELTA_CODE_MAX],
              uint32_t end[OTA_DELTA_CODE_MAX])
{
    size_t len;
    long base;
    int is64;
    uint64_t shoff;
    uint32_t shentsize, shnum;
    const uint8_t *img = table(whole, whole_len, 1, &base, &len, &is64, &shoff, &shentsize, &shnum);
    if (!img)
        return 0;
    /* executable, allocated PROGBITS sections, merged when less than 64
     * bytes apart, in file order */
    uint32_t s[64], e[64];
    unsigned n = 0;
    for (uint32_t i = 0; i < shnum; i++) {
        const uint8_t *sh = img + shoff + (uint64_t)i * shentsize;
        uint64_t flags = is64 ? get64(sh + 8) : ota_le_get32(sh + 8);
        uint64_t off = is64 ? get64(sh + 24) : ota_le_get32(sh + 16);
        uint64_t size = is64 ? get64(sh + 32) : ota_le_get32(sh + 20);
        if (ota_le_get32(sh + 4) != 1u || (flags & 6u) != 6u || !size || off > len ||
            size > len - off)
            continue; /* SHT_PROGBITS with SHF_ALLOC | SHF_EXECINSTR */
        unsigned k = n;
        while (k && s[k - 1] > off)
            k--;
        if (n == 64)
            return 0;
        memmove(s + k + 1, s + k, (n - k) * sizeof(s[0]));
        memmove(e + k + 1, e + k, (n - k) * sizeof(e[0]));
        s[k] = (uint32_t)(off + (uint64_t)base);
        e[k] = (uint32_t)(off + size + (uint64_t)base);
        n++;
    }
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++) {
        if (m && s[i] < e[m - 1] + 64u) {
            if (e[i] > e[m - 1])
                e[m - 1] = e[i];
        } else {
            s[m] = s[i];
            e[m] = e[i];
            m++;
        }
    }
    /* too many: close the smallest gaps */
    while (m > OTA_DELTA_CODE_MAX) {
        unsigned best = 1;
        for (unsigned i = 2; i < m; i++)
            if (s[i] - e[i - 1] < s[best] - e[best - 1])
                best = i;
        e[best - 1] = e[best];
        memmove(s + best, s + best + 1, (m - best - 1) * sizeof(s[0]));
        memmove(e + best, e + best + 1, (m - best - 1) * sizeof(e[0]));
        m--;
    }
    memcpy(start, s, m * sizeof(s[0]));
    memcpy(end, e, m * sizeof(e[0]));
    return (int)m;
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

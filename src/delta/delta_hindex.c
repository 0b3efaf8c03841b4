// SPDX-License-Identifier: Apache-2.0
/*
 * delta_hindex.c - the match finder for large images (root filesystems of a
 * GiB and more), where a suffix array (4 bytes per old byte, plus
 * divsufsort's time) no longer fits the memory and time a host may spend:
 * a hash table of the old image's DHX_WIN-byte windows at every
 * DHX_STRIDE-th offset (one 32-bit old offset per slot, two slots per
 * indexed window: old_len / 2 bytes of index, at most 1 GiB). A lookup
 * hashes the new bytes at a position, checks the candidate and extends it
 * forward; the bsdiff scan of delta_match.c calls it at every new position,
 * so any match at least DHX_WIN + DHX_STRIDE - 1 bytes long is found, and
 * the scan's backward extension recovers its start.
 */
#include <stdlib.h>
#include <string.h>

#include "delta_host.h"

static uint32_t hwin(const uint8_t *p, unsigned bits)
{
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    uint64_t h = a * 0x9E3779B97F4A7C15ull;
    h ^= (b + (h >> 29)) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 31;
    h *= 0x165667B19E3779F9ull;
    return (uint32_t)(h >> (64u - bits));
}

ota_err dhindex_build(const uint8_t *old, uint32_t old_len, struct dhindex *ix)
{
    memset(ix, 0, sizeof(*ix));
    ix->old = old;
    ix->old_len = old_len;
    uint64_t want = 2u * ((uint64_t)old_len / DHX_STRIDE + 1u);
    unsigned bits = 10;
    while (bits < 28u && (1ull << bits) < want)
        bits++;
    ix->bits = bits;
    /* 0 = empty; a slot holds old offset + 1 */
    ix->tab = calloc((size_t)1 << bits, sizeof(*ix->tab));
    if (!ix->tab)
        return OTA_ERR_NO_MEMORY;
    if (old_len < DHX_WIN)
        return OTA_OK;
    /* Backwards, so that of equal windows the first one in old stays. */
    uint32_t last = (old_len - DHX_WIN) / DHX_STRIDE * DHX_STRIDE;
    for (uint64_t o = (uint64_t)last + DHX_STRIDE; o >= DHX_STRIDE;) {
        o -= DHX_STRIDE;
        ix->tab[hwin(old + o, bits)] = (uint32_t)o + 1u;
    }
    return OTA_OK;
}

void dhindex_free(struct dhindex *ix)
{
    free(ix->tab);
    ix->tab = NULL;
}

uint32_t dhindex_find(const struct dhindex *ix, const uint8_t *nw, uint32_t nlen, uint32_t *pos)
{
    if (nlen < DHX_WIN)
        return 0;
    uint32_t c = ix->tab[hwin(nw, ix->bits)];
    if (!c)
        return 0;
    uint32_t o = c - 1u;
    const uint8_t *a = ix->old + o;
    uint32_t n = ix->old_len - o < nlen ? ix->old_len - o : nlen;
    if (memcmp(a, nw, DHX_WIN) != 0)
        return 0;
    uint32_t i = DHX_WIN;
    while (i + 8u <= n) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, nw + i, 8);
        if (x != y)
            break;
        i += 8u;
    }
    while (i < n && a[i] == nw[i])
        i++;
    *pos = o;
    return i;
}

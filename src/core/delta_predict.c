// SPDX-License-Identifier: Apache-2.0
/*
 * delta_predict.c - executable-aware prediction for delta difference runs.
 *
 * When code moves, branch offsets and pointers change even though the code
 * did not. The patch carries a small map of how old offsets moved (from its
 * own difference runs); for a BL/B.W, an ARM BL or a 32-bit pointer into the
 * image found in the old bytes, the applier predicts the new field as the
 * same target translated through the map, and the stream only codes the
 * difference to that prediction (zero when the guess is right). Shared by the
 * host encoder and the device applier so both predict bit-identically.
 */
#include "delta_internal.h"
#include "le.h"

/* Index of the last start <= x in an ascending array (start[0] <= x). */
static uint32_t last_le(const uint32_t *start, uint32_t n, uint32_t x)
{
    uint32_t lo = 0, hi = n; /* start[lo] <= x < start[hi] */
    while (hi - lo > 1u) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (start[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t map_lookup(const struct dm_pred *m, uint32_t x)
{
    if (x >= m->old_len || m->map_n == 0 || x < m->map_old[0])
        return x;
    return x + (uint32_t)m->map_disp[last_le(m->map_old, m->map_n, x)];
}

int ota_delta_predict(const struct dm_pred *m, const uint8_t o[4], uint32_t q, uint32_t p,
                      uint8_t out[4])
{
    const uint8_t flags = m->flags;
    uint32_t hw1 = (uint32_t)o[0] | ((uint32_t)o[1] << 8);
    uint32_t hw2 = (uint32_t)o[2] | ((uint32_t)o[3] << 8);
    if ((flags & OTA_DELTA_PRED_THUMB_BL) && !(q & 1u) && !(p & 1u) &&
        (hw1 & 0xF800u) == 0xF000u && (hw2 & 0xB800u) == 0xB800u) {
        uint32_t v = ((hw1 & 0x7FFu) << 11) | (hw2 & 0x7FFu);
        uint32_t off = (v & 0x200000u) ? (v | 0xFFC00000u) : v; /* sign-extend 22 */
        uint32_t t = q + 4u + (off << 1);
        uint32_t nt = map_lookup(m, t);
        uint32_t nv = ((nt - p - 4u) >> 1) & 0x3FFFFFu;
        uint32_t n1 = (hw1 & 0xF800u) | (nv >> 11);
        uint32_t n2 = (hw2 & 0xF800u) | (nv & 0x7FFu);
        out[0] = (uint8_t)n1;
        out[1] = (uint8_t)(n1 >> 8);
        out[2] = (uint8_t)n2;
        out[3] = (uint8_t)(n2 >> 8);
        return 1;
    }
    if ((flags & OTA_DELTA_PRED_ARM_BL) && !(q & 3u) && !(p & 3u) && o[3] == 0xEBu) {
        uint32_t v = (uint32_t)o[0] | ((uint32_t)o[1] << 8) | ((uint32_t)o[2] << 16);
        uint32_t off = (v & 0x800000u) ? (v | 0xFF000000u) : v;
        uint32_t t = q + 8u + (off << 2);
        uint32_t nt = map_lookup(m, t);
        uint32_t nv = ((nt - p - 8u) >> 2) & 0xFFFFFFu;
        out[0] = (uint8_t)nv;
        out[1] = (uint8_t)(nv >> 8);
        out[2] = (uint8_t)(nv >> 16);
        out[3] = 0xEBu;
        return 1;
    }
    if ((flags & (OTA_DELTA_PRED_PTR | OTA_DELTA_PRED_VALUE)) && !(q & 3u) && !(p & 3u)) {
        uint32_t w = (uint32_t)o[0] | ((uint32_t)o[1] << 8) | ((uint32_t)o[2] << 16) |
                     ((uint32_t)o[3] << 24);
        if ((flags & OTA_DELTA_PRED_PTR) && w - m->ptr_base < m->old_len) {
            ota_le_put32(out, map_lookup(m, w - m->ptr_base) + m->ptr_base);
            return 1;
        }
        if ((flags & OTA_DELTA_PRED_VALUE) && m->vmap_n && w >= m->vmap_start[0] &&
            w < m->vmap_end) {
            ota_le_put32(out, w + (uint32_t)m->vmap_disp[last_le(m->vmap_start, m->vmap_n, w)]);
            return 1;
        }
    }
    return 0;
}

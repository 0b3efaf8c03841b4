// SPDX-License-Identifier: Apache-2.0
/*
 * delta_pred.c - host side of the executable-aware predictors: builds the
 * old-to-new address map a patch carries (from the difference runs the
 * matcher found; keyed by load address when both images are ELF files,
 * delta_elf.c) and finds the address the image is linked at (for pointer
 * prediction) by trying candidate bases against the words that changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta_host.h"
#include "delta_internal.h"
#include "le.h"

#define MAP_MIN_RUN 64u /* shorter runs do not say much about where code went */

struct seg {
    uint32_t old, len;
    int32_t disp;
};

static int by_len_desc(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

static int by_old(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->old < y->old ? -1 : x->old > y->old ? 1 : 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* An aligned word that changed inside a difference run. */
struct chg {
    uint32_t ow, nw;
};

/* How many changed words pointer prediction with base b gets exactly. */
static uint32_t score_base(const struct chg *ch, size_t n, uint32_t old_len,
                           const struct dpred *pr, uint32_t b)
{
    uint32_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = ch[i].ow - b;
        if (x >= old_len || x < pr->old[0] || !pr->n)
            continue;
        uint32_t lo = 0, hi = pr->n;
        while (hi - lo > 1u) {
            uint32_t mid = lo + (hi - lo) / 2u;
            if (pr->old[mid] <= x)
                lo = mid;
            else
                hi = mid;
        }
        hits += ch[i].ow + (uint32_t)pr->disp[lo] == ch[i].nw;
    }
    return hits;
}

/* An aligned word of old and the word at the same place in new. */
struct wpair {
    uint32_t ow;
    int32_t disp;
};

static int by_ow(const void *a, const void *b)
{
    const struct wpair *x = a, *y = b;
    if (x->ow != y->ow)
        return x->ow < y->ow ? -1 : 1;
    return x->disp < y->disp ? -1 : x->disp > y->disp;
}

#define VMAP_MIN_CHANGED 16u

/*
 * The value map: words outside the image whose values moved consistently
 * (typically pointers into RAM when variables were added). Take the 64 KiB
 * page of values with most changed words (outside the image and above
 * 0xFFFF), extend it over neighbouring pages that also have changed words,
 * then cut that value range into segments of constant displacement (new word
 * - old word, majority per value), dropping one-value exceptions.
 */
static void build_vmap(const uint8_t *old, uint32_t old_len, const uint8_t *nw,
                       const struct dctl_list *ctl, struct dpred *pr, int have_base)
{
    pr->vn = 0;
    size_t n = 0, cap = 0;
    for (size_t c = 0; c < ctl->n; c++)
        cap += ctl->v[c].diff_len / 4u + 1u;
    struct wpair *w = malloc((cap ? cap : 1u) * sizeof(*w));
    if (!w)
        return;
    /* Pass 1: only the words that changed, to find the value pages. */
    for (int pass = 0; pass < 2; pass++) {
        static const uint32_t none = 0xFFFFFFFFu;
        uint32_t lo_page = none, hi_page = none;
        if (pass == 1) {
            /* busiest page among the changed words, grown over busy neighbours */
            uint32_t best_page = 0, best_cnt = 0;
            for (size_t i = 0; i < n;) {
                size_t j = i;
                while (j < n && (w[j].ow >> 16) == (w[i].ow >> 16))
                    j++;
                if (j - i > best_cnt) {
                    best_cnt = (uint32_t)(j - i);
                    best_page = w[i].ow >> 16;
                }
                i = j;
            }
            if (best_cnt < VMAP_MIN_CHANGED) {
                free(w);
                return;
            }
            lo_page = hi_page = best_page;
            for (size_t i = 0; i < n; i++)
                if ((w[i].ow >> 16) == hi_page + 1u)
                    hi_page++;
            for (size_t i = n; i-- > 0;)
                if ((w[i].ow >> 16) + 1u == lo_page)
                    lo_page--;
            n = 0;
        }
        uint32_t np = 0;
        for (size_t c = 0; c < ctl->n; c++) {
            uint32_t op = ctl->v[c].old_start;
            for (uint32_t i = 0; i + 4u <= ctl->v[c].diff_len; i++) {
                uint32_t q = op + i, p = np + i;
                if ((q & 3u) || (p & 3u))
                    continue;
                uint32_t ow = ota_le_get32(old + q);
                if (ow <= 0xFFFFu || (have_base && ow - pr->ptr_base < old_len))
                    continue;
                uint32_t nv = ota_le_get32(nw + p);
                if (pass == 0 ? nv == ow : ((ow >> 16) < lo_page || (ow >> 16) > hi_page))
                    continue;
                w[n].ow = ow;
                w[n].disp = (int32_t)(nv - ow);
                n++;
            }
            np += ctl->v[c].diff_len + ctl->v[c].extra_len;
        }
        qsort(w, n, sizeof(*w), by_ow);
    }
    /* majority displacement per distinct value in range, then segments */
    uint32_t vstart[OTA_DELTA_VMAP_MAX];
    int32_t vdisp[OTA_DELTA_VMAP_MAX];
    uint32_t vn = 0, first = 0, last = 0;
    int have_first = 0;
    int32_t cur = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && w[j].ow == w[i].ow)
            j++;
        {
            int32_t maj = w[i].disp;
            size_t best_run = 0;
            for (size_t k = i; k < j;) {
                size_t m = k;
                while (m < j && w[m].disp == w[k].disp)
                    m++;
                if (m - k > best_run) {
                    best_run = m - k;
                    maj = w[k].disp;
                }
                k = m;
            }
            /* one-value exceptions are noise, not a new segment */
            int lone = j - i == 1 && (j >= n || w[j].disp != maj) &&
                       (i == 0 || w[i - 1].disp != maj);
            if (!have_first) {
                first = w[i].ow;
                have_first = 1;
                cur = maj;
                vstart[0] = w[i].ow;
                vdisp[0] = maj;
                vn = 1;
            } else if (maj != cur && !lone) {
                if (vn == OTA_DELTA_VMAP_MAX)
                    break;
                vstart[vn] = w[i].ow;
                vdisp[vn] = maj;
                vn++;
                cur = maj;
            }
            last = w[i].ow;
        }
        i = j;
    }
    free(w);
    (void)first;
    if (!vn || last == 0xFFFFFFFFu)
        return;
    memcpy(pr->vstart, vstart, vn * sizeof(vstart[0]));
    memcpy(pr->vdisp, vdisp, vn * sizeof(vdisp[0]));
    pr->vn = vn;
    pr->vend = last + 1u;
}

struct dm_pred dpred_view(const struct dpred *pr, uint8_t flags, uint32_t vn, uint32_t old_len,
                          struct dm_a64 *a64)
{
    return (struct dm_pred){.map_old = pr->old,
                            .map_disp = pr->disp,
                            .map_n = pr->n,
                            .vmap_start = pr->vstart,
                            .vmap_disp = pr->vdisp,
                            .vmap_n = vn,
                            .vmap_end = pr->vend,
                            .flags = flags,
                            .ptr_base = pr->ptr_base,
                            .old_len = old_len,
                            .a64 = a64,
                            .opts = pr->opts,
                            .code_start = pr->code_start,
                            .code_end = pr->code_end,
                            .code_n = pr->code_n};
}

/* Bytes a predictor alone would turn from changed into predicted-right,
 * minus the bytes it would get wrong that were unchanged. */
static long net_gain(const uint8_t *old, uint32_t old_len, const uint8_t *nw,
                     const struct dctl_list *ctl, const struct dpred *pr, uint8_t flag)
{
    struct dm_a64 a64 = {0, 0, 0, 0};
    struct dm_pred m = dpred_view(pr, flag, pr->vn, old_len, &a64);
    long gain = 0;
    uint32_t np = 0;
    for (size_t c = 0; c < ctl->n; c++) {
        uint32_t op = ctl->v[c].old_start, len = ctl->v[c].diff_len;
        for (uint32_t i = 0; i + 4u <= len;) {
            uint8_t out[4], cx[3];
            dpred_ctx(old, op + i, cx);
            dpred_ahead(&m, old, old_len, op + i);
            if (ota_delta_predict(&m, old + op + i, cx, op + i, np + i, out)) {
                for (unsigned k = 0; k < 4; k++)
                    gain += (old[op + i + k] != nw[np + i + k]) - (out[k] != nw[np + i + k]);
                i += 4;
            } else {
                i++;
            }
        }
        np += len + ctl->v[c].extra_len;
    }
    return gain;
}

uint8_t dpred_useful(const uint8_t *old, uint32_t old_len, const uint8_t *nw,
                     const struct dctl_list *ctl, const struct dpred *pr, int have_ptr_base)
{
    uint8_t f = 0;
    static const uint8_t kinds[] = {OTA_DELTA_PRED_THUMB_BL, OTA_DELTA_PRED_ARM_BL,
                                    OTA_DELTA_PRED_PTR,     OTA_DELTA_PRED_VALUE,
                                    OTA_DELTA_PRED_X86_BR,  OTA_DELTA_PRED_X86_RIP,
                                    OTA_DELTA_PRED_A64_BR,  OTA_DELTA_PRED_A64_ADRP};
    /* an ELF pair says its machine: only its branch predictors */
    static const struct {
        uint16_t machine;
        uint8_t kinds;
    } arch[] = {
        {3, OTA_DELTA_PRED_X86_BR},
        {62, OTA_DELTA_PRED_X86_BR | OTA_DELTA_PRED_X86_RIP},
        {40, OTA_DELTA_PRED_THUMB_BL | OTA_DELTA_PRED_ARM_BL},
        {183, OTA_DELTA_PRED_A64_BR | OTA_DELTA_PRED_A64_ADRP},
    };
    uint8_t allowed = 0xFF;
    for (unsigned a = 0; a < sizeof(arch) / sizeof(arch[0]); a++)
        if (pr->elf_machine == arch[a].machine)
            allowed = (uint8_t)(arch[a].kinds | OTA_DELTA_PRED_PTR | OTA_DELTA_PRED_VALUE);
    int debug = getenv("OTA_DELTA_DEBUG") != NULL;
    for (unsigned i = 0; i < sizeof(kinds); i++) {
        if (kinds[i] == OTA_DELTA_PRED_PTR && !have_ptr_base)
            continue;
        if (kinds[i] == OTA_DELTA_PRED_VALUE && !pr->vn)
            continue;
        if (!(kinds[i] & allowed))
            continue;
        /* one architecture per image: when a 32-bit ARM branch predictor
         * pays, the x86 and AArch64 ones are not even tried (saves passes) */
        if ((kinds[i] & (OTA_DELTA_PRED_X86_BR | OTA_DELTA_PRED_X86_RIP |
                         OTA_DELTA_PRED_A64_BR | OTA_DELTA_PRED_A64_ADRP)) &&
            (f & (OTA_DELTA_PRED_THUMB_BL | OTA_DELTA_PRED_ARM_BL)))
            continue;
        long g = net_gain(old, old_len, nw, ctl, pr, kinds[i]);
        if (debug)
            fprintf(stderr, "predictor 0x%02x: net gain %ld bytes\n", kinds[i], g);
        if (g > 0)
            f |= kinds[i];
    }
    return f;
}

void dpred_build(const uint8_t *old, uint32_t old_len, const uint8_t *nw,
                 const struct dctl_list *ctl, struct dpred *pr, int *have_ptr_base)
{
    memset(pr, 0, sizeof(*pr));
    *have_ptr_base = 0;
    uint32_t np = 0;
    for (size_t c = 0; c < ctl->n; c++)
        np += ctl->v[c].diff_len + ctl->v[c].extra_len;
    /* ELF on both sides: key the map by load address (what branches and
     * pointers hold), each run cut at the end of its old segment */
    struct delf eo, en;
    int elf = delf_parse(old, old_len, &eo) && delf_parse(nw, np, &en) &&
              eo.machine == en.machine;
    if (elf) {
        pr->elf_machine = eo.machine;
        pr->code_n = (uint32_t)delf_code(old, old_len, pr->code_start, pr->code_end);
    }
    size_t scap = ctl->n + 2u * DELF_MAX_SEG;
    struct seg *s = malloc(scap * sizeof(*s));
    if (!s)
        return;
    size_t n = 0;
    np = 0;
    for (size_t c = 0; c < ctl->n; c++) {
        uint32_t o = ctl->v[c].old_start, len = ctl->v[c].diff_len, p = np;
        np += ctl->v[c].diff_len + ctl->v[c].extra_len;
        while (len >= MAP_MIN_RUN && n < scap) {
            uint32_t piece = len, ko = o, kn = p, end;
            if (elf) {
                if (!delf_addr(&eo, o, &ko, &end)) {
                    /* not loaded (headers of sections, debug link): only
                     * the loaded part of the run says where code went */
                    uint32_t next = 0xFFFFFFFFu;
                    for (unsigned i = 0; i < eo.nseg; i++)
                        if (eo.seg[i].off > o && eo.seg[i].off < next)
                            next = eo.seg[i].off;
                    if (next - o >= len)
                        break;
                    p += next - o, len -= next - o, o = next;
                    continue;
                }
                if (end - o < piece)
                    piece = end - o;
                if (!delf_addr(&en, p, &kn, &end))
                    kn = p;
                if (ko >= old_len)
                    break; /* the applier's map holds keys below old_len */
            }
            if (piece >= MAP_MIN_RUN) {
                s[n].old = ko;
                s[n].len = piece;
                s[n].disp = (int32_t)((int64_t)kn - ko);
                n++;
            }
            o += piece, p += piece, len -= piece;
        }
    }
    qsort(s, n, sizeof(*s), by_len_desc);
    if (n > OTA_DELTA_MAP_MAX)
        n = OTA_DELTA_MAP_MAX;
    qsort(s, n, sizeof(*s), by_old);
    for (size_t i = 0; i < n; i++) {
        if (pr->n && pr->old[pr->n - 1] == s[i].old)
            continue; /* same start: keep the first (either is a guess) */
        if (pr->n && pr->disp[pr->n - 1] == s[i].disp)
            continue; /* same displacement continues */
        if (!pr->n && s[i].disp == 0)
            continue; /* before the first entry nothing moves anyway */
        pr->old[pr->n] = s[i].old;
        pr->disp[pr->n] = s[i].disp;
        pr->n++;
    }
    free(s);

    /* Pointer base: candidates below the most common 16 KiB pages of changed
     * words, at 4 KiB steps; keep the one predicting most changed words. */
    uint32_t pages[4] = {0}, counts[4] = {0};
    size_t nch = 0, cap = 4096;
    struct chg *ch = malloc(cap * sizeof(*ch));
    if (!ch)
        return;
    np = 0;
    for (size_t c = 0; c < ctl->n && nch < cap; c++) {
        uint32_t op = ctl->v[c].old_start;
        for (uint32_t i = 0; i + 4u <= ctl->v[c].diff_len && nch < cap; i++) {
            uint32_t q = op + i, p = np + i;
            if ((q & 3u) || (p & 3u) || !memcmp(old + q, nw + p, 4))
                continue;
            ch[nch].ow = ota_le_get32(old + q);
            ch[nch].nw = ota_le_get32(nw + p);
            nch++;
        }
        np += ctl->v[c].diff_len + ctl->v[c].extra_len;
    }
    /* The 4 most common 16 KiB pages among the changed old words. */
    uint32_t *pg = malloc((nch ? nch : 1u) * sizeof(*pg));
    if (!pg) {
        free(ch);
        return;
    }
    for (size_t i = 0; i < nch; i++)
        pg[i] = ch[i].ow & ~0x3FFFu;
    qsort(pg, nch, sizeof(*pg), cmp_u32);
    for (size_t i = 0; i < nch;) {
        size_t j = i;
        while (j < nch && pg[j] == pg[i])
            j++;
        uint32_t cnt = (uint32_t)(j - i);
        for (unsigned k = 0; k < 4; k++) {
            if (cnt > counts[k]) {
                for (unsigned m = 3; m > k; m--) {
                    counts[m] = counts[m - 1];
                    pages[m] = pages[m - 1];
                }
                counts[k] = cnt;
                pages[k] = pg[i];
                break;
            }
        }
        i = j;
    }
    free(pg);
    uint32_t best = 0, best_b = 0;
    for (unsigned k = 0; k < 4 && counts[k]; k++) {
        for (uint32_t back = 0; back <= old_len + 0x3FFFu && back <= pages[k]; back += 0x1000u) {
            uint32_t b = pages[k] - back;
            uint32_t sc = score_base(ch, nch, old_len, pr, b);
            if (sc > best) {
                best = sc;
                best_b = b;
            }
        }
    }
    free(ch);
    if (best >= 8u) {
        pr->ptr_base = best_b;
        *have_ptr_base = 1;
    }
    build_vmap(old, old_len, nw, ctl, pr, *have_ptr_base);
}

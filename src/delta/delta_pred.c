/*
 * delta_pred.c - host side of the executable-aware predictors: builds the
 * old-to-new address map a patch carries (from the difference runs the
 * matcher found) and finds the address the image is linked at (for pointer
 * prediction) by trying candidate bases against the words that changed.
 */
#include <stdlib.h>
#include <string.h>

#include "delta_host.h"
#include "../core/delta_internal.h"

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

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
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

void dpred_build(const uint8_t *old, uint32_t old_len, const uint8_t *nw,
                 const struct dctl_list *ctl, struct dpred *pr, int *have_ptr_base)
{
    memset(pr, 0, sizeof(*pr));
    *have_ptr_base = 0;
    struct seg *s = malloc((ctl->n ? ctl->n : 1u) * sizeof(*s));
    if (!s)
        return;
    size_t n = 0;
    uint32_t np = 0;
    for (size_t c = 0; c < ctl->n; c++) {
        if (ctl->v[c].diff_len >= MAP_MIN_RUN) {
            s[n].old = ctl->v[c].old_start;
            s[n].len = ctl->v[c].diff_len;
            s[n].disp = (int32_t)((int64_t)np - ctl->v[c].old_start);
            n++;
        }
        np += ctl->v[c].diff_len + ctl->v[c].extra_len;
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
            ch[nch].ow = rd32(old + q);
            ch[nch].nw = rd32(nw + p);
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
}

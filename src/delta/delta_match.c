/*
 * delta_match.c - bsdiff-style approximate matching: a suffix array of the
 * old image (libdivsufsort), then a forward scan of the new image that keeps
 * the current alignment while it still matches well and jumps to the longest
 * exact match when that is clearly better; each jump closes one command
 * (seek, diff run, literal run). Same algorithm as Colin Percival's bsdiff
 * 4.3, rewritten over divsufsort's array.
 */
#include <stdlib.h>
#include <string.h>

#include <divsufsort.h>

#include "delta_host.h"

static uint32_t matchlen(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
    uint32_t n = alen < blen ? alen : blen;
    uint32_t i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* Longest match of nw[0..nlen) among old's suffixes SA[st..en]. */
static uint32_t search(const saidx_t *sa, const uint8_t *old, uint32_t old_len,
                       const uint8_t *nw, uint32_t nlen, uint32_t st, uint32_t en,
                       uint32_t *pos)
{
    while (en - st >= 2) {
        uint32_t x = st + (en - st) / 2;
        uint32_t o = (uint32_t)sa[x];
        uint32_t n = old_len - o < nlen ? old_len - o : nlen;
        if (memcmp(old + o, nw, n) < 0)
            st = x;
        else
            en = x;
    }
    uint32_t a = (uint32_t)sa[st], b = (uint32_t)sa[en];
    uint32_t x = matchlen(old + a, old_len - a, nw, nlen);
    uint32_t y = matchlen(old + b, old_len - b, nw, nlen);
    if (x > y) {
        *pos = a;
        return x;
    }
    *pos = b;
    return y;
}

static ota_err push(struct dctl_list *l, int64_t seek, uint32_t dl, uint32_t el)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2u : 256u;
        struct dctl *nv = realloc(l->v, nc * sizeof(*nv));
        if (!nv)
            return OTA_ERR_NO_MEMORY;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n].diff_len = dl;
    l->v[l->n].extra_len = el;
    l->v[l->n].seek = (int32_t)seek;
    l->n++;
    return OTA_OK;
}

ota_err dmatch_run(const uint8_t *old, uint32_t old_len, const uint8_t *nw,
                   uint32_t new_len, struct dctl_list *out)
{
    if (new_len == 0)
        return OTA_OK;
    if (old_len == 0)
        return push(out, 0, 0, new_len);

    saidx_t *sa = malloc((size_t)old_len * sizeof(*sa));
    if (!sa)
        return OTA_ERR_NO_MEMORY;
    if (divsufsort(old, sa, (saidx_t)old_len) != 0) {
        free(sa);
        return OTA_ERR_INTERNAL;
    }

    ota_err err = OTA_OK;
    int64_t pending = 0; /* seek before the next command */
    int64_t scan = 0, len = 0, lastscan = 0, lastpos = 0, lastoffset = 0;
    uint32_t pos = 0;
    const int64_t olen = old_len, nlen = new_len;
    while (scan < nlen) {
        int64_t oldscore = 0, scsc;
        for (scsc = scan += len; scan < nlen; scan++) {
            len = search(sa, old, old_len, nw + scan, (uint32_t)(nlen - scan), 0,
                         old_len - 1u, &pos);
            for (; scsc < scan + len; scsc++)
                if (scsc + lastoffset < olen && scsc + lastoffset >= 0 &&
                    old[scsc + lastoffset] == nw[scsc])
                    oldscore++;
            if ((len == oldscore && len != 0) || len > oldscore + 8)
                break;
            if (scan + lastoffset < olen && scan + lastoffset >= 0 &&
                old[scan + lastoffset] == nw[scan])
                oldscore--;
        }
        if (len != oldscore || scan == nlen) {
            int64_t s = 0, sf = 0, lenf = 0, i;
            for (i = 0; lastscan + i < scan && lastpos + i < olen;) {
                if (old[lastpos + i] == nw[lastscan + i])
                    s++;
                i++;
                if (s * 2 - i > sf * 2 - lenf) {
                    sf = s;
                    lenf = i;
                }
            }
            int64_t lenb = 0;
            if (scan < nlen) {
                int64_t sb = 0;
                s = 0;
                for (i = 1; scan >= lastscan + i && (int64_t)pos >= i; i++) {
                    if (old[pos - i] == nw[scan - i])
                        s++;
                    if (s * 2 - i > sb * 2 - lenb) {
                        sb = s;
                        lenb = i;
                    }
                }
            }
            if (lastscan + lenf > scan - lenb) {
                int64_t overlap = (lastscan + lenf) - (scan - lenb);
                int64_t ss = 0, lens = 0;
                s = 0;
                for (i = 0; i < overlap; i++) {
                    if (nw[lastscan + lenf - overlap + i] == old[lastpos + lenf - overlap + i])
                        s++;
                    if (nw[scan - lenb + i] == old[pos - lenb + i])
                        s--;
                    if (s > ss) {
                        ss = s;
                        lens = i + 1;
                    }
                }
                lenf += lens - overlap;
                lenb -= lens;
            }
            int64_t extra = (scan - lenb) - (lastscan + lenf);
            int64_t seek = ((int64_t)pos - lenb) - (lastpos + lenf);
            if (lenf + extra > 0) {
                err = push(out, pending, (uint32_t)lenf, (uint32_t)extra);
                if (err)
                    break;
                pending = seek;
            } else {
                pending += seek;
            }
            lastscan = scan - lenb;
            lastpos = (int64_t)pos - lenb;
            lastoffset = (int64_t)pos - scan;
        }
    }
    free(sa);
    return err;
}

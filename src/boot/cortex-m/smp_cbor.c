// SPDX-License-Identifier: Apache-2.0
/*
 * smp_cbor.c - the MCU's CBOR subset for SMP (smp_cbor.h says why it is
 * hand-written): a bounded, non-recursive-beyond-SMP_CBOR_DEPTH decoder of
 * one request map and a fixed-buffer encoder with minimal-length heads.
 */
#include "smp_cbor.h"

#include <string.h>

struct rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

/* Initial byte + argument. *indef: additional info 31 (only for strings,
 * arrays, maps and the break of major 7). */
static int head(struct rd *r, uint8_t *major, uint64_t *val, int *indef, uint8_t *ib_out)
{
    uint8_t ib, ai;
    size_t n, i;

    if (r->pos >= r->len)
        return SMP_CBOR_TRUNCATED;
    ib = r->p[r->pos++];
    *major = (uint8_t)(ib >> 5);
    ai = (uint8_t)(ib & 31u);
    *indef = 0;
    *val = 0;
    if (ib_out)
        *ib_out = ib;
    if (ai < 24) {
        *val = ai;
        return SMP_CBOR_OK;
    }
    if (ai == 31) {
        if (*major == 0 || *major == 1 || *major == 6)
            return SMP_CBOR_MALFORMED;
        *indef = 1;
        return SMP_CBOR_OK;
    }
    if (ai > 27)
        return SMP_CBOR_MALFORMED;
    n = (size_t)1 << (ai - 24);
    if (r->len - r->pos < n)
        return SMP_CBOR_TRUNCATED;
    for (i = 0; i < n; i++)
        *val = (*val << 8) | r->p[r->pos++];
    return SMP_CBOR_OK;
}

static int take(struct rd *r, uint64_t n)
{
    if (n > (uint64_t)(r->len - r->pos))
        return SMP_CBOR_TRUNCATED;
    r->pos += (size_t)n;
    return SMP_CBOR_OK;
}

static int at_break(struct rd *r, int *brk)
{
    if (r->pos >= r->len)
        return SMP_CBOR_TRUNCATED;
    *brk = r->p[r->pos] == 0xffu;
    if (*brk)
        r->pos++;
    return SMP_CBOR_OK;
}

static int skip(struct rd *r, int depth)
{
    uint8_t major, cmajor;
    uint64_t val, cval, i;
    int indef, cindef, brk, e;

    if (depth > SMP_CBOR_DEPTH)
        return SMP_CBOR_MALFORMED;
    e = head(r, &major, &val, &indef, NULL);
    if (e)
        return e;
    switch (major) {
    case 0:
    case 1:
        return SMP_CBOR_OK;
    case 2:
    case 3:
        if (!indef)
            return take(r, val);
        for (;;) { /* definite chunks of the same major type, then break */
            if ((e = at_break(r, &brk)) != 0)
                return e;
            if (brk)
                return SMP_CBOR_OK;
            if ((e = head(r, &cmajor, &cval, &cindef, NULL)) != 0)
                return e;
            if (cmajor != major || cindef)
                return SMP_CBOR_MALFORMED;
            if ((e = take(r, cval)) != 0)
                return e;
        }
    case 4:
    case 5:
        if (indef) {
            for (;;) {
                if ((e = at_break(r, &brk)) != 0)
                    return e;
                if (brk)
                    return SMP_CBOR_OK;
                if ((e = skip(r, depth + 1)) != 0)
                    return e;
                if (major == 5 && (e = skip(r, depth + 1)) != 0)
                    return e;
            }
        }
        /* every item takes at least one byte: a huge count ends in TRUNCATED */
        for (i = 0; i < val; i++) {
            if ((e = skip(r, depth + 1)) != 0)
                return e;
            if (major == 5 && (e = skip(r, depth + 1)) != 0)
                return e;
        }
        return SMP_CBOR_OK;
    case 6:
        return skip(r, depth + 1);
    default: /* 7: simple values and floats, consumed by head(); a stray break is not */
        return indef ? SMP_CBOR_MALFORMED : SMP_CBOR_OK;
    }
}

static int value(struct rd *r, struct smp_cbor_field *f)
{
    uint8_t major, ib;
    uint64_t val;
    int indef, e;
    size_t start = r->pos;

    e = head(r, &major, &val, &indef, &ib);
    if (e)
        return e;
    switch (f->type) {
    case SMP_CBOR_UINT:
        if (major != 0)
            return SMP_CBOR_BAD_TYPE;
        f->u = val;
        break;
    case SMP_CBOR_BSTR:
    case SMP_CBOR_TSTR:
        if (major != (f->type == SMP_CBOR_BSTR ? 2 : 3) || indef)
            return SMP_CBOR_BAD_TYPE;
        f->s = r->p + r->pos;
        f->slen = (size_t)val;
        if ((e = take(r, val)) != 0)
            return e;
        break;
    case SMP_CBOR_BOOL:
        if (ib != 0xf4u && ib != 0xf5u)
            return SMP_CBOR_BAD_TYPE;
        f->u = ib == 0xf5u;
        break;
    default:
        r->pos = start;
        return skip(r, 1);
    }
    f->present = 1;
    return SMP_CBOR_OK;
}

int smp_cbor_decode_map(const uint8_t *buf, size_t len, struct smp_cbor_field *fields,
                        size_t n, const char **bad_key)
{
    struct rd r = {buf, len, 0};
    uint8_t major;
    uint64_t count, i;
    int indef, brk, e;
    size_t k;

    *bad_key = NULL;
    for (k = 0; k < n; k++)
        fields[k].present = 0;
    if (len == 0)
        return SMP_CBOR_OK;
    e = head(&r, &major, &count, &indef, NULL);
    if (e)
        return e;
    if (major != 5)
        return SMP_CBOR_NOT_MAP;
    for (i = 0; indef || i < count; i++) {
        uint8_t kmajor;
        uint64_t klen;
        int kindef;
        const uint8_t *key;
        struct smp_cbor_field *f = NULL;

        if (indef) {
            if ((e = at_break(&r, &brk)) != 0)
                return e;
            if (brk)
                break;
        }
        if ((e = head(&r, &kmajor, &klen, &kindef, NULL)) != 0)
            return e;
        if (kmajor != 3 || kindef)
            return SMP_CBOR_BAD_KEY;
        key = r.p + r.pos;
        if ((e = take(&r, klen)) != 0)
            return e;
        for (k = 0; k < n; k++)
            if (strlen(fields[k].key) == klen && memcmp(fields[k].key, key, (size_t)klen) == 0) {
                f = &fields[k];
                break;
            }
        if (!f) {
            if ((e = skip(&r, 1)) != 0)
                return e;
            continue;
        }
        if (f->present) {
            *bad_key = f->key;
            return SMP_CBOR_DUPLICATE;
        }
        if ((e = value(&r, f)) != 0) {
            *bad_key = f->key;
            return e;
        }
    }
    return r.pos == r.len ? SMP_CBOR_OK : SMP_CBOR_TRAILING;
}

void smp_cbor_wr_init(struct smp_cbor_wr *w, uint8_t *buf, size_t cap)
{
    w->p = buf;
    w->cap = cap;
    w->pos = 0;
    w->overflow = 0;
}

static void put_bytes(struct smp_cbor_wr *w, const void *s, size_t n)
{
    if (w->overflow || w->cap - w->pos < n) {
        w->overflow = 1;
        return;
    }
    if (n)
        memcpy(w->p + w->pos, s, n);
    w->pos += n;
}

static void put_head(struct smp_cbor_wr *w, uint8_t major, uint64_t v)
{
    uint8_t b[9];
    size_t n, i;

    if (v < 24) {
        b[0] = (uint8_t)((major << 5) | v);
        put_bytes(w, b, 1);
        return;
    }
    if (v <= 0xffu)
        n = 1;
    else if (v <= 0xffffu)
        n = 2;
    else if (v <= 0xffffffffu)
        n = 4;
    else
        n = 8;
    b[0] = (uint8_t)((major << 5) | (n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
    for (i = 0; i < n; i++)
        b[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    put_bytes(w, b, 1 + n);
}

void smp_cbor_put_map(struct smp_cbor_wr *w, uint32_t n_pairs) { put_head(w, 5, n_pairs); }
void smp_cbor_put_array(struct smp_cbor_wr *w, uint32_t n) { put_head(w, 4, n); }
void smp_cbor_put_uint(struct smp_cbor_wr *w, uint64_t v) { put_head(w, 0, v); }

void smp_cbor_put_int(struct smp_cbor_wr *w, int64_t v)
{
    if (v >= 0)
        put_head(w, 0, (uint64_t)v);
    else
        put_head(w, 1, (uint64_t)(-(v + 1)));
}

void smp_cbor_put_bool(struct smp_cbor_wr *w, int v)
{
    uint8_t b = v ? 0xf5u : 0xf4u;
    put_bytes(w, &b, 1);
}

void smp_cbor_put_tstrn(struct smp_cbor_wr *w, const char *s, size_t n)
{
    put_head(w, 3, n);
    put_bytes(w, s, n);
}

void smp_cbor_put_tstr(struct smp_cbor_wr *w, const char *s) { smp_cbor_put_tstrn(w, s, strlen(s)); }

void smp_cbor_put_bstr(struct smp_cbor_wr *w, const uint8_t *s, size_t n)
{
    put_head(w, 2, n);
    put_bytes(w, s, n);
}

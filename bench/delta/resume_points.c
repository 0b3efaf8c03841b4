// SPDX-License-Identifier: Apache-2.0
/*
 * bench/delta/resume_points.c - how often a delta install can keep a resume
 * state (docs/delta-format.md#resuming-an-interrupted-apply-linux): applies
 * PATCH to OLD with the core applier and the zlib deflate port, feeding the
 * patch in CHUNK-byte writes (4096: ota-agent's staging block), and tries
 * ota_delta_apply_suspend() where a caller could: after every write (mode
 * "feed"), or also at every point ota_delta_apply_feed_part() stops at inside
 * a write (mode "cuts", what the update engine does while a checkpoint is
 * wanted). Prints the points where a snapshot was possible and the largest
 * gap between two of them (from the start, to the end) in patch bytes and in
 * new-image bytes: what a power cut costs at worst. The result hash is
 * checked (finish), so the figures come from a correct apply.
 * Usage: bench_delta_resume OLD PATCH [CHUNK [feed|cuts]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/deflate.h"
#include "ota/delta.h"
#include "ota/host.h"

static size_t written;
static struct ota_delta_apply st, snap;

static ota_err sink(void *ctx, uint32_t off, const void *data, size_t len)
{
    (void)ctx;
    (void)data;
    if (off != written)
        return OTA_ERR_INTERNAL;
    written += len;
    return OTA_OK;
}

struct gaps {
    unsigned long points, tries;
    uint32_t last_in, last_out; /* patch / new-image bytes at the last point */
    uint32_t max_in, max_out;   /* largest gaps */
    uint32_t out_at, out_in;    /* where the largest new-image gap starts (new, patch) */
};

static void gap_to(struct gaps *g, uint32_t in, uint32_t out)
{
    if (in - g->last_in > g->max_in)
        g->max_in = in - g->last_in;
    if (out - g->last_out > g->max_out) {
        g->max_out = out - g->last_out;
        g->out_at = g->last_out;
        g->out_in = g->last_in;
    }
    g->last_in = in;
    g->last_out = out;
}

static void try_point(struct gaps *g)
{
    g->tries++;
    if (ota_delta_apply_suspend(&st, &snap) != OTA_OK)
        return;
    g->points++;
    gap_to(g, st.in_total, st.real_written);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s OLD PATCH [CHUNK [feed|cuts]]\n", argv[0]);
        return 2;
    }
    size_t chunk = argc > 3 ? strtoul(argv[3], NULL, 10) : 4096u;
    int cuts = argc > 4 && strcmp(argv[4], "cuts") == 0;
    if (!chunk || (argc > 4 && !cuts && strcmp(argv[4], "feed") != 0)) {
        fprintf(stderr, "%s: CHUNK must be > 0, mode feed or cuts\n", argv[0]);
        return 2;
    }
    struct ota_file_map old, patch;
    if (ota_file_map(argv[1], &old) != OTA_OK || ota_file_map(argv[2], &patch) != OTA_OK) {
        fprintf(stderr, "%s: cannot read %s or %s\n", argv[0], argv[1], argv[2]);
        return 1;
    }
    struct ota_deflate_port *z = ota_deflate_zlib_new();
    if (!z)
        return 1;
    struct ota_mem_reader mr;
    struct ota_reader r;
    struct ota_diag diag;
    memset(&diag, 0, sizeof diag);
    ota_reader_from_mem(&r, &mr, old.data, (uint32_t)old.len);
    struct ota_delta_apply_cfg cfg = {ota_crypto_openssl(), &r, sink, NULL, 0, &diag, z};
    struct gaps g;
    memset(&g, 0, sizeof g);
    ota_err e = ota_delta_apply_init(&st, &cfg);
    for (size_t off = 0; e == OTA_OK && off < patch.len;) {
        size_t n = patch.len - off < chunk ? patch.len - off : chunk;
        if (!cuts) {
            e = ota_delta_apply_feed(&st, patch.data + off, n);
            off += n;
            if (e == OTA_OK)
                try_point(&g);
            continue;
        }
        size_t end = off + n;
        while (e == OTA_OK && off < end) {
            size_t used = 0;
            e = ota_delta_apply_feed_part(&st, patch.data + off, end - off, &used);
            off += used;
            if (e == OTA_OK)
                try_point(&g);
        }
    }
    if (e == OTA_OK)
        e = ota_delta_apply_finish(&st);
    if (e != OTA_OK) {
        fprintf(stderr, "%s: apply failed: %s (%s at %u)\n", argv[0], ota_strerror(e),
                diag.field ? diag.field : "", st.in_total);
        return 1;
    }
    const struct ota_delta_header *h = ota_delta_apply_header(&st);
    gap_to(&g, (uint32_t)patch.len, h->new_len);
    printf("patch %zu bytes (version %u), new image %u bytes, %zu-byte writes, mode %s\n",
           patch.len, h->version, h->new_len, chunk, cuts ? "cuts" : "feed");
    printf("suspend tried %lu times, succeeded %lu times\n", g.tries, g.points);
    printf("largest gap between resume points: %u patch bytes, %u new-image bytes "
           "(that one from new-image byte %u, patch byte %u)\n",
           g.max_in, g.max_out, g.out_at, g.out_in);
    /* a new stream is never cut: the largest bounds the gap from below */
    uint32_t big = 0, nnew = st.z_nnew;
    for (uint32_t i = 0; i < nnew; i++)
        if (z->spans[st.z_nold + i].rlen > big)
            big = z->spans[st.z_nold + i].rlen;
    printf("new deflate streams: %u, the largest %u bytes expanded\n", nnew, big);
    ota_deflate_zlib_free(z);
    ota_file_unmap(&old);
    ota_file_unmap(&patch);
    return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_delta_resume_deflate.c - libFuzzer target for resuming the delta
 * applier on version 2 and 3 patches (deflate section: streams inflated,
 * re-compressed by zlib or rebuilt from tokens; docs/delta-format.md
 * "Resuming"). fuzz_delta_resume.c does version 1; here the snapshot comes
 * with the stream table the caller keeps beside it and puts back into a new
 * port (zlib + token codec, as after a restart), and the old-stream inflate
 * cursor restarts on resume.
 *
 * A real patch against the fixed old image of fuzz_delta_deflate_input.h is
 * applied three times: suspended at the first feed boundary at or after a
 * fuzzed byte where suspend is allowed (outside a new deflate stream); once
 * uninterrupted with the same feed boundaries (the reference); and resumed
 * from the snapshot and the kept stream table after both were edited. Traps:
 * a refusal that is not OTA_ERR_INVALID_ARG with a diag field, a write out
 * of order or past the slot (the real image), success with bytes whose
 * SHA-256 is not the patch's result hash, a resumed success whose image
 * differs from the reference's; and without edits: a refused snapshot, or
 * a resumed apply whose result (error, bytes written) differs from the
 * reference's.
 *
 *   bytes 0-1   suspend at or after this many patch bytes (LE, mod length + 1)
 *   byte 2      bits 0-3: feeding pattern (chunk sizes); bit 4: OpenSSL
 *               instead of mbedTLS for SHA-256
 *   byte 3      number of edits (at most FZR_EDITS_MAX)
 *   7 bytes per edit: as fuzz_snap_edit.h, except how bit 5 set: a byte
 *               offset in the kept stream table (mod its size, entries
 *               [0, z_nold + z_nnew)), bits 0-1 the width
 *   then        the whole patch (88-byte header included)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ota/delta.h"
#include "fuzz_delta_deflate_input.h"
#include "fuzz_snap_edit.h"

#define FZR_PREFIX 4u
#define FZR_EDITS_MAX 24u
#define FZR_NEW_MAX 65536u
#define FZR_SPANS 64u /* the stream table kept beside the snapshot */

static uint8_t old_img[FZZ_OLD_MAX];
static uint32_t old_len;
static uint8_t out[FZR_NEW_MAX], ref_out[FZR_NEW_MAX];
static struct ota_delta_apply st, snap;
static struct ota_delta_zspan kept[FZR_SPANS];
static struct ota_deflate_port *port;

/* A new port, as after a restart (the old one's state is gone). */
static struct ota_deflate_port *new_port(void)
{
    ota_deflate_zlib_free(port);
    port = ota_deflate_zlib_new();
    if (!port)
        __builtin_trap();
    return port;
}

static ota_err feed(const uint8_t *p, size_t len, uint32_t chunk)
{
    return fzr_feed(&st, p, len, chunk);
}

/* The rest of the patch from st.in_total on, then finish. */
static ota_err rest(const uint8_t *patch, size_t plen, uint32_t chunk)
{
    ota_err e = OTA_OK;
    if (st.in_total <= plen)
        e = feed(patch + st.in_total, plen - st.in_total, chunk);
    return e == OTA_OK ? ota_delta_apply_finish(&st) : e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!old_len)
        old_len = fzz_image(old_img, 0);
    if (size < FZR_PREFIX)
        return 0;
    size_t nedit = data[3] < FZR_EDITS_MAX ? data[3] : FZR_EDITS_MAX;
    size_t skip = FZR_PREFIX + nedit * FZR_EDIT;
    if (size < skip + OTA_DELTA_HEADER_SIZE || size - skip > 60000)
        return 0;
    const uint8_t *patch = data + skip;
    size_t plen = size - skip;
    struct ota_delta_header h;
    if (ota_delta_header_decode(patch, plen, &h, NULL) != OTA_OK || h.new_len > FZR_NEW_MAX ||
        !OTA_DELTA_HAS_SECTION(h.version))
        return 0;
    const struct ota_crypto *c = (data[2] & 0x10u) ? ota_crypto_openssl() : ota_crypto_mbedtls();
    uint32_t chunk = 1u + (data[2] & 15u) * 53u;
    size_t at = ((size_t)data[0] | ((size_t)data[1] << 8)) % (plen + 1);

    struct ota_mem_reader mr;
    struct ota_reader r;
    ota_reader_from_mem(&r, &mr, old_img, old_len);
    struct fzr_sink s = {0, h.new_len, out};
    struct ota_diag diag;
    struct ota_delta_apply_cfg cfg = {c, &r, fzr_sink_write, &s, h.new_len ? h.new_len : 1u, &diag,
                                      new_port()};

    /* 1. up to the first feed boundary at or after `at` where suspend is
     * allowed (not before the coded stream, not inside a new stream) */
    memset(out, 0, h.new_len);
    if (ota_delta_apply_init(&st, &cfg) != OTA_OK || feed(patch, at, chunk) != OTA_OK)
        return 0;
    size_t sp = at;
    while (ota_delta_apply_suspend(&st, &snap) != OTA_OK) {
        if (sp == plen)
            return 0;
        size_t n = plen - sp < chunk ? plen - sp : chunk;
        if (ota_delta_apply_feed(&st, patch + sp, n) != OTA_OK)
            return 0;
        sp += n;
    }
    uint32_t nspans = snap.z_nold + snap.z_nnew;
    if (nspans > FZR_SPANS)
        return 0;
    memcpy(kept, port->spans, nspans * sizeof(kept[0]));

    /* 2. the reference: uninterrupted, the same feed boundaries */
    struct fzr_sink rs = {0, h.new_len, ref_out};
    struct ota_delta_apply_cfg rcfg = cfg;
    rcfg.write_ctx = &rs;
    rcfg.deflate = new_port();
    ota_err re = ota_delta_apply_init(&st, &rcfg);
    if (re == OTA_OK)
        re = feed(patch, at, chunk);
    if (re == OTA_OK)
        re = feed(patch + at, sp - at, chunk);
    if (re == OTA_OK)
        re = rest(patch, plen, chunk);

    /* 3. the edits, to the snapshot and to the kept stream table */
    for (size_t i = 0; i < nedit; i++) {
        const uint8_t *ed = data + FZR_PREFIX + i * FZR_EDIT;
        if (!(ed[2] & 0x20u)) {
            fzr_edit(&snap, ed, c);
        } else if (nspans) {
            size_t tsize = nspans * sizeof(kept[0]), width = fzr_width(ed[2]);
            size_t off = ((size_t)ed[0] | ((size_t)ed[1] << 8)) % tsize;
            if (off + width > tsize)
                off = tsize - width;
            fzr_apply((uint8_t *)kept + off, width, (ed[2] >> 2) & 3u, ota_le_get32(ed + 3));
        }
    }

    /* 4. the restart: the applier's RAM and its port are gone, the snapshot
     * and the stream table kept beside it are left; the table goes back
     * into the new port, as many entries as the (edited) snapshot counts */
    memset(&st, 0xA5, sizeof(st));
    memset(&diag, 0, sizeof(diag));
    cfg.deflate = new_port();
    memcpy(port->spans, kept, nspans * sizeof(kept[0]));
    ota_err e = ota_delta_apply_resume(&st, &cfg, &snap);
    if (e != OTA_OK) {
        if (e != OTA_ERR_INVALID_ARG || !diag.field || nedit == 0)
            __builtin_trap(); /* a refusal says which part; a real snapshot is accepted */
        return 0;
    }
    s.pos = st.real_written; /* the writer continues where the snapshot says */
    if (s.pos > s.cap)
        __builtin_trap();
    e = rest(patch, plen, chunk);
    if (e == OTA_OK) {
        fzr_check_image(&s, &h); /* success: the image the patch names */
        if (re == OTA_OK && memcmp(out, ref_out, h.new_len) != 0)
            __builtin_trap();
    }
    /* unedited: the resumed apply is the uninterrupted one */
    if (nedit == 0 && (e != re || s.pos != rs.pos || memcmp(out, ref_out, s.pos) != 0))
        __builtin_trap();
    return 0;
}

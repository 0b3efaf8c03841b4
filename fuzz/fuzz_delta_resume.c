// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_delta_resume.c - libFuzzer target for resuming the delta applier
 * from a snapshot (ota_delta_apply_suspend / _resume, docs/delta-format.md
 * "Resuming"): a snapshot is the applier's RAM kept in the device's storage,
 * and one read back corrupted (torn write, flipped bits, another build) must
 * be refused with OTA_ERR_INVALID_ARG or produce output -- never crash, hang,
 * or read or write outside a buffer or the images; and a resumed apply that
 * reports success has written exactly the image the patch's result hash names.
 *
 * The input is a patch (fuzz_delta_input.h's layout, against its fixed old
 * image), the patch byte after which the applier is suspended (a real
 * suspend: the seeds are real snapshots), and edits applied to the snapshot
 * before it is resumed; then the rest of the patch is fed from the
 * snapshot's in_total on and the apply finished.
 *
 *   bytes 0-1   suspend after this many patch bytes (LE, mod length + 1)
 *   byte 2      bits 0-3: feeding pattern (chunk sizes); bit 4: OpenSSL
 *               instead of mbedTLS for SHA-256
 *   byte 3      number of edits (at most FZR_EDITS_MAX)
 *   7 bytes per edit: where (LE 16), how, value (LE 32): fuzz_snap_edit.h
 *   then        the fuzz_delta input (FZD_PREFIX bytes + stream)
 *
 * The hash context inside a snapshot is the crypto port's own state: mbedTLS
 * survives any bytes there, OpenSSL's SHA256_CTX trusts its block index (a
 * corrupted one overruns it), so with OpenSSL the edits leave `sha` alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ota/delta.h"
#include "fuzz_delta_input.h"
#include "fuzz_snap_edit.h"

#define FZR_PREFIX 4u
#define FZR_EDITS_MAX 24u
#define FZR_NEW_MAX 65536u

static uint8_t old_img[FZD_OLD_LEN];
static uint8_t old_hash[OTA_SHA256_LEN];
static uint8_t patch[OTA_DELTA_HEADER_SIZE + 70000];
static uint8_t out[FZR_NEW_MAX];
static struct ota_delta_apply st, snap;

static ota_err feed(const uint8_t *p, size_t len, uint32_t chunk)
{
    return fzr_feed(&st, p, len, chunk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fzd_init(old_img, old_hash);
    if (size < FZR_PREFIX)
        return 0;
    size_t nedit = data[3] < FZR_EDITS_MAX ? data[3] : FZR_EDITS_MAX;
    size_t skip = FZR_PREFIX + nedit * FZR_EDIT;
    if (size < skip + FZD_PREFIX || size - skip > 60000)
        return 0;
    const struct ota_crypto *c = (data[2] & 0x10u) ? ota_crypto_openssl() : ota_crypto_mbedtls();
    uint32_t chunk = 1u + (data[2] & 15u) * 53u;
    size_t plen = fzd_patch(data + skip, size - skip, old_hash, patch);
    struct ota_delta_header h;
    if (ota_delta_header_decode(patch, plen, &h, NULL) != OTA_OK || h.new_len > FZR_NEW_MAX)
        return 0;
    size_t at = ((size_t)data[0] | ((size_t)data[1] << 8)) % (plen + 1);

    struct ota_mem_reader mr;
    struct ota_reader r;
    ota_reader_from_mem(&r, &mr, old_img, FZD_OLD_LEN);
    struct fzr_sink s = {0, h.new_len, out};
    struct ota_diag diag;
    /* the slot is as large as the patch's image: a snapshot claiming a
     * larger one is refused */
    struct ota_delta_apply_cfg cfg = {c, &r, fzr_sink_write, &s, h.new_len ? h.new_len : 1u, &diag,
                                      NULL};
    memset(out, 0, h.new_len);
    if (ota_delta_apply_init(&st, &cfg) != OTA_OK || feed(patch, at, chunk) != OTA_OK ||
        ota_delta_apply_suspend(&st, &snap) != OTA_OK)
        return 0;
    for (size_t i = 0; i < nedit; i++)
        fzr_edit(&snap, data + FZR_PREFIX + i * FZR_EDIT, c);

    /* the restart: the applier's RAM is gone, only the snapshot is left */
    memset(&st, 0xA5, sizeof(st));
    memset(&diag, 0, sizeof(diag));
    ota_err e = ota_delta_apply_resume(&st, &cfg, &snap);
    if (e != OTA_OK) {
        if (e != OTA_ERR_INVALID_ARG || !diag.field)
            __builtin_trap(); /* a refusal says which part */
        return 0;
    }
    s.pos = st.real_written; /* the writer continues where the snapshot says */
    if (s.pos > s.cap)
        __builtin_trap();
    if (st.in_total <= plen)
        e = feed(patch + st.in_total, plen - st.in_total, chunk);
    if (e == OTA_OK)
        e = ota_delta_apply_finish(&st);
    if (e == OTA_OK)
        fzr_check_image(&s, &h); /* success: the image the patch names */
    return 0;
}

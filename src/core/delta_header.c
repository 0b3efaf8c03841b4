// SPDX-License-Identifier: Apache-2.0
/*
 * delta_header.c - decoding and checking the fixed 88-byte header of a delta
 * patch (docs/delta-format.md), shared by the applier and `ota delta info`.
 */
#include <string.h>

#include "ota/delta.h"
#include "le.h"
#include "diag.h"

ota_err ota_delta_header_decode(const uint8_t *raw, size_t len,
                                struct ota_delta_header *hdr, struct ota_diag *diag)
{
    if (!raw || !hdr)
        return OTA_ERR_INVALID_ARG;
    if (len < 4 || memcmp(raw, OTA_DELTA_MAGIC, 4) != 0) {
        if (len < 4 && memcmp(raw, OTA_DELTA_MAGIC, len) == 0)
            return ota_diag_fill(diag, OTA_ERR_DELTA_TRUNCATED, "header", 0,
                                 OTA_DELTA_HEADER_SIZE, (uint32_t)len, 1);
        return ota_diag_fill(diag, OTA_ERR_DELTA_BAD_MAGIC, "magic", 0,
                             0x4441544fu, len >= 4 ? ota_le_get32(raw) : 0, len >= 4);
    }
    if (len < OTA_DELTA_HEADER_SIZE)
        return ota_diag_fill(diag, OTA_ERR_DELTA_TRUNCATED, "header", 0,
                             OTA_DELTA_HEADER_SIZE, (uint32_t)len, 1);
    if (raw[4] != OTA_DELTA_VERSION && !OTA_DELTA_HAS_SECTION(raw[4]))
        return ota_diag_fill(diag, OTA_ERR_DELTA_VERSION, "version", 4, OTA_DELTA_VERSION,
                             raw[4], 1);
    if (raw[5] >= OTA_DELTA_FILTER_COUNT)
        return ota_diag_fill(diag, OTA_ERR_DELTA_CORRUPT, "filter", 5,
                             OTA_DELTA_FILTER_COUNT - 1u, raw[5], 1);
    if (raw[6] & ~OTA_DELTA_PRED_ALL)
        return ota_diag_fill(diag, OTA_ERR_DELTA_CORRUPT, "predictor flags", 6, OTA_DELTA_PRED_ALL,
                             raw[6], 1);
    if (raw[7] & ~OTA_DELTA_OPT_ALL)
        return ota_diag_fill(diag, OTA_ERR_DELTA_CORRUPT, "predictor options", 7,
                             OTA_DELTA_OPT_ALL, raw[7], 1);
    if ((raw[7] & OTA_DELTA_OPT_LIT3) && !(raw[7] & OTA_DELTA_OPT_MODEL2))
        return ota_diag_fill(diag, OTA_ERR_DELTA_CORRUPT, "predictor options (bit 2 needs bit 1)",
                             7, OTA_DELTA_OPT_MODEL2 | OTA_DELTA_OPT_LIT3, raw[7], 1);
    hdr->version = raw[4];
    hdr->filter = raw[5];
    hdr->flags = raw[6];
    hdr->opts = raw[7];
    hdr->ptr_base = ota_le_get32(raw + 20);
    hdr->old_len = ota_le_get32(raw + 8);
    hdr->new_len = ota_le_get32(raw + 12);
    hdr->stream_len = ota_le_get32(raw + 16);
    if (hdr->stream_len < 5u || hdr->stream_len > 0xFFFFFFFFu - OTA_DELTA_HEADER_SIZE)
        return ota_diag_fill(diag, OTA_ERR_DELTA_CORRUPT, "stream_len", 16, 5, hdr->stream_len, 1);
    memcpy(hdr->base_hash, raw + 24, OTA_SHA256_LEN);
    memcpy(hdr->result_hash, raw + 56, OTA_SHA256_LEN);
    return OTA_OK;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * hash_range.h - SHA-256 over a byte range read through a reader (a flash
 * region via ota_reader_from_flash, or any other reader), written once for
 * the image verifier, the bootloader and the update engine, which each had
 * their own chunked read-and-hash loop. Not public API.
 */
#ifndef OTA_HASH_RANGE_H
#define OTA_HASH_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "ota/crypto.h"
#include "ota/error.h"
#include "ota/io.h"

/*
 * Feed bytes [off, off + len) of r into ctx, which the caller initialised,
 * in chunks of the scratch buffer (buf, cap); with no scratch (buf NULL or
 * cap 0) a 256-byte stack buffer is used. On failure ctx is finalised (it
 * needs sha256_init before reuse) and d, when not NULL, names the failure:
 * `what` at the failing chunk's offset for a read error, "SHA-256 update"
 * for a backend error.
 */
ota_err ota_hash_range_feed(const struct ota_crypto *c, ota_sha256_ctx *ctx,
                            const struct ota_reader *r, uint32_t off, uint32_t len,
                            uint8_t *buf, size_t cap, struct ota_diag *d, const char *what);

/* The digest of bytes [off, off + len) of r: init, feed as above, final. */
ota_err ota_hash_range(const struct ota_crypto *c, const struct ota_reader *r, uint32_t off,
                       uint32_t len, uint8_t *buf, size_t cap, uint8_t out[OTA_SHA256_LEN],
                       struct ota_diag *d, const char *what);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * ota/image_slot.h - the slot an image is linked for (per-slot builds).
 *
 * Why it exists: on an execute-in-place part each A/B slot needs its own
 * build, linked at that slot's address. `ota sign --link-slot A|B` records
 * which one in the protected TLV LINK_SLOT (0xa1, one byte: 0 = slot A,
 * 1 = slot B; docs/image-format.md); the server reads it to offer a device
 * the build for the slot that will receive the update, `ota inspect` shows
 * it, and the simulator refuses to start an image from the other slot, as
 * the Cortex-M port refuses a ROM_FIXED image at another address. An image
 * without the TLV runs from either slot.
 *
 * Host only: the bootloader does not read the TLV (the port's ROM_FIXED
 * check is what protects a device; docs/boot-port.md 3.4).
 */
#ifndef OTA_IMAGE_SLOT_H
#define OTA_IMAGE_SLOT_H

#include "ota/error.h"
#include "ota/image.h"
#include "ota/io.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_LINK_SLOT_ANY (-1) /* no LINK_SLOT TLV: position independent / Linux */
#define OTA_LINK_SLOT_A 0
#define OTA_LINK_SLOT_B 1

/*
 * The link slot of an image ota_image_parse (or _verify) accepted as `info`,
 * read through r: *slot = 0 (A), 1 (B) or OTA_LINK_SLOT_ANY when the image
 * has no LINK_SLOT TLV. Refused, with diag naming the TLV's offset:
 * OTA_ERR_IMAGE_TLV_UNPROTECTED (in the unprotected area: it must be
 * signed), OTA_ERR_IMAGE_TLV_DUPLICATE (twice), OTA_ERR_IMAGE_TLV_MALFORMED
 * (length not 1, or a value other than 0 and 1); read errors of r.
 */
ota_err ota_image_link_slot(const struct ota_reader *r, const struct ota_image_info *info,
                            int *slot, struct ota_diag *diag);

/* "A", "B", or "any" for OTA_LINK_SLOT_ANY (anything else). */
const char *ota_link_slot_name(int slot);

/* "A"/"a" -> 0, "B"/"b" -> 1; -2 for anything else. */
int ota_link_slot_parse(const char *s);

#ifdef __cplusplus
}
#endif
#endif

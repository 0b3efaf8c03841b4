// SPDX-License-Identifier: Apache-2.0
/*
 * boot_internal.h - helpers shared by the bootloader's core files
 * (boot_layout.c, otp.c, boot_state.c, boot.c, boot_install.c): the CRC-32
 * that guards on-flash records and diag filling; little-endian field access
 * comes from le.h. Not public API.
 */
#ifndef OTA_BOOT_INTERNAL_H
#define OTA_BOOT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "ota/error.h"
#include "diag.h"
#include "le.h"

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()). */
uint32_t ota_boot_crc32(const void *data, size_t len);

/* Fill a diag (may be NULL) and return err. */
ota_err ota_boot_fail(struct ota_diag *d, ota_err err, const char *field, uint32_t offset);
ota_err ota_boot_fail_vals(struct ota_diag *d, ota_err err, const char *field,
                           uint32_t offset, uint32_t expected, uint32_t found);

#endif

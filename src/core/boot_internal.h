/*
 * boot_internal.h - helpers shared by the bootloader's core files
 * (boot_layout.c, otp.c, boot_state.c, boot.c, boot_install.c): little-endian
 * field access and the CRC-32 that guards on-flash records. Not public API.
 */
#ifndef OTA_BOOT_INTERNAL_H
#define OTA_BOOT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "ota/error.h"

static inline uint32_t boot_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline void boot_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()). */
uint32_t ota_boot_crc32(const void *data, size_t len);

/* Fill a diag (may be NULL) and return err. */
ota_err ota_boot_fail(struct ota_diag *d, ota_err err, const char *field, uint32_t offset);
ota_err ota_boot_fail_vals(struct ota_diag *d, ota_err err, const char *field,
                           uint32_t offset, uint32_t expected, uint32_t found);

#endif

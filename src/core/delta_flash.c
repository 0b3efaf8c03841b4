// SPDX-License-Identifier: Apache-2.0
/*
 * delta_flash.c - the delta applier's write callback over the flash HAL:
 * adapts the applier's strictly sequential output to the sector-by-sector
 * erase + program of struct ota_flash_writer (ota/flash.h), so a device
 * applies a patch straight into its inactive slot.
 */
#include "ota/delta.h"
#include "ota/flash.h"

ota_err ota_delta_write_flash(void *ctx, uint32_t off, const void *data, size_t len)
{
    struct ota_flash_writer *w = ctx;
    if (!w || (!data && len))
        return OTA_ERR_INVALID_ARG;
    if (off != w->pos)
        return OTA_ERR_INTERNAL;
    return ota_flash_writer_write(w, data, len);
}

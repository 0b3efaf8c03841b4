// SPDX-License-Identifier: Apache-2.0
/*
 * diag.h - filling a struct ota_diag (ota/error.h) on the way out of a
 * failing core function, written once for the image, manifest, delta and
 * boot code: which field, at which offset, and (when known) the expected and
 * found values. Every helper accepts d == NULL and returns the error code, so
 * a check reads `return ota_diag_fail(d, OTA_ERR_..., "field", off);`.
 * Not public API.
 */
#ifndef OTA_DIAG_H
#define OTA_DIAG_H

#include <stdint.h>

#include "ota/error.h"

static inline ota_err ota_diag_fill(struct ota_diag *d, ota_err e, const char *field,
                                    uint32_t off, uint32_t expected, uint32_t found,
                                    int has_values)
{
    if (d) {
        d->field = field;
        d->offset = off;
        d->expected = expected;
        d->found = found;
        d->has_values = (uint8_t)has_values;
    }
    return e;
}

/* The field and offset only (expected and found set to 0). */
static inline ota_err ota_diag_fail(struct ota_diag *d, ota_err e, const char *field,
                                    uint32_t off)
{
    return ota_diag_fill(d, e, field, off, 0, 0, 0);
}

/* With the expected and found values. */
static inline ota_err ota_diag_fail_vals(struct ota_diag *d, ota_err e, const char *field,
                                         uint32_t off, uint32_t expected, uint32_t found)
{
    return ota_diag_fill(d, e, field, off, expected, found, 1);
}

#endif

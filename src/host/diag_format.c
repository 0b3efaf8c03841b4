// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/diag_format.c - the one rendering of a struct ota_diag for
 * people, shared by ota, ota-sim, ota-mcu-flash, ota-agent and ota-server
 * (which each had their own): "FIELD at offset N (0xN): expected E (0xE),
 * found F (0xF)", and the error's text and name before it.
 */
#include <stdio.h>

#include "ota/host.h"

/* "N (0xN)": decimal for sizes and counters, hex for magics, flags and
 * flash offsets. */
static const char *num(char out[32], uint32_t v)
{
    snprintf(out, 32, "%lu (0x%lx)", (unsigned long)v, (unsigned long)v);
    return out;
}

const char *ota_diag_str(const struct ota_diag *d, char *out, size_t cap)
{
    char off[32], expected[32], found[32];

    if (!cap)
        return out;
    out[0] = '\0';
    if (!d || !d->field)
        return out;
    if (d->has_values)
        snprintf(out, cap, "%s at offset %s: expected %s, found %s", d->field,
                 num(off, d->offset), num(expected, d->expected), num(found, d->found));
    else
        snprintf(out, cap, "%s at offset %s", d->field, num(off, d->offset));
    return out;
}

const char *ota_err_diag_str(ota_err e, const struct ota_diag *d, char *out, size_t cap)
{
    char where[OTA_DIAG_STR_MAX];

    if (!cap)
        return out;
    ota_diag_str(d, where, sizeof where);
    snprintf(out, cap, "%s (%s)%s%s", ota_strerror(e), ota_errname(e), where[0] ? ": " : "",
             where);
    return out;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_sink.h - the delta fuzzers' output: a write callback that keeps no
 * bytes but traps on anything an applier must never do (a write out of
 * order, past the announced size, or with no data).
 *
 * Why it exists: fuzz_delta.c and fuzz_delta_deflate.c check the same
 * contract.
 */
#ifndef OTA_FUZZ_SINK_H
#define OTA_FUZZ_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "ota/error.h"

struct sink {
    uint32_t pos, cap;
};

static ota_err sink_write(void *ctx, uint32_t off, const void *data, size_t len)
{
    struct sink *s = ctx;
    if (off != s->pos || len > s->cap - s->pos || (!data && len))
        __builtin_trap();
    s->pos += (uint32_t)len;
    return OTA_OK;
}

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * delta_filter.c - the executable filters of the delta format: ARM Thumb-2
 * BL/B.W and ARM BL offsets rewritten between relative and absolute form, so
 * that code that merely moved yields identical bytes for the matcher and zero
 * differences for the coder. Shared by the host encoder and the device
 * applier (the rules are in delta_internal.h and docs/delta-format.md).
 */
#include "delta_internal.h"
#include "le.h"

static size_t filter_thumb(int inverse, uint8_t *buf, size_t len, uint32_t base)
{
    size_t i = (base & 1u) ? 1u : 0u;
    while (i + 4u <= len) {
        uint32_t hw1 = ota_le_get16(buf + i);
        uint32_t hw2 = ota_le_get16(buf + i + 2u);
        if ((hw1 & 0xF800u) == 0xF000u && (hw2 & 0xB800u) == 0xB800u) {
            uint32_t v = ((hw1 & 0x7FFu) << 11) | (hw2 & 0x7FFu);
            uint32_t pos = (base + (uint32_t)i) >> 1;
            v = inverse ? v - pos : v + pos;
            v &= 0x3FFFFFu;
            ota_le_put16(buf + i, (hw1 & 0xF800u) | (v >> 11));
            ota_le_put16(buf + i + 2u, (hw2 & 0xF800u) | (v & 0x7FFu));
            i += 4u;
        } else {
            i += 2u;
        }
    }
    return i;
}

static size_t filter_arm(int inverse, uint8_t *buf, size_t len, uint32_t base)
{
    size_t i = (4u - (base & 3u)) & 3u;
    while (i + 4u <= len) {
        if (buf[i + 3u] == 0xEBu) {
            uint32_t v = (uint32_t)buf[i] | ((uint32_t)buf[i + 1u] << 8) |
                         ((uint32_t)buf[i + 2u] << 16);
            uint32_t pos = (base + (uint32_t)i) >> 2;
            v = inverse ? v - pos : v + pos;
            buf[i] = (uint8_t)v;
            buf[i + 1u] = (uint8_t)(v >> 8);
            buf[i + 2u] = (uint8_t)(v >> 16);
        }
        i += 4u;
    }
    return i;
}

size_t ota_delta_filter(uint8_t filter, int inverse, uint8_t *buf, size_t len,
                        uint32_t base)
{
    switch (filter) {
    case OTA_DELTA_FILTER_THUMB:
        return filter_thumb(inverse, buf, len, base);
    case OTA_DELTA_FILTER_ARM:
        return filter_arm(inverse, buf, len, base);
    default:
        return len;
    }
}

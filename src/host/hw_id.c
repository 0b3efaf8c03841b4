// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/hw_id.c - hardware ids as people write them, in one place for
 * `ota sign/verify`, ota-sim, ota-mcu-flash and ota-server (docs/api.md,
 * "Ids"): 1..32 printable ASCII characters other than space, '"' and '\',
 * or "0x" followed by 2..64 lowercase hex digits for binary ids. The image's
 * HW_ID TLV (and the device's id) holds the bytes.
 */
#include <string.h>

#include "ota/host.h"

static int text_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static int is_hex_form(const char *id, size_t n)
{
    return n >= 2 && id[0] == '0' && id[1] == 'x';
}

int ota_hw_id_parse(const char *id, uint8_t out[OTA_HW_ID_MAX])
{
    size_t n, i;

    if (!id)
        return -1;
    n = strlen(id);
    if (is_hex_form(id, n)) {
        if (n < 4 || n > 2 + 2 * OTA_HW_ID_MAX || (n & 1))
            return -1;
        for (i = 2; i < n; i++)
            if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
                return -1;
        return ota_hex_decode(id + 2, out, OTA_HW_ID_MAX);
    }
    if (n == 0 || n > OTA_HW_ID_MAX)
        return -1;
    for (i = 0; i < n; i++)
        if (!text_char_ok((unsigned char)id[i]))
            return -1;
    memcpy(out, id, n);
    return (int)n;
}

char *ota_hw_id_format(const uint8_t *id, size_t len, char out[OTA_HW_ID_TEXT_MAX])
{
    int text = len > 0 && len <= OTA_HW_ID_MAX && !is_hex_form((const char *)id, len);
    size_t i;

    for (i = 0; text && i < len; i++)
        if (!text_char_ok(id[i]))
            text = 0;
    if (text) {
        memcpy(out, id, len);
        out[len] = '\0';
        return out;
    }
    if (len > OTA_HW_ID_MAX)
        len = OTA_HW_ID_MAX;
    out[0] = '0';
    out[1] = 'x';
    ota_hex_encode(id, len, out + 2);
    return out;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * smp_identity.c - encode/decode the device identity block (smp_identity.h),
 * shared by the app (smp_app.c), the factory tool (ota-mcu-flash identity)
 * and fuzz_smp.
 */
#include "smp_identity.h"

#include <string.h>

#include "smp_serial.h"

#define BODY 164

int smp_identity_encode(const struct smp_identity *id, uint8_t out[SMP_IDENTITY_LEN])
{
    size_t n = strlen(id->device_id);
    uint16_t crc;

    if (n == 0 || n > SMP_IDENTITY_ID_MAX || !ota_pubkey_point(&id->server_key))
        return -1;
    memset(out, 0, SMP_IDENTITY_LEN);
    memcpy(out, "OTAI", 4);
    out[4] = 1;
    out[5] = (uint8_t)n;
    memcpy(out + 8, id->device_id, n);
    memcpy(out + 72, id->server_key.spki, OTA_P256_SPKI_LEN);
    crc = smp_crc16(0, out, BODY);
    out[BODY] = (uint8_t)(crc >> 8);
    out[BODY + 1] = (uint8_t)crc;
    return 0;
}

int smp_identity_decode(const uint8_t *in, size_t len, struct smp_identity *id)
{
    if (!in || len < SMP_IDENTITY_LEN || memcmp(in, "OTAI", 4) != 0 || in[4] != 1 ||
        in[5] == 0 || in[5] > SMP_IDENTITY_ID_MAX ||
        smp_crc16(0, in, SMP_IDENTITY_LEN) != 0) /* over the body and its own CRC */
        return -1;
    memcpy(id->device_id, in + 8, in[5]);
    id->device_id[in[5]] = 0;
    memcpy(id->server_key.spki, in + 72, OTA_P256_SPKI_LEN);
    return ota_pubkey_point(&id->server_key) ? 0 : -1;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * smp_identity.h - the device identity block SMP's ota group needs
 * (docs/smp.md, "The device identity block"): this device's id and the
 * trusted manifest key, written at the factory (ota-mcu-flash identity)
 * and read by the app. 166 bytes: "OTAI", format 1, id length, 2 reserved,
 * id[64], SPKI[91], 0, CRC-16/XMODEM (big-endian) of the first 164.
 */
#ifndef OTA_PORT_SMP_IDENTITY_H
#define OTA_PORT_SMP_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "ota/crypto.h"

#define SMP_IDENTITY_LEN 166
#define SMP_IDENTITY_ID_MAX 64

struct smp_identity {
    char device_id[SMP_IDENTITY_ID_MAX + 1];
    struct ota_pubkey server_key;
};

/* 0 on success; -1 when the id is empty, too long, or the key not P-256. */
int smp_identity_encode(const struct smp_identity *id, uint8_t out[SMP_IDENTITY_LEN]);
/* 0 on success; -1 when absent (erased), damaged or malformed. */
int smp_identity_decode(const uint8_t *in, size_t len, struct smp_identity *id);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * ota/manifest_sign.h - host-side signing of update manifests and no-offer
 * statements (ota-server, tests). The format and the device-side verifier are in ota/manifest.h.
 */
#ifndef OTA_MANIFEST_SIGN_H
#define OTA_MANIFEST_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include "ota/host.h"
#include "ota/manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Encode m, set its key id from the signing key, sign the SHA-256 of the
 * signed part with ECDSA P-256 and append the signature. out should hold
 * OTA_MANIFEST_MAX_LEN bytes; *len receives the manifest's length.
 */
ota_err ota_manifest_sign(const ota_key *key, struct ota_manifest *m, uint8_t *out,
                          size_t cap, size_t *len);

/* The same for a no-offer statement (out: OTA_NO_OFFER_MAX_LEN bytes). */
ota_err ota_no_offer_sign(const ota_key *key, struct ota_no_offer *s, uint8_t *out, size_t cap,
                          size_t *len);

#ifdef __cplusplus
}
#endif
#endif

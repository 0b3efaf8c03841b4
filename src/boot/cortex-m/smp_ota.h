// SPDX-License-Identifier: Apache-2.0
/*
 * smp_ota.h - ota's own SMP group (group 64, docs/smp.md "The ota group"):
 * a server-signed ota manifest (docs/manifest.md: device binding, expiry,
 * anti-rollback, full or delta payload) is offered over SMP and its payload
 * streamed through the portable update engine (ota/update.h), which verifies
 * the manifest before the first byte and the target image after the last,
 * then marks it pending. Plain image upload (group 1) stays for stock
 * MCUmgr tools; this group is what a gateway relaying ota-server offers uses.
 */
#ifndef OTA_PORT_SMP_OTA_H
#define OTA_PORT_SMP_OTA_H

#include <stddef.h>
#include <stdint.h>

#include "ota/update.h"
#include "smp_identity.h"

struct smp_req;

#define SMP_GROUP_OTA 64
/* payload digest, prefix digest, offset (u32 BE), slot (docs/smp.md) */
#define SMP_OTA_RESUME_LEN 69

struct smp_ota {
    const struct ota_boot_dev *dev;
    int running;
    int have_identity;
    struct smp_identity id;  /* device id + trusted manifest key */
    uint8_t active;          /* an offer is being received */
    ota_err last_err;
    struct ota_update u;
    struct ota_diag diag;    /* the engine's, for the whole session */
    char rsn[96];
};

/* identity: the device's identity block (smp_identity.h) as the factory
 * wrote it into flash: OTA_OK, or OTA_ERR_MANIFEST_MALFORMED when absent or
 * damaged (the group then refuses offers). */
ota_err smp_ota_init(struct smp_ota *g, const struct ota_boot_dev *dev, int running_slot,
                     const uint8_t *identity, size_t len);

void smp_ota_offer(struct smp_ota *g, struct smp_req *r);
void smp_ota_payload(struct smp_ota *g, struct smp_req *r);
void smp_ota_status(struct smp_ota *g, struct smp_req *r);
/* The engine's progress record (flash synced), for a later offer's "resume". */
void smp_ota_checkpoint(struct smp_ota *g, struct smp_req *r);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * verify.c - every offer a simulated device receives is verified by the
 * portable core exactly as ota-agent's update engine does before it takes a
 * byte (ota_manifest_verify: server signature, device id, hardware id,
 * expiry against the server's clock, offer-sequence freshness, downgrade),
 * one ECDSA verification per offer and device. `--tamper N` flips a bit of
 * the signature the first N devices receive (a man in the middle): they
 * must refuse. Signed "no offer" statements name no device, so one
 * verification serves every device that receives the same bytes.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fleet.h"
#include "ota/host.h"

ota_err fleet_verify_offer(struct fleet *f, uint32_t i, const uint8_t *man, size_t len,
                           struct ota_manifest *m, char *why, size_t cap)
{
    struct fleet_dev *d = &f->dev[i];
    struct ota_manifest_policy pol;
    struct ota_diag diag;
    uint8_t buf[OTA_MANIFEST_MAX_LEN];
    char id[80], dt[OTA_DIAG_STR_MAX];
    int tampered = i < f->o->tamper;
    ota_err e;

    memcpy(buf, man, len);
    if (tampered && len > 0)
        buf[len - 1] ^= 0x01; /* last byte of the DER signature's S */
    fleet_dev_id(f, i, id, sizeof id);
    memset(&pol, 0, sizeof pol);
    memset(&diag, 0, sizeof diag);
    pol.crypto = ota_crypto_openssl();
    pol.server_keys = &f->server_key;
    pol.n_server_keys = 1;
    pol.device_id = id;
    pol.hw_id = f->hw_id;
    pol.hw_id_len = f->hw_id_len;
    pol.now = (uint64_t)((int64_t)time(NULL) + f->clock_offset);
    pol.min_offer_seq = d->offer_seq + 1;
    pol.running_version = &f->rel[d->cur].version;
    e = ota_manifest_verify(buf, len, &pol, m, &diag);
    if (e == OTA_OK) {
        f->st.manifests_verified++;
        if (tampered)
            f->st.tampered_accepted++; /* never expected: the summary shows it */
        return OTA_OK;
    }
    f->st.manifests_refused++;
    f->st.refused_by_err[(unsigned)e & 0xffu]++;
    if (tampered)
        f->st.tampered_refused++;
    snprintf(why, cap, "%s", ota_err_diag_str(e, &diag, dt, sizeof dt));
    return e;
}

void fleet_take_no_offer(struct fleet *f, uint32_t i, const uint8_t *s, size_t len)
{
    struct ota_manifest_policy pol;
    struct ota_no_offer no;
    if (len != f->last_no_offer_len || memcmp(s, f->last_no_offer, len) != 0) {
        memset(&pol, 0, sizeof pol);
        pol.crypto = ota_crypto_openssl();
        pol.server_keys = &f->server_key;
        pol.n_server_keys = 1;
        if (ota_no_offer_verify(s, len, &pol, &no, NULL) != OTA_OK) {
            f->st.no_offer_refused++;
            return;
        }
        f->st.no_offer_verified++;
        memcpy(f->last_no_offer, s, len);
        f->last_no_offer_len = len;
    } else if (ota_no_offer_parse(s, len, &no, NULL) != OTA_OK) {
        return;
    }
    if (no.offer_seq > f->dev[i].offer_seq)
        f->dev[i].offer_seq = no.offer_seq;
}

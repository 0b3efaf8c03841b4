// SPDX-License-Identifier: Apache-2.0
/*
 * payload.c - the images ota-fleet's devices run (releases, by image
 * digest) and the payloads they download (by payload digest). A payload is
 * fetched once for the whole fleet, but only after the first device holding
 * a verified manifest asks for it, and it is accepted only as a device
 * would: SHA-256 and size equal to the manifest's, a delta applied by the
 * core's applier to the exact base image, the resulting image's digest equal
 * to the manifest's target and the image verified by ota_image_verify
 * (firmware signature by --trusted-key, hardware id). Devices then share
 * the verdict (counted as shared downloads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "ota/delta.h"
#include "ota/host.h"
#include "ota/io.h"

int fleet_release_find(const struct fleet *f, const uint8_t digest[OTA_SHA256_LEN])
{
    for (unsigned i = 0; i < f->n_rel; i++)
        if (memcmp(f->rel[i].digest, digest, OTA_SHA256_LEN) == 0)
            return (int)i;
    return -1;
}

/* Verify a whole image as the bootloader will; add it as a release. */
int fleet_release_add(struct fleet *f, const uint8_t *image, size_t len, ota_err *why,
                      char *err, size_t cap)
{
    struct ota_reader r;
    struct ota_mem_reader mr;
    struct ota_verify_params p;
    struct ota_image_info info;
    struct ota_diag d;
    struct fleet_release *rel;
    uint8_t digest[OTA_SHA256_LEN], scratch[4096];
    char dt[OTA_DIAG_STR_MAX];
    ota_err e;
    int have;

    if (len > UINT32_MAX) {
        snprintf(err, cap, "image of %zu bytes is too large", len);
        *why = OTA_ERR_IMAGE_TOO_LARGE;
        return -1;
    }
    ota_sha256(ota_crypto_openssl(), image, len, digest);
    have = fleet_release_find(f, digest);
    if (have >= 0 && f->rel[have].image)
        return have;
    memset(&p, 0, sizeof p);
    memset(&d, 0, sizeof d);
    p.crypto = ota_crypto_openssl();
    p.keys = &f->fw_key;
    p.n_keys = 1;
    p.hw_id = f->hw_id;
    p.hw_id_len = f->hw_id_len;
    p.buf = scratch;
    p.buf_len = sizeof scratch;
    ota_reader_from_mem(&r, &mr, image, (uint32_t)len);
    e = ota_image_verify(&r, &p, &info, &d);
    if (e == OTA_OK && info.total_size != len)
        e = OTA_ERR_IMAGE_TRAILING_DATA;
    if (e) {
        snprintf(err, cap, "image refused: %s", ota_err_diag_str(e, &d, dt, sizeof dt));
        *why = e;
        return -1;
    }
    if (have < 0) {
        if (f->n_rel >= FLEET_MAX_RELEASES) {
            snprintf(err, cap, "more than %d releases", FLEET_MAX_RELEASES);
            *why = OTA_ERR_TOO_LARGE;
            return -1;
        }
        have = (int)f->n_rel++;
    }
    rel = &f->rel[have];
    memcpy(rel->digest, digest, OTA_SHA256_LEN);
    rel->version = info.hdr.version;
    ota_image_version_str(&rel->version, rel->version_str, sizeof rel->version_str);
    rel->image = malloc(len);
    if (!rel->image) {
        snprintf(err, cap, "out of memory");
        *why = OTA_ERR_NO_MEMORY;
        return -1;
    }
    memcpy(rel->image, image, len);
    rel->image_len = len;
    rel->spec = fleet_outcome_spec_for(f, rel->version_str);
    return have;
}

int fleet_payload_get(struct fleet *f, const struct ota_manifest *m)
{
    struct fleet_payload *p;
    for (unsigned i = 0; i < f->n_pl; i++)
        if (memcmp(f->pl[i].digest, m->payload_digest, OTA_SHA256_LEN) == 0 &&
            memcmp(f->pl[i].target, m->target_digest, OTA_SHA256_LEN) == 0 &&
            memcmp(f->pl[i].base, m->base_digest, OTA_SHA256_LEN) == 0)
            return (int)i;
    if (f->n_pl >= FLEET_MAX_PAYLOADS)
        return -1;
    p = &f->pl[f->n_pl];
    memset(p, 0, sizeof *p);
    memcpy(p->digest, m->payload_digest, OTA_SHA256_LEN);
    memcpy(p->target, m->target_digest, OTA_SHA256_LEN);
    memcpy(p->base, m->base_digest, OTA_SHA256_LEN);
    p->kind = m->payload_kind;
    p->release = -1;
    return (int)f->n_pl++;
}

static void bad(struct fleet *f, struct fleet_payload *p, ota_err e, const char *why)
{
    p->state = PL_BAD;
    p->err = e;
    snprintf(p->why, sizeof p->why, "%s", why);
    f->st.payload_bad++;
}

void fleet_payload_accept(struct fleet *f, struct fleet_payload *p, const uint8_t *data,
                          size_t len)
{
    uint8_t digest[OTA_SHA256_LEN], *img = NULL;
    size_t img_len = 0;
    char err[300], dt[OTA_DIAG_STR_MAX];
    struct ota_diag d;
    int base, rel;
    ota_err e;

    ota_sha256(ota_crypto_openssl(), data, len, digest);
    if (memcmp(digest, p->digest, OTA_SHA256_LEN) != 0) {
        bad(f, p, OTA_ERR_UPDATE_PAYLOAD_HASH, "payload SHA-256 differs from the manifest's");
        return;
    }
    if (p->kind == OTA_PAYLOAD_DELTA) {
        base = fleet_release_find(f, p->base);
        if (base < 0 || !f->rel[base].image) {
            bad(f, p, OTA_ERR_DELTA_BASE_MISMATCH, "delta for a base image the fleet does not hold");
            return;
        }
        memset(&d, 0, sizeof d);
        e = ota_delta_apply_buffer(ota_crypto_openssl(), f->rel[base].image,
                                   f->rel[base].image_len, data, len, 4096, &img, &img_len, &d);
        if (e) {
            snprintf(err, sizeof err, "delta refused: %s", ota_err_diag_str(e, &d, dt, sizeof dt));
            bad(f, p, e, err);
            return;
        }
    } else {
        img = (uint8_t *)data;
        img_len = len;
    }
    ota_sha256(ota_crypto_openssl(), img, img_len, digest);
    if (memcmp(digest, p->target, OTA_SHA256_LEN) != 0) {
        bad(f, p, OTA_ERR_UPDATE_PAYLOAD_HASH, "resulting image differs from the manifest's target");
    } else if ((rel = fleet_release_add(f, img, img_len, &e, err, sizeof err)) < 0) {
        bad(f, p, e, err);
    } else {
        p->state = PL_OK;
        p->release = rel;
    }
    if (img != data)
        free(img);
}

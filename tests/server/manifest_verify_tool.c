// SPDX-License-Identifier: Apache-2.0
/*
 * manifest_verify_tool.c - test helper: runs the portable core's
 * ota_manifest_verify() on a manifest file, so the integration tests can
 * prove that what ota-server signs is exactly what a device accepts (and
 * refuses for the right reason).
 *
 * usage: manifest_verify_tool MANIFEST SERVER_PUB.pem DEVICE_ID HW_ID NOW MIN_SECCNT
 * prints the ota_err name (OTA_OK on success) and exits 0 when it ran.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ota/host.h"
#include "ota/manifest.h"

int main(int argc, char **argv)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    ota_key *k = NULL;
    char err[256];
    struct ota_pubkey pub;
    struct ota_manifest m;
    struct ota_diag d = {0};
    struct ota_manifest_policy p = {0};
    if (argc != 7) {
        fprintf(stderr, "usage: %s MANIFEST PUB.pem DEVICE_ID HW_ID NOW MIN_SECCNT\n", argv[0]);
        return 2;
    }
    if (ota_file_read(argv[1], &buf, &len) != OTA_OK ||
        ota_key_load(argv[2], &k, err, sizeof(err)) != OTA_OK ||
        ota_key_pubkey(k, &pub) != OTA_OK) {
        fprintf(stderr, "cannot read inputs\n");
        return 2;
    }
    p.crypto = ota_crypto_mbedtls(); /* what an MCU would use */
    p.server_keys = &pub;
    p.n_server_keys = 1;
    p.device_id = argv[3];
    p.hw_id = (const uint8_t *)argv[4];
    for (p.hw_id_len = 0; argv[4][p.hw_id_len]; p.hw_id_len++)
        ;
    p.now = strtoull(argv[5], NULL, 10);
    p.min_security_counter = (uint32_t)strtoul(argv[6], NULL, 10);
    ota_err e = ota_manifest_verify(buf, len, &p, &m, &d);
    printf("%s", ota_errname(e));
    if (e == OTA_OK)
        printf(" kind=%u size=%u", m.payload_kind, m.payload_size);
    else if (d.field)
        printf(" field=%s", d.field);
    printf("\n");
    free(buf);
    ota_key_free(k);
    return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * A program outside the ota tree that links the installed libota-core and a
 * crypto backend (tests/package: built with find_package(ota) and with
 * pkg-config) and verifies a signed image the way a device does.
 * Usage: verify_image KEY.der IMAGE   (KEY.der: `ota pubkey --format der`)
 * Exit 0: valid and trusted; 1: refused (the error's name on stdout); 2: usage.
 */
#include <ota/crypto.h>
#include <ota/error.h>
#include <ota/image.h>
#include <ota/io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc(n ? (size_t)n : 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    size_t key_len = 0, img_len = 0;
    unsigned char *key, *img;
    struct ota_pubkey pub;
    struct ota_verify_params p;
    struct ota_image_info info;
    struct ota_diag diag;
    struct ota_mem_reader m;
    struct ota_reader r;
    ota_err e;

    if (argc != 3) {
        fprintf(stderr, "usage: verify_image KEY.der IMAGE\n");
        return 2;
    }
    key = read_all(argv[1], &key_len);
    img = read_all(argv[2], &img_len);
    if (!key || !img || key_len != sizeof pub.spki) {
        fprintf(stderr, "cannot read %s (91-byte DER key) or %s\n", argv[1], argv[2]);
        return 2;
    }
    memcpy(pub.spki, key, sizeof pub.spki);
    memset(&p, 0, sizeof p);
    p.crypto = ota_crypto_openssl();
    p.keys = &pub;
    p.n_keys = 1;
    memset(&diag, 0, sizeof diag);
    ota_reader_from_mem(&r, &m, img, (uint32_t)img_len);
    e = ota_image_verify(&r, &p, &info, &diag);
    printf("%s\n", e == OTA_OK ? "valid" : ota_errname(e));
    free(key);
    free(img);
    return e == OTA_OK ? 0 : 1;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/key.c - ECDSA P-256 keys on the host, held by OpenSSL 3 (EVP).
 *
 * Why it exists: the tool, the server, the agent and the simulator all need
 * to generate, load, save and sign with the same kind of key that the core
 * verifies with. Everything that touches private keys lives here, outside the
 * portable core.
 */
#include "ota/host.h"
#include "ota/image_enc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/bn.h>

#include "errmsg.h"

struct ota_key {
    EVP_PKEY *pkey;
    int has_private;
};

/* Non-zero when pkey is an EC key on P-256 (prime256v1). */
static int is_p256(EVP_PKEY *pkey, char *curve, size_t curvelen)
{
    char name[64] = "";
    size_t n = 0;
    if (curve && curvelen)
        curve[0] = '\0';
    if (!EVP_PKEY_is_a(pkey, "EC")) {
        if (curve && curvelen)
            snprintf(curve, curvelen, "%s", EVP_PKEY_get0_type_name(pkey)
                                                ? EVP_PKEY_get0_type_name(pkey)
                                                : "unknown");
        return 0;
    }
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                        sizeof(name), &n))
        return 0;
    if (curve && curvelen)
        snprintf(curve, curvelen, "EC %s", name);
    return strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0 ||
           strcmp(name, "secp256r1") == 0;
}

static ota_key *wrap(EVP_PKEY *pkey, int has_private)
{
    ota_key *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    /* The core and the KEYHASH TLV want the uncompressed point. */
    EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                   (char *)"uncompressed");
    k->pkey = pkey;
    k->has_private = has_private;
    return k;
}

ota_err ota_key_generate(ota_key **out)
{
    EVP_PKEY *pkey;
    if (!out)
        return OTA_ERR_INVALID_ARG;
    *out = NULL;
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!pkey)
        return OTA_ERR_CRYPTO;
    *out = wrap(pkey, 1);
    if (!*out) {
        EVP_PKEY_free(pkey);
        return OTA_ERR_NO_MEMORY;
    }
    return OTA_OK;
}

/* Password callback that refuses: ota keys are not encrypted (CI signing). */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    if (u)
        *(int *)u = 1;
    return -1;
}

static int looks_like_pem(const uint8_t *d, size_t n)
{
    static const char tag[] = "-----BEGIN ";
    size_t i;
    for (i = 0; i + sizeof(tag) - 1 <= n && i < 4096; i++)
        if (memcmp(d + i, tag, sizeof(tag) - 1) == 0)
            return 1;
    return 0;
}

ota_err ota_key_load(const char *path, ota_key **out, char *err, size_t errlen)
{
    uint8_t *data = NULL;
    size_t len = 0;
    EVP_PKEY *pkey = NULL;
    int priv = 0, wanted_password = 0;
    ota_err rc;
    char curve[80];

    if (!path || !out)
        return OTA_ERR_INVALID_ARG;
    *out = NULL;
    rc = ota_file_read(path, &data, &len);
    if (rc != OTA_OK) {
        ota_host_errf(err, errlen, "%s: cannot read key: %s", path, strerror(errno));
        return OTA_ERR_FILE;
    }
    if (len == 0) {
        free(data);
        ota_host_errf(err, errlen, "%s: key file is empty", path);
        return OTA_ERR_KEY_FORMAT;
    }
    if (looks_like_pem(data, len)) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        if (b) {
            pkey = PEM_read_bio_PrivateKey(b, NULL, no_password, &wanted_password);
            if (pkey) {
                priv = 1;
            } else {
                BIO_free(b);
                b = BIO_new_mem_buf(data, (int)len);
                if (b)
                    pkey = PEM_read_bio_PUBKEY(b, NULL, no_password, &wanted_password);
            }
            BIO_free(b);
        }
    } else {
        const unsigned char *p = data;
        pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
        if (pkey && p == data + len) {
            priv = 1;
        } else {
            EVP_PKEY_free(pkey);
            p = data;
            pkey = d2i_PUBKEY(NULL, &p, (long)len);
            if (pkey && p != data + len) {
                EVP_PKEY_free(pkey);
                pkey = NULL;
            }
        }
    }
    free(data);
    ERR_clear_error();
    if (!pkey) {
        if (wanted_password)
            ota_host_errf(err, errlen,
                          "%s: key is encrypted; ota needs an unencrypted PEM/DER key "
                          "(decrypt with: openssl pkey -in %s -out plain.pem)",
                          path, path);
        else
            ota_host_errf(err, errlen,
                          "%s: not a PEM or DER private key or public key (SPKI)", path);
        return OTA_ERR_KEY_FORMAT;
    }
    if (!is_p256(pkey, curve, sizeof(curve))) {
        ota_host_errf(err, errlen, "%s: key is %s, expected ECDSA P-256 (prime256v1)",
                      path, curve[0] ? curve : "of another type");
        EVP_PKEY_free(pkey);
        return OTA_ERR_KEY_FORMAT;
    }
    *out = wrap(pkey, priv);
    if (!*out) {
        EVP_PKEY_free(pkey);
        return OTA_ERR_NO_MEMORY;
    }
    return OTA_OK;
}

/* PEM-encode into memory with one of the PEM_write_bio_* writers. */
static ota_err save_pem(const ota_key *k, const char *path, int private_key)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *mem = NULL;
    long n;
    int ok;
    ota_err rc;
    if (!b)
        return OTA_ERR_NO_MEMORY;
    if (private_key)
        ok = PEM_write_bio_PrivateKey(b, k->pkey, NULL, NULL, 0, NULL, NULL);
    else
        ok = PEM_write_bio_PUBKEY(b, k->pkey);
    if (!ok) {
        BIO_free(b);
        ERR_clear_error();
        return OTA_ERR_CRYPTO;
    }
    n = BIO_get_mem_data(b, &mem);
    rc = ota_file_write_atomic_mode(path, mem, (size_t)n, private_key ? 0600 : 0644);
    BIO_free(b);
    return rc;
}

ota_err ota_key_save_private(const ota_key *k, const char *path)
{
    if (!k || !path)
        return OTA_ERR_INVALID_ARG;
    if (!k->has_private)
        return OTA_ERR_KEY_FORMAT;
    return save_pem(k, path, 1);
}

ota_err ota_key_save_public(const ota_key *k, const char *path)
{
    if (!k || !path)
        return OTA_ERR_INVALID_ARG;
    return save_pem(k, path, 0);
}

int ota_key_has_private(const ota_key *k)
{
    return k && k->has_private;
}

ota_err ota_key_pubkey(const ota_key *k, struct ota_pubkey *out)
{
    unsigned char *der = NULL;
    int n;
    if (!k || !out)
        return OTA_ERR_INVALID_ARG;
    n = i2d_PUBKEY(k->pkey, &der);
    if (n != (int)OTA_P256_SPKI_LEN) {
        OPENSSL_free(der);
        ERR_clear_error();
        return n < 0 ? OTA_ERR_CRYPTO : OTA_ERR_KEY_FORMAT;
    }
    memcpy(out->spki, der, OTA_P256_SPKI_LEN);
    OPENSSL_free(der);
    return OTA_OK;
}

ota_err ota_key_sign_digest(const ota_key *k, const uint8_t digest[OTA_SHA256_LEN],
                            uint8_t *sig, size_t *sig_len)
{
    EVP_PKEY_CTX *ctx;
    size_t n = OTA_P256_SIG_DER_MAX;
    ota_err rc = OTA_ERR_CRYPTO;
    if (!k || !digest || !sig || !sig_len)
        return OTA_ERR_INVALID_ARG;
    if (!k->has_private)
        return OTA_ERR_KEY_FORMAT;
    ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
    if (!ctx)
        return OTA_ERR_NO_MEMORY;
    if (EVP_PKEY_sign_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
        EVP_PKEY_sign(ctx, sig, &n, digest, OTA_SHA256_LEN) == 1) {
        *sig_len = n;
        rc = OTA_OK;
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

ota_err ota_key_private_scalar(const ota_key *k, struct ota_enc_privkey *out)
{
    BIGNUM *d = NULL;
    ota_err rc = OTA_ERR_KEY_FORMAT;
    if (!k || !out)
        return OTA_ERR_INVALID_ARG;
    if (!k->has_private)
        return OTA_ERR_KEY_FORMAT;
    if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 &&
        BN_bn2binpad(d, out->d, OTA_P256_PRIVKEY_LEN) == OTA_P256_PRIVKEY_LEN)
        rc = OTA_OK;
    BN_clear_free(d);
    ERR_clear_error();
    return rc;
}

void ota_key_free(ota_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

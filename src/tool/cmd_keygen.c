// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/cmd_keygen.c - `ota keygen`: create an ECDSA P-256 signing key
 * (PKCS#8 PEM, mode 0600), optionally with its public key beside it.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "ota/host.h"
#include "tool.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: ota keygen -o KEY.pem [--pub PUB.pem] [--force]\n\n"
            "Generate an ECDSA P-256 signing key (the kind MCUboot calls ecdsa-p256).\n"
            "The private key is written as unencrypted PKCS#8 PEM with file mode 0600;\n"
            "it is also readable by imgtool (imgtool sign --key KEY.pem).\n\n"
            "Options:\n"
            "  -o, --out FILE   private key file to create (required)\n"
            "      --pub FILE   also write the public key (SPKI PEM) to FILE\n"
            "  -f, --force      overwrite existing files\n"
            "  -h, --help       this help\n\n"
            "Keep the private key off the devices and out of version control; give\n"
            "`ota pubkey KEY.pem --format c` to the bootloader and PUB.pem to verifiers.\n");
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int ota_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},
        {"pub", required_argument, 0, 'p'},
        {"force", no_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *out = NULL, *pub = NULL;
    int force = 0, c;
    ota_key *key = NULL;
    ota_err rc;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:p:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'p': pub = optarg; break;
        case 'f': force = 1; break;
        case 'h': help(stdout); return OTA_EXIT_OK;
        case ':':
            tool_error("keygen", "option %s needs a value", argv[optind - 1]);
            return OTA_EXIT_USAGE;
        default:
            tool_error("keygen", "unknown option %s (see 'ota keygen --help')",
                       argv[optind - 1]);
            return OTA_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        tool_error("keygen", "unexpected argument '%s' (the key file goes after -o)",
                   argv[optind]);
        return OTA_EXIT_USAGE;
    }
    if (!out) {
        tool_error("keygen", "missing -o KEY.pem (see 'ota keygen --help')");
        return OTA_EXIT_USAGE;
    }
    if (!force && exists(out)) {
        tool_error("keygen", "%s already exists; not overwriting a key (use --force)", out);
        return OTA_EXIT_FILE;
    }
    if (pub && !force && exists(pub)) {
        tool_error("keygen", "%s already exists (use --force)", pub);
        return OTA_EXIT_FILE;
    }
    rc = ota_key_generate(&key);
    if (rc != OTA_OK) {
        tool_error("keygen", "key generation failed: %s", ota_strerror(rc));
        return ota_exit_code(rc);
    }
    rc = ota_key_save_private(key, out);
    if (rc != OTA_OK) {
        tool_error("keygen", "%s: cannot write: %s", out, strerror(errno));
        ota_key_free(key);
        return ota_exit_code(rc);
    }
    if (pub) {
        rc = ota_key_save_public(key, pub);
        if (rc != OTA_OK) {
            tool_error("keygen", "%s: cannot write: %s", pub, strerror(errno));
            ota_key_free(key);
            return ota_exit_code(rc);
        }
    }
    {
        struct ota_pubkey pk;
        uint8_t h[OTA_SHA256_LEN];
        char hex[2 * OTA_SHA256_LEN + 1] = "";
        if (ota_key_pubkey(key, &pk) == OTA_OK &&
            ota_sha256(ota_crypto_openssl(), pk.spki, sizeof(pk.spki), h) == OTA_OK)
            ota_hex_encode(h, sizeof(h), hex);
        fprintf(stderr, "ota keygen: wrote %s%s%s (key hash %s)\n", out, pub ? " and " : "",
                pub ? pub : "", hex);
    }
    ota_key_free(key);
    return OTA_EXIT_OK;
}

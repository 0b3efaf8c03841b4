// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/cmd_verify.c - `ota verify`: run the device core's streaming
 * verifier (the same code the bootloader and agent run) on an image file,
 * with the trusted keys and policy given on the command line. Exit 0 only
 * for a valid, trusted image; otherwise the exit code says why and the
 * message names the file, the field, its offset and expected vs found.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "ota/host.h"
#include "ota/image_enc.h"
#include "tool.h"

#define MAX_KEYS 16
#define VERIFY_BUF (256u * 1024u)

static void help(FILE *f)
{
    fprintf(f,
            "Usage: ota verify --key KEY [--key KEY ...] [options] IMAGE\n\n"
            "Verify IMAGE exactly as a device does: structure (header, both TLV areas,\n"
            "every length), SHA-256 of header+payload+protected TLVs, the key hash\n"
            "against the trusted keys, the ECDSA P-256 signature, then policy.\n"
            "Exit status 0 means valid and trusted; anything else is a refusal\n"
            "(see exit codes in 'ota --help').\n\n"
            "Options:\n"
            "  -k, --key FILE                trusted key (public or private, PEM or DER);\n"
            "                                repeat for several (up to %d)\n"
            "      --hw-id ID                require this hardware id (text, or 0x + hex)\n"
            "      --min-security-counter N  refuse images whose security counter is\n"
            "                                lower (anti-rollback floor)\n"
            "  -S, --slot-size N             refuse images larger than the slot\n"
            "      --enc-key FILE            the device's decryption key (P-256 private key):\n"
            "                                an encrypted image is decrypted in memory and\n"
            "                                the plaintext verified; without it an\n"
            "                                encrypted image is refused (exit 16)\n"
            "      --backend NAME            crypto backend: openssl (default) or mbedtls\n"
            "                                (the one MCUs run)\n"
            "      --json                    print the verdict as one JSON object on stdout\n"
            "                                (exit status as without --json)\n"
            "  -q, --quiet                   print nothing on success\n"
            "  -h, --help                    this help\n",
            MAX_KEYS);
}

enum { OPT_HW_ID = 256, OPT_MIN_SEC, OPT_BACKEND, OPT_JSON, OPT_ENC_KEY };

/*
 * An encrypted image: open its key TLV with the device key and point *r at
 * a reader that decrypts the body on the fly (nothing decrypted is written
 * anywhere). A clear image is left as it is.
 */
static ota_err open_encrypted(struct ota_reader *r, struct ota_reader *plain,
                              struct ota_enc_reader *er, struct ota_enc_key *k,
                              const char *enc_path, const struct ota_crypto *c,
                              struct ota_image_info *info, struct ota_diag *d, char *err,
                              size_t errlen, int *decrypted)
{
    struct ota_enc_privkey dev;
    ota_key *key = NULL;
    ota_err rc;

    *decrypted = 0;
    rc = ota_image_parse(r, info, d);
    if (rc != OTA_OK || !info->enc_aes_len)
        return OTA_OK; /* verify reports structure errors itself */
    if (!enc_path)
        return OTA_ERR_IMAGE_ENC_NO_KEY;
    rc = ota_key_load(enc_path, &key, err, errlen);
    if (rc == OTA_OK)
        rc = ota_key_private_scalar(key, &dev);
    ota_key_free(key);
    if (rc != OTA_OK) {
        if (!err[0])
            snprintf(err, errlen, "%s: --enc-key needs the device's P-256 PRIVATE key",
                     enc_path);
        return OTA_ERR_KEY_FORMAT;
    }
    rc = ota_enc_image_key(r, info, c == ota_crypto_mbedtls() ? ota_crypto_enc_mbedtls()
                                                              : ota_crypto_enc_openssl(),
                           &dev, k, d);
    memset(&dev, 0, sizeof dev);
    if (rc != OTA_OK)
        return rc;
    ota_reader_enc(plain, er, r, k);
    *decrypted = 1;
    return OTA_OK;
}

/* The verdict as JSON: valid or not, why, and what the image carries. */
static void print_json(const char *path, ota_err rc, const struct ota_diag *d,
                       const struct ota_image_info *info, const char *key_path,
                       const char *backend, const char *want_hw_id)
{
    json_t *o = json_object();
    char hex[2 * OTA_SHA256_LEN + 1], vs[32], *s;
    json_object_set_new(o, "file", json_string(path));
    json_object_set_new(o, "valid", json_boolean(rc == OTA_OK));
    json_object_set_new(o, "exit_code", json_integer(ota_exit_code(rc)));
    json_object_set_new(o, "backend", json_string(backend));
    if (rc != OTA_OK) {
        json_object_set_new(o, "error", json_string(ota_errname(rc)));
        json_object_set_new(o, "message", json_string(ota_strerror(rc)));
        if (d->field) {
            json_object_set_new(o, "field", json_string(d->field));
            json_object_set_new(o, "offset", json_integer(d->offset));
            if (d->has_values) {
                json_object_set_new(o, "expected", json_integer(d->expected));
                json_object_set_new(o, "found", json_integer(d->found));
            }
        }
    }
    if (rc == OTA_OK || info->hdr.magic == OTA_IMAGE_MAGIC)
        json_object_set_new(o, "version",
                            json_string(ota_image_version_str(&info->hdr.version, vs, sizeof(vs))));
    if (info->has_security_counter)
        json_object_set_new(o, "security_counter", json_integer(info->security_counter));
    if (info->hw_id_len) {
        char id[OTA_HW_ID_TEXT_MAX];
        ota_hw_id_format(info->hw_id, info->hw_id_len, id);
        json_object_set_new(o, "hw_id", json_string(id));
    }
    if (want_hw_id)
        json_object_set_new(o, "expected_hw_id", json_string(want_hw_id));
    if (info->has_hash) {
        ota_hex_encode(info->hash, OTA_SHA256_LEN, hex);
        json_object_set_new(o, "sha256", json_string(hex));
    }
    if (info->has_keyhash) {
        ota_hex_encode(info->keyhash, OTA_SHA256_LEN, hex);
        json_object_set_new(o, "key_hash", json_string(hex));
    }
    if (rc == OTA_OK) {
        json_object_set_new(o, "key", json_string(key_path));
        json_object_set_new(o, "image_size", json_integer(info->total_size));
    }
    s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(o);
}

int ota_cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, 0, 'k'},
        {"hw-id", required_argument, 0, OPT_HW_ID},
        {"min-security-counter", required_argument, 0, OPT_MIN_SEC},
        {"slot-size", required_argument, 0, 'S'},
        {"backend", required_argument, 0, OPT_BACKEND},
        {"enc-key", required_argument, 0, OPT_ENC_KEY},
        {"json", no_argument, 0, OPT_JSON},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *key_paths[MAX_KEYS], *path, *enc_path = NULL;
    struct ota_reader plain;
    struct ota_enc_reader er;
    struct ota_enc_key ek;
    int decrypted = 0;
    struct ota_pubkey keys[MAX_KEYS];
    size_t n_keys = 0, i;
    uint8_t hw_id[OTA_HW_ID_MAX];
    int hw_len = 0, quiet = 0, as_json = 0, c, fd, ret;
    struct ota_verify_params vp;
    struct ota_image_info info;
    struct ota_diag diag;
    struct ota_reader reader;
    struct ota_fd_reader fdr;
    struct stat st;
    char err[512];
    ota_err rc;

    memset(&vp, 0, sizeof(vp));
    vp.crypto = ota_crypto_openssl();
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:S:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (n_keys == MAX_KEYS) {
                tool_error("verify", "too many --key options (at most %d)", MAX_KEYS);
                return OTA_EXIT_USAGE;
            }
            key_paths[n_keys++] = optarg;
            break;
        case OPT_HW_ID:
            hw_len = ota_hw_id_parse(optarg, hw_id);
            if (hw_len <= 0) {
                tool_error("verify", "invalid value '%s' for --hw-id: expected %s", optarg,
                           OTA_HW_ID_RULE);
                return OTA_EXIT_USAGE;
            }
            break;
        case OPT_MIN_SEC:
            if (tool_parse_u32(optarg, 0xffffffffu, 0, &vp.min_security_counter)) {
                tool_error("verify", "invalid --min-security-counter '%s'", optarg);
                return OTA_EXIT_USAGE;
            }
            break;
        case 'S':
            if (tool_parse_u32(optarg, 0xffffffffu, 1, &vp.max_total_size) ||
                !vp.max_total_size) {
                tool_error("verify", "invalid --slot-size '%s'", optarg);
                return OTA_EXIT_USAGE;
            }
            break;
        case OPT_BACKEND:
            vp.crypto = tool_parse_backend("verify", optarg);
            if (!vp.crypto)
                return OTA_EXIT_USAGE;
            break;
        case OPT_JSON: as_json = 1; break;
        case OPT_ENC_KEY: enc_path = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': help(stdout); return OTA_EXIT_OK;
        case ':':
            tool_error("verify", "option %s needs a value", argv[optind - 1]);
            return OTA_EXIT_USAGE;
        default:
            tool_error("verify", "unknown option %s (see 'ota verify --help')",
                       argv[optind - 1]);
            return OTA_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        tool_error("verify", argc == optind ? "missing IMAGE (see 'ota verify --help')"
                                            : "expected exactly one IMAGE");
        return OTA_EXIT_USAGE;
    }
    path = argv[optind];
    if (n_keys == 0) {
        tool_error("verify", "missing --key: give the public key(s) the image must be "
                             "signed with");
        return OTA_EXIT_USAGE;
    }
    for (i = 0; i < n_keys; i++) {
        ota_key *k = NULL;
        rc = ota_key_load(key_paths[i], &k, err, sizeof(err));
        if (rc == OTA_OK) {
            rc = ota_key_pubkey(k, &keys[i]);
            ota_key_free(k);
            if (rc != OTA_OK)
                snprintf(err, sizeof(err), "%s: cannot export public key: %s", key_paths[i],
                         ota_strerror(rc));
        }
        if (rc != OTA_OK) {
            tool_error("verify", "%s", err);
            return ota_exit_code(rc);
        }
    }
    vp.keys = keys;
    vp.n_keys = n_keys;
    if (hw_len > 0) {
        vp.hw_id = hw_id;
        vp.hw_id_len = (size_t)hw_len;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        tool_error("verify", "%s: cannot open: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return OTA_EXIT_FILE;
    }
    if (!S_ISREG(st.st_mode)) {
        tool_error("verify", "%s: not a regular file", path);
        close(fd);
        return OTA_EXIT_FILE;
    }
    if ((uint64_t)st.st_size > 0xffffffffu) {
        tool_error("verify", "%s: %lld bytes; images are limited to 4 GiB", path,
                   (long long)st.st_size);
        close(fd);
        return OTA_EXIT_TOO_LARGE;
    }
    ota_reader_from_fd(&reader, &fdr, fd, (uint32_t)st.st_size);
    vp.buf = malloc(VERIFY_BUF);
    vp.buf_len = vp.buf ? VERIFY_BUF : 0;
    memset(&diag, 0, sizeof(diag));
    memset(&info, 0, sizeof(info));
    memset(&ek, 0, sizeof(ek));
    err[0] = '\0';
    rc = open_encrypted(&reader, &plain, &er, &ek, enc_path, vp.crypto, &info, &diag, err,
                        sizeof(err), &decrypted);
    if (rc == OTA_ERR_KEY_FORMAT) {
        tool_error("verify", "%s", err);
        free(vp.buf);
        close(fd);
        return ota_exit_code(rc);
    }
    if (rc == OTA_OK)
        rc = ota_image_verify(decrypted ? &plain : &reader, &vp, &info, &diag);
    ota_enc_key_wipe(&ek);
    free(vp.buf);
    close(fd);
    if (as_json) {
        char want[OTA_HW_ID_TEXT_MAX];
        print_json(path, rc, &diag, &info,
                   rc == OTA_OK && info.key_index >= 0 ? key_paths[info.key_index] : "",
                   vp.crypto->name, hw_len > 0 ? ota_hw_id_format(hw_id, (size_t)hw_len, want)
                                               : NULL);
    }
    if (rc == OTA_ERR_IMAGE_HW_MISMATCH) {
        char want[OTA_HW_ID_TEXT_MAX], got[OTA_HW_ID_TEXT_MAX];
        tool_error("verify", "%s: %s (%s): the image is for hardware id %s; --hw-id asked for %s",
                   path, ota_strerror(rc), ota_errname(rc),
                   info.hw_id_len ? ota_hw_id_format(info.hw_id, info.hw_id_len, got)
                                  : "(none: the image carries no hardware id)",
                   ota_hw_id_format(hw_id, (size_t)hw_len, want));
        return ota_exit_code(rc);
    }
    if (rc != OTA_OK) {
        tool_error_diag("verify", path, rc, &diag);
        if (rc == OTA_ERR_IMAGE_ENC_NO_KEY)
            fprintf(stderr, "ota verify: %s: the image is encrypted; give the device's "
                            "decryption key with --enc-key\n", path);
        if (rc == OTA_ERR_IMAGE_UNKNOWN_KEY && info.has_keyhash) {
            char hex[2 * OTA_SHA256_LEN + 1];
            ota_hex_encode(info.keyhash, OTA_SHA256_LEN, hex);
            fprintf(stderr, "ota verify: %s: the image names key hash %s; compare with "
                            "'ota pubkey KEY --format hash'\n", path, hex);
        }
        return ota_exit_code(rc);
    }
    ret = OTA_EXIT_OK;
    if (!quiet && !as_json) {
        char vs[32], hex[2 * OTA_SHA256_LEN + 1];
        ota_hex_encode(info.hash, OTA_SHA256_LEN, hex);
        printf("%s: OK: version %s", path, ota_image_version_str(&info.hdr.version, vs, sizeof(vs)));
        if (info.has_security_counter)
            printf(", security counter %lu", (unsigned long)info.security_counter);
        if (info.hw_id_len) {
            char id[OTA_HW_ID_TEXT_MAX];
            ota_hw_id_format(info.hw_id, info.hw_id_len, id);
            printf(", hw id %s", id);
        }
        printf(", signed by %s (%s backend), sha256 %s%s\n", key_paths[info.key_index],
               vp.crypto->name, hex,
               decrypted ? info.enc_aes_len == 32 ? ", decrypted (AES-256)"
                                                  : ", decrypted (AES-128)"
                         : "");
    }
    return ret;
}

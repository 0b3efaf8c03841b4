// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/cmd_sign.c - `ota sign`: wrap a raw firmware binary into a signed
 * MCUboot-compatible image (header, protected TLVs, hash, key hash, ECDSA
 * P-256 signature), optionally padded to a slot with the boot trailer.
 * Option names follow MCUboot's imgtool so existing build scripts translate
 * one to one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/image_slot.h"
#include "tool.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: ota sign --key KEY.pem --version VER [options] IN OUT\n\n"
            "Sign the raw firmware binary IN into the image OUT (MCUboot format: the\n"
            "header is prepended, like imgtool sign --pad-header). IN or OUT may be\n"
            "'-' for standard input or output.\n\n"
            "Required:\n"
            "  -k, --key FILE             ECDSA P-256 private key (PEM or DER)\n"
            "  -v, --version VER          MAJOR[.MINOR[.REVISION]][+BUILD], e.g. 1.2.3+4\n"
            "                             (major, minor <= 255; revision <= 65535)\n\n"
            "Protected (signed) metadata:\n"
            "  -s, --security-counter N   anti-rollback counter (uint32) or 'auto'\n"
            "                             ((major << 24) + (minor << 16) + revision)\n"
            "      --hw-id ID             hardware/product id the image is for: text, or\n"
            "                             0x followed by hex bytes (1..32 bytes; TLV 0xa0)\n\n"
            "Layout:\n"
            "  -H, --header-size N        header size incl. padding (default 32; e.g.\n"
            "                             0x200 for vector-table alignment)\n"
            "  -x, --load-addr A          RAM-load address (sets the RAM_LOAD flag)\n"
            "      --rom-fixed A          fixed flash address (sets the ROM_FIXED flag)\n"
            "      --link-slot A|B        the slot this build is linked for (execute in\n"
            "                             place; protected TLV 0xa1): the server offers\n"
            "                             it to devices whose update goes into that slot\n"
            "  -S, --slot-size N          slot size: the image plus the trailer must fit\n"
            "      --pad                  pad OUT to the slot size and write the boot\n"
            "                             trailer magic (marks the image for test/upgrade)\n"
            "      --confirm              also set image_ok (a permanent upgrade; implies\n"
            "                             --pad)\n"
            "      --align N              flash write size for the trailer: 1, 2, 4, 8,\n"
            "                             16 or 32 (default 1)\n"
            "      --max-align N          trailer alignment (default max(8, align))\n"
            "  -M, --max-sectors N        sectors in the swap status (default 128)\n"
            "      --overwrite-only       trailer for overwrite-only upgrades\n"
            "  -R, --erased-val V         value of erased flash: 0xff (default) or 0\n"
            "      --public-key-format F  hash (default: KEYHASH TLV) or full (PUBKEY\n"
            "                             TLV with the whole public key)\n\n"
            "Encryption (MCUboot ECIES-P256, imgtool --encrypt):\n"
            "  -E, --encrypt PUB.pem      encrypt the body for this device key (P-256,\n"
            "                             public or private); hash and signature stay\n"
            "                             over the plaintext; TLV 0x32 carries the key\n"
            "      --aes 128|256          AES key size (default 128; imgtool\n"
            "                             encrypt-keylen option)\n\n"
            "Other:\n"
            "  -q, --quiet                print nothing on success\n"
            "  -h, --help                 this help\n\n"
            "Sizes and addresses take decimal or 0x hex; sizes also a K or M suffix.\n"
            "Example:\n"
            "  ota sign --key key.pem --version 1.4.0+17 --security-counter 3 \\\n"
            "           --hw-id acme-gw-rev2 --slot-size 0x60000 --pad app.bin app.img\n");
}

enum {
    OPT_HW_ID = 256,
    OPT_ROM_FIXED,
    OPT_LINK_SLOT,
    OPT_PAD,
    OPT_CONFIRM,
    OPT_ALIGN,
    OPT_MAX_ALIGN,
    OPT_OVERWRITE_ONLY,
    OPT_PUBKEY_FORMAT,
    OPT_AES,
};

static int bad_value(const char *opt, const char *val, const char *want)
{
    tool_error("sign", "invalid value '%s' for %s: expected %s", val, opt, want);
    return OTA_EXIT_USAGE;
}

/* What the command line asked for. */
struct sign_args {
    struct ota_build_params bp;
    const char *key_path, *version, *sec, *in, *out, *enc_path;
    uint8_t hw_id[OTA_HW_ID_MAX];
    int hw_len, quiet;
};

/* parse_*() return SIGN_GO to carry on, or the exit code to stop with. */
#define SIGN_GO (-1)

static const struct option SIGN_OPTS[] = {
    {"key", required_argument, 0, 'k'},
    {"version", required_argument, 0, 'v'},
    {"security-counter", required_argument, 0, 's'},
    {"hw-id", required_argument, 0, OPT_HW_ID},
    {"header-size", required_argument, 0, 'H'},
    {"load-addr", required_argument, 0, 'x'},
    {"rom-fixed", required_argument, 0, OPT_ROM_FIXED},
    {"link-slot", required_argument, 0, OPT_LINK_SLOT},
    {"slot-size", required_argument, 0, 'S'},
    {"pad", no_argument, 0, OPT_PAD},
    {"confirm", no_argument, 0, OPT_CONFIRM},
    {"align", required_argument, 0, OPT_ALIGN},
    {"max-align", required_argument, 0, OPT_MAX_ALIGN},
    {"max-sectors", required_argument, 0, 'M'},
    {"overwrite-only", no_argument, 0, OPT_OVERWRITE_ONLY},
    {"erased-val", required_argument, 0, 'R'},
    {"public-key-format", required_argument, 0, OPT_PUBKEY_FORMAT},
    {"encrypt", required_argument, 0, 'E'},
    {"aes", required_argument, 0, OPT_AES},
    {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* The image layout options (header, addresses, slot and trailer). */
static int parse_layout_option(int c, const char *arg, struct ota_build_params *bp)
{
    uint32_t v;
    switch (c) {
    case 'H':
        if (tool_parse_u32(arg, 0xffff, 1, &v) || v < OTA_IMAGE_HEADER_SIZE)
            return bad_value("--header-size", arg, "32..65535");
        bp->header_size = (uint16_t)v;
        break;
    case 'x':
        if (tool_parse_u32(arg, 0xffffffffu, 0, &bp->load_addr) || !bp->load_addr)
            return bad_value("--load-addr", arg, "a non-zero 32-bit address");
        break;
    case OPT_ROM_FIXED:
        if (tool_parse_u32(arg, 0xffffffffu, 0, &bp->rom_fixed) || !bp->rom_fixed)
            return bad_value("--rom-fixed", arg, "a non-zero 32-bit address");
        break;
    case OPT_LINK_SLOT: {
        int slot = ota_link_slot_parse(arg);
        if (slot < 0)
            return bad_value("--link-slot", arg, "A or B");
        bp->link_slot = (uint8_t)slot;
        bp->has_link_slot = 1;
        break;
    }
    case 'S':
        if (tool_parse_u32(arg, 0xffffffffu, 1, &bp->slot_size) || !bp->slot_size)
            return bad_value("--slot-size", arg, "a non-zero size");
        break;
    case OPT_ALIGN:
        if (tool_parse_u32(arg, 32, 0, &bp->align) || !bp->align ||
            (bp->align & (bp->align - 1)))
            return bad_value("--align", arg, "1, 2, 4, 8, 16 or 32");
        break;
    case OPT_MAX_ALIGN:
        if (tool_parse_u32(arg, 32, 0, &bp->max_align) || bp->max_align < 8 ||
            (bp->max_align & (bp->max_align - 1)))
            return bad_value("--max-align", arg, "8, 16 or 32");
        break;
    case 'M':
        if (tool_parse_u32(arg, 0x10000, 0, &bp->max_sectors) || !bp->max_sectors)
            return bad_value("--max-sectors", arg, "1..65536");
        break;
    case 'R':
        if (tool_parse_u32(arg, 0xff, 0, &v) || (v != 0 && v != 0xff))
            return bad_value("--erased-val", arg, "0 or 0xff");
        bp->erased_val = (uint8_t)v;
        bp->erased_val_set = 1;
        break;
    case OPT_PAD: bp->pad = 1; break;
    case OPT_CONFIRM: bp->confirm = 1; break;
    case OPT_OVERWRITE_ONLY: bp->overwrite_only = 1; break;
    default: return OTA_EXIT_ERROR;
    }
    return SIGN_GO;
}

/* One getopt result. */
static int parse_option(int c, struct sign_args *a, char **argv)
{
    switch (c) {
    case 'k': a->key_path = optarg; break;
    case 'v': a->version = optarg; break;
    case 's': a->sec = optarg; break;
    case OPT_HW_ID:
        a->hw_len = ota_hw_id_parse(optarg, a->hw_id);
        if (a->hw_len <= 0)
            return bad_value("--hw-id", optarg, OTA_HW_ID_RULE);
        break;
    case OPT_PUBKEY_FORMAT:
        if (!strcmp(optarg, "full"))
            a->bp.pubkey_full = 1;
        else if (strcmp(optarg, "hash"))
            return bad_value("--public-key-format", optarg, "hash or full");
        break;
    case 'E': a->enc_path = optarg; break;
    case OPT_AES:
        if (strcmp(optarg, "128") && strcmp(optarg, "256"))
            return bad_value("--aes", optarg, "128 or 256");
        a->bp.enc_aes_bits = (uint16_t)atoi(optarg);
        break;
    case 'q': a->quiet = 1; break;
    case 'h': help(stdout); return OTA_EXIT_OK;
    case ':':
        tool_error("sign", "option %s needs a value", argv[optind - 1]);
        return OTA_EXIT_USAGE;
    case '?':
        tool_error("sign", "unknown option %s (see 'ota sign --help')", argv[optind - 1]);
        return OTA_EXIT_USAGE;
    default: return parse_layout_option(c, optarg, &a->bp);
    }
    return SIGN_GO;
}

/* The checks that need every option: required ones, combinations, files. */
static int check_args(struct sign_args *a)
{
    struct ota_build_params *bp = &a->bp;
    if (!a->key_path) {
        tool_error("sign", "missing --key KEY.pem (create one with 'ota keygen -o KEY.pem')");
        return OTA_EXIT_USAGE;
    }
    if (!a->version) {
        tool_error("sign", "missing --version (e.g. --version 1.2.3+4)");
        return OTA_EXIT_USAGE;
    }
    if (ota_image_version_parse(a->version, &bp->version) != OTA_OK)
        return bad_value("--version", a->version,
                         "MAJOR[.MINOR[.REVISION]][+BUILD] with major, minor <= 255, "
                         "revision <= 65535, build <= 4294967295, no leading zeros");
    if (a->sec) {
        if (!strcmp(a->sec, "auto")) {
            bp->security_counter = ota_image_version_security_counter(&bp->version);
        } else if (tool_parse_u32(a->sec, 0xffffffffu, 0, &bp->security_counter)) {
            return bad_value("--security-counter", a->sec, "a 32-bit number or 'auto'");
        }
        bp->has_security_counter = 1;
    }
    if (a->hw_len > 0) {
        bp->hw_id = a->hw_id;
        bp->hw_id_len = (size_t)a->hw_len;
    }
    if ((bp->pad || bp->confirm) && !bp->slot_size) {
        tool_error("sign", "--pad and --confirm need --slot-size");
        return OTA_EXIT_USAGE;
    }
    if (bp->enc_aes_bits && !a->enc_path) {
        tool_error("sign", "--aes needs --encrypt PUB.pem");
        return OTA_EXIT_USAGE;
    }
    if (bp->load_addr && bp->rom_fixed) {
        tool_error("sign", "--load-addr and --rom-fixed cannot be used together");
        return OTA_EXIT_USAGE;
    }
    if (!strcmp(a->out, "-") && isatty(STDOUT_FILENO)) {
        tool_error("sign", "OUT is '-' (standard output) but that is a terminal");
        return OTA_EXIT_USAGE;
    }
    if (strcmp(a->in, "-") && !strcmp(a->in, a->out)) {
        tool_error("sign", "IN and OUT are the same file (%s); refusing to overwrite the input",
                   a->in);
        return OTA_EXIT_USAGE;
    }
    return SIGN_GO;
}

static int parse_args(int argc, char **argv, struct sign_args *a)
{
    int c, r;

    memset(a, 0, sizeof(*a));
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:v:s:H:x:S:M:R:E:qh", SIGN_OPTS, NULL)) != -1)
        if ((r = parse_option(c, a, argv)) != SIGN_GO)
            return r;
    if (argc - optind != 2) {
        tool_error("sign", "expected IN and OUT files, got %d argument%s (see 'ota sign --help')",
                   argc - optind, argc - optind == 1 ? "" : "s");
        return OTA_EXIT_USAGE;
    }
    a->in = argv[optind];
    a->out = argv[optind + 1];
    return check_args(a);
}

/* Load the private key named by --key into *key. */
static int load_signing_key(const char *path, ota_key **key)
{
    char err[512];
    ota_err rc = ota_key_load(path, key, err, sizeof(err));
    if (rc != OTA_OK) {
        tool_error("sign", "%s", err);
        return ota_exit_code(rc);
    }
    if (!ota_key_has_private(*key)) {
        tool_error("sign", "%s: is a public key; signing needs the private key", path);
        ota_key_free(*key);
        *key = NULL;
        return OTA_EXIT_KEY;
    }
    return SIGN_GO;
}

/* Write the image to OUT (a file, atomically, or standard output). */
static int write_image(struct sign_args *a, const uint8_t *image, size_t image_len)
{
    if (!strcmp(a->out, "-")) {
        if (fwrite(image, 1, image_len, stdout) != image_len || fflush(stdout) != 0) {
            tool_error("sign", "standard output: write failed: %s", strerror(errno));
            return OTA_EXIT_FILE;
        }
        a->quiet = 1; /* the image is on stdout: no summary there */
    } else if (ota_file_write_atomic(a->out, image, image_len) != OTA_OK) {
        tool_error("sign", "%s: cannot write output: %s", a->out, strerror(errno));
        return OTA_EXIT_FILE;
    }
    return SIGN_GO;
}

/* Read IN, build the signed image, write OUT. */
static int sign_payload(struct sign_args *a, ota_key *key)
{
    const struct ota_build_params *bp = &a->bp;
    uint8_t *payload = NULL, *image = NULL;
    size_t payload_len = 0, image_len = 0;
    char err[512];
    ota_err rc;
    int ret;

    if (ota_file_read(strcmp(a->in, "-") ? a->in : "/dev/stdin", &payload, &payload_len) !=
        OTA_OK) {
        tool_error("sign", "%s: cannot read input: %s", a->in, strerror(errno));
        return OTA_EXIT_FILE;
    }
    if (payload_len >= 4 && payload[0] == 0x3d && payload[1] == 0xb8 && payload[2] == 0xf3 &&
        payload[3] == 0x96) {
        tool_error("sign", "%s: is already a signed image (starts with the image magic); "
                           "sign the raw firmware binary instead", a->in);
        free(payload);
        return OTA_EXIT_USAGE;
    }
    a->bp.key = key;
    rc = ota_image_build(bp, payload, payload_len, &image, &image_len, err, sizeof(err));
    if (rc != OTA_OK) {
        tool_error("sign", "%s: %s", a->in, err);
        ret = ota_exit_code(rc);
    } else if ((ret = write_image(a, image, image_len)) == SIGN_GO) {
        if (!a->quiet) {
            char vs[32];
            printf("%s: signed %s (%zu payload bytes) as version %s%s%s, %zu bytes%s%s\n",
                   a->out, a->in, payload_len,
                   ota_image_version_str(&bp->version, vs, sizeof(vs)),
                   bp->has_link_slot ? ", linked for slot " : "",
                   bp->has_link_slot ? ota_link_slot_name(bp->link_slot) : "", image_len,
                   bp->pad || bp->confirm ? (bp->confirm ? " (padded, confirmed)" : " (padded)")
                                          : "",
                   !bp->enc_key ? ""
                   : bp->enc_aes_bits == 256 ? ", encrypted (AES-256)"
                                             : ", encrypted (AES-128)");
        }
        ret = OTA_EXIT_OK;
    }
    free(payload);
    free(image);
    return ret;
}

int ota_cmd_sign(int argc, char **argv)
{
    struct sign_args a;
    ota_key *key = NULL, *enc = NULL;
    int ret;

    if ((ret = parse_args(argc, argv, &a)) != SIGN_GO)
        return ret;
    if ((ret = load_signing_key(a.key_path, &key)) != SIGN_GO)
        return ret;
    if (a.enc_path) {
        char err[512];
        ota_err rc = ota_key_load(a.enc_path, &enc, err, sizeof(err));
        if (rc != OTA_OK) {
            tool_error("sign", "--encrypt: %s", err);
            ota_key_free(key);
            return ota_exit_code(rc);
        }
        a.bp.enc_key = enc;
    }
    ret = sign_payload(&a, key);
    ota_key_free(enc);
    ota_key_free(key);
    return ret;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * src/sim/cmd_create.c - `ota-sim create`: a new simulated device, provisioned
 * as a factory would: bootloader region with the trusted key and hardware id,
 * its hash burned into OTP, a blank boot state, both slots empty.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ota/host.h"
#include "sim_cli.h"

static void help(FILE *f)
{
    size_t i;
    fprintf(f, "Usage: ota-sim create FLASH --key PUB.pem [--geometry NAME] [--hw-id ID]\n"
               "                      [--attempts N] [--slot-size BYTES] [--force]\n"
               "                      [--enc-key DEVICE-PRIV.pem]\n\n"
               "Create the flash file FLASH for a new device and provision it: the bootloader\n"
               "region (holding the trusted image-signing key and the hardware id) is hashed\n"
               "into the emulated OTP that stage 0 checks; the boot state starts empty.\n\n"
               "Options:\n"
               "  --key PUB.pem      image-signing public key (PEM/DER; a private key works too)\n"
               "  --geometry NAME    flash geometry (default " OTA_SIM_DEFAULT_GEOMETRY ")\n"
               "  --hw-id ID         hardware id images must carry (default: none required)\n"
               "  --attempts N       trial boots before an unconfirmed image is reverted (default %u)\n"
               "  --slot-size BYTES  slot size (default: as large as the flash allows)\n"
               "  --enc-key PRIV.pem the device's image decryption key (P-256 private key):\n"
               "                     the device then installs encrypted images. Kept in\n"
               "                     FLASH.enc-key.pem (0600), the simulated protected storage\n"
               "  --force            overwrite an existing FLASH\n\n"
               "Geometries:\n", OTA_BOOT_DEFAULT_ATTEMPTS);
    for (i = 0; i < ota_sim_geometry_count(); i++) {
        const struct ota_sim_geometry *g = ota_sim_geometry_at(i);
        fprintf(f, "  %-11s %s\n", g->name, g->description);
    }
    fputc('\n', f);
    ota_exit_codes_print(f, OTA_PROG_SIM);
}

static int parse_u32(const char *s, unsigned long max, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (!*s || *end || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int sim_cmd_create(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, 0, 'k'},   {"geometry", required_argument, 0, 'g'},
        {"hw-id", required_argument, 0, 'i'}, {"attempts", required_argument, 0, 'a'},
        {"slot-size", required_argument, 0, 's'}, {"force", no_argument, 0, 'f'},
        {"enc-key", required_argument, 0, 'e'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *enc_path = NULL;
    ota_key *enc = NULL;
    char enc_store[4096];
    const char *key_path = NULL, *geo_name = OTA_SIM_DEFAULT_GEOMETRY, *hw_id = NULL;
    uint32_t attempts = OTA_BOOT_DEFAULT_ATTEMPTS, slot_size = 0;
    int force = 0, c, rc, hw_len = 0;
    uint8_t hw_bytes[OTA_HW_ID_MAX];
    const struct ota_sim_geometry *g;
    struct sim_device *d;
    struct ota_diag diag;
    struct stat st;
    char err[512];
    ota_key *key = NULL;
    ota_err e;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key_path = optarg; break;
        case 'g': geo_name = optarg; break;
        case 'i': hw_id = optarg; break;
        case 'a':
            if (parse_u32(optarg, 255, &attempts) || attempts == 0) {
                fprintf(stderr, "ota-sim create: --attempts must be 1..255, got '%s'\n", optarg);
                return OTA_EXIT_USAGE;
            }
            break;
        case 's':
            if (parse_u32(optarg, 0xffffffffUL, &slot_size) || slot_size == 0) {
                fprintf(stderr, "ota-sim create: --slot-size must be a byte count, got '%s'\n",
                        optarg);
                return OTA_EXIT_USAGE;
            }
            break;
        case 'f': force = 1; break;
        case 'e': enc_path = optarg; break;
        case 'h': help(stdout); return OTA_EXIT_OK;
        default:
            fprintf(stderr, "ota-sim create: see 'ota-sim create --help'\n");
            return OTA_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "ota-sim create: expected exactly one FLASH file argument\n");
        return OTA_EXIT_USAGE;
    }
    if (!key_path) {
        fprintf(stderr, "ota-sim create: --key PUB.pem is required (the key images are signed with)\n");
        return OTA_EXIT_USAGE;
    }
    g = ota_sim_geometry_find(geo_name);
    if (!g) {
        fprintf(stderr, "ota-sim create: unknown geometry '%s' (see 'ota-sim create --help')\n",
                geo_name);
        return OTA_EXIT_USAGE;
    }
    if (hw_id && (hw_len = ota_hw_id_parse(hw_id, hw_bytes)) <= 0) {
        fprintf(stderr, "ota-sim create: invalid value '%s' for --hw-id: expected %s\n", hw_id,
                OTA_HW_ID_RULE);
        return OTA_EXIT_USAGE;
    }
    if (!force && stat(argv[optind], &st) == 0) {
        fprintf(stderr, "ota-sim create: %s exists (use --force to overwrite it)\n", argv[optind]);
        return OTA_EXIT_ERROR;
    }
    if (ota_key_load(key_path, &key, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "ota-sim create: %s\n", err);
        return OTA_EXIT_FILE;
    }
    if (sim_enc_key_path(argv[optind], enc_store, sizeof enc_store)) {
        fprintf(stderr, "ota-sim create: %s: path too long\n", argv[optind]);
        ota_key_free(key);
        return OTA_EXIT_USAGE;
    }
    if (enc_path) {
        if (ota_key_load(enc_path, &enc, err, sizeof err) != OTA_OK) {
            fprintf(stderr, "ota-sim create: %s\n", err);
            ota_key_free(key);
            return OTA_EXIT_FILE;
        }
        if (!ota_key_has_private(enc)) {
            fprintf(stderr, "ota-sim create: %s: --enc-key needs the device's PRIVATE key "
                            "(the device decrypts with it)\n", enc_path);
            ota_key_free(enc);
            ota_key_free(key);
            return OTA_EXIT_USAGE;
        }
    }

    d = calloc(1, sizeof *d);
    if (!d) {
        ota_key_free(key);
        return OTA_EXIT_ERROR;
    }
    d->path = argv[optind];
    rc = OTA_EXIT_ERROR;
    if (ota_sim_init_geometry(&d->sim, g, 0) != OTA_OK)
        goto out;
    sim_device_attach(d);
    memset(&d->cfg, 0, sizeof d->cfg);
    e = ota_boot_layout_make(&d->sim.flash, 0, slot_size, &d->cfg.layout);
    if (e) {
        fprintf(stderr, "ota-sim create: --slot-size %u does not fit geometry %s "
                "(%u sectors of %u bytes, with bootloader, state and OTP)\n",
                slot_size, g->name, g->sector_count, g->sector_size);
        rc = OTA_EXIT_USAGE;
        goto out;
    }
    if (ota_key_pubkey(key, &d->cfg.key) != OTA_OK) {
        fprintf(stderr, "ota-sim create: %s: cannot export the public key\n", key_path);
        goto out;
    }
    if (hw_id) {
        d->cfg.hw_id_len = (uint8_t)hw_len;
        memcpy(d->cfg.hw_id, hw_bytes, d->cfg.hw_id_len);
    }
    d->cfg.max_attempts = (uint8_t)attempts;
    e = ota_boot_provision(&d->dev, &d->cfg, &diag);
    if (e) {
        sim_print_err("create", "provisioning", e, &diag);
        goto out;
    }
    /* OTP is one-time programmable from now on: the simulator enforces it */
    ota_sim_protect(&d->sim, d->cfg.layout.otp_off / g->sector_size, 1);
    /* The decryption key goes to the simulated protected storage; a device
     * re-created without one must not inherit the old one. */
    if (enc ? ota_key_save_private(enc, enc_store) != OTA_OK
            : (remove(enc_store) != 0 && errno != ENOENT)) {
        fprintf(stderr, "ota-sim create: %s: cannot write the device key\n", enc_store);
        rc = OTA_EXIT_FILE;
        goto out;
    }
    rc = sim_device_save(d);
    if (rc == OTA_EXIT_OK) {
        uint8_t kh[OTA_SHA256_LEN];
        char hex[2 * OTA_SHA256_LEN + 1];
        ota_sha256(d->dev.crypto, d->cfg.key.spki, sizeof d->cfg.key.spki, kh);
        ota_hex_encode(kh, 8, hex);
        printf("created %s: geometry %s (%u sectors x %u bytes, program unit %u)\n",
               d->path, g->name, g->sector_count, g->sector_size, g->prog_size);
        printf("  bootloader 0x%06x..0x%06x, slot A 0x%06x, slot B 0x%06x (%u bytes each),\n"
               "  boot state 0x%06x (2 sectors), OTP 0x%06x\n",
               d->cfg.layout.boot_off, d->cfg.layout.boot_size, d->cfg.layout.slot_off[0],
               d->cfg.layout.slot_off[1], d->cfg.layout.slot_size, d->cfg.layout.state_off,
               d->cfg.layout.otp_off);
        printf("  trusted key %s..., hw id %s, %u trial attempts; no image installed\n", hex,
               hw_id ? hw_id : "(none required)", attempts);
        if (enc)
            printf("  image decryption key in %s (installs encrypted images)\n", enc_store);
    }
out:
    ota_key_free(enc);
    ota_key_free(key);
    sim_device_free(d);
    return rc;
}

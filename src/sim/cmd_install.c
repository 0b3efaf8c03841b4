// SPDX-License-Identifier: Apache-2.0
/*
 * src/sim/cmd_install.c - `ota-sim install`: stream a signed image into the
 * device's inactive slot and mark it pending, through the core installer
 * (ota_install_begin/write/finish) that the device update engine uses too.
 * Optionally cuts power part-way, to try the recovery by hand.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ota/host.h"
#include "ota/image_enc.h"
#include "sim_cli.h"

static void help(FILE *f)
{
    fprintf(f, "Usage: ota-sim install FLASH IMAGE [--permanent]\n"
               "                       [--power-cut N [--torn] [--seed S]]\n\n"
               "Write the signed IMAGE into the slot that is not confirmed, verify it there\n"
               "exactly as the bootloader will (signature, hardware id, security counter >=\n"
               "the OTP anti-rollback counter) and mark it pending: the next boot runs it on\n"
               "trial. An image that fails verification is refused and never marked.\n"
               "An encrypted image (from 'ota sign' with a device key) needs a device created\n"
               "with --enc-key: its key TLV is opened first (refused before anything is\n"
               "written if it does not open), then the body is decrypted on its way into\n"
               "the slot.\n\n"
               "Options:\n"
               "  --permanent     mark the image confirmed at once (no trial; factory use)\n"
               SIM_CUT_HELP "\n");
    ota_exit_codes_print(f, OTA_PROG_SIM);
}

/*
 * An encrypted image: open its key TLV with the device's key before anything
 * is written. Returns OTA_OK (and *encrypted) or the refusal; a negative
 * value is an exit code (key file unreadable, reason printed).
 */
static int open_key(struct sim_device *d, const uint8_t *img, uint32_t len,
                    struct ota_enc_key *k, int *encrypted, struct ota_diag *diag)
{
    struct ota_mem_reader m;
    struct ota_reader r;
    struct ota_image_info info;
    struct ota_enc_privkey dev;
    int have;
    ota_err e;

    memset(k, 0, sizeof *k);
    *encrypted = 0;
    ota_reader_from_mem(&r, &m, img, len);
    if (ota_image_parse(&r, &info, NULL) != OTA_OK || !info.enc_aes_len)
        return OTA_OK; /* clear, or malformed: the installer refuses it itself */
    have = sim_device_enc_key(d, &dev);
    if (have < 0)
        return have;
    e = ota_enc_image_key(&r, &info, sim_device_enc_crypto(d), have ? &dev : NULL, k, diag);
    memset(&dev, 0, sizeof dev);
    *encrypted = e == OTA_OK;
    return e;
}

int sim_cmd_install(int argc, char **argv)
{
    static const struct option opts[] = {
        {"permanent", no_argument, 0, 'p'}, SIM_CUT_LONG_OPTIONS,
        {"help", no_argument, 0, 'h'},      {0, 0, 0, 0}};
    struct sim_cut_opts cut;
    int permanent = 0, c, rc, fired;
    struct sim_device *d;
    struct ota_install ins;
    struct ota_image_info info;
    struct ota_diag diag;
    struct ota_enc_key ekey;
    int encrypted = 0, krc;
    uint8_t *img = NULL;
    size_t len = 0, off;
    char ver[32];
    ota_err e;

    memset(&ekey, 0, sizeof ekey);
    sim_cut_init(&cut);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = sim_cut_option(&cut, c, optarg, "install");
        if (k < 0)
            return OTA_EXIT_USAGE;
        if (k > 0)
            continue;
        switch (c) {
        case 'p': permanent = 1; break;
        case 'h': help(stdout); return OTA_EXIT_OK;
        default:
            fprintf(stderr, "ota-sim install: see 'ota-sim install --help'\n");
            return OTA_EXIT_USAGE;
        }
    }
    if (optind != argc - 2) {
        fprintf(stderr, "ota-sim install: expected FLASH and IMAGE arguments\n");
        return OTA_EXIT_USAGE;
    }
    if (sim_cut_check(&cut, "install"))
        return OTA_EXIT_USAGE;
    if (ota_file_read(argv[optind + 1], &img, &len) != OTA_OK) {
        fprintf(stderr, "ota-sim install: %s: cannot read the image file\n", argv[optind + 1]);
        return OTA_EXIT_FILE;
    }
    rc = sim_device_new(&d, argv[optind]);
    if (rc) {
        free(img);
        return rc;
    }
    if (len > 0xffffffffu) {
        fprintf(stderr, "ota-sim install: %s: image too large\n", argv[optind + 1]);
        rc = OTA_EXIT_ERROR;
        goto out;
    }
    memset(&diag, 0, sizeof diag);
    krc = open_key(d, img, (uint32_t)len, &ekey, &encrypted, &diag);
    if (krc < 0) {
        rc = -krc;
        goto out;
    }
    e = (ota_err)krc;
    if (e) {
        char what[600];
        snprintf(what, sizeof what, "%s refused", argv[optind + 1]);
        sim_print_err("install", what, e, &diag);
        rc = OTA_EXIT_ERROR;
        goto out;
    }
    sim_cut_arm(d, &cut);

    e = ota_install_begin(&ins, &d->dev, (uint32_t)len, &diag);
    if (!e && encrypted)
        e = ota_install_decrypt(&ins, &ekey);
    for (off = 0; !e && off < len; off += 4096) {
        size_t n = len - off < 4096 ? len - off : 4096;
        e = ota_install_write(&ins, img + off, n);
    }
    if (!e)
        e = ota_install_finish(&ins, permanent, &info, &diag);

    fired = sim_cut_finish(d, &cut, "install");
    if (fired || e == OTA_ERR_POWER_LOSS) {
        fprintf(stderr, "ota-sim install: install interrupted by the power cut\n");
        rc = OTA_EXIT_ERROR;
    } else if (e) {
        char what[600];
        snprintf(what, sizeof what, "%s refused", argv[optind + 1]);
        sim_print_err("install", what, e, &diag);
        rc = ota_exit_code(e); /* 5..14 for an image refused, as `ota verify` */
    } else {
        ota_image_version_str(&info.hdr.version, ver, sizeof ver);
        printf("installed %s into slot %s: version %s, security counter %u, %u bytes; %s\n",
               argv[optind + 1], sim_slot_name(ins.slot), ver, info.security_counter,
               info.total_size,
               permanent ? "confirmed (permanent)" : "pending: the next boot runs it on trial");
        rc = OTA_EXIT_OK;
    }
    /* the flash changed either way (slot written): keep it */
    rc = sim_device_save_rc(d, rc);
out:
    ota_enc_key_wipe(&ekey);
    sim_device_free(d);
    free(img);
    return rc;
}

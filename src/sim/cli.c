// SPDX-License-Identifier: Apache-2.0
/*
 * src/sim/cli.c - helpers every ota-sim command uses: load/save the device
 * file, attach the core's boot device, name slots, print errors the same way,
 * and the --power-cut/--torn/--seed options that cut power inside a command.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ota/host.h"
#include "ota/image_enc.h"
#include "ota/image_slot.h"
#include "sim_cli.h"

int sim_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

const char *sim_slot_name(int slot)
{
    return slot == 0 ? "A" : slot == 1 ? "B" : "none";
}

int sim_link_slot(struct sim_device *d, int slot)
{
    struct ota_flash_area a;
    struct ota_reader r;
    struct ota_image_info info;
    int link = OTA_LINK_SLOT_ANY;
    if (!d->cfg_ok || slot < 0 || slot > 1)
        return OTA_LINK_SLOT_ANY;
    ota_reader_from_flash(&r, &a, &d->sim.flash, d->cfg.layout.slot_off[slot],
                          d->cfg.layout.slot_size);
    if (ota_image_parse(&r, &info, NULL) != OTA_OK ||
        ota_image_link_slot(&r, &info, &link, NULL) != OTA_OK)
        return OTA_LINK_SLOT_ANY;
    return link;
}

void sim_print_err(const char *cmd, const char *what, int err, const struct ota_diag *d)
{
    char line[OTA_DIAG_STR_MAX + 128];
    fprintf(stderr, "ota-sim %s: %s: %s\n", cmd, what,
            ota_err_diag_str((ota_err)err, d, line, sizeof line));
}

void sim_device_attach(struct sim_device *d)
{
    const char *c = getenv("OTA_SIM_CRYPTO");
    memset(&d->dev, 0, sizeof d->dev);
    d->dev.flash = &d->sim.flash;
    d->dev.crypto = c && strcmp(c, "mbedtls") == 0 ? ota_crypto_mbedtls() : ota_crypto_openssl();
    d->dev.buf = d->buf;
    d->dev.buf_len = sizeof d->buf;
    d->dev.prog_chunk = 256;
    d->cfg_ok = ota_boot_config_read(&d->sim.flash, &d->cfg, NULL) == OTA_OK;
}

const struct ota_crypto_enc *sim_device_enc_crypto(const struct sim_device *d)
{
    return d->dev.crypto == ota_crypto_mbedtls() ? ota_crypto_enc_mbedtls()
                                                 : ota_crypto_enc_openssl();
}

int sim_enc_key_path(const char *flash_path, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s.enc-key.pem", flash_path);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int sim_device_enc_key(const struct sim_device *d, struct ota_enc_privkey *out)
{
    char path[4096], err[512];
    struct stat st;
    ota_key *k = NULL;
    ota_err e;

    if (sim_enc_key_path(d->path, path, sizeof path)) {
        fprintf(stderr, "ota-sim: %s: path too long\n", d->path);
        return -OTA_EXIT_FILE;
    }
    if (stat(path, &st) != 0 && errno == ENOENT)
        return 0;
    if (ota_key_load(path, &k, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "ota-sim: device decryption key: %s\n", err);
        return -OTA_EXIT_FILE;
    }
    e = ota_key_private_scalar(k, out);
    ota_key_free(k);
    if (e != OTA_OK) {
        fprintf(stderr, "ota-sim: %s: not a P-256 private key\n", path);
        return -OTA_EXIT_FILE;
    }
    return 1;
}

int sim_device_open(struct sim_device *d, const char *path)
{
    char err[512];
    memset(d, 0, sizeof *d);
    d->path = path;
    if (ota_sim_load(&d->sim, path, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "ota-sim: %s\n", err);
        return OTA_EXIT_FILE;
    }
    sim_device_attach(d);
    return OTA_EXIT_OK;
}

int sim_device_save(struct sim_device *d)
{
    char err[512];
    if (ota_sim_save(&d->sim, d->path, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "ota-sim: %s\n", err);
        return OTA_EXIT_FILE;
    }
    return OTA_EXIT_OK;
}

void sim_device_close(struct sim_device *d)
{
    ota_sim_free(&d->sim);
}

int sim_device_new(struct sim_device **out, const char *path)
{
    struct sim_device *d = malloc(sizeof *d);
    int rc;
    *out = NULL;
    if (!d)
        return OTA_EXIT_ERROR;
    rc = sim_device_open(d, path);
    if (rc) {
        free(d);
        return rc;
    }
    *out = d;
    return OTA_EXIT_OK;
}

void sim_device_free(struct sim_device *d)
{
    sim_device_close(d);
    free(d);
}

int sim_device_save_rc(struct sim_device *d, int rc)
{
    int src = sim_device_save(d);
    return src ? src : rc;
}

void sim_cut_init(struct sim_cut_opts *o)
{
    o->at = -1;
    o->torn = 0;
    o->seed = 1;
}

int sim_cut_option(struct sim_cut_opts *o, int c, const char *arg, const char *cmd)
{
    char *end;
    switch (c) {
    case 'C':
        o->at = strtoll(arg, &end, 0);
        if (!*arg || *end || o->at < 0) {
            fprintf(stderr, "ota-sim %s: --power-cut needs an operation index >= 0\n", cmd);
            return -1;
        }
        return 1;
    case 'T':
        o->torn = 1;
        return 1;
    case 'S':
        o->seed = strtoull(arg, &end, 0);
        if (!*arg || *end) {
            fprintf(stderr, "ota-sim %s: --seed needs a number\n", cmd);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

int sim_cut_check(const struct sim_cut_opts *o, const char *cmd)
{
    if (o->torn && o->at < 0) {
        fprintf(stderr, "ota-sim %s: --torn needs --power-cut N\n", cmd);
        return OTA_EXIT_USAGE;
    }
    return 0;
}

void sim_cut_arm(struct sim_device *d, const struct sim_cut_opts *o)
{
    if (o->at >= 0)
        ota_sim_arm_cut(&d->sim, o->torn ? OTA_SIM_CUT_TORN : OTA_SIM_CUT_BEFORE,
                        (uint64_t)o->at, o->seed);
}

int sim_cut_finish(struct sim_device *d, const struct sim_cut_opts *o, const char *cmd)
{
    int fired = o->at >= 0 && d->sim.cut_fired;
    if (fired) {
        fprintf(stderr, "ota-sim %s: power cut %s flash operation %lld (run 'ota-sim boot %s' "
                "to see what the device does)\n",
                cmd, o->torn ? "in the middle of" : "before", o->at, d->path);
        d->sim.running_slot = -1; /* power lost: nothing runs until the next boot */
    } else if (o->at >= 0) {
        fprintf(stderr, "ota-sim %s: note: the command took fewer than %lld flash operations; "
                "no power cut happened\n", cmd, o->at + 1);
    }
    ota_sim_power_on(&d->sim);
    return fired;
}

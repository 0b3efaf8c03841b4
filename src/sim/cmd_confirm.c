// SPDX-License-Identifier: Apache-2.0
/*
 * src/sim/cmd_confirm.c - `ota-sim confirm`: what healthy firmware does after
 * a trial boot: confirm its own slot (ota_boot_confirm), which ends the trial
 * and raises the OTP anti-rollback counter to the image's security counter.
 */
#include <getopt.h>
#include <stdlib.h>

#include "sim_cli.h"

static void help(FILE *f)
{
    fprintf(f, "Usage: ota-sim confirm FLASH [--power-cut N [--torn] [--seed S]]\n\n"
               "The running firmware (the slot the last 'ota-sim boot' started) confirms\n"
               "itself: its slot becomes the confirmed one, the trial ends, and the OTP\n"
               "anti-rollback counter is raised to its security counter (never lowered).\n"
               "Confirming an already confirmed slot changes nothing.\n\n"
               "Options:\n" SIM_CUT_HELP "\n");
    ota_exit_codes_print(f, OTA_PROG_SIM);
}

int sim_cmd_confirm(int argc, char **argv)
{
    static const struct option opts[] = {
        SIM_CUT_LONG_OPTIONS, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    struct sim_cut_opts cut;
    struct sim_device *d;
    struct ota_diag diag = {0};
    struct ota_otp_counter before, after;
    int c, rc, slot;
    ota_err e;

    sim_cut_init(&cut);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = sim_cut_option(&cut, c, optarg, "confirm");
        if (k < 0)
            return OTA_EXIT_USAGE;
        if (k > 0)
            continue;
        if (c == 'h') {
            help(stdout);
            return OTA_EXIT_OK;
        }
        fprintf(stderr, "ota-sim confirm: see 'ota-sim confirm --help'\n");
        return OTA_EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "ota-sim confirm: expected exactly one FLASH argument\n");
        return OTA_EXIT_USAGE;
    }
    if (sim_cut_check(&cut, "confirm"))
        return OTA_EXIT_USAGE;
    rc = sim_device_new(&d, argv[optind]);
    if (rc)
        return rc;
    slot = d->sim.running_slot;
    if (slot < 0) {
        fprintf(stderr, "ota-sim confirm: %s: no firmware is running (boot the device first: "
                "'ota-sim boot %s')\n", d->path, d->path);
        sim_device_free(d);
        return OTA_EXIT_ERROR;
    }
    if (!d->cfg_ok || ota_otp_read_counter(&d->sim.flash, &d->cfg.layout, &before) != OTA_OK)
        before.value = 0;
    sim_cut_arm(d, &cut);
    e = ota_boot_confirm(&d->dev, slot, &diag);
    if (sim_cut_finish(d, &cut, "confirm") || e == OTA_ERR_POWER_LOSS) {
        fprintf(stderr, "ota-sim confirm: interrupted by the power cut\n");
        rc = OTA_EXIT_ERROR;
    } else if (e) {
        sim_print_err("confirm", d->path, e, &diag);
        rc = OTA_EXIT_ERROR;
    } else {
        if (ota_otp_read_counter(&d->sim.flash, &d->cfg.layout, &after) != OTA_OK)
            after.value = before.value;
        printf("confirmed slot %s; OTP anti-rollback counter %u", sim_slot_name(slot), after.value);
        if (after.value != before.value)
            printf(" (raised from %u)", before.value);
        printf("\n");
        rc = OTA_EXIT_OK;
    }
    rc = sim_device_save_rc(d, rc);
    sim_device_free(d);
    return rc;
}

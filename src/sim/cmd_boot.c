// SPDX-License-Identifier: Apache-2.0
/*
 * src/sim/cmd_boot.c - `ota-sim boot`: a reset of the simulated device (power
 * on, watchdog or reset button: a boot without confirmation). Runs stage 0
 * and the bootloader from the core and reports which slot and version run,
 * or why the device stays in recovery.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ota/host.h"
#include "ota/image_slot.h"
#include "sim_cli.h"

static void help(FILE *f)
{
    fprintf(f, "Usage: ota-sim boot FLASH [--json] [--power-cut N [--torn] [--seed S]]\n\n"
               "Reset the device: stage 0 checks the bootloader region against the hash in\n"
               "OTP, then the bootloader picks the pending slot while trial attempts remain\n"
               "(counting the attempt first), else the confirmed slot, else the other valid\n"
               "slot, and runs it only after full verification. Prints the slot and version\n"
               "that run, or the recovery reason (exit code 3).\n\n"
               "Options:\n"
               "  --json          print the result as one JSON object\n"
               SIM_CUT_HELP "\n");
    ota_exit_codes_print(f, OTA_PROG_SIM);
}

static const char *slot_err_name(ota_err e)
{
    return e == OTA_ERR_NOT_CHECKED ? NULL : ota_errname(e);
}

int sim_cmd_boot(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, SIM_CUT_LONG_OPTIONS, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    struct sim_cut_opts cut;
    int json = 0, c, rc, i;
    struct sim_device *d;
    struct ota_boot_result res;
    char ver[32];
    ota_err e;

    sim_cut_init(&cut);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = sim_cut_option(&cut, c, optarg, "boot");
        if (k < 0)
            return OTA_EXIT_USAGE;
        if (k > 0)
            continue;
        switch (c) {
        case 'j': json = 1; break;
        case 'h': help(stdout); return OTA_EXIT_OK;
        default:
            fprintf(stderr, "ota-sim boot: see 'ota-sim boot --help'\n");
            return OTA_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "ota-sim boot: expected exactly one FLASH argument\n");
        return OTA_EXIT_USAGE;
    }
    if (sim_cut_check(&cut, "boot"))
        return OTA_EXIT_USAGE;
    rc = sim_device_new(&d, argv[optind]);
    if (rc)
        return rc;
    sim_cut_arm(d, &cut);
    e = ota_boot(&d->dev, &res);
    d->sim.boot_count++;
    d->sim.running_slot = res.slot;
    if (sim_cut_finish(d, &cut, "boot") || e == OTA_ERR_POWER_LOSS) {
        /* the boot never finished: nothing runs */
        fprintf(stderr, "ota-sim boot: the boot was interrupted: nothing runs\n");
        d->sim.running_slot = -1;
        rc = sim_device_save_rc(d, OTA_EXIT_ERROR);
        sim_device_free(d);
        return rc;
    }
    ota_image_version_str(&res.info.hdr.version, ver, sizeof ver);
    /* A per-slot build in the other slot cannot run there (the Cortex-M
     * port's ROM_FIXED check): nothing starts; a trial's attempt is counted,
     * so the next boots revert it. */
    int link = sim_link_slot(d, res.slot);
    int wrong_slot = res.slot >= 0 && link != OTA_LINK_SLOT_ANY && link != res.slot;
    if (wrong_slot)
        d->sim.running_slot = -1;

    if (json) {
        json_t *o = json_object(), *errs = json_object();
        char *txt;
        json_object_set_new(o, "running", res.slot >= 0 && !wrong_slot
                                              ? json_string(sim_slot_name(res.slot))
                                              : json_null());
        if (wrong_slot)
            json_object_set_new(o, "cannot_start",
                                json_string(link ? "linked for slot B" : "linked for slot A"));
        json_object_set_new(o, "recovery", json_boolean(res.slot < 0));
        if (res.slot >= 0) {
            json_object_set_new(o, "version", json_string(ver));
            json_object_set_new(o, "security_counter", json_integer(res.info.security_counter));
            json_object_set_new(o, "trial", json_boolean(res.trial));
            json_object_set_new(o, "attempts_left", json_integer(res.attempts_left));
        } else {
            json_object_set_new(o, "reason", json_string(ota_errname(res.reason)));
            json_object_set_new(o, "reason_text", json_string(ota_strerror(res.reason)));
        }
        json_object_set_new(o, "reverted", json_boolean(res.reverted));
        json_object_set_new(o, "fell_back", json_boolean(res.fell_back));
        json_object_set_new(o, "otp_counter", json_integer(res.otp_counter));
        for (i = 0; i < 2; i++) {
            const char *n = slot_err_name(res.slot_err[i]);
            json_object_set_new(errs, sim_slot_name(i), n ? json_string(n) : json_null());
        }
        json_object_set_new(o, "slot_checks", errs);
        txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(txt);
        free(txt);
        json_decref(o);
    } else {
        for (i = 0; i < 2; i++)
            if (res.slot_err[i] != OTA_ERR_NOT_CHECKED && res.slot_err[i] != OTA_OK)
                printf("slot %s refused: %s (%s)\n", sim_slot_name(i),
                       ota_strerror(res.slot_err[i]), ota_errname(res.slot_err[i]));
        if (res.reverted)
            printf("trial ended without confirmation: reverted\n");
        if (wrong_slot) {
            printf("cannot start slot %s: version %s is the build linked for slot %s%s\n",
                   sim_slot_name(res.slot), ver, sim_slot_name(link),
                   res.trial ? " (on trial: the attempt is counted; boot again to revert)" : "");
        } else if (res.slot >= 0) {
            printf("booted slot %s: version %s, security counter %u", sim_slot_name(res.slot),
                   ver, res.info.security_counter);
            if (res.trial)
                printf(", on trial (%u attempt%s left; run 'ota-sim confirm')\n",
                       res.attempts_left, res.attempts_left == 1 ? "" : "s");
            else
                printf(", confirmed%s\n", res.fell_back ? " (fell back: preferred slot invalid)" : "");
        } else {
            char line[OTA_DIAG_STR_MAX + 128];
            printf("recovery: %s\n", ota_err_diag_str(res.reason, &res.diag, line, sizeof line));
        }
    }
    (void)e;
    rc = sim_device_save_rc(d, res.slot < 0 || wrong_slot ? OTA_EXIT_SIM_RECOVERY : OTA_EXIT_OK);
    sim_device_free(d);
    return rc;
}

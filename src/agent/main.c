// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - the `ota-agent` executable: reads its configuration (file and
 * flags), opens the device backend (a simulated device's flash file, or a
 * Linux A/B device: backend_linux*.c, docs/linux.md) and runs the check-in /
 * download / install / confirm loop until stopped. On Linux also the
 * boot-time --confirm and the factory --provision SLOT IMAGE.
 *
 * On a simulated device the agent plays the running firmware: `ota-sim boot`
 * decides what runs, the agent updates, and exit code 20 (OTA_EXIT_AGENT_REBOOT)
 * tells the caller to reboot the device (`ota-sim run` does all of this in one
 * process). Exit codes: the shared table, src/host/exit_codes.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "exit_codes.h"
#include "linux.h"
#include "ota/sim.h"
#include "ota/version.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: ota-agent [--config FILE] [--KEY VALUE ...] [--once]\n"
            "       ota-agent [--config FILE] [--KEY VALUE ...] --confirm\n"
            "       ota-agent [--config FILE] [--KEY VALUE ...] --provision A|B IMAGE\n"
            "       ota-agent [--config FILE] [--KEY VALUE ...] --verify-slot A|B\n\n"
            "The device agent: checks in with ota-server, downloads and verifies signed\n"
            "updates into the inactive slot (resuming interrupted downloads), reboots\n"
            "into a trial, runs a self-test, then confirms or lets the trial fail, and\n"
            "reports every step.\n\n"
            "Options:\n"
            "  -c, --config FILE   configuration file ('key = value' lines)\n"
            "      --once          one check-in (and update, if offered), then exit\n"
            "      --confirm       Linux, at boot: self-test a trial slot and confirm it (or\n"
            "                      mark it bad: exit 21), else mark the running slot good\n"
            "      --provision S IMAGE  Linux: write signed IMAGE into slot S (A or B),\n"
            "                      verified, and make it the good primary slot\n"
            "      --verify-slot S Linux: verify the image in slot S in place (the\n"
            "                      boot-time check); exit 0 when valid\n"
            "  -h, --help          this help\n"
            "  -V, --version       print the version\n"
            "  --KEY VALUE         any configuration key below (overrides the file)\n\n");
    fputs(agent_config_help, f);
    fputc('\n', f);
    fputs(agent_linux_config_help, f);
    fputc('\n', f);
    fputs(agent_smp_config_help, f);
    fputc('\n', f);
    ota_exit_codes_print(f, OTA_PROG_AGENT);
    fprintf(f, "\nExample (simulated device):\n"
               "  ota-sim boot dev.flash\n"
               "  ota-agent --config agent.conf --flash dev.flash --once\n"
               "Documentation: docs/agent.md\n");
}

int main(int argc, char **argv)
{
    struct agent_config cfg;
    struct ota_sim sim;
    struct agent_sim_backend *sb = NULL;
    struct agent_linux_backend *lb = NULL;
    struct agent a;
    struct agent_health health;
    char err[512];
    const char *config = NULL, *prov_slot = NULL, *prov_image = NULL, *verify_slot = NULL;
    int once = 0, confirm = 0, skip = 0, i, rc;
    unsigned replaced = 0;
    enum agent_outcome o = AGENT_IDLE;

    agent_config_defaults(&cfg);
    /* the file first, then flags override it */
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return OTA_EXIT_OK;
        }
        if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("ota-agent %s\n", OTA_VERSION);
            return OTA_EXIT_OK;
        }
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            config = argv[++i];
    }
    if (config && agent_config_load_file(&cfg, config, err, sizeof err)) {
        fprintf(stderr, "ota-agent: %s\n", err);
        return OTA_EXIT_CONFIG;
    }
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
            i++;
        } else if (!strcmp(argv[i], "--once")) {
            once = 1;
        } else if (!strcmp(argv[i], "--confirm")) {
            confirm = 1;
        } else if (!strcmp(argv[i], "--provision") && i + 2 < argc) {
            prov_slot = argv[++i];
            prov_image = argv[++i];
        } else if (!strcmp(argv[i], "--verify-slot") && i + 1 < argc) {
            verify_slot = argv[++i];
        } else if (!strncmp(argv[i], "--", 2) && i + 1 < argc) {
            if (agent_config_override(&cfg, argv[i] + 2, argv[i + 1], &replaced, err,
                                      sizeof err)) {
                fprintf(stderr, "ota-agent: %s\n", err);
                return OTA_EXIT_CONFIG;
            }
            i++;
        } else {
            fprintf(stderr, "ota-agent: unexpected argument '%s' (see --help)\n", argv[i]);
            return OTA_EXIT_USAGE;
        }
    }
    if (prov_slot) {
        /* factory / disk building: no server settings needed */
        agent_log_setup("ota-agent", cfg.log_level);
        return agent_linux_provision_main(&cfg, prov_slot, prov_image);
    }
    if (verify_slot) {
        agent_log_setup("ota-agent", cfg.log_level);
        return agent_linux_verify_main(&cfg, verify_slot);
    }
    if (agent_config_finish(&cfg, err, sizeof err)) {
        fprintf(stderr, "ota-agent: %s\n", err);
        return OTA_EXIT_CONFIG;
    }
    if (cfg.smp.enabled) {
        if (confirm) {
            fprintf(stderr, "ota-agent: --confirm is for backend = linux (a gateway confirms "
                            "its MCU in its loop)\n");
            return OTA_EXIT_CONFIG;
        }
        agent_log_setup("ota-agent", cfg.log_level);
        agent_stop_on_signals();
        return agent_smp_main(&cfg, once);
    }
    if (!cfg.flash_file[0] && !cfg.lx.enabled) {
        fprintf(stderr, "ota-agent: no device backend: set 'backend = linux' (slot_a, slot_b, "
                        "...) or 'flash' to a simulated device's flash file\n");
        return OTA_EXIT_CONFIG;
    }
    if (confirm && !cfg.lx.enabled) {
        fprintf(stderr, "ota-agent: --confirm needs backend = linux (a simulated device "
                        "confirms in its agent loop)\n");
        return OTA_EXIT_CONFIG;
    }
    agent_log_setup(cfg.device_id, cfg.log_level);
    if (confirm)
        return agent_linux_confirm_main(&cfg);
    if (cfg.lx.enabled) {
        agent_stop_on_signals();
        rc = agent_linux_start(&a, &cfg, &lb, &skip, &o);
        if (rc >= 0)
            return rc;
        goto run;
    }
    if (ota_sim_load(&sim, cfg.flash_file, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "ota-agent: %s\n", err);
        return OTA_EXIT_FILE;
    }
    if (sim.running_slot < 0) {
        fprintf(stderr, "ota-agent: %s: nothing is running (boot it first: ota-sim boot %s)\n",
                cfg.flash_file, cfg.flash_file);
        ota_sim_free(&sim);
        return OTA_EXIT_ERROR;
    }
    agent_stop_on_signals();

    sb = agent_sim_start(&a, &cfg, &sim, cfg.flash_file, sim.running_slot, 0);
    if (!sb) {
        fprintf(stderr, "ota-agent: out of memory\n");
        ota_sim_free(&sim);
        return OTA_EXIT_ERROR;
    }
    LOG_I("starting: server %s, state %s, device %s (slot %c)", cfg.server_url,
          cfg.state_file, cfg.flash_file, 'A' + sim.running_slot);
run:
    agent_health_init(&health, &cfg, cfg.lx.enabled);
    a.health = &health;
    a.selftest = agent_selftest_command;
    a.selftest_ctx = &cfg;
    a.stop = agent_stop_requested;
    if (!skip)
        o = agent_run(&a, once);
    else if (o == AGENT_REBOOT || o == AGENT_TRIAL_FAILED)
        agent_health_before_reboot(&a);
    rc = o == AGENT_REBOOT ? OTA_EXIT_AGENT_REBOOT
       : o == AGENT_TRIAL_FAILED ? OTA_EXIT_AGENT_TRIAL_FAILED
       : o == AGENT_POWER_LOST ? OTA_EXIT_AGENT_POWER_LOST : OTA_EXIT_OK;
    if (o == AGENT_FAULT)
        rc = agent_fault_exit(a.fault);
    LOG_I("exiting (%s): %u check-ins, %u downloads, %u interrupted, %u resumed",
          rc == OTA_EXIT_AGENT_REBOOT ? "reboot requested"
          : rc == OTA_EXIT_AGENT_TRIAL_FAILED ? "trial failed"
          : rc == OTA_EXIT_AGENT_POWER_LOST ? "power lost"
          : o == AGENT_FAULT ? "check-in failed" : "stopped",
          a.checkins, a.downloads, a.download_errors, a.resumes);
    agent_http_free(a.http);
    if (lb) {
        agent_linux_stop(lb, o);
        agent_linux_backend_free(lb);
        agent_linux_reboot(&cfg, o);
        return rc;
    }
    agent_sim_backend_free(sb);
    ota_sim_free(&sim);
    return rc;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * backend_smp_run.c - `ota-agent` as an SMP gateway (backend = smp,
 * docs/smp.md "Gateway"): connect to the MCU, take its device id from the
 * MCU's identity block (ota group status), then run the agent loop on the
 * MCU's behalf. Where a device agent would ask for a reboot, the gateway
 * resets the MCU (OS group reset) and waits for it to come back -- on trial
 * of the new image, or reverted by its bootloader -- and the loop goes on:
 * self-test hook + confirm, or the `rolled-back` report.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "exit_codes.h"

/* Reset the MCU until it answers with no slot pending (or we are stopped). */
static void reset_until_back(struct agent *a, struct agent_smp_backend *b)
{
    while (agent_smp_reset_and_wait(b) != OTA_OK && !agent_stop_requested(NULL)) {
        LOG_W("the MCU did not come back from its reset with no slot pending; resetting "
              "it again");
        agent_sleep(a, agent_backoff_next(&a->backoff));
    }
    agent_backoff_reset(&a->backoff);
}

int agent_smp_main(struct agent_config *cfg, int once)
{
    struct agent_smp_backend *b;
    struct agent_health health;
    struct agent a;
    enum agent_outcome o;
    char id[OTA_MANIFEST_DEVICE_ID_MAX + 1], err[512];
    int rc;

    if (!cfg->lx.hw_id[0]) {
        fprintf(stderr, "ota-agent: backend = smp: missing required setting: hw_id (the MCU's "
                        "hardware id, as registered with the server)\n");
        return OTA_EXIT_CONFIG;
    }
    if (agent_smp_backend_new(cfg, &b) != OTA_OK) {
        fprintf(stderr, "ota-agent: state_file path too long (or out of memory)\n");
        return OTA_EXIT_CONFIG;
    }
    if (agent_smp_device_id(b, id, sizeof id, err, sizeof err) != OTA_OK) {
        LOG_E("%s", err);
        fprintf(stderr, "ota-agent: %s\n", err);
        agent_smp_backend_free(b);
        return OTA_EXIT_ERROR;
    }
    if (cfg->device_id[0] && strcmp(cfg->device_id, id) != 0) {
        fprintf(stderr, "ota-agent: device_id '%s' is configured, but the MCU on %s is '%s'\n",
                cfg->device_id, cfg->smp.serial, id);
        agent_smp_backend_free(b);
        return OTA_EXIT_CONFIG;
    }
    snprintf(cfg->device_id, sizeof cfg->device_id, "%s", id);
    agent_log_setup(cfg->device_id, cfg->log_level);
    if (agent_setup(&a, cfg, 0) != OTA_OK) {
        fprintf(stderr, "ota-agent: out of memory\n");
        agent_smp_backend_free(b);
        return OTA_EXIT_ERROR;
    }
    agent_smp_backend_bind(b, &a.be);
    LOG_I("starting: server %s, state %s, gateway for MCU %s on %s", cfg->server_url,
          cfg->state_file, cfg->device_id, cfg->smp.serial);
    agent_health_init(&health, cfg, 0);
    a.health = &health;
    a.selftest = agent_selftest_command;
    a.selftest_ctx = cfg;
    a.stop = agent_stop_requested;
    /* stopped between "installed" and the reset (or the reset never came
     * back): the MCU still waits for its trial boot -- reset it first, or
     * the loop would take the old image running for a rollback */
    if (a.st.phase == AGENT_PHASE_INSTALLED && agent_smp_pending(b) == 1) {
        LOG_I("an update is pending on the MCU and waits for its reset");
        reset_until_back(&a, b);
    }
    for (;;) {
        o = agent_run(&a, once);
        if (agent_stop_requested(NULL) || (o != AGENT_REBOOT && o != AGENT_TRIAL_FAILED))
            break;
        /* installed (pending): the trial boot; a failed self-test: another trial
         * attempt, until the bootloader reverts */
        LOG_I("%s: resetting the MCU", o == AGENT_REBOOT ? "update pending"
                                                          : "trial self-test failed");
        reset_until_back(&a, b);
    }
    rc = o == AGENT_FAULT ? agent_fault_exit(a.fault) : OTA_EXIT_OK;
    LOG_I("exiting: %u check-ins, %u downloads, %u interrupted, %u resumed", a.checkins,
          a.downloads, a.download_errors, a.resumes);
    agent_http_free(a.http);
    agent_smp_backend_free(b);
    return rc;
}

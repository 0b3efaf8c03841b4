// SPDX-License-Identifier: Apache-2.0
/*
 * backend_linux_cli.c - ota-agent's modes on a Linux A/B device:
 *   the agent loop's start-up and end (agent_linux_start/stop: reconcile the
 *   last boot, mark a good boot, mark a failed trial bad, run reboot_cmd);
 *   --confirm, the boot-time unit (self-test a trial and confirm it, or mark
 *   a normal boot good, like rauc-mark-good);
 *   --provision SLOT IMAGE, which puts the first signed image into a slot
 *   (factory, disk builders) in the layout the agent and the boot check use.
 * Exit codes: the shared table, src/host/exit_codes.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "exit_codes.h"
#include "linux.h"

static int exit_for(ota_err e)
{
    return e == OTA_ERR_CONFIG ? OTA_EXIT_CONFIG
         : e == OTA_ERR_FILE || e == OTA_ERR_BOOTENV ? OTA_EXIT_FILE : OTA_EXIT_ERROR;
}

static void run_reboot(const struct agent_config *cfg, const char *why)
{
    int rc;
    if (!cfg->lx.reboot_cmd[0])
        return;
    LOG_I("%s: running reboot_cmd '%s'", why, cfg->lx.reboot_cmd);
    rc = system(cfg->lx.reboot_cmd);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
        LOG_E("reboot_cmd '%s' failed (status %d)", cfg->lx.reboot_cmd, rc);
}

/* Open the backend and say what the last boot means. */
static int open_and_reconcile(struct agent_config *cfg, struct agent_linux_backend **b,
                              enum lx_boot *boot)
{
    char err[512];
    ota_err e = agent_linux_backend_new(cfg, b, err, sizeof err);
    if (!e)
        e = agent_linux_reconcile(*b, boot, err, sizeof err);
    if (e) {
        LOG_E("%s", err);
        fprintf(stderr, "ota-agent: %s\n", err);
        agent_linux_backend_free(*b);
        *b = NULL;
        return exit_for(e);
    }
    return -1;
}

int agent_linux_start(struct agent *a, struct agent_config *cfg,
                      struct agent_linux_backend **out, int *skip, enum agent_outcome *o)
{
    struct agent_linux_backend *b;
    enum lx_boot boot;
    char err[512];
    int rc;

    *out = NULL;
    *skip = 0;
    if (!cfg->lx.hw_id[0]) {
        /* the server knows the device by (device_id, hw_id) */
        fprintf(stderr, "ota-agent: backend = linux: missing required setting: hw_id (this "
                        "device's hardware id, as registered with the server)\n");
        return OTA_EXIT_CONFIG;
    }
    rc = open_and_reconcile(cfg, &b, &boot);
    if (rc >= 0)
        return rc;
    if (agent_setup(a, cfg, 0) != OTA_OK) {
        fprintf(stderr, "ota-agent: out of memory\n");
        agent_linux_backend_free(b);
        return OTA_EXIT_ERROR;
    }
    agent_linux_backend_bind(b, &a->be);
    *out = b;
    LOG_I("starting: server %s, state %s, Linux slots A=%s B=%s, running slot %c, %s "
          "environment", cfg->server_url, cfg->state_file, cfg->lx.slot[0], cfg->lx.slot[1],
          'A' + agent_linux_backend_running(b),
          cfg->lx.bootloader == AGENT_BOOTLOADER_GRUB ? "GRUB" : "U-Boot");
    switch (boot) {
    case LX_BOOT_WAIT_REBOOT:
        LOG_I("an update is installed in slot %c and waits for a reboot",
              'A' + (agent_linux_backend_running(b) ^ 1));
        *skip = 1;
        *o = AGENT_REBOOT;
        break;
    case LX_BOOT_NORMAL:
        /* the system came up far enough to run the agent: a good boot */
        if (agent_linux_mark_running_good(b, err, sizeof err) != OTA_OK)
            LOG_E("marking the running slot good: %s", err);
        break;
    case LX_BOOT_TRIAL:     /* the loop self-tests and confirms */
    case LX_BOOT_FELL_BACK: /* the loop reports rolled-back */
        break;
    }
    return -1;
}

void agent_linux_stop(struct agent_linux_backend *b, enum agent_outcome o)
{
    char err[512];
    if (b && o == AGENT_TRIAL_FAILED) {
        if (agent_linux_trial_failed(b, err, sizeof err) != OTA_OK)
            LOG_E("marking the failed trial slot bad: %s (the bootloader falls back once "
                  "its tries are used up)", err);
        else
            LOG_W("trial slot marked bad: the next boot falls back");
    }
}

int agent_linux_confirm_main(struct agent_config *cfg)
{
    struct agent_linux_backend *b;
    struct agent_backend be;
    struct agent_device_info dev;
    struct agent_state st;
    struct ota_diag d;
    enum lx_boot boot;
    char err[512];
    int rc = open_and_reconcile(cfg, &b, &boot);
    ota_err e;

    if (rc >= 0)
        return rc;
    rc = OTA_EXIT_OK;
    agent_linux_backend_bind(b, &be);
    switch (boot) {
    case LX_BOOT_NORMAL:
        e = agent_linux_mark_running_good(b, err, sizeof err);
        if (e) {
            LOG_E("marking slot %c good: %s", 'A' + agent_linux_backend_running(b), err);
            rc = exit_for(e);
        } else {
            LOG_I("slot %c marked good", 'A' + agent_linux_backend_running(b));
        }
        break;
    case LX_BOOT_WAIT_REBOOT:
        LOG_W("an update is installed and the bootloader has not tried it yet: reboot");
        break;
    case LX_BOOT_FELL_BACK:
        LOG_W("the bootloader fell back to slot %c: the update is marked bad; the agent "
              "reports rolled-back", 'A' + agent_linux_backend_running(b));
        break;
    case LX_BOOT_TRIAL:
        be.describe(be.ctx, &dev);
        if (agent_selftest_command(cfg, &dev) != 0) {
            LOG_E("trial boot of slot %c: self-test FAILED: marking it bad",
                  'A' + dev.running_slot);
            agent_linux_stop(b, AGENT_TRIAL_FAILED);
            /* the agent's report says why the trial ended */
            if (agent_state_load(&st, cfg->state_file) == OTA_OK &&
                st.phase == AGENT_PHASE_INSTALLED) {
                st.selftest_failed_reported = 1;
                (void)agent_state_save(&st, cfg->state_file);
            }
            rc = OTA_EXIT_AGENT_TRIAL_FAILED;
            break;
        }
        memset(&d, 0, sizeof d);
        e = be.confirm(be.ctx, &d);
        if (e) {
            LOG_E("confirming slot %c: %s", 'A' + dev.running_slot, ota_strerror(e));
            rc = exit_for(e);
        } else {
            LOG_I("trial boot of slot %c: self-test passed, confirmed", 'A' + dev.running_slot);
        }
        break;
    }
    agent_linux_backend_free(b);
    if (rc == OTA_EXIT_AGENT_TRIAL_FAILED)
        run_reboot(cfg, "trial failed");
    return rc;
}

static int slot_arg(const char *opt, const char *slot)
{
    int s = !strcmp(slot, "A") || !strcmp(slot, "a") ? 0
          : !strcmp(slot, "B") || !strcmp(slot, "b") ? 1 : -1;
    if (s < 0)
        fprintf(stderr, "ota-agent: %s: slot must be A or B (got '%s')\n", opt, slot);
    return s;
}

/* The settings --provision and --verify-slot need (no server ones). */
static int linux_settings(struct agent_config *cfg, const char *opt)
{
    char err[512];
    if (!cfg->lx.enabled) {
        fprintf(stderr, "ota-agent: %s needs backend = linux\n", opt);
        return OTA_EXIT_CONFIG;
    }
    if (agent_linux_config_finish(&cfg->lx, cfg->state_file, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "ota-agent: %s\n", err);
        return OTA_EXIT_CONFIG;
    }
    return -1;
}

static int refused_exit(ota_err e)
{
    return e == OTA_ERR_CONFIG ? OTA_EXIT_CONFIG
         : e == OTA_ERR_BOOTENV ? OTA_EXIT_FILE : ota_exit_code(e);
}

int agent_linux_provision_main(struct agent_config *cfg, const char *slot, const char *image)
{
    char err[512];
    int s = slot_arg("--provision", slot), rc;
    ota_err e;
    if (s < 0)
        return OTA_EXIT_USAGE;
    if ((rc = linux_settings(cfg, "--provision")) >= 0)
        return rc;
    e = agent_linux_provision(cfg, s, image, err, sizeof err);
    if (e) {
        fprintf(stderr, "ota-agent: %s\n", err);
        return refused_exit(e);
    }
    return OTA_EXIT_OK;
}

int agent_linux_verify_main(struct agent_config *cfg, const char *slot)
{
    struct ota_image_info info;
    struct ota_diag d;
    char err[512], ver[32];
    int s = slot_arg("--verify-slot", slot), rc;
    ota_err e;
    if (s < 0)
        return OTA_EXIT_USAGE;
    if ((rc = linux_settings(cfg, "--verify-slot")) >= 0)
        return rc;
    memset(&d, 0, sizeof d);
    e = agent_linux_verify_slot(cfg, s, &info, &d, err, sizeof err);
    if (e) {
        fprintf(stderr, "ota-agent: %s\n", err);
        return refused_exit(e);
    }
    ota_image_version_str(&info.hdr.version, ver, sizeof ver);
    printf("slot %c (%s): valid: version %s, security counter %u, filesystem of %u bytes "
           "at offset 0\n", 'A' + s, cfg->lx.slot[s], ver, info.security_counter,
           info.hdr.img_size);
    return OTA_EXIT_OK;
}

void agent_linux_reboot(const struct agent_config *cfg, enum agent_outcome o)
{
    if (o == AGENT_REBOOT)
        run_reboot(cfg, "update installed");
    else if (o == AGENT_TRIAL_FAILED)
        run_reboot(cfg, "trial failed");
}

// SPDX-License-Identifier: Apache-2.0
/*
 * src/sim/cmd_run.c - `ota-sim run`: a whole simulated device. It boots
 * (stage 0 + bootloader from the core), "runs" the firmware in the running
 * slot -- which runs ota-agent in-process against this flash -- and reboots
 * when the agent installed an update, when a trial fails its self-test, when
 * the firmware crashes or hangs (watchdog), or when an armed power cut hits.
 *
 * Test firmware declares its behaviour in its payload with the marker
 * "OTA-SIM-BEHAVIOUR=<word>" in the first 4 KiB:
 *   healthy        (default) runs the agent, passes its self-test
 *   crash-at-boot  resets right after boot, never confirms
 *   hang           stops responding; the watchdog resets it
 *   fail-selftest  runs the agent, whose self-test then fails
 *   crash-sometimes  runs the agent, passes its self-test and confirms, then
 *                  crashes (resets) at random, on average every
 *                  "OTA-SIM-CRASH-EVERY=<seconds>" (default 60) of running;
 *                  each crash is counted in the agent's health reports
 * so every rollback path of the bootloader and the agent runs end to end,
 * and the health gates see a release that installs fine but is unstable.
 *
 * The flash can also be made less kind than the default (every program
 * durable at once, every program exact): --durability on-sync keeps programs
 * and erases volatile until the flash's sync (a power cut loses or tears
 * them), --worn-slot makes programs into one slot silently leave a byte
 * wrong (ota_sim_set_worn), so the agent's read-back refusal and
 * re-download run end to end.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "ota/image_slot.h"
#include "sim_cli.h"

#define MARKER "OTA-SIM-BEHAVIOUR="
#define CRASH_EVERY_MARKER "OTA-SIM-CRASH-EVERY="

enum behaviour { B_HEALTHY, B_CRASH, B_HANG, B_FAIL_SELFTEST, B_CRASH_SOMETIMES, B_COUNT };
static const char *const BEHAVIOUR_NAMES[B_COUNT] = {"healthy", "crash-at-boot", "hang",
                                                     "fail-selftest", "crash-sometimes"};

static void help(FILE *f)
{
    fprintf(f,
            "Usage: ota-sim run FLASH --agent-config FILE [options]\n\n"
            "Run the simulated device: boot, run the firmware in the running slot (which\n"
            "runs ota-agent against this flash), reboot when an update is installed, a\n"
            "trial fails, the firmware crashes or hangs (watchdog), or power is cut.\n"
            "Runs until SIGTERM/SIGINT (or an exit condition below).\n\n"
            "Options:\n"
            "  --agent-config FILE   ota-agent configuration (see ota-agent --help); its\n"
            "                        'flash' is set to FLASH\n"
            "  --agent KEY=VALUE     override one agent setting (repeatable)\n"
            "  --watchdog SECONDS    watchdog timeout for hanging firmware (default 1)\n"
            "  --max-boots N         stop with exit code 1 after N boots (0: no limit)\n"
            "  --exit-when-idle      exit 0 after the first check-in with nothing to do\n"
            "  --power-cut-at N      cut power at the Nth flash program/erase from now\n"
            "  --cut-mode MODE       before (default) or torn (inside the operation)\n"
            "  --cut-seed N          seed of the torn content (default 1)\n"
            "  --exit-on-power-cut   save the flash as the cut left it and exit 0 (inspect it\n"
            "                        with 'ota-sim status'; the next run boots from there)\n"
            "  --durability MODE     at-once (default: a program/erase is durable when it\n"
            "                        returns) or on-sync (volatile until the flash's sync;\n"
            "                        a power cut loses or tears what was not synced)\n"
            "  --worn-slot SLOT      A or B: programs into that slot silently leave one byte\n"
            "                        wrong (reads return what is really there)\n"
            "  --worn-lies N         only the first N such programs lie (default 0: all)\n"
            "  --worn-mode MODE      unprogrammed (default: a bit stays 1) or flip\n"
            "  --worn-seed N         which byte and bit are wrong (default 1)\n\n"
            "Firmware behaviour (marker \"" MARKER "<word>\" in the payload's first\n"
            "4 KiB): healthy (default), crash-at-boot, hang, fail-selftest, crash-sometimes\n"
            "(confirms, then crashes at random on average every \"" CRASH_EVERY_MARKER "<s>\"\n"
            "seconds, default 60; crashes go into the agent's health reports).\n\n");
    ota_exit_codes_print(f, OTA_PROG_SIM);
}

/* What the firmware in `slot` will do, from its payload; *crash_every: the
 * mean seconds between crashes of crash-sometimes firmware. */
static enum behaviour read_behaviour(struct sim_device *d, const struct ota_boot_result *res,
                                     double *crash_every)
{
    uint8_t buf[4096 + 1];
    uint32_t off = d->cfg.layout.slot_off[res->slot] + res->info.hdr.hdr_size;
    uint32_t n = res->info.hdr.img_size < 4096 ? res->info.hdr.img_size : 4096;
    const char *p;
    int i;
    if (ota_flash_read(&d->sim.flash, off, buf, n) != OTA_OK)
        return B_HEALTHY;
    buf[n] = 0;
    *crash_every = 60;
    p = memmem(buf, n, CRASH_EVERY_MARKER, strlen(CRASH_EVERY_MARKER));
    if (p && atof(p + strlen(CRASH_EVERY_MARKER)) > 0)
        *crash_every = atof(p + strlen(CRASH_EVERY_MARKER));
    p = memmem(buf, n, MARKER, strlen(MARKER));
    if (!p)
        return B_HEALTHY;
    p += strlen(MARKER);
    for (i = B_COUNT - 1; i > 0; i--)
        if (strncmp(p, BEHAVIOUR_NAMES[i], strlen(BEHAVIOUR_NAMES[i])) == 0)
            return (enum behaviour)i;
    return B_HEALTHY;
}

struct selftest_ctx {
    enum behaviour b;
    struct agent_config *cfg;
};

static int sim_selftest(void *ctx, const struct agent_device_info *dev)
{
    struct selftest_ctx *s = ctx;
    if (s->b == B_FAIL_SELFTEST) {
        LOG_W("self-test: firmware declares fail-selftest: FAILING");
        return 1;
    }
    return agent_selftest_command(s->cfg, dev);
}

/* crash-sometimes: the agent's stop hook ends its run at the crash time. */
struct crash_clock {
    double at; /* monotonic seconds; 0: never */
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int crash_or_stop(void *ctx)
{
    const struct crash_clock *k = ctx;
    return agent_stop_requested(NULL) || (k->at > 0 && mono_s() >= k->at);
}

static void sleep_s(double s)
{
    while (s > 0 && !agent_stop_requested(NULL)) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        s -= 0.05;
    }
}

/* The device went dark mid-operation: nothing runs; power on and keep the
 * flash as the cut left it. */
static void power_on_after_cut(struct sim_device *d)
{
    d->sim.running_slot = -1;
    ota_sim_power_on(&d->sim);
    sim_device_save(d);
}

int sim_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"agent-config", required_argument, 0, 'c'},
                                         {"agent", required_argument, 0, 'a'},
                                         {"watchdog", required_argument, 0, 'w'},
                                         {"max-boots", required_argument, 0, 'm'},
                                         {"exit-when-idle", no_argument, 0, 'i'},
                                         {"power-cut-at", required_argument, 0, 'p'},
                                         {"cut-mode", required_argument, 0, 'M'},
                                         {"cut-seed", required_argument, 0, 's'},
                                         {"exit-on-power-cut", no_argument, 0, 'x'},
                                         {"durability", required_argument, 0, 'D'},
                                         {"worn-slot", required_argument, 0, 'W'},
                                         {"worn-lies", required_argument, 0, 'L'},
                                         {"worn-mode", required_argument, 0, 'O'},
                                         {"worn-seed", required_argument, 0, 'E'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct agent_config cfg;
    struct sim_device *d;
    const char *config = NULL, *flash;
    char err[512], ver[32];
    char *overrides[32];
    int n_over = 0, c, rc = OTA_EXIT_OK, i, exit_idle = 0, exit_on_cut = 0;
    unsigned replaced = 0;
    double watchdog = 1.0;
    unsigned long max_boots = 0, boots = 0;
    unsigned long n_updates = 0, n_trial_failed = 0, n_cuts = 0, n_crash = 0, n_hang = 0;
    unsigned long n_wrong_slot = 0; /* per-slot builds started from the other slot */
    long long cut_at = -1;
    enum ota_sim_cut cut_mode = OTA_SIM_CUT_BEFORE;
    unsigned long long cut_seed = 1;
    enum ota_sim_durability durability = OTA_SIM_DURABLE_AT_ONCE;
    int worn_slot = -1;
    unsigned long worn_lies = 0;
    enum ota_sim_lie worn_mode = OTA_SIM_LIE_UNPROGRAMMED;
    unsigned long long worn_seed = 1;
    struct agent_health health;
    struct crash_clock crash = {0};
    double crash_every = 60;
    unsigned rng;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'a':
            if (n_over == 32) {
                fprintf(stderr, "ota-sim run: too many --agent overrides\n");
                return OTA_EXIT_USAGE;
            }
            overrides[n_over++] = optarg;
            break;
        case 'w': watchdog = atof(optarg); break;
        case 'm': max_boots = strtoul(optarg, NULL, 10); break;
        case 'i': exit_idle = 1; break;
        case 'p': cut_at = atoll(optarg); break;
        case 'M':
            if (!strcmp(optarg, "torn"))
                cut_mode = OTA_SIM_CUT_TORN;
            else if (!strcmp(optarg, "before"))
                cut_mode = OTA_SIM_CUT_BEFORE;
            else {
                fprintf(stderr, "ota-sim run: --cut-mode must be before or torn\n");
                return OTA_EXIT_USAGE;
            }
            break;
        case 's': cut_seed = strtoull(optarg, NULL, 10); break;
        case 'x': exit_on_cut = 1; break;
        case 'D':
            if (!strcmp(optarg, "on-sync"))
                durability = OTA_SIM_DURABLE_ON_SYNC;
            else if (!strcmp(optarg, "at-once"))
                durability = OTA_SIM_DURABLE_AT_ONCE;
            else {
                fprintf(stderr, "ota-sim run: --durability must be at-once or on-sync\n");
                return OTA_EXIT_USAGE;
            }
            break;
        case 'W':
            if (!strcmp(optarg, "A") || !strcmp(optarg, "a"))
                worn_slot = 0;
            else if (!strcmp(optarg, "B") || !strcmp(optarg, "b"))
                worn_slot = 1;
            else {
                fprintf(stderr, "ota-sim run: --worn-slot must be A or B\n");
                return OTA_EXIT_USAGE;
            }
            break;
        case 'L': worn_lies = strtoul(optarg, NULL, 10); break;
        case 'O':
            if (!strcmp(optarg, "unprogrammed"))
                worn_mode = OTA_SIM_LIE_UNPROGRAMMED;
            else if (!strcmp(optarg, "flip"))
                worn_mode = OTA_SIM_LIE_FLIP;
            else {
                fprintf(stderr, "ota-sim run: --worn-mode must be unprogrammed or flip\n");
                return OTA_EXIT_USAGE;
            }
            break;
        case 'E': worn_seed = strtoull(optarg, NULL, 10); break;
        case 'h': help(stdout); return OTA_EXIT_OK;
        default:
            fprintf(stderr, "ota-sim run: see 'ota-sim run --help'\n");
            return OTA_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !config) {
        fprintf(stderr, "ota-sim run: expected FLASH and --agent-config FILE\n");
        return OTA_EXIT_USAGE;
    }
    flash = argv[optind];
    agent_config_defaults(&cfg);
    if (agent_config_load_file(&cfg, config, err, sizeof err) ||
        agent_config_set(&cfg, "flash", flash, err, sizeof err)) {
        fprintf(stderr, "ota-sim run: %s\n", err);
        return OTA_EXIT_CONFIG;
    }
    for (i = 0; i < n_over; i++) {
        char *eq = strchr(overrides[i], '=');
        if (!eq) {
            fprintf(stderr, "ota-sim run: --agent expects KEY=VALUE, got '%s'\n", overrides[i]);
            return OTA_EXIT_USAGE;
        }
        *eq = 0;
        if (agent_config_override(&cfg, overrides[i], eq + 1, &replaced, err, sizeof err)) {
            fprintf(stderr, "ota-sim run: %s\n", err);
            return OTA_EXIT_CONFIG;
        }
    }
    if (agent_config_finish(&cfg, err, sizeof err)) {
        fprintf(stderr, "ota-sim run: %s\n", err);
        return OTA_EXIT_CONFIG;
    }
    agent_log_setup(cfg.device_id, cfg.log_level);

    rc = sim_device_new(&d, flash);
    if (rc)
        return rc;
    agent_stop_on_signals();
    if (durability != OTA_SIM_DURABLE_AT_ONCE) {
        if (ota_sim_set_durability(&d->sim, durability) != OTA_OK) {
            fprintf(stderr, "ota-sim run: --durability on-sync: out of memory\n");
            sim_device_free(d);
            return OTA_EXIT_ERROR;
        }
        LOG_I("flash durability: programs and erases volatile until sync");
    }
    if (worn_slot >= 0) {
        if (!d->cfg_ok) {
            fprintf(stderr, "ota-sim run: --worn-slot: the device has no valid layout\n");
            sim_device_free(d);
            return OTA_EXIT_ERROR;
        }
        ota_sim_set_worn(&d->sim, d->cfg.layout.slot_off[worn_slot], d->cfg.layout.slot_size,
                         worn_mode, worn_seed, (uint32_t)worn_lies);
        LOG_I("worn cells: slot %s (offset %u, %u bytes), %s, %s", sim_slot_name(worn_slot),
              d->cfg.layout.slot_off[worn_slot], d->cfg.layout.slot_size,
              worn_mode == OTA_SIM_LIE_FLIP ? "a bit flipped" : "a bit left unprogrammed",
              worn_lies ? "for a limited number of programs" : "on every program");
    }
    if (cut_at >= 0) {
        ota_sim_arm_cut(&d->sim, cut_mode, (uint64_t)cut_at, cut_seed);
        LOG_I("power cut armed: %s operation %lld from now",
              cut_mode == OTA_SIM_CUT_TORN ? "inside" : "before", cut_at);
    }

    agent_health_init(&health, &cfg, 0);
    rng = (unsigned)(cfg.seed ? cfg.seed : (uint64_t)time(NULL) ^ (uint64_t)getpid());
    while (!agent_stop_requested(NULL)) {
        struct ota_boot_result res;
        struct agent_sim_backend *sb;
        struct agent a;
        struct selftest_ctx stc;
        enum behaviour b;
        enum agent_outcome o;
        ota_err e;

        if (max_boots && boots >= max_boots) {
            LOG_E("stopping: %lu boots without settling (--max-boots)", boots);
            rc = OTA_EXIT_ERROR;
            break;
        }
        boots++;
        e = ota_boot(&d->dev, &res);
        d->sim.boot_count++;
        d->sim.running_slot = res.slot;
        if (e == OTA_ERR_POWER_LOSS) {
            LOG_W("POWER CUT during boot #%u: power on again", d->sim.boot_count);
            n_cuts++;
            power_on_after_cut(d);
            if (exit_on_cut)
                break;
            continue;
        }
        if (res.slot < 0) {
            LOG_E("boot #%u: RECOVERY, nothing verifiable to run: %s", d->sim.boot_count,
                  ota_strerror(res.reason));
            sim_device_save(d);
            rc = OTA_EXIT_SIM_RECOVERY;
            break;
        }
        sim_device_save(d);
        ota_image_version_str(&res.info.hdr.version, ver, sizeof ver);
        int link = sim_link_slot(d, res.slot);
        if (link != OTA_LINK_SLOT_ANY && link != res.slot) {
            /* a per-slot build in the other slot: its code would run at the
             * wrong addresses (the Cortex-M port's ROM_FIXED check) */
            LOG_W("boot #%u: cannot start version %s: slot %s holds the build linked for slot "
                  "%s%s", d->sim.boot_count, ver, sim_slot_name(res.slot),
                  sim_slot_name(link),
                  res.trial ? " (on trial: reset; the attempt is counted)" : "");
            n_wrong_slot++;
            if (!res.trial) {
                rc = OTA_EXIT_SIM_RECOVERY;
                break;
            }
            continue;
        }
        b = read_behaviour(d, &res, &crash_every);
        LOG_I("boot #%u: running slot %s, version %s%s%s%s", d->sim.boot_count,
              sim_slot_name(res.slot), ver, res.trial ? " (TRIAL" : "",
              res.trial ? (res.attempts_left ? ", attempts left)" : ", last attempt)") : "",
              res.reverted ? " (REVERTED: the trial image failed)" : "");
        if (b == B_CRASH) {
            LOG_W("firmware %s crashes at boot (declared crash-at-boot): reset", ver);
            n_crash++;
            continue;
        }
        if (b == B_HANG) {
            LOG_W("firmware %s hangs (declared hang): watchdog resets in %.1fs", ver, watchdog);
            n_hang++;
            sleep_s(watchdog);
            continue;
        }

        sb = agent_sim_start(&a, &cfg, &d->sim, flash, res.slot, boots);
        if (!sb) {
            rc = OTA_EXIT_ERROR;
            break;
        }
        stc.b = b;
        stc.cfg = &cfg;
        a.selftest = sim_selftest;
        a.selftest_ctx = &stc;
        a.health = &health;
        crash.at = 0;
        if (b == B_CRASH_SOMETIMES) { /* exponential: crashes as a Poisson process */
            double u = ((double)rand_r(&rng) + 1.0) / ((double)RAND_MAX + 2.0);
            crash.at = mono_s() - crash_every * log(u);
        }
        a.stop = crash_or_stop;
        a.stop_ctx = &crash;
        o = agent_run(&a, exit_idle);
        agent_http_free(a.http);
        agent_sim_backend_free(sb);
        if (agent_stop_requested(NULL)) {
            LOG_I("stopped (signal)");
            break;
        }
        if (crash.at > 0 && mono_s() >= crash.at) {
            LOG_W("firmware %s crashes (declared crash-sometimes, on average every %gs): reset",
                  ver, crash_every);
            n_crash++;
            agent_health_note(&health, 1, 0);
            continue;
        }
        if (o == AGENT_REBOOT) {
            LOG_I("rebooting into the new image");
            n_updates++;
        } else if (o == AGENT_TRIAL_FAILED) {
            LOG_W("trial failed: reset without confirming");
            n_trial_failed++;
        } else if (o == AGENT_POWER_LOST) {
            LOG_W("POWER CUT (flash operation %llu): the device goes dark; power on again",
                  (unsigned long long)d->sim.ops);
            n_cuts++;
            power_on_after_cut(d);
            if (exit_on_cut)
                break;
        } else if (exit_idle && o == AGENT_IDLE) {
            LOG_I("idle: nothing to do, exiting (--exit-when-idle)");
            break;
        }
    }
    LOG_I("summary: %lu boots, %lu updates installed, %lu failed self-tests, %lu crashes, "
          "%lu watchdog resets, %lu power cuts, %lu wrong-slot builds not started, %llu "
          "programs on worn cells, %u health reports; running slot %s",
          boots, n_updates, n_trial_failed, n_crash, n_hang, n_cuts, n_wrong_slot,
          (unsigned long long)d->sim.stats.lies, health.sent,
          sim_slot_name(d->sim.running_slot));
    sim_device_save(d);
    sim_device_free(d);
    return rc;
}

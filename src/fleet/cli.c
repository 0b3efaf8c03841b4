// SPDX-License-Identifier: Apache-2.0
/*
 * cli.c - ota-fleet's command line: every option with its range, --help
 * (options, what is simulated, exit codes from the shared table) and
 * --version. A bad value names the option and the allowed range.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit_codes.h"
#include "fleet.h"
#include "ota/version.h"

static void usage(FILE *f)
{
    fputs("Usage: ota-fleet --server URL --trusted-key PEM --image IMG [options]\n"
          "Simulate many devices against ota-server in one process (docs/fleet.md).\n"
          "Each device enrolls with its own token, checks in with jitter, verifies\n"
          "every offer with the portable core, downloads (shared per digest,\n"
          "verified), reports, and sends health reports.\n"
          "\n"
          "Server and keys:\n"
          "  --server URL              ota-server base URL (http://127.0.0.1:8080)\n"
          "  --admin-token-file F      admin token: enrollment token, server key, test\n"
          "                            clock, campaigns\n"
          "  --enrollment-token T      fleet enrollment token (else created with the admin\n"
          "                            token: one use per device, expires in a day)\n"
          "  --server-key PEM          the server's manifest public key (else fetched)\n"
          "  --trusted-key PEM         firmware signing key the devices trust (required)\n"
          "  --image IMG               the signed image every device runs at start\n"
          "                            (required; its hardware id unless --hw-id)\n"
          "  --hw-id ID                hardware id of the devices\n"
          "Fleet:\n"
          "  --devices N               simulated devices (1..1000000, default 1000)\n"
          "  --prefix P                device ids P-000001... (default fleet)\n"
          "  --tokens FILE             keep device tokens here across runs (0600)\n"
          "  --pool N                  concurrent requests = connections (1..1024, 32)\n"
          "                            (ota-server --per-ip-connections: 64 per address)\n"
          "  --interval S              check-in interval, wall seconds (default: the\n"
          "                            server's poll_interval)\n"
          "  --jitter F                +-fraction of the interval (0..0.9, default 0.1)\n"
          "  --enroll-rate R           enrollments per second (default 2000)\n"
          "  --reboot S                seconds a reboot into the trial takes (default 1)\n"
          "  --health-interval S       seconds between health reports (0: none, default\n"
          "                            the check-in interval)\n"
          "  --crash-rate R            crashes per device-hour, healthy (default 0.01)\n"
          "  --crashing-rate R         crashes per device-hour, 'crashing' (default 2)\n"
          "  --outcome V=O:S[,O:S]     outcome shares of release V: healthy, crashing,\n"
          "                            selftest, rollback (repeatable; default healthy)\n"
          "  --tamper N                the first N devices receive manifests with a\n"
          "                            flipped signature bit (they must refuse)\n"
          "  --lean-reports            only final reports (no downloading/installing)\n"
          "  --seed N                  random seed (default 1)\n"
          "Run:\n"
          "  --campaign complete:F     create campaign F (JSON body) once every device\n"
          "  --campaign halted:F       checked in; wait until it completes / halts at\n"
          "                            its first stage (repeatable, in order)\n"
          "  --settle S                wait after the first round (default 6)\n"
          "  --clock-rate R            advance the server's test clock R seconds per wall\n"
          "                            second (needs ota-server --test-clock)\n"
          "  --duration S              stop after S wall seconds (default: when the\n"
          "                            campaigns end; without campaigns: on a signal)\n"
          "  --progress S              progress line every S seconds (0: none, default 5)\n"
          "  --summary FILE            also write the final JSON summary to FILE\n"
          "  -h, --help                this help\n"
          "  -V, --version             print the version\n"
          "\n"
          "Exit status 1 also when a campaign did not end as expected, the duration\n"
          "ran out first, or a tampered manifest was accepted.\n",
          f);
    ota_exit_codes_print(f, OTA_PROG_FLEET);
}

static int num(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi)) {
        fprintf(stderr, "ota-fleet: %s '%s': expected a number in %g..%g\n", opt, v, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

static int str(const char *opt, const char *v, char *out, size_t cap)
{
    if (strlen(v) >= cap || !*v) {
        fprintf(stderr, "ota-fleet: %s: value empty or longer than %zu characters\n", opt,
                cap - 1);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

static int read_token(const char *path, char *out, size_t cap)
{
    FILE *fp = fopen(path, "r");
    if (!fp || !fgets(out, (int)cap, fp)) {
        fprintf(stderr, "ota-fleet: --admin-token-file %s: cannot read it\n", path);
        if (fp)
            fclose(fp);
        return -1;
    }
    fclose(fp);
    out[strcspn(out, "\r\n")] = 0;
    return 0;
}

enum {
    O_SERVER = 256, O_ADMIN, O_ENROLL, O_SKEY, O_TKEY, O_IMAGE, O_HW, O_DEVICES, O_PREFIX,
    O_TOKENS, O_POOL, O_INTERVAL, O_JITTER, O_ERATE, O_REBOOT, O_HEALTH, O_CRASH, O_CRASHING,
    O_OUTCOME, O_TAMPER, O_LEAN, O_SEED, O_CAMPAIGN, O_SETTLE, O_CLOCK, O_DURATION, O_PROGRESS,
    O_SUMMARY
};

static const struct option LONG[] = {
    {"server", 1, 0, O_SERVER}, {"admin-token-file", 1, 0, O_ADMIN},
    {"enrollment-token", 1, 0, O_ENROLL}, {"server-key", 1, 0, O_SKEY},
    {"trusted-key", 1, 0, O_TKEY}, {"image", 1, 0, O_IMAGE}, {"hw-id", 1, 0, O_HW},
    {"devices", 1, 0, O_DEVICES}, {"prefix", 1, 0, O_PREFIX}, {"tokens", 1, 0, O_TOKENS},
    {"pool", 1, 0, O_POOL}, {"interval", 1, 0, O_INTERVAL}, {"jitter", 1, 0, O_JITTER},
    {"enroll-rate", 1, 0, O_ERATE}, {"reboot", 1, 0, O_REBOOT},
    {"health-interval", 1, 0, O_HEALTH}, {"crash-rate", 1, 0, O_CRASH},
    {"crashing-rate", 1, 0, O_CRASHING}, {"outcome", 1, 0, O_OUTCOME},
    {"tamper", 1, 0, O_TAMPER}, {"lean-reports", 0, 0, O_LEAN}, {"seed", 1, 0, O_SEED},
    {"campaign", 1, 0, O_CAMPAIGN}, {"settle", 1, 0, O_SETTLE}, {"clock-rate", 1, 0, O_CLOCK},
    {"duration", 1, 0, O_DURATION}, {"progress", 1, 0, O_PROGRESS},
    {"summary", 1, 0, O_SUMMARY}, {"help", 0, 0, 'h'}, {"version", 0, 0, 'V'}, {0, 0, 0, 0}};

static int campaign_arg(struct fleet_opts *o, const char *v)
{
    struct fleet_campaign_plan *p;
    const char *colon = strchr(v, ':');
    if (o->n_campaigns >= FLEET_MAX_CAMPAIGNS) {
        fprintf(stderr, "ota-fleet: --campaign: at most %d\n", FLEET_MAX_CAMPAIGNS);
        return -1;
    }
    p = &o->campaigns[o->n_campaigns];
    if (colon && (size_t)(colon - v) == 8 && strncmp(v, "complete", 8) == 0)
        p->expect_halt = 0;
    else if (colon && (size_t)(colon - v) == 6 && strncmp(v, "halted", 6) == 0)
        p->expect_halt = 1;
    else {
        fprintf(stderr, "ota-fleet: --campaign '%s': expected complete:FILE or halted:FILE\n", v);
        return -1;
    }
    if (str("--campaign", colon + 1, p->file, sizeof p->file))
        return -1;
    o->n_campaigns++;
    return 0;
}

int fleet_cli_parse(int argc, char **argv, struct fleet_opts *o)
{
    double d;
    char err[300];
    int c, bad = 0;
    memset(o, 0, sizeof *o);
    snprintf(o->server, sizeof o->server, "http://127.0.0.1:8080");
    snprintf(o->prefix, sizeof o->prefix, "fleet");
    o->devices = 1000;
    o->pool = 32;
    o->jitter = 0.1;
    o->enroll_rate = 2000;
    o->reboot = 1;
    o->health_interval = -1; /* the check-in interval */
    o->crash_rate = 0.01;
    o->crashing_rate = 2;
    o->progress = 5;
    o->settle = 6;
    o->seed = 1;
    opterr = 0;
    while (!bad && (c = getopt_long(argc, argv, "hV", LONG, NULL)) != -1) {
        const char *v = optarg;
        switch (c) {
        case 'h':
            usage(stdout);
            return OTA_EXIT_OK + 256;
        case 'V':
            printf("ota-fleet %s\n", OTA_VERSION);
            return OTA_EXIT_OK + 256;
        case O_SERVER: bad = str("--server", v, o->server, sizeof o->server); break;
        case O_ADMIN: bad = read_token(v, o->admin_token, sizeof o->admin_token); break;
        case O_ENROLL:
            bad = str("--enrollment-token", v, o->enrollment_token, sizeof o->enrollment_token);
            break;
        case O_SKEY: bad = str("--server-key", v, o->server_key, sizeof o->server_key); break;
        case O_TKEY: bad = str("--trusted-key", v, o->trusted_key, sizeof o->trusted_key); break;
        case O_IMAGE: bad = str("--image", v, o->image, sizeof o->image); break;
        case O_HW: bad = str("--hw-id", v, o->hw_id, sizeof o->hw_id); break;
        case O_PREFIX: bad = str("--prefix", v, o->prefix, sizeof o->prefix); break;
        case O_TOKENS: bad = str("--tokens", v, o->tokens_file, sizeof o->tokens_file); break;
        case O_SUMMARY: bad = str("--summary", v, o->summary_file, sizeof o->summary_file); break;
        case O_DEVICES:
            bad = num("--devices", v, 1, FLEET_MAX_DEVICES, &d);
            o->devices = (unsigned)d;
            break;
        case O_POOL:
            bad = num("--pool", v, 1, 1024, &d);
            o->pool = (unsigned)d;
            break;
        case O_INTERVAL: bad = num("--interval", v, 0.01, 86400, &o->interval); break;
        case O_JITTER: bad = num("--jitter", v, 0, 0.9, &o->jitter); break;
        case O_ERATE: bad = num("--enroll-rate", v, 0.1, 1e6, &o->enroll_rate); break;
        case O_REBOOT: bad = num("--reboot", v, 0, 3600, &o->reboot); break;
        case O_HEALTH: bad = num("--health-interval", v, 0, 86400, &o->health_interval); break;
        case O_CRASH: bad = num("--crash-rate", v, 0, 1e6, &o->crash_rate); break;
        case O_CRASHING: bad = num("--crashing-rate", v, 0, 1e6, &o->crashing_rate); break;
        case O_TAMPER:
            bad = num("--tamper", v, 0, FLEET_MAX_DEVICES, &d);
            o->tamper = (unsigned)d;
            break;
        case O_LEAN: o->lean_reports = 1; break;
        case O_SEED:
            bad = num("--seed", v, 0, 9007199254740992.0, &d);
            o->seed = (uint64_t)d;
            break;
        case O_CAMPAIGN: bad = campaign_arg(o, v); break;
        case O_SETTLE: bad = num("--settle", v, 0, 3600, &o->settle); break;
        case O_CLOCK: bad = num("--clock-rate", v, 0, 1e6, &o->clock_rate); break;
        case O_DURATION: bad = num("--duration", v, 0, 1e7, &o->duration); break;
        case O_PROGRESS: bad = num("--progress", v, 0, 3600, &o->progress); break;
        case O_OUTCOME:
            if (o->n_outcomes >= FLEET_MAX_OUTCOME_SPECS) {
                fprintf(stderr, "ota-fleet: --outcome: at most %d\n", FLEET_MAX_OUTCOME_SPECS);
                bad = 1;
            } else if (fleet_outcome_parse(v, &o->outcomes[o->n_outcomes], err, sizeof err)) {
                fprintf(stderr, "ota-fleet: %s\n", err);
                bad = 1;
            } else {
                o->n_outcomes++;
            }
            break;
        case '?':
        default:
            fprintf(stderr, "ota-fleet: unknown option or missing argument: %s\n",
                    argv[optind - 1]);
            bad = 1;
        }
    }
    if (!bad && optind < argc) {
        fprintf(stderr, "ota-fleet: unexpected argument '%s'\n", argv[optind]);
        bad = 1;
    }
    if (!bad && (!o->trusted_key[0] || !o->image[0])) {
        fprintf(stderr, "ota-fleet: --trusted-key and --image are required (--help)\n");
        bad = 1;
    }
    if (!bad && o->n_campaigns && !o->admin_token[0]) {
        fprintf(stderr, "ota-fleet: --campaign needs --admin-token-file\n");
        bad = 1;
    }
    if (bad)
        return OTA_EXIT_USAGE;
    if (o->tamper > o->devices)
        o->tamper = o->devices;
    return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - ota-agent configuration: a "key = value" file (comments with
 * '#'), overridable by command-line flags with the same names, checked once
 * before the agent starts so a typo is an error at start-up, not a silent
 * default at 3 a.m.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "linux.h"
#include "ota/host.h"

const char agent_config_help[] =
    "Configuration keys (file: 'key = value' lines, '#' comments; flags: --key value):\n"
    "  server          server URL, https://HOST:PORT (required)\n"
    "  device_id       this device's id (required)\n"
    "  token           this device's bearer token (required unless enrolling)\n"
    "  enrollment_token  fleet enrollment token: without a token, the agent\n"
    "                  enrolls itself (POST /v1/enroll) and keeps the device\n"
    "                  token it receives in state_file (mode 0600)\n"
    "  server_key      PEM public key that signs manifests (required; repeat to\n"
    "                  trust several during a key rotation, up to 4)\n"
    "  ca_file         CA bundle that verifies the server certificate (default:\n"
    "                  the system store)\n"
    "  pinned_key      pin the server's public key: a PEM/DER file or\n"
    "                  sha256//BASE64 (a server with another key is refused)\n"
    "  allow_http      yes: also allow plain http:// (loopback tests only)\n"
    "  poll_interval   seconds between check-ins when idle (default: what the\n"
    "                  server suggests, else 60)\n"
    "  backoff_min     first retry delay after an error, seconds (default 1)\n"
    "  backoff_max     largest retry delay, seconds (default 300)\n"
    "  timeout         connect/API timeout, seconds (default 15)\n"
    "  stall_timeout   cut a download after this many seconds without data (default 10)\n"
    "  min_rate_bps    slowest acceptable download rate, bytes/s: an attempt is cut\n"
    "                  after timeout + remaining bytes / min_rate_bps (default 256)\n"
    "  attempt_deadline  hard cap on one download attempt, seconds (default: none)\n"
    "  artifact_origin another origin (scheme://host[:port]) allowed to serve\n"
    "                  payloads and receive the device token, e.g. a CDN (repeat\n"
    "                  for up to 4); payload URLs elsewhere are refused\n"
    "  state_file      where download progress and pending reports persist\n"
    "                  (default: FLASH.agent-state for a simulated device)\n"
    "  selftest_cmd    command run after a trial boot; exit 0 = healthy\n"
    "  health_interval seconds between health reports (crashes, resets, counters;\n"
    "                  default 600; 0: none)\n"
    "  health_command  command printing 'NAME TOTAL' lines: running totals of\n"
    "                  crashes, resets and custom counters (docs/agent.md)\n"
    "  boot_id_file    the kernel's boot id, to notice unexpected reboots (default\n"
    "                  /proc/sys/kernel/random/boot_id)\n"
    "  flash           simulated device flash file (ota-sim format)\n"
    "  max_download_attempts  attempts per offer before reporting failure (default 8)\n"
    "  log_level       error, warn, info (default) or debug\n"
    "  seed            jitter seed (default: from time and pid)\n";

void agent_config_defaults(struct agent_config *c)
{
    memset(c, 0, sizeof *c);
    c->poll_interval = 60;
    c->backoff_min = 1;
    c->backoff_max = 300;
    c->timeout = 15;
    c->stall_timeout = 10;
    c->min_rate_bps = 256;
    c->max_download_attempts = 8;
    c->health_interval = 600;
    snprintf(c->boot_id_file, sizeof c->boot_id_file, "/proc/sys/kernel/random/boot_id");
    c->log_level = AGENT_LOG_INFO;
    agent_linux_config_defaults(&c->lx);
    agent_smp_config_defaults(&c->smp);
}

int agent_key_is(const char *key, const char *name)
{
    size_t i;
    for (i = 0; name[i]; i++) {
        char k = key[i] == '-' ? '_' : key[i];
        if (k != name[i])
            return 0;
    }
    return key[i] == 0;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

int agent_parse_num(const char *v, double lo, double hi, double *out)
{
    char *end;
    double d;
    errno = 0;
    d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi))
        return -1;
    *out = d;
    return 0;
}

static int parse_seconds(const char *v, double lo, double *out)
{
    return agent_parse_num(v, lo, 86400.0 * 30, out);
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
        *out = 1;
    else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

ota_err agent_config_set(struct agent_config *c, const char *key, const char *v,
                         char *err, size_t errlen)
{
    int bad = 0;
    if (!strcmp(key, "server")) {
        size_t n;
        bad = copy_str(c->server_url, sizeof c->server_url, v);
        n = strlen(c->server_url);
        while (n && c->server_url[n - 1] == '/')
            c->server_url[--n] = 0;
    } else if (!strcmp(key, "device_id") || !strcmp(key, "device-id")) {
        size_t i, n = strlen(v);
        bad = n == 0 || n > OTA_MANIFEST_DEVICE_ID_MAX;
        for (i = 0; !bad && i < n; i++)
            bad = !isalnum((unsigned char)v[i]) && !strchr("-_.:", v[i]);
        if (!bad)
            bad = copy_str(c->device_id, sizeof c->device_id, v);
    } else if (!strcmp(key, "token")) {
        bad = copy_str(c->token, sizeof c->token, v);
    } else if (!strcmp(key, "enrollment_token") || !strcmp(key, "enrollment-token")) {
        bad = copy_str(c->enrollment_token, sizeof c->enrollment_token, v);
    } else if (!strcmp(key, "server_key") || !strcmp(key, "server-key")) {
        if (c->n_server_keys >= AGENT_MAX_SERVER_KEYS)
            bad = 1;
        else
            bad = copy_str(c->server_key_files[c->n_server_keys++], AGENT_STR, v);
    } else if (!strcmp(key, "ca_file") || !strcmp(key, "ca-file")) {
        bad = copy_str(c->ca_file, sizeof c->ca_file, v);
    } else if (!strcmp(key, "pinned_key") || !strcmp(key, "pinned-key")) {
        bad = copy_str(c->pinned_key, sizeof c->pinned_key, v);
    } else if (!strcmp(key, "allow_http") || !strcmp(key, "allow-http")) {
        bad = parse_bool(v, &c->allow_http);
    } else if (!strcmp(key, "poll_interval") || !strcmp(key, "poll-interval")) {
        bad = parse_seconds(v, 0.01, &c->poll_interval);
        c->poll_interval_set = !bad;
    } else if (!strcmp(key, "backoff_min") || !strcmp(key, "backoff-min")) {
        bad = parse_seconds(v, 0.001, &c->backoff_min);
    } else if (!strcmp(key, "backoff_max") || !strcmp(key, "backoff-max")) {
        bad = parse_seconds(v, 0.001, &c->backoff_max);
    } else if (!strcmp(key, "timeout")) {
        bad = parse_seconds(v, 0.1, &c->timeout);
    } else if (!strcmp(key, "stall_timeout") || !strcmp(key, "stall-timeout")) {
        bad = parse_seconds(v, 1, &c->stall_timeout);
    } else if (!strcmp(key, "min_rate_bps") || !strcmp(key, "min-rate-bps")) {
        bad = agent_parse_num(v, 1, 1e12, &c->min_rate_bps);
    } else if (!strcmp(key, "attempt_deadline") || !strcmp(key, "attempt-deadline")) {
        bad = parse_seconds(v, 0, &c->attempt_deadline);
    } else if (!strcmp(key, "artifact_origin") || !strcmp(key, "artifact-origin")) {
        bad = c->n_artifact_origins >= AGENT_MAX_ORIGINS ||
              (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) ||
              copy_str(c->artifact_origins[c->n_artifact_origins++], AGENT_STR, v);
    } else if (!strcmp(key, "state_file") || !strcmp(key, "state-file")) {
        bad = copy_str(c->state_file, sizeof c->state_file, v);
    } else if (!strcmp(key, "selftest_cmd") || !strcmp(key, "selftest-cmd")) {
        bad = copy_str(c->selftest_cmd, sizeof c->selftest_cmd, v);
    } else if (!strcmp(key, "health_interval") || !strcmp(key, "health-interval")) {
        bad = parse_seconds(v, 0, &c->health_interval);
    } else if (!strcmp(key, "health_command") || !strcmp(key, "health-command")) {
        bad = copy_str(c->health_cmd, sizeof c->health_cmd, v);
    } else if (!strcmp(key, "boot_id_file") || !strcmp(key, "boot-id-file")) {
        bad = copy_str(c->boot_id_file, sizeof c->boot_id_file, v);
    } else if (!strcmp(key, "flash")) {
        bad = copy_str(c->flash_file, sizeof c->flash_file, v);
    } else if (!strcmp(key, "max_download_attempts") || !strcmp(key, "max-download-attempts")) {
        char *end;
        long n = strtol(v, &end, 10);
        bad = *v == 0 || *end || n < 1 || n > 1000;
        c->max_download_attempts = (int)n;
    } else if (!strcmp(key, "log_level") || !strcmp(key, "log-level")) {
        static const char *lv[] = {"error", "warn", "info", "debug"};
        int i;
        bad = 1;
        for (i = 0; i < 4; i++)
            if (!strcmp(v, lv[i])) {
                c->log_level = i;
                bad = 0;
            }
    } else if (!strcmp(key, "seed")) {
        char *end;
        c->seed = strtoull(v, &end, 10);
        bad = *v == 0 || *end;
    } else if (agent_smp_config_set(&c->smp, key, v, &bad, err, errlen)) {
        if (bad && err[0])
            return OTA_ERR_CONFIG;
        if (!bad && !strcmp(key, "backend"))
            c->lx.enabled = 0;
    } else if (!agent_linux_config_set(&c->lx, key, v, &bad)) {
        snprintf(err, errlen, "unknown key '%s' (see ota-agent --help)", key);
        return OTA_ERR_CONFIG;
    }
    if (bad) {
        snprintf(err, errlen, "bad value for '%s': '%s'", key, v);
        return OTA_ERR_CONFIG;
    }
    return OTA_OK;
}

ota_err agent_config_override(struct agent_config *c, const char *key, const char *v,
                              unsigned *replaced, char *err, size_t errlen)
{
    if ((!strcmp(key, "server_key") || !strcmp(key, "server-key")) &&
        !(*replaced & AGENT_REPLACED_SERVER_KEYS)) {
        c->n_server_keys = 0; /* the file's keys: this override replaces them */
        *replaced |= AGENT_REPLACED_SERVER_KEYS;
    }
    return agent_config_set(c, key, v, err, errlen);
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

ota_err agent_config_load_file(struct agent_config *c, const char *path, char *err,
                               size_t errlen)
{
    char line[2048], e2[256];
    unsigned lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return OTA_ERR_CONFIG;
    }
    while (fgets(line, sizeof line, f)) {
        char *k, *v, *eq;
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%u: line too long", path, lineno);
            fclose(f);
            return OTA_ERR_CONFIG;
        }
        k = trim(line);
        if (*k == 0 || *k == '#')
            continue;
        eq = strchr(k, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
            fclose(f);
            return OTA_ERR_CONFIG;
        }
        *eq = 0;
        v = trim(eq + 1);
        k = trim(k);
        if (agent_config_set(c, k, v, e2, sizeof e2) != OTA_OK) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, e2);
            fclose(f);
            return OTA_ERR_CONFIG;
        }
    }
    fclose(f);
    return OTA_OK;
}

ota_err agent_config_finish(struct agent_config *c, char *err, size_t errlen)
{
    int i;
    /* a gateway reads its MCU's device id over SMP (agent_smp_main) */
    if (!c->server_url[0] || (!c->device_id[0] && !c->smp.enabled) ||
        (!c->token[0] && !c->enrollment_token[0]) || !c->n_server_keys) {
        snprintf(err, errlen, "missing required setting: %s",
                 !c->server_url[0] ? "server" : (!c->device_id[0] && !c->smp.enabled) ? "device_id"
                 : (!c->token[0] && !c->enrollment_token[0]) ? "token (or enrollment_token)"
                 : "server_key");
        return OTA_ERR_CONFIG;
    }
    if (strncmp(c->server_url, "https://", 8) != 0) {
        if (strncmp(c->server_url, "http://", 7) != 0) {
            snprintf(err, errlen, "server URL must start with https:// (got '%s')",
                     c->server_url);
            return OTA_ERR_CONFIG;
        }
        if (!c->allow_http) {
            snprintf(err, errlen, "server URL '%s' is plain HTTP: use https:// (or "
                     "allow_http = yes for loopback tests)", c->server_url);
            return OTA_ERR_CONFIG;
        }
    }
    if (c->backoff_max < c->backoff_min)
        c->backoff_max = c->backoff_min;
    for (i = 0; i < c->n_server_keys; i++) {
        ota_key *k = NULL;
        char kerr[256];
        if (ota_key_load(c->server_key_files[i], &k, kerr, sizeof kerr) != OTA_OK) {
            snprintf(err, errlen, "server_key: %s", kerr);
            return OTA_ERR_CONFIG;
        }
        ota_key_pubkey(k, &c->server_keys[i]);
        ota_key_free(k);
    }
    if (!c->state_file[0] && c->flash_file[0]) {
        if ((size_t)snprintf(c->state_file, sizeof c->state_file, "%s.agent-state",
                             c->flash_file) >= sizeof c->state_file) {
            snprintf(err, errlen, "flash path too long");
            return OTA_ERR_CONFIG;
        }
    }
    if (!c->state_file[0]) {
        snprintf(err, errlen, "missing required setting: state_file");
        return OTA_ERR_CONFIG;
    }
    if (c->smp.enabled && !c->smp.serial[0]) {
        snprintf(err, errlen, "backend = smp: missing required setting: smp_serial "
                 "(DEVICE, unix:PATH or tcp:HOST:PORT)");
        return OTA_ERR_CONFIG;
    }
    return agent_linux_config_finish(&c->lx, c->state_file, err, errlen);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * health.c - the agent's health reports (POST /v1/devices/{id}/health,
 * docs/agent.md "Health reports"): every health_interval seconds after an
 * idle check-in, and before a reboot the agent asks for, it sends what the
 * device saw since the last delivered report on the release it runs:
 * crashes and resets its host told it about (ota-sim's firmware behaviours),
 * unexpected reboots it noticed itself (Linux: the kernel's boot id changed
 * although the agent asked for no reboot), and the increments of the
 * running totals that health_command prints.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>

#include "agent.h"

static int name_ok(const char *n)
{
    static const char ALPHABET[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789._-";
    size_t len = strlen(n);
    return len > 0 && len <= AGENT_HEALTH_NAME_MAX && strspn(n, ALPHABET) == len;
}

/* ---- persisted part: boot id, expected reboot, pending resets, totals ---- */

static void save(const struct agent_health *h)
{
    char tmp[AGENT_STR + 8];
    FILE *f;
    if (!h->path[0])
        return;
    snprintf(tmp, sizeof tmp, "%s.tmp", h->path);
    f = fopen(tmp, "w");
    if (!f) {
        LOG_W("health: cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    fprintf(f, "boot_id %s\nreboot_expected %d\nresets %lld\n", h->boot_id[0] ? h->boot_id : "-",
            h->reboot_expected, (long long)h->resets);
    for (int i = 0; i < h->n_totals; i++)
        fprintf(f, "total %s %lld\n", h->total_names[i], (long long)h->totals[i]);
    if (fclose(f) != 0 || rename(tmp, h->path) != 0)
        LOG_W("health: cannot save %s: %s", h->path, strerror(errno));
}

static void load(struct agent_health *h, char *boot_id, size_t cap)
{
    /* %40s below reads up to 40 characters and a NUL: longer than a name, so
     * name_ok() sees (and refuses) an overlong one */
    char line[256], a[AGENT_HEALTH_NAME_MAX + 9], b[64];
    long long v;
    FILE *f = fopen(h->path, "r");
    boot_id[0] = 0;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "boot_id %63s", b) == 1)
            snprintf(boot_id, cap, "%s", strcmp(b, "-") ? b : "");
        else if (sscanf(line, "reboot_expected %lld", &v) == 1)
            h->reboot_expected = v != 0;
        else if (sscanf(line, "resets %lld", &v) == 1 && v >= 0)
            h->resets += v;
        else if (sscanf(line, "total %40s %lld", a, &v) == 2 && name_ok(a) && v >= 0 &&
                 h->n_totals < AGENT_HEALTH_TOTALS) {
            snprintf(h->total_names[h->n_totals], sizeof h->total_names[0], "%.*s",
                     AGENT_HEALTH_NAME_MAX, a); /* name_ok: at most that long */
            h->totals[h->n_totals++] = v;
        }
    }
    fclose(f);
}

void agent_health_init(struct agent_health *h, const struct agent_config *c, int track_boots)
{
    char prev[64];
    memset(h, 0, sizeof *h);
    h->period_start = -1;
    if (!track_boots || !c->state_file[0])
        return;
    if ((size_t)snprintf(h->path, sizeof h->path, "%s.health", c->state_file) >=
        sizeof h->path) {
        LOG_W("health: state_file path too long for %s.health: nothing persists",
              c->state_file);
        h->path[0] = 0;
        return;
    }
    load(h, prev, sizeof prev);
    FILE *f = fopen(c->boot_id_file, "r");
    if (!f || !fgets(h->boot_id, sizeof h->boot_id, f)) {
        LOG_W("health: cannot read the boot id from %s: unexpected reboots are not counted",
              c->boot_id_file);
        h->boot_id[0] = 0;
    }
    if (f)
        fclose(f);
    h->boot_id[strcspn(h->boot_id, " \r\n")] = 0;
    if (prev[0] && h->boot_id[0] && strcmp(prev, h->boot_id) != 0 && !h->reboot_expected) {
        h->resets++;
        LOG_W("health: the device rebooted without the agent asking for it (boot id %s -> %s): "
              "counted as a reset",
              prev, h->boot_id);
    }
    h->reboot_expected = 0;
    save(h);
}

void agent_health_note(struct agent_health *h, int64_t crashes, int64_t resets)
{
    if (!h)
        return;
    h->crashes += crashes;
    h->resets += resets;
}

/* ---- health_command ------------------------------------------------------ */

struct reading {
    int n;
    char names[AGENT_HEALTH_TOTALS][AGENT_HEALTH_NAME_MAX + 1];
    int64_t values[AGENT_HEALTH_TOTALS];
};

/* Run the command; each output line "NAME TOTAL" ('#' comments). 0, or -1
 * when it could not run or failed (nothing from it this time). */
static int run_command(const char *cmd, struct reading *r)
{
    char line[256], name[AGENT_HEALTH_NAME_MAX + 9];
    long long v;
    int rc;
    FILE *p = popen(cmd, "r");
    r->n = 0;
    if (!p) {
        LOG_W("health_command '%s' could not run: %s", cmd, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, p)) {
        char *s = line + strspn(line, " \t");
        if (*s == '#' || *s == '\n' || !*s)
            continue;
        if (sscanf(s, "%40s %lld", name, &v) != 2 || !name_ok(name) || v < 0) {
            LOG_W("health_command: ignoring line '%.*s' (want NAME TOTAL, NAME 1..%d of "
                  "A-Z a-z 0-9 . _ -, TOTAL >= 0)",
                  (int)strcspn(s, "\n"), s, AGENT_HEALTH_NAME_MAX);
            continue;
        }
        if (r->n == AGENT_HEALTH_TOTALS) {
            LOG_W("health_command: more than %d names; '%s' ignored", AGENT_HEALTH_TOTALS, name);
            continue;
        }
        snprintf(r->names[r->n], sizeof r->names[0], "%.*s", AGENT_HEALTH_NAME_MAX,
                 name); /* name_ok: at most that long */
        r->values[r->n++] = v;
    }
    rc = pclose(p);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        LOG_W("health_command '%s' failed (status %d): its output is not used", cmd,
              rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128);
        return -1;
    }
    return 0;
}

static int64_t total_of(const struct agent_health *h, const char *name, int *found)
{
    for (int i = 0; i < h->n_totals; i++)
        if (!strcmp(h->total_names[i], name)) {
            *found = 1;
            return h->totals[i];
        }
    *found = 0;
    return 0;
}

/* ---- sending --------------------------------------------------------------- */

/* Build the body: the agent's own counts, plus the command's increments
 * since the totals last delivered (a total that went down restarted: all
 * of it is new). */
static char *body(const struct agent_health *h, const struct reading *r, double period)
{
    json_t *counters = json_object();
    int64_t crashes = h->crashes, resets = h->resets;
    for (int i = 0; i < r->n; i++) {
        int found;
        int64_t prev = total_of(h, r->names[i], &found);
        int64_t inc = !found ? 0 : r->values[i] >= prev ? r->values[i] - prev : r->values[i];
        if (!strcmp(r->names[i], "crashes"))
            crashes += inc;
        else if (!strcmp(r->names[i], "resets"))
            resets += inc;
        else if (json_object_size(counters) < 16)
            json_object_set_new(counters, r->names[i], json_integer(inc));
    }
    json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:o}", "release", h->version, "period_s",
                          (json_int_t)(period < 1 ? 1 : period + 0.5), "crashes",
                          (json_int_t)crashes, "resets", (json_int_t)resets, "counters",
                          counters);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* Send the period so far; on success start the next one at now. */
static int send_period(struct agent *a, double now)
{
    struct agent_health *h = a->health;
    struct reading r = {0};
    char path[AGENT_STR], err[512], *req, *resp = NULL;
    int status = 0, cmd_ok = 0;
    ota_err e;
    if (a->cfg->health_cmd[0])
        cmd_ok = run_command(a->cfg->health_cmd, &r) == 0;
    if (!cmd_ok)
        r.n = 0; /* a failed command's partial output is not used */
    req = body(h, &r, now - h->period_start);
    if (!req)
        return -1;
    snprintf(path, sizeof path, "/v1/devices/%s/health", a->cfg->device_id);
    e = agent_http_json(a->http, "POST", path, req, &status, &resp, err, sizeof err);
    free(resp);
    if (e || status != 204) {
        if (!e)
            snprintf(err, sizeof err, "HTTP %d", status);
        LOG_W("health report not delivered (kept for the next one): %s", err);
        free(req);
        h->failed++;
        return -1;
    }
    LOG_I("health report sent: %s", req);
    free(req);
    h->sent++;
    h->crashes = h->resets = 0;
    if (cmd_ok) { /* the totals now delivered */
        h->n_totals = r.n;
        memcpy(h->total_names, r.names, sizeof r.names);
        memcpy(h->totals, r.values, sizeof r.values);
    }
    h->period_start = now;
    save(h);
    return 0;
}

void agent_health_tick(struct agent *a, const struct agent_device_info *dev)
{
    struct agent_health *h = a->health;
    char ver[32];
    double now = agent_monotonic();
    if (!h || a->cfg->health_interval <= 0)
        return;
    ota_image_version_str(&dev->version, ver, sizeof ver);
    if (h->period_start < 0) {
        /* the first period starts now; totals the command prints from now
         * on count, what it printed before the agent ran does not */
        snprintf(h->version, sizeof h->version, "%s", ver);
        h->period_start = now;
        if (a->cfg->health_cmd[0] && h->n_totals == 0) {
            struct reading r;
            if (run_command(a->cfg->health_cmd, &r) == 0) {
                h->n_totals = r.n;
                memcpy(h->total_names, r.names, sizeof r.names);
                memcpy(h->totals, r.values, sizeof r.values);
                save(h);
            }
        }
        return;
    }
    if (strcmp(h->version, ver) != 0) {
        /* Another release runs now: close the old one's period (what is
         * not delivered now goes with the new release's next report). */
        send_period(a, now);
        snprintf(h->version, sizeof h->version, "%s", ver);
        h->period_start = now;
        return;
    }
    if (now - h->period_start >= a->cfg->health_interval)
        send_period(a, now);
}

void agent_health_before_reboot(struct agent *a)
{
    struct agent_health *h = a->health;
    if (!h)
        return;
    if (a->cfg->health_interval > 0 && h->period_start >= 0 && h->version[0])
        send_period(a, agent_monotonic());
    h->reboot_expected = 1;
    save(h);
}

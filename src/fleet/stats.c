// SPDX-License-Identifier: Apache-2.0
/*
 * stats.c - what ota-fleet tells its user: a progress line every
 * --progress seconds on stderr (check-ins per second over the last window,
 * requests in flight, devices per step and per version, the campaign being
 * driven) and, at the end, one JSON summary on stdout (and --summary FILE):
 * counters, verification results, payloads, outcomes, campaigns with the
 * time of each stage, and the simulator's own CPU time and peak RSS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "fleet.h"
#include "ota/host.h"

static const char *const STEP_NAMES[] = {"enrolling", "idle", "reporting", "fetching",
                                         "rebooting", "health", "stopped"};

static void count_devices(const struct fleet *f, uint64_t steps[7], uint64_t vers[])
{
    memset(steps, 0, 7 * sizeof steps[0]);
    memset(vers, 0, FLEET_MAX_RELEASES * sizeof vers[0]);
    for (uint32_t i = 0; i < f->n; i++) {
        steps[f->dev[i].step < 7 ? f->dev[i].step : 6]++;
        if (f->dev[i].step != DS_STOPPED)
            vers[f->dev[i].cur]++;
    }
}

void fleet_progress_line(struct fleet *f, double window)
{
    uint64_t steps[7], vers[FLEET_MAX_RELEASES];
    char line[1024];
    size_t n = 0;
    count_devices(f, steps, vers);
    n += (size_t)snprintf(line + n, sizeof line - n, "ota-fleet: %6.1f s %7.0f check-ins/s, %u in flight |",
                          fleet_elapsed(f), window > 0 ? (double)f->st.checkins_window / window : 0,
                          fleet_net_in_flight(f->net));
    for (int s = 0; s < 7 && n < sizeof line; s++)
        if (steps[s])
            n += (size_t)snprintf(line + n, sizeof line - n, " %s %llu", STEP_NAMES[s],
                                  (unsigned long long)steps[s]);
    for (unsigned r = 0; r < f->n_rel && n < sizeof line; r++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s %s: %llu", r ? "," : " |",
                              f->rel[r].version_str, (unsigned long long)vers[r]);
    if (f->camp_cur < f->o->n_campaigns && f->camp[f->camp_cur].id && n < sizeof line) {
        const struct fleet_campaign_run *c = &f->camp[f->camp_cur];
        n += (size_t)snprintf(line + n, sizeof line - n,
                              " | campaign %lld %s stage %d: %lld finished, %lld failed",
                              (long long)c->id, c->state, c->stage, (long long)c->finished,
                              (long long)c->failed);
    }
    if (f->st.health_404 && n < sizeof line)
        snprintf(line + n, sizeof line - n, " | health 404: %llu",
                 (unsigned long long)f->st.health_404);
    fprintf(stderr, "%s\n", line);
    f->st.checkins_window = 0;
}

static json_t *campaigns_json(const struct fleet *f)
{
    json_t *a = json_array();
    for (unsigned k = 0; k < f->o->n_campaigns; k++) {
        const struct fleet_campaign_run *c = &f->camp[k];
        json_t *st = json_array();
        double end = c->done ? c->ended : fleet_elapsed(f);
        if (!c->id)
            continue;
        for (int s = 0; s <= c->stage && s < 16; s++) {
            double next = s < c->stage ? c->stages[s + 1].started : end;
            json_array_append_new(st, json_pack("{s:i,s:f,s:f,s:I}", "stage", s, "started_s",
                                                c->stages[s].started - c->created, "seconds",
                                                next - c->stages[s].started, "server_started_at",
                                                (json_int_t)c->stages[s].server_started));
        }
        json_array_append_new(
            a, json_pack("{s:I,s:s,s:s,s:b,s:i,s:i,s:s,s:b,s:f,s:o,s:{s:I,s:I,s:I,s:I,s:I}}",
                         "id", (json_int_t)c->id, "expect", c->expect_halt ? "halted" : "complete",
                         "state", c->state, "rollout_complete", c->complete, "stage", c->stage,
                         "stages_total", c->n_stages, "halt_reason", c->halt_reason,
                         "as_expected", c->done && c->as_expected, "seconds", end - c->created,
                         "stages", st, "counts", "finished", (json_int_t)c->finished, "failed",
                         (json_int_t)c->failed, "success", (json_int_t)c->success, "failure",
                         (json_int_t)c->failure, "rolled-back", (json_int_t)c->rolled_back));
    }
    return a;
}

void fleet_summary(struct fleet *f, int exit_code)
{
    const struct fleet_stats *s = &f->st;
    uint64_t steps[7], vers[FLEET_MAX_RELEASES];
    json_t *o, *v = json_object(), *refused = json_object(), *pls = json_array(),
              *oc = json_object(), *rp = json_object(), *stj = json_object();
    struct rusage ru;
    double wall = fleet_elapsed(f), steady = f->ready_at > 0 ? wall - f->ready_at : 0;
    char hex[2 * OTA_SHA256_LEN + 1];
    static const char *const RP[RP_N] = {"downloading", "installing", "installed-rebooting",
                                         "success", "failure", "rolled-back"};
    count_devices(f, steps, vers);
    for (unsigned r = 0; r < f->n_rel; r++)
        json_object_set_new(v, f->rel[r].version_str, json_integer((json_int_t)vers[r]));
    for (unsigned e = 0; e < 256; e++)
        if (s->refused_by_err[e])
            json_object_set_new(refused, ota_errname((ota_err)e),
                                json_integer((json_int_t)s->refused_by_err[e]));
    for (unsigned k = 0; k < OUT_N; k++)
        json_object_set_new(oc, FLEET_OUTCOME_NAMES[k], json_integer((json_int_t)s->outcomes[k]));
    for (unsigned k = 0; k < RP_N; k++)
        json_object_set_new(rp, RP[k], json_integer((json_int_t)s->reports_sent[k]));
    for (unsigned k = 0; k < 7; k++)
        if (steps[k])
            json_object_set_new(stj, STEP_NAMES[k], json_integer((json_int_t)steps[k]));
    for (unsigned k = 0; k < f->n_pl; k++) {
        const struct fleet_payload *p = &f->pl[k];
        ota_hex_encode(p->digest, OTA_SHA256_LEN, hex);
        json_array_append_new(pls, json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "digest", hex, "kind",
                                             p->kind == OTA_PAYLOAD_DELTA ? "delta" : "full",
                                             "state", p->state == PL_OK ? "verified"
                                                      : p->state == PL_BAD ? "refused"
                                                                           : "pending",
                                             "fetches", (json_int_t)p->fetches, "makes",
                                             p->release >= 0 ? f->rel[p->release].version_str : "",
                                             "error", p->state == PL_BAD ? p->why : ""));
    }
    getrusage(RUSAGE_SELF, &ru);
    o = json_pack("{s:i,s:i,s:f,s:I,s:f,s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:f,s:f},"
                  "s:{s:I,s:I,s:I,s:I,s:O},s:{s:i,s:I,s:I},s:O,s:I,s:{s:I,s:I,s:I},"
                  "s:O,s:O,s:O,s:O,s:o,s:{s:I,s:I},s:{s:f,s:f,s:I}}",
                  "exit_code", exit_code, "devices", (int)f->n, "wall_seconds", wall,
                  "server_clock_offset", (json_int_t)f->clock_offset, "interval_s", f->interval,
                  "enrollment", "enrolled", (json_int_t)s->enrolled, "tokens_loaded",
                  (json_int_t)s->tokens_loaded, "failed", (json_int_t)s->enroll_failed,
                  "first_round_done", (json_int_t)f->first_round,
                  "checkins", "total", (json_int_t)s->checkins, "errors",
                  (json_int_t)s->checkin_errors, "steady_seconds", steady,
                  "steady_per_second",
                  steady > 0 ? (double)(s->checkins - f->checkins_at_ready) / steady : 0.0,
                  "manifests", "offers", (json_int_t)s->offers, "verified",
                  (json_int_t)s->manifests_verified, "refused", (json_int_t)s->manifests_refused,
                  "no_offer_statements_verified", (json_int_t)s->no_offer_verified,
                  "refused_by_error", refused,
                  "tampered", "devices", (int)f->o->tamper, "refused",
                  (json_int_t)s->tampered_refused, "accepted", (json_int_t)s->tampered_accepted,
                  "reports", rp, "report_errors", (json_int_t)s->report_errors,
                  "health", "sent", (json_int_t)s->health_sent, "not_found",
                  (json_int_t)s->health_404, "errors", (json_int_t)s->health_errors,
                  "outcomes", oc, "versions", v, "steps", stj, "payloads", pls,
                  "campaigns", campaigns_json(f),
                  "http", "transport_errors", (json_int_t)s->http_transport_errors, "5xx",
                  (json_int_t)s->http_5xx,
                  "process", "cpu_user_s",
                  (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6, "cpu_sys_s",
                  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, "max_rss_kb",
                  (json_int_t)ru.ru_maxrss);
    if (o) {
        char *txt = json_dumps(o, JSON_INDENT(2));
        if (txt) {
            printf("%s\n", txt);
            fflush(stdout);
            if (f->o->summary_file[0]) {
                FILE *fp = fopen(f->o->summary_file, "w");
                if (!fp || fprintf(fp, "%s\n", txt) < 0)
                    fprintf(stderr, "ota-fleet: cannot write %s\n", f->o->summary_file);
                if (fp)
                    fclose(fp);
            }
            free(txt);
        }
        json_decref(o);
    } else {
        fprintf(stderr, "ota-fleet: internal error building the summary\n");
    }
    json_decref(v);
    json_decref(refused);
    json_decref(pls);
    json_decref(oc);
    json_decref(rp);
    json_decref(stj);
}

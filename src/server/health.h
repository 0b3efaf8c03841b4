// SPDX-License-Identifier: Apache-2.0
/*
 * health.h - device health telemetry and the stage health gates built on it
 * (docs/health.md): devices POST increments (crashes, resets, custom
 * counters over a period of uptime) to /v1/devices/{id}/health
 * (api_health.c); the rollout engine compares the campaign's updated cohort
 * with a control cohort of the same selection still on an old release and
 * halts a campaign whose gate is breached (health_gate.c).
 */
#ifndef OTA_SERVER_HEALTH_H
#define OTA_SERVER_HEALTH_H

#include <jansson.h>

#include "server.h"

/* Figures are recomputed at most this often per campaign (server clock,
 * seconds): the control aggregation reads every device's health row. */
#define HEALTH_REFRESH_S 5
/* Rows not added to for this long are forgotten (server clock, seconds). */
#define HEALTH_RETENTION_S (30LL * 86400)
/* Distinct custom counters kept per cohort in the figures. */
#define HEALTH_AGG_COUNTERS 16

/* Sums over one cohort. */
struct health_sums {
    int64_t devices;  /* device-release rows */
    int64_t period_s; /* device-seconds of uptime */
    int64_t crashes, resets;
    int n_counters;
    char names[HEALTH_AGG_COUNTERS][SRV_HEALTH_NAME_MAX + 1];
    int64_t values[HEALTH_AGG_COUNTERS];
};

struct health_figures {
    int64_t computed_at;   /* server clock */
    char release[24];      /* the campaign's release, canonical text */
    int n_stages;
    struct health_sums by_stage[SRV_STAGES_MAX]; /* updated devices by stage of first offer */
    struct health_sums updated;                  /* all of them */
    struct health_sums control;
};

enum health_verdict_code { HEALTH_WAIT = 0, HEALTH_PASS = 1, HEALTH_BREACH = 2 };

struct health_verdict {
    int code;                /* enum health_verdict_code */
    int64_t events_u, events_c;
    double hours_u, hours_c;
    int64_t devices_u, devices_c;
    double rate_u, rate_c;   /* events per device-hour */
    double limit;            /* max_ratio x max(events_c, 1) / hours_c */
    char text[SRV_DETAIL_MAX + 1];
};

/* The canonical text of a version: "M.m.r+b". */
void health_version_text(const struct ota_image_version *v, char *buf, size_t n);

/* ---- gates in a stage (health_gate.c) -------------------------------------- */
/* Parse stage object e's "health_gates" (stage index i) into st: absent =
 * the previous stage's gates (prev, NULL for the first stage), [] = none.
 * 1, or 0 with a 400 naming the field. */
int health_gates_parse(json_t *e, size_t i, struct srv_stage *st, const struct srv_stage *prev,
                       struct http_resp *out);
json_t *health_gates_json(const struct srv_stage *st);
int health_gates_equal(const struct srv_stage *a, const struct srv_stage *b);

/* The campaign's figures, from the cache when at most max_age seconds old
 * (server clock), else recomputed. 1, or 0 when the store failed. */
int health_figures_get(struct server *s, const struct srv_campaign *c, int64_t max_age,
                       struct health_figures *f);
/* The rollout ticker, before it evaluates campaign `id` (outside the
 * rollout lock): refresh its figures when older than HEALTH_REFRESH_S and
 * its current stage has gates. Evaluations and status answers use figures
 * up to 2 x HEALTH_REFRESH_S old, so they rarely compute them themselves. */
void health_prepare(struct server *s, int64_t id);
void health_judge(const struct srv_health_gate *g, const struct health_figures *f,
                  struct health_verdict *v);
/* The verdict over every gate of the campaign's current stage: PASS when it
 * has none; BREACH (reason set: metric, both rates, cohort sizes, limit) as
 * soon as one is breached; else WAIT while any lacks its minimums. */
int health_stage_verdict(struct server *s, const struct srv_campaign *c, char *reason,
                         size_t n);
/* "health" of GET /v1/campaigns/{id}: cohorts, per-stage figures, verdicts
 * of the current stage's gates. */
json_t *health_campaign_json(struct server *s, const struct srv_campaign *c);
/* Retention (at most once an hour; called by the rollout ticker). */
void health_maintain(struct server *s);

/* ---- device API (api_health.c) --------------------------------------------- */
/* POST /v1/devices/{id}/health. */
void api_health_route(struct server *s, struct http_req *r, struct http_resp *out);

#endif

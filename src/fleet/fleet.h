// SPDX-License-Identifier: Apache-2.0
/*
 * fleet.h - ota-fleet, a simulator of many devices in one process against
 * ota-server (docs/fleet.md): the shared types of its parts (options, the
 * HTTP pool, the timer heap, devices, releases and payloads, outcomes, the
 * campaign driver, counters). One concern per file:
 *   cli.c      options and --help          net.c      libcurl multi pool
 *   sched.c    timer heap of devices       device.c   one device's steps
 *   verify.c   manifests (src/core)        payload.c  payloads per digest
 *   outcome.c  outcomes per release        enroll.c   tokens, enrollment
 *   driver.c   campaigns, test clock       stats.c    progress, summary
 *   setup.c    blocking admin calls        main.c     the event loop
 */
#ifndef OTA_FLEET_H
#define OTA_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "ota/crypto.h"
#include "ota/image.h"
#include "ota/manifest.h"

#define FLEET_MAX_DEVICES 1000000u
#define FLEET_TOKEN_MAX 80
#define FLEET_MAX_RELEASES 64
#define FLEET_MAX_PAYLOADS 64
#define FLEET_MAX_OUTCOME_SPECS 16
#define FLEET_MAX_CAMPAIGNS 8

/* ---- outcomes (outcome.c) ---------------------------------------------- */

enum fleet_outcome {
    OUT_HEALTHY = 0,  /* confirms, reports success, few crashes */
    OUT_CRASHING,     /* confirms, reports success, then crashes often (health) */
    OUT_SELFTEST,     /* trial boot: self-test fails, bootloader reverts */
    OUT_ROLLBACK,     /* trial boot: never confirms (crash/watchdog), reverts */
    OUT_N
};
extern const char *const FLEET_OUTCOME_NAMES[OUT_N];

struct fleet_outcome_spec {
    char version[32];      /* "1.1.0" or "1.1.0+3"; matched on the release's version */
    double share[OUT_N];   /* sums to 1 */
};

/* ---- options (cli.c) --------------------------------------------------- */

struct fleet_campaign_plan {
    char file[512];        /* JSON body of POST /v1/campaigns */
    int expect_halt;       /* 0: expect rollout_complete; 1: expect halted */
};

struct fleet_opts {
    char server[256];              /* http://127.0.0.1:8080 */
    char admin_token[FLEET_TOKEN_MAX];
    char enrollment_token[FLEET_TOKEN_MAX];
    char server_key[512];          /* PEM file; else GET /v1/server-key */
    char trusted_key[512];         /* firmware signing key (public PEM) */
    char image[512];               /* the image every device runs at start */
    char hw_id[72];
    char prefix[32];               /* device ids: PREFIX-000001 ... */
    char tokens_file[512];         /* device tokens kept across runs */
    char summary_file[512];        /* final JSON also written here */
    unsigned devices;
    unsigned pool;                 /* concurrent HTTP requests (connections) */
    double interval;               /* check-in interval, wall seconds (0: the server's) */
    double jitter;                 /* +- fraction of the interval */
    double enroll_rate;            /* enrollments per second */
    double reboot;                 /* wall seconds a reboot into the trial takes */
    double health_interval;        /* wall seconds between health reports (0: off,
                                    * < 0: the check-in interval) */
    double clock_rate;             /* server seconds per wall second (test clock) */
    double crash_rate;             /* crashes per device-hour, healthy */
    double crashing_rate;          /* crashes per device-hour, OUT_CRASHING */
    double duration;               /* wall seconds; 0: until the campaigns end */
    double progress;               /* seconds between progress lines (0: none) */
    double settle;                 /* wall seconds after the first round before campaign 1 */
    unsigned tamper;               /* the first N devices get tampered manifests */
    int lean_reports;              /* only final reports (no downloading/installing) */
    uint64_t seed;
    struct fleet_outcome_spec outcomes[FLEET_MAX_OUTCOME_SPECS];
    unsigned n_outcomes;
    struct fleet_campaign_plan campaigns[FLEET_MAX_CAMPAIGNS];
    unsigned n_campaigns;
};

/* 0: run; 256 + code: --help/--version printed, exit with code; else the
 * exit code of a bad command line. */
int fleet_cli_parse(int argc, char **argv, struct fleet_opts *o);

/* ---- HTTP pool (net.c) ------------------------------------------------- */

struct fleet_req;
typedef void (*fleet_done_fn)(struct fleet_req *q, void *ctx);

struct fleet_buf {
    char *p;
    size_t len, cap;
};

struct fleet_req {
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;                    /* request body (owned) */
    struct fleet_buf resp;         /* response body */
    long status;                   /* HTTP status, 0 on transport error */
    CURLcode rc;
    char errbuf[CURL_ERROR_SIZE];
    fleet_done_fn done;
    void *ctx;
    uint32_t tag;                  /* caller's (device index) */
    int busy;
};

struct fleet_net;
struct fleet_net *fleet_net_new(const char *base, unsigned pool);
void fleet_net_free(struct fleet_net *n);
/* A free slot, or NULL when all `pool` requests are in flight. */
struct fleet_req *fleet_net_slot(struct fleet_net *n);
/* Start q: method, path (appended to base), bearer token or NULL, JSON body
 * or NULL (taken over). done(q, ctx) runs from fleet_net_run(). */
void fleet_net_start(struct fleet_net *n, struct fleet_req *q, const char *method,
                     const char *path, const char *token, char *json_body, fleet_done_fn done,
                     void *ctx);
/* Drive transfers for at most timeout_ms, run completions. */
void fleet_net_run(struct fleet_net *n, int timeout_ms);
unsigned fleet_net_in_flight(const struct fleet_net *n);
/* One blocking request outside the pool (setup, admin). 0 on a transport
 * failure (err filled), else the HTTP status; *resp malloc'd (caller frees). */
long fleet_http_sync(const char *base, const char *method, const char *path,
                     const char *token, const char *json_body, char **resp, char *err,
                     size_t errlen);

/* ---- timer heap (sched.c) ---------------------------------------------- */

struct fleet_sched {
    uint32_t *heap;        /* device indexes */
    uint32_t *pos;         /* index -> heap position (UINT32_MAX: not queued) */
    double *due;           /* index -> due time (monotonic seconds) */
    uint32_t n, cap;
};
int fleet_sched_init(struct fleet_sched *s, uint32_t cap);
void fleet_sched_free(struct fleet_sched *s);
void fleet_sched_at(struct fleet_sched *s, uint32_t idx, double t);  /* (re)schedule */
/* The earliest index due at or before now, removed; UINT32_MAX if none. */
uint32_t fleet_sched_pop_due(struct fleet_sched *s, double now);
double fleet_sched_next(const struct fleet_sched *s); /* earliest due; 1e300 when empty */

/* ---- releases and payloads (payload.c) --------------------------------- */

struct fleet_release {
    uint8_t digest[OTA_SHA256_LEN];
    struct ota_image_version version;
    char version_str[32];
    uint8_t *image;          /* the verified image bytes (NULL: digest only) */
    size_t image_len;
    int spec;                /* outcome spec index, -1: all healthy */
};

enum payload_state { PL_NONE = 0, PL_FETCHING, PL_OK, PL_BAD };

struct fleet_payload {
    uint8_t digest[OTA_SHA256_LEN];  /* payload digest (key) */
    uint8_t target[OTA_SHA256_LEN];  /* the image it makes */
    uint8_t base[OTA_SHA256_LEN];    /* delta: the image it applies to */
    uint8_t kind;
    enum payload_state state;
    ota_err err;                     /* PL_BAD: why */
    char why[320];
    int release;                     /* PL_OK: the release index it makes */
    unsigned fetches;                /* real downloads (retries included) */
};

/* ---- devices (device.c) ------------------------------------------------ */

enum dev_step {
    DS_ENROLL = 0,      /* no token yet */
    DS_CHECKIN,         /* next: a check-in */
    DS_REPORT,          /* next: the queued report, then `after` */
    DS_FETCH,           /* waiting for the payload (this device may fetch it) */
    DS_REBOOT,          /* rebooting into the trial: outcome at due time */
    DS_HEALTH,          /* next: a health report, then a check-in timer */
    DS_STOPPED,         /* a permanent failure (enrollment refused) */
};

struct fleet_dev {
    char token[FLEET_TOKEN_MAX];
    uint64_t offer_seq;          /* freshness floor (newest accepted) */
    uint64_t campaign;           /* campaign of the offer being worked on */
    uint8_t step;                /* enum dev_step */
    uint8_t after;               /* step after the queued report */
    uint8_t report;              /* enum fleet_report_kind queued */
    uint8_t refusals;            /* manifest refusals in a row (agent: 3 before reporting) */
    uint8_t cur;                 /* release index it runs */
    uint8_t target;              /* release index offered (valid while updating) */
    uint8_t outcome;             /* drawn for the target */
    uint8_t pl;                  /* payload index while fetching */
    uint8_t flags;               /* device.c: F_* */
    int32_t report_code;
    uint32_t checkins_since_health;
    double health_at;            /* next health report (monotonic) */
    double last_health;          /* monotonic time of the previous one */
};

enum fleet_report_kind {
    RP_DOWNLOADING = 0, RP_INSTALLING, RP_INSTALLED, RP_SUCCESS, RP_FAILURE, RP_ROLLED_BACK,
    RP_N
};

/* ---- counters (stats.c) ------------------------------------------------ */

struct fleet_stats {
    uint64_t enrolled, enroll_failed, tokens_loaded;
    uint64_t checkins, checkin_errors, offers, no_offer_verified, no_offer_refused;
    uint64_t manifests_verified, manifests_refused, tampered_refused, tampered_accepted;
    uint64_t refused_by_err[256];             /* ota_err (low byte) of refusals */
    uint64_t reports_sent[RP_N], report_errors;
    uint64_t health_sent, health_404, health_errors;
    uint64_t payload_fetches, payload_bytes, payload_bad, payload_shared;
    uint64_t outcomes[OUT_N];
    uint64_t http_transport_errors, http_5xx;
    uint64_t checkins_window;                 /* since the last progress line */
};

/* ---- the campaign driver (driver.c) ------------------------------------ */

struct fleet_stage_time {
    double started;           /* wall seconds since the fleet started */
    int64_t server_started;   /* the server's clock */
};

struct fleet_campaign_run {
    int64_t id;
    int expect_halt;
    char state[16];           /* active, halted, ... */
    int stage;                /* current stage */
    int n_stages;
    int complete;
    double created, ended;    /* wall seconds since start */
    struct fleet_stage_time stages[16];
    char halt_reason[512];
    int64_t finished, failed, success, rolled_back, failure;
    int done;                 /* reached an end state */
    int as_expected;
};

/* ---- the whole simulator ------------------------------------------------ */

struct fleet {
    struct fleet_opts *o;
    struct fleet_net *net;
    struct fleet_sched sched;
    struct fleet_dev *dev;
    uint32_t n;
    struct fleet_release rel[FLEET_MAX_RELEASES];
    unsigned n_rel;
    struct fleet_payload pl[FLEET_MAX_PAYLOADS];
    unsigned n_pl;
    struct ota_pubkey server_key;
    struct ota_pubkey fw_key;
    uint8_t hw_id[OTA_HW_ID_MAX];
    size_t hw_id_len;
    double t0;                /* monotonic start */
    double interval;          /* check-in interval in use */
    int64_t clock_offset;     /* server clock - wall clock (test clock) */
    double clock_debt;        /* test clock seconds not yet sent */
    double enroll_next;       /* rate limiter: next enrollment allowed at */
    uint32_t enroll_cursor;   /* devices below it had their first enrollment started */
    uint8_t last_no_offer[OTA_NO_OFFER_MAX_LEN];  /* verified statement (cache) */
    size_t last_no_offer_len;
    int stop;                 /* signal or end reached */
    struct fleet_stats st;
    struct fleet_campaign_run camp[FLEET_MAX_CAMPAIGNS];
    unsigned camp_cur;        /* index of the campaign being driven */
    int driver_phase;         /* driver.c */
    double driver_next;
    int driver_busy;
    uint32_t first_round;     /* devices that completed a first check-in */
    double ready_at;          /* elapsed seconds when every device had checked in */
    uint64_t checkins_at_ready;
    const char *fail_reason;  /* set when the run cannot go on */
};

double fleet_now(void);       /* monotonic seconds */
double fleet_elapsed(const struct fleet *f);
uint64_t fleet_rand(uint64_t *state);           /* splitmix64 */
double fleet_rand01(uint64_t *state);
void fleet_dev_id(const struct fleet *f, uint32_t i, char *out, size_t cap);

/* device.c */
/* Device i is due: start its request in q (1), or act without one (0). */
int fleet_dev_start(struct fleet *f, uint32_t i, struct fleet_req *q);
/* The next first enrollment, when the rate allows: 1 if it used q. */
int fleet_dev_enroll_next(struct fleet *f, struct fleet_req *q);
void fleet_dev_schedule_first(struct fleet *f, uint32_t i);

/* verify.c */
ota_err fleet_verify_offer(struct fleet *f, uint32_t i, const uint8_t *man, size_t len,
                           struct ota_manifest *m, char *why, size_t cap);
void fleet_take_no_offer(struct fleet *f, uint32_t i, const uint8_t *st, size_t len);

/* payload.c */
/* Verify an image (firmware signature, hardware id) and add it as a
 * release: its index, or -1 with *e and err saying why. */
int fleet_release_add(struct fleet *f, const uint8_t *image, size_t len, ota_err *e, char *err,
                      size_t cap);
int fleet_release_find(const struct fleet *f, const uint8_t digest[OTA_SHA256_LEN]);
int fleet_payload_get(struct fleet *f, const struct ota_manifest *m);
/* Verify fetched payload bytes against p; on success the release it makes. */
void fleet_payload_accept(struct fleet *f, struct fleet_payload *p, const uint8_t *data,
                          size_t len);

/* outcome.c */
int fleet_outcome_parse(const char *arg, struct fleet_outcome_spec *s, char *err, size_t cap);
int fleet_outcome_spec_for(const struct fleet *f, const char *version);
enum fleet_outcome fleet_outcome_draw(const struct fleet *f, uint32_t dev, int release);
unsigned fleet_crashes_draw(const struct fleet *f, uint32_t dev, double device_hours,
                            int crashing);

/* enroll.c */
int fleet_tokens_load(struct fleet *f);
int fleet_tokens_save(const struct fleet *f);
int fleet_enrollment_token(struct fleet *f, char *err, size_t cap);

/* setup.c */
int fleet_setup(struct fleet *f, char *err, size_t cap);

/* driver.c */
void fleet_driver_tick(struct fleet *f);
int fleet_driver_finished(const struct fleet *f);

/* stats.c */
void fleet_progress_line(struct fleet *f, double window);
void fleet_summary(struct fleet *f, int exit_code);

#endif

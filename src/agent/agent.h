// SPDX-License-Identifier: Apache-2.0
/*
 * agent.h - the ota-agent library (ota_agent): configuration, HTTP client,
 * persisted state, backoff, the device backend interface and the update
 * loop. Linked by the `ota-agent` executable and by `ota-sim run`, whose
 * simulated firmware runs the same agent in-process.
 *
 * Why one header: the pieces are small and always used together; each lives
 * in its own .c file (config.c, http.c, api.c, state.c, backoff.c,
 * backend_sim.c, agent.c, log.c).
 */
#ifndef OTA_AGENT_AGENT_H
#define OTA_AGENT_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "ota/crypto.h"
#include "ota/error.h"
#include "ota/image.h"
#include "ota/manifest.h"
#include "ota/update.h"

#define AGENT_MAX_SERVER_KEYS 4
#define AGENT_MAX_ORIGINS 4
#define AGENT_STR 512

/* Linux A/B backend settings (backend = linux; backend_linux_config.c). */
struct agent_linux_config {
    int enabled;                   /* backend = linux */
    char slot[2][AGENT_STR];       /* slot_a, slot_b: block devices or files */
    char image_key[AGENT_STR];     /* PEM public key that signs images */
    struct ota_pubkey image_pub;   /* loaded by agent_config_finish */
    char hw_id[OTA_HW_ID_MAX * 2 + 4]; /* as configured ("" = images need none) */
    uint8_t hw_id_raw[OTA_HW_ID_MAX];
    int hw_id_len;
    int bootloader;                /* AGENT_BOOTLOADER_* */
    char grubenv[AGENT_STR];
    char grub_editenv[AGENT_STR];
    char uboot_env_config[AGENT_STR];
    int boot_attempts;             /* U-Boot BOOT_x_LEFT after install/confirm */
    char cmdline[AGENT_STR];       /* where the running slot is read */
    int running_slot;              /* 0/1 configured, -1: from cmdline */
    char state[AGENT_STR];         /* linux_state: counter floor + pending slot */
    char reboot_cmd[AGENT_STR];    /* run after "installed" / a failed trial */
    char enc_key[AGENT_STR];       /* device decryption key (encrypted images) */
    struct ota_enc_privkey enc_priv;
    int has_enc_key;
};
enum { AGENT_BOOTLOADER_NONE = 0, AGENT_BOOTLOADER_GRUB = 1, AGENT_BOOTLOADER_UBOOT = 2 };

/* SMP gateway settings (backend = smp; backend_smp_config.c, docs/smp.md):
 * the agent updates an MCU over its SMP serial port on the MCU's behalf. */
struct agent_smp_config {
    int enabled;                   /* backend = smp */
    char serial[AGENT_STR];        /* smp_serial: DEVICE | unix:PATH | tcp:HOST:PORT */
    unsigned baud;                 /* smp_baud: a tty's line rate */
    double timeout;                /* smp_timeout: seconds to wait for one answer */
    double boot_timeout;           /* smp_boot_timeout: seconds the MCU may take to answer
                                      again after a reset (trial boots, a revert) */
    uint32_t chunk;                /* smp_chunk: payload bytes per request (0: from the
                                      device's buffer size) */
    uint32_t checkpoint_every;     /* smp_checkpoint: payload bytes between the device's
                                      resume records */
};

/* ---- logging (log.c) ---------------------------------------------------- */
enum agent_log_level { AGENT_LOG_ERROR = 0, AGENT_LOG_WARN, AGENT_LOG_INFO, AGENT_LOG_DEBUG };
void agent_log_setup(const char *prefix, int level);
void agent_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define LOG_E(...) agent_log(AGENT_LOG_ERROR, __VA_ARGS__)
#define LOG_W(...) agent_log(AGENT_LOG_WARN, __VA_ARGS__)
#define LOG_I(...) agent_log(AGENT_LOG_INFO, __VA_ARGS__)
#define LOG_D(...) agent_log(AGENT_LOG_DEBUG, __VA_ARGS__)

/* ---- configuration (config.c) ------------------------------------------- */
struct agent_config {
    char server_url[AGENT_STR];   /* https://host:port (http:// only with allow_http) */
    char device_id[OTA_MANIFEST_DEVICE_ID_MAX + 1];
    char token[AGENT_STR];        /* device token; "" = enroll with enrollment_token */
    char enrollment_token[AGENT_STR]; /* fleet enrollment token (POST /v1/enroll) */
    char server_key_files[AGENT_MAX_SERVER_KEYS][AGENT_STR]; /* manifest keys */
    int n_server_keys;
    struct ota_pubkey server_keys[AGENT_MAX_SERVER_KEYS];
    char ca_file[AGENT_STR];      /* "" = system CA store */
    char pinned_key[AGENT_STR];   /* CURLOPT_PINNEDPUBLICKEY: file or sha256//... */
    int allow_http;               /* plain HTTP (tests on loopback only) */
    double poll_interval;         /* seconds between check-ins when idle */
    int poll_interval_set;        /* configured: the server's suggestion is ignored */
    double backoff_min, backoff_max; /* retry delays after errors */
    double timeout;               /* seconds: connect + API calls */
    double stall_timeout;         /* seconds without a byte before a download is cut */
    double min_rate_bps;          /* slowest acceptable average download rate (bytes/s):
                                     one attempt may last timeout + remaining / this */
    double attempt_deadline;      /* hard cap on one download attempt, seconds (0: none) */
    /* origins (scheme://host:port) besides the server's own that may serve
     * payloads and receive the device token (a CDN); any other is refused */
    char artifact_origins[AGENT_MAX_ORIGINS][AGENT_STR];
    int n_artifact_origins;
    char state_file[AGENT_STR];   /* persisted progress */
    char selftest_cmd[AGENT_STR]; /* run after a trial boot; exit 0 = healthy */
    double health_interval;       /* seconds between health reports (0: none) */
    char health_cmd[AGENT_STR];   /* prints "NAME TOTAL" lines (health.c) */
    char boot_id_file[AGENT_STR]; /* the kernel's boot id (unexpected reboots) */
    char flash_file[AGENT_STR];   /* simulated device (ota-sim flash file) */
    struct agent_linux_config lx; /* backend = linux */
    struct agent_smp_config smp;  /* backend = smp (an MCU behind this gateway) */
    int max_download_attempts;    /* per offer before reporting failure */
    int log_level;
    uint64_t seed;                /* jitter (0: from time and pid) */
};

/* Defaults, then the file (when path != NULL), then argv flags. Fills err
 * with "file:line: what" on error. */
void agent_config_defaults(struct agent_config *c);
ota_err agent_config_load_file(struct agent_config *c, const char *path, char *err,
                               size_t errlen);
/* Apply "key = value" (the same keys as the file). */
ota_err agent_config_set(struct agent_config *c, const char *key, const char *value,
                         char *err, size_t errlen);
/* Apply a command-line override: like agent_config_set, except that the
 * first override of a key the file may repeat (server_key) replaces the
 * file's values instead of adding to them; later overrides of that key add.
 * *replaced (0 before the first override) remembers which lists were reset. */
#define AGENT_REPLACED_SERVER_KEYS 1u
ota_err agent_config_override(struct agent_config *c, const char *key, const char *value,
                              unsigned *replaced, char *err, size_t errlen);
/* Check required fields and load the server keys. */
ota_err agent_config_finish(struct agent_config *c, char *err, size_t errlen);
extern const char agent_config_help[];
/* key names "a_b" (the name) also spelled "a-b": 1 when key is name. */
int agent_key_is(const char *key, const char *name);
/* A configuration number: all of v is a number in [lo, hi] -> *out, 0;
 * else -1 and *out untouched (config.c; every backend's keys use it). */
int agent_parse_num(const char *v, double lo, double hi, double *out);

/* ---- backoff (backoff.c) ------------------------------------------------ */
struct agent_backoff {
    double min, max;
    unsigned failures;
    uint64_t rng;
};
void agent_backoff_init(struct agent_backoff *b, double min, double max, uint64_t seed);
/* Delay before the next retry after another failure: exponential in the
 * number of consecutive failures, capped at max, with "equal jitter" (a
 * random point in [d/2, d]). */
double agent_backoff_next(struct agent_backoff *b);
void agent_backoff_reset(struct agent_backoff *b);
/* base +/- 10 % (idle check-ins of a fleet drift apart instead of aligning). */
double agent_jitter(struct agent_backoff *b, double base);

/* ---- HTTP (http.c, libcurl) --------------------------------------------- */
struct agent_http;
struct agent_http *agent_http_new(const struct agent_config *c);
void agent_http_free(struct agent_http *h);
/* Use this bearer token from now on ("" = none). */
void agent_http_set_token(struct agent_http *h, const char *token);
/* POST (or GET when body == NULL) JSON to path; *resp_body malloc'd
 * (NUL-terminated), *status the HTTP status. */
ota_err agent_http_json(struct agent_http *h, const char *method, const char *path,
                        const char *body, int *status, char **resp_body, char *err,
                        size_t errlen);
/* HTTP status of the last agent_http_json() answer (0: none arrived). */
int agent_http_last_status(const struct agent_http *h);
/* May the device token go to url (a path on the server, or an absolute URL)?
 * Only the server's own origin (scheme, host, port) and the configured
 * artifact_origin entries: OTA_OK, else OTA_ERR_UNTRUSTED_ORIGIN with err
 * naming the origin. */
ota_err agent_http_check_origin(struct agent_http *h, const char *url, char *err,
                                size_t errlen);
/* Download path from byte offset `from` (Range) and hand each chunk to
 * sink; stops with the sink's error. The whole attempt is cut after
 * deadline seconds (0: no deadline; *deadline_hit = 1 when that happened).
 * A URL whose origin agent_http_check_origin() refuses is not fetched
 * (OTA_ERR_UNTRUSTED_ORIGIN). *status is 200/206/...; total bytes delivered
 * in *got. */
typedef ota_err (*agent_sink_fn)(void *ctx, const void *data, size_t len);
ota_err agent_http_download(struct agent_http *h, const char *path, uint64_t from,
                            double deadline, agent_sink_fn sink, void *ctx, int *status,
                            uint64_t *got, int *deadline_hit, char *err, size_t errlen);

/* Read exactly len bytes at payload offset off of path (one Range request,
 * same origin and token rules as agent_http_download): the answer must be
 * 206 with Content-Range "bytes off-(off+len-1)/total", total the signed
 * manifest's payload size, and exactly len bytes; len at most
 * AGENT_RANGE_MAX. OTA_ERR_PROTOCOL when the server answers anything else
 * (200 for the whole file, another total or length). */
#define AGENT_RANGE_MAX (64u * 1024u)
ota_err agent_http_range(struct agent_http *h, const char *path, uint64_t off, size_t len,
                         uint64_t total, void *buf, char *err, size_t errlen);

/* ---- device backend ---------------------------------------------------- */
struct agent_device_info {
    char hw_id[OTA_HW_ID_MAX + 1];
    int running_slot;          /* 0 = slot A (primary), 1 = slot B, -1 = unknown;
                                * sent in the check-in as "running_slot" */
    int trial;                 /* running a pending image on trial */
    struct ota_image_version version;
    uint8_t digest[OTA_SHA256_LEN]; /* SHA-256 of the running image file (all zero:
                                       unknown, not reported) */
    uint32_t security_counter;
    uint32_t otp_counter;
    char slot_state[32];       /* "confirmed", "trial", ... for the server */
    int delta_deflate;         /* the applier has a deflate port: the check-in
                                * says "delta_features": ["deflate"] */
    int delta_model2;          /* this build's core applies the patch: it
                                * decodes coder model 2 ("model2") */
};

struct agent_backend {
    void *ctx;
    ota_err (*describe)(void *ctx, struct agent_device_info *out);
    /* The update engine, bound to this device. min_offer_seq: the newest
     * accepted offer_seq + 1 (ota_update_cfg). payload_at: random access to
     * the offer's payload (HTTP Range requests, made by agent.c), which the
     * engine needs to open an encrypted image's key TLV before its first
     * byte; a backend passes it on as ota_update_cfg.payload_at (NULL: the
     * payload URL is not one the token may go to). */
    ota_err (*begin)(void *ctx, const uint8_t *manifest, size_t len, uint64_t min_offer_seq,
                     const struct ota_update_payload_at *payload_at,
                     const struct ota_update_progress *resume, uint32_t *offset,
                     const struct ota_manifest **m, struct ota_diag *d);
    ota_err (*write)(void *ctx, const void *data, size_t len);
    /* Make written bytes durable and return the resume point. */
    ota_err (*checkpoint)(void *ctx, struct ota_update_progress *p);
    ota_err (*finish)(void *ctx, struct ota_diag *d);
    /* The running firmware declares itself healthy. */
    ota_err (*confirm)(void *ctx, struct ota_diag *d);
    /* Payload bytes between checkpoints (0: the default, 32 KiB). */
    uint32_t checkpoint_every;
};

/* Simulated device (ota-sim flash): backend_sim.c. */
struct ota_sim;
struct agent_sim_backend;
/* sim: the loaded device (the caller keeps it); flash_path: where to save it
 * after every durable step (NULL: never saved); running_slot: what the
 * bootloader started (-1: nothing). */
struct agent_sim_backend *agent_sim_backend_new(struct ota_sim *sim, const char *flash_path,
                                                int running_slot,
                                                const struct agent_config *cfg);
void agent_sim_backend_free(struct agent_sim_backend *b);
void agent_sim_backend_bind(struct agent_sim_backend *b, struct agent_backend *out);
/* Write the in-memory flash back to its file (atomic). */
ota_err agent_sim_backend_save(struct agent_sim_backend *b);
struct agent; /* below */
/* Make `a` ready to run on a simulated device (ota-agent and `ota-sim run`):
 * zeroed, cfg, HTTP transport, a new sim backend bound to it, the persisted
 * agent state, and the backoff seeded with cfg->seed + seed_salt (time and
 * pid when cfg->seed is 0). Hooks (selftest, stop) are the caller's. Returns
 * the backend, or NULL when out of memory (nothing left allocated). The
 * caller frees a->http and the backend after agent_run(). */
struct agent_sim_backend *agent_sim_start(struct agent *a, struct agent_config *cfg,
                                          struct ota_sim *sim, const char *flash_path,
                                          int running_slot, uint64_t seed_salt);

/* SMP gateway (backend = smp): backend_smp*.c, docs/smp.md "Gateway". */
extern const char agent_smp_config_help[];
void agent_smp_config_defaults(struct agent_smp_config *c);
/* 1 when key is one of the gateway's (then *bad says whether v was bad; err
 * may explain), 0 otherwise. `backend = smp` is handled here too. */
int agent_smp_config_set(struct agent_smp_config *c, const char *key, const char *v, int *bad,
                         char *err, size_t errlen);
struct agent_smp_backend;
ota_err agent_smp_backend_new(const struct agent_config *cfg, struct agent_smp_backend **out);
void agent_smp_backend_free(struct agent_smp_backend *b);
void agent_smp_backend_bind(struct agent_smp_backend *b, struct agent_backend *out);
/* Wait (up to smp_boot_timeout) until the MCU answers, then read its device
 * id (ota group status) into id. */
ota_err agent_smp_device_id(struct agent_smp_backend *b, char *id, size_t cap, char *err,
                            size_t errlen);
/* 1: the MCU has a slot pending its trial boot, 0: none, -1: no answer. */
int agent_smp_pending(struct agent_smp_backend *b);
/* Reset the MCU (OS group) and wait until it answers again with no slot
 * pending: it booted the trial, or the bootloader reverted. */
ota_err agent_smp_reset_and_wait(struct agent_smp_backend *b);
/* The whole gateway run for `ota-agent` (backend_smp_run.c): an exit code. */
int agent_smp_main(struct agent_config *cfg, int once);

/* Zero `a`, then cfg, a new HTTP transport, the persisted agent state and
 * the backoff seeded with cfg->seed + seed_salt (time and pid when
 * cfg->seed is 0) -- what every backend's start-up shares (setup.c).
 * OTA_ERR_NO_MEMORY when the transport cannot be made. */
ota_err agent_setup(struct agent *a, struct agent_config *cfg, uint64_t seed_salt);

/* ---- persisted state (state.c) ----------------------------------------- */
enum agent_phase {
    AGENT_PHASE_IDLE = 0,
    AGENT_PHASE_DOWNLOADING = 1, /* manifest accepted, payload partly written */
    AGENT_PHASE_INSTALLED = 2,   /* pending; rebooting into the trial */
};
/* a final report's state name ("rolled-back") and detail text */
#define AGENT_REPORT_STATE_MAX 24
#define AGENT_REPORT_DETAIL_MAX 256
struct agent_state {
    int phase;
    uint8_t manifest[OTA_MANIFEST_MAX_LEN];
    size_t manifest_len;
    uint64_t campaign_id;
    uint8_t target_digest[OTA_SHA256_LEN];
    char target_version[32];
    struct ota_update_progress progress;
    int has_progress;
    int selftest_failed_reported;
    /* a final report (success/failure/rolled-back) not yet acknowledged */
    char pending_state[AGENT_REPORT_STATE_MAX];
    int64_t pending_code;
    char pending_detail[AGENT_REPORT_DETAIL_MAX];
    uint64_t pending_campaign;
    /* "<state>: <detail>" of the last final outcome: room for both in full */
    char last_result[AGENT_REPORT_STATE_MAX + 2 + AGENT_REPORT_DETAIL_MAX];
    char device_token[AGENT_STR]; /* obtained by enrollment (secret: file is 0600) */
    /* highest signed offer_seq accepted (docs/manifest.md): offers at or
     * below it are replays or revoked; never goes backwards */
    uint64_t offer_seq;
};
void agent_state_clear(struct agent_state *s);
ota_err agent_state_load(struct agent_state *s, const char *path);
ota_err agent_state_save(const struct agent_state *s, const char *path);

/* ---- server API (api.c) ------------------------------------------------ */
struct agent_offer {
    int update;                  /* 0: nothing to do */
    uint8_t manifest[OTA_MANIFEST_MAX_LEN];
    size_t manifest_len;
    char artifact_path[AGENT_STR];
    int encrypted;               /* payload.encrypted: an encrypted full image (an unsigned
                                    hint: the engine then gets random access to it) */
    double poll_interval;        /* server's suggestion (0: none) */
    /* nothing to do: the server's signed no-offer statement (0 bytes: none),
     * whose offer sequence becomes the device's floor once verified */
    uint8_t no_offer[OTA_NO_OFFER_MAX_LEN];
    size_t no_offer_len;
};
ota_err agent_api_checkin(struct agent_http *h, const struct agent_config *c,
                          const struct agent_device_info *dev, const char *last_result,
                          struct agent_offer *offer, char *err, size_t errlen);
/* Enrollment: trade the fleet enrollment token for this device's own token. */
ota_err agent_api_enroll(struct agent_http *h, const struct agent_config *c,
                         const char *hw_id, char *token, size_t cap, char *err,
                         size_t errlen);
ota_err agent_api_report(struct agent_http *h, const struct agent_config *c,
                         uint64_t campaign, const char *state, int64_t code,
                         const char *detail, char *err, size_t errlen);

/* ---- health reports (health.c) ------------------------------------------ */
#define AGENT_HEALTH_NAME_MAX 32
#define AGENT_HEALTH_TOTALS 18 /* crashes, resets and 16 counters */
/* What the agent has seen since its last delivered health report. Owned by
 * whoever runs the agent (it outlives one agent_run: ota-sim keeps one
 * across simulated boots). */
struct agent_health {
    double period_start;          /* monotonic seconds; < 0: not started */
    char version[32];             /* the release of the current period */
    int64_t crashes, resets;      /* not yet delivered */
    /* health_command's totals as last delivered */
    int n_totals;
    char total_names[AGENT_HEALTH_TOTALS][AGENT_HEALTH_NAME_MAX + 1];
    int64_t totals[AGENT_HEALTH_TOTALS];
    /* Linux: boot id, and whether the agent asked for the coming reboot */
    char boot_id[64];
    int reboot_expected;
    char path[AGENT_STR];         /* where the above persist ("": nowhere) */
    unsigned sent, failed;
};
/* Start empty; with track_boots (a real device), load STATE_FILE.health and
 * count a reset when the boot id changed without an expected reboot. */
void agent_health_init(struct agent_health *h, const struct agent_config *c, int track_boots);
/* The host saw crashes/resets (ota-sim's firmware behaviours). */
void agent_health_note(struct agent_health *h, int64_t crashes, int64_t resets);
/* After an idle check-in: send a report when health_interval has passed
 * (or the running release changed). */
struct agent;
void agent_health_tick(struct agent *a, const struct agent_device_info *dev);
/* The agent is about to ask for a reboot: deliver what is pending, and
 * remember that this reboot is expected. */
void agent_health_before_reboot(struct agent *a);

/* ---- the agent loop (agent.c) ------------------------------------------ */
enum agent_outcome {
    AGENT_IDLE = 0,       /* nothing to do now; check in again later */
    AGENT_REBOOT = 1,     /* an update is pending: reboot into its trial */
    AGENT_RETRY = 2,      /* a transient error: retry after a backoff delay */
    AGENT_TRIAL_FAILED = 3, /* self-test failed: reset without confirming */
    AGENT_POWER_LOST = 4, /* flash reported a power cut (simulator): reboot */
    AGENT_FAULT = 5,      /* --once: a check-in failed for a reason in a->fault */
};
/* Why the last check-in (or enrollment) failed: what `--once` exits with. */
enum agent_fault {
    AGENT_FAULT_NONE = 0,
    AGENT_FAULT_OTHER,        /* transient or unclassified */
    AGENT_FAULT_UNAUTHORIZED, /* HTTP 401/403: token or enrollment token refused */
    AGENT_FAULT_HW_MISMATCH,  /* HTTP 409: registered with another hardware id */
    AGENT_FAULT_UNREACHABLE,  /* DNS, connect or timeout */
    AGENT_FAULT_TLS,          /* certificate or public-key pin refused */
};
/* The process exit code for a fault (src/host/exit_codes.h; agent.c). */
int agent_fault_exit(enum agent_fault f);
/* Seconds on the monotonic clock (agent.c). */
double agent_monotonic(void);
/* A byte string in a JSON state file as hex (state.c): put; get exactly
 * max bytes (len NULL) or up to max (*len set); -1 when missing or bad. */
struct json_t;
void agent_json_put_hex(struct json_t *o, const char *key, const uint8_t *p, size_t n);
int agent_json_get_hex(struct json_t *o, const char *key, uint8_t *out, size_t max, size_t *len);
/* Self-test hook: 0 = healthy. */
typedef int (*agent_selftest_fn)(void *ctx, const struct agent_device_info *dev);

struct agent {
    struct agent_config *cfg;
    struct agent_backend be;
    struct agent_http *http;
    struct agent_state st;
    struct agent_backoff backoff;
    agent_selftest_fn selftest;
    void *selftest_ctx;
    int (*stop)(void *ctx);       /* polled while sleeping; 1 = stop */
    void *stop_ctx;
    struct ota_diag diag;         /* the engine's last refusal */
    uint8_t offer_payload[OTA_SHA256_LEN]; /* payload the counters below refer to */
    unsigned payload_failures;    /* payloads of this offer that did not verify */
    double poll;                  /* idle interval in use (config or server's) */
    unsigned manifest_refusals;   /* consecutive refusals that may be transit damage */
    unsigned slow_attempts;       /* attempts of this offer cut by their deadline */
    uint8_t stale[OTA_MANIFEST_MAX_LEN]; /* the stale offer last refused and reported */
    size_t stale_len;
    enum agent_fault fault;       /* why the last check-in failed */
    struct agent_health *health;  /* NULL: no health reports */
    /* counters for logs and tests */
    unsigned checkins, downloads, download_errors, resumes, restarts;
};

/* One pass: handle the outcome of a previous install, send pending reports,
 * check in, and download + install an offer. */
enum agent_outcome agent_step(struct agent *a);
/* Loop agent_step with the poll interval / backoff until it asks for a
 * reboot, a trial fails, `stop` says so, or (once != 0) after the first
 * idle check-in -- or the first failed one: AGENT_FAULT with a->fault
 * saying why. Returns the last outcome. */
enum agent_outcome agent_run(struct agent *a, int once);
/* Sleep up to seconds, waking early when a->stop returns 1. */
void agent_sleep(struct agent *a, double seconds);

/* The default self-test hook: runs cfg->selftest_cmd (healthy when empty). */
int agent_selftest_command(void *ctx, const struct agent_device_info *dev);

/* ---- stopping on signals (stop.c) ------------------------------------------ */
/* Install SIGTERM/SIGINT handlers that ask the agent loop to stop. */
void agent_stop_on_signals(void);
/* 1 once SIGTERM or SIGINT arrived, else 0; fits struct agent's `stop` hook. */
int agent_stop_requested(void *ctx);

#endif

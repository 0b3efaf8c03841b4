// SPDX-License-Identifier: Apache-2.0
/*
 * store.h - the storage interface of ota-server.
 *
 * HTTP handlers and the rollout engine talk to persistence only through this
 * table of function pointers, so another backend (PostgreSQL for several
 * stateless server nodes) can be added beside store_sqlite.c without touching
 * them. Every call is safe from any server thread; a backend gives each
 * thread its own connection. Writes that the API acknowledges (reports,
 * registrations, campaign changes) are durable when the call returns.
 */
#ifndef OTA_SERVER_STORE_H
#define OTA_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ota/crypto.h"
#include "ota/image.h"

enum store_rc {
    STORE_OK = 0,
    STORE_NOT_FOUND = 1,
    STORE_CONFLICT = 2, /* unique key taken, or state changed under us */
    STORE_ERR = 3,      /* backend failure (logged by the backend) */
    STORE_REFUSED = 4,  /* a policy check inside the transaction failed */
};

#define SRV_ID_MAX 64        /* device ids, names */
/* Hardware ids as text: up to 32 printable characters, or - for binary ids,
 * as `ota sign --hw-id 0x...` writes them - "0x" and up to 64 hex digits. */
#define SRV_HWID_MAX 66
#define SRV_TAGS_MAX 512     /* comma-separated tag list */
#define SRV_DETAIL_MAX 512
#define SRV_STAGES_MAX 16
#define SRV_SEEN_RESULT_MAX 255 /* last_result kept from a check-in (longer: cut) */
#define SRV_FILENAME_MAX 128 /* DDI artifact file names */
#define SRV_DDI_ATTRS_MAX 8192 /* DDI configData attributes, as stored JSON text */

struct srv_release {
    int64_t id;
    char name[SRV_ID_MAX + 1];   /* free-form label (default: the version) */
    struct ota_image_version version;
    uint32_t security_counter;
    char hw_id[SRV_HWID_MAX + 1];
    uint8_t digest[OTA_SHA256_LEN]; /* SHA-256 of the whole image file */
    uint64_t size;
    int64_t created_at;
    /* Releases for hawkBit DDI devices (ddi*.c): raw = an opaque artifact
     * (.swu, .raucb, ...) with an admin-given version and hardware id, never
     * offered to native ota devices; filename is what DDI devices download.
     * md5/sha1 (the hashes hawkBit sends besides SHA-256) are computed once,
     * at upload for raw releases, at the first DDI offer for images. */
    uint8_t raw;
    uint8_t has_hashes;
    char filename[SRV_FILENAME_MAX + 1];
    uint8_t md5[16];
    uint8_t sha1[20];
    /* Per-slot builds (execute-in-place parts, release_slot.c): the slot the
     * image above is linked for ("A", "B", or "" for any slot: no LINK_SLOT
     * TLV), and the same release built for the other slot, when uploaded
     * (POST /v1/releases/{id}/images): same version, security counter and
     * hardware id, linked for the other slot. */
    char link_slot[2];
    uint8_t has_other;
    uint8_t other_digest[OTA_SHA256_LEN];
    uint64_t other_size;
};

struct srv_device {
    char id[SRV_ID_MAX + 1];
    uint8_t token_hash[OTA_SHA256_LEN];
    char hw_id[SRV_HWID_MAX + 1];
    char tags[SRV_TAGS_MAX + 1]; /* ",a,b," (leading/trailing commas) or "" */
    /* inventory, from check-ins and reports */
    char current_version[24];
    uint8_t current_digest[OTA_SHA256_LEN];
    uint8_t has_digest;
    char slot_state[32];
    char running_slot[2]; /* "A", "B", or "" when the device does not say */
    char last_result[SRV_DETAIL_MAX + 1];
    int64_t last_seen; /* 0 = never */
    int64_t created_at;
};

/* A stage's health gate on device telemetry (health_gate.c, docs/health.md):
 * the updated cohort's rate of `metric` per device-hour must stay at or
 * below max_ratio x the control's, judged once both cohorts reach
 * min_devices and min_device_hours. */
#define SRV_GATES_MAX 4
#define SRV_HEALTH_NAME_MAX 32 /* custom counter names: [A-Za-z0-9._-]{1,32} */
struct srv_health_gate {
    char metric[8 + SRV_HEALTH_NAME_MAX + 1]; /* crashes, resets, counter:<name> */
    double max_ratio;
    int64_t min_devices;
    double min_device_hours;
};

struct srv_stage {
    double percent;          /* cumulative share of matching devices, (0, 100] */
    int64_t soak_seconds;    /* minimum time in this stage */
    int64_t min_finished;    /* finished devices needed (gate and halt sample) */
    double max_failure_ratio;/* (failure + rolled_back) / finished */
    int n_gates;
    struct srv_health_gate gates[SRV_GATES_MAX];
};
/* Room for store_stages_encode()'s text of SRV_STAGES_MAX stages. */
#define SRV_STAGES_TEXT_MAX (SRV_STAGES_MAX * (96 + SRV_GATES_MAX * 128))

/* A stage that places too few devices to ever open its gate (warned at
 * creation and when the stage starts; api_campaign_edit.c). */
enum srv_warning_code {
    WARN_NO_DEVICES = 0,    /* the stage places no matching device at all */
    WARN_BELOW_MIN = 1,     /* fewer than the stage's min_finished */
    WARN_CODE_COUNT = 2,
};
struct srv_warning {
    int stage;              /* stage index */
    int code;               /* enum srv_warning_code */
    int64_t placed;         /* matching devices the stage places (cumulative) */
    int64_t min_finished;   /* the stage's gate */
};

enum srv_campaign_state {
    CAMPAIGN_ACTIVE = 0,
    CAMPAIGN_PAUSED = 1,
    CAMPAIGN_HALTED = 2,  /* by the rollout engine: failure ratio crossed */
    CAMPAIGN_ABORTED = 3, /* by an operator */
    CAMPAIGN_STATE_COUNT = 4,
};

struct srv_campaign {
    int64_t id;
    char name[SRV_ID_MAX + 1];
    int64_t release_id;
    /* filter */
    char f_hw_id[SRV_HWID_MAX + 1];   /* "" = any */
    char f_tags[SRV_TAGS_MAX + 1];    /* ",a,b," all required; "" = any */
    char f_min_version[24];           /* "" = none; inclusive */
    char f_max_version[24];           /* "" = none; exclusive */
    /* plan */
    int n_stages;
    struct srv_stage stages[SRV_STAGES_MAX];
    /* progress */
    int state;                         /* enum srv_campaign_state */
    int stage;                         /* current stage index */
    int64_t stage_started_at;
    int complete;                      /* last stage's gates held */
    char halt_reason[SRV_DETAIL_MAX + 1];
    int64_t created_at;
    int64_t updated_at;
    int n_warnings;                    /* at most one per stage */
    struct srv_warning warnings[SRV_STAGES_MAX];
};

/* Per (campaign, device) progress. */
enum srv_dc_state {
    DC_OFFERED = 0,
    DC_DOWNLOADING,
    DC_INSTALLING,
    DC_REBOOTING,   /* "installed-rebooting" */
    DC_SUCCESS,
    DC_FAILURE,
    DC_ROLLED_BACK,
    DC_STATE_COUNT,
};
#define DC_IS_FINAL(s) ((s) >= DC_SUCCESS)

struct srv_dc {
    int64_t campaign_id;
    char device_id[SRV_ID_MAX + 1];
    int state;
    int stage;  /* stage index at first offer */
    int64_t updated_at;
};

struct srv_report {
    int64_t id;
    char device_id[SRV_ID_MAX + 1];
    int64_t campaign_id; /* 0 = none */
    int state;           /* enum srv_dc_state (never DC_OFFERED) */
    int64_t code;
    char detail[SRV_DETAIL_MAX + 1];
    int64_t created_at;
};

/* Counts per stage (of first offer) and state, for campaign status. */
struct srv_counts {
    int64_t by_stage_state[SRV_STAGES_MAX][DC_STATE_COUNT];
};

struct srv_enroll_token {
    int64_t id;
    uint8_t token_hash[OTA_SHA256_LEN];
    char tags[SRV_TAGS_MAX + 1];
    char hw_id[SRV_HWID_MAX + 1]; /* "" = any */
    int64_t expires_at;           /* 0 = never */
    int64_t max_uses;             /* 0 = unlimited */
    int64_t uses;
    int64_t created_at;
};

/* What a check-in tells us about the device (written lazily in batches). */
struct srv_seen {
    char device_id[SRV_ID_MAX + 1];
    int64_t at;
    char current_version[24];
    uint8_t current_digest[OTA_SHA256_LEN];
    uint8_t has_digest;
    char slot_state[32];
    char running_slot[2]; /* "A", "B" or "" */
    char last_result[SRV_SEEN_RESULT_MAX + 1]; /* "" = unchanged */
    uint8_t state_changed; /* version/digest/slot/result differ from the stored row */
    uint64_t seq; /* arrival order (the queue keeps the latest per device last) */
};

/* One (campaign, device) row as DDI sees it (ddi.c): the device's action
 * in a campaign (the action id is the campaign id). */
enum srv_ddi_cancel {
    DDI_CANCEL_NONE = 0,
    DDI_CANCEL_CLOSED = 1,   /* the device confirmed the cancellation */
    DDI_CANCEL_REJECTED = 2, /* the device refused it (still running) */
};
struct srv_ddi_action {
    int64_t campaign_id;
    int64_t release_id;
    int dc_state;       /* enum srv_dc_state */
    int campaign_state; /* enum srv_campaign_state */
    int cancel;         /* enum srv_ddi_cancel */
    int64_t updated_at; /* of the device's campaign row */
};

/* Users of the operator API (auth.c, api_tokens.c, api_session.c, audit.c):
 * named API tokens with a role, console sessions, the audit log. */
struct srv_api_token {
    int64_t id;
    char name[SRV_ID_MAX + 1];
    int role;                       /* enum role (server.h) */
    uint8_t token_hash[OTA_SHA256_LEN];
    int64_t created_at;
    char created_by[SRV_ID_MAX + 1];
    int64_t last_used_at;           /* 0 = never; kept to the minute */
};
/* A console login: the cookie's hash, and the hash of the token that logged
 * in (the session lives only as long as that token does). */
struct srv_session {
    uint8_t id_hash[OTA_SHA256_LEN];
    uint8_t token_hash[OTA_SHA256_LEN];
    int64_t created_at;
    int64_t last_used;
};
#define SRV_AUDIT_TEXT_MAX 255
struct srv_audit {
    int64_t id;
    int64_t at;
    char actor[SRV_ID_MAX + 8];     /* a user name, or "device:<id>" */
    char role[16];                  /* viewer|operator|admin|device */
    char action[64];                /* "<METHOD> <route>" */
    char target[SRV_AUDIT_TEXT_MAX + 1]; /* the request path */
    int status;                     /* HTTP status answered */
};

/* One health report of a device (api_health.c): increments over period_s
 * seconds of uptime on `release` (canonical "M.m.r+b"). */
#define SRV_HEALTH_COUNTERS_MAX 16
struct srv_health_report {
    char device_id[SRV_ID_MAX + 1];
    char release[24];
    int64_t period_s, crashes, resets;
    int n_counters;
    char names[SRV_HEALTH_COUNTERS_MAX][SRV_HEALTH_NAME_MAX + 1];
    int64_t values[SRV_HEALTH_COUNTERS_MAX];
    int64_t at;
};
/* One row of a health aggregation: sums over devices (devices = how many).
 * name "" carries devices/period_s/crashes/resets; a counter's row carries
 * its name and value. Updated cohort rows: stage = the stage of the
 * devices' first offer; control rows: release, hw_id and tags of the group
 * (the campaign filter is applied by the caller), stage -1. */
struct srv_health_row {
    int stage;
    char release[24];
    char hw_id[SRV_HWID_MAX + 1];
    char tags[SRV_TAGS_MAX + 1];
    char name[SRV_HEALTH_NAME_MAX + 1];
    int64_t devices, period_s, crashes, resets, value;
};

struct store;

typedef void (*store_release_cb)(void *ctx, const struct srv_release *r);
typedef void (*store_device_cb)(void *ctx, const struct srv_device *d);
typedef void (*store_campaign_cb)(void *ctx, const struct srv_campaign *c);
typedef void (*store_report_cb)(void *ctx, const struct srv_report *r);
typedef void (*store_dc_cb)(void *ctx, const struct srv_dc *dc);
typedef void (*store_enroll_cb)(void *ctx, const struct srv_enroll_token *t);
typedef void (*store_ddi_action_cb)(void *ctx, const struct srv_ddi_action *a);
typedef void (*store_health_cb)(void *ctx, const struct srv_health_row *r);
typedef void (*store_api_token_cb)(void *ctx, const struct srv_api_token *t);
typedef void (*store_audit_cb)(void *ctx, const struct srv_audit *a);
/* One row of a read-only query (store_ops.query): its columns as text,
 * NULL for SQL NULL. */
typedef void (*store_row_cb)(void *ctx, int ncols, const char *const *cols);
/* A query parameter: text, integer or blob (kind STORE_P_*). */
enum { STORE_P_TEXT = 0, STORE_P_INT = 1, STORE_P_BLOB = 2 };
struct store_param {
    int kind;
    const char *s;    /* text, or the blob's bytes */
    int64_t i;        /* integer, or the blob's length */
};
#define STORE_QUERY_MAX_PARAMS 16

struct store_ops {
    const char *name;
    /* 1 if other server processes may change the store (PostgreSQL with
     * several nodes): cached campaign state is then re-validated against
     * campaign_generation() before each use. */
    int shared;
    void (*close)(struct store *s);

    /* key/value settings (admin token hash, schema facts). */
    enum store_rc (*setting_get)(struct store *s, const char *key, char *val, size_t cap);
    enum store_rc (*setting_put)(struct store *s, const char *key, const char *val);

    /* releases */
    enum store_rc (*release_insert)(struct store *s, struct srv_release *r); /* sets id */
    enum store_rc (*release_get)(struct store *s, int64_t id, struct srv_release *r);
    /* The release holding an image of this digest, as its first image or
     * as its other slot's image (compare with r->digest to tell which). */
    enum store_rc (*release_by_digest)(struct store *s, const uint8_t d[OTA_SHA256_LEN],
                                       struct srv_release *r);
    enum store_rc (*release_list)(struct store *s, store_release_cb cb, void *ctx);
    /* STORE_CONFLICT when a campaign still refers to it. */
    enum store_rc (*release_delete)(struct store *s, int64_t id);
    /* Add the other slot's image to a per-slot release (release_slot.c):
     * NOT_FOUND: no such release; CONFLICT: it has one already, or the
     * digest is already a release's image. (release_insert checks only
     * first images: the API looks a new file up with release_by_digest.) */
    enum store_rc (*release_set_other)(struct store *s, int64_t id,
                                       const uint8_t digest[OTA_SHA256_LEN], uint64_t size);

    /* devices */
    enum store_rc (*device_insert)(struct store *s, const struct srv_device *d);
    enum store_rc (*device_get)(struct store *s, const char *id, struct srv_device *d);
    /* The device row for authentication and targeting on the check-in path:
     * like device_get but last_seen may be stale (cheapest read). */
    enum store_rc (*device_get_auth)(struct store *s, const char *id, struct srv_device *d);
    enum store_rc (*device_by_token)(struct store *s, const uint8_t hash[OTA_SHA256_LEN],
                                     struct srv_device *d);
    enum store_rc (*device_list)(struct store *s, const char *after_id, int limit,
                                 store_device_cb cb, void *ctx);
    enum store_rc (*device_set_tags)(struct store *s, const char *id, const char *tags);
    enum store_rc (*device_set_token)(struct store *s, const char *id,
                                      const uint8_t hash[OTA_SHA256_LEN]);
    /* The device and its history (reports, campaign progress, last seen):
     * an id registered again later starts clean. */
    enum store_rc (*device_delete)(struct store *s, const char *id);
    /* Batched inventory update from check-ins (one transaction): last seen
     * always, the reported state only for entries with state_changed. */
    enum store_rc (*devices_seen)(struct store *s, const struct srv_seen *v, size_t n);
    int64_t (*device_count)(struct store *s);

    /* enrollment tokens */
    enum store_rc (*enroll_insert)(struct store *s, struct srv_enroll_token *t);
    /* Atomically: find by hash, check expiry/uses against now, count a use,
     * insert the device. NOT_FOUND: unknown/expired/used up; REFUSED: the
     * token is for another hardware id (t filled; no use counted);
     * CONFLICT: id taken. */
    enum store_rc (*enroll_use)(struct store *s, const uint8_t hash[OTA_SHA256_LEN],
                                int64_t now, struct srv_device *d,
                                struct srv_enroll_token *t);
    /* Every token (used up and expired ones too), by id. */
    enum store_rc (*enroll_list)(struct store *s, store_enroll_cb cb, void *ctx);
    /* Revoke: the token stops enrolling at once (devices it enrolled stay). */
    enum store_rc (*enroll_delete)(struct store *s, int64_t id);

    /* campaigns */
    enum store_rc (*campaign_insert)(struct store *s, struct srv_campaign *c); /* sets id */
    enum store_rc (*campaign_get)(struct store *s, int64_t id, struct srv_campaign *c);
    enum store_rc (*campaign_list)(struct store *s, int only_active,
                                   store_campaign_cb cb, void *ctx);
    /* Write state/stage/stage_started_at/complete/halt_reason/updated_at only
     * if the stored state and stage still equal expect_state/expect_stage
     * (STORE_CONFLICT otherwise): several nodes may evaluate at once. */
    enum store_rc (*campaign_update)(struct store *s, const struct srv_campaign *c,
                                     int expect_state, int expect_stage);
    enum store_rc (*campaign_counts)(struct store *s, int64_t id, struct srv_counts *out);
    /* Version counter bumped on every campaign change (cache invalidation). */
    int64_t (*campaign_generation)(struct store *s);
    /* Optional (NULL when one process owns the store): hold a cross-node
     * lock on one campaign while the rollout engine evaluates it; taken and
     * released on the same thread. */
    enum store_rc (*campaign_lock)(struct store *s, int64_t id);
    void (*campaign_unlock)(struct store *s, int64_t id);

    /* per-device campaign progress */
    enum store_rc (*dc_get)(struct store *s, int64_t campaign_id, const char *device_id,
                            struct srv_dc *out);
    /* Devices of a campaign in id order after after_id; state < 0: any. */
    enum store_rc (*dc_list)(struct store *s, int64_t campaign_id, int state,
                             const char *after_id, int limit, store_dc_cb cb, void *ctx);
    /* Insert an OFFERED row if none exists (existing row left as is). */
    enum store_rc (*dc_offer)(struct store *s, const struct srv_dc *dc);

    /* Durably record a report: append it, move the device's campaign row
     * (if any) to its state, set the device's last result. Returns only
     * after commit. Sets r->id. Final states are final: STORE_REFUSED, and
     * nothing written, when the report names a campaign whose row for this
     * device is missing or already final. */
    enum store_rc (*report_insert)(struct store *s, struct srv_report *r,
                                   const char *last_result);
    enum store_rc (*report_list)(struct store *s, const char *device_id, int64_t after_id,
                                 int limit, store_report_cb cb, void *ctx);

    /* delta cache: base/target digests -> payload digest and size.
     * size 0 records "no useful delta" for that pair. */
    enum store_rc (*delta_get)(struct store *s, const uint8_t base[OTA_SHA256_LEN],
                               const uint8_t target[OTA_SHA256_LEN],
                               uint8_t payload[OTA_SHA256_LEN], uint64_t *size);
    enum store_rc (*delta_put)(struct store *s, const uint8_t base[OTA_SHA256_LEN],
                               const uint8_t target[OTA_SHA256_LEN],
                               const uint8_t payload[OTA_SHA256_LEN], uint64_t size);

    /* hawkBit DDI (ddi*.c) */
    /* Record a release's MD5 and SHA-1 (computed from its artifact). */
    enum store_rc (*release_set_hashes)(struct store *s, int64_t id, const uint8_t md5[16],
                                        const uint8_t sha1[20]);
    /* Every campaign row of one device, newest campaign first, with the
     * campaign's state and release and the device's cancel feedback. */
    enum store_rc (*ddi_actions)(struct store *s, const char *device_id,
                                 store_ddi_action_cb cb, void *ctx);
    /* Record a device's answer to a cancelAction (enum srv_ddi_cancel) and
     * set its last result to `last_result`, in one transaction. */
    enum store_rc (*ddi_cancel_put)(struct store *s, int64_t campaign_id,
                                    const char *device_id, int cancel,
                                    const char *last_result, int64_t now);
    /* Store a device's configData attributes (JSON object text). If hw_id
     * is not empty it becomes the device's hardware id when it has none;
     * STORE_REFUSED (nothing written) when it has another one. */
    enum store_rc (*ddi_attrs_put)(struct store *s, const char *device_id, const char *attrs,
                                   const char *hw_id, int64_t now);
    /* The stored attributes (NOT_FOUND: the device never sent any). */
    enum store_rc (*ddi_attrs_get)(struct store *s, const char *device_id, char *attrs,
                                   size_t cap, int64_t *updated_at);

    /* users: named API tokens (CONFLICT: name or hash taken), by hash,
     * all by id; deleting one deletes its console sessions in the same
     * transaction. */
    enum store_rc (*api_token_insert)(struct store *s, struct srv_api_token *t); /* sets id */
    enum store_rc (*api_token_by_hash)(struct store *s, const uint8_t hash[OTA_SHA256_LEN],
                                       struct srv_api_token *t);
    enum store_rc (*api_token_list)(struct store *s, store_api_token_cb cb, void *ctx);
    enum store_rc (*api_token_delete)(struct store *s, int64_t id);
    enum store_rc (*api_token_touch)(struct store *s, int64_t id, int64_t now);
    /* console sessions: insert one (and, in the same call, delete those idle
     * since before idle_before or created before created_before), read,
     * refresh last_used, delete (NOT_FOUND when absent). */
    enum store_rc (*session_put)(struct store *s, const struct srv_session *ss,
                                 int64_t idle_before, int64_t created_before);
    enum store_rc (*session_get)(struct store *s, const uint8_t id_hash[OTA_SHA256_LEN],
                                 struct srv_session *ss);
    enum store_rc (*session_touch)(struct store *s, const uint8_t id_hash[OTA_SHA256_LEN],
                                   int64_t now);
    enum store_rc (*session_delete)(struct store *s, const uint8_t id_hash[OTA_SHA256_LEN]);
    /* audit log: append (sets id); list: entries with id > from in id
     * order, or (newest != 0) entries with id < from newest first; delete
     * entries older than `before`. */
    enum store_rc (*audit_insert)(struct store *s, struct srv_audit *a);
    enum store_rc (*audit_list)(struct store *s, int64_t from, int newest, int limit,
                                store_audit_cb cb, void *ctx);
    enum store_rc (*audit_prune)(struct store *s, int64_t before);
    /* Read-only aggregates and pages of the console (api_fleet.c): run one
     * statement of store_sql.h's "fleet" section (SQLite's ?N placeholders,
     * text valid in both dialects) with up to STORE_QUERY_MAX_PARAMS
     * parameters; cb once per row. */
    enum store_rc (*query)(struct store *s, const char *sql, const struct store_param *p,
                           int np, store_row_cb cb, void *ctx);

    /* device health (api_health.c, health_gate.c): one row per device and
     * release holding sums (reports, period, crashes, resets) and one per
     * device, release and counter name; a report adds to them in one
     * transaction. */
    enum store_rc (*health_add)(struct store *s, const struct srv_health_report *h);
    /* The updated cohort: sums over the devices of campaign_id running
     * `release`, by stage of first offer (base rows, then counter rows). */
    enum store_rc (*health_updated)(struct store *s, int64_t campaign_id, const char *release,
                                    store_health_cb cb, void *ctx);
    /* The control: sums over every other release's rows, by release,
     * hardware id and tags, leaving out devices this campaign updated. */
    enum store_rc (*health_control)(struct store *s, int64_t campaign_id, const char *release,
                                    store_health_cb cb, void *ctx);
    /* Retention: forget rows not added to since `before`. */
    enum store_rc (*health_prune)(struct store *s, int64_t before);
};

struct store {
    const struct store_ops *ops;
};

/* SQLite backend (store_sqlite.c): opens or creates path, runs migrations. */
struct store *store_sqlite_open(const char *path, char *err, size_t errlen);
/* The schema version this build migrates a SQLite database to (its number
 * of migrations; `ota-server --version` prints it). */
int store_sqlite_schema_version(void);
/* PostgreSQL backend (store_pg.c): conninfo is a libpq connection string or
 * postgres:// URI; connects, runs migrations. Built when libpq is found
 * (OTA_SERVER_HAVE_PG). */
struct store *store_pg_open(const char *conninfo, char *err, size_t errlen);
/* The schema version this build migrates a PostgreSQL database to. */
int store_pg_schema_version(void);

/* The stored text form of a campaign's stages (store_stages.c), shared by
 * the backends. Decoding stops at the first malformed stage. */
void store_stages_encode(const struct srv_campaign *cp, char *out, size_t cap);
void store_stages_decode(const char *in, struct srv_campaign *cp);
/* ... and of its warnings ("stage:code:placed:min_finished;..."). */
void store_warnings_encode(const struct srv_campaign *cp, char *out, size_t cap);
void store_warnings_decode(const char *in, struct srv_campaign *cp);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * server.h - the shared state of one ota-server process and the small
 * request/response abstraction its handlers use (http.c owns
 * libmicrohttpd; handlers in api_*.c never touch MHD directly except through
 * these helpers).
 */
#ifndef OTA_SERVER_SERVER_H
#define OTA_SERVER_SERVER_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ota/crypto.h"
#include "ota/host.h"
#include "ota/manifest.h"
#include "metrics.h"
#include "store.h"

struct seen_queue {
    pthread_mutex_t lock;
    struct srv_seen *items;
    size_t n, cap;
};

/* hawkBit DDI settings (ddi.c, docs/ddi.md). */
struct ddi_config {
    char tenant[SRV_ID_MAX + 1];    /* --ddi-tenant (default DEFAULT) */
    char base_url[256];             /* --ddi-base-url; "" = from the Host header */
    char hw_id_attr[SRV_ID_MAX + 1];/* --ddi-hw-id-attribute (default hw_id) */
    int anonymous;                  /* --ddi-anonymous: DDI without tokens */
    int https;                      /* the listener serves TLS */
};

struct server {
    struct store *store;
    char data_dir[PATH_MAX];
    char artifacts_dir[PATH_MAX];
    ota_key *manifest_key;
    struct ota_pubkey manifest_pub;
    uint8_t manifest_key_id[OTA_MANIFEST_KEY_ID_LEN];
    struct trusted_set *trusted;  /* firmware signing keys (trusted.h; swapped on SIGHUP) */
    pthread_mutex_t trusted_lock;
    uint8_t admin_hash[OTA_SHA256_LEN];
    int test_clock;               /* --test-clock: POST /v1/admin/clock allowed */
    _Atomic int64_t clock_offset; /* seconds added to the real clock */
    int64_t offer_ttl;            /* manifest validity, seconds */
    int64_t poll_interval;        /* suggested seconds between check-ins */
    size_t max_body;              /* JSON bodies */
    size_t max_release;           /* release uploads */
    int delta_enabled;
    int64_t inventory_flush;      /* seconds between inventory batch writes */
    struct seen_queue seen;
    struct metrics metrics;
    pthread_mutex_t rollout_lock; /* serialises campaign evaluation in-process */
    pthread_mutex_t delta_lock;   /* one delta generation at a time */
    atomic_int stopping;
    struct ddi_config ddi;
};

int64_t srv_now(struct server *s);

/* ---- requests and responses --------------------------------------------- */

struct http_req {
    void *conn;             /* struct MHD_Connection * */
    const char *method;     /* "GET", ... */
    const char *path;       /* URL path without query */
    const uint8_t *body;
    size_t body_len;
    /* Release uploads arrive in a temporary file instead of body (which is
     * then empty): its descriptor and path; -1 / NULL otherwise. */
    int body_fd;
    const char *body_file;
    int route;              /* enum route (metrics.h), set by the router */
    char who[SRV_ID_MAX + 8]; /* "admin", "device:<id>", for the access log */
};

struct http_resp {
    int status;
    void *mhd;              /* struct MHD_Response *, owned until queued */
    uint64_t body_bytes;    /* for metrics/logs */
};

/* Header and query lookups (NULL when absent). */
const char *req_header(const struct http_req *r, const char *name);
const char *req_query(const struct http_req *r, const char *name);

/* Build responses. Each replaces any response already set in out. */
void resp_json(struct http_resp *out, int status, json_t *body); /* steals body */
void resp_bytes(struct http_resp *out, int status, const char *content_type,
                const void *data, size_t len);
void resp_text(struct http_resp *out, int status, const char *content_type,
               const char *text);
/* {"error": {"code": code, "message": msg}}; code is a stable identifier. */
void resp_error(struct http_resp *out, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void resp_empty(struct http_resp *out, int status);
void resp_add_header(struct http_resp *out, const char *name, const char *value);

/* ---- auth (auth.c) ------------------------------------------------------ */

/* Bearer token from the Authorization header, or NULL. */
const char *auth_bearer(const struct http_req *r);
/* 1 if the admin token is presented; otherwise sets 401 and returns 0. */
int auth_admin(struct server *s, struct http_req *r, struct http_resp *out);
/* 1 if the request carries the token of device `id` (fills d). Otherwise
 * sets 401 (no/unknown token) or 403 (another device's token) and returns 0. */
int auth_device(struct server *s, struct http_req *r, struct http_resp *out,
                const char *id, struct srv_device *d);
/* The same with the token given (hawkBit's "TargetToken <token>", ddi.c). */
int auth_device_token(struct server *s, struct http_req *r, struct http_resp *out,
                      const char *id, const char *tok, struct srv_device *d);
/* Any device token or the admin token (artifact downloads, and any request
 * with a body before it is read); 503 when the database is unavailable. */
int auth_any(struct server *s, struct http_req *r, struct http_resp *out);
/* 1 if the admin token is presented (no response set either way). */
int auth_is_admin(struct server *s, const struct http_req *r);

/* ---- tokens (token.c) --------------------------------------------------- */

#define TOKEN_STR_MAX 80
/* "<prefix>_<64 hex>" from the system CSPRNG; hash = SHA-256(token). */
int token_new(const char *prefix, char out[TOKEN_STR_MAX], uint8_t hash[OTA_SHA256_LEN]);
void token_hash(const char *token, uint8_t hash[OTA_SHA256_LEN]);

/* ---- handlers ----------------------------------------------------------- */

void api_admin_route(struct server *s, struct http_req *r, struct http_resp *out);
void api_device_route(struct server *s, struct http_req *r, struct http_resp *out);
/* POST /v1/releases/{to}/deltas?from={from}: a build-side sealed delta
 * between two encrypted releases (api_sealed_delta.c). */
void sealed_delta_upload(struct server *s, struct http_req *r, struct http_resp *out,
                         const char *to_id);
void api_artifact(struct server *s, struct http_req *r, struct http_resp *out,
                  const char *hex);

/* api_admin.c: the JSON form of a device (admin API and the router's
 * operations endpoints). */
json_t *device_json(const struct srv_device *d);
/* api_device.c: the API name of a device-campaign state ("downloading", ...;
 * "unknown" out of range). */
const char *dc_state_name(int st);
/* api_device.c: GET .../reports of one device (admin and device APIs). */
void list_reports(struct server *s, struct http_req *r, struct http_resp *out,
                  const char *device_id);

/* api_admin.c: campaigns. The default failure limit of a plan's first
 * stage (later stages inherit the previous stage's), the JSON form of a
 * campaign, a state's API name, and the stages array parsed and validated
 * (1, or 0 with a 400 answer set). */
#define CAMPAIGN_DEFAULT_RATIO 0.2
json_t *campaign_json(struct server *s, const struct srv_campaign *c, int with_counts);
const char *campaign_state_name(int state);
int campaign_parse_stages(json_t *arr, struct srv_campaign *c, struct http_resp *out);
/* api_campaign_edit.c: operator control that keeps campaigns from getting
 * stuck: warnings recorded at creation, POST .../advance, PATCH of a paused
 * campaign's remaining stages, the dry-run preview, warnings as JSON. */
void campaign_warn_created(struct server *s, struct srv_campaign *c,
                           const struct srv_release *rel);
void campaign_advance(struct server *s, struct srv_campaign *c, struct http_resp *out);
void campaign_patch(struct server *s, struct http_req *r, struct srv_campaign *c,
                    struct http_resp *out);
void campaign_preview(struct server *s, const struct srv_campaign *c,
                      const struct srv_release *rel, struct http_resp *out);
json_t *campaign_warnings_json(const struct srv_warning *w, int n);

/* api_admin.c: the JSON form of a release (admin API, raw uploads). */
json_t *release_json(const struct srv_release *r);
/* api_admin.c: store an upload's file as the artifact of rel (digest set)
 * and insert rel. 1, or 0 with the answer set (409 with the existing
 * release when the same file is one already). */
int release_commit(struct server *s, struct http_req *r, struct http_resp *out,
                   struct srv_release *rel);

/* ---- hawkBit DDI (ddi*.c, docs/ddi.md) ----------------------------------- */

/* Check and set the DDI settings: 0, or (with err) 1 bad tenant, 2 bad base
 * URL, 3 bad attribute name. */
int ddi_config_set(struct ddi_config *c, const char *tenant, const char *base_url,
                   const char *hw_id_attr, int anonymous, int https, char *err, size_t errlen);
/* The DDI route of a path (/{tenant}/controller/v1/...), or ROUTE_UNKNOWN. */
int ddi_classify(const char *path);
/* Every DDI request (the router hands them over by route). */
void ddi_route(struct server *s, struct http_req *r, struct http_resp *out);
/* Before a DDI request's body is read: 1 (with out set) if its credentials
 * cannot be good for the controller of its path. */
int ddi_refuse_early(struct server *s, struct http_req *r, struct http_resp *out);
/* POST /v1/releases?format=raw: an opaque artifact as a release. */
void ddi_release_upload(struct server *s, struct http_req *r, struct http_resp *out);
/* /v1/ddi/gateway-token (admin): create/rotate, state, disable. */
void ddi_gateway_token_route(struct server *s, struct http_req *r, struct http_resp *out);
/* GET /v1/devices/{id}/attributes (admin): the configData of a device. */
void ddi_attributes_route(struct server *s, struct http_req *r, struct http_resp *out);

/* Route dispatch for the whole API (router.c). */
void route_request(struct server *s, struct http_req *r, struct http_resp *out);
/* The route of a path (enum route), from the path alone. */
int route_classify(const char *path);

/* ---- inventory batching (seen.c) ---------------------------------------- */
void seen_push(struct server *s, const struct srv_seen *v);
void seen_flush(struct server *s);

#endif

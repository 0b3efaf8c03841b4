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
    int64_t delta_wait;           /* --delta-wait: seconds a pair may be pending */
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
    /* The operator calling, set by the role check (auth.c): user name and
     * role (enum role; ROLE_NONE for a device token refused there). audit
     * = 1 once a known credential reached a role check: a state-changing
     * request is then recorded in the audit log (audit.c), refusals too. */
    char actor[SRV_ID_MAX + 8];
    int role;
    int audit;
    int via_session;        /* authenticated by the console session cookie */
};

struct http_resp {
    int status;
    void *mhd;              /* struct MHD_Response *, owned until queued */
    uint64_t body_bytes;    /* for metrics/logs */
};

/* Header, query and cookie lookups (NULL when absent). */
const char *req_header(const struct http_req *r, const char *name);
const char *req_query(const struct http_req *r, const char *name);
const char *req_cookie(const struct http_req *r, const char *name);

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

/* Roles of operator API users, ordered: each can do what the previous can
 * (docs/api.md "Roles"). The first-start admin token is an admin named
 * "admin"; named tokens (api_tokens.c) carry one of these. */
enum role { ROLE_NONE = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 };
const char *role_name(int role);  /* "viewer", ...; "none" out of range */
int role_parse(const char *name); /* ROLE_NONE if not a role name */
/* The minimum role of an operator route for a method (the table in
 * docs/api.md): GET/HEAD viewer; releases and campaigns operator; the rest
 * (devices, tokens, enrollment tokens, settings) admin. */
int role_needed(int route, const char *method);

/* Bearer token from the Authorization header, or NULL. */
const char *auth_bearer(const struct http_req *r);
/* 1 if the caller is a user (bearer admin/named token, or the console
 * session cookie) with at least role `need`; records the caller on r
 * (actor, role, who). Otherwise sets the answer and returns 0: 401 no or
 * unknown credential, 403 "forbidden" naming the role needed (also for a
 * device token), 403 "csrf" for a cookie-authenticated request other than
 * GET/HEAD without the session's X-CSRF-Token, 503 database unavailable. */
int auth_role(struct server *s, struct http_req *r, struct http_resp *out, int need);
/* 1 if the request carries a valid user credential (token or session
 * cookie; no response set either way, caller recorded on r). */
int auth_is_user(struct server *s, struct http_req *r);
/* 1 if the request carries the token of device `id` (fills d). Otherwise
 * sets 401 (no/unknown token) or 403 (another device's token) and returns 0. */
int auth_device(struct server *s, struct http_req *r, struct http_resp *out,
                const char *id, struct srv_device *d);
/* The same with the token given (hawkBit's "TargetToken <token>", ddi.c). */
int auth_device_token(struct server *s, struct http_req *r, struct http_resp *out,
                      const char *id, const char *tok, struct srv_device *d);
/* Any device token or user credential (artifact downloads, and any request
 * with a body before it is read); 503 when the database is unavailable. */
int auth_any(struct server *s, struct http_req *r, struct http_resp *out);

/* A user identified from a token hash: the first-start admin ("admin",
 * token_id 0) or a named token. 1 found, 0 unknown, -1 storage error. */
struct principal {
    char name[SRV_ID_MAX + 1];
    int role;
    int64_t token_id;
};
int auth_principal(struct server *s, const uint8_t hash[OTA_SHA256_LEN], struct principal *p);

/* ---- console sessions (api_session.c) ------------------------------------ */

#define SESSION_COOKIE "ota_session"
#define SESSION_IDLE_SECONDS (30 * 60)       /* unused this long: logged out */
#define SESSION_MAX_SECONDS (12 * 3600)      /* from login, whatever the use */
/* The session of the request's ota_session cookie, checked (not expired,
 * its token still valid): 1 with p set, 0 none/expired/revoked, -1 storage
 * error. csrf (65 bytes) receives the session's CSRF token when not NULL. */
int session_principal(struct server *s, struct http_req *r, struct principal *p,
                      char *csrf);
/* /v1/session: POST login, GET the current session, DELETE logout. */
void api_session_route(struct server *s, struct http_req *r, struct http_resp *out);

/* ---- named API tokens (api_tokens.c) and audit log (audit.c) ------------- */

/* /v1/tokens and /v1/tokens/{id} (admin). */
void api_tokens_route(struct server *s, struct http_req *r, struct http_resp *out);
/* GET /v1/audit (viewer). */
void api_audit_route(struct server *s, struct http_req *r, struct http_resp *out);
/* After a request is answered: append it to the audit log if it changed
 * (or tried to change) something as an operator (r->audit, not GET/HEAD). */
void audit_record(struct server *s, const struct http_req *r, int status);

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
/* POST /v1/releases/{id}/images: the other slot's build of a per-slot
 * release (api_admin.c). */
void release_image_upload(struct server *s, struct http_req *r, struct http_resp *out,
                          const char *idstr);
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

/* The web console's files at / and /console/... (console.c), and the
 * read-only fleet views it needs under /v1/fleet/ (api_fleet.c). */
void console_route(struct server *s, struct http_req *r, struct http_resp *out);
void api_fleet_route(struct server *s, struct http_req *r, struct http_resp *out);

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

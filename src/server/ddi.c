// SPDX-License-Identifier: Apache-2.0
/*
 * ddi.c - hawkBit's Direct Device Integration API on ota-server's listener,
 * so unmodified SWUpdate (suricatta), rauc-hawkbit-updater and Zephyr
 * devices update from it (docs/ddi.md). A DDI "action" is a device's row in
 * a campaign and its id is the campaign id: the same campaigns, stages,
 * halting and reports drive DDI devices and native ota devices alike.
 * Authentication is hawkBit's: TargetToken (the device's own otad_ token),
 * GatewayToken (one fleet token acting for any controller, registering
 * unknown ones) or, only when the operator enables it, none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "campaign_cache.h"
#include "ddi.h"
#include "jsonv.h"
#include "log.h"
#include "rollout.h"

#define DDI_MAX_ACTIONS 256 /* campaign rows of one device read per poll */

/* ---- settings and paths ---------------------------------------------------- */

static int valid_name(const char *v, size_t max)
{
    size_t n = strlen(v);
    if (n == 0 || n > max)
        return 0;
    for (; *v; v++)
        if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
              *v == '-' || *v == '_' || *v == '.'))
            return 0;
    return 1;
}

int ddi_config_set(struct ddi_config *c, const char *tenant, const char *base_url,
                   const char *hw_id_attr, int anonymous, int https, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    if (!valid_name(tenant, SRV_ID_MAX)) {
        snprintf(err, errlen, "'%s' is not a tenant name (1..64 of A-Z a-z 0-9 - _ .)", tenant);
        return 1;
    }
    size_t n = strlen(base_url);
    if (n && (n >= sizeof(c->base_url) ||
              (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) ||
              base_url[n - 1] == '/' || strpbrk(base_url, "\"\\ ?#"))) {
        snprintf(err, errlen,
                 "'%s' is not a base URL: expected http[s]://HOST[:PORT][/PREFIX], no trailing "
                 "'/', at most %zu characters",
                 base_url, sizeof(c->base_url) - 1);
        return 2;
    }
    if (!valid_name(hw_id_attr, SRV_ID_MAX)) {
        snprintf(err, errlen, "'%s' is not an attribute name (1..64 of A-Z a-z 0-9 - _ .)",
                 hw_id_attr);
        return 3;
    }
    snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
    snprintf(c->base_url, sizeof(c->base_url), "%s", base_url);
    snprintf(c->hw_id_attr, sizeof(c->hw_id_attr), "%s", hw_id_attr);
    c->anonymous = anonymous;
    c->https = https;
    return 0;
}

/* Copy segment [b, e) into out (1 if it fits and is not empty). */
static int seg_copy(const char *b, const char *e, char *out, size_t cap)
{
    size_t n = (size_t)(e - b);
    if (n == 0 || n >= cap)
        return 0;
    memcpy(out, b, n);
    out[n] = '\0';
    return 1;
}

int ddi_path_split(const char *path, struct ddi_path *p)
{
    const char *t, *e;
    memset(p, 0, sizeof(*p));
    if (path[0] != '/' || strstr(path, "//") || path[strlen(path) - 1] == '/')
        return 0;
    t = path + 1;
    e = strchr(t, '/');
    if (!e || !seg_copy(t, e, p->tenant, sizeof(p->tenant)) ||
        strncmp(e, "/controller/v1/", 15) != 0)
        return 0;
    t = e + 15;
    e = strchr(t, '/');
    if (!e)
        e = t + strlen(t);
    if (!seg_copy(t, e, p->controller, sizeof(p->controller)))
        return 0;
    p->rest = e;
    return 1;
}

/* The segments of rest ("/a/b/c" -> 3), at most max, each into seg[i]. */
static int rest_split(const char *rest, char seg[][SRV_FILENAME_MAX + 8], int max)
{
    int n = 0;
    while (*rest == '/') {
        const char *b = rest + 1, *e = strchr(b, '/');
        if (!e)
            e = b + strlen(b);
        if (n == max || !seg_copy(b, e, seg[n], SRV_FILENAME_MAX + 8))
            return -1;
        n++;
        rest = e;
    }
    return n;
}

int ddi_classify(const char *path)
{
    struct ddi_path p;
    char seg[5][SRV_FILENAME_MAX + 8];
    if (!ddi_path_split(path, &p))
        return ROUTE_UNKNOWN;
    int n = rest_split(p.rest, seg, 5);
    if (n == 0)
        return ROUTE_DDI_POLL;
    if (n == 1 && strcmp(seg[0], "configData") == 0)
        return ROUTE_DDI_CONFIG;
    int action = n >= 2 && (strcmp(seg[0], "deploymentBase") == 0 ||
                            strcmp(seg[0], "cancelAction") == 0 ||
                            strcmp(seg[0], "installedBase") == 0);
    if (n == 2 && action)
        return ROUTE_DDI_ACTION;
    if (n == 3 && action && strcmp(seg[0], "installedBase") != 0 &&
        strcmp(seg[2], "feedback") == 0)
        return ROUTE_DDI_FEEDBACK;
    if (n == 4 && strcmp(seg[0], "softwaremodules") == 0 && strcmp(seg[2], "artifacts") == 0)
        return ROUTE_DDI_ARTIFACT;
    return ROUTE_UNKNOWN;
}

/* The absolute prefix of this controller's links:
 * BASE/{tenant}/controller/v1/{controller}. 0 (400 set) without a usable
 * Host header when no --ddi-base-url is configured. */
static int links_base(struct server *s, struct http_req *r, struct http_resp *out,
                      const struct ddi_path *p, char *buf, size_t cap)
{
    char base[300];
    if (s->ddi.base_url[0]) {
        snprintf(base, sizeof(base), "%s", s->ddi.base_url);
    } else {
        const char *host = req_header(r, "Host");
        size_t n = host ? strlen(host) : 0;
        if (n == 0 || n > 255 || strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789.-:[]") != n) {
            resp_error(out, 400, "bad_host",
                       "a valid Host header is needed to build the links of DDI answers "
                       "(or start ota-server with --ddi-base-url)");
            return 0;
        }
        snprintf(base, sizeof(base), "%s://%s", s->ddi.https ? "https" : "http", host);
    }
    snprintf(buf, cap, "%s/%s/controller/v1/%s", base, p->tenant, p->controller);
    return 1;
}

/* ---- authentication -------------------------------------------------------- */

/* "Scheme token" of the Authorization header; the token, or NULL. */
static const char *auth_token(const struct http_req *r, const char *scheme)
{
    const char *h = req_header(r, "Authorization");
    size_t n = strlen(scheme);
    if (!h || strncasecmp(h, scheme, n) != 0 || h[n] != ' ')
        return NULL;
    h += n;
    while (*h == ' ')
        h++;
    if (!*h || strlen(h) >= TOKEN_STR_MAX)
        return NULL;
    return h;
}

static void unauthorized(struct http_resp *out, const char *why)
{
    resp_error(out, 401, "unauthorized", "%s", why);
    resp_add_header(out, "WWW-Authenticate", "TargetToken realm=\"ota\"");
}

/* 1 if tok is the gateway token (-1: database unavailable). */
static int is_gateway(struct server *s, const char *tok)
{
    char hex[2 * OTA_SHA256_LEN + 1] = "";
    uint8_t want[OTA_SHA256_LEN], h[OTA_SHA256_LEN];
    enum store_rc rc = s->store->ops->setting_get(s->store, DDI_GATEWAY_SETTING, hex, sizeof(hex));
    if (rc == STORE_ERR)
        return -1;
    if (rc != STORE_OK || ota_hex_decode(hex, want, OTA_SHA256_LEN) != OTA_SHA256_LEN)
        return 0;
    token_hash(tok, h);
    return ota_ct_memcmp(h, want, OTA_SHA256_LEN) == 0;
}

/* A controller polling for the first time with the gateway token (or
 * anonymously, when allowed) becomes a device; its hardware id comes with
 * its configData attributes. */
static int self_register(struct server *s, struct http_resp *out, const char *id,
                         struct srv_device *d)
{
    char token[TOKEN_STR_MAX];
    memset(d, 0, sizeof(*d));
    if (!valid_device_id(id)) {
        resp_error(out, 404, "not_found",
                   "controller ids are 1..64 characters of A-Z a-z 0-9 - _ . :");
        return 0;
    }
    snprintf(d->id, sizeof(d->id), "%s", id);
    /* a token of its own, never shown: rotate it (POST /v1/devices/{id}/token)
     * to let the device use TargetToken instead of the gateway's */
    if (!token_new("otad", token, d->token_hash)) {
        resp_error(out, 500, "internal", "no randomness");
        return 0;
    }
    d->created_at = srv_now(s);
    enum store_rc rc = s->store->ops->device_insert(s->store, d);
    if (rc == STORE_CONFLICT) /* registered meanwhile */
        rc = s->store->ops->device_get_auth(s->store, id, d);
    else if (rc == STORE_OK)
        log_msg(LOG_INFO, "ddi_controller_registered", "device=%s", id);
    if (rc != STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return 0;
    }
    return 1;
}

/* Who may act for p->controller: 1 with d filled, or 0 with the answer set.
 * may_register: an unknown controller presented by the gateway token (or
 * anonymously) is registered; otherwise it is 404. */
static int ddi_auth(struct server *s, struct http_req *r, struct http_resp *out,
                    const struct ddi_path *p, int may_register, struct srv_device *d)
{
    const char *tok;
    enum store_rc rc;
    if (strcasecmp(p->tenant, s->ddi.tenant) != 0) {
        resp_error(out, 404, "not_found", "unknown tenant \"%s\"", p->tenant);
        return 0;
    }
    if ((tok = auth_token(r, "TargetToken"))) /* 403 for another device's token */
        return auth_device_token(s, r, out, p->controller, tok, d);
    if ((tok = auth_token(r, "GatewayToken"))) {
        int g = is_gateway(s, tok);
        if (g < 0) {
            resp_error(out, 503, "storage", "database unavailable");
            return 0;
        }
        if (!g) {
            unauthorized(out, "invalid gateway token");
            return 0;
        }
    } else if (!s->ddi.anonymous) {
        unauthorized(out, "DDI needs \"Authorization: TargetToken <device token>\" or "
                          "\"GatewayToken <token>\"");
        return 0;
    }
    rc = s->store->ops->device_get_auth(s->store, p->controller, d);
    if (rc == STORE_NOT_FOUND && may_register) {
        if (!self_register(s, out, p->controller, d))
            return 0;
    } else if (rc == STORE_NOT_FOUND) {
        resp_error(out, 404, "not_found", "unknown controller \"%s\"", p->controller);
        return 0;
    } else if (rc != STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return 0;
    }
    snprintf(r->who, sizeof(r->who), "%s:%.56s", tok ? "gateway" : "anon", d->id);
    return 1;
}

int ddi_refuse_early(struct server *s, struct http_req *r, struct http_resp *out)
{
    struct ddi_path p;
    struct srv_device d;
    const char *cl = req_header(r, "Content-Length");
    if (!req_header(r, "Transfer-Encoding") && (!cl || strtoull(cl, NULL, 10) == 0))
        return 0; /* nothing to read: the handler decides */
    if (!ddi_path_split(r->path, &p))
        return 0;
    return !ddi_auth(s, r, out, &p, 0, &d);
}

/* ---- the device's actions -------------------------------------------------- */

/* An inventory entry that keeps what the device row says. */
static void seen_of(struct server *s, const struct srv_device *d, struct srv_seen *v)
{
    memset(v, 0, sizeof(*v));
    snprintf(v->device_id, sizeof(v->device_id), "%s", d->id);
    v->at = srv_now(s);
    snprintf(v->current_version, sizeof(v->current_version), "%s", d->current_version);
    memcpy(v->current_digest, d->current_digest, OTA_SHA256_LEN);
    v->has_digest = d->has_digest;
    snprintf(v->slot_state, sizeof(v->slot_state), "%s", d->slot_state);
    snprintf(v->running_slot, sizeof(v->running_slot), "%s", d->running_slot);
}

struct actions {
    struct srv_ddi_action v[DDI_MAX_ACTIONS];
    int n;
};

static void add_action(void *ctx, const struct srv_ddi_action *a)
{
    struct actions *l = ctx;
    if (l->n < DDI_MAX_ACTIONS)
        l->v[l->n++] = *a;
}

static int stopped(int campaign_state)
{
    return campaign_state == CAMPAIGN_HALTED || campaign_state == CAMPAIGN_ABORTED;
}

/* A device that had not started when its campaign halted or was aborted is
 * asked to cancel, until it answers. */
static int wants_cancel(const struct srv_ddi_action *a)
{
    return stopped(a->campaign_state) && a->dc_state == DC_OFFERED &&
           a->cancel == DDI_CANCEL_NONE;
}

int ddi_device_has_release(struct server *s, const char *device_id, int64_t release_id)
{
    struct actions *l = calloc(1, sizeof(*l));
    int found = 0;
    if (!l || s->store->ops->ddi_actions(s->store, device_id, add_action, l) != STORE_OK) {
        free(l);
        return -1;
    }
    for (int i = 0; i < l->n; i++)
        found |= l->v[i].release_id == release_id;
    free(l);
    return found;
}

static void version_text(const struct ota_image_version *v, char *buf, size_t n)
{
    snprintf(buf, n, "%u.%u.%u+%u", v->major, v->minor, v->revision, (unsigned)v->build);
}

/* The newest active campaign that targets the device now: its row is
 * recorded as offered (like a native check-in's offer) at *at. *id 0: none.
 * 0 on storage failure. */
static int new_offer(struct server *s, const struct srv_device *d, const struct actions *l,
                     int64_t *id, int64_t *at)
{
    struct campaign_snapshot *snap = campaign_cache_get(s);
    int ok = 1;
    *id = 0;
    if (!snap)
        return 0;
    for (int i = 0; i < snap->n; i++) {
        const struct srv_campaign *c = &snap->v[i].c;
        const struct srv_release *rel = &snap->v[i].rel;
        const struct srv_ddi_action *a = NULL;
        /* A per-slot release (execute-in-place builds, release_slot.c) needs
         * the slot the device runs from, which DDI does not report: never
         * offered here rather than risk the wrong slot's build (docs/ddi.md). */
        if (rel->link_slot[0])
            continue;
        if (!rollout_matches(c, d, d->current_version))
            continue;
        if (rollout_runs_release(d, rel))
            break;
        for (int k = 0; k < l->n; k++)
            if (l->v[k].campaign_id == c->id)
                a = &l->v[k];
        if (a) /* finished with it (open rows were offered before) */
            break;
        if (!rollout_in_stage(c, rollout_bucket(c->id, d->id)))
            break;
        struct srv_dc dc;
        memset(&dc, 0, sizeof(dc));
        dc.campaign_id = c->id;
        snprintf(dc.device_id, sizeof(dc.device_id), "%s", d->id);
        dc.stage = c->stage;
        dc.updated_at = srv_now(s);
        if (s->store->ops->dc_offer(s->store, &dc) != STORE_OK)
            ok = 0;
        else
            *id = c->id;
        *at = dc.updated_at;
        break;
    }
    campaign_cache_put(snap);
    return ok;
}

/* ---- GET /{tenant}/controller/v1/{id}: the poll ----------------------------- */

static json_t *href(const char *base, const char *tail)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", base, tail);
    return json_pack("{s:s}", "href", url);
}

static void poll(struct server *s, struct http_req *r, struct http_resp *out,
                 const struct ddi_path *p, const struct srv_device *d)
{
    char base[512], sleep[16], attrs[8];
    int64_t attrs_at = 0, offer = 0;
    struct actions *l;
    if (!links_base(s, r, out, p, base, sizeof(base)))
        return;
    /* last seen, batched like a native check-in's */
    struct srv_seen seen;
    seen_of(s, d, &seen);
    seen_push(s, &seen);
    atomic_fetch_add_explicit(&s->metrics.checkins, 1, memory_order_relaxed);

    l = calloc(1, sizeof(*l));
    if (!l || s->store->ops->ddi_actions(s->store, d->id, add_action, l) != STORE_OK) {
        free(l);
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    json_t *links = json_object();
    const struct srv_ddi_action *open = NULL, *installed = NULL;
    for (int i = 0; i < l->n; i++) {
        const struct srv_ddi_action *a = &l->v[i];
        if (a->dc_state == DC_SUCCESS && !installed)
            installed = a;
        if (DC_IS_FINAL(a->dc_state) || open)
            continue;
        if (stopped(a->campaign_state) && a->dc_state == DC_OFFERED &&
            a->cancel == DDI_CANCEL_CLOSED)
            continue; /* cancelled: nothing more to do */
        open = a;
    }
    int64_t changed = srv_now(s);
    char tail[96];
    if (open && wants_cancel(open)) {
        snprintf(tail, sizeof(tail), "/cancelAction/%lld", (long long)open->campaign_id);
        json_object_set_new(links, "cancelAction", href(base, tail));
    } else if (open) {
        offer = open->campaign_id;
        changed = open->updated_at;
    } else if (!new_offer(s, d, l, &offer, &changed)) {
        free(l);
        json_decref(links);
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    if (offer) {
        /* ?c= changes when the action's row does, like hawkBit's hash
         * (the same value from the offer on, until the device reports) */
        snprintf(tail, sizeof(tail), "/deploymentBase/%lld?c=%lld", (long long)offer,
                 (long long)changed);
        json_object_set_new(links, "deploymentBase", href(base, tail));
    }
    if (installed) {
        snprintf(tail, sizeof(tail), "/installedBase/%lld", (long long)installed->campaign_id);
        json_object_set_new(links, "installedBase", href(base, tail));
    }
    enum store_rc arc = s->store->ops->ddi_attrs_get(s->store, d->id, attrs, sizeof(attrs),
                                                     &attrs_at);
    if (arc == STORE_NOT_FOUND)
        json_object_set_new(links, "configData", href(base, "/configData"));
    free(l);
    int64_t sl = s->poll_interval < 86399 ? s->poll_interval : 86399; /* %H: 0..23 */
    snprintf(sleep, sizeof(sleep), "%02d:%02d:%02d", (int)(sl / 3600), (int)(sl / 60 % 60),
             (int)(sl % 60));
    resp_json(out, 200,
              json_pack("{s:{s:{s:s}},s:o}", "config", "polling", "sleep", sleep, "_links",
                        links));
}

/* ---- deploymentBase / installedBase --------------------------------------- */

static int parse_action_id(const char *v, int64_t *id)
{
    char *end;
    if (*v < '1' || *v > '9' || strlen(v) > 18)
        return 0;
    *id = strtoll(v, &end, 10);
    return *end == '\0';
}

static json_t *hash_hex(const uint8_t *b, size_t n)
{
    char hex[2 * OTA_SHA256_LEN + 1];
    ota_hex_encode(b, n, hex);
    return json_string(hex);
}

/* hawkBit's deploymentBase document for action id of release rel. */
static json_t *deployment_json(const char *base, int64_t id, const struct srv_release *rel)
{
    char fname[SRV_FILENAME_MAX + 1], url[900], ver[32], ids[24];
    ddi_filename(rel, fname);
    version_text(&rel->version, ver, sizeof(ver));
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    snprintf(url, sizeof(url), "%s/softwaremodules/%lld/artifacts/%s", base,
             (long long)rel->id, fname);
    json_t *dl = json_pack("{s:s}", "href", url);
    strncat(url, ".MD5SUM", sizeof(url) - strlen(url) - 1);
    json_t *md5 = json_pack("{s:s}", "href", url);
    /* both spellings: hawkBit sends download (https) and/or download-http */
    json_t *links = json_pack("{s:O,s:O,s:O,s:O}", "download", dl, "download-http", dl, "md5sum",
                              md5, "md5sum-http", md5);
    json_decref(dl);
    json_decref(md5);
    json_t *artifact = json_pack(
        "{s:s,s:{s:o,s:o,s:o},s:I,s:o}", "filename", fname, "hashes", "sha1",
        hash_hex(rel->sha1, DDI_SHA1_LEN), "md5", hash_hex(rel->md5, DDI_MD5_LEN), "sha256",
        hash_hex(rel->digest, OTA_SHA256_LEN), "size", (json_int_t)rel->size, "_links", links);
    json_t *chunk = json_pack("{s:s,s:s,s:s,s:[o]}", "part", "os", "version", ver, "name",
                              rel->name, "artifacts", artifact);
    return json_pack("{s:s,s:{s:s,s:s,s:[o]}}", "id", ids, "deployment", "download", "forced",
                     "update", "forced", "chunks", chunk);
}

/* The action (campaign row) id of this device: 1 with dc and rel, or 0
 * with a 404/503 set. */
static int load_action(struct server *s, struct http_resp *out, const struct srv_device *d,
                       const char *idstr, struct srv_dc *dc, struct srv_campaign *c,
                       struct srv_release *rel)
{
    int64_t id;
    enum store_rc rc;
    if (!parse_action_id(idstr, &id)) {
        resp_error(out, 404, "not_found", "action ids are positive integers");
        return 0;
    }
    rc = s->store->ops->dc_get(s->store, id, d->id, dc);
    if (rc == STORE_OK)
        rc = s->store->ops->campaign_get(s->store, id, c);
    if (rc == STORE_OK)
        rc = s->store->ops->release_get(s->store, c->release_id, rel);
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 404, "not_found", "controller %s has no action %lld", d->id,
                   (long long)id);
        return 0;
    }
    if (rc != STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return 0;
    }
    return 1;
}

static void action_get(struct server *s, struct http_req *r, struct http_resp *out,
                       const struct ddi_path *p, const struct srv_device *d, const char *kind,
                       const char *idstr)
{
    struct srv_dc dc;
    struct srv_campaign c;
    struct srv_release rel;
    char base[512];
    if (!load_action(s, out, d, idstr, &dc, &c, &rel) ||
        !links_base(s, r, out, p, base, sizeof(base)))
        return;
    if (strcmp(kind, "cancelAction") == 0) {
        if (!stopped(c.state) || dc.state != DC_OFFERED) {
            resp_error(out, 404, "not_found", "action %s is not being cancelled", idstr);
            return;
        }
        resp_json(out, 200, json_pack("{s:s,s:{s:s}}", "id", idstr, "cancelAction", "stopId",
                                      idstr));
        return;
    }
    if (strcmp(kind, "installedBase") == 0 && dc.state != DC_SUCCESS) {
        resp_error(out, 404, "not_found", "action %s has not installed successfully", idstr);
        return;
    }
    if (!ddi_release_hashes(s, &rel)) {
        resp_error(out, 503, "storage", "cannot read the artifact of release %lld",
                   (long long)rel.id);
        return;
    }
    resp_json(out, 200, deployment_json(base, c.id, &rel));
}

/* ---- feedback --------------------------------------------------------------- */

enum { EX_CLOSED, EX_PROCEEDING, EX_CANCELED, EX_SCHEDULED, EX_REJECTED, EX_RESUMED,
       EX_DOWNLOADED, EX_DOWNLOAD, EX_COUNT };
static const char *const EXECUTIONS[EX_COUNT] = {"closed",   "proceeding", "canceled",
                                                 "scheduled", "rejected",  "resumed",
                                                 "downloaded", "download"};
enum { FIN_SUCCESS, FIN_FAILURE, FIN_NONE, FIN_COUNT };
static const char *const FINISHED[FIN_COUNT] = {"success", "failure", "none"};

struct feedback {
    int execution, finished;
    int64_t code;
    char detail[SRV_DETAIL_MAX + 1];
};

static int pick(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return -1;
}

/* Append text to the detail, cut on a UTF-8 boundary when full. */
static void detail_add(char *d, const char *text)
{
    size_t have = strlen(d), n = strlen(text);
    if (have + n > SRV_DETAIL_MAX) {
        n = have < SRV_DETAIL_MAX ? SRV_DETAIL_MAX - have : 0;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(d + have, text, n);
    d[have + n] = '\0';
}

/* hawkBit's feedback body: {"id"?, "time"?, "status": {"execution": ...,
 * "result": {"finished": ..., "progress"?}, "details"?: [...], "code"?}}.
 * 1, or 0 with a 400 naming what is wrong. */
static int parse_feedback(const struct http_req *r, struct http_resp *out, struct feedback *f)
{
    json_error_t err;
    memset(f, 0, sizeof(*f));
    f->finished = FIN_NONE;
    json_t *o = r->body_len ? json_loadb((const char *)r->body, r->body_len,
                                         JSON_REJECT_DUPLICATES, &err)
                            : NULL;
    if (!o || !json_is_object(o)) {
        resp_error(out, 400, "invalid_json", "feedback must be a JSON object%s%s",
                   o ? "" : ": ", o ? "" : (r->body_len ? err.text : "empty body"));
        json_decref(o);
        return 0;
    }
    json_t *st = json_object_get(o, "status"), *ex = json_object_get(st, "execution");
    json_t *res = json_object_get(st, "result"), *fin = json_object_get(res, "finished");
    json_t *det = json_object_get(st, "details"), *code = json_object_get(st, "code");
    const char *why = NULL;
    if (!json_is_object(st))
        why = "field \"status\" must be an object";
    else if (!json_is_string(ex) ||
             (f->execution = pick(json_string_value(ex), EXECUTIONS, EX_COUNT)) < 0)
        why = "field \"status.execution\" must be one of closed, proceeding, canceled, "
              "scheduled, rejected, resumed, downloaded, download";
    else if (res && !json_is_object(res))
        why = "field \"status.result\" must be an object";
    else if (fin && (!json_is_string(fin) ||
                     (f->finished = pick(json_string_value(fin), FINISHED, FIN_COUNT)) < 0))
        why = "field \"status.result.finished\" must be one of success, failure, none";
    else if (det && !json_is_array(det))
        why = "field \"status.details\" must be an array of strings";
    else if (code && !json_is_integer(code))
        why = "field \"status.code\" must be an integer";
    if (!why && det) {
        size_t i;
        json_t *e;
        json_array_foreach(det, i, e) {
            if (!json_is_string(e)) {
                why = "field \"status.details\" must be an array of strings";
                break;
            }
            if (f->detail[0])
                detail_add(f->detail, "; ");
            detail_add(f->detail, json_string_value(e));
        }
    }
    if (!why && code)
        f->code = json_integer_value(code);
    json_decref(o);
    if (why) {
        resp_error(out, 400, "invalid_field", "%s", why);
        return 0;
    }
    return 1;
}

/* After a successful installation the inventory says what the device runs
 * (written at once: campaign filters and the next poll depend on it). */
static void record_installed(struct server *s, const struct srv_device *d,
                             const struct srv_release *rel)
{
    struct srv_seen v;
    seen_of(s, d, &v);
    version_text(&rel->version, v.current_version, sizeof(v.current_version));
    memcpy(v.current_digest, rel->digest, OTA_SHA256_LEN);
    v.has_digest = 1;
    v.state_changed = 1;
    if (s->store->ops->devices_seen(s->store, &v, 1) != STORE_OK)
        log_msg(LOG_WARN, "ddi_inventory_failed", "device=%s", d->id);
}

static void deployment_feedback(struct server *s, struct http_resp *out,
                                const struct srv_device *d, const struct srv_dc *dc,
                                const struct srv_release *rel, const struct feedback *f)
{
    struct srv_report rep;
    char last[SRV_DETAIL_MAX + 96];
    memset(&rep, 0, sizeof(rep));
    if (DC_IS_FINAL(dc->state)) { /* hawkBit: the action is no longer active */
        resp_error(out, 410, "gone", "action %lld is closed (%s)", (long long)dc->campaign_id,
                   dc_state_name(dc->state));
        return;
    }
    switch (f->execution) {
    case EX_CLOSED:
        rep.state = f->finished == FIN_FAILURE ? DC_FAILURE : DC_SUCCESS;
        break;
    case EX_DOWNLOAD:
        rep.state = DC_DOWNLOADING;
        break;
    case EX_DOWNLOADED:
        rep.state = DC_INSTALLING;
        break;
    case EX_PROCEEDING:
    case EX_SCHEDULED:
    case EX_RESUMED:
        /* in progress: keep a later stage the device already reached */
        rep.state = dc->state > DC_DOWNLOADING ? dc->state : DC_DOWNLOADING;
        break;
    default: { /* canceled, rejected: the action stays open (hawkBit) */
        struct srv_seen v;
        seen_of(s, d, &v);
        snprintf(v.last_result, sizeof(v.last_result), "ddi %s campaign=%lld",
                 EXECUTIONS[f->execution], (long long)dc->campaign_id);
        v.state_changed = 1;
        s->store->ops->devices_seen(s->store, &v, 1);
        log_msg(LOG_INFO, "ddi_feedback", "device=%s action=%lld execution=%s", d->id,
                (long long)dc->campaign_id, EXECUTIONS[f->execution]);
        resp_empty(out, 200);
        return;
    }
    }
    snprintf(rep.device_id, sizeof(rep.device_id), "%s", d->id);
    rep.campaign_id = dc->campaign_id;
    rep.code = f->code;
    snprintf(rep.detail, sizeof(rep.detail), "ddi %s/%s", EXECUTIONS[f->execution],
             FINISHED[f->finished]);
    if (f->detail[0]) {
        detail_add(rep.detail, ": ");
        detail_add(rep.detail, f->detail);
    }
    rep.created_at = srv_now(s);
    snprintf(last, sizeof(last), "%s code=%lld %s", dc_state_name(rep.state),
             (long long)rep.code, rep.detail);
    enum store_rc rc = s->store->ops->report_insert(s->store, &rep, last);
    if (rc == STORE_REFUSED) { /* a final feedback won the race */
        resp_error(out, 410, "gone", "action %lld is closed", (long long)dc->campaign_id);
        return;
    }
    if (rc != STORE_OK) {
        resp_error(out, 503, "storage", "feedback not stored; retry");
        return;
    }
    if (rep.state < METRICS_N_DC)
        atomic_fetch_add_explicit(&s->metrics.reports[rep.state], 1, memory_order_relaxed);
    log_msg(LOG_INFO, "ddi_feedback", "device=%s action=%lld execution=%s finished=%s state=%s",
            d->id, (long long)dc->campaign_id, EXECUTIONS[f->execution], FINISHED[f->finished],
            dc_state_name(rep.state));
    if (rep.state == DC_SUCCESS)
        record_installed(s, d, rel);
    if (DC_IS_FINAL(rep.state))
        rollout_evaluate(s, dc->campaign_id);
    resp_empty(out, 200);
}

static void cancel_feedback(struct server *s, struct http_resp *out, const struct srv_device *d,
                            const struct srv_dc *dc, const struct srv_campaign *c,
                            const struct feedback *f)
{
    char last[SRV_DETAIL_MAX + 96];
    int cancel;
    if (!stopped(c->state) || dc->state != DC_OFFERED) {
        resp_error(out, 404, "not_found", "action %lld is not being cancelled",
                   (long long)dc->campaign_id);
        return;
    }
    if (f->execution == EX_CANCELED ||
        (f->execution == EX_CLOSED && f->finished != FIN_FAILURE))
        cancel = DDI_CANCEL_CLOSED;
    else if (f->execution == EX_REJECTED || f->execution == EX_CLOSED)
        cancel = DDI_CANCEL_REJECTED;
    else {
        resp_empty(out, 200); /* proceeding etc.: nothing decided yet */
        return;
    }
    snprintf(last, sizeof(last), "%s campaign=%lld%s%s",
             cancel == DDI_CANCEL_CLOSED ? "cancelled" : "cancel-rejected",
             (long long)dc->campaign_id, f->detail[0] ? " " : "", f->detail);
    if (s->store->ops->ddi_cancel_put(s->store, dc->campaign_id, d->id, cancel, last,
                                      srv_now(s)) != STORE_OK) {
        resp_error(out, 503, "storage", "feedback not stored; retry");
        return;
    }
    log_msg(LOG_INFO, "ddi_cancel_feedback", "device=%s action=%lld result=%s", d->id,
            (long long)dc->campaign_id, cancel == DDI_CANCEL_CLOSED ? "cancelled" : "rejected");
    resp_empty(out, 200);
}

static void feedback(struct server *s, struct http_req *r, struct http_resp *out,
                     const struct srv_device *d, const char *kind, const char *idstr)
{
    struct srv_dc dc;
    struct srv_campaign c;
    struct srv_release rel;
    struct feedback f;
    if (!load_action(s, out, d, idstr, &dc, &c, &rel) || !parse_feedback(r, out, &f))
        return;
    if (strcmp(kind, "cancelAction") == 0)
        cancel_feedback(s, out, d, &dc, &c, &f);
    else
        deployment_feedback(s, out, d, &dc, &rel, &f);
}

/* ---- configData -------------------------------------------------------------- */

static void config_data(struct server *s, struct http_req *r, struct http_resp *out,
                        const struct srv_device *d)
{
    json_error_t err;
    char *cur = NULL, hw[SRV_HWID_MAX + 1] = "";
    int64_t at = 0;
    json_t *o = r->body_len ? json_loadb((const char *)r->body, r->body_len,
                                         JSON_REJECT_DUPLICATES, &err)
                            : NULL;
    json_t *data = json_object_get(o, "data"), *mode = json_object_get(o, "mode");
    const char *m = json_is_string(mode) ? json_string_value(mode) : "merge";
    const char *why = NULL, *k;
    json_t *v;
    if (!json_is_object(o))
        why = "configData must be a JSON object {\"mode\"?, \"data\": {...}}";
    else if (!json_is_object(data))
        why = "field \"data\" must be an object of string attributes";
    else if ((mode && !json_is_string(mode)) ||
             (strcmp(m, "merge") != 0 && strcmp(m, "replace") != 0 && strcmp(m, "remove") != 0))
        why = "field \"mode\" must be one of merge, replace, remove";
    else
        json_object_foreach(data, k, v) {
            if (!json_is_string(v) || strlen(k) == 0 || strlen(k) > 128 ||
                strlen(json_string_value(v)) > 128) {
                why = "attributes must be strings; names 1..128, values up to 128 bytes";
                break;
            }
        }
    if (why) {
        json_decref(o);
        resp_error(out, 400, "invalid_field", "%s", why);
        return;
    }
    json_t *attrs = NULL;
    if (strcmp(m, "replace") != 0) {
        cur = malloc(SRV_DDI_ATTRS_MAX + 1);
        enum store_rc rc = cur ? s->store->ops->ddi_attrs_get(s->store, d->id, cur,
                                                             SRV_DDI_ATTRS_MAX + 1, &at)
                               : STORE_ERR;
        if (rc == STORE_OK)
            attrs = json_loads(cur, 0, &err);
        else if (rc != STORE_NOT_FOUND) {
            free(cur);
            json_decref(o);
            resp_error(out, 503, "storage", "database unavailable");
            return;
        }
        free(cur);
    }
    if (!json_is_object(attrs)) {
        json_decref(attrs);
        attrs = json_object();
    }
    json_object_foreach(data, k, v) {
        if (strcmp(m, "remove") == 0)
            json_object_del(attrs, k);
        else
            json_object_set(attrs, k, v);
    }
    json_decref(o);
    json_t *hv = json_object_get(attrs, s->ddi.hw_id_attr);
    if (hv) {
        snprintf(hw, sizeof(hw), "%s", json_string_value(hv));
        if (strlen(json_string_value(hv)) > SRV_HWID_MAX || !valid_hw_id(hw)) {
            json_decref(attrs);
            resp_error(out, 400, "invalid_field",
                       "attribute \"%s\" must be a hardware id (1..32 printable characters, "
                       "or 0x and hex digits)",
                       s->ddi.hw_id_attr);
            return;
        }
    }
    char *text = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(attrs);
    if (!text) {
        resp_error(out, 500, "internal", "out of memory");
        return;
    }
    if (strlen(text) > SRV_DDI_ATTRS_MAX) {
        free(text);
        resp_error(out, 413, "too_large", "the attributes exceed %d bytes", SRV_DDI_ATTRS_MAX);
        return;
    }
    enum store_rc rc = s->store->ops->ddi_attrs_put(s->store, d->id, text, hw, srv_now(s));
    free(text);
    if (rc == STORE_REFUSED) {
        resp_error(out, 409, "hw_id_mismatch",
                   "attribute \"%s\" says hardware \"%s\" but the device is registered as "
                   "\"%s\"",
                   s->ddi.hw_id_attr, hw, d->hw_id);
        return;
    }
    if (rc != STORE_OK) {
        resp_error(out, 503, "storage", "attributes not stored; retry");
        return;
    }
    if (hw[0] && !d->hw_id[0])
        log_msg(LOG_INFO, "ddi_hw_id_set", "device=%s hw_id=%s", d->id, hw);
    resp_empty(out, 200);
}

/* ---- dispatch ------------------------------------------------------------------ */

static void method_not_allowed(struct http_resp *out, const char *allow)
{
    resp_error(out, 405, "method_not_allowed", "use %s", allow);
    resp_add_header(out, "Allow", allow);
}

void ddi_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    struct ddi_path p;
    struct srv_device d;
    char seg[5][SRV_FILENAME_MAX + 8];
    if (!ddi_path_split(r->path, &p)) {
        resp_error(out, 404, "not_found", "no route for %s %s", r->method, r->path);
        return;
    }
    int n = rest_split(p.rest, seg, 5);
    const char *want = r->route == ROUTE_DDI_FEEDBACK ? "POST"
                       : r->route == ROUTE_DDI_CONFIG ? "PUT"
                                                      : "GET";
    int head_ok = r->route == ROUTE_DDI_ARTIFACT && strcmp(r->method, "HEAD") == 0;
    if (strcmp(r->method, want) != 0 && !head_ok) {
        method_not_allowed(out, r->route == ROUTE_DDI_ARTIFACT ? "GET, HEAD" : want);
        return;
    }
    if (!ddi_auth(s, r, out, &p, r->route == ROUTE_DDI_POLL, &d))
        return;
    switch (r->route) {
    case ROUTE_DDI_POLL:
        poll(s, r, out, &p, &d);
        break;
    case ROUTE_DDI_ACTION:
        action_get(s, r, out, &p, &d, seg[0], seg[1]);
        break;
    case ROUTE_DDI_FEEDBACK:
        feedback(s, r, out, &d, seg[0], seg[1]);
        break;
    case ROUTE_DDI_CONFIG:
        config_data(s, r, out, &d);
        break;
    case ROUTE_DDI_ARTIFACT:
        ddi_artifact(s, r, out, &d, p.rest);
        break;
    default:
        resp_error(out, 404, "not_found", "no route for %s %s (%d segments)", r->method,
                   r->path, n);
    }
}

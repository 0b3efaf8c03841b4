// SPDX-License-Identifier: Apache-2.0
/*
 * http.c - the agent's HTTPS client on libcurl: TLS 1.3 only, the server
 * certificate always verified (CA file or system store), optional public
 * key pinning, no redirects, bearer-token auth (only ever sent to the
 * server's own origin or configured artifact origins), stall detection, a
 * deadline per download attempt, byte range downloads streamed straight
 * into the update engine, and small exact ranges (the update engine's random
 * access to an encrypted image's key TLV).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "agent.h"

struct agent_http {
    CURL *curl;
    const struct agent_config *cfg;
    char auth[AGENT_STR + 32];
    char errbuf[CURL_ERROR_SIZE];
    int last_status;
};

struct agent_http *agent_http_new(const struct agent_config *c)
{
    static int global_done;
    struct agent_http *h;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        global_done = 1;
    }
    h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return NULL;
    }
    h->cfg = c;
    agent_http_set_token(h, c->token);
    return h;
}

void agent_http_set_token(struct agent_http *h, const char *token)
{
    if (token && *token)
        snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %s", token);
    else
        h->auth[0] = 0;
}

void agent_http_free(struct agent_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

/* Options every request gets: security first. */
static void base_options(struct agent_http *h, const char *url, struct curl_slist *hdrs)
{
    const struct agent_config *c = h->cfg;
    CURL *k = h->curl;
    curl_easy_reset(k);
    h->errbuf[0] = 0;
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, c->allow_http ? "http,https" : "https");
    curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(k, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(k, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(k, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file[0])
        curl_easy_setopt(k, CURLOPT_CAINFO, c->ca_file);
    if (c->pinned_key[0])
        curl_easy_setopt(k, CURLOPT_PINNEDPUBLICKEY, c->pinned_key);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->timeout * 1000));
    curl_easy_setopt(k, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(k, CURLOPT_LOW_SPEED_TIME, (long)(c->stall_timeout + 0.5));
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_USERAGENT, "ota-agent/0.1");
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, hdrs);
}

static ota_err map_curl(struct agent_http *h, CURLcode rc, const char *what, char *err,
                        size_t errlen)
{
    ota_err e;
    switch (rc) {
    case CURLE_OK:
        return OTA_OK;
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        e = OTA_ERR_PIN_MISMATCH;
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        e = OTA_ERR_TLS;
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        e = OTA_ERR_CONFIG;
        break;
    default:
        e = OTA_ERR_NET;
        break;
    }
    snprintf(err, errlen, "%s: %s%s%s", what, curl_easy_strerror(rc),
             h->errbuf[0] ? ": " : "", h->errbuf);
    return e;
}

struct membuf {
    char *data;
    size_t len, cap, limit;
};

static size_t mem_write(char *p, size_t size, size_t n, void *ctx)
{
    struct membuf *m = ctx;
    size_t len = size * n;
    if (m->len + len + 1 > m->limit)
        return 0; /* an API answer this big is not one */
    if (m->len + len + 1 > m->cap) {
        size_t cap = (m->len + len + 1) * 2;
        char *d = realloc(m->data, cap);
        if (!d)
            return 0;
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, p, len);
    m->len += len;
    m->data[m->len] = 0;
    return len;
}

ota_err agent_http_json(struct agent_http *h, const char *method, const char *path,
                        const char *body, int *status, char **resp_body, char *err,
                        size_t errlen)
{
    char url[AGENT_STR * 2];
    struct curl_slist *hdrs = NULL;
    struct membuf m = {0};
    long code = 0;
    CURLcode rc;
    ota_err e;

    *status = 0;
    *resp_body = NULL;
    h->last_status = 0;
    snprintf(url, sizeof url, "%s%s", h->cfg->server_url, path);
    if (h->auth[0])
        hdrs = curl_slist_append(hdrs, h->auth);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (body)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    base_options(h, url, hdrs);
    m.limit = 1u << 20;
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)(h->cfg->timeout * 1000));
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, mem_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &m);
    if (body) {
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (method && strcmp(method, body ? "POST" : "GET") != 0)
        curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
    rc = curl_easy_perform(h->curl);
    curl_slist_free_all(hdrs);
    e = map_curl(h, rc, path, err, errlen);
    if (e) {
        free(m.data);
        return e;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    *status = (int)code;
    h->last_status = (int)code;
    *resp_body = m.data ? m.data : calloc(1, 1);
    return OTA_OK;
}

int agent_http_last_status(const struct agent_http *h)
{
    return h->last_status;
}

/* "scheme://host:port" of url (libcurl's URL parser; default ports filled
 * in, scheme and host lowercased). -1 when url does not parse. */
static int url_origin(const char *url, char *out, size_t cap)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        size_t n = (size_t)snprintf(out, cap, "%s://%s:%s", scheme, host, port);
        for (size_t i = 0; i < n && i < cap; i++)
            if (out[i] >= 'A' && out[i] <= 'Z')
                out[i] = (char)(out[i] - 'A' + 'a');
        rc = n < cap ? 0 : -1;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static int is_absolute(const char *path)
{
    return strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0;
}

/* The URL a payload path means: absolute as given, else on the server. */
static void payload_url(const struct agent_http *h, const char *path, char *url, size_t cap)
{
    if (is_absolute(path))
        snprintf(url, cap, "%s", path);
    else
        snprintf(url, cap, "%s%s", h->cfg->server_url, path);
}

ota_err agent_http_check_origin(struct agent_http *h, const char *path, char *err,
                                size_t errlen)
{
    char url[AGENT_STR * 2], want[AGENT_STR + 16], got[AGENT_STR * 2 + 16];
    const struct agent_config *c = h->cfg;
    /* a server path must be a path: "@host/..." glued to the server URL
     * would name another host */
    if (!is_absolute(path) && path[0] != '/') {
        snprintf(err, errlen, "payload URL '%.200s' is neither absolute nor a path on the "
                 "server", path);
        return OTA_ERR_UNTRUSTED_ORIGIN;
    }
    payload_url(h, path, url, sizeof url);
    if (url_origin(url, got, sizeof got) != 0) {
        snprintf(err, errlen, "payload URL '%.200s' does not parse", path);
        return OTA_ERR_UNTRUSTED_ORIGIN;
    }
    if (url_origin(c->server_url, want, sizeof want) == 0 && strcmp(got, want) == 0)
        return OTA_OK;
    for (int i = 0; i < c->n_artifact_origins; i++)
        if (url_origin(c->artifact_origins[i], want, sizeof want) == 0 &&
            strcmp(got, want) == 0)
            return OTA_OK;
    snprintf(err, errlen, "payload URL on origin %.200s, which is neither the server's nor an "
             "artifact_origin: refused (the device token goes nowhere else)", got);
    return OTA_ERR_UNTRUSTED_ORIGIN;
}

/* A request for a payload path: refused unless its origin may get the
 * token (agent_http_check_origin), else set up with the token. The caller
 * frees *hdrs after the transfer. */
static ota_err payload_request(struct agent_http *h, const char *path, struct curl_slist **hdrs,
                               char *err, size_t errlen)
{
    char url[AGENT_STR * 2];
    ota_err e = agent_http_check_origin(h, path, err, errlen);
    if (e)
        return e;
    payload_url(h, path, url, sizeof url);
    if (h->auth[0])
        *hdrs = curl_slist_append(*hdrs, h->auth);
    base_options(h, url, *hdrs);
    return OTA_OK;
}

struct dl {
    struct agent_http *h;
    agent_sink_fn sink;
    void *ctx;
    uint64_t skip;     /* server ignored Range: drop this many bytes */
    uint64_t from;
    uint64_t got;
    long code;
    ota_err sink_err;
    struct membuf errbody;
};

static size_t dl_write(char *p, size_t size, size_t n, void *ctx)
{
    struct dl *d = ctx;
    size_t len = size * n;
    size_t taken = len;
    if (!d->code) {
        curl_easy_getinfo(d->h->curl, CURLINFO_RESPONSE_CODE, &d->code);
        if (d->code == 200 && d->from)
            d->skip = d->from;
    }
    if (d->code != 200 && d->code != 206) {
        d->errbody.limit = 4096;
        mem_write(p, 1, len < 1024 ? len : 1024, &d->errbody);
        return len;
    }
    if (d->skip) {
        size_t k = d->skip < len ? (size_t)d->skip : len;
        d->skip -= k;
        p += k;
        len -= k;
    }
    if (len) {
        ota_err e = d->sink(d->ctx, p, len);
        if (e) {
            d->sink_err = e;
            return 0;
        }
        d->got += len;
    }
    return taken;
}

ota_err agent_http_download(struct agent_http *h, const char *path, uint64_t from,
                            double deadline, agent_sink_fn sink, void *ctx, int *status,
                            uint64_t *got, int *deadline_hit, char *err, size_t errlen)
{
    char range[48];
    struct curl_slist *hdrs = NULL;
    struct dl d;
    CURLcode rc;
    ota_err e;

    memset(&d, 0, sizeof d);
    d.h = h;
    d.sink = sink;
    d.ctx = ctx;
    d.from = from;
    *status = 0;
    *got = 0;
    *deadline_hit = 0;
    e = payload_request(h, path, &hdrs, err, errlen);
    if (e)
        return e;
    if (from) {
        snprintf(range, sizeof range, "%llu-", (unsigned long long)from);
        curl_easy_setopt(h->curl, CURLOPT_RANGE, range);
    }
    if (deadline > 0)
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)(deadline * 1000));
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, dl_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &d);
    rc = curl_easy_perform(h->curl);
    if (rc == CURLE_OPERATION_TIMEDOUT && deadline > 0) {
        double t = 0;
        curl_easy_getinfo(h->curl, CURLINFO_TOTAL_TIME, &t);
        /* the stall timer gives the same code: tell them apart by time */
        *deadline_hit = t >= deadline * 0.95;
    }
    curl_slist_free_all(hdrs);
    *got = d.got;
    *status = (int)d.code;
    if (d.sink_err) {
        free(d.errbody.data);
        snprintf(err, errlen, "download %s: the update engine refused the data: %s", path,
                 ota_errname(d.sink_err));
        return d.sink_err;
    }
    e = map_curl(h, rc, path, err, errlen);
    if (e && *deadline_hit) {
        snprintf(err, errlen, "download %s: attempt deadline of %.1fs reached after %llu bytes "
                 "(slower than min_rate_bps)", path, deadline, (unsigned long long)d.got);
    }
    if (!e && d.code != 200 && d.code != 206) {
        snprintf(err, errlen, "download %s: HTTP %ld: %.200s", path, d.code,
                 d.errbody.data ? d.errbody.data : "");
        e = OTA_ERR_HTTP;
    }
    free(d.errbody.data);
    return e;
}

/* agent_http_range's receiver: exactly the bytes asked for, no more. */
struct rng {
    uint8_t *buf;
    size_t cap, got;
    int overflow;
};

static size_t rng_write(char *p, size_t size, size_t n, void *ctx)
{
    struct rng *r = ctx;
    size_t len = size * n;
    if (len > r->cap - r->got) {
        r->overflow = 1;
        return 0;
    }
    memcpy(r->buf + r->got, p, len);
    r->got += len;
    return len;
}

/* "bytes A-B/T" (RFC 9110 14.4), digits only: 0 when it parses. */
static int parse_content_range(const char *v, uint64_t *a, uint64_t *b, uint64_t *t)
{
    uint64_t *out[3] = {a, b, t};
    const char sep[3] = {'-', '/', 0};
    if (strncmp(v, "bytes ", 6) != 0)
        return -1;
    v += 6;
    for (int i = 0; i < 3; i++) {
        uint64_t x = 0;
        const char *s = v;
        while (*v >= '0' && *v <= '9' && v - s < 19)
            x = x * 10 + (uint64_t)(*v++ - '0');
        if (v == s || *v != sep[i])
            return -1;
        *out[i] = x;
        if (sep[i])
            v++;
    }
    return 0;
}

ota_err agent_http_range(struct agent_http *h, const char *path, uint64_t off, size_t len,
                         uint64_t total, void *buf, char *err, size_t errlen)
{
    char range[48];
    struct curl_slist *hdrs = NULL;
    struct curl_header *ch = NULL;
    struct rng r = {buf, len, 0, 0};
    uint64_t a = 0, b = 0, t = 0;
    long code = 0;
    CURLcode rc;
    ota_err e;

    if (len == 0 || len > AGENT_RANGE_MAX || off + len > total) {
        snprintf(err, errlen, "range of %s: %zu bytes at %llu of a %llu-byte payload: out of "
                 "bounds (at most %u bytes inside the payload)", path, len,
                 (unsigned long long)off, (unsigned long long)total, AGENT_RANGE_MAX);
        return OTA_ERR_INVALID_ARG;
    }
    e = payload_request(h, path, &hdrs, err, errlen);
    if (e)
        return e;
    snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + len - 1));
    curl_easy_setopt(h->curl, CURLOPT_RANGE, range);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)(h->cfg->timeout * 1000));
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, rng_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &r);
    rc = curl_easy_perform(h->curl);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code != 206 && code != 0) {
        /* 200 (the whole file), an error status: nothing this needs */
        snprintf(err, errlen, "range %s of %s: HTTP %ld, expected 206", range, path, code);
        /* 416: the artifact ends before the signed payload size */
        return code == 200 ? OTA_ERR_PROTOCOL
             : code == 416 ? OTA_ERR_UPDATE_PAYLOAD_SIZE : OTA_ERR_HTTP;
    }
    if (r.overflow) {
        snprintf(err, errlen, "range %s of %s: the server sent more than the %zu bytes asked "
                 "for", range, path, len);
        return OTA_ERR_PROTOCOL;
    }
    e = map_curl(h, rc, path, err, errlen);
    if (e)
        return e;
    if (curl_easy_header(h->curl, "Content-Range", 0, CURLH_HEADER, -1, &ch) != CURLHE_OK ||
        parse_content_range(ch->value, &a, &b, &t) != 0 || a != off || b != off + len - 1 ||
        t != total || r.got != len) {
        snprintf(err, errlen, "range %s of %s: answer 'Content-Range: %.80s' with %zu bytes, "
                 "expected bytes %s/%llu (the signed payload size) with %zu bytes", range, path,
                 ch ? ch->value : "(none)", r.got, range, (unsigned long long)total, len);
        return OTA_ERR_PROTOCOL;
    }
    return OTA_OK;
}

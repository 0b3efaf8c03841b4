// SPDX-License-Identifier: Apache-2.0
/*
 * net.c - ota-fleet's HTTP side: one libcurl multi handle driving a bounded
 * pool of requests (`--pool`, also the connection limit, so the server sees
 * at most that many keep-alive connections from the fleet however many
 * devices it simulates), plus a blocking helper for setup calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet.h"

struct fleet_net {
    CURLM *multi;
    char base[256];
    struct fleet_req *slots;
    unsigned n, in_flight;
    double t0;          /* when the pool was made: connections open one by one */
};

static size_t on_data(char *p, size_t sz, size_t nm, void *ctx)
{
    struct fleet_buf *b = ctx;
    size_t n = sz * nm;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np)
            return 0;
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return n;
}

struct fleet_net *fleet_net_new(const char *base, unsigned pool)
{
    struct fleet_net *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->multi = curl_multi_init();
    n->slots = calloc(pool, sizeof *n->slots);
    if (!n->multi || !n->slots) {
        fleet_net_free(n);
        return NULL;
    }
    snprintf(n->base, sizeof n->base, "%s", base);
    n->n = pool;
    n->t0 = fleet_now();
    curl_multi_setopt(n->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)pool);
    curl_multi_setopt(n->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)pool);
    curl_multi_setopt(n->multi, CURLMOPT_MAXCONNECTS, (long)pool);
    for (unsigned i = 0; i < pool; i++) {
        n->slots[i].easy = curl_easy_init();
        if (!n->slots[i].easy) {
            fleet_net_free(n);
            return NULL;
        }
    }
    return n;
}

void fleet_net_free(struct fleet_net *n)
{
    if (!n)
        return;
    for (unsigned i = 0; n->slots && i < n->n; i++) {
        struct fleet_req *q = &n->slots[i];
        if (q->busy)
            curl_multi_remove_handle(n->multi, q->easy);
        if (q->easy)
            curl_easy_cleanup(q->easy);
        curl_slist_free_all(q->hdrs);
        free(q->body);
        free(q->resp.p);
    }
    free(n->slots);
    if (n->multi)
        curl_multi_cleanup(n->multi);
    free(n);
}

/* Connections are opened one every RAMP seconds rather than in one burst:
 * ota-server's worker threads share one listening socket, and a burst of
 * connects is accepted by whichever worker wakes first -- often all of them
 * by one thread, which then serves the whole fleet alone. */
#define RAMP 0.05

struct fleet_req *fleet_net_slot(struct fleet_net *n)
{
    double allowed = 1 + (fleet_now() - n->t0) / RAMP;
    if (n->in_flight >= n->n || n->in_flight >= allowed)
        return NULL;
    for (unsigned i = 0; i < n->n; i++)
        if (!n->slots[i].busy)
            return &n->slots[i];
    return NULL;
}

unsigned fleet_net_in_flight(const struct fleet_net *n)
{
    return n->in_flight;
}

/* Options shared by the pool and the blocking helper. */
static struct curl_slist *prepare(CURL *k, const char *url, const char *method,
                                  const char *token, const char *body, struct fleet_buf *resp,
                                  char *errbuf)
{
    struct curl_slist *h = NULL;
    char auth[FLEET_TOKEN_MAX + 32];
    curl_easy_reset(k);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(k, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(k, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, resp);
    if (token && *token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (body) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    h = curl_slist_append(h, "Expect:");
    if (strcmp(method, "GET") != 0 || body)
        curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
    return h;
}

void fleet_net_start(struct fleet_net *n, struct fleet_req *q, const char *method,
                     const char *path, const char *token, char *json_body, fleet_done_fn done,
                     void *ctx)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", n->base, path);
    curl_slist_free_all(q->hdrs);
    free(q->body);
    q->body = json_body;
    q->resp.len = 0;
    if (q->resp.p)
        q->resp.p[0] = 0;
    q->status = 0;
    q->rc = CURLE_OK;
    q->errbuf[0] = 0;
    q->done = done;
    q->ctx = ctx;
    q->hdrs = prepare(q->easy, url, method, token, json_body, &q->resp, q->errbuf);
    curl_easy_setopt(q->easy, CURLOPT_PRIVATE, q);
    q->busy = 1;
    n->in_flight++;
    curl_multi_add_handle(n->multi, q->easy);
}

void fleet_net_run(struct fleet_net *n, int timeout_ms)
{
    int running = 0, left = 0;
    CURLMsg *m;
    curl_multi_perform(n->multi, &running);
    if (n->in_flight) {
        curl_multi_poll(n->multi, NULL, 0, timeout_ms, NULL);
    } else if (timeout_ms > 0) { /* nothing to wait for but the clock */
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    curl_multi_perform(n->multi, &running);
    while ((m = curl_multi_info_read(n->multi, &left))) {
        struct fleet_req *q = NULL;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
        q->rc = m->data.result;
        if (q->rc == CURLE_OK)
            curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &q->status);
        curl_multi_remove_handle(n->multi, q->easy);
        q->busy = 0;
        n->in_flight--;
        if (!q->resp.p) /* callers may read resp.p as a string */
            on_data("", 0, 0, &q->resp);
        q->done(q, q->ctx);
    }
}

long fleet_http_sync(const char *base, const char *method, const char *path,
                     const char *token, const char *json_body, char **resp, char *err,
                     size_t errlen)
{
    char url[512], errbuf[CURL_ERROR_SIZE] = "";
    struct fleet_buf b = {0};
    struct curl_slist *h;
    long status = 0;
    CURL *k = curl_easy_init();
    CURLcode rc;
    *resp = NULL;
    if (!k) {
        snprintf(err, errlen, "curl_easy_init failed");
        return 0;
    }
    snprintf(url, sizeof url, "%s%s", base, path);
    h = prepare(k, url, method, token, json_body, &b, errbuf);
    rc = curl_easy_perform(k);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        free(b.p);
        b.p = NULL;
    } else {
        curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
        if (!b.p)
            on_data("", 0, 0, &b);
        *resp = b.p;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(k);
    return status;
}

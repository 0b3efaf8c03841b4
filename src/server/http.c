/*
 * http.c - libmicrohttpd glue (see http.h). MHD runs its own pool of worker
 * threads, each with an epoll loop; handlers run on those threads. TLS is
 * MHD's (GnuTLS on Debian), restricted to TLS 1.3.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "http.h"
#include "log.h"

struct http_daemon {
    struct MHD_Daemon *mhd;
    struct server *srv;
    int access_log;
};

/* Per-request state across MHD's access-handler calls. */
struct req_state {
    uint8_t *body;
    size_t len, cap, limit;
    int too_large;
    struct timespec start;
};

const char *req_header(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_query(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static void set_resp(struct http_resp *out, int status, struct MHD_Response *m,
                     uint64_t bytes)
{
    if (out->mhd)
        MHD_destroy_response(out->mhd);
    out->status = status;
    out->mhd = m;
    out->body_bytes = bytes;
}

void resp_bytes(struct http_resp *out, int status, const char *content_type,
                const void *data, size_t len)
{
    struct MHD_Response *m =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (m && content_type)
        MHD_add_response_header(m, "Content-Type", content_type);
    set_resp(out, status, m, len);
}

void resp_text(struct http_resp *out, int status, const char *content_type,
               const char *text)
{
    resp_bytes(out, status, content_type, text, strlen(text));
}

void resp_json(struct http_resp *out, int status, json_t *body)
{
    /* 15 significant digits: ratios print as 0.1, not 0.10000000000000001. */
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(body);
    if (!s) {
        resp_text(out, 500, "application/json",
                  "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
        return;
    }
    size_t len = strlen(s);
    struct MHD_Response *m = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
    if (!m) {
        free(s);
        return;
    }
    MHD_add_response_header(m, "Content-Type", "application/json");
    MHD_add_response_header(m, "Cache-Control", "no-store");
    set_resp(out, status, m, len);
}

void resp_error(struct http_resp *out, int status, const char *code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    resp_json(out, status,
              json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void resp_empty(struct http_resp *out, int status)
{
    struct MHD_Response *m =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    set_resp(out, status, m, 0);
}

void resp_add_header(struct http_resp *out, const char *name, const char *value)
{
    if (out->mhd)
        MHD_add_response_header(out->mhd, name, value);
}

static size_t body_limit(struct server *s, const char *method, const char *url)
{
    if (strcmp(method, "POST") == 0 && strncmp(url, "/v1/releases", 12) == 0)
        return s->max_release;
    return s->max_body;
}

static enum MHD_Result finish(struct http_daemon *d, struct MHD_Connection *conn,
                              struct http_req *req, struct http_resp *out,
                              struct req_state *st)
{
    struct server *s = d->srv;
    enum MHD_Result rc;
    if (!out->mhd)
        resp_error(out, 500, "internal", "handler produced no response");
    if (!out->mhd)
        return MHD_NO;
    rc = MHD_queue_response(conn, (unsigned)out->status, out->mhd);
    MHD_destroy_response(out->mhd);
    out->mhd = NULL;
    metrics_request(&s->metrics, req->route, out->status);
    if (d->access_log) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long us = (now.tv_sec - st->start.tv_sec) * 1000000L +
                  (now.tv_nsec - st->start.tv_nsec) / 1000;
        /* Paths arrive percent-decoded: keep log lines one line, unforgeable. */
        char path[256];
        size_t i = 0;
        for (const char *p = req->path; *p && i < sizeof(path) - 1; p++)
            path[i++] = ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f || *p == '"' ||
                         *p == '\\')
                            ? '?'
                            : *p;
        path[i] = '\0';
        log_msg(LOG_INFO, "request",
                "method=%s path=\"%s\" route=\"%s\" status=%d req_bytes=%zu "
                "resp_bytes=%llu dur_us=%ld who=%s",
                req->method, path,
                route_name(req->route), out->status, req->body_len,
                (unsigned long long)out->body_bytes, us, req->who[0] ? req->who : "-");
    }
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct http_daemon *d = cls;
    struct server *s = d->srv;
    struct req_state *st = *con_cls;
    struct http_req req;
    struct http_resp out = {0};
    (void)version;

    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &st->start);
        st->limit = body_limit(s, method, url);
        *con_cls = st;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > st->limit) {
            /* Refuse before reading the body; MHD closes the connection. */
            memset(&req, 0, sizeof(req));
            req.conn = conn;
            req.method = method;
            req.path = url;
            resp_error(&out, 413, "body_too_large",
                       "request body of %s bytes exceeds the limit of %zu bytes", cl,
                       st->limit);
            return finish(d, conn, &req, &out, st);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_large && st->len + *upload_data_size > st->limit)
            st->too_large = 1;
        if (!st->too_large) {
            if (st->len + *upload_data_size > st->cap) {
                size_t ncap = st->cap ? st->cap : 4096;
                while (ncap < st->len + *upload_data_size)
                    ncap *= 2;
                uint8_t *nb = realloc(st->body, ncap);
                if (!nb)
                    return MHD_NO;
                st->body = nb;
                st->cap = ncap;
            }
            memcpy(st->body + st->len, upload_data, *upload_data_size);
            st->len += *upload_data_size;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    memset(&req, 0, sizeof(req));
    req.conn = conn;
    req.method = method;
    req.path = url;
    req.body = st->body ? st->body : (const uint8_t *)"";
    req.body_len = st->len;
    if (st->too_large) {
        req.route = ROUTE_UNKNOWN;
        resp_error(&out, 413, "body_too_large", "request body exceeds the limit of %zu bytes",
                   st->limit);
        resp_add_header(&out, "Connection", "close");
    } else {
        route_request(s, &req, &out);
    }
    return finish(d, conn, &req, &out, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (st) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
}

/* libmicrohttpd's own messages become structured log lines too. fmt is
 * libmicrohttpd's printf format for ap (the attribute lets the compiler
 * check the call as such). */
__attribute__((format(printf, 2, 0)))
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '"' || (unsigned char)*p < 0x20)
            *p = (*p == '\n' && p[1] == '\0') ? '\0' : '\'';
    log_msg(LOG_WARN, "http_library", "msg=\"%s\"", msg);
}

struct http_daemon *http_start(struct server *s, const struct http_opts *o,
                               uint16_t *bound_port, char *err, size_t errlen)
{
    struct http_daemon *d = calloc(1, sizeof(*d));
    struct sockaddr_storage ss;
    socklen_t sl;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    memset(&ss, 0, sizeof(ss));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->srv = s;
    d->access_log = o->access_log;
    if (inet_pton(AF_INET, o->host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(o->port);
        sl = sizeof(*a);
    } else if (inet_pton(AF_INET6, o->host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(o->port);
        sl = sizeof(*a);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "--listen: '%s' is not a numeric IPv4 or IPv6 address",
                 o->host);
        free(d);
        return NULL;
    }
    (void)sl;
    if (o->tls_cert_pem)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &ss},
        {MHD_OPTION_THREAD_POOL_SIZE, o->threads ? o->threads : 2, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 4096, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
        {o->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
         (void *)o->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3"},
        {MHD_OPTION_END, 0, NULL},
    };
    d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (!d->mhd) {
        snprintf(err, errlen,
                 "cannot listen on %s:%u (address in use, not local, or bad TLS "
                 "certificate/key)",
                 o->host, o->port);
        free(d);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : o->port;
    return d;
}

void http_stop(struct http_daemon *d)
{
    if (!d)
        return;
    MHD_stop_daemon(d->mhd);
    free(d);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * http.c - libmicrohttpd glue (see http.h). MHD runs its own pool of worker
 * threads, each with an epoll loop; handlers run on those threads. TLS is
 * MHD's (GnuTLS on Debian), restricted to TLS 1.3.
 *
 * Defences of the front end: who is calling is decided from the headers
 * before any body is read (401 before body); release uploads stream to a
 * temporary file, never RAM; a reaper thread closes connections whose
 * request headers (or body) do not arrive within their deadline; MHD limits
 * connections per client address; duplicate Content-Length headers and NUL
 * bytes in paths are refused.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http.h"
#include "log.h"

/* One live connection, for the header/body deadlines. */
struct conn_track {
    struct conn_track *prev, *next;
    MHD_socket fd;
    int phase;          /* PH_* */
    int64_t since_ms;   /* start of the phase (monotonic) */
    int reaped;
};
enum { PH_HEADERS = 0, PH_BODY = 1, PH_RESPONSE = 2 };

struct http_daemon {
    struct MHD_Daemon *mhd;
    struct server *srv;
    int access_log;
    unsigned header_timeout, body_timeout;
    pthread_mutex_t lock; /* conns */
    pthread_cond_t wake;
    struct conn_track conns; /* list head */
    pthread_t reaper;
    int reaper_started, stop;
};

/* Per-request state across MHD's access-handler calls. */
struct req_state {
    uint8_t *body;
    size_t len, cap, limit;
    int too_large;
    int started;          /* the access handler has seen this request */
    int bad_uri;          /* the raw URI holds a NUL (%00) */
    int fd;               /* release upload streamed to a file; -1: none */
    char file[PATH_MAX];
    struct timespec start;
};

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

const char *req_header(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_query(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *req_cookie(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
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

/* Large admin uploads (--max-release, streamed to a file): a release image,
 * a sealed delta (POST /v1/releases/{id}/deltas) or the other slot's image
 * of a per-slot release (POST /v1/releases/{id}/images). */
static int is_release_upload(const char *method, const char *url)
{
    size_t n = strlen(url);
    return strcmp(method, "POST") == 0 &&
           (strcmp(url, "/v1/releases") == 0 ||
            (strncmp(url, "/v1/releases/", 13) == 0 && n > 20 &&
             (strcmp(url + n - 7, "/deltas") == 0 || strcmp(url + n - 7, "/images") == 0) &&
             !memchr(url + 13, '/', n - 20)));
}

static size_t body_limit(struct server *s, const char *method, const char *url)
{
    if (is_release_upload(method, url))
        return s->max_release;
    return s->max_body;
}

struct header_count {
    const char *name;
    int n;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    struct header_count *hc = cls;
    (void)kind;
    (void)value;
    if (key && strcasecmp(key, hc->name) == 0)
        hc->n++;
    return MHD_YES;
}

static int header_count(struct MHD_Connection *conn, const char *name)
{
    struct header_count hc = {name, 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &hc);
    return hc.n;
}

static void set_phase(struct http_daemon *d, struct MHD_Connection *conn, int phase)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_track *t = ci ? ci->socket_context : NULL;
    if (!t)
        return;
    pthread_mutex_lock(&d->lock);
    t->phase = phase;
    t->since_ms = now_ms();
    pthread_mutex_unlock(&d->lock);
}

/* The release upload's temporary file, beside the artifacts (same file
 * system: adopting it is a rename). */
static int open_upload_file(struct server *s, struct req_state *st)
{
    snprintf(st->file, sizeof(st->file), "%.4000s/.upload-XXXXXX", s->artifacts_dir);
    st->fd = mkostemp(st->file, O_CLOEXEC);
    if (st->fd < 0) {
        log_msg(LOG_ERROR, "upload_tmp_failed", "err=\"%s\"", strerror(errno));
        st->file[0] = '\0';
        return 0;
    }
    return 1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
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
    audit_record(s, req, out->status);
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

/* Decide from the headers alone, before any body is read: refusals here
 * never buffer a byte. Returns 1 with *out set when the request is answered. */
static int refuse_early(struct http_daemon *d, struct MHD_Connection *conn,
                        struct http_req *req, struct http_resp *out, struct req_state *st)
{
    struct server *s = d->srv;
    if (st->bad_uri) {
        resp_error(out, 400, "bad_path", "NUL bytes (%%00) are not allowed in paths");
        return 1;
    }
    if (header_count(conn, MHD_HTTP_HEADER_CONTENT_LENGTH) > 1) {
        resp_error(out, 400, "bad_request", "more than one Content-Length header");
        return 1;
    }
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    int has_body = te || (cl && strtoull(cl, NULL, 10) > 0);
    /* Who is calling: release uploads need an operator; any other body
     * needs a known token or session (enrollment and console login carry
     * their token in the body, bounded by --max-body). Handlers check again
     * what exactly the route needs. */
    if (is_release_upload(req->method, req->path)) {
        if (!auth_role(s, req, out, ROLE_OPERATOR))
            return 1;
    } else if (req->route >= ROUTE_DDI_POLL && req->route <= ROUTE_DDI_ARTIFACT) {
        if (ddi_refuse_early(s, req, out)) /* hawkBit's own token schemes */
            return 1;
    } else if (has_body && strcmp(req->path, "/v1/enroll") != 0 &&
               req->route != ROUTE_SESSION && req->route != ROUTE_UNKNOWN) {
        if (!auth_any(s, req, out))
            return 1;
    }
    if (cl && strtoull(cl, NULL, 10) > st->limit) {
        resp_error(out, 413, "body_too_large",
                   "request body of %s bytes exceeds the limit of %zu bytes", cl, st->limit);
        return 1;
    }
    return 0;
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
        st->fd = -1;
        *con_cls = st;
    }
    memset(&req, 0, sizeof(req));
    req.conn = conn;
    req.method = method;
    req.path = url;
    req.body_fd = -1;
    if (!st->started) {
        st->started = 1;
        clock_gettime(CLOCK_MONOTONIC, &st->start);
        st->limit = body_limit(s, method, url);
        set_phase(d, conn, PH_BODY);
        req.route = route_classify(url);
        if (refuse_early(d, conn, &req, &out, st)) {
            set_phase(d, conn, PH_RESPONSE);
            return finish(d, conn, &req, &out, st);
        }
        if (is_release_upload(method, url) && !open_upload_file(s, st))
            return MHD_NO;
        return MHD_YES;
    }
    if (*upload_data_size) { /* the reaper enforces the body deadline */
        if (!st->too_large && st->len + *upload_data_size > st->limit)
            st->too_large = 1;
        if (!st->too_large && st->fd >= 0) {
            if (!write_all(st->fd, upload_data, *upload_data_size))
                return MHD_NO;
            st->len += *upload_data_size;
        } else if (!st->too_large) {
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

    set_phase(d, conn, PH_RESPONSE);
    req.body = st->body ? st->body : (const uint8_t *)"";
    req.body_len = st->len;
    req.body_fd = st->fd;
    req.body_file = st->fd >= 0 ? st->file : NULL;
    if (st->too_large) {
        req.route = ROUTE_UNKNOWN;
        resp_error(&out, 413, "body_too_large", "request body exceeds the limit of %zu bytes",
                   st->limit);
        resp_add_header(&out, "Connection", "close");
    } else {
        route_request(s, &req, &out);
    }
    if (st->fd >= 0) { /* before answering: nothing is left once the client knows */
        close(st->fd);
        st->fd = -1;
        unlink(st->file); /* gone already if the upload became an artifact */
    }
    return finish(d, conn, &req, &out, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *con_cls;
    (void)toe;
    set_phase(cls, conn, PH_HEADERS); /* keep-alive: the next request's headers */
    if (st) {
        if (st->fd >= 0) { /* upload cut short */
            close(st->fd);
            unlink(st->file);
        }
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
}

/* Called with the raw request line's URI, before it is percent-decoded:
 * the decoded path would silently end at a %00. Its result is the
 * request's state. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct req_state *st = calloc(1, sizeof(*st));
    (void)cls;
    (void)conn;
    if (!st)
        return NULL;
    st->fd = -1;
    const char *q = strchr(uri, '?');
    size_t n = q ? (size_t)(q - uri) : strlen(uri);
    for (size_t i = 0; i + 2 < n; i++)
        if (uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0')
            st->bad_uri = 1;
    return st;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_daemon *d = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_track *t = calloc(1, sizeof(*t));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = t;
        if (!t)
            return;
        t->fd = ci ? ci->connect_fd : MHD_INVALID_SOCKET;
        t->phase = PH_HEADERS;
        t->since_ms = now_ms();
        pthread_mutex_lock(&d->lock);
        t->next = d->conns.next;
        t->prev = &d->conns;
        d->conns.next->prev = t;
        d->conns.next = t;
        pthread_mutex_unlock(&d->lock);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        /* Before MHD closes the socket: the reaper never touches a reused fd. */
        struct conn_track *t = *socket_context;
        if (!t)
            return;
        pthread_mutex_lock(&d->lock);
        t->prev->next = t->next;
        t->next->prev = t->prev;
        pthread_mutex_unlock(&d->lock);
        free(t);
        *socket_context = NULL;
    }
}

/* Once a second: shut connections whose request headers (or body) missed
 * their deadline; MHD then sees the end of the stream and closes them. */
static void *reaper(void *arg)
{
    struct http_daemon *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&d->wake, &d->lock, &ts);
        if (d->stop)
            break;
        int64_t now = now_ms();
        unsigned n_hdr = 0, n_body = 0;
        for (struct conn_track *t = d->conns.next; t != &d->conns; t = t->next) {
            int64_t limit = t->phase == PH_HEADERS ? (int64_t)d->header_timeout * 1000
                            : t->phase == PH_BODY  ? (int64_t)d->body_timeout * 1000
                                                   : 0;
            if (!limit || t->reaped || t->fd == MHD_INVALID_SOCKET || now - t->since_ms <= limit)
                continue;
            shutdown(t->fd, SHUT_RDWR);
            t->reaped = 1;
            if (t->phase == PH_HEADERS)
                n_hdr++;
            else
                n_body++;
        }
        if (n_hdr || n_body)
            log_msg(LOG_WARN, "connections_timed_out", "headers=%u body=%u", n_hdr, n_body);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

/* Temporary upload files left by a crash. */
static void remove_stale_uploads(const struct server *s)
{
    int dfd = open(s->artifacts_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    struct dirent *e;
    if (!dir) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    while ((e = readdir(dir)))
        if (strncmp(e->d_name, ".upload-", 8) == 0)
            unlinkat(dfd, e->d_name, 0);
    closedir(dir);
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
    d->header_timeout = o->header_timeout ? o->header_timeout : HTTP_DEFAULT_HEADER_TIMEOUT;
    d->body_timeout = o->body_timeout ? o->body_timeout : HTTP_DEFAULT_BODY_TIMEOUT;
    d->conns.next = d->conns.prev = &d->conns;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
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
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_limit, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, d},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, d},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, d},
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
    remove_stale_uploads(s);
    if (pthread_create(&d->reaper, NULL, reaper, d) == 0)
        d->reaper_started = 1;
    else
        log_msg(LOG_ERROR, "reaper_failed", "header and body deadlines are not enforced");
    return d;
}

void http_stop(struct http_daemon *d)
{
    if (!d)
        return;
    if (d->reaper_started) {
        pthread_mutex_lock(&d->lock);
        d->stop = 1;
        pthread_cond_signal(&d->wake);
        pthread_mutex_unlock(&d->lock);
        pthread_join(d->reaper, NULL);
    }
    MHD_stop_daemon(d->mhd);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->wake);
    free(d);
}

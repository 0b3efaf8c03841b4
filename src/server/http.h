// SPDX-License-Identifier: Apache-2.0
/*
 * http.h - the libmicrohttpd front end of ota-server: listen, collect
 * bounded request bodies, hand complete requests to the router, queue the
 * response, count and log every request (one line each).
 */
#ifndef OTA_SERVER_HTTP_H
#define OTA_SERVER_HTTP_H

#include <stdint.h>

#include "server.h"

struct http_opts {
    const char *host;    /* numeric IPv4/IPv6 address */
    uint16_t port;       /* 0: pick a free port */
    const char *tls_cert_pem; /* NULL: plain HTTP */
    const char *tls_key_pem;
    unsigned threads;    /* worker threads (epoll each) */
    int access_log;      /* one line per request */
    /* Slow clients: seconds from connection (or the previous response) to
     * the end of a request's headers, and from there to the end of its
     * body; 0 = the defaults below. Connections per client address; 0 =
     * unlimited (behind a reverse proxy every client has its address). */
    unsigned header_timeout;
    unsigned body_timeout;
    unsigned per_ip_limit;
};
#define HTTP_DEFAULT_HEADER_TIMEOUT 10
#define HTTP_DEFAULT_BODY_TIMEOUT 300
#define HTTP_DEFAULT_PER_IP_LIMIT 64

struct http_daemon;
/* Start serving; *bound_port receives the actual port. NULL on failure
 * (reason in err). */
struct http_daemon *http_start(struct server *s, const struct http_opts *o,
                               uint16_t *bound_port, char *err, size_t errlen);
void http_stop(struct http_daemon *d);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * console.c - serve the web console (docs/console.md): GET / is its page,
 * GET /console/<file> its scripts and styles, all from memory (console.h).
 * Every answer carries a strict Content-Security-Policy (scripts, styles
 * and connections only from this server, no inline script, no framing), the
 * file's content type with nosniff, and an ETag; the browser revalidates
 * each time (Cache-Control: no-cache) and gets 304 while unchanged. The
 * console itself talks only to the JSON API, with the session cookie.
 */
#include <string.h>

#include "console.h"
#include "server.h"

#define CONSOLE_CSP                                                                   \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "      \
    "frame-ancestors 'none'"

static void security_headers(struct http_resp *out)
{
    resp_add_header(out, "Content-Security-Policy", CONSOLE_CSP);
    resp_add_header(out, "X-Content-Type-Options", "nosniff");
    resp_add_header(out, "Referrer-Policy", "no-referrer");
    resp_add_header(out, "X-Frame-Options", "DENY");
}

/* 1 if an If-None-Match header lists etag (or is "*"). */
static int etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    if (!inm)
        return 0;
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '*' || (strncmp(p, etag, n) == 0 && (p[n] == ',' || p[n] == ' ' || !p[n])))
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

void console_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    const char *path = strcmp(r->path, "/") == 0 ? "/console/index.html" : r->path;
    const struct console_asset *a = console_assets;
    (void)s;
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        resp_error(out, 405, "method_not_allowed", "the console's files are read with GET");
        resp_add_header(out, "Allow", "GET, HEAD");
        return;
    }
    while (a->path && strcmp(a->path, path) != 0)
        a++;
    if (!a->path) {
        resp_error(out, 404, "not_found", "no console file %s", r->path);
        security_headers(out);
        return;
    }
    if (etag_matches(req_header(r, "If-None-Match"), a->etag))
        resp_empty(out, 304);
    else
        resp_bytes(out, 200, a->content_type, a->data, a->len);
    resp_add_header(out, "ETag", a->etag);
    resp_add_header(out, "Cache-Control", "no-cache");
    security_headers(out);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * artifact.c - content-addressed artifact files and their HTTP download
 * (GET/HEAD, strong ETag = the digest, single byte ranges with 206/416) so
 * devices can resume interrupted downloads; artifact_send() also serves the
 * hawkBit DDI download path (ddi_artifact.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "artifact.h"
#include "jsonv.h"
#include "log.h"

void artifact_path(const struct server *s, const uint8_t digest[OTA_SHA256_LEN],
                   char *out, size_t cap)
{
    char hex[2 * OTA_SHA256_LEN + 1];
    ota_hex_encode(digest, OTA_SHA256_LEN, hex);
    snprintf(out, cap, "%.3900s/%s", s->artifacts_dir, hex);
}

int artifact_exists(struct server *s, const uint8_t digest[OTA_SHA256_LEN])
{
    char path[PATH_MAX];
    artifact_path(s, digest, path, sizeof(path));
    return access(path, R_OK) == 0;
}

ota_err artifact_put(struct server *s, const uint8_t *data, size_t len,
                     const uint8_t digest[OTA_SHA256_LEN])
{
    char path[PATH_MAX];
    artifact_path(s, digest, path, sizeof(path));
    if (access(path, R_OK) == 0)
        return OTA_OK;
    return ota_file_write_atomic(path, data, len);
}

/* SHA-256 of the first len bytes of an open file, read in chunks. */
static ota_err hash_fd(int fd, uint64_t len, uint8_t digest[OTA_SHA256_LEN])
{
    const struct ota_crypto *c = ota_crypto_openssl();
    ota_sha256_ctx ctx;
    uint8_t buf[65536];
    uint64_t off = 0;
    ota_err e = c->sha256_init(&ctx);
    while (e == OTA_OK && off < len) {
        size_t want = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return OTA_ERR_IO;
        e = c->sha256_update(&ctx, buf, (size_t)n);
        off += (uint64_t)n;
    }
    return e == OTA_OK ? c->sha256_final(&ctx, digest) : e;
}

/* Make a temporary file in the artifacts directory (fd open on it) the
 * artifact named digest: fsync and rename (no-op if already present). */
static ota_err adopt(struct server *s, const char *tmp_path, int fd,
                     const uint8_t digest[OTA_SHA256_LEN])
{
    char path[PATH_MAX];
    artifact_path(s, digest, path, sizeof(path));
    if (access(path, R_OK) == 0)
        return OTA_OK; /* the temporary file is removed by its owner */
    if (fsync(fd) != 0 || fchmod(fd, 0644) != 0 || rename(tmp_path, path) != 0)
        return OTA_ERR_IO;
    int dfd = open(s->artifacts_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return OTA_OK;
}

ota_err artifact_hash_body(const struct http_req *r, uint8_t digest[OTA_SHA256_LEN])
{
    if (r->body_fd >= 0)
        return hash_fd(r->body_fd, r->body_len, digest);
    return ota_sha256(ota_crypto_openssl(), r->body, r->body_len, digest);
}

ota_err artifact_store_body(struct server *s, const struct http_req *r,
                            const uint8_t digest[OTA_SHA256_LEN])
{
    if (r->body_fd >= 0)
        return adopt(s, r->body_file, r->body_fd, digest);
    return artifact_put(s, r->body, r->body_len, digest);
}

ota_err artifact_read(struct server *s, const uint8_t digest[OTA_SHA256_LEN],
                      uint8_t **data, size_t *len)
{
    char path[PATH_MAX];
    artifact_path(s, digest, path, sizeof(path));
    return ota_file_read(path, data, len);
}

void artifact_remove(struct server *s, const uint8_t digest[OTA_SHA256_LEN])
{
    char path[PATH_MAX];
    artifact_path(s, digest, path, sizeof(path));
    unlink(path);
}

/* One range of a Range header against size (RFC 9110 14.1.2, 14.2):
 * 1 satisfiable (end clamped to the last byte); 0 unsatisfiable (416 with
 * "bytes SLASH-STAR size"): a first byte at or past the end, or a zero
 * suffix; -1 ignore the header and send the whole file: not a byte range,
 * malformed, last < first ("bytes=5-4"), or several ranges. */
static int parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *end)
{
    char *e;
    unsigned long long a, b;
    if (strncmp(h, "bytes=", 6) != 0)
        return -1;
    h += 6;
    if (strchr(h, ','))
        return -1;
    if (*h == '-') {
        if (h[1] < '0' || h[1] > '9')
            return -1;
        errno = 0;
        b = strtoull(h + 1, &e, 10);
        if (errno || *e)
            return -1;
        if (b == 0 || size == 0)
            return 0;
        *start = b >= size ? 0 : size - b;
        *end = size - 1;
        return 1;
    }
    if (*h < '0' || *h > '9')
        return -1;
    errno = 0;
    a = strtoull(h, &e, 10);
    if (errno || *e != '-')
        return -1;
    h = e + 1;
    if (*h == '\0') {
        b = UINT64_MAX;
    } else {
        if (*h < '0' || *h > '9')
            return -1;
        b = strtoull(h, &e, 10);
        if (errno || *e)
            return -1;
        if (b < a)
            return -1;
    }
    if (a >= size)
        return 0;
    *start = a;
    *end = b >= size ? size - 1 : b;
    return 1;
}

void api_artifact(struct server *s, struct http_req *r, struct http_resp *out,
                  const char *hex)
{
    uint8_t digest[OTA_SHA256_LEN];
    if (strcmp(r->method, "HEAD") != 0 && strcmp(r->method, "GET") != 0) {
        resp_error(out, 405, "method_not_allowed", "use GET or HEAD");
        resp_add_header(out, "Allow", "GET, HEAD");
        return;
    }
    if (!auth_any(s, r, out))
        return;
    if (!parse_digest_hex(hex, digest)) {
        resp_error(out, 404, "not_found", "artifacts are named by 64 lowercase hex digits");
        return;
    }
    artifact_send(s, r, out, digest);
}

void artifact_send(struct server *s, struct http_req *r, struct http_resp *out,
                   const uint8_t digest[OTA_SHA256_LEN])
{
    char path[PATH_MAX], hex[2 * OTA_SHA256_LEN + 1], etag[2 * OTA_SHA256_LEN + 3], cr[96];
    struct stat stt;
    int head = strcmp(r->method, "HEAD") == 0, fd;
    uint64_t start = 0, end = 0, size;
    int ranged = 0;
    ota_hex_encode(digest, OTA_SHA256_LEN, hex);
    artifact_path(s, digest, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &stt) != 0) {
        if (fd >= 0)
            close(fd);
        resp_error(out, 404, "not_found", "no artifact %s", hex);
        return;
    }
    size = (uint64_t)stt.st_size;
    snprintf(etag, sizeof(etag), "\"%s\"", hex);
    const char *inm = req_header(r, "If-None-Match");
    if (inm && (strcmp(inm, etag) == 0 || strcmp(inm, "*") == 0)) {
        close(fd);
        resp_empty(out, 304);
        resp_add_header(out, "ETag", etag);
        return;
    }
    const char *range = req_header(r, "Range");
    const char *ifr = req_header(r, "If-Range");
    if (range && (!ifr || strcmp(ifr, etag) == 0)) {
        int pr = parse_range(range, size, &start, &end);
        if (pr == 0) {
            close(fd);
            snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
            resp_error(out, 416, "range_not_satisfiable",
                       "range \"%s\" does not fit the artifact's %" PRIu64 " bytes", range,
                       size);
            resp_add_header(out, "Content-Range", cr);
            return;
        }
        ranged = pr == 1;
    }
    if (!ranged) {
        start = 0;
        end = size ? size - 1 : 0;
    }
    uint64_t len = size ? end - start + 1 : 0;
    struct MHD_Response *m;
    /* MHD answers HEAD with the headers of the GET (same Content-Length). */
    m = MHD_create_response_from_fd_at_offset64(len, fd, start); /* takes fd */
    if (!m) {
        close(fd);
        resp_error(out, 500, "internal", "cannot create response");
        return;
    }
    if (out->mhd)
        MHD_destroy_response(out->mhd);
    out->mhd = m;
    out->status = ranged ? 206 : 200;
    out->body_bytes = head ? 0 : len;
    MHD_add_response_header(m, "Content-Type", "application/octet-stream");
    MHD_add_response_header(m, "ETag", etag);
    MHD_add_response_header(m, "Accept-Ranges", "bytes");
    MHD_add_response_header(m, "Cache-Control", "private, max-age=31536000, immutable");
    if (ranged) {
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, end, size);
        MHD_add_response_header(m, "Content-Range", cr);
    }
    atomic_fetch_add_explicit(&s->metrics.bytes_served, head ? 0 : len, memory_order_relaxed);
}

int artifact_encrypted(const struct server *s, const uint8_t digest[OTA_SHA256_LEN])
{
    char path[4096];
    uint8_t h[OTA_IMAGE_HEADER_SIZE];
    struct ota_image_header hd;
    ssize_t n = -1;
    artifact_path(s, digest, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = pread(fd, h, sizeof(h), 0);
        close(fd);
    }
    if (n != (ssize_t)sizeof(h))
        return 0;
    ota_image_header_decode(h, &hd);
    return hd.magic == OTA_IMAGE_MAGIC &&
           (hd.flags & (OTA_IMAGE_F_ENCRYPTED_AES128 | OTA_IMAGE_F_ENCRYPTED_AES256)) != 0;
}

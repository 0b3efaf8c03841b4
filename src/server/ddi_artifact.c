// SPDX-License-Identifier: Apache-2.0
/*
 * ddi_artifact.c - hawkBit DDI artifact downloads
 * (.../softwaremodules/{module}/artifacts/{file} and its .MD5SUM; the module
 * id is the release id) and the MD5/SHA-1 hashes DDI answers carry besides
 * SHA-256, computed with OpenSSL EVP once per release and stored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "artifact.h"
#include "ddi.h"
#include "log.h"

void ddi_filename(const struct srv_release *rel, char out[SRV_FILENAME_MAX + 1])
{
    if (rel->filename[0])
        snprintf(out, SRV_FILENAME_MAX + 1, "%s", rel->filename);
    else
        snprintf(out, SRV_FILENAME_MAX + 1, "%.64s.img", rel->name);
}

int ddi_hash_fd(int fd, uint64_t len, uint8_t sha256[OTA_SHA256_LEN], uint8_t md5[DDI_MD5_LEN],
                uint8_t sha1[DDI_SHA1_LEN])
{
    EVP_MD_CTX *c[3] = {EVP_MD_CTX_new(), EVP_MD_CTX_new(), EVP_MD_CTX_new()};
    const EVP_MD *md[3] = {EVP_sha256(), EVP_md5(), EVP_sha1()};
    uint8_t *dst[3] = {sha256, md5, sha1};
    uint8_t *buf = malloc(65536);
    uint64_t off = 0;
    int ok = buf != NULL;
    for (int i = 0; i < 3; i++)
        ok = ok && c[i] && EVP_DigestInit_ex(c[i], md[i], NULL) == 1;
    while (ok && off < len) {
        size_t want = len - off < 65536 ? (size_t)(len - off) : 65536;
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = 0;
            break;
        }
        for (int i = 0; i < 3; i++)
            ok = ok && EVP_DigestUpdate(c[i], buf, (size_t)n) == 1;
        off += (uint64_t)n;
    }
    for (int i = 0; i < 3; i++) {
        ok = ok && EVP_DigestFinal_ex(c[i], dst[i], NULL) == 1;
        EVP_MD_CTX_free(c[i]);
    }
    free(buf);
    return ok;
}

int ddi_release_hashes(struct server *s, struct srv_release *rel)
{
    char path[PATH_MAX];
    uint8_t sha256[OTA_SHA256_LEN];
    struct stat st;
    if (rel->has_hashes)
        return 1;
    artifact_path(s, rel->digest, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int ok = fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size == rel->size &&
             ddi_hash_fd(fd, rel->size, sha256, rel->md5, rel->sha1) &&
             memcmp(sha256, rel->digest, OTA_SHA256_LEN) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        log_msg(LOG_ERROR, "ddi_hash_failed", "release=%lld path=%s", (long long)rel->id, path);
        return 0;
    }
    rel->has_hashes = 1;
    if (s->store->ops->release_set_hashes(s->store, rel->id, rel->md5, rel->sha1) != STORE_OK)
        log_msg(LOG_WARN, "ddi_hash_store_failed", "release=%lld", (long long)rel->id);
    return 1;
}

void ddi_artifact(struct server *s, struct http_req *r, struct http_resp *out,
                  const struct srv_device *d, const char *rest)
{
    char module[24], file[SRV_FILENAME_MAX + 16], fname[SRV_FILENAME_MAX + 1];
    struct srv_release rel;
    int64_t id = 0;
    /* rest: /softwaremodules/{module}/artifacts/{file} (ddi_classify) */
    if (sscanf(rest, "/softwaremodules/%23[0-9]/artifacts/%135s", module, file) != 2 ||
        module[0] == '0' || strlen(module) > 18 || (id = strtoll(module, NULL, 10)) <= 0) {
        resp_error(out, 404, "not_found", "software modules are named by release ids");
        return;
    }
    enum store_rc rc = s->store->ops->release_get(s->store, id, &rel);
    int mine = rc == STORE_OK ? ddi_device_has_release(s, d->id, id) : 0;
    if (rc == STORE_ERR || mine < 0) {
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    /* only a module of one of the controller's own actions */
    if (rc != STORE_OK || !mine) {
        resp_error(out, 404, "not_found", "controller %s has no software module %s", d->id,
                   module);
        return;
    }
    ddi_filename(&rel, fname);
    size_t n = strlen(fname);
    if (strcmp(file, fname) == 0) {
        artifact_send(s, r, out, rel.digest);
        return;
    }
    if (strncmp(file, fname, n) == 0 && strcmp(file + n, ".MD5SUM") == 0) {
        char text[2 * DDI_MD5_LEN + SRV_FILENAME_MAX + 8], hex[2 * DDI_MD5_LEN + 1];
        if (!ddi_release_hashes(s, &rel)) {
            resp_error(out, 503, "storage", "cannot read the artifact of release %lld",
                       (long long)rel.id);
            return;
        }
        ota_hex_encode(rel.md5, DDI_MD5_LEN, hex);
        snprintf(text, sizeof(text), "%s  %s\n", hex, fname); /* md5sum(1) format */
        resp_text(out, 200, "text/plain", text);
        return;
    }
    resp_error(out, 404, "not_found", "software module %s has no artifact \"%s\"", module, file);
}

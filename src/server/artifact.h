// SPDX-License-Identifier: Apache-2.0
/*
 * artifact.h - content-addressed artifact storage: every release image and
 * every generated delta is a file named by the lowercase hex SHA-256 of its
 * bytes under DATA/artifacts/. Paths are built from digests only.
 */
#ifndef OTA_SERVER_ARTIFACT_H
#define OTA_SERVER_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

void artifact_path(const struct server *s, const uint8_t digest[OTA_SHA256_LEN],
                   char *out, size_t cap);
/* Store bytes under their digest (atomically; no-op if already present). */
ota_err artifact_put(struct server *s, const uint8_t *data, size_t len,
                     const uint8_t digest[OTA_SHA256_LEN]);
/* An uploaded request body, streamed to a temporary file (r->body_fd) or
 * held in RAM (r->body): its SHA-256, and storing it as the artifact named
 * by that digest (adopting the temporary file, or writing the bytes). */
ota_err artifact_hash_body(const struct http_req *r, uint8_t digest[OTA_SHA256_LEN]);
ota_err artifact_store_body(struct server *s, const struct http_req *r,
                            const uint8_t digest[OTA_SHA256_LEN]);
/* Read a whole artifact (malloc'd). */
ota_err artifact_read(struct server *s, const uint8_t digest[OTA_SHA256_LEN],
                      uint8_t **data, size_t *len);
/* Answer a GET or HEAD with the artifact named digest: strong ETag (the
 * digest) and If-None-Match, a single byte Range (206/416), 404 if absent.
 * The caller has decided who may download it. */
void artifact_send(struct server *s, struct http_req *r, struct http_resp *out,
                   const uint8_t digest[OTA_SHA256_LEN]);
int artifact_exists(struct server *s, const uint8_t digest[OTA_SHA256_LEN]);
/* 1 when the artifact is an encrypted image (header flag ENCRYPTED_AES128
 * or _AES256): the server holds only its ciphertext, so it cannot diff it,
 * and the offer tells the agent to give the update engine random access to
 * it (docs/encrypted-images.md). */
int artifact_encrypted(const struct server *s, const uint8_t digest[OTA_SHA256_LEN]);
void artifact_remove(struct server *s, const uint8_t digest[OTA_SHA256_LEN]);

/* Pick the payload for a device on base_digest updating to target
 * (delta_serve.c): READY and a cached delta (digest, size) smaller than the
 * full image; PENDING: a delta is being generated in the background (ask
 * the device to check in again shortly); FULL: send the full image. Never
 * generates on the caller's thread. */
enum delta_verdict { DELTA_FULL = 0, DELTA_READY = 1, DELTA_PENDING = 2 };
/* What the device's delta applier supports beyond version 1 patches, from
 * the check-in's "delta_features" (docs/api.md): a feature set is part of
 * the delta cache key, and a device never gets a patch it cannot apply. */
#define SRV_DELTA_DEFLATE 1u /* "deflate": versions 2 and 3 (deflate section) */
#define SRV_DELTA_MODEL2 2u  /* "model2": coder model 2 (OTA_DELTA_OPT_MODEL2) */
enum delta_verdict delta_for(struct server *s, const struct srv_release *target,
                             const uint8_t base_digest[OTA_SHA256_LEN], const char *device_id,
                             unsigned features, uint8_t payload[OTA_SHA256_LEN], uint64_t *size);
/* The background generator: started and stopped with the HTTP front end. */
void delta_queue_start(struct server *s);
void delta_queue_stop(struct server *s);

#endif

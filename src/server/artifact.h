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
/* Read a whole artifact (malloc'd). */
ota_err artifact_read(struct server *s, const uint8_t digest[OTA_SHA256_LEN],
                      uint8_t **data, size_t *len);
int artifact_exists(struct server *s, const uint8_t digest[OTA_SHA256_LEN]);
void artifact_remove(struct server *s, const uint8_t digest[OTA_SHA256_LEN]);

/* Pick the payload for a device on base_digest updating to target: 1 and a
 * cached/generated delta (digest, size) when one exists and is smaller than
 * the full image, else 0 (full image). delta_serve.c. */
int delta_for(struct server *s, const struct srv_release *target,
              const uint8_t base_digest[OTA_SHA256_LEN], uint8_t payload[OTA_SHA256_LEN],
              uint64_t *size);

#endif

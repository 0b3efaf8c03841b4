// SPDX-License-Identifier: Apache-2.0
/*
 * ddi.h - what the hawkBit DDI files share (ddi.c: the controller API,
 * ddi_artifact.c: downloads and hashes, ddi_admin.c: raw releases, the
 * gateway token, attributes). The public entry points are in server.h.
 */
#ifndef OTA_SERVER_DDI_H
#define OTA_SERVER_DDI_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

#define DDI_MD5_LEN 16
#define DDI_SHA1_LEN 20
/* The settings key of the gateway token's SHA-256 (hex; "" = none). */
#define DDI_GATEWAY_SETTING "ddi_gateway_token_sha256"

/* A DDI path split: /{tenant}/controller/v1/{controller}{rest}. */
struct ddi_path {
    char tenant[SRV_ID_MAX + 1];
    char controller[SRV_ID_MAX + 1];
    const char *rest; /* "" or "/deploymentBase/3", ... (points into the path) */
};
/* 1 if path is a DDI path whose segments fit (no empty segment). */
int ddi_path_split(const char *path, struct ddi_path *p);

/* The file name DDI devices download a release as: the raw upload's name,
 * or "<name>.img" for a signed ota image. */
void ddi_filename(const struct srv_release *rel, char out[SRV_FILENAME_MAX + 1]);
/* Make sure rel carries its MD5 and SHA-1 (computed from the artifact and
 * stored once, for releases uploaded as signed images). 0 on failure. */
int ddi_release_hashes(struct server *s, struct srv_release *rel);
/* SHA-256, MD5 and SHA-1 of the first len bytes of fd, in one pass. */
int ddi_hash_fd(int fd, uint64_t len, uint8_t sha256[OTA_SHA256_LEN], uint8_t md5[DDI_MD5_LEN],
                uint8_t sha1[DDI_SHA1_LEN]);

/* GET/HEAD .../softwaremodules/{m}/artifacts/{file}[.MD5SUM] for device d
 * (rest starts at "/softwaremodules/"). */
void ddi_artifact(struct server *s, struct http_req *r, struct http_resp *out,
                  const struct srv_device *d, const char *rest);

/* 1 if the device has a campaign row (an action) for a campaign of release
 * release_id; -1 on storage failure. */
int ddi_device_has_release(struct server *s, const char *device_id, int64_t release_id);

#endif

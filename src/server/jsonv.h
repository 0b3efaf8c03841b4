// SPDX-License-Identifier: Apache-2.0
/*
 * jsonv.h - strict validation of JSON request bodies (jansson underneath):
 * objects only, duplicate keys refused, unknown fields refused, every field
 * type- and range-checked, each failure a 400 naming the field.
 */
#ifndef OTA_SERVER_JSONV_H
#define OTA_SERVER_JSONV_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server.h"

json_t *jv_parse_object(const struct http_req *r, struct http_resp *out);
/* allowed: NULL-terminated list of field names. */
int jv_only(json_t *o, const char *const *allowed, struct http_resp *out);
/* Each returns 1 on success (absent optional field: dst untouched / ""), or
 * 0 with a 400 set in out. */
int jv_string(json_t *o, const char *key, int required, size_t maxlen, char *dst,
              struct http_resp *out);
int jv_int(json_t *o, const char *key, int required, int64_t min, int64_t max,
           int64_t *dst, struct http_resp *out);
int jv_number(json_t *o, const char *key, int required, double min, double max,
              double *dst, struct http_resp *out);
/* Array of tags ([A-Za-z0-9._-]{1,32}) -> ",a,b," sorted and de-duplicated. */
int jv_tags(json_t *o, const char *key, char *dst, size_t cap, struct http_resp *out);

/* A tag (also a health counter name): 1..32 of [A-Za-z0-9._-]. */
int valid_tag(const char *t);
/* Device ids: 1..64 of [A-Za-z0-9._:-] (the manifest alphabet). */
int valid_device_id(const char *id);
/* Hardware ids: 1..32 printable ASCII (no spaces, quotes, backslashes; not
 * starting with "0x"), or "0x" + 2..64 lowercase hex digits (binary ids). */
int valid_hw_id(const char *id);
/* Check a device id (sent under JSON field `id_field`) and hardware id;
 * on failure answer 400 invalid_field naming the field and return 0. */
int jv_device_ids(const char *id_field, const char *id, const char *hw_id,
                  struct http_resp *out);
/* The image TLV bytes of a hardware id <-> its text form above. */
void hw_id_to_text(const uint8_t *b, size_t n, char out[SRV_HWID_MAX + 1]);
/* Returns the byte count, or -1 if the text is not a valid hardware id. */
int hw_id_to_bytes(const char *id, uint8_t out[OTA_HW_ID_MAX]);
/* Parse "MAJOR.MINOR.REVISION[+BUILD]" strictly. */
int parse_version(const char *s, struct ota_image_version *v);
/* A SHA-256 digest as written in the API: exactly 64 lowercase hex digits. */
int parse_digest_hex(const char *hex, uint8_t d[OTA_SHA256_LEN]);
/* 1 if a Content-Type header names media type `want` exactly (any case),
 * optionally followed by parameters (";charset=utf-8"): never a prefix
 * match ("application/jsonx" is not "application/json"). */
int media_type_is(const char *content_type, const char *want);
/* Tags ",a,b," -> JSON array. */
json_t *tags_json(const char *tags);
/* 1 if every tag of `need` (",a,b,") is in `have`. */
int tags_contain(const char *have, const char *need);

#endif

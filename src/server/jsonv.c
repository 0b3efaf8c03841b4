// SPDX-License-Identifier: Apache-2.0
/*
 * jsonv.c - strict JSON request validation (see jsonv.h) and the small
 * syntax checks shared by the API (ids, versions, tags).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonv.h"

int parse_digest_hex(const char *hex, uint8_t d[OTA_SHA256_LEN])
{
    if (strlen(hex) != 2 * OTA_SHA256_LEN)
        return 0;
    for (const char *p = hex; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return ota_hex_decode(hex, d, OTA_SHA256_LEN) == OTA_SHA256_LEN;
}

int media_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (!ct || strncasecmp(ct, want, n) != 0)
        return 0;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

json_t *jv_parse_object(const struct http_req *r, struct http_resp *out)
{
    json_error_t e;
    json_t *o;
    const char *ct = req_header(r, "Content-Type");
    if (ct && !media_type_is(ct, "application/json")) {
        resp_error(out, 415, "unsupported_media_type",
                   "expected Content-Type application/json, got %s", ct);
        return NULL;
    }
    if (r->body_len == 0) {
        resp_error(out, 400, "invalid_json", "request body is empty; a JSON object is required");
        return NULL;
    }
    o = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!o) {
        resp_error(out, 400, "invalid_json", "body is not valid JSON: %s (line %d, column %d)",
                   e.text, e.line, e.column);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        resp_error(out, 400, "invalid_json", "body must be a JSON object");
        return NULL;
    }
    return o;
}

int jv_only(json_t *o, const char *const *allowed, struct http_resp *out)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0)
                ok = 1;
        if (!ok) {
            resp_error(out, 400, "unknown_field", "unknown field \"%s\"", key);
            return 0;
        }
    }
    return 1;
}

static int missing(const char *key, struct http_resp *out)
{
    resp_error(out, 400, "missing_field", "field \"%s\" is required", key);
    return 0;
}

int jv_string(json_t *o, const char *key, int required, size_t maxlen, char *dst,
              struct http_resp *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return missing(key, out);
        return 1;
    }
    if (!json_is_string(v)) {
        resp_error(out, 400, "invalid_field", "field \"%s\" must be a string", key);
        return 0;
    }
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n > maxlen || strlen(s) != n) {
        resp_error(out, 400, "invalid_field",
                   "field \"%s\" must be at most %zu bytes without NUL characters", key, maxlen);
        return 0;
    }
    memcpy(dst, s, n + 1);
    return 1;
}

int jv_int(json_t *o, const char *key, int required, int64_t min, int64_t max,
           int64_t *dst, struct http_resp *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return missing(key, out);
        return 1;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        resp_error(out, 400, "invalid_field", "field \"%s\" must be an integer in [%lld, %lld]",
                   key, (long long)min, (long long)max);
        return 0;
    }
    *dst = json_integer_value(v);
    return 1;
}

int jv_number(json_t *o, const char *key, int required, double min, double max,
              double *dst, struct http_resp *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return missing(key, out);
        return 1;
    }
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!json_is_number(v) || isnan(d) || d < min || d > max) {
        resp_error(out, 400, "invalid_field", "field \"%s\" must be a number in [%g, %g]", key,
                   min, max);
        return 0;
    }
    *dst = d;
    return 1;
}

int valid_tag(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 32)
        return 0;
    for (; *t; t++)
        if (!isalnum((unsigned char)*t) && *t != '.' && *t != '_' && *t != '-')
            return 0;
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int jv_tags(json_t *o, const char *key, char *dst, size_t cap, struct http_resp *out)
{
    json_t *v = json_object_get(o, key), *e;
    const char *list[64];
    size_t n = 0, i, used = 0;
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_array(v) || json_array_size(v) > 64) {
        resp_error(out, 400, "invalid_field", "field \"%s\" must be an array of at most 64 tags",
                   key);
        return 0;
    }
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || !valid_tag(json_string_value(e))) {
            resp_error(out, 400, "invalid_field",
                       "field \"%s\": tag %zu must be 1..32 characters of A-Z a-z 0-9 . _ -",
                       key, i);
            return 0;
        }
        list[n++] = json_string_value(e);
    }
    qsort(list, n, sizeof(list[0]), cmp_str);
    dst[0] = '\0';
    if (n == 0)
        return 1;
    dst[used++] = ',';
    for (i = 0; i < n; i++) {
        if (i > 0 && strcmp(list[i], list[i - 1]) == 0)
            continue;
        size_t l = strlen(list[i]);
        if (used + l + 2 > cap) {
            resp_error(out, 400, "invalid_field", "field \"%s\": tags too long in total", key);
            return 0;
        }
        memcpy(dst + used, list[i], l);
        used += l;
        dst[used++] = ',';
    }
    dst[used] = '\0';
    return 1;
}

int valid_device_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > SRV_ID_MAX)
        return 0;
    for (; *id; id++) {
        unsigned char c = (unsigned char)*id;
        if (!isalnum(c) && c != '-' && c != '_' && c != '.' && c != ':')
            return 0;
    }
    return 1;
}

/* Hardware ids: the one rule of src/host/hw_id.c (docs/api.md, "Ids"). */
int valid_hw_id(const char *id)
{
    uint8_t b[OTA_HW_ID_MAX];
    return ota_hw_id_parse(id, b) > 0;
}

void hw_id_to_text(const uint8_t *b, size_t n, char out[SRV_HWID_MAX + 1])
{
    _Static_assert(OTA_HW_ID_TEXT_MAX <= SRV_HWID_MAX + 1, "hw id text does not fit");
    ota_hw_id_format(b, n, out);
}

int hw_id_to_bytes(const char *id, uint8_t out[OTA_HW_ID_MAX])
{
    return ota_hw_id_parse(id, out);
}

static int num(const char **p, unsigned long max, unsigned long *out)
{
    char *end;
    if (!isdigit((unsigned char)**p))
        return 0;
    errno = 0;
    *out = strtoul(*p, &end, 10);
    if (errno || *out > max || end - *p > 10)
        return 0;
    *p = end;
    return 1;
}

int parse_version(const char *s, struct ota_image_version *v)
{
    unsigned long a, b, c, d = 0;
    if (!num(&s, 255, &a) || *s++ != '.' || !num(&s, 255, &b) || *s++ != '.' ||
        !num(&s, 65535, &c))
        return 0;
    if (*s == '+') {
        s++;
        if (!num(&s, 0xffffffffUL, &d))
            return 0;
    }
    if (*s)
        return 0;
    v->major = (uint8_t)a;
    v->minor = (uint8_t)b;
    v->revision = (uint16_t)c;
    v->build = (uint32_t)d;
    return 1;
}

json_t *tags_json(const char *tags)
{
    json_t *a = json_array();
    const char *p = tags;
    while (p && *p) {
        if (*p == ',') {
            p++;
            continue;
        }
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, n));
        p += n;
    }
    return a;
}

int tags_contain(const char *have, const char *need)
{
    const char *p = need;
    char tag[40];
    while (p && *p) {
        if (*p == ',') {
            p++;
            continue;
        }
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n + 3 > sizeof(tag))
            return 0;
        tag[0] = ',';
        memcpy(tag + 1, p, n);
        tag[n + 1] = ',';
        tag[n + 2] = '\0';
        if (!strstr(have, tag))
            return 0;
        p += n;
    }
    return 1;
}

int jv_device_ids(const char *id_field, const char *id, const char *hw_id,
                  struct http_resp *out)
{
    if (!valid_device_id(id)) {
        resp_error(out, 400, "invalid_field",
                   "field \"%s\" must be 1..64 characters of A-Z a-z 0-9 - _ . :", id_field);
        return 0;
    }
    if (!valid_hw_id(hw_id)) {
        resp_error(out, 400, "invalid_field",
                   "field \"hw_id\" must be 1..32 printable characters without spaces, "
                   "or 0x and 2..64 lowercase hex digits");
        return 0;
    }
    return 1;
}

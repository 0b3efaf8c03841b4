// SPDX-License-Identifier: Apache-2.0
/*
 * enroll.c - where ota-fleet's device tokens come from. Each device enrolls
 * itself through POST /v1/enroll with a fleet enrollment token, the path a
 * real device takes (device.c, rate-limited by --enroll-rate so the server's
 * database sees a steady stream of single-row commits, not a burst); this
 * file creates that enrollment token with the admin token when none is given
 * (bounded: expires in a day, exactly as many uses as devices to enroll),
 * and keeps the tokens in --tokens FILE ("device-id token" lines) so a run
 * against the same server data skips enrollment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleet.h"
#include "ota/host.h"

int fleet_tokens_load(struct fleet *f)
{
    char line[256], id[128], tok[FLEET_TOKEN_MAX], want[128];
    unsigned loaded = 0;
    size_t plen;
    FILE *fp;
    if (!f->o->tokens_file[0])
        return 0;
    fp = fopen(f->o->tokens_file, "r");
    if (!fp)
        return 0; /* first run: the file is written at the end */
    snprintf(want, sizeof want, "%s-", f->o->prefix);
    plen = strlen(want);
    while (fgets(line, sizeof line, fp)) {
        char *end;
        unsigned long n;
        if (sscanf(line, "%127s %79s", id, tok) != 2 || strncmp(id, want, plen) != 0)
            continue;
        n = strtoul(id + plen, &end, 10);
        if (*end || n < 1 || n > f->n)
            continue;
        snprintf(f->dev[n - 1].token, sizeof f->dev[n - 1].token, "%s", tok);
        loaded++;
    }
    fclose(fp);
    f->st.tokens_loaded = loaded;
    return (int)loaded;
}

int fleet_tokens_save(const struct fleet *f)
{
    size_t cap = (size_t)f->n * (FLEET_TOKEN_MAX + 48) + 1, len = 0;
    char *buf, id[80];
    ota_err e;
    if (!f->o->tokens_file[0])
        return 0;
    buf = malloc(cap);
    if (!buf)
        return -1;
    for (uint32_t i = 0; i < f->n; i++) {
        if (!f->dev[i].token[0])
            continue;
        fleet_dev_id(f, i, id, sizeof id);
        len += (size_t)snprintf(buf + len, cap - len, "%s %s\n", id, f->dev[i].token);
    }
    e = ota_file_write_atomic_mode(f->o->tokens_file, buf, len, 0600);
    free(buf);
    return e == OTA_OK ? 0 : -1;
}

int fleet_enrollment_token(struct fleet *f, char *err, size_t cap)
{
    char hw[OTA_HW_ID_TEXT_MAX], *resp = NULL, *body;
    unsigned need = 0;
    const char *t;
    json_t *o;
    long st;
    for (uint32_t i = 0; i < f->n; i++)
        need += !f->dev[i].token[0];
    if (f->o->enrollment_token[0] || need == 0)
        return 0;
    if (!f->o->admin_token[0]) {
        snprintf(err, cap, "%u devices have no token: give --enrollment-token, or "
                 "--admin-token-file to create one", need);
        return -1;
    }
    ota_hw_id_format(f->hw_id, f->hw_id_len, hw);
    o = json_pack("{s:s,s:i,s:i}", "hw_id", hw, "expires_in", 86400, "max_uses", (int)need);
    body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    st = fleet_http_sync(f->o->server, "POST", "/v1/enrollment-tokens", f->o->admin_token, body,
                         &resp, err, cap);
    free(body);
    if (st == 0)
        return -1;
    o = json_loads(resp, 0, NULL);
    t = o ? json_string_value(json_object_get(o, "token")) : NULL;
    if (st != 201 || !t || strlen(t) >= sizeof f->o->enrollment_token) {
        snprintf(err, cap, "creating an enrollment token: HTTP %ld: %.300s", st, resp);
        json_decref(o);
        free(resp);
        return -1;
    }
    snprintf(f->o->enrollment_token, sizeof f->o->enrollment_token, "%s", t);
    json_decref(o);
    free(resp);
    return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - splits the ota-server configuration file into key/value
 * entries (format in config.h). Values are applied by main.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ota/host.h"

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static char *trim(char *b, char *e)
{
    while (b < e && is_blank(*b))
        b++;
    while (e > b && is_blank(e[-1]))
        e--;
    *e = '\0';
    return b;
}

static int valid_key(const char *k)
{
    if (!*k)
        return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '-'))
            return 0;
    return 1;
}

int config_file_load(const char *path, struct config_file *cf, char *err, size_t errlen)
{
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    memset(cf, 0, sizeof(*cf));
    if (ota_file_read(path, &data, &len) != OTA_OK) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return 0;
    }
    if (len && memchr(data, 0, len)) {
        free(data);
        snprintf(err, errlen, "%s: not a text file (contains NUL bytes)", path);
        return 0;
    }
    char *text = realloc(data, len + 1);
    if (!text) {
        free(data);
        snprintf(err, errlen, "%s: out of memory", path);
        return 0;
    }
    text[len] = '\0';
    cf->text = text;
    unsigned line = 0;
    char *p = text;
    while (*p) {
        char *nl = strchr(p, '\n');
        char *end = nl ? nl : p + strlen(p);
        char *l = trim(p, end);
        p = nl ? nl + 1 : end;
        line++;
        if (*l == '\0' || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%u: expected 'key = value', found '%.60s'", path, line, l);
            config_file_free(cf);
            return 0;
        }
        char *key = trim(l, eq);
        char *value = trim(eq + 1, eq + 1 + strlen(eq + 1));
        if (!valid_key(key)) {
            snprintf(err, errlen, "%s:%u: '%.60s' is not a key (keys are the long options "
                                  "without '--', e.g. 'listen')", path, line, key);
            config_file_free(cf);
            return 0;
        }
        if (cf->n == cap) {
            cap = cap ? 2 * cap : 16;
            struct config_entry *ne = realloc(cf->entries, cap * sizeof(*ne));
            if (!ne) {
                snprintf(err, errlen, "%s: out of memory", path);
                config_file_free(cf);
                return 0;
            }
            cf->entries = ne;
        }
        cf->entries[cf->n++] = (struct config_entry){key, value, line};
    }
    return 1;
}

void config_file_free(struct config_file *cf)
{
    free(cf->entries);
    free(cf->text);
    memset(cf, 0, sizeof(*cf));
}

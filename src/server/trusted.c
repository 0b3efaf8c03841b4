// SPDX-License-Identifier: Apache-2.0
/*
 * trusted.c - loading and swapping the trusted firmware key set (see
 * trusted.h): at start and again on SIGHUP.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/host.h"
#include "server.h"
#include "trusted.h"

struct key_list {
    struct ota_pubkey *keys;
    char (*paths)[PATH_MAX];
    size_t n, cap;
};

static int add_key(struct key_list *l, const char *path, char *err, size_t errlen)
{
    ota_key *k = NULL;
    struct ota_pubkey pk;
    if (ota_key_load(path, &k, err, errlen) != OTA_OK)
        return 0;
    if (ota_key_has_private(k)) {
        ota_key_free(k);
        snprintf(err, errlen, "%s: holds a private key; give the server only the public "
                              "key (ota pubkey KEY.pem > KEY.pub.pem)", path);
        return 0;
    }
    ota_err e = ota_key_pubkey(k, &pk);
    ota_key_free(k);
    if (e != OTA_OK) {
        snprintf(err, errlen, "%s: %s", path, ota_strerror(e));
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        struct ota_pubkey *nk = realloc(l->keys, cap * sizeof(*nk));
        if (nk)
            l->keys = nk;
        char(*np)[PATH_MAX] = nk ? realloc(l->paths, cap * sizeof(*np)) : NULL;
        if (!nk || !np) {
            snprintf(err, errlen, "out of memory");
            return 0;
        }
        l->paths = np;
        l->cap = cap;
    }
    l->keys[l->n] = pk;
    snprintf(l->paths[l->n], PATH_MAX, "%s", path);
    l->n++;
    return 1;
}

static int add_dir(struct key_list *l, const char *data_dir, char *err, size_t errlen)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%.4000s/trusted-keys", data_dir);
    DIR *d = opendir(dir);
    struct dirent *e;
    int ok = 1;
    if (!d) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return 0;
    }
    while (ok && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".pem") != 0)
            continue;
        char path[2 * PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ok = add_key(l, path, err, errlen);
    }
    closedir(d);
    return ok;
}

struct trusted_set *trusted_load(const char *const *paths, int n_paths, const char *data_dir,
                                 char *err, size_t errlen)
{
    struct key_list l = {0};
    struct trusted_set *t = NULL;
    int ok = 1;
    for (int i = 0; ok && i < n_paths; i++)
        ok = add_key(&l, paths[i], err, errlen);
    if (ok)
        ok = add_dir(&l, data_dir, err, errlen);
    if (ok) {
        t = malloc(sizeof(*t) + l.n * sizeof(t->keys[0]));
        if (!t)
            snprintf(err, errlen, "out of memory");
    }
    if (t) {
        atomic_init(&t->refs, 1);
        t->n = l.n;
        if (l.n)
            memcpy(t->keys, l.keys, l.n * sizeof(t->keys[0]));
        for (size_t i = 0; i < l.n; i++) {
            uint8_t h[OTA_SHA256_LEN];
            char hex[17];
            ota_sha256(ota_crypto_openssl(), l.keys[i].spki, sizeof(l.keys[i].spki), h);
            ota_hex_encode(h, 8, hex);
            printf("trusted firmware key: %s (key hash %s...)\n", l.paths[i], hex);
        }
    }
    free(l.keys);
    free(l.paths);
    return t;
}

struct trusted_set *trusted_acquire(struct server *s)
{
    pthread_mutex_lock(&s->trusted_lock);
    struct trusted_set *t = s->trusted;
    atomic_fetch_add(&t->refs, 1);
    pthread_mutex_unlock(&s->trusted_lock);
    return t;
}

void trusted_release(struct trusted_set *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        free(t);
}

void trusted_replace(struct server *s, struct trusted_set *t)
{
    pthread_mutex_lock(&s->trusted_lock);
    struct trusted_set *old = s->trusted;
    s->trusted = t;
    pthread_mutex_unlock(&s->trusted_lock);
    trusted_release(old);
}

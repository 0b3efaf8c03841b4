// SPDX-License-Identifier: Apache-2.0
/*
 * trusted.h - the set of firmware (release) signing keys the server trusts.
 * A set is immutable once loaded and reference counted, so SIGHUP can swap
 * in a new set while uploads still verify against the one they took.
 */
#ifndef OTA_SERVER_TRUSTED_H
#define OTA_SERVER_TRUSTED_H

#include <stdatomic.h>
#include <stddef.h>

#include "ota/crypto.h"

struct server;

struct trusted_set {
    atomic_int refs;
    size_t n;
    struct ota_pubkey keys[];
};

/* Loads every file of paths (public P-256 keys; a private key is refused)
 * and, when data_dir/trusted-keys exists, its *.pem. Nothing is created.
 * Prints one line per key (path and key hash) on stdout. NULL on the first
 * unusable file, with the file and reason in err. */
struct trusted_set *trusted_load(const char *const *paths, int n_paths, const char *data_dir,
                                 char *err, size_t errlen);

/* The current set (never NULL once the server runs); give it back with
 * trusted_release(). */
struct trusted_set *trusted_acquire(struct server *s);
void trusted_release(struct trusted_set *t);
/* Installs t (takes the caller's reference) and drops the previous set. */
void trusted_replace(struct server *s, struct trusted_set *t);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * smp_cbor.h - the CBOR subset the MCU's SMP server needs (RFC 8949): decode
 * one request map with text-string keys into named fields, encode responses.
 *
 * Why it is hand-written (docs/smp.md, "CBOR on the MCU"): the port takes
 * third-party C only from Debian source packages fetched at build time, and
 * Debian 12's libcbor source package cannot be fetched here (its orig tarball
 * is not served by the archive mirror this project builds against), while
 * zcbor/tinycbor are not packaged. The decoder is small, bounded, recursion
 * depth-limited and fuzzed (fuzz/fuzz_smp.c); the host side uses libcbor.
 *
 * Decoding never allocates and never reads past len. Any item is accepted
 * and skipped when its key is not asked for (nesting up to SMP_CBOR_DEPTH,
 * indefinite lengths, tags, floats); an asked-for key with the wrong type, a
 * duplicate asked-for key, a non-text key, or a truncated item is an error.
 */
#ifndef OTA_PORT_SMP_CBOR_H
#define OTA_PORT_SMP_CBOR_H

#include <stddef.h>
#include <stdint.h>

#define SMP_CBOR_DEPTH 8

enum smp_cbor_type {
    SMP_CBOR_UINT = 1,
    SMP_CBOR_BSTR = 2,
    SMP_CBOR_TSTR = 3,
    SMP_CBOR_BOOL = 4,
};

/* One field of a request map: key and expected type in, value out. Strings
 * point into the decoded buffer (definite-length strings only). */
struct smp_cbor_field {
    const char *key;
    uint8_t type;
    uint8_t present;
    uint64_t u;          /* UINT value; BOOL: 0/1 */
    const uint8_t *s;    /* BSTR/TSTR bytes */
    size_t slen;
};

enum smp_cbor_status {
    SMP_CBOR_OK = 0,
    SMP_CBOR_TRUNCATED = -1, /* item runs past the end */
    SMP_CBOR_MALFORMED = -2, /* reserved encoding, bad nesting, too deep */
    SMP_CBOR_NOT_MAP = -3,   /* the top-level item is not a map */
    SMP_CBOR_BAD_KEY = -4,   /* a key is not a definite text string */
    SMP_CBOR_BAD_TYPE = -5,  /* an asked-for key has another type */
    SMP_CBOR_DUPLICATE = -6, /* an asked-for key appears twice */
    SMP_CBOR_TRAILING = -7,  /* bytes after the map */
};

/* Decode the map in buf[0, len) into fields[0, n). Empty input (len 0) is an
 * empty map (SMP requests without data). On error *bad_key names the field
 * concerned when there is one (else NULL). */
int smp_cbor_decode_map(const uint8_t *buf, size_t len, struct smp_cbor_field *fields,
                        size_t n, const char **bad_key);

/* Encoder into a fixed buffer; overflow is sticky and checked at the end. */
struct smp_cbor_wr {
    uint8_t *p;
    size_t cap;
    size_t pos;
    int overflow;
};

void smp_cbor_wr_init(struct smp_cbor_wr *w, uint8_t *buf, size_t cap);
void smp_cbor_put_map(struct smp_cbor_wr *w, uint32_t n_pairs);
void smp_cbor_put_array(struct smp_cbor_wr *w, uint32_t n);
void smp_cbor_put_uint(struct smp_cbor_wr *w, uint64_t v);
void smp_cbor_put_int(struct smp_cbor_wr *w, int64_t v);
void smp_cbor_put_bool(struct smp_cbor_wr *w, int v);
void smp_cbor_put_tstr(struct smp_cbor_wr *w, const char *s);
void smp_cbor_put_tstrn(struct smp_cbor_wr *w, const char *s, size_t n);
void smp_cbor_put_bstr(struct smp_cbor_wr *w, const uint8_t *s, size_t n);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * ota/host.h - host-side helpers (Linux): keys, signing, files.
 *
 * Used by the `ota` tool, ota-server, ota-agent and ota-sim. Never linked into
 * the portable core. Keys are ECDSA P-256 only, held by OpenSSL.
 */
#ifndef OTA_HOST_H
#define OTA_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "ota/crypto.h"
#include "ota/error.h"
#include "ota/image.h"
#include "ota/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ota_key ota_key; /* an ECDSA P-256 key, private or public only */

ota_err ota_key_generate(ota_key **out);
/* Load a PEM or DER private key, or a PEM/DER public key (SPKI). On failure
 * writes a message naming the file and the reason into err. */
ota_err ota_key_load(const char *path, ota_key **out, char *err, size_t errlen);
/* Save as PEM (private: PKCS#8, file mode 0600; public: SPKI). */
ota_err ota_key_save_private(const ota_key *k, const char *path);
ota_err ota_key_save_public(const ota_key *k, const char *path);
int ota_key_has_private(const ota_key *k);
/* The 91-byte SPKI DER form the core trusts (and its SHA-256 = key hash). */
ota_err ota_key_pubkey(const ota_key *k, struct ota_pubkey *out);
/* ECDSA P-256 signature (DER) over a 32-byte digest. sig must hold
 * OTA_P256_SIG_DER_MAX bytes; *sig_len receives the length. */
ota_err ota_key_sign_digest(const ota_key *k, const uint8_t digest[OTA_SHA256_LEN],
                            uint8_t *sig, size_t *sig_len);
/* The private scalar of a P-256 key: a device's image decryption key
 * (ota/image_enc.h), or the build side's ephemeral ECDH key. */
struct ota_enc_privkey;
ota_err ota_key_private_scalar(const ota_key *k, struct ota_enc_privkey *out);
void ota_key_free(ota_key *k);

/*
 * Encryption, build side (ota/image_enc.h; docs/encrypted-images.md).
 * ota_enc_new_key: a fresh random AES key (aes_len 16 or 32) in *k, wrapped
 * for the device key dev (public or private) in an ENC_EC256 TLV value
 * written to tlv (OTA_ENC_EC256_LEN(aes_len) bytes) under a fresh ephemeral
 * key. ota_payload_seal: payload (e.g. a delta patch) sealed in ota's
 * encrypted-payload envelope for dev; *out malloc'ed (caller frees).
 * Both write the reason into err on failure.
 */
struct ota_enc_key;
ota_err ota_enc_new_key(const ota_key *dev, size_t aes_len, uint8_t *tlv,
                        struct ota_enc_key *k, char *err, size_t errlen);
ota_err ota_payload_seal(const uint8_t *payload, size_t len, const ota_key *dev,
                         unsigned aes_bits, uint8_t **out, size_t *out_len, char *err,
                         size_t errlen);

/* Whole-file helpers. ota_file_read mallocs *data (caller frees). */
ota_err ota_file_read(const char *path, uint8_t **data, size_t *len);
/* A whole file mapped read-only (regular files; anything else, e.g. a
 * pipe, is read into memory as ota_file_read does). ota_file_map_drop()
 * gives the resident pages of a mapping back to the kernel (the bytes stay
 * readable: they are read from the file again if touched), so a caller that
 * is done with a large input does not keep it in its memory; it does
 * nothing for a file read into memory. The file must not change while
 * mapped. */
struct ota_file_map {
    uint8_t *data;
    size_t len;
    int mapped;
};
ota_err ota_file_map(const char *path, struct ota_file_map *m);
void ota_file_map_drop(struct ota_file_map *m);
void ota_file_unmap(struct ota_file_map *m);
/* Write to path.tmp, fsync, rename over path. */
ota_err ota_file_write_atomic(const char *path, const void *data, size_t len);
/* Same, with an explicit file mode (e.g. 0600 for private keys). */
ota_err ota_file_write_atomic_mode(const char *path, const void *data, size_t len,
                                   unsigned mode);
/* The same, streamed: ota_file_tmp_open creates path.tmp.PID with exactly
 * `mode` and returns its descriptor (*tmp: its name, the caller frees; -1
 * and *tmp NULL on failure, errno set); the caller writes, fsyncs and
 * closes it, then ota_file_tmp_commit renames it over path and syncs the
 * directory (-1 and the temporary removed on failure). */
int ota_file_tmp_open(const char *path, unsigned mode, char **tmp);
int ota_file_tmp_commit(const char *tmp, const char *path);

/* A reader over an open file descriptor (pread). */
struct ota_fd_reader {
    int fd;
};
void ota_reader_from_fd(struct ota_reader *r, struct ota_fd_reader *f, int fd,
                        uint32_t size);
/* The same with a read-ahead window of up to cap bytes (buf: the caller's):
 * a miss reads a window from the page holding the request on, so the core's
 * small reads (the delta applier asks for 512 bytes at a time) cost one
 * pread per window instead of one each. The window doubles while the reads
 * continue it and starts at 16 KiB again after a jump. Reads larger than
 * cap go straight to the file. */
struct ota_fd_reader_buf {
    int fd;
    uint8_t *buf;
    size_t cap, len; /* buf holds the file's bytes [base, base + len) */
    size_t want;     /* the last window's size */
    uint32_t base, size;
};
void ota_reader_from_fd_buffered(struct ota_reader *r, struct ota_fd_reader_buf *f, int fd,
                                 uint32_t size, uint8_t *buf, size_t cap);

/* Standard base64 with padding into out (at most cap bytes): 0 and *len,
 * or -1 when the text is not base64 or decodes to more than cap bytes. */
int ota_base64_decode(const char *in, uint8_t *out, size_t cap, size_t *len);

/* Hex helpers: out must hold 2*len+1 chars. ota_hex_decode returns bytes
 * written or -1 on a bad digit / odd length / overflow of max. */
void ota_hex_encode(const uint8_t *in, size_t len, char *out);
int ota_hex_decode(const char *in, uint8_t *out, size_t max);

/*
 * Hardware ids as written on command lines, in configuration and in the
 * server's API: 1..32 printable ASCII characters other than space, '"' and
 * '\', or "0x" followed by 2..64 lowercase hex digits (a binary id).
 * ota_hw_id_parse returns the id's byte length (what the HW_ID TLV holds),
 * or -1 for an id that is not allowed. ota_hw_id_format writes the bytes
 * back in that form (text when they are allowed text not starting "0x",
 * else 0x + hex), so parse(format(id)) == id. Returns out.
 */
/* The rule in words, for error messages. */
#define OTA_HW_ID_RULE                                                                 \
    "1..32 printable ASCII characters other than space, '\"' and '\\', or 0x followed by "  \
    "2..64 lowercase hex digits"
#define OTA_HW_ID_TEXT_MAX (2u + 2u * OTA_HW_ID_MAX + 1u)
int ota_hw_id_parse(const char *id, uint8_t out[OTA_HW_ID_MAX]);
char *ota_hw_id_format(const uint8_t *id, size_t len, char out[OTA_HW_ID_TEXT_MAX]);

/*
 * What failed and why, for people (one rendering for every program):
 * ota_diag_str writes "FIELD at offset N (0xN): expected E (0xE), found F
 * (0xF)" (no values when the diag has none; "" when it names no field). ota_err_diag_str writes "STRERROR (ERRNAME)" followed by ": " and
 * that when there is one. Both truncate to cap and return out.
 */
#define OTA_DIAG_STR_MAX 192u
const char *ota_diag_str(const struct ota_diag *d, char *out, size_t cap);
const char *ota_err_diag_str(ota_err e, const struct ota_diag *d, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif

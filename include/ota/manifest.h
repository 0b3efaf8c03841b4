// SPDX-License-Identifier: Apache-2.0
/*
 * ota/manifest.h - the update offer a server signs for one device, and its
 * parser/verifier in the portable core.
 *
 * When ota-server decides a device should update, it answers the check-in
 * with a manifest: a compact, fixed-layout little-endian record that binds
 * the device id, the campaign, the target image (digest, size, version,
 * security counter, hardware id), the payload to download (the full image, or
 * a delta from exactly the device's current image), a validity window and
 * (format 2) a per-device increasing offer sequence and a downgrade flag that
 * make old offers unusable once a newer one was accepted, signed with ECDSA
 * P-256 over SHA-256 by the server's online key.
 *
 * A device refuses an offer before downloading anything unless
 * ota_manifest_verify() accepts it. No malloc, no stdio: the parsed manifest
 * lives in a caller-owned struct (~360 bytes). Byte-level spec and rationale:
 * docs/manifest.md.
 */
#ifndef OTA_MANIFEST_H
#define OTA_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include "ota/crypto.h"
#include "ota/error.h"
#include "ota/image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_MANIFEST_MAGIC "OTAM"      /* 4 bytes at offset 0 */
#define OTA_MANIFEST_FORMAT 2u         /* the newest format (written by default) */
#define OTA_MANIFEST_FORMAT_1 1u       /* still parsed: no offer_seq, no flags */
#define OTA_MANIFEST_FIXED_LEN 168u    /* format 2: signed fields before the ids */
#define OTA_MANIFEST_FIXED_LEN_1 156u  /* format 1: signed fields before the ids */
/* flags (format 2): the server means this offer to replace the running
 * image with one that is not newer (a deliberate downgrade campaign) */
#define OTA_MANIFEST_FLAG_DOWNGRADE 0x1u
#define OTA_MANIFEST_FLAGS_KNOWN 0x1u  /* any other bit set: malformed */
#define OTA_MANIFEST_DEVICE_ID_MAX 64u /* device id: 1..64 bytes, printable ASCII */
#define OTA_MANIFEST_KEY_ID_LEN 8u     /* first 8 bytes of SHA-256(server SPKI) */
/* Largest possible encoding: fixed + ids + sig length byte + DER signature. */
#define OTA_MANIFEST_MAX_LEN                                                   \
    (OTA_MANIFEST_FIXED_LEN + OTA_MANIFEST_DEVICE_ID_MAX + OTA_HW_ID_MAX + 1u + \
     OTA_P256_SIG_DER_MAX)

/* What the device downloads. */
enum ota_payload_kind {
    OTA_PAYLOAD_FULL = 0,  /* the complete signed image; payload == target */
    OTA_PAYLOAD_DELTA = 1, /* an ota delta patch (ota/delta.h) from base_digest */
};

struct ota_manifest {
    uint8_t format;                          /* 1 or 2 (encode: 0 means OTA_MANIFEST_FORMAT) */
    uint8_t payload_kind;                    /* enum ota_payload_kind */
    uint8_t key_id[OTA_MANIFEST_KEY_ID_LEN]; /* which server key signed */
    uint64_t campaign_id;
    uint64_t issued_at;  /* unix seconds */
    uint64_t expires_at; /* unix seconds; the offer is void at and after this */
    /* The image the device ends up with. digest = SHA-256 of the whole image
     * file (header .. end of the unprotected TLV area), size = its length. */
    uint8_t target_digest[OTA_SHA256_LEN];
    uint32_t target_size;
    struct ota_image_version target_version;
    uint32_t target_security_counter;
    /* The bytes the device downloads (== target for a full payload). */
    uint8_t payload_digest[OTA_SHA256_LEN];
    uint32_t payload_size;
    /* Delta only: SHA-256 of the whole current image the patch applies to
     * (all zero for a full payload). */
    uint8_t base_digest[OTA_SHA256_LEN];
    /* Format 2 (0 in format 1): the server's offer sequence, increasing for
     * every offer it makes to this device; a device never accepts one at or
     * below the newest it accepted. flags: OTA_MANIFEST_FLAG_*. */
    uint64_t offer_seq;
    uint32_t flags;
    uint8_t device_id_len;
    char device_id[OTA_MANIFEST_DEVICE_ID_MAX + 1]; /* NUL-terminated copy */
    uint8_t hw_id_len;
    uint8_t hw_id[OTA_HW_ID_MAX];
    /* Length of the signed part (offset of the signature length byte). */
    uint32_t signed_len;
    uint8_t sig_len;
    uint8_t sig[OTA_P256_SIG_DER_MAX];
};

/*
 * Decode and check the structure only (no signature, no policy): magic,
 * format (1 or 2), payload kind, id lengths and characters, full/delta
 * consistency, issued <= expires, known flags only (format 2), strict DER
 * signature, exact total length. Errors:
 * OTA_ERR_MANIFEST_MALFORMED (diag names the field and offset),
 * OTA_ERR_MANIFEST_VERSION (format byte; diag expected/found).
 */
ota_err ota_manifest_parse(const uint8_t *buf, size_t len, struct ota_manifest *m,
                           struct ota_diag *diag);

/* What the device requires of an offer. */
struct ota_manifest_policy {
    const struct ota_crypto *crypto;       /* required */
    const struct ota_pubkey *server_keys;  /* trusted server keys (rotation: >1) */
    size_t n_server_keys;
    const char *device_id;                 /* required: this device's id */
    const uint8_t *hw_id;                  /* NULL: hardware id not checked */
    size_t hw_id_len;
    /* Unix seconds now. 0 means the device has no trustworthy clock: expiry
     * is then NOT checked (document that choice in the product). */
    uint64_t now;
    uint32_t min_security_counter; /* anti-rollback floor (0: none) */
    uint32_t max_target_size;      /* slot size; 0: no limit */
    /* Freshness: the offer_seq the offer must at least carry -- the newest
     * one the device accepted plus one (0: not checked; a format 1 offer
     * has offer_seq 0, so it fails any non-zero floor). */
    uint64_t min_offer_seq;
    /* The running image's version (NULL: not checked): the target must be
     * newer unless the offer carries OTA_MANIFEST_FLAG_DOWNGRADE. */
    const struct ota_image_version *running_version;
};

/*
 * Parse, then verify, in this order, stopping at the first failure:
 *   signature by a trusted server key (key id selects the key; all keys are
 *     tried if none matches)         -> OTA_ERR_MANIFEST_SIG_INVALID
 *   device id equals policy device_id -> OTA_ERR_MANIFEST_WRONG_DEVICE
 *   hardware id equals policy hw_id   -> OTA_ERR_IMAGE_HW_MISMATCH
 *   now < expires_at (when now != 0)  -> OTA_ERR_MANIFEST_EXPIRED
 *   security counter >= floor         -> OTA_ERR_IMAGE_ROLLBACK
 *   offer_seq >= min_offer_seq        -> OTA_ERR_MANIFEST_STALE
 *   target newer than running_version, or the downgrade flag
 *                                     -> OTA_ERR_MANIFEST_DOWNGRADE
 *   target and payload <= max size    -> OTA_ERR_IMAGE_TOO_LARGE
 * OTA_ERR_CRYPTO when the backend fails. On success *m holds the manifest;
 * on failure *m is only meaningful for the policy errors (it parsed and the
 * signature held). diag names the failing field with expected/found.
 */
ota_err ota_manifest_verify(const uint8_t *buf, size_t len,
                            const struct ota_manifest_policy *p,
                            struct ota_manifest *m, struct ota_diag *diag);

/*
 * Encode the signed part of m (everything but sig_len/sig) into buf. Used by
 * the server and by tests; portable. Fails with OTA_ERR_INVALID_ARG for
 * fields the parser would refuse and OTA_ERR_TOO_LARGE when cap is short.
 * *len receives the signed length.
 */
ota_err ota_manifest_encode_signed(const struct ota_manifest *m, uint8_t *buf,
                                   size_t cap, size_t *len);

/*
 * Append a DER signature after a signed part of signed_len bytes already in
 * buf: writes the length byte and the signature; *len = total length.
 */
ota_err ota_manifest_append_sig(uint8_t *buf, size_t cap, size_t signed_len,
                                const uint8_t *sig, size_t sig_len, size_t *len);

/* SHA-256 of the signed part: what the server signs and the device verifies. */
ota_err ota_manifest_digest(const struct ota_crypto *c, const uint8_t *buf,
                            size_t signed_len, uint8_t out[OTA_SHA256_LEN]);

/* The 8-byte key id of a server key: first 8 bytes of SHA-256(SPKI). */
ota_err ota_manifest_key_id(const struct ota_crypto *c, const struct ota_pubkey *k,
                            uint8_t out[OTA_MANIFEST_KEY_ID_LEN]);

/*
 * The signed "no offer" statement (docs/manifest.md, "Revoking offers a
 * device never accepted"): the server's answer to a check-in with nothing to
 * do carries it, so the device raises its offer-sequence floor to a value
 * the server issued moments ago -- every offer signed before it, including
 * those of campaigns aborted since, is then stale. It names no device: it
 * says "the server signed no offer still meant to be taken that is older
 * than offer_seq", true for every device that hears it in a "nothing to do"
 * answer, so one signature serves every idle check-in for a moment.
 * Replaying an old statement lowers nothing (the device keeps the larger
 * floor), so it has no expiry.
 *
 *   0 "OTAN" | 4 format 1 | 5 three zero bytes | 8 key_id
 *   | 16 issued_at u64 | 24 offer_seq u64 | 32 sig_len | 33 DER signature
 *
 * signed like a manifest (ECDSA P-256 over SHA-256 of bytes [0, 32)).
 */
#define OTA_NO_OFFER_MAGIC "OTAN"
#define OTA_NO_OFFER_FORMAT 1u
#define OTA_NO_OFFER_SIGNED_LEN 32u
#define OTA_NO_OFFER_MAX_LEN (OTA_NO_OFFER_SIGNED_LEN + 1u + OTA_P256_SIG_DER_MAX)

struct ota_no_offer {
    uint8_t key_id[OTA_MANIFEST_KEY_ID_LEN];
    uint64_t issued_at; /* unix seconds (for logs; not checked) */
    uint64_t offer_seq; /* the server's offer sequence at signing time */
    uint8_t sig_len;
    uint8_t sig[OTA_P256_SIG_DER_MAX];
};

/* Structure only: magic, format (OTA_ERR_MANIFEST_VERSION), zero reserved
 * bytes, strict DER, exact length (OTA_ERR_MANIFEST_MALFORMED, diag names
 * the field). */
ota_err ota_no_offer_parse(const uint8_t *buf, size_t len, struct ota_no_offer *s,
                           struct ota_diag *diag);
/* Parse, then the signature by a trusted server key
 * (OTA_ERR_MANIFEST_SIG_INVALID); of the policy only crypto and server_keys
 * are used. */
ota_err ota_no_offer_verify(const uint8_t *buf, size_t len, const struct ota_manifest_policy *p,
                            struct ota_no_offer *s, struct ota_diag *diag);
/* The signed part of s into buf (OTA_NO_OFFER_SIGNED_LEN bytes); then
 * ota_manifest_append_sig() as for a manifest. */
ota_err ota_no_offer_encode_signed(const struct ota_no_offer *s, uint8_t *buf, size_t cap,
                                   size_t *len);

#ifdef __cplusplus
}
#endif
#endif

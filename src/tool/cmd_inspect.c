// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/cmd_inspect.c - `ota inspect`: show everything in an image file
 * (header fields, every TLV of both areas with type, length and value, the
 * recorded vs recomputed hash, key hash, sizes, and the MCUboot trailer when
 * the image is padded to a slot), as text or JSON (--json, via jansson).
 *
 * It works on damaged images too: it prints what can be read, walking TLVs
 * with bounds checks, and reports the core parser's verdict (ota_image_parse)
 * with the failing field and offset. It does not check the signature: that
 * needs a trusted key, see `ota verify`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/image_slot.h"
#include "tool.h"
#include "le.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: ota inspect [--json] IMAGE\n\n"
            "Print IMAGE's header, protected and unprotected TLVs (type, length, value),\n"
            "the SHA-256 recorded in the image and the one recomputed from its bytes,\n"
            "the key hash, the sizes of every region, and the boot trailer (magic,\n"
            "image_ok, copy_done, swap_info) when the image is padded to a slot.\n"
            "The signature is not checked here: use 'ota verify --key'.\n\n"
            "Exit status: 0 when the image structure is valid (even if its hash does not\n"
            "match: the output says so), else the structural error's exit code.\n\n"
            "Options:\n"
            "      --json   machine-readable output (one JSON object)\n"
            "  -h, --help   this help\n");
}

static const char *tlv_name(uint16_t t)
{
    switch (t) {
    case 0x01: return "KEYHASH";
    case 0x02: return "PUBKEY";
    case 0x10: return "SHA256";
    case 0x11: return "SHA384";
    case 0x12: return "SHA512";
    case 0x20: return "RSA2048";
    case 0x21: return "ECDSA224";
    case 0x22: return "ECDSA256";
    case 0x23: return "RSA3072";
    case 0x24: return "ED25519";
    case 0x30: return "ENCRSA2048";
    case 0x31: return "ENCKW";
    case 0x32: return "ENCEC256";
    case 0x33: return "ENCX25519";
    case 0x40: return "DEPENDENCY";
    case 0x50: return "SEC_CNT";
    case 0x60: return "BOOT_RECORD";
    case 0xa0: return "HW_ID (ota)";
    case 0xa1: return "LINK_SLOT (ota)";
    default: return t >= 0xa0 && t <= 0xfffe ? "vendor" : "unknown";
    }
}

static char *hexdup(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (s)
        ota_hex_encode(p, n, s);
    return s;
}

/* Walk one TLV area at off, describing it (and every entry) in `area`;
 * *problem names the first inconsistency found. */
static void walk(const uint8_t *d, size_t n, uint64_t off, uint16_t magic, json_t *area,
                 const char **problem)
{
    json_t *arr = json_array();
    uint64_t pos, end;
    uint16_t tot;
    json_object_set_new(area, "offset", json_integer((json_int_t)off));
    json_object_set_new(area, "tlvs", arr);
    if (off + 4 > n) {
        *problem = "area starts past the end of the file";
        return;
    }
    json_object_set_new(area, "magic", json_integer(ota_le_get16(d + off)));
    if (ota_le_get16(d + off) != magic) {
        *problem = "bad area magic";
        return;
    }
    tot = ota_le_get16(d + off + 2);
    json_object_set_new(area, "size", json_integer(tot));
    end = off + tot;
    if (end > n) {
        *problem = "area runs past the end of the file";
        end = n;
    }
    pos = off + 4;
    while (pos + 4 <= end) {
        uint16_t type = ota_le_get16(d + pos), len = ota_le_get16(d + pos + 2);
        json_t *t = json_object();
        char *hx;
        json_object_set_new(t, "offset", json_integer((json_int_t)pos));
        json_object_set_new(t, "type", json_integer(type));
        json_object_set_new(t, "name", json_string(tlv_name(type)));
        json_object_set_new(t, "length", json_integer(len));
        json_array_append_new(arr, t);
        if (pos + 4 + len > end) {
            *problem = "TLV length runs past the end of its area";
            return;
        }
        hx = hexdup(d + pos + 4, len);
        json_object_set_new(t, "value", json_string(hx ? hx : ""));
        free(hx);
        if (type == OTA_TLV_SEC_CNT && len == 4)
            json_object_set_new(t, "security_counter", json_integer(ota_le_get32(d + pos + 4)));
        if (type == OTA_TLV_HW_ID && len > 0 && len <= OTA_HW_ID_MAX) {
            char id[OTA_HW_ID_TEXT_MAX];
            ota_hw_id_format(d + pos + 4, len, id);
            json_object_set_new(t, "hw_id", json_string(id));
        }
        if (type == OTA_TLV_LINK_SLOT && len == 1 && d[pos + 4] <= OTA_LINK_SLOT_B)
            json_object_set_new(t, "link_slot", json_string(ota_link_slot_name(d[pos + 4])));
        pos += 4u + len;
    }
    if (pos != end && !*problem)
        *problem = "TLV entries do not fill the area exactly";
}

static json_t *flags_json(uint32_t f)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        {OTA_IMAGE_F_PIC, "PIC"},
        {OTA_IMAGE_F_ENCRYPTED_AES128, "ENCRYPTED_AES128"},
        {OTA_IMAGE_F_ENCRYPTED_AES256, "ENCRYPTED_AES256"},
        {OTA_IMAGE_F_NON_BOOTABLE, "NON_BOOTABLE"},
        {OTA_IMAGE_F_RAM_LOAD, "RAM_LOAD"},
        {OTA_IMAGE_F_ROM_FIXED, "ROM_FIXED"},
    };
    json_t *a = json_array();
    size_t i;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (f & names[i].bit)
            json_array_append_new(a, json_string(names[i].name));
    return a;
}

static const char *flag_state(uint8_t v)
{
    return v == 0x01 ? "set" : v == 0xff ? "unset" : v == 0x00 ? "unset (0x00)" : "bad";
}

/* Look for the MCUboot trailer at the end of a padded image. */
static json_t *trailer_json(const uint8_t *d, size_t n, uint64_t image_end)
{
    static const uint32_t aligns[] = {8, 16, 32};
    size_t i;
    if (n < image_end + OTA_TRAILER_MAGIC_SIZE)
        return NULL;
    for (i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
        uint8_t magic[OTA_TRAILER_MAGIC_SIZE];
        uint32_t a = aligns[i], malign = a > 16 ? a : 16;
        ota_image_boot_magic(a, magic);
        if (memcmp(d + n - OTA_TRAILER_MAGIC_SIZE, magic, sizeof(magic)) == 0 &&
            n >= image_end + malign + 4u * a) {
            const uint8_t *end = d + n;
            json_t *t = json_object();
            json_object_set_new(t, "magic", json_string("good"));
            json_object_set_new(t, "max_align", json_integer(a));
            json_object_set_new(t, "image_ok", json_string(flag_state(end[-(long)(malign + a)])));
            json_object_set_new(t, "copy_done",
                                json_string(flag_state(end[-(long)(malign + 2 * a)])));
            json_object_set_new(t, "swap_info",
                                json_integer(end[-(long)(malign + 3 * a)]));
            json_object_set_new(t, "slot_size", json_integer((json_int_t)n));
            return t;
        }
    }
    return NULL;
}

static void print_tlvs(const json_t *area, const char *title)
{
    size_t i;
    json_t *t, *arr = json_object_get(area, "tlvs");
    if (!json_object_get(area, "size")) {
        printf("%s: none\n", title);
        return;
    }
    printf("%s at %lld: magic 0x%04llx, %lld bytes\n", title,
           (long long)json_integer_value(json_object_get(area, "offset")),
           (long long)json_integer_value(json_object_get(area, "magic")),
           (long long)json_integer_value(json_object_get(area, "size")));
    json_array_foreach(arr, i, t) {
        const char *val = json_string_value(json_object_get(t, "value"));
        printf("  @%-6lld type 0x%02llx %-12s len %-3lld",
               (long long)json_integer_value(json_object_get(t, "offset")),
               (long long)json_integer_value(json_object_get(t, "type")),
               json_string_value(json_object_get(t, "name")),
               (long long)json_integer_value(json_object_get(t, "length")));
        if (json_object_get(t, "security_counter"))
            printf(" %lld", (long long)json_integer_value(json_object_get(t, "security_counter")));
        else if (json_object_get(t, "hw_id"))
            printf(" \"%s\"", json_string_value(json_object_get(t, "hw_id")));
        else if (json_object_get(t, "link_slot"))
            printf(" slot %s", json_string_value(json_object_get(t, "link_slot")));
        else if (val)
            printf(" %s", val);
        printf("\n");
    }
}

/* What inspect read from the file and what the core parser said about it. */
struct inspection {
    const char *path;
    const uint8_t *d;
    size_t n;
    struct ota_image_header h;
    struct ota_image_info info;
    struct ota_diag diag;
    ota_err rc;
    int link_slot;          /* ota_image_link_slot: 0 A, 1 B, -1 any */
    ota_err slot_rc;        /* its verdict (OTA_OK when rc is not OTA_OK) */
    struct ota_diag slot_diag;
    const char *prot_problem, *unprot_problem;
    uint64_t prot_end; /* end of the protected TLV area (as the header says) */
    char vs[32];       /* the header's version as text */
};

static json_t *header_json(struct inspection *in)
{
    const struct ota_image_header *h = &in->h;
    json_t *hdrj = json_object();
    json_object_set_new(hdrj, "magic", json_integer(h->magic));
    json_object_set_new(hdrj, "magic_ok", json_boolean(h->magic == OTA_IMAGE_MAGIC));
    json_object_set_new(hdrj, "load_addr", json_integer(h->load_addr));
    json_object_set_new(hdrj, "hdr_size", json_integer(h->hdr_size));
    json_object_set_new(hdrj, "protect_tlv_size", json_integer(h->protect_tlv_size));
    json_object_set_new(hdrj, "img_size", json_integer(h->img_size));
    json_object_set_new(hdrj, "flags", json_integer(h->flags));
    json_object_set_new(hdrj, "flag_names", flags_json(h->flags));
    json_object_set_new(hdrj, "version",
                        json_string(ota_image_version_str(&h->version, in->vs, sizeof(in->vs))));
    json_object_set_new(hdrj, "pad1", json_integer(ota_le_get32(in->d + 28)));
    return hdrj;
}

/* Both TLV areas, walked with bounds checks even when the parser refused. */
static void add_tlv_areas(json_t *root, struct inspection *in)
{
    const struct ota_image_header *h = &in->h;
    uint64_t payload_end = (uint64_t)h->hdr_size + h->img_size;
    json_t *prot = json_object(), *unprot = json_object();

    in->prot_end = payload_end;
    if (h->magic == OTA_IMAGE_MAGIC && h->hdr_size >= OTA_IMAGE_HEADER_SIZE) {
        if (h->protect_tlv_size) {
            walk(in->d, in->n, payload_end, OTA_TLV_PROT_INFO_MAGIC, prot, &in->prot_problem);
            in->prot_end = payload_end + h->protect_tlv_size;
        }
        walk(in->d, in->n, in->prot_end, OTA_TLV_INFO_MAGIC, unprot, &in->unprot_problem);
    }
    if (in->prot_problem)
        json_object_set_new(prot, "problem", json_string(in->prot_problem));
    if (in->unprot_problem)
        json_object_set_new(unprot, "problem", json_string(in->unprot_problem));
    json_object_set_new(root, "protected_tlvs", prot);
    json_object_set_new(root, "tlvs", unprot);
}

static void set_hex(json_t *obj, const char *key, const uint8_t *p, size_t len)
{
    char *hx = hexdup(p, len);
    json_object_set_new(obj, key, json_string(hx ? hx : ""));
    free(hx);
}

/* Hash as recorded vs as recomputed over header + payload + protected TLVs. */
static json_t *sha256_json(const struct inspection *in)
{
    uint8_t digest[OTA_SHA256_LEN];
    json_t *hj = json_object();
    uint64_t signed_len = in->rc == OTA_OK ? in->info.signed_size : in->prot_end;

    if (in->rc == OTA_OK && in->info.enc_aes_len) {
        /* The hash covers the plaintext body; the file holds ciphertext. */
        if (in->info.has_hash)
            set_hex(hj, "recorded", in->info.hash, sizeof(in->info.hash));
        json_object_set_new(hj, "covers", json_string("plaintext"));
        json_object_set_new(hj, "covers_bytes", json_integer((json_int_t)signed_len));
        return hj;
    }
    if (signed_len <= in->n &&
        ota_sha256(ota_crypto_openssl(), in->d, (size_t)signed_len, digest) == OTA_OK) {
        set_hex(hj, "computed", digest, sizeof(digest));
        if (in->info.has_hash) {
            set_hex(hj, "recorded", in->info.hash, sizeof(in->info.hash));
            json_object_set_new(hj, "match", json_boolean(memcmp(digest, in->info.hash,
                                                                 sizeof(digest)) == 0));
        }
        json_object_set_new(hj, "covers_bytes", json_integer((json_int_t)signed_len));
    }
    return hj;
}

/* Key hash, signature, security counter, hardware id, encryption. */
static void add_metadata(json_t *root, const struct inspection *in)
{
    const struct ota_image_info *info = &in->info;
    if (in->rc == OTA_OK && info->enc_aes_len) {
        json_t *ej = json_object();
        json_object_set_new(ej, "cipher", json_string(info->enc_aes_len == 32 ? "AES-256-CTR"
                                                                               : "AES-128-CTR"));
        json_object_set_new(ej, "key_tlv", json_string("ENCEC256 (ECIES-P256)"));
        json_object_set_new(ej, "key_tlv_offset", json_integer(info->enc_off));
        set_hex(ej, "ephemeral_key", in->d + info->enc_off, OTA_P256_PUBKEY_LEN);
        json_object_set_new(ej, "encrypted_bytes", json_integer(info->hdr.img_size));
        json_object_set_new(root, "encryption", ej);
    }
    if (info->has_keyhash)
        set_hex(root, "key_hash", info->keyhash, sizeof(info->keyhash));
    json_object_set_new(root, "signature_present", json_boolean(info->has_signature));
    if (info->has_security_counter)
        json_object_set_new(root, "security_counter", json_integer(info->security_counter));
    if (info->hw_id_len) {
        char id[OTA_HW_ID_TEXT_MAX];
        ota_hw_id_format(info->hw_id, info->hw_id_len, id);
        json_object_set_new(root, "hw_id", json_string(id));
    }
    /* Per-slot builds: the slot the image is linked for (TLV 0xa1) and the
     * flash address it runs at (ROM_FIXED), docs/image-format.md. */
    if (in->rc == OTA_OK && in->slot_rc == OTA_OK)
        json_object_set_new(root, "link_slot", json_string(ota_link_slot_name(in->link_slot)));
    if (in->h.flags & OTA_IMAGE_F_ROM_FIXED)
        json_object_set_new(root, "rom_fixed", json_integer(in->h.load_addr));
}

static json_t *sizes_json(const struct inspection *in)
{
    const struct ota_image_info *info = &in->info;
    json_t *sizes = json_object();
    json_object_set_new(sizes, "header", json_integer(in->h.hdr_size));
    json_object_set_new(sizes, "payload", json_integer(in->h.img_size));
    json_object_set_new(sizes, "protected_tlvs", json_integer(in->h.protect_tlv_size));
    if (in->rc == OTA_OK) {
        json_object_set_new(sizes, "tlvs", json_integer(info->total_size - info->signed_size));
        json_object_set_new(sizes, "signed", json_integer(info->signed_size));
        json_object_set_new(sizes, "image", json_integer(info->total_size));
        json_object_set_new(sizes, "after_image",
                            json_integer((json_int_t)(in->n - info->total_size)));
    }
    return sizes;
}

/* The core parser's verdict, with the failing field when it refused. */
static json_t *structure_json(const struct inspection *in)
{
    /* the parser's refusal, else the link slot TLV's (ota's own rules) */
    ota_err rc = in->rc != OTA_OK ? in->rc : in->slot_rc;
    const struct ota_diag *diag = in->rc != OTA_OK ? &in->diag : &in->slot_diag;
    json_t *st = json_object();
    json_object_set_new(st, "ok", json_boolean(rc == OTA_OK));
    if (rc != OTA_OK) {
        json_object_set_new(st, "error", json_string(ota_errname(rc)));
        json_object_set_new(st, "message", json_string(ota_strerror(rc)));
        if (diag->field) {
            json_object_set_new(st, "field", json_string(diag->field));
            json_object_set_new(st, "offset", json_integer(diag->offset));
            if (diag->has_values) {
                json_object_set_new(st, "expected", json_integer(diag->expected));
                json_object_set_new(st, "found", json_integer(diag->found));
            }
        }
    }
    return st;
}

/* Everything inspect shows, as one JSON document (the text form prints it). */
static json_t *inspection_json(struct inspection *in)
{
    json_t *root = json_object(), *trailer;
    json_object_set_new(root, "file", json_string(in->path));
    json_object_set_new(root, "file_size", json_integer((json_int_t)in->n));
    json_object_set_new(root, "header", header_json(in));
    add_tlv_areas(root, in);
    if (in->h.magic == OTA_IMAGE_MAGIC && (in->rc == OTA_OK || in->prot_end <= in->n))
        json_object_set_new(root, "sha256", sha256_json(in));
    add_metadata(root, in);
    json_object_set_new(root, "sizes", sizes_json(in));
    trailer = in->rc == OTA_OK ? trailer_json(in->d, in->n, in->info.total_size) : NULL;
    if (trailer)
        json_object_set_new(root, "trailer", trailer);
    json_object_set_new(root, "structure", structure_json(in));
    return root;
}

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static void print_header_text(const json_t *root, const struct inspection *in)
{
    const struct ota_image_header *h = &in->h;
    json_t *v;
    size_t i;

    printf("file:             %s (%zu bytes)\n", in->path, in->n);
    printf("magic:            0x%08lx (%s)\n", (unsigned long)h->magic,
           h->magic == OTA_IMAGE_MAGIC ? "ok" : "NOT an ota/MCUboot image");
    printf("version:          %s\n", in->vs);
    printf("load address:     0x%08lx\n", (unsigned long)h->load_addr);
    printf("header size:      %u\n", (unsigned)h->hdr_size);
    printf("payload size:     %lu\n", (unsigned long)h->img_size);
    printf("protected TLVs:   %u bytes\n", (unsigned)h->protect_tlv_size);
    printf("flags:            0x%08lx", (unsigned long)h->flags);
    json_array_foreach(json_object_get(json_object_get(root, "header"), "flag_names"), i, v)
        printf(" %s", json_string_value(v));
    printf("\n");
    if (in->info.has_security_counter)
        printf("security counter: %lu\n", (unsigned long)in->info.security_counter);
    if (json_object_get(root, "hw_id"))
        printf("hardware id:      %s\n", str_at(root, "hw_id"));
    if (json_object_get(root, "link_slot"))
        printf("link slot:        %s\n",
               in->link_slot == OTA_LINK_SLOT_ANY ? "any (no LINK_SLOT TLV: runs from either slot)"
               : in->link_slot == OTA_LINK_SLOT_A ? "A (built to run from slot A)"
                                                  : "B (built to run from slot B)");
    if (json_object_get(root, "rom_fixed"))
        printf("ROM_FIXED:        0x%08lx (runs only at this flash address)\n",
               (unsigned long)h->load_addr);
}

static void print_trailer_text(const json_t *trailer, const struct inspection *in)
{
    const struct ota_image_info *info = &in->info;
    if (trailer)
        printf("trailer:          magic good (max align %lld), image_ok %s, copy_done %s, "
               "swap_info 0x%02llx\n",
               (long long)json_integer_value(json_object_get(trailer, "max_align")),
               str_at(trailer, "image_ok"), str_at(trailer, "copy_done"),
               (long long)json_integer_value(json_object_get(trailer, "swap_info")));
    else if (in->rc == OTA_OK && in->n > info->total_size)
        printf("trailer:          none (%lu bytes after the image, no boot magic)\n",
               (unsigned long)(in->n - info->total_size));
}

static void print_text(const json_t *root, const struct inspection *in)
{
    const struct ota_image_info *info = &in->info;
    json_t *hj = json_object_get(root, "sha256");

    print_header_text(root, in);
    print_tlvs(json_object_get(root, "protected_tlvs"), "protected TLV area");
    if (in->prot_problem)
        printf("  problem: %s\n", in->prot_problem);
    print_tlvs(json_object_get(root, "tlvs"), "TLV area");
    if (in->unprot_problem)
        printf("  problem: %s\n", in->unprot_problem);
    if (json_object_get(root, "encryption"))
        printf("encryption:       %s, key in TLV 0x32 ENCEC256 (ECIES-P256) at offset %u; "
               "payload is ciphertext\n",
               str_at(json_object_get(root, "encryption"), "cipher"), (unsigned)info->enc_off);
    if (hj && json_object_get(hj, "covers")) {
        if (json_object_get(hj, "recorded"))
            printf("sha256 recorded:  %s (over the PLAINTEXT; check with 'ota verify "
                   "--enc-key')\n", str_at(hj, "recorded"));
    } else if (hj && json_object_get(hj, "computed")) {
        printf("sha256 computed:  %s (over %lld bytes)\n", str_at(hj, "computed"),
               (long long)json_integer_value(json_object_get(hj, "covers_bytes")));
        if (json_object_get(hj, "recorded"))
            printf("sha256 recorded:  %s (%s)\n", str_at(hj, "recorded"),
                   json_is_true(json_object_get(hj, "match")) ? "match"
                                                              : "MISMATCH: image altered");
    }
    if (json_object_get(root, "key_hash"))
        printf("key hash:         %s\n", str_at(root, "key_hash"));
    printf("signature:        %s\n",
           info->has_signature ? "present (check with 'ota verify --key')" : "absent");
    if (in->rc == OTA_OK)
        printf("sizes:            signed %lu, image %lu, after image %lu\n",
               (unsigned long)info->signed_size, (unsigned long)info->total_size,
               (unsigned long)(in->n - info->total_size));
    print_trailer_text(json_object_get(root, "trailer"), in);
    printf("structure:        %s\n", in->rc == OTA_OK && in->slot_rc == OTA_OK ? "ok" : "INVALID");
}

/* Options and the one IMAGE argument: returns -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, int *as_json, const char **path)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': *as_json = 1; break;
        case 'h': help(stdout); return OTA_EXIT_OK;
        default:
            tool_error("inspect", "unknown option %s (see 'ota inspect --help')",
                       argv[optind - 1]);
            return OTA_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        tool_error("inspect", argc == optind ? "missing IMAGE (see 'ota inspect --help')"
                                             : "expected exactly one IMAGE");
        return OTA_EXIT_USAGE;
    }
    *path = argv[optind];
    return -1;
}

/* Read the file; at least a header's worth: returns -1 to go on, else an exit code. */
static int read_image(const char *path, uint8_t **d, size_t *n)
{
    if (ota_file_read(path, d, n) != OTA_OK) {
        tool_error("inspect", "%s: cannot read: %s", path, strerror(errno));
        return OTA_EXIT_FILE;
    }
    if (*n > 0xffffffffu) {
        tool_error("inspect", "%s: larger than 4 GiB", path);
        return OTA_EXIT_TOO_LARGE;
    }
    if (*n < OTA_IMAGE_HEADER_SIZE) {
        tool_error("inspect", "%s: %zu bytes, shorter than the %u-byte image header (%s)", path,
                   *n, (unsigned)OTA_IMAGE_HEADER_SIZE, ota_errname(OTA_ERR_IMAGE_TRUNCATED));
        return OTA_EXIT_TRUNCATED;
    }
    return -1;
}

int ota_cmd_inspect(int argc, char **argv)
{
    struct inspection in;
    int as_json = 0, ret;
    uint8_t *d = NULL;
    struct ota_reader r;
    struct ota_mem_reader mr;
    json_t *root;

    memset(&in, 0, sizeof(in));
    if ((ret = parse_args(argc, argv, &as_json, &in.path)) != -1)
        return ret;
    if ((ret = read_image(in.path, &d, &in.n)) != -1) {
        free(d);
        return ret;
    }
    in.d = d;
    ota_reader_from_mem(&r, &mr, d, (uint32_t)in.n);
    in.rc = ota_image_parse(&r, &in.info, &in.diag);
    ota_image_header_decode(d, &in.h);
    in.link_slot = OTA_LINK_SLOT_ANY;
    if (in.rc == OTA_OK)
        in.slot_rc = ota_image_link_slot(&r, &in.info, &in.link_slot, &in.slot_diag);

    root = inspection_json(&in);
    if (as_json) {
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        print_text(root, &in);
    }
    ret = OTA_EXIT_OK;
    if (in.rc != OTA_OK) {
        tool_error_diag("inspect", in.path, in.rc, &in.diag);
        ret = ota_exit_code(in.rc);
    } else if (in.slot_rc != OTA_OK) {
        tool_error_diag("inspect", in.path, in.slot_rc, &in.slot_diag);
        ret = ota_exit_code(in.slot_rc);
    }
    json_decref(root);
    free(d);
    return ret;
}

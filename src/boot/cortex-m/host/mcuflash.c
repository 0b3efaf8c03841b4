// SPDX-License-Identifier: Apache-2.0
/*
 * mcuflash.c - `ota-mcu-flash`, the host side of the Cortex-M port: the
 * factory and the service bench for the QEMU board's flash file. It builds
 * and inspects the 16 MiB file that backs the board's flash (board.h):
 *
 *   ota-mcu-flash create FLASH --bootloader BOOT.bin --key PUB.pem
 *                        [--hw-id ID] [--attempts N]
 *       provision: config block + the real bootloader binary in the
 *       bootloader region, its SHA-256 burned into OTP, empty boot state;
 *   ota-mcu-flash install FLASH IMAGE [--permanent]
 *       the core's installer (as the update engine would install);
 *   ota-mcu-flash status FLASH
 *       stage 0, boot state, OTP counter and each slot, as "key: value".
 *
 * All flash writes go through the portable core over the simulator's NOR
 * model (ota_sim), so the file holds exactly what a device would write.
 * Exit codes: the shared table (src/host/exit_codes.h, docs/exit-codes.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "ota/boot.h"
#include "ota/host.h"
#include "ota/sim.h"
#include "ota/version.h"
#include "smp_identity.h"

#include "exit_codes.h"

static const char *prog = "ota-mcu-flash";

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: ota-mcu-flash create FLASH --bootloader BOOT.bin --key PUB.pem\n"
            "                            [--hw-id ID] [--attempts N]\n"
            "       ota-mcu-flash install FLASH IMAGE [--permanent]\n"
            "       ota-mcu-flash status FLASH\n"
            "       ota-mcu-flash identity FLASH --device-id ID --server-key PUB.pem\n\n"
            "Builds and inspects the flash file of ota's Cortex-M port on QEMU mps2-an385\n"
            "(a %u-byte file backing the board's PSRAM at 0x%08x: %u x %u-byte sectors of\n"
            "flash, then unused).\n\n"
            "identity writes the device identity block SMP's ota group needs (this\n"
            "device's id and the server's manifest key, docs/smp.md) at 0x%x.\n\n"
            "  -h, --help      this help\n"
            "  -V, --version   print the version\n\n",
            (unsigned)BOARD_PSRAM_SIZE, (unsigned)BOARD_FLASH_BASE,
            (unsigned)BOARD_FLASH_SECTORS, (unsigned)BOARD_FLASH_SECTOR,
            (unsigned)BOARD_IDENTITY_OFF);
    ota_exit_codes_print(f, OTA_PROG_MCU_FLASH);
}

struct device {
    struct ota_sim sim;
    uint8_t *file; /* the whole PSRAM image */
    struct ota_boot_dev dev;
    uint8_t buf[4096];
};

static int device_init(struct device *d)
{
    memset(d, 0, sizeof *d);
    if (ota_sim_init(&d->sim, 1, BOARD_FLASH_PROG, BOARD_FLASH_SECTOR, BOARD_FLASH_SECTORS)) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return OTA_EXIT_FILE;
    }
    ota_sim_protect(&d->sim, BOARD_FLASH_SECTORS - 1, 1); /* OTP */
    d->dev.flash = &d->sim.flash;
    d->dev.crypto = ota_crypto_openssl();
    d->dev.buf = d->buf;
    d->dev.buf_len = sizeof d->buf;
    d->dev.prog_chunk = 256;
    return 0;
}

static int device_load(struct device *d, const char *path)
{
    size_t len;
    int rc = device_init(d);
    if (rc)
        return rc;
    if (ota_file_read(path, &d->file, &len) != OTA_OK) {
        fprintf(stderr, "%s: %s: cannot read the flash file\n", prog, path);
        return OTA_EXIT_FILE;
    }
    if (len != BOARD_PSRAM_SIZE) {
        fprintf(stderr, "%s: %s: %zu bytes, expected %u (not a flash file of this board)\n",
                prog, path, len, (unsigned)BOARD_PSRAM_SIZE);
        return OTA_EXIT_FILE;
    }
    memcpy(d->sim.mem, d->file, BOARD_FLASH_SIZE);
    return 0;
}

static int device_save(struct device *d, const char *path)
{
    if (d->sim.violations) {
        fprintf(stderr, "%s: NOR rule broken: %s (not saved)\n", prog, d->sim.violation);
        return OTA_EXIT_ERROR;
    }
    memcpy(d->file, d->sim.mem, BOARD_FLASH_SIZE);
    if (ota_file_write_atomic(path, d->file, BOARD_PSRAM_SIZE) != OTA_OK) {
        fprintf(stderr, "%s: %s: cannot write the flash file\n", prog, path);
        return OTA_EXIT_FILE;
    }
    return 0;
}

static void device_free(struct device *d)
{
    ota_sim_free(&d->sim);
    free(d->file);
}

static int fail(const char *what, ota_err e, const struct ota_diag *dg)
{
    char line[OTA_DIAG_STR_MAX + 128];
    fprintf(stderr, "%s: %s: %s\n", prog, what, ota_err_diag_str(e, dg, line, sizeof line));
    return OTA_EXIT_ERROR;
}

/* The layout the core computes must be the one the port is linked for. */
static int board_layout(const struct ota_flash *f, struct ota_boot_layout *l)
{
    ota_err e = ota_boot_layout_make(f, BOARD_BOOT_SIZE, BOARD_SLOT_SIZE, l);
    if (e)
        return fail("layout", e, NULL);
    if (l->boot_size != BOARD_BOOT_SIZE || l->slot_off[0] != BOARD_SLOT_A_OFF ||
        l->slot_off[1] != BOARD_SLOT_B_OFF || l->slot_size != BOARD_SLOT_SIZE ||
        l->state_off != BOARD_STATE_OFF || l->otp_off != BOARD_OTP_OFF) {
        fprintf(stderr, "%s: the core's layout (boot 0x%x, A 0x%x, B 0x%x, size 0x%x, state 0x%x, "
                        "OTP 0x%x) differs from board.h\n", prog, (unsigned)l->boot_size,
                (unsigned)l->slot_off[0], (unsigned)l->slot_off[1], (unsigned)l->slot_size,
                (unsigned)l->state_off, (unsigned)l->otp_off);
        return OTA_EXIT_ERROR;
    }
    return 0;
}

static int parse_u32(const char *s, unsigned long max, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (!*s || *end || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int cmd_create(int argc, char **argv)
{
    const char *path = NULL, *boot_path = NULL, *key_path = NULL, *hw_id = NULL;
    uint32_t attempts = OTA_BOOT_DEFAULT_ATTEMPTS;
    struct ota_boot_config cfg;
    struct ota_boot_state st;
    struct ota_flash_writer w;
    struct ota_diag dg = {0};
    struct device d;
    uint8_t block[OTA_BOOT_CFG_SIZE], hash[OTA_SHA256_LEN];
    uint8_t *boot = NULL;
    size_t boot_len = 0;
    ota_key *key = NULL;
    char err[512];
    uint8_t hw_bytes[OTA_HW_ID_MAX];
    int i, rc, hw_len = 0;
    ota_err e;

    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--bootloader") && v) boot_path = argv[++i];
        else if (!strcmp(a, "--key") && v) key_path = argv[++i];
        else if (!strcmp(a, "--hw-id") && v) hw_id = argv[++i];
        else if (!strcmp(a, "--attempts") && v) {
            if (parse_u32(argv[++i], 255, &attempts) || attempts == 0) {
                fprintf(stderr, "%s create: --attempts must be 1..255\n", prog);
                return OTA_EXIT_USAGE;
            }
        } else if (a[0] != '-' && !path) path = a;
        else {
            fprintf(stderr, "%s create: unexpected argument '%s'\n", prog, a);
            return OTA_EXIT_USAGE;
        }
    }
    if (!path || !boot_path || !key_path) {
        usage(stderr);
        return OTA_EXIT_USAGE;
    }
    if (hw_id && (hw_len = ota_hw_id_parse(hw_id, hw_bytes)) <= 0) {
        fprintf(stderr, "%s create: invalid value '%s' for --hw-id: expected %s\n", prog, hw_id,
                OTA_HW_ID_RULE);
        return OTA_EXIT_USAGE;
    }
    if (ota_key_load(key_path, &key, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "%s create: %s\n", prog, err);
        return OTA_EXIT_FILE;
    }
    memset(&cfg, 0, sizeof cfg);
    e = ota_key_pubkey(key, &cfg.key);
    ota_key_free(key);
    if (e)
        return fail("public key", e, NULL);
    if (ota_file_read(boot_path, &boot, &boot_len) != OTA_OK) {
        fprintf(stderr, "%s create: %s: cannot read the bootloader binary\n", prog, boot_path);
        return OTA_EXIT_FILE;
    }
    if (boot_len == 0 || boot_len > BOARD_BOOT_SIZE - BOARD_BOOT_CODE_OFF) {
        fprintf(stderr, "%s create: %s: %zu bytes; the bootloader region holds %u after the "
                        "config block\n", prog, boot_path, boot_len,
                (unsigned)(BOARD_BOOT_SIZE - BOARD_BOOT_CODE_OFF));
        free(boot);
        return OTA_EXIT_ERROR;
    }

    rc = device_init(&d);
    if (!rc && !(d.file = malloc(BOARD_PSRAM_SIZE)))
        rc = OTA_EXIT_FILE;
    if (!rc) {
        memset(d.file, 0xff, BOARD_PSRAM_SIZE);
        rc = board_layout(&d.sim.flash, &cfg.layout);
    }
    if (rc)
        goto out;
    if (hw_id) {
        cfg.hw_id_len = (uint8_t)hw_len;
        memcpy(cfg.hw_id, hw_bytes, cfg.hw_id_len);
    }
    cfg.max_attempts = (uint8_t)attempts;

    /* Bootloader region: config block, then the code (linked at +0x100). */
    ota_boot_config_encode(&cfg, block);
    e = ota_flash_writer_init(&w, &d.sim.flash, 0, cfg.layout.boot_size, 256);
    if (!e)
        e = ota_flash_writer_write(&w, block, sizeof block);
    if (!e)
        e = ota_flash_writer_write(&w, boot, boot_len);
    if (!e)
        e = ota_flash_writer_finish(&w);
    if (e) {
        rc = fail("bootloader region", e, NULL);
        goto out;
    }
    /* Stage 0's trust anchor: the hash of the whole region, into OTP. */
    e = ota_sha256(d.dev.crypto, d.sim.mem, cfg.layout.boot_size, hash);
    if (!e)
        e = ota_otp_write_rom_hash(&d.sim.flash, &cfg.layout, hash);
    if (e) {
        rc = fail("OTP bootloader hash", e, NULL);
        goto out;
    }
    memset(&st, 0, sizeof st);
    st.confirmed = st.pending = st.rejected = OTA_SLOT_NONE;
    e = ota_boot_state_write(&d.sim.flash, &cfg.layout, &st);
    if (e) {
        rc = fail("boot state", e, NULL);
        goto out;
    }
    e = ota_boot_stage0(&d.dev, &dg);
    if (e) {
        rc = fail("stage 0 check of the new flash", e, &dg);
        goto out;
    }
    rc = device_save(&d, path);
    if (!rc)
        printf("%s: bootloader %zu bytes, region 0x%x bytes hashed into OTP\n", path, boot_len,
               (unsigned)cfg.layout.boot_size);
out:
    free(boot);
    device_free(&d);
    return rc;
}

static int cmd_install(int argc, char **argv)
{
    const char *path = NULL, *img_path = NULL;
    int permanent = 0, i, rc;
    struct ota_install ins;
    struct ota_image_info info;
    struct ota_diag dg = {0};
    struct device d;
    uint8_t *img = NULL;
    size_t img_len = 0;
    char ver[32];
    ota_err e;

    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--permanent")) permanent = 1;
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else if (argv[i][0] != '-' && !img_path) img_path = argv[i];
        else {
            fprintf(stderr, "%s install: unexpected argument '%s'\n", prog, argv[i]);
            return OTA_EXIT_USAGE;
        }
    }
    if (!path || !img_path) {
        usage(stderr);
        return OTA_EXIT_USAGE;
    }
    if (ota_file_read(img_path, &img, &img_len) != OTA_OK) {
        fprintf(stderr, "%s install: %s: cannot read the image\n", prog, img_path);
        return OTA_EXIT_FILE;
    }
    rc = device_load(&d, path);
    if (rc)
        goto out;
    if (img_len > 0xffffffffu) {
        rc = fail("image", OTA_ERR_IMAGE_TOO_LARGE, NULL);
        goto out;
    }
    e = ota_install_begin(&ins, &d.dev, (uint32_t)img_len, &dg);
    if (!e)
        e = ota_install_write(&ins, img, img_len);
    if (!e)
        e = ota_install_finish(&ins, permanent, &info, &dg);
    if (e) {
        rc = fail("install refused", e, &dg);
        goto out;
    }
    rc = device_save(&d, path);
    if (!rc)
        printf("%s: version %s installed into slot %c (%s)\n", path,
               ota_image_version_str(&info.hdr.version, ver, sizeof ver), "AB"[ins.slot],
               permanent ? "confirmed" : "pending");
out:
    free(img);
    device_free(&d);
    return rc;
}

static char slot_name(uint8_t s)
{
    return s == 0 ? 'A' : s == 1 ? 'B' : '-';
}

static int cmd_status(int argc, char **argv)
{
    struct ota_boot_config cfg;
    struct ota_boot_state st;
    struct ota_otp_counter otp;
    struct ota_diag dg = {0};
    struct device d;
    int rc, s;
    ota_err e;

    if (argc != 1) {
        usage(stderr);
        return OTA_EXIT_USAGE;
    }
    rc = device_load(&d, argv[0]);
    if (rc)
        goto out;
    e = ota_boot_stage0(&d.dev, &dg);
    printf("stage0: %s\n", e ? ota_errname(e) : "ok");
    e = ota_boot_config_read(&d.sim.flash, &cfg, &dg);
    if (!e)
        e = ota_boot_state_read(&d.sim.flash, &cfg.layout, &st, NULL);
    if (!e)
        e = ota_otp_read_counter(&d.sim.flash, &cfg.layout, &otp);
    if (e) {
        rc = fail("reading the device", e, &dg);
        goto out;
    }
    printf("state.seq: %u\nstate.confirmed: %c\nstate.pending: %c\nstate.attempts: %u\n"
           "state.rejected: %c\notp.counter: %u\notp.records: %u\n",
           (unsigned)st.seq, slot_name(st.confirmed), slot_name(st.pending),
           (unsigned)st.attempts, slot_name(st.rejected), (unsigned)otp.value,
           (unsigned)otp.used);
    for (s = 0; s < 2; s++) {
        struct ota_image_info info;
        int blank = 0;
        char ver[32];
        ota_flash_is_erased(&d.sim.flash, cfg.layout.slot_off[s], OTA_IMAGE_HEADER_SIZE, &blank);
        e = ota_boot_verify_slot(&d.dev, &cfg, s, 0, &info, &dg);
        if (blank)
            printf("slot.%c: empty\n", "AB"[s]);
        else if (e)
            printf("slot.%c: invalid %s\n", "AB"[s], ota_errname(e));
        else
            printf("slot.%c: valid %s counter %u\n", "AB"[s],
                   ota_image_version_str(&info.hdr.version, ver, sizeof ver),
                   (unsigned)info.security_counter);
    }
out:
    device_free(&d);
    return rc;
}

/* The identity block for SMP's ota group (smp_identity.h), in its own
 * sector (BOARD_IDENTITY_OFF), which the ota layout leaves unused. */
static int cmd_identity(int argc, char **argv)
{
    const char *path = NULL, *key_path = NULL, *id = NULL;
    struct smp_identity ident;
    uint8_t blk[SMP_IDENTITY_LEN];
    char err[256];
    struct device d;
    ota_key *key = NULL;
    ota_err e;
    int i, rc;

    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--device-id") && i + 1 < argc) id = argv[++i];
        else if (!strcmp(argv[i], "--server-key") && i + 1 < argc) key_path = argv[++i];
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr, "%s identity: unexpected argument '%s'\n", prog, argv[i]);
            return OTA_EXIT_USAGE;
        }
    }
    if (!path || !id || !key_path) {
        usage(stderr);
        return OTA_EXIT_USAGE;
    }
    memset(&ident, 0, sizeof ident);
    if (strlen(id) > SMP_IDENTITY_ID_MAX) {
        fprintf(stderr, "%s identity: --device-id longer than %d characters\n", prog,
                SMP_IDENTITY_ID_MAX);
        return OTA_EXIT_USAGE;
    }
    strcpy(ident.device_id, id);
    if (ota_key_load(key_path, &key, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "%s identity: %s\n", prog, err);
        return OTA_EXIT_KEY;
    }
    e = ota_key_pubkey(key, &ident.server_key);
    ota_key_free(key);
    if (e || smp_identity_encode(&ident, blk) != 0) {
        fprintf(stderr, "%s identity: empty device id or not a P-256 key\n", prog);
        return OTA_EXIT_KEY;
    }
    rc = device_load(&d, path);
    if (!rc) {
        /* whole program units: the block, then 0xFF */
        uint8_t units[(SMP_IDENTITY_LEN + BOARD_FLASH_PROG - 1) / BOARD_FLASH_PROG *
                      BOARD_FLASH_PROG];
        memset(units, 0xff, sizeof units);
        memcpy(units, blk, sizeof blk);
        e = ota_flash_erase(&d.sim.flash, BOARD_IDENTITY_OFF, BOARD_FLASH_SECTOR);
        if (!e)
            e = ota_flash_prog(&d.sim.flash, BOARD_IDENTITY_OFF, units, sizeof units);
        rc = e ? fail("identity block", e, NULL) : device_save(&d, path);
        if (!rc)
            printf("%s: identity block at 0x%x: device id %s\n", path,
                   (unsigned)BOARD_IDENTITY_OFF, id);
    }
    device_free(&d);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? OTA_EXIT_USAGE : OTA_EXIT_OK;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("%s %s\n", prog, OTA_VERSION);
        return OTA_EXIT_OK;
    }
    if (!strcmp(argv[1], "create"))
        return cmd_create(argc - 2, argv + 2);
    if (!strcmp(argv[1], "install"))
        return cmd_install(argc - 2, argv + 2);
    if (!strcmp(argv[1], "status"))
        return cmd_status(argc - 2, argv + 2);
    if (!strcmp(argv[1], "identity"))
        return cmd_identity(argc - 2, argv + 2);
    fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
    usage(stderr);
    return OTA_EXIT_USAGE;
}

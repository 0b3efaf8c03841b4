// SPDX-License-Identifier: Apache-2.0
/*
 * bench_main.c - cost of the boot's parts on the Cortex-M3, in timer ticks
 * (run QEMU with -icount shift=0: one tick = 40 instructions). Loaded as the
 * boot ROM in place of rom.elf, on a flash whose slot A holds a valid image
 * (measure.py prepares it). Times: SHA-256 of the 64 KiB bootloader region
 * (= stage 0), one ECDSA P-256 verification of slot A's signature, the full
 * ota_image_verify() of slot A, and ota_boot_stage0(). First, a calibration:
 * a loop of exactly 2 x 10^7 instructions, which must read 500 000 ticks if
 * one tick is 40 instructions.
 */
#include "board.h"
#include "console.h"
#include "flash_port.h"
#include "report.h"
#include "semihost.h"
#include "startup.h"
#include "timer.h"

#include "ota/boot.h"

static uint8_t hashbuf[1024];
static struct ota_boot_config cfg;
static struct ota_image_info info;

static void line(const char *what, uint32_t ticks, ota_err e)
{
    console_puts("bench: ");
    console_puts(what);
    console_puts(" ");
    console_putu(ticks);
    console_puts(" ticks ");
    console_puts(ota_errname(e));
    console_puts("\n");
}

void program_main(void)
{
    struct ota_flash flash;
    struct ota_boot_dev dev = {0};
    struct ota_diag d = {0};
    struct ota_verify_params vp = {0};
    struct ota_flash_area area;
    struct ota_reader r;
    const struct ota_crypto *c = ota_crypto_mbedtls();
    uint8_t sig[OTA_P256_SIG_DER_MAX], digest[OTA_SHA256_LEN];
    uint32_t t;
    ota_err e;

    console_init();
    timer_start();
    flash_port_init(&flash);
    dev.flash = &flash;
    dev.crypto = c;
    dev.buf = hashbuf;
    dev.buf_len = sizeof hashbuf;
    {
        uint32_t n = 10000000u;
        t = timer_ticks();
        __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
        line("calibration_20M_insns", timer_ticks() - t, OTA_OK);
    }
    e = ota_boot_config_read(&flash, &cfg, &d);
    if (e) {
        report_err("bench: config", e, &d);
        semihost_exit(0);
    }

    t = timer_ticks();
    e = ota_sha256(c, (const void *)flash_port_addr(0), cfg.layout.boot_size, digest);
    line("sha256_64k", timer_ticks() - t, e);

    ota_reader_from_flash(&r, &area, &flash, cfg.layout.slot_off[0], cfg.layout.slot_size);
    e = ota_image_parse(&r, &info, &d);
    if (e || info.sig_len > sizeof sig) {
        report_err("bench: slot A", e, &d);
        semihost_exit(0);
    }
    ota_flash_read(&flash, cfg.layout.slot_off[0] + info.sig_off, sig, info.sig_len);
    t = timer_ticks();
    e = c->p256_verify(ota_pubkey_point(&cfg.key), info.hash, sig, info.sig_len);
    line("p256_verify", timer_ticks() - t, e);

    vp.crypto = c;
    vp.keys = &cfg.key;
    vp.n_keys = 1;
    vp.buf = hashbuf;
    vp.buf_len = sizeof hashbuf;
    t = timer_ticks();
    e = ota_image_verify(&r, &vp, &info, &d);
    line("image_verify", timer_ticks() - t, e);
    console_puts("bench: image_bytes ");
    console_putu(info.signed_size);
    console_puts("\n");

    t = timer_ticks();
    e = ota_boot_stage0(&dev, &d);
    line("stage0", timer_ticks() - t, e);
    console_puts("bench: stack ");
    console_putu(stack_highwater());
    console_puts("\n");
    semihost_exit(1);
}

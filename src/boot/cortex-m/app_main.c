// SPDX-License-Identifier: Apache-2.0
/*
 * app_main.c - a tiny firmware image for the port, built per slot (images
 * run in place), per version and per behaviour, to be signed with `ota sign`
 * and booted by the port's bootloader:
 *   APP_CONFIRM   - healthy firmware: confirms itself when on trial
 *                   (ota_boot_confirm: state record, then OTP raise), ends;
 *   APP_NOCONFIRM - ends without confirming (a power-off before the health
 *                   check: the next boot is another trial attempt);
 *   APP_RESET     - crashes into a system reset without confirming: the
 *                   bootloader counts the attempts down and reverts;
 *   APP_HANG      - hangs without confirming or kicking the watchdog the
 *                   bootloader started for the trial: the watchdog resets;
 *   APP_SMP       - serves SMP on UART 1 forever (smp_app.c, docs/smp.md):
 *                   the client uploads, tests, resets and confirms.
 * It prints "app: running slot A version 1.0.0" with the version it was
 * built as, and checks that the bootloader started it from the slot it was
 * linked for.
 */
#include "board.h"
#include "console.h"
#include "flash_port.h"
#include "handoff.h"
#include "jump.h"
#include "powercut.h"
#include "report.h"
#include "semihost.h"
#include "smp_app.h"
#include "startup.h"
#include "watchdog.h"

#include "ota/boot.h"

#define APP_CONFIRM 1
#define APP_NOCONFIRM 2
#define APP_RESET 3
#define APP_HANG 4
#define APP_SMP 5

#ifndef APP_SLOT
#error "APP_SLOT (0 or 1) must be defined: images are linked per slot"
#endif
#ifndef APP_VERSION
#error "APP_VERSION must be defined"
#endif
#ifndef APP_BEHAVIOUR
#define APP_BEHAVIOUR APP_CONFIRM
#endif

#if APP_BEHAVIOUR == APP_CONFIRM
static uint8_t hashbuf[512];

static void confirm(uint32_t slot, uint32_t ops_before)
{
    struct ota_flash flash;
    struct ota_boot_dev dev = {0};
    struct ota_boot_config cfg;
    struct ota_otp_counter otp;
    struct ota_diag d = {0};
    ota_err e;

    flash_port_init(&flash);
    powercut_setup(ops_before);
    dev.flash = &flash;
    dev.crypto = ota_crypto_mbedtls();
    dev.buf = hashbuf;
    dev.buf_len = sizeof hashbuf;
    e = ota_boot_confirm(&dev, (int)slot, &d);
    if (e != OTA_OK) {
        report_err("app: confirm failed", e, &d);
        semihost_exit(0);
    }
    e = ota_boot_config_read(&flash, &cfg, &d);
    if (!e)
        e = ota_otp_read_counter(&flash, &cfg.layout, &otp);
    if (e != OTA_OK) {
        report_err("app: reading OTP", e, &d);
        semihost_exit(0);
    }
    console_puts("app: confirmed slot ");
    console_putc(report_slot((int)slot));
    console_puts(", OTP counter ");
    console_putu(otp.value);
    console_puts(", flash operations since reset ");
    console_putu(flash_port_ops());
    console_puts("\n");
}
#endif

void program_main(void)
{
    uint32_t slot, trial, ops;

    console_init();
    if (HANDOFF->magic != HANDOFF_MAGIC) {
        console_puts("app: not started by the ota bootloader\n");
        semihost_exit(0);
    }
    HANDOFF->magic = 0; /* consumed: a later reset must not reuse it */
    slot = HANDOFF->slot;
    trial = HANDOFF->trial;
    ops = HANDOFF->flash_ops;
    (void)ops;
    console_puts("app: running slot ");
    console_putc(report_slot((int)slot));
    console_puts(" version " APP_VERSION);
    if (trial) {
        console_puts(" (trial, ");
        console_putu(HANDOFF->attempts_left);
        console_puts(" attempts left)");
    }
    console_puts("\n");
    if (slot != APP_SLOT) {
        console_puts("app: linked for another slot\n");
        semihost_exit(0);
    }

#if APP_BEHAVIOUR == APP_CONFIRM
    if (trial) {
        watchdog_kick(); /* healthy; the confirm verifies the image again */
        confirm(slot, ops);
        watchdog_stop(); /* confirmed: no longer on trial */
    }
    else
        console_puts("app: already confirmed\n");
    semihost_exit(1);
#elif APP_BEHAVIOUR == APP_NOCONFIRM
    console_puts("app: stopping without confirming\n");
    semihost_exit(1);
#elif APP_BEHAVIOUR == APP_RESET
    console_puts("app: crash: system reset without confirming\n");
    system_reset();
#elif APP_BEHAVIOUR == APP_HANG
    console_puts("app: hang: no confirm, no watchdog kick\n");
    for (;;) /* waiting for an event that never comes */
        __asm__ volatile("wfi");
#elif APP_BEHAVIOUR == APP_SMP
    smp_app_run(slot);
#else
#error "unknown APP_BEHAVIOUR"
#endif
}

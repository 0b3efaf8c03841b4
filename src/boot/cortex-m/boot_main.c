// SPDX-License-Identifier: Apache-2.0
/*
 * boot_main.c - ota's bootloader on the Cortex-M port: runs from the flash
 * region stage 0 just checked, calls ota_boot() (stage 0 check, boot state,
 * trial/confirmed/fallback choice, full image verification with mbedTLS),
 * reports the decision on the console, hands the app its slot and starts
 * the chosen image in place (VTOR, MSP, reset vector). With no verifiable
 * image it stays in recovery and says why.
 */
#include "board.h"
#include "console.h"
#include "flash_port.h"
#include "handoff.h"
#include "jump.h"
#include "powercut.h"
#include "report.h"
#include "semihost.h"
#include "startup.h"
#include "timer.h"
#include "watchdog.h"

#include "ota/boot.h"

#ifndef OTA_PORT_CPU
#define OTA_PORT_CPU "cortex-m"
#endif

static uint8_t hashbuf[1024];
static struct ota_boot_result res;
static struct ota_boot_config cfg;

static void report_stats(void)
{
    const struct flash_port_stats *fs = flash_port_stats();
    console_puts("boot: stack high-water ");
    console_putu(stack_highwater());
    console_puts(" of ");
    console_putu(stack_size());
    console_puts(" bytes, flash ");
    console_putu(fs->progs);
    console_puts(" programs ");
    console_putu(fs->erases);
    console_puts(" erases, ");
    console_putu(timer_ticks());
    console_puts(" timer ticks since reset\n");
}

/* slot_err is OTA_ERR_NOT_CHECKED for a slot not examined. */
static int refused(int s)
{
    return res.slot_err[s] != OTA_ERR_NOT_CHECKED && res.slot_err[s] != OTA_OK;
}

/* Each refused slot with its reason; res.diag describes the last refusal,
 * so it is printed only when one slot was refused. */
static void report_slots(void)
{
    int s, n = refused(0) + refused(1);
    for (s = 0; s < 2; s++) {
        if (!refused(s))
            continue;
        console_puts("boot: slot ");
        console_putc(report_slot(s));
        report_errno(" refused", res.slot_err[s], n == 1 ? &res.diag : 0);
    }
}

/* An image the core verified but this CPU cannot start (wrong link address,
 * bad vector table): a trial of it was already counted, so resetting lets
 * the next boots revert it; a confirmed one leaves us in recovery. */
static void cannot_start(const char *why)
{
    console_puts("boot: slot ");
    console_putc(report_slot(res.slot));
    console_puts(" cannot be started here: ");
    console_puts(why);
    console_puts("\n");
    if (res.trial) {
        console_puts("boot: resetting (the trial attempt is already counted)\n");
        system_reset();
    }
    console_puts("boot: RECOVERY\n");
    semihost_exit(0);
}

void program_main(void)
{
    struct ota_flash flash;
    struct ota_boot_dev dev = {0};
    struct ota_diag d = {0};
    uintptr_t base, vtor;
    const volatile uint32_t *vt;
    ota_err e;

    console_init();
    console_puts("boot: ota bootloader (" OTA_PORT_CPU ", mps2)\n");
    flash_port_init(&flash);
    powercut_setup(0);
    dev.flash = &flash;
    dev.crypto = ota_crypto_mbedtls();
    dev.buf = hashbuf;
    dev.buf_len = sizeof hashbuf;

    e = ota_boot(&dev, &res);
    report_slots();
    if (res.reverted)
        console_puts("boot: trial ended without confirmation (or the image failed): reverted\n");
    if (res.slot < 0) {
        report_errno("boot: RECOVERY, nothing to run", res.reason ? res.reason : e, 0);
        report_stats();
        semihost_exit(0);
    }
    if (e != OTA_OK) { /* flash error: nothing is started on a half-read state */
        report_errno("boot: RECOVERY, flash error", e, &res.diag);
        semihost_exit(0);
    }
    e = ota_boot_config_read(&flash, &cfg, &d);
    if (e != OTA_OK) {
        report_errno("boot: RECOVERY, config block", e, &d);
        semihost_exit(0);
    }

    console_puts("boot: slot ");
    console_putc(report_slot(res.slot));
    console_puts(" version ");
    report_version(&res.info.hdr.version);
    console_puts(", security counter ");
    console_putu(res.info.security_counter);
    console_puts(", OTP counter ");
    console_putu(res.otp_counter);
    if (res.trial) {
        console_puts(", on trial, ");
        console_putu(res.attempts_left);
        console_puts(" attempts left");
    }
    if (res.fell_back)
        console_puts(", fell back from the preferred slot");
    console_puts("\n");

    base = flash_port_addr(cfg.layout.slot_off[res.slot]);
    vtor = base + res.info.hdr.hdr_size;
    if ((res.info.hdr.flags & OTA_IMAGE_F_ROM_FIXED) && res.info.hdr.load_addr != base)
        cannot_start("image is linked for another address (ROM_FIXED)");
    if (vtor % 128u != 0)
        cannot_start("vector table not 128-byte aligned (header size)");
    vt = (const volatile uint32_t *)vtor;
    if (vt[0] < BOARD_RAM_BASE || vt[0] > BOARD_RAM_BASE + BOARD_RAM_SIZE || vt[0] % 8u ||
        !(vt[1] & 1u) || vt[1] < vtor || vt[1] >= base + cfg.layout.slot_size)
        cannot_start("no valid vector table after the header (built for the other slot?)");

    report_stats();
    HANDOFF->magic = HANDOFF_MAGIC;
    HANDOFF->slot = (uint32_t)res.slot;
    HANDOFF->trial = res.trial;
    HANDOFF->attempts_left = res.attempts_left;
    HANDOFF->otp_counter = res.otp_counter;
    HANDOFF->boot_ticks = timer_ticks();
    HANDOFF->stack_used = stack_highwater();
    HANDOFF->flash_ops = flash_port_ops();
    console_puts("boot: starting slot ");
    console_putc(report_slot(res.slot));
    console_puts(" at 0x");
    console_puthex((uint32_t)vtor);
    if (res.trial) {
        /* A trial image that hangs must still end in a reset: the attempt
         * is counted, so hangs, like crashes, end in a revert. */
        watchdog_start(BOARD_TRIAL_WATCHDOG_MS);
        console_puts(" under the watchdog");
    }
    console_puts("\n");
    jump_to_vector_table(vtor);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * rom_main.c - the boot ROM ("stage 0") of the port: what a chip's mask ROM
 * or an immutable first-stage loader does. It sits at address 0 (where the
 * Cortex-M fetches its reset vector), checks the bootloader region of flash
 * against the SHA-256 burned into OTP (ota_boot_stage0) and only then starts
 * the bootloader from that region. On a mismatch nothing in flash runs.
 */
#include "board.h"
#include "console.h"
#include "flash_port.h"
#include "jump.h"
#include "report.h"
#include "semihost.h"
#include "startup.h"
#include "timer.h"

#include "ota/boot.h"

static uint8_t hashbuf[1024];

void program_main(void)
{
    struct ota_flash flash;
    struct ota_boot_dev dev = {0};
    struct ota_diag d = {0};
    ota_err e;

    timer_start();
    console_init();
    console_puts("\nrom: stage 0\n");
    flash_port_init(&flash);
    dev.flash = &flash;
    dev.crypto = ota_crypto_mbedtls();
    dev.buf = hashbuf;
    dev.buf_len = sizeof hashbuf;
    e = ota_boot_stage0(&dev, &d);
    if (e != OTA_OK) {
        report_err("rom: bootloader refused, nothing runs", e, &d);
        semihost_exit(0);
    }
    console_puts("rom: bootloader region matches the OTP hash\n");
    jump_to_vector_table(flash_port_addr(BOARD_BOOT_CODE_OFF));
}

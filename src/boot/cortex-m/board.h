// SPDX-License-Identifier: Apache-2.0
/*
 * board.h - the memory map of ota's Cortex-M reference port on QEMU's
 * mps2-an385 (ARM MPS2 FPGA board, Cortex-M3), shared by the C code, the
 * linker script (run through the C preprocessor) and the host tool that
 * assembles flash images. One place defines where everything lives.
 *
 * QEMU's mps2-an385 map (hw/arm/mps2.c):
 *   0x00000000  4 MiB ZBT SSRAM1  -> our boot ROM ("stage 0"), loaded by
 *                                    -kernel and restored by QEMU at reset
 *   0x20000000  4 MiB ZBT SSRAM2/3 -> RAM of the ROM, bootloader and apps
 *   0x21000000 16 MiB PSRAM        -> the machine's main RAM, backed by a
 *                                    host file (-machine memory-backend=):
 *                                    our NOR flash, persistent across resets
 *                                    and QEMU runs
 *   0x40000000  CMSDK APB timer 0 (free-running boot-time counter)
 *   0x40004000  CMSDK APB UART 0  (console; QEMU's serial0)
 *   0x40005000  CMSDK APB UART 1  (SMP server of the smp apps; serial1)
 *   0x40008000  CMSDK APB watchdog (interrupt -> NMI, then system reset)
 *
 * The flash is plain RAM to QEMU; NOR rules (erase -> 0xFF, program only
 * clears bits and only erased units, OTP sector never erased) are enforced
 * by the flash HAL (flash_port.c), exactly as the simulator enforces them.
 */
#ifndef OTA_BOARD_H
#define OTA_BOARD_H

/* Flash device modelled on the PSRAM: 256 x 4 KiB sectors, 8-byte program
 * unit (an STM32L4/G4-like ECC flash), 1 MiB. */
#define BOARD_FLASH_BASE 0x21000000
#define BOARD_FLASH_SECTOR 4096
#define BOARD_FLASH_SECTORS 256
#define BOARD_FLASH_PROG 8
#define BOARD_FLASH_SIZE (BOARD_FLASH_SECTOR * BOARD_FLASH_SECTORS)
/* Size of the host file backing the whole PSRAM (QEMU wants exactly this). */
#define BOARD_PSRAM_SIZE 0x01000000

/* ota layout (docs/boot.md section 3): what ota_boot_layout_make() computes
 * for boot region BOARD_BOOT_SIZE and slots BOARD_SLOT_SIZE on this flash
 * (the host tool checks that it does). */
#define BOARD_BOOT_SIZE 0x10000  /* config block + bootloader code */
#define BOARD_SLOT_SIZE 0x70000  /* 448 KiB per slot */
#define BOARD_SLOT_A_OFF 0x10000
#define BOARD_SLOT_B_OFF 0x80000
#define BOARD_STATE_OFF 0xf0000
#define BOARD_OTP_OFF 0xff000
/* The device's identity block for SMP's ota group (device id + trusted
 * manifest key, docs/smp.md), written at the factory into the last sector
 * before OTP, which the ota layout leaves unused. */
#define BOARD_IDENTITY_OFF 0xfe000

/* The bootloader's code starts right after the 256-byte config block; its
 * vector table must be aligned to 256 bytes (VTOR, <= 64 vectors). */
#define BOARD_BOOT_CODE_OFF 0x100

/* Images are signed with `ota sign -H 0x200`: the app's vector table sits
 * 512 bytes into its slot. Apps are linked per slot (direct-XIP). */
#define BOARD_IMAGE_HDR_SIZE 0x200

/* Boot ROM (stage 0) in SSRAM1. */
#define BOARD_ROM_BASE 0x00000000
#define BOARD_ROM_SIZE 0x00040000

/* RAM: the first 256 bytes hold the bootloader -> app handoff (handoff.h);
 * every program (ROM, bootloader, app) uses the rest, one after another. */
#define BOARD_RAM_BASE 0x20000000
#define BOARD_HANDOFF_SIZE 0x100
#define BOARD_RAM_SIZE 0x00020000 /* 128 KiB: a mid-size Cortex-M part */

/* Peripherals. */
#define BOARD_UART0 0x40004000
#define BOARD_UART1 0x40005000 /* SMP (smp_uart.c; QEMU's serial1) */
#define BOARD_TIMER0 0x40000000
#define BOARD_WATCHDOG 0x40008000
/* Trial images run under the watchdog: NMI after this, reset after twice. */
#define BOARD_TRIAL_WATCHDOG_MS 1000
#define BOARD_SYSCLK_HZ 25000000 /* timer clock of the AN385 (25 MHz) */

#endif

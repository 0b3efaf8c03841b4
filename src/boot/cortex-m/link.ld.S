/* SPDX-License-Identifier: Apache-2.0 */
/*
 * link.ld.S - the one linker script of the Cortex-M port, run through the C
 * preprocessor with IMAGE_ORIGIN / IMAGE_LENGTH (where the program's code
 * lives: boot ROM, bootloader region after the config block, or one slot
 * after the image header) and STACK_SIZE. RAM is shared: each program owns
 * it while it runs (the first BOARD_HANDOFF_SIZE bytes excepted).
 */
#include "board.h"

MEMORY
{
    FLASH (rx) : ORIGIN = IMAGE_ORIGIN, LENGTH = IMAGE_LENGTH
    RAM (rwx)  : ORIGIN = BOARD_RAM_BASE + BOARD_HANDOFF_SIZE,
                 LENGTH = BOARD_RAM_SIZE - BOARD_HANDOFF_SIZE
}

ENTRY(Reset_Handler)

SECTIONS
{
    .isr_vector :
    {
        KEEP(*(.isr_vector))
    } > FLASH

    .text :
    {
        *(.text .text.*)
        *(.rodata .rodata.*)
        . = ALIGN(4);
    } > FLASH

    .ARM.exidx :
    {
        *(.ARM.exidx .ARM.exidx.* .gnu.linkonce.armexidx.*)
    } > FLASH

    .data :
    {
        . = ALIGN(4);
        _sdata = .;
        *(.data .data.*)
        . = ALIGN(4);
        _edata = .;
    } > RAM AT > FLASH
    _sidata = LOADADDR(.data);

    .bss (NOLOAD) :
    {
        . = ALIGN(4);
        _sbss = .;
        *(.bss .bss.* COMMON)
        . = ALIGN(4);
        _ebss = .;
    } > RAM

    .stack (NOLOAD) :
    {
        . = ALIGN(8);
        _sstack = .;
        . = . + STACK_SIZE;
        _estack = .;
    } > RAM

    _image_end = LOADADDR(.data) + SIZEOF(.data);

    /DISCARD/ : { *(.ARM.attributes.discard) }
}

// SPDX-License-Identifier: Apache-2.0
/*
 * crypto_heap.c - mbedTLS's buffer allocator over a static array, painted so
 * the high-water mark can be read back after a boot. The allocator zeroes
 * its buffer at init and keeps its bookkeeping in block headers inside the
 * buffer, so the paint is applied after init to everything past the first
 * (free-block) header: bytes the allocator never handed out keep it.
 */
#include "crypto_heap.h"

#include <mbedtls/memory_buffer_alloc.h>

#include "console.h"
#include "semihost.h"

#define HEAP_PAINT 0xa5u
#define HEAP_HEADER_MAX 64u /* > sizeof(memory_header) without backtraces */

static unsigned char heap[OTA_PORT_CRYPTO_HEAP_SIZE] __attribute__((aligned(8)));

void crypto_heap_init(void)
{
    uint32_t i;
    mbedtls_memory_buffer_alloc_init(heap, sizeof heap);
    for (i = HEAP_HEADER_MAX; i < sizeof heap; i++)
        heap[i] = HEAP_PAINT;
}

uint32_t crypto_heap_highwater(void)
{
    uint32_t n = sizeof heap;
    while (n > HEAP_HEADER_MAX && heap[n - 1] == HEAP_PAINT)
        n--;
    return n;
}

/* mbedtls_exit() of the allocator (heap corruption detected): a device
 * cannot continue; it reports and stops (a real port would reset). */
void crypto_heap_panic(int status)
{
    console_puts("FAULT: mbedtls heap corruption (");
    console_putu((uint32_t)status);
    console_puts(")\n");
    semihost_exit(0);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * crypto_heap.h - the only heap on the device: a static buffer handed to
 * mbedTLS's memory_buffer_alloc for its bignum/ECP temporaries. ota's own
 * code never allocates; mbedTLS never reaches libc malloc (the config sets
 * MBEDTLS_PLATFORM_NO_STD_FUNCTIONS and the link has no malloc).
 */
#ifndef OTA_PORT_CRYPTO_HEAP_H
#define OTA_PORT_CRYPTO_HEAP_H

#include <stdint.h>

#ifndef OTA_PORT_CRYPTO_HEAP_SIZE
#define OTA_PORT_CRYPTO_HEAP_SIZE 6144
#endif

void crypto_heap_init(void);
/* Highest byte of the heap ever used (the allocator is first-fit from the
 * start of the buffer; the unused tail keeps its paint). */
uint32_t crypto_heap_highwater(void);
/* MBEDTLS_PLATFORM_EXIT_MACRO (declared in mbedtls_config.h too). */
void crypto_heap_panic(int status);

#endif

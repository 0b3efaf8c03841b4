// SPDX-License-Identifier: Apache-2.0
/*
 * mbedtls_config.h - the mbedTLS 2.28 configuration of ota's MCU port
 * (MBEDTLS_CONFIG_FILE): exactly what the core's crypto port needs, SHA-256
 * and ECDSA P-256 verification, and nothing that touches an OS:
 *   - no libc allocation: MBEDTLS_PLATFORM_MEMORY + NO_STD_FUNCTIONS, and
 *     memory_buffer_alloc over a static buffer (crypto_heap.c);
 *   - no entropy, no file system, no time;
 *   - ECP_NO_INTERNAL_RNG: verification handles public data only, so the
 *     scalar-multiplication blinding RNG (and its DRBG code) is not needed;
 *   - small ECP window and no fixed-point tables: a few KiB of heap.
 * Built from Debian's own mbedtls source package (fetch_mbedtls.sh), the
 * same version the host links.
 */
#ifndef OTA_MBEDTLS_CONFIG_H
#define OTA_MBEDTLS_CONFIG_H

/* System */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
/* The allocator stops the program on heap corruption: no libc exit() here,
 * the port reports and halts (crypto_heap.c). */
void crypto_heap_panic(int status);
#define MBEDTLS_PLATFORM_EXIT_MACRO crypto_heap_panic

/* SHA-256 (image and bootloader-region hashes) */
#define MBEDTLS_SHA256_C

/* ECDSA P-256 verification */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_NO_INTERNAL_RNG
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C /* required by ECDSA_C's config check; unused code is dropped at link */

/* Size/RAM trade-offs */
#define MBEDTLS_MPI_WINDOW_SIZE 1
#define MBEDTLS_MPI_MAX_SIZE 32
#define MBEDTLS_ECP_MAX_BITS 256
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0

#include "mbedtls/check_config.h"

#endif

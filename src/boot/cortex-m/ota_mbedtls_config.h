// SPDX-License-Identifier: Apache-2.0
/*
 * ota_mbedtls_config.h - the mbedTLS 3.6 configuration of ota's MCU port
 * (MBEDTLS_CONFIG_FILE; not named mbedtls_config.h, which is the name of
 * mbedTLS's own default configuration next to build_info.h). The port needs
 * exactly two primitives and compiles three files of the source package:
 *   - library/sha256.c: SHA-256, MBEDTLS_SHA256_SMALLER (a rolled loop:
 *     ~1 KiB of code instead of ~2.5 KiB, a few % slower per byte);
 *   - 3rdparty/p256-m/p256-m/p256-m.c: ECDSA P-256 verification. p256-m is
 *     the small P-256 implementation mbedTLS 3.6 bundles as its PSA driver;
 *     MBEDTLS_PSA_P256M_DRIVER_ENABLED compiles it, and the port calls its
 *     own API (p256_ecdsa_verify) directly instead of through PSA, whose core
 *     would cost more than the whole bootloader (crypto_p256m.c);
 *   - library/platform_util.c: mbedtls_platform_zeroize.
 * No bignum, ECP, ASN.1, allocator, entropy, file system or time: p256-m
 * works on fixed-size arrays on the stack, so the port has no crypto heap.
 * Built from Debian trixie's mbedtls source package (fetch_mbedtls.sh).
 */
#ifndef OTA_MBEDTLS_CONFIG_H
#define OTA_MBEDTLS_CONFIG_H

#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_PSA_P256M_DRIVER_ENABLED

#endif

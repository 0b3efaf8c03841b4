// SPDX-License-Identifier: Apache-2.0
/*
 * tests/test.h - the minimal unit-test harness every C test uses.
 *
 * A test binary defines test functions, lists them in main() with RUN(), and
 * returns test_summary(). CHECK keeps going after a failure (so one run shows
 * every broken case); REQUIRE stops the current test. The closing line is
 * "N passed, N failed" so CI tooling can read it.
 */
#ifndef OTA_TEST_H
#define OTA_TEST_H

#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>

static int test_checks_failed_;
static int test_current_failed_;
static int test_passed_;
static int test_failed_;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            test_checks_failed_++;                                             \
            test_current_failed_ = 1;                                          \
        }                                                                      \
    } while (0)

#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                    \
            test_checks_failed_++;                                             \
            test_current_failed_ = 1;                                          \
            return;                                                            \
        }                                                                      \
    } while (0)

/* Compare two integer-valued expressions and print both on mismatch. */
#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        if (va_ != vb_) {                                                      \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n",\
                    __FILE__, __LINE__, #a, #b, va_, vb_);                     \
            test_checks_failed_++;                                             \
            test_current_failed_ = 1;                                          \
        }                                                                      \
    } while (0)

#define RUN(fn)                                                                \
    do {                                                                       \
        test_current_failed_ = 0;                                              \
        fn();                                                                  \
        if (test_current_failed_) {                                            \
            test_failed_++;                                                    \
            fprintf(stderr, "FAIL %s\n", #fn);                                 \
        } else {                                                               \
            test_passed_++;                                                    \
            printf("ok   %s\n", #fn);                                          \
        }                                                                      \
    } while (0)

static inline int test_summary(void)
{
    printf("%d passed, %d failed\n", test_passed_, test_failed_);
    return test_failed_ ? 1 : 0;
}

#endif

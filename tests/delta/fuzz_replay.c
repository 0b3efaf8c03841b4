// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/fuzz_replay.c - runs fuzz/fuzz_delta.c's harness over every
 * file of fuzz/corpus/delta in the normal (and ASan) test build, without
 * libFuzzer: the seeds and every regression input found by fuzzing (e.g.
 * regress-feed-hang, an input that once made ota_delta_apply_feed loop
 * forever) are replayed by ctest on each run. A trap or a sanitizer report
 * fails the test; a hang trips the ctest timeout.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 2;
    }
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static unsigned char buf[1 << 20];
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        printf("ok   %s\n", e->d_name);
        n++;
    }
    closedir(d);
    printf("%d passed, 0 failed\n", n);
    return n > 0 ? 0 : 1;
}

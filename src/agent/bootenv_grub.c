// SPDX-License-Identifier: Apache-2.0
/*
 * bootenv_grub.c - the GRUB environment block (grubenv) through Debian's
 * grub-editenv program, as RAUC does: `grub-editenv FILE list` to read,
 * `grub-editenv FILE set NAME=VALUE ...` to write (one call per change, so
 * the variables of one change land together). Run with fork/execvp and an
 * argument vector: no shell ever sees a value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux.h"

#define GRUB_ENV_MAX 8192 /* the block is 1024 bytes; list output is smaller */

/* Run argv; capture up to cap-1 bytes of stdout into out (may be NULL).
 * stderr is captured too, for the error message. */
static ota_err run(char *const *argv, char *out, size_t cap, char *err, size_t errlen)
{
    int po[2], pe[2], status;
    char ebuf[512];
    size_t olen = 0, elen = 0;
    pid_t pid;

    if (pipe(po) != 0 || pipe(pe) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return OTA_ERR_BOOTENV;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
        return OTA_ERR_BOOTENV;
    }
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    /* Outputs are small: read stdout to the end, then stderr. */
    for (;;) {
        char tmp[1024];
        ssize_t n = read(po[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out && olen + (size_t)n < cap) {
            memcpy(out + olen, tmp, (size_t)n);
            olen += (size_t)n;
        }
    }
    for (;;) {
        ssize_t n = read(pe[0], ebuf + elen, sizeof ebuf - 1 - elen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        elen += (size_t)n;
    }
    ebuf[elen] = 0;
    while (elen && (ebuf[elen - 1] == '\n' || ebuf[elen - 1] == '\r'))
        ebuf[--elen] = 0;
    close(po[0]);
    close(pe[0]);
    if (out)
        out[olen] = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errlen, "waitpid: %s", strerror(errno));
            return OTA_ERR_BOOTENV;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "%s %s %s: exit status %d%s%s", argv[0], argv[1], argv[2],
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1, elen ? ": " : "", ebuf);
        return OTA_ERR_BOOTENV;
    }
    return OTA_OK;
}

ota_err bootenv_grub_get(const struct agent_linux_config *c, const char *name, char *out,
                         size_t cap, int *found, char *err, size_t errlen)
{
    char *argv[] = {(char *)c->grub_editenv, (char *)c->grubenv, "list", NULL};
    char *buf = malloc(GRUB_ENV_MAX), *line, *save = NULL;
    size_t nl = strlen(name);
    ota_err e;

    *found = 0;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return OTA_ERR_NO_MEMORY;
    }
    e = run(argv, buf, GRUB_ENV_MAX, err, errlen);
    for (line = e ? NULL : strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, name, nl) && line[nl] == '=') {
            snprintf(out, cap, "%s", line + nl + 1);
            *found = 1;
        }
    }
    free(buf);
    return e;
}

ota_err bootenv_grub_set(const struct agent_linux_config *c, const char *const *kv, size_t n,
                         char *err, size_t errlen)
{
    char *argv[3 + 16 + 1];
    char pairs[16][128];
    size_t i;

    if (n > 16) {
        snprintf(err, errlen, "too many variables at once");
        return OTA_ERR_INTERNAL;
    }
    argv[0] = (char *)c->grub_editenv;
    argv[1] = (char *)c->grubenv;
    argv[2] = "set";
    for (i = 0; i < n; i++) {
        snprintf(pairs[i], sizeof pairs[i], "%s=%s", kv[2 * i], kv[2 * i + 1]);
        argv[3 + i] = pairs[i];
    }
    argv[3 + n] = NULL;
    return run(argv, NULL, 0, err, errlen);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/file.c - whole-file read (or read-only mapping), crash-safe file
 * write, and a reader over a file descriptor.
 *
 * Why it exists: host tools must never leave a half-written image or key
 * behind (write to a temporary, fsync, rename), and the core's streaming
 * verifier reads files through the same struct ota_reader it uses for flash.
 * On failure errno is left describing the cause so callers can report it.
 */
#include "ota/host.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

ota_err ota_file_read(const char *path, uint8_t **data, size_t *len)
{
    int fd, saved;
    struct stat st;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;

    if (!path || !data || !len) {
        errno = EINVAL;
        return OTA_ERR_INVALID_ARG;
    }
    *data = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return OTA_ERR_FILE;
    if (fstat(fd, &st) != 0)
        goto fail;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    /* Regular files: one allocation; pipes and devices: grow as we go. */
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
    buf = malloc(cap);
    if (!buf)
        goto fail;
    for (;;) {
        ssize_t r;
        if (n == cap) {
            uint8_t *nb;
            if (cap > ((size_t)-1) / 2) {
                errno = EFBIG;
                goto fail;
            }
            nb = realloc(buf, cap * 2);
            if (!nb)
                goto fail;
            buf = nb;
            cap *= 2;
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = n;
    return OTA_OK;
fail:
    saved = errno;
    free(buf);
    close(fd);
    errno = saved;
    return OTA_ERR_FILE;
}

ota_err ota_file_map(const char *path, struct ota_file_map *m)
{
    struct stat st;
    memset(m, 0, sizeof(*m));
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return path ? OTA_ERR_FILE : OTA_ERR_INVALID_ARG;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > (size_t)-1) {
        close(fd);
        return ota_file_read(path, &m->data, &m->len);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (p == MAP_FAILED) {
        errno = saved;
        return saved == ENOMEM ? OTA_ERR_NO_MEMORY : OTA_ERR_FILE;
    }
    m->data = p;
    m->len = (size_t)st.st_size;
    m->mapped = 1;
    return OTA_OK;
}

void ota_file_map_drop(struct ota_file_map *m)
{
    /* a private read-only mapping: dropped pages are read from the file
     * again if touched (the bytes never change) */
    if (m->mapped)
        (void)madvise(m->data, m->len, MADV_DONTNEED);
}

void ota_file_unmap(struct ota_file_map *m)
{
    if (m->mapped)
        munmap(m->data, m->len);
    else
        free(m->data);
    memset(m, 0, sizeof(*m));
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync the directory holding path so the rename itself is durable. */
static void sync_parent_dir(const char *path)
{
    char *copy = strdup(path);
    int dfd;
    if (!copy)
        return;
    dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

int ota_file_tmp_open(const char *path, unsigned mode, char **tmp)
{
    size_t plen = strlen(path);
    int fd, saved;
    *tmp = malloc(plen + 32);
    if (!*tmp)
        return -1;
    snprintf(*tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    fd = open(*tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        goto fail;
    /* The umask may have widened nothing but may have narrowed; set exactly. */
    if (fchmod(fd, (mode_t)mode) == 0)
        return fd;
    saved = errno;
    close(fd);
    unlink(*tmp);
    errno = saved;
fail:
    saved = errno;
    free(*tmp);
    *tmp = NULL;
    errno = saved;
    return -1;
}

int ota_file_tmp_commit(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    sync_parent_dir(path);
    return 0;
}

ota_err ota_file_write_atomic_mode(const char *path, const void *data, size_t len,
                                   unsigned mode)
{
    char *tmp;
    int fd, saved;

    if (!path || (!data && len)) {
        errno = EINVAL;
        return OTA_ERR_INVALID_ARG;
    }
    fd = ota_file_tmp_open(path, mode, &tmp);
    if (fd < 0)
        return errno == ENOMEM ? OTA_ERR_NO_MEMORY : OTA_ERR_FILE;
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        saved = errno;
        close(fd);
        unlink(tmp);
        errno = saved;
        goto fail;
    }
    if (close(fd) != 0) {
        saved = errno;
        unlink(tmp);
        errno = saved;
        goto fail;
    }
    if (ota_file_tmp_commit(tmp, path) != 0)
        goto fail;
    free(tmp);
    return OTA_OK;
fail:
    saved = errno;
    free(tmp);
    errno = saved;
    return OTA_ERR_FILE;
}

ota_err ota_file_write_atomic(const char *path, const void *data, size_t len)
{
    return ota_file_write_atomic_mode(path, data, len, 0644);
}

static ota_err pread_all(int fd, uint8_t *p, size_t len, uint32_t off)
{
    while (len) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return OTA_ERR_IO;
        }
        if (r == 0) /* file shrank under us */
            return OTA_ERR_IO;
        p += r;
        off += (uint32_t)r;
        len -= (size_t)r;
    }
    return OTA_OK;
}

static ota_err fd_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    struct ota_fd_reader *f = ctx;
    return pread_all(f->fd, buf, len, off);
}

static ota_err fd_read_buffered(void *ctx, uint32_t off, void *buf, size_t len)
{
    struct ota_fd_reader_buf *f = ctx;
    if (len > f->cap)
        return pread_all(f->fd, buf, len, off);
    uint64_t end = (uint64_t)f->base + f->len;
    if (off < f->base || (uint64_t)off + len > end) {
        /* A miss. Continuing the window: read ahead twice as much as last
         * time (up to cap); a jump elsewhere (a seek of the patch): 16 KiB,
         * as the run there may be short. From the page holding off on. */
        int seq = f->len && off >= f->base && off <= end + 4096u;
        size_t want = seq ? (f->want < f->cap / 2u ? 2u * f->want : f->cap) : 16384u;
        if (want < len + 4096u)
            want = len + 4096u;
        if (want > f->cap)
            want = f->cap;
        uint32_t start = off & ~(uint32_t)4095u;
        if (off - start + len > want)
            start = off;
        size_t n = f->size - start < want ? f->size - start : want;
        f->len = 0;
        ota_err e = pread_all(f->fd, f->buf, n, start);
        if (e != OTA_OK)
            return e;
        f->base = start;
        f->len = n;
        f->want = want;
    }
    memcpy(buf, f->buf + (off - f->base), len);
    return OTA_OK;
}

void ota_reader_from_fd_buffered(struct ota_reader *r, struct ota_fd_reader_buf *f, int fd,
                                 uint32_t size, uint8_t *buf, size_t cap)
{
    memset(f, 0, sizeof(*f));
    f->fd = fd;
    f->buf = buf;
    f->cap = cap;
    f->size = size;
    r->read = fd_read_buffered;
    r->ctx = f;
    r->size = size;
}

void ota_reader_from_fd(struct ota_reader *r, struct ota_fd_reader *f, int fd,
                        uint32_t size)
{
    f->fd = fd;
    r->read = fd_read;
    r->ctx = f;
    r->size = size;
}

/*
 * mapped_file.c -- mmap of checkpoint files and whole-file reads.
 *
 * Maps are PROT_READ and MAP_PRIVATE: nothing in the library can write to a
 * user's checkpoint, and pages stay shared with the page cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mapped_file.h"

rt5_status rt5__mapped_file_open(const char *path, rt5__mapped_file *out, rt5__errmsg *err)
{
    out->data = NULL;
    out->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rt5__fail(err, RT5_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return rt5__fail(err, RT5_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return RT5_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (p == MAP_FAILED)
        return rt5__fail(err, RT5_ERR_IO, "%s: cannot map: %s", path, strerror(saved));
    out->data = p;
    out->size = (size_t)st.st_size;
    return RT5_OK;
}

void rt5__mapped_file_close(rt5__mapped_file *file)
{
    if (file && file->data)
        munmap((void *)file->data, file->size);
    if (file) {
        file->data = NULL;
        file->size = 0;
    }
}

rt5_status rt5__read_file(const char *path, uint8_t **out, size_t *size, rt5__errmsg *err)
{
    *out = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return rt5__fail(err, RT5_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap + 1);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        uint8_t *grown = cap <= SIZE_MAX / 4 ? realloc(buf, cap * 2 + 1) : NULL;
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "%s: out of memory reading file", path);
    if (failed) {
        free(buf);
        return rt5__fail(err, RT5_ERR_IO, "%s: read error", path);
    }
    buf[len] = 0;
    *out = buf;
    *size = len;
    return RT5_OK;
}

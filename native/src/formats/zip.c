/*
 * zip.c -- the central directory of a stored ZIP archive, read in place.
 *
 * torch.save writes every entry uncompressed, with zero sizes and CRC in the
 * local headers (flag bit 3: a data descriptor follows the data), so sizes
 * come from the central directory only. Archives over 4 GiB use ZIP64: the
 * end record points to a ZIP64 end record, and entries whose offset or size
 * does not fit 32 bits carry them in a ZIP64 extra field (id 0x0001).
 *
 * Layout read here (all little-endian):
 *   [local header 30 B + name + extra][data] ... [central directory]
 *   [ZIP64 end record 56 B][ZIP64 locator 20 B][end record 22 B + comment]
 * The file is untrusted: each offset is checked against the buffer, each
 * entry's extent [local header, end of data) must lie before the central
 * directory and may not overlap another entry's.
 */
#include <stdlib.h>
#include <string.h>

#include "formats/zip.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

#define LOCAL_HEADER_SIZE 30u
#define CENTRAL_HEADER_SIZE 46u
#define END_SIZE 22u
#define END64_SIZE 56u
#define LOCATOR64_SIZE 20u

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

/* True when [off, off+len) lies inside [0, size). */
static bool in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* Where the central directory is, from the end records. */
typedef struct cd_location {
    uint64_t offset;   /* first central header                           */
    uint64_t size;     /* bytes of central directory                     */
    uint64_t n;        /* number of entries                              */
    uint64_t limit;    /* the directory must end here (the end records)  */
} cd_location;

/* The end-of-central-directory record is the last 22 bytes plus a comment
 * of up to 65535 bytes: scan backwards for its signature. */
static rt5_status find_end_record(const uint8_t *b, size_t size, uint64_t *out, rt5__errmsg *err)
{
    if (size < END_SIZE)
        return rt5__fail(err, RT5_ERR_FORMAT, "not a ZIP archive: %zu bytes is too short", size);
    size_t lowest = size - END_SIZE > 65535 ? size - END_SIZE - 65535 : 0;
    for (size_t at = size - END_SIZE + 1; at-- > lowest;) {
        if (rd32(b + at) == SIG_END && at + END_SIZE + rd16(b + at + 20) == size) {
            *out = at;
            return RT5_OK;
        }
    }
    return rt5__fail(err, RT5_ERR_FORMAT,
                     "not a ZIP archive or truncated: no end-of-central-directory record");
}

static rt5_status read_end64(const uint8_t *b, size_t size, uint64_t end_at, cd_location *cd,
                             rt5__errmsg *err)
{
    if (end_at < LOCATOR64_SIZE || rd32(b + end_at - LOCATOR64_SIZE) != SIG_LOCATOR64)
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP end record needs ZIP64 but has no ZIP64 locator");
    const uint8_t *loc = b + end_at - LOCATOR64_SIZE;
    uint64_t at = rd64(loc + 8);
    if (rd32(loc + 16) > 1)
        return rt5__fail(err, RT5_ERR_UNSUPPORTED, "multi-disk ZIP archives are not supported");
    if (!in_bounds(at, END64_SIZE, end_at - LOCATOR64_SIZE) || rd32(b + at) != SIG_END64)
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP64 locator points to offset %llu, outside the file "
                         "or not at a ZIP64 end record", (unsigned long long)at);
    const uint8_t *e = b + at;
    if (rd32(e + 16) != 0 || rd32(e + 20) != 0 || rd64(e + 24) != rd64(e + 32))
        return rt5__fail(err, RT5_ERR_UNSUPPORTED, "multi-disk ZIP archives are not supported");
    cd->n = rd64(e + 32);
    cd->size = rd64(e + 40);
    cd->offset = rd64(e + 48);
    cd->limit = at;
    return RT5_OK;
}

static rt5_status locate_directory(const uint8_t *b, size_t size, cd_location *cd, rt5__errmsg *err)
{
    uint64_t end_at = 0;
    rt5_status st = find_end_record(b, size, &end_at, err);
    if (st != RT5_OK)
        return st;
    const uint8_t *e = b + end_at;
    uint16_t disk = rd16(e + 4), cd_disk = rd16(e + 6), n_disk = rd16(e + 8), n = rd16(e + 10);
    uint32_t cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    if (n == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu || disk == 0xFFFF)
        st = read_end64(b, size, end_at, cd, err);
    else if ((disk != 0 || cd_disk != 0 || n_disk != n))
        st = rt5__fail(err, RT5_ERR_UNSUPPORTED, "multi-disk ZIP archives are not supported");
    else
        *cd = (cd_location){cd_off, cd_size, n, end_at};
    if (st != RT5_OK)
        return st;
    if (!in_bounds(cd->offset, cd->size, cd->limit))
        return rt5__fail(err, RT5_ERR_FORMAT,
                         "ZIP central directory [%llu, +%llu) lies outside the file (%zu bytes)",
                         (unsigned long long)cd->offset, (unsigned long long)cd->size, size);
    if (cd->n > cd->size / CENTRAL_HEADER_SIZE)
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP end record claims %llu entries in a %llu-byte "
                         "central directory", (unsigned long long)cd->n, (unsigned long long)cd->size);
    return RT5_OK;
}

/* Applies the ZIP64 extra field: each 0xFFFFFFFF field of the central
 * header is replaced, in the order usize, csize, offset, by 8 bytes. */
static rt5_status apply_zip64_extra(const uint8_t *extra, size_t len, uint64_t *usize,
                                    uint64_t *csize, uint64_t *offset, rt5__errmsg *err)
{
    bool need_u = *usize == 0xFFFFFFFFu, need_c = *csize == 0xFFFFFFFFu,
         need_o = *offset == 0xFFFFFFFFu;
    while (len >= 4) {
        uint16_t id = rd16(extra), n = rd16(extra + 2);
        if (n > len - 4)
            return rt5__fail(err, RT5_ERR_FORMAT, "ZIP extra field overruns its header");
        if (id == 0x0001) {
            const uint8_t *p = extra + 4;
            size_t left = n;
            uint64_t *fields[3] = {need_u ? usize : NULL, need_c ? csize : NULL, need_o ? offset : NULL};
            for (int i = 0; i < 3; i++) {
                if (!fields[i])
                    continue;
                if (left < 8)
                    return rt5__fail(err, RT5_ERR_FORMAT, "ZIP64 extra field too short");
                *fields[i] = rd64(p);
                p += 8;
                left -= 8;
            }
            return RT5_OK;
        }
        extra += 4 + n;
        len -= 4 + (size_t)n;
    }
    if (need_u || need_c || need_o)
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP entry needs a ZIP64 extra field but has none");
    return RT5_OK;
}

/* Follows the local header of one entry to its data; returns the end of
 * the entry's data in *end. */
static rt5_status locate_data(const uint8_t *b, const cd_location *cd, rt5__zip_entry *entry,
                              size_t name_len, uint64_t *end, rt5__errmsg *err)
{
    uint64_t at = entry->header_offset;
    if (!in_bounds(at, LOCAL_HEADER_SIZE, cd->offset) || rd32(b + at) != SIG_LOCAL)
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP entry '%s': local header offset %llu is outside "
                         "the file or not a local header", entry->name, (unsigned long long)at);
    const uint8_t *h = b + at;
    uint64_t data_at = at + LOCAL_HEADER_SIZE + rd16(h + 26) + rd16(h + 28);
    if (rd16(h + 26) != name_len || !in_bounds(at + LOCAL_HEADER_SIZE, name_len, cd->offset) ||
        memcmp(h + LOCAL_HEADER_SIZE, entry->name, name_len) != 0)
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP entry '%s': local header names another entry",
                         entry->name);
    if (rd16(h + 8) != 0)
        return rt5__fail(err, RT5_ERR_UNSUPPORTED, "ZIP entry '%s' is compressed in its local "
                         "header", entry->name);
    if (!in_bounds(data_at, entry->size, cd->offset))
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP entry '%s': %llu bytes at offset %llu run past "
                         "the data area (%llu bytes)", entry->name, (unsigned long long)entry->size,
                         (unsigned long long)data_at, (unsigned long long)cd->offset);
    entry->data = b + data_at;
    *end = data_at + entry->size;
    return RT5_OK;
}

/* Parses the central header at *pos into entry and advances *pos. */
static rt5_status read_central(const uint8_t *b, const cd_location *cd, uint64_t *pos,
                               rt5__zip_entry *entry, uint64_t *end, rt5__errmsg *err)
{
    uint64_t cd_end = cd->offset + cd->size;
    if (!in_bounds(*pos, CENTRAL_HEADER_SIZE, cd_end) || rd32(b + *pos) != SIG_CENTRAL)
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP central directory is corrupt at offset %llu",
                         (unsigned long long)*pos);
    const uint8_t *h = b + *pos;
    uint16_t flags = rd16(h + 8), method = rd16(h + 10);
    size_t name_len = rd16(h + 28), extra_len = rd16(h + 30), comment_len = rd16(h + 32);
    uint64_t total = CENTRAL_HEADER_SIZE + name_len + extra_len + comment_len;
    if (!in_bounds(*pos, total, cd_end))
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP central header at %llu overruns the directory",
                         (unsigned long long)*pos);
    entry->name = malloc(name_len + 1);
    if (!entry->name)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory reading ZIP directory");
    memcpy(entry->name, h + CENTRAL_HEADER_SIZE, name_len);
    entry->name[name_len] = 0;
    if (memchr(entry->name, 0, name_len))
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP entry name contains a NUL byte");
    if (flags & 0x0001)
        return rt5__fail(err, RT5_ERR_UNSUPPORTED, "ZIP entry '%s' is encrypted", entry->name);
    if (method != 0)
        return rt5__fail(err, RT5_ERR_UNSUPPORTED, "ZIP entry '%s' is compressed (method %u); "
                         "torch.save writes stored entries only", entry->name, method);
    uint64_t csize = rd32(h + 20), usize = rd32(h + 24);
    entry->crc32 = rd32(h + 16);
    entry->header_offset = rd32(h + 42);
    rt5_status st = apply_zip64_extra(h + CENTRAL_HEADER_SIZE + name_len, extra_len, &usize,
                                      &csize, &entry->header_offset, err);
    if (st != RT5_OK)
        return st;
    if (csize != usize)
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP entry '%s' is stored but its sizes differ "
                         "(%llu vs %llu)", entry->name, (unsigned long long)csize,
                         (unsigned long long)usize);
    entry->size = usize;
    *pos += total;
    return locate_data(b, cd, entry, name_len, end, err);
}

typedef struct extent {
    uint64_t begin, end;
    size_t index;
} extent;

static int extent_cmp(const void *a, const void *b)
{
    const extent *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* No two entries may share bytes, and no two may share a name. */
static rt5_status check_disjoint(const rt5__zip *zip, extent *ext, rt5__errmsg *err)
{
    qsort(ext, zip->n_entries, sizeof *ext, extent_cmp);
    for (size_t i = 1; i < zip->n_entries; i++)
        if (ext[i].begin < ext[i - 1].end)
            return rt5__fail(err, RT5_ERR_FORMAT, "ZIP entries '%s' and '%s' overlap",
                             zip->entries[ext[i - 1].index].name, zip->entries[ext[i].index].name);
    char **names = malloc(zip->n_entries * sizeof *names + 1);
    if (!names)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory reading ZIP directory");
    for (size_t i = 0; i < zip->n_entries; i++)
        names[i] = zip->entries[i].name;
    qsort(names, zip->n_entries, sizeof *names, name_cmp);
    rt5_status st = RT5_OK;
    for (size_t i = 1; i < zip->n_entries && st == RT5_OK; i++)
        if (strcmp(names[i], names[i - 1]) == 0)
            st = rt5__fail(err, RT5_ERR_FORMAT, "ZIP entry '%s' appears twice", names[i]);
    free(names);
    return st;
}

static rt5_status read_directory(const uint8_t *b, const cd_location *cd, rt5__zip *zip,
                                 extent *ext, rt5__errmsg *err)
{
    uint64_t pos = cd->offset;
    for (size_t i = 0; i < cd->n; i++) {
        uint64_t end = 0;
        zip->n_entries = i + 1;
        rt5_status st = read_central(b, cd, &pos, &zip->entries[i], &end, err);
        if (st != RT5_OK)
            return st;
        ext[i] = (extent){zip->entries[i].header_offset, end, i};
    }
    return check_disjoint(zip, ext, err);
}

rt5_status rt5__zip_open(const uint8_t *bytes, size_t size, rt5__zip *zip, rt5__errmsg *err)
{
    memset(zip, 0, sizeof *zip);
    cd_location cd = {0};
    rt5_status st = locate_directory(bytes, size, &cd, err);
    if (st != RT5_OK)
        return st;
    /* cd.n <= cd.size / 46 <= size / 46, so these cannot overflow. */
    zip->entries = calloc(cd.n + 1, sizeof *zip->entries);
    extent *ext = calloc(cd.n + 1, sizeof *ext);
    if (!zip->entries || !ext) {
        free(ext);
        rt5__zip_close(zip);
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory reading ZIP directory");
    }
    st = read_directory(bytes, &cd, zip, ext, err);
    free(ext);
    if (st != RT5_OK)
        rt5__zip_close(zip);
    return st;
}

void rt5__zip_close(rt5__zip *zip)
{
    if (!zip)
        return;
    for (size_t i = 0; i < zip->n_entries; i++)
        free(zip->entries[i].name);
    free(zip->entries);
    memset(zip, 0, sizeof *zip);
}

const rt5__zip_entry *rt5__zip_find(const rt5__zip *zip, const char *name)
{
    for (size_t i = 0; i < zip->n_entries; i++)
        if (strcmp(zip->entries[i].name, name) == 0)
            return &zip->entries[i];
    return NULL;
}

uint32_t rt5__zip_crc32(const uint8_t *bytes, size_t size)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++) {
        crc ^= bytes[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

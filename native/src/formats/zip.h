/*
 * zip.h -- a read-only view of a ZIP archive held in memory (a mapped file).
 *
 * Only what torch.save writes is supported: stored (uncompressed), not
 * encrypted, single-disk archives, ZIP64 included. Entry bytes are yielded in
 * place, as pointers into the caller's buffer, which must outlive the view.
 * Every offset read from the file is bounds-checked; entries may not overlap
 * each other nor the central directory.
 */
#ifndef RT5_FORMATS_ZIP_H
#define RT5_FORMATS_ZIP_H

#include "core/common.h"

typedef struct rt5__zip_entry {
    char *name;            /* NUL-terminated copy of the entry name          */
    const uint8_t *data;   /* first byte of the stored data, in the buffer   */
    uint64_t size;         /* bytes of data                                  */
    uint32_t crc32;        /* as recorded in the central directory           */
    uint64_t header_offset;/* offset of the local header in the archive      */
} rt5__zip_entry;

typedef struct rt5__zip {
    rt5__zip_entry *entries; /* in central-directory order                   */
    size_t n_entries;
} rt5__zip;

/* Reads the directory of the archive in bytes[0, size). Never reads outside
 * it. On failure *zip is empty and err says what is wrong and where. */
rt5_status rt5__zip_open(const uint8_t *bytes, size_t size, rt5__zip *zip, rt5__errmsg *err);
void rt5__zip_close(rt5__zip *zip);

/* The entry called name, or NULL. */
const rt5__zip_entry *rt5__zip_find(const rt5__zip *zip, const char *name);

/* CRC-32 (the ZIP polynomial) of bytes, to check small entries. */
uint32_t rt5__zip_crc32(const uint8_t *bytes, size_t size);

#endif /* RT5_FORMATS_ZIP_H */

/*
 * torch.c -- tensors of a torch.save zip archive, as views into the file.
 *
 * The archive holds <prefix>/data.pkl (the state dict, read by pickle.c),
 * one <prefix>/data/<key> entry per storage, and small entries (version,
 * byteorder). Each tensor the pickle describes becomes a view at
 * storage offset x element size inside its storage's entry, bounds-checked
 * against the entry's size. Views of one storage share a storage_id, so
 * tied weights (shared / embed_tokens) stay one piece of memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pickle.h"
#include "formats/tensor_set.h"
#include "formats/zip.h"

/* The prefix is everything before "/data.pkl" of the one entry that ends
 * so without a further '/' (torch uses the file stem or "archive"). */
static rt5_status find_pickle(const rt5__zip *zip, const rt5__zip_entry **pkl, size_t *prefix_len,
                              rt5__errmsg *err)
{
    *pkl = NULL;
    for (size_t i = 0; i < zip->n_entries; i++) {
        const char *name = zip->entries[i].name;
        const char *slash = strchr(name, '/');
        if (!slash || slash == name || strcmp(slash, "/data.pkl") != 0)
            continue;
        if (*pkl)
            return rt5__fail(err, RT5_ERR_FORMAT, "archive holds two pickles ('%s' and '%s')",
                             (*pkl)->name, name);
        *pkl = &zip->entries[i];
        *prefix_len = (size_t)(slash - name);
    }
    if (!*pkl)
        return rt5__fail(err, RT5_ERR_FORMAT, "ZIP archive is not a torch checkpoint: no "
                         "'<name>/data.pkl' entry");
    return RT5_OK;
}

/* torch records the writer's byte order; the loaders assume little-endian. */
static rt5_status check_byteorder(const rt5__zip *zip, const char *prefix, size_t prefix_len,
                                  rt5__errmsg *err)
{
    char name[512];
    snprintf(name, sizeof name, "%.*s/byteorder", (int)prefix_len, prefix);
    const rt5__zip_entry *e = rt5__zip_find(zip, name);
    if (e && !(e->size == 6 && memcmp(e->data, "little", 6) == 0))
        return rt5__fail(err, RT5_ERR_UNSUPPORTED, "checkpoint was written on a big-endian "
                         "machine; re-save it on a little-endian one");
    return RT5_OK;
}

/* A storage_id per distinct storage key: the index of the first tensor
 * that used it. */
static int32_t storage_id_for(const rt5__pickle_state_dict *sd, size_t upto, size_t base)
{
    for (size_t j = 0; j < upto; j++)
        if (strcmp(sd->tensors[j].storage_key, sd->tensors[upto].storage_key) == 0)
            return (int32_t)(base + j);
    return (int32_t)(base + upto);
}

static rt5_status add_tensor(rt5__tensor_set *set, const rt5__zip *zip, const char *prefix,
                             size_t prefix_len, const rt5__pickle_state_dict *sd, size_t i,
                             size_t base, rt5__errmsg *err)
{
    const rt5__pickle_tensor *t = &sd->tensors[i];
    char entry_name[512];
    int n = snprintf(entry_name, sizeof entry_name, "%.*s/data/%s", (int)prefix_len, prefix,
                     t->storage_key);
    const rt5__zip_entry *e = n > 0 && (size_t)n < sizeof entry_name ? rt5__zip_find(zip, entry_name)
                                                                      : NULL;
    if (!e)
        return rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': its storage '%.100s' is not in the "
                         "archive", t->name, t->storage_key);
    uint64_t esize = rt5__elem_size(t->type), declared;
    if (__builtin_mul_overflow((uint64_t)t->storage_numel, esize, &declared) || declared > e->size)
        return rt5__fail(err, RT5_ERR_FORMAT, "tensor '%s': storage '%s' declares %lld elements "
                         "of %s but its entry holds %llu bytes", t->name, t->storage_key,
                         (long long)t->storage_numel, rt5__elem_name(t->type),
                         (unsigned long long)e->size);
    rt5__tensor_view *v = rt5__tensor_set_add(set, t->name);
    if (!v)
        return rt5__fail(err, RT5_ERR_OUT_OF_MEMORY, "out of memory");
    v->type = t->type;
    v->n_dims = t->n_dims;
    memcpy(v->shape, t->shape, sizeof v->shape);
    memcpy(v->strides, t->strides, sizeof v->strides);
    v->storage_id = storage_id_for(sd, i, base);
    return rt5__tensor_view_place(v, e->data, declared, t->offset, err);
}

static rt5_status read_archive(rt5__tensor_set *set, const rt5__zip *zip, rt5__errmsg *err)
{
    const rt5__zip_entry *pkl = NULL;
    size_t prefix_len = 0;
    rt5_status st = find_pickle(zip, &pkl, &prefix_len, err);
    if (st != RT5_OK || (st = check_byteorder(zip, pkl->name, prefix_len, err)) != RT5_OK)
        return st;
    if (rt5__zip_crc32(pkl->data, pkl->size) != pkl->crc32)
        return rt5__fail(err, RT5_ERR_FORMAT, "'%s' fails its CRC check (corrupt download?)",
                         pkl->name);
    rt5__pickle_state_dict sd;
    st = rt5__pickle_read_state_dict(pkl->data, pkl->size, &sd, err);
    if (st != RT5_OK) {
        rt5__errmsg_prefix(err, "%s", pkl->name);
        return st;
    }
    size_t base = set->n_tensors;
    for (size_t i = 0; i < sd.n_tensors && st == RT5_OK; i++)
        st = add_tensor(set, zip, pkl->name, prefix_len, &sd, i, base, err);
    rt5__pickle_state_dict_free(&sd);
    return st;
}

rt5_status rt5__torch_read_memory(rt5__tensor_set *set, const uint8_t *bytes, size_t size,
                                  rt5__errmsg *err)
{
    rt5__zip zip;
    rt5_status st = rt5__zip_open(bytes, size, &zip, err);
    if (st != RT5_OK)
        return st;
    st = read_archive(set, &zip, err);
    rt5__zip_close(&zip);
    return st;
}

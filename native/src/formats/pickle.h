/*
 * pickle.h -- reads the data.pkl of a torch.save archive without running it.
 *
 * A state dict pickle is interpreted by a small stack machine that knows a
 * fixed allow-list of opcodes (those pickle protocol 2 emits for plain data)
 * and of globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * torch._utils._rebuild_parameter and the torch.<Type>Storage classes).
 * Calling a global only builds a description; nothing is imported or
 * executed. Anything else is refused with RT5_ERR_REFUSED and an error that
 * names the opcode or global and its byte offset.
 *
 * The result is the list of tensors of the top-level dict: name, storage
 * (the persistent id torch wrote: key, element type, size) and the
 * offset/shape/strides of the view, all in elements. The caller maps the
 * storage keys to bytes (native/src/formats/torch.c).
 */
#ifndef RT5_FORMATS_PICKLE_H
#define RT5_FORMATS_PICKLE_H

#include "formats/tensor_set.h"

typedef struct rt5__pickle_tensor {
    char *name;            /* the state-dict key, owned                  */
    char *storage_key;     /* the storage's key in the archive, owned    */
    rt5__elem_type type;   /* from the storage class                     */
    int64_t storage_numel; /* elements the persistent id declares        */
    int64_t offset;        /* storage offset of element 0, in elements   */
    int32_t n_dims;
    int64_t shape[RT5__MAX_DIMS];
    int64_t strides[RT5__MAX_DIMS];
} rt5__pickle_tensor;

typedef struct rt5__pickle_state_dict {
    rt5__pickle_tensor *tensors;
    size_t n_tensors;
    size_t n_skipped;      /* top-level values that were not tensors      */
} rt5__pickle_state_dict;

/* Interprets bytes[0, size) as a pickled dict of tensors. */
rt5_status rt5__pickle_read_state_dict(const uint8_t *bytes, size_t size,
                                       rt5__pickle_state_dict *out, rt5__errmsg *err);
void rt5__pickle_state_dict_free(rt5__pickle_state_dict *sd);

#endif /* RT5_FORMATS_PICKLE_H */

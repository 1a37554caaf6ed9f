/*
 * converted.h -- files written by rt5_model_save: a model's weights as the
 * forward pass uses them (bf16, or int8 with its scales), so that loading
 * re-quantizes and repacks nothing. See converted.c for the file layout.
 */
#ifndef RT5_MODEL_CONVERTED_H
#define RT5_MODEL_CONVERTED_H

#include "model/forward.h"

/* The value of the "rankt5.format" metadata key of the files we write. */
#define RT5__CONVERTED_FORMAT "rankt5-converted/1"

/* One stored block product; the INT8 arrays are NULL for f32/bf16. */
typedef struct rt5__stored_linear {
    const uint8_t *weights;      /* dnnl_memory_desc_get_size(layout) bytes */
    const float *scale;          /* (n) per output channel                  */
    const int32_t *colsum;       /* (n)                                     */
    const float *inv_smooth;     /* (k) or NULL                             */
    const int32_t *outlier_idx;  /* (n_outliers), each in [0, k)            */
    const float *outlier_w;      /* (n_outliers, n)                         */
    int32_t n_outliers;
} rt5__stored_linear;

struct rt5__converted {
    rt5_dtype plan_dtype[RT5__N_PLANS];
    char layout_name[RT5__N_PLANS][48];      /* oneDNN format tag names      */
    dnnl_memory_desc_t layout[RT5__N_PLANS]; /* (k, n) stored layout         */
    rt5__stored_linear *linears;             /* (n_layers, RT5__N_PLANS)     */
    int32_t n_in_place;                      /* adopted without a copy       */
};

/* True when the opened set is a converted file (its metadata says so). */
bool rt5__converted_detect(const rt5__tensor_set *set);

/* Reads a converted file's metadata into model->config and
 * model->converted, and settles the compute dtype against the one asked
 * for (requested). Before the plain tensors are bound. */
rt5_status rt5__converted_open(rt5_model *model, rt5_dtype requested);

/* Finds and checks every stored block product (sizes against the layouts,
 * the int8 arrays' shapes and values). After the plain tensors are bound;
 * marks the tensors it takes in used (indexed like model->tensors). */
rt5_status rt5__converted_bind(rt5_model *model, bool *used);

/* Gives product plan of block layer its stored weights (forward.c). */
rt5_status rt5__converted_adopt(rt5_model *model, int32_t layer, int plan, rt5__linear *lin,
                                const rt5__gemm_plan *gemm, dnnl_engine_t engine, dnnl_stream_t stream,
                                bool *in_place);

void rt5__converted_free(rt5__converted *conv);

#endif /* RT5_MODEL_CONVERTED_H */

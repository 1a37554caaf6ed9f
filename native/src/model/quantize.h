/*
 * quantize.h -- int8 outlier handling: per-input-channel smoothing factors
 * for the products of one encoder block, from the weights alone (see
 * quantize.c for the method and docs/performance.md for its effect).
 */
#ifndef RT5_MODEL_QUANTIZE_H
#define RT5_MODEL_QUANTIZE_H

#include "model/linear.h"
#include "model/model.h"

/*
 * Sets inv_smooth of the block's four linears (wo's only for the ReLU
 * feed-forward) before they are packed; rt5__linear_pack then folds the
 * factors into the quantized weights, and picks each product's outlier
 * channels (n_outliers, outlier_idx, outlier_w). Diagnostic switches for
 * measuring the effect: RT5_INT8_SMOOTHING=off in the environment disables
 * both; RT5_INT8_ALPHA=x sets the migration strength (default 0.5).
 */
rt5_status rt5__int8_block_smoothing(const rt5_model *m, int32_t layer, rt5__linear *qkv, rt5__linear *o,
                                     rt5__linear *wi, rt5__linear *wo, rt5__errmsg *err);

#endif /* RT5_MODEL_QUANTIZE_H */

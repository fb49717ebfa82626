/* Element-wise work applied to a block of a layer's output while the block
 * is still in cache (core/nn/epilogue.c; the public struct is
 * AffectEpilogue in affect/nn-layers.h). */
#ifndef AFFECT_NN_EPILOGUE_H
#define AFFECT_NN_EPILOGUE_H

#include <stdint.h>

#include "affect/nn-layers.h"

/* one channel's row of n values, in place: v += bias (when has_bias),
 * then v = a·v + b (when has_affine), then the clamp, then v = r + v */
void affect_epilogue_row (int64_t n, float *v, int has_bias, float bias,
    int has_affine, float a, float b, const float *clamp, const float *r);

/* mean and Σ (v − mean)² of a row, in double (two passes over the row,
 * which is in cache; 8 lanes added in lane order) */
void affect_row_moments (int64_t n, const float *v, double *mean, double *m2);

/* the same for `rows` rows of n values, row r at v + r·ld, into out[2r]
 * (mean) and out[2r + 1] (Σ (v − mean)²): several rows side by side,
 * each with affect_row_moments's bits */
void affect_rows_moments (int rows, int64_t n, const float *v, int64_t ld,
    double *out);

/* Chan's update: (n_a, mean_a, m2_a) ← the union with (n_b, mean_b, m2_b) */
static inline void
affect_moments_merge (double *n_a, double *mean_a, double *m2_a, double n_b,
    double mean_b, double m2_b)
{
  const double n = *n_a + n_b;
  const double delta = mean_b - *mean_a;

  if (n_b <= 0.0)
    return;
  *mean_a += delta * (n_b / n);
  *m2_a += m2_b + delta * delta * (*n_a * n_b / n);
  *n_a = n;
}

#endif

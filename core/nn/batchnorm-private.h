/* Batch-norm sums shared with the kernels that make a batch-norm's input
 * gradient (core/nn/batchnorm.c). */
#ifndef AFFECT_NN_BATCHNORM_PRIVATE_H
#define AFFECT_NN_BATCHNORM_PRIVATE_H

#include <stdint.h>

/* Σ g and Σ g·(x − mu)·r over m values of a channel starting at index
 * `first`, added to the 8 lanes of acc (Σ g in acc[0..7], the other in
 * acc[8..15]; lane = channel index mod 8, each lane in index order): a
 * channel summed in stretches in index order has the bits of the
 * batch-norm backward's own sums. g counts where lo < y (y < hi when hi is
 * finite) when y is given, where lo < ma·x + mb (< hi) when mask_x, always
 * otherwise. */
void affect_batchnorm_lane_sums (int64_t m, int64_t first, const float *x,
    const float *g, const float *y, int mask_x, float ma, float mb, float lo,
    float hi, float mu, float r, double acc[16]);
/* the lanes added in lane order: Σ g and Σ g·x̂ */
void affect_batchnorm_lane_total (const double acc[16], double *sg,
    double *sgx);

/* the batch-norm backward's input gradient over m values of a channel:
 * d = a·(g − mg − (x − mu)·r·mgx), g masked as in the sums above (d may
 * be g) */
void affect_batchnorm_dx_row (int64_t m, const float *x, const float *g,
    const float *y, int mask_x, float ma, float mb, float lo, float hi,
    float a, float mg, float mu, float r, float mgx, float *d);

/* a training batch-norm forward, one channel at a time: factor from
 * affect_batchnorm_factor (which counts the batch), once per pass */
typedef struct
{
  int64_t m;
  const float *gamma, *beta;
  float *running_mean, *running_var;
  double factor;
  float eps;
  const float *clamp;
  float *mean, *rstd;
} AffectBnTrain;
double affect_batchnorm_factor (float momentum, int64_t * n_batches);
/* channel ch's output yc (or only its statistics when yc is NULL) from
 * its input xc, mean mu and Σ (x − mu)² ss; rc: residual or NULL */
void affect_batchnorm_train_channel (const AffectBnTrain * t, int ch,
    const float *xc, double mu, double ss, const float *rc, float *yc);

#endif

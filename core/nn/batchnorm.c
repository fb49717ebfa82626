/* Batch normalisation over channel-major (C, M) activations, M = N·H·W.
 *
 * Statistics are accumulated in double: a channel holds up to millions of
 * values in a training batch and float sums would lose the small variance
 * of a nearly constant channel. */
#include <math.h>

#include "affect/nn-layers.h"

/* y = a·x + b, clamped to [lo, hi] in the same pass when clamp != NULL
 * (a following ReLU / ReLU6 costs no extra sweep over memory) */
static void
affine (int64_t m, const float *restrict x, float a, float b,
    const float *clamp, float *restrict y)
{
  if (clamp == NULL) {
    for (int64_t i = 0; i < m; i++)
      y[i] = a * x[i] + b;
  } else {
    const float lo = clamp[0], hi = clamp[1];
    for (int64_t i = 0; i < m; i++) {
      float v = a * x[i] + b;
      v = v < lo ? lo : v;
      y[i] = v > hi ? hi : v;
    }
  }
}

void
affect_batchnorm_forward_train (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, float *running_mean,
    float *running_var, float momentum, int64_t * n_batches, float eps,
    const float *clamp, float *y, float *mean, float *rstd)
{
  double factor = momentum;

  if (n_batches != NULL) {
    *n_batches += 1;
    if (momentum < 0.0f)
      factor = 1.0 / (double) *n_batches;
  }
  for (int ch = 0; ch < c; ch++) {
    const float *xc = x + (int64_t) ch * m;
    float *yc = y + (int64_t) ch * m;
    double s = 0.0, ss = 0.0;
    for (int64_t i = 0; i < m; i++)
      s += xc[i];
    const double mu = s / (double) m;
    for (int64_t i = 0; i < m; i++) {
      const double d = xc[i] - mu;
      ss += d * d;
    }
    const double var = ss / (double) m;
    const float r = (float) (1.0 / sqrt (var + eps));
    const float a = gamma[ch] * r;
    const float b = beta[ch] - (float) mu * a;
    affine (m, xc, a, b, clamp, yc);
    mean[ch] = (float) mu;
    rstd[ch] = r;
    if (running_mean != NULL && factor >= 0.0) {
      const double unbiased = m > 1 ? ss / (double) (m - 1) : var;
      running_mean[ch] =
          (float) ((1.0 - factor) * running_mean[ch] + factor * mu);
      running_var[ch] =
          (float) ((1.0 - factor) * running_var[ch] + factor * unbiased);
    }
  }
}

void
affect_batchnorm_forward_eval (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *running_mean,
    const float *running_var, float eps, const float *clamp, float *y)
{
  for (int ch = 0; ch < c; ch++) {
    const float *xc = x + (int64_t) ch * m;
    float *yc = y + (int64_t) ch * m;
    const float a = gamma[ch] / sqrtf (running_var[ch] + eps);
    const float b = beta[ch] - running_mean[ch] * a;
    affine (m, xc, a, b, clamp, yc);
  }
}

/* dx = γ·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)) */
void
affect_batchnorm_backward_train (int c, int64_t m, const float *x,
    const float *gamma, const float *mean, const float *rstd,
    const float *dy, float *dx, float *dgamma, float *dbeta)
{
  for (int ch = 0; ch < c; ch++) {
    const float *xc = x + (int64_t) ch * m;
    const float *g = dy + (int64_t) ch * m;
    const float mu = mean[ch], r = rstd[ch];
    double sg = 0.0, sgx = 0.0;
    for (int64_t i = 0; i < m; i++) {
      sg += g[i];
      sgx += g[i] * ((xc[i] - mu) * r);
    }
    if (dgamma != NULL)
      dgamma[ch] += (float) sgx;
    if (dbeta != NULL)
      dbeta[ch] += (float) sg;
    if (dx != NULL) {
      float *d = dx + (int64_t) ch * m;
      const float a = gamma[ch] * r;
      const float mg = (float) (sg / (double) m);
      const float mgx = (float) (sgx / (double) m);
      for (int64_t i = 0; i < m; i++)
        d[i] = a * (g[i] - mg - (xc[i] - mu) * r * mgx);
    }
  }
}

void
affect_batchnorm_backward_eval (int c, int64_t m, const float *x,
    const float *gamma, const float *running_mean, const float *running_var,
    float eps, const float *dy, float *dx, float *dgamma, float *dbeta)
{
  for (int ch = 0; ch < c; ch++) {
    const float *xc = x + (int64_t) ch * m;
    const float *g = dy + (int64_t) ch * m;
    const float r = 1.0f / sqrtf (running_var[ch] + eps);
    const float mu = running_mean[ch];
    if (dgamma != NULL || dbeta != NULL) {
      double sg = 0.0, sgx = 0.0;
      for (int64_t i = 0; i < m; i++) {
        sg += g[i];
        sgx += g[i] * ((xc[i] - mu) * r);
      }
      if (dgamma != NULL)
        dgamma[ch] += (float) sgx;
      if (dbeta != NULL)
        dbeta[ch] += (float) sg;
    }
    if (dx != NULL) {
      float *d = dx + (int64_t) ch * m;
      const float a = gamma[ch] * r;
      for (int64_t i = 0; i < m; i++)
        d[i] = a * g[i];
    }
  }
}

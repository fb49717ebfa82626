/* Batch normalisation over channel-major (C, M) activations, M = N·H·W.
 *
 * Statistics are accumulated in double: a channel holds up to millions of
 * values in a training batch and float sums would lose the small variance
 * of a nearly constant channel. */
#include <math.h>

#include "affect/nn-layers.h"

void
affect_batchnorm_forward_train (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, float *running_mean,
    float *running_var, float momentum, int64_t * n_batches, float eps,
    float *y, float *mean, float *rstd)
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
    for (int64_t i = 0; i < m; i++)
      yc[i] = a * xc[i] + b;
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
    const float *running_var, float eps, float *y)
{
  for (int ch = 0; ch < c; ch++) {
    const float *xc = x + (int64_t) ch * m;
    float *yc = y + (int64_t) ch * m;
    const float a = gamma[ch] / sqrtf (running_var[ch] + eps);
    const float b = beta[ch] - running_mean[ch] * a;
    for (int64_t i = 0; i < m; i++)
      yc[i] = a * xc[i] + b;
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

/* Layer normalisation over the last dimension, biased variance, as BERT's
 * (eps inside the square root). */
#include <math.h>

#include "affect/nn-layers.h"

void
affect_layernorm_forward (int64_t rows, int d, const float *x,
    const float *gamma, const float *beta, float eps, float *y, float *mean,
    float *rstd)
{
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    double s = 0.0, ss = 0.0;
    for (int i = 0; i < d; i++)
      s += xr[i];
    const double mu = s / d;
    for (int i = 0; i < d; i++)
      ss += (xr[i] - mu) * (xr[i] - mu);
    const float rs = (float) (1.0 / sqrt (ss / d + eps));
    for (int i = 0; i < d; i++)
      yr[i] = gamma[i] * ((xr[i] - (float) mu) * rs) + beta[i];
    if (mean != NULL)
      mean[r] = (float) mu;
    if (rstd != NULL)
      rstd[r] = rs;
  }
}

void
affect_layernorm_backward (int64_t rows, int d, const float *x,
    const float *gamma, const float *mean, const float *rstd,
    const float *dy, float *dx, float *dgamma, float *dbeta)
{
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d;
    const float *g = dy + r * d;
    const float mu = mean[r], rs = rstd[r];
    double sgh = 0.0, sghx = 0.0;
    for (int i = 0; i < d; i++) {
      const float xh = (xr[i] - mu) * rs;
      const float gh = g[i] * gamma[i];
      sgh += gh;
      sghx += gh * xh;
      if (dgamma != NULL)
        dgamma[i] += g[i] * xh;
      if (dbeta != NULL)
        dbeta[i] += g[i];
    }
    if (dx != NULL) {
      float *dr = dx + r * d;
      const float a = (float) (sgh / d), b = (float) (sghx / d);
      for (int i = 0; i < d; i++) {
        const float xh = (xr[i] - mu) * rs;
        dr[i] = rs * (g[i] * gamma[i] - a - xh * b);
      }
    }
  }
}

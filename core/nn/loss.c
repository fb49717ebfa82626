/* Losses: mean over elements (PyTorch's default reduction), with the
 * gradient of that mean. Sums run in double so that a batch's loss does
 * not depend on summation order beyond float64 rounding. */
#include <math.h>

#include "affect/nn.h"

double
affect_loss_mse (const float *pred, const float *target, float *grad, size_t n)
{
  double sum = 0.0;
  size_t i;

  if (n == 0)
    return 0.0;
  for (i = 0; i < n; i++) {
    double e = (double) pred[i] - target[i];
    sum += e * e;
    if (grad != NULL)
      grad[i] = (float) (2.0 * e / n);
  }
  return sum / n;
}

double
affect_loss_bce (const float *prob, const float *target, float *grad, size_t n)
{
  double sum = 0.0;
  size_t i;

  if (n == 0)
    return 0.0;
  for (i = 0; i < n; i++) {
    double p = prob[i], t = target[i];
    /* PyTorch clamps each log at -100 instead of clipping p */
    double lp = p > 0.0 ? MAX (log (p), -100.0) : -100.0;
    double l1p = p < 1.0 ? MAX (log1p (-p), -100.0) : -100.0;
    sum += -(t * lp + (1.0 - t) * l1p);
    if (grad != NULL) {
      /* d/dp, with the denominator bounded away from 0 as torch's
       * BCELoss backward does (eps 1e-12) */
      double denom = MAX (p * (1.0 - p), 1e-12);
      grad[i] = (float) ((p - t) / denom / n);
    }
  }
  return sum / n;
}

double
affect_loss_bce_with_logits (const float *logits, const float *target,
    float *grad, size_t n)
{
  double sum = 0.0;
  size_t i;

  if (n == 0)
    return 0.0;
  for (i = 0; i < n; i++) {
    double z = logits[i], t = target[i];
    sum += MAX (z, 0.0) - z * t + log1p (exp (-fabs (z)));
    if (grad != NULL) {
      double s = z >= 0.0 ? 1.0 / (1.0 + exp (-z)) : exp (z) / (1.0 + exp (z));
      grad[i] = (float) ((s - t) / n);
    }
  }
  return sum / n;
}

double
affect_loss_softmax_cross_entropy (const float *logits, const float *target,
    float *grad, int batch, int n_classes)
{
  double sum = 0.0;
  int i, j;

  if (batch <= 0)
    return 0.0;
  for (i = 0; i < batch; i++) {
    const float *z = logits + (size_t) i * n_classes;
    const float *t = target + (size_t) i * n_classes;
    double zmax = z[0], lse = 0.0, tsum = 0.0;

    for (j = 1; j < n_classes; j++)
      zmax = MAX (zmax, z[j]);
    for (j = 0; j < n_classes; j++)
      lse += exp (z[j] - zmax);
    lse = zmax + log (lse);
    for (j = 0; j < n_classes; j++) {
      sum -= t[j] * (z[j] - lse);
      tsum += t[j];
    }
    if (grad != NULL)
      for (j = 0; j < n_classes; j++)
        grad[(size_t) i * n_classes + j] =
            (float) ((exp (z[j] - lse) * tsum - t[j]) / batch);
  }
  return sum / batch;
}

/* Global max / mean pooling over channel-major planes, the mean over a
 * sequence axis, and the residual sum. */
#include <string.h>

#include "affect/nn-layers.h"

void
affect_global_max_forward (int c, int n, int s, const float *x, float *out,
    int32_t * argmax)
{
  for (int ch = 0; ch < c; ch++)
    for (int b = 0; b < n; b++) {
      const float *p = x + ((int64_t) ch * n + b) * s;
      int best = 0;
      /* the first maximum takes the gradient; torch.amax splits it among
       * ties, which only occur here between post-ReLU zeros, whose
       * gradient the ReLU stops anyway */
      for (int i = 1; i < s; i++)
        if (p[i] > p[best])
          best = i;
      out[(int64_t) b * c + ch] = p[best];
      if (argmax != NULL)
        argmax[(int64_t) ch * n + b] = best;
    }
}

void
affect_global_max_backward (int c, int n, int s, const int32_t * argmax,
    const float *dout, float *dx)
{
  memset (dx, 0, sizeof (float) * c * n * (size_t) s);
  for (int ch = 0; ch < c; ch++)
    for (int b = 0; b < n; b++)
      dx[((int64_t) ch * n + b) * s + argmax[(int64_t) ch * n + b]] =
          dout[(int64_t) b * c + ch];
}

void
affect_global_mean_forward (int c, int n, int s, const float *x, float *out)
{
  for (int ch = 0; ch < c; ch++)
    for (int b = 0; b < n; b++) {
      const float *p = x + ((int64_t) ch * n + b) * s;
      double sum = 0.0;
      for (int i = 0; i < s; i++)
        sum += p[i];
      out[(int64_t) b * c + ch] = (float) (sum / s);
    }
}

void
affect_global_mean_backward (int c, int n, int s, const float *dout, float *dx)
{
  for (int ch = 0; ch < c; ch++)
    for (int b = 0; b < n; b++) {
      const float g = dout[(int64_t) b * c + ch] / (float) s;
      float *p = dx + ((int64_t) ch * n + b) * s;
      for (int i = 0; i < s; i++)
        p[i] = g;
    }
}

void
affect_mean_axis1_forward (int n, int t, int d, const float *x, float *out)
{
  for (int b = 0; b < n; b++) {
    float *o = out + (int64_t) b * d;
    memset (o, 0, sizeof (float) * d);
    for (int i = 0; i < t; i++) {
      const float *r = x + ((int64_t) b * t + i) * d;
      for (int j = 0; j < d; j++)
        o[j] += r[j];
    }
    for (int j = 0; j < d; j++)
      o[j] /= (float) t;
  }
}

void
affect_mean_axis1_backward (int n, int t, int d, const float *dout, float *dx)
{
  for (int b = 0; b < n; b++)
    for (int i = 0; i < t; i++) {
      float *r = dx + ((int64_t) b * t + i) * d;
      for (int j = 0; j < d; j++)
        r[j] = dout[(int64_t) b * d + j] / (float) t;
    }
}

void
affect_add (int64_t n, const float *a, const float *b, float *y)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = a[i] + b[i];
}

void
affect_add_inplace (int64_t n, float *y, const float *x)
{
  for (int64_t i = 0; i < n; i++)
    y[i] += x[i];
}

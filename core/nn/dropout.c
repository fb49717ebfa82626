/* Inverted dropout with a seeded mask */
#include <string.h>

#include "affect/nn.h"

void
affect_dropout_init (AffectDropout * d, float p)
{
  memset (d, 0, sizeof (*d));
  d->p = p;
}

void
affect_dropout_clear (AffectDropout * d)
{
  g_free (d->mask);
  memset (d, 0, sizeof (*d));
}

void
affect_dropout_forward (AffectDropout * d, const float *x, float *y,
    size_t n, gboolean training, AffectRng * rng)
{
  size_t i;
  float keep_scale;

  if (!training || d->p <= 0.0f) {
    if (y != x)
      memmove (y, x, n * sizeof (float));
    d->n = 0;
    return;
  }
  if (n > d->capacity) {
    g_free (d->mask);
    d->mask = g_new (float, n);
    d->capacity = n;
  }
  d->n = n;
  keep_scale = d->p < 1.0f ? 1.0f / (1.0f - d->p) : 0.0f;
  for (i = 0; i < n; i++) {
    d->mask[i] = affect_rng_uniform (rng) < d->p ? 0.0f : keep_scale;
    y[i] = x[i] * d->mask[i];
  }
}

void
affect_dropout_backward (AffectDropout * d, const float *dy, float *dx,
    size_t n)
{
  size_t i;

  if (d->n == 0) {              /* last forward was not in training */
    if (dx != dy)
      memmove (dx, dy, n * sizeof (float));
    return;
  }
  g_return_if_fail (n == d->n);
  for (i = 0; i < n; i++)
    dx[i] = dy[i] * d->mask[i];
}

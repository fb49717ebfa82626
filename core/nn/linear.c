/* Linear layer y = x Wᵀ + b, W stored (out, in) like torch.nn.Linear.
 * Every product is one affect_sgemm over the whole batch. */
#include <math.h>
#include <string.h>

#include "affect/nn.h"

void
affect_linear_init (AffectLinear * layer, const char *prefix,
    int in_features, int out_features, gboolean bias, AffectRng * rng)
{
  int64_t wshape[2] = { out_features, in_features };
  int64_t bshape[1] = { out_features };
  char *name;

  memset (layer, 0, sizeof (*layer));
  layer->in_features = in_features;
  layer->out_features = out_features;
  layer->has_bias = bias;

  name = g_strdup_printf ("%s.weight", prefix);
  affect_param_alloc (&layer->weight, name, 2, wshape, TRUE, TRUE);
  g_free (name);
  if (rng != NULL)
    affect_init_kaiming_uniform (&layer->weight, in_features, sqrt (5.0), rng);

  if (bias) {
    name = g_strdup_printf ("%s.bias", prefix);
    affect_param_alloc (&layer->bias, name, 1, bshape, TRUE, FALSE);
    g_free (name);
    if (rng != NULL)
      affect_init_uniform (&layer->bias, 1.0 / sqrt (in_features), rng);
  }
}

void
affect_linear_clear (AffectLinear * layer)
{
  affect_param_clear (&layer->weight);
  if (layer->has_bias)
    affect_param_clear (&layer->bias);
  g_aligned_free (layer->input_cache);
  memset (layer, 0, sizeof (*layer));
}

void
affect_linear_apply (const AffectLinear * layer, const float *x, float *y,
    int batch, gboolean with_bias, float beta)
{
  const int in = layer->in_features, out = layer->out_features;
  int i;

  if (batch <= 0)
    return;
  if (with_bias && layer->has_bias) {
    /* y = beta·y + b, then the product accumulates onto it */
    const float *b = layer->bias.value.data;
    for (i = 0; i < batch; i++) {
      float *row = y + (size_t) i * out;
      int j;
      if (beta == 0.0f)
        memcpy (row, b, out * sizeof (float));
      else
        for (j = 0; j < out; j++)
          row[j] = beta * row[j] + b[j];
    }
    beta = 1.0f;
  }
  affect_sgemm (FALSE, TRUE, batch, out, in,
      1.0f, x, in, layer->weight.value.data, in, beta, y, out);
}

/* columns of the bias gradient per part */
#define BIAS_BLOCK 256

typedef struct
{
  const float *dy;
  float *db;
  int batch, out;
} BiasJob;

static void
bias_part (int part, int n_parts, gpointer data)
{
  const BiasJob *j = data;
  const int begin = part * BIAS_BLOCK, end = MIN (j->out, begin + BIAS_BLOCK);
  float *restrict db = j->db;
  int i, c;

  (void) n_parts;
  for (i = 0; i < j->batch; i++) {
    const float *restrict row = j->dy + (size_t) i * j->out;
    for (c = begin; c < end; c++)
      db[c] += row[c];
  }
}

void
affect_linear_grad (AffectLinear * layer, const float *x, const float *dy,
    float *dx, int batch, gboolean param_grads)
{
  const int in = layer->in_features, out = layer->out_features;

  if (batch <= 0)
    return;
  if (param_grads) {
    /* dW += dyᵀ x */
    affect_sgemm (TRUE, FALSE, out, in, batch,
        1.0f, dy, out, x, in, 1.0f, layer->weight.grad, in);
    if (layer->has_bias) {
      BiasJob job = { dy, layer->bias.grad, batch, out };
      /* blocks of whole columns, each summed over the rows in row order
       * by one thread: the bits of the serial loop at any thread count */
      affect_parallel_run ((out + BIAS_BLOCK - 1) / BIAS_BLOCK, bias_part,
          &job);
    }
  }
  if (dx != NULL)
    affect_sgemm (FALSE, FALSE, batch, in, out,
        1.0f, dy, out, layer->weight.value.data, in, 0.0f, dx, in);
}

void
affect_linear_forward (AffectLinear * layer, const float *x, float *y,
    int batch)
{
  size_t need = (size_t) batch * layer->in_features;

  if (need > layer->cache_capacity) {
    g_aligned_free (layer->input_cache);
    layer->input_cache = g_aligned_alloc (need, sizeof (float), 64);
    layer->cache_capacity = need;
  }
  if (need > 0)
    memcpy (layer->input_cache, x, need * sizeof (float));
  layer->cached_batch = batch;
  affect_linear_apply (layer, x, y, batch, TRUE, 0.0f);
}

void
affect_linear_backward (AffectLinear * layer, const float *dy, float *dx,
    int batch)
{
  g_return_if_fail (batch == layer->cached_batch);
  affect_linear_grad (layer, layer->input_cache, dy, dx, batch, TRUE);
}

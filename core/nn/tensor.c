/* Tensors, parameters and their initialisers */
#include <math.h>
#include <string.h>

#include "affect/nn.h"

static int64_t
shape_count (int n_dims, const int64_t * shape)
{
  int64_t n = 1;
  int i;

  for (i = 0; i < n_dims; i++)
    n *= shape[i];
  return n;
}

static float *
alloc_floats (int64_t n)
{
  /* 64-byte alignment keeps the GEMM kernels on their aligned paths */
  float *p = g_aligned_alloc0 (MAX (n, 1), sizeof (float), 64);
  return p;
}

void
affect_tensor_alloc (AffectTensor * t, int n_dims, const int64_t * shape)
{
  g_return_if_fail (n_dims >= 0 && n_dims <= AFFECT_NN_MAX_DIMS);

  memset (t, 0, sizeof (*t));
  t->n_dims = n_dims;
  if (n_dims > 0)
    memcpy (t->shape, shape, n_dims * sizeof (int64_t));
  t->n = shape_count (n_dims, shape);
  t->data = alloc_floats (t->n);
}

void
affect_tensor_clear (AffectTensor * t)
{
  g_aligned_free (t->data);
  memset (t, 0, sizeof (*t));
}

void
affect_param_alloc (AffectParam * p, const char *name, int n_dims,
    const int64_t * shape, gboolean trainable, gboolean decay)
{
  memset (p, 0, sizeof (*p));
  p->name = g_strdup (name);
  affect_tensor_alloc (&p->value, n_dims, shape);
  p->trainable = trainable;
  p->decay = decay;
  if (trainable)
    p->grad = alloc_floats (p->value.n);
}

void
affect_param_clear (AffectParam * p)
{
  g_free (p->name);
  affect_tensor_clear (&p->value);
  g_aligned_free (p->grad);
  g_aligned_free (p->m);
  g_aligned_free (p->v);
  memset (p, 0, sizeof (*p));
}

typedef struct
{
  float *grad;
  size_t n;
} ZeroJob;

static void
zero_part (int part, int n_parts, gpointer data)
{
  const ZeroJob *j = data;
  const size_t begin = j->n * part / n_parts;
  const size_t end = j->n * (part + 1) / n_parts;

  memset (j->grad + begin, 0, (end - begin) * sizeof (float));
}

void
affect_params_zero_grad (AffectParam * const *params, guint n_params)
{
  guint i;

  /* a memory-bound pass over every gradient each step: both cores'
   * bandwidth */
  for (i = 0; i < n_params; i++) {
    ZeroJob job = { params[i]->grad, (size_t) params[i]->value.n };
    if (job.grad != NULL)
      affect_parallel_run (affect_parallel_blocks (job.n), zero_part, &job);
  }
}

void
affect_params_reset_state (AffectParam * const *params, guint n_params)
{
  guint i;

  for (i = 0; i < n_params; i++) {
    g_aligned_free (params[i]->m);
    g_aligned_free (params[i]->v);
    params[i]->m = params[i]->v = NULL;
  }
}

void
affect_init_uniform (AffectParam * p, double bound, AffectRng * rng)
{
  int64_t i;

  for (i = 0; i < p->value.n; i++)
    p->value.data[i] = (float) ((2.0 * affect_rng_uniform (rng) - 1.0) * bound);
}

void
affect_init_kaiming_uniform (AffectParam * p, int fan_in, double a,
    AffectRng * rng)
{
  double gain = sqrt (2.0 / (1.0 + a * a));
  double bound = gain * sqrt (3.0 / fan_in);

  affect_init_uniform (p, bound, rng);
}

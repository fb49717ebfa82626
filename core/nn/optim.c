/* Optimisers over arrays of parameters. The update equations are those of
 * torch.optim (1.13) in the same order of float32 operations, so one step
 * here and one step there agree to float32 rounding. */
#include <math.h>
#include <string.h>

#include "affect/nn.h"
#include "vector-clones.h"

/* The updates are element-wise over every parameter of the model each
 * step (1.2 M for the VAT regressor); vectorised and split over the
 * threads, Adam costs a few percent of an epoch instead of a third.
 * Neither changes any result: each element's operations are the same. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("tree-vectorize")
#endif

void
affect_optimizer_init_adam (AffectOptimizer * opt, double lr)
{
  memset (opt, 0, sizeof (*opt));
  opt->kind = AFFECT_OPTIMIZER_ADAM;
  opt->lr = lr;
  opt->beta1 = 0.9;
  opt->beta2 = 0.999;
  opt->eps = 1e-8;
}

void
affect_optimizer_init_sgd (AffectOptimizer * opt, double lr, double momentum,
    gboolean nesterov, double weight_decay)
{
  memset (opt, 0, sizeof (*opt));
  opt->kind = AFFECT_OPTIMIZER_SGD;
  opt->lr = lr;
  opt->momentum = momentum;
  opt->nesterov = nesterov;
  opt->weight_decay = weight_decay;
}

static float *
state_new (int64_t n)
{
  return g_aligned_alloc0 (MAX (n, 1), sizeof (float), 64);
}

typedef AffectAdamCoefficients AdamCoefficients;

/* elements [begin, end) of one parameter */
AFFECT_VECTOR_CLONES static void
adam_range (const AdamCoefficients * c, float *restrict w,
    float *restrict g, float *restrict m, float *restrict v,
    int64_t begin, int64_t end)
{
  const float b1 = c->b1, b2 = c->b2, omb1 = c->one_minus_b1;
  const float omb2 = c->one_minus_b2, step_size = c->step_size;
  const float bc2_sqrt = c->bc2_sqrt, eps = c->eps, wd = c->wd;
  int64_t i;

  if (wd != 0.0f && c->decoupled)
    for (i = begin; i < end; i++)
      w[i] *= c->decay_factor;
  if (wd != 0.0f && !c->decoupled) {
    for (i = begin; i < end; i++) {
      float gi = g[i] + wd * w[i];
      m[i] = m[i] * b1 + omb1 * gi;
      v[i] = v[i] * b2 + omb2 * gi * gi;
      w[i] -= step_size * (m[i] / (sqrtf (v[i]) / bc2_sqrt + eps));
    }
  } else {
    for (i = begin; i < end; i++) {
      float gi = g[i];
      m[i] = m[i] * b1 + omb1 * gi;
      v[i] = v[i] * b2 + omb2 * gi * gi;
      w[i] -= step_size * (m[i] / (sqrtf (v[i]) / bc2_sqrt + eps));
    }
  }
  /* the block's gradient was just read and is still in cache: clearing
   * it here replaces a separate pass over every gradient before the next
   * step (a store in the loop above kept GCC from vectorising it) */
  if (c->zero_grad)
    memset (g + begin, 0, (size_t) (end - begin) * sizeof (float));
}

typedef struct
{
  const AdamCoefficients *c;
  AffectParam *p;
  int64_t n;
} AdamJob;

static void
adam_part (int part, int n_parts, gpointer data)
{
  const AdamJob *j = data;

  adam_range (j->c, j->p->value.data, j->p->grad, j->p->m, j->p->v,
      j->n * part / n_parts, j->n * (part + 1) / n_parts);
}

void
affect_adam_coefficients (const AffectOptimizer * opt, const AffectParam * p,
    AffectAdamCoefficients * c)
{
  const double bc1 = 1.0 - pow (opt->beta1, (double) opt->step);
  const double bc2 = 1.0 - pow (opt->beta2, (double) opt->step);

  c->b1 = (float) opt->beta1;
  c->b2 = (float) opt->beta2;
  /* 1 - beta in double, then rounded, as torch passes alpha = 1 - beta */
  c->one_minus_b1 = (float) (1.0 - opt->beta1);
  c->one_minus_b2 = (float) (1.0 - opt->beta2);
  c->wd = p->decay ? (float) opt->weight_decay : 0.0f;
  c->step_size = (float) (opt->lr / bc1);
  c->bc2_sqrt = (float) sqrt (bc2);
  c->eps = (float) opt->eps;
  c->decay_factor = (float) (1.0 - opt->lr * c->wd);
  c->decoupled = opt->decoupled_decay;
  c->zero_grad = opt->zero_grad;
}

void
affect_adam_update_range (const AffectAdamCoefficients * c, AffectParam * p,
    int64_t begin, int64_t end)
{
  adam_range (c, p->value.data, p->grad, p->m, p->v, begin, end);
}

static void
adam_update (AffectOptimizer * opt, AffectParam * p)
{
  const int64_t n = p->value.n;
  const int parts = affect_parallel_blocks ((size_t) n);
  AdamCoefficients c;
  AdamJob job;

  affect_adam_coefficients (opt, p, &c);
  if (p->m == NULL) {
    p->m = state_new (n);
    p->v = state_new (n);
  }
  job.c = &c;
  job.p = p;
  job.n = n;
  affect_parallel_run (parts, adam_part, &job);
}

static void
sgd_update (AffectOptimizer * opt, AffectParam * p)
{
  const int64_t n = p->value.n;
  float *w = p->value.data, *g = p->grad;
  const float wd = p->decay ? (float) opt->weight_decay : 0.0f;
  const float mom = (float) opt->momentum;
  const float damp = (float) (1.0 - opt->dampening);
  const float lr = (float) opt->lr;
  gboolean first = FALSE;
  int64_t i;

  if (mom != 0.0f && p->m == NULL) {
    p->m = state_new (n);
    first = TRUE;
  }
  for (i = 0; i < n; i++) {
    float d = g[i];
    if (wd != 0.0f)
      d += wd * w[i];
    if (mom != 0.0f) {
      /* the momentum buffer starts as the first gradient, undamped */
      p->m[i] = first ? d : p->m[i] * mom + damp * d;
      d = opt->nesterov ? d + mom * p->m[i] : p->m[i];
    }
    w[i] -= lr * d;
  }
  if (opt->zero_grad)
    memset (g, 0, (size_t) n * sizeof (float));
}

void
affect_optimizer_begin_step (AffectOptimizer * opt,
    AffectParam * const *params, guint n_params)
{
  guint i;

  opt->step++;
  for (i = 0; i < n_params; i++) {
    AffectParam *p = params[i];
    if (p->trainable && p->grad != NULL && p->m == NULL) {
      p->m = state_new (p->value.n);
      p->v = state_new (p->value.n);
    }
  }
}

void
affect_optimizer_step (AffectOptimizer * opt, AffectParam * const *params,
    guint n_params)
{
  guint i;

  opt->step++;
  for (i = 0; i < n_params; i++) {
    AffectParam *p = params[i];
    if (!p->trainable || p->grad == NULL)
      continue;
    if (opt->kind == AFFECT_OPTIMIZER_ADAM)
      adam_update (opt, p);
    else
      sgd_update (opt, p);
  }
}

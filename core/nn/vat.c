/* Virtual adversarial training for regression (seed 004, §2.2 and §3.2).
 *
 * p(y | x) = N(f(x), I), so the KL divergence between the outputs at x and
 * at x + r is D(r) = ‖f(x + r) − f(x)‖² / 2, and
 *   LDS(x) = D(r_adv),   r_adv = argmax_{‖r‖ ≤ ε} D(r).
 * At r = 0 the Hessian of D is H = JᵀJ (J = ∂f/∂x at x), so r_adv is
 * approximated by power iteration on H from a random unit direction d:
 * d ← H d / ‖H d‖, r_adv = ε d.
 *
 * The classic algorithm evaluates H d by a finite difference:
 * ∇_r D at r = ξ d, i.e. J(x + ξd)ᵀ (f(x + ξd) − f(x)). In float32 with
 * ξ = 1e-6 on standardised inputs, f(x + ξd) − f(x) rounds to exactly 0
 * for many samples, which then get r_adv = 0. Here (AFFECT_VAT_POWER_JVP)
 * H d is computed exactly, as a Jacobian-vector product u = J d (the
 * tangent pushed forward through the layers) followed by Jᵀu (an
 * input-gradient backward pass): the ξ → 0 limit of the finite difference,
 * equal to it for the piecewise-linear ReLU network wherever x + ξd stays
 * in x's linear region. For one output H = ∇f ∇fᵀ, and the iteration is
 * d ← sign(∇f·d) ∇f / ‖∇f‖, which needs only the input gradient.
 */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "mlp-private.h"

void
affect_vat_config_init (AffectVatConfig * config)
{
  config->epsilon = 1.5;
  config->lambda = 1.5;
  config->xi = 1e-6;
  config->power_iterations = 1;
  config->power = AFFECT_VAT_POWER_JVP;
}

/* rows of v scaled to unit norm (norms in double); a zero row stays 0 */
static void
normalise_rows (float *v, int n, int d, double scale)
{
  int i, j;

  for (i = 0; i < n; i++) {
    float *row = v + (size_t) i * d;
    double s = 0.0;
    for (j = 0; j < d; j++)
      s += (double) row[j] * row[j];
    s = sqrt (s);
    if (s > 0.0 && isfinite (s)) {
      float f = (float) (scale / s);
      for (j = 0; j < d; j++)
        row[j] *= f;
    } else {
      memset (row, 0, d * sizeof (float));
    }
  }
}

/* rows per part of the row-wise passes on the worker pool: each row's
 * arithmetic is its own, so the bits do not depend on the split */
#define ROW_BLOCK 16

typedef struct
{
  const AffectVatConfig *config;
  const float *g, *d, *xs;
  float *r;
  int din, n_rows;
} PowerJob;

static void
power_part (int part, int n_parts, gpointer data)
{
  const PowerJob *j = data;
  const int iterations = MAX (j->config->power_iterations, 1);
  const int din = j->din, begin = part * ROW_BLOCK;
  const int end = MIN (begin + ROW_BLOCK, j->n_rows);
  int it, i, c;

  (void) n_parts;
  for (i = begin; i < end; i++) {
    float *ri = j->r + (size_t) i * din;
    const float *gi = j->g + (size_t) i * din;

    memcpy (ri, j->d + (size_t) i * din, din * sizeof (float));
    normalise_rows (ri, 1, din, 1.0);
    for (it = 0; it < iterations; it++) {
      double s = 0.0;
      for (c = 0; c < din; c++)
        s += (double) gi[c] * ri[c];
      /* a direction exactly orthogonal to ∇f: H d = 0, take ∇f itself */
      if (s == 0.0)
        s = 1.0;
      for (c = 0; c < din; c++)
        ri[c] = (float) (s * gi[c]);
      normalise_rows (ri, 1, din, 1.0);
    }
    for (c = 0; c < din; c++)
      ri[c] *= (float) j->config->epsilon;
    /* the trainer's x + r_adv */
    if (j->xs != NULL)
      for (c = 0; c < din; c++)
        ri[c] += j->xs[(size_t) i * din + c];
  }
}

/* one output: r ← ε · (power iteration on ∇f ∇fᵀ from d), given ∇f = g;
 * plus xs when xs is not NULL */
static void
power_step_scalar (const AffectVatConfig * config, const float *g,
    const float *d, const float *xs, float *r, int n, int din)
{
  PowerJob job = { config, g, d, xs, r, din, n };

  affect_parallel_run ((n + ROW_BLOCK - 1) / ROW_BLOCK, power_part, &job);
}

/* r ← ε · (power iteration from d); rows [0, n) of the workspace must
 * hold the forward at xs; rows [n, 2n) are used as scratch. */
static void
power_iteration (AffectMlp * mlp, const AffectVatConfig * config,
    const float *xs, const float *d, float *r, int n)
{
  const int din = mlp->config.n_inputs, k = mlp->config.n_outputs;
  const int iterations = MAX (config->power_iterations, 1);
  float *g = g_malloc ((size_t) n * din * sizeof (float));
  int it, i;

  memcpy (r, d, (size_t) n * din * sizeof (float));
  normalise_rows (r, n, din, 1.0);

  if (config->power == AFFECT_VAT_POWER_JVP && k == 1) {
    /* H = ∇f ∇fᵀ: one input-gradient pass gives every iteration */
    float *ones = g_malloc ((size_t) n * sizeof (float));
    for (i = 0; i < n; i++)
      ones[i] = 1.0f;
    mlp_backward_rows (mlp, ones, FALSE, 0, n, FALSE, g);
    g_free (ones);
    power_step_scalar (config, g, d, NULL, r, n, din);
    g_free (g);
    return;
  } else if (config->power == AFFECT_VAT_POWER_JVP) {
    float *t = g_malloc ((size_t) n * k * sizeof (float));
    for (it = 0; it < iterations; it++) {
      mlp_jvp_rows (mlp, r, 0, n, t);   /* t = J d */
      mlp_backward_rows (mlp, t, FALSE, 0, n, FALSE, r);        /* Jᵀ J d */
      normalise_rows (r, n, din, 1.0);
    }
    g_free (t);
  } else {
    float *diff = g_malloc ((size_t) n * k * sizeof (float));
    for (it = 0; it < iterations; it++) {
      const float *f0, *f1;
      for (i = 0; i < n * din; i++)
        g[i] = xs[i] + (float) config->xi * r[i];
      mlp_forward_rows (mlp, g, n, n);
      f0 = mlp_output_rows (mlp, 0);
      f1 = mlp_output_rows (mlp, n);
      for (i = 0; i < n * k; i++)
        diff[i] = f1[i] - f0[i];        /* ∂D/∂f(x + ξd) */
      mlp_backward_rows (mlp, diff, FALSE, n, n, FALSE, r);
      normalise_rows (r, n, din, 1.0);
    }
    g_free (diff);
  }
  for (i = 0; i < n * din; i++)
    r[i] *= (float) config->epsilon;
  g_free (g);
}

void
affect_vat_adversarial_perturbation (AffectMlp * mlp,
    const AffectVatConfig * config, const float *xs, const float *d,
    float *r, int n)
{
  if (n <= 0)
    return;
  mlp_reserve (mlp, 2 * n);
  mlp_forward_rows (mlp, xs, 0, n);
  power_iteration (mlp, config, xs, d, r, n);
}

/* rows of every layer's deltas scaled by s[row]: a part per layer and
 * block of ROW_BLOCK rows (element-wise: the same bits at any thread
 * count) */
typedef struct
{
  AffectMlp *mlp;
  const float *s;
  int n, blocks;
} ScaleJob;

static void
scale_part (int part, int n_parts, gpointer data)
{
  const ScaleJob *j = data;
  const int l = part / j->blocks, w = j->mlp->widths[l + 1];
  const int begin = (part % j->blocks) * ROW_BLOCK;
  const int end = MIN (j->n, begin + ROW_BLOCK);
  int i, c;

  (void) n_parts;
  for (i = begin; i < end; i++) {
    float *restrict row = j->mlp->delta[l] + (size_t) i * w;
    const float s = j->s[i];
    for (c = 0; c < w; c++)
      row[c] *= s;
  }
}

double
vat_loss_step (AffectMlp * mlp, const AffectVatConfig * config,
    const float *xs, const float *y, const float *d, int n, double *mse_out,
    double *lds_out, const AffectOptimizer * opt)
{
  const int din = mlp->config.n_inputs, k = mlp->config.n_outputs;
  float *r, *dy;
  const float *f0, *f1;
  double mse, lds = 0.0;
  int i;

  if (n <= 0)
    return 0.0;
  mlp_reserve (mlp, 2 * n);
  r = g_malloc ((size_t) n * din * sizeof (float));
  dy = g_malloc ((size_t) 2 * n * k * sizeof (float));

  /* rows [0, n): x; rows [n, 2n): x + r_adv. The deltas of both are kept
   * so that each weight gradient is one GEMM over the 2n rows. */
  mlp_forward_rows (mlp, xs, 0, n);
  if (config->power == AFFECT_VAT_POWER_JVP && k == 1) {
    /* one output: the backward of f itself gives both ∇ₓf (the power
     * step) and the deltas of the MSE term, which are those of f scaled
     * per row by ∂MSE/∂f — so the rows at x need no second backward */
    float *g = g_malloc ((size_t) n * din * sizeof (float));
    float *ones = g_malloc ((size_t) n * sizeof (float));

    for (i = 0; i < n; i++)
      ones[i] = 1.0f;
    mlp_deltas_rows (mlp, ones, FALSE, 0, n, g);
    g_free (ones);
    power_step_scalar (config, g, d, xs, r, n, din);
    g_free (g);
    mlp_forward_rows (mlp, r, n, n);
    f0 = mlp_output_rows (mlp, 0);
    f1 = mlp_output_rows (mlp, n);
    mse = affect_loss_mse (f0, y, dy, (size_t) n);
    {
      ScaleJob job = { mlp, dy, n, (n + ROW_BLOCK - 1) / ROW_BLOCK };
      affect_parallel_run (mlp->n_layers * job.blocks, scale_part, &job);
    }
  } else {
    power_iteration (mlp, config, xs, d, r, n);
    for (i = 0; i < n * din; i++)
      r[i] += xs[i];
    mlp_forward_rows (mlp, r, n, n);
    f0 = mlp_output_rows (mlp, 0);
    f1 = mlp_output_rows (mlp, n);
    mse = affect_loss_mse (f0, y, dy, (size_t) n * k);
    mlp_deltas_rows (mlp, dy, FALSE, 0, n, NULL);
  }
  for (i = 0; i < n * k; i++) {
    /* f(x) is a constant in LDS: only the x + r rows get its gradient */
    double e = (double) f1[i] - f0[i];
    lds += 0.5 * e * e;
    dy[(size_t) n * k + i] = (float) (config->lambda * e / n);
  }
  lds /= n;
  mlp_deltas_rows (mlp, dy + (size_t) n * k, FALSE, n, n, NULL);
  mlp_param_grads_rows (mlp, 0, 2 * n, opt);

  g_free (r);
  g_free (dy);
  if (mse_out)
    *mse_out = mse;
  if (lds_out)
    *lds_out = lds;
  return mse + config->lambda * lds;
}

double
affect_vat_loss_grad (AffectMlp * mlp, const AffectVatConfig * config,
    const float *xs, const float *y, const float *d, int n, double *mse_out,
    double *lds_out)
{
  return vat_loss_step (mlp, config, xs, y, d, n, mse_out, lds_out, NULL);
}

double
mlp_loss_step (AffectMlp * mlp, AffectMlpLoss loss, const float *xs,
    const float *y, int n, const AffectOptimizer * opt)
{
  const int k = mlp->config.n_outputs;
  float *dy;
  double value;

  if (n <= 0)
    return 0.0;
  mlp_reserve (mlp, n);
  dy = g_malloc ((size_t) n * k * sizeof (float));
  mlp_forward_rows (mlp, xs, 0, n);
  if (loss == AFFECT_MLP_LOSS_BCE
      && mlp->config.output_activation == AFFECT_ACTIVATION_SIGMOID) {
    /* BCE(σ(z)) through the logits: the same value and gradient, without
     * σ's saturation */
    value = affect_loss_bce_with_logits (mlp_output_preactivation_rows (mlp,
            0), y, dy, (size_t) n * k);
    if (opt != NULL)
      mlp_backward_update_rows (mlp, dy, TRUE, 0, n, opt);
    else
      mlp_backward_rows (mlp, dy, TRUE, 0, n, TRUE, NULL);
  } else {
    if (loss == AFFECT_MLP_LOSS_BCE)
      value = affect_loss_bce (mlp_output_rows (mlp, 0), y, dy, (size_t) n * k);
    else
      value = affect_loss_mse (mlp_output_rows (mlp, 0), y, dy, (size_t) n * k);
    if (opt != NULL)
      mlp_backward_update_rows (mlp, dy, FALSE, 0, n, opt);
    else
      mlp_backward_rows (mlp, dy, FALSE, 0, n, TRUE, NULL);
  }
  g_free (dy);
  return value;
}

double
affect_mlp_loss_grad (AffectMlp * mlp, AffectMlpLoss loss, const float *xs,
    const float *y, int n)
{
  return mlp_loss_step (mlp, loss, xs, y, n, NULL);
}

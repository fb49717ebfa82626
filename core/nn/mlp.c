/* MLP: construction, standardisation, forward, backward and
 * Jacobian-vector products over a shared row workspace */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "mlp-private.h"

static float *
falloc (size_t n)
{
  return g_aligned_alloc0 (MAX (n, 1), sizeof (float), 64);
}

AffectMlp *
affect_mlp_new (const AffectMlpConfig * config, uint64_t seed, GError ** error)
{
  AffectMlp *mlp;
  AffectRng rng;
  int l, i;

  if (config->n_inputs <= 0 || config->n_outputs <= 0 ||
      config->n_hidden < 0 || config->n_hidden > AFFECT_MLP_MAX_HIDDEN) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "invalid MLP: %d inputs, %d hidden layers (at most %d), %d outputs",
        config->n_inputs, config->n_hidden, AFFECT_MLP_MAX_HIDDEN,
        config->n_outputs);
    return NULL;
  }
  for (i = 0; i < config->n_hidden; i++)
    if (config->hidden[i] <= 0) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "invalid MLP: hidden layer %d has width %d", i + 1,
          config->hidden[i]);
      return NULL;
    }

  mlp = g_new0 (AffectMlp, 1);
  mlp->config = *config;
  mlp->n_layers = config->n_hidden + 1;
  mlp->widths[0] = config->n_inputs;
  for (i = 0; i < config->n_hidden; i++)
    mlp->widths[i + 1] = config->hidden[i];
  mlp->widths[mlp->n_layers] = config->n_outputs;
  mlp->max_width = 0;
  for (i = 0; i <= mlp->n_layers; i++)
    mlp->max_width = MAX (mlp->max_width, mlp->widths[i]);

  affect_rng_init (&rng, seed);
  for (l = 0; l < mlp->n_layers; l++) {
    /* nn.Sequential(Linear, act, Linear, act, …, Linear): net.0, net.2, … */
    char *prefix = g_strdup_printf ("net.%d", 2 * l);
    affect_linear_init (&mlp->layers[l], prefix, mlp->widths[l],
        mlp->widths[l + 1], TRUE, &rng);
    g_free (prefix);
    mlp->params[mlp->n_params++] = &mlp->layers[l].weight;
    mlp->params[mlp->n_params++] = &mlp->layers[l].bias;
  }
  mlp->mean = g_new0 (float, config->n_inputs);
  mlp->std = g_new (float, config->n_inputs);
  for (i = 0; i < config->n_inputs; i++)
    mlp->std[i] = 1.0f;
  mlp->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  return mlp;
}

static void
free_workspace (AffectMlp * mlp)
{
  int l;

  g_aligned_free (mlp->in);
  for (l = 0; l < mlp->n_layers; l++) {
    g_aligned_free (mlp->z[l]);
    g_aligned_free (mlp->h[l]);
    g_aligned_free (mlp->delta[l]);
    mlp->z[l] = mlp->h[l] = mlp->delta[l] = NULL;
  }
  g_aligned_free (mlp->scratch_a);
  g_aligned_free (mlp->scratch_b);
  mlp->in = mlp->scratch_a = mlp->scratch_b = NULL;
  mlp->capacity = 0;
}

void
affect_mlp_free (AffectMlp * mlp)
{
  int l;

  if (mlp == NULL)
    return;
  free_workspace (mlp);
  for (l = 0; l < mlp->n_layers; l++)
    affect_linear_clear (&mlp->layers[l]);
  g_free (mlp->mean);
  g_free (mlp->std);
  g_strfreev (mlp->names);
  g_hash_table_unref (mlp->metadata);
  g_free (mlp);
}

const AffectMlpConfig *
affect_mlp_get_config (const AffectMlp * mlp)
{
  return &mlp->config;
}

char *
affect_mlp_describe (const AffectMlp * mlp)
{
  GString *s = g_string_new (NULL);
  int i;

  for (i = 0; i <= mlp->n_layers; i++)
    g_string_append_printf (s, i ? "-%d" : "%d", mlp->widths[i]);
  return g_string_free (s, FALSE);
}

AffectParam *const *
affect_mlp_params (AffectMlp * mlp, guint * n_params)
{
  if (n_params)
    *n_params = mlp->n_params;
  return mlp->params;
}

void
affect_mlp_set_standardisation (AffectMlp * mlp, const float *mean,
    const float *std)
{
  int i;

  for (i = 0; i < mlp->config.n_inputs; i++) {
    mlp->mean[i] = mean[i];
    mlp->std[i] = std[i] > 1e-8f && isfinite (std[i]) ? std[i] : 1.0f;
  }
}

const float *
affect_mlp_get_mean (const AffectMlp * mlp)
{
  return mlp->mean;
}

const float *
affect_mlp_get_std (const AffectMlp * mlp)
{
  return mlp->std;
}

void
affect_standardisation_compute (const float *x, int n, int d, float *mean,
    float *std)
{
  double *s = g_new0 (double, d), *s2 = g_new0 (double, d);
  int i, j;

  /* two passes: the mean first, then squared deviations from it */
  for (i = 0; i < n; i++)
    for (j = 0; j < d; j++)
      s[j] += x[(size_t) i * d + j];
  for (j = 0; j < d; j++)
    s[j] = n > 0 ? s[j] / n : 0.0;
  for (i = 0; i < n; i++)
    for (j = 0; j < d; j++) {
      double e = x[(size_t) i * d + j] - s[j];
      s2[j] += e * e;
    }
  for (j = 0; j < d; j++) {
    mean[j] = (float) s[j];
    std[j] = n > 0 ? (float) sqrt (s2[j] / n) : 1.0f;
  }
  g_free (s);
  g_free (s2);
}

void
affect_standardise (float *x, int n, int d, const float *mean, const float *std)
{
  int i, j;

  for (i = 0; i < n; i++)
    for (j = 0; j < d; j++) {
      float sd = std[j] > 1e-8f ? std[j] : 1.0f;
      x[(size_t) i * d + j] = (x[(size_t) i * d + j] - mean[j]) / sd;
    }
}

void
affect_mlp_set_names (AffectMlp * mlp, const char *const *names)
{
  g_strfreev (mlp->names);
  mlp->names = g_strdupv ((char **) names);
}

const char *const *
affect_mlp_get_names (const AffectMlp * mlp)
{
  return (const char *const *) mlp->names;
}

void
affect_mlp_set_metadata (AffectMlp * mlp, const char *key, const char *value)
{
  if (value == NULL)
    g_hash_table_remove (mlp->metadata, key);
  else
    g_hash_table_replace (mlp->metadata, g_strdup (key), g_strdup (value));
}

const char *
affect_mlp_get_metadata (const AffectMlp * mlp, const char *key)
{
  return g_hash_table_lookup (mlp->metadata, key);
}

void
mlp_reserve (AffectMlp * mlp, int rows)
{
  int l;

  if (rows <= mlp->capacity)
    return;
  free_workspace (mlp);
  mlp->capacity = rows;
  mlp->in = falloc ((size_t) rows * mlp->config.n_inputs);
  for (l = 0; l < mlp->n_layers; l++) {
    mlp->z[l] = falloc ((size_t) rows * mlp->widths[l + 1]);
    mlp->h[l] = falloc ((size_t) rows * mlp->widths[l + 1]);
    mlp->delta[l] = falloc ((size_t) rows * mlp->widths[l + 1]);
  }
  mlp->scratch_a = falloc ((size_t) rows * mlp->max_width);
  mlp->scratch_b = falloc ((size_t) rows * mlp->max_width);
}

static AffectActivation
layer_activation (AffectMlp * mlp, int l)
{
  return l == mlp->n_layers - 1 ? mlp->config.output_activation :
      mlp->config.hidden_activation;
}

/* element-wise activation passes over a batch, in fixed blocks of 64 K
 * elements on the worker pool (element-wise: the bits do not depend on
 * the split) */
typedef struct
{
  AffectActivation act;
  const float *z, *h, *dy;
  float *out;
  size_t n;
  gboolean backward;
} ActJob;

static void
act_part (int part, int n_parts, gpointer data)
{
  const ActJob *j = data;
  const size_t begin = j->n * part / n_parts;
  const size_t end = j->n * (part + 1) / n_parts;

  if (j->backward)
    affect_activation_backward (j->act, j->z + begin, j->h + begin,
        j->dy + begin, j->out + begin, end - begin);
  else
    affect_activation_forward (j->act, j->z + begin, j->out + begin,
        end - begin);
}

static void
act_backward (AffectActivation act, const float *z, const float *h,
    const float *dy, float *dx, size_t n)
{
  ActJob job = { act, z, h, dy, dx, n, TRUE };
  affect_parallel_run (affect_parallel_blocks (n), act_part, &job);
}

/* ---- fused passes -------------------------------------------------------
 *
 * Each product is cut into the slabs of affect_sgemm (AffectProduct), and
 * whatever is element-wise on a slab's elements is done by the part that
 * made the slab, while the slab is in cache: the forward's bias and
 * activation, the backward's activation derivative, a weight gradient's
 * bias gradient and optimiser update. Every element goes through the same
 * operations as in separate passes, so the bits are those of separate
 * passes; fewer passes over memory and fewer jobs (one per layer instead
 * of four or five) is what changes. */

/* body once per contiguous run of a slab's elements in a row-major
 * n × w array, with o_ the run's offset and c_ its length: a run per row
 * for a slab of columns [s, s + len), one run for a slab of rows */
#define SLAB_FOR_EACH_RUN(by_columns, n, w, s, len, body) \
  G_STMT_START { \
    if (by_columns) { \
      for (int r_ = 0; r_ < (n); r_++) { \
        const size_t o_ = (size_t) r_ * (w) + (s); \
        const size_t c_ = (len); \
        body; \
      } \
    } else { \
      const size_t o_ = (size_t) (s) * (w); \
      const size_t c_ = (size_t) (len) * (w); \
      body; \
    } \
  } G_STMT_END

typedef struct
{
  AffectProduct prod;
  const float *bias;
  AffectActivation act;
  float *z, *h;
  int n, w;
} FwdJob;

static void
fwd_part (int part, int n_parts, gpointer data)
{
  const FwdJob *j = data;
  const AffectProduct *p = &j->prod;
  const int s = part * p->slab, len = MIN (p->slab, p->side - s);

  (void) n_parts;
  if (j->bias != NULL) {
    /* z = b, then the product accumulates onto it */
    if (p->by_columns)
      for (int r = 0; r < j->n; r++)
        memcpy (j->z + (size_t) r * j->w + s, j->bias + s,
            len * sizeof (float));
    else
      for (int r = s; r < s + len; r++)
        memcpy (j->z + (size_t) r * j->w, j->bias, j->w * sizeof (float));
  }
  affect_product_run_part (p, part, NULL, NULL);
  SLAB_FOR_EACH_RUN (p->by_columns, j->n, j->w, s, len,
      affect_activation_forward (j->act, j->z + o_, j->h + o_, c_));
}

/* z = input Wᵀ + b, h = act (z) for n rows */
static void
layer_forward (AffectMlp * mlp, int l, const float *input, float *z,
    float *h, int n)
{
  const AffectLinear *layer = &mlp->layers[l];
  const int in = layer->in_features, out = layer->out_features;
  FwdJob job;

  affect_product_init (&job.prod, FALSE, TRUE, n, out, in, 1.0f, input, in,
      layer->weight.value.data, in, layer->has_bias ? 1.0f : 0.0f, z, out);
  job.bias = layer->has_bias ? layer->bias.value.data : NULL;
  job.act = layer_activation (mlp, l);
  job.z = z;
  job.h = h;
  job.n = n;
  job.w = out;
  affect_parallel_run (job.prod.n_parts, fwd_part, &job);
}

void
mlp_forward_rows (AffectMlp * mlp, const float *xs, int row0, int n)
{
  const float *input;
  int l;

  g_assert (row0 + n <= mlp->capacity);
  input = mlp->in + (size_t) row0 *mlp->widths[0];
  if (xs != input)
    memcpy (mlp->in + (size_t) row0 * mlp->widths[0], xs,
        (size_t) n * mlp->widths[0] * sizeof (float));
  for (l = 0; l < mlp->n_layers; l++) {
    size_t off = (size_t) row0 * mlp->widths[l + 1];
    layer_forward (mlp, l, input, mlp->z[l] + off, mlp->h[l] + off, n);
    input = mlp->h[l] + off;
  }
}

/* The backward is a sequence of tasks, each a product cut into slabs:
 *   DX(l): ∂/∂h of layer l − 1 = δ_l W_l, then (l > 0) times the
 *          activation derivative of layer l − 1: δ_{l−1}, slab by slab;
 *   DW(l): W_l's gradient δ_lᵀ · input, with the bias gradient, and with
 *          an optimiser the update of the slab's weights (and biases).
 * A job runs DX(l) together with DW(l + 1): DW(l + 1) neither reads nor
 * writes what DX(l) does, and W_{l+1}, updated by DW(l + 1), was last
 * read by DX(l + 1) in the job before. */
typedef enum
{
  TASK_DX,
  TASK_DW
} TaskKind;

typedef struct
{
  TaskKind kind;
  AffectProduct prod;
  /* DX: the activation of the layer below (none for the input) */
  gboolean act_after;
  AffectActivation act;
  const float *z, *h;
  /* DW: the bias, its gradient's rows, and the update */
  AffectLinear *layer;
  const float *delta;
  int rows;
  const AffectAdamCoefficients *cw, *cb;
} Task;

#define MAX_TASKS (2 * MLP_MAX_LAYERS)

typedef struct
{
  Task tasks[MAX_TASKS];
  int first[MAX_TASKS + 1];
  int n_tasks;
  AffectAdamCoefficients coef[2 * MLP_MAX_LAYERS];
} BackJob;

static void
dx_part (const Task * t, int part)
{
  const AffectProduct *p = &t->prod;
  const int w = p->ldc;
  int s, len;

  affect_product_run_part (p, part, &s, &len);
  if (t->act_after)
    SLAB_FOR_EACH_RUN (p->by_columns, p->m, w, s, len,
        affect_activation_backward (t->act, t->z + o_, t->h + o_, p->c + o_,
            p->c + o_, c_));
}

/* bias gradient of units [begin, end): column sums of δ in row order
 * (added to the gradient, or written when updating) */
static void
bias_grad (const Task * t, int begin, int end)
{
  float *restrict db = t->layer->bias.grad;
  const int out = t->layer->out_features;

  if (t->cb != NULL)
    memset (db + begin, 0, (size_t) (end - begin) * sizeof (float));
  for (int i = 0; i < t->rows; i++) {
    const float *restrict row = t->delta + (size_t) i * out;
    for (int c = begin; c < end; c++)
      db[c] += row[c];
  }
  if (t->cb != NULL)
    affect_adam_update_range (t->cb, &t->layer->bias, begin, end);
}

static void
dw_part (const Task * t, int part)
{
  const AffectProduct *p = &t->prod;
  AffectParam *w = &t->layer->weight;
  const int in = p->ldc;
  int s, len;

  affect_product_run_part (p, part, &s, &len);
  if (t->cw != NULL)
    SLAB_FOR_EACH_RUN (p->by_columns, p->m, in, s, len,
        affect_adam_update_range (t->cw, w, (int64_t) o_, (int64_t) (o_ + c_)));
  if (t->layer->has_bias) {
    /* the slab's units, or (a slab of columns) every unit in part 0 */
    if (!p->by_columns)
      bias_grad (t, s, s + len);
    else if (part == 0)
      bias_grad (t, 0, p->m);
  }
}

static void
back_part (int part, int n_parts, gpointer data)
{
  const BackJob *j = data;
  int t = 0;

  (void) n_parts;
  while (part >= j->first[t + 1])
    t++;
  if (j->tasks[t].kind == TASK_DX)
    dx_part (&j->tasks[t], part - j->first[t]);
  else
    dw_part (&j->tasks[t], part - j->first[t]);
}

static void
job_reset (BackJob * j)
{
  j->n_tasks = 0;
  j->first[0] = 0;
}

static Task *
job_add (BackJob * j, TaskKind kind)
{
  Task *t = &j->tasks[j->n_tasks];

  g_assert (j->n_tasks < MAX_TASKS);
  memset (t, 0, sizeof (*t));
  t->kind = kind;
  return t;
}

static void
job_commit (BackJob * j)
{
  const Task *t = &j->tasks[j->n_tasks];

  j->first[j->n_tasks + 1] = j->first[j->n_tasks] + t->prod.n_parts;
  j->n_tasks++;
}

static void
job_run (BackJob * j)
{
  affect_parallel_run (j->first[j->n_tasks], back_part, j);
  job_reset (j);
}

/* the rows of layer l's input (l = 0: the network's input) */
static const float *
layer_input (AffectMlp * mlp, int l, int row0)
{
  return l > 0 ? mlp->h[l - 1] + (size_t) row0 *mlp->widths[l] :
      mlp->in + (size_t) row0 *mlp->widths[0];
}

/* DX(l) over rows [row0, row0 + n): into δ_{l−1} (l > 0) or dx */
static void
add_dx (BackJob * j, AffectMlp * mlp, int l, int row0, int n, float *dx)
{
  const AffectLinear *layer = &mlp->layers[l];
  const int in = layer->in_features, out = layer->out_features;
  Task *t = job_add (j, TASK_DX);
  float *dinput = l > 0 ? mlp->delta[l - 1] + (size_t) row0 * in : dx;

  affect_product_init (&t->prod, FALSE, FALSE, n, in, out, 1.0f,
      mlp->delta[l] + (size_t) row0 * out, out, layer->weight.value.data,
      in, 0.0f, dinput, in);
  if (l > 0) {
    t->act_after = TRUE;
    t->act = layer_activation (mlp, l - 1);
    t->z = mlp->z[l - 1] + (size_t) row0 *in;
    t->h = mlp->h[l - 1] + (size_t) row0 *in;
  }
  job_commit (j);
}

/* DW(l) over rows [row0, row0 + n), added to the gradients, or written
 * and applied by Adam when opt is not NULL */
static void
add_dw (BackJob * j, AffectMlp * mlp, int l, int row0, int n,
    const AffectOptimizer * opt)
{
  AffectLinear *layer = &mlp->layers[l];
  const int in = layer->in_features, out = layer->out_features;
  Task *t = job_add (j, TASK_DW);

  t->layer = layer;
  t->delta = mlp->delta[l] + (size_t) row0 *out;
  t->rows = n;
  affect_product_init (&t->prod, TRUE, FALSE, out, in, n, 1.0f, t->delta,
      out, layer_input (mlp, l, row0), in, opt != NULL ? 0.0f : 1.0f,
      layer->weight.grad, in);
  if (opt != NULL) {
    affect_adam_coefficients (opt, &layer->weight, &j->coef[2 * l]);
    t->cw = &j->coef[2 * l];
    if (layer->has_bias) {
      affect_adam_coefficients (opt, &layer->bias, &j->coef[2 * l + 1]);
      t->cb = &j->coef[2 * l + 1];
    }
  }
  job_commit (j);
}

/* δ of the top layer from dy */
static void
top_delta (AffectMlp * mlp, const float *dy, gboolean at_preactivation,
    int row0, int n)
{
  const int l = mlp->n_layers - 1;
  const size_t off = (size_t) row0 * mlp->widths[l + 1];
  const size_t count = (size_t) n * mlp->widths[l + 1];
  float *delta = mlp->delta[l] + off;

  if (at_preactivation)
    memcpy (delta, dy, count * sizeof (float));
  else
    act_backward (layer_activation (mlp, l), mlp->z[l] + off,
        mlp->h[l] + off, dy, delta, count);
}

/* the backward over rows [row0, row0 + n); the deltas stay in mlp->delta;
 * weight gradients when param_grads (with opt: written and applied) */
static void
backward (AffectMlp * mlp, const float *dy, gboolean at_preactivation,
    int row0, int n, gboolean param_grads, const AffectOptimizer * opt,
    float *dx)
{
  BackJob job;
  int l, pending = -1;

  g_assert (row0 + n <= mlp->capacity);
  job_reset (&job);
  top_delta (mlp, dy, at_preactivation, row0, n);
  for (l = mlp->n_layers - 1; l >= 0; l--) {
    if (pending >= 0)
      add_dw (&job, mlp, pending, row0, n, opt);
    pending = -1;
    if (l > 0 || dx != NULL) {
      add_dx (&job, mlp, l, row0, n, dx);
      if (param_grads)
        pending = l;
    } else if (param_grads) {
      add_dw (&job, mlp, l, row0, n, opt);
    }
    job_run (&job);
  }
  if (pending >= 0) {
    add_dw (&job, mlp, pending, row0, n, opt);
    job_run (&job);
  }
}

void
mlp_backward_rows (AffectMlp * mlp, const float *dy,
    gboolean at_preactivation, int row0, int n, gboolean param_grads, float *dx)
{
  backward (mlp, dy, at_preactivation, row0, n, param_grads, NULL, dx);
}

void
mlp_backward_update_rows (AffectMlp * mlp, const float *dy,
    gboolean at_preactivation, int row0, int n, const AffectOptimizer * opt)
{
  backward (mlp, dy, at_preactivation, row0, n, TRUE, opt, NULL);
}

void
mlp_deltas_rows (AffectMlp * mlp, const float *dy, gboolean at_preactivation,
    int row0, int n, float *dx)
{
  backward (mlp, dy, at_preactivation, row0, n, FALSE, NULL, dx);
}

void
mlp_param_grads_rows (AffectMlp * mlp, int row0, int n,
    const AffectOptimizer * opt)
{
  BackJob job;
  int l;

  /* every layer's gradient in one job: the deltas are all there */
  job_reset (&job);
  for (l = 0; l < mlp->n_layers; l++)
    add_dw (&job, mlp, l, row0, n, opt);
  job_run (&job);
}

void
mlp_jvp_rows (AffectMlp * mlp, const float *v, int row0, int n, float *t)
{
  const float *tangent = v;
  float *a = mlp->scratch_a, *b = mlp->scratch_b;
  int l;

  for (l = 0; l < mlp->n_layers; l++) {
    size_t off = (size_t) row0 * mlp->widths[l + 1];
    size_t count = (size_t) n * mlp->widths[l + 1];
    float *out = l == mlp->n_layers - 1 ? t : a;

    /* the tangent goes through the linear map without the bias, then
     * through the activation's derivative at the forward's z */
    affect_linear_apply (&mlp->layers[l], tangent, out, n, FALSE, 0.0f);
    act_backward (layer_activation (mlp, l), mlp->z[l] + off,
        mlp->h[l] + off, out, out, count);
    tangent = out;
    {
      float *s = a;
      a = b;
      b = s;
    }
  }
}

void
affect_mlp_predict_standardised (AffectMlp * mlp, const float *xs, float *y,
    int n)
{
  const int chunk = 256;
  int i;

  mlp_reserve (mlp, MIN (MAX (n, 1), chunk));
  for (i = 0; i < n; i += chunk) {
    int m = MIN (chunk, n - i);
    mlp_forward_rows (mlp, xs + (size_t) i * mlp->config.n_inputs, 0, m);
    memcpy (y + (size_t) i * mlp->config.n_outputs, mlp_output_rows (mlp, 0),
        (size_t) m * mlp->config.n_outputs * sizeof (float));
  }
}

void
affect_mlp_predict (AffectMlp * mlp, const float *x, float *y, int n)
{
  const int d = mlp->config.n_inputs;
  const int chunk = 256;
  int i;

  mlp_reserve (mlp, MIN (MAX (n, 1), chunk));
  for (i = 0; i < n; i += chunk) {
    int m = MIN (chunk, n - i);
    memcpy (mlp->in, x + (size_t) i * d, (size_t) m * d * sizeof (float));
    affect_standardise (mlp->in, m, d, mlp->mean, mlp->std);
    mlp_forward_rows (mlp, mlp->in, 0, m);
    memcpy (y + (size_t) i * mlp->config.n_outputs, mlp_output_rows (mlp, 0),
        (size_t) m * mlp->config.n_outputs * sizeof (float));
  }
}

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
act_forward (AffectActivation act, const float *z, float *h, size_t n)
{
  ActJob job = { act, z, NULL, NULL, h, n, FALSE };
  affect_parallel_run (affect_parallel_blocks (n), act_part, &job);
}

static void
act_backward (AffectActivation act, const float *z, const float *h,
    const float *dy, float *dx, size_t n)
{
  ActJob job = { act, z, h, dy, dx, n, TRUE };
  affect_parallel_run (affect_parallel_blocks (n), act_part, &job);
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
    size_t count = (size_t) n * mlp->widths[l + 1];
    affect_linear_apply (&mlp->layers[l], input, mlp->z[l] + off, n, TRUE,
        0.0f);
    act_forward (layer_activation (mlp, l), mlp->z[l] + off,
        mlp->h[l] + off, count);
    input = mlp->h[l] + off;
  }
}

void
mlp_backward_rows (AffectMlp * mlp, const float *dy,
    gboolean at_preactivation, int row0, int n, gboolean param_grads, float *dx)
{
  float *delta = mlp->scratch_a, *next = mlp->scratch_b;
  int l;

  g_assert (row0 + n <= mlp->capacity);
  for (l = mlp->n_layers - 1; l >= 0; l--) {
    size_t off = (size_t) row0 * mlp->widths[l + 1];
    size_t count = (size_t) n * mlp->widths[l + 1];
    const float *input = l > 0 ?
        mlp->h[l - 1] + (size_t) row0 * mlp->widths[l] :
        mlp->in + (size_t) row0 * mlp->widths[0];
    float *dinput;

    /* delta = ∂/∂z of this layer */
    if (l == mlp->n_layers - 1) {
      if (at_preactivation)
        memcpy (delta, dy, count * sizeof (float));
      else
        act_backward (layer_activation (mlp, l),
            mlp->z[l] + off, mlp->h[l] + off, dy, delta, count);
    } else {
      act_backward (layer_activation (mlp, l), mlp->z[l] + off,
          mlp->h[l] + off, delta, delta, count);
    }
    dinput = l > 0 ? next : dx;
    affect_linear_grad (&mlp->layers[l], input, delta, dinput, n, param_grads);
    if (l > 0) {
      float *t = delta;
      delta = next;
      next = t;
    }
  }
}

void
mlp_deltas_rows (AffectMlp * mlp, const float *dy, gboolean at_preactivation,
    int row0, int n, float *dx)
{
  int l;

  g_assert (row0 + n <= mlp->capacity);
  for (l = mlp->n_layers - 1; l >= 0; l--) {
    size_t off = (size_t) row0 * mlp->widths[l + 1];
    size_t count = (size_t) n * mlp->widths[l + 1];
    float *delta = mlp->delta[l] + off;

    if (l == mlp->n_layers - 1) {
      if (at_preactivation)
        memcpy (delta, dy, count * sizeof (float));
      else
        act_backward (layer_activation (mlp, l),
            mlp->z[l] + off, mlp->h[l] + off, dy, delta, count);
    } else {
      /* delta holds W_{l+1}ᵀ δ_{l+1}, written by the layer above */
      act_backward (layer_activation (mlp, l), mlp->z[l] + off,
          mlp->h[l] + off, delta, delta, count);
    }
    if (l > 0)
      affect_linear_grad (&mlp->layers[l], NULL, delta,
          mlp->delta[l - 1] + (size_t) row0 * mlp->widths[l], n, FALSE);
    else if (dx != NULL)
      affect_linear_grad (&mlp->layers[0], NULL, delta, dx, n, FALSE);
  }
}

void
mlp_param_grads_rows (AffectMlp * mlp, int row0, int n)
{
  int l;

  for (l = 0; l < mlp->n_layers; l++) {
    const float *input = l > 0 ?
        mlp->h[l - 1] + (size_t) row0 * mlp->widths[l] :
        mlp->in + (size_t) row0 * mlp->widths[0];
    affect_linear_grad (&mlp->layers[l], input,
        mlp->delta[l] + (size_t) row0 * mlp->widths[l + 1], NULL, n, TRUE);
  }
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

/* AffectRegressor: one multi-output MLP or one MLP per target, with names
 * and training ranges; and the parsers the training elements share. */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/regressor.h"

struct _AffectRegressor
{
  char **names;                 /* outputs, in order */
  guint n_targets;
  AffectMlp **models;           /* 1 (multi-output) or n_targets */
  guint n_models;
  double *lo, *hi;              /* per target, NaN when unknown */
  GArray *held;                 /* per-stream: the stream's vectors */
};

char **
affect_split_names (const char *list)
{
  char **parts = g_strsplit (list ? list : "", ",", -1);
  GPtrArray *out = g_ptr_array_new ();
  guint i;

  for (i = 0; parts[i] != NULL; i++) {
    char *s = g_strstrip (parts[i]);
    if (*s != '\0')
      g_ptr_array_add (out, g_strdup (s));
  }
  g_strfreev (parts);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

/* the k-th value of a comma-separated metadata list, NaN if absent */
static double
metadata_value (const AffectMlp * mlp, const char *key, guint k)
{
  const char *list = affect_mlp_get_metadata (mlp, key);
  char **parts = g_strsplit (list ? list : "", ",", -1);
  double v = NAN;
  char *end;

  if (k < g_strv_length (parts)) {
    v = g_ascii_strtod (parts[k], &end);
    if (end == parts[k] || !isfinite (v))
      v = NAN;
  }
  g_strfreev (parts);
  return v;
}

AffectRegressor *
affect_regressor_load (const char *path, gboolean multi_output,
    const char *targets, GError ** error)
{
  AffectRegressor *r = g_new0 (AffectRegressor, 1);
  guint i;

  if (multi_output) {
    const char *const *names;
    r->models = g_new0 (AffectMlp *, 1);
    r->n_models = 1;
    if ((r->models[0] = affect_mlp_load (path, error)) == NULL)
      goto fail;
    names = affect_mlp_get_names (r->models[0]);
    r->names = names ? g_strdupv ((char **) names) :
        affect_split_names (targets);
    if (g_strv_length (r->names) !=
        (guint) affect_mlp_get_config (r->models[0])->n_outputs) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
          "Model %s has %d outputs but targets=\"%s\" names %u.", path,
          affect_mlp_get_config (r->models[0])->n_outputs, targets,
          g_strv_length (r->names));
      goto fail;
    }
  } else {
    r->names = affect_split_names (targets);
    r->n_models = g_strv_length (r->names);
    r->models = g_new0 (AffectMlp *, r->n_models);
    for (i = 0; i < r->n_models; i++) {
      char *file = affect_mlp_target_path (path, r->names[i]);
      r->models[i] = affect_mlp_load (file, error);
      g_free (file);
      if (r->models[i] == NULL)
        goto fail;
      if (affect_mlp_get_config (r->models[i])->n_outputs != 1) {
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
            "Per-target model for \"%s\" has %d outputs, expected 1.",
            r->names[i], affect_mlp_get_config (r->models[i])->n_outputs);
        goto fail;
      }
    }
  }
  r->n_targets = g_strv_length (r->names);
  if (r->n_models == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "No targets named in \"%s\".", targets ? targets : "");
    goto fail;
  }
  r->lo = g_new (double, r->n_targets);
  r->hi = g_new (double, r->n_targets);
  for (i = 0; i < r->n_targets; i++) {
    const AffectMlp *m = r->models[r->n_models == 1 ? 0 : i];
    guint k = r->n_models == 1 ? i : 0;
    r->lo[i] = metadata_value (m, "target-min", k);
    r->hi[i] = metadata_value (m, "target-max", k);
  }
  return r;

fail:
  affect_regressor_free (r);
  return NULL;
}

void
affect_regressor_free (AffectRegressor * r)
{
  guint i;

  if (r == NULL)
    return;
  for (i = 0; i < r->n_models; i++)
    affect_mlp_free (r->models[i]);
  g_free (r->models);
  g_strfreev (r->names);
  g_free (r->lo);
  g_free (r->hi);
  if (r->held)
    g_array_unref (r->held);
  g_free (r);
}

const char *const *
affect_regressor_names (const AffectRegressor * r)
{
  return (const char *const *) r->names;
}

guint
affect_regressor_n_targets (const AffectRegressor * r)
{
  return r->n_targets;
}

const AffectMlp *
affect_regressor_model (const AffectRegressor * r)
{
  return r->models[0];
}

void
affect_regressor_range (const AffectRegressor * r, guint t, double *lo,
    double *hi)
{
  *lo = r->lo[t];
  *hi = r->hi[t];
}

void
affect_regressor_predict (AffectRegressor * r, const float *x, float *y,
    int n, const float *mean, const float *std)
{
  const int d = affect_mlp_get_config (r->models[0])->n_inputs;
  const int k = (int) r->n_targets;
  float *xs = NULL, *col = NULL;
  guint m;
  int i;

  if (mean != NULL) {
    xs = g_memdup2 (x, (size_t) n * d * sizeof (float));
    affect_standardise (xs, n, d, mean, std);
  }
  if (r->n_models == 1) {
    if (xs)
      affect_mlp_predict_standardised (r->models[0], xs, y, n);
    else
      affect_mlp_predict (r->models[0], x, y, n);
  } else {
    col = g_new (float, n);
    for (m = 0; m < r->n_models; m++) {
      if (xs)
        affect_mlp_predict_standardised (r->models[m], xs, col, n);
      else
        affect_mlp_predict (r->models[m], x, col, n);
      for (i = 0; i < n; i++)
        y[(size_t) i * k + m] = col[i];
    }
  }
  g_free (xs);
  g_free (col);
}

char *
affect_regressor_far_outside (const AffectRegressor * r, const float *y)
{
  GString *far = NULL;
  guint i;

  for (i = 0; i < r->n_targets; i++) {
    double lo = r->lo[i], hi = r->hi[i];
    double margin = hi - lo > 0 ? hi - lo : MAX (1.0, fabs (hi));

    if (isfinite (lo) && isfinite (hi) && (y[i] < lo - margin
            || y[i] > hi + margin)) {
      if (far == NULL)
        far = g_string_new (NULL);
      g_string_append_printf (far, "%s%s = %g (trained on [%g, %g])",
          far->len ? ", " : "", r->names[i], y[i], lo, hi);
    }
  }
  return far ? g_string_free (far, FALSE) : NULL;
}

gboolean
affect_vector_is_finite (const float *x, guint n)
{
  guint i;

  for (i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

void
affect_target_range_update (AffectTargetRange ** range, const float *t, guint k)
{
  AffectTargetRange *r = *range;
  const gboolean seen = r != NULL;

  if (r == NULL) {
    r = *range = g_new (AffectTargetRange, 1);
    r->k = k;
    r->lo = g_new (double, k);
    r->hi = g_new (double, k);
  }
  for (guint i = 0; i < k; i++) {
    r->lo[i] = seen ? MIN (r->lo[i], t[i]) : t[i];
    r->hi[i] = seen ? MAX (r->hi[i], t[i]) : t[i];
  }
}

void
affect_target_range_free (AffectTargetRange * range)
{
  if (range == NULL)
    return;
  g_free (range->lo);
  g_free (range->hi);
  g_free (range);
}

void
affect_mlp_set_target_range (AffectMlp * mlp, const AffectTargetRange * range,
    guint t0, guint t1)
{
  GString *los, *his;
  char num[G_ASCII_DTOSTR_BUF_SIZE];
  const double *lo, *hi;
  guint t;

  if (range == NULL)
    return;
  los = g_string_new (NULL);
  his = g_string_new (NULL);
  lo = range->lo;
  hi = range->hi;
  for (t = t0; t < t1; t++) {
    g_string_append_printf (los, "%s%s", t > t0 ? "," : "",
        g_ascii_formatd (num, sizeof (num), "%.9g", lo[t]));
    g_string_append_printf (his, "%s%s", t > t0 ? "," : "",
        g_ascii_formatd (num, sizeof (num), "%.9g", hi[t]));
  }
  affect_mlp_set_metadata (mlp, "target-min", los->str);
  affect_mlp_set_metadata (mlp, "target-max", his->str);
  g_string_free (los, TRUE);
  g_string_free (his, TRUE);
}

gboolean
affect_mlp_parse_hidden (const char *list, AffectMlpConfig * config)
{
  char **parts;
  int i, n = 0;
  gboolean ok = TRUE;

  config->n_hidden = 0;
  if (list == NULL || *list == '\0')
    return TRUE;
  parts = g_strsplit (list, ",", -1);
  for (i = 0; parts[i] != NULL; i++) {
    char *end;
    gint64 v = g_ascii_strtoll (g_strstrip (parts[i]), &end, 10);
    if (*parts[i] == '\0' || *end != '\0' || v <= 0 || v > 1 << 20
        || n >= AFFECT_MLP_MAX_HIDDEN) {
      ok = FALSE;
      break;
    }
    config->hidden[n++] = (int) v;
  }
  g_strfreev (parts);
  config->n_hidden = ok ? n : 0;
  return ok;
}

char *
affect_mlp_target_path (const char *path, const char *target)
{
  const char *dot = strrchr (path, '.');
  const char *slash = strrchr (path, G_DIR_SEPARATOR);

  if (dot == NULL || (slash != NULL && dot < slash))
    return g_strdup_printf ("%s-%s", path, target);
  return g_strdup_printf ("%.*s-%s%s", (int) (dot - path), path, target, dot);
}

gboolean
affect_parse_label (const char *text, double *value)
{
  static const char *const words[2][7] = {
    {"false", "no", "scripted", "script", "read", "acted", NULL},
    {"true", "yes", "spontaneous", "improvised", "improvisation", "impro",
        NULL}
  };
  char *end;
  double v;
  int k, i;

  if (text == NULL)
    return FALSE;
  v = g_ascii_strtod (text, &end);
  if (end != text && *end == '\0') {
    *value = v;
    return TRUE;
  }
  for (k = 0; k < 2; k++)
    for (i = 0; words[k][i]; i++)
      if (g_ascii_strcasecmp (text, words[k][i]) == 0) {
        *value = k;
        return TRUE;
      }
  return FALSE;
}

gboolean
affect_mlp_check_stream (const AffectMlp * model, const char *path, guint n,
    const char *feature, gboolean check_feature, int rate, GError ** error)
{
  const char *model_feature = affect_mlp_get_metadata (model, "feature");
  const char *model_rate = affect_mlp_get_metadata (model, "sample-rate");

  if (n != (guint) affect_mlp_get_config (model)->n_inputs) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "Model %s expects %d features per vector, the stream has %u.", path,
        affect_mlp_get_config (model)->n_inputs, n);
    return FALSE;
  }
  if (check_feature && feature && model_feature
      && strcmp (feature, model_feature) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "Model %s was trained on feature=%s, the stream carries feature=%s.",
        path, model_feature, feature);
    return FALSE;
  }
  if (model_rate != NULL && rate > 0
      && g_ascii_strtoll (model_rate, NULL, 10) != rate) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "Model %s was trained on features of sample-rate=%s Hz, the "
        "stream's are sample-rate=%d Hz.", path, model_rate, rate);
    return FALSE;
  }
  return TRUE;
}

void
affect_regressor_predict_stream (AffectRegressor * r, const float *x,
    float *y, int n)
{
  const int d = affect_mlp_get_config (r->models[0])->n_inputs;
  float *mean = g_new (float, d), *std = g_new (float, d);

  if (n > 0) {
    affect_standardisation_compute (x, n, d, mean, std);
    affect_regressor_predict (r, x, y, n, mean, std);
  }
  g_free (mean);
  g_free (std);
}

void
affect_regressor_hold (AffectRegressor * r, const float *x)
{
  if (r->held == NULL)
    r->held = g_array_new (FALSE, FALSE, sizeof (float));
  g_array_append_vals (r->held, x,
      affect_mlp_get_config (r->models[0])->n_inputs);
}

float *
affect_regressor_predict_held (AffectRegressor * r, guint * n)
{
  const guint d = affect_mlp_get_config (r->models[0])->n_inputs;
  float *y;

  *n = r->held ? r->held->len / d : 0;
  if (*n == 0)
    return NULL;
  y = g_new (float, (gsize) * n * r->n_targets);
  affect_regressor_predict_stream (r, (const float *) r->held->data, y,
      (int) *n);
  affect_regressor_drop_held (r);
  return y;
}

void
affect_regressor_drop_held (AffectRegressor * r)
{
  if (r != NULL && r->held != NULL)
    g_array_set_size (r->held, 0);
}

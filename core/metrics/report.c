/* Metric reports: the JSON object of docs/metrics.md, MediaEval's results
 * table and its per-tag thresholds file. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "affect/metrics.h"

/* undefined values are JSON null, never NaN */
static void
add_double (JsonBuilder * b, const char *name, double v)
{
  if (name)
    json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_uint (JsonBuilder * b, const char *name, guint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, (gint64) v);
}

static void
add_averages (JsonBuilder * b, const AffectMetricsResult * r, gboolean micro)
{
  json_builder_set_member_name (b, micro ? "micro" : "macro");
  json_builder_begin_object (b);
  add_double (b, "roc_auc", micro ? r->roc_auc_micro : r->roc_auc_macro);
  add_double (b, "pr_auc", micro ? r->pr_auc_micro : r->pr_auc_macro);
  add_double (b, "precision", micro ? r->precision_micro : r->precision_macro);
  add_double (b, "recall", micro ? r->recall_micro : r->recall_macro);
  add_double (b, "f1", micro ? r->f1_micro : r->f1_macro);
  if (!micro) {
    add_uint (b, "roc_auc_outputs", r->roc_auc_defined);
    add_uint (b, "prf_outputs", r->macro_labels);
  }
  json_builder_end_object (b);
}

static void
add_matrix (JsonBuilder * b, const char *name, guint k,
    const guint64 * counts, const double *values)
{
  guint i, j;

  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (i = 0; i < k; i++) {
    json_builder_begin_array (b);
    for (j = 0; j < k; j++) {
      if (counts)
        json_builder_add_int_value (b, (gint64) counts[i * k + j]);
      else
        add_double (b, NULL, values[i * k + j]);
    }
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
}

static const char *mediaeval_names[] = {
  "ROC-AUC-macro", "PR-AUC-macro", "precision-macro", "recall-macro",
  "F-score-macro", "ROC-AUC-micro", "PR-AUC-micro", "precision-micro",
  "recall-micro", "F-score-micro"
};

static void
mediaeval_values (const AffectMetricsResult * r, double v[10])
{
  v[0] = r->roc_auc_macro;
  v[1] = r->pr_auc_macro;
  v[2] = r->precision_macro;
  v[3] = r->recall_macro;
  v[4] = r->f1_macro;
  v[5] = r->roc_auc_micro;
  v[6] = r->pr_auc_micro;
  v[7] = r->precision_micro;
  v[8] = r->recall_micro;
  v[9] = r->f1_micro;
}

JsonNode *
affect_metrics_result_to_json (const AffectMetricsResult * r)
{
  JsonBuilder *b = json_builder_new ();
  JsonNode *node;
  guint i, k = r->n_outputs;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "task");
  json_builder_add_string_value (b, affect_metrics_task_to_string (r->task));
  add_uint (b, "n_items", r->n_items);
  json_builder_set_member_name (b, "outputs");
  json_builder_begin_array (b);
  for (i = 0; i < k; i++)
    json_builder_add_string_value (b, r->names[i]);
  json_builder_end_array (b);

  if (r->task != AFFECT_METRICS_REGRESSION) {
    double v[10];

    json_builder_set_member_name (b, "decision");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "rule");
    json_builder_add_string_value (b,
        affect_decision_rule_to_string (r->decision_rule));
    if (r->thresholds) {
      json_builder_set_member_name (b, "thresholds");
      json_builder_begin_array (b);
      for (i = 0; i < k; i++)
        add_double (b, NULL, r->thresholds[i]);
      json_builder_end_array (b);
    }
    json_builder_end_object (b);
    add_averages (b, r, FALSE);
    add_averages (b, r, TRUE);
    json_builder_set_member_name (b, "mediaeval");
    json_builder_begin_object (b);
    mediaeval_values (r, v);
    for (i = 0; i < G_N_ELEMENTS (mediaeval_names); i++)
      add_double (b, mediaeval_names[i], v[i]);
    json_builder_end_object (b);
  }
  if (r->task == AFFECT_METRICS_CLASS) {
    add_double (b, "accuracy", r->accuracy);
    json_builder_set_member_name (b, "confusion");
    json_builder_begin_object (b);
    add_matrix (b, "counts", k, r->confusion, NULL);
    add_matrix (b, "normalised", k, NULL, r->confusion_normalised);
    json_builder_end_object (b);
  }
  if (r->task == AFFECT_METRICS_REGRESSION)
    add_double (b, "mae_mean", r->mae_mean);

  json_builder_set_member_name (b, "per_output");
  json_builder_begin_array (b);
  for (i = 0; i < k; i++) {
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, r->names[i]);
    if (r->task == AFFECT_METRICS_REGRESSION) {
      add_double (b, "mae", r->mae[i]);
      add_double (b, "rmse", r->rmse[i]);
      add_double (b, "pearson", r->pearson[i]);
      add_double (b, "ccc", r->ccc[i]);
    } else {
      add_uint (b, "support", r->support[i]);
      add_double (b, "roc_auc", r->roc_auc[i]);
      add_double (b, "pr_auc", r->pr_auc[i]);
      if (r->thresholds)
        add_double (b, "threshold", r->thresholds[i]);
      add_double (b, "precision", r->precision[i]);
      add_double (b, "recall", r->recall[i]);
      add_double (b, "f1", r->f1[i]);
      add_uint (b, "tp", r->tp[i]);
      add_uint (b, "fp", r->fp[i]);
      add_uint (b, "fn", r->fn[i]);
    }
    json_builder_end_object (b);
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "warnings");
  json_builder_begin_array (b);
  for (i = 0; i < r->warnings->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (r->warnings, i));
  json_builder_end_array (b);
  json_builder_end_object (b);

  node = json_builder_get_root (b);
  g_object_unref (b);
  return node;
}

gchar *
affect_metrics_result_mediaeval_table (const AffectMetricsResult * r)
{
  GString *s = g_string_new (NULL);
  double v[10];
  guint i;

  if (r->task == AFFECT_METRICS_REGRESSION) {
    for (i = 0; i < r->n_outputs; i++)
      g_string_append_printf (s, "MAE-%s\t%.6f\n", r->names[i], r->mae[i]);
    g_string_append_printf (s, "MAE-mean\t%.6f\n", r->mae_mean);
    return g_string_free (s, FALSE);
  }
  mediaeval_values (r, v);
  for (i = 0; i < G_N_ELEMENTS (mediaeval_names); i++)
    g_string_append_printf (s, "%s\t%.6f\n", mediaeval_names[i], v[i]);
  if (r->task == AFFECT_METRICS_CLASS)
    g_string_append_printf (s, "accuracy\t%.6f\n", r->accuracy);
  return g_string_free (s, FALSE);
}

gboolean
affect_thresholds_read (const char *path, guint n_outputs,
    const char *const *names, double *thresholds, GError ** error)
{
  gchar *text = NULL, **lines;
  gboolean *seen, ok = TRUE;
  guint i, n = 0, li;

  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  g_free (text);
  seen = g_new0 (gboolean, n_outputs);
  for (li = 0; ok && lines[li]; li++) {
    gchar *line = g_strstrip (lines[li]), *tab, *end;
    const gchar *value = line;
    gint col = n;
    double v;

    if (*line == '\0' || *line == '#')
      continue;
    tab = strrchr (line, '\t');
    if (tab) {
      *tab = '\0';
      value = tab + 1;
      col = -1;
      for (i = 0; i < n_outputs && names; i++)
        if (g_strcmp0 (names[i], g_strstrip (line)) == 0)
          col = i;
      if (col < 0) {
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
            "%s:%u: '%s' is not one of the %u outputs", path, li + 1, line,
            n_outputs);
        ok = FALSE;
        break;
      }
    }
    errno = 0;
    v = g_ascii_strtod (value, &end);
    if (errno || end == value || *end != '\0' || !isfinite (v)) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
          "%s:%u: '%s' is not a number", path, li + 1, value);
      ok = FALSE;
      break;
    }
    if ((guint) col >= n_outputs) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
          "%s: more than %u thresholds", path, n_outputs);
      ok = FALSE;
      break;
    }
    thresholds[col] = v;
    seen[col] = TRUE;
    n++;
  }
  for (i = 0; ok && i < n_outputs; i++)
    if (!seen[i]) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
          "%s: no threshold for '%s'", path, names ? names[i] : "?");
      ok = FALSE;
    }
  g_free (seen);
  g_strfreev (lines);
  return ok;
}

gboolean
affect_thresholds_write (const char *path, guint n_outputs,
    const char *const *names, const double *thresholds, GError ** error)
{
  GString *s = g_string_new (NULL);
  gboolean ok;
  guint i;

  for (i = 0; i < n_outputs; i++) {
    gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
    int digits;
    /* the shortest text that reads back to the same double, as Python
     * writes it */
    for (digits = 1; digits < 17; digits++) {
      gchar format[8];
      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buf, sizeof buf, format, thresholds[i]);
      if (g_ascii_strtod (buf, NULL) == thresholds[i])
        break;
    }
    if (digits == 17)
      g_ascii_dtostr (buf, sizeof buf, thresholds[i]);
    g_string_append_printf (s, "%s\t%s\n", names[i], buf);
  }
  ok = affect_file_set_contents_atomic (path, s->str, s->len, error);
  g_string_free (s, TRUE);
  return ok;
}

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
#include "metrics-private.h"

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
add_averages (JsonBuilder * b, const AffectMetricsResult * r, gboolean micro,
    gboolean ranks)
{
  json_builder_set_member_name (b, micro ? "micro" : "macro");
  json_builder_begin_object (b);
  if (ranks) {
    add_double (b, "roc_auc", micro ? r->roc_auc_micro : r->roc_auc_macro);
    add_double (b, "pr_auc", micro ? r->pr_auc_micro : r->pr_auc_macro);
  }
  add_double (b, "precision", micro ? r->precision_micro : r->precision_macro);
  add_double (b, "recall", micro ? r->recall_micro : r->recall_macro);
  add_double (b, "f1", micro ? r->f1_micro : r->f1_macro);
  if (!micro) {
    if (ranks)
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

static void
add_doubles (JsonBuilder * b, const char *name, const double *v, guint n)
{
  guint i;

  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (i = 0; i < n; i++)
    add_double (b, NULL, v[i]);
  json_builder_end_array (b);
}

/* the constant prediction made from the training items */
static void
add_baseline (JsonBuilder * b, const AffectMetricsResult * r)
{
  json_builder_set_member_name (b, "baseline");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "rule");
  if (r->task == AFFECT_METRICS_CLASS) {
    json_builder_add_string_value (b, "majority-class");
    json_builder_set_member_name (b, "class");
    json_builder_add_string_value (b, r->names[r->baseline_class]);
    add_double (b, "accuracy", r->baseline_accuracy);
    add_double (b, "balanced_accuracy", r->baseline_balanced_accuracy);
    add_double (b, "f1_macro", r->baseline_f1_macro);
  } else {
    json_builder_add_string_value (b, "training-mean");
    add_doubles (b, "mean", r->baseline_mean, r->n_outputs);
    add_doubles (b, "mae", r->baseline_mae, r->n_outputs);
    add_doubles (b, "rmse", r->baseline_rmse, r->n_outputs);
    add_double (b, "mae_mean", r->baseline_mae_mean);
  }
  json_builder_end_object (b);
}

static JsonNode *result_json (const AffectMetricsResult * r, gboolean ranks);

JsonNode *
affect_metrics_result_to_json (const AffectMetricsResult * r)
{
  return result_json (r, TRUE);
}

JsonNode *
affect_metrics_class_result_to_json (const AffectMetricsResult * r)
{
  return result_json (r, FALSE);
}

/* ranks FALSE: a single-label result without its rank metrics (the gate,
 * whose only score is its decision) */
static JsonNode *
result_json (const AffectMetricsResult * r, gboolean ranks)
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

  if (r->task != AFFECT_METRICS_REGRESSION && !ranks) {
    add_averages (b, r, FALSE, FALSE);
  } else if (r->task != AFFECT_METRICS_REGRESSION) {
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
    add_averages (b, r, FALSE, TRUE);
    add_averages (b, r, TRUE, TRUE);
    json_builder_set_member_name (b, "mediaeval");
    json_builder_begin_object (b);
    mediaeval_values (r, v);
    for (i = 0; i < G_N_ELEMENTS (mediaeval_names); i++)
      add_double (b, mediaeval_names[i], v[i]);
    json_builder_end_object (b);
  }
  if (r->task == AFFECT_METRICS_CLASS) {
    add_double (b, "accuracy", r->accuracy);
    add_double (b, "balanced_accuracy", r->balanced_accuracy);
    add_uint (b, "balanced_outputs", r->balanced_labels);
    json_builder_set_member_name (b, "confusion");
    json_builder_begin_object (b);
    add_matrix (b, "counts", k, r->confusion, NULL);
    add_matrix (b, "normalised", k, NULL, r->confusion_normalised);
    json_builder_end_object (b);
  }
  if (r->task == AFFECT_METRICS_REGRESSION)
    add_double (b, "mae_mean", r->mae_mean);
  if (r->has_baseline)
    add_baseline (b, r);

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
      if (ranks) {
        add_double (b, "roc_auc", r->roc_auc[i]);
        add_double (b, "pr_auc", r->pr_auc[i]);
      }
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

/* ---- results table ---------------------------------------------------- */

typedef struct
{
  gchar *label;
  GPtrArray *metrics;           /* gchar* names */
  GArray *values;               /* double; NaN = undefined */
} TableRow;

static TableRow *
row_new (const gchar * label)
{
  TableRow *row = g_new0 (TableRow, 1);

  row->label = g_strdup (label);
  row->metrics = g_ptr_array_new_with_free_func (g_free);
  row->values = g_array_new (FALSE, FALSE, sizeof (double));
  return row;
}

static void
row_free (TableRow * row)
{
  g_free (row->label);
  g_ptr_array_unref (row->metrics);
  g_array_unref (row->values);
  g_free (row);
}

static void
row_add (TableRow * row, gchar * metric, double v)
{
  g_ptr_array_add (row->metrics, metric);
  g_array_append_val (row->values, v);
}

/* a member's number; NaN when absent or null */
static double
member_double (JsonObject * o, const gchar * name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;

  return n && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_double (n) : NAN;
}

static double
element_double (JsonObject * o, const gchar * name, guint i)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  JsonArray *a = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) :
      NULL;
  JsonNode *e = a && i < json_array_get_length (a) ?
      json_array_get_element (a, i) : NULL;

  return e && JSON_NODE_HOLDS_VALUE (e) ? json_node_get_double (e) : NAN;
}

static JsonObject *
member_object (JsonObject * o, const gchar * name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;

  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static const gchar *
output_name (JsonObject * result, guint i)
{
  JsonArray *a = json_object_get_array_member (result, "outputs");

  return json_array_get_string_element (a, i);
}

/* the row of one RESULT (docs/metrics.md) */
static TableRow *
result_row (const gchar * label, JsonObject * r)
{
  TableRow *row = row_new (label);
  const gchar *task = json_object_get_string_member (r, "task");
  guint i, k = json_array_get_length (json_object_get_array_member (r,
          "outputs"));
  JsonArray *per = json_object_get_array_member (r, "per_output");

  row_add (row, g_strdup ("items"), member_double (r, "n_items"));
  if (g_strcmp0 (task, "regression") == 0) {
    for (i = 0; i < k; i++)
      row_add (row, g_strdup_printf ("MAE %s", output_name (r, i)),
          member_double (json_array_get_object_element (per, i), "mae"));
    row_add (row, g_strdup ("MAE mean"), member_double (r, "mae_mean"));
    for (i = 0; i < k; i++)
      row_add (row, g_strdup_printf ("RMSE %s", output_name (r, i)),
          member_double (json_array_get_object_element (per, i), "rmse"));
  } else if (g_strcmp0 (task, "class") == 0) {
    row_add (row, g_strdup ("accuracy"), member_double (r, "accuracy"));
    row_add (row, g_strdup ("balanced accuracy"),
        member_double (r, "balanced_accuracy"));
    row_add (row, g_strdup ("macro-F1"),
        member_double (member_object (r, "macro"), "f1"));
  } else {
    row_add (row, g_strdup ("ROC-AUC macro"),
        member_double (member_object (r, "macro"), "roc_auc"));
    row_add (row, g_strdup ("PR-AUC macro"),
        member_double (member_object (r, "macro"), "pr_auc"));
    row_add (row, g_strdup ("macro-F1"),
        member_double (member_object (r, "macro"), "f1"));
    row_add (row, g_strdup ("micro-F1"),
        member_double (member_object (r, "micro"), "f1"));
  }
  return row;
}

/* the baseline row, in the columns of the model's row */
static TableRow *
baseline_row (JsonObject * r, JsonObject * base)
{
  const gchar *rule = json_object_get_string_member (base, "rule");
  TableRow *row;
  guint i, k = json_array_get_length (json_object_get_array_member (r,
          "outputs"));
  gchar *label;

  if (g_strcmp0 (rule, "majority-class") == 0)
    label = g_strdup_printf ("baseline: majority class (%s)",
        json_object_get_string_member (base, "class"));
  else
    label = g_strdup ("baseline: training mean");
  row = row_new (label);
  g_free (label);
  row_add (row, g_strdup ("items"), member_double (r, "n_items"));
  if (g_strcmp0 (rule, "majority-class") == 0) {
    row_add (row, g_strdup ("accuracy"), member_double (base, "accuracy"));
    row_add (row, g_strdup ("balanced accuracy"),
        member_double (base, "balanced_accuracy"));
    row_add (row, g_strdup ("macro-F1"), member_double (base, "f1_macro"));
  } else {
    for (i = 0; i < k; i++)
      row_add (row, g_strdup_printf ("MAE %s", output_name (r, i)),
          element_double (base, "mae", i));
    row_add (row, g_strdup ("MAE mean"), member_double (base, "mae_mean"));
    for (i = 0; i < k; i++)
      row_add (row, g_strdup_printf ("RMSE %s", output_name (r, i)),
          element_double (base, "rmse", i));
  }
  return row;
}

/* RFC 4180 quoting where needed */
static void
csv_field (GString * s, const gchar * text)
{
  const gchar *c;

  if (strpbrk (text, ",\"\n") == NULL) {
    g_string_append (s, text);
    return;
  }
  g_string_append_c (s, '"');
  for (c = text; *c; c++) {
    if (*c == '"')
      g_string_append_c (s, '"');
    g_string_append_c (s, *c);
  }
  g_string_append_c (s, '"');
}

static void
csv_line (GString * s, const gchar * table, const gchar * row,
    const gchar * metric, double v)
{
  csv_field (s, table);
  g_string_append_c (s, ',');
  csv_field (s, row);
  g_string_append_c (s, ',');
  csv_field (s, metric);
  g_string_append_c (s, ',');
  /* 17 significant digits: the double back exactly */
  if (isfinite (v))
    g_string_append_printf (s, "%.17g", v);
  g_string_append_c (s, '\n');
}

static void
markdown_value (GString * s, const gchar * metric, double v)
{
  if (!isfinite (v))
    g_string_append (s, " – |");
  else if (g_strcmp0 (metric, "items") == 0)
    g_string_append_printf (s, " %.0f |", v);
  else
    g_string_append_printf (s, " %.4f |", v);
}

static void
write_rows (GString * s, gboolean markdown, const gchar * table,
    const gchar * title, GPtrArray * rows)
{
  guint i, j;

  if (rows->len == 0)
    return;
  if (!markdown) {
    for (i = 0; i < rows->len; i++) {
      TableRow *row = g_ptr_array_index (rows, i);
      for (j = 0; j < row->metrics->len; j++)
        csv_line (s, table, row->label, g_ptr_array_index (row->metrics, j),
            g_array_index (row->values, double, j));
    }
    return;
  }
  {
    TableRow *first = g_ptr_array_index (rows, 0);
    g_string_append_printf (s, "%s\n\n| |", title);
    for (j = 0; j < first->metrics->len; j++)
      g_string_append_printf (s, " %s |",
          (const gchar *) g_ptr_array_index (first->metrics, j));
    g_string_append (s, "\n|---|");
    for (j = 0; j < first->metrics->len; j++)
      g_string_append (s, "---:|");
    g_string_append_c (s, '\n');
  }
  for (i = 0; i < rows->len; i++) {
    TableRow *row = g_ptr_array_index (rows, i);
    g_string_append_printf (s, "| %s |", row->label);
    for (j = 0; j < row->metrics->len; j++)
      markdown_value (s, g_ptr_array_index (row->metrics, j),
          g_array_index (row->values, double, j));
    g_string_append_c (s, '\n');
  }
  g_string_append_c (s, '\n');
}

/* counts, row = true class, column = predicted */
static void
write_confusion (GString * s, gboolean markdown, const gchar * table,
    const gchar * title, JsonObject * r)
{
  JsonArray *counts = json_object_get_array_member (member_object (r,
          "confusion"), "counts");
  guint i, j, k = json_array_get_length (counts);

  if (markdown) {
    g_string_append_printf (s, "%s (rows: truth, columns: prediction)\n\n"
        "| |", title);
    for (j = 0; j < k; j++)
      g_string_append_printf (s, " %s |", output_name (r, j));
    g_string_append (s, "\n|---|");
    for (j = 0; j < k; j++)
      g_string_append (s, "---:|");
    g_string_append_c (s, '\n');
  }
  for (i = 0; i < k; i++) {
    JsonArray *line = json_array_get_array_element (counts, i);
    if (markdown)
      g_string_append_printf (s, "| %s |", output_name (r, i));
    for (j = 0; j < k; j++) {
      gint64 v = json_array_get_int_element (line, j);
      if (markdown) {
        g_string_append_printf (s, " %" G_GINT64_FORMAT " |", v);
      } else {
        gchar *metric = g_strdup_printf ("%s/%s", output_name (r, i),
            output_name (r, j));
        csv_line (s, table, "counts", metric, (double) v);
        g_free (metric);
      }
    }
    if (markdown)
      g_string_append_c (s, '\n');
  }
  if (markdown)
    g_string_append_c (s, '\n');
}

gchar *
affect_metrics_report_table (JsonNode * report, gboolean markdown)
{
  JsonObject *root = json_node_get_object (report);
  JsonObject *overall = member_object (root, "overall");
  JsonObject *gate = member_object (root, "gate"), *base;
  JsonArray *routes = json_object_get_array_member (root, "routes");
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  GString *s = g_string_new (NULL);
  guint i;

  if (!markdown)
    g_string_append (s, "table,row,metric,value\n");
  g_ptr_array_add (rows, result_row ("model", overall));
  for (i = 0; routes && i < json_array_get_length (routes); i++) {
    JsonObject *rt = json_array_get_object_element (routes, i);
    gint64 route = json_object_get_int_member (rt, "route");
    gchar *label = g_strdup_printf ("model, route %" G_GINT64_FORMAT " (%s)",
        route, route == 0 ? "spontaneous" : "scripted");
    g_ptr_array_add (rows, result_row (label, member_object (rt, "result")));
    g_free (label);
  }
  base = member_object (overall, "baseline");
  if (base)
    g_ptr_array_add (rows, baseline_row (overall, base));
  write_rows (s, markdown, "results", "## Results", rows);
  g_ptr_array_set_size (rows, 0);
  if (g_strcmp0 (json_object_get_string_member (overall, "task"), "class") == 0)
    write_confusion (s, markdown, "confusion", "## Confusion", overall);
  if (gate) {
    g_ptr_array_add (rows, result_row ("gate", gate));
    write_rows (s, markdown, "gate", "## Gate (route against the "
        "spontaneity label)", rows);
    write_confusion (s, markdown, "gate-confusion", "## Gate confusion", gate);
  }
  g_ptr_array_unref (rows);
  return g_string_free (s, FALSE);
}

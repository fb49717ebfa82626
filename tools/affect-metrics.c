/* affect-metrics: the metrics of affectmetrics over files.
 *
 *   affect-metrics --groundtruth gt.npy --predictions p.npy
 *       [--decisions d.npy | --thresholds t.txt | --threshold 0.5]
 *       [--json out.json]
 *   affect-metrics [options] items-0.csv items-1.csv …   (shards → one)
 *
 * Prints the MediaEval table (name<TAB>value, 6 decimals) on stdout.
 * docs/metrics.md describes every option, the rules and the report. */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/metrics.h"
#include "affect/npy.h"

static gchar *opt_gt, *opt_pred, *opt_dec, *opt_thresholds, *opt_names;
static gchar *opt_task, *opt_json, *opt_split, *opt_fit_split = NULL;
static gchar *opt_write_thresholds, *opt_items_out, *opt_figures, *opt_table;
static gchar *opt_threshold;
static gboolean opt_fit, opt_quiet;
static gchar **opt_items;

static GOptionEntry entries[] = {
  {"groundtruth", 'g', 0, G_OPTION_ARG_FILENAME, &opt_gt,
      "Ground truth .npy (n × k, bool/0-1; class: one-hot or n class "
        "indices; regression: targets)", "FILE"},
  {"predictions", 'p', 0, G_OPTION_ARG_FILENAME, &opt_pred,
      "Scores .npy (n × k)", "FILE"},
  {"decisions", 'd', 0, G_OPTION_ARG_FILENAME, &opt_dec,
      "Decisions .npy (n × k, bool) instead of thresholds", "FILE"},
  {"thresholds", 't', 0, G_OPTION_ARG_FILENAME, &opt_thresholds,
        "Per-tag thresholds file (name<TAB>value lines, MediaEval's format)",
      "FILE"},
  {"threshold", 0, 0, G_OPTION_ARG_STRING, &opt_threshold,
      "One fixed threshold for every tag", "T"},
  {"fit-thresholds", 0, 0, G_OPTION_ARG_NONE, &opt_fit,
      "Fit MediaEval's F-maximising thresholds (the default for tags when "
        "no decisions or thresholds are given)", NULL},
  {"fit-split", 0, 0, G_OPTION_ARG_STRING, &opt_fit_split,
      "Per-item files: fit thresholds on this split (default validation; "
        "the evaluated items when it has none)", "SPLIT"},
  {"split", 0, 0, G_OPTION_ARG_STRING, &opt_split,
        "Per-item files: evaluate only this split (default: all others)",
      "SPLIT"},
  {"names", 'n', 0, G_OPTION_ARG_FILENAME, &opt_names,
      "Output names, one per line (default: from the thresholds file, or "
        "0…k-1)", "FILE"},
  {"task", 0, 0, G_OPTION_ARG_STRING, &opt_task,
      "tags (default for .npy), class or regression", "TASK"},
  {"json", 'o', 0, G_OPTION_ARG_FILENAME, &opt_json,
      "Write the JSON report (docs/metrics.md) here", "FILE"},
  {"table", 0, 0, G_OPTION_ARG_FILENAME, &opt_table,
      "Write the results table here: Markdown when FILE ends in .md, else "
        "CSV (docs/metrics.md)", "FILE"},
  {"write-thresholds", 0, 0, G_OPTION_ARG_FILENAME, &opt_write_thresholds,
      "Write the thresholds used (MediaEval's format)", "FILE"},
  {"items-out", 0, 0, G_OPTION_ARG_FILENAME, &opt_items_out,
      "Write the merged per-item table (CSV) here", "FILE"},
  {"figures", 0, 0, G_OPTION_ARG_FILENAME, &opt_figures,
      "Write PREFIX-curves.png and, for class, PREFIX-confusion.png "
        "(.svg when PREFIX ends in .svg)", "PREFIX"},
  {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet,
      "Do not print the table", NULL},
  {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_items,
      NULL, "[ITEMS.csv…]"},
  {NULL}
};

static gchar **
read_names (const char *path, GError ** error)
{
  gchar *text, **lines;
  GPtrArray *names;
  guint i;

  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  g_free (text);
  names = g_ptr_array_new ();
  for (i = 0; lines[i]; i++) {
    gchar *l = g_strstrip (lines[i]), *tab;
    if (*l == '\0')
      continue;
    /* a MediaEval thresholds file names the tags in its first column */
    if ((tab = strchr (l, '\t')))
      *tab = '\0';
    g_ptr_array_add (names, g_strdup (l));
  }
  g_ptr_array_add (names, NULL);
  g_strfreev (lines);
  return (gchar **) g_ptr_array_free (names, FALSE);
}

/* An .npy matrix as doubles: n rows × k columns (k = 1 for vectors).
 * float64 scores are rounded to float32, the type of our score tensors. */
static gboolean
load_matrix (const char *path, double **out, guint64 * n, guint * k,
    GError ** error)
{
  AffectNpyArray *npy = affect_npy_read (path, AFFECT_NPY_FLOAT64, error);
  gboolean ok = FALSE;

  if (npy == NULL)
    return FALSE;
  if (npy->n_dims < 1 || npy->n_dims > 2 || npy->shape[0] == 0 ||
      (npy->n_dims == 2 && npy->shape[1] == 0)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: expected a non-empty n × k matrix or n vector", path);
    goto out;
  }
  *n = npy->shape[0];
  *k = npy->n_dims == 2 ? npy->shape[1] : 1;
  *out = g_memdup2 (npy->data, npy->n_elements * sizeof (double));
  ok = TRUE;
out:
  affect_npy_array_free (npy);
  return ok;
}

static AffectEvaluation *
evaluation_from_npy (AffectMetricsTask task, gchar ** names, GError ** error)
{
  AffectEvaluation *ev = NULL;
  double *gt = NULL, *pred = NULL, *dec = NULL;
  guint64 n, n2, n3, i;
  guint k, k_gt, k2, c;
  float *s = NULL, *t = NULL;
  uint8_t *d = NULL;

  if (!load_matrix (opt_pred, &pred, &n, &k, error) ||
      !load_matrix (opt_gt, &gt, &n2, &k_gt, error))
    goto out;
  /* a class task may give the truth as one class index per item */
  if (n2 != n || (k_gt != k && !(task == AFFECT_METRICS_CLASS && k_gt == 1))) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "%s is %" G_GUINT64_FORMAT " × %u but %s is %" G_GUINT64_FORMAT
        " × %u", opt_gt, n2, k_gt, opt_pred, n, k);
    goto out;
  }
  if (names && g_strv_length (names) != k) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "%u names for %u outputs", g_strv_length (names), k);
    goto out;
  }
  ev = affect_evaluation_new (task, k, (const char *const *) names, NULL, NULL);
  s = g_new (float, k);
  t = g_new (float, k);
  for (i = 0; i < n; i++) {
    for (c = 0; c < k; c++) {
      s[c] = (float) pred[i * k + c];
      t[c] = k_gt == k ? (float) gt[i * k + c] : (gt[i] == (double) c);
    }
    if (!affect_evaluation_add (ev, NULL, -1, s, t, error)) {
      affect_evaluation_free (ev);
      ev = NULL;
      goto out;
    }
  }
  if (opt_dec) {
    if (!load_matrix (opt_dec, &dec, &n3, &k2, error) || n3 != n || k2 != k) {
      if (dec)
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
            "%s is not %" G_GUINT64_FORMAT " × %u", opt_dec, n, k);
      affect_evaluation_free (ev);
      ev = NULL;
      goto out;
    }
    d = g_new (uint8_t, n * k);
    for (i = 0; i < n * k; i++)
      d[i] = dec[i] != 0.0;
    if (!affect_evaluation_set_decisions (ev, d, n, error)) {
      affect_evaluation_free (ev);
      ev = NULL;
    }
  }
out:
  g_free (gt);
  g_free (pred);
  g_free (dec);
  g_free (s);
  g_free (t);
  g_free (d);
  return ev;
}

static AffectEvaluation *
evaluation_from_items (AffectMetricsTask task, gboolean task_set,
    gchar ** names, GError ** error)
{
  AffectItemTable *table = affect_item_table_new (task, 0, NULL);
  AffectEvaluation *ev = NULL;
  const char *fit_split = opt_fit_split ? opt_fit_split : "validation";
  guint64 i;
  guint k;

  for (i = 0; opt_items[i]; i++)
    if (!affect_item_table_read_csv (table, opt_items[i], error))
      goto out;
  if (task_set && table->task != task) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "the per-item files hold a %s task, not %s",
        affect_metrics_task_to_string (table->task),
        affect_metrics_task_to_string (task));
    goto out;
  }
  /* shards in any order come back in the run's order */
  affect_item_table_sort (table);
  k = table->n_outputs;
  if (names && g_strv_length (names) != k) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "%u names for %u outputs", g_strv_length (names), k);
    goto out;
  }
  ev = affect_evaluation_new (table->task, k,
      (const char *const *) table->names, opt_split, fit_split);
  if (table->task == AFFECT_METRICS_TAGS && !opt_thresholds && !opt_threshold)
    affect_evaluation_set_rule (ev, AFFECT_DECISION_FITTED, 0, NULL);
  for (i = 0; i < affect_item_table_n_items (table); i++) {
    const char *split = g_ptr_array_index (table->split, i);
    if (!affect_evaluation_add (ev, *split ? split : NULL,
            g_array_index (table->route, gint, i),
            (const float *) table->scores->data + i * k,
            (const float *) table->truth->data + i * k, error)) {
      affect_evaluation_free (ev);
      ev = NULL;
      goto out;
    }
  }
  if (opt_items_out &&
      !affect_item_table_write_csv (table, opt_items_out, error)) {
    affect_evaluation_free (ev);
    ev = NULL;
  }
out:
  affect_item_table_free (table);
  return ev;
}

static gboolean
figure_paths (AffectEvaluation * ev, AffectMetricsResult * r, GError ** error)
{
  const char *ext = g_str_has_suffix (opt_figures, ".svg") ? ".svg" : ".png";
  gchar *prefix = g_str_has_suffix (opt_figures, ext) ?
      g_strndup (opt_figures, strlen (opt_figures) - 4) :
      g_strdup (opt_figures);
  gchar *path;
  gboolean ok = TRUE;

  if (r->task != AFFECT_METRICS_REGRESSION) {
    path = g_strconcat (prefix, "-curves", ext, NULL);
    ok = affect_metrics_plot_curves (affect_evaluation_get_metrics (ev),
        path, error);
    g_free (path);
  }
  if (ok && r->task == AFFECT_METRICS_CLASS) {
    path = g_strconcat (prefix, "-confusion", ext, NULL);
    ok = affect_metrics_plot_confusion (r, path, error);
    g_free (path);
  }
  g_free (prefix);
  return ok;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx;
  GError *error = NULL;
  AffectEvaluation *ev = NULL;
  AffectMetricsResult *r = NULL;
  AffectMetricsTask task = AFFECT_METRICS_TAGS;
  JsonNode *report = NULL;
  gchar **names = NULL;
  int status = 1;
  guint i;

  setlocale (LC_ALL, "");
  ctx = g_option_context_new ("- MediaEval-2019 / scikit-learn metrics "
      "over .npy files or per-item tables");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    goto out;
  if (opt_task && !affect_metrics_task_from_string (opt_task, &task)) {
    g_set_error (&error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "--task must be tags, class or regression, not '%s'", opt_task);
    goto out;
  }
  if ((opt_gt == NULL) != (opt_pred == NULL) ||
      (opt_gt == NULL && (opt_items == NULL || opt_items[0] == NULL)) ||
      (opt_gt && opt_items && opt_items[0])) {
    g_set_error (&error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "give --groundtruth and --predictions, or per-item files "
        "(see --help)");
    goto out;
  }
  if (opt_names)
    names = read_names (opt_names, &error);
  else if (opt_thresholds)
    names = read_names (opt_thresholds, &error);
  if (error)
    goto out;

  ev = opt_gt ? evaluation_from_npy (task, names, &error) :
      evaluation_from_items (task, opt_task != NULL, names, &error);
  if (ev == NULL)
    goto out;
  if (opt_dec == NULL) {
    guint k = affect_metrics_get_n_outputs (affect_evaluation_get_metrics (ev));
    if (opt_thresholds) {
      double *t = g_new (double, k);
      const char *const *nm =
          affect_metrics_get_names (affect_evaluation_get_metrics (ev));
      if (!affect_thresholds_read (opt_thresholds, k, nm, t, &error)) {
        g_free (t);
        goto out;
      }
      affect_evaluation_set_rule (ev, AFFECT_DECISION_THRESHOLDS, 0, t);
      g_free (t);
    } else if (opt_threshold && !opt_fit) {
      gchar *end;
      double t = g_ascii_strtod (opt_threshold, &end);
      if (*end != '\0' || end == opt_threshold || !isfinite (t)) {
        g_set_error (&error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
            "--threshold: '%s' is not a number", opt_threshold);
        goto out;
      }
      affect_evaluation_set_rule (ev, AFFECT_DECISION_FIXED, t, NULL);
    } else if (opt_gt || opt_fit) {
      affect_evaluation_set_rule (ev, AFFECT_DECISION_FITTED, 0, NULL);
    }
  }
  report = affect_evaluation_report (ev, TRUE, &r, &error);
  if (report == NULL)
    goto out;
  for (i = 0; i < r->warnings->len; i++)
    g_printerr ("affect-metrics: warning: %s\n",
        (const char *) g_ptr_array_index (r->warnings, i));
  if (!opt_quiet) {
    gchar *table = affect_metrics_result_mediaeval_table (r);
    fputs (table, stdout);
    g_free (table);
  }
  if (opt_json && !affect_metrics_report_write (report, opt_json, &error))
    goto out;
  if (opt_table) {
    gchar *text = affect_metrics_report_table (report,
        g_str_has_suffix (opt_table, ".md"));
    gboolean ok = g_file_set_contents (opt_table, text, -1, &error);
    g_free (text);
    if (!ok)
      goto out;
  }
  if (opt_write_thresholds) {
    if (r->thresholds == NULL) {
      g_set_error (&error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
          "no thresholds to write: the decisions were %s",
          affect_decision_rule_to_string (r->decision_rule));
      goto out;
    }
    if (!affect_thresholds_write (opt_write_thresholds, r->n_outputs,
            (const char *const *) r->names, r->thresholds, &error))
      goto out;
  }
  if (opt_figures && !figure_paths (ev, r, &error))
    goto out;
  status = 0;
out:
  if (error) {
    g_printerr ("affect-metrics: %s\n", error->message);
    g_error_free (error);
  }
  if (report)
    json_node_unref (report);
  affect_metrics_result_free (r);
  affect_evaluation_free (ev);
  g_strfreev (names);
  g_option_context_free (ctx);
  return status;
}

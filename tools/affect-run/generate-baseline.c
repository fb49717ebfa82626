/* affect-run's generate=baseline: the training-mean baseline of a
 * regression experiment, computed from its manifests alone. The mean of
 * each target over the training items of `train` is predicted for every
 * test item of `test`; output gets the MAE and RMSE of that constant in
 * the shape of an affectmetrics report ("overall": "n_items", "per_output"
 * names, "baseline" as affectmetrics' baseline-mean writes it), which the
 * report's MAE tables read (docs/experiments.md, "Report").
 */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "affect/manifest.h"
#include "runner.h"

static const RunnerParam baseline_params[] = {
  {"train", NULL, "the training manifest"},
  {"train-split", "train", "its training split (every item when the "
        "manifest has no split column)"},
  {"test", NULL, "the test manifest"},
  {"test-split", "test", "its evaluated split"},
  {"task", "regression", "regression: the training targets' mean; class: "
        "the training items' majority class (nothing is written for a "
        "manifest without single-label classes)"},
  {"targets", "", "the targets, comma-separated (regression)"},
  {"output", NULL, "the JSON file to write"},
  {NULL}
};

static gboolean
in_split (const AffectManifest * m, const AffectManifestItem * it,
    const char *split)
{
  if (split == NULL || *split == '\0' || !m->has_split_column)
    return TRUE;
  return g_strcmp0 (it->split, split) == 0;
}

static AffectManifest *
load (const char *path, char **targets, GError ** error)
{
  AffectManifestOptions opt;

  affect_manifest_options_init (&opt);
  opt.label_column = "";
  opt.target_columns = (const char *const *) targets;
  return affect_manifest_load (path, &opt, error);
}

static gboolean write_json (JsonBuilder * b, const char *output,
    GError ** error);

/* the majority class of the training items, predicted for every test item:
 * accuracy, balanced accuracy and macro-F1 as affectmetrics' baseline-class
 * gives them (docs/metrics.md, "Baselines") */
static gboolean
majority_run (GHashTable * params, JsonObject * report, GError ** error)
{
  const char *output = g_hash_table_lookup (params, "output");
  AffectManifestOptions opt;
  AffectManifest *tr, *te = NULL;
  guint *train_counts = NULL, *true_counts = NULL, i, k, best = 0;
  guint n_test = 0, n_present = 0, n_correct = 0;
  double share, f1, balanced;
  const char *name;
  JsonBuilder *b;
  gboolean ok = FALSE;

  affect_manifest_options_init (&opt);
  tr = affect_manifest_load (g_hash_table_lookup (params, "train"), &opt,
      error);
  if (tr == NULL)
    return FALSE;
  if (tr->task != AFFECT_MANIFEST_TASK_CLASS) {
    json_object_set_string_member (report, "skipped", "not a class task");
    affect_manifest_free (tr);
    return TRUE;
  }
  opt.vocabulary = (const char *const *) tr->vocabulary;
  te = affect_manifest_load (g_hash_table_lookup (params, "test"), &opt, error);
  if (te == NULL)
    goto out;
  k = tr->n_vocabulary;
  train_counts = g_new0 (guint, k);
  true_counts = g_new0 (guint, k);
  for (i = 0; i < tr->n_items; i++)
    if (tr->items[i].class_index >= 0 && in_split (tr, &tr->items[i],
            g_hash_table_lookup (params, "train-split")))
      train_counts[tr->items[i].class_index]++;
  for (i = 1; i < k; i++)
    if (train_counts[i] > train_counts[best])
      best = i;
  for (i = 0; i < te->n_items; i++)
    if (te->items[i].class_index >= 0 && in_split (te, &te->items[i],
            g_hash_table_lookup (params, "test-split"))) {
      true_counts[te->items[i].class_index]++;
      n_test++;
    }
  for (i = 0; i < k; i++)
    n_present += true_counts[i] > 0 || i == best;
  n_correct = true_counts[best];
  share = n_test ? (double) n_correct / n_test : NAN;
  /* the majority class: precision = its share, recall 1 (when it occurs);
   * every other class F1 0 */
  f1 = n_correct ? 2 * share / (1 + share) : 0;
  balanced = 0;
  for (i = 0; i < k; i++)
    balanced += true_counts[i] > 0;
  balanced = balanced > 0 && n_correct ? 1 / balanced : 0;
  name = tr->vocabulary[best];

  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "overall");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "task");
  json_builder_add_string_value (b, "class");
  json_builder_set_member_name (b, "n_items");
  json_builder_add_int_value (b, n_test);
  json_builder_set_member_name (b, "baseline");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "rule");
  json_builder_add_string_value (b, "majority-class");
  json_builder_set_member_name (b, "class");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "accuracy");
  json_builder_add_double_value (b, share);
  json_builder_set_member_name (b, "balanced_accuracy");
  json_builder_add_double_value (b, balanced);
  json_builder_set_member_name (b, "f1_macro");
  json_builder_add_double_value (b, n_present ? f1 / n_present : 0);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  ok = write_json (b, output, error);
  g_object_unref (b);
  if (ok) {
    json_object_set_string_member (report, "output", output);
    json_object_set_int_member (report, "items", n_test);
  }
out:
  g_free (train_counts);
  g_free (true_counts);
  affect_manifest_free (tr);
  if (te != NULL)
    affect_manifest_free (te);
  return ok;
}

static gboolean
write_json (JsonBuilder * b, const char *output, GError ** error)
{
  JsonNode *root = json_builder_get_root (b);
  JsonGenerator *gen = json_generator_new ();
  gchar *text;
  gboolean ok;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  ok = affect_file_set_contents_atomic (output, text, strlen (text), error);
  g_free (text);
  g_object_unref (gen);
  json_node_unref (root);
  return ok;
}

static gboolean
baseline_run (GHashTable * params, JsonObject * report,
    RunnerProgressFunc progress, gpointer user_data, GError ** error)
{
  char **targets = g_strsplit (g_hash_table_lookup (params, "targets"), ",",
      -1);
  const char *output = g_hash_table_lookup (params, "output");
  AffectManifest *tr = NULL, *te = NULL;
  guint k = g_strv_length (targets), i, j, n_train = 0, n_test = 0;
  double *mean = g_new0 (double, k), *mae = g_new0 (double, k);
  double *rmse = g_new0 (double, k), mae_mean = 0;
  JsonBuilder *b;
  gboolean ok = FALSE;

  if (g_strcmp0 (g_hash_table_lookup (params, "task"), "class") == 0) {
    g_strfreev (targets);
    g_free (mean);
    g_free (mae);
    g_free (rmse);
    return majority_run (params, report, error);
  }
  tr = load (g_hash_table_lookup (params, "train"), targets, error);
  if (tr == NULL)
    goto out;
  te = load (g_hash_table_lookup (params, "test"), targets, error);
  if (te == NULL)
    goto out;
  for (i = 0; i < tr->n_items; i++)
    if (in_split (tr, &tr->items[i], g_hash_table_lookup (params,
                "train-split"))) {
      for (j = 0; j < k; j++)
        mean[j] += tr->items[i].targets[j];
      n_train++;
    }
  if (n_train == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: no training items", tr->filename);
    goto out;
  }
  for (j = 0; j < k; j++)
    mean[j] /= n_train;
  for (i = 0; i < te->n_items; i++)
    if (in_split (te, &te->items[i], g_hash_table_lookup (params,
                "test-split"))) {
      for (j = 0; j < k; j++) {
        double e = mean[j] - te->items[i].targets[j];
        mae[j] += fabs (e);
        rmse[j] += e * e;
      }
      n_test++;
    }
  for (j = 0; j < k; j++) {
    mae[j] = n_test ? mae[j] / n_test : NAN;
    rmse[j] = n_test ? sqrt (rmse[j] / n_test) : NAN;
    mae_mean += mae[j] / k;
  }

  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "overall");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "task");
  json_builder_add_string_value (b, "regression");
  json_builder_set_member_name (b, "n_items");
  json_builder_add_int_value (b, n_test);
  json_builder_set_member_name (b, "n_train");
  json_builder_add_int_value (b, n_train);
  json_builder_set_member_name (b, "per_output");
  json_builder_begin_array (b);
  for (j = 0; j < k; j++) {
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, targets[j]);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "baseline");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "rule");
  json_builder_add_string_value (b, "training-mean");
#define ARRAY(name, v) \
  json_builder_set_member_name (b, name); \
  json_builder_begin_array (b); \
  for (j = 0; j < k; j++) \
    if (isfinite (v[j])) \
      json_builder_add_double_value (b, v[j]); \
    else \
      json_builder_add_null_value (b); \
  json_builder_end_array (b)
  ARRAY ("mean", mean);
  ARRAY ("mae", mae);
  ARRAY ("rmse", rmse);
#undef ARRAY
  json_builder_set_member_name (b, "mae_mean");
  if (isfinite (mae_mean))
    json_builder_add_double_value (b, mae_mean);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  ok = write_json (b, output, error);
  g_object_unref (b);
  if (ok) {
    json_object_set_string_member (report, "output", output);
    json_object_set_int_member (report, "items", n_test);
  }
out:
  if (tr != NULL)
    affect_manifest_free (tr);
  if (te != NULL)
    affect_manifest_free (te);
  g_free (mean);
  g_free (mae);
  g_free (rmse);
  g_strfreev (targets);
  return ok;
}

const RunnerGenerator runner_generator_baseline = {
  "baseline",
  "the training-mean baseline of a regression experiment from its "
      "manifests: MAE and RMSE of predicting the training targets' mean",
  baseline_params,
  baseline_run,
  NULL,
};

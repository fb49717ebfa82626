/* affect-run built-in steps of cross-validation (pipelines/crossval.experiment,
 * docs/experiments.md#cross-validation):
 *
 *   folds     a manifest cut into FOLDS folds, REPEATS times (libaffect's
 *             affect_folds_assign: stratified for classes, whole groups
 *             with GROUP), one manifest per run with split=train or test
 *             and the column crossval_group (GROUP's value, else the id:
 *             the learners' validation-group holds out whole groups of the
 *             training part), and plan.json: every run's test items with
 *             their truth and the training part's baseline (its mean
 *             target or its majority class);
 *   crossval  the runs' predictions (the affect-prediction messages of each
 *             run's test step, folds/repeat-R-fold-K-predictions.json)
 *             scored against plan.json: crossval.json
 *             (per run, mean and sd), crossval.md (mean ± sd and the
 *             baseline row) and, for classes, the summed confusion matrix
 *             as PNG. With shards, each shard scores nothing until every
 *             run is there; `affect-run merge DIR` scores them then.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "affect/folds.h"
#include "affect/manifest.h"
#include "affect/metrics.h"
#include "runner.h"
#include "spread.h"

/* ---- folds ---- */

/* the column of the runs' manifests that the learners' validation-group
 * reads */
#define CROSSVAL_GROUP "crossval_group"

static const RunnerParam folds_params[] = {
  {"manifest", NULL, "the corpus: a CSV with a path column"},
  {"root", "", "folder relative paths start from (empty: the manifest's)"},
  {"task", "speech", "music (classes), speech (a numeric target) or "
        "spontaneity (two classes: spontaneous/scripted, 1/0)"},
  {"label", NULL, "the column of the class or target"},
  {"group", "", "column whose values never straddle folds (speaker, "
        "artist); empty: none"},
  {"folds", "5", "folds per repeat"},
  {"repeats", "1", "repeats, each with its own assignment"},
  {"seed", "1", "seed of the assignments"},
  {"output", NULL, "folder for plan.json and the runs' manifests"},
  {NULL, NULL, NULL}
};

static gboolean
is_class_task (const char *task)
{
  return strcmp (task, "speech") != 0;
}

/* spontaneity labels as the gate reads them */
static const char *
spontaneity_class (const char *v)
{
  const char *const yes[] = { "1", "true", "spontaneous", "improvised", NULL };
  const char *const no[] = { "0", "false", "scripted", "script", NULL };

  if (v && g_strv_contains (yes, v))
    return "spontaneous";
  if (v && g_strv_contains (no, v))
    return "scripted";
  return NULL;
}

static gboolean
folds_check (GHashTable * params, GError ** error)
{
  const char *task = g_hash_table_lookup (params, "task");
  gint64 v;

  if (strcmp (task, "music") != 0 && strcmp (task, "speech") != 0
      && strcmp (task, "spontaneity") != 0) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "folds: task='%s' is not music, speech or spontaneity", task);
    return FALSE;
  }
  return runner_param_int (params, "folds", "folds", 2, 1000, &v, error)
      && runner_param_int (params, "folds", "repeats", 1, 1000, &v, error)
      && runner_param_int (params, "folds", "seed", 0, G_MAXINT64, &v, error);
}

static void
csv_field (GString * s, const char *v)
{
  if (strpbrk (v, ",\"\r\n")) {
    g_string_append_c (s, '"');
    for (; *v; v++) {
      if (*v == '"')
        g_string_append_c (s, '"');
      g_string_append_c (s, *v);
    }
    g_string_append_c (s, '"');
  } else {
    g_string_append (s, v);
  }
}

/* dense indices of strings (in order of appearance); NULL values -> -1 */
static int *
index_values (const char **values, guint n, GPtrArray * names)
{
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  int *out = g_new (int, n);
  guint i;

  for (i = 0; i < n; i++) {
    gpointer found;
    if (values[i] == NULL) {
      out[i] = -1;
    } else if (g_hash_table_lookup_extended (seen, values[i], NULL, &found)) {
      out[i] = GPOINTER_TO_INT (found);
    } else {
      out[i] = names->len;
      g_hash_table_insert (seen, (gpointer) values[i],
          GINT_TO_POINTER (names->len));
      g_ptr_array_add (names, g_strdup (values[i]));
    }
  }
  g_hash_table_destroy (seen);
  return out;
}

static gboolean
folds_run (GHashTable * params, JsonObject * report,
    RunnerProgressFunc progress, gpointer user_data, GError ** error)
{
  const char *task = g_hash_table_lookup (params, "task");
  const char *label = g_hash_table_lookup (params, "label");
  const char *group = g_hash_table_lookup (params, "group");
  const char *root = g_hash_table_lookup (params, "root");
  const char *output = g_hash_table_lookup (params, "output");
  gboolean classes = is_class_task (task);
  const char *const no_targets[] = { NULL };
  AffectManifestOptions opt;
  AffectManifest *m;
  gint64 n_folds, repeats, seed;
  const char **label_values = NULL, **group_values = NULL;
  double *targets = NULL;
  int *class_of = NULL, *group_of = NULL, *fold;
  GPtrArray *class_names = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *group_names = g_ptr_array_new_with_free_func (g_free);
  char **paths;
  JsonObject *plan = json_object_new ();
  JsonArray *runs = json_array_new (), *names;
  gboolean ok = FALSE, failed = FALSE;
  guint n, i, r, k, n_missing = 0;
  const char *first_missing = NULL;
  char *path;

  runner_param_int (params, "folds", "folds", 2, 1000, &n_folds, NULL);
  runner_param_int (params, "folds", "repeats", 1, 1000, &repeats, NULL);
  runner_param_int (params, "folds", "seed", 0, G_MAXINT64, &seed, NULL);
  affect_manifest_options_init (&opt);
  opt.label_column = "";
  opt.target_columns = no_targets;
  m = affect_manifest_load (g_hash_table_lookup (params, "manifest"), &opt,
      error);
  if (m == NULL)
    goto out_plan;
  n = m->n_items;
  label_values = g_new0 (const char *, n);
  group_values = g_new0 (const char *, n);
  targets = g_new (double, n);
  paths = g_new0 (char *, n + 1);
  for (i = 0; i < n; i++) {
    const AffectManifestItem *it = &m->items[i];
    const char *v = affect_manifest_item_get_extra (m, it, label);
    char *end = NULL;
    if (v == NULL) {
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
          "folds: %s has no column '%s' (LABEL)", m->filename, label);
      goto out;
    }
    if (strcmp (task, "spontaneity") == 0) {
      const char *c = spontaneity_class (v);
      if (c == NULL) {
        g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
            "folds: %s line %u: '%s' is not a spontaneity label (1/0, "
            "true/false, spontaneous/scripted, improvised/script)",
            m->filename, it->line, v);
        goto out;
      }
      v = c;
    }
    if (!classes) {
      targets[i] = g_ascii_strtod (v, &end);
      if (*v == '\0' || *end != '\0' || !isfinite (targets[i])) {
        g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
            "folds: %s line %u: %s='%s' is not a number", m->filename,
            it->line, label, v);
        goto out;
      }
    }
    label_values[i] = v;
    if (*group) {
      group_values[i] = affect_manifest_item_get_extra (m, it, group);
      if (group_values[i] == NULL) {
        g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
            "folds: %s has no column '%s' (GROUP)", m->filename, group);
        goto out;
      }
    }
    paths[i] = affect_manifest_resolve_path (m, it, *root ? root : NULL);
    /* the runs' manifests live elsewhere: absolute paths (a manifest
     * given by a relative path resolves relative to the current folder) */
    if (!strstr (paths[i], "://")) {
      char *abs = g_canonicalize_filename (paths[i], NULL);
      g_free (paths[i]);
      paths[i] = abs;
      if (!g_file_test (paths[i], G_FILE_TEST_IS_REGULAR))
        n_missing++;
      if (n_missing == 1 && first_missing == NULL)
        first_missing = paths[i];
    }
  }
  /* a run whose training part has no audio trains nothing: say so here */
  if (n_missing == n) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "folds: none of the %u files of %s exists (the first: %s); ROOT "
        "is the folder relative paths start from", n, m->filename,
        first_missing);
    goto out;
  }
  if (classes)
    class_of = index_values (label_values, n, class_names);
  if (*group)
    group_of = index_values (group_values, n, group_names);

  json_object_set_string_member (plan, "task", task);
  json_object_set_string_member (plan, "label", label);
  json_object_set_string_member (plan, "group", group);
  json_object_set_string_member (plan, "manifest", m->filename);
  json_object_set_int_member (plan, "items", n);
  json_object_set_int_member (plan, "folds", n_folds);
  json_object_set_int_member (plan, "repeats", repeats);
  json_object_set_int_member (plan, "seed", seed);
  if (classes) {
    /* sorted, as affectsrc's vocabulary of a CSV */
    g_ptr_array_sort (class_names, (GCompareFunc) g_strcmp0);
    g_free (class_of);
    class_of = g_new (int, n);
    for (i = 0; i < n; i++)
      for (k = 0; k < class_names->len; k++)
        if (strcmp (label_values[i], class_names->pdata[k]) == 0)
          class_of[i] = k;
    names = json_array_new ();
    for (k = 0; k < class_names->len; k++)
      json_array_add_string_element (names, class_names->pdata[k]);
    json_object_set_array_member (plan, "classes", names);
  }
  if (g_mkdir_with_parents (output, 0755) != 0) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "folds: cannot create %s: %s", output, g_strerror (errno));
    goto out;
  }

  fold = g_new (int, n);
  for (r = 0; r < repeats && !failed; r++) {
    if (!affect_folds_assign (n, class_of, group_of, n_folds,
            (guint64) seed * 1000003u + r, fold, error)) {
      failed = TRUE;
      break;
    }
    for (k = 0; k < n_folds; k++) {
      JsonObject *run = json_object_new ();
      JsonObject *truth = json_object_new ();
      GString *csv = g_string_new ("id,path,split,");
      guint *train = g_new (guint, n), n_train = 0, n_test = 0;
      int *train_class = classes ? g_new (int, n) : NULL;
      int *train_group = *group ? g_new (int, n) : NULL;
      char *file;
      double mean = 0;

      /* the training part */
      for (i = 0; i < n; i++) {
        if (fold[i] != (int) k) {
          if (train_class)
            train_class[n_train] = class_of[i];
          if (train_group)
            train_group[n_train] = group_of[i];
          train[n_train++] = i;
        }
      }
      csv_field (csv, label);
      g_string_append (csv, "," CROSSVAL_GROUP "\n");
      {
        GHashTable *count = g_hash_table_new (g_str_hash, g_str_equal);
        const char *majority = NULL;
        guint best = 0;
        for (i = 0; i < n; i++) {
          const char *split = fold[i] == (int) k ? "test" : "train";
          csv_field (csv, m->items[i].id);
          g_string_append_c (csv, ',');
          csv_field (csv, paths[i]);
          g_string_append_printf (csv, ",%s,", split);
          csv_field (csv, label_values[i]);
          g_string_append_c (csv, ',');
          csv_field (csv, *group ? group_values[i] : m->items[i].id);
          g_string_append_c (csv, '\n');
          if (fold[i] == (int) k) {
            n_test++;
            if (classes)
              json_object_set_string_member (truth, m->items[i].id,
                  label_values[i]);
            else
              json_object_set_double_member (truth, m->items[i].id, targets[i]);
          } else {
            /* the baseline sees the whole training part */
            if (classes) {
              guint c = GPOINTER_TO_UINT (g_hash_table_lookup (count,
                      label_values[i])) + 1;
              g_hash_table_insert (count, (gpointer) label_values[i],
                  GUINT_TO_POINTER (c));
              if (c > best || (c == best && strcmp (label_values[i],
                          majority) < 0)) {
                best = c;
                majority = label_values[i];
              }
            } else {
              mean += targets[i];
            }
          }
        }
        if (classes)
          json_object_set_string_member (run, "baseline", majority);
        else
          json_object_set_double_member (run, "baseline", mean / n_train);
        g_hash_table_destroy (count);
      }
      file = g_strdup_printf ("%s/repeat-%u-fold-%u.csv", output, r, k);
      if (!affect_file_set_contents_atomic (file, csv->str, csv->len, error)) {
        g_free (file);
        g_string_free (csv, TRUE);
        json_object_unref (run);
        json_object_unref (truth);
        g_free (train);
        g_free (train_class);
        g_free (train_group);
        failed = TRUE;
        break;
      }
      json_object_set_int_member (run, "repeat", r);
      json_object_set_int_member (run, "fold", k);
      json_object_set_string_member (run, "manifest", file);
      json_object_set_int_member (run, "train", n_train);
      json_object_set_int_member (run, "test", n_test);
      json_object_set_object_member (run, "truth", truth);
      json_array_add_object_element (runs, run);
      g_free (file);
      g_string_free (csv, TRUE);
      g_free (train);
      g_free (train_class);
      g_free (train_group);
      if (progress)
        progress (r * n_folds + k + 1, repeats * n_folds, "fold", user_data);
    }
  }
  g_free (fold);
  if (failed)
    goto out;
  json_object_set_array_member (plan, "runs", json_array_ref (runs));
  path = g_build_filename (output, "plan.json", NULL);
  {
    JsonNode *node = json_node_new (JSON_NODE_OBJECT);
    JsonGenerator *gen = json_generator_new ();
    char *text;
    gsize len;
    json_node_set_object (node, plan);
    json_generator_set_root (gen, node);
    json_generator_set_pretty (gen, TRUE);
    text = json_generator_to_data (gen, &len);
    ok = affect_file_set_contents_atomic (path, text, len, error);
    g_free (text);
    g_object_unref (gen);
    json_node_unref (node);
  }
  if (ok) {
    char *summary = g_strdup_printf ("%u items, %" G_GINT64_FORMAT
        " folds x %" G_GINT64_FORMAT " repeat%s%s%s%s in %s", n, n_folds,
        repeats, repeats == 1 ? "" : "s", classes ? ", stratified" : "",
        *group ? ", grouped by " : "", group, output);
    json_object_set_string_member (report, "output", output);
    json_object_set_int_member (report, "items", n);
    json_object_set_string_member (report, "summary", summary);
    g_free (summary);
  }
  g_free (path);

out:
  g_strfreev (paths);
  g_free (label_values);
  g_free (group_values);
  g_free (targets);
  g_free (class_of);
  g_free (group_of);
  affect_manifest_free (m);
out_plan:
  json_array_unref (runs);
  json_object_unref (plan);
  g_ptr_array_unref (class_names);
  g_ptr_array_unref (group_names);
  return ok;
}

const RunnerGenerator runner_generator_folds = {
  "folds",
  "cross-validation folds of a manifest: stratified, grouped, repeated; "
      "a manifest per run and plan.json",
  folds_params,
  folds_run,
  folds_check,
};

/* ---- crossval: scoring the runs ---- */

static const RunnerParam crossval_params[] = {
  {"input", "${RESULTS}", "the crossval results folder (folds/plan.json, "
        "folds/repeat-R-fold-K-predictions.json)"},
  {NULL, NULL, NULL}
};

/* the element that predicts is named "model" in the crossval pipelines */
#define MODEL_ELEMENT "model"

/* targets: MAE, RMSE, CCC of predictions p against truth t */
static void
regression_scores (const double *p, const double *t, guint n, double *out)
{
  double mp = 0, mt = 0, vp = 0, vt = 0, cov = 0, ae = 0, se = 0;
  guint i;

  for (i = 0; i < n; i++) {
    mp += p[i];
    mt += t[i];
    ae += fabs (p[i] - t[i]);
    se += (p[i] - t[i]) * (p[i] - t[i]);
  }
  mp /= n;
  mt /= n;
  for (i = 0; i < n; i++) {
    vp += (p[i] - mp) * (p[i] - mp);
    vt += (t[i] - mt) * (t[i] - mt);
    cov += (p[i] - mp) * (t[i] - mt);
  }
  out[0] = ae / n;
  out[1] = sqrt (se / n);
  /* Lin's concordance (population moments): 0 for a constant */
  out[2] = 2 * cov / n / (vp / n + vt / n + (mp - mt) * (mp - mt));
  /* a constant (the baseline) agrees with nothing: 0, not a rounding of
   * it */
  for (i = 1; i < n && p[i] == p[0]; i++);
  if (i == n || !isfinite (out[2]))
    out[2] = 0;
}

/* classes: accuracy, balanced accuracy (mean recall over the classes
 * present in the truth), macro-F1 (over the classes in the truth or the
 * predictions, as scikit-learn); confusion (k x k) accumulated */
static void
class_scores (const int *p, const int *t, guint n, guint k,
    guint64 * confusion, double *out)
{
  guint64 *c = g_new0 (guint64, (gsize) k * k);
  double correct = 0, recall = 0, f1 = 0;
  guint i, j, n_recall = 0, n_f1 = 0;

  for (i = 0; i < n; i++) {
    c[(gsize) t[i] * k + p[i]]++;
    confusion[(gsize) t[i] * k + p[i]]++;
    correct += p[i] == t[i];
  }
  for (j = 0; j < k; j++) {
    guint64 row = 0, col = 0, tp = c[(gsize) j * k + j];
    for (i = 0; i < k; i++) {
      row += c[(gsize) j * k + i];
      col += c[(gsize) i * k + j];
    }
    if (row > 0) {
      recall += (double) tp / row;
      n_recall++;
    }
    if (row + col > 0) {
      f1 += 2.0 * tp / (row + col);
      n_f1++;
    }
  }
  out[0] = correct / n;
  out[1] = n_recall ? recall / n_recall : NAN;
  out[2] = n_f1 ? f1 / n_f1 : NAN;
  g_free (c);
}

static JsonObject *
load_object (const char *path, JsonParser * parser, GError ** error)
{
  JsonNode *root;

  if (!json_parser_load_from_file (parser, path, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "%s: not a JSON object", path);
    return NULL;
  }
  return json_node_get_object (root);
}

/* the predicted value (target) or class name of each item of a run's
 * messages: id -> double* or char* */
static GHashTable *
load_predictions (const char *path, const char *task, const char *label,
    GError ** error)
{
  JsonParser *parser = json_parser_new ();
  GHashTable *out;
  JsonArray *a;
  guint i;

  if (!json_parser_load_from_file (parser, path, error)) {
    g_object_unref (parser);
    return NULL;
  }
  if (!JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser))) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "%s: not a JSON array of messages", path);
    g_object_unref (parser);
    return NULL;
  }
  out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  a = json_node_get_array (json_parser_get_root (parser));
  for (i = 0; i < json_array_get_length (a); i++) {
    JsonObject *m = json_array_get_object_element (a, i), *f;
    JsonArray *scores, *names;
    const char *id;
    guint j, best = 0, n;

    if (m == NULL || g_strcmp0 (json_object_get_string_member_with_default
            (m, "name", ""), "affect-prediction") != 0
        || g_strcmp0 (json_object_get_string_member_with_default (m,
                "source", ""), MODEL_ELEMENT) != 0
        || (f = json_object_get_object_member (m, "fields")) == NULL)
      continue;
    id = json_object_get_string_member_with_default (f, "id", "");
    scores = json_object_has_member (f, "scores") ?
        json_object_get_array_member (f, "scores") : NULL;
    names = json_object_has_member (f, "names") ?
        json_object_get_array_member (f, "names") : NULL;
    if (*id == '\0' || scores == NULL || names == NULL)
      continue;
    n = MIN (json_array_get_length (scores), json_array_get_length (names));
    if (n == 0)
      continue;
    if (strcmp (task, "speech") == 0) {
      for (j = 0; j < n; j++)
        if (strcmp (json_array_get_string_element (names, j), label) == 0)
          break;
      if (j < n && !json_node_is_null (json_array_get_element (scores, j))) {
        double *v = g_new (double, 1);
        *v = json_array_get_double_element (scores, j);
        g_hash_table_insert (out, g_strdup (id), v);
      }
    } else if (strcmp (task, "spontaneity") == 0) {
      double p = json_node_is_null (json_array_get_element (scores, 0)) ?
          NAN : json_array_get_double_element (scores, 0);
      /* the gate's decision: src_0 (spontaneous) at p >= 0.5 */
      g_hash_table_insert (out, g_strdup (id), g_strdup (p >= 0.5 ?
              "spontaneous" : "scripted"));
    } else {
      for (j = 1; j < n; j++)
        if (json_array_get_double_element (scores, j) >
            json_array_get_double_element (scores, best))
          best = j;
      g_hash_table_insert (out, g_strdup (id),
          g_strdup (json_array_get_string_element (names, best)));
    }
  }
  g_object_unref (parser);
  return out;
}

static const char *const class_metrics[] = { "accuracy",
  "balanced-accuracy", "macro-f1", NULL
};
static const char *const target_metrics[] = { "mae", "rmse", "ccc", NULL };

static void
table_row (GString * md, const char *name, const double *v, guint n_runs,
    guint n_metrics, gboolean percent)
{
  guint j;

  g_string_append_printf (md, "| %s |", name);
  for (j = 0; j < n_metrics; j++) {
    double *col = g_new (double, n_runs);
    guint i;
    Spread s;
    for (i = 0; i < n_runs; i++)
      col[i] = v[i * n_metrics + j];
    s = spread (col, n_runs);
    if (percent)
      g_string_append_printf (md, " %.1f ± %.1f |", 100 * s.mean,
          isfinite (s.sd) ? 100 * s.sd : 0.0);
    else
      g_string_append_printf (md, " %.3f ± %.3f |", s.mean,
          isfinite (s.sd) ? s.sd : 0.0);
    g_free (col);
  }
  g_string_append_c (md, '\n');
}

static JsonObject *
summary_object (const double *v, guint n_runs, const char *const *metrics)
{
  JsonObject *mean = json_object_new (), *sd = json_object_new (), *o;
  guint j, n_metrics = g_strv_length ((char **) metrics);

  for (j = 0; j < n_metrics; j++) {
    double *col = g_new (double, n_runs);
    guint i;
    Spread s;
    for (i = 0; i < n_runs; i++)
      col[i] = v[i * n_metrics + j];
    s = spread (col, n_runs);
    json_object_set_double_member (mean, metrics[j], s.mean);
    if (isfinite (s.sd))
      json_object_set_double_member (sd, metrics[j], s.sd);
    else
      json_object_set_null_member (sd, metrics[j]);
    g_free (col);
  }
  o = json_object_new ();
  json_object_set_object_member (o, "mean", mean);
  json_object_set_object_member (o, "sd", sd);
  return o;
}

/* 1 scored, 0 not every run is there yet, -1 error */
int
runner_crossval_summarise (const char *dir, gchar ** tables,
    char **markdown, GError ** error)
{
  char *plan_path = g_build_filename (dir, "folds", "plan.json", NULL);
  JsonParser *parser = json_parser_new ();
  JsonObject *plan = load_object (plan_path, parser, error), *out;
  const char *task, *label;
  const char *const *metrics;
  JsonArray *runs, *classes = NULL, *per_run;
  guint n_runs = 0, n_metrics = 3, n_classes = 0, i, missing = 0;
  gboolean is_class;
  double *model = NULL, *base = NULL;
  guint64 *confusion = NULL;
  int status = -1;
  GString *md = NULL;

  g_free (plan_path);
  if (plan == NULL)
    goto done;
  task = json_object_get_string_member (plan, "task");
  label = json_object_get_string_member (plan, "label");
  is_class = is_class_task (task);
  metrics = is_class ? class_metrics : target_metrics;
  runs = json_object_get_array_member (plan, "runs");
  n_runs = json_array_get_length (runs);
  if (is_class) {
    classes = json_object_get_array_member (plan, "classes");
    n_classes = json_array_get_length (classes);
    confusion = g_new0 (guint64, (gsize) n_classes * n_classes);
  }
  for (i = 0; i < n_runs; i++) {
    JsonObject *run = json_array_get_object_element (runs, i);
    char *p = g_strdup_printf ("%s/folds/repeat-%" G_GINT64_FORMAT
        "-fold-%" G_GINT64_FORMAT "-predictions.json", dir,
        json_object_get_int_member (run, "repeat"),
        json_object_get_int_member (run, "fold"));
    missing += !g_file_test (p, G_FILE_TEST_EXISTS);
    g_free (p);
  }
  if (missing) {
    status = 0;
    if (tables)
      *tables = g_strdup_printf ("%u of %u runs scored so far; `affect-run "
          "merge %s` scores them when every shard is done\n",
          n_runs - missing, n_runs, dir);
    goto done;
  }

  model = g_new0 (double, (gsize) n_runs * n_metrics);
  base = g_new0 (double, (gsize) n_runs * n_metrics);
  per_run = json_array_new ();
  for (i = 0; i < n_runs; i++) {
    JsonObject *run = json_array_get_object_element (runs, i);
    JsonObject *truth = json_object_get_object_member (run, "truth");
    JsonObject *o = json_object_new (), *mo = json_object_new ();
    JsonObject *bo = json_object_new ();
    GList *ids = json_object_get_members (truth), *l;
    guint n = g_list_length (ids), j = 0, k;
    gboolean failed = FALSE;
    JsonArray *unscored = json_array_new ();
    char *p = g_strdup_printf ("%s/folds/repeat-%" G_GINT64_FORMAT
        "-fold-%" G_GINT64_FORMAT "-predictions.json", dir,
        json_object_get_int_member (run, "repeat"),
        json_object_get_int_member (run, "fold"));
    GHashTable *pred = load_predictions (p, task, label, error);

    g_free (p);
    if (pred == NULL) {
      g_list_free (ids);
      json_object_unref (o);
      json_object_unref (mo);
      json_object_unref (bo);
      json_array_unref (per_run);
      goto done;
    }
    json_object_set_int_member (o, "repeat",
        json_object_get_int_member (run, "repeat"));
    json_object_set_int_member (o, "fold",
        json_object_get_int_member (run, "fold"));
    if (is_class) {
      int *pc = g_new (int, n), *tc = g_new (int, n), *bc = g_new (int, n);
      const char *b = json_object_get_string_member (run, "baseline");
      guint64 *unused = g_new0 (guint64, (gsize) n_classes * n_classes);
      for (l = ids; l; l = l->next) {
        const char *t = json_object_get_string_member (truth, l->data);
        const char *q = g_hash_table_lookup (pred, l->data);
        if (q == NULL) {
          json_array_add_string_element (unscored, l->data);
          continue;
        }
        tc[j] = pc[j] = bc[j] = -1;
        for (k = 0; k < n_classes; k++) {
          const char *c = json_array_get_string_element (classes, k);
          if (strcmp (c, t) == 0)
            tc[j] = k;
          if (q && strcmp (c, q) == 0)
            pc[j] = k;
          if (strcmp (c, b) == 0)
            bc[j] = k;
        }
        if (pc[j] < 0) {
          g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
              "crossval: no prediction of a known class for item '%s' "
              "(repeat %" G_GINT64_FORMAT ", fold %" G_GINT64_FORMAT ")",
              (char *) l->data, json_object_get_int_member (run, "repeat"),
              json_object_get_int_member (run, "fold"));
          failed = TRUE;
          break;
        }
        j++;
      }
      if (!failed && j > 0) {
        class_scores (pc, tc, j, n_classes, confusion, &model[i * 3]);
        class_scores (bc, tc, j, n_classes, unused, &base[i * 3]);
      }
      g_free (pc);
      g_free (tc);
      g_free (bc);
      g_free (unused);
    } else {
      double *pv = g_new (double, n), *tv = g_new (double, n);
      double *bv = g_new (double, n);
      double b = json_object_get_double_member (run, "baseline");
      for (l = ids; l; l = l->next) {
        double *q = g_hash_table_lookup (pred, l->data);
        if (q == NULL) {
          json_array_add_string_element (unscored, l->data);
          continue;
        }
        pv[j] = *q;
        tv[j] = json_object_get_double_member (truth, l->data);
        bv[j] = b;
        j++;
      }
      if (j > 0) {
        regression_scores (pv, tv, j, &model[i * 3]);
        regression_scores (bv, tv, j, &base[i * 3]);
      }
      g_free (pv);
      g_free (tv);
      g_free (bv);
    }
    g_list_free (ids);
    g_hash_table_unref (pred);
    /* an item the test run skipped (it could not be decoded: the run
     * warned with its path) is left out of the scores and listed */
    if (!failed && j == 0)
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
          "crossval: no item of repeat %" G_GINT64_FORMAT ", fold %"
          G_GINT64_FORMAT " has a prediction of %s",
          json_object_get_int_member (run, "repeat"),
          json_object_get_int_member (run, "fold"), label);
    if (failed || j == 0) {
      json_array_unref (unscored);
      json_object_unref (o);
      json_object_unref (mo);
      json_object_unref (bo);
      json_array_unref (per_run);
      goto done;
    }
    json_object_set_int_member (o, "items", j);
    if (json_array_get_length (unscored) > 0) {
      for (k = 0; k < json_array_get_length (unscored); k++)
        g_printerr ("affect-run: crossval: item '%s' has no prediction in "
            "repeat %" G_GINT64_FORMAT ", fold %" G_GINT64_FORMAT " (skipped "
            "by its test run): not scored\n",
            json_array_get_string_element (unscored, k),
            json_object_get_int_member (run, "repeat"),
            json_object_get_int_member (run, "fold"));
      json_object_set_array_member (o, "unscored", unscored);
    } else {
      json_array_unref (unscored);
    }
    for (k = 0; k < n_metrics; k++) {
      json_object_set_double_member (mo, metrics[k], model[i * 3 + k]);
      json_object_set_double_member (bo, metrics[k], base[i * 3 + k]);
    }
    json_object_set_object_member (o, "model", mo);
    json_object_set_object_member (o, "baseline", bo);
    if (is_class)
      json_object_set_string_member (o, "baseline-class",
          json_object_get_string_member (run, "baseline"));
    else
      json_object_set_double_member (o, "baseline-value",
          json_object_get_double_member (run, "baseline"));
    json_array_add_object_element (per_run, o);
  }

  out = json_object_new ();
  json_object_set_string_member (out, "task", task);
  json_object_set_string_member (out, "label", label);
  json_object_set_string_member (out, "group",
      json_object_get_string_member (plan, "group"));
  json_object_set_int_member (out, "folds",
      json_object_get_int_member (plan, "folds"));
  json_object_set_int_member (out, "repeats",
      json_object_get_int_member (plan, "repeats"));
  json_object_set_int_member (out, "items",
      json_object_get_int_member (plan, "items"));
  json_object_set_array_member (out, "runs", per_run);
  json_object_set_object_member (out, "model",
      summary_object (model, n_runs, metrics));
  json_object_set_object_member (out, "baseline",
      summary_object (base, n_runs, metrics));
  {
    JsonObject *top = summary_object (model, n_runs, metrics);
    json_object_set_object_member (out, "mean",
        json_object_ref (json_object_get_object_member (top, "mean")));
    json_object_set_object_member (out, "sd",
        json_object_ref (json_object_get_object_member (top, "sd")));
    json_object_unref (top);
  }

  md = g_string_new (NULL);
  g_string_append_printf (md, "Cross-validation of %s: %s, %" G_GINT64_FORMAT
      " folds x %" G_GINT64_FORMAT " repeat%s%s%s, %" G_GINT64_FORMAT
      " items (mean ± sd over %u runs)\n\n", label, task,
      json_object_get_int_member (plan, "folds"),
      json_object_get_int_member (plan, "repeats"),
      json_object_get_int_member (plan, "repeats") == 1 ? "" : "s",
      *json_object_get_string_member (plan, "group") ? ", grouped by " : "",
      json_object_get_string_member (plan, "group"),
      json_object_get_int_member (plan, "items"), n_runs);
  if (is_class)
    g_string_append (md, "| | accuracy (%) | balanced accuracy (%) | "
        "macro-F1 (%) |\n|---|---|---|---|\n");
  else
    g_string_append (md, "| | MAE | RMSE | CCC |\n|---|---|---|---|\n");
  table_row (md, is_class ? "model" : "model", model, n_runs, 3, is_class);
  table_row (md, is_class ? "majority class (training part)" :
      "training mean (training part)", base, n_runs, 3, is_class);

  if (is_class) {
    AffectMetricsResult r = { 0 };
    JsonArray *cm = json_array_new ();
    char **names = g_new0 (char *, n_classes + 1);
    double *norm = g_new0 (double, (gsize) n_classes * n_classes);
    guint64 correct = 0, total = 0;
    char *png = g_build_filename (dir, "crossval-confusion.png", NULL);
    guint a, b;
    GError *plot_error = NULL;

    for (a = 0; a < n_classes; a++) {
      JsonArray *row = json_array_new ();
      guint64 sum = 0;
      names[a] = (char *) json_array_get_string_element (classes, a);
      for (b = 0; b < n_classes; b++) {
        sum += confusion[a * n_classes + b];
        json_array_add_int_element (row, confusion[a * n_classes + b]);
      }
      for (b = 0; b < n_classes; b++)
        norm[a * n_classes + b] = sum ?
            (double) confusion[a * n_classes + b] / sum : 0;
      correct += confusion[a * n_classes + a];
      total += sum;
      json_array_add_array_element (cm, row);
    }
    json_object_set_array_member (out, "confusion", cm);
    json_object_set_array_member (out, "classes", json_array_ref (classes));
    r.task = AFFECT_METRICS_CLASS;
    r.n_outputs = n_classes;
    r.names = names;
    r.n_items = total;
    r.confusion = confusion;
    r.confusion_normalised = norm;
    r.accuracy = total ? (double) correct / total : NAN;
    if (affect_metrics_plot_confusion (&r, png, &plot_error)) {
      json_object_set_string_member (out, "confusion-figure", png);
      g_string_append_printf (md, "\nConfusion matrix summed over the runs: "
          "%s\n", png);
    } else {
      g_string_append_printf (md, "\n(no confusion figure: %s)\n",
          plot_error->message);
      g_clear_error (&plot_error);
    }
    g_free (png);
    g_free (names);
    g_free (norm);
  }
  {
    JsonNode *node = json_node_new (JSON_NODE_OBJECT);
    JsonGenerator *gen = json_generator_new ();
    char *text, *path = g_build_filename (dir, "crossval.json", NULL);
    char *md_path = g_build_filename (dir, "crossval.md", NULL);
    gsize len;
    gboolean ok;
    json_node_take_object (node, out);
    json_generator_set_root (gen, node);
    json_generator_set_pretty (gen, TRUE);
    text = json_generator_to_data (gen, &len);
    ok = affect_file_set_contents_atomic (path, text, len, error)
        && affect_file_set_contents_atomic (md_path, md->str, md->len, error);
    g_free (text);
    g_free (path);
    g_object_unref (gen);
    json_node_unref (node);
    if (ok) {
      status = 1;
      if (tables)
        *tables = g_strdup (md->str);
      if (markdown)
        *markdown = g_strdup (md_path);
    }
    g_free (md_path);
  }

done:
  if (md)
    g_string_free (md, TRUE);
  g_free (model);
  g_free (base);
  g_free (confusion);
  g_object_unref (parser);
  return status;
}

static gboolean
crossval_run (GHashTable * params, JsonObject * report,
    RunnerProgressFunc progress, gpointer user_data, GError ** error)
{
  gchar *tables = NULL;
  char *markdown = NULL;
  int s = runner_crossval_summarise (g_hash_table_lookup (params, "input"),
      &tables, &markdown, error);

  if (s < 0)
    return FALSE;
  json_object_set_string_member (report, "summary", s == 1 ? markdown : tables);
  if (s == 1) {
    json_object_set_string_member (report, "markdown", markdown);
    runner_report_set_tables (tables, markdown);
  } else {
    g_free (tables);
  }
  g_free (markdown);
  return TRUE;
}

const RunnerGenerator runner_generator_crossval = {
  "crossval",
  "scores the runs of a cross-validation: crossval.json, a Markdown table "
      "with the baseline row, the summed confusion matrix (PNG)",
  crossval_params,
  crossval_run,
  NULL,
};

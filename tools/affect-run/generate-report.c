/* affect-run built-in steps that are not corpora:
 *
 *   augment  the music paper's augmentation policy (libaffect's
 *            affect_augment_plan): which train items of a manifest a
 *            generator turns into generated items, written as a manifest of
 *            those items;
 *   report   the report of a results folder (tools/affect-run/report.c): Markdown,
 *            JSON and PNG figures; its tables are printed at the end of the
 *            run.
 */
#include <string.h>

#include "affect/affect.h"
#include "affect/augment.h"
#include "affect/manifest.h"
#include "report.h"
#include "runner.h"

static const RunnerParam augment_params[] = {
  {"manifest", NULL, "the training manifest (any format of affectsrc)"},
  {"split", "train", "the split whose items are candidates (empty: all)"},
  {"fraction", "0.05",
      "generated duration as a fraction of the split's duration"},
  {"seed", "1", "seed of the order in which each class's items are taken"},
  {"output", NULL, "the manifest of the chosen items (same format)"},
  {NULL, NULL, NULL}
};

static gboolean
augment_check (GHashTable * params, GError ** error)
{
  gint64 seed;
  double fraction;

  return runner_param_double (params, "augment", "fraction", 1e-6, 1,
      &fraction, error)
      && runner_param_int (params, "augment", "seed", 0, G_MAXINT64, &seed,
      error);
}

static gboolean
augment_run (GHashTable * params, JsonObject * report,
    RunnerProgressFunc progress, gpointer user_data, GError ** error)
{
  const char *path = g_hash_table_lookup (params, "manifest");
  const char *split = g_hash_table_lookup (params, "split");
  const char *output = g_hash_table_lookup (params, "output");
  AffectManifest *m;
  AffectAugmentPlan *plan = NULL;
  double fraction, *durations;
  gint64 seed;
  int *classes;
  guint n_classes, i, c;
  gboolean ok = FALSE;
  char *dir;

  if (!augment_check (params, error))
    return FALSE;
  runner_param_double (params, "augment", "fraction", 0, 1, &fraction, NULL);
  runner_param_int (params, "augment", "seed", 0, G_MAXINT64, &seed, NULL);
  m = affect_manifest_load (path, NULL, error);
  if (m == NULL)
    return FALSE;
  classes = affect_augment_item_classes (m, &n_classes);
  durations = g_new (double, MAX (m->n_items, 1));
  for (i = 0; i < m->n_items; i++) {
    const AffectManifestItem *item = &m->items[i];
    durations[i] = item->duration;
    if (split && *split && g_strcmp0 (item->split, split) != 0)
      classes[i] = -1;          /* not a candidate */
    else if (!(item->duration > 0)) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
          "%s:%u: item %s has no duration; the policy needs every "
          "candidate's duration", path, item->line, item->id);
      goto out;
    }
  }
  plan = affect_augment_plan (durations, classes, m->n_items, n_classes,
      fraction, (uint64_t) seed, error);
  if (plan == NULL) {
    g_prefix_error (error, "%s: ", path);
    goto out;
  }
  dir = g_path_get_dirname (output);
  g_mkdir_with_parents (dir, 0755);
  g_free (dir);
  if (!affect_augment_write_subset (m, plan->indices, plan->n_selected,
          output, error))
    goto out;
  if (progress)
    progress (plan->n_selected, plan->n_selected, output, user_data);

  json_object_set_string_member (report, "output", output);
  json_object_set_int_member (report, "items", plan->n_selected);
  json_object_set_boolean_member (report, "cached", FALSE);
  json_object_set_double_member (report, "split-seconds", plan->total_seconds);
  json_object_set_double_member (report, "budget-seconds-per-class",
      plan->budget_seconds);
  {
    JsonObject *per = json_object_new ();
    for (c = 0; c < n_classes; c++) {
      JsonObject *o;
      char *name = m->task == AFFECT_MANIFEST_TASK_TAGS ?
          g_strdup (affect_quadrant_names ()[c]) : m->vocabulary ?
          g_strdup (m->vocabulary[c]) : g_strdup_printf ("%u", c);
      if (plan->class_items[c] == 0) {
        g_free (name);
        continue;
      }
      o = json_object_new ();
      json_object_set_int_member (o, "items", plan->class_items[c]);
      json_object_set_double_member (o, "seconds", plan->class_seconds[c]);
      json_object_set_object_member (per, name, o);
      g_free (name);
    }
    json_object_set_object_member (report, "classes", per);
  }
  ok = TRUE;
out:
  affect_augment_plan_free (plan);
  g_free (durations);
  g_free (classes);
  affect_manifest_free (m);
  return ok;
}

const RunnerGenerator runner_generator_augment = {
  "augment",
  "the augmentation policy: train items to turn into generated items "
      "(a fraction of the split's duration, equal per class)",
  augment_params,
  augment_run,
  augment_check,
};

static const RunnerParam report_params[] = {
  {"input", "${RESULTS}", "results folder to read (three levels deep)"},
  {"output", "${RESULTS}/report", "folder for report.md, report.json, PNGs"},
  {"title", "gst-affect: ${EXPERIMENT}", "the report's title"},
  {NULL, NULL, NULL}
};

/* the tables of the last report step, printed when the run ends */
static gchar *last_tables;
static gchar *last_markdown;

static gboolean
report_run (GHashTable * params, JsonObject * report,
    RunnerProgressFunc progress, gpointer user_data, GError ** error)
{
  gchar *tables = NULL;
  gboolean ok;

  ok = runner_report_write (g_hash_table_lookup (params, "input"),
      g_hash_table_lookup (params, "output"),
      g_hash_table_lookup (params, "title"), &tables, report, error);
  if (ok) {
    g_free (last_tables);
    g_free (last_markdown);
    last_tables = tables;
    last_markdown = g_strdup (json_object_get_string_member (report,
            "markdown"));
    /* the runner's summary line */
    {
      char *summary = g_strdup_printf ("%" G_GINT64_FORMAT " sections, %"
          G_GINT64_FORMAT " figures in %s",
          json_object_get_int_member (report, "sections"),
          json_object_get_int_member (report, "figures"), last_markdown);
      json_object_set_string_member (report, "summary", summary);
      g_free (summary);
    }
    if (progress)
      progress (1, 1, last_markdown, user_data);
  } else {
    g_free (tables);
  }
  return ok;
}

void
runner_report_set_tables (gchar * tables, const char *markdown)
{
  g_free (last_tables);
  g_free (last_markdown);
  last_tables = tables;
  last_markdown = g_strdup (markdown);
}

const char *
runner_report_tables (const char **markdown)
{
  if (markdown)
    *markdown = last_markdown;
  return last_tables;
}

const RunnerGenerator runner_generator_report = {
  "report",
  "the report of a results folder: Markdown tables (Table III, MAE), "
      "confusion matrices and curves as PNG, JSON",
  report_params,
  report_run,
  NULL,
};

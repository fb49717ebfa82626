/* affect-run merge: the per-item files of a sharded run joined into the
 * metrics of the whole run.
 *
 * Every affectmetrics of a shardable pipeline writes its items to
 * `NAME-items-I-of-N.csv` (items-location with ${SHARD_INDEX} and
 * ${SHARD_COUNT}). merge finds each NAME with all N files present, reads
 * them (libaffect's per-item table), sorts the rows into the canonical
 * (id, index) order and evaluates them as affectmetrics and affect-metrics
 * do: thresholds (tags) fitted on the validation items, every other item
 * evaluated. The report, NAME.json, is the same whether the items came from
 * one run or from any number of shards, bit for bit (docs/scaling.md).
 */
#include <stdio.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/metrics.h"
#include "merge.h"
#include "runner.h"

typedef struct
{
  char *name;                   /* NAME */
  guint count;                  /* N */
  char **files;                 /* [N], NULL where missing */
} ShardSet;

static void
shard_set_free (gpointer p)
{
  ShardSet *s = p;
  guint i;

  for (i = 0; i < s->count; i++)
    g_free (s->files[i]);
  g_free (s->files);
  g_free (s->name);
  g_free (s);
}

/* NAME-items-I-of-N.csv → NAME, I, N */
static gboolean
parse_name (const char *file, char **name, guint * index, guint * count)
{
  GMatchInfo *m;
  static GRegex *re;
  gboolean ok;

  if (g_once_init_enter (&re)) {
    GRegex *r = g_regex_new ("^(.+)-items-([0-9]+)-of-([0-9]+)\\.csv$", 0, 0,
        NULL);
    g_once_init_leave (&re, r);
  }
  ok = g_regex_match (re, file, 0, &m);
  if (ok) {
    char *i = g_match_info_fetch (m, 2), *n = g_match_info_fetch (m, 3);
    *name = g_match_info_fetch (m, 1);
    *index = (guint) g_ascii_strtoull (i, NULL, 10);
    *count = (guint) g_ascii_strtoull (n, NULL, 10);
    ok = *count >= 1 && *count <= 100000 && *index < *count;
    if (!ok)
      g_free (*name);
    g_free (i);
    g_free (n);
  }
  g_match_info_free (m);
  return ok;
}

JsonNode *
runner_merge_items (const char *const *files, guint n_files,
    AffectMetricsResult ** result, GError ** error)
{
  AffectItemTable *table = affect_item_table_new (AFFECT_METRICS_TAGS, 0,
      NULL);
  AffectEvaluation *ev = NULL;
  JsonNode *report = NULL;
  guint64 i;
  guint k, f;

  for (f = 0; f < n_files; f++)
    if (!affect_item_table_read_csv (table, files[f], error))
      goto out;
  /* shards in any order come back in one order */
  affect_item_table_sort (table);
  k = table->n_outputs;
  ev = affect_evaluation_new (table->task, k,
      (const char *const *) table->names, NULL, "validation");
  if (table->task == AFFECT_METRICS_TAGS)
    affect_evaluation_set_rule (ev, AFFECT_DECISION_FITTED, 0, NULL);
  for (i = 0; i < affect_item_table_n_items (table); i++) {
    const char *split = g_ptr_array_index (table->split, i);
    if (!affect_evaluation_add (ev, *split ? split : NULL,
            g_array_index (table->route, gint, i),
            (const float *) table->scores->data + i * k,
            (const float *) table->truth->data + i * k, error))
      goto out;
  }
  report = affect_evaluation_report (ev, TRUE, result, error);
out:
  affect_evaluation_free (ev);
  affect_item_table_free (table);
  return report;
}

int
runner_merge (const char *dir, gboolean quiet)
{
  GHashTable *sets = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      shard_set_free);
  GError *error = NULL;
  GDir *d = g_dir_open (dir, 0, &error);
  GList *names, *l;
  const char *e;
  int status = 0;
  guint merged = 0;
  char *plan = g_build_filename (dir, "folds", "plan.json", NULL);

  /* a cross-validation's runs, from any number of shards */
  if (g_file_test (plan, G_FILE_TEST_EXISTS)) {
    gchar *tables = NULL;
    char *markdown = NULL;
    int s = runner_crossval_summarise (dir, &tables, &markdown, &error);
    if (s < 0) {
      g_printerr ("affect-run merge: %s\n", error->message);
      g_clear_error (&error);
      status = 1;
    } else if (s == 0) {
      g_printerr ("affect-run merge: %s: %s", dir, tables);
      status = 1;
    } else {
      merged++;
      if (!quiet) {
        /* UTF-8 as written (±), whatever the locale's charset */
        fputs (tables, stdout);
        g_print ("\naffect-run merge: %s\n", markdown);
      }
    }
    g_free (tables);
    g_free (markdown);
  }
  g_free (plan);

  if (d == NULL) {
    g_printerr ("affect-run merge: %s\n", error->message);
    g_error_free (error);
    g_hash_table_unref (sets);
    return 1;
  }
  while ((e = g_dir_read_name (d)) != NULL) {
    char *name;
    guint index, count;
    ShardSet *s;

    if (!parse_name (e, &name, &index, &count))
      continue;
    s = g_hash_table_lookup (sets, name);
    if (s != NULL && s->count != count) {
      g_printerr ("affect-run merge: %s: shards of %s from runs of %u and "
          "%u shards; keep one run's files\n", dir, name, s->count, count);
      status = 1;
      g_free (name);
      continue;
    }
    if (s == NULL) {
      s = g_new0 (ShardSet, 1);
      s->name = name;
      s->count = count;
      s->files = g_new0 (char *, count);
      g_hash_table_insert (sets, s->name, s);
    } else {
      g_free (name);
    }
    s->files[index] = g_build_filename (dir, e, NULL);
  }
  g_dir_close (d);

  names = g_list_sort (g_hash_table_get_keys (sets), (GCompareFunc) strcmp);
  for (l = names; l; l = l->next) {
    ShardSet *s = g_hash_table_lookup (sets, l->data);
    AffectMetricsResult *r = NULL;
    JsonNode *report;
    char *out;
    guint i, missing = 0;

    for (i = 0; i < s->count; i++)
      if (s->files[i] == NULL) {
        g_printerr ("affect-run merge: %s: %s-items-%u-of-%u.csv is "
            "missing\n", dir, s->name, i, s->count);
        missing++;
      }
    if (missing) {
      status = 1;
      continue;
    }
    report = runner_merge_items ((const char *const *) s->files, s->count,
        &r, &error);
    out = g_strdup_printf ("%s/%s.json", dir, s->name);
    if (report == NULL || !affect_metrics_report_write (report, out, &error)) {
      g_printerr ("affect-run merge: %s: %s\n", s->name, error->message);
      g_clear_error (&error);
      status = 1;
    } else {
      merged++;
      if (!quiet) {
        gchar *table = affect_metrics_result_mediaeval_table (r);
        g_print ("%s: %" G_GUINT64_FORMAT " items from %u shard%s -> %s\n%s",
            s->name, r->n_items, s->count, s->count == 1 ? "" : "s", out,
            table);
        g_free (table);
      }
    }
    if (report)
      json_node_unref (report);
    affect_metrics_result_free (r);
    g_free (out);
  }
  g_list_free (names);
  g_hash_table_unref (sets);
  if (merged == 0 && status == 0) {
    g_printerr ("affect-run merge: %s: no NAME-items-I-of-N.csv files and "
        "no cross-validation (folds/plan.json)\n", dir);
    status = 1;
  }
  return status;
}

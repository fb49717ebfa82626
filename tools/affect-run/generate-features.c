/* affect-run built-in step `features`: the IS09 features of a manifest's
 * items, from the feature cache (docs/features.md) when it holds them, else
 * extracted once (affectsrc ! EXTRACT ! affectfeaturesink) and stored
 * there; the table is then linked to `output`, where the runs of a
 * cross-validation read it with affectfeaturesrc (pipelines/crossval.
 * experiment, FEATURES=cache).
 *
 * The key is libaffect's affect_feature_cache_key(): the manifest's rows,
 * every item's file (path, length, content) and the extraction text
 * (affectsrc's options and the chain after it, the very text the
 * extracting pipelines run) with libaffect's version. The table's rows are
 * the manifest's items in its order, as in the runs' manifests of the
 * `folds` step; an item that cannot be decoded has no row (the table's
 * .items.csv lists the rows), and affectfeaturesrc skips it in every run
 * with a warning naming its path, as the extracting runs do.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#include "affect/affect.h"
#include "affect/features.h"
#include "affect/manifest.h"
#include "runner.h"

static const RunnerParam features_params[] = {
  {"manifest", NULL, "the corpus: a CSV with a path column"},
  {"root", "", "folder relative paths start from (empty: the manifest's)"},
  {"source", "", "more affectsrc properties (name=value ...)"},
  {"extract", NULL, "the chain after affectsrc, gst-launch text ending in "
        "the extractor (audioconvert ! ... ! affectis09)"},
  {"cache", "${CACHE}/features", "folder of the cached tables (empty: "
        "none, extract into output)"},
  {"output", NULL, "the table (.npy) the runs read; .meta and .items.csv "
        "beside it"},
  {"task", "speech", "speech or spontaneity: IS09 is cached; music: "
        "nothing to do (the music runs decode)"},
  {"features", "cache", "cache: as above; extract: nothing to do (every "
        "run extracts)"},
  {NULL, NULL, NULL}
};

static gboolean
features_check (GHashTable * params, GError ** error)
{
  const char *task = g_hash_table_lookup (params, "task");
  const char *features = g_hash_table_lookup (params, "features");
  const char *output = g_hash_table_lookup (params, "output");

  if (strcmp (task, "music") != 0 && strcmp (task, "speech") != 0
      && strcmp (task, "spontaneity") != 0) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "features: task='%s' is not music, speech or spontaneity", task);
    return FALSE;
  }
  if (strcmp (features, "cache") != 0 && strcmp (features, "extract") != 0) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "features: features='%s' is not cache or extract", features);
    return FALSE;
  }
  if (!g_str_has_suffix (output, ".npy")) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "features: output='%s' is not a .npy file", output);
    return FALSE;
  }
  return TRUE;
}

/* affectsrc ! extract ! affectfeaturesink into table, to EOS */
static gboolean
extract (const char *launch, RunnerProgressFunc progress, gpointer user_data,
    GError ** error)
{
  GstElement *pipeline;
  GstBus *bus;
  gboolean done = FALSE, ok = FALSE;
  GError *parse_error = NULL;

  pipeline = gst_parse_launch_full (launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS,
      &parse_error);
  if (pipeline == NULL) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "features: %s: %s", launch, parse_error->message);
    g_error_free (parse_error);
    return FALSE;
  }
  bus = gst_element_get_bus (pipeline);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    done = TRUE;
  while (!done) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    const GstStructure *s;
    if (msg == NULL)
      break;
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_EOS:
        ok = done = TRUE;
        break;
      case GST_MESSAGE_ERROR:{
        GError *e = NULL;
        gst_message_parse_error (msg, &e, NULL);
        g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
            "features: %s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
            e->message);
        g_error_free (e);
        done = TRUE;
        break;
      }
      default:
        s = gst_message_get_structure (msg);
        if (progress && s && gst_structure_has_name (s, "affect-progress")) {
          guint d = 0, n = 0;
          gst_structure_get_uint (s, "items-done", &d);
          gst_structure_get_uint (s, "items-total", &n);
          progress (d, n, gst_structure_get_string (s, "id"), user_data);
        }
        break;
    }
    gst_message_unref (msg);
  }
  if (!ok && error != NULL && *error == NULL)
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "features: %s did not start", launch);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return ok;
}

/* dst as a hard link to src, else a copy; replaced atomically (rename),
 * so that the shards of a run, which all take the table, never leave a
 * moment without it */
static gboolean
link_or_copy (const char *src, const char *dst, GError ** error)
{
  gchar *tmp = g_strdup_printf ("%s.%d.tmp", dst, (int) getpid ());
  gchar *contents;
  gsize length;
  gboolean ok;

  g_unlink (tmp);
  if (link (src, tmp) == 0) {
    ok = g_rename (tmp, dst) == 0;
    if (!ok) {
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
          "features: cannot write %s: %s", dst, g_strerror (errno));
      g_unlink (tmp);
    }
    g_free (tmp);
    return ok;
  }
  g_free (tmp);
  if (!g_file_get_contents (src, &contents, &length, error))
    return FALSE;
  ok = g_file_set_contents (dst, contents, length, error);
  g_free (contents);
  return ok;
}

/* the manifest's items that have no row in table (its .items.csv lists
 * the rows): named on stderr with their paths and in the step's report */
static gboolean
report_undecoded (const AffectManifest * m, const guint * order, guint n,
    const char *table, JsonObject * report, GError ** error)
{
  const char *const no_targets[] = { NULL };
  AffectManifestOptions opt;
  AffectManifest *rows;
  GHashTable *have;
  JsonArray *skipped = json_array_new ();
  gchar *companion = g_strconcat (table, ".items.csv", NULL);
  guint k;

  affect_manifest_options_init (&opt);
  opt.label_column = "";
  opt.target_columns = no_targets;
  rows = affect_manifest_load (companion, &opt, error);
  g_free (companion);
  if (rows == NULL) {
    json_array_unref (skipped);
    return FALSE;
  }
  have = g_hash_table_new (g_str_hash, g_str_equal);
  for (k = 0; k < rows->n_items; k++)
    g_hash_table_add (have, rows->items[k].id);
  for (k = 0; k < n; k++) {
    const AffectManifestItem *mi = &m->items[order[k]];
    gchar *path;
    if (g_hash_table_contains (have, mi->id))
      continue;
    path = affect_manifest_resolve_path (m, mi, NULL);
    g_printerr ("affect-run: features: item \"%s\" (%s) could not be "
        "decoded; every run skips it\n", mi->id, path);
    json_array_add_string_element (skipped, mi->id);
    g_free (path);
  }
  json_object_set_array_member (report, "undecoded", skipped);
  g_hash_table_unref (have);
  affect_manifest_free (rows);
  return TRUE;
}

static gboolean
features_run (GHashTable * params, JsonObject * report,
    RunnerProgressFunc progress, gpointer user_data, GError ** error)
{
  const char *task = g_hash_table_lookup (params, "task");
  const char *features = g_hash_table_lookup (params, "features");
  const char *manifest = g_hash_table_lookup (params, "manifest");
  const char *root = g_hash_table_lookup (params, "root");
  const char *source = g_hash_table_lookup (params, "source");
  const char *chain = g_hash_table_lookup (params, "extract");
  const char *cache = g_hash_table_lookup (params, "cache");
  const char *output = g_hash_table_lookup (params, "output");
  const char *const no_targets[] = { NULL };
  static const char *const companions[] = { ".meta", ".items.csv", "" };
  AffectManifestOptions opt;
  AffectManifestSelection selection;
  AffectManifest *m = NULL;
  AffectFeatureTable *t = NULL;
  guint *order = NULL, n = 0, i;
  gchar *src_text = NULL, *params_text = NULL, *key = NULL, *table = NULL;
  gchar *dir = NULL;
  gboolean ok = FALSE, cached;

  if (strcmp (features, "extract") == 0 || strcmp (task, "music") == 0) {
    json_object_set_string_member (report, "skipped",
        strcmp (task, "music") == 0 ? "music: every run decodes" :
        "FEATURES=extract: every run extracts");
    return TRUE;
  }
  affect_manifest_options_init (&opt);
  opt.label_column = "";
  opt.target_columns = no_targets;
  m = affect_manifest_load (manifest, &opt, error);
  if (m == NULL)
    goto out;
  affect_manifest_selection_init (&selection);
  order = affect_manifest_select (m, &selection, &n, error);
  if (order == NULL)
    goto out;
  /* the extracting pipelines' text: affectsrc's options, then the chain */
  src_text = g_strdup_printf ("affectsrc location=\"%s\"%s%s%s "
      "label-column=\"\" target-columns=\"\" %s", manifest,
      *root ? " root=\"" : "", root, *root ? "\"" : "", source);
  params_text = g_strdup_printf ("affectsrc %s ! %s (libaffect %s)", source,
      chain, affect_version ());
  key = affect_feature_cache_key (m, order, n, *root ? root : NULL,
      params_text, error);
  if (key == NULL)
    goto out;
  table = *cache ? g_strdup_printf ("%s/%s.npy", cache, key) :
      g_strdup (output);
  cached = *cache && g_file_test (table, G_FILE_TEST_IS_REGULAR);
  dir = g_path_get_dirname (table);
  if (!cached && g_mkdir_with_parents (dir, 0755) != 0) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "features: cannot create %s: %s", dir, g_strerror (errno));
    goto out;
  }
  if (!cached) {
    gchar *launch = g_strdup_printf ("%s ! %s ! affectfeaturesink "
        "location=\"%s\"", src_text, chain, table);
    ok = extract (launch, progress, user_data, error);
    g_free (launch);
    if (!ok)
      goto out;
    ok = FALSE;
  }
  /* an item that could not be decoded has no row: the runs read the
   * table's ids (TABLE.items.csv) and skip it, as extracting runs do */
  t = affect_feature_table_load (table, AFFECT_FEATURE_FORMAT_NPY, error);
  if (t == NULL)
    goto out;
  if (t->n_rows != n && !report_undecoded (m, order, n, table, report, error))
    goto out;
  if (*cache) {
    gchar *out_dir = g_path_get_dirname (output);
    if (g_mkdir_with_parents (out_dir, 0755) != 0) {
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
          "features: cannot create %s: %s", out_dir, g_strerror (errno));
      g_free (out_dir);
      goto out;
    }
    g_free (out_dir);
    /* the table last: a reader that sees it sees the others */
    for (i = 0; i < G_N_ELEMENTS (companions); i++) {
      gchar *from = g_strconcat (table, companions[i], NULL);
      gchar *to = g_strconcat (output, companions[i], NULL);
      gboolean linked = link_or_copy (from, to, error);
      g_free (from);
      g_free (to);
      if (!linked)
        goto out;
    }
  }
  json_object_set_string_member (report, "output", output);
  json_object_set_string_member (report, "table", table);
  json_object_set_string_member (report, "key", key);
  json_object_set_int_member (report, "items", n);
  json_object_set_int_member (report, "features", t->n_features);
  json_object_set_boolean_member (report, "cached", cached);
  ok = TRUE;
out:
  affect_feature_table_free (t);
  affect_manifest_free (m);
  g_free (order);
  g_free (src_text);
  g_free (params_text);
  g_free (key);
  g_free (table);
  g_free (dir);
  return ok;
}

const RunnerGenerator runner_generator_features = {
  "features",
  "IS09 features of a manifest's items, from the feature cache or "
      "extracted once into it",
  features_params,
  features_run,
  features_check,
};

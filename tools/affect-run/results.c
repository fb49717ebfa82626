/* affect-run: results. Bus messages' GstStructures as JSON (fields keep
 * their GStreamer types) and the results file, written atomically whether
 * the run succeeded or not (docs/runner.md, "Results"). */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "run.h"

JsonObject *
runner_structure_to_json (const GstStructure * s)
{
  JsonObject *obj = json_object_new ();
  int i, n = gst_structure_n_fields (s);

  for (i = 0; i < n; i++) {
    const char *name = gst_structure_nth_field_name (s, i);
    json_object_set_member (obj, name,
        runner_value_to_json (gst_structure_get_value (s, name)));
  }
  return obj;
}

static JsonNode *
double_node (double d)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  /* JSON has no NaN or infinity */
  if (isfinite (d))
    json_node_set_double (node, d);
  else
    json_node_init_null (node);
  return node;
}

static gboolean
is_value_array (GType t)
{
  static GType value_array_type = 0;

  /* GValueArray is deprecated, so look its type up by name */
  if (value_array_type == 0)
    value_array_type = g_type_from_name ("GValueArray");
  return value_array_type != 0 && t == value_array_type;
}

JsonNode *
runner_value_to_json (const GValue * v)
{
  JsonNode *node;
  GType t = G_VALUE_TYPE (v);

  if (t == G_TYPE_STRING) {
    node = json_node_new (JSON_NODE_VALUE);
    if (g_value_get_string (v))
      json_node_set_string (node, g_value_get_string (v));
    else
      json_node_init_null (node);
    return node;
  }
  if (t == G_TYPE_BOOLEAN) {
    node = json_node_new (JSON_NODE_VALUE);
    json_node_set_boolean (node, g_value_get_boolean (v));
    return node;
  }
  if (t == G_TYPE_INT || t == G_TYPE_UINT || t == G_TYPE_INT64
      || t == G_TYPE_LONG || t == G_TYPE_ULONG || t == G_TYPE_CHAR
      || t == G_TYPE_UCHAR) {
    GValue i64 = G_VALUE_INIT;
    g_value_init (&i64, G_TYPE_INT64);
    g_value_transform (v, &i64);
    node = json_node_new (JSON_NODE_VALUE);
    json_node_set_int (node, g_value_get_int64 (&i64));
    return node;
  }
  if (t == G_TYPE_UINT64) {
    guint64 u = g_value_get_uint64 (v);
    node = json_node_new (JSON_NODE_VALUE);
    /* GST_CLOCK_TIME_NONE and friends */
    if (u == G_MAXUINT64)
      json_node_init_null (node);
    else
      json_node_set_int (node, (gint64) MIN (u, (guint64) G_MAXINT64));
    return node;
  }
  if (t == G_TYPE_DOUBLE)
    return double_node (g_value_get_double (v));
  if (t == G_TYPE_FLOAT)
    return double_node (g_value_get_float (v));
  if (t == GST_TYPE_ARRAY || t == GST_TYPE_LIST) {
    JsonArray *a = json_array_new ();
    guint i, n = t == GST_TYPE_ARRAY ? gst_value_array_get_size (v) :
        gst_value_list_get_size (v);
    for (i = 0; i < n; i++)
      json_array_add_element (a, runner_value_to_json (t == GST_TYPE_ARRAY ?
              gst_value_array_get_value (v, i) :
              gst_value_list_get_value (v, i)));
    node = json_node_new (JSON_NODE_ARRAY);
    json_node_take_array (node, a);
    return node;
  }
  if (is_value_array (t)) {
    /* still used by stock elements' messages (level's rms, peak, decay) */
    JsonArray *a = json_array_new ();
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS;
    GValueArray *va = g_value_get_boxed (v);
    guint i;
    for (i = 0; va && i < va->n_values; i++)
      json_array_add_element (a, runner_value_to_json (&va->values[i]));
    G_GNUC_END_IGNORE_DEPRECATIONS;
    node = json_node_new (JSON_NODE_ARRAY);
    json_node_take_array (node, a);
    return node;
  }
  if (t == G_TYPE_STRV) {
    JsonArray *a = json_array_new ();
    const char *const *strv = g_value_get_boxed (v);
    for (; strv && *strv; strv++)
      json_array_add_string_element (a, *strv);
    node = json_node_new (JSON_NODE_ARRAY);
    json_node_take_array (node, a);
    return node;
  }
  if (t == GST_TYPE_STRUCTURE) {
    const GstStructure *s = gst_value_get_structure (v);
    node = json_node_new (JSON_NODE_OBJECT);
    if (s)
      json_node_take_object (node, runner_structure_to_json (s));
    else
      json_node_init_null (node);
    return node;
  }
  if (t == G_TYPE_ERROR) {
    const GError *e = g_value_get_boxed (v);
    node = json_node_new (JSON_NODE_VALUE);
    json_node_set_string (node, e ? e->message : "");
    return node;
  }
  /* fractions, caps, enums, ...: GStreamer's own serialisation */
  {
    char *s = gst_value_serialize (v);
    node = json_node_new (JSON_NODE_VALUE);
    if (s)
      json_node_set_string (node, s);
    else
      json_node_init_null (node);
    g_free (s);
  }
  return node;
}

JsonObject *
runner_error_object (const char *step, const char *source, const char *message,
    const char *debug)
{
  JsonObject *e = json_object_new ();

  json_object_set_string_member (e, "step", step);
  if (source)
    json_object_set_string_member (e, "source", source);
  json_object_set_string_member (e, "message", message);
  if (debug)
    json_object_set_string_member (e, "debug", debug);
  return e;
}

static char *
iso_now (void)
{
  GDateTime *now = g_date_time_new_now_utc ();
  char *s = g_date_time_format_iso8601 (now);

  g_date_time_unref (now);
  return s;
}

JsonObject *
runner_results_new (Runner * r, RunnerExperiment * e)
{
  JsonObject *root = json_object_new (), *shard, *vars;
  GList *keys, *l;
  char *t;

  json_object_set_string_member (root, "experiment", e->name);
  json_object_set_string_member (root, "file", e->path);
  if (e->description)
    json_object_set_string_member (root, "description", e->description);
  t = iso_now ();
  json_object_set_string_member (root, "started", t);
  g_free (t);
  t = gst_version_string ();
  json_object_set_string_member (root, "gstreamer", t);
  g_free (t);
  json_object_set_string_member (root, "libaffect", affect_version ());
  shard = json_object_new ();
  json_object_set_int_member (shard, "index", r->shard_index);
  json_object_set_int_member (shard, "count", r->shard_count);
  json_object_set_object_member (root, "shard", shard);
  vars = json_object_new ();
  keys = g_list_sort (g_hash_table_get_keys (e->vars),
      (GCompareFunc) g_strcmp0);
  for (l = keys; l; l = l->next)
    json_object_set_string_member (vars, l->data,
        g_hash_table_lookup (e->vars, l->data));
  g_list_free (keys);
  json_object_set_object_member (root, "variables", vars);
  {
    JsonArray *skipped = json_array_new ();
    guint i;
    for (i = 0; i < e->skipped->len; i++)
      json_array_add_string_element (skipped, g_ptr_array_index (e->skipped,
              i));
    json_object_set_array_member (root, "skipped", skipped);
  }
  return root;
}

gboolean
runner_results_write (const char *path, JsonObject * root, int status,
    GError ** error)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  JsonGenerator *gen = json_generator_new ();
  char *text;
  gsize len;
  gboolean ok;

  text = iso_now ();
  json_object_set_string_member (root, "finished", text);
  g_free (text);
  json_object_set_string_member (root, "status", status == 0 ? "ok" :
      status == EXIT_INTERRUPTED ? "interrupted" : "error");
  json_node_set_object (node, root);
  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, &len);
  text = g_realloc (text, len + 2);
  text[len++] = '\n';
  text[len] = '\0';
  ok = affect_file_set_contents_atomic (path, text, len, error);
  g_free (text);
  g_object_unref (gen);
  json_node_unref (node);
  return ok;
}

gboolean
runner_write_messages (const char *path, JsonArray * messages, GError ** error)
{
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);
  JsonGenerator *gen = json_generator_new ();
  char *text, *dir = g_path_get_dirname (path);
  gsize len;
  gboolean ok;

  g_mkdir_with_parents (dir, 0755);
  json_node_set_array (node, messages);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, &len);
  ok = affect_file_set_contents_atomic (path, text, len, error);
  g_free (text);
  g_free (dir);
  g_object_unref (gen);
  json_node_unref (node);
  return ok;
}

/* Item events: building and parsing affect-item-start / affect-item-end.
 * The field names and types here are the protocol of docs/protocol.md. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "affect/regressor.h"
#include "gstaffectitem.h"

GstAffectItem *
gst_affect_item_new (const gchar * id)
{
  GstAffectItem *item = g_new0 (GstAffectItem, 1);

  item->id = g_strdup (id);
  item->origin = g_strdup ("real");
  item->duration = GST_CLOCK_TIME_NONE;
  item->route = -1;
  return item;
}

GstAffectItem *
gst_affect_item_copy (const GstAffectItem * item)
{
  GstAffectItem *copy = g_new0 (GstAffectItem, 1);

  *copy = *item;
  copy->id = g_strdup (item->id);
  copy->path = g_strdup (item->path);
  copy->split = g_strdup (item->split);
  copy->origin = g_strdup (item->origin);
  copy->vocabulary = g_strdupv (item->vocabulary);
  copy->labels = item->labels ?
      g_memdup2 (item->labels, item->n_labels * sizeof (gfloat)) : NULL;
  copy->class_name = g_strdup (item->class_name);
  copy->targets = item->targets ? gst_structure_copy (item->targets) : NULL;
  copy->columns = item->columns ? gst_structure_copy (item->columns) : NULL;
  return copy;
}

void
gst_affect_item_free (GstAffectItem * item)
{
  if (item == NULL)
    return;
  g_free (item->id);
  g_free (item->path);
  g_free (item->split);
  g_free (item->origin);
  g_strfreev (item->vocabulary);
  g_free (item->labels);
  g_free (item->class_name);
  if (item->targets)
    gst_structure_free (item->targets);
  if (item->columns)
    gst_structure_free (item->columns);
  g_free (item);
}

void
gst_affect_item_set_tags (GstAffectItem * item,
    const gchar * const *vocabulary, const gfloat * labels)
{
  guint n = g_strv_length ((gchar **) vocabulary);

  g_strfreev (item->vocabulary);
  g_free (item->labels);
  item->vocabulary = g_strdupv ((gchar **) vocabulary);
  item->n_labels = n;
  item->labels = g_new0 (gfloat, n);
  if (labels)
    memcpy (item->labels, labels, n * sizeof (gfloat));
  item->task = GST_AFFECT_TASK_TAGS;
}

gboolean
gst_affect_item_set_class (GstAffectItem * item,
    const gchar * const *vocabulary, const gchar * class_name)
{
  gint found = -1;
  guint i;

  gst_affect_item_set_tags (item, vocabulary, NULL);
  item->task = GST_AFFECT_TASK_CLASS;
  g_free (item->class_name);
  item->class_name = g_strdup (class_name);
  for (i = 0; i < item->n_labels; i++)
    if (g_strcmp0 (item->vocabulary[i], class_name) == 0)
      found = i;
  if (found >= 0)
    item->labels[found] = 1.0f;
  return found >= 0;
}

void
gst_affect_item_set_target (GstAffectItem * item, const gchar * name,
    gdouble value)
{
  if (item->targets == NULL)
    item->targets = gst_structure_new_empty ("targets");
  gst_structure_set (item->targets, name, G_TYPE_DOUBLE, value, NULL);
  if (item->task == GST_AFFECT_TASK_NONE)
    item->task = GST_AFFECT_TASK_REGRESSION;
}

gboolean
gst_affect_item_get_target (const GstAffectItem * item, const gchar * name,
    gdouble * value)
{
  return item->targets != NULL &&
      gst_structure_get_double (item->targets, name, value);
}

void
gst_affect_item_set_column (GstAffectItem * item, const gchar * name,
    const gchar * value)
{
  if (item->columns == NULL)
    item->columns = gst_structure_new_empty ("columns");
  gst_structure_set (item->columns, name, G_TYPE_STRING, value, NULL);
}

const gchar *
gst_affect_item_get_column (const GstAffectItem * item, const gchar * name)
{
  return item->columns ? gst_structure_get_string (item->columns, name) : NULL;
}

gboolean
gst_affect_item_get_value (const GstAffectItem * item, const gchar * name,
    gdouble * value)
{
  return item != NULL && (gst_affect_item_get_target (item, name, value)
      || affect_parse_label (gst_affect_item_get_column (item, name), value));
}

static const gchar *task_names[] = { "none", "tags", "class", "regression" };

const gchar *
gst_affect_task_to_string (GstAffectTask task)
{
  return task <= GST_AFFECT_TASK_REGRESSION ? task_names[task] : "none";
}

GstAffectTask
gst_affect_task_from_string (const gchar * str)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (task_names); i++)
    if (g_strcmp0 (str, task_names[i]) == 0)
      return (GstAffectTask) i;
  return GST_AFFECT_TASK_NONE;
}

void
gst_affect_structure_set_strings (GstStructure * s, const gchar * field,
    const gchar * const *strv, const guint * pick, guint n)
{
  GValue array = G_VALUE_INIT, v = G_VALUE_INIT;
  guint i;

  gst_value_array_init (&array, n);
  g_value_init (&v, G_TYPE_STRING);
  for (i = 0; i < n; i++) {
    g_value_set_string (&v, strv ? strv[pick ? pick[i] : i] : "");
    gst_value_array_append_value (&array, &v);
  }
  g_value_unset (&v);
  gst_structure_take_value (s, field, &array);
}

void
gst_affect_structure_set_floats (GstStructure * s, const gchar * field,
    const gfloat * data, guint n)
{
  GValue array = G_VALUE_INIT, v = G_VALUE_INIT;
  guint i;

  gst_value_array_init (&array, n);
  g_value_init (&v, G_TYPE_FLOAT);
  for (i = 0; i < n; i++) {
    g_value_set_float (&v, data[i]);
    gst_value_array_append_value (&array, &v);
  }
  g_value_unset (&v);
  gst_structure_take_value (s, field, &array);
}

void
gst_affect_item_warning (GstElement * element, gint code, const gchar * id,
    const gchar * path, const gchar * debug, const gchar * format, ...)
{
  va_list args;
  gchar *what;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  gst_element_message_full (element, GST_MESSAGE_WARNING, GST_STREAM_ERROR,
      code, g_strdup_printf ("Item \"%s\" (%s): %s", id ? id : "",
          path ? path : "no path", what), g_strdup (debug), __FILE__,
      GST_FUNCTION, __LINE__);
  g_free (what);
}

GstStructure *
gst_affect_item_to_structure (const GstAffectItem * item)
{
  GstStructure *s = gst_structure_new (GST_AFFECT_ITEM_START_NAME,
      "id", G_TYPE_STRING, item->id ? item->id : "",
      "index", G_TYPE_UINT, item->index,
      "origin", G_TYPE_STRING, item->origin ? item->origin : "real",
      "task", G_TYPE_STRING, gst_affect_task_to_string (item->task),
      NULL);

  if (item->path)
    gst_structure_set (s, "path", G_TYPE_STRING, item->path, NULL);
  if (item->split)
    gst_structure_set (s, "split", G_TYPE_STRING, item->split, NULL);
  if (GST_CLOCK_TIME_IS_VALID (item->duration))
    gst_structure_set (s, "duration", G_TYPE_UINT64, item->duration, NULL);
  if (item->vocabulary)
    gst_affect_structure_set_strings (s, "vocabulary",
        (const gchar * const *) item->vocabulary, NULL,
        g_strv_length (item->vocabulary));
  if (item->labels)
    gst_affect_structure_set_floats (s, "labels", item->labels, item->n_labels);
  if (item->class_name)
    gst_structure_set (s, "class", G_TYPE_STRING, item->class_name, NULL);
  if (item->targets)
    gst_structure_set (s, "targets", GST_TYPE_STRUCTURE, item->targets, NULL);
  if (item->columns)
    gst_structure_set (s, "columns", GST_TYPE_STRUCTURE, item->columns, NULL);
  if (item->route >= 0)
    gst_structure_set (s, "route", G_TYPE_INT, item->route,
        "route-probability", G_TYPE_DOUBLE, item->route_probability, NULL);
  return s;
}

GstAffectItem *
gst_affect_item_from_structure (const GstStructure * s)
{
  GstAffectItem *item;
  const GValue *v;
  guint i, n;

  if (!gst_structure_has_name (s, GST_AFFECT_ITEM_START_NAME))
    return NULL;
  item = gst_affect_item_new (gst_structure_get_string (s, "id"));
  gst_structure_get_uint (s, "index", &item->index);
  item->path = g_strdup (gst_structure_get_string (s, "path"));
  item->split = g_strdup (gst_structure_get_string (s, "split"));
  if (gst_structure_has_field (s, "origin")) {
    g_free (item->origin);
    item->origin = g_strdup (gst_structure_get_string (s, "origin"));
  }
  if (!gst_structure_get_uint64 (s, "duration", &item->duration))
    item->duration = GST_CLOCK_TIME_NONE;
  item->task = gst_affect_task_from_string (gst_structure_get_string (s,
          "task"));

  v = gst_structure_get_value (s, "vocabulary");
  if (v && GST_VALUE_HOLDS_ARRAY (v)) {
    n = gst_value_array_get_size (v);
    item->vocabulary = g_new0 (gchar *, n + 1);
    for (i = 0; i < n; i++)
      item->vocabulary[i] =
          g_value_dup_string (gst_value_array_get_value (v, i));
  }
  v = gst_structure_get_value (s, "labels");
  if (v && GST_VALUE_HOLDS_ARRAY (v)) {
    item->n_labels = gst_value_array_get_size (v);
    item->labels = g_new0 (gfloat, item->n_labels);
    for (i = 0; i < item->n_labels; i++)
      item->labels[i] = g_value_get_float (gst_value_array_get_value (v, i));
  }
  item->class_name = g_strdup (gst_structure_get_string (s, "class"));
  v = gst_structure_get_value (s, "targets");
  if (v && GST_VALUE_HOLDS_STRUCTURE (v))
    item->targets = gst_structure_copy (gst_value_get_structure (v));
  v = gst_structure_get_value (s, "columns");
  if (v && GST_VALUE_HOLDS_STRUCTURE (v))
    item->columns = gst_structure_copy (gst_value_get_structure (v));
  if (!gst_structure_get_int (s, "route", &item->route))
    item->route = -1;
  gst_structure_get_double (s, "route-probability", &item->route_probability);
  return item;
}

GstEvent *
gst_affect_item_start_event_new (const GstAffectItem * item)
{
  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
      gst_affect_item_to_structure (item));
}

GstEvent *
gst_affect_item_end_event_new (const GstAffectItem * item)
{
  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
      gst_structure_new (GST_AFFECT_ITEM_END_NAME,
          "id", G_TYPE_STRING, item->id ? item->id : "",
          "index", G_TYPE_UINT, item->index, NULL));
}

static gboolean
event_has_name (GstEvent * event, const gchar * name)
{
  return GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM &&
      gst_event_has_name (event, name);
}

gboolean
gst_affect_event_is_item_start (GstEvent * event)
{
  return event_has_name (event, GST_AFFECT_ITEM_START_NAME);
}

gboolean
gst_affect_event_is_item_end (GstEvent * event)
{
  return event_has_name (event, GST_AFFECT_ITEM_END_NAME);
}

GstAffectItem *
gst_affect_item_parse_start_event (GstEvent * event)
{
  if (!gst_affect_event_is_item_start (event))
    return NULL;
  return gst_affect_item_from_structure (gst_event_get_structure (event));
}

const gchar *
gst_affect_item_parse_end_event (GstEvent * event, guint * index)
{
  const GstStructure *s;

  if (!gst_affect_event_is_item_end (event))
    return NULL;
  s = gst_event_get_structure (event);
  if (index)
    gst_structure_get_uint (s, "index", index);
  return gst_structure_get_string (s, "id");
}

static gpointer
register_item_meta (gpointer unused)
{
  /* no tags: elements that transform buffers keep it; no transform
   * function: copied with the buffer */
  static const gchar *tags[] = { NULL };
  return (gpointer) gst_meta_register_custom (GST_AFFECT_ITEM_META_NAME,
      tags, NULL, NULL, NULL);
}

static void
ensure_item_meta (void)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, register_item_meta, NULL);
}

void
gst_affect_item_meta_add (GstBuffer * buffer, const GstAffectItem * item)
{
  GstCustomMeta *meta;

  if (item == NULL)
    return;
  ensure_item_meta ();
  meta = gst_buffer_add_custom_meta (buffer, GST_AFFECT_ITEM_META_NAME);
  gst_structure_set (gst_custom_meta_get_structure (meta),
      "id", G_TYPE_STRING, item->id ? item->id : "",
      "index", G_TYPE_UINT, item->index, NULL);
}

const gchar *
gst_affect_item_meta_get_id (GstBuffer * buffer)
{
  GstCustomMeta *meta;

  ensure_item_meta ();
  meta = gst_buffer_get_custom_meta (buffer, GST_AFFECT_ITEM_META_NAME);
  return meta ? gst_structure_get_string (gst_custom_meta_get_structure
      (meta), "id") : NULL;
}

GstStructure *
gst_affect_message_structure_new (const gchar * name,
    const GstSegment * segment, GstClockTime ts, GstClockTime duration)
{
  GstClockTime stream_time = GST_CLOCK_TIME_NONE;
  GstClockTime running_time = GST_CLOCK_TIME_NONE;

  if (segment && segment->format == GST_FORMAT_TIME &&
      GST_CLOCK_TIME_IS_VALID (ts)) {
    stream_time = gst_segment_to_stream_time (segment, GST_FORMAT_TIME, ts);
    running_time = gst_segment_to_running_time (segment, GST_FORMAT_TIME, ts);
  }
  return gst_structure_new (name,
      "timestamp", G_TYPE_UINT64, ts,
      "stream-time", G_TYPE_UINT64, stream_time,
      "running-time", G_TYPE_UINT64, running_time,
      "duration", G_TYPE_UINT64, duration, NULL);
}

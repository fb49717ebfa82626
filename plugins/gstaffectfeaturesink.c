/* GStreamer affect plugin
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Library General Public License as published by
 * the Free Software Foundation; either version 2 of the License, or (at your
 * option) any later version.
 */
/**
 * SECTION:element-affectfeaturesink
 * @title: affectfeaturesink
 *
 * Writes the tensor of every item it receives (one float32 vector per item,
 * as affectis09 pushes between `affect-item-start` and `affect-item-end`)
 * to a feature table, with the items' ids, labels, targets, split and
 * columns, so that affectfeaturesrc replays the same stream later without
 * decoding or extracting again: a feature cache.
 *
 * At EOS it writes, each atomically (a reader never sees a partial file):
 *
 * * `LOCATION.items.csv`: the items as a generic CSV manifest
 *   (docs/manifests.md): `id`, `path`, `split`, `duration` (when every item
 *   has one), the label column, the targets, every other column;
 * * `LOCATION.meta` (a GKeyFile, group `features`): the caps of each row,
 *   timestamps and durations, the label column, target columns,
 *   vocabulary and task;
 * * `LOCATION`, last: the table, in the format of its extension: `.npy`
 *   (float32 N × D, bit-exact), `.csv` (openSMILE CSV, %.9g: reads back to
 *   the same float32) or `.arff` (openSMILE's layout, with a nominal
 *   `class` attribute for class tasks).
 *
 * The location is checked for writing when the element starts. A second
 * vector inside one item, or a vector of another size, is an error: a
 * table holds one vector per item.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 affectsrc location=emodb/labels.csv ! audioconvert ! \
 *     audio/x-raw,format=F32LE,channels=1 ! affectis09 ! \
 *     affectfeaturesink location=cache/emodb-is09.npy
 * ]| IS09 features of EmoDB stored; read them again with
 * `affectfeaturesrc location=cache/emodb-is09.npy`.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "affect/atomicfile.h"
#include "gstaffectelements.h"
#include "gstaffectfeaturesink.h"
#include "gstaffectprops.h"
#include "gstaffecttensor.h"

GST_DEBUG_CATEGORY_STATIC (affect_feature_sink_debug);
#define GST_CAT_DEFAULT affect_feature_sink_debug

static const GstAffectProp props[] = {
  GST_AFFECT_PROP_STRING ("location", "Location",
      "Feature table to write (.npy, .csv or .arff; LOCATION.items.csv "
      "and LOCATION.meta beside it)", GstAffectFeatureSink, location, NULL, 0),
};

#define META_GROUP "features"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE));

#define gst_affect_feature_sink_parent_class parent_class
G_DEFINE_TYPE (GstAffectFeatureSink, gst_affect_feature_sink,
    GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (affectfeaturesink, "affectfeaturesink",
    GST_RANK_NONE, GST_TYPE_AFFECT_FEATURE_SINK,
    GST_DEBUG_CATEGORY_INIT (affect_feature_sink_debug, "affectfeaturesink", 0,
        "item tensors written to a feature table"));

static void
gst_affect_feature_sink_clear (GstAffectFeatureSink * self)
{
  self->n_features = 0;
  gst_caps_replace (&self->caps, NULL);
  g_clear_pointer (&self->distinct_caps, g_ptr_array_unref);
  if (self->caps_of_row)
    g_array_free (self->caps_of_row, TRUE);
  if (self->pts)
    g_array_free (self->pts, TRUE);
  if (self->durations)
    g_array_free (self->durations, TRUE);
  if (self->values)
    g_array_free (self->values, TRUE);
  self->caps_of_row = self->pts = self->durations = self->values = NULL;
  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->current, gst_affect_item_free);
  self->current_has_row = FALSE;
  self->outside = 0;
}

static gboolean
gst_affect_feature_sink_start (GstBaseSink * sink)
{
  GstAffectFeatureSink *self = GST_AFFECT_FEATURE_SINK (sink);
  gchar *location;
  GError *error = NULL;
  gboolean ok = TRUE;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  GST_OBJECT_UNLOCK (self);
  gst_affect_feature_sink_clear (self);
  if (location == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No table given: set the 'location' property"), (NULL));
    return FALSE;
  }
  if (affect_feature_format_from_filename (location) ==
      AFFECT_FEATURE_FORMAT_AUTO) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("location=%s: expected a file name ending in .npy, .csv or .arff",
            location), (NULL));
    ok = FALSE;
  } else if (!affect_atomic_file_check_writable (location, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("%s", error->message),
        (NULL));
    g_error_free (error);
    ok = FALSE;
  }
  g_free (location);
  self->distinct_caps = g_ptr_array_new_with_free_func (g_free);
  self->caps_of_row = g_array_new (FALSE, FALSE, sizeof (gint));
  self->pts = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  self->durations = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  self->values = g_array_new (FALSE, FALSE, sizeof (float));
  self->items = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_affect_item_free);
  return ok;
}

static gboolean
gst_affect_feature_sink_stop (GstBaseSink * sink)
{
  gst_affect_feature_sink_clear (GST_AFFECT_FEATURE_SINK (sink));
  return TRUE;
}

static gboolean
gst_affect_feature_sink_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  GstAffectFeatureSink *self = GST_AFFECT_FEATURE_SINK (sink);
  GstAffectTensorInfo info;
  guint n;

  if (!gst_affect_tensor_info_from_caps (&info, caps)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Input is not a single float32 tensor stream."),
        ("caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  n = gst_affect_tensor_info_n_elements (&info);
  if (self->n_features && n != self->n_features) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Vector size changed from %u to %u: a feature table holds one "
            "size.", self->n_features, n), (NULL));
    return FALSE;
  }
  self->n_features = n;
  gst_caps_replace (&self->caps, caps);
  return TRUE;
}

static GstFlowReturn
gst_affect_feature_sink_render (GstBaseSink * sink, GstBuffer * buffer)
{
  GstAffectFeatureSink *self = GST_AFFECT_FEATURE_SINK (sink);
  GstMapInfo map;
  GstClockTime pts = GST_BUFFER_PTS (buffer);
  GstClockTime duration = GST_BUFFER_DURATION (buffer);
  gchar *caps_text;
  gint index = -1;
  guint i;

  if (self->caps == NULL) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No caps before data."),
        (NULL));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (self->current == NULL) {
    /* not an item's vector (a stream without items): nothing to key it by */
    if (self->outside++ == 0)
      GST_ELEMENT_WARNING (self, STREAM, FORMAT,
          ("Dropping vectors outside items: a feature table stores one "
              "vector per item"), (NULL));
    return GST_FLOW_OK;
  }
  if (self->current_has_row) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Item %s has more than one vector: a feature table stores one "
            "vector per item (windows and frames are not items)",
            self->current->id), (NULL));
    return GST_FLOW_ERROR;
  }
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  if (map.size != self->n_features * sizeof (float)) {
    gst_buffer_unmap (buffer, &map);
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Buffer of %" G_GSIZE_FORMAT " bytes, the caps say %u floats",
            map.size, self->n_features), (NULL));
    return GST_FLOW_ERROR;
  }
  g_array_append_vals (self->values, map.data, self->n_features);
  gst_buffer_unmap (buffer, &map);

  caps_text = gst_caps_to_string (self->caps);
  for (i = 0; i < self->distinct_caps->len; i++)
    if (strcmp (g_ptr_array_index (self->distinct_caps, i), caps_text) == 0)
      index = i;
  if (index < 0) {
    index = self->distinct_caps->len;
    g_ptr_array_add (self->distinct_caps, caps_text);
  } else
    g_free (caps_text);
  g_array_append_val (self->caps_of_row, index);
  g_array_append_val (self->pts, pts);
  g_array_append_val (self->durations, duration);
  g_ptr_array_add (self->items, gst_affect_item_copy (self->current));
  self->current_has_row = TRUE;
  return GST_FLOW_OK;
}

/* ---- writing ---- */

static void
csv_field (GString * out, const gchar * s)
{
  if (s && s[strcspn (s, ",\"\r\n")] != '\0') {
    g_string_append_c (out, '"');
    for (; *s; s++) {
      if (*s == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *s);
    }
    g_string_append_c (out, '"');
  } else if (s)
    g_string_append (out, s);
}

static gboolean
names_contain (GPtrArray * names, const gchar * name)
{
  guint i;

  for (i = 0; i < names->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (names, i), name) == 0)
      return TRUE;
  return FALSE;
}

static void
collect_names (GPtrArray * names, const GstStructure * s)
{
  guint i;

  for (i = 0; s && i < (guint) gst_structure_n_fields (s); i++) {
    const gchar *name = gst_structure_nth_field_name (s, i);
    if (!names_contain (names, name))
      g_ptr_array_add (names, (gpointer) name);
  }
}

/* the companion manifest and the meta file's item fields */
static gchar *
items_manifest (GstAffectFeatureSink * self, GKeyFile * meta)
{
  GString *out = g_string_new ("id,path,split");
  GPtrArray *targets = g_ptr_array_new (), *columns = g_ptr_array_new ();
  const gchar *label_column = NULL;
  GstAffectItem *first = g_ptr_array_index (self->items, 0);
  gboolean durations = TRUE, generated = TRUE, mixed = FALSE;
  GstAffectTask task = first->task;
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  guint i, j;

  for (i = 0; i < self->items->len; i++) {
    GstAffectItem *it = g_ptr_array_index (self->items, i);
    durations &= GST_CLOCK_TIME_IS_VALID (it->duration);
    generated &= g_strcmp0 (it->origin, "generated") == 0;
    mixed |= g_strcmp0 (it->origin, first->origin) != 0;
    collect_names (targets, it->targets);
    collect_names (columns, it->columns);
  }
  if (durations)
    g_string_append (out, ",duration");
  if (task == GST_AFFECT_TASK_CLASS || task == GST_AFFECT_TASK_TAGS) {
    /* "label", unless another column has that name */
    static const gchar *const candidates[] = { "label", "class", "labels",
      "affect_label"
    };
    for (i = 0; i < G_N_ELEMENTS (candidates) && !label_column; i++)
      if (!names_contain (columns, candidates[i])
          && !names_contain (targets, candidates[i]))
        label_column = candidates[i];
    g_string_append_printf (out, ",%s", label_column);
  }
  for (j = 0; j < targets->len; j++) {
    g_string_append_c (out, ',');
    csv_field (out, g_ptr_array_index (targets, j));
  }
  for (j = 0; j < columns->len; j++) {
    g_string_append_c (out, ',');
    csv_field (out, g_ptr_array_index (columns, j));
  }
  if (mixed && !names_contain (columns, "origin"))
    g_string_append (out, ",origin");
  g_string_append_c (out, '\n');

  for (i = 0; i < self->items->len; i++) {
    GstAffectItem *it = g_ptr_array_index (self->items, i);
    csv_field (out, it->id);
    g_string_append_c (out, ',');
    csv_field (out, it->path ? it->path : it->id);
    g_string_append_c (out, ',');
    csv_field (out, it->split);
    if (durations)
      g_string_append_printf (out, ",%s", g_ascii_formatd (buf, sizeof (buf),
              "%.17g", it->duration / (double) GST_SECOND));
    if (label_column) {
      g_string_append_c (out, ',');
      if (it->task == GST_AFFECT_TASK_CLASS)
        csv_field (out, it->class_name);
      else if (it->task == GST_AFFECT_TASK_TAGS && it->vocabulary) {
        GString *tags = g_string_new (NULL);
        for (j = 0; j < it->n_labels && it->vocabulary[j]; j++)
          if (it->labels[j] > 0.5f)
            g_string_append_printf (tags, "%s%s", tags->len ? ";" : "",
                it->vocabulary[j]);
        csv_field (out, tags->str);
        g_string_free (tags, TRUE);
      }
    }
    for (j = 0; j < targets->len; j++) {
      gdouble v = NAN;
      g_string_append_c (out, ',');
      if (gst_affect_item_get_target (it, g_ptr_array_index (targets, j), &v))
        g_string_append (out, g_ascii_formatd (buf, sizeof (buf), "%.17g", v));
    }
    for (j = 0; j < columns->len; j++) {
      g_string_append_c (out, ',');
      csv_field (out, gst_affect_item_get_column (it,
              g_ptr_array_index (columns, j)));
    }
    if (mixed && !names_contain (columns, "origin"))
      g_string_append_printf (out, ",%s", it->origin);
    g_string_append_c (out, '\n');
  }

  g_key_file_set_string (meta, META_GROUP, "label-column",
      label_column ? label_column : "");
  g_key_file_set_string_list (meta, META_GROUP, "target-columns",
      (const gchar * const *) targets->pdata, targets->len);
  g_key_file_set_string (meta, META_GROUP, "task",
      gst_affect_task_to_string (task));
  if (first->vocabulary)
    g_key_file_set_string_list (meta, META_GROUP, "vocabulary",
        (const gchar * const *) first->vocabulary,
        g_strv_length (first->vocabulary));
  g_key_file_set_string (meta, META_GROUP, "origin",
      generated ? "generated" : "real");
  g_ptr_array_free (targets, TRUE);
  g_ptr_array_free (columns, TRUE);
  return g_string_free (out, FALSE);
}

static gboolean
write_table (GstAffectFeatureSink * self, const gchar * location)
{
  GKeyFile *meta = g_key_file_new ();
  AffectFeatureTable *t;
  GError *error = NULL;
  gchar *manifest, *path, *text, **pts, **durations;
  gsize length;
  guint n = self->items->len, i;
  gboolean ok;

  manifest = items_manifest (self, meta);
  g_key_file_set_string_list (meta, META_GROUP, "caps",
      (const gchar * const *) self->distinct_caps->pdata,
      self->distinct_caps->len);
  g_key_file_set_integer_list (meta, META_GROUP, "caps-of-row",
      (gint *) self->caps_of_row->data, n);
  pts = g_new0 (gchar *, n + 1);
  durations = g_new0 (gchar *, n + 1);
  for (i = 0; i < n; i++) {
    pts[i] = g_strdup_printf ("%" G_GUINT64_FORMAT,
        (guint64) g_array_index (self->pts, GstClockTime, i));
    durations[i] = g_strdup_printf ("%" G_GUINT64_FORMAT,
        (guint64) g_array_index (self->durations, GstClockTime, i));
  }
  g_key_file_set_string_list (meta, META_GROUP, "pts",
      (const gchar * const *) pts, n);
  g_key_file_set_string_list (meta, META_GROUP, "durations",
      (const gchar * const *) durations, n);
  g_strfreev (pts);
  g_strfreev (durations);

  path = g_strconcat (location, ".items.csv", NULL);
  ok = affect_file_set_contents_atomic (path, manifest, strlen (manifest),
      &error);
  g_free (path);
  g_free (manifest);
  if (ok) {
    path = g_strconcat (location, ".meta", NULL);
    text = g_key_file_to_data (meta, &length, NULL);
    ok = affect_file_set_contents_atomic (path, text, length, &error);
    g_free (text);
    g_free (path);
  }
  g_key_file_free (meta);
  if (ok) {
    /* the table last: its presence means the other two are complete */
    t = affect_feature_table_new (self->n_features, NULL);
    for (i = 0; i < n; i++) {
      GstAffectItem *it = g_ptr_array_index (self->items, i);
      affect_feature_table_append (t, it->id,
          (float *) self->values->data + (gsize) i * self->n_features,
          it->task == GST_AFFECT_TASK_CLASS ? it->class_name : NULL);
    }
    {
      GstAffectItem *first = g_ptr_array_index (self->items, 0);
      if (first->task == GST_AFFECT_TASK_CLASS && first->vocabulary)
        t->class_values = g_strdupv (first->vocabulary);
    }
    ok = affect_feature_table_write (t, location, AFFECT_FEATURE_FORMAT_AUTO,
        &error);
    affect_feature_table_free (t);
  }
  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("%s", error->message), (NULL));
    g_error_free (error);
  } else
    GST_INFO_OBJECT (self, "wrote %u items of %u features to %s", n,
        self->n_features, location);
  return ok;
}

static gboolean
gst_affect_feature_sink_event (GstBaseSink * sink, GstEvent * event)
{
  GstAffectFeatureSink *self = GST_AFFECT_FEATURE_SINK (sink);

  if (gst_affect_event_is_item_start (event)) {
    g_clear_pointer (&self->current, gst_affect_item_free);
    self->current = gst_affect_item_parse_start_event (event);
    self->current_has_row = FALSE;
  } else if (gst_affect_event_is_item_end (event)) {
    g_clear_pointer (&self->current, gst_affect_item_free);
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    /* written before the EOS message is posted */
    gchar *location;
    gboolean ok;

    GST_OBJECT_LOCK (self);
    location = g_strdup (self->location);
    GST_OBJECT_UNLOCK (self);
    if (self->items->len == 0) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("No item vector reached the sink: nothing to write to %s",
              location), (NULL));
      ok = FALSE;
    } else
      ok = write_table (self, location);
    g_free (location);
    if (!ok) {
      gst_event_unref (event);
      return FALSE;
    }
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (sink, event);
}

static void
gst_affect_feature_sink_finalize (GObject * object)
{
  GstAffectFeatureSink *self = GST_AFFECT_FEATURE_SINK (object);

  gst_affect_feature_sink_clear (self);
  gst_affect_props_finalize (object);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_affect_feature_sink_class_init (GstAffectFeatureSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *sink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->finalize = gst_affect_feature_sink_finalize;
  gst_affect_props_install (gobject_class, props, G_N_ELEMENTS (props),
      G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Affect feature sink", "Sink",
      "Writes the vector of every item, with its labels, to a feature "
      "table (a feature cache)", "gst-affect");

  sink_class->start = GST_DEBUG_FUNCPTR (gst_affect_feature_sink_start);
  sink_class->stop = GST_DEBUG_FUNCPTR (gst_affect_feature_sink_stop);
  sink_class->set_caps = GST_DEBUG_FUNCPTR (gst_affect_feature_sink_set_caps);
  sink_class->event = GST_DEBUG_FUNCPTR (gst_affect_feature_sink_event);
  sink_class->render = GST_DEBUG_FUNCPTR (gst_affect_feature_sink_render);
}

static void
gst_affect_feature_sink_init (GstAffectFeatureSink * self)
{
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
  gst_affect_props_init (G_OBJECT (self));
}

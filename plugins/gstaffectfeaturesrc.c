/* GStreamer affect plugin
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Library General Public License as published by
 * the Free Software Foundation; either version 2 of the License, or (at your
 * option) any later version.
 */
/**
 * SECTION:element-affectfeaturesrc
 * @title: affectfeaturesrc
 *
 * Stored feature vectors as items: reads a feature table (openSMILE CSV,
 * ARFF as openSMILE writes it, or a 2-D `.npy`; libaffect's
 * affect/features.h) and emits one float32 tensor per item between the
 * item's `affect-item-start` and `affect-item-end` events, as
 * `affectsrc ! affectis09` does, so affectregress, affectgate,
 * affectclassify (MLP mode) and affectmetrics work downstream unchanged.
 *
 * Items and labels: with `manifest` (a manifest as affectsrc reads it,
 * docs/manifests.md) the items are the manifest's, in its order, filtered
 * by `split`, each joined to the table row of the same id (the table's
 * `name` column; for a `.npy` table the ids of `LOCATION.items.csv` when
 * it exists, else the manifest's rows in order), with the manifest's
 * labels, targets, split and other columns; `label-column` and
 * `target-columns` as in affectsrc. An item without a row (one that could
 * not be decoded when the table was written) is skipped with a warning
 * naming its path. Without `manifest`, `LOCATION.items.csv` is used when it
 * exists (affectfeaturesink writes it), else the table's rows are the
 * items, an ARFF nominal `class` attribute giving their class.
 *
 * Caps: `other/tensors, dimensions=D, framerate=0/1`, with the `feature`
 * and `sample-rate` fields affectfeaturesink recorded in `LOCATION.meta`
 * (the caps of the stream it stored, per item), else `feature=is09` for
 * 384 columns and `sample-rate` when the property is set. Timestamps are
 * the stored ones (`LOCATION.meta`), else none.
 *
 * Bad input: a malformed table or manifest fails the READY to PAUSED
 * change with one error naming `file:line`; a table whose ids repeat, or a
 * `.npy` table whose row count differs from its manifest's, likewise.
 *
 * ## Messages
 *
 * `affect-progress`, after each item:
 *
 * * `items-done` (uint): items emitted, plus those skipped (known at start)
 * * `items-total` (uint)
 * * `items-skipped` (uint)
 * * `id` (string): the item's id
 *
 * `affect-dataset-done`, before EOS:
 *
 * * `items-emitted` (uint)
 * * `items-skipped` (uint)
 * * `skipped` (GstValueArray of strings): `id: reason` per skipped item
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 affectfeaturesrc location=emodb-is09.csv \
 *     manifest=emodb/labels.csv target-columns=arousal,valence ! \
 *     affectregress mode=train model-file=arousal.safetensors \
 *     targets=arousal ! fakesink
 * ]| openSMILE IS09 features with the manifest's targets.
 * |[
 * gst-launch-1.0 affectfeaturesrc location=cache/KEY.npy split=test ! \
 *     affectregress model-file=arousal.safetensors ! affectmetrics
 * ]| A feature cache written by affectfeaturesink (`affect-corpus features
 * --cache cache MANIFEST` prints its name).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "affect/affect.h"
#include "gstaffectelements.h"
#include "gstaffectfeaturesrc.h"
#include "gstaffectitem.h"
#include "gstaffectprops.h"
#include "gstaffecttensor.h"

GST_DEBUG_CATEGORY_STATIC (affect_feature_src_debug);
#define GST_CAT_DEFAULT affect_feature_src_debug

#define S GstAffectFeatureSrc
static const GstAffectProp props[] = {
  GST_AFFECT_PROP_STRING ("location", "Location",
      "Feature table: openSMILE CSV (.csv), ARFF (.arff) or N x D .npy", S,
      location, NULL, 0),
  GST_AFFECT_PROP_STRING ("manifest", "Manifest",
      "Manifest with the items' labels, targets, split and columns, "
      "joined by id (NULL = LOCATION.items.csv if present)", S,
      manifest_location, NULL, 0),
  GST_AFFECT_PROP_STRING ("label-column", "Label column",
      "Manifest column with a class or ';'-separated tags (\"\" = none; "
      "NULL = 'label' if present)", S, label_column, NULL, 0),
  GST_AFFECT_PROP_STRING ("target-columns", "Target columns",
      "Comma-separated manifest columns of numeric targets (NULL = as "
      "stored, else every numeric column)", S, target_columns, NULL, 0),
  GST_AFFECT_PROP_STRING ("split", "Split",
      "Keep this split (items without one are kept and stamped with it)", S,
      split, NULL, 0),
  GST_AFFECT_PROP_STRING ("feature", "Feature",
      "The caps' feature field (NULL = as stored, else is09 for 384 "
      "columns)", S, feature, NULL, 0),
  GST_AFFECT_PROP_INT ("sample-rate", "Sample rate",
      "The caps' sample-rate field: the audio rate the features were "
      "extracted at (0 = as stored, else none)", S, sample_rate, 0, G_MAXINT,
      0, 0),
};

#undef S

#define META_GROUP "features"

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE));

#define gst_affect_feature_src_parent_class parent_class
G_DEFINE_TYPE (GstAffectFeatureSrc, gst_affect_feature_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (affectfeaturesrc, "affectfeaturesrc",
    GST_RANK_NONE, GST_TYPE_AFFECT_FEATURE_SRC,
    GST_DEBUG_CATEGORY_INIT (affect_feature_src_debug, "affectfeaturesrc", 0,
        "stored feature vectors as items"));

static void
gst_affect_feature_src_clear (GstAffectFeatureSrc * self)
{
  GST_OBJECT_LOCK (self);
  self->ready = FALSE;
  GST_OBJECT_UNLOCK (self);
  g_clear_pointer (&self->table, affect_feature_table_free);
  g_clear_pointer (&self->manifest, affect_manifest_free);
  g_clear_pointer (&self->meta, g_key_file_free);
  g_clear_pointer (&self->meta_task, g_free);
  g_clear_pointer (&self->run_split, g_free);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  if (self->rows)
    g_array_free (self->rows, TRUE);
  self->rows = NULL;
  g_clear_pointer (&self->caps, g_ptr_array_unref);
  g_clear_pointer (&self->pts, g_free);
  g_clear_pointer (&self->durations, g_free);
  g_clear_pointer (&self->skipped_list, g_ptr_array_unref);
  gst_caps_replace (&self->current_caps, NULL);
  self->next = self->emitted = self->skipped = 0;
  self->segment_sent = FALSE;
}

/* the string list `key` of the meta file, or NULL */
static gchar **
meta_list (GstAffectFeatureSrc * self, const gchar * key, gsize * n)
{
  *n = 0;
  if (self->meta == NULL || !g_key_file_has_key (self->meta, META_GROUP, key,
          NULL))
    return NULL;
  return g_key_file_get_string_list (self->meta, META_GROUP, key, n, NULL);
}

static gboolean
load_meta (GstAffectFeatureSrc * self, const gchar * location)
{
  gchar *path = g_strconcat (location, ".meta", NULL);
  GError *error = NULL;
  gboolean ok = TRUE;

  if (g_file_test (path, G_FILE_TEST_EXISTS)) {
    self->meta = g_key_file_new ();
    if (!g_key_file_load_from_file (self->meta, path, G_KEY_FILE_NONE, &error)) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("%s: %s", path,
              error->message), (NULL));
      g_error_free (error);
      ok = FALSE;
    }
  }
  g_free (path);
  return ok;
}

/* one GstCaps per table row: the stored ones, or built from the table */
static gboolean
make_caps (GstAffectFeatureSrc * self, const gchar * feature, gint rate)
{
  guint n = self->table->n_rows, i, dims[1] = { self->table->n_features };
  gchar **stored;
  gsize n_stored = 0, n_index = 0;
  gint *index = NULL;
  GstCaps *base;
  GstAffectTensorInfo info;

  self->caps = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_caps_unref);
  stored = meta_list (self, "caps", &n_stored);
  if (stored && self->meta)
    index = g_key_file_get_integer_list (self->meta, META_GROUP,
        "caps-of-row", &n_index, NULL);
  if (stored && index && n_index == n) {
    GPtrArray *distinct = g_ptr_array_new_with_free_func ((GDestroyNotify)
        gst_caps_unref);
    for (i = 0; i < n_stored; i++) {
      GstCaps *c = gst_caps_from_string (stored[i]);
      GstAffectTensorInfo ci;
      if (c == NULL || !gst_affect_tensor_info_from_caps (&ci, c)
          || gst_affect_tensor_info_n_elements (&ci) != dims[0]) {
        GST_ELEMENT_ERROR (self, STREAM, FORMAT,
            ("%s.meta: caps %u ('%s') are not tensors of the table's %u "
                "features", self->table->filename, i + 1, stored[i], dims[0]),
            (NULL));
        if (c)
          gst_caps_unref (c);
        g_ptr_array_unref (distinct);
        g_strfreev (stored);
        g_free (index);
        return FALSE;
      }
      g_ptr_array_add (distinct, c);
    }
    for (i = 0; i < n; i++) {
      GstCaps *c;
      if (index[i] < 0 || (gsize) index[i] >= n_stored) {
        GST_ELEMENT_ERROR (self, STREAM, FORMAT,
            ("%s.meta: caps-of-row %u is %d, not one of the %u caps",
                self->table->filename, i + 1, index[i], (guint) n_stored),
            (NULL));
        g_ptr_array_unref (distinct);
        g_strfreev (stored);
        g_free (index);
        return FALSE;
      }
      c = gst_caps_copy (g_ptr_array_index (distinct, index[i]));
      if (feature || rate > 0) {
        GstStructure *s = gst_caps_get_structure (c, 0);
        if (feature)
          gst_structure_set (s, "feature", G_TYPE_STRING, feature, NULL);
        if (rate > 0)
          gst_structure_set (s, "sample-rate", G_TYPE_INT, rate, NULL);
      }
      g_ptr_array_add (self->caps, c);
    }
    g_ptr_array_unref (distinct);
    g_strfreev (stored);
    g_free (index);
    return TRUE;
  }
  g_strfreev (stored);
  g_free (index);

  gst_affect_tensor_info_init (&info, 1, dims, 0, 1);
  base = gst_affect_tensor_caps_from_info (&info);
  if (feature == NULL && dims[0] == 384)
    feature = "is09";
  if (feature)
    gst_caps_set_simple (base, "feature", G_TYPE_STRING, feature, NULL);
  if (rate > 0)
    gst_caps_set_simple (base, "sample-rate", G_TYPE_INT, rate, NULL);
  for (i = 0; i < n; i++)
    g_ptr_array_add (self->caps, gst_caps_ref (base));
  gst_caps_unref (base);
  return TRUE;
}

static void
load_times (GstAffectFeatureSrc * self)
{
  gchar **pts, **durations;
  gsize n_pts, n_dur, i;
  guint n = self->table->n_rows;

  pts = meta_list (self, "pts", &n_pts);
  durations = meta_list (self, "durations", &n_dur);
  if (pts && durations && n_pts == n && n_dur == n) {
    self->pts = g_new (GstClockTime, n);
    self->durations = g_new (GstClockTime, n);
    for (i = 0; i < n; i++) {
      self->pts[i] = g_ascii_strtoull (pts[i], NULL, 10);
      self->durations[i] = g_ascii_strtoull (durations[i], NULL, 10);
    }
  }
  g_strfreev (pts);
  g_strfreev (durations);
}

static GstAffectItem *
item_from_manifest (GstAffectFeatureSrc * self, const AffectManifestItem * mi)
{
  const AffectManifest *m = self->manifest;
  GstAffectItem *item = gst_affect_item_new (mi->id);
  const gchar *origin;
  gchar *default_origin = NULL;
  guint i;

  item->path = affect_manifest_resolve_path (m, mi, NULL);
  item->split = g_strdup (mi->split ? mi->split : self->run_split);
  if (self->meta)
    default_origin = g_key_file_get_string (self->meta, META_GROUP, "origin",
        NULL);
  if (self->meta_task && default_origin
      && strcmp (default_origin, "generated") == 0) {
    g_free (item->origin);
    item->origin = g_strdup ("generated");
  }
  g_free (default_origin);
  origin = affect_manifest_item_get_extra (m, mi, "origin");
  if (origin && (strcmp (origin, "real") == 0
          || strcmp (origin, "generated") == 0)) {
    g_free (item->origin);
    item->origin = g_strdup (origin);
  }
  if (mi->duration >= 0)
    item->duration = (GstClockTime) (mi->duration * GST_SECOND + 0.5);
  if (m->task == AFFECT_MANIFEST_TASK_TAGS
      || (m->task == AFFECT_MANIFEST_TASK_CLASS
          && g_strcmp0 (self->meta_task, "tags") == 0)) {
    /* a tag list of single tags reads as classes: the meta file says tags */
    gfloat *labels = mi->labels;
    gfloat *onehot = NULL;
    if (m->task == AFFECT_MANIFEST_TASK_CLASS) {
      onehot = g_new0 (gfloat, m->n_vocabulary);
      if (mi->class_index >= 0)
        onehot[mi->class_index] = 1.0f;
      labels = onehot;
    }
    gst_affect_item_set_tags (item, (const gchar * const *) m->vocabulary,
        labels);
    g_free (onehot);
  } else if (m->task == AFFECT_MANIFEST_TASK_CLASS && mi->class_index >= 0)
    gst_affect_item_set_class (item, (const gchar * const *) m->vocabulary,
        m->vocabulary[mi->class_index]);
  for (i = 0; i < m->n_targets; i++)
    gst_affect_item_set_target (item, m->target_names[i], mi->targets[i]);
  for (i = 0; i < m->n_extra; i++)
    gst_affect_item_set_column (item, m->extra_names[i], mi->extra[i]);
  return item;
}

/* the ids of a .npy table's rows: the companion manifest affectfeaturesink
 * wrote beside it (items that could not be decoded have no row there) */
static GHashTable *
rows_of_companion (GstAffectFeatureSrc * self, const gchar * companion)
{
  const gchar *const no_targets[] = { NULL };
  AffectManifestOptions options;
  AffectManifest *m;
  GHashTable *row_of;
  GError *error = NULL;
  guint i;

  affect_manifest_options_init (&options);
  options.label_column = "";
  options.target_columns = no_targets;
  m = affect_manifest_load (companion, &options, &error);
  if (m == NULL) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("%s", error->message), (NULL));
    g_error_free (error);
    return NULL;
  }
  if (m->n_items != self->table->n_rows) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("%s has %u rows but %s lists %u items", self->table->filename,
            self->table->n_rows, companion, m->n_items), (NULL));
    affect_manifest_free (m);
    return NULL;
  }
  row_of = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (i = 0; i < m->n_items; i++)
    g_hash_table_insert (row_of, g_strdup (m->items[i].id),
        GUINT_TO_POINTER (i + 1));
  affect_manifest_free (m);
  return row_of;
}

/* path: the manifest; companion: the one affectfeaturesink wrote beside the
 * table, or NULL when there is none. The companion itself is read with the
 * label column, targets, vocabulary and task affectfeaturesink recorded. */
static gboolean
load_manifest (GstAffectFeatureSrc * self, const gchar * path,
    const gchar * companion, const gchar * label_column,
    const gchar * target_columns)
{
  gboolean is_companion = companion && strcmp (path, companion) == 0;
  GKeyFile *meta = is_companion ? self->meta : NULL;
  AffectManifestOptions options;
  AffectManifestSelection selection;
  gchar **targets = NULL, **vocabulary = NULL, *meta_label = NULL;
  GHashTable *row_of = NULL;
  GError *error = NULL;
  guint *order = NULL, n_order = 0, k, i;
  gsize n_list;
  gboolean ok = FALSE;
  const AffectFeatureTable *t = self->table;

  affect_manifest_options_init (&options);
  if (label_column)
    options.label_column = label_column;
  else if (meta && (meta_label = g_key_file_get_string (meta,
              META_GROUP, "label-column", NULL)))
    options.label_column = meta_label;
  if (target_columns) {
    targets = g_strsplit (target_columns, ",", -1);
    for (i = 0; targets[i]; i++)
      g_strstrip (targets[i]);
  } else if (meta) {
    targets = meta_list (self, "target-columns", &n_list);
    if (targets == NULL && g_key_file_has_key (meta, META_GROUP,
            "target-columns", NULL))
      targets = g_new0 (gchar *, 1);
  }
  options.target_columns = (const char *const *) targets;
  if (meta) {
    vocabulary = meta_list (self, "vocabulary", &n_list);
    if (vocabulary && n_list > 0)
      options.vocabulary = (const char *const *) vocabulary;
    self->meta_task = g_key_file_get_string (meta, META_GROUP, "task", NULL);
  }

  self->manifest = affect_manifest_load (path, &options, &error);
  if (self->manifest == NULL) {
    if (g_error_matches (error, AFFECT_ERROR, AFFECT_ERROR_IO))
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", error->message),
          (NULL));
    else
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("%s", error->message), (NULL));
    goto out;
  }
  if (t->ids == NULL && !is_companion && companion) {
    row_of = rows_of_companion (self, companion);
    if (row_of == NULL)
      goto out;
  } else if (t->ids == NULL && self->manifest->n_items != t->n_rows) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("%s has %u rows but its manifest %s has %u items: a .npy table's "
            "rows are the manifest's items in order", t->filename, t->n_rows,
            path, self->manifest->n_items), (NULL));
    goto out;
  }
  affect_manifest_selection_init (&selection);
  selection.split = self->run_split;
  order = affect_manifest_select (self->manifest, &selection, &n_order, &error);
  if (order == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", error->message),
        (NULL));
    goto out;
  }
  if (t->ids) {
    row_of = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    for (i = 0; i < t->n_rows; i++)
      g_hash_table_insert (row_of, g_strdup (t->ids[i]),
          GUINT_TO_POINTER (i + 1));
  }
  for (k = 0; k < n_order; k++) {
    const AffectManifestItem *mi = &self->manifest->items[order[k]];
    guint row = order[k];
    if (row_of) {
      row = GPOINTER_TO_UINT (g_hash_table_lookup (row_of, mi->id));
      if (row == 0) {
        gchar *item_path = affect_manifest_resolve_path (self->manifest, mi,
            NULL);
        GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND,
            ("Item \"%s\" (%s): skipped: no row of that id in %s", mi->id,
                item_path, t->filename), (NULL));
        g_free (item_path);
        g_ptr_array_add (self->skipped_list, g_strdup_printf ("%s: no row "
                "in %s", mi->id, t->filename));
        self->skipped++;
        continue;
      }
      row--;
    }
    g_ptr_array_add (self->items, item_from_manifest (self, mi));
    g_array_append_val (self->rows, row);
  }
  ok = TRUE;
out:
  if (row_of)
    g_hash_table_unref (row_of);
  if (error)
    g_error_free (error);
  g_free (order);
  g_strfreev (targets);
  g_strfreev (vocabulary);
  g_free (meta_label);
  return ok;
}

/* no manifest: the table's rows are the items */
static void
items_from_table (GstAffectFeatureSrc * self)
{
  const AffectFeatureTable *t = self->table;
  guint i;

  for (i = 0; i < t->n_rows; i++) {
    GstAffectItem *item = gst_affect_item_new (t->ids ? t->ids[i] : NULL);
    if (t->ids == NULL) {
      g_free (item->id);
      item->id = g_strdup_printf ("%u", i);
    }
    item->split = g_strdup (self->run_split);
    if (t->classes && t->classes[i]) {
      if (t->class_values)
        gst_affect_item_set_class (item,
            (const gchar * const *) t->class_values, t->classes[i]);
      else
        gst_affect_item_set_target (item, t->class_name,
            g_ascii_strtod (t->classes[i], NULL));
    }
    g_ptr_array_add (self->items, item);
    g_array_append_val (self->rows, i);
  }
}

static gboolean
gst_affect_feature_src_start (GstBaseSrc * src)
{
  GstAffectFeatureSrc *self = GST_AFFECT_FEATURE_SRC (src);
  gchar *location, *manifest, *label_column, *target_columns, *feature;
  gchar *companion = NULL;
  gint rate;
  GError *error = NULL;
  gboolean ok = FALSE;
  guint i;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  manifest = g_strdup (self->manifest_location);
  label_column = g_strdup (self->label_column);
  target_columns = g_strdup (self->target_columns);
  feature = g_strdup (self->feature);
  rate = self->sample_rate;
  GST_OBJECT_UNLOCK (self);

  gst_affect_feature_src_clear (self);
  GST_OBJECT_LOCK (self);
  self->run_split = g_strdup (self->split);
  GST_OBJECT_UNLOCK (self);
  self->items = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_affect_item_free);
  self->rows = g_array_new (FALSE, FALSE, sizeof (guint));
  self->skipped_list = g_ptr_array_new_with_free_func (g_free);

  if (location == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No feature table given: set the 'location' property"), (NULL));
    goto out;
  }
  self->table = affect_feature_table_load (location,
      AFFECT_FEATURE_FORMAT_AUTO, &error);
  if (self->table == NULL) {
    if (g_error_matches (error, AFFECT_ERROR, AFFECT_ERROR_IO))
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", error->message),
          (NULL));
    else
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("%s", error->message), (NULL));
    goto out;
  }
  if (self->table->ids) {
    GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
    for (i = 0; i < self->table->n_rows; i++) {
      const gchar *id = self->table->ids[i];
      gpointer first = g_hash_table_lookup (seen, id);
      if (first) {
        guint j = GPOINTER_TO_UINT (first) - 1;
        GST_ELEMENT_ERROR (self, STREAM, FORMAT,
            ("%s:%u: expected a unique id, got '%s' already used on line %u "
                "(one row per item: frame-level tables are not items)",
                location, self->table->lines ? self->table->lines[i] : i + 1,
                id, self->table->lines ? self->table->lines[j] : j + 1),
            (NULL));
        g_hash_table_unref (seen);
        goto out;
      }
      g_hash_table_insert (seen, (gpointer) id, GUINT_TO_POINTER (i + 1));
    }
    g_hash_table_unref (seen);
  }
  if (!load_meta (self, location))
    goto out;
  companion = g_strconcat (location, ".items.csv", NULL);
  if (manifest == NULL && g_file_test (companion, G_FILE_TEST_EXISTS))
    manifest = g_strdup (companion);
  if (manifest) {
    if (!load_manifest (self, manifest, g_file_test (companion,
                G_FILE_TEST_EXISTS) ? companion : NULL, label_column,
            target_columns))
      goto out;
  } else if (self->table->ids == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("%s holds no ids: give its manifest (the 'manifest' property, or "
            "%s)", location, companion), (NULL));
    goto out;
  } else {
    items_from_table (self);
  }
  if (!make_caps (self, feature, rate))
    goto out;
  load_times (self);
  GST_INFO_OBJECT (self, "%s: %u rows of %u features, %u items", location,
      self->table->n_rows, self->table->n_features, self->items->len);
  GST_OBJECT_LOCK (self);
  self->ready = TRUE;
  GST_OBJECT_UNLOCK (self);
  ok = TRUE;
out:
  if (error)
    g_error_free (error);
  if (!ok)
    gst_affect_feature_src_clear (self);
  g_free (location);
  g_free (manifest);
  g_free (companion);
  g_free (label_column);
  g_free (target_columns);
  g_free (feature);
  return ok;
}

static gboolean
gst_affect_feature_src_stop (GstBaseSrc * src)
{
  gst_affect_feature_src_clear (GST_AFFECT_FEATURE_SRC (src));
  return TRUE;
}

static GstCaps *
gst_affect_feature_src_get_caps (GstBaseSrc * src, GstCaps * filter)
{
  GstAffectFeatureSrc *self = GST_AFFECT_FEATURE_SRC (src);
  GstCaps *caps;

  GST_OBJECT_LOCK (self);
  if (self->current_caps)
    caps = gst_caps_ref (self->current_caps);
  else if (self->ready && self->caps->len > 0)
    caps = gst_caps_ref (g_ptr_array_index (self->caps,
            self->rows->len ? g_array_index (self->rows, guint, 0) : 0));
  else
    caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (src));
  GST_OBJECT_UNLOCK (self);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, caps,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (caps);
    caps = tmp;
  }
  return caps;
}

static void
post_done (GstAffectFeatureSrc * self)
{
  GValue list = G_VALUE_INIT;
  GstStructure *s;
  guint i;

  gst_value_array_init (&list, self->skipped_list->len);
  for (i = 0; i < self->skipped_list->len; i++) {
    GValue v = G_VALUE_INIT;
    g_value_init (&v, G_TYPE_STRING);
    g_value_set_string (&v, g_ptr_array_index (self->skipped_list, i));
    gst_value_array_append_and_take_value (&list, &v);
  }
  s = gst_structure_new ("affect-dataset-done",
      "items-emitted", G_TYPE_UINT, self->emitted,
      "items-skipped", G_TYPE_UINT, self->skipped, NULL);
  gst_structure_take_value (s, "skipped", &list);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static GstFlowReturn
gst_affect_feature_src_create (GstPushSrc * src, GstBuffer ** out)
{
  GstAffectFeatureSrc *self = GST_AFFECT_FEATURE_SRC (src);
  GstBaseSrc *bsrc = GST_BASE_SRC (src);
  GstAffectItem *item;
  GstCaps *caps;
  GstBuffer *buf;
  guint row, n = self->table->n_features;

  if (self->next > 0) {
    /* the previous item ends once its vector has gone */
    item = g_ptr_array_index (self->items, self->next - 1);
    if (!gst_pad_push_event (GST_BASE_SRC_PAD (src),
            gst_affect_item_end_event_new (item)))
      GST_DEBUG_OBJECT (self, "affect-item-end of %s not handled", item->id);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self),
            gst_structure_new ("affect-progress",
                "items-done", G_TYPE_UINT, self->next + self->skipped,
                "items-total", G_TYPE_UINT, self->items->len + self->skipped,
                "items-skipped", G_TYPE_UINT, self->skipped,
                "id", G_TYPE_STRING, item->id, NULL)));
  }
  if (self->next >= self->items->len) {
    post_done (self);
    return GST_FLOW_EOS;
  }
  item = g_ptr_array_index (self->items, self->next);
  row = g_array_index (self->rows, guint, self->next);
  caps = g_ptr_array_index (self->caps, row);
  if (self->current_caps == NULL || !gst_caps_is_equal (caps,
          self->current_caps)) {
    if (!gst_base_src_set_caps (bsrc, caps)) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
          ("Downstream does not accept the features of %s: %" GST_PTR_FORMAT,
              item->id, caps), (NULL));
      return GST_FLOW_NOT_NEGOTIATED;
    }
    GST_OBJECT_LOCK (self);
    gst_caps_replace (&self->current_caps, caps);
    GST_OBJECT_UNLOCK (self);
  }
  if (!self->segment_sent) {
    /* the segment precedes the first item's start, as from affectsrc;
     * GstBaseSrc then sends the same segment again before the first
     * buffer, which changes no running time */
    gst_pad_push_event (GST_BASE_SRC_PAD (src),
        gst_event_new_segment (&bsrc->segment));
    self->segment_sent = TRUE;
  }
  item->index = self->emitted;
  if (!gst_pad_push_event (GST_BASE_SRC_PAD (src),
          gst_affect_item_start_event_new (item)))
    GST_DEBUG_OBJECT (self, "affect-item-start of %s not handled", item->id);

  buf = gst_buffer_new_memdup (self->table->values + (gsize) row * n,
      n * sizeof (float));
  if (self->pts) {
    GST_BUFFER_PTS (buf) = self->pts[row];
    GST_BUFFER_DURATION (buf) = self->durations[row];
  }
  GST_BUFFER_OFFSET (buf) = self->emitted;
  self->emitted++;
  self->next++;
  *out = buf;
  return GST_FLOW_OK;
}

static void
gst_affect_feature_src_finalize (GObject * object)
{
  GstAffectFeatureSrc *self = GST_AFFECT_FEATURE_SRC (object);

  gst_affect_feature_src_clear (self);
  gst_affect_props_finalize (object);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_affect_feature_src_class_init (GstAffectFeatureSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  gobject_class->finalize = gst_affect_feature_src_finalize;
  gst_affect_props_install (gobject_class, props, G_N_ELEMENTS (props),
      G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY);

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Affect feature source", "Source",
      "Stored feature vectors (openSMILE CSV, ARFF, .npy) as items with "
      "their labels", "gst-affect");

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_affect_feature_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_affect_feature_src_stop);
  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_affect_feature_src_get_caps);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_affect_feature_src_create);
}

static void
gst_affect_feature_src_init (GstAffectFeatureSrc * self)
{
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  gst_affect_props_init (G_OBJECT (self));
}

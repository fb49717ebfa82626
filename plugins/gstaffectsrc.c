/* GStreamer affect plugin
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Library General Public License as published by
 * the Free Software Foundation; either version 2 of the License, or (at your
 * option) any later version.
 */
/**
 * SECTION:element-affectsrc
 * @title: affectsrc
 *
 * Reads a dataset manifest and emits every item's decoded audio in turn, as
 * one stream with one TIME segment: timestamps run on continuously and
 * monotonically from one item to the next. Each item's buffers are bracketed
 * by the custom serialized downstream events `affect-item-start` (id, index,
 * path, split, origin, duration, task, vocabulary, labels, class, targets,
 * columns; see docs/protocol.md and gstaffectitem.h) and `affect-item-end`.
 *
 * Manifests (libaffect, docs/manifests.md): MTG-Jamendo TSV, the quadrant CSV
 * of the music-generation paper, or a generic CSV with a `path` column and
 * label / numeric target columns; the format is read from the header or
 * forced with #GstAffectSrc:format.
 *
 * Each item is decoded by a private `uridecodebin ! appsink` pipeline, so any
 * format GStreamer can decode is accepted. The output is `audio/x-raw` as
 * decoded: caps may change between items (always between an item's end and
 * the next item's start), so put `audioconvert ! audioresample` after it.
 *
 * Items stay whole (docs/protocol.md, "Items"): every item's outputs through
 * any chain of stock elements equal those of a run over that item alone.
 * The first buffer of each item carries the DISCONT flag; after its last
 * buffer the stream's segment is sent again (equal to the first, so running
 * time goes on) before `affect-item-end`, so elements with a delay line,
 * such as audioresample, drain the item's tail inside the item. Resampling
 * happens per item inside the item's decoding pipeline (`audioconvert !
 * audioresample`, fresh for each item, drained at its end) when
 * #GstAffectSrc:rate or #GstAffectSrc:channels is set, or, with
 * #GstAffectSrc:auto-resample (the default), when the stream reaches through
 * audioconvert, capsfilter, queue, tee, identity or funnel an audioresample
 * whose output rate is fixed: affectsrc then resamples every item to that
 * rate with that element's settings, and that audioresample passes the
 * audio through. The output is then interleaved F32LE (with auto-resample:
 * the sample format fixed after that audioresample, if any).
 *
 * A file that cannot be read or decoded (or holds no audio stream, or whose
 * decoder delivers nothing for #GstAffectSrc:item-timeout seconds) posts a
 * warning naming the path and the reason and is skipped; the stream goes on. A
 * file that fails after part of it was emitted gets its `affect-item-end`, a
 * warning, and is counted as skipped. A malformed manifest line is an error
 * naming `file:line` and what was expected; an empty manifest is an error.
 *
 * Selection, in this order: #GstAffectSrc:split keeps the items of one split
 * (items whose split the manifest does not say are kept and take that
 * split); #GstAffectSrc:shuffle reorders them with #GstAffectSrc:seed;
 * #GstAffectSrc:start-index / #GstAffectSrc:stop-index cut a slice; with
 * #GstAffectSrc:shard "i/N" the k-th remaining item is emitted by shard
 * k mod N, so N shards together emit exactly the items of the unsharded run.
 *
 * The element is not seekable: a dataset is read once from its start.
 *
 * ## Messages
 *
 * `affect-progress`, after every item (emitted or skipped):
 *
 * * `items-done` (uint): items handled so far
 * * `items-total` (uint): items selected
 * * `items-skipped` (uint): items skipped so far
 * * `id` (string): the item just handled
 *
 * `affect-dataset-done`, before EOS:
 *
 * * `items-emitted` (uint)
 * * `items-skipped` (uint)
 * * `skipped` (GstValueArray of strings): `path: reason` per skipped item
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 affectsrc location=autotagging_moodtheme-train.tsv \
 *     root=/data/mtg-jamendo ! audioconvert ! audioresample ! \
 *     audio/x-raw,format=F32LE,rate=12000,channels=1 ! fakesink
 * ]|
 * |[
 * gst-launch-1.0 -m affectsrc location=speech.csv split=test shuffle=true \
 *     seed=7 shard=1/4 ! audioconvert ! audioresample ! \
 *     audio/x-raw,rate=16000,channels=1 ! fakesink
 * ]|
 * |[
 * gst-launch-1.0 affectsrc location=speech.csv ! audioconvert ! \
 *     audio/x-raw,format=F32LE,channels=1 ! affectis09 location=is09.csv ! \
 *     fakesink
 * ]| IS09 at each file's own rate (the speech dataset chain).
 * |[
 * gst-launch-1.0 affectsrc location=speech.csv rate=16000 channels=1 \
 *     resample-quality=10 ! affectis09 ! fakesink
 * ]| Every item resampled to 16 kHz mono inside affectsrc.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/audio/audio.h>

#include "affect/affect.h"
#include "gstaffectelements.h"
#include "gstaffectitem.h"
#include "gstaffectprops.h"
#include "gstaffectsrc.h"

GST_DEBUG_CATEGORY_STATIC (gst_affect_src_debug);
#define GST_CAT_DEFAULT gst_affect_src_debug

#define DEFAULT_LOCATION NULL
#define DEFAULT_ROOT NULL
#define DEFAULT_VOCABULARY NULL
#define DEFAULT_SPLIT NULL
#define DEFAULT_ORIGIN GST_AFFECT_SRC_ORIGIN_REAL
#define DEFAULT_FORMAT GST_AFFECT_SRC_FORMAT_AUTO
#define DEFAULT_SHUFFLE FALSE
#define DEFAULT_SEED 0
#define DEFAULT_START_INDEX 0
#define DEFAULT_STOP_INDEX -1
#define DEFAULT_SHARD "0/1"
#define DEFAULT_LABEL_COLUMN NULL
#define DEFAULT_TARGET_COLUMNS NULL
#define DEFAULT_ITEM_TIMEOUT 60
#define DEFAULT_RATE 0
#define DEFAULT_CHANNELS 0
/* audioresample's own default (GST_AUDIO_RESAMPLER_QUALITY_DEFAULT) */
#define DEFAULT_RESAMPLE_QUALITY 4
#define DEFAULT_AUTO_RESAMPLE TRUE

/* how often a waiting streaming thread looks for a flush */
#define PULL_INTERVAL (50 * GST_MSECOND)


static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-raw"));

static const GEnumValue origin_values[] = {
  {GST_AFFECT_SRC_ORIGIN_REAL, "Recorded audio", "real"},
  {GST_AFFECT_SRC_ORIGIN_GENERATED, "Audio made by a generator", "generated"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectSrcOrigin, gst_affect_src_origin,
    origin_values);

static const GEnumValue format_values[] = {
  {GST_AFFECT_SRC_FORMAT_AUTO, "Detect from the header", "auto"},
  {GST_AFFECT_SRC_FORMAT_MTG_TSV,
        "MTG-Jamendo TSV (TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS...)",
      "mtg-tsv"},
  {GST_AFFECT_SRC_FORMAT_QUADRANT_CSV,
        "Quadrant CSV (TRACK LABEL DURATION BIN EMOTION_VALENCE)",
      "quadrant-csv"},
  {GST_AFFECT_SRC_FORMAT_CSV,
      "CSV with a header: path, id, split, label, numeric targets", "csv"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectSrcFormat, gst_affect_src_format,
    format_values);

#define S GstAffectSrc
static const GstAffectProp properties[] = {
  GST_AFFECT_PROP_STRING ("location", "Location",
      "Manifest file: MTG-Jamendo TSV, quadrant CSV or CSV with a "
      "'path' column", S, location, DEFAULT_LOCATION, 0),
  GST_AFFECT_PROP_STRING ("root", "Root",
      "Folder that relative paths of the manifest start from "
      "(NULL = the manifest's folder)", S, root, DEFAULT_ROOT, 0),
  GST_AFFECT_PROP_STRING ("vocabulary", "Vocabulary",
      "Label list file, one name per line, fixing the order of label "
      "vectors (NULL = the 56 MTG-Jamendo mood/theme tags for TSV, the "
      "4 quadrants for the quadrant CSV, the sorted label values of a "
      "CSV)", S, vocabulary, DEFAULT_VOCABULARY, 0),
  GST_AFFECT_PROP_STRING ("split", "Split",
      "Emit only items of this split (train, validation, test, ...); "
      "items whose split the manifest does not say are kept and take "
      "this split (NULL = every item)", S, split, DEFAULT_SPLIT, 0),
  GST_AFFECT_PROP_ENUM ("origin", "Origin",
      "Origin stamped on items (a CSV 'origin' column overrides it)", S,
      origin, gst_affect_src_origin_get_type, DEFAULT_ORIGIN, 0),
  GST_AFFECT_PROP_ENUM ("format", "Format", "Manifest format", S, format,
      gst_affect_src_format_get_type, DEFAULT_FORMAT, 0),
  GST_AFFECT_PROP_BOOL ("shuffle", "Shuffle",
      "Emit items in a random order drawn from the seed", S, shuffle,
      DEFAULT_SHUFFLE, 0),
  GST_AFFECT_PROP_UINT64 ("seed", "Seed",
      "Seed of the shuffle: the same seed gives the same order", S, seed,
      0, -1, DEFAULT_SEED, 0),
  GST_AFFECT_PROP_UINT ("start-index", "Start index",
      "First item emitted, counted after split filter and shuffle", S,
      start_index, 0, G_MAXUINT, DEFAULT_START_INDEX, 0),
  GST_AFFECT_PROP_INT ("stop-index", "Stop index",
      "One past the last item emitted, counted like start-index "
      "(-1 = to the end)", S, stop_index, -1, G_MAXINT, DEFAULT_STOP_INDEX,
      0),
  GST_AFFECT_PROP_STRING ("shard", "Shard",
      "\"i/N\": emit the k-th selected item only when k mod N = i, so "
      "N shards partition the run exactly", S, shard, DEFAULT_SHARD, 0),
  GST_AFFECT_PROP_STRING ("label-column", "Label column",
      "CSV column holding the class or ';'-separated tags "
      "(NULL = 'label' if present, \"\" = none)", S, label_column,
      DEFAULT_LABEL_COLUMN, 0),
  GST_AFFECT_PROP_STRING ("target-columns", "Target columns",
      "Comma-separated CSV columns of numeric targets (NULL = every "
      "column whose values are all numbers)", S, target_columns,
      DEFAULT_TARGET_COLUMNS, 0),
  GST_AFFECT_PROP_UINT ("item-timeout", "Item timeout",
      "Skip an item whose decoder delivers nothing for this many seconds "
      "(0 = wait forever)", S, item_timeout, 0, G_MAXUINT,
      DEFAULT_ITEM_TIMEOUT, G_PARAM_READWRITE),
  GST_AFFECT_PROP_INT ("rate", "Rate",
      "Resample every item to this rate (Hz) inside its own decoding "
      "pipeline, so no resampler state crosses items (0 = as decoded)", S,
      rate, 0, G_MAXINT, DEFAULT_RATE, 0),
  GST_AFFECT_PROP_INT ("channels", "Channels",
      "Mix every item to this many channels inside its own decoding "
      "pipeline, as audioconvert does (0 = as decoded)", S, channels, 0, 64,
      DEFAULT_CHANNELS, 0),
  GST_AFFECT_PROP_INT ("resample-quality", "Resample quality",
      "Quality of the per-item resampler when rate is set "
      "(audioresample's quality: 0 = fastest, 10 = best)", S,
      resample_quality, 0, 10, DEFAULT_RESAMPLE_QUALITY, 0),
  GST_AFFECT_PROP_BOOL ("auto-resample", "Auto resample",
      "When rate is 0 and the stream goes (through audioconvert, "
      "capsfilter, queue, tee, identity or funnel) into an audioresample "
      "whose output rate is fixed, resample every item to that rate with "
      "that element's settings inside its own decoding pipeline, so the "
      "audioresample passes it through and no resampler state crosses "
      "items", S, auto_resample, DEFAULT_AUTO_RESAMPLE, 0),
};

#undef S

#define gst_affect_src_parent_class parent_class
G_DEFINE_TYPE (GstAffectSrc, gst_affect_src, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (affectsrc, "affectsrc", GST_RANK_NONE,
    GST_TYPE_AFFECT_SRC);

static void gst_affect_src_finalize (GObject * object);
static GstStateChangeReturn gst_affect_src_change_state (GstElement * element,
    GstStateChange transition);
static gboolean gst_affect_src_activate_mode (GstPad * pad, GstObject * parent,
    GstPadMode mode, gboolean active);
static gboolean gst_affect_src_src_event (GstPad * pad, GstObject * parent,
    GstEvent * event);
static gboolean gst_affect_src_src_query (GstPad * pad, GstObject * parent,
    GstQuery * query);
static void gst_affect_src_loop (GstAffectSrc * self);

static void
gst_affect_src_class_init (GstAffectSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_affect_src_debug, "affectsrc", 0,
      "affect dataset source");

  gst_affect_props_install (gobject_class, properties,
      G_N_ELEMENTS (properties), G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY);
  gobject_class->finalize = gst_affect_src_finalize;

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Affect dataset source", "Source/Audio",
      "Decodes the items of a dataset manifest (MTG-Jamendo TSV, quadrant "
      "CSV, CSV) into one audio stream, marking each item with "
      "affect-item-start/-end events carrying its labels and targets",
      "gst-affect <https://example.invalid/gst-affect>");
  element_class->change_state = gst_affect_src_change_state;
}

static void
gst_affect_src_init (GstAffectSrc * self)
{
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_activatemode_function (self->srcpad,
      gst_affect_src_activate_mode);
  gst_pad_set_event_function (self->srcpad, gst_affect_src_src_event);
  gst_pad_set_query_function (self->srcpad, gst_affect_src_src_query);
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);

  gst_affect_props_init (G_OBJECT (self));
}

static void
gst_affect_src_finalize (GObject * object)
{
  GstAffectSrc *self = GST_AFFECT_SRC (object);

  gst_affect_props_finalize (object);
  gst_clear_structure (&self->auto_settings);
  g_free (self->auto_format);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* ---- dataset ---- */

static void
gst_affect_src_clear_dataset (GstAffectSrc * self)
{
  affect_manifest_free (self->manifest);
  self->manifest = NULL;
  g_clear_pointer (&self->order, g_free);
  self->n_order = 0;
  g_clear_pointer (&self->skipped_list, g_ptr_array_unref);
  gst_clear_caps (&self->caps);
}

/* Load and select (READY→PAUSED): every problem becomes a bus error. */
static gboolean
gst_affect_src_open (GstAffectSrc * self)
{
  AffectManifestOptions options;
  AffectManifestSelection selection;
  GError *error = NULL;
  gchar **vocabulary = NULL, **targets = NULL;
  gchar *location, *split, *shard, *label_column, *target_columns, *vocab_file;
  gboolean ok = FALSE;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  split = g_strdup (self->split);
  shard = g_strdup (self->shard);
  label_column = g_strdup (self->label_column);
  target_columns = g_strdup (self->target_columns);
  vocab_file = g_strdup (self->vocabulary);
  affect_manifest_options_init (&options);
  options.format = (AffectManifestFormat) self->format;
  affect_manifest_selection_init (&selection);
  selection.shuffle = self->shuffle;
  selection.seed = self->seed;
  selection.start = self->start_index;
  selection.stop = self->stop_index;
  GST_OBJECT_UNLOCK (self);

  if (location == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No manifest given: set the 'location' property"), (NULL));
    goto out;
  }
  if (!affect_manifest_parse_shard (shard, &selection.shard_index,
          &selection.shard_count, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", error->message),
        (NULL));
    goto out;
  }
  if (vocab_file) {
    vocabulary = affect_vocabulary_load (vocab_file, &error);
    if (vocabulary == NULL) {
      GST_ELEMENT_ERROR (self, RESOURCE, READ, ("%s", error->message), (NULL));
      goto out;
    }
    options.vocabulary = (const char *const *) vocabulary;
  }
  if (target_columns) {
    guint i;
    targets = g_strsplit (target_columns, ",", -1);
    for (i = 0; targets[i]; i++)
      g_strstrip (targets[i]);
    options.target_columns = (const char *const *) targets;
  }
  options.label_column = label_column;

  self->manifest = affect_manifest_load (location, &options, &error);
  if (self->manifest == NULL) {
    if (g_error_matches (error, AFFECT_ERROR, AFFECT_ERROR_IO))
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", error->message),
          (NULL));
    else
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("%s", error->message), (NULL));
    goto out;
  }
  selection.split = split;
  self->order = affect_manifest_select (self->manifest, &selection,
      &self->n_order, &error);
  if (self->order == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", error->message),
        (NULL));
    goto out;
  }
  GST_INFO_OBJECT (self, "%s: %s manifest, %u items, %u selected", location,
      affect_manifest_format_to_string (self->manifest->format),
      self->manifest->n_items, self->n_order);
  if (self->n_order == 0)
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("No item of %s left after start-index, stop-index and shard %s",
            location, shard), (NULL));
  self->skipped_list = g_ptr_array_new_with_free_func (g_free);
  ok = TRUE;
out:
  if (error)
    g_error_free (error);
  g_strfreev (vocabulary);
  g_strfreev (targets);
  g_free (location);
  g_free (split);
  g_free (shard);
  g_free (label_column);
  g_free (target_columns);
  g_free (vocab_file);
  if (!ok)
    gst_affect_src_clear_dataset (self);
  return ok;
}

static GstAffectItem *
gst_affect_src_make_item (GstAffectSrc * self, const AffectManifestItem * mi,
    const gchar * path)
{
  const AffectManifest *m = self->manifest;
  GstAffectItem *item = gst_affect_item_new (mi->id);
  const gchar *origin;
  guint i;

  item->index = self->n_started;
  item->path = g_strdup (path);
  GST_OBJECT_LOCK (self);
  item->split = g_strdup (mi->split ? mi->split : self->split);
  g_free (item->origin);
  item->origin = g_strdup (self->origin == GST_AFFECT_SRC_ORIGIN_GENERATED ?
      "generated" : "real");
  GST_OBJECT_UNLOCK (self);
  origin = affect_manifest_item_get_extra (m, mi, "origin");
  if (origin && (strcmp (origin, "real") == 0
          || strcmp (origin, "generated") == 0)) {
    g_free (item->origin);
    item->origin = g_strdup (origin);
  }
  if (mi->duration >= 0)
    item->duration = (GstClockTime) (mi->duration * GST_SECOND + 0.5);
  if (m->task == AFFECT_MANIFEST_TASK_TAGS)
    gst_affect_item_set_tags (item, (const gchar * const *) m->vocabulary,
        mi->labels);
  else if (m->task == AFFECT_MANIFEST_TASK_CLASS && mi->class_index >= 0)
    gst_affect_item_set_class (item, (const gchar * const *) m->vocabulary,
        m->vocabulary[mi->class_index]);
  for (i = 0; i < m->n_targets; i++)
    gst_affect_item_set_target (item, m->target_names[i], mi->targets[i]);
  for (i = 0; i < m->n_extra; i++)
    gst_affect_item_set_column (item, m->extra_names[i], mi->extra[i]);
  return item;
}

/* ---- one item's private decoding pipeline ---- */

static void
on_pad_added (GstElement * decodebin, GstPad * pad, GstAffectSrc * self)
{
  GstCaps *caps = gst_pad_get_current_caps (pad);
  GstPad *sinkpad = gst_element_get_static_pad (self->decoder_sink, "sink");
  gboolean audio;

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  audio = !gst_caps_is_empty (caps) && !gst_caps_is_any (caps)
      && g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure
          (caps, 0)), "audio/");
  /* the first audio stream; other streams stay unlinked */
  if (audio && !gst_pad_is_linked (sinkpad))
    gst_pad_link (pad, sinkpad);
  gst_object_unref (sinkpad);
  gst_caps_unref (caps);
}

static void
on_no_more_pads (GstElement * decodebin, GstAffectSrc * self)
{
  g_atomic_int_set (&self->all_pads, 1);
}

static void
gst_affect_src_close_decoder (GstAffectSrc * self)
{
  if (self->decoder) {
    gst_element_set_state (self->decoder, GST_STATE_NULL);
    gst_object_unref (self->decoder);
    self->decoder = NULL;
    self->appsink = NULL;
    self->decoder_sink = NULL;
  }
}

static gboolean
set_resampler_property (GQuark field, const GValue * value, gpointer resample)
{
  g_object_set_property (G_OBJECT (resample), g_quark_to_string (field), value);
  return TRUE;
}

/* Elements that pass audio on unchanged in time: a resampler behind them
 * sees our items as we send them. */
static gboolean
is_pass_through (const gchar * factory)
{
  static const gchar *const names[] = { "audioconvert", "capsfilter", "queue",
    "tee", "identity", "funnel", NULL
  };
  return g_strv_contains (names, factory);
}

/* Looks downstream for the audioresample that will resample this stream:
 * through pass-through elements with one input and one linked output, the
 * first audioresample whose output rate is fixed by what follows it. Its
 * rate, the channel count fixed after it and its settings become the
 * per-item conversion (auto-resample). */
static void
gst_affect_src_find_resampler (GstAffectSrc * self)
{
  GstPad *pad = gst_pad_get_peer (self->srcpad);
  guint steps;

  gst_clear_structure (&self->auto_settings);
  for (steps = 0; pad != NULL && steps < 32; steps++) {
    GstElement *element = gst_pad_get_parent_element (pad);
    GstElementFactory *factory;
    const gchar *name;
    GstPad *next = NULL;

    gst_object_unref (pad);
    pad = NULL;
    if (element == NULL)
      break;
    factory = gst_element_get_factory (element);
    name = factory ? gst_plugin_feature_get_name (factory) : "";
    if (strcmp (name, "audioresample") == 0) {
      GstPad *src = gst_element_get_static_pad (element, "src");
      GstCaps *caps = src ? gst_pad_peer_query_caps (src, NULL) : NULL;
      gint rate = 0, channels = 0;

      if (caps && gst_caps_get_size (caps) == 1
          && gst_structure_get_int (gst_caps_get_structure (caps, 0), "rate",
              &rate) && rate > 0) {
        GParamSpec **specs;
        guint i, n;

        const gchar *format = gst_structure_get_string
            (gst_caps_get_structure (caps, 0), "format");

        gst_structure_get_int (gst_caps_get_structure (caps, 0), "channels",
            &channels);
        self->auto_rate = rate;
        self->auto_channels = MAX (channels, 0);
        /* audioresample keeps the format: what it must output, it gets */
        g_free (self->auto_format);
        self->auto_format = g_strdup (format ? format : "F32LE");
        self->auto_settings = gst_structure_new_empty ("settings");
        specs = g_object_class_list_properties (G_OBJECT_GET_CLASS (element),
            &n);
        for (i = 0; i < n; i++) {
          GValue v = G_VALUE_INIT;
          if (specs[i]->owner_type != G_OBJECT_TYPE (element)
              || (specs[i]->flags & G_PARAM_READWRITE) != G_PARAM_READWRITE
              || (specs[i]->flags & G_PARAM_CONSTRUCT_ONLY))
            continue;
          g_value_init (&v, specs[i]->value_type);
          g_object_get_property (G_OBJECT (element), specs[i]->name, &v);
          gst_structure_take_value (self->auto_settings, specs[i]->name, &v);
        }
        g_free (specs);
        GST_INFO_OBJECT (self, "items are resampled to %d Hz (%d channels) "
            "as %" GST_PTR_FORMAT " would, with %" GST_PTR_FORMAT, rate,
            channels, element, self->auto_settings);
      }
      if (caps)
        gst_caps_unref (caps);
      if (src)
        gst_object_unref (src);
    } else if (is_pass_through (name)) {
      GST_OBJECT_LOCK (element);
      if (element->numsinkpads == 1 && element->numsrcpads == 1)
        next = gst_pad_get_peer (GST_PAD (element->srcpads->data));
      GST_OBJECT_UNLOCK (element);
    }
    gst_object_unref (element);
    pad = next;
  }
  if (pad)
    gst_object_unref (pad);
}

static gboolean
gst_affect_src_open_decoder (GstAffectSrc * self, const gchar * path,
    gchar ** reason)
{
  GstElement *uridecodebin, *appsink, *convert = NULL, *resample = NULL;
  GstCaps *caps;
  GError *error = NULL;
  gchar *uri;
  gint rate, channels, quality;
  const gchar *format = "F32LE";
  gboolean use_auto;

  GST_OBJECT_LOCK (self);
  rate = self->rate;
  channels = self->channels;
  quality = self->resample_quality;
  GST_OBJECT_UNLOCK (self);
  use_auto = rate == 0 && self->auto_settings != NULL;
  if (use_auto) {
    rate = self->auto_rate;
    format = self->auto_format;
    if (channels == 0)
      channels = self->auto_channels;
  }

  if (strstr (path, "://"))
    uri = g_strdup (path);
  else {
    /* say why a local file cannot be used before a decoder tries */
    if (g_access (path, R_OK) != 0) {
      *reason = g_strdup (g_strerror (errno));
      return FALSE;
    }
    /* a folder, or a FIFO whose open() would block the streaming thread */
    if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
      *reason = g_strdup ("not a regular file");
      return FALSE;
    }
    uri = gst_filename_to_uri (path, &error);
    if (uri == NULL) {
      *reason = g_strdup (error->message);
      g_error_free (error);
      return FALSE;
    }
  }
  uridecodebin = gst_element_factory_make ("uridecodebin", NULL);
  appsink = gst_element_factory_make ("appsink", NULL);
  if (rate > 0 || channels > 0) {
    convert = gst_element_factory_make ("audioconvert", NULL);
    resample = gst_element_factory_make ("audioresample", NULL);
  }
  if (uridecodebin == NULL || appsink == NULL
      || ((rate > 0 || channels > 0) && (convert == NULL
              || resample == NULL))) {
    *reason =
        g_strdup ("uridecodebin, appsink, audioconvert or "
        "audioresample is not installed");
    gst_clear_object (&uridecodebin);
    gst_clear_object (&appsink);
    gst_clear_object (&convert);
    gst_clear_object (&resample);
    g_free (uri);
    return FALSE;
  }
  self->decoder = gst_pipeline_new ("affectsrc-decoder");
  self->appsink = GST_APP_SINK (appsink);
  self->decoder_sink = appsink;
  caps = gst_caps_new_empty_simple ("audio/x-raw");
  if (convert) {
    /* a fresh converter and resampler per item, drained at the item's EOS:
     * the item's samples are those of a run of that item alone */
    g_object_set (resample, "quality", quality, NULL);
    if (use_auto)
      gst_structure_foreach (self->auto_settings, set_resampler_property,
          resample);
    gst_caps_set_simple (caps, "format", G_TYPE_STRING, format,
        "layout", G_TYPE_STRING, "interleaved", NULL);
    if (rate > 0)
      gst_caps_set_simple (caps, "rate", G_TYPE_INT, rate, NULL);
    if (channels > 0)
      gst_caps_set_simple (caps, "channels", G_TYPE_INT, channels, NULL);
    gst_bin_add_many (GST_BIN (self->decoder), convert, resample, NULL);
    gst_element_link (convert, resample);
    self->decoder_sink = convert;
  }
  /* a bounded queue: the decoder waits for us instead of filling memory */
  g_object_set (appsink, "caps", caps, "sync", FALSE, "max-buffers", 8,
      "drop", FALSE, "enable-last-sample", FALSE, NULL);
  gst_caps_unref (caps);
  g_object_set (uridecodebin, "uri", uri, NULL);
  g_free (uri);
  gst_bin_add_many (GST_BIN (self->decoder), uridecodebin, appsink, NULL);
  if (resample)
    gst_element_link (resample, appsink);
  g_atomic_int_set (&self->all_pads, 0);
  g_signal_connect (uridecodebin, "pad-added", G_CALLBACK (on_pad_added), self);
  g_signal_connect (uridecodebin, "no-more-pads",
      G_CALLBACK (on_no_more_pads), self);
  if (gst_element_set_state (self->decoder, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    GstBus *bus = gst_element_get_bus (self->decoder);
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (msg) {
      gst_message_parse_error (msg, &error, NULL);
      *reason = g_strdup (error->message);
      g_error_free (error);
      gst_message_unref (msg);
    } else
      *reason = g_strdup ("the decoder did not start");
    gst_object_unref (bus);
    gst_affect_src_close_decoder (self);
    return FALSE;
  }
  return TRUE;
}

typedef enum
{
  PULL_SAMPLE,
  PULL_EOS,
  PULL_ERROR,
  PULL_FLUSHING
} PullResult;

/* Wait for the next decoded sample, the end of the item, a decoding error,
 * or a flush (checked every PULL_INTERVAL). */
static PullResult
gst_affect_src_pull (GstAffectSrc * self, GstSample ** sample, gchar ** reason)
{
  GstBus *bus = gst_element_get_bus (self->decoder);
  PullResult result = PULL_FLUSHING;
  gint64 start = g_get_monotonic_time ();
  guint timeout;

  GST_OBJECT_LOCK (self);
  timeout = self->item_timeout;
  GST_OBJECT_UNLOCK (self);

  while (!g_atomic_int_get (&self->flushing)) {
    GstMessage *msg;

    *sample = gst_app_sink_try_pull_sample (self->appsink, PULL_INTERVAL);
    if (*sample) {
      result = PULL_SAMPLE;
      break;
    }
    while ((msg = gst_bus_pop (bus)) != NULL) {
      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR && *reason == NULL) {
        GError *error = NULL;
        gst_message_parse_error (msg, &error, NULL);
        *reason = g_strdup (error->message);
        g_error_free (error);
      }
      gst_message_unref (msg);
    }
    /* every stream is known and none is audio: nothing will ever reach the
     * appsink (and a not-linked flow error may or may not follow) */
    if (g_atomic_int_get (&self->all_pads)) {
      GstPad *sinkpad = gst_element_get_static_pad (self->decoder_sink,
          "sink");
      if (!gst_pad_is_linked (sinkpad)) {
        g_free (*reason);
        *reason = g_strdup ("the file has no audio stream");
      }
      gst_object_unref (sinkpad);
    }
    if (*reason == NULL && timeout > 0
        && g_get_monotonic_time () - start > timeout * G_USEC_PER_SEC)
      *reason = g_strdup_printf ("the decoder delivered nothing for %u s",
          timeout);
    if (*reason) {
      result = PULL_ERROR;
      break;
    }
    if (gst_app_sink_is_eos (self->appsink)) {
      result = PULL_EOS;
      break;
    }
  }
  gst_object_unref (bus);
  return result;
}

static GstFlowReturn
gst_affect_src_push_caps (GstAffectSrc * self, GstCaps * caps)
{
  if (self->caps && gst_caps_is_equal (self->caps, caps))
    return GST_FLOW_OK;
  gst_caps_replace (&self->caps, caps);
  if (!gst_pad_push_event (self->srcpad, gst_event_new_caps (caps)))
    return GST_PAD_IS_FLUSHING (self->srcpad) ? GST_FLOW_FLUSHING :
        GST_FLOW_NOT_NEGOTIATED;
  return GST_FLOW_OK;
}

/* The stream's one segment: TIME from 0, so running time = timestamp */
static GstEvent *
gst_affect_src_segment_event (void)
{
  GstSegment segment;

  gst_segment_init (&segment, GST_FORMAT_TIME);
  return gst_event_new_segment (&segment);
}

static void
gst_affect_src_push_segment (GstAffectSrc * self)
{
  if (self->segment_pushed)
    return;
  gst_pad_push_event (self->srcpad, gst_affect_src_segment_event ());
  self->segment_pushed = TRUE;
}

/* The item's end, after its last buffer. The segment is sent again, equal
 * to the first (running time goes on), because a SEGMENT event is what makes
 * elements with a delay line drain it: audioresample pushes the filter's
 * tail then resets, so the item's last samples arrive before its
 * affect-item-end and none reach the next item. (Its reset keeps the
 * resampler's fractional phase: exact items need the per-item resampling of
 * gst_affect_src_open_decoder; docs/protocol.md, "Items".) */
static gboolean
gst_affect_src_end_item (GstAffectSrc * self, const GstAffectItem * item)
{
  if (!gst_pad_push_event (self->srcpad, gst_affect_src_segment_event ())
      && GST_PAD_IS_FLUSHING (self->srcpad))
    return FALSE;
  if (!gst_pad_push_event (self->srcpad, gst_affect_item_end_event_new (item))
      && GST_PAD_IS_FLUSHING (self->srcpad))
    return FALSE;
  return TRUE;
}

static void
gst_affect_src_skip (GstAffectSrc * self, const gchar * path,
    const gchar * reason, gboolean partial)
{
  if (partial)
    GST_ELEMENT_WARNING (self, STREAM, DECODE,
        ("Skipping %s: %s (after part of it was emitted)", path, reason),
        (NULL));
  else
    GST_ELEMENT_WARNING (self, RESOURCE, READ, ("Skipping %s: %s", path,
            reason), (NULL));
  g_ptr_array_add (self->skipped_list, g_strdup_printf ("%s: %s", path,
          reason));
  self->skipped++;
}

/* Decode one item and push it between its item events. Returns the flow of
 * the last push; a bad file is not a flow error (it is skipped). */
static GstFlowReturn
gst_affect_src_emit_item (GstAffectSrc * self, const AffectManifestItem * mi)
{
  GstFlowReturn ret = GST_FLOW_OK;
  GstAffectItem *item = NULL;
  gchar *root, *path, *reason = NULL;
  GstClockTime base = self->position;
  guint64 samples = 0;
  GstAudioInfo info;
  gboolean started = FALSE;

  GST_OBJECT_LOCK (self);
  root = g_strdup (self->root);
  GST_OBJECT_UNLOCK (self);
  path = affect_manifest_resolve_path (self->manifest, mi, root);
  g_free (root);
  GST_DEBUG_OBJECT (self, "item %s: %s", mi->id, path);

  if (!gst_affect_src_open_decoder (self, path, &reason)) {
    gst_affect_src_skip (self, path, reason, FALSE);
    goto out;
  }
  gst_audio_info_init (&info);

  while (ret == GST_FLOW_OK) {
    GstSample *sample = NULL;
    GstBuffer *buf;
    GstCaps *caps;
    GstClockTime pts, end;
    gsize frames;

    switch (gst_affect_src_pull (self, &sample, &reason)) {
      case PULL_FLUSHING:
        ret = GST_FLOW_FLUSHING;
        continue;
      case PULL_ERROR:
        gst_affect_src_skip (self, path, reason, started);
        goto end_item;
      case PULL_EOS:
        if (!started)
          gst_affect_src_skip (self, path, "no audio could be decoded", FALSE);
        else
          self->emitted++;
        goto end_item;
      case PULL_SAMPLE:
        break;
    }

    caps = gst_sample_get_caps (sample);
    if (caps == NULL || self->caps == NULL
        || !gst_caps_is_equal (caps, self->caps)) {
      /* a new format (first item, or rate change): restart sample counting
       * from where the stream is */
      if (caps == NULL || !gst_audio_info_from_caps (&info, caps)) {
        gst_sample_unref (sample);
        reason = g_strdup ("the decoder's caps are not raw audio");
        gst_affect_src_skip (self, path, reason, started);
        goto end_item;
      }
      ret = gst_affect_src_push_caps (self, caps);
      base = self->position;
      samples = 0;
    } else if (GST_AUDIO_INFO_RATE (&info) == 0)
      gst_audio_info_from_caps (&info, caps);
    if (ret != GST_FLOW_OK) {
      gst_sample_unref (sample);
      break;
    }
    if (!started) {
      GstEvent *event;
      gst_affect_src_push_segment (self);
      item = gst_affect_src_make_item (self, mi, path);
      event = gst_affect_item_start_event_new (item);
      if (!gst_pad_push_event (self->srcpad, event)
          && GST_PAD_IS_FLUSHING (self->srcpad)) {
        gst_sample_unref (sample);
        ret = GST_FLOW_FLUSHING;
        break;
      }
      started = TRUE;
      self->n_started++;
    }

    /* timestamps from the count of samples: continuous across items and
     * independent of the decoder's own timestamps */
    buf = gst_buffer_copy (gst_sample_get_buffer (sample));
    gst_sample_unref (sample);
    frames = gst_buffer_get_size (buf) / GST_AUDIO_INFO_BPF (&info);
    pts = base + gst_util_uint64_scale_int (samples, GST_SECOND,
        GST_AUDIO_INFO_RATE (&info));
    samples += frames;
    end = base + gst_util_uint64_scale_int (samples, GST_SECOND,
        GST_AUDIO_INFO_RATE (&info));
    GST_BUFFER_PTS (buf) = pts;
    GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DURATION (buf) = end - pts;
    GST_BUFFER_OFFSET (buf) = GST_BUFFER_OFFSET_NONE;
    GST_BUFFER_OFFSET_END (buf) = GST_BUFFER_OFFSET_NONE;
    if (pts == self->position && samples == frames)
      GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    else
      GST_BUFFER_FLAG_UNSET (buf, GST_BUFFER_FLAG_DISCONT);
    self->position = end;
    ret = gst_pad_push (self->srcpad, buf);
  }
  if (ret == GST_FLOW_NOT_NEGOTIATED && self->caps) {
    gchar *desc = gst_caps_to_string (self->caps);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Downstream does not accept the format of %s: %s (put "
            "audioconvert ! audioresample after affectsrc)", path, desc),
        (NULL));
    g_free (desc);
    ret = GST_FLOW_ERROR;       /* reported */
  }
  goto out;

end_item:
  if (started && !gst_affect_src_end_item (self, item))
    ret = GST_FLOW_FLUSHING;
out:
  gst_affect_src_close_decoder (self);
  gst_affect_item_free (item);
  g_free (reason);
  g_free (path);
  return ret;
}

/* ---- streaming thread ---- */

static void
gst_affect_src_post_progress (GstAffectSrc * self, const gchar * id)
{
  GstStructure *s = gst_structure_new ("affect-progress",
      "items-done", G_TYPE_UINT, self->next,
      "items-total", G_TYPE_UINT, self->n_order,
      "items-skipped", G_TYPE_UINT, self->skipped,
      "id", G_TYPE_STRING, id, NULL);

  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static void
gst_affect_src_finish (GstAffectSrc * self)
{
  GValue list = G_VALUE_INIT, v = G_VALUE_INIT;
  GstStructure *s;
  guint i;

  gst_value_array_init (&list, self->skipped_list->len);
  g_value_init (&v, G_TYPE_STRING);
  for (i = 0; i < self->skipped_list->len; i++) {
    g_value_set_string (&v, g_ptr_array_index (self->skipped_list, i));
    gst_value_array_append_value (&list, &v);
  }
  g_value_unset (&v);
  s = gst_structure_new ("affect-dataset-done",
      "items-emitted", G_TYPE_UINT, self->emitted,
      "items-skipped", G_TYPE_UINT, self->skipped, NULL);
  gst_structure_take_value (s, "skipped", &list);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
  GST_INFO_OBJECT (self, "dataset done: %u emitted, %u skipped",
      self->emitted, self->skipped);
  gst_affect_src_push_segment (self);
  gst_pad_push_event (self->srcpad, gst_event_new_eos ());
}

static void
gst_affect_src_loop (GstAffectSrc * self)
{
  GstFlowReturn ret;
  const AffectManifestItem *mi;

  if (!self->started) {
    gchar *stream_id = gst_pad_create_stream_id (self->srcpad,
        GST_ELEMENT (self), NULL);
    GstEvent *event = gst_event_new_stream_start (stream_id);
    gboolean auto_resample;

    gst_event_set_group_id (event, gst_util_group_id_next ());
    gst_pad_push_event (self->srcpad, event);
    g_free (stream_id);
    self->started = TRUE;
    GST_OBJECT_LOCK (self);
    auto_resample = self->auto_resample && self->rate == 0;
    GST_OBJECT_UNLOCK (self);
    if (auto_resample)
      gst_affect_src_find_resampler (self);
  }
  if (self->next >= self->n_order) {
    gst_affect_src_finish (self);
    gst_pad_pause_task (self->srcpad);
    return;
  }

  mi = &self->manifest->items[self->order[self->next]];
  ret = gst_affect_src_emit_item (self, mi);
  if (ret == GST_FLOW_OK) {
    self->next++;
    gst_affect_src_post_progress (self, mi->id);
    return;
  }

  GST_DEBUG_OBJECT (self, "pausing: %s", gst_flow_get_name (ret));
  gst_pad_pause_task (self->srcpad);
  if (ret == GST_FLOW_EOS) {
    /* downstream wants no more: finish the stream properly */
    gst_pad_push_event (self->srcpad, gst_event_new_eos ());
  } else if (ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS) {
    /* GST_FLOW_ERROR: the error is on the bus already */
    if (ret != GST_FLOW_ERROR)
      GST_ELEMENT_FLOW_ERROR (self, ret);
    gst_pad_push_event (self->srcpad, gst_event_new_eos ());
  }
}

static gboolean
gst_affect_src_activate_mode (GstPad * pad, GstObject * parent,
    GstPadMode mode, gboolean active)
{
  GstAffectSrc *self = GST_AFFECT_SRC (parent);

  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  if (active) {
    g_atomic_int_set (&self->flushing, 0);
    return gst_pad_start_task (pad, (GstTaskFunction) gst_affect_src_loop,
        self, NULL);
  }
  /* unblocks the pull loop within PULL_INTERVAL; pushes already fail since
   * the pad is flushing */
  g_atomic_int_set (&self->flushing, 1);
  return gst_pad_stop_task (pad);
}

static gboolean
gst_affect_src_src_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_SEEK:
      /* a dataset is read once, from its start */
      GST_DEBUG_OBJECT (parent, "refusing seek: not seekable");
      gst_event_unref (event);
      return FALSE;
    default:
      return gst_pad_event_default (pad, parent, event);
  }
}

static gboolean
gst_affect_src_src_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstAffectSrc *self = GST_AFFECT_SRC (parent);
  GstFormat format;

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_POSITION:
      gst_query_parse_position (query, &format, NULL);
      if (format != GST_FORMAT_TIME)
        return FALSE;
      gst_query_set_position (query, GST_FORMAT_TIME, self->position);
      return TRUE;
    case GST_QUERY_SEEKING:
      gst_query_parse_seeking (query, &format, NULL, NULL, NULL);
      gst_query_set_seeking (query, format, FALSE, 0, -1);
      return TRUE;
    case GST_QUERY_LATENCY:
      gst_query_set_latency (query, FALSE, 0, GST_CLOCK_TIME_NONE);
      return TRUE;
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

static GstStateChangeReturn
gst_affect_src_change_state (GstElement * element, GstStateChange transition)
{
  GstAffectSrc *self = GST_AFFECT_SRC (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    self->next = self->emitted = self->skipped = self->n_started = 0;
    self->started = self->segment_pushed = FALSE;
    self->position = 0;
    if (!gst_affect_src_open (self))
      return GST_STATE_CHANGE_FAILURE;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (ret == GST_STATE_CHANGE_FAILURE)
        gst_affect_src_clear_dataset (self);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      /* the streaming thread has stopped (pad deactivated) */
      gst_affect_src_close_decoder (self);
      gst_affect_src_clear_dataset (self);
      gst_clear_structure (&self->auto_settings);
      break;
    default:
      break;
  }
  return ret;
}

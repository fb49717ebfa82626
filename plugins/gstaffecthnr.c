/* GStreamer affect plugin
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Library General Public License as published by
 * the Free Software Foundation; either version 2 of the License, or (at your
 * option) any later version.
 */
/**
 * SECTION:element-affecthnr
 * @title: affecthnr
 *
 * The built-in generator: a DDSP-style harmonic-plus-noise reconstruction of
 * each item. Per frame the item is analysed for F0 (YIN, refined on the
 * harmonic peaks), loudness, the amplitude of every harmonic and a noise
 * envelope in linearly spaced bands; it is then resynthesised with additive
 * harmonics on one smooth phase plus noise filtered by the envelope
 * (libaffect, include/affect/hnr.h). The output has the input's caps and
 * length.
 *
 * A pipeline turns training items into "generated" items that inherit their
 * labels: each `affect-item-start` is forwarded at once with `origin` set to
 * `generated` and #GstAffectHnr:id-suffix appended to `id` (labels,
 * targets, split and columns untouched); the item's audio is collected, and
 * at its `affect-item-end` the reconstruction is pushed as one buffer (with
 * the item's first timestamp) before the end event (whose `id` gets the suffix
 * too); a segment event that came inside the item follows that buffer, so a
 * resampler after this element drains the item's tail inside the item
 * (docs/protocol.md). Without item events the whole stream is one item,
 * pushed at EOS. Once items have been seen, audio between an item's end and
 * the next start belongs to no item and passes through unchanged.
 * While an item is collected, a GAP event of duration 0 at its first
 * timestamp lets sinks preroll; a GAP inside an item is silence up to its
 * end, outside items it passes (docs/protocol.md, "Time without data").
 * The noise of an item is seeded by #GstAffectHnr:seed and the item's original
 * id, so the output does not depend on the order of the items.
 *
 * Non-finite input samples are taken as silence and samples beyond ±1e4
 * (AFFECT_HNR_CLAMP) are clamped, with a warning on the bus naming the item,
 * its file and both counts.
 *
 * Settings the stream cannot satisfy (#GstAffectHnr:f0-max not below its
 * Nyquist frequency, a #GstAffectHnr:window too short for two periods of
 * #GstAffectHnr:f0-min) refuse the caps with one error naming the property,
 * its value and the stream's rate; f0-min not below f0-max fails the READY
 * to PAUSED change.
 *
 * ## Messages
 *
 * `affect-hnr`, after each item when #GstAffectHnr:post-messages is set:
 *
 * * `id` (string): the generated item's id
 * * `timestamp`, `stream-time`, `running-time`, `duration` (GstClockTime):
 *   where the item lies in the stream
 * * `frames` (uint): analysis frames
 * * `voiced-fraction` (double): frames with an F0
 * * `mean-f0` (double): Hz, over the voiced frames (0 if none)
 * * `lsd` (double): log-spectral distance input → output in dB (512-point
 *   frames, per bin); -1 for items shorter than 512 samples
 * * `lsd-bands` (double): the same pooled into 16 bands (the envelope
 *   distance, where the randomness of noise averages out)
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 affectsrc location=autotagging_moodtheme-train.tsv \
 *     root=music/audio ! audioconvert ! audioresample ! \
 *     audio/x-raw,format=F32LE,rate=16000,channels=1 ! \
 *     affecthnr seed=1 ! affectmel ! filesink location=generated.mel.f32
 * ]| Mel frames of a generated version of every training track.
 * |[
 * gst-launch-1.0 -m audiotestsrc wave=saw freq=220 num-buffers=50 ! \
 *     audio/x-raw,format=F32LE,rate=16000,channels=1 ! affecthnr ! \
 *     wavenc ! filesink location=saw-hnr.wav
 * ]| The reconstruction of a saw wave, with its `affect-hnr` message.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include <gst/audio/audio.h>

#include "gstaffectcaps.h"
#include "gstaffectelements.h"
#include "gstaffecthnr.h"
#include "gstaffectprops.h"

GST_DEBUG_CATEGORY_STATIC (gst_affect_hnr_debug);
#define GST_CAT_DEFAULT gst_affect_hnr_debug

#define DEFAULT_HOP 0
#define DEFAULT_WINDOW 0
#define DEFAULT_F0_MIN 60.0
#define DEFAULT_F0_MAX 1000.0
#define DEFAULT_YIN_THRESHOLD 0.15
#define DEFAULT_SILENCE_DB -60.0
#define DEFAULT_N_HARMONICS 60
#define DEFAULT_NOISE_BANDS 64
#define DEFAULT_SEED 0
#define DEFAULT_ID_SUFFIX "-hnr"
#define DEFAULT_POST_MESSAGES TRUE

#define H GstAffectHnr
static const GstAffectProp properties[] = {
  GST_AFFECT_PROP_UINT ("hop", "Hop",
      "Samples between analysis frames (0 = 10 ms at the stream rate)", H, hop,
      0, 65536, DEFAULT_HOP, 0),
  GST_AFFECT_PROP_UINT ("window", "Window",
      "Analysis window in samples; must hold two periods of f0-min (0 "
      "= just that, rounded up to a multiple of 32)", H, window, 0, 1 << 20,
      DEFAULT_WINDOW, 0),
  GST_AFFECT_PROP_DOUBLE ("f0-min", "F0 minimum",
      "Lowest fundamental frequency searched, Hz", H, f0_min, 20.0, 4000.0,
      DEFAULT_F0_MIN, 0),
  GST_AFFECT_PROP_DOUBLE ("f0-max", "F0 maximum",
      "Highest fundamental frequency searched, Hz", H, f0_max, 40.0, 8000.0,
      DEFAULT_F0_MAX, 0),
  GST_AFFECT_PROP_DOUBLE ("yin-threshold", "YIN threshold",
      "A frame is voiced when YIN's normalised difference falls below "
      "this (lower = stricter)", H, yin_threshold, 0.01, 1.0,
      DEFAULT_YIN_THRESHOLD, 0),
  GST_AFFECT_PROP_DOUBLE ("silence-db", "Silence level",
      "Frames quieter than this (dBFS RMS) are unvoiced", H, silence_db, -200.0,
      0.0, DEFAULT_SILENCE_DB, 0),
  GST_AFFECT_PROP_UINT ("n-harmonics", "Harmonics",
      "Harmonics analysed and resynthesised (those above Nyquist are "
      "dropped)", H, n_harmonics, 1, 512, DEFAULT_N_HARMONICS, 0),
  GST_AFFECT_PROP_UINT ("noise-bands", "Noise bands",
      "Bands of the noise envelope, linearly spaced up to Nyquist", H,
      noise_bands, 1, 1024, DEFAULT_NOISE_BANDS, 0),
  GST_AFFECT_PROP_UINT64 ("seed", "Seed",
      "Seed of the noise (combined with each item's id)", H, seed, 0, -1,
      DEFAULT_SEED, 0),
  GST_AFFECT_PROP_STRING ("id-suffix", "Id suffix",
      "Appended to the id of every generated item", H, id_suffix,
      DEFAULT_ID_SUFFIX, 0),
  GST_AFFECT_PROP_BOOL ("post-messages", "Post messages",
      "Post an affect-hnr message with the reconstruction's distance "
      "after each item", H, post_messages, DEFAULT_POST_MESSAGES, 0),
};

#undef H

#define HNR_CAPS "audio/x-raw, format = (string) " GST_AUDIO_NE (F32) ", " \
    "layout = (string) interleaved, channels = (int) 1, " \
    "rate = (int) [ 4000, 192000 ]"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (HNR_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (HNR_CAPS));

#define parent_class gst_affect_hnr_parent_class
G_DEFINE_TYPE (GstAffectHnr, gst_affect_hnr, GST_TYPE_AUDIO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (affecthnr, "affecthnr", GST_RANK_NONE,
    GST_TYPE_AFFECT_HNR);

static void gst_affect_hnr_finalize (GObject * object);
static void gst_affect_hnr_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static gboolean gst_affect_hnr_start (GstBaseTransform * trans);
static gboolean gst_affect_hnr_stop (GstBaseTransform * trans);
static gboolean gst_affect_hnr_setup (GstAudioFilter * filter,
    const GstAudioInfo * info);
static GstFlowReturn gst_affect_hnr_generate_output (GstBaseTransform *
    trans, GstBuffer ** outbuf);
static GstFlowReturn gst_affect_hnr_submit_input_buffer (GstBaseTransform *
    trans, gboolean is_discont, GstBuffer * buffer);
static gboolean gst_affect_hnr_sink_event (GstBaseTransform * trans,
    GstEvent * event);

static void
gst_affect_hnr_class_init (GstAffectHnrClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstAudioFilterClass *filter_class = GST_AUDIO_FILTER_CLASS (klass);

  gobject_class->finalize = gst_affect_hnr_finalize;
  gst_affect_props_install (gobject_class, properties,
      G_N_ELEMENTS (properties), G_PARAM_READWRITE);
  gobject_class->set_property = gst_affect_hnr_set_property;


  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Affect harmonic-plus-noise generator", "Filter/Effect/Audio",
      "Reconstructs each item from its F0, harmonic amplitudes and noise "
      "envelope (DDSP-style additive + filtered noise synthesis) and marks "
      "it as a generated item with the original's labels",
      "gst-affect <https://example.invalid/gst-affect>");
  trans_class->start = GST_DEBUG_FUNCPTR (gst_affect_hnr_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_affect_hnr_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_affect_hnr_sink_event);
  trans_class->submit_input_buffer =
      GST_DEBUG_FUNCPTR (gst_affect_hnr_submit_input_buffer);
  trans_class->generate_output =
      GST_DEBUG_FUNCPTR (gst_affect_hnr_generate_output);
  /* items leave whole at their end: no buffers to share upstream */
  trans_class->propose_allocation = NULL;
  filter_class->setup = GST_DEBUG_FUNCPTR (gst_affect_hnr_setup);

  GST_DEBUG_CATEGORY_INIT (gst_affect_hnr_debug, "affecthnr", 0,
      "harmonic-plus-noise generator");
}

static void
gst_affect_hnr_init (GstAffectHnr * self)
{
  /* not a pass-through, though it has no transform function */
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);

  gst_affect_props_init (G_OBJECT (self));
  self->pending = g_array_new (FALSE, FALSE, sizeof (gfloat));
  self->first_pts = GST_CLOCK_TIME_NONE;
  gst_affect_gap_reset (&self->gap);
}

static void
gst_affect_hnr_reset (GstAffectHnr * self)
{
  g_array_set_size (self->pending, 0);
  self->first_pts = GST_CLOCK_TIME_NONE;
  self->n_invalid = 0;
  self->n_clamped = 0;
  self->in_items = FALSE;
  g_clear_pointer (&self->item, gst_affect_item_free);
  gst_clear_event (&self->held_segment);
  gst_clear_buffer (&self->passing);
  gst_affect_gap_reset (&self->gap);
}

/* A segment that came inside an item goes out after the item's audio, as it
 * came: affectsrc sends one at each item's end so that resamplers drain the
 * item's tail before its affect-item-end (docs/protocol.md). */
static void
gst_affect_hnr_push_held_segment (GstAffectHnr * self)
{
  GstEvent *event = self->held_segment;

  self->held_segment = NULL;
  if (event)
    gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self), event);
}

static void
gst_affect_hnr_finalize (GObject * object)
{
  GstAffectHnr *self = GST_AFFECT_HNR (object);

  gst_affect_hnr_reset (self);
  g_array_unref (self->pending);
  affect_hnr_plan_free (self->plan);
  gst_affect_props_finalize (object);
  G_OBJECT_CLASS (gst_affect_hnr_parent_class)->finalize (object);
}

/* the analysis parameters (all but seed, id-suffix and post-messages)
 * take effect at the next item */
static void
gst_affect_hnr_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstAffectHnr *self = GST_AFFECT_HNR (object);
  const GstAffectProp *p = gst_affect_props_lookup (pspec);

  if (p == NULL) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK (self);
  gst_affect_prop_store (p, (guint8 *) self + p->offset, value);
  if (p->offset != G_STRUCT_OFFSET (GstAffectHnr, seed)
      && p->offset != G_STRUCT_OFFSET (GstAffectHnr, id_suffix)
      && p->offset != G_STRUCT_OFFSET (GstAffectHnr, post_messages))
    self->plan_dirty = TRUE;
  GST_OBJECT_UNLOCK (self);
}

/* (re)creates the plan for the stream's rate and the current properties */
static gboolean
gst_affect_hnr_ensure_plan (GstAffectHnr * self)
{
  AffectHnrParams p;
  GError *error = NULL;

  if (self->plan && !self->plan_dirty)
    return TRUE;
  if (self->rate <= 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("audio arrived before caps"));
    return FALSE;
  }
  affect_hnr_params_init (&p, self->rate);
  GST_OBJECT_LOCK (self);
  if (self->hop)
    p.hop = self->hop;
  p.f0_min = self->f0_min;
  p.window = self->window ? (int) self->window :
      affect_hnr_auto_window (self->rate, self->f0_min);
  p.f0_max = self->f0_max;
  p.yin_threshold = self->yin_threshold;
  p.silence_db = self->silence_db;
  p.n_harmonics = self->n_harmonics;
  p.n_noise_bands = self->noise_bands;
  self->plan_dirty = FALSE;
  GST_OBJECT_UNLOCK (self);

  affect_hnr_plan_free (self->plan);
  self->plan = affect_hnr_plan_new (&p, &error);
  if (self->plan == NULL) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("%s", error->message),
        ("cannot set up the harmonic-plus-noise analysis"));
    g_error_free (error);
    return FALSE;
  }
  return TRUE;
}

static gchar *
generated_id (GstAffectHnr * self, const gchar * id)
{
  gchar *out;

  GST_OBJECT_LOCK (self);
  out = g_strconcat (id ? id : "", self->id_suffix ? self->id_suffix : "",
      NULL);
  GST_OBJECT_UNLOCK (self);
  return out;
}

static void
post_item_message (GstAffectHnr * self, const gchar * id,
    const AffectHnrFeatures * f, const float *in, const float *out, gsize n,
    GstClockTime pts, GstClockTime duration)
{
  const GstSegment *segment = NULL;
  GstEvent *seg_event;
  GstStructure *s;
  double lsd = -1.0, lsd_bands = -1.0, f0_sum = 0.0;
  guint voiced = 0;
  gint i;

  for (i = 0; i < f->n_frames; i++)
    if (f->f0[i] > 0) {
      voiced++;
      f0_sum += f->f0[i];
    }
  if (n >= 512) {
    lsd = affect_log_spectral_distance (in, out, n, 512, 256, 0);
    lsd_bands = affect_log_spectral_distance (in, out, n, 512, 256, 16);
  }
  seg_event =
      gst_pad_get_sticky_event (GST_BASE_TRANSFORM_SINK_PAD (self),
      GST_EVENT_SEGMENT, 0);
  if (seg_event)
    gst_event_parse_segment (seg_event, &segment);
  s = gst_affect_message_structure_new ("affect-hnr", segment, pts, duration);
  if (seg_event)
    gst_event_unref (seg_event);
  gst_structure_set (s, "id", G_TYPE_STRING, id,
      "frames", G_TYPE_UINT, (guint) f->n_frames,
      "voiced-fraction", G_TYPE_DOUBLE,
      f->n_frames ? (double) voiced / f->n_frames : 0.0,
      "mean-f0", G_TYPE_DOUBLE, voiced ? f0_sum / voiced : 0.0,
      "lsd", G_TYPE_DOUBLE, lsd, "lsd-bands", G_TYPE_DOUBLE, lsd_bands, NULL);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* reconstructs the collected audio and pushes it as one buffer */
static GstFlowReturn
gst_affect_hnr_flush_item (GstAffectHnr * self)
{
  gsize n = self->pending->len;
  const float *in = (const float *) self->pending->data;
  AffectHnrFeatures *f;
  GstBuffer *buf;
  GstMapInfo map;
  GstClockTime duration;
  gchar *id;
  guint64 seed;
  gboolean post;

  if (n == 0)
    return GST_FLOW_OK;
  if (!gst_affect_hnr_ensure_plan (self))
    return GST_FLOW_ERROR;

  GST_OBJECT_LOCK (self);
  post = self->post_messages;
  seed = self->seed;
  GST_OBJECT_UNLOCK (self);
  /* noise seeded by the item, not by its position in the stream */
  seed = seed ^ (self->item && self->item->id ?
      g_str_hash (self->item->id) * 0x9e3779b97f4a7c15ULL : self->n_items);
  id = generated_id (self, self->item ? self->item->id : "stream");
  if (self->n_invalid > 0 || self->n_clamped > 0) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Item \"%s\" (%s): %" G_GUINT64_FORMAT " NaN/Inf samples taken as "
            "silence, %" G_GUINT64_FORMAT " samples beyond +-%g clamped.",
            self->item && self->item->id ? self->item->id : "stream",
            self->item && self->item->path ? self->item->path : "no path",
            self->n_invalid, self->n_clamped, (double) AFFECT_HNR_CLAMP),
        (NULL));
    self->n_invalid = self->n_clamped = 0;
  }

  buf = gst_buffer_new_allocate (NULL, n * sizeof (float), NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  f = affect_hnr_analyse (self->plan, in, n);
  affect_hnr_synthesise (self->plan, f, seed, (float *) map.data, n);
  duration = gst_util_uint64_scale_int (n, GST_SECOND, self->rate);
  if (post)
    post_item_message (self, id, f, in, (const float *) map.data, n,
        self->first_pts, duration);
  gst_buffer_unmap (buf, &map);
  affect_hnr_features_free (f);

  GST_BUFFER_PTS (buf) = self->first_pts;
  GST_BUFFER_DURATION (buf) = duration;
  GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  GST_DEBUG_OBJECT (self, "item %s: %" G_GSIZE_FORMAT " samples", id, n);
  g_free (id);
  g_array_set_size (self->pending, 0);
  self->first_pts = GST_CLOCK_TIME_NONE;
  self->n_items++;
  gst_affect_gap_note (&self->gap, GST_BUFFER_PTS (buf), duration);
  return gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), buf);
}

/* An item is pushed whole at its end: before, a GAP at its start lets
 * sinks preroll */
static void
announce_time (GstAffectHnr * self)
{
  gst_affect_gap_preroll (&self->gap, GST_BASE_TRANSFORM_SRC_PAD (self),
      self->first_pts);
}

/* A GAP inside an item is silence from where the item's audio stands to
 * the GAP's end; outside items it passes, as audio does. */
static gboolean
fill_gap (GstAffectHnr * self, GstEvent * event)
{
  GstClockTime ts, duration, now, end;
  guint64 n = 0;

  gst_event_parse_gap (event, &ts, &duration);
  if (self->in_items && self->item == NULL)
    return gst_affect_gap_push (&self->gap, GST_BASE_TRANSFORM_SRC_PAD (self),
        ts, duration);
  if (self->rate <= 0)
    return TRUE;
  if (!GST_CLOCK_TIME_IS_VALID (self->first_pts))
    self->first_pts = ts;
  now = self->first_pts + gst_util_uint64_scale_int (self->pending->len,
      GST_SECOND, self->rate);
  end = ts + (GST_CLOCK_TIME_IS_VALID (duration) ? duration : 0);
  if (end > now)
    n = gst_util_uint64_scale_round (end - now, self->rate, GST_SECOND);
  if (n > 0) {
    gsize len = self->pending->len;
    g_array_set_size (self->pending, len + n);
    memset (&g_array_index (self->pending, gfloat, len), 0,
        n * sizeof (gfloat));
  }
  announce_time (self);
  return TRUE;
}

/* Collects an item's samples; audio outside any item goes out as it came,
 * from generate_output */
static GstFlowReturn
gst_affect_hnr_submit_input_buffer (GstBaseTransform * trans,
    gboolean is_discont, GstBuffer * buffer)
{
  GstAffectHnr *self = GST_AFFECT_HNR (trans);
  GstMapInfo map;
  gsize i, n;

  if (self->rate <= 0) {
    gst_buffer_unref (buffer);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("audio arrived before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  /* e.g. a resampler's drained tail after an item's end (docs/protocol.md):
   * no item to reconstruct it as, no labels to inherit */
  if (self->in_items && self->item == NULL) {
    self->passing = buffer;
    return GST_FLOW_OK;
  }
  if (!GST_CLOCK_TIME_IS_VALID (self->first_pts))
    self->first_pts = GST_BUFFER_PTS (buffer);
  gst_buffer_map (buffer, &map, GST_MAP_READ);
  n = map.size / sizeof (gfloat);
  g_array_append_vals (self->pending, map.data, n);
  if (n > 0) {
    gfloat *x = &g_array_index (self->pending, gfloat, self->pending->len - n);
    for (i = 0; i < n; i++)
      if (!isfinite (x[i]))
        self->n_invalid++;
      else if (G_UNLIKELY (fabsf (x[i]) > AFFECT_HNR_CLAMP)) {
        x[i] = x[i] > 0 ? AFFECT_HNR_CLAMP : -AFFECT_HNR_CLAMP;
        self->n_clamped++;
      }
  }
  gst_buffer_unmap (buffer, &map);
  gst_buffer_unref (buffer);
  return GST_FLOW_OK;
}

/* Pushes what submit_input_buffer let pass, itself, and hands nothing back:
 * the base class would flag DISCONT the first buffer after any DISCONT
 * input, where an item's reconstruction alone is DISCONT. While an item is
 * collected, a GAP announces its start. */
static GstFlowReturn
gst_affect_hnr_generate_output (GstBaseTransform * trans, GstBuffer ** outbuf)
{
  GstAffectHnr *self = GST_AFFECT_HNR (trans);
  GstBuffer *buffer = self->passing;

  *outbuf = NULL;
  if (buffer == NULL) {
    announce_time (self);
    return GST_FLOW_OK;
  }
  self->passing = NULL;
  gst_affect_gap_note (&self->gap, GST_BUFFER_PTS (buffer),
      GST_BUFFER_DURATION (buffer));
  return gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), buffer);
}

/* the item event with origin=generated and the suffixed id */
static GstEvent *
rewrite_start (GstAffectHnr * self, const GstAffectItem * item)
{
  GstAffectItem *gen = gst_affect_item_copy (item);
  GstEvent *event;

  g_free (gen->id);
  gen->id = generated_id (self, item->id);
  g_free (gen->origin);
  gen->origin = g_strdup ("generated");
  event = gst_affect_item_start_event_new (gen);
  gst_affect_item_free (gen);
  return event;
}

static gboolean
gst_affect_hnr_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstAffectHnr *self = GST_AFFECT_HNR (trans);
  GstPad *pad = GST_BASE_TRANSFORM_SINK_PAD (trans);

  if (gst_affect_event_is_item_start (event)) {
    GstAffectItem *item = gst_affect_item_parse_start_event (event);

    /* audio outside any item belongs to no item: reconstruct it alone */
    if (gst_affect_hnr_flush_item (self) < GST_FLOW_EOS) {
      gst_affect_item_free (item);
      gst_event_unref (event);
      return FALSE;
    }
    g_clear_pointer (&self->item, gst_affect_item_free);
    self->item = item;
    self->in_items = TRUE;
    gst_event_unref (event);
    return gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self),
        rewrite_start (self, item));
  }
  if (gst_affect_event_is_item_end (event)) {
    GstFlowReturn ret = gst_affect_hnr_flush_item (self);
    GstAffectItem end_item = { 0 };
    gchar *id;
    guint index = 0;

    gst_affect_hnr_push_held_segment (self);

    id = generated_id (self, gst_affect_item_parse_end_event (event, &index));
    end_item.id = id;
    end_item.index = index;
    gst_event_unref (event);
    g_clear_pointer (&self->item, gst_affect_item_free);
    event = gst_affect_item_end_event_new (&end_item);
    g_free (id);
    if (ret < GST_FLOW_EOS) {
      gst_event_unref (event);
      return FALSE;
    }
    return gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self), event);
  }

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      GstAudioInfo info;
      gboolean ok;

      gst_event_parse_caps (event, &caps);
      /* a refusal's error is posted once, not at every retry upstream */
      if (gst_affect_caps_refused_before (pad, caps)) {
        gst_event_unref (event);
        return FALSE;
      }
      if (!gst_audio_info_from_caps (&info, caps)) {
        GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
            ("cannot parse caps %" GST_PTR_FORMAT, caps));
        gst_affect_caps_note (pad, caps, FALSE);
        gst_event_unref (event);
        return FALSE;
      }
      gst_caps_ref (caps);
      ok = GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
      gst_affect_caps_note (pad, caps, ok);
      gst_caps_unref (caps);
      return ok;
    }
    case GST_EVENT_GAP:{
      gboolean ok = fill_gap (self, event);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT:
      if (self->item != NULL) {
        gst_event_replace (&self->held_segment, event);
        gst_event_unref (event);
        return TRUE;
      }
      gst_affect_gap_reset (&self->gap);
      break;
    case GST_EVENT_EOS:
      gst_affect_hnr_flush_item (self);
      gst_affect_hnr_push_held_segment (self);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_affect_hnr_reset (self);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
gst_affect_hnr_setup (GstAudioFilter * filter, const GstAudioInfo * info)
{
  GstAffectHnr *self = GST_AFFECT_HNR (filter);

  if (info->rate != self->rate) {
    /* audio of the old rate is reconstructed at that rate first */
    gst_affect_hnr_flush_item (self);
    self->rate = info->rate;
    self->plan_dirty = TRUE;
  }
  /* settings the stream's rate cannot satisfy (f0-max above its Nyquist
   * frequency, a window too short for f0-min) refuse the caps */
  return gst_affect_hnr_ensure_plan (self);
}

/* the one conflict no stream is needed to see */
static gboolean
gst_affect_hnr_start (GstBaseTransform * trans)
{
  GstAffectHnr *self = GST_AFFECT_HNR (trans);
  gdouble f0_min, f0_max;

  GST_OBJECT_LOCK (self);
  f0_min = self->f0_min;
  f0_max = self->f0_max;
  GST_OBJECT_UNLOCK (self);
  if (f0_min >= f0_max) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("f0-min=%g Hz must be below f0-max=%g Hz", f0_min, f0_max), (NULL));
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_affect_hnr_stop (GstBaseTransform * trans)
{
  GstAffectHnr *self = GST_AFFECT_HNR (trans);

  gst_affect_hnr_reset (self);
  self->rate = 0;
  self->n_items = 0;
  affect_hnr_plan_free (self->plan);
  self->plan = NULL;
  return TRUE;
}

/* GStreamer affect plugin
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Library General Public License as published by
 * the Free Software Foundation; either version 2 of the License, or (at your
 * option) any later version.
 */
/**
 * SECTION:element-affectis09
 * @title: affectis09
 *
 * INTERSPEECH-2009 emotion features.
 *
 * Computes the 384 features of openSMILE's IS09_emotion.conf (16 low-level
 * descriptors -- RMS energy, MFCC 1-12, zero-crossing rate, voicing
 * probability, F0 -- smoothed, plus their deltas; 12 functionals of each)
 * with the reference's numerics (docs/is09.md). Memory is constant in the
 * item length: the functionals are streaming accumulators.
 *
 * Output (`other/tensors`, float32):
 *  - output=functionals (default): one 384-vector per item, pushed between
 *    the item's affect-item-start and affect-item-end events (audio between an
 *    item's end and the next start belongs to no item and is dropped); without
 *    item events, one for the whole stream at EOS; with `window` > 0, one per
 *    window of `window` ns every `hop` ns (a live stream), and at item end /
 *    EOS one for the oldest unfinished window. Caps: dimensions=384,
 *    framerate=0/1, feature=is09.
 *  - output=lld: the per-frame rows (16 smoothed LLDs then 16 deltas, N+1
 *    rows for N frames as openSMILE's LLD output), one 32-vector per buffer,
 *    framerate = rate / frame step (100/1), feature=is09-lld.
 * Feature names in openSMILE's order and spelling: the read-only
 * `feature-names` property (and affect_is09_feature_names() in libaffect).
 * With `location` set, every vector is also written as an openSMILE-style
 * CSV row ("name," + 384 values, %.9g) under a "name,<feature names>"
 * header.
 *
 * A `window` shorter than one 25 ms frame (window=1 is 1 ns) or a `hop`
 * that rounds to no 10 ms frame step fails the READY to PAUSED change with
 * one error naming the property and its value.
 *
 * Input scale: openSMILE reads 16-bit PCM as s / 32767, audioconvert makes
 * F32 as s / 32768; the default `input-scale` (32768/32767) makes a
 * decodebin ! audioconvert pipeline on 16-bit files match the reference.
 * Use input-scale=1 for float sources that are already at openSMILE scale.
 * Any sample rate is accepted and analysed as openSMILE analyses a file at
 * that rate (docs/is09.md, "Sampling rates", checked at 8 to 48 kHz): no
 * resampler is needed for reference features.
 *
 * Time without data (docs/protocol.md): until its first vector the element
 * pushes a GAP event of duration 0 at the first sample's time, so sinks
 * preroll; with windows, time that no window covers (hop > window) becomes
 * a GAP once past (input time - window). A GAP on the sink pad is silence
 * up to its end. The LATENCY query adds `window` (LLD output: 3 frame
 * steps + 1 frame).
 *
 * Bad input: NaN/Inf samples are replaced by 0 and samples beyond +-1e4 are
 * clamped, with a GST_ELEMENT_WARNING naming the item and the count; an
 * item shorter than one frame (400 samples at 16 kHz) gives no vector and
 * a warning, as openSMILE gives no output.
 *
 * ## Messages
 *
 * `affect-is09`, with every vector when #GstAffectIs09:post-messages is set:
 *
 * * `timestamp` (GstClockTime): start of the item / window
 * * `stream-time`, `running-time` (GstClockTime): of the timestamp
 * * `duration` (GstClockTime): of the item / window
 * * `id` (string): item id, or the instance name
 * * `complete` (boolean): FALSE for a window cut short at the end
 * * `features` (GstValueArray of 384 floats)
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=x.wav ! decodebin ! audioconvert ! \
 *     audioresample ! audio/x-raw,rate=16000,channels=1 ! \
 *     affectis09 location=out.csv ! fakesink
 * ]| One row of 384 functionals for the whole file in out.csv.
 * |[
 * gst-launch-1.0 -m pulsesrc ! audioconvert ! audioresample ! \
 *     audio/x-raw,rate=16000,channels=1 ! \
 *     affectis09 window=2000000000 hop=500000000 post-messages=true ! \
 *     fakesink
 * ]| Live: one vector per 2 s every 0.5 s, posted as `affect-is09` messages.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "gstaffectis09.h"
#include "gstaffectcaps.h"
#include "gstaffectelements.h"
#include "gstaffectitem.h"
#include "gstaffectprops.h"
#include "gstaffecttensor.h"

GST_DEBUG_CATEGORY_STATIC (affect_is09_debug);
#define GST_CAT_DEFAULT affect_is09_debug


#define DEFAULT_WINDOW 0
#define DEFAULT_HOP 0
#define DEFAULT_INPUT_SCALE AFFECT_IS09_SCALE_INT16
#define DEFAULT_LOCATION NULL
#define DEFAULT_INSTANCE_NAME NULL
#define DEFAULT_OUTPUT GST_AFFECT_IS09_OUTPUT_FUNCTIONALS
#define DEFAULT_POST_MESSAGES FALSE

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format = (string) F32LE, "
        "channels = (int) 1, rate = (int) [ 4000, 384000 ], "
        "layout = (string) interleaved"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE));

#define parent_class gst_affect_is09_parent_class
G_DEFINE_TYPE (GstAffectIs09, gst_affect_is09, GST_TYPE_AUDIO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (affectis09, "affectis09", GST_RANK_NONE,
    GST_TYPE_AFFECT_IS09);

static const GEnumValue output_values[] = {
  {GST_AFFECT_IS09_OUTPUT_FUNCTIONALS,
      "384 functionals per item or window", "functionals"},
  {GST_AFFECT_IS09_OUTPUT_LLD,
      "32 smoothed LLDs and deltas per 10 ms frame", "lld"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectIs09Output, gst_affect_is09_output,
    output_values);

#define I GstAffectIs09
static const GstAffectProp properties[] = {
  GST_AFFECT_PROP_UINT64 ("window", "Window",
      "Length of a feature window in ns for live streams (0 = one "
      "vector per item, or per stream at EOS)", I, window, 0, -1,
      DEFAULT_WINDOW, 0),
  GST_AFFECT_PROP_UINT64 ("hop", "Hop",
      "Distance between window starts in ns, rounded to 10 ms frame "
      "steps (0 = window, no overlap)", I, hop, 0, -1, DEFAULT_HOP, 0),
  GST_AFFECT_PROP_DOUBLE ("input-scale", "Input scale",
      "Factor applied to the samples; the default 32768/32767 turns "
      "audioconvert's s/32768 into openSMILE's s/32767", I, input_scale, 1e-6,
      1e6, DEFAULT_INPUT_SCALE, 0),
  GST_AFFECT_PROP_STRING ("location", "Location",
      "CSV file to write openSMILE-style rows to (name + 384 values), "
      "or NULL", I, location, DEFAULT_LOCATION, 0),
  GST_AFFECT_PROP_STRING ("instance-name", "Instance name",
      "Row name for CSV and messages when there is no item id (NULL = "
      "the element's name)", I, instance_name, DEFAULT_INSTANCE_NAME,
      G_PARAM_READWRITE),
  GST_AFFECT_PROP_ENUM ("output", "Output",
      "What the src pad carries", I, output, gst_affect_is09_output_get_type,
      DEFAULT_OUTPUT, 0),
  GST_AFFECT_PROP_BOOL ("post-messages", "Post messages",
      "Post an affect-is09 element message with every vector", I, post_messages,
      DEFAULT_POST_MESSAGES, G_PARAM_READWRITE),
};

#undef I

/* feature-names is read-only and computed: installed after the table */
static guint prop_feature_names;

static void gst_affect_is09_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_affect_is09_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_affect_is09_finalize (GObject * object);
static gboolean gst_affect_is09_start (GstBaseTransform * trans);
static gboolean gst_affect_is09_stop (GstBaseTransform * trans);
static gboolean gst_affect_is09_setup (GstAudioFilter * filter,
    const GstAudioInfo * info);
static GstCaps *gst_affect_is09_transform_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * filter);
static GstFlowReturn gst_affect_is09_submit_input_buffer (GstBaseTransform *
    trans, gboolean is_discont, GstBuffer * buf);
static GstFlowReturn gst_affect_is09_generate_output (GstBaseTransform *
    trans, GstBuffer ** outbuf);
static gboolean gst_affect_is09_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static gboolean gst_affect_is09_query (GstBaseTransform * trans,
    GstPadDirection direction, GstQuery * query);

static void
gst_affect_is09_class_init (GstAffectIs09Class * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstAudioFilterClass *filter_class = GST_AUDIO_FILTER_CLASS (klass);

  prop_feature_names = gst_affect_props_install (gobject_class, properties,
      G_N_ELEMENTS (properties), G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY);
  gobject_class->set_property = gst_affect_is09_set_property;
  gobject_class->get_property = gst_affect_is09_get_property;
  gobject_class->finalize = gst_affect_is09_finalize;

  g_object_class_install_property (gobject_class, prop_feature_names,
      g_param_spec_boxed ("feature-names", "Feature names",
          "The 384 feature names in openSMILE's order and spelling",
          G_TYPE_STRV, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "INTERSPEECH-2009 emotion features", "Filter/Analyzer/Audio",
      "Computes the 384 openSMILE IS09_emotion features (LLDs, deltas and "
      "functionals) per item or per window, streaming",
      "gst-affect <https://example.invalid/gst-affect>");
  trans_class->start = GST_DEBUG_FUNCPTR (gst_affect_is09_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_affect_is09_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_affect_is09_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_affect_is09_query);
  trans_class->transform_caps =
      GST_DEBUG_FUNCPTR (gst_affect_is09_transform_caps);
  trans_class->submit_input_buffer =
      GST_DEBUG_FUNCPTR (gst_affect_is09_submit_input_buffer);
  trans_class->generate_output =
      GST_DEBUG_FUNCPTR (gst_affect_is09_generate_output);
  /* audio in, tensors out: no buffers to share with either neighbour */
  trans_class->propose_allocation = NULL;
  filter_class->setup = GST_DEBUG_FUNCPTR (gst_affect_is09_setup);

  GST_DEBUG_CATEGORY_INIT (affect_is09_debug, "affectis09", 0,
      "IS09 emotion features");
}

static void
gst_affect_is09_init (GstAffectIs09 * self)
{
  /* not a pass-through, though it has no transform function */
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);

  gst_affect_props_init (G_OBJECT (self));
  self->base_ts = GST_CLOCK_TIME_NONE;
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  gst_affect_gap_reset (&self->gap);
}

static void
gst_affect_is09_finalize (GObject * object)
{
  GstAffectIs09 *self = GST_AFFECT_IS09 (object);

  affect_is09_free (self->is09);
  affect_is09_plan_free (self->plan);
  gst_affect_props_finalize (object);
  g_free (self->item_id);
  g_free (self->item_path);
  g_list_free_full (self->pending, (GDestroyNotify) gst_buffer_unref);
  if (self->csv)
    fclose (self->csv);
  G_OBJECT_CLASS (gst_affect_is09_parent_class)->finalize (object);
}

static void
gst_affect_is09_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstAffectIs09 *self = GST_AFFECT_IS09 (object);
  gboolean fixed;

  /* these shape the caps and the CSV: fixed from PAUSED on */
  GST_OBJECT_LOCK (self);
  fixed = (pspec->flags & GST_PARAM_MUTABLE_READY) &&
      GST_STATE (self) > GST_STATE_READY;
  GST_OBJECT_UNLOCK (self);
  if (fixed) {
    GST_ELEMENT_WARNING (self, CORE, FAILED,
        ("'%s' can only be changed in the NULL or READY state; the change "
            "is ignored", pspec->name), (NULL));
    return;
  }
  gst_affect_props_set_property (object, prop_id, value, pspec);
}

static void
gst_affect_is09_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  if (prop_id == prop_feature_names)
    g_value_set_boxed (value, affect_is09_feature_names ());
  else
    gst_affect_props_get_property (object, prop_id, value, pspec);
}

static const gchar *
row_name (GstAffectIs09 * self)
{
  if (self->item_id)
    return self->item_id;
  if (self->instance_name)
    return self->instance_name;
  return GST_OBJECT_NAME (self);
}

static GstClockTime
samples_to_time (GstAffectIs09 * self, guint64 samples)
{
  return gst_util_uint64_scale_int (samples, GST_SECOND,
      GST_AUDIO_INFO_RATE (&self->info));
}

static GstBuffer *
tensor_buffer (const float *values, gsize n, GstClockTime pts,
    GstClockTime duration)
{
  GstBuffer *buf = gst_buffer_new_memdup (values, n * sizeof (float));
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = duration;
  return buf;
}

/* one 384-vector: tensor (functionals output), CSV row, message */
static void
deliver_vector (GstAffectIs09 * self, const gchar * name, guint64 start,
    guint64 n_samples, gboolean complete, const float *features)
{
  GstClockTime base = GST_CLOCK_TIME_IS_VALID (self->base_ts) ?
      self->base_ts : 0;
  GstClockTime ts = base + samples_to_time (self, start);
  GstClockTime dur = samples_to_time (self, n_samples);

  if (self->output == GST_AFFECT_IS09_OUTPUT_FUNCTIONALS)
    self->pending = g_list_prepend (self->pending,
        tensor_buffer (features, AFFECT_IS09_N_FEATURES, ts, dur));
  if (self->csv) {
    if (!affect_is09_csv_write_row (self->csv, name, features)
        || fflush (self->csv) != 0)
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Could not write to \"%s\".", self->location),
          ("%s", g_strerror (errno)));
  }
  if (self->post_messages) {
    GstStructure *s;
    GValue arr = G_VALUE_INIT, v = G_VALUE_INIT;
    int i;

    g_value_init (&arr, GST_TYPE_ARRAY);
    g_value_init (&v, G_TYPE_FLOAT);
    for (i = 0; i < AFFECT_IS09_N_FEATURES; i++) {
      g_value_set_float (&v, features[i]);
      gst_value_array_append_value (&arr, &v);
    }
    s = gst_affect_message_structure_new ("affect-is09", &self->segment, ts,
        dur);
    gst_structure_set (s, "id", G_TYPE_STRING, name,
        "complete", G_TYPE_BOOLEAN, complete, NULL);
    gst_structure_take_value (s, "features", &arr);
    g_value_unset (&v);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  }
}

static void
on_window (guint64 start, guint64 n_samples, gboolean complete,
    const float *features, gpointer user_data)
{
  GstAffectIs09 *self = user_data;
  gchar *name = g_strdup_printf ("%s@%.3f", row_name (self),
      (double) start / GST_AUDIO_INFO_RATE (&self->info));
  deliver_vector (self, name, start, n_samples, complete, features);
  g_free (name);
}

static void
on_lld_row (guint64 row, const float *values, gpointer user_data)
{
  GstAffectIs09 *self = user_data;
  guint64 n = affect_is09_get_n_frames (self->is09);
  int step = affect_is09_plan_get_frame_step (self->plan);
  GstClockTime base = GST_CLOCK_TIME_IS_VALID (self->base_ts) ?
      self->base_ts : 0;

  if (self->output != GST_AFFECT_IS09_OUTPUT_LLD)
    return;
  /* the extra row N (smoother end padding) repeats row N-1's time */
  if (n > 0 && row >= n)
    row = n - 1;
  self->pending = g_list_prepend (self->pending,
      tensor_buffer (values, AFFECT_IS09_N_CONTOURS,
          base + samples_to_time (self, row * step),
          samples_to_time (self, step)));
}

static GstFlowReturn
push_pending (GstAffectIs09 * self)
{
  GstFlowReturn ret = GST_FLOW_OK;
  GList *l, *list = g_list_reverse (self->pending);

  self->pending = NULL;
  for (l = list; l; l = l->next) {
    if (ret == GST_FLOW_OK) {
      /* nothing came between the last output and this one */
      gst_affect_gap_advance (&self->gap, GST_BASE_TRANSFORM_SRC_PAD (self),
          GST_BUFFER_PTS (l->data));
      gst_affect_gap_note (&self->gap, GST_BUFFER_PTS (l->data),
          GST_BUFFER_DURATION (l->data));
      ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), l->data);
    } else
      gst_buffer_unref (l->data);
  }
  g_list_free (list);
  return ret;
}

/* end of an item or of the stream: the final vector(s) */
static GstFlowReturn
finish_item (GstAffectIs09 * self)
{
  float features[AFFECT_IS09_N_FEATURES];
  guint64 n_samples, n_invalid, n_clamped;
  const gchar *name = row_name (self);
  GstClockTime base = self->base_ts;
  gboolean vector = FALSE;
  GstFlowReturn ret;

  if (!self->is09)
    return GST_FLOW_OK;
  n_samples = affect_is09_get_n_samples (self->is09);
  n_invalid = affect_is09_get_n_invalid (self->is09);
  n_clamped = affect_is09_get_n_clamped (self->is09);
  if (n_invalid > 0)
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Item \"%s\" (%s): %" G_GUINT64_FORMAT " NaN/Inf samples replaced "
            "by 0.", name, self->item_path ? self->item_path : "no path",
            n_invalid), (NULL));
  if (n_clamped > 0)
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Item \"%s\" (%s): %" G_GUINT64_FORMAT " samples beyond +-%g "
            "clamped.", name, self->item_path ? self->item_path : "no path",
            n_clamped, (double) AFFECT_IS09_CLAMP), (NULL));

  if (affect_is09_finish (self->is09, features)) {
    vector = self->window == 0;
    if (self->window == 0)
      deliver_vector (self, name, 0, n_samples, TRUE, features);
  } else if (n_samples > 0) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Item \"%s\" is shorter than one analysis frame: no features.",
            name), ("%" G_GUINT64_FORMAT " samples < %d", n_samples,
            affect_is09_plan_get_frame_size (self->plan)));
  }
  self->base_ts = GST_CLOCK_TIME_NONE;
  ret = push_pending (self);
  /* an item without its vector still took its time */
  if (ret == GST_FLOW_OK && !vector && self->window == 0 && n_samples > 0
      && self->output == GST_AFFECT_IS09_OUTPUT_FUNCTIONALS)
    gst_affect_gap_push (&self->gap, GST_BASE_TRANSFORM_SRC_PAD (self), base,
        samples_to_time (self, n_samples));
  return ret;
}

/* Nothing to send yet: a GAP at the item's (stream's) start lets sinks
 * preroll; windows are due `window` after their start, so the time before
 * (now - window) that no window covers is a GAP (hop > window). */
static void
announce_time (GstAffectIs09 * self)
{
  GstClockTime now;

  if (!GST_CLOCK_TIME_IS_VALID (self->base_ts))
    return;
  gst_affect_gap_preroll (&self->gap, GST_BASE_TRANSFORM_SRC_PAD (self),
      self->base_ts);
  if (self->window == 0 || self->output != GST_AFFECT_IS09_OUTPUT_FUNCTIONALS)
    return;
  now = self->base_ts + samples_to_time (self,
      affect_is09_get_n_samples (self->is09));
  if (now > self->base_ts + self->window)
    gst_affect_gap_advance (&self->gap, GST_BASE_TRANSFORM_SRC_PAD (self),
        now - self->window);
}

/* A GAP on the input is silence from where the audio stands to the GAP's
 * end (as audio sinks and mixers take it), so windows keep their length
 * and timestamps their sample count. */
static GstFlowReturn
fill_gap (GstAffectIs09 * self, GstEvent * event)
{
  static const float zeros[1024];
  GstClockTime ts, duration, now, end;
  GstFlowReturn ret = GST_FLOW_OK;
  guint64 n = 0;

  if (!self->is09 || (self->in_items && !self->in_item))
    return GST_FLOW_OK;
  gst_event_parse_gap (event, &ts, &duration);
  if (!GST_CLOCK_TIME_IS_VALID (self->base_ts))
    self->base_ts = ts - MIN (ts, samples_to_time (self,
            affect_is09_get_n_samples (self->is09)));
  now = self->base_ts + samples_to_time (self,
      affect_is09_get_n_samples (self->is09));
  end = ts + (GST_CLOCK_TIME_IS_VALID (duration) ? duration : 0);
  if (end > now)
    n = gst_util_uint64_scale_round (end - now,
        GST_AUDIO_INFO_RATE (&self->info), GST_SECOND);
  while (n > 0 && ret == GST_FLOW_OK) {
    guint64 chunk = MIN (n, G_N_ELEMENTS (zeros));
    affect_is09_push (self->is09, zeros, chunk);
    n -= chunk;
    ret = push_pending (self);
  }
  if (ret == GST_FLOW_OK)
    announce_time (self);
  return ret;
}

/* The IS09 frame is 25 ms and its step 10 ms at every rate */
#define FRAME_NS (25 * GST_MSECOND)
#define FRAME_STEP_NS (10 * GST_MSECOND)

/* Window and hop that cannot work at any rate: refused before streaming,
 * with an error naming the property and its value */
static gboolean
check_window (GstAffectIs09 * self)
{
  guint64 window, hop;

  GST_OBJECT_LOCK (self);
  window = self->window;
  hop = self->hop;
  GST_OBJECT_UNLOCK (self);
  if (window > 0 && window < FRAME_NS) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("window=%" G_GUINT64_FORMAT " ns (%" GST_TIME_FORMAT ") is shorter "
            "than one 25 ms IS09 frame", window, GST_TIME_ARGS (window)),
        ("window is in nanoseconds: 2 s is window=2000000000"));
    return FALSE;
  }
  if (window > 0 && hop > 0 && hop < FRAME_STEP_NS / 2) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("hop=%" G_GUINT64_FORMAT " ns (%" GST_TIME_FORMAT ") rounds to no "
            "10 ms frame step", hop, GST_TIME_ARGS (hop)),
        ("hop is in nanoseconds, rounded to whole 10 ms steps; 0 = window"));
    return FALSE;
  }
  if (window == 0 && hop > 0)
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("hop=%" G_GUINT64_FORMAT " ns has no effect without window", hop),
        (NULL));
  return TRUE;
}

/* The output caps for audio at `rate`: 384-vectors, or LLD rows at the
 * frame rate. The frame step comes from the stream's plan, or from one made
 * for the question (negotiation only). */
static GstCaps *
make_src_caps (GstAffectIs09 * self, gint rate)
{
  GstAffectTensorInfo tinfo;
  GstCaps *out;
  guint dims[1];
  gboolean lld;

  GST_OBJECT_LOCK (self);
  lld = self->output == GST_AFFECT_IS09_OUTPUT_LLD;
  GST_OBJECT_UNLOCK (self);
  if (lld) {
    gint step, g;

    if (self->plan && affect_is09_plan_get_rate (self->plan) == rate) {
      step = affect_is09_plan_get_frame_step (self->plan);
    } else {
      AffectIs09Plan *plan = affect_is09_plan_new (rate, NULL);

      if (!plan)
        return NULL;
      step = affect_is09_plan_get_frame_step (plan);
      affect_is09_plan_free (plan);
    }
    g = (gint) gst_util_greatest_common_divisor (rate, step);
    dims[0] = AFFECT_IS09_N_CONTOURS;
    gst_affect_tensor_info_init (&tinfo, 1, dims, rate / g, step / g);
  } else {
    dims[0] = AFFECT_IS09_N_FEATURES;
    gst_affect_tensor_info_init (&tinfo, 1, dims, 0, 1);
  }
  out = gst_affect_tensor_caps_from_info (&tinfo);
  gst_caps_set_simple (out, "feature", G_TYPE_STRING,
      lld ? "is09-lld" : "is09", "sample-rate", G_TYPE_INT, rate, NULL);
  return out;
}

/* Audio of a fixed rate gives the one tensor format of that rate; anything
 * else, any tensor format of the template (and any audio of the sink's) */
static GstCaps *
gst_affect_is09_transform_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * filter)
{
  GstAffectIs09 *self = GST_AFFECT_IS09 (trans);
  GstCaps *ret = NULL;
  gint rate;

  if (direction == GST_PAD_SINK && gst_caps_get_size (caps) == 1
      && gst_structure_get_int (gst_caps_get_structure (caps, 0), "rate",
          &rate))
    ret = make_src_caps (self, rate);
  if (ret == NULL)
    ret = gst_pad_get_pad_template_caps (direction == GST_PAD_SINK ?
        GST_BASE_TRANSFORM_SRC_PAD (trans) :
        GST_BASE_TRANSFORM_SINK_PAD (trans));
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, ret,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (ret);
    ret = tmp;
  }
  return ret;
}

static gboolean
gst_affect_is09_setup (GstAudioFilter * filter, const GstAudioInfo * info)
{
  GstAffectIs09 *self = GST_AFFECT_IS09 (filter);
  GError *err = NULL;
  gint rate;

  rate = GST_AUDIO_INFO_RATE (info);
  if (!self->plan || affect_is09_plan_get_rate (self->plan) != rate) {
    affect_is09_free (self->is09);
    affect_is09_plan_free (self->plan);
    self->is09 = NULL;
    self->plan = affect_is09_plan_new (rate, &err);
    if (!self->plan) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("%s", err->message), (NULL));
      g_clear_error (&err);
      return FALSE;
    }
    self->is09 = affect_is09_new (self->plan);
  }
  self->info = *info;
  affect_is09_set_input_scale (self->is09, self->input_scale);
  affect_is09_set_lld_func (self->is09, on_lld_row, self);
  if (!affect_is09_set_windows (self->is09,
          gst_util_uint64_scale_round (self->window, rate, GST_SECOND),
          gst_util_uint64_scale_round (self->hop ? self->hop : self->window,
              rate, GST_SECOND), on_window, self)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("window=%" G_GUINT64_FORMAT " ns is shorter than one IS09 frame "
            "(%d samples) of the %d Hz stream", self->window,
            affect_is09_plan_get_frame_size (self->plan), rate), (NULL));
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_affect_is09_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstAffectIs09 *self = GST_AFFECT_IS09 (trans);
  GstPad *pad = GST_BASE_TRANSFORM_SINK_PAD (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ok;
      gst_event_parse_caps (event, &caps);
      /* a refusal's error is posted once, not at every retry upstream */
      if (gst_affect_caps_refused_before (pad, caps)) {
        gst_event_unref (event);
        return FALSE;
      }
      gst_caps_ref (caps);
      ok = GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
      gst_affect_caps_note (pad, caps, ok);
      gst_caps_unref (caps);
      return ok;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment (event, &self->segment);
      gst_affect_gap_reset (&self->gap);
      break;
    case GST_EVENT_GAP:{
      GstFlowReturn ret = fill_gap (self, event);
      gst_event_unref (event);
      return ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING;
    }
    case GST_EVENT_FLUSH_STOP:
      if (self->is09)
        affect_is09_reset (self->is09);
      gst_affect_gap_reset (&self->gap);
      self->base_ts = GST_CLOCK_TIME_NONE;
      gst_segment_init (&self->segment, GST_FORMAT_TIME);
      break;
    case GST_EVENT_EOS:
      /* a stream without items, or an item without its end event */
      if (self->is09 && affect_is09_get_n_samples (self->is09) > 0)
        finish_item (self);
      break;
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_affect_event_is_item_start (event)) {
        GstAffectItem *item = gst_affect_item_parse_start_event (event);
        if (self->is09)
          affect_is09_reset (self->is09);
        self->base_ts = GST_CLOCK_TIME_NONE;
        self->in_items = self->in_item = TRUE;
        g_free (self->item_id);
        self->item_id = item ? g_strdup (item->id) : NULL;
        g_free (self->item_path);
        self->item_path = item ? g_strdup (item->path) : NULL;
        if (item)
          gst_affect_item_free (item);
      } else if (gst_affect_event_is_item_end (event)) {
        /* the item's vector goes out before its end event */
        finish_item (self);
        self->in_item = FALSE;
        g_clear_pointer (&self->item_id, g_free);
        g_clear_pointer (&self->item_path, g_free);
      }
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* Takes the samples in; the vectors or rows they complete go out in
 * generate_output. GstAudioFilter's own submit_input_buffer is not chained
 * up to: it would clip the audio to the segment. */
static GstFlowReturn
gst_affect_is09_submit_input_buffer (GstBaseTransform * trans,
    gboolean is_discont, GstBuffer * buf)
{
  GstAffectIs09 *self = GST_AFFECT_IS09 (trans);
  GstMapInfo map;

  if (G_UNLIKELY (!self->is09)) {
    gst_buffer_unref (buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  /* audio between an item's end and the next start (a resampler's drained
   * tail) belongs to no item (docs/protocol.md): no vector, no CSV row */
  if (self->in_items && !self->in_item) {
    GST_LOG_OBJECT (self, "dropping %" G_GSIZE_FORMAT " bytes outside items",
        gst_buffer_get_size (buf));
    gst_buffer_unref (buf);
    return GST_FLOW_OK;
  }
  if (!GST_CLOCK_TIME_IS_VALID (self->base_ts)) {
    guint64 done = affect_is09_get_n_samples (self->is09);
    GstClockTime pts = GST_BUFFER_PTS (buf);
    if (GST_CLOCK_TIME_IS_VALID (pts))
      self->base_ts = pts - MIN (pts, samples_to_time (self, done));
    else
      self->base_ts = self->segment.start;
  }
  GST_OBJECT_LOCK (self);
  affect_is09_set_input_scale (self->is09, self->input_scale);
  GST_OBJECT_UNLOCK (self);
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Could not map buffer."), (NULL));
    return GST_FLOW_ERROR;
  }
  affect_is09_push (self->is09, (const float *) map.data,
      map.size / sizeof (float));
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

/* Pushes the vectors or rows itself, as the events that end an item do
 * (push_pending), and hands none back: the base class would flag DISCONT
 * the first buffer after any DISCONT input. */
static GstFlowReturn
gst_affect_is09_generate_output (GstBaseTransform * trans, GstBuffer ** outbuf)
{
  GstAffectIs09 *self = GST_AFFECT_IS09 (trans);
  GstFlowReturn ret;

  *outbuf = NULL;
  if (self->in_items && !self->in_item)
    return GST_FLOW_OK;
  ret = push_pending (self);
  if (ret == GST_FLOW_OK)
    announce_time (self);
  return ret;
}

/* A window's vector is stamped with its start and leaves when its last
 * sample arrives; an LLD row r (stamped r * step) leaves when raw frame r+3
 * is complete (smoother and delta look-ahead). */
static gboolean
gst_affect_is09_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstAffectIs09 *self = GST_AFFECT_IS09 (trans);
  GstPad *pad = direction == GST_PAD_SINK ? GST_BASE_TRANSFORM_SINK_PAD (trans)
      : GST_BASE_TRANSFORM_SRC_PAD (trans);
  GstClockTime min, max, extra = 0;
  gboolean live;

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS:{
      /* the sink takes any audio of its template whatever downstream
       * takes; the source offers its current caps, or the template */
      GstCaps *caps = NULL;

      if (direction == GST_PAD_SRC)
        caps = gst_pad_get_current_caps (pad);
      if (caps == NULL)
        caps = gst_pad_get_pad_template_caps (pad);
      gst_affect_caps_answer_query (query, caps);
      return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS:
      if (direction != GST_PAD_SINK)
        break;
      gst_affect_caps_answer_query (query, gst_pad_get_pad_template_caps (pad));
      return TRUE;
    case GST_QUERY_LATENCY:
      if (direction != GST_PAD_SRC)
        break;
      /* A window's vector is stamped with its start and leaves when its
       * last sample arrives; an LLD row r (stamped r * step) leaves when
       * raw frame r+3 is complete (smoother and delta look-ahead). */
      if (!gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (trans), query))
        return FALSE;
      gst_query_parse_latency (query, &live, &min, &max);
      if (self->output == GST_AFFECT_IS09_OUTPUT_LLD && self->plan)
        extra = samples_to_time (self,
            3 * affect_is09_plan_get_frame_step (self->plan)
            + affect_is09_plan_get_frame_size (self->plan));
      else if (self->window > 0)
        extra = self->window;
      min += extra;
      if (GST_CLOCK_TIME_IS_VALID (max))
        max += extra;
      gst_query_set_latency (query, live, min, max);
      return TRUE;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction,
      query);
}

static gboolean
open_csv (GstAffectIs09 * self)
{
  if (!self->location || !*self->location)
    return TRUE;
  self->csv = g_fopen (self->location, "w");
  if (!self->csv) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Could not open \"%s\" for writing.", self->location),
        ("%s", g_strerror (errno)));
    return FALSE;
  }
  if (!affect_is09_csv_write_header (self->csv)) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not write to \"%s\".", self->location),
        ("%s", g_strerror (errno)));
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_affect_is09_start (GstBaseTransform * trans)
{
  GstAffectIs09 *self = GST_AFFECT_IS09 (trans);

  if (!check_window (self) || !open_csv (self))
    return FALSE;
  self->in_items = self->in_item = FALSE;
  self->base_ts = GST_CLOCK_TIME_NONE;
  gst_affect_gap_reset (&self->gap);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  return TRUE;
}

static gboolean
gst_affect_is09_stop (GstBaseTransform * trans)
{
  GstAffectIs09 *self = GST_AFFECT_IS09 (trans);

  if (self->is09)
    affect_is09_reset (self->is09);
  g_list_free_full (self->pending, (GDestroyNotify) gst_buffer_unref);
  self->pending = NULL;
  g_clear_pointer (&self->item_id, g_free);
  g_clear_pointer (&self->item_path, g_free);
  if (self->csv) {
    fclose (self->csv);
    self->csv = NULL;
  }
  return TRUE;
}

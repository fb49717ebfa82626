/* GStreamer affect plugin
 * Copyright (C) 2026 gst-affect contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-affectmel
 * @title: affectmel
 *
 * Computes Mel spectrogram frames of mono float audio and outputs them as
 * `other/tensors` (NNStreamer-compatible) of dimensions `n_mels:frames`:
 * each buffer holds #GstAffectMel:frames-per-buffer frames of
 * #GstAffectMel:n-mels bands, one frame's bands contiguous.
 *
 * Every step is a property: framing (#GstAffectMel:n-fft, #GstAffectMel:hop,
 * #GstAffectMel:win-length, #GstAffectMel:window, #GstAffectMel:center,
 * #GstAffectMel:pad-mode, #GstAffectMel:framing), the filterbank
 * (#GstAffectMel:n-mels, #GstAffectMel:fmin, #GstAffectMel:fmax,
 * #GstAffectMel:mel-scale, #GstAffectMel:norm), #GstAffectMel:power, the
 * logarithm (#GstAffectMel:log with #GstAffectMel:amin, #GstAffectMel:top-db,
 * #GstAffectMel:log-c, #GstAffectMel:log-eps) and a final #GstAffectMel:scale.
 * A #GstAffectMel:preset sets a documented group at once (docs/mel-presets.md);
 * properties set explicitly override the preset whatever their order.
 * Properties take effect at the next caps event.
 *
 * Frames do not depend on how the input is cut into buffers. Frame t of an
 * item is stamped with the time of sample t·hop of that item (its centre when
 * #GstAffectMel:center is TRUE, its start otherwise), computed from sample
 * counts, so timestamps stay sample-exact over any duration.
 *
 * Items: at `affect-item-start` the framing restarts; at `affect-item-end`
 * the item's last frames are completed (with the end padding) and pushed
 * before the event is forwarded, so every item's frames are complete and lie
 * between its two events. The last buffer of an item (or of the stream at
 * EOS) may hold fewer valid frames than #GstAffectMel:frames-per-buffer: its
 * dimensions stay the same, the missing frames are zeros, and
 * GST_BUFFER_OFFSET_END - GST_BUFFER_OFFSET gives the number of valid frames
 * (OFFSET is the index of the buffer's first frame in its item); DURATION
 * covers the valid frames only. With frames-per-buffer=1 (the default) every
 * buffer is full.
 *
 * A SEGMENT event completes the frames and restarts the time base, unless it
 * equals the current segment (affectsrc sends the same segment again at
 * each item's end to drain resamplers; docs/protocol.md).
 *
 * Input timestamps after the first are not used, except that a DISCONT
 * buffer whose timestamp is more than one sample away from where the sample
 * count puts it (a gap in the input) completes the frames before it like an
 * item end and restarts the framing and the time base at that buffer.
 *
 * Until the first buffer of frames is complete, a GAP event of duration 0
 * at the first frame's time lets sinks preroll. A GAP on the sink pad is
 * silence up to its end (docs/protocol.md, "Time without data").
 *
 * Non-finite input samples are replaced by 0 and samples beyond ±1e4
 * (AFFECT_MEL_CLAMP: audio lies near ±1, and a sine × 1e30 would overflow
 * the power spectrum) are clamped to it; one warning at the item's end
 * names the item (id and file) and both counts (a stream without items:
 * one warning at the first such sample).
 *
 * Parameters that cannot work end the run with one error naming the
 * property and its value: those no stream is needed to see (win-length
 * above n-fft, fmin not below fmax, fmax above the Nyquist frequency of
 * the rate a preset fixes) fail the READY to PAUSED change; those the
 * stream's rate decides (fmax above its Nyquist frequency) refuse the caps,
 * naming the rate, so upstream gets not-negotiated.
 *
 * Output caps carry, besides the tensor fields, `feature="mel"`,
 * `sample-rate`, `n-fft`, `hop`, `n-mels`, `fmin`, `fmax`, `mel-scale`,
 * `norm`, `power`, `preset` (or "custom" when a property overrides it),
 * `log` and `scale`.
 *
 * The element posts no messages.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=song.mp3 ! decodebin ! audioconvert ! \
 *     audioresample ! audio/x-raw,rate=12000,channels=1 ! \
 *     affectmel preset=mtg-jamendo frames-per-buffer=256 ! \
 *     filesink location=song.mel.f32
 * ]| Log-Mel frames as the mood/theme classifier expects them, 256 per buffer.
 * |[
 * gst-launch-1.0 audiotestsrc num-buffers=100 ! \
 *     audio/x-raw,format=F32LE,channels=1,rate=16000 ! \
 *     affectmel n-fft=400 hop=160 n-mels=40 mel-scale=htk norm=none \
 *     log=ln ! fakesink
 * ]| Kaldi-like 40-band log-Mel at 100 frames per second.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/audio/audio.h>

#include "gstaffectcaps.h"
#include "gstaffectelements.h"
#include "gstaffectitem.h"
#include "gstaffectmel.h"
#include "gstaffectprops.h"
#include "gstaffecttensor.h"

GST_DEBUG_CATEGORY_STATIC (gst_affect_mel_debug);
#define GST_CAT_DEFAULT gst_affect_mel_debug


/* librosa.feature.melspectrogram's defaults (the "librosa" preset) */
#define DEFAULT_PRESET AFFECT_MEL_PRESET_LIBROSA
#define DEFAULT_RATE 0
#define DEFAULT_N_FFT 2048
#define DEFAULT_HOP 512
#define DEFAULT_WIN_LENGTH 0
#define DEFAULT_WINDOW AFFECT_MEL_WINDOW_HANN
#define DEFAULT_CENTER TRUE
#define DEFAULT_PAD_MODE AFFECT_MEL_PAD_ZEROS
#define DEFAULT_PAD_VALUE 0.0
#define DEFAULT_FRAMING AFFECT_MEL_FRAMING_LIBROSA
#define DEFAULT_N_MELS 128
#define DEFAULT_FMIN 0.0
#define DEFAULT_FMAX 0.0
#define DEFAULT_MEL_SCALE AFFECT_MEL_SCALE_SLANEY
#define DEFAULT_NORM AFFECT_MEL_NORM_SLANEY
#define DEFAULT_POWER 2
#define DEFAULT_LOG AFFECT_MEL_LOG_NONE
#define DEFAULT_AMIN 1e-10
#define DEFAULT_TOP_DB 0.0
#define DEFAULT_LOG_C 10000.0
#define DEFAULT_LOG_EPS 1e-6
#define DEFAULT_SCALE 1.0
#define DEFAULT_FRAMES_PER_BUFFER 1

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format = (string) F32LE, "
        "channels = (int) 1, rate = (int) [ 1, MAX ], "
        "layout = (string) interleaved"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE));

#define gst_affect_mel_parent_class parent_class
G_DEFINE_TYPE (GstAffectMel, gst_affect_mel, GST_TYPE_AUDIO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (affectmel, "affectmel", GST_RANK_NONE,
    GST_TYPE_AFFECT_MEL);

/* ---------------------------------------------------------------- enums */

static const GEnumValue preset_values[] = {
  {AFFECT_MEL_PRESET_LIBROSA,
      "librosa.feature.melspectrogram defaults: n-fft 2048, hop 512, "
        "periodic Hann, centred with zeros, 128 Slaney bands of unit area, "
        "power 2, no log, any rate", "librosa"},
  {AFFECT_MEL_PRESET_MTG_JAMENDO,
        "The mood/theme classifier's input: 12 kHz, n-fft 512, hop 256, "
        "symmetric Hann, centred with zeros, 96 Slaney bands of unit area "
        "0-6000 Hz, 10 log10 of power floored at -90 dB, then /100",
      "mtg-jamendo"},
  {AFFECT_MEL_PRESET_MUSICNN,
        "Essentia's musicnn input: 16 kHz, n-fft 512, hop 256, symmetric "
        "Hann, 96 Slaney bands of unit area 0-8000 Hz, log10 (1 + 10000 x)",
      "musicnn"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectMelPreset, gst_affect_mel_preset,
    preset_values);

static const GEnumValue window_values[] = {
  {AFFECT_MEL_WINDOW_HANN, "Periodic Hann (scipy/librosa default)", "hann"},
  {AFFECT_MEL_WINDOW_HANN_SYMMETRIC, "Symmetric Hann (Essentia)",
      "hann-symmetric"},
  {AFFECT_MEL_WINDOW_HAMMING, "Periodic Hamming", "hamming"},
  {AFFECT_MEL_WINDOW_HAMMING_SYMMETRIC, "Symmetric Hamming",
      "hamming-symmetric"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectMelWindow, gst_affect_mel_window,
    window_values);

static const GEnumValue pad_mode_values[] = {
  {AFFECT_MEL_PAD_ZEROS, "Zeros", "zeros"},
  {AFFECT_MEL_PAD_REFLECT, "Mirror image without the edge sample (numpy "
        "reflect)", "reflect"},
  {AFFECT_MEL_PAD_CONSTANT, "The pad-value property", "constant"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectMelPadMode, gst_affect_mel_pad_mode,
    pad_mode_values);

static const GEnumValue framing_values[] = {
  {AFFECT_MEL_FRAMING_LIBROSA, "1 + floor (N / hop) frames: the last is "
        "centred on or before the last sample (librosa)", "librosa"},
  {AFFECT_MEL_FRAMING_ESSENTIA, "Up to the first frame centred at or past "
        "the end: 1 + ceil (N / hop) (Essentia FrameCutter, "
        "startFromZero=false)", "essentia"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectMelFraming, gst_affect_mel_framing,
    framing_values);

static const GEnumValue scale_values[] = {
  {AFFECT_MEL_SCALE_HTK, "HTK: 2595 log10 (1 + f / 700)", "htk"},
  {AFFECT_MEL_SCALE_SLANEY, "Slaney: linear below 1 kHz, log above", "slaney"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectMelScale, gst_affect_mel_scale, scale_values);

static const GEnumValue norm_values[] = {
  {AFFECT_MEL_NORM_NONE, "Triangles of peak 1", "none"},
  {AFFECT_MEL_NORM_SLANEY, "Triangles of unit area (Slaney, Essentia "
        "unit_tri)", "slaney"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectMelNorm, gst_affect_mel_norm, norm_values);

static const GEnumValue log_values[] = {
  {AFFECT_MEL_LOG_NONE, "Linear", "none"},
  {AFFECT_MEL_LOG_DB, "10 log10 (max (amin, x)), top-db below the frame's "
        "maximum", "db"},
  {AFFECT_MEL_LOG_LOG10_1P, "log10 (1 + log-c x)", "log10-1p"},
  {AFFECT_MEL_LOG_LN, "ln (x + log-eps)", "ln"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectMelLog, gst_affect_mel_log, log_values);

#define M GstAffectMel
static const GstAffectProp properties[] = {
  GST_AFFECT_PROP_ENUM ("preset", "Preset",
      "A documented group of parameters (docs/mel-presets.md); "
      "properties set explicitly override it", M, preset,
      gst_affect_mel_preset_get_type, DEFAULT_PRESET, 0),
  GST_AFFECT_PROP_INT ("rate", "Rate",
      "Input sample rate the parameters are for, in Hz (0 = any); the "
      "mtg-jamendo and musicnn presets set theirs", M, rate, 0, G_MAXINT,
      DEFAULT_RATE, 0),
  GST_AFFECT_PROP_INT ("n-fft", "FFT size",
      "FFT length in samples", M, user.n_fft, 2, 1 << 20, DEFAULT_N_FFT, 0),
  GST_AFFECT_PROP_INT ("hop", "Hop",
      "Samples between successive frames", M, user.hop, 1, G_MAXINT,
      DEFAULT_HOP, 0),
  GST_AFFECT_PROP_INT ("win-length", "Window length",
      "Window length in samples, centred in the FFT frame (0 = n-fft)", M,
      user.win_length, 0, 1 << 20, DEFAULT_WIN_LENGTH, 0),
  GST_AFFECT_PROP_ENUM ("window", "Window",
      "Analysis window", M, user.window, gst_affect_mel_window_get_type,
      DEFAULT_WINDOW, 0),
  GST_AFFECT_PROP_BOOL ("center", "Center",
      "Centre frame t on sample t*hop, padding n-fft/2 samples at "
      "both ends of each item (else frame t starts at sample t*hop)", M,
      user.center, DEFAULT_CENTER, 0),
  GST_AFFECT_PROP_ENUM ("pad-mode", "Pad mode",
      "How the padding of centred frames is made", M, user.pad_mode,
      gst_affect_mel_pad_mode_get_type, DEFAULT_PAD_MODE, 0),
  GST_AFFECT_PROP_DOUBLE ("pad-value", "Pad value",
      "Sample value of pad-mode=constant", M, user.pad_value, -G_MAXDOUBLE,
      G_MAXDOUBLE, DEFAULT_PAD_VALUE, 0),
  GST_AFFECT_PROP_ENUM ("framing", "Framing",
      "Where centred framing stops at the end of each item", M, user.framing,
      gst_affect_mel_framing_get_type, DEFAULT_FRAMING, 0),
  GST_AFFECT_PROP_INT ("n-mels", "Mel bands",
      "Number of Mel bands", M, user.n_mels, 1, 4096, DEFAULT_N_MELS, 0),
  GST_AFFECT_PROP_DOUBLE ("fmin", "Lowest frequency",
      "Lower edge of the lowest Mel band, in Hz", M, user.fmin, 0.0,
      G_MAXDOUBLE, DEFAULT_FMIN, 0),
  GST_AFFECT_PROP_DOUBLE ("fmax", "Highest frequency",
      "Upper edge of the highest Mel band, in Hz (0 = Nyquist)", M, user.fmax,
      0.0, G_MAXDOUBLE, DEFAULT_FMAX, 0),
  GST_AFFECT_PROP_ENUM ("mel-scale", "Mel scale",
      "Hz to mel formula", M, user.mel_scale, gst_affect_mel_scale_get_type,
      DEFAULT_MEL_SCALE, 0),
  GST_AFFECT_PROP_ENUM ("norm", "Norm",
      "Normalisation of the triangles", M, user.norm,
      gst_affect_mel_norm_get_type, DEFAULT_NORM, 0),
  GST_AFFECT_PROP_INT ("power", "Power",
      "Exponent of the spectrum magnitude: 1 (magnitude) or 2 (power)", M,
      user.power, 1, 2, DEFAULT_POWER, 0),
  GST_AFFECT_PROP_ENUM ("log", "Log",
      "Compression of the Mel values", M, user.log, gst_affect_mel_log_get_type,
      DEFAULT_LOG, 0),
  GST_AFFECT_PROP_DOUBLE ("amin", "Floor",
      "log=db: values below amin are raised to it (1e-10 = -100 dB)", M,
      user.amin, G_MINDOUBLE, G_MAXDOUBLE, DEFAULT_AMIN, 0),
  GST_AFFECT_PROP_DOUBLE ("top-db", "Top dB",
      "log=db: raise values to the frame's maximum minus top-db (0 = "
      "off)", M, user.top_db, 0.0, G_MAXDOUBLE, DEFAULT_TOP_DB, 0),
  GST_AFFECT_PROP_DOUBLE ("log-c", "Log C",
      "log=log10-1p: C of log10 (1 + C x)", M, user.log_c, G_MINDOUBLE,
      G_MAXDOUBLE, DEFAULT_LOG_C, 0),
  GST_AFFECT_PROP_DOUBLE ("log-eps", "Log epsilon",
      "log=ln: eps of ln (x + eps)", M, user.log_eps, G_MINDOUBLE, G_MAXDOUBLE,
      DEFAULT_LOG_EPS, 0),
  GST_AFFECT_PROP_DOUBLE ("scale", "Scale",
      "Multiplier applied last (mtg-jamendo: 0.01)", M, user.scale,
      -G_MAXDOUBLE, G_MAXDOUBLE, DEFAULT_SCALE, 0),
  GST_AFFECT_PROP_UINT ("frames-per-buffer", "Frames per buffer",
      "Frames in each output tensor (dimensions n_mels:frames)", M,
      frames_per_buffer, 1, 1 << 20, DEFAULT_FRAMES_PER_BUFFER, 0),
};

#undef M

/* table indices the element treats apart */
enum
{
  PROP_INDEX_PRESET,
  PROP_INDEX_RATE,
  PROP_INDEX_FRAMES_PER_BUFFER = G_N_ELEMENTS (properties) - 1
};

static const gchar *
enum_nick (GType type, gint value)
{
  GEnumClass *klass = g_type_class_ref (type);
  GEnumValue *v = g_enum_get_value (klass, value);
  const gchar *nick = v ? v->value_nick : "unknown";

  g_type_class_unref (klass);
  return nick;
}

/* ----------------------------------------------------------- properties */

/* Entries of the table whose field is in `user`, the AffectMelParams the
 * preset fills; NULL for the others */
static gsize
user_offset (const GstAffectProp * p)
{
  const gsize start = G_STRUCT_OFFSET (GstAffectMel, user);

  if (p->offset >= start && p->offset < start + sizeof (AffectMelParams))
    return p->offset - start;
  return G_MAXSIZE;
}

/* whether property `i` of the table (preset and frames-per-buffer do not
 * count) was set explicitly */
#define USER_BIT(i) (G_GUINT64_CONSTANT (1) << (i))

/* The preset's values, then every property set explicitly (object lock) */
static void
effective_params (GstAffectMel * self, AffectMelParams * p, gint * rate)
{
  guint i;

  affect_mel_params_init (p, self->preset);
  for (i = 0; i < G_N_ELEMENTS (properties); i++) {
    gsize off = user_offset (&properties[i]);
    if (off != G_MAXSIZE && (self->user_set & USER_BIT (i)))
      memcpy ((guint8 *) p + off, (const guint8 *) &self->user + off,
          gst_affect_prop_size (&properties[i]));
  }
  if (rate != NULL) {
    if (self->user_set & USER_BIT (PROP_INDEX_RATE))
      *rate = self->rate;
    else
      /* the librosa preset follows the input rate (fmax = Nyquist) */
      *rate = self->preset == AFFECT_MEL_PRESET_LIBROSA ? 0 : p->sample_rate;
  }
}

static void
gst_affect_mel_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstAffectMel *self = GST_AFFECT_MEL (object);
  const GstAffectProp *p = gst_affect_props_lookup (pspec);
  gint i = gst_affect_props_index (pspec);

  if (p == NULL) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK (self);
  gst_affect_prop_store (p, (guint8 *) self + p->offset, value);
  if (i != PROP_INDEX_PRESET && i != PROP_INDEX_FRAMES_PER_BUFFER)
    self->user_set |= USER_BIT (i);
  GST_OBJECT_UNLOCK (self);
}

/* the values in use: the preset's where no property was set */
static void
gst_affect_mel_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstAffectMel *self = GST_AFFECT_MEL (object);
  const GstAffectProp *p = gst_affect_props_lookup (pspec);
  gint i = gst_affect_props_index (pspec);
  AffectMelParams params;
  gint rate;
  gsize off;

  if (p == NULL) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK (self);
  effective_params (self, &params, &rate);
  off = user_offset (p);
  if (off != G_MAXSIZE)
    gst_affect_prop_load (p, (const guint8 *) &params + off, value);
  else if (i == PROP_INDEX_RATE)
    g_value_set_int (value, rate);
  else
    gst_affect_prop_load (p, (const guint8 *) self + p->offset, value);
  GST_OBJECT_UNLOCK (self);
}

/* ------------------------------------------------------------ streaming */

static void
free_plan (GstAffectMel * self)
{
  affect_mel_stream_free (self->stream);
  self->stream = NULL;
  affect_mel_plan_free (self->plan);
  self->plan = NULL;
}

/* Time of sample `sample` (counted from `base`) */
static GstClockTime
sample_time (GstAffectMel * self, guint64 sample)
{
  return self->base + gst_util_uint64_scale_int (sample, GST_SECOND,
      self->active.sample_rate);
}

/* Pushes every complete buffer of frames; with `drain`, also the last
 * partial one (zero-filled, OFFSET_END marking the valid frames). */
static GstFlowReturn
push_frames (GstAffectMel * self, gboolean drain)
{
  const guint n_mels = self->active.n_mels, hop = self->active.hop;
  GstFlowReturn ret = GST_FLOW_OK;

  while (ret == GST_FLOW_OK) {
    gsize avail = affect_mel_stream_available (self->stream);
    guint64 first = affect_mel_stream_next_frame (self->stream);
    gsize n;
    GstBuffer *buf;
    GstMapInfo map;

    if (avail == 0 || (avail < self->frames && !drain))
      break;
    buf = gst_buffer_new_allocate (NULL,
        (gsize) self->frames * n_mels * sizeof (float), NULL);
    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    n = affect_mel_stream_pull (self->stream, (float *) map.data, self->frames);
    if (n < self->frames)
      memset (map.data + n * n_mels * sizeof (float), 0,
          (self->frames - n) * n_mels * sizeof (float));
    gst_buffer_unmap (buf, &map);

    GST_BUFFER_PTS (buf) = sample_time (self, self->origin + first * hop);
    GST_BUFFER_DURATION (buf) = sample_time (self,
        self->origin + (first + n) * hop) - GST_BUFFER_PTS (buf);
    GST_BUFFER_OFFSET (buf) = first;
    GST_BUFFER_OFFSET_END (buf) = first + n;
    if (self->discont) {
      GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
      self->discont = FALSE;
    }
    gst_affect_gap_note (&self->gap, GST_BUFFER_PTS (buf),
        GST_BUFFER_DURATION (buf));
    ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), buf);
  }
  return ret;
}

/* An item's NaN/Inf samples (replaced by 0) and samples beyond
 * ±AFFECT_MEL_CLAMP (clamped): one warning at its end naming it. A stream
 * without items was warned about at its first such sample. */
static void
report_bad_samples (GstAffectMel * self)
{
  guint64 invalid = affect_mel_stream_n_invalid (self->stream);
  guint64 clamped = affect_mel_stream_n_clamped (self->stream);

  if ((invalid == 0 && clamped == 0) || self->item_id == NULL)
    return;
  GST_ELEMENT_WARNING (self, STREAM, FORMAT,
      ("Item \"%s\" (%s): %" G_GUINT64_FORMAT " NaN/Inf samples replaced by "
          "0, %" G_GUINT64_FORMAT " samples beyond +-%g clamped.",
          self->item_id, self->item_path ? self->item_path : "no path",
          invalid, clamped, (double) AFFECT_MEL_CLAMP), (NULL));
}

/* Completes the current signal (end padding), pushes its frames, and starts
 * a new one at the next sample */
static GstFlowReturn
finish_signal (GstAffectMel * self)
{
  GstFlowReturn ret = GST_FLOW_OK;

  if (self->stream == NULL)
    return GST_FLOW_OK;
  report_bad_samples (self);
  if (affect_mel_stream_n_samples (self->stream) > 0) {
    affect_mel_stream_finish (self->stream);
    ret = push_frames (self, TRUE);
  }
  affect_mel_stream_reset (self->stream);
  self->origin = self->n_samples;
  self->discont = TRUE;
  self->warned_nonfinite = FALSE;
  return ret;
}

static void
reset_timeline (GstAffectMel * self)
{
  if (self->stream)
    affect_mel_stream_reset (self->stream);
  self->have_base = FALSE;
  self->base = 0;
  self->n_samples = 0;
  self->origin = 0;
  self->discont = TRUE;
  self->warned_nonfinite = FALSE;
  gst_affect_gap_reset (&self->gap);
}

/* Before the first buffer of frames is complete (frames-per-buffer frames
 * and the FFT's look-ahead), a GAP at the first frame lets sinks preroll */
static void
announce_time (GstAffectMel * self)
{
  if (self->have_base)
    gst_affect_gap_preroll (&self->gap, GST_BASE_TRANSFORM_SRC_PAD (self),
        sample_time (self, self->origin));
}

/* A GAP on the input is silence from where the audio stands to the GAP's
 * end (as audio sinks and mixers take it): frames keep their sample-exact
 * times and the audio after the GAP continues the same signal. */
static GstFlowReturn
fill_gap (GstAffectMel * self, GstEvent * event)
{
  static const float zeros[1024];
  GstClockTime ts, duration, now, end;
  GstFlowReturn ret = GST_FLOW_OK;
  guint64 n = 0;

  if (self->stream == NULL)
    return GST_FLOW_OK;
  gst_event_parse_gap (event, &ts, &duration);
  if (!self->have_base) {
    self->base = ts;
    self->have_base = TRUE;
  }
  now = sample_time (self, self->n_samples);
  end = ts + (GST_CLOCK_TIME_IS_VALID (duration) ? duration : 0);
  if (end > now)
    n = gst_util_uint64_scale_round (end - now, self->active.sample_rate,
        GST_SECOND);
  while (n > 0 && ret == GST_FLOW_OK) {
    gsize chunk = MIN (n, G_N_ELEMENTS (zeros));
    affect_mel_stream_push (self->stream, zeros, chunk);
    self->n_samples += chunk;
    n -= chunk;
    ret = push_frames (self, FALSE);
  }
  if (ret == GST_FLOW_OK)
    announce_time (self);
  return ret;
}

/* Takes the samples in; the frames they complete go out in
 * generate_output. Only the first buffer's timestamp (and later a DISCONT
 * one's, when it breaks the sample count) is read. GstAudioFilter's own
 * submit_input_buffer is not chained up to: it would clip the audio to the
 * segment, and frames are made from every sample received. */
static GstFlowReturn
gst_affect_mel_submit_input_buffer (GstBaseTransform * trans,
    gboolean is_discont, GstBuffer * buf)
{
  GstAffectMel *self = GST_AFFECT_MEL (trans);
  GstMapInfo map;
  gsize n, bad;
  GstFlowReturn ret;

  if (self->stream == NULL) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("no caps were set before the first buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  if (!self->have_base) {
    /* every later time is computed from this one and sample counts */
    if (GST_BUFFER_PTS_IS_VALID (buf))
      self->base = GST_BUFFER_PTS (buf);
    else if (trans->segment.format == GST_FORMAT_TIME)
      self->base = trans->segment.start;
    else
      self->base = 0;
    self->have_base = TRUE;
  } else if (GST_BUFFER_IS_DISCONT (buf) && GST_BUFFER_PTS_IS_VALID (buf)) {
    /* a gap (or overlap) of more than a sample: what came before is
     * completed like an item, and time restarts from this buffer */
    GstClockTimeDiff gap = GST_CLOCK_DIFF (sample_time (self,
            self->n_samples), GST_BUFFER_PTS (buf));
    if (ABS (gap) > (GstClockTimeDiff) (GST_SECOND / self->active.sample_rate)) {
      GST_DEBUG_OBJECT (self, "discontinuity of %" GST_STIME_FORMAT,
          GST_STIME_ARGS (gap));
      ret = finish_signal (self);
      self->base = GST_BUFFER_PTS (buf);
      self->n_samples = 0;
      self->origin = 0;
      if (ret != GST_FLOW_OK) {
        gst_buffer_unref (buf);
        return ret;
      }
    }
  }

  gst_buffer_map (buf, &map, GST_MAP_READ);
  n = map.size / sizeof (float);
  bad = affect_mel_stream_push (self->stream, (const float *) map.data, n);
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  self->n_samples += n;

  /* items are reported at their end, naming them (report_bad_samples) */
  if ((bad > 0 || affect_mel_stream_n_clamped (self->stream) > 0)
      && self->item_id == NULL && !self->warned_nonfinite) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Input contains non-finite samples or samples beyond +-%g",
            (double) AFFECT_MEL_CLAMP),
        ("%" G_GSIZE_FORMAT " NaN or infinite samples in a buffer (around %"
            GST_TIME_FORMAT "), replaced by 0; %" G_GUINT64_FORMAT
            " clamped so far", bad,
            GST_TIME_ARGS (sample_time (self, self->n_samples - n)),
            affect_mel_stream_n_clamped (self->stream)));
    self->warned_nonfinite = TRUE;
  }
  return GST_FLOW_OK;
}

/* Pushes the complete buffers of frames itself, as the events that end an
 * item or a signal do (push_frames), and hands none back: the base class
 * would flag DISCONT the first buffer after any DISCONT input, where frames
 * are DISCONT only where their framing restarts. */
static GstFlowReturn
gst_affect_mel_generate_output (GstBaseTransform * trans, GstBuffer ** outbuf)
{
  GstAffectMel *self = GST_AFFECT_MEL (trans);
  GstFlowReturn ret;

  *outbuf = NULL;
  ret = push_frames (self, FALSE);
  if (ret == GST_FLOW_OK)
    announce_time (self);
  return ret;
}

/* ----------------------------------------------------------------- caps */

/* The output caps for input at `rate`, from the properties (object lock) */
static GstCaps *
make_src_caps (GstAffectMel * self, gint rate)
{
  AffectMelParams p;
  GstAffectTensorInfo info;
  guint frames;
  guint dims[2];
  const gchar *preset_name;
  GstCaps *caps;

  effective_params (self, &p, NULL);
  p.sample_rate = rate;
  frames = MAX (self->frames_per_buffer, 1);
  preset_name = self->user_set ? "custom" :
      affect_mel_preset_to_string (self->preset);
  dims[0] = p.n_mels;
  dims[1] = frames;
  gst_affect_tensor_info_init (&info, 2, dims, p.sample_rate, p.hop * frames);
  caps = gst_affect_tensor_caps_from_info (&info);
  gst_caps_set_simple (caps,
      "feature", G_TYPE_STRING, "mel",
      "sample-rate", G_TYPE_INT, p.sample_rate,
      "n-fft", G_TYPE_INT, p.n_fft,
      "hop", G_TYPE_INT, p.hop,
      "n-mels", G_TYPE_INT, p.n_mels,
      "fmin", G_TYPE_DOUBLE, p.fmin,
      "fmax", G_TYPE_DOUBLE, p.fmax > 0 ? p.fmax : p.sample_rate / 2.0,
      "mel-scale", G_TYPE_STRING,
      enum_nick (gst_affect_mel_scale_get_type (), p.mel_scale),
      "norm", G_TYPE_STRING,
      enum_nick (gst_affect_mel_norm_get_type (), p.norm),
      "power", G_TYPE_INT, p.power,
      "preset", G_TYPE_STRING, preset_name,
      "log", G_TYPE_STRING, enum_nick (gst_affect_mel_log_get_type (), p.log),
      "scale", G_TYPE_DOUBLE, p.scale, NULL);
  return caps;
}

/* The sink caps: the template, at the rate the parameters are for if one
 * is fixed */
static GstCaps *
make_sink_caps (GstAffectMel * self)
{
  GstCaps *caps =
      gst_pad_get_pad_template_caps (GST_BASE_TRANSFORM_SINK_PAD (self));
  AffectMelParams p;
  gint rate;

  GST_OBJECT_LOCK (self);
  effective_params (self, &p, &rate);
  GST_OBJECT_UNLOCK (self);
  if (rate != 0) {
    caps = gst_caps_make_writable (caps);
    gst_caps_set_simple (caps, "rate", G_TYPE_INT, rate, NULL);
  }
  return caps;
}

/* Audio of a fixed rate gives the one tensor format the properties make of
 * it; anything else, any tensor format of the template */
static GstCaps *
gst_affect_mel_transform_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * filter)
{
  GstAffectMel *self = GST_AFFECT_MEL (trans);
  GstCaps *ret;
  gint rate;

  if (direction == GST_PAD_SRC) {
    ret = make_sink_caps (self);
  } else if (gst_caps_get_size (caps) == 1
      && gst_structure_get_int (gst_caps_get_structure (caps, 0), "rate",
          &rate)) {
    GST_OBJECT_LOCK (self);
    ret = make_src_caps (self, rate);
    GST_OBJECT_UNLOCK (self);
  } else {
    ret = gst_pad_get_pad_template_caps (GST_BASE_TRANSFORM_SRC_PAD (trans));
  }
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, ret,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (ret);
    ret = tmp;
  }
  return ret;
}

static gboolean
gst_affect_mel_setup (GstAudioFilter * filter, const GstAudioInfo * ainfo)
{
  GstAffectMel *self = GST_AFFECT_MEL (filter);
  AffectMelParams p;
  GError *error = NULL;
  gint required_rate;

  GST_OBJECT_LOCK (self);
  effective_params (self, &p, &required_rate);
  self->frames = MAX (self->frames_per_buffer, 1);
  GST_OBJECT_UNLOCK (self);

  if (required_rate != 0 && required_rate != GST_AUDIO_INFO_RATE (ainfo)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Input rate %d Hz is not the %d Hz the Mel parameters are for "
            "(rate property or preset)", GST_AUDIO_INFO_RATE (ainfo),
            required_rate),
        ("put audioresample ! audio/x-raw,rate=%d before affectmel, or set "
            "its rate property", required_rate));
    return FALSE;
  }
  p.sample_rate = GST_AUDIO_INFO_RATE (ainfo);
  if ((guint64) self->frames * p.n_mels > (G_GUINT64_CONSTANT (1) << 26)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Output tensors too large"),
        ("frames-per-buffer %u x n-mels %d exceeds 2^26 values (256 MiB)",
            self->frames, p.n_mels));
    return FALSE;
  }
  if (!affect_mel_params_validate (&p, &error)) {
    GstCaps *caps = gst_audio_info_to_caps (ainfo);

    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("%s", error->message),
        ("input caps %" GST_PTR_FORMAT, caps));
    gst_caps_unref (caps);
    g_error_free (error);
    return FALSE;
  }

  /* the previous configuration's pending frames go out with it */
  finish_signal (self);
  free_plan (self);
  self->plan = affect_mel_plan_new (&p);
  if (self->plan == NULL) {
    GST_ELEMENT_ERROR (self, CORE, FAILED, (NULL),
        ("FFTW could not plan a %d-point transform", p.n_fft));
    return FALSE;
  }
  self->stream = affect_mel_stream_new (self->plan);
  self->active = *affect_mel_plan_get_params (self->plan);
  if (affect_mel_plan_n_empty_bands (self->plan) > 0)
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("Some Mel bands are always zero"),
        ("%d of %d bands cover no FFT bin: lower n-mels or raise n-fft",
            affect_mel_plan_n_empty_bands (self->plan), p.n_mels));
  return TRUE;
}

/* Parameters that cannot work whatever the stream (win-length above n-fft,
 * fmin not below an explicit fmax, fmax above the Nyquist frequency of the
 * rate a preset or the rate property fixes) fail the READY to PAUSED
 * change, before any data, with one error naming the property */
static gboolean
check_params (GstAffectMel * self)
{
  AffectMelParams p;
  GError *error = NULL;
  gint rate;

  GST_OBJECT_LOCK (self);
  effective_params (self, &p, &rate);
  GST_OBJECT_UNLOCK (self);
  /* with no rate fixed, every rate-dependent check waits for the caps */
  p.sample_rate = rate != 0 ? rate : G_MAXINT;
  if (affect_mel_params_validate (&p, &error))
    return TRUE;
  GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("%s", error->message),
      ("%s", rate != 0 ? "the rate property or the preset fixes the rate" :
          "checked before the stream's rate is known"));
  g_error_free (error);
  return FALSE;
}


/* --------------------------------------------------------------- events */

static gboolean
gst_affect_mel_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstAffectMel *self = GST_AFFECT_MEL (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstPad *pad = GST_BASE_TRANSFORM_SINK_PAD (trans);
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
    case GST_EVENT_SEGMENT:{
      GstSegment segment;

      /* the same segment again (affectsrc's drain at an item's end) keeps
       * the timeline; a new one completes what came before on the old */
      gst_event_copy_segment (event, &segment);
      if (!gst_segment_is_equal (&segment, &trans->segment)) {
        finish_signal (self);
        reset_timeline (self);
      }
      break;
    }
    case GST_EVENT_FLUSH_STOP:
      reset_timeline (self);
      break;
    case GST_EVENT_GAP:{
      GstFlowReturn ret = fill_gap (self, event);
      gst_event_unref (event);
      return ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING;
    }
    case GST_EVENT_EOS:
      finish_signal (self);
      break;
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      /* an item's frames lie between its start and end events */
      if (gst_affect_event_is_item_start (event)
          || gst_affect_event_is_item_end (event)) {
        finish_signal (self);
        g_clear_pointer (&self->item_id, g_free);
        g_clear_pointer (&self->item_path, g_free);
      }
      if (gst_affect_event_is_item_start (event)) {
        GstAffectItem *item = gst_affect_item_parse_start_event (event);
        if (item) {
          self->item_id = g_strdup (item->id);
          self->item_path = g_strdup (item->path);
          gst_affect_item_free (item);
        }
      }
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* -------------------------------------------------------------- queries */

/* The sink pad offers (and accepts) the template at the parameters' rate,
 * whatever downstream takes; the source pad offers its current caps, or
 * the template before any; latency adds the frames a buffer waits for. */
static gboolean
gst_affect_mel_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstAffectMel *self = GST_AFFECT_MEL (trans);
  GstPad *pad = direction == GST_PAD_SINK ? GST_BASE_TRANSFORM_SINK_PAD (trans)
      : GST_BASE_TRANSFORM_SRC_PAD (trans);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS:{
      GstCaps *caps;

      if (direction == GST_PAD_SINK) {
        caps = make_sink_caps (self);
      } else {
        caps = gst_pad_get_current_caps (pad);
        if (caps == NULL)
          caps = gst_pad_get_pad_template_caps (pad);
      }
      gst_affect_caps_answer_query (query, caps);
      return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS:
      if (direction != GST_PAD_SINK)
        break;
      gst_affect_caps_answer_query (query, make_sink_caps (self));
      return TRUE;
    case GST_QUERY_LATENCY:{
      gboolean live;
      GstClockTime min, max, ours;

      if (direction != GST_PAD_SRC)
        break;
      if (!gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (trans), query))
        return FALSE;
      if (self->plan == NULL)
        return TRUE;
      gst_query_parse_latency (query, &live, &min, &max);
      /* a buffer waits for its last frame's look-ahead: frame t of the
       * buffer's first frame t0 needs samples up to (t0 + F - 1)·hop +
       * lookahead */
      ours = gst_util_uint64_scale_int_ceil ((guint64) (self->frames - 1) *
          self->active.hop + affect_mel_plan_lookahead (self->plan),
          GST_SECOND, self->active.sample_rate);
      min += ours;
      if (GST_CLOCK_TIME_IS_VALID (max))
        max += ours;
      gst_query_set_latency (query, live, min, max);
      return TRUE;
    }
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction,
      query);
}

/* -------------------------------------------------------------- lifetime */

static gboolean
gst_affect_mel_start (GstBaseTransform * trans)
{
  GstAffectMel *self = GST_AFFECT_MEL (trans);

  if (!check_params (self))
    return FALSE;
  reset_timeline (self);
  return TRUE;
}

static gboolean
gst_affect_mel_stop (GstBaseTransform * trans)
{
  GstAffectMel *self = GST_AFFECT_MEL (trans);

  free_plan (self);
  g_clear_pointer (&self->item_id, g_free);
  g_clear_pointer (&self->item_path, g_free);
  return TRUE;
}

static void
gst_affect_mel_finalize (GObject * object)
{
  GstAffectMel *self = GST_AFFECT_MEL (object);

  free_plan (self);
  g_free (self->item_id);
  g_free (self->item_path);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_affect_mel_init (GstAffectMel * self)
{
  /* not a pass-through, though it has no transform function */
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);
  gst_affect_props_init (G_OBJECT (self));
  /* the fields no property sets; user_set says none is set yet */
  affect_mel_params_init (&self->user, DEFAULT_PRESET);
  self->user_set = 0;
  reset_timeline (self);
  gst_affect_gap_reset (&self->gap);
}



static void
gst_affect_mel_class_init (GstAffectMelClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstAudioFilterClass *filter_class = GST_AUDIO_FILTER_CLASS (klass);

  gst_affect_props_install (gobject_class, properties,
      G_N_ELEMENTS (properties), G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY);
  gobject_class->set_property = gst_affect_mel_set_property;
  gobject_class->get_property = gst_affect_mel_get_property;
  gobject_class->finalize = gst_affect_mel_finalize;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_affect_mel_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_affect_mel_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_affect_mel_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_affect_mel_query);
  trans_class->transform_caps =
      GST_DEBUG_FUNCPTR (gst_affect_mel_transform_caps);
  trans_class->submit_input_buffer =
      GST_DEBUG_FUNCPTR (gst_affect_mel_submit_input_buffer);
  trans_class->generate_output =
      GST_DEBUG_FUNCPTR (gst_affect_mel_generate_output);
  /* audio in, tensors out: no buffers to share with either neighbour */
  trans_class->propose_allocation = NULL;
  filter_class->setup = GST_DEBUG_FUNCPTR (gst_affect_mel_setup);


  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Mel spectrogram", "Filter/Analyzer/Audio",
      "Computes Mel spectrogram frames (STFT with FFTW, Mel filterbank, "
      "log) of mono audio as other/tensors",
      "gst-affect <https://example.invalid/gst-affect>");


  GST_DEBUG_CATEGORY_INIT (gst_affect_mel_debug, "affectmel", 0,
      "Mel spectrogram");
}

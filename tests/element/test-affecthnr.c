/* affecthnr: generated items inherit their labels (rewritten item events),
 * one reconstructed buffer per item with the item's length and timestamp,
 * the reconstruction is close to the input, deterministic per item id, the
 * stream without items, bad settings on the bus, and a whole pipeline from
 * affectsrc over the built-in music corpus. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstharness.h>

#include "affect/hnr.h"
#include "affect/synth.h"
#include "gstaffectitem.h"
#include "refusal.h"

#define RATE 16000
#define CAPS "audio/x-raw,format=F32LE,layout=interleaved,rate=16000,channels=1"

/* 0.5 s of a 220 Hz tone with 8 harmonics and a little noise */
static float *
make_tone (size_t n)
{
  float *x = g_new (float, n);
  size_t i;
  int h;
  guint32 state = 1;

  for (i = 0; i < n; i++) {
    double acc = 0.0;
    for (h = 1; h <= 8; h++)
      acc += sin (2 * M_PI * 220.0 * h * i / RATE) / h;
    state = state * 1664525u + 1013904223u;
    x[i] = (float) (0.1 * acc + 0.002 * ((state >> 8) / 8388608.0 - 1.0));
  }
  return x;
}

static GstAffectItem *
make_item (const gchar * id)
{
  const gchar *vocab[] = { "activated_pleasant", "deactivated_pleasant",
    "activated_unpleasant", "deactivated_unpleasant", NULL
  };
  GstAffectItem *item = gst_affect_item_new (id);

  item->index = 3;
  item->split = g_strdup ("train");
  item->path = g_strdup ("/data/x.wav");
  g_assert_true (gst_affect_item_set_class (item, vocab,
          "activated_unpleasant"));
  gst_affect_item_set_target (item, "valence", 2.5);
  return item;
}

/* pushes one item (start, n samples in buffers of 800, end) */
static void
push_item (GstHarness * h, const gchar * id, const float *x, size_t n,
    GstClockTime pts)
{
  GstAffectItem *item = make_item (id);
  size_t off;

  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_start_event_new (item)));
  for (off = 0; off < n; off += 800) {
    size_t len = MIN (800, n - off);
    GstBuffer *buf = gst_buffer_new_memdup (x + off, len * sizeof (float));
    GST_BUFFER_PTS (buf) = pts + gst_util_uint64_scale_int (off, GST_SECOND,
        RATE);
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale_int (len, GST_SECOND,
        RATE);
    g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
  }
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_end_event_new (item)));
  gst_affect_item_free (item);
}

/* the next custom event downstream of the element, skipping sticky ones */
static GstEvent *
pull_custom_event (GstHarness * h)
{
  GstEvent *ev;

  while ((ev = gst_harness_try_pull_event (h))) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_CUSTOM_DOWNSTREAM)
      return ev;
    gst_event_unref (ev);
  }
  return NULL;
}

static void
test_item_rewritten (void)
{
  GstHarness *h = gst_harness_new ("affecthnr");
  size_t n = RATE / 2;
  float *x = make_tone (n);
  GstEvent *ev;
  GstAffectItem *item;
  GstBuffer *out;
  GstMapInfo map;
  gdouble v = 0;
  guint index = 0;
  double lsd;

  gst_harness_set_src_caps_str (h, CAPS);
  push_item (h, "track_0000007", x, n, 2 * GST_SECOND);

  ev = pull_custom_event (h);
  g_assert_nonnull (ev);
  item = gst_affect_item_parse_start_event (ev);
  g_assert_nonnull (item);
  g_assert_cmpstr (item->id, ==, "track_0000007-hnr");
  g_assert_cmpstr (item->origin, ==, "generated");
  g_assert_cmpstr (item->split, ==, "train");
  g_assert_cmpstr (item->class_name, ==, "activated_unpleasant");
  g_assert_cmpint (item->task, ==, GST_AFFECT_TASK_CLASS);
  g_assert_cmpfloat (item->labels[2], ==, 1.0f);
  g_assert_cmpuint (item->index, ==, 3);
  g_assert_true (gst_affect_item_get_target (item, "valence", &v));
  g_assert_cmpfloat (v, ==, 2.5);
  gst_affect_item_free (item);
  gst_event_unref (ev);

  /* one buffer: the whole item, at its first timestamp */
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 1);
  out = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_PTS (out), ==, 2 * GST_SECOND);
  g_assert_cmpuint (GST_BUFFER_DURATION (out), ==, GST_SECOND / 2);
  gst_buffer_map (out, &map, GST_MAP_READ);
  g_assert_cmpuint (map.size, ==, n * sizeof (float));
  lsd = affect_log_spectral_distance (x, (const float *) map.data, n, 512,
      256, 16);
  g_test_message ("220 Hz tone through affecthnr: 16-band LSD %.2f dB", lsd);
  g_assert_cmpfloat (lsd, <, 2.0);
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);

  ev = pull_custom_event (h);
  g_assert_nonnull (ev);
  g_assert_cmpstr (gst_affect_item_parse_end_event (ev, &index), ==,
      "track_0000007-hnr");
  g_assert_cmpuint (index, ==, 3);
  gst_event_unref (ev);

  gst_harness_teardown (h);
  g_free (x);
}

static GstBuffer *
run_one (const gchar * id, guint64 seed, const float *x, size_t n)
{
  GstHarness *h = gst_harness_new ("affecthnr");
  GstBuffer *out;

  g_object_set (h->element, "seed", seed, "id-suffix", "-g", NULL);
  gst_harness_set_src_caps_str (h, CAPS);
  push_item (h, id, x, n, 0);
  out = gst_harness_pull (h);
  gst_harness_teardown (h);
  return out;
}

static void
test_deterministic (void)
{
  size_t n = RATE / 4;
  float *x = make_tone (n);
  GstBuffer *a = run_one ("a", 1, x, n), *b = run_one ("a", 1, x, n);
  GstBuffer *c = run_one ("b", 1, x, n), *d = run_one ("a", 2, x, n);

  {
    GstMapInfo ma, mb, mc, md;
    gst_buffer_map (a, &ma, GST_MAP_READ);
    gst_buffer_map (b, &mb, GST_MAP_READ);
    gst_buffer_map (c, &mc, GST_MAP_READ);
    gst_buffer_map (d, &md, GST_MAP_READ);
    g_assert_cmpint (memcmp (ma.data, mb.data, ma.size), ==, 0);
    /* the noise depends on the item and on the seed */
    g_assert_cmpint (memcmp (ma.data, mc.data, ma.size), !=, 0);
    g_assert_cmpint (memcmp (ma.data, md.data, ma.size), !=, 0);
    gst_buffer_unmap (a, &ma);
    gst_buffer_unmap (b, &mb);
    gst_buffer_unmap (c, &mc);
    gst_buffer_unmap (d, &md);
  }
  gst_buffer_unref (a);
  gst_buffer_unref (b);
  gst_buffer_unref (c);
  gst_buffer_unref (d);
  g_free (x);
}

static void
test_no_items (void)
{
  GstHarness *h = gst_harness_new ("affecthnr");
  size_t n = RATE / 4, off;
  float *x = make_tone (n);
  GstBuffer *out;

  gst_harness_set_src_caps_str (h, CAPS);
  for (off = 0; off < n; off += 1000) {
    GstBuffer *buf = gst_buffer_new_memdup (x + off, 1000 * sizeof (float));
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (off, GST_SECOND, RATE);
    g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
  }
  /* nothing until the end of the stream */
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 0);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 1);
  out = gst_harness_pull (h);
  g_assert_cmpuint (gst_buffer_get_size (out), ==, n * sizeof (float));
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_free (x);
}

static void
test_bad_settings (void)
{
  GstHarness *h = gst_harness_new ("affecthnr");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;
  size_t n = RATE / 8;
  float *x = make_tone (n);
  const gchar *f0_max[] = { "f0-max=5000", "8000 Hz", NULL };
  const gchar *f0_order[] = { "f0-min=500", "f0-max=400", NULL };

  gst_element_set_bus (h->element, bus);
  /* a 64-sample window cannot hold two periods of 60 Hz: the caps are
   * refused, with one error however often they are sent */
  g_object_set (h->element, "window", 64, NULL);
  gst_harness_set_src_caps_str (h, CAPS);
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (x,
              n * sizeof (float))), ==, GST_FLOW_NOT_NEGOTIATED);
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (x,
              n * sizeof (float))), ==, GST_FLOW_NOT_NEGOTIATED);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &err, NULL);
  g_test_message ("error: %s", err->message);
  g_assert_nonnull (strstr (err->message, "window=64"));
  g_assert_nonnull (strstr (err->message, "f0-min=60"));
  g_error_free (err);
  gst_message_unref (msg);
  g_assert_null (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR));
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (x);

  /* f0-max above the stream's Nyquist frequency ends a pipeline */
  assert_refused ("audiotestsrc num-buffers=20 ! "
      "audio/x-raw,format=F32LE,channels=1,rate=8000 ! "
      "affecthnr name=hnr f0-max=5000 ! fakesink", "hnr", f0_max);
  /* f0-min above f0-max: refused before any data */
  assert_refused ("audiotestsrc num-buffers=20 ! "
      "audio/x-raw,format=F32LE,channels=1,rate=8000 ! "
      "affecthnr name=hnr f0-min=500 f0-max=400 ! fakesink", "hnr", f0_order);
}

/* NaN/Inf audio: a warning naming the item, finite output, and a distance
 * in the affect-hnr message that is a number */
static void
test_non_finite (void)
{
  GstHarness *h = gst_harness_new ("affecthnr");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;
  const GstStructure *s;
  size_t n = RATE / 2, i;
  float *x = make_tone (n);
  GstBuffer *out;
  GstMapInfo map;
  double lsd = 0.0, lsd_bands = 0.0;

  gst_element_set_bus (h->element, bus);
  for (i = 1000; i < 1010; i++)
    x[i] = NAN;
  x[3000] = INFINITY;
  gst_harness_set_src_caps_str (h, CAPS);
  push_item (h, "nan", x, n, 0);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  gst_message_parse_warning (msg, &err, NULL);
  g_test_message ("warning: %s", err->message);
  g_assert_nonnull (strstr (err->message, "nan"));
  g_assert_nonnull (strstr (err->message, "11 NaN/Inf"));
  g_error_free (err);
  gst_message_unref (msg);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  g_assert_nonnull (msg);
  s = gst_message_get_structure (msg);
  g_assert_true (gst_structure_has_name (s, "affect-hnr"));
  g_assert_true (gst_structure_get_double (s, "lsd", &lsd));
  g_assert_true (gst_structure_get_double (s, "lsd-bands", &lsd_bands));
  g_test_message ("lsd %.2f dB, lsd-bands %.2f dB", lsd, lsd_bands);
  g_assert_true (isfinite (lsd) && lsd >= 0.0);
  g_assert_true (isfinite (lsd_bands) && lsd_bands >= 0.0);
  gst_message_unref (msg);

  out = gst_harness_pull (h);
  gst_buffer_map (out, &map, GST_MAP_READ);
  g_assert_cmpuint (map.size, ==, n * sizeof (float));
  for (i = 0; i < n; i++)
    g_assert_true (isfinite (((const float *) map.data)[i]));
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (x);
}

/* a resampler's tail after an item's end belongs to no item: it passes
 * through unchanged and is not reconstructed as an item of its own */
static void
test_tail_between_items (void)
{
  GstHarness *h = gst_harness_new ("affecthnr");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  size_t n = RATE / 4;
  float *x = make_tone (n);
  float tail[32];
  GstBuffer *buf, *out;
  guint n_msgs = 0;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h, CAPS);
  push_item (h, "a", x, n, 0);
  memcpy (tail, x, sizeof (tail));
  buf = gst_buffer_new_memdup (tail, sizeof (tail));
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (n, GST_SECOND, RATE);
  g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));

  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 2);
  out = gst_harness_pull (h);
  g_assert_cmpuint (gst_buffer_get_size (out), ==, n * sizeof (float));
  gst_buffer_unref (out);
  out = gst_harness_pull (h);
  g_assert_cmpint (gst_buffer_memcmp (out, 0, tail, sizeof (tail)), ==, 0);
  gst_buffer_unref (out);
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    g_assert_cmpstr (gst_structure_get_string (gst_message_get_structure
            (msg), "id"), ==, "a-hnr");
    n_msgs++;
    gst_message_unref (msg);
  }
  g_assert_cmpuint (n_msgs, ==, 1);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (x);
}

/* ------------------------------------------- whole pipeline over a corpus */

typedef struct
{
  GPtrArray *starts;            /* GstAffectItem */
  guint ends, buffers;
} Seen;

static GstPadProbeReturn
sink_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Seen *seen = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    seen->buffers++;
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
    if (gst_affect_event_is_item_start (ev))
      g_ptr_array_add (seen->starts, gst_affect_item_parse_start_event (ev));
    else if (gst_affect_event_is_item_end (ev))
      seen->ends++;
  }
  return GST_PAD_PROBE_OK;
}

static void
rm_rf (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  const char *name;

  if (d) {
    while ((name = g_dir_read_name (d))) {
      gchar *child = g_build_filename (path, name, NULL);
      rm_rf (child);
      g_free (child);
    }
    g_dir_close (d);
  }
  g_remove (path);
}

static void
test_pipeline_corpus (void)
{
  gchar *tmp = g_dir_make_tmp ("affect-hnr-XXXXXX", NULL);
  AffectMusicCorpusParams p;
  GError *error = NULL;
  gchar *desc;
  GstElement *pipeline, *sink;
  GstPad *pad;
  GstBus *bus;
  GstMessage *msg;
  Seen seen = { g_ptr_array_new_with_free_func ((GDestroyNotify)
        gst_affect_item_free), 0, 0
  };
  guint n_msgs = 0, i;
  double lsd_sum = 0.0;

  affect_music_corpus_params_init (&p);
  p.out_dir = tmp;
  p.n_items = 8;
  p.seconds = 1.5;
  p.validation_fraction = 0.0;
  p.test_fraction = 0.0;
  g_assert_true (affect_music_corpus_write (&p, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  desc = g_strdup_printf ("affectsrc location=%s/match_train_labels.csv "
      "root=%s/audio ! audioconvert ! audioresample ! %s ! affecthnr seed=3 "
      "! fakesink name=sink", tmp, tmp, CAPS);
  pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, sink_probe, &seen, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
              GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *e;
      gst_message_parse_error (msg, &e, NULL);
      g_error ("pipeline error: %s", e->message);
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      gst_message_unref (msg);
      break;
    }
    if (gst_message_has_name (msg, "affect-hnr")) {
      const GstStructure *s = gst_message_get_structure (msg);
      double lsd = 0;
      g_assert_true (gst_structure_get_double (s, "lsd-bands", &lsd));
      g_assert_true (g_str_has_suffix (gst_structure_get_string (s, "id"),
              "-hnr"));
      lsd_sum += lsd;
      n_msgs++;
    }
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);

  g_test_message ("8 music clips through affecthnr: mean 16-band LSD %.2f dB",
      lsd_sum / MAX (n_msgs, 1));
  g_assert_cmpuint (seen.starts->len, ==, 8);
  g_assert_cmpuint (seen.ends, ==, 8);
  g_assert_cmpuint (seen.buffers, ==, 8);
  g_assert_cmpuint (n_msgs, ==, 8);
  for (i = 0; i < seen.starts->len; i++) {
    GstAffectItem *it = g_ptr_array_index (seen.starts, i);
    g_assert_cmpstr (it->origin, ==, "generated");
    g_assert_true (g_str_has_suffix (it->id, "-hnr"));
    g_assert_nonnull (it->class_name);
    g_assert_cmpstr (it->split, ==, "train");
  }
  /* polyphonic music through a one-F0 model: the envelope still follows */
  g_assert_cmpfloat (lsd_sum / n_msgs, <, 6.0);
  g_ptr_array_unref (seen.starts);
  g_free (desc);
  rm_rf (tmp);
  g_free (tmp);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/affecthnr/item-rewritten", test_item_rewritten);
  g_test_add_func ("/affecthnr/deterministic", test_deterministic);
  g_test_add_func ("/affecthnr/no-items", test_no_items);
  g_test_add_func ("/affecthnr/bad-settings", test_bad_settings);
  g_test_add_func ("/affecthnr/non-finite", test_non_finite);
  g_test_add_func ("/affecthnr/tail-between-items", test_tail_between_items);
  g_test_add_func ("/affecthnr/pipeline-corpus", test_pipeline_corpus);
  return g_test_run ();
}

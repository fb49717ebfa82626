/* Outputs with nothing to send yet let pipelines run (docs/protocol.md,
 * "Time without data"): live pipelines with branches and default sinks
 * keep posting windows and predictions, an offline gate whose first items
 * all take one route prerolls and finishes, and so does an offline tee into
 * frame-level and item-level branches. Each pipeline runs
 * against a deadline, so a stall fails the test instead of hanging it. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstharness.h>

#include "affect/affect.h"
#include "affect/mlp.h"
#include "affect/nn.h"
#include "gstaffectitem.h"
#include "gstaffecttensor.h"

#define N_FEATURES 384
#define WINDOW_S 2.0
#define HOP_S 0.5
#define LIVE_SECONDS 8.0

static gchar *tmpdir;

/* an MLP 384-8-1 with random weights, as affectregress / affectgate read
 * it; the numbers do not matter here, only that vectors flow through */
static gchar *
write_model (const gchar * name, AffectActivation output, const gchar * label)
{
  AffectMlpConfig config = { 0 };
  GError *error = NULL;
  gchar *path = g_build_filename (tmpdir, name, NULL);
  AffectMlp *mlp;

  config.n_inputs = N_FEATURES;
  config.n_hidden = 1;
  config.hidden[0] = 8;
  config.n_outputs = 1;
  config.hidden_activation = AFFECT_ACTIVATION_RELU;
  config.output_activation = output;
  mlp = affect_mlp_new (&config, 7, &error);
  g_assert_no_error (error);
  affect_mlp_set_names (mlp, (const char *[]) {
        label, NULL
      });
  affect_mlp_set_metadata (mlp, "feature", "is09");
  g_assert_true (affect_mlp_save (mlp, path, &error));
  g_assert_no_error (error);
  affect_mlp_free (mlp);
  return path;
}

typedef struct
{
  guint count;                  /* messages called `name` from `sources` */
  gint64 last_us;               /* monotonic time of the last one */
  gdouble last_age;             /* seconds from it to the end of the run */
  gboolean eos, async_done;
} Tally;

/* Runs `launch` for at most `seconds` (or to EOS), counting the element
 * messages called `name` posted by an element whose name starts with
 * `source`; an error on the bus fails the test. */
static void
run (const gchar * launch, gdouble seconds, const gchar * name,
    const gchar * source, Tally * t, gdouble * elapsed)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (launch, &error);
  GstBus *bus;
  gint64 start, deadline;

  g_assert_no_error (error);
  memset (t, 0, sizeof *t);
  bus = gst_element_get_bus (pipeline);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  start = g_get_monotonic_time ();
  deadline = start + (gint64) (seconds * G_USEC_PER_SEC);
  while (!t->eos && g_get_monotonic_time () < deadline) {
    GstMessage *msg = gst_bus_timed_pop (bus, 50 * GST_MSECOND);

    if (msg == NULL)
      continue;
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ERROR:{
        gchar *dbg;
        gst_message_parse_error (msg, &error, &dbg);
        g_error ("error from %s: %s (%s)", GST_OBJECT_NAME (msg->src),
            error->message, dbg);
        break;
      }
      case GST_MESSAGE_EOS:
        t->eos = TRUE;
        break;
      case GST_MESSAGE_ASYNC_DONE:
        t->async_done = TRUE;
        break;
      case GST_MESSAGE_ELEMENT:
        if (gst_message_has_name (msg, name)
            && g_str_has_prefix (GST_OBJECT_NAME (msg->src), source)) {
          t->count++;
          t->last_us = g_get_monotonic_time ();
        }
        break;
      default:
        break;
    }
    gst_message_unref (msg);
  }
  *elapsed = (g_get_monotonic_time () - start) / (gdouble) G_USEC_PER_SEC;
  t->last_age = t->count == 0 ? INFINITY :
      (g_get_monotonic_time () - t->last_us) / (gdouble) G_USEC_PER_SEC;
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

/* windows of WINDOW_S every HOP_S that have ended after `elapsed` s */
static guint
windows_due (gdouble elapsed)
{
  return elapsed < WINDOW_S ? 0 : (guint) floor ((elapsed - WINDOW_S) /
      HOP_S) + 1;
}

/* the live sources start within a few hundred ms and the queues may hold
 * a second: allow 3 windows (1.5 s) behind the ideal count, none beyond
 * one ahead */
static void
check_live (const Tally * t, gdouble elapsed, const gchar * what)
{
  guint due = windows_due (elapsed);

  g_test_message ("%.2f s: %u %s, %u windows due, last %.2f s ago",
      elapsed, t->count, what, due, t->last_age);
  g_assert_true (t->async_done);
  g_assert_cmpuint (t->count + 3, >=, due);
  g_assert_cmpuint (t->count, <=, due + 1);
  /* they keep arriving: one every HOP_S */
  g_assert_cmpfloat (t->last_age, <, 3 * HOP_S);
}

/* a live tee into affectmel and windowed affectis09, default sinks */
static void
test_live_tee (void)
{
  gchar *launch = g_strdup_printf ("audiotestsrc is-live=true wave=pink-noise "
      "! audio/x-raw,format=F32LE,rate=16000,channels=1 ! tee name=t "
      "t. ! queue ! affectmel ! fakesink "
      "t. ! queue ! affectis09 name=is09 window=%" G_GUINT64_FORMAT
      " hop=%" G_GUINT64_FORMAT " post-messages=true ! fakesink",
      (guint64) (WINDOW_S * GST_SECOND), (guint64) (HOP_S * GST_SECOND));
  Tally t;
  gdouble elapsed;

  run (launch, LIVE_SECONDS, "affect-is09", "is09", &t, &elapsed);
  check_live (&t, elapsed, "windows");
  g_free (launch);
}

/* live windowed affectis09 → affectgate → affectregress on each route,
 * default sinks: whichever route a window takes, the other gets a GAP */
static void
test_live_gate (void)
{
  gchar *gate = write_model ("gate.safetensors", AFFECT_ACTIVATION_SIGMOID,
      "spontaneity");
  gchar *reg = write_model ("valence.safetensors", AFFECT_ACTIVATION_IDENTITY,
      "valence");
  gchar *launch = g_strdup_printf ("audiotestsrc is-live=true wave=pink-noise "
      "! audio/x-raw,format=F32LE,rate=16000,channels=1 ! affectis09 "
      "window=%" G_GUINT64_FORMAT " hop=%" G_GUINT64_FORMAT " ! "
      "affectgate name=g model-file=%s "
      "g.src_0 ! queue ! affectregress name=reg0 model-file=%s ! fakesink "
      "g.src_1 ! queue ! affectregress name=reg1 model-file=%s ! fakesink",
      (guint64) (WINDOW_S * GST_SECOND), (guint64) (HOP_S * GST_SECOND),
      gate, reg, reg);
  Tally t;
  gdouble elapsed;

  run (launch, LIVE_SECONDS, "affect-prediction", "reg", &t, &elapsed);
  check_live (&t, elapsed, "predictions");
  g_free (launch);
  g_free (gate);
  g_free (reg);
}

/* one short WAV of pink noise */
static gchar *
write_wav (const gchar * name, guint n_buffers)
{
  gchar *path = g_build_filename (tmpdir, name, NULL);
  gchar *launch = g_strdup_printf ("audiotestsrc wave=pink-noise "
      "num-buffers=%u samplesperbuffer=1600 ! "
      "audio/x-raw,format=S16LE,rate=16000,channels=1 ! wavenc ! "
      "filesink location=\"%s\"", n_buffers, path);
  Tally t;
  gdouble elapsed;

  run (launch, 10.0, "none", "none", &t, &elapsed);
  g_assert_true (t.eos);
  g_free (launch);
  return path;
}

/* offline: the first N_FIRST items all go to src_0 (their label says so),
 * the rest to src_1; default sinks preroll (src_1's on the GAPs) and every
 * item gets its prediction */
#define N_FIRST 24
#define N_ITEMS 30
static void
test_offline_gate (void)
{
  gchar *wav = write_wav ("utt.wav", 5);        /* 0.5 s */
  gchar *reg = write_model ("valence.safetensors", AFFECT_ACTIVATION_IDENTITY,
      "valence");
  gchar *manifest = g_build_filename (tmpdir, "items.csv", NULL);
  GString *csv = g_string_new ("id,path,spontaneity\n");
  gchar *launch;
  Tally t;
  gdouble elapsed;
  guint i;

  for (i = 0; i < N_ITEMS; i++)
    g_string_append_printf (csv, "utt%02u,%s,%d\n", i, wav, i < N_FIRST);
  g_assert_true (g_file_set_contents (manifest, csv->str, -1, NULL));
  launch = g_strdup_printf ("affectsrc location=%s ! audioconvert ! "
      "audioresample ! audio/x-raw,format=F32LE,channels=1,rate=16000 ! "
      "affectis09 ! affectgate name=g route-by=label "
      "g.src_0 ! queue ! affectregress name=reg0 model-file=%s ! fakesink "
      "g.src_1 ! queue ! affectregress name=reg1 model-file=%s ! fakesink",
      manifest, reg, reg);
  run (launch, 30.0, "affect-prediction", "reg", &t, &elapsed);
  g_test_message ("%u predictions in %.2f s, EOS %d", t.count, elapsed, t.eos);
  g_assert_true (t.eos);
  g_assert_cmpuint (t.count, ==, N_ITEMS);
  g_string_free (csv, TRUE);
  g_free (launch);
  g_free (manifest);
  g_free (reg);
  g_free (wav);
}

/* offline: a tee into branches that output at once (Mel frames) and at
 * the item's end (IS09 functionals, the HNR reconstruction); items longer
 * than a default queue holds. The item-level branches' sinks preroll on
 * GAPs, so the Mel sink does not wait alone in preroll with a full queue. */
static void
test_offline_tee (void)
{
  gchar *wav = write_wav ("long.wav", 50);      /* 5 s */
  gchar *manifest = g_build_filename (tmpdir, "long.csv", NULL);
  gchar *csv = g_strdup_printf ("id,path\na,%s\nb,%s\nc,%s\n", wav, wav,
      wav);
  gchar *launch;
  Tally t;
  gdouble elapsed;

  g_assert_true (g_file_set_contents (manifest, csv, -1, NULL));
  launch = g_strdup_printf ("affectsrc location=%s ! audioconvert ! "
      "audioresample ! audio/x-raw,format=F32LE,channels=1,rate=16000 ! "
      "tee name=t t. ! queue ! affectmel ! fakesink "
      "t. ! queue ! affectis09 name=is09 post-messages=true ! fakesink "
      "t. ! queue ! affecthnr ! fakesink", manifest);
  run (launch, 30.0, "affect-is09", "is09", &t, &elapsed);
  g_test_message ("%u vectors in %.2f s, EOS %d", t.count, elapsed, t.eos);
  g_assert_true (t.eos);
  g_assert_cmpuint (t.count, ==, 3);
  g_free (launch);
  g_free (csv);
  g_free (manifest);
  g_free (wav);
}

/* ---------------------------------------------------- GAP, element level */

#define RATE 16000

static GstBuffer *
noise_buffer (guint n, guint32 seed, GstClockTime pts)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, n * sizeof (float), NULL);
  GstMapInfo map;
  GRand *rand = g_rand_new_with_seed (seed);
  guint i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < n; i++)
    ((float *) map.data)[i] = (float) g_rand_double_range (rand, -0.3, 0.3);
  gst_buffer_unmap (buf, &map);
  g_rand_free (rand);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale_int (n, GST_SECOND, RATE);
  return buf;
}

/* every byte the element outputs for: 0.5 s of noise, then `silence` s
 * given as a GAP event (gap = TRUE) or as zeros, then 0.5 s of noise;
 * the first event after the segment is returned in *first */
static GBytes *
run_with_gap (const gchar * launch, gboolean gap, gdouble silence,
    GstEvent ** first)
{
  GstHarness *h = gst_harness_new_parse (launch);
  const guint half = RATE / 2, n_sil = (guint) (silence * RATE);
  GstClockTime t_sil = gst_util_uint64_scale_int (half, GST_SECOND, RATE);
  GstClockTime t_end = gst_util_uint64_scale_int (half + n_sil, GST_SECOND,
      RATE);
  GByteArray *out = g_byte_array_new ();
  GstBuffer *buf;
  GstEvent *ev;

  gst_harness_set_src_caps_str (h, "audio/x-raw,format=F32LE,channels=1,"
      "rate=16000,layout=interleaved");
  g_assert_cmpint (gst_harness_push (h, noise_buffer (half, 1, 0)), ==,
      GST_FLOW_OK);
  if (gap) {
    g_assert_true (gst_harness_push_event (h, gst_event_new_gap (t_sil,
                t_end - t_sil)));
  } else {
    buf = gst_buffer_new_allocate (NULL, n_sil * sizeof (float), NULL);
    gst_buffer_memset (buf, 0, 0, n_sil * sizeof (float));
    GST_BUFFER_PTS (buf) = t_sil;
    g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
  }
  buf = noise_buffer (half, 2, t_end);
  GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));

  *first = NULL;
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    GstEventType type = GST_EVENT_TYPE (ev);
    if (*first == NULL && type != GST_EVENT_STREAM_START
        && type != GST_EVENT_CAPS && type != GST_EVENT_SEGMENT)
      *first = gst_event_ref (ev);
    gst_event_unref (ev);
  }
  while ((buf = gst_harness_try_pull (h)) != NULL) {
    GstMapInfo map;
    gst_buffer_map (buf, &map, GST_MAP_READ);
    g_byte_array_append (out, map.data, map.size);
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);
  return g_byte_array_free_to_bytes (out);
}

/* a GAP on the audio input is silence up to its end: the same output,
 * bit for bit, as zeros; the element's own first event is its preroll GAP
 * at the first sample's time */
static void
check_gap_is_silence (const gchar * launch)
{
  GstEvent *first_gap, *first_zeros;
  GBytes *with_gap = run_with_gap (launch, TRUE, 0.3, &first_gap);
  GBytes *with_zeros = run_with_gap (launch, FALSE, 0.3, &first_zeros);
  GstClockTime ts, dur;

  g_test_message ("%s: %" G_GSIZE_FORMAT " bytes out", launch,
      g_bytes_get_size (with_gap));
  g_assert_cmpuint (g_bytes_get_size (with_gap), >, 0);
  g_assert_true (g_bytes_equal (with_gap, with_zeros));
  g_assert_nonnull (first_gap);
  g_assert_cmpint (GST_EVENT_TYPE (first_gap), ==, GST_EVENT_GAP);
  gst_event_parse_gap (first_gap, &ts, &dur);
  g_assert_cmpuint (ts, ==, 0);
  g_assert_cmpuint (dur, ==, 0);
  gst_event_unref (first_gap);
  gst_event_unref (first_zeros);
  g_bytes_unref (with_gap);
  g_bytes_unref (with_zeros);
}

static void
test_gap_is09 (void)
{
  /* windows of 1 s every 0.25 s over the 1.3 s, and the whole stream */
  check_gap_is_silence ("affectis09 window=1000000000 hop=250000000");
  check_gap_is_silence ("affectis09");
}

static void
test_gap_mel (void)
{
  check_gap_is_silence ("affectmel n-fft=400 hop=160 n-mels=40 "
      "frames-per-buffer=200");
}

/* windows of 0.5 s every 1 s: the time no window covers is sent as GAPs
 * once it is past (input time - window), the windows' spans are not */
static void
test_gap_is09_windows (void)
{
  GstHarness *h = gst_harness_new_parse ("affectis09 window=500000000 "
      "hop=1000000000");
  const guint step = RATE / 10;
  GstClockTime covered[4] = { 0 }, gap_total = 0;
  GstBuffer *buf;
  GstEvent *ev;
  guint i, n_vec = 0;

  gst_harness_set_src_caps_str (h, "audio/x-raw,format=F32LE,channels=1,"
      "rate=16000,layout=interleaved");
  for (i = 0; i < 32; i++)      /* 3.2 s */
    g_assert_cmpint (gst_harness_push (h, noise_buffer (step, i,
                gst_util_uint64_scale_int (i * step, GST_SECOND, RATE))), ==,
        GST_FLOW_OK);
  while ((buf = gst_harness_try_pull (h)) != NULL) {
    g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, n_vec * GST_SECOND);
    g_assert_cmpuint (GST_BUFFER_DURATION (buf), ==, GST_SECOND / 2);
    n_vec++;
    gst_buffer_unref (buf);
  }
  g_assert_cmpuint (n_vec, ==, 3);      /* 0, 1, 2 s; 3 s is unfinished */
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP) {
      GstClockTime ts, dur;
      gst_event_parse_gap (ev, &ts, &dur);
      if (dur > 0) {
        guint second = (guint) (ts / GST_SECOND);
        /* within the half second after a window, not before 0.5 s */
        g_assert_cmpuint (ts, >=, second * GST_SECOND + GST_SECOND / 2);
        g_assert_cmpuint (ts + dur, <=, (second + 1) * GST_SECOND);
        covered[second] += dur;
        gap_total += dur;
      }
    }
    gst_event_unref (ev);
  }
  /* up to 0.5 s after each window ... and up to 3.2 - 0.5 s at the end */
  g_assert_cmpuint (covered[0], ==, GST_SECOND / 2);
  g_assert_cmpuint (covered[1], ==, GST_SECOND / 2);
  g_assert_cmpuint (covered[2], ==, GST_SECOND / 5);
  g_assert_cmpuint (gap_total, ==, GST_SECOND * 6 / 5);
  gst_harness_teardown (h);
}

static void
test_gap_hnr (void)
{
  /* the whole stream is one item, reconstructed at EOS */
  check_gap_is_silence ("affecthnr seed=3");
}

/* the gate's idle route gets a GAP with the timestamp and duration of each
 * vector sent to the other route */
static void
test_gap_gate (void)
{
  GstElement *gate = gst_element_factory_make ("affectgate", NULL);
  GstHarness *h0, *h1;
  guint dims[1] = { N_FEATURES };
  GstAffectTensorInfo info;
  const gboolean spont[5] = { TRUE, TRUE, TRUE, FALSE, TRUE };
  float x[N_FEATURES] = { 0 };
  guint i, gaps[2] = { 0, 0 }, bufs[2] = { 0, 0 };

  g_object_set (gate, "route-by", 1 /* label */ , NULL);
  h0 = gst_harness_new_with_element (gate, "sink", "src_0");
  h1 = gst_harness_new_with_element (gate, NULL, "src_1");
  gst_affect_tensor_info_init (&info, 1, dims, 0, 1);
  gst_harness_set_src_caps (h0, gst_affect_tensor_caps_from_info (&info));
  for (i = 0; i < G_N_ELEMENTS (spont); i++) {
    gchar *id = g_strdup_printf ("utt%u", i);
    GstAffectItem *item = gst_affect_item_new (id);
    GstBuffer *buf = gst_buffer_new_memdup (x, sizeof x);

    item->index = i;
    gst_affect_item_set_column (item, "spontaneity",
        spont[i] ? "improvised" : "script");
    GST_BUFFER_PTS (buf) = i * GST_SECOND;
    GST_BUFFER_DURATION (buf) = GST_SECOND / 2 + i;
    g_assert_true (gst_harness_push_event (h0,
            gst_affect_item_start_event_new (item)));
    g_assert_cmpint (gst_harness_push (h0, buf), ==, GST_FLOW_OK);
    g_assert_true (gst_harness_push_event (h0,
            gst_affect_item_end_event_new (item)));
    gst_affect_item_free (item);
    g_free (id);
  }
  for (i = 0; i < 2; i++) {
    GstHarness *h = i == 0 ? h0 : h1;
    GstEvent *ev;
    GstBuffer *buf;

    while ((ev = gst_harness_try_pull_event (h)) != NULL) {
      if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP) {
        GstClockTime ts, dur;
        guint item;
        gst_event_parse_gap (ev, &ts, &dur);
        item = (guint) (ts / GST_SECOND);
        /* a GAP stands for an item routed to the other pad */
        g_assert_cmpuint (ts, ==, item * GST_SECOND);
        g_assert_cmpuint (dur, ==, GST_SECOND / 2 + item);
        g_assert_cmpint (spont[item] ? 0 : 1, ==, 1 - i);
        gaps[i]++;
      }
      gst_event_unref (ev);
    }
    while ((buf = gst_harness_try_pull (h)) != NULL) {
      bufs[i]++;
      gst_buffer_unref (buf);
    }
  }
  g_assert_cmpuint (bufs[0], ==, 4);
  g_assert_cmpuint (bufs[1], ==, 1);
  g_assert_cmpuint (gaps[0], ==, 1);
  g_assert_cmpuint (gaps[1], ==, 4);
  gst_harness_teardown (h1);
  gst_harness_teardown (h0);
  gst_object_unref (gate);
}

int
main (int argc, char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("affect-preroll-XXXXXX", NULL);
  g_test_add_func ("/preroll/live-tee", test_live_tee);
  g_test_add_func ("/preroll/live-gate", test_live_gate);
  g_test_add_func ("/preroll/offline-gate", test_offline_gate);
  g_test_add_func ("/preroll/offline-tee", test_offline_tee);
  g_test_add_func ("/preroll/gap-is09", test_gap_is09);
  g_test_add_func ("/preroll/gap-mel", test_gap_mel);
  g_test_add_func ("/preroll/gap-is09-windows", test_gap_is09_windows);
  g_test_add_func ("/preroll/gap-hnr", test_gap_hnr);
  g_test_add_func ("/preroll/gap-gate", test_gap_gate);
  ret = g_test_run ();
  {
    GDir *dir = g_dir_open (tmpdir, 0, NULL);
    const gchar *name;
    while (dir && (name = g_dir_read_name (dir))) {
      gchar *path = g_build_filename (tmpdir, name, NULL);
      g_unlink (path);
      g_free (path);
    }
    if (dir)
      g_dir_close (dir);
    g_rmdir (tmpdir);
  }
  g_free (tmpdir);
  return ret;
}

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

#include "affect/affect.h"
#include "affect/mlp.h"
#include "affect/nn.h"

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
  if (!t->eos)
    t->last_us -= g_get_monotonic_time ();      /* now: age, <= 0 */
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
      elapsed, t->count, what, due, -t->last_us / 1e6);
  g_assert_true (t->async_done);
  g_assert_cmpuint (t->count + 3, >=, due);
  g_assert_cmpuint (t->count, <=, due + 1);
  /* they keep arriving: one every HOP_S */
  g_assert_cmpint (-t->last_us, <, (gint64) (3 * HOP_S * G_USEC_PER_SEC));
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

/* affectmel: buffer-cut independence, sample-exact timestamps over an hour,
 * item boundaries, partial buffers, latency, presets, negotiation */
#include <string.h>
#include <math.h>
#include <gst/gst.h>
#include <gst/check/gstharness.h>

#include "affect/mel.h"
#include "gstaffectitem.h"
#include "gstaffecttensor.h"
#include "refusal.h"

#define AUDIO_CAPS(rate) "audio/x-raw, format=F32LE, channels=1, " \
  "layout=interleaved, rate=" G_STRINGIFY (rate)

static float *
make_signal (gsize n, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  float *x = g_new (float, MAX (n, 1));
  gsize i;

  for (i = 0; i < n; i++)
    x[i] = 0.4f * sinf (0.031f * i) + (float) g_rand_double_range (rand,
        -0.05, 0.05);
  g_rand_free (rand);
  return x;
}

static GstBuffer *
audio_buffer (const float *x, gsize n)
{
  return gst_buffer_new_memdup (x, n * sizeof (float));
}

/* Every output buffer's floats, appended */
typedef struct
{
  GArray *data;                 /* floats */
  GArray *pts, *offset, *offset_end;    /* guint64 per buffer */
  guint n_buffers;
} Collected;

static void
collect (GstHarness * h, Collected * c)
{
  GstBuffer *buf;

  if (c->data == NULL) {
    c->data = g_array_new (FALSE, FALSE, sizeof (float));
    c->pts = g_array_new (FALSE, FALSE, sizeof (guint64));
    c->offset = g_array_new (FALSE, FALSE, sizeof (guint64));
    c->offset_end = g_array_new (FALSE, FALSE, sizeof (guint64));
  }
  while ((buf = gst_harness_try_pull (h)) != NULL) {
    GstMapInfo map;
    guint64 v;

    gst_buffer_map (buf, &map, GST_MAP_READ);
    g_array_append_vals (c->data, map.data, map.size / sizeof (float));
    gst_buffer_unmap (buf, &map);
    v = GST_BUFFER_PTS (buf);
    g_array_append_val (c->pts, v);
    v = GST_BUFFER_OFFSET (buf);
    g_array_append_val (c->offset, v);
    v = GST_BUFFER_OFFSET_END (buf);
    g_array_append_val (c->offset_end, v);
    c->n_buffers++;
    gst_buffer_unref (buf);
  }
}

static void
collected_clear (Collected * c)
{
  g_array_unref (c->data);
  g_array_unref (c->pts);
  g_array_unref (c->offset);
  g_array_unref (c->offset_end);
}

#define MEL_LAUNCH "affectmel n-fft=512 hop=160 n-mels=40 fmin=20 " \
  "fmax=7600 log=db top-db=80 frames-per-buffer=3"

/* Random buffer sizes give the same frames, bit for bit, as one buffer */
static void
test_random_buffers (void)
{
  const gsize n = 16000 * 3 + 77;
  float *x = make_signal (n, 1);
  Collected whole = { 0 }, cut = { 0 };
  GRand *rand = g_rand_new_with_seed (42);
  GstHarness *h;
  gsize pos = 0;
  guint i;

  h = gst_harness_new_parse (MEL_LAUNCH);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS (16000));
  g_assert_cmpint (gst_harness_push (h, audio_buffer (x, n)), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  collect (h, &whole);
  gst_harness_teardown (h);

  h = gst_harness_new_parse (MEL_LAUNCH);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS (16000));
  while (pos < n) {
    gsize r = g_rand_int_range (rand, 1, 900), piece = MIN (r, n - pos);
    g_assert_cmpint (gst_harness_push (h, audio_buffer (x + pos, piece)), ==,
        GST_FLOW_OK);
    pos += piece;
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  collect (h, &cut);
  gst_harness_teardown (h);

  /* 1 + n / hop frames (centred), 3 per buffer, the last one partial */
  g_assert_cmpuint (whole.n_buffers, ==, (1 + n / 160 + 2) / 3);
  g_assert_cmpuint (cut.n_buffers, ==, whole.n_buffers);
  g_assert_cmpuint (cut.data->len, ==, whole.data->len);
  g_assert_true (memcmp (cut.data->data, whole.data->data,
          whole.data->len * sizeof (float)) == 0);
  for (i = 0; i < cut.n_buffers; i++) {
    guint64 first = g_array_index (cut.offset, guint64, i);
    g_assert_cmpuint (first, ==, 3 * i);
    g_assert_cmpuint (g_array_index (cut.pts, guint64, i), ==,
        gst_util_uint64_scale_int (first * 160, GST_SECOND, 16000));
  }
  /* the last buffer: 1 + n / hop = 301 frames → one valid frame of three,
   * the rest zeros */
  g_assert_cmpuint (g_array_index (cut.offset_end, guint64,
          cut.n_buffers - 1) - g_array_index (cut.offset, guint64,
          cut.n_buffers - 1), ==, (1 + n / 160) % 3);
  for (i = whole.data->len - 2 * 40; i < whole.data->len; i++)
    g_assert_cmpfloat (g_array_index (whole.data, float, i), ==, 0.0f);

  /* and the element's frames are the core's */
  {
    AffectMelParams p;
    AffectMelPlan *plan;
    float *ref = g_new (float, (1 + n / 160) * 40);

    affect_mel_params_init (&p, AFFECT_MEL_PRESET_LIBROSA);
    p.sample_rate = 16000;
    p.n_fft = 512;
    p.hop = 160;
    p.n_mels = 40;
    p.fmin = 20;
    p.fmax = 7600;
    p.log = AFFECT_MEL_LOG_DB;
    p.top_db = 80;
    plan = affect_mel_plan_new (&p);
    g_assert_cmpuint (affect_mel_execute (plan, x, n, ref), ==, 1 + n / 160);
    g_assert_true (memcmp (ref, whole.data->data,
            (1 + n / 160) * 40 * sizeof (float)) == 0);
    affect_mel_plan_free (plan);
    g_free (ref);
  }

  collected_clear (&whole);
  collected_clear (&cut);
  g_rand_free (rand);
  g_free (x);
}

/* An hour at 22050 Hz with hop 512: frame times are not whole nanoseconds,
 * yet every one is the exact rounding of t·hop/rate, and buffers tile time */
static void
test_hour_timestamps (void)
{
  const gint rate = 22050, hop = 512, fpb = 1000;
  const gsize second = rate, n_seconds = 3600;
  float *x = make_signal (second, 2);
  GstHarness *h;
  GstBuffer *buf;
  GstClockTime start = 5 * GST_SECOND, expected_end;
  guint64 frames = 0, n_frames = 1 + second * n_seconds / hop;
  gsize i;

  h = gst_harness_new_parse ("affectmel n-fft=1024 hop=512 n-mels=16 "
      "frames-per-buffer=1000");
  gst_harness_set_src_caps_str (h, AUDIO_CAPS (22050));
  for (i = 0; i < n_seconds; i++) {
    GstBuffer *in = audio_buffer (x, second);
    /* upstream stamps drift-free here, but the element must not need it */
    GST_BUFFER_PTS (in) = start + i * GST_SECOND;
    g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);
    while ((buf = gst_harness_try_pull (h)) != NULL) {
      GstClockTime pts = GST_BUFFER_PTS (buf);
      g_assert_cmpuint (GST_BUFFER_OFFSET (buf), ==, frames);
      g_assert_cmpuint (pts, ==, start + gst_util_uint64_scale_int (frames *
              hop, GST_SECOND, rate));
      g_assert_cmpuint (pts + GST_BUFFER_DURATION (buf), ==,
          start + gst_util_uint64_scale_int ((frames + fpb) * hop,
              GST_SECOND, rate));
      frames += fpb;
      gst_buffer_unref (buf);
    }
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  buf = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_OFFSET_END (buf), ==, n_frames);
  expected_end = start + gst_util_uint64_scale_int (n_frames * hop,
      GST_SECOND, rate);
  g_assert_cmpuint (GST_BUFFER_PTS (buf) + GST_BUFFER_DURATION (buf), ==,
      expected_end);
  /* the last frame lies at 3600 s minus less than one hop */
  g_assert_cmpuint (start + 3600 * GST_SECOND - GST_BUFFER_PTS (buf) -
      gst_util_uint64_scale_int ((n_frames - 1 - GST_BUFFER_OFFSET (buf)) *
          hop, GST_SECOND, rate), <,
      gst_util_uint64_scale_int (hop, GST_SECOND, rate));
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
  g_free (x);
}

static GstEvent *
item_event (const gchar * id, guint index, gboolean start)
{
  GstAffectItem *item = gst_affect_item_new (id);
  GstEvent *ev;

  item->index = index;
  ev = start ? gst_affect_item_start_event_new (item) :
      gst_affect_item_end_event_new (item);
  gst_affect_item_free (item);
  return ev;
}

/* Skips the sticky events harness adds, returns the next custom one */
static GstEvent *
next_custom_event (GstHarness * h)
{
  GstEvent *ev;

  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_CUSTOM_DOWNSTREAM)
      return ev;
    gst_event_unref (ev);
  }
  return NULL;
}

/* Each item's frames are complete (end padding at item end), computed as if
 * the item were alone, and lie between its start and end events */
static void
test_items (void)
{
  const gsize n1 = 5000, n2 = 3333;
  float *a = make_signal (n1, 3), *b = make_signal (n2, 4);
  GstHarness *h;
  AffectMelParams p;
  AffectMelPlan *plan;
  gsize f1, f2;
  float *ref;
  GstBuffer *buf;
  GstEvent *ev;
  GstMapInfo map;
  guint i;

  h = gst_harness_new_parse
      ("affectmel preset=mtg-jamendo frames-per-buffer=4");
  gst_harness_set_src_caps_str (h, AUDIO_CAPS (12000));
  affect_mel_params_init (&p, AFFECT_MEL_PRESET_MTG_JAMENDO);
  plan = affect_mel_plan_new (&p);
  f1 = affect_mel_n_frames (plan, n1);
  f2 = affect_mel_n_frames (plan, n2);
  ref = g_new (float, MAX (f1, f2) * 96);

  /* item 1, cut in two buffers */
  g_assert_true (gst_harness_push_event (h, item_event ("a", 0, TRUE)));
  gst_harness_push (h, audio_buffer (a, 1234));
  gst_harness_push (h, audio_buffer (a + 1234, n1 - 1234));
  /* before the end, only whole buffers of complete frames went out */
  g_assert_cmpuint (gst_harness_buffers_received (h), ==,
      ((n1 + 256 - 512) / 256 + 1) / 4);
  g_assert_true (gst_harness_push_event (h, item_event ("a", 0, FALSE)));
  /* at the end, the rest — pushed before the end event went on */
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, (f1 + 3) / 4);
  ev = next_custom_event (h);
  g_assert_true (gst_affect_event_is_item_start (ev));
  gst_event_unref (ev);
  ev = next_custom_event (h);
  g_assert_true (gst_affect_event_is_item_end (ev));
  gst_event_unref (ev);

  g_assert_cmpuint (affect_mel_execute (plan, a, n1, ref), ==, f1);
  for (i = 0; i < (f1 + 3) / 4; i++) {
    gsize valid = MIN (4, f1 - 4 * i);
    buf = gst_harness_pull (h);
    g_assert_cmpuint (gst_buffer_get_size (buf), ==, 4 * 96 * sizeof (float));
    g_assert_cmpuint (GST_BUFFER_OFFSET (buf), ==, 4 * i);
    g_assert_cmpuint (GST_BUFFER_OFFSET_END (buf), ==, 4 * i + valid);
    gst_buffer_map (buf, &map, GST_MAP_READ);
    g_assert_true (memcmp (map.data, ref + 4 * i * 96,
            valid * 96 * sizeof (float)) == 0);
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
  }

  /* item 2 starts on sample n1 of the stream: frame 0 is stamped there */
  g_assert_true (gst_harness_push_event (h, item_event ("b", 1, TRUE)));
  gst_harness_push (h, audio_buffer (b, n2));
  g_assert_true (gst_harness_push_event (h, item_event ("b", 1, FALSE)));
  g_assert_cmpuint (affect_mel_execute (plan, b, n2, ref), ==, f2);
  buf = gst_harness_pull (h);
  g_assert_true (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT));
  g_assert_cmpuint (GST_BUFFER_OFFSET (buf), ==, 0);
  g_assert_cmpuint (GST_BUFFER_PTS (buf), ==,
      gst_util_uint64_scale_int (n1, GST_SECOND, 12000));
  gst_buffer_map (buf, &map, GST_MAP_READ);
  g_assert_true (memcmp (map.data, ref, 4 * 96 * sizeof (float)) == 0);
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  g_assert_cmpuint (gst_harness_buffers_received (h), ==,
      (f1 + 3) / 4 + (f2 + 3) / 4);

  affect_mel_plan_free (plan);
  g_free (ref);
  g_free (a);
  g_free (b);
  gst_harness_teardown (h);
}

/* A DISCONT buffer with a time jump: the frames before it are completed,
 * and framing and time restart at the jump */
static void
test_gap (void)
{
  float *x = make_signal (8000, 6);
  GstHarness *h = gst_harness_new_parse ("affectmel n-fft=256 hop=128 "
      "n-mels=20");
  GstBuffer *in, *buf;
  guint n_before, i;

  gst_harness_set_src_caps_str (h, AUDIO_CAPS (8000));
  in = audio_buffer (x, 4000);
  GST_BUFFER_PTS (in) = 0;
  gst_harness_push (h, in);
  /* 4000 samples: 1 + 4000 / 128 = 32 frames once completed; 31 so far */
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 31);
  in = audio_buffer (x + 4000, 4000);
  GST_BUFFER_PTS (in) = 3 * GST_SECOND;
  GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
  gst_harness_push (h, in);
  n_before = 32;
  for (i = 0; i < n_before; i++) {
    buf = gst_harness_pull (h);
    g_assert_cmpuint (GST_BUFFER_OFFSET (buf), ==, i);
    g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, i * 16 * GST_MSECOND);
    gst_buffer_unref (buf);
  }
  buf = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_OFFSET (buf), ==, 0);
  g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, 3 * GST_SECOND);
  g_assert_true (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (buf);
  buf = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, 3 * GST_SECOND +
      16 * GST_MSECOND);
  gst_buffer_unref (buf);

  /* a DISCONT flag without a jump changes nothing */
  in = audio_buffer (x, 1000);
  GST_BUFFER_PTS (in) = 3 * GST_SECOND + GST_SECOND / 2;
  GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
  gst_harness_push (h, in);
  while ((buf = gst_harness_try_pull (h)) != NULL) {
    g_assert_cmpuint (GST_BUFFER_OFFSET (buf), >, 1);
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);
  g_free (x);
}

static void
test_latency (void)
{
  GstHarness *h = gst_harness_new_parse ("affectmel n-fft=400 hop=160 "
      "n-mels=40 frames-per-buffer=10");

  gst_harness_set_src_caps_str (h, AUDIO_CAPS (16000));
  gst_harness_set_upstream_latency (h, 10 * GST_MSECOND);
  /* the last of 10 frames needs samples up to 9 hops + n_fft/2 past the
   * buffer's time */
  g_assert_cmpuint (gst_harness_query_latency (h), ==,
      10 * GST_MSECOND + gst_util_uint64_scale_int_ceil (9 * 160 + 200,
          GST_SECOND, 16000));
  gst_harness_teardown (h);
}

static void
test_preset_overrides (void)
{
  GstElement *e = gst_element_factory_make ("affectmel", NULL);
  GstHarness *h;
  GstCaps *caps;
  GstStructure *s;
  gint v;
  gdouble d;
  gchar *str;

  /* explicit properties win whatever the order */
  g_object_set (e, "n-mels", 64, NULL);
  g_object_set (e, "preset", AFFECT_MEL_PRESET_MTG_JAMENDO, NULL);
  g_object_get (e, "n-mels", &v, NULL);
  g_assert_cmpint (v, ==, 64);
  g_object_get (e, "n-fft", &v, NULL);
  g_assert_cmpint (v, ==, 512);
  g_object_get (e, "rate", &v, NULL);
  g_assert_cmpint (v, ==, 12000);
  g_object_get (e, "scale", &d, NULL);
  g_assert_cmpfloat (d, ==, 0.01);
  gst_object_unref (e);

  h = gst_harness_new_parse ("affectmel preset=mtg-jamendo");
  gst_harness_set_src_caps_str (h, AUDIO_CAPS (12000));
  caps = gst_pad_get_current_caps (h->sinkpad);
  s = gst_caps_get_structure (caps, 0);
  g_assert_cmpstr (gst_structure_get_string (s, "dimensions"), ==, "96:1");
  g_assert_cmpstr (gst_structure_get_string (s, "feature"), ==, "mel");
  g_assert_cmpstr (gst_structure_get_string (s, "preset"), ==, "mtg-jamendo");
  g_assert_cmpstr (gst_structure_get_string (s, "log"), ==, "db");
  g_assert_true (gst_structure_get_int (s, "n-fft", &v) && v == 512);
  g_assert_true (gst_structure_get_int (s, "sample-rate", &v) && v == 12000);
  str = gst_caps_to_string (caps);
  g_assert_nonnull (strstr (str, "framerate=(fraction)375/8"));
  g_free (str);
  gst_caps_unref (caps);
  gst_harness_teardown (h);

  h = gst_harness_new_parse ("affectmel preset=musicnn hop=160 "
      "frames-per-buffer=4");
  gst_harness_set_src_caps_str (h, AUDIO_CAPS (16000));
  caps = gst_pad_get_current_caps (h->sinkpad);
  s = gst_caps_get_structure (caps, 0);
  g_assert_cmpstr (gst_structure_get_string (s, "preset"), ==, "custom");
  g_assert_cmpstr (gst_structure_get_string (s, "dimensions"), ==, "96:4");
  str = gst_caps_to_string (caps);
  g_assert_nonnull (strstr (str, "framerate=(fraction)25/1"));
  g_free (str);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
}

/* A preset made for 12 kHz refuses 16 kHz; impossible parameters refuse
 * negotiation rather than run */
static void
test_negotiation_errors (void)
{
  float x[1024] = { 0 };
  GstHarness *h = gst_harness_new_parse ("affectmel preset=mtg-jamendo");

  gst_harness_set_src_caps_str (h, AUDIO_CAPS (16000));
  g_assert_cmpint (gst_harness_push (h, audio_buffer (x, 1024)), ==,
      GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);

  h = gst_harness_new_parse ("affectmel fmax=20000");
  gst_harness_set_src_caps_str (h, AUDIO_CAPS (16000));
  g_assert_cmpint (gst_harness_push (h, audio_buffer (x, 1024)), ==,
      GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

/* fmax above the stream's Nyquist frequency: one error naming fmax and the
 * rate, and the pipeline stops, every time (it used to be posted up to 9
 * times, and a run could hang) */
static void
test_fmax_refusal (void)
{
  const gchar *needles[] = { "fmax", "16000 Hz", NULL };
  guint i;

  for (i = 0; i < 20; i++)
    assert_refused ("audiotestsrc num-buffers=20 ! audioconvert ! "
        "audioresample ! audio/x-raw,format=F32LE,channels=1,rate=16000 ! "
        "affectmel name=mel fmax=20000 ! fakesink", "mel", needles);
}

/* Other properties the stream or each other cannot satisfy */
static void
test_property_refusals (void)
{
  const gchar *fmin[] = { "fmin=5000", "fmax=4000", NULL };
  const gchar *fmin_nyq[] = { "fmin=9000", "16000 Hz", NULL };
  const gchar *win[] = { "win-length=1024", "n-fft=512", NULL };
  const gchar *essentia[] = { "framing=essentia", "center", NULL };
  const gchar *preset[] = { "fmax=7000", "12000 Hz", NULL };

#define CHAIN "audiotestsrc num-buffers=20 ! " \
    "audio/x-raw,format=F32LE,channels=1,rate=16000 ! affectmel name=mel "
  assert_refused (CHAIN "fmin=5000 fmax=4000 ! fakesink", "mel", fmin);
  assert_refused (CHAIN "fmin=9000 ! fakesink", "mel", fmin_nyq);
  assert_refused (CHAIN "n-fft=512 win-length=1024 ! fakesink", "mel", win);
  assert_refused (CHAIN "framing=essentia center=false ! fakesink", "mel",
      essentia);
#undef CHAIN
  /* the preset fixes 12 kHz: its Nyquist frequency is known before data */
  assert_refused ("audiotestsrc num-buffers=20 ! "
      "audio/x-raw,format=F32LE,channels=1,rate=12000 ! "
      "affectmel name=mel preset=mtg-jamendo fmax=7000 ! fakesink", "mel",
      preset);
}

/* NaN and Inf in the input never reach the output */
static void
test_nonfinite_input (void)
{
  float *x = make_signal (4000, 5);
  GstHarness *h = gst_harness_new_parse ("affectmel n-fft=256 hop=128 "
      "n-mels=20 log=db frames-per-buffer=8");
  Collected c = { 0 };
  guint i;

  x[10] = NAN;
  x[2000] = INFINITY;
  gst_harness_set_src_caps_str (h, AUDIO_CAPS (8000));
  gst_harness_push (h, audio_buffer (x, 4000));
  gst_harness_push_event (h, gst_event_new_eos ());
  collect (h, &c);
  g_assert_cmpuint (c.data->len, >, 0);
  for (i = 0; i < c.data->len; i++)
    g_assert_true (isfinite (g_array_index (c.data, float, i)));
  collected_clear (&c);
  gst_harness_teardown (h);
  g_free (x);
}

/* A finite but huge item (a sine × 1e30) between two ordinary ones: its
 * samples are clamped, its frames stay finite, one warning names it (id and
 * file), and the next item is computed as if alone (before: its power
 * spectrum overflowed to Inf, silently) */
static void
test_huge_item (void)
{
  const gsize n = 4000;
  float *a = make_signal (n, 6), *big = make_signal (n, 7);
  GstHarness *h = gst_harness_new_parse ("affectmel n-fft=256 hop=128 "
      "n-mels=20 log=db frames-per-buffer=8");
  GstHarness *alone = gst_harness_new_parse ("affectmel n-fft=256 hop=128 "
      "n-mels=20 log=db frames-per-buffer=8");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  Collected c = { 0 }, ref = { 0 };
  GstAffectItem *item;
  guint i, n_warnings = 0;

  for (i = 0; i < n; i++)
    big[i] *= 1e30f;
  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS (8000));
  gst_harness_push_event (h, item_event ("a", 0, TRUE));
  gst_harness_push (h, audio_buffer (a, n));
  gst_harness_push_event (h, item_event ("a", 0, FALSE));
  item = gst_affect_item_new ("huge");
  item->index = 1;
  item->path = g_strdup ("/corpus/huge.wav");
  gst_harness_push_event (h, gst_affect_item_start_event_new (item));
  gst_harness_push (h, audio_buffer (big, n));
  gst_harness_push_event (h, gst_affect_item_end_event_new (item));
  gst_affect_item_free (item);
  gst_harness_push_event (h, item_event ("c", 2, TRUE));
  gst_harness_push (h, audio_buffer (a, n));
  gst_harness_push_event (h, item_event ("c", 2, FALSE));
  gst_harness_push_event (h, gst_event_new_eos ());
  collect (h, &c);

  while ((msg = gst_bus_pop (bus))) {
    g_assert_cmpint (GST_MESSAGE_TYPE (msg), !=, GST_MESSAGE_ERROR);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      GError *err;
      gst_message_parse_warning (msg, &err, NULL);
      g_test_message ("%s", err->message);
      g_assert_nonnull (strstr (err->message,
              "Item \"huge\" (/corpus/huge.wav): 0 NaN/Inf samples"));
      g_assert_nonnull (strstr (err->message, "4000 samples beyond"));
      g_error_free (err);
      n_warnings++;
    }
    gst_message_unref (msg);
  }
  g_assert_cmpuint (n_warnings, ==, 1);
  for (i = 0; i < c.data->len; i++)
    g_assert_true (isfinite (g_array_index (c.data, float, i)));
  /* three items of equal length: the third equals the first alone */
  gst_harness_set_src_caps_str (alone, AUDIO_CAPS (8000));
  gst_harness_push (alone, audio_buffer (a, n));
  gst_harness_push_event (alone, gst_event_new_eos ());
  collect (alone, &ref);
  g_assert_cmpuint (c.data->len, ==, 3 * ref.data->len);
  g_assert_cmpmem (c.data->data + 2 * ref.data->len * sizeof (float),
      ref.data->len * sizeof (float), ref.data->data,
      ref.data->len * sizeof (float));
  collected_clear (&c);
  collected_clear (&ref);
  gst_harness_teardown (h);
  gst_harness_teardown (alone);
  gst_object_unref (bus);
  g_free (a);
  g_free (big);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/affectmel/random-buffers", test_random_buffers);
  g_test_add_func ("/affectmel/hour-timestamps", test_hour_timestamps);
  g_test_add_func ("/affectmel/items", test_items);
  g_test_add_func ("/affectmel/huge-item", test_huge_item);
  g_test_add_func ("/affectmel/gap", test_gap);
  g_test_add_func ("/affectmel/latency", test_latency);
  g_test_add_func ("/affectmel/preset-overrides", test_preset_overrides);
  g_test_add_func ("/affectmel/negotiation-errors", test_negotiation_errors);
  g_test_add_func ("/affectmel/nonfinite-input", test_nonfinite_input);
  g_test_add_func ("/affectmel/fmax-refusal", test_fmax_refusal);
  g_test_add_func ("/affectmel/property-refusals", test_property_refusals);
  return g_test_run ();
}

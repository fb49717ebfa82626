/* affectis09 element: one vector between each item's start and end events,
 * whole-stream vector at EOS, sliding windows, LLD output, caps, warnings on
 * bad input. */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstharness.h>

#include "gstaffectitem.h"
#include "gstaffecttensor.h"
#include "refusal.h"
#include "affect/is09.h"

#define RATE 16000
#define AUDIO_CAPS "audio/x-raw,format=F32LE,channels=1,rate=16000," \
    "layout=interleaved"

static GstBuffer *
make_audio (gsize n, GstClockTime pts, gboolean with_nan)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, n * sizeof (float), NULL);
  GstMapInfo map;
  float *x;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  x = (float *) map.data;
  for (gsize i = 0; i < n; i++)
    x[i] = 0.3f * sinf (2.0f * G_PI * 200.0f * i / RATE);
  if (with_nan)
    x[n / 2] = NAN;
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (n, GST_SECOND, RATE);
  return buf;
}

/* the order in which buffers (B) and item events (S, E) leave the element */
static GstPadProbeReturn
record_order (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GString *s = data;
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER)
    g_string_append_c (s, 'B');
  else if (gst_affect_event_is_item_start (GST_PAD_PROBE_INFO_EVENT (info)))
    g_string_append_c (s, 'S');
  else if (gst_affect_event_is_item_end (GST_PAD_PROBE_INFO_EVENT (info)))
    g_string_append_c (s, 'E');
  return GST_PAD_PROBE_OK;
}

static GstHarness *
new_harness (const gchar * desc, GString * order)
{
  GstHarness *h = gst_harness_new_parse (desc);
  GstPad *src = gst_element_get_static_pad (h->element, "src");
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, record_order, order, NULL);
  gst_object_unref (src);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  return h;
}

static void
assert_vector (GstBuffer * buf, guint n)
{
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_READ);
  g_assert_cmpuint (map.size, ==, n * sizeof (float));
  for (guint i = 0; i < n; i++)
    g_assert_true (isfinite (((float *) map.data)[i]));
  gst_buffer_unmap (buf, &map);
}

static void
test_items (void)
{
  GString *order = g_string_new ("");
  gchar *csv = NULL, *text = NULL, *desc;
  gint fd = g_file_open_tmp ("affectis09-XXXXXX.csv", &csv, NULL);
  GstHarness *h;
  GstAffectTensorInfo info;
  GstCaps *caps;
  GstBuffer *buf;
  gchar **lines;

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  desc = g_strdup_printf ("affectis09 location=\"%s\"", csv);
  h = new_harness (desc, order);
  g_free (desc);

  for (guint k = 0; k < 2; k++) {
    gchar *id = g_strdup_printf ("utt%u", k);
    GstAffectItem *item = gst_affect_item_new (id);
    gst_harness_push_event (h, gst_affect_item_start_event_new (item));
    g_assert_cmpint (gst_harness_push (h, make_audio (RATE / 2,
                k * GST_SECOND, FALSE)), ==, GST_FLOW_OK);
    g_assert_cmpint (gst_harness_push (h, make_audio (RATE / 2,
                k * GST_SECOND + GST_SECOND / 2, FALSE)), ==, GST_FLOW_OK);
    gst_harness_push_event (h, gst_affect_item_end_event_new (item));
    gst_affect_item_free (item);
    g_free (id);
  }
  g_assert_cmpstr (order->str, ==, "SBESBE");
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 2);
  caps = gst_pad_get_current_caps (h->sinkpad);
  g_assert_true (gst_affect_tensor_info_from_caps (&info, caps));
  g_assert_cmpuint (info.dims[0], ==, 384);
  g_assert_cmpstr (gst_structure_get_string (gst_caps_get_structure (caps,
              0), "feature"), ==, "is09");
  gst_caps_unref (caps);
  for (guint k = 0; k < 2; k++) {
    buf = gst_harness_pull (h);
    assert_vector (buf, 384);
    g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, k * GST_SECOND);
    g_assert_cmpuint (GST_BUFFER_DURATION (buf), ==, GST_SECOND);
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);
  /* openSMILE-style CSV: header, then one row per item named by its id */
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_true (g_str_has_prefix (lines[0], "name,pcm_RMSenergy_sma_max,"));
  g_assert_true (g_str_has_prefix (lines[1], "utt0,"));
  g_assert_true (g_str_has_prefix (lines[2], "utt1,"));
  g_assert_cmpstr (lines[3], ==, "");
  g_strfreev (lines);
  g_free (text);
  g_unlink (csv);
  g_free (csv);
  g_string_free (order, TRUE);
}

static void
test_stream_at_eos (void)
{
  GString *order = g_string_new ("");
  GstHarness *h = new_harness ("affectis09", order);
  gchar **names = NULL;
  GstElement *e = gst_harness_find_element (h, "affectis09");

  g_object_get (e, "feature-names", &names, NULL);
  gst_object_unref (e);
  g_assert_cmpuint (g_strv_length (names), ==, 384);
  g_assert_cmpstr (names[383], ==, "F0_sma_de_kurtosis");
  g_strfreev (names);
  gst_harness_push (h, make_audio (RATE, 0, FALSE));
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 0);
  gst_harness_push_event (h, gst_event_new_eos ());
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 1);
  gst_harness_teardown (h);
  g_string_free (order, TRUE);
}

/* the output and the framing are fixed at caps: changing them in PLAYING
 * is refused (the buffers would no longer match the caps) */
static void
test_set_while_playing (void)
{
  GString *order = g_string_new ("");
  GstHarness *h = new_harness ("affectis09", order);
  GstElement *e = gst_harness_find_element (h, "affectis09");
  GstBuffer *out;
  GstBus *bus;
  GstMessage *msg;
  GError *error = NULL;
  gint output = -1;
  guint64 window = 1;

  gst_harness_push (h, make_audio (RATE, 0, FALSE));
  bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  g_object_set (e, "output", 1, "window", (guint64) GST_SECOND, NULL);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  gst_message_parse_warning (msg, &error, NULL);
  g_assert_nonnull (strstr (error->message, "'output' can only be changed"));
  g_clear_error (&error);
  gst_message_unref (msg);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  g_object_get (e, "output", &output, "window", &window, NULL);
  g_assert_cmpint (output, ==, 0);
  g_assert_cmpuint (window, ==, 0);
  gst_harness_push (h, make_audio (RATE, GST_SECOND, FALSE));
  gst_harness_push_event (h, gst_event_new_eos ());
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 1);
  out = gst_harness_pull (h);
  assert_vector (out, 384);
  gst_buffer_unref (out);
  gst_object_unref (e);
  gst_harness_teardown (h);
  g_string_free (order, TRUE);
}

/* a resampler's tail after the last item's end belongs to no item: no
 * extra vector, no "shorter than one frame" warning, one CSV row */
static void
test_tail_after_item (void)
{
  GString *order = g_string_new ("");
  gchar *dir = g_dir_make_tmp ("affectis09-XXXXXX", NULL);
  gchar *csv = g_build_filename (dir, "out.csv", NULL);
  gchar *desc = g_strdup_printf ("affectis09 location=%s", csv);
  GstHarness *h = new_harness (desc, order);
  GstAffectItem *item = gst_affect_item_new ("a");
  GstBus *bus = gst_bus_new ();
  GstElement *e = gst_harness_find_element (h, "affectis09");
  GstMessage *msg;
  gchar *text = NULL, **rows;

  gst_element_set_bus (e, bus);
  gst_harness_push_event (h, gst_affect_item_start_event_new (item));
  gst_harness_push (h, make_audio (RATE, 0, FALSE));
  gst_harness_push_event (h, gst_affect_item_end_event_new (item));
  /* longer than one analysis frame, so it would make a vector of its own */
  gst_harness_push (h, make_audio (RATE / 10, GST_SECOND, FALSE));
  gst_harness_push_event (h, gst_event_new_eos ());

  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 1);
  g_assert_cmpstr (order->str, ==, "SBE");
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  g_assert_null (msg);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  gst_harness_teardown (h);

  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  rows = g_strsplit (text, "\n", -1);
  /* header, the item's row, the empty string after the last newline */
  g_assert_cmpuint (g_strv_length (rows), ==, 3);
  g_assert_true (g_str_has_prefix (rows[1], "a,"));
  g_strfreev (rows);
  g_free (text);
  g_unlink (csv);
  g_rmdir (dir);
  g_free (csv);
  g_free (dir);
  g_free (desc);
  gst_affect_item_free (item);
  g_string_free (order, TRUE);
}

static void
test_windows (void)
{
  GString *order = g_string_new ("");
  GstHarness *h = new_harness ("affectis09 window=1000000000 "
      "hop=500000000 post-messages=true", order);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  guint n_msg = 0;

  gst_element_set_bus (h->element, bus);
  /* a window is stamped with its start and leaves at its end */
  g_assert_cmpuint (gst_harness_query_latency (h), ==, GST_SECOND);
  for (guint k = 0; k < 6; k++)
    gst_harness_push (h, make_audio (RATE / 2, k * GST_SECOND / 2, FALSE));
  /* windows [0,1) [0.5,1.5) ... [2,3) complete as the audio arrives */
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 5);
  gst_harness_push_event (h, gst_event_new_eos ());
  /* and [2.5, 3) cut short at EOS */
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 6);
  for (guint k = 0; k < 6; k++) {
    GstBuffer *buf = gst_harness_pull (h);
    assert_vector (buf, 384);
    g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, k * GST_SECOND / 2);
    g_assert_cmpuint (GST_BUFFER_DURATION (buf), ==,
        k < 5 ? GST_SECOND : GST_SECOND / 2);
    gst_buffer_unref (buf);
  }
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);
    GstClockTime rt = 0;
    g_assert_true (gst_structure_has_name (s, "affect-is09"));
    g_assert_true (gst_structure_get_uint64 (s, "running-time", &rt));
    g_assert_cmpuint (rt, ==, n_msg * GST_SECOND / 2);
    g_assert_cmpuint (gst_value_array_get_size (gst_structure_get_value (s,
                "features")), ==, 384);
    n_msg++;
    gst_message_unref (msg);
  }
  g_assert_cmpuint (n_msg, ==, 6);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_string_free (order, TRUE);
}

static void
test_lld_output (void)
{
  GString *order = g_string_new ("");
  GstHarness *h = new_harness ("affectis09 output=lld", order);
  GstAffectTensorInfo info;
  GstCaps *caps;
  GstBuffer *buf;
  guint n;

  gst_harness_push (h, make_audio (RATE, 0, FALSE));
  gst_harness_push_event (h, gst_event_new_eos ());
  /* N = 98 frames, N+1 rows; the last repeats row N-1's time */
  n = gst_harness_buffers_received (h);
  g_assert_cmpuint (n, ==, 99);
  caps = gst_pad_get_current_caps (h->sinkpad);
  g_assert_true (gst_affect_tensor_info_from_caps (&info, caps));
  g_assert_cmpuint (info.dims[0], ==, 32);
  g_assert_cmpint (info.rate_n, ==, 100);
  g_assert_cmpint (info.rate_d, ==, 1);
  gst_caps_unref (caps);
  for (guint i = 0; i < n; i++) {
    buf = gst_harness_pull (h);
    assert_vector (buf, 32);
    g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, MIN (i, 97) * 10 * GST_MSECOND);
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);
  g_string_free (order, TRUE);
}

/* too short: no vector and a warning; NaN: a finite vector and a warning */
static void
test_bad_input (void)
{
  GString *order = g_string_new ("");
  GstHarness *h = new_harness ("affectis09", order);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GstAffectItem *item = gst_affect_item_new ("short");
  GstBuffer *buf;

  gst_element_set_bus (h->element, bus);
  gst_harness_push_event (h, gst_affect_item_start_event_new (item));
  gst_harness_push (h, make_audio (300, 0, FALSE));
  gst_harness_push_event (h, gst_affect_item_end_event_new (item));
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 0);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  gst_message_unref (msg);

  /* (its own item: audio after an item's end belongs to no item) */
  gst_affect_item_free (item);
  item = gst_affect_item_new ("nan");
  item->path = g_strdup ("/corpus/nan.wav");
  gst_harness_push_event (h, gst_affect_item_start_event_new (item));
  gst_harness_push (h, make_audio (RATE, 0, TRUE));
  gst_harness_push_event (h, gst_affect_item_end_event_new (item));
  gst_harness_push_event (h, gst_event_new_eos ());
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 1);
  buf = gst_harness_pull (h);
  assert_vector (buf, 384);
  gst_buffer_unref (buf);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  {
    GError *err = NULL;
    gst_message_parse_warning (msg, &err, NULL);
    /* the warning names the item and its file */
    g_assert_nonnull (strstr (err->message,
            "\"nan\" (/corpus/nan.wav): 1 NaN/Inf"));
    g_error_free (err);
  }
  gst_message_unref (msg);

  gst_affect_item_free (item);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_string_free (order, TRUE);
}

/* A window or hop that cannot work ends the run with one error naming it
 * (window=1, 1 ns, used to produce nothing without a word) */
static void
test_window_refusals (void)
{
  const gchar *window[] = { "window=1 ns", "25 ms", NULL };
  const gchar *window_ms[] = { "window=20000000 ns", NULL };
  const gchar *hop[] = { "hop=1 ns", "10 ms", NULL };

#define CHAIN "audiotestsrc num-buffers=20 ! " \
    "audio/x-raw,format=F32LE,channels=1,rate=16000 ! affectis09 name=is09 "
  assert_refused (CHAIN "window=1 ! fakesink", "is09", window);
  assert_refused (CHAIN "window=20000000 ! fakesink", "is09", window_ms);
  assert_refused (CHAIN "window=2000000000 hop=1 ! fakesink", "is09", hop);
  /* the smallest window that works runs */
  {
    GError *error = NULL;
    GstElement *p = gst_parse_launch (CHAIN "window=25000000 hop=10000000 "
        "! fakesink", &error);
    GstBus *bus = gst_element_get_bus (p);
    GstMessage *msg;

    g_assert_no_error (error);
    gst_element_set_state (p, GST_STATE_PLAYING);
    msg = gst_bus_timed_pop_filtered (bus, REFUSAL_TIMEOUT_S * GST_SECOND,
        GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
    g_assert_nonnull (msg);
    g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
    gst_message_unref (msg);
    gst_element_set_state (p, GST_STATE_NULL);
    gst_object_unref (bus);
    gst_object_unref (p);
  }
#undef CHAIN
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/affectis09/items", test_items);
  g_test_add_func ("/affectis09/stream-at-eos", test_stream_at_eos);
  g_test_add_func ("/affectis09/windows", test_windows);
  g_test_add_func ("/affectis09/lld-output", test_lld_output);
  g_test_add_func ("/affectis09/bad-input", test_bad_input);
  g_test_add_func ("/affectis09/set-while-playing", test_set_while_playing);
  g_test_add_func ("/affectis09/tail-after-item", test_tail_after_item);
  g_test_add_func ("/affectis09/window-refusals", test_window_refusals);
  return g_test_run ();
}

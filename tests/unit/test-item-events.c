/* Item events and tensor caps: what one element writes the next one reads */
#include <gst/gst.h>

#include "gstaffectitem.h"
#include "gstaffecttensor.h"

static void
test_item_round_trip (void)
{
  const gchar *vocab[] = { "mood/theme---happy", "mood/theme---sad",
    "mood/theme---calm", NULL
  };
  const gfloat labels[] = { 1.0f, 0.0f, 1.0f };
  GstAffectItem *item = gst_affect_item_new ("track_0000214");
  GstAffectItem *parsed;
  GstEvent *event;
  gdouble v = 0;
  guint index = 0;

  item->index = 7;
  item->path = g_strdup ("/data/14/214.mp3");
  item->split = g_strdup ("train");
  item->duration = 30 * GST_SECOND;
  gst_affect_item_set_tags (item, vocab, labels);
  gst_affect_item_set_target (item, "valence", 3.5);
  gst_affect_item_set_column (item, "ARTIST_ID", "artist_000014");

  event = gst_affect_item_start_event_new (item);
  g_assert_true (GST_EVENT_IS_SERIALIZED (event));
  g_assert_true (gst_affect_event_is_item_start (event));
  g_assert_false (gst_affect_event_is_item_end (event));
  parsed = gst_affect_item_parse_start_event (event);
  g_assert_nonnull (parsed);
  g_assert_cmpstr (parsed->id, ==, "track_0000214");
  g_assert_cmpuint (parsed->index, ==, 7);
  g_assert_cmpstr (parsed->path, ==, "/data/14/214.mp3");
  g_assert_cmpstr (parsed->split, ==, "train");
  g_assert_cmpstr (parsed->origin, ==, "real");
  g_assert_cmpuint (parsed->duration, ==, 30 * GST_SECOND);
  g_assert_cmpint (parsed->task, ==, GST_AFFECT_TASK_TAGS);
  g_assert_cmpuint (parsed->n_labels, ==, 3);
  g_assert_cmpstr (parsed->vocabulary[2], ==, "mood/theme---calm");
  g_assert_cmpfloat (parsed->labels[0], ==, 1.0f);
  g_assert_cmpfloat (parsed->labels[1], ==, 0.0f);
  g_assert_true (gst_affect_item_get_target (parsed, "valence", &v));
  g_assert_cmpfloat (v, ==, 3.5);
  g_assert_cmpstr (gst_affect_item_get_column (parsed, "ARTIST_ID"), ==,
      "artist_000014");
  g_assert_cmpint (parsed->route, ==, -1);
  gst_event_unref (event);

  event = gst_affect_item_end_event_new (item);
  g_assert_true (gst_affect_event_is_item_end (event));
  g_assert_cmpstr (gst_affect_item_parse_end_event (event, &index), ==,
      "track_0000214");
  g_assert_cmpuint (index, ==, 7);
  g_assert_null (gst_affect_item_parse_start_event (event));
  gst_event_unref (event);

  gst_affect_item_free (parsed);
  gst_affect_item_free (item);
}

static void
test_item_class (void)
{
  const gchar *quadrants[] = { "Q1", "Q2", "Q3", "Q4", NULL };
  GstAffectItem *item = gst_affect_item_new ("x");
  GstAffectItem *copy;

  g_assert_true (gst_affect_item_set_class (item, quadrants, "Q3"));
  g_assert_cmpint (item->task, ==, GST_AFFECT_TASK_CLASS);
  g_assert_cmpfloat (item->labels[2], ==, 1.0f);
  g_assert_cmpfloat (item->labels[0] + item->labels[1] + item->labels[3], ==,
      0.0f);
  item->route = 1;
  item->route_probability = 0.25;
  copy = gst_affect_item_copy (item);
  gst_affect_item_free (item);
  g_assert_cmpstr (copy->class_name, ==, "Q3");
  g_assert_cmpint (copy->route, ==, 1);
  g_assert_false (gst_affect_item_set_class (copy, quadrants, "Q9"));
  gst_affect_item_free (copy);
}

static void
test_tensor_caps (void)
{
  const guint dims[] = { 96, 256 };
  GstAffectTensorInfo info, parsed;
  GstCaps *caps, *tmpl;

  gst_affect_tensor_info_init (&info, 2, dims, 12000, 256);
  caps = gst_affect_tensor_caps_from_info (&info);
  tmpl = gst_caps_from_string (GST_AFFECT_TENSOR_CAPS_TEMPLATE);
  g_assert_true (gst_caps_is_subset (caps, tmpl));
  g_assert_true (gst_affect_tensor_info_from_caps (&parsed, caps));
  g_assert_cmpuint (parsed.n_dims, ==, 2);
  g_assert_cmpuint (parsed.dims[0], ==, 96);
  g_assert_cmpuint (parsed.dims[1], ==, 256);
  /* GStreamer reduces fractions: 12000/256 comes back as 375/8 */
  g_assert_cmpint (parsed.rate_n * 256, ==, 12000 * parsed.rate_d);
  g_assert_cmpuint (gst_affect_tensor_info_size (&parsed), ==,
      96 * 256 * 4);
  gst_caps_unref (caps);
  gst_caps_unref (tmpl);

  caps = gst_caps_from_string ("other/tensors, format=static, num_tensors=1, "
      "types=uint8, dimensions=3:4, framerate=0/1");
  g_assert_false (gst_affect_tensor_info_from_caps (&parsed, caps));
  gst_caps_unref (caps);
  caps = gst_caps_from_string ("other/tensors, format=static, num_tensors=1, "
      "types=float32, dimensions=3:x, framerate=0/1");
  g_assert_false (gst_affect_tensor_info_from_caps (&parsed, caps));
  gst_caps_unref (caps);
}

static void
test_message_times (void)
{
  GstSegment seg;
  GstStructure *s;
  guint64 v;

  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.start = 1 * GST_SECOND;
  seg.time = 10 * GST_SECOND;
  seg.base = 100 * GST_SECOND;
  s = gst_affect_message_structure_new ("affect-x", &seg, 3 * GST_SECOND,
      GST_SECOND / 2);
  g_assert_true (gst_structure_has_name (s, "affect-x"));
  g_assert_true (gst_structure_get_uint64 (s, "timestamp", &v));
  g_assert_cmpuint (v, ==, 3 * GST_SECOND);
  g_assert_true (gst_structure_get_uint64 (s, "stream-time", &v));
  g_assert_cmpuint (v, ==, 12 * GST_SECOND);
  g_assert_true (gst_structure_get_uint64 (s, "running-time", &v));
  g_assert_cmpuint (v, ==, 102 * GST_SECOND);
  g_assert_true (gst_structure_get_uint64 (s, "duration", &v));
  g_assert_cmpuint (v, ==, GST_SECOND / 2);
  gst_structure_free (s);

  /* no time segment, or no timestamp: the times are NONE, no critical */
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  s = gst_affect_message_structure_new ("affect-x", &seg, GST_SECOND, 0);
  g_assert_true (gst_structure_get_uint64 (s, "stream-time", &v));
  g_assert_cmpuint (v, ==, GST_CLOCK_TIME_NONE);
  gst_structure_free (s);
  s = gst_affect_message_structure_new ("affect-x", NULL,
      GST_CLOCK_TIME_NONE, 0);
  g_assert_true (gst_structure_get_uint64 (s, "running-time", &v));
  g_assert_cmpuint (v, ==, GST_CLOCK_TIME_NONE);
  gst_structure_free (s);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/item/round-trip", test_item_round_trip);
  g_test_add_func ("/item/class", test_item_class);
  g_test_add_func ("/tensor/caps", test_tensor_caps);
  g_test_add_func ("/message/times", test_message_times);
  return g_test_run ();
}

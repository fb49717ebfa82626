/* affectmetrics: items and prediction tensors in through a GstHarness,
 * messages, report, per-item files and figures out; the values must equal
 * libaffect's evaluation of the same items, and affect-metrics on the
 * element's per-item file must give the same report. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "affect/metrics.h"
#include "affect/npy.h"
#include "gstaffectitem.h"
#include "gstaffecttensor.h"

static const gchar *tags[] = { "calm", "happy", "sad", NULL };
static const gchar *quadrants[] = { "Q1", "Q2", "Q3", "Q4", NULL };

static gchar *tmpdir;

static GstHarness *
harness (const gchar * launch, guint n, const gchar * names,
    const gchar * output, GstBus ** bus)
{
  GstHarness *h = gst_harness_new_parse (launch);
  gchar *caps = g_strdup_printf ("other/tensors, format=static, "
      "num_tensors=1, types=float32, dimensions=(string)%u, framerate=0/1, "
      "affect-output=%s%s%s%s", n, output, names ? ", names=\"" : "",
      names ? names : "", names ? "\"" : "");

  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  gst_harness_set_src_caps_str (h, caps);
  g_free (caps);
  return h;
}

/* queued messages hold the element, the element holds the bus: flush */
static void
teardown (GstHarness * h, GstBus * bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

static void
push_item (GstHarness * h, GstAffectItem * item, const float *scores, guint n)
{
  GstBuffer *buf = gst_buffer_new_memdup (scores, n * sizeof (float));

  GST_BUFFER_PTS (buf) = item->index * GST_SECOND;
  GST_BUFFER_DURATION (buf) = GST_SECOND;
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_start_event_new (item)));
  g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_end_event_new (item)));
}

/* every affect-metrics message on the bus, in order */
static GList *
metric_messages (GstBus * bus)
{
  GList *list = NULL;
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    if (gst_structure_has_name (gst_message_get_structure (msg),
            "affect-metrics"))
      list = g_list_append (list, msg);
    else
      gst_message_unref (msg);
  }
  return list;
}

static gdouble
field (GstMessage * msg, const gchar * name)
{
  gdouble v = NAN;

  g_assert_true (gst_structure_get_double (gst_message_get_structure (msg),
          name, &v));
  return v;
}

static JsonObject *
overall (JsonParser * p)
{
  return json_object_get_object_member (json_node_get_object
      (json_parser_get_root (p)), "overall");
}

static void
test_tags (void)
{
  gchar *report = g_build_filename (tmpdir, "tags.json", NULL);
  gchar *items = g_build_filename (tmpdir, "tags.csv", NULL);
  gchar *cli_json = g_build_filename (tmpdir, "tags-cli.json", NULL);
  gchar *launch = g_strdup_printf ("affectmetrics interval=10 "
      "location=%s items-location=%s", report, items);
  AffectEvaluation *ev = affect_evaluation_new (AFFECT_METRICS_TAGS, 3, tags,
      NULL, "validation");
  AffectMetricsResult *r = NULL;
  JsonNode *node;
  GstBus *bus;
  GstHarness *h = harness (launch, 3, "calm,happy,sad", "scores", &bus);
  GList *msgs, *last;
  JsonParser *p1 = json_parser_new (), *p2 = json_parser_new ();
  gchar *argv[] = { NULL, "-q", "--json", cli_json, items, NULL };
  gint status;
  guint i, c, n_test = 0;

  affect_evaluation_set_rule (ev, AFFECT_DECISION_FITTED, 0, NULL);
  for (i = 0; i < 60; i++) {
    GstAffectItem *item = gst_affect_item_new (NULL);
    float labels[3], scores[3];

    item->id = g_strdup_printf ("track_%03u", i);
    item->index = i;
    item->split = g_strdup (i < 20 ? "validation" : "test");
    item->route = i % 2;
    for (c = 0; c < 3; c++) {
      labels[c] = (i * (c + 3)) % 7 < 3;
      scores[c] = (float) (((i * 13 + c * 5) % 17) / 16.0 + 0.3 * labels[c]);
    }
    gst_affect_item_set_tags (item, tags, labels);
    push_item (h, item, scores, 3);
    g_assert_true (affect_evaluation_add (ev, item->split, item->route,
            scores, labels, NULL));
    n_test += i >= 20;
    gst_affect_item_free (item);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));

  /* running every 10 evaluated (test) items, then the final one */
  msgs = metric_messages (bus);
  g_assert_cmpuint (g_list_length (msgs), ==, 40 / 10 + 1);
  last = g_list_last (msgs);
  {
    const GstStructure *s = gst_message_get_structure (last->data);
    gboolean final = FALSE;
    guint64 n = 0;
    g_assert_true (gst_structure_get_boolean (s, "final", &final));
    g_assert_true (final);
    g_assert_true (gst_structure_get_uint64 (s, "items", &n));
    g_assert_cmpuint (n, ==, n_test);
    g_assert_cmpstr (gst_structure_get_string (s, "task"), ==, "tags");
    g_assert_true (gst_structure_has_field (s, "report"));
  }
  /* the very values of libaffect on the same items */
  node = affect_evaluation_report (ev, TRUE, &r, NULL);
  g_assert_nonnull (node);
  g_assert_cmpfloat (field (last->data, "roc-auc-macro"), ==, r->roc_auc_macro);
  g_assert_cmpfloat (field (last->data, "pr-auc-micro"), ==, r->pr_auc_micro);
  g_assert_cmpfloat (field (last->data, "f1-macro"), ==, r->f1_macro);
  g_assert_cmpfloat (field (last->data, "precision-micro"), ==,
      r->precision_micro);
  g_assert_true (r->roc_auc_macro > 0.5);

  /* the report file, and affect-metrics over the per-item file */
  g_assert_true (json_parser_load_from_file (p1, report, NULL));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object
          (json_parser_get_root (p1)), "thresholds_fitted_on"), ==,
      "validation");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member
          (json_node_get_object (json_parser_get_root (p1)), "routes")), ==, 2);
  argv[0] = g_build_filename (g_getenv ("AFFECT_BUILD_DIR"), "tools",
      "affect-metrics", NULL);
  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
          NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (json_parser_load_from_file (p2, cli_json, NULL));
  g_assert_true (json_node_equal (json_object_get_member (overall (p1),
              "mediaeval"), json_object_get_member (overall (p2),
              "mediaeval")));
  g_assert_true (json_node_equal (json_object_get_member (overall (p1),
              "decision"), json_object_get_member (overall (p2), "decision")));

  g_free (argv[0]);
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  json_node_unref (node);
  affect_metrics_result_free (r);
  affect_evaluation_free (ev);
  g_object_unref (p1);
  g_object_unref (p2);
  teardown (h, bus);
  g_free (launch);
  g_free (report);
  g_free (items);
  g_free (cli_json);
}

static void
test_class_figures (void)
{
  gchar *prefix = g_build_filename (tmpdir, "quadrants", NULL);
  gchar *npy = g_build_filename (tmpdir, "quadrants.npy", NULL);
  gchar *gt = g_build_filename (tmpdir, "quadrants-groundtruth.npy", NULL);
  gchar *launch = g_strdup_printf ("affectmetrics interval=0 "
      "figures=%s items-location=%s", prefix, npy);
  gchar *png;
  GstBus *bus;
  GstHarness *h = harness (launch, 4, NULL, "scores", &bus);
  GList *msgs;
  AffectNpyArray *a;
  guint i, c, correct = 0;

  for (i = 0; i < 80; i++) {
    GstAffectItem *item = gst_affect_item_new (NULL);
    guint cls = i % 4;
    /* arousal is easy, valence hard: Q1↔Q2 and Q3↔Q4 confusions */
    guint pred = (i % 3 == 0) ? (cls ^ 1) : cls;
    float scores[4];

    item->id = g_strdup_printf ("clip_%02u", i);
    item->index = i;
    g_assert_true (gst_affect_item_set_class (item, quadrants, quadrants[cls]));
    for (c = 0; c < 4; c++)
      scores[c] = c == pred ? 0.6f + 0.004f * i : 0.1f + 0.01f * c;
    correct += pred == cls;
    push_item (h, item, scores, 4);
    gst_affect_item_free (item);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  msgs = metric_messages (bus);
  g_assert_cmpuint (g_list_length (msgs), ==, 1);
  g_assert_cmpfloat_with_epsilon (field (msgs->data, "accuracy"),
      correct / 80.0, 1e-15);
  g_assert_cmpfloat_with_epsilon (field (msgs->data, "f1-micro"),
      correct / 80.0, 1e-15);

#ifdef HAVE_CAIRO
  png = g_strconcat (prefix, "-confusion.png", NULL);
  g_assert_true (g_file_test (png, G_FILE_TEST_EXISTS));
  g_free (png);
  png = g_strconcat (prefix, "-curves.png", NULL);
  g_assert_true (g_file_test (png, G_FILE_TEST_EXISTS));
  g_free (png);
#else
  (void) png;
#endif

  /* the .npy pair in MediaEval's layout */
  a = affect_npy_read (npy, AFFECT_NPY_FLOAT32, NULL);
  g_assert_nonnull (a);
  g_assert_cmpint (a->shape[0], ==, 80);
  g_assert_cmpint (a->shape[1], ==, 4);
  affect_npy_array_free (a);
  a = affect_npy_read (gt, AFFECT_NPY_FLOAT32, NULL);
  g_assert_nonnull (a);
  g_assert_cmpstr (a->descr, ==, "|b1");
  g_assert_cmpfloat (affect_npy_array_float (a)[4 * 5 + 1], ==, 1.0f);
  affect_npy_array_free (a);

  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  teardown (h, bus);
  g_free (launch);
  g_free (prefix);
  g_free (npy);
  g_free (gt);
}

static void
test_regression (void)
{
  GstBus *bus;
  GstHarness *h = harness ("affectmetrics interval=0", 2,
      "valence,arousal", "targets", &bus);
  GList *msgs;
  const GValue *mae;
  double sum[2] = { 0, 0 };
  guint i;

  for (i = 0; i < 30; i++) {
    GstAffectItem *item = gst_affect_item_new ("utt");
    float pred[2] = { 0.25f * (i % 5), -0.5f + 0.125f * (i % 3) };
    double v = (i % 7) * 0.5, a = (i % 4) * -0.25;

    item->index = i;
    gst_affect_item_set_target (item, "arousal", a);
    gst_affect_item_set_target (item, "valence", v);
    sum[0] += fabs (pred[0] - v);
    sum[1] += fabs (pred[1] - a);
    push_item (h, item, pred, 2);
    gst_affect_item_free (item);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  msgs = metric_messages (bus);
  g_assert_cmpuint (g_list_length (msgs), ==, 1);
  mae = gst_structure_get_value (gst_message_get_structure (msgs->data), "mae");
  g_assert_cmpfloat_with_epsilon (g_value_get_double
      (gst_value_array_get_value (mae, 0)), sum[0] / 30, 1e-12);
  g_assert_cmpfloat_with_epsilon (g_value_get_double
      (gst_value_array_get_value (mae, 1)), sum[1] / 30, 1e-12);
  g_assert_cmpfloat_with_epsilon (field (msgs->data, "mae-mean"),
      (sum[0] + sum[1]) / 60, 1e-12);
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  teardown (h, bus);
}

/* Items the metrics cannot use — a NaN or an Inf prediction, a missing
 * target, no prediction at all — are left out with a warning naming them
 * and listed in the report's "skipped"; the run goes on and scores the
 * others (before: "Could not score item …" stopped it) */
static void
test_skipped_items (void)
{
  gchar *report = g_build_filename (tmpdir, "skipped.json", NULL);
  gchar *launch = g_strdup_printf ("affectmetrics async=false interval=0 "
      "location=%s", report);
  GstBus *bus;
  GstHarness *h = harness (launch, 1, "valence", "targets", &bus);
  JsonParser *p = json_parser_new ();
  JsonArray *skipped;
  GstMessage *msg;
  GList *msgs;
  double sum = 0;
  guint i, n_warnings = 0;
  guint64 n_items, n_skipped;

  for (i = 0; i < 10; i++) {
    GstAffectItem *item = gst_affect_item_new (NULL);
    float pred = 0.1f * i;

    g_free (item->id);
    item->id = g_strdup_printf ("utt%u", i);
    item->path = g_strdup_printf ("/corpus/utt%u.wav", i);
    item->index = i;
    if (i == 3)
      pred = NAN;
    else if (i == 4)
      pred = INFINITY;
    if (i != 5)
      gst_affect_item_set_target (item, "valence", 0.25 * (i % 3));
    if (i == 6) {
      /* no prediction inside the item */
      g_assert_true (gst_harness_push_event (h,
              gst_affect_item_start_event_new (item)));
      g_assert_true (gst_harness_push_event (h,
              gst_affect_item_end_event_new (item)));
    } else {
      push_item (h, item, &pred, 1);
      if (i != 3 && i != 4 && i != 5)
        sum += fabs (pred - 0.25 * (i % 3));
    }
    gst_affect_item_free (item);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  msgs = NULL;
  while ((msg = gst_bus_pop (bus))) {
    g_assert_cmpint (GST_MESSAGE_TYPE (msg), !=, GST_MESSAGE_ERROR);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      GError *err;
      gst_message_parse_warning (msg, &err, NULL);
      g_test_message ("%s", err->message);
      n_warnings++;
      g_error_free (err);
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT
        && gst_structure_has_name (gst_message_get_structure (msg),
            "affect-metrics"))
      msgs = g_list_append (msgs, msg);
    else
      gst_message_unref (msg);
  }
  g_assert_cmpuint (g_list_length (msgs), ==, 1);
  g_assert_true (gst_structure_get_uint64 (gst_message_get_structure
          (msgs->data), "items", &n_items));
  g_assert_cmpuint (n_items, ==, 6);
  g_assert_true (gst_structure_get_uint64 (gst_message_get_structure
          (msgs->data), "items-skipped", &n_skipped));
  g_assert_cmpuint (n_skipped, ==, 4);
  g_assert_cmpfloat_with_epsilon (g_value_get_double
      (gst_value_array_get_value (gst_structure_get_value
              (gst_message_get_structure (msgs->data), "mae"), 0)), sum / 6,
      1e-6);
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  /* the two non-finite scores named as they come, one summary at EOS of
   * the items without a prediction or without targets */
  g_assert_cmpuint (n_warnings, ==, 3);

  g_assert_true (json_parser_load_from_file (p, report, NULL));
  skipped = json_object_get_array_member (json_node_get_object
      (json_parser_get_root (p)), "skipped");
  g_assert_nonnull (skipped);
  g_assert_cmpuint (json_array_get_length (skipped), ==, 4);
  {
    const gchar *want[][3] = {
      {"utt3", "/corpus/utt3.wav", "non-finite score nan for 'valence'"},
      {"utt4", "/corpus/utt4.wav", "non-finite score inf for 'valence'"},
      {"utt5", "/corpus/utt5.wav", "no labels or targets"},
      {"utt6", "/corpus/utt6.wav", "no prediction"},
    };
    for (i = 0; i < 4; i++) {
      JsonObject *o = json_array_get_object_element (skipped, i);
      g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, want[i][0]);
      g_assert_cmpstr (json_object_get_string_member (o, "path"), ==,
          want[i][1]);
      g_assert_cmpstr (json_object_get_string_member (o, "reason"), ==,
          want[i][2]);
    }
  }
  g_object_unref (p);
  teardown (h, bus);
  g_unlink (report);
  g_free (report);
  g_free (launch);
}

static void
run_decision (const gchar * props, const double *want_thresholds)
{
  gchar *launch = g_strdup_printf ("affectmetrics interval=0 %s",
      props);
  GstBus *bus;
  GstHarness *h = harness (launch, 3, "calm,happy,sad", "scores", &bus);
  AffectMetrics *m = affect_metrics_new (AFFECT_METRICS_TAGS, 3, tags);
  AffectMetricsResult *r;
  const GValue *thr;
  GList *msgs;
  guint i, c;

  for (i = 0; i < 25; i++) {
    GstAffectItem *item = gst_affect_item_new (NULL);
    float labels[3], scores[3];

    item->id = g_strdup_printf ("t%02u", i);
    item->index = i;
    for (c = 0; c < 3; c++) {
      labels[c] = (i + c) % 3 == 0;
      scores[c] = (float) ((i * 7 + c * 3) % 10) / 10.0f;
    }
    gst_affect_item_set_tags (item, tags, labels);
    push_item (h, item, scores, 3);
    g_assert_true (affect_metrics_add (m, scores, labels, NULL));
    gst_affect_item_free (item);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  msgs = metric_messages (bus);
  g_assert_cmpuint (g_list_length (msgs), ==, 1);
  thr = gst_structure_get_value (gst_message_get_structure (msgs->data),
      "thresholds");
  g_assert_nonnull (thr);
  for (c = 0; c < 3; c++)
    g_assert_cmpfloat (g_value_get_double (gst_value_array_get_value (thr,
                c)), ==, want_thresholds[c]);
  affect_metrics_set_thresholds (m, want_thresholds);
  r = affect_metrics_compute (m, NULL);
  g_assert_cmpfloat (field (msgs->data, "f1-macro"), ==, r->f1_macro);
  g_assert_cmpfloat (field (msgs->data, "recall-micro"), ==, r->recall_micro);
  affect_metrics_result_free (r);
  affect_metrics_free (m);
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  teardown (h, bus);
  g_free (launch);
}

/* decision=fixed and decision=file give their thresholds and the values
 * libaffect computes with them */
static void
test_decisions (void)
{
  const double fixed[3] = { 0.25, 0.25, 0.25 };
  const double from_file[3] = { 0.35, 0.05, 0.65 };
  gchar *path = g_build_filename (tmpdir, "thresholds.txt", NULL);
  gchar *props;

  run_decision ("decision=fixed threshold=0.25", fixed);
  g_assert_true (affect_thresholds_write (path, 3, tags, from_file, NULL));
  props = g_strdup_printf ("decision=file thresholds-location=%s", path);
  run_decision (props, from_file);
  g_free (props);
  g_free (path);
}

static void
run_pipeline (const gchar * description)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (description, &error);
  GstBus *bus;
  GstMessage *msg;

  g_assert_no_error (error);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gchar *dbg = NULL;
    gst_message_parse_error (msg, &error, &dbg);
    g_error ("%s: %s (%s)", description, error->message, dbg);
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

/* A real chain: the generated tone corpus (affect-run's generator),
 * affectsrc → affectis09 → affectregress trained on the train split, then
 * scored on the test split by affectmetrics; the report must hold the MAE
 * of the per-item file's rows, and affect-metrics on that file must agree. */
static void
test_pipeline (void)
{
  gchar *run = g_build_filename (g_getenv ("AFFECT_BUILD_DIR"), "tools",
      "affect-run", "affect-run", NULL);
  gchar *cache = g_strdup_printf ("CACHE=%s", tmpdir);
  gchar *argv[] = { run, "tones", cache, "ITEMS=6", NULL };
  gchar *manifest = g_build_filename (tmpdir, "tones-seed1-6", "manifest.csv",
      NULL);
  gchar *model = g_build_filename (tmpdir, "tones.safetensors", NULL);
  gchar *report = g_build_filename (tmpdir, "tones.json", NULL);
  gchar *items = g_build_filename (tmpdir, "tones.csv", NULL);
  gchar *cli_json = g_build_filename (tmpdir, "tones-cli.json", NULL);
  gchar *cli_argv[] = { NULL, "-q", "--json", cli_json, items, NULL };
  const gchar *front = "audioconvert ! audioresample ! "
      "audio/x-raw,format=F32LE,channels=1,rate=16000 ! affectis09";
  AffectItemTable *t = affect_item_table_new (AFFECT_METRICS_TAGS, 0, NULL);
  JsonParser *p1 = json_parser_new (), *p2 = json_parser_new ();
  JsonArray *per, *per_cli;
  gchar *launch;
  gint status;
  guint i, c;

  if (!g_file_test (run, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("affect-run (the corpus generator) is not built");
    goto out;
  }
  g_assert_true (g_spawn_sync (tmpdir, argv, NULL,
          G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  launch = g_strdup_printf ("affectsrc location=%s split=train "
      "target-columns=valence,arousal ! %s ! affectregress mode=train "
      "targets=valence,arousal epochs=30 seed=1 model-file=%s ! fakesink",
      manifest, front, model);
  run_pipeline (launch);
  g_free (launch);
  launch = g_strdup_printf ("affectsrc location=%s split=test "
      "target-columns=valence,arousal ! %s ! affectregress model-file=%s ! "
      "affectmetrics location=%s items-location=%s", manifest, front, model,
      report, items);
  run_pipeline (launch);
  g_free (launch);

  g_assert_true (json_parser_load_from_file (p1, report, NULL));
  g_assert_cmpstr (json_object_get_string_member (overall (p1), "task"), ==,
      "regression");
  g_assert_cmpint (json_object_get_int_member (overall (p1), "n_items"), ==, 4);
  g_assert_true (affect_item_table_read_csv (t, items, NULL));
  g_assert_cmpuint (affect_item_table_n_items (t), ==, 4);
  per = json_object_get_array_member (overall (p1), "per_output");
  for (c = 0; c < 2; c++) {
    double mae = 0;
    for (i = 0; i < 4; i++)
      mae += fabs ((double) g_array_index (t->scores, float, i * 2 + c) -
          (double) g_array_index (t->truth, float, i * 2 + c));
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member
        (json_array_get_object_element (per, c), "mae"), mae / 4, 1e-12);
  }
  /* the truth is the manifest's targets, e.g. tone-012 (valence 0.6661) */
  g_assert_cmpstr (g_ptr_array_index (t->id, 0), ==, "tone-012");
  g_assert_cmpfloat (g_array_index (t->truth, float, 0), ==, 0.6661f);

  cli_argv[0] = g_build_filename (g_getenv ("AFFECT_BUILD_DIR"), "tools",
      "affect-metrics", NULL);
  g_assert_true (g_spawn_sync (NULL, cli_argv, NULL, G_SPAWN_DEFAULT, NULL,
          NULL, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (json_parser_load_from_file (p2, cli_json, NULL));
  per_cli = json_object_get_array_member (overall (p2), "per_output");
  for (c = 0; c < 2; c++)
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member
        (json_array_get_object_element (per, c), "ccc"),
        json_object_get_double_member (json_array_get_object_element (per_cli,
                c), "ccc"), 1e-12);
  g_free (cli_argv[0]);
out:
  affect_item_table_free (t);
  g_object_unref (p1);
  g_object_unref (p2);
  g_free (run);
  g_free (cache);
  g_free (manifest);
  g_free (model);
  g_free (report);
  g_free (items);
  g_free (cli_json);
}

/* labels that do not match the predictions are an error on the bus */
static void
test_mismatch (void)
{
  const gchar *other[] = { "calm", "angry", "sad", NULL };
  const float labels[3] = { 1, 0, 0 }, scores[3] = { 0.5f, 0.2f, 0.1f };
  GstBus *bus;
  GstHarness *h = harness ("affectmetrics", 3, "calm,happy,sad",
      "scores", &bus);
  GstAffectItem *item = gst_affect_item_new ("x");
  GstMessage *msg;
  GError *error = NULL;
  GstBuffer *buf = gst_buffer_new_memdup (scores, sizeof scores);

  gst_affect_item_set_tags (item, other, labels);
  gst_harness_push_event (h, gst_affect_item_start_event_new (item));
  g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_ERROR);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  gst_message_unref (msg);
  g_assert_cmpstr (error->message, ==,
      "The predictions do not match the items' labels");
  g_clear_error (&error);
  gst_affect_item_free (item);
  teardown (h, bus);
}

/* an output folder that does not exist is an error when the element
 * starts, naming the file, not after the whole run */
static void
test_unwritable (void)
{
  const gchar *props[] = { "location", "items-location", "figures",
    "table-location", NULL
  };
  guint i;

  for (i = 0; props[i]; i++) {
    GstElement *sink = gst_element_factory_make ("affectmetrics", NULL);
    GstBus *bus = gst_bus_new ();
    GstMessage *msg;
    GError *error = NULL;

    gst_element_set_bus (sink, bus);
    g_object_set (sink, props[i], "/nonexistent-affect-dir/out.csv", NULL);
    g_assert_cmpint (gst_element_set_state (sink, GST_STATE_PAUSED), ==,
        GST_STATE_CHANGE_FAILURE);
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    g_assert_nonnull (msg);
    gst_message_parse_error (msg, &error, NULL);
    g_test_message ("%s: %s", props[i], error->message);
    g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR,
            GST_RESOURCE_ERROR_OPEN_WRITE));
    g_assert_nonnull (strstr (error->message, "/nonexistent-affect-dir/"));
    g_clear_error (&error);
    gst_message_unref (msg);
    gst_element_set_state (sink, GST_STATE_NULL);
    gst_element_set_bus (sink, NULL);
    gst_object_unref (bus);
    gst_object_unref (sink);
  }
}

/* a gated class run: the gate's route against the items' spontaneity
 * column, the majority-class baseline, the Markdown table and the gate's
 * confusion figure; numbers worked out by hand (scikit-learn's, checked in
 * tests/conformance/metrics_classes_sklearn.py) */
static void
test_gate_baseline_table (void)
{
  /* truth class, predicted class, route, spontaneity label */
  static const struct
  {
    guint cls, pred;
    gint route;
    const gchar *label;
  } items[] = {
    {0, 0, 0, "spontaneous"}, {0, 0, 0, "1"}, {0, 1, 1, "spontaneous"},
    {1, 1, 1, "scripted"}, {1, 1, 1, "0"}, {1, 2, 0, "scripted"},
    {2, 2, 1, "scripted"}, {2, 0, 0, NULL}, {0, 0, -1, "1"},
  };
  gchar *md = g_build_filename (tmpdir, "gate.md", NULL);
  gchar *prefix = g_build_filename (tmpdir, "gate", NULL);
  gchar *launch = g_strdup_printf ("affectmetrics interval=0 "
      "baseline-class=Q1 table-location=%s figures=%s", md, prefix);
  gchar *text = NULL, *png;
  GstBus *bus;
  GstHarness *h = harness (launch, 4, "Q1,Q2,Q3,Q4", "scores", &bus);
  GList *msgs;
  const GValue *confusion;
  guint i, c;

  for (i = 0; i < G_N_ELEMENTS (items); i++) {
    GstAffectItem *item = gst_affect_item_new (NULL);
    float scores[4];

    item->id = g_strdup_printf ("utt_%u", i);
    item->index = i;
    item->route = items[i].route;
    g_assert_true (gst_affect_item_set_class (item, quadrants,
            quadrants[items[i].cls]));
    if (items[i].label)
      gst_affect_item_set_column (item, "spontaneity", items[i].label);
    for (c = 0; c < 4; c++)
      scores[c] = c == items[i].pred ? 0.9f : 0.1f;
    push_item (h, item, scores, 4);
    gst_affect_item_free (item);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  msgs = metric_messages (bus);
  g_assert_cmpuint (g_list_length (msgs), ==, 1);
  /* 9 items, 6 right; recalls Q1 3/4, Q2 2/3, Q3 1/2 (Q4 absent) */
  g_assert_cmpfloat_with_epsilon (field (msgs->data, "accuracy"), 6.0 / 9,
      1e-15);
  g_assert_cmpfloat_with_epsilon (field (msgs->data, "balanced-accuracy"),
      (3.0 / 4 + 2.0 / 3 + 1.0 / 2) / 3, 1e-15);
  /* the baseline predicts Q1: 4/9 right, recall 1 for Q1 only; F1 of Q1
   * 2·(4/9)·1/(4/9 + 1) = 8/13, 0 for Q2 and Q3 */
  g_assert_cmpfloat_with_epsilon (field (msgs->data, "baseline-accuracy"),
      4.0 / 9, 1e-15);
  g_assert_cmpfloat_with_epsilon (field (msgs->data,
          "baseline-balanced-accuracy"), 1.0 / 3, 1e-15);
  g_assert_cmpfloat_with_epsilon (field (msgs->data, "baseline-f1-macro"),
      8.0 / 13 / 3, 1e-15);
  /* the gate: 7 items with a route and a label; truth spontaneous 3,
   * scripted 4; routes right 2 + 3 */
  g_assert_cmpfloat_with_epsilon (field (msgs->data, "gate-accuracy"),
      5.0 / 7, 1e-15);
  g_assert_cmpfloat_with_epsilon (field (msgs->data, "gate-balanced-accuracy"),
      (2.0 / 3 + 3.0 / 4) / 2, 1e-15);
  confusion = gst_structure_get_value (gst_message_get_structure (msgs->data),
      "gate-confusion");
  g_assert_cmpuint (g_value_get_uint64 (gst_value_array_get_value
          (gst_value_array_get_value (confusion, 0), 1)), ==, 1);
  g_assert_cmpuint (g_value_get_uint64 (gst_value_array_get_value
          (gst_value_array_get_value (confusion, 1), 1)), ==, 3);

  g_assert_true (g_file_get_contents (md, &text, NULL, NULL));
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "| model | 9 | 0.6667 | 0.6389 |"));
  g_assert_nonnull (strstr (text,
          "| baseline: majority class (Q1) | 9 | 0.4444 | 0.3333 |"));
  g_assert_nonnull (strstr (text, "| gate | 7 | 0.7143 | 0.7083 |"));
  g_free (text);
#ifdef HAVE_CAIRO
  png = g_strconcat (prefix, "-gate-confusion.png", NULL);
  g_assert_true (g_file_test (png, G_FILE_TEST_EXISTS));
  g_free (png);
#else
  (void) png;
#endif
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  teardown (h, bus);
  g_free (launch);
  g_free (prefix);
  g_free (md);
}

/* a baseline-class that is not a class is an error naming the classes */
static void
test_bad_baseline (void)
{
  const float scores[2] = { 0.2f, 0.8f };
  GstBus *bus;
  GstHarness *h = harness ("affectmetrics baseline-class=Q9", 2, "a,b",
      "scores", &bus);
  GstAffectItem *item = gst_affect_item_new ("x");
  const gchar *names[] = { "a", "b", NULL };
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  g_assert_true (gst_affect_item_set_class (item, names, "a"));
  gst_harness_push_event (h, gst_affect_item_start_event_new (item));
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (scores,
              sizeof scores)), ==, GST_FLOW_ERROR);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, &debug);
  gst_message_unref (msg);
  g_assert_cmpstr (error->message, ==,
      "baseline-class \"Q9\" is not one of the classes");
  g_assert_nonnull (strstr (debug, "a, b"));
  g_clear_error (&error);
  g_free (debug);
  gst_affect_item_free (item);
  teardown (h, bus);
}

static void
remove_tree (const gchar * path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  while (dir && (name = g_dir_read_name (dir))) {
    gchar *p = g_build_filename (path, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR) &&
        !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
      remove_tree (p);
    else
      g_unlink (p);
    g_free (p);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (path);
}

int
main (int argc, char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("affectmetrics-XXXXXX", NULL);
  g_test_add_func ("/affectmetrics/tags", test_tags);
  g_test_add_func ("/affectmetrics/class-figures", test_class_figures);
  g_test_add_func ("/affectmetrics/regression", test_regression);
  g_test_add_func ("/affectmetrics/skipped-items", test_skipped_items);
  g_test_add_func ("/affectmetrics/decisions", test_decisions);
  g_test_add_func ("/affectmetrics/pipeline", test_pipeline);
  g_test_add_func ("/affectmetrics/mismatch", test_mismatch);
  g_test_add_func ("/affectmetrics/unwritable", test_unwritable);
  g_test_add_func ("/affectmetrics/gate-baseline-table",
      test_gate_baseline_table);
  g_test_add_func ("/affectmetrics/bad-baseline", test_bad_baseline);
  ret = g_test_run ();
  if (g_getenv ("AFFECT_KEEP_TMP") == NULL)
    remove_tree (tmpdir);
  else
    g_print ("# files kept in %s\n", tmpdir);
  g_free (tmpdir);
  return ret;
}

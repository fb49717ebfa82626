/* affectclassify: a tiny-width MoodNet is trained inside the element on
 * generated Mel items (two tags, low-band vs high-band energy), saved, and
 * a second element classifies new items with the saved model; plus caps
 * mismatch, live windows and unlabelled items. */
#include <math.h>
#include <string.h>
#include <gst/gst.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gstaffectitem.h"
#include "gstaffecttensor.h"
#include "affect/model.h"
#include "affect/moodnet.h"

#define MELS 72
#define FPB 24                  /* frames per buffer */
#define ITEM_FRAMES 96          /* short items: the model tiles them */
#define ADAM_EPOCHS 6

static const gchar *vocab[] = { "low", "high", NULL };
static const gchar *vocab_reversed[] = { "high", "low", NULL };
static const gchar *vocab_unknown[] = { "low", "high", "mid", NULL };

static GstCaps *
mel_caps (int mels)
{
  GstAffectTensorInfo info;
  guint dims[2] = { mels, FPB };
  GstCaps *caps;
  gst_affect_tensor_info_init (&info, 2, dims, 12000, 256 * FPB);
  caps = gst_affect_tensor_caps_from_info (&info);
  gst_caps_set_simple (caps, "feature", G_TYPE_STRING, "mel",
      "sample-rate", G_TYPE_INT, 12000, "hop", G_TYPE_INT, 256,
      "n-mels", G_TYPE_INT, mels, "preset", G_TYPE_STRING, "test", NULL);
  return caps;
}

/* class 0: energy in the lower third of the bands, class 1: upper third */
static void
push_item_vocab (GstHarness * h, const char *id, int cls, const char *split,
    GRand * rand, const gchar ** voc)
{
  GstAffectItem *item = gst_affect_item_new (id);
  float labels[3] = { 0, 0, 0 };
  guint64 t = 0;

  /* the class's tag wherever this vocabulary puts its name */
  for (int i = 0; voc && voc[i]; i++)
    labels[i] = !strcmp (voc[i], vocab[cls]);
  item->split = g_strdup (split);
  if (voc)
    gst_affect_item_set_tags (item, voc, labels);
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_start_event_new (item)));
  for (int b = 0; b < ITEM_FRAMES / FPB; b++) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, sizeof (float) * MELS *
        FPB, NULL);
    GstMapInfo map;
    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    float *f = (float *) map.data;
    for (int i = 0; i < FPB; i++)
      for (int m = 0; m < MELS; m++) {
        const gboolean band = cls == 0 ? m < MELS / 3 : m >= 2 * MELS / 3;
        f[i * MELS + m] = (float) ((band ? -0.2 : -0.6) +
            0.05 * g_rand_double_range (rand, -1, 1));
      }
    gst_buffer_unmap (buf, &map);
    GST_BUFFER_PTS (buf) = t;
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (FPB * 256, GST_SECOND,
        12000);
    t += GST_BUFFER_DURATION (buf);
    g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
  }
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_end_event_new (item)));
  gst_affect_item_free (item);
}

static void
push_item (GstHarness * h, const char *id, int cls, const char *split,
    GRand * rand, gboolean labelled)
{
  push_item_vocab (h, id, cls, split, rand, labelled ? vocab : NULL);
}

static GstHarness *
harness (const char *launch, GstBus ** bus, int mels)
{
  GstHarness *h = gst_harness_new_parse (launch);
  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  gst_harness_set_src_caps (h, mel_caps (mels));
  return h;
}

static char *model_path;

static void
test_train_then_classify (void)
{
  GstBus *bus;
  GstHarness *h;
  GstMessage *msg;
  GRand *rand = g_rand_new_with_seed (3);
  char *launch;
  int epochs = 0;
  float low_max = -1.0f, high_min = 2.0f;
  double first_loss = 0, last_loss = 0;

  launch = g_strdup_printf ("affectclassify mode=train model=%s width=0.35 "
      "chunks=2 chunk-frames=72 epochs=%d sgd-epochs=1 batch-size=4 "
      "learning-rate=0.001 seed=1", model_path, ADAM_EPOCHS);
  h = harness (launch, &bus, MELS);
  g_free (launch);
  for (int i = 0; i < 16; i++) {
    char id[32];
    g_snprintf (id, sizeof id, "train%d", i);
    push_item (h, id, i % 2, "train", rand, TRUE);
  }
  for (int i = 0; i < 4; i++) {
    char id[32];
    g_snprintf (id, sizeof id, "val%d", i);
    push_item (h, id, i % 2, "validation", rand, TRUE);
  }
  /* an item without labels is reported and skipped */
  push_item (h, "nolabels", 0, "train", rand, FALSE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  {
    GError *err;
    gst_message_parse_warning (msg, &err, NULL);
    g_assert_nonnull (strstr (err->message, "nolabels"));
    g_error_free (err);
  }
  gst_message_unref (msg);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    const GstStructure *s = gst_message_get_structure (msg);
    if (gst_structure_has_name (s, "affect-train-epoch")) {
      guint e;
      double loss, metric;
      gst_structure_get_uint (s, "epoch", &e);
      gst_structure_get_double (s, "train-loss", &loss);
      gst_structure_get_double (s, "validation-metric", &metric);
      g_assert_cmpuint (e, ==, epochs + 1);
      g_assert_true (isfinite (loss));
      if (epochs == 0)
        first_loss = loss;
      last_loss = loss;
      g_test_message ("epoch %u: %s loss %.4f, validation ROC-AUC %.3f", e,
          gst_structure_get_string (s, "phase"), loss, metric);
      epochs++;
    }
    gst_message_unref (msg);
  }
  g_assert_cmpint (epochs, ==, ADAM_EPOCHS + 3);
  g_assert_cmpfloat (last_loss, <, first_loss);
  g_assert_true (g_file_test (model_path, G_FILE_TEST_EXISTS));
  {
    char *ckpt = g_strconcat (model_path, ".ckpt", NULL);
    g_assert_true (g_file_test (ckpt, G_FILE_TEST_EXISTS));
    g_unlink (ckpt);
    g_free (ckpt);
  }
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* the saved model names its labels and features */
  {
    GError *error = NULL;
    AffectModel *m = affect_model_load (model_path, &error);
    char **labels;
    g_assert_no_error (error);
    labels = affect_model_labels (m);
    g_assert_cmpstr (labels[1], ==, "high");
    g_strfreev (labels);
    g_assert_nonnull (strstr (affect_safetensors_metadata
            (affect_model_get_file (m), "affect.features"), "\"hop\":256"));
    affect_model_free (m);
  }

  /* a second element classifies new items with it */
  launch = g_strdup_printf ("affectclassify model=%s top-k=1", model_path);
  h = harness (launch, &bus, MELS);
  g_free (launch);
  for (int i = 0; i < 8; i++) {
    char id[32];
    GstBuffer *buf;
    GstEvent *ev;
    GstMapInfo map;
    g_snprintf (id, sizeof id, "test%d", i);
    push_item (h, id, i % 2, "test", rand, TRUE);
    /* the tensor lies between the item's events */
    while ((ev = gst_harness_try_pull_event (h)) != NULL) {
      gboolean start = gst_affect_event_is_item_start (ev);
      gst_event_unref (ev);
      if (start)
        break;
    }
    buf = gst_harness_pull (h);
    gst_buffer_map (buf, &map, GST_MAP_READ);
    g_assert_cmpuint (map.size, ==, 2 * sizeof (float));
    const float *p = (const float *) map.data;
    const char *best = p[1] > p[0] ? "high" : "low";
    /* the "high" tag's score ranks every high item above every low one */
    if (i % 2)
      high_min = MIN (high_min, p[1]);
    else
      low_max = MAX (low_max, p[1]);
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
    /* the first item's GAP (a sink prerolls on it) comes before its end */
    while ((ev = gst_harness_pull_event (h)) != NULL
        && GST_EVENT_TYPE (ev) == GST_EVENT_GAP)
      gst_event_unref (ev);
    g_assert_true (gst_affect_event_is_item_end (ev));
    gst_event_unref (ev);
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
    g_assert_nonnull (msg);
    {
      const GstStructure *s = gst_message_get_structure (msg);
      const GValue *labels = gst_structure_get_value (s, "labels");
      g_assert_true (gst_structure_has_name (s, "affect-prediction"));
      g_assert_cmpstr (gst_structure_get_string (s, "id"), ==, id);
      g_assert_cmpuint (gst_value_array_get_size (gst_structure_get_value (s,
                  "scores")), ==, 2);
      g_assert_cmpuint (gst_value_array_get_size (labels), ==, 1);
      g_assert_cmpstr (g_value_get_string (gst_value_array_get_value (labels,
                  0)), ==, best);
      g_assert_true (gst_structure_has_field (s, "running-time"));
    }
    gst_message_unref (msg);
  }
  g_test_message ("score of \"high\": at most %.4f on low items, at least "
      "%.4f on high items", low_max, high_min);
  g_assert_cmpfloat (high_min, >, low_max);
  {
    GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
    const GstStructure *s = gst_caps_get_structure (caps, 0);
    g_assert_cmpstr (gst_structure_get_string (s, "names"), ==, "low,high");
    g_assert_cmpstr (gst_structure_get_string (s, "affect-output"), ==,
        "scores");
    gst_caps_unref (caps);
  }
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_rand_free (rand);
}

/* runs a training pipeline; returns the epoch numbers posted */
static GArray *
train_run (const char *path, int epochs, gboolean resume)
{
  GstBus *bus;
  GstHarness *h;
  GstMessage *msg;
  GRand *rand = g_rand_new_with_seed (5);
  GArray *seen = g_array_new (FALSE, FALSE, sizeof (guint));
  char *launch = g_strdup_printf ("affectclassify mode=train model=%s "
      "width=0.35 chunks=2 chunk-frames=72 epochs=%d sgd-epochs=0 "
      "batch-size=4 learning-rate=0.001 seed=2 resume=%s", path, epochs,
      resume ? "true" : "false");

  h = harness (launch, &bus, MELS);
  g_free (launch);
  for (int i = 0; i < 8; i++)
    push_item (h, "r", i % 2, i < 6 ? "train" : "validation", rand, TRUE);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    guint e;
    if (gst_structure_get_uint (gst_message_get_structure (msg), "epoch", &e))
      g_array_append_val (seen, e);
    gst_message_unref (msg);
  }
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_rand_free (rand);
  return seen;
}

static void
test_resume (void)
{
  char *path = g_strconcat (model_path, ".resume.safetensors", NULL);
  char *ckpt = g_strconcat (path, ".ckpt", NULL);
  GArray *first = train_run (path, 2, FALSE), *second;

  g_assert_cmpuint (first->len, ==, 2);
  g_assert_true (g_file_test (ckpt, G_FILE_TEST_EXISTS));
  /* an interrupted 3-epoch run continues at epoch 3 */
  second = train_run (path, 3, TRUE);
  g_assert_cmpuint (second->len, ==, 1);
  g_assert_cmpuint (g_array_index (second, guint, 0), ==, 3);
  g_array_free (first, TRUE);
  g_array_free (second, TRUE);
  g_unlink (ckpt);
  g_unlink (path);
  g_free (ckpt);
  g_free (path);
}

/* Trains on 8 items; with `reorder` all but the first (whose vocabulary
 * names the model's classes) list them as {high, low}. Labels go by name,
 * so both runs must write the same model. An item naming a class the model
 * does not know is reported and skipped. */
static GBytes *
train_vocab_run (const char *path, gboolean reorder)
{
  GstBus *bus;
  GstHarness *h;
  GstMessage *msg;
  GRand *rand = g_rand_new_with_seed (9);
  gboolean warned = FALSE;
  gchar *contents;
  gsize length;
  char *launch = g_strdup_printf ("affectclassify mode=train model=%s "
      "width=0.35 chunks=2 chunk-frames=72 epochs=2 sgd-epochs=0 "
      "batch-size=4 learning-rate=0.001 seed=4", path);

  h = harness (launch, &bus, MELS);
  g_free (launch);
  for (int i = 0; i < 8; i++)
    push_item_vocab (h, "v", i % 2, i < 6 ? "train" : "validation", rand,
        reorder && i > 0 ? vocab_reversed : vocab);
  push_item_vocab (h, "unknown", 0, "train", rand, vocab_unknown);
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING)) != NULL) {
    GError *err;
    gst_message_parse_warning (msg, &err, NULL);
    if (strstr (err->message, "unknown") && strstr (err->message, "mid"))
      warned = TRUE;
    g_error_free (err);
    gst_message_unref (msg);
  }
  g_assert_true (warned);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_rand_free (rand);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpuint (length, >, 0);
  g_unlink (path);
  {
    gchar *ckpt = g_strconcat (path, ".ckpt", NULL);
    g_unlink (ckpt);
    g_free (ckpt);
  }
  return g_bytes_new_take (contents, length);
}

static void
test_labels_by_name (void)
{
  char *path = g_strconcat (model_path, ".vocab.safetensors", NULL);
  GBytes *same = train_vocab_run (path, FALSE);
  GBytes *reordered = train_vocab_run (path, TRUE);

  /* safetensors files: equal weights and metadata give equal bytes */
  g_assert_true (g_bytes_equal (same, reordered));
  g_bytes_unref (same);
  g_bytes_unref (reordered);
  g_free (path);
}

/* the trained model of the first test, or (when a test runs alone) an
 * untrained one of the same shape */
static void
ensure_model (void)
{
  AffectMoodNetConfig c;
  AffectMoodNet *net;
  GError *error = NULL;

  if (g_file_test (model_path, G_FILE_TEST_EXISTS))
    return;
  affect_moodnet_config_init (&c, 2);
  c.chunks = 2;
  c.chunk_frames = 72;
  c.n_mels = MELS;
  c.width = 0.35;
  net = affect_moodnet_new (&c, 1);
  g_assert_true (affect_moodnet_save (net, model_path, &error,
          "affect.labels", "[\"low\", \"high\"]", NULL));
  affect_moodnet_free (net);
}

static void
test_live_windows (void)
{
  GstBus *bus;
  GstHarness *h;
  char *launch;
  GRand *rand = g_rand_new_with_seed (4);
  int n = 0;

  ensure_model ();
  /* 24 frames per buffer at 46.875 frames/s: window 144 frames (3.072 s),
   * hop 72 frames; 12 buffers = 288 frames → windows at 0, 72, 144 */
  launch = g_strdup_printf ("affectclassify model=%s window=3072000000 "
      "hop=1536000000", model_path);
  h = harness (launch, &bus, MELS);
  g_free (launch);
  for (int b = 0; b < 12; b++) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, sizeof (float) * MELS *
        FPB, NULL);
    GstMapInfo map;
    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    for (int i = 0; i < MELS * FPB; i++)
      ((float *) map.data)[i] = (float) g_rand_double_range (rand, -0.6, -0.2);
    gst_buffer_unmap (buf, &map);
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale (b * FPB * 256, GST_SECOND,
        12000);
    gst_harness_push (h, buf);
  }
  GstBuffer *out;
  GstClockTime expect = 0;
  while ((out = gst_harness_try_pull (h)) != NULL) {
    g_assert_cmpuint (GST_BUFFER_PTS (out), ==, expect);
    expect += 1536000000;
    gst_buffer_unref (out);
    n++;
  }
  g_assert_cmpint (n, ==, 3);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_rand_free (rand);
}

static void
test_caps_mismatch (void)
{
  GstBus *bus;
  GstHarness *h;
  GstMessage *msg;
  GError *err;
  char *launch, *debug = NULL;

  ensure_model ();
  launch = g_strdup_printf ("affectclassify model=%s", model_path);
  h = harness (launch, &bus, 64);
  g_free (launch);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &err, &debug);
  g_test_message ("%s", err->message);
  /* names both the stream's and the model's value */
  g_assert_nonnull (strstr (err->message, "64"));
  g_assert_nonnull (strstr (err->message, "72"));
  g_assert_nonnull (strstr (err->message, model_path));
  g_error_free (err);
  g_free (debug);
  gst_message_unref (msg);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

/* a live window or hop that rounds to no Mel frame (21.3 ms here) is
 * refused at caps, naming it and the frame's duration, once */
static void
test_window_refusal (void)
{
  const char *settings[] = { "window=1", "hop=10000000" };

  ensure_model ();
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++) {
    GstBus *bus;
    GstHarness *h;
    GstMessage *msg;
    GError *err;
    char *launch = g_strdup_printf ("affectclassify model=%s %s",
        model_path, settings[i]);

    h = harness (launch, &bus, MELS);
    g_free (launch);
    g_assert_cmpint (gst_harness_push (h, gst_buffer_new_allocate (NULL,
                sizeof (float) * MELS * FPB, NULL)), ==,
        GST_FLOW_NOT_NEGOTIATED);
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    g_assert_nonnull (msg);
    gst_message_parse_error (msg, &err, NULL);
    g_test_message ("%s", err->message);
    g_assert_nonnull (strstr (err->message, settings[i]));
    g_assert_nonnull (strstr (err->message, "21.333 ms"));
    g_error_free (err);
    gst_message_unref (msg);
    g_assert_null (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR));
    gst_harness_teardown (h);
    gst_object_unref (bus);
  }
}

static void
test_missing_model (void)
{
  GstElement *e = gst_element_factory_make ("affectclassify", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err;

  gst_element_set_bus (e, bus);
  g_object_set (e, "model", "/nonexistent/model.safetensors", NULL);
  g_assert_cmpint (gst_element_set_state (e, GST_STATE_READY), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &err, NULL);
  g_assert_nonnull (strstr (err->message, "/nonexistent/model.safetensors"));
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
  gst_object_unref (bus);
}

/* An item whose Mel frames hold a NaN: skipped with a warning naming it
 * (id and file), and the run goes on to classify the next item (before:
 * "Non-finite Mel value in the input" stopped the whole run) */
static void
test_nonfinite_item (void)
{
  GRand *rand = g_rand_new_with_seed (11);
  GstBus *bus;
  GstHarness *h;
  GstMessage *msg;
  GstAffectItem *item;
  GstBuffer *buf;
  char *launch;
  guint n_out = 0, n_warnings = 0;

  ensure_model ();
  launch = g_strdup_printf ("affectclassify model=%s", model_path);
  h = harness (launch, &bus, MELS);
  g_free (launch);
  push_item (h, "first", 0, "test", rand, TRUE);
  item = gst_affect_item_new ("nan-item");
  item->path = g_strdup ("/corpus/nan-item.wav");
  gst_affect_item_set_tags (item, vocab, (const float[]) {
        1, 0
      });
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_start_event_new (item)));
  for (int b = 0; b < ITEM_FRAMES / FPB; b++) {
    float *f = g_new0 (float, MELS * FPB);
    if (b == 1)
      f[5] = NAN;
    g_assert_cmpint (gst_harness_push (h, gst_buffer_new_wrapped (f,
                sizeof (float) * MELS * FPB)), ==, GST_FLOW_OK);
  }
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_end_event_new (item)));
  gst_affect_item_free (item);
  push_item (h, "last", 1, "test", rand, TRUE);

  while ((buf = gst_harness_try_pull (h))) {
    n_out++;
    gst_buffer_unref (buf);
  }
  g_assert_cmpuint (n_out, ==, 2);
  while ((msg = gst_bus_pop (bus))) {
    g_assert_cmpint (GST_MESSAGE_TYPE (msg), !=, GST_MESSAGE_ERROR);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      GError *err;
      gst_message_parse_warning (msg, &err, NULL);
      g_test_message ("%s", err->message);
      g_assert_nonnull (strstr (err->message, "Item \"nan-item\" "
              "(/corpus/nan-item.wav): 1 non-finite Mel values: skipped"));
      g_error_free (err);
      n_warnings++;
    }
    gst_message_unref (msg);
  }
  g_assert_cmpuint (n_warnings, ==, 1);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_rand_free (rand);
}

/* a mono IEEE-float WAV (format 3), which holds any float value */
static void
write_float_wav (const gchar * path, const float *x, guint n, guint rate)
{
  GString *s = g_string_new (NULL);
  guint32 u;
  guint16 w;

#define PUT32(v) (u = GUINT32_TO_LE (v), g_string_append_len (s, (gchar *) &u, 4))
#define PUT16(v) (w = GUINT16_TO_LE (v), g_string_append_len (s, (gchar *) &w, 2))
  g_string_append (s, "RIFF");
  PUT32 (36 + n * 4);
  g_string_append (s, "WAVEfmt ");
  PUT32 (16);
  PUT16 (3);
  PUT16 (1);
  PUT32 (rate);
  PUT32 (rate * 4);
  PUT16 (4);
  PUT16 (32);
  g_string_append (s, "data");
  PUT32 (n * 4);
  for (guint i = 0; i < n; i++) {
    guint32 bits;
    memcpy (&bits, &x[i], 4);
    PUT32 (bits);
  }
#undef PUT32
#undef PUT16
  g_assert_true (g_file_set_contents (path, s->str, s->len, NULL));
  g_string_free (s, TRUE);
}

/* The run: three files through affectsrc ! affectmel !
 * affectclassify ! affectmetrics, the middle one a sine × 1e30. The run
 * ends normally, the huge item is named in a warning, all three items are
 * classified and scored (before: "Non-finite Mel value in the input"
 * stopped the run at the second item). */
static void
test_huge_item_pipeline (void)
{
  gchar *dir = g_dir_make_tmp ("affectclassify-huge-XXXXXX", NULL);
  gchar *manifest = g_build_filename (dir, "m.csv", NULL);
  gchar *report = g_build_filename (dir, "report.json", NULL);
  gchar *vocab_file = g_build_filename (dir, "classes.txt", NULL);
  const gchar *names[] = { "a", "huge", "c" };
  const guint rate = 12000, n = rate;
  float *x = g_new (float, n);
  gchar *launch, *huge_path = NULL;
  GstElement *pipe;
  GstBus *bus;
  GstMessage *msg;
  gboolean done = FALSE;
  guint n_predictions = 0, n_huge_warnings = 0;
  JsonParser *p = json_parser_new ();
  JsonObject *root;

  ensure_model ();
  for (guint f = 0; f < 3; f++) {
    gchar *path = g_strdup_printf ("%s/%s.wav", dir, names[f]);
    for (guint i = 0; i < n; i++)
      x[i] = 0.5f * sinf (2 * G_PI * (f == 2 ? 3000 : 440) * i / rate) *
          (f == 1 ? 1e30f : 1.0f);
    write_float_wav (path, x, n, rate);
    if (f == 1)
      huge_path = g_strdup (path);
    g_free (path);
  }
  g_assert_true (g_file_set_contents (manifest, "id,path,label\n"
          "a,a.wav,low\nhuge,huge.wav,high\nc,c.wav,high\n", -1, NULL));
  /* the model's class order */
  g_assert_true (g_file_set_contents (vocab_file, "low\nhigh\n", -1, NULL));
  launch = g_strdup_printf ("affectsrc location=%s vocabulary=%s ! "
      "audioconvert ! "
      "audio/x-raw,format=F32LE,channels=1,rate=%u ! affectmel n-fft=512 "
      "hop=256 n-mels=%d log=db frames-per-buffer=%d ! affectclassify "
      "model=%s ! affectmetrics location=%s", manifest, vocab_file, rate,
      MELS, FPB, model_path, report);
  pipe = gst_parse_launch (launch, NULL);
  g_assert_nonnull (pipe);
  bus = gst_element_get_bus (pipe);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  while (!done && (msg = gst_bus_timed_pop (bus, 60 * GST_SECOND))) {
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ERROR:{
        GError *err;
        gst_message_parse_error (msg, &err, NULL);
        g_error ("error: %s", err->message);
      }
      case GST_MESSAGE_WARNING:{
        GError *err;
        gst_message_parse_warning (msg, &err, NULL);
        g_test_message ("warning: %s", err->message);
        if (strstr (err->message, "\"huge\"")
            && strstr (err->message, huge_path))
          n_huge_warnings++;
        g_error_free (err);
        break;
      }
      case GST_MESSAGE_ELEMENT:
        n_predictions += gst_structure_has_name (gst_message_get_structure
            (msg), "affect-prediction");
        break;
      case GST_MESSAGE_EOS:
        done = TRUE;
        break;
      default:
        break;
    }
    gst_message_unref (msg);
  }
  g_assert_true (done);
  g_assert_cmpuint (n_huge_warnings, ==, 1);
  g_assert_cmpuint (n_predictions, ==, 3);
  g_assert_true (json_parser_load_from_file (p, report, NULL));
  root = json_node_get_object (json_parser_get_root (p));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member
          (root, "overall"), "n_items"), ==, 3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root,
              "skipped")), ==, 0);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipe);
  g_object_unref (p);
  for (guint f = 0; f < 3; f++) {
    gchar *path = g_strdup_printf ("%s/%s.wav", dir, names[f]);
    g_unlink (path);
    g_free (path);
  }
  g_unlink (manifest);
  g_unlink (report);
  g_unlink (vocab_file);
  g_free (vocab_file);
  g_rmdir (dir);
  g_free (dir);
  g_free (manifest);
  g_free (report);
  g_free (huge_path);
  g_free (launch);
  g_free (x);
}

/* mode=train with a model path in a missing folder fails on the way to
 * PAUSED, naming the path, before the source starts (before: the whole
 * dataset was read first) */
static void
test_unwritable_model (void)
{
  GstElement *pipe = gst_parse_launch ("fakesrc name=src ! affectclassify "
      "mode=train model=/nonexistent-affect-dir/m.safetensors ! fakesink",
      NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg;
  GError *err = NULL;
  GstState state;

  g_assert_cmpint (gst_element_set_state (pipe, GST_STATE_PLAYING), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &err, NULL);
  g_test_message ("%s", err->message);
  g_assert_true (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_WRITE));
  g_assert_nonnull (strstr (err->message,
          "/nonexistent-affect-dir/m.safetensors"));
  g_assert_nonnull (strstr (err->message, "does not exist"));
  gst_element_get_state (src, &state, NULL, 0);
  g_assert_cmpint (state, <=, GST_STATE_READY);
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (bus);
  gst_object_unref (pipe);
}

int
main (int argc, char **argv)
{
  char *dir;
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  dir = g_dir_make_tmp ("affectclassify-XXXXXX", NULL);
  model_path = g_build_filename (dir, "tiny.safetensors", NULL);
  g_test_add_func ("/affectclassify/train-then-classify",
      test_train_then_classify);
  g_test_add_func ("/affectclassify/resume", test_resume);
  g_test_add_func ("/affectclassify/labels-by-name", test_labels_by_name);
  g_test_add_func ("/affectclassify/unwritable-model", test_unwritable_model);
  g_test_add_func ("/affectclassify/nonfinite-item", test_nonfinite_item);
  g_test_add_func ("/affectclassify/huge-item-pipeline",
      test_huge_item_pipeline);
  g_test_add_func ("/affectclassify/live-windows", test_live_windows);
  g_test_add_func ("/affectclassify/caps-mismatch", test_caps_mismatch);
  g_test_add_func ("/affectclassify/missing-model", test_missing_model);
  g_test_add_func ("/affectclassify/window-refusal", test_window_refusal);
  ret = g_test_run ();
  g_unlink (model_path);
  g_rmdir (dir);
  g_free (model_path);
  g_free (dir);
  return ret;
}

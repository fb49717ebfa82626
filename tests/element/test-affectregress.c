/* affectregress and affectgate: training, inference and the gated system
 * re-joined by funnel, on synthetic 384-dimensional vectors with item
 * events */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstharness.h>
#include <gst/app/app.h>

#include "affect/affect.h"
#include "affect/nn.h"
#include "affect/mlp.h"
#include "gstaffectitem.h"
#include "gstaffecttensor.h"

#define N_FEATURES 384

static gchar *tmpdir;

/* a synthetic utterance: 16 latent factors (8 for valence, 8 for
 * arousal), each feature a noisy copy of one of them (IS09 functionals are
 * strongly correlated); spontaneous items are shifted on a quarter of the
 * features, and their valence depends more on the factors */
typedef struct
{
  float x[N_FEATURES];
  double valence, arousal;
  gboolean spontaneous;
} Utterance;

static void
make_utterance (Utterance * u, AffectRng * rng)
{
  double latent[16], v = 0.0, a = 0.0;
  int j;

  u->spontaneous = affect_rng_uniform (rng) < 0.5;
  for (j = 0; j < 16; j++)
    latent[j] = affect_rng_normal (rng);
  for (j = 0; j < 8; j++) {
    v += (u->spontaneous ? 0.35 : 0.2) * latent[j];
    a += 0.25 * latent[8 + j];
  }
  for (j = 0; j < N_FEATURES; j++) {
    double z = latent[j % 16] + 0.5 * affect_rng_normal (rng);
    if (j % 4 == 0 && u->spontaneous)
      z += 2.0;
    /* feature scales as in IS09: wildly different per dimension */
    u->x[j] = (float) (z * (1 + j % 13) * 10.0 + 50.0 * (j % 7));
  }
  u->valence = 3.0 + v + (u->spontaneous ? 0.3 : -0.3);
  u->arousal = 3.0 + a;
}

static GstCaps *
feature_caps (void)
{
  guint dims[1] = { N_FEATURES };
  GstAffectTensorInfo info;
  GstCaps *caps;

  gst_affect_tensor_info_init (&info, 1, dims, 0, 1);
  caps = gst_affect_tensor_caps_from_info (&info);
  gst_caps_set_simple (caps, "feature", G_TYPE_STRING, "is09",
      "sample-rate", G_TYPE_INT, 16000, NULL);
  return caps;
}

static void
push_item (GstHarness * h, guint index, const Utterance * u,
    const gchar * split)
{
  GstAffectItem *item;
  gchar *id = g_strdup_printf ("utt%04u", index);

  item = gst_affect_item_new (id);
  item->index = index;
  item->split = g_strdup (split);
  item->task = GST_AFFECT_TASK_REGRESSION;
  gst_affect_item_set_target (item, "valence", u->valence);
  gst_affect_item_set_target (item, "arousal", u->arousal);
  gst_affect_item_set_column (item, "spontaneity",
      u->spontaneous ? "improvised" : "script");
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_start_event_new (item)));
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (u->x,
              sizeof (u->x))), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_end_event_new (item)));
  gst_affect_item_free (item);
  g_free (id);
}

static GstHarness *
harness_with_bus (const gchar * launch, GstBus ** bus)
{
  GstHarness *h = gst_harness_new_parse (launch);

  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  gst_harness_set_src_caps (h, feature_caps ());
  return h;
}

/* number of element messages called name on the bus */
static guint
count_messages (GstBus * bus, const gchar * name, GstStructure ** last)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT
              | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err;
      gchar *dbg;
      gst_message_parse_error (msg, &err, &dbg);
      g_error ("error on the bus: %s (%s)", err->message, dbg);
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT
        && gst_message_has_name (msg, name)) {
      n++;
      if (last) {
        if (*last)
          gst_structure_free (*last);
        *last = gst_structure_copy (gst_message_get_structure (msg));
      }
    }
    gst_message_unref (msg);
  }
  return n;
}

static gchar *
model_path (const gchar * name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* train mode: targets from the item events, validation items, epoch
 * messages, a model file */
static void
train_regressor (const gchar * extra, const gchar * file, guint epochs,
    gboolean (*keep) (const Utterance *))
{
  gchar *path = model_path (file);
  gchar *launch = g_strdup_printf ("affectregress mode=train "
      "targets=valence,arousal model-file=%s epochs=%u batch-size=32 "
      "seed=3 hidden-sizes=256,128 %s", path, epochs, extra);
  GstBus *bus;
  GstHarness *h = harness_with_bus (launch, &bus);
  GstStructure *done = NULL;
  AffectRng rng;
  Utterance u;
  guint i, pushed = 0;

  affect_rng_init (&rng, 100);
  for (i = 0; i < 1200; i++) {
    make_utterance (&u, &rng);
    if (keep && !keep (&u))
      continue;
    push_item (h, i, &u, i % 5 == 0 ? "validation" : "train");
    pushed++;
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_cmpuint (count_messages (bus, "affect-train-epoch", &done), ==,
      epochs * (strstr (extra, "multi-output=false") ? 2 : 1));
  {
    gchar *str = gst_structure_to_string (done);
    g_test_message ("last epoch: %s", str);
    g_free (str);
    gst_structure_free (done);
  }
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS)
      || strstr (extra, "multi-output=false"));
  /* train mode forwards no tensors */
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (launch);
  g_free (path);
  g_test_message ("trained %s on %u items", file, pushed);
}

static gboolean
is_spontaneous (const Utterance * u)
{
  return u->spontaneous;
}

static gboolean
is_scripted (const Utterance * u)
{
  return !u->spontaneous;
}

/* infer: one tensor per item, between its start and end events, caps
 * naming the targets; MAE well below predicting the mean */
static double
evaluate (const gchar * launch_fmt, const gchar * file,
    gboolean (*keep) (const Utterance *))
{
  gchar *path = model_path (file);
  gchar *launch = g_strdup_printf (launch_fmt, path);
  GstBus *bus;
  GstHarness *h = harness_with_bus (launch, &bus);
  AffectRng rng;
  Utterance u;
  double mae = 0.0, mae_mean = 0.0;
  guint i, n = 0;

  affect_rng_init (&rng, 200);
  for (i = 0; i < 200; i++) {
    GstBuffer *out;
    GstEvent *ev;
    GstMapInfo map;
    gboolean saw_start = FALSE;

    make_utterance (&u, &rng);
    if (keep && !keep (&u))
      continue;
    push_item (h, i, &u, "test");
    /* events before the tensor: sticky ones and the item start */
    while ((ev = gst_harness_try_pull_event (h))) {
      if (gst_affect_event_is_item_start (ev))
        saw_start = TRUE;
      g_assert_false (gst_affect_event_is_item_end (ev) && !saw_start);
      gst_event_unref (ev);
    }
    g_assert_true (saw_start);
    out = gst_harness_pull (h);
    g_assert_nonnull (out);
    gst_buffer_map (out, &map, GST_MAP_READ);
    g_assert_cmpuint (map.size, ==, 2 * sizeof (float));
    mae += fabs (((float *) map.data)[0] - u.valence);
    mae_mean += fabs (3.0 - u.valence);
    g_assert_true (isfinite (((float *) map.data)[1]));
    gst_buffer_unmap (out, &map);
    gst_buffer_unref (out);
    n++;
  }
  {
    GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
    GstStructure *s = gst_caps_get_structure (caps, 0);
    g_assert_cmpstr (gst_structure_get_string (s, "names"), ==,
        "valence,arousal");
    g_assert_cmpstr (gst_structure_get_string (s, "affect-output"), ==,
        "targets");
    g_assert_cmpstr (gst_structure_get_string (s, "dimensions"), ==, "2");
    gst_caps_unref (caps);
  }
  g_assert_cmpuint (count_messages (bus, "affect-prediction", NULL), ==, n);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (launch);
  g_free (path);
  mae /= n;
  mae_mean /= n;
  g_test_message ("%s: valence MAE %.3f over %u items (predicting 3: %.3f)",
      file, mae, n, mae_mean);
  g_assert_cmpfloat (mae, <, 0.7 * mae_mean);
  return mae;
}

static void
test_regress_train_infer (void)
{
  train_regressor ("", "all.safetensors", 8, NULL);
  evaluate ("affectregress model-file=%s", "all.safetensors", NULL);
  /* per-stream standardisation: items held to EOS, then all released */
  {
    gchar *path = model_path ("all.safetensors");
    gchar *launch = g_strdup_printf ("affectregress model-file=%s "
        "standardise=per-stream", path);
    GstBus *bus;
    GstHarness *h = harness_with_bus (launch, &bus);
    AffectRng rng;
    Utterance u;
    guint i;

    affect_rng_init (&rng, 300);
    for (i = 0; i < 50; i++) {
      make_utterance (&u, &rng);
      push_item (h, i, &u, "test");
    }
    g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
    g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
    g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 50);
    gst_harness_teardown (h);
    gst_object_unref (bus);
    g_free (launch);
    g_free (path);
  }
}

static void
test_regress_per_target (void)
{
  /* one model per target, plain MSE, the seed's ReLU output */
  train_regressor ("multi-output=false vat=false", "pt.safetensors", 4, NULL);
  evaluate ("affectregress model-file=%s multi-output=false "
      "targets=valence,arousal", "pt.safetensors", NULL);
}

/* A model of 16 kHz features given 8 kHz ones: NOT_NEGOTIATED and one
 * error naming both rates, however often the caps are sent */
static void
assert_rate_refused (const gchar * launch)
{
  GstHarness *h = gst_harness_new_parse (launch);
  GstBus *bus = gst_bus_new ();
  GstCaps *caps = feature_caps ();
  GstMessage *msg;
  GError *err = NULL;
  float x[N_FEATURES] = { 0 };

  gst_element_set_bus (h->element, bus);
  gst_caps_set_simple (caps, "sample-rate", G_TYPE_INT, 8000, NULL);
  gst_harness_set_src_caps (h, caps);
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (x,
              sizeof (x))), ==, GST_FLOW_NOT_NEGOTIATED);
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (x,
              sizeof (x))), ==, GST_FLOW_NOT_NEGOTIATED);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &err, NULL);
  g_test_message ("%s", err->message);
  g_assert_nonnull (strstr (err->message, "sample-rate=16000"));
  g_assert_nonnull (strstr (err->message, "sample-rate=8000"));
  g_error_free (err);
  gst_message_unref (msg);
  g_assert_null (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR));
  gst_element_set_bus (h->element, NULL);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

static void
test_regress_errors (void)
{
  GstElement *pipe;
  GstStateChangeReturn ret;

  /* a missing model file fails at startup, naming the file */
  pipe = gst_parse_launch ("fakesrc ! affectregress "
      "model-file=/nonexistent/model.safetensors ! fakesink", NULL);
  ret = gst_element_set_state (pipe, GST_STATE_PAUSED);
  g_assert_cmpint (ret, ==, GST_STATE_CHANGE_FAILURE);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);

  /* a stream whose vectors do not match the model: refused at caps, with
   * an error naming the model file and both sizes */
  {
    gchar *path = model_path ("all.safetensors");
    gchar *launch = g_strdup_printf ("affectregress model-file=%s", path);
    GstHarness *h = gst_harness_new_parse (launch);
    GstBus *bus = gst_bus_new ();
    guint dims[1] = { 100 };
    GstAffectTensorInfo info;
    GstMessage *msg;
    GError *err = NULL;
    float x[100] = { 0 };

    gst_element_set_bus (h->element, bus);
    gst_affect_tensor_info_init (&info, 1, dims, 0, 1);
    gst_harness_set_src_caps (h, gst_affect_tensor_caps_from_info (&info));
    g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (x,
                sizeof (x))), ==, GST_FLOW_NOT_NEGOTIATED);
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    g_assert_nonnull (msg);
    gst_message_parse_error (msg, &err, NULL);
    g_test_message ("%s", err->message);
    g_assert_nonnull (strstr (err->message, path));
    g_assert_nonnull (strstr (err->message, "384"));
    g_assert_nonnull (strstr (err->message, "100"));
    g_error_free (err);
    gst_message_unref (msg);
    gst_harness_teardown (h);
    gst_object_unref (bus);
    g_free (launch);
    g_free (path);
  }

  /* IS09 vectors of another rate than the model's (8 kHz features into a
   * 16 kHz model gave unbounded outputs) */
  {
    gchar *path = model_path ("all.safetensors");
    gchar *launch = g_strdup_printf ("affectregress model-file=%s", path);

    assert_rate_refused (launch);
    g_free (launch);
    g_free (path);
  }
}

/* A training element whose model-file cannot be written fails on the way
 * to PAUSED, naming the path, before its upstream has produced anything
 * (before: it read the whole dataset, then failed). */
static void
expect_unwritable (const gchar * element, const gchar * path,
    const gchar * reason)
{
  gchar *launch = g_strdup_printf ("fakesrc name=src ! %s ! fakesink",
      element);
  GstElement *pipe = gst_parse_launch (launch, NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg;
  GError *err = NULL;
  gchar *dbg = NULL;
  GstState state;

  g_assert_cmpint (gst_element_set_state (pipe, GST_STATE_PLAYING), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &err, &dbg);
  g_test_message ("%s: %s", element, err->message);
  g_assert_true (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_WRITE));
  g_assert_nonnull (strstr (err->message, path));
  g_assert_nonnull (strstr (err->message, reason));
  /* the source never left READY: no item was read */
  gst_element_get_state (src, &state, NULL, 0);
  g_assert_cmpint (state, <=, GST_STATE_READY);
  g_error_free (err);
  g_free (dbg);
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (bus);
  gst_object_unref (pipe);
  g_free (launch);
}

static void
test_unwritable_model_file (void)
{
  const gchar *missing = "/nonexistent-affect-dir/m.safetensors";
  gchar *file = model_path ("plain-file");
  gchar *under_file = g_build_filename (file, "m.safetensors", NULL);
  gchar *launch;

  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  launch = g_strdup_printf ("affectregress mode=train targets=valence "
      "model-file=%s", missing);
  expect_unwritable (launch, missing, "does not exist");
  g_free (launch);
  launch = g_strdup_printf ("affectregress mode=train targets=valence "
      "model-file=%s", under_file);
  expect_unwritable (launch, under_file, "is not a folder");
  g_free (launch);
  /* a folder that refuses files (root included) */
  expect_unwritable ("affectregress mode=train targets=valence "
      "model-file=/proc/m.safetensors", "/proc/m.safetensors",
      "cannot be written in folder /proc");
  launch = g_strdup_printf ("affectgate mode=train model-file=%s", missing);
  expect_unwritable (launch, missing, "does not exist");
  g_free (launch);
  /* a folder given as the file */
  expect_unwritable ("affectgate mode=train model-file=/tmp", "/tmp",
      "is a folder");
  g_unlink (file);
  g_free (file);
  g_free (under_file);
}

/* the error of a harness whose push was refused */
static gchar *
pop_error (GstBus * bus)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  GError *err = NULL;
  gchar *text;

  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &err, NULL);
  text = g_strdup (err->message);
  g_error_free (err);
  gst_message_unref (msg);
  /* the same refusal may be posted again (a sticky caps event re-sent) */
  while ((msg = gst_bus_pop (bus)))
    gst_message_unref (msg);
  return text;
}

/* A prediction far outside the training targets' range is reported with a
 * warning naming the item and its file (before: 2.2e8 on a 1–5 scale went
 * out without a word); ordinary items pass quietly. */
static void
test_regress_prediction_range (void)
{
  gchar *path = model_path ("all.safetensors");
  gchar *launch;
  AffectMlp *mlp = affect_mlp_load (path, NULL);
  GstBus *bus = gst_bus_new ();
  GstHarness *h;
  AffectRng rng;
  Utterance u;
  GstAffectItem *item;
  GstMessage *msg;
  guint i, n_warnings = 0, n_outputs = 0;

  /* the trained model states its targets' range, one value per output */
  g_assert_nonnull (mlp);
  g_assert_nonnull (affect_mlp_get_metadata (mlp, "target-min"));
  g_assert_nonnull (strchr (affect_mlp_get_metadata (mlp, "target-max"), ','));
  affect_mlp_free (mlp);

  launch = g_strdup_printf ("affectregress model-file=%s", path);
  h = gst_harness_new_parse (launch);
  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps (h, feature_caps ());
  affect_rng_init (&rng, 400);
  for (i = 0; i < 20; i++) {
    make_utterance (&u, &rng);
    push_item (h, i, &u, "test");
  }
  make_utterance (&u, &rng);
  for (i = 0; i < N_FEATURES; i++)
    u.x[i] *= 1e4f;
  item = gst_affect_item_new ("wild");
  item->path = g_strdup ("/corpus/wild.wav");
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_start_event_new (item)));
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (u.x,
              sizeof (u.x))), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h,
          gst_affect_item_end_event_new (item)));
  gst_affect_item_free (item);
  while ((msg = gst_bus_pop (bus))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      GError *err;
      gst_message_parse_warning (msg, &err, NULL);
      g_test_message ("%s", err->message);
      g_assert_nonnull (strstr (err->message, "Item \"wild\" "
              "(/corpus/wild.wav): prediction far outside the training "
              "targets' range: valence = "));
      g_assert_nonnull (strstr (err->message, "arousal = "));
      g_error_free (err);
      n_warnings++;
    }
    gst_message_unref (msg);
  }
  g_assert_cmpuint (n_warnings, ==, 1);
  /* the prediction itself still goes out */
  while (gst_harness_buffers_in_queue (h) > 0) {
    gst_buffer_unref (gst_harness_pull (h));
    n_outputs++;
  }
  g_assert_cmpuint (n_outputs, ==, 21);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (launch);
  g_free (path);
}

/* Training on test items only: the error names the split filter (before:
 * "no training items", which sends one looking for a broken cache). */
static void
test_train_only_test_items (void)
{
  const gchar *launches[] = {
    "affectregress mode=train targets=valence model-file=%s",
    "affectgate mode=train model-file=%s",
  };
  gchar *path = model_path ("never.safetensors");
  guint l, i;

  for (l = 0; l < G_N_ELEMENTS (launches); l++) {
    gchar *launch = g_strdup_printf (launches[l], path);
    GstBus *bus;
    GstHarness *h = harness_with_bus (launch, &bus);
    AffectRng rng;
    Utterance u;
    gchar *text;

    affect_rng_init (&rng, 500);
    for (i = 0; i < 3; i++) {
      GstAffectItem *item = gst_affect_item_new ("t");
      make_utterance (&u, &rng);
      item->split = g_strdup ("test");
      gst_affect_item_set_target (item, "valence", u.valence);
      gst_affect_item_set_column (item, "spontaneity", "script");
      /* the gate routes test items to pads nothing is linked to here */
      gst_harness_push_event (h, gst_affect_item_start_event_new (item));
      gst_harness_push (h, gst_buffer_new_memdup (u.x, sizeof (u.x)));
      gst_harness_push_event (h, gst_affect_item_end_event_new (item));
      gst_affect_item_free (item);
    }
    gst_harness_push_event (h, gst_event_new_eos ());
    text = pop_error (bus);
    g_test_message ("%s", text);
    g_assert_nonnull (strstr (text, "No training items"));
    g_assert_nonnull (strstr (text, "3 items of split=test ignored"));
    g_free (text);
    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    gst_harness_teardown (h);
    gst_object_unref (bus);
    g_free (launch);
  }
  g_free (path);
}

/* the gate: trained from the items' spontaneity column; in train mode it
 * routes by that label */
static void
test_gate_and_gated_system (void)
{
  gchar *gate = model_path ("gate.safetensors");
  gchar *spont = model_path ("spont.safetensors");
  gchar *script = model_path ("script.safetensors");
  gchar *launch;
  GstBus *bus;
  GstHarness *h;
  AffectRng rng;
  Utterance u;
  guint i, correct = 0, n = 0, outputs = 0;
  gint open_item = -1;

  launch = g_strdup_printf ("affectgate name=g mode=train model-file=%s "
      "epochs=6 batch-size=32 hidden-sizes=128,64,32 seed=1 ! funnel name=f "
      "g.src_1 ! f.", gate);
  h = harness_with_bus (launch, &bus);
  affect_rng_init (&rng, 100);
  for (i = 0; i < 400; i++) {
    make_utterance (&u, &rng);
    push_item (h, i, &u, i % 5 == 0 ? "validation" : "train");
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_cmpuint (count_messages (bus, "affect-train-epoch", NULL), ==, 6);
  g_assert_true (g_file_test (gate, G_FILE_TEST_EXISTS));
  /* every item passed through in train mode */
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 400);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (launch);

  train_regressor ("", "spont.safetensors", 6, is_spontaneous);
  train_regressor ("", "script.safetensors", 6, is_scripted);

  /* the gated system, re-joined by funnel */
  launch = g_strdup_printf ("affectgate name=g model-file=%s "
      "g.src_0 ! affectregress model-file=%s ! f. "
      "g.src_1 ! affectregress model-file=%s ! f. funnel name=f",
      gate, spont, script);
  h = harness_with_bus (launch, &bus);
  affect_rng_init (&rng, 200);
  for (i = 0; i < 100; i++) {
    GstEvent *ev;
    GstBuffer *buf;

    make_utterance (&u, &rng);
    push_item (h, i, &u, "test");
    /* the item arrives whole: start (with the route), tensor, end */
    while ((ev = gst_harness_try_pull_event (h))) {
      GstAffectItem *item = gst_affect_item_parse_start_event (ev);
      if (item) {
        g_assert_cmpint (open_item, ==, -1);
        open_item = item->index;
        g_assert_cmpint (item->route, >=, 0);
        g_assert_true (item->route_probability >= 0.0
            && item->route_probability <= 1.0);
        g_assert_cmpint (item->route == 0, ==, item->route_probability >= 0.5);
        correct += (item->route == 0) == u.spontaneous;
        n++;
        gst_affect_item_free (item);
      }
      if (gst_affect_event_is_item_end (ev)) {
        g_assert_cmpint (open_item, ==, (gint) i);
        open_item = -1;
      }
      gst_event_unref (ev);
    }
    while ((buf = gst_harness_try_pull (h))) {
      outputs++;
      gst_buffer_unref (buf);
    }
  }
  g_test_message ("gate: %u of %u items routed to their true style", correct,
      n);
  g_assert_cmpuint (n, ==, 100);
  g_assert_cmpuint (outputs, ==, 100);
  g_assert_cmpfloat (correct / (double) n, >, 0.9);
  g_assert_cmpuint (count_messages (bus, "affect-prediction", NULL), ==, 200);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (launch);
  /* the gate model records its features' rate too */
  launch = g_strdup_printf ("affectgate model-file=%s", gate);
  assert_rate_refused (launch);
  g_free (launch);
  g_free (gate);
  g_free (spont);
  g_free (script);
}

/* route-by=label: an oracle gate without a model routes by the column */
static void
test_gate_route_by_label (void)
{
  GstBus *bus;
  GstHarness *h = harness_with_bus ("affectgate name=g route-by=label ! "
      "funnel name=f g.src_1 ! f.", &bus);
  AffectRng rng;
  Utterance u;
  guint i, n = 0;

  affect_rng_init (&rng, 500);
  for (i = 0; i < 20; i++) {
    GstEvent *ev;
    make_utterance (&u, &rng);
    push_item (h, i, &u, "test");
    while ((ev = gst_harness_try_pull_event (h))) {
      GstAffectItem *item = gst_affect_item_parse_start_event (ev);
      if (item) {
        g_assert_cmpint (item->route, ==, u.spontaneous ? 0 : 1);
        g_assert_cmpfloat (item->route_probability, ==,
            u.spontaneous ? 1.0 : 0.0);
        n++;
        gst_affect_item_free (item);
      }
      gst_event_unref (ev);
    }
  }
  g_assert_cmpuint (n, ==, 20);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 20);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

/* Runs appsrc → gate → queue → two regressors → funnel → `sink` over 40
 * items "utt00".."utt39" to EOS. The queues put each branch in a thread of
 * its own, so the funnel interleaves the two branches' item events and
 * predictions. Returns the pipeline's sink (a ref). */
static GstElement *
run_gated (const gchar * sink, guint seed)
{
  gchar *gate = model_path ("gate.safetensors");
  gchar *spont = model_path ("spont.safetensors");
  gchar *script = model_path ("script.safetensors");
  gchar *launch = g_strdup_printf ("appsrc name=src format=time ! "
      "affectgate name=g model-file=%s "
      "g.src_0 ! queue ! affectregress model-file=%s ! f. "
      "g.src_1 ! queue ! affectregress model-file=%s ! f. "
      "funnel name=f ! %s name=sink", gate, spont, script, sink);
  GstElement *pipe = gst_parse_launch (launch, NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg;
  AffectRng rng;
  Utterance u;
  guint i;

  g_free (launch);
  g_free (gate);
  g_free (spont);
  g_free (script);
  g_object_set (src, "caps", feature_caps (), NULL);
  g_object_set_data_full (G_OBJECT (out), "pipeline", pipe, gst_object_unref);
  g_assert_cmpint (gst_element_set_state (pipe, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  affect_rng_init (&rng, seed);
  for (i = 0; i < 40; i++) {
    gchar *id = g_strdup_printf ("utt%02u", i);
    GstAffectItem *item = gst_affect_item_new (id);
    GstBuffer *buf;
    make_utterance (&u, &rng);
    item->index = i;
    gst_affect_item_set_target (item, "valence", u.valence);
    gst_affect_item_set_target (item, "arousal", u.arousal);
    /* appsrc queues serialized events in order with its buffers */
    g_assert_true (gst_element_send_event (src,
            gst_affect_item_start_event_new (item)));
    buf = gst_buffer_new_memdup (u.x, sizeof (u.x));
    GST_BUFFER_PTS (buf) = i * GST_SECOND;
    GST_BUFFER_DURATION (buf) = GST_SECOND;
    g_assert_cmpint (gst_app_src_push_buffer (GST_APP_SRC (src), buf), ==,
        GST_FLOW_OK);
    g_assert_true (gst_element_send_event (src,
            gst_affect_item_end_event_new (item)));
    gst_affect_item_free (item);
    g_free (id);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
  if (GST_IS_APP_SINK (out)) {
    gst_object_unref (bus);
    return out;
  }
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  return out;
}

/* a real pipeline: every item comes out whole with its prediction, and
 * each prediction names its item (GstAffectItemMeta) */
static void
test_gated_pipeline (void)
{
  GstElement *sink = run_gated ("appsink sync=false", 400);
  GstElement *pipe = g_object_get_data (G_OBJECT (sink), "pipeline");
  GHashTable *ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  GstSample *sample;

  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
    GstBuffer *buf = gst_sample_get_buffer (sample);
    const gchar *id = gst_affect_item_meta_get_id (buf);
    g_assert_cmpuint (gst_buffer_get_size (buf), ==, 2 * sizeof (float));
    g_assert_nonnull (id);
    g_assert_true (g_str_has_prefix (id, "utt"));
    g_assert_true (g_hash_table_add (ids, g_strdup (id)));
    gst_sample_unref (sample);
  }
  g_assert_cmpuint (g_hash_table_size (ids), ==, 40);
  g_hash_table_unref (ids);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (sink);
}

/* the number after the first "key": in a JSON text */
static guint
json_count (const gchar * json, const gchar * key)
{
  gchar *quoted = g_strdup_printf ("\"%s\"", key);
  const gchar *p = strstr (json, quoted);

  g_assert_nonnull (p);
  p = strchr (p + strlen (quoted), ':');
  g_assert_nonnull (p);
  g_free (quoted);
  return (guint) g_ascii_strtoull (p + 1, NULL, 10);
}

static int
compare_lines (const void *a, const void *b)
{
  return strcmp (*(gchar * const *) a, *(gchar * const *) b);
}

/* The same chain into affectmetrics, several times over: however the two
 * branches interleave, every item is scored with its own prediction — the
 * per-item rows and the report are the same in every run. (When the sink
 * kept one current item, an item whose start event arrived between another
 * item's start and prediction was lost or scored with the wrong truth.) */
static void
test_gated_metrics_interleaved (void)
{
  gchar *report = model_path ("gated-metrics.json");
  gchar *rows = model_path ("gated-items.csv");
  gchar *first_rows = NULL;
  guint run;

  for (run = 0; run < 6; run++) {
    gchar *sink = g_strdup_printf ("affectmetrics location=%s "
        "items-location=%s", report, rows);
    GstElement *out = run_gated (sink, 600);
    gchar *text, **lines, *sorted, *json;
    guint n;

    g_assert_true (g_file_get_contents (rows, &text, NULL, NULL));
    lines = g_strsplit (g_strstrip (text), "\n", -1);
    n = g_strv_length (lines);
    /* two header lines and 40 rows; arrival order may differ, content may
     * not */
    g_assert_cmpuint (n, ==, 42);
    qsort (lines + 2, n - 2, sizeof (gchar *), compare_lines);
    sorted = g_strjoinv ("\n", lines);
    g_assert_true (g_file_get_contents (report, &json, NULL, NULL));
    g_assert_cmpuint (json_count (json, "n_items"), ==, 40);
    g_assert_null (strstr (json, "no prediction"));
    if (first_rows == NULL)
      first_rows = g_strdup (sorted);
    else
      g_assert_cmpstr (sorted, ==, first_rows);
    g_free (sorted);
    g_free (json);
    g_strfreev (lines);
    g_free (text);
    g_free (sink);
    gst_object_unref (out);
  }
  g_free (first_rows);
  g_free (report);
  g_free (rows);
}

int
main (int argc, char **argv)
{
  int ret;
  GDir *dir;
  const gchar *name;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  tmpdir = g_dir_make_tmp ("test-affectregress-XXXXXX", NULL);
  g_test_add_func ("/affectregress/train-infer", test_regress_train_infer);
  g_test_add_func ("/affectregress/per-target", test_regress_per_target);
  g_test_add_func ("/affectregress/errors", test_regress_errors);
  g_test_add_func ("/training/only-test-items", test_train_only_test_items);
  g_test_add_func ("/training/unwritable-model-file",
      test_unwritable_model_file);
  g_test_add_func ("/affectgate/gated-system", test_gate_and_gated_system);
  g_test_add_func ("/affectgate/gated-pipeline", test_gated_pipeline);
  g_test_add_func ("/affectgate/gated-metrics-interleaved",
      test_gated_metrics_interleaved);
  g_test_add_func ("/affectgate/route-by-label", test_gate_route_by_label);
  g_test_add_func ("/affectregress/prediction-range",
      test_regress_prediction_range);
  ret = g_test_run ();
  dir = g_dir_open (tmpdir, 0, NULL);
  while (dir && (name = g_dir_read_name (dir))) {
    gchar *p = g_build_filename (tmpdir, name, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return ret;
}

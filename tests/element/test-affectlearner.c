/* The training elements share GstAffectLearner: the same property names
 * (model-file, with affectclassify's old `model` as an alias), each its own
 * defaults, and one field layout of affect-train-epoch and
 * affect-train-done for an MLP and a MoodNet. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstharness.h>

#include "affect/manifest.h"
#include "affect/safetensors.h"
#include "gstaffectitem.h"
#include "gstaffecttensor.h"

#define MELS 72
#define FPB 24

static const gchar *epoch_fields[] = { "epoch", "epochs", "phase",
  "learning-rate", "train-loss", "train-mse", "train-lds", "validation-loss",
  "validation-metric", "metric", "validation-accuracy", "seconds", "best",
  NULL
};

static const gchar *done_fields[] = { "model-file", "items",
  "validation-items", "best-epoch", "validation-metric",
  "validation-accuracy", "constant-output", NULL
};

static gchar *tmpdir;

static void
test_properties (void)
{
  const gchar *names[] = { "affectregress", "affectgate", "affectclassify" };
  const guint epochs[] = { 50, 50, 12 };
  guint i, e;
  gchar *s;

  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    GstElement *el = gst_element_factory_make (names[i], NULL);
    g_assert_nonnull (el);
    g_object_set (el, "model-file", "a.safetensors", NULL);
    g_object_get (el, "model-file", &s, "epochs", &e, NULL);
    g_assert_cmpstr (s, ==, "a.safetensors");
    g_assert_cmpuint (e, ==, epochs[i]);
    g_free (s);
    g_assert_nonnull (g_object_class_find_property (G_OBJECT_GET_CLASS (el),
            "mode"));
    gst_object_unref (el);
  }
  {
    GstElement *el = gst_element_factory_make ("affectclassify", NULL);
    GParamSpec *alias = g_object_class_find_property (G_OBJECT_GET_CLASS (el),
        "model");
    g_assert_nonnull (alias);
    g_assert_true (alias->flags & G_PARAM_DEPRECATED);
    g_object_set (el, "model", "b.safetensors", NULL);
    g_object_get (el, "model-file", &s, NULL);
    g_assert_cmpstr (s, ==, "b.safetensors");
    g_free (s);
    g_assert_null (g_object_class_find_property (G_OBJECT_GET_CLASS (el),
            "hidden-sizes"));
    gst_object_unref (el);
  }
  {
    GstElement *el = gst_element_factory_make ("affectgate", NULL);
    g_object_get (el, "hidden-sizes", &s, NULL);
    g_assert_cmpstr (s, ==, "1200,600,300");
    g_free (s);
    gst_object_unref (el);
  }
}

/* every epoch and done message on the bus has exactly its fields (no
 * `target`: one model per element here), and the done message names the
 * last epoch flagged `best` and its validation metric; counts them */
static void
check_layout (GstBus * bus, guint * n_epoch, guint * n_done)
{
  GstMessage *msg;
  guint i, best = 0, done_epoch;
  gdouble best_metric = NAN, done_metric;
  gboolean is_best;

  *n_epoch = *n_done = 0;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT |
              GST_MESSAGE_ERROR))) {
    const GstStructure *s = gst_message_get_structure (msg);
    const gchar **fields;

    g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_ELEMENT);
    fields = gst_structure_has_name (s, "affect-train-epoch") ? epoch_fields
        : gst_structure_has_name (s, "affect-train-done") ? done_fields : NULL;
    if (fields != NULL) {
      for (i = 0; fields[i]; i++)
        g_assert_true (gst_structure_has_field (s, fields[i]));
      g_assert_cmpint (gst_structure_n_fields (s), ==, i);
      *n_epoch += fields == epoch_fields;
      *n_done += fields == done_fields;
    }
    if (fields == epoch_fields && gst_structure_get_boolean (s, "best",
            &is_best) && is_best) {
      g_assert_true (gst_structure_get_uint (s, "epoch", &best));
      g_assert_true (gst_structure_get_double (s, "validation-metric",
              &best_metric));
    }
    if (fields == done_fields) {
      g_assert_true (gst_structure_get_uint (s, "best-epoch", &done_epoch));
      g_assert_true (gst_structure_get_double (s, "validation-metric",
              &done_metric));
      g_assert_cmpuint (best, >, 0);
      g_assert_cmpuint (done_epoch, ==, best);
      g_assert_true (done_metric == best_metric || (isnan (done_metric)
              && isnan (best_metric)));
    }
    gst_message_unref (msg);
  }
}

static void
run_mlp (const gchar * element, guint * n_epoch, guint * n_done)
{
  gchar *launch = g_strdup_printf ("%s mode=train model-file=%s/%s.st "
      "epochs=3 batch-size=8 hidden-sizes=8 threads=1 targets=valence",
      element, tmpdir, element);
  GstHarness *h;
  GstBus *bus = gst_bus_new ();
  guint dims[1] = { 16 }, i, j;
  GstAffectTensorInfo info;
  GstCaps *caps;

  if (g_str_equal (element, "affectgate")) {
    gchar *t = launch;
    /* the gate has no targets; its two routes re-joined */
    *strstr (t, " targets=valence") = '\0';
    launch = g_strconcat (t, " name=g ! funnel name=f g.src_1 ! f.", NULL);
    g_free (t);
  }
  h = gst_harness_new_parse (launch);
  g_free (launch);
  gst_element_set_bus (h->element, bus);
  gst_affect_tensor_info_init (&info, 1, dims, 0, 1);
  caps = gst_affect_tensor_caps_from_info (&info);
  gst_harness_set_src_caps (h, caps);
  for (i = 0; i < 40; i++) {
    gchar *id = g_strdup_printf ("u%u", i);
    GstAffectItem *item = gst_affect_item_new (id);
    float x[16];
    for (j = 0; j < 16; j++)
      x[j] = (float) ((i * 7 + j * 3) % 11) - 5.0f;
    item->split = g_strdup (i % 4 ? "train" : "validation");
    gst_affect_item_set_target (item, "valence", x[0] + 0.5 * x[1]);
    gst_affect_item_set_target (item, "spontaneity", x[0] > 0);
    g_assert_true (gst_harness_push_event (h,
            gst_affect_item_start_event_new (item)));
    g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (x,
                sizeof (x))), ==, GST_FLOW_OK);
    g_assert_true (gst_harness_push_event (h,
            gst_affect_item_end_event_new (item)));
    gst_affect_item_free (item);
    g_free (id);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  check_layout (bus, n_epoch, n_done);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

static void
test_mlp_layout (void)
{
  guint n_epoch, n_done;

  run_mlp ("affectregress", &n_epoch, &n_done);
  g_assert_cmpuint (n_epoch, ==, 3);
  g_assert_cmpuint (n_done, ==, 1);
  run_mlp ("affectgate", &n_epoch, &n_done);
  g_assert_cmpuint (n_epoch, ==, 3);
  g_assert_cmpuint (n_done, ==, 1);
}

static GstCaps *
mel_caps (void)
{
  GstAffectTensorInfo info;
  guint dims[2] = { MELS, FPB };
  GstCaps *caps;

  gst_affect_tensor_info_init (&info, 2, dims, 12000, 256 * FPB);
  caps = gst_affect_tensor_caps_from_info (&info);
  gst_caps_set_simple (caps, "feature", G_TYPE_STRING, "mel",
      "sample-rate", G_TYPE_INT, 12000, "hop", G_TYPE_INT, 256,
      "n-mels", G_TYPE_INT, MELS, "preset", G_TYPE_STRING, "test", NULL);
  return caps;
}

/* one epoch of affectclassify on 4 training and 2 validation items whose
 * bands of one half are 0.5 and of the other −0.5 (which half by class) */
static void
train_moodnet (const gchar * file, const gchar * extra)
{
  static const gchar *vocab[] = { "low", "high", NULL };
  gchar *launch = g_strdup_printf ("affectclassify mode=train "
      "model-file=%s/%s width=0.35 chunks=2 chunk-frames=72 epochs=1 "
      "sgd-epochs=0 batch-size=4 seed=1 threads=1 %s", tmpdir, file, extra);
  GstHarness *h = gst_harness_new_parse (launch);
  GstBus *bus = gst_bus_new ();
  guint i, b, n_epoch, n_done;

  g_free (launch);
  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps (h, mel_caps ());
  for (i = 0; i < 6; i++) {
    gchar *id = g_strdup_printf ("m%u", i);
    GstAffectItem *item = gst_affect_item_new (id);
    float labels[2] = { i % 2 == 0, i % 2 == 1 };
    item->split = g_strdup (i < 4 ? "train" : "validation");
    gst_affect_item_set_tags (item, vocab, labels);
    g_assert_true (gst_harness_push_event (h,
            gst_affect_item_start_event_new (item)));
    for (b = 0; b < 3; b++) {
      GstBuffer *buf = gst_buffer_new_allocate (NULL,
          sizeof (float) * MELS * FPB, NULL);
      GstMapInfo map;
      guint k;
      gst_buffer_map (buf, &map, GST_MAP_WRITE);
      for (k = 0; k < MELS * FPB; k++)
        ((float *) map.data)[k] = (float) ((k % MELS < MELS / 2) ==
            (i % 2)) - 0.5f;
      gst_buffer_unmap (buf, &map);
      GST_BUFFER_PTS (buf) = b * GST_SECOND / 2;
      GST_BUFFER_DURATION (buf) = GST_SECOND / 2;
      g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
    }
    g_assert_true (gst_harness_push_event (h,
            gst_affect_item_end_event_new (item)));
    gst_affect_item_free (item);
    g_free (id);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  check_layout (bus, &n_epoch, &n_done);
  g_assert_cmpuint (n_epoch, ==, 1);
  g_assert_cmpuint (n_done, ==, 1);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

static void
test_moodnet_layout (void)
{
  train_moodnet ("mood.st", "");
}

/* standardise-bands: the file holds each band's mean and standard
 * deviation over the training items' frames (0 and 0.5 here: each band
 * is 0.5 in two of the four, −0.5 in the others) and the network says so;
 * without it, neither */
static void
test_moodnet_standardise (void)
{
  const gchar *files[2] = { "plain.st", "bands.st" };

  train_moodnet (files[0], "standardise-bands=false");
  train_moodnet (files[1], "standardise-bands=true");
  for (guint k = 0; k < 2; k++) {
    gchar *path = g_build_filename (tmpdir, files[k], NULL);
    AffectSafetensors *f = affect_safetensors_open (path, NULL);
    AffectTensorView mean, std;

    g_assert_nonnull (f);
    g_assert_cmpint (affect_safetensors_has (f, "input_norm.mean"), ==, k);
    g_assert_cmpint (strstr (affect_safetensors_metadata (f, "affect.arch"),
            "\"input_norm\": true") != NULL, ==, k);
    if (k == 1) {
      g_assert_true (affect_safetensors_get (f, "input_norm.mean", &mean,
              NULL));
      g_assert_true (affect_safetensors_get (f, "input_norm.std", &std, NULL));
      g_assert_cmpint (mean.n_elements, ==, MELS);
      for (guint m = 0; m < MELS; m++) {
        g_assert_cmpfloat_with_epsilon (mean.data[m], 0.0, 1e-6);
        g_assert_cmpfloat_with_epsilon (std.data[m], 0.5, 1e-6);
      }
    }
    affect_safetensors_close (f);
    g_free (path);
  }
}

/* ---- validation-group ---- */

#define GROUPS 8

/* the `validation-items` of affect-train-done, G_MAXUINT without one */
static guint
validation_items (GstBus * bus)
{
  GstMessage *msg;
  guint n = G_MAXUINT;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);
    if (gst_structure_has_name (s, "affect-train-done"))
      g_assert_true (gst_structure_get_uint (s, "validation-items", &n));
    gst_message_unref (msg);
  }
  return n;
}

/* the group of item i: a column "spk<g>", or (numeric) a target */
static void
set_group (GstAffectItem * item, guint i, gboolean numeric)
{
  gchar *name = g_strdup_printf ("spk%u", i % GROUPS);

  if (numeric)
    gst_affect_item_set_target (item, "speaker", i % GROUPS);
  else
    gst_affect_item_set_column (item, "speaker", name);
  g_free (name);
}

/* items of the held-out groups under seed, as the element should count */
static guint
expected_held_out (guint64 seed, guint items, gboolean numeric)
{
  guint i, n = 0;

  for (i = 0; i < items; i++) {
    gchar *name = numeric ? g_strdup_printf ("%u", i % GROUPS) :
        g_strdup_printf ("spk%u", i % GROUPS);
    n += affect_group_is_validation (seed, name, 0.3);
    g_free (name);
  }
  return n;
}

static guint
run_grouped_mlp (const gchar * element, guint64 seed, gboolean numeric)
{
  gchar *launch = g_strdup_printf ("%s mode=train model-file=%s/g-%s.st "
      "epochs=1 batch-size=8 hidden-sizes=4 threads=1 seed=%" G_GUINT64_FORMAT
      " validation-group=speaker validation-fraction=0.3%s", element, tmpdir,
      element, seed, g_str_equal (element, "affectgate") ?
      " name=g ! funnel name=f g.src_1 ! f." : " targets=valence");
  GstHarness *h = gst_harness_new_parse (launch);
  GstBus *bus = gst_bus_new ();
  guint dims[1] = { 4 }, i, n;
  GstAffectTensorInfo info;

  g_free (launch);
  gst_element_set_bus (h->element, bus);
  gst_affect_tensor_info_init (&info, 1, dims, 0, 1);
  gst_harness_set_src_caps (h, gst_affect_tensor_caps_from_info (&info));
  for (i = 0; i < 40; i++) {
    GstAffectItem *item = gst_affect_item_new ("u");
    float x[4] = { i % 5, i % 3, i % 7, 1.0f };
    set_group (item, i, numeric);
    gst_affect_item_set_target (item, "valence", x[0] - x[1]);
    gst_affect_item_set_target (item, "spontaneity", i % 2);
    g_assert_true (gst_harness_push_event (h,
            gst_affect_item_start_event_new (item)));
    g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (x,
                sizeof (x))), ==, GST_FLOW_OK);
    g_assert_true (gst_harness_push_event (h,
            gst_affect_item_end_event_new (item)));
    gst_affect_item_free (item);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  n = validation_items (bus);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  return n;
}

static guint
run_grouped_moodnet (guint64 seed)
{
  static const gchar *vocab[] = { "low", "high", NULL };
  gchar *launch = g_strdup_printf ("affectclassify mode=train "
      "model-file=%s/g-mood.st width=0.35 chunks=2 chunk-frames=72 epochs=1 "
      "sgd-epochs=0 batch-size=4 threads=1 seed=%" G_GUINT64_FORMAT
      " validation-group=speaker validation-fraction=0.3", tmpdir, seed);
  GstHarness *h = gst_harness_new_parse (launch);
  GstBus *bus = gst_bus_new ();
  guint i, k, n;

  g_free (launch);
  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps (h, mel_caps ());
  for (i = 0; i < 2 * GROUPS; i++) {
    GstAffectItem *item = gst_affect_item_new ("m");
    float labels[2] = { i % 2 == 0, i % 2 == 1 };
    GstBuffer *buf = gst_buffer_new_allocate (NULL,
        sizeof (float) * MELS * FPB * 3, NULL);
    GstMapInfo map;

    set_group (item, i, FALSE);
    gst_affect_item_set_tags (item, vocab, labels);
    g_assert_true (gst_harness_push_event (h,
            gst_affect_item_start_event_new (item)));
    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    for (k = 0; k < MELS * FPB * 3; k++)
      ((float *) map.data)[k] = (float) ((k % MELS < MELS / 2) == (i % 2));
    gst_buffer_unmap (buf, &map);
    g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
    g_assert_true (gst_harness_push_event (h,
            gst_affect_item_end_event_new (item)));
    gst_affect_item_free (item);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  n = validation_items (bus);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  return n;
}

/* whole groups held out, as the core draws them: the same for a seed,
 * other groups under another seed, for the three elements */
static void
test_validation_group (void)
{
  guint64 a = 0, b;

  /* two seeds that hold out different, non-empty sets of groups */
  while (expected_held_out (a, GROUPS, FALSE) == 0)
    a++;
  for (b = a + 1; expected_held_out (b, GROUPS, FALSE) == 0
      || expected_held_out (b, GROUPS, FALSE) ==
      expected_held_out (a, GROUPS, FALSE); b++);
  g_assert_cmpuint (run_grouped_mlp ("affectregress", a, FALSE), ==,
      expected_held_out (a, 40, FALSE));
  g_assert_cmpuint (run_grouped_mlp ("affectregress", a, FALSE), ==,
      expected_held_out (a, 40, FALSE));
  g_assert_cmpuint (run_grouped_mlp ("affectregress", b, FALSE), ==,
      expected_held_out (b, 40, FALSE));
  g_assert_cmpuint (expected_held_out (a, 40, FALSE) % (40 / GROUPS), ==, 0);
  /* a numeric group column reaches the elements among the targets */
  while (expected_held_out (a, GROUPS, TRUE) == 0)
    a++;
  g_assert_cmpuint (run_grouped_mlp ("affectgate", a, TRUE), ==,
      expected_held_out (a, 40, TRUE));
  g_assert_cmpuint (run_grouped_moodnet (b), ==,
      expected_held_out (b, 2 * GROUPS, FALSE));
}

int
main (int argc, char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("test-affectlearner-XXXXXX", NULL);
  g_test_add_func ("/affectlearner/properties", test_properties);
  g_test_add_func ("/affectlearner/mlp-layout", test_mlp_layout);
  g_test_add_func ("/affectlearner/moodnet-layout", test_moodnet_layout);
  g_test_add_func ("/affectlearner/moodnet-standardise",
      test_moodnet_standardise);
  g_test_add_func ("/affectlearner/validation-group", test_validation_group);
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

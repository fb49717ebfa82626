/* affectregress and affectgate in mode=train: a run stopped after some
 * epochs and continued with resume=true writes the same model file, byte
 * for byte, as an uninterrupted run; so does a run whose feature cache
 * spilled entirely to disk (cache-budget=0). */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstharness.h>

#include "affect/affect.h"
#include "affect/nn.h"
#include "gstaffectitem.h"
#include "gstaffecttensor.h"

#define N_FEATURES 64
#define N_ITEMS 300

static gchar *tmpdir;

static GstCaps *
feature_caps (void)
{
  guint dims[1] = { N_FEATURES };
  GstAffectTensorInfo info;
  GstCaps *caps;

  gst_affect_tensor_info_init (&info, 1, dims, 0, 1);
  caps = gst_affect_tensor_caps_from_info (&info);
  gst_caps_set_simple (caps, "feature", G_TYPE_STRING, "is09", NULL);
  return caps;
}

/* items whose valence, arousal and style depend on the features; every
 * fifth is a validation item */
static void
push_corpus (GstHarness * h)
{
  AffectRng rng;
  float x[N_FEATURES];
  guint i;
  int j;

  affect_rng_init (&rng, 77);
  for (i = 0; i < N_ITEMS; i++) {
    gchar *id = g_strdup_printf ("utt%04u", i);
    GstAffectItem *item = gst_affect_item_new (id);
    double v = 0.0, a = 0.0;
    for (j = 0; j < N_FEATURES; j++) {
      double z = affect_rng_normal (&rng);
      x[j] = (float) (z * (1 + j % 5) + 10.0 * (j % 3));
      if (j < 4)
        v += 0.4 * z;
      else if (j < 8)
        a += 0.3 * z;
    }
    item->index = i;
    item->split = g_strdup (i % 5 == 0 ? "validation" : "train");
    item->task = GST_AFFECT_TASK_REGRESSION;
    gst_affect_item_set_target (item, "valence", 3.0 + v);
    gst_affect_item_set_target (item, "arousal", 3.0 + a);
    gst_affect_item_set_column (item, "spontaneity",
        v + 0.2 * affect_rng_normal (&rng) > 0 ? "improvised" : "script");
    g_assert_true (gst_harness_push_event (h,
            gst_affect_item_start_event_new (item)));
    g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (x,
                sizeof (x))), ==, GST_FLOW_OK);
    g_assert_true (gst_harness_push_event (h,
            gst_affect_item_end_event_new (item)));
    gst_affect_item_free (item);
    g_free (id);
  }
}

/* one training run; returns the number of epoch messages */
static guint
train (const gchar * element, const gchar * model, guint epochs,
    const gchar * extra)
{
  /* the gate's two pads re-joined, so the harness sees every item */
  gchar *launch = g_strdup_printf ("%s mode=train model-file=%s epochs=%u "
      "batch-size=32 seed=4 threads=1 %s%s", element, model, epochs, extra,
      g_str_equal (element, "affectgate") ? " name=g ! funnel name=f "
      "g.src_1 ! f." : "");
  GstHarness *h = gst_harness_new_parse (launch);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  guint n_epochs = 0;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps (h, feature_caps ());
  push_corpus (h);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT
              | GST_MESSAGE_ERROR))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err;
      gchar *dbg;
      gst_message_parse_error (msg, &err, &dbg);
      g_error ("error on the bus: %s (%s)", err->message, dbg);
    }
    n_epochs += gst_message_has_name (msg, "affect-train-epoch");
    gst_message_unref (msg);
  }
  /* queued messages hold the elements, which hold the bus */
  gst_bus_set_flushing (bus, TRUE);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (launch);
  return n_epochs;
}

static void
assert_same_file (const gchar * a, const gchar * b)
{
  gchar *ca, *cb;
  gsize la, lb;

  g_assert_true (g_file_get_contents (a, &ca, &la, NULL));
  g_assert_true (g_file_get_contents (b, &cb, &lb, NULL));
  g_assert_cmpmem (ca, la, cb, lb);
  g_free (ca);
  g_free (cb);
}

static gchar *
path (const gchar * name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* full: epochs=4; resumed: epochs=2, then resume=true epochs=4;
 * spilled: epochs=4 cache-budget=0. models: the files each run writes
 * (suffixes of its model-file) */
static void
check_element (const gchar * element, const gchar * props,
    const gchar * const *suffixes, guint models)
{
  gchar *full = g_strdup_printf ("%s/%s-full.safetensors", tmpdir, element);
  gchar *resumed = g_strdup_printf ("%s/%s-resumed.safetensors", tmpdir,
      element);
  gchar *spilled = g_strdup_printf ("%s/%s-spilled.safetensors", tmpdir,
      element);
  gchar *extra;
  guint i;

  g_assert_cmpuint (train (element, full, 4, props), ==, 4 * models);
  g_assert_cmpuint (train (element, resumed, 2, props), ==, 2 * models);
  extra = g_strconcat (props, " resume=true", NULL);
  /* only the two missing epochs run */
  g_assert_cmpuint (train (element, resumed, 4, extra), ==, 2 * models);
  g_free (extra);
  extra = g_strconcat (props, " cache-budget=0", NULL);
  g_assert_cmpuint (train (element, spilled, 4, extra), ==, 4 * models);
  g_free (extra);

  for (i = 0; suffixes[i] != NULL; i++) {
    gchar *f = g_strdup_printf ("%s/%s-full%s.safetensors", tmpdir, element,
        suffixes[i]);
    gchar *r = g_strdup_printf ("%s/%s-resumed%s.safetensors", tmpdir,
        element, suffixes[i]);
    gchar *s = g_strdup_printf ("%s/%s-spilled%s.safetensors", tmpdir,
        element, suffixes[i]);
    gchar *ckpt = g_strconcat (r, ".ckpt", NULL);
    GStatBuf st;

    assert_same_file (f, r);
    assert_same_file (f, s);
    /* one checkpoint per model file, kept beside it */
    g_assert_cmpint (g_stat (ckpt, &st), ==, 0);
    g_test_message ("%s: %s identical after resume and with cache-budget=0;"
        " checkpoint %ld bytes", element, f, (long) st.st_size);
    g_free (f);
    g_free (r);
    g_free (s);
    g_free (ckpt);
  }
  g_free (full);
  g_free (resumed);
  g_free (spilled);
}

static void
test_regress_per_target (void)
{
  static const gchar *const suffixes[] = { "-valence", "-arousal", NULL };
  check_element ("affectregress", "targets=valence,arousal "
      "multi-output=false hidden-sizes=48,24", suffixes, 2);
}

static void
test_regress_multi_output (void)
{
  static const gchar *const suffixes[] = { "", NULL };
  check_element ("affectregress", "targets=valence,arousal vat=true "
      "hidden-sizes=48,24", suffixes, 1);
}

static void
test_gate (void)
{
  static const gchar *const suffixes[] = { "", NULL };
  check_element ("affectgate", "hidden-sizes=48,24,12", suffixes, 1);
}

/* a checkpoint of another shape is refused with an error on the bus */
static void
test_refused (void)
{
  gchar *model = path ("refused.safetensors");
  gchar *launch;
  GstHarness *h;
  GstBus *bus;
  GstMessage *msg;
  GError *err = NULL;

  g_assert_cmpuint (train ("affectgate", model, 1, "hidden-sizes=16"), ==, 1);
  launch = g_strdup_printf ("affectgate mode=train model-file=%s epochs=2 "
      "hidden-sizes=8 resume=true threads=1 name=g ! funnel name=f "
      "g.src_1 ! f.", model);
  h = gst_harness_new_parse (launch);
  bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps (h, feature_caps ());
  push_corpus (h);
  gst_harness_push_event (h, gst_event_new_eos ());
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &err, NULL);
  g_test_message ("%s", err->message);
  g_assert_nonnull (strstr (err->message, ".ckpt"));
  g_assert_nonnull (strstr (err->message, "this model is"));
  g_error_free (err);
  gst_message_unref (msg);
  /* queued messages hold the elements, which hold the bus */
  gst_bus_set_flushing (bus, TRUE);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (launch);
  g_free (model);
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
  tmpdir = g_dir_make_tmp ("test-affecttrain-resume-XXXXXX", NULL);
  g_test_add_func ("/affecttrain/regress-per-target", test_regress_per_target);
  g_test_add_func ("/affecttrain/regress-multi-output",
      test_regress_multi_output);
  g_test_add_func ("/affecttrain/gate", test_gate);
  g_test_add_func ("/affecttrain/refused", test_refused);
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

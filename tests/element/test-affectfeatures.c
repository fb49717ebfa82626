/* affectfeaturesink and affectfeaturesrc: IS09 features of generated WAVs
 * stored as a table (.npy, openSMILE CSV, ARFF) and read back give the
 * stream `affectsrc ! affectis09` gives: the same caps, item events,
 * timestamps and tensors (bit-identical: .npy stores float32, the text
 * formats %.9g), and a model trained on the audio route predicts the
 * same values from either route. Bad tables fail with file:line. */
#include <math.h>
#include <string.h>
#include <gst/gst.h>
#include <glib/gstdio.h>

#include "gstaffectitem.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static gchar *tmp_dir, *manifest;

typedef struct
{
  GPtrArray *starts;            /* GstStructure of each affect-item-start */
  GPtrArray *ends;              /* ids of each affect-item-end */
  GPtrArray *caps;              /* caps string at each buffer */
  GByteArray *data;             /* every buffer, in order */
  GArray *pts, *durations;      /* GstClockTime per buffer */
  guint progress;               /* affect-progress messages */
  guint emitted;                /* items-emitted of affect-dataset-done */
} Collect;

static void
collect_free (Collect * c)
{
  g_ptr_array_unref (c->starts);
  g_ptr_array_unref (c->ends);
  g_ptr_array_unref (c->caps);
  g_byte_array_unref (c->data);
  g_array_free (c->pts, TRUE);
  g_array_free (c->durations, TRUE);
  g_free (c);
}

static GstPadProbeReturn
collect_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Collect *c = data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    GstCaps *caps = gst_pad_get_current_caps (pad);
    GstClockTime pts = GST_BUFFER_PTS (buf), dur = GST_BUFFER_DURATION (buf);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_READ);
    g_byte_array_append (c->data, map.data, map.size);
    gst_buffer_unmap (buf, &map);
    g_ptr_array_add (c->caps, gst_caps_to_string (caps));
    gst_caps_unref (caps);
    g_array_append_val (c->pts, pts);
    g_array_append_val (c->durations, dur);
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    if (gst_affect_event_is_item_start (event))
      g_ptr_array_add (c->starts,
          gst_structure_copy (gst_event_get_structure (event)));
    else if (gst_affect_event_is_item_end (event))
      g_ptr_array_add (c->ends,
          g_strdup (gst_affect_item_parse_end_event (event, NULL)));
  }
  return GST_PAD_PROBE_OK;
}

/* runs desc to EOS; returns what reached the element called out (if any),
 * or NULL with *error_text set when the pipeline failed */
static Collect *
run (const gchar * desc, gchar ** error_text)
{
  Collect *c = g_new0 (Collect, 1);
  GError *error = NULL;
  GstElement *p = gst_parse_launch (desc, &error);
  GstElement *sink;
  GstBus *bus;
  GstMessage *msg;

  if (error)
    g_error ("%s: %s", desc, error->message);
  c->starts = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_structure_free);
  c->ends = g_ptr_array_new_with_free_func (g_free);
  c->caps = g_ptr_array_new_with_free_func (g_free);
  c->data = g_byte_array_new ();
  c->pts = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  c->durations = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  sink = gst_bin_get_by_name (GST_BIN (p), "out");
  if (sink) {
    GstPad *pad = gst_element_get_static_pad (sink, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, collect_probe, c, NULL);
    gst_object_unref (pad);
    gst_object_unref (sink);
  }
  bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  while ((msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
              GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))
      && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT) {
    if (gst_message_has_name (msg, "affect-progress"))
      c->progress++;
    else if (gst_message_has_name (msg, "affect-dataset-done"))
      gst_structure_get_uint (gst_message_get_structure (msg),
          "items-emitted", &c->emitted);
    gst_message_unref (msg);
  }
  if (msg == NULL)
    g_error ("%s: no EOS within 60 s", desc);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gchar *dbg = NULL;
    gst_message_parse_error (msg, &error, &dbg);
    if (error_text == NULL)
      g_error ("%s: %s (%s)", desc, error->message, dbg ? dbg : "");
    *error_text = g_strdup (error->message);
    g_error_free (error);
    g_free (dbg);
    collect_free (c);
    c = NULL;
  }
  gst_message_unref (msg);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  return c;
}

static gchar *
path_in_tmp (const gchar * name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static void
make_wav (const gchar * name, const gchar * wave, gdouble freq, gint n)
{
  gchar *path = path_in_tmp (name);
  gchar *desc = g_strdup_printf ("audiotestsrc wave=%s freq=%g "
      "num-buffers=%d samplesperbuffer=1600 ! "
      "audio/x-raw,format=S16LE,rate=16000,channels=1 ! wavenc ! "
      "filesink location=\"%s\"", wave, freq, n, path);
  Collect *c = run (desc, NULL);

  collect_free (c);
  g_free (desc);
  g_free (path);
}

static void
assert_same (const Collect * a, const Collect * b, const gchar * what)
{
  guint i;

  g_assert_cmpuint (a->starts->len, >, 0);
  g_assert_cmpuint (a->starts->len, ==, b->starts->len);
  for (i = 0; i < a->starts->len; i++) {
    GstStructure *x = g_ptr_array_index (a->starts, i);
    GstStructure *y = g_ptr_array_index (b->starts, i);
    if (!gst_structure_is_equal (x, y)) {
      gchar *sx = gst_structure_to_string (x), *sy = gst_structure_to_string
          (y);
      g_error ("%s: item %u: start events differ:\n  %s\n  %s", what, i, sx,
          sy);
    }
  }
  g_assert_cmpuint (a->ends->len, ==, b->ends->len);
  for (i = 0; i < a->ends->len; i++)
    g_assert_cmpstr (g_ptr_array_index (a->ends, i), ==,
        g_ptr_array_index (b->ends, i));
  g_assert_cmpuint (a->caps->len, ==, b->caps->len);
  for (i = 0; i < a->caps->len; i++) {
    g_assert_cmpstr (g_ptr_array_index (a->caps, i), ==,
        g_ptr_array_index (b->caps, i));
    g_assert_cmpuint (g_array_index (a->pts, GstClockTime, i), ==,
        g_array_index (b->pts, GstClockTime, i));
    g_assert_cmpuint (g_array_index (a->durations, GstClockTime, i), ==,
        g_array_index (b->durations, GstClockTime, i));
  }
  g_assert_cmpuint (a->data->len, ==, b->data->len);
  if (memcmp (a->data->data, b->data->data, a->data->len) != 0)
    g_error ("%s: tensors differ", what);
}

#define AUDIO_CHAIN "audioconvert ! audio/x-raw,format=F32LE,channels=1 ! " \
  "affectis09"

/* the audio route, stored in three formats at once */
static Collect *
audio_route_and_store (void)
{
  gchar *npy = path_in_tmp ("t.npy"), *csv = path_in_tmp ("t.csv");
  gchar *arff = path_in_tmp ("t.arff");
  gchar *desc = g_strdup_printf ("affectsrc location=\"%s\" ! " AUDIO_CHAIN
      " ! tee name=t t. ! queue ! fakesink name=out sync=false "
      "t. ! queue ! affectfeaturesink location=\"%s\" "
      "t. ! queue ! affectfeaturesink location=\"%s\" "
      "t. ! queue ! affectfeaturesink location=\"%s\"", manifest, npy, csv,
      arff);
  Collect *c = run (desc, NULL);

  g_free (desc);
  g_free (npy);
  g_free (csv);
  g_free (arff);
  return c;
}

static void
test_round_trip (void)
{
  Collect *audio = audio_route_and_store ();
  const gchar *formats[] = { "t.npy", "t.csv", "t.arff" };
  guint i;

  g_assert_cmpuint (audio->starts->len, ==, 8);
  for (i = 0; i < G_N_ELEMENTS (formats); i++) {
    gchar *path = path_in_tmp (formats[i]);
    gchar *desc = g_strdup_printf ("affectfeaturesrc location=\"%s\" ! "
        "fakesink name=out sync=false", path);
    Collect *stored = run (desc, NULL);
    assert_same (audio, stored, formats[i]);
    /* the messages affectsrc posts */
    g_assert_cmpuint (stored->progress, ==, audio->progress);
    g_assert_cmpuint (stored->emitted, ==, 8);
    collect_free (stored);
    g_free (desc);
    g_free (path);
  }
  collect_free (audio);
}

/* openSMILE CSV with the user's own manifest: the items' events come from
 * the manifest as affectsrc makes them; the split filter as affectsrc's */
static void
test_manifest_join (void)
{
  gchar *csv = path_in_tmp ("t.csv"), *copy = path_in_tmp ("plain.csv");
  gchar *text, *desc;
  gsize len;
  Collect *audio, *stored;

  /* a table without the sink's companion files */
  g_assert_true (g_file_get_contents (csv, &text, &len, NULL));
  g_assert_true (g_file_set_contents (copy, text, len, NULL));
  g_free (text);
  desc = g_strdup_printf ("affectsrc location=\"%s\" split=test ! "
      AUDIO_CHAIN " ! fakesink name=out sync=false", manifest);
  audio = run (desc, NULL);
  g_free (desc);
  desc = g_strdup_printf ("affectfeaturesrc location=\"%s\" manifest=\"%s\" "
      "split=test sample-rate=16000 ! fakesink name=out sync=false", copy,
      manifest);
  stored = run (desc, NULL);
  g_free (desc);
  g_assert_cmpuint (audio->starts->len, ==, 3);
  /* no stored timestamps in a plain table: compare all but those */
  g_assert_cmpuint (stored->starts->len, ==, audio->starts->len);
  g_array_set_size (stored->pts, 0);
  g_array_set_size (stored->durations, 0);
  g_array_append_vals (stored->pts, audio->pts->data, audio->pts->len);
  g_array_append_vals (stored->durations, audio->durations->data,
      audio->durations->len);
  assert_same (audio, stored, "openSMILE CSV + manifest");
  collect_free (audio);
  collect_free (stored);
  g_free (csv);
  g_free (copy);
}

/* tags (multi-label) through the cache, also when the stored items all
 * carry one tag (a companion without ';' would read as classes) */
static void
test_tags (void)
{
  gchar *tags = path_in_tmp ("tags.csv"), *npy = path_in_tmp ("tags.npy");
  const gchar *splits[] = { "", "split=test" };
  guint k;

  g_assert_true (g_file_set_contents (tags, "id,path,label,split\n"
          "t0,u0.wav,happy;sad,train\nt1,u1.wav,calm,test\nt2,u2.wav,sad,\n",
          -1, NULL));
  for (k = 0; k < G_N_ELEMENTS (splits); k++) {
    gchar *desc = g_strdup_printf ("affectsrc location=\"%s\" %s ! "
        AUDIO_CHAIN " ! tee name=t t. ! queue ! fakesink name=out sync=false "
        "t. ! queue ! affectfeaturesink location=\"%s\"", tags, splits[k],
        npy);
    Collect *audio = run (desc, NULL), *stored;
    GstAffectItem *item;
    GstEvent *ev;

    g_free (desc);
    g_assert_cmpuint (audio->starts->len, ==, k ? 2 : 3);
    ev = gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
        gst_structure_copy (g_ptr_array_index (audio->starts, 0)));
    item = gst_affect_item_parse_start_event (ev);
    g_assert_cmpint (item->task, ==, GST_AFFECT_TASK_TAGS);
    gst_affect_item_free (item);
    gst_event_unref (ev);
    desc = g_strdup_printf ("affectfeaturesrc location=\"%s\" ! "
        "fakesink name=out sync=false", npy);
    stored = run (desc, NULL);
    g_free (desc);
    assert_same (audio, stored, splits[k]);
    collect_free (audio);
    collect_free (stored);
  }
  g_free (tags);
  g_free (npy);
}

/* a model trained on the audio route predicts the same from the table */
static void
test_predictions (void)
{
  gchar *model = path_in_tmp ("arousal.safetensors");
  gchar *npy = path_in_tmp ("t.npy");
  gchar *desc;
  Collect *a, *b, *trained;

  desc = g_strdup_printf ("affectsrc location=\"%s\" ! " AUDIO_CHAIN
      " ! affectregress mode=train targets=arousal epochs=5 batch-size=4 "
      "hidden-sizes=16 seed=1 validation-fraction=0 model-file=\"%s\" ! "
      "fakesink", manifest, model);
  trained = run (desc, NULL);
  collect_free (trained);
  g_free (desc);
  g_assert_true (g_file_test (model, G_FILE_TEST_EXISTS));

  desc = g_strdup_printf ("affectsrc location=\"%s\" ! " AUDIO_CHAIN
      " ! affectregress model-file=\"%s\" ! fakesink name=out sync=false",
      manifest, model);
  a = run (desc, NULL);
  g_free (desc);
  desc = g_strdup_printf ("affectfeaturesrc location=\"%s\" ! "
      "affectregress model-file=\"%s\" ! fakesink name=out sync=false", npy,
      model);
  b = run (desc, NULL);
  g_free (desc);
  g_assert_cmpuint (a->data->len, ==, 8 * sizeof (float));
  assert_same (a, b, "affectregress predictions");
  collect_free (a);
  collect_free (b);
  g_free (model);
  g_free (npy);
}

/* affect-corpus features: the first run extracts into the cache, the
 * second finds the table; the table replays the audio route; a changed
 * file gives another key */
static gchar *
cache_run (const gchar * cache, gchar ** err)
{
  const gchar *build = g_getenv ("AFFECT_BUILD_DIR");
  gchar *tool = g_build_filename (build, "tools", "affect-corpus", NULL);
  gchar *argv[] = { tool, (gchar *) "features", (gchar *) "--cache",
    (gchar *) cache, manifest, NULL
  };
  gchar *out = NULL;
  gint status;

  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
          &out, err, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_free (tool);
  return g_strstrip (out);
}

static void
test_cache_tool (void)
{
  gchar *cache, *first, *second, *err, *desc;
  Collect *audio, *stored;

  if (g_getenv ("AFFECT_BUILD_DIR") == NULL) {
    g_test_skip ("AFFECT_BUILD_DIR is not set (run through meson test)");
    return;
  }
  if (SANITIZED) {
    /* the tool runs gst-launch-1.0, an uninstrumented program that cannot
     * load a plugin built with the sanitizers */
    g_test_skip ("affect-corpus features spawns gst-launch-1.0, which "
        "cannot load this sanitizer build's plugin");
    return;
  }
  cache = path_in_tmp ("cache");
  first = cache_run (cache, &err);
  g_assert_nonnull (strstr (err, "extracting"));
  g_free (err);
  g_assert_true (g_str_has_suffix (first, ".npy"));
  g_assert_true (g_file_test (first, G_FILE_TEST_EXISTS));
  second = cache_run (cache, &err);
  g_assert_nonnull (strstr (err, "cached"));
  g_free (err);
  g_assert_cmpstr (first, ==, second);
  g_free (second);

  desc = g_strdup_printf ("affectsrc location=\"%s\" ! " AUDIO_CHAIN
      " ! fakesink name=out sync=false", manifest);
  audio = run (desc, NULL);
  g_free (desc);
  desc = g_strdup_printf ("affectfeaturesrc location=\"%s\" ! "
      "fakesink name=out sync=false", first);
  stored = run (desc, NULL);
  g_free (desc);
  assert_same (audio, stored, "affect-corpus features");
  collect_free (audio);
  collect_free (stored);

  /* another recording under the same name: a new key */
  make_wav ("u7.wav", "sine", 600, 12);
  second = cache_run (cache, &err);
  g_assert_nonnull (strstr (err, "extracting"));
  g_free (err);
  g_assert_cmpstr (first, !=, second);
  g_free (second);
  g_free (first);
  g_free (cache);
}

static void
copy_file (const gchar * from, const gchar * to)
{
  gchar *a = path_in_tmp (from), *b = path_in_tmp (to), *text;
  gsize length;

  g_assert_true (g_file_get_contents (a, &text, &length, NULL));
  g_assert_true (g_file_set_contents (b, text, length, NULL));
  g_free (text);
  g_free (b);
  g_free (a);
}

static void
expect_error (const gchar * file, const gchar * text, const gchar * props,
    const gchar * expected)
{
  gchar *path = path_in_tmp (file);
  gchar *desc, *error = NULL;
  Collect *c;

  if (text)
    g_assert_true (g_file_set_contents (path, text, -1, NULL));
  desc = g_strdup_printf ("affectfeaturesrc location=\"%s\" %s ! fakesink",
      path, props);
  c = run (desc, &error);
  g_assert_null (c);
  g_test_message ("%s: %s", file, error);
  if (strstr (error, expected) == NULL)
    g_error ("%s: expected an error with '%s', got '%s'", desc, expected,
        error);
  g_free (error);
  g_free (desc);
  g_free (path);
}

static void
test_bad_tables (void)
{
  gchar *m3 = path_in_tmp ("three.csv"), *props;

  expect_error ("bad.csv", "name;frameTime;a;b\n'x';0;1;2\n'y';0;1;zz\n", "",
      "bad.csv:3: expected a number in column 'b', got 'zz'");
  expect_error ("short.csv", "name;a;b\n'x';1\n", "",
      "short.csv:2: expected 3 fields as in the header, got 2");
  expect_error ("dup.csv", "name;a\n'x';1\n'x';2\n", "",
      "dup.csv:3: expected a unique id, got 'x' already used on line 2");
  expect_error ("bad.arff", "@relation r\n@attribute name string\n"
      "@attribute a numeric\n@attribute class {p,q}\n@data\nx,1,r\n", "",
      "bad.arff:6: expected 'class' to be one of {p,q}, got 'r'");
  expect_error ("nodata.arff", "@relation r\n@attribute name string\n", "",
      "nodata.arff: expected an @data line");
  expect_error ("missing.csv", NULL, "", "cannot read feature table");
  /* a .npy of 8 rows without the .items.csv naming them, with a manifest
   * of 3 items: rows and items cannot be paired */
  g_assert_true (g_file_set_contents (m3, "id,path\na,a.wav\nb,b.wav\n"
          "c,c.wav\n", -1, NULL));
  copy_file ("t.npy", "bare.npy");
  props = g_strdup_printf ("manifest=\"%s\"", m3);
  expect_error ("bare.npy", NULL, props, "has 8 rows but its manifest");
  g_free (props);
  g_free (m3);
}

/* a .npy with its .items.csv and a manifest of some of its items (in
 * another order) and one it has no row for (a file that could not be
 * decoded): the rows are paired by id, the missing item skipped */
static void
test_npy_subset (void)
{
  gchar *npy = path_in_tmp ("t.npy"), *sub = path_in_tmp ("sub.csv");
  gchar *desc;
  Collect *all, *part;
  gsize row;

  desc = g_strdup_printf ("affectfeaturesrc location=\"%s\" ! fakesink "
      "name=out sync=false", npy);
  all = run (desc, NULL);
  g_free (desc);
  g_assert_cmpuint (all->ends->len, ==, 8);
  row = all->data->len / 8;
  g_assert_true (g_file_set_contents (sub, "id,path\nu5,u5.wav\n"
          "gone,gone.wav\nu2,u2.wav\n", -1, NULL));
  desc = g_strdup_printf ("affectfeaturesrc location=\"%s\" manifest=\"%s\" "
      "! fakesink name=out sync=false", npy, sub);
  part = run (desc, NULL);
  g_free (desc);
  g_assert_cmpuint (part->ends->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (part->ends, 0), ==, "u5");
  g_assert_cmpstr (g_ptr_array_index (part->ends, 1), ==, "u2");
  g_assert_cmpuint (part->data->len, ==, 2 * row);
  g_assert_cmpmem (part->data->data, row, all->data->data + 5 * row, row);
  g_assert_cmpmem (part->data->data + row, row, all->data->data + 2 * row, row);
  collect_free (all);
  collect_free (part);
  g_free (sub);
  g_free (npy);
}

int
main (int argc, char **argv)
{
  static const struct
  {
    const gchar *wave;
    gdouble freq;
  } sounds[] = {
    {"sine", 220}, {"square", 150}, {"saw", 330}, {"triangle", 120},
    {"pink-noise", 0}, {"sine", 440}, {"square", 95}, {"saw", 180},
  };
  GString *m;
  gint ret;
  guint i;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("affect-features-XXXXXX", NULL);
  m = g_string_new ("id,path,split,label,arousal,valence,speaker\n");
  for (i = 0; i < G_N_ELEMENTS (sounds); i++) {
    gchar *name = g_strdup_printf ("u%u.wav", i);
    make_wav (name, sounds[i].wave, sounds[i].freq, 5 + i);
    g_string_append_printf (m, "u%u,%s,%s,%s,%g,%g,s%u\n", i, name,
        i % 3 == 0 ? "test" : "train", i % 2 ? "high" : "low",
        i % 2 ? 1.0 : -1.0, 0.25 * i - 1, i % 4);
    g_free (name);
  }
  manifest = path_in_tmp ("m.csv");
  g_assert_true (g_file_set_contents (manifest, m->str, -1, NULL));
  g_string_free (m, TRUE);

  g_test_add_func ("/affectfeatures/round-trip", test_round_trip);
  g_test_add_func ("/affectfeatures/manifest-join", test_manifest_join);
  g_test_add_func ("/affectfeatures/tags", test_tags);
  g_test_add_func ("/affectfeatures/predictions", test_predictions);
  g_test_add_func ("/affectfeatures/bad-tables", test_bad_tables);
  g_test_add_func ("/affectfeatures/npy-subset", test_npy_subset);
  g_test_add_func ("/affectfeatures/cache-tool", test_cache_tool);
  ret = g_test_run ();

  {
    GDir *d = g_dir_open (tmp_dir, 0, NULL);
    const gchar *n;
    while ((n = g_dir_read_name (d))) {
      gchar *p = path_in_tmp (n);
      if (g_file_test (p, G_FILE_TEST_IS_DIR)) {
        GDir *sub = g_dir_open (p, 0, NULL);
        const gchar *f;
        while ((f = g_dir_read_name (sub))) {
          gchar *q = g_build_filename (p, f, NULL);
          g_unlink (q);
          g_free (q);
        }
        g_dir_close (sub);
        g_rmdir (p);
      } else
        g_unlink (p);
      g_free (p);
    }
    g_dir_close (d);
    g_rmdir (tmp_dir);
  }
  g_free (manifest);
  g_free (tmp_dir);
  return ret;
}

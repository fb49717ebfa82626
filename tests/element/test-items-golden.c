/* Items stay whole: a manifest of generated WAVs of different rates,
 * channel counts and lengths, run through each documented chain with stock
 * elements between affectsrc and ours, gives per-item outputs bit-identical
 * to runs of the same chain over a manifest holding only that item
 * (docs/protocol.md, "Items"). Also: no output ever falls between items. */
#include <string.h>
#include <gst/gst.h>
#include <glib/gstdio.h>

#include "gstaffectitem.h"
#include "affect/moodnet.h"

typedef struct
{
  const gchar *name;
  gint rate, channels;
  gdouble seconds;
  const gchar *wave;            /* audiotestsrc wave */
} Wav;

/* every rate the issue names, mono and stereo, lengths that are not whole
 * numbers of buffers, frames or hops */
static const Wav wavs[] = {
  {"r22k-mono", 22050, 1, 0.53, "sine"},
  {"r8k-mono", 8000, 1, 0.41, "saw"},
  {"r44k-stereo", 44100, 2, 0.37, "triangle"},
  {"r16k-stereo", 16000, 2, 0.62, "square"},
  {"r48k-mono", 48000, 1, 0.29, "pink-noise"},
  {"r22k-stereo", 22050, 2, 0.47, "saw"},
};

#define N_WAVS G_N_ELEMENTS (wavs)

static gchar *tmp_dir, *model_path;

typedef struct
{
  gchar *id;
  GByteArray *data;             /* every output buffer of the item, in order */
  guint n_buffers;
} ItemOut;

typedef struct
{
  GPtrArray *items;             /* ItemOut */
  ItemOut *current;
  guint64 outside;              /* bytes of buffers outside any item */
  gboolean saw_items;
} Collect;

static void
item_out_free (ItemOut * o)
{
  g_free (o->id);
  g_byte_array_unref (o->data);
  g_free (o);
}

static GstPadProbeReturn
collect_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Collect *c = data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_READ);
    if (c->current) {
      g_byte_array_append (c->current->data, map.data, map.size);
      c->current->n_buffers++;
    } else if (c->saw_items)
      c->outside += map.size;
    gst_buffer_unmap (buf, &map);
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

    if (gst_affect_event_is_item_start (event)) {
      GstAffectItem *item = gst_affect_item_parse_start_event (event);
      ItemOut *o = g_new0 (ItemOut, 1);

      g_assert_nonnull (item);
      g_assert_null (c->current);
      o->id = g_strdup (item->id);
      o->data = g_byte_array_new ();
      g_ptr_array_add (c->items, o);
      c->current = o;
      c->saw_items = TRUE;
      gst_affect_item_free (item);
    } else if (gst_affect_event_is_item_end (event)) {
      g_assert_nonnull (c->current);
      c->current = NULL;
    }
  }
  return GST_PAD_PROBE_OK;
}

/* Runs "affectsrc location=MANIFEST SRC_PROPS ! CHAIN ! fakesink name=out"
 * to EOS and returns what reached the sink, item by item. */
static Collect *
run_chain (const gchar * manifest, const gchar * src_props, const gchar * chain)
{
  Collect *c = g_new0 (Collect, 1);
  gchar *desc = g_strdup_printf ("affectsrc location=\"%s\" %s ! %s ! "
      "fakesink name=out sync=false", manifest, src_props, chain);
  GError *error = NULL;
  GstElement *p = gst_parse_launch (desc, &error);
  GstElement *sink;
  GstPad *pad;
  GstBus *bus;
  GstMessage *msg;

  if (error)
    g_error ("%s: %s", desc, error->message);
  c->items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_out_free);
  sink = gst_bin_get_by_name (GST_BIN (p), "out");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, collect_probe, c, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  bus = gst_element_get_bus (p);
  g_assert_cmpint (gst_element_set_state (p, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg == NULL)
    g_error ("%s: no EOS within 60 s", desc);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gchar *dbg = NULL;
    gst_message_parse_error (msg, &error, &dbg);
    g_error ("%s: %s (%s)", desc, error->message, dbg ? dbg : "");
  }
  gst_message_unref (msg);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  g_free (desc);
  return c;
}

static void
collect_free (Collect * c)
{
  g_ptr_array_unref (c->items);
  g_free (c);
}

typedef struct
{
  const gchar *name;
  const gchar *src_props;
  const gchar *chain;
} Chain;

/* Every item of the whole manifest equals its one-item run, bit for bit,
 * and nothing reaches the sink between items. */
static void
check_chain (gconstpointer data)
{
  const Chain *chain = data;
  gchar *all = g_build_filename (tmp_dir, "all.csv", NULL);
  Collect *whole = run_chain (all, chain->src_props, chain->chain);
  guint i;

  g_assert_cmpuint (whole->items->len, ==, N_WAVS);
  g_assert_cmpuint (whole->outside, ==, 0);
  for (i = 0; i < N_WAVS; i++) {
    gchar *name = g_strdup_printf ("%s.csv", wavs[i].name);
    gchar *one_path = g_build_filename (tmp_dir, name, NULL);
    Collect *one = run_chain (one_path, chain->src_props, chain->chain);
    ItemOut *a = g_ptr_array_index (whole->items, i);
    ItemOut *b;

    g_assert_cmpuint (one->items->len, ==, 1);
    g_assert_cmpuint (one->outside, ==, 0);
    b = g_ptr_array_index (one->items, 0);
    g_assert_cmpstr (a->id, ==, b->id);
    g_assert_cmpuint (b->data->len, >, 0);
    if (a->data->len != b->data->len
        || memcmp (a->data->data, b->data->data, a->data->len) != 0) {
      guint j, n = MIN (a->data->len, b->data->len), first = n;
      for (j = 0; j < n; j++)
        if (a->data->data[j] != b->data->data[j]) {
          first = j;
          break;
        }
      g_error ("%s: item %s (%d Hz, %d ch) differs from its one-item run: "
          "%u vs %u bytes in %u vs %u buffers, first difference at byte %u",
          chain->name, a->id, wavs[i].rate, wavs[i].channels, a->data->len,
          b->data->len, a->n_buffers, b->n_buffers, first);
    }
    collect_free (one);
    g_free (one_path);
    g_free (name);
  }
  collect_free (whole);
  g_free (all);
}

/* A stock audioresample doing the resampling after affectsrc (or after
 * affecthnr): each item's tail is drained inside the item (the segment
 * affectsrc sends again at the item's end, which affecthnr keeps behind the
 * item's audio), so nothing falls between items and every item keeps its
 * length to within two samples of its one-item run. The values are not
 * bit-exact: GStreamer's resampler keeps its fractional phase across the
 * reset that follows a drain. */
static void
check_stock_resampler (gconstpointer data)
{
  const Chain *chain = data;
  gchar *all = g_build_filename (tmp_dir, "all.csv", NULL);
  Collect *whole = run_chain (all, chain->src_props, chain->chain);
  guint i;

  g_assert_cmpuint (whole->items->len, ==, N_WAVS);
  g_assert_cmpuint (whole->outside, ==, 0);
  for (i = 0; i < N_WAVS; i++) {
    gchar *name = g_strdup_printf ("%s.csv", wavs[i].name);
    gchar *one_path = g_build_filename (tmp_dir, name, NULL);
    Collect *one = run_chain (one_path, chain->src_props, chain->chain);
    ItemOut *a = g_ptr_array_index (whole->items, i);
    ItemOut *b = g_ptr_array_index (one->items, 0);
    gint64 got = a->data->len / sizeof (float);
    gint64 expected = b->data->len / sizeof (float);

    g_test_message ("%s: item %s: %" G_GINT64_FORMAT " samples, alone %"
        G_GINT64_FORMAT, chain->name, a->id, got, expected);
    if (ABS (got - expected) > 2)
      g_error ("%s: item %s: %" G_GINT64_FORMAT " samples, its one-item "
          "run %" G_GINT64_FORMAT, chain->name, a->id, got, expected);
    collect_free (one);
    g_free (one_path);
    g_free (name);
  }
  collect_free (whole);
  g_free (all);
}

/* auto-resample: affectsrc resamples each item as the audioresample
 * downstream would, with its settings: one item alone gives the same
 * samples whether affectsrc or that audioresample does the work. */
static void
check_auto_resample (void)
{
  const gchar *chain = "audioconvert ! queue ! audioresample quality=7 ! "
      "audio/x-raw,format=F32LE,channels=1,rate=16000";
  guint i;

  for (i = 0; i < N_WAVS; i++) {
    gchar *name = g_strdup_printf ("%s.csv", wavs[i].name);
    gchar *path = g_build_filename (tmp_dir, name, NULL);
    Collect *a = run_chain (path, "", chain);
    Collect *b = run_chain (path, "auto-resample=false", chain);
    ItemOut *x = g_ptr_array_index (a->items, 0);
    ItemOut *y = g_ptr_array_index (b->items, 0);

    g_assert_cmpuint (x->data->len, >, 0);
    g_assert_cmpuint (x->data->len, ==, y->data->len);
    g_assert_true (memcmp (x->data->data, y->data->data, x->data->len) == 0);
    collect_free (a);
    collect_free (b);
    g_free (path);
    g_free (name);
  }
}

static void
make_wav (const Wav * w)
{
  gchar *file = g_strdup_printf ("%s.wav", w->name);
  gchar *path = g_build_filename (tmp_dir, file, NULL);
  gint frames = (gint) (w->seconds * w->rate);
  /* 1024-frame buffers and a last partial one */
  gchar *desc = g_strdup_printf ("audiotestsrc wave=%s freq=%d volume=0.5 "
      "samplesperbuffer=1024 num-buffers=%d ! "
      "audio/x-raw,format=S16LE,rate=%d,channels=%d ! wavenc ! "
      "filesink location=\"%s\"", w->wave,
      220 + 37 * w->channels + w->rate / 1000, (frames + 1023) / 1024,
      w->rate, w->channels, path);
  GstElement *p = gst_parse_launch (desc, NULL);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *msg;

  g_assert_nonnull (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  g_free (desc);

  /* cut to the exact length: the WAV data chunk holds whole buffers */
  {
    gchar *contents;
    gsize len, want = 44 + (gsize) frames * 2 * w->channels;
    guint32 v;
    g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
    g_assert_cmpuint (len, >=, want);
    v = GUINT32_TO_LE ((guint32) (want - 8));
    memcpy (contents + 4, &v, 4);
    v = GUINT32_TO_LE ((guint32) (want - 44));
    memcpy (contents + 40, &v, 4);
    g_assert_true (g_file_set_contents (path, contents, want, NULL));
    g_free (contents);
  }
  g_free (path);
  g_free (file);
}

static gchar *
write_file (const gchar * name, const gchar * text)
{
  gchar *path = g_build_filename (tmp_dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

/* a small random-weight MoodNet on the mtg-jamendo Mel preset (96 bands):
 * equality needs no training */
static void
make_model (void)
{
  AffectMoodNetConfig cfg;
  AffectMoodNet *net;
  GError *error = NULL;

  affect_moodnet_config_init (&cfg, 3);
  cfg.width = 0.25;
  cfg.chunks = 2;
  cfg.chunk_frames = 72;
  cfg.n_mels = 96;
  net = affect_moodnet_new (&cfg, 7);
  g_assert_nonnull (net);
  model_path = g_build_filename (tmp_dir, "model.safetensors", NULL);
  if (!affect_moodnet_save (net, model_path, &error, "affect.labels",
          "[\"calm\", \"happy\", \"sad\"]", NULL))
    g_error ("%s", error->message);
  affect_moodnet_free (net);
}

#define STOCK "audioconvert ! audioresample ! " \
  "audio/x-raw,format=F32LE,channels=1,rate=%d ! queue ! tee ! queue ! funnel"

int
main (int argc, char **argv)
{
  GString *all = g_string_new ("path,label\n");
  gchar *stock16, *stock12, *mel, *classify, *hnr;
  Chain chains[6];
  const Chain stock[2] = {
    {"stock-resampler", "auto-resample=false", "audioconvert ! audioresample ! "
          "audio/x-raw,format=F32LE,channels=1,rate=16000"},
    {"hnr-stock-resampler", "rate=16000 channels=1", "affecthnr seed=3 ! "
          "audioresample ! audio/x-raw,format=F32LE,channels=1,rate=12000"},
  };
  guint i;
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("items-golden-XXXXXX", NULL);
  for (i = 0; i < N_WAVS; i++) {
    gchar *name = g_strdup_printf ("%s.csv", wavs[i].name);
    gchar *line = g_strdup_printf ("%s.wav,%s\n", wavs[i].name,
        i % 3 == 0 ? "calm" : i % 3 == 1 ? "happy" : "sad");
    make_wav (&wavs[i]);
    g_string_append (all, line);
    {
      gchar *text = g_strconcat ("path,label\n", line, NULL);
      g_free (write_file (name, text));
      g_free (text);
    }
    g_free (line);
    g_free (name);
  }
  g_free (write_file ("all.csv", all->str));
  g_string_free (all, TRUE);
  make_model ();

  stock16 = g_strdup_printf (STOCK, 16000);
  stock12 = g_strdup_printf (STOCK, 12000);
  mel = g_strdup_printf ("%s ! affectmel preset=mtg-jamendo "
      "frames-per-buffer=16", stock12);
  classify = g_strdup_printf ("%s ! affectclassify model=\"%s\"", mel,
      model_path);
  hnr = g_strdup_printf ("%s ! affecthnr seed=3 ! affectmel "
      "preset=mtg-jamendo frames-per-buffer=16", stock12);
  /* speech at the corpus's own rate (no resampler), speech at 16 kHz, the
   * music front end, the classifier, the generator feeding the front end */
  chains[0] = (Chain) {
  "is09-native", "", "audioconvert ! audio/x-raw,format=F32LE,channels=1 ! "
        "queue ! tee ! queue ! funnel ! affectis09"};
  chains[1] = (Chain) {
  "is09-16k", "", NULL};
  chains[1].chain = g_strdup_printf ("%s ! affectis09", stock16);
  chains[2] = (Chain) {
  "mel", "", mel};
  chains[3] = (Chain) {
  "classify", "", classify};
  chains[4] = (Chain) {
  "hnr-mel", "", hnr};
  chains[5] = (Chain) {
  "is09-lld-16k-q10", "rate=16000 channels=1 resample-quality=10",
        "audioconvert ! audioresample ! "
        "audio/x-raw,format=F32LE,channels=1,rate=16000 ! affectis09 "
        "output=lld"};
  for (i = 0; i < G_N_ELEMENTS (chains); i++) {
    gchar *path = g_strdup_printf ("/items-golden/%s", chains[i].name);
    g_test_add_data_func (path, &chains[i], check_chain);
    g_free (path);
  }
  g_test_add_func ("/items-golden/auto-resample-equals-audioresample",
      check_auto_resample);
  g_test_add_data_func ("/items-golden/stock-resampler/after-affectsrc",
      &stock[0], check_stock_resampler);
  g_test_add_data_func ("/items-golden/stock-resampler/after-affecthnr",
      &stock[1], check_stock_resampler);
  ret = g_test_run ();

  g_free ((gchar *) chains[1].chain);
  g_free (stock16);
  g_free (stock12);
  g_free (mel);
  g_free (classify);
  g_free (hnr);
  {
    GDir *dir = g_dir_open (tmp_dir, 0, NULL);
    const gchar *name;
    while (dir && (name = g_dir_read_name (dir))) {
      gchar *path = g_build_filename (tmp_dir, name, NULL);
      g_unlink (path);
      g_free (path);
    }
    if (dir)
      g_dir_close (dir);
    g_rmdir (tmp_dir);
  }
  g_free (tmp_dir);
  g_free (model_path);
  return ret;
}

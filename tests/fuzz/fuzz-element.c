/* libFuzzer target: the plugin's elements fed random caps, buffers and item
 * events through GstHarness. An element may refuse the caps, post an error
 * or drop data; it must not crash, read or write out of bounds, leak,
 * trigger undefined behaviour or a GLib critical.
 *
 * Input: byte 0 picks the element (ELEMENTS below), byte 1 the caps: the
 * element's own caps at a random rate (audio) or random dimensions
 * (tensors), or caps parsed from the input's text up to its first NUL.
 * The rest is a program: each op byte starts an item (with a target and a
 * split), ends it, or pushes the following bytes as one buffer. EOS ends
 * the stream; every output is pulled. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstharness.h>

#include "gstaffectitem.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

typedef struct
{
  const char *launch;
  gboolean tensors;             /* sink takes other/tensors, else F32 audio */
} Element;

static char *dir, *model_file, *table_file;
static char **launches;

/* the training element's model files */
static void
cleanup (void)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    char *p = g_build_filename (dir, name, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

static const Element ELEMENTS[] = {
  {"affectmel preset=musicnn frames-per-buffer=3", FALSE},
  {"affectmel n-fft=64 hop=16 n-mels=8 frames-per-buffer=1 log=db "
        "top-db=80 center=false", FALSE},
  {"affectis09", FALSE},
  {"affectis09 window=500000000 hop=250000000 post-messages=true", FALSE},
  {"affecthnr", FALSE},
  {"affectmetrics", TRUE},
  {"affectregress mode=train targets=valence epochs=1 batch-size=4 "
        "model-file=%s", TRUE},
  {"affectfeaturesink location=%s", TRUE},
};

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  guint i;

  /* only the plugin under test, in a registry of its own: no scan of the
   * system's plugins (slow in an instrumented process); scanned in this
   * process, since the plugin scanner cannot load an instrumented plugin.
   * So the program also runs by hand: fuzz-element CRASH-FILE */
  g_setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "", TRUE);
  g_setenv ("GST_PLUGIN_PATH", AFFECT_PLUGIN_DIR, FALSE);
  g_setenv ("GST_REGISTRY", AFFECT_FUZZ_DIR "/registry-element.bin", TRUE);
  g_setenv ("GST_REGISTRY_FORK", "no", TRUE);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  gst_init (argc, argv);
  dir = g_dir_make_tmp ("fuzz-element-XXXXXX", NULL);
  g_assert (dir != NULL);
  atexit (cleanup);
  model_file = g_build_filename (dir, "model.safetensors", NULL);
  launches = g_new0 (char *, G_N_ELEMENTS (ELEMENTS) + 1);
  table_file = g_build_filename (dir, "table.npy", NULL);
  for (i = 0; i < G_N_ELEMENTS (ELEMENTS); i++)
    launches[i] = g_strdup_printf (ELEMENTS[i].launch,
        strstr (ELEMENTS[i].launch, "affectfeaturesink") ? table_file :
        model_file);
  return 0;
}

static GstCaps *
make_caps (const Element * e, const uint8_t * data, size_t size, size_t *pos)
{
  guint8 mode;
  guint32 r = 0;

  if (*pos >= size)
    return NULL;
  mode = data[(*pos)++];
  if (*pos + 4 <= size) {
    memcpy (&r, data + *pos, 4);
    *pos += 4;
  }
  if (mode % 4 == 3) {
    /* caps written in the input */
    const uint8_t *nul = memchr (data + *pos, 0, size - *pos);
    char *text;
    GstCaps *caps;
    if (nul == NULL)
      return NULL;
    text = g_strndup ((const char *) data + *pos, nul - (data + *pos));
    *pos = nul - data + 1;
    /* one structure whose name GStreamer accepts: gst_caps_from_string
     * itself hits a critical on a bad name */
    if (!g_ascii_isalpha (text[0])
        || text[strspn (text, "abcdefghijklmnopqrstuvwxyz"
                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-_.:+")] != ','
        || strchr (text, ';')) {
      g_free (text);
      return NULL;
    }
    caps = gst_caps_from_string (text);
    g_free (text);
    return caps;
  }
  if (!e->tensors)
    return gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING,
        "F32LE", "layout", G_TYPE_STRING, "interleaved", "channels",
        G_TYPE_INT, mode % 4 == 2 ? 2 : 1, "rate", G_TYPE_INT,
        mode % 4 == 0 ? 16000 : (gint) (r % 400000) + 1, NULL);
  {
    char *dims = mode % 4 == 0 ? g_strdup ("384") :
        g_strdup_printf ("%u:%u", r % 400 + 1, (r >> 16) % 4 + 1);
    GstCaps *caps = gst_caps_new_simple ("other/tensors",
        "format", G_TYPE_STRING, "static", "num_tensors", G_TYPE_INT, 1,
        "types", G_TYPE_STRING, "float32", "dimensions", G_TYPE_STRING, dims,
        "framerate", GST_TYPE_FRACTION, 0, 1, NULL);
    g_free (dims);
    return caps;
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  const Element *e;
  GstHarness *h;
  GstCaps *caps;
  GstAffectItem *item = NULL;
  GstBuffer *out;
  size_t pos = 1;
  guint n_items = 0;
  GstClockTime pts = 0;

  if (size < 2)
    return 0;
  e = &ELEMENTS[data[0] % G_N_ELEMENTS (ELEMENTS)];
  caps = make_caps (e, data, size, &pos);
  if (caps == NULL)
    return 0;
  if (!gst_caps_is_fixed (caps)) {
    /* a caps event carries fixed caps only */
    gst_caps_unref (caps);
    return 0;
  }
  h = gst_harness_new_parse (launches[e - ELEMENTS]);
  gst_harness_set_src_caps (h, caps);
  while (pos < size) {
    guint8 op = data[pos++];
    if (op % 8 == 0) {
      char *id = g_strdup_printf ("item-%u", n_items++);
      GstEvent *ev;
      if (item)
        gst_affect_item_free (item);
      item = gst_affect_item_new (id);
      gst_affect_item_set_target (item, "valence", (op >> 3) / 8.0 - 2.0);
      item->split = g_strdup (op & 0x80 ? "validation" : "train");
      ev = gst_affect_item_start_event_new (item);
      gst_harness_push_event (h, ev);
      g_free (id);
    } else if (op % 8 == 1) {
      if (item) {
        gst_harness_push_event (h, gst_affect_item_end_event_new (item));
        gst_affect_item_free (item);
        item = NULL;
      }
    } else {
      /* a buffer of up to 16 * 255 bytes, not always whole samples */
      size_t len = MIN (size - pos, (size_t) (op >> 3) * 16 + (op % 8 == 7));
      GstBuffer *buf = gst_buffer_new_allocate (NULL, len, NULL);
      gst_buffer_fill (buf, 0, data + pos, len);
      pos += len;
      GST_BUFFER_PTS (buf) = op % 8 == 6 ? GST_CLOCK_TIME_NONE : pts;
      GST_BUFFER_DURATION (buf) = 10 * GST_MSECOND;
      pts += 10 * GST_MSECOND;
      if (gst_harness_push (h, buf) != GST_FLOW_OK)
        break;
    }
    while ((out = gst_harness_try_pull (h)))
      gst_buffer_unref (out);
  }
  if (item) {
    gst_harness_push_event (h, gst_affect_item_end_event_new (item));
    gst_affect_item_free (item);
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  while ((out = gst_harness_try_pull (h)))
    gst_buffer_unref (out);
  gst_harness_teardown (h);
  return 0;
}

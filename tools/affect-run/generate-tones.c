/* affect-run built-in generator "tones": a small labelled music corpus.
 *
 * Each item is a short melody over a sustained triad, made so that its
 * arousal/valence quadrant is audible and measurable:
 *
 *   quadrant                 mode   tempo (notes)        level
 *   activated_pleasant       major  140-180 bpm, 8ths    loud (about -6 dBFS peak)
 *   deactivated_pleasant     major   60-80 bpm, quarters soft (about -22 dBFS peak)
 *   activated_unpleasant     minor  140-180 bpm, 8ths    loud
 *   deactivated_unpleasant   minor   60-80 bpm, quarters soft
 *
 * (the quadrant names and order of the music paper's emotional_valence.txt).
 * Items cycle through the quadrants; within a quadrant the k-th item goes to
 * train, train, validation, test, train, ... Everything is drawn from
 * AffectRng seeded by (seed, item), so the same parameters give the same
 * bytes. WAV files are encoded by GStreamer's wavenc and each file is
 * renamed into place once complete; manifest.csv (the generic CSV of
 * affectsrc) is written last, atomically, so an interrupted run is simply
 * generated again.
 */
#include <math.h>
#include <string.h>
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <glib/gstdio.h>

#include "affect/atomicfile.h"
#include "affect/nn.h"
#include "runner.h"

#define TONES_VERSION 1

static const char *const quadrants[] = {
  "activated_pleasant", "deactivated_pleasant", "activated_unpleasant",
  "deactivated_unpleasant"
};

static const int major_scale[7] = { 0, 2, 4, 5, 7, 9, 11 };
static const int minor_scale[7] = { 0, 2, 3, 5, 7, 8, 10 };     /* natural */

static const RunnerParam tones_params[] = {
  {"output", "${CACHE}/tones", "folder to write the WAVs and manifest.csv to"},
  {"seed", "1", "random seed; the same seed gives the same files"},
  {"items", "4", "items per quadrant (4 quadrants)"},
  {"seconds", "3", "length of each item in seconds"},
  {"rate", "16000", "sample rate in Hz"},
  {"corrupt", "0", "number of extra unreadable items (to exercise skipping)"},
  {NULL, NULL, NULL}
};

typedef struct
{
  int quadrant;
  gboolean major, activated;
  double bpm, peak, valence, arousal;
  const char *split;
} ToneItem;

static double
midi_to_hz (double midi)
{
  return 440.0 * pow (2.0, (midi - 69.0) / 12.0);
}

/* one harmonic note (partials 1/h, below Nyquist) with a 10 ms attack and
 * an exponential decay, added into out */
static void
add_note (float *out, gsize n, gsize start, gsize length, double hz,
    double amp, double decay_s, int rate)
{
  gsize i;
  int h;
  gsize attack = rate / 100, release = rate / 100;

  for (i = 0; i < length && start + i < n; i++) {
    double t = (double) i / rate, env, v = 0;
    env = exp (-t / decay_s);
    if (i < attack)
      env *= (double) i / attack;
    if (i + release > length)
      env *= (double) (length - i) / release;
    for (h = 1; h <= 5 && h * hz < rate / 2.0; h++)
      v += sin (2 * G_PI * h * hz * t) / h;
    out[start + i] += amp * env * v;
  }
}

static float *
synthesise (const ToneItem * it, AffectRng * rng, int rate, double seconds,
    gsize * n_samples)
{
  const int *scale = it->major ? major_scale : minor_scale;
  gsize n = (gsize) (seconds * rate), pos = 0, i;
  float *x = g_new0 (float, n);
  double note_s = it->activated ? 30.0 / it->bpm : 60.0 / it->bpm;
  gsize note_len = (gsize) (note_s * rate);
  int root = 55 + (int) (affect_rng_uniform (rng) * 8);
  int degree = 0;
  double peak = 0;
  double triad[3];

  /* sustained triad an octave below: the third makes the mode audible */
  triad[0] = midi_to_hz (root - 12);
  triad[1] = midi_to_hz (root - 12 + (it->major ? 4 : 3));
  triad[2] = midi_to_hz (root - 12 + 7);
  for (i = 0; i < 3; i++)
    add_note (x, n, 0, n, triad[i], 0.25, 4.0 * seconds, rate);

  /* melody: a random walk over the scale, two octaves */
  while (pos < n) {
    int step = (int) (affect_rng_uniform (rng) * 5) - 2;
    int octave, midi;
    degree = CLAMP (degree + step, 0, 13);
    octave = degree / 7;
    midi = root + 12 * octave + scale[degree % 7];
    add_note (x, n, pos, note_len, midi_to_hz (midi), 1.0,
        it->activated ? 0.12 : 0.5, rate);
    pos += note_len;
  }

  for (i = 0; i < n; i++)
    peak = MAX (peak, fabs (x[i]));
  for (i = 0; i < n; i++)
    x[i] = (float) (x[i] * it->peak / peak
        + 1e-3 * it->peak * affect_rng_normal (rng));
  *n_samples = n;
  return x;
}

/* S16 WAV through GStreamer: appsrc ! wavenc ! filesink */
static gboolean
write_wav (const char *path, const float *x, gsize n, int rate,
    GError ** error)
{
  GstElement *pipeline, *src, *sink;
  GstBuffer *buf;
  GstMapInfo map;
  GstMessage *msg;
  GstBus *bus;
  GstCaps *caps;
  char *tmp = g_strdup_printf ("%s.part", path);
  gint16 *pcm;
  gsize i;
  gboolean ok = TRUE;
  GError *parse_error = NULL;

  pipeline = gst_parse_launch ("appsrc name=src format=time ! wavenc ! "
      "filesink name=sink", &parse_error);
  if (pipeline == NULL) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "tones: cannot build the WAV encoder (gst-plugins-good wavenc): %s",
        parse_error->message);
    g_error_free (parse_error);
    g_free (tmp);
    return FALSE;
  }
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (sink, "location", tmp, NULL);
  caps = gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "S16LE",
      "layout", G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT, rate,
      "channels", G_TYPE_INT, 1, NULL);
  gst_app_src_set_caps (GST_APP_SRC (src), caps);
  gst_caps_unref (caps);

  buf = gst_buffer_new_allocate (NULL, n * 2, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  pcm = (gint16 *) map.data;
  for (i = 0; i < n; i++)
    pcm[i] = GINT16_TO_LE ((gint16) lrint (CLAMP (x[i], -1.0f, 1.0f) *
            32767.0));
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = 0;
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (n, GST_SECOND, rate);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_app_src_push_buffer (GST_APP_SRC (src), buf);
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg == NULL || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *e = NULL;
    if (msg)
      gst_message_parse_error (msg, &e, NULL);
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "tones: writing %s failed: %s", path, e ? e->message : "timed out");
    g_clear_error (&e);
    ok = FALSE;
  }
  if (msg)
    gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipeline);

  if (ok && g_rename (tmp, path) != 0) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "tones: cannot rename %s to %s: %s", tmp, path, g_strerror (errno));
    ok = FALSE;
  }
  if (!ok)
    g_unlink (tmp);
  g_free (tmp);
  return ok;
}

static gboolean
tones_parse (GHashTable * params, gint64 * seed, gint64 * items,
    gint64 * rate, gint64 * corrupt, double *seconds, GError ** error)
{
  return runner_param_int (params, "tones", "seed", 0, G_MAXINT64, seed,
      error)
      && runner_param_int (params, "tones", "items", 1, 100000, items, error)
      && runner_param_int (params, "tones", "rate", 4000, 192000, rate, error)
      && runner_param_int (params, "tones", "corrupt", 0, 1000, corrupt,
      error)
      && runner_param_double (params, "tones", "seconds", 0.05, 600, seconds,
      error);
}

static gboolean
tones_check (GHashTable * params, GError ** error)
{
  gint64 seed, items, rate, corrupt;
  double seconds;

  return tones_parse (params, &seed, &items, &rate, &corrupt, &seconds,
      error);
}

static gboolean
tones_run (GHashTable * params, JsonObject * report,
    RunnerProgressFunc progress, gpointer user_data, GError ** error)
{
  const char *output = g_hash_table_lookup (params, "output");
  gint64 seed, items, rate, corrupt, i;
  double seconds;
  char *stamp_path, *manifest_path, *stamp, *old_stamp = NULL;
  GString *csv;
  gboolean ok = TRUE;

  if (!tones_parse (params, &seed, &items, &rate, &corrupt, &seconds, error))
    return FALSE;
  if (g_mkdir_with_parents (output, 0755) != 0) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_STEP,
        "tones: cannot create %s: %s", output, g_strerror (errno));
    return FALSE;
  }

  stamp = g_strdup_printf ("tones v%d seed=%" G_GINT64_FORMAT " items=%"
      G_GINT64_FORMAT " seconds=%g rate=%" G_GINT64_FORMAT " corrupt=%"
      G_GINT64_FORMAT "\n", TONES_VERSION, seed, items, seconds, rate,
      corrupt);
  stamp_path = g_build_filename (output, ".tones-stamp", NULL);
  manifest_path = g_build_filename (output, "manifest.csv", NULL);
  json_object_set_string_member (report, "output", output);
  json_object_set_string_member (report, "manifest", manifest_path);
  json_object_set_int_member (report, "items", 4 * items + corrupt);
  json_object_set_double_member (report, "seconds-per-item", seconds);
  json_object_set_int_member (report, "rate", rate);
  json_object_set_int_member (report, "seed", seed);

  /* the cache: same parameters, complete manifest -> nothing to do */
  if (g_file_get_contents (stamp_path, &old_stamp, NULL, NULL)
      && strcmp (old_stamp, stamp) == 0
      && g_file_test (manifest_path, G_FILE_TEST_IS_REGULAR)) {
    json_object_set_boolean_member (report, "cached", TRUE);
    goto out;
  }
  json_object_set_boolean_member (report, "cached", FALSE);
  g_unlink (stamp_path);
  g_unlink (manifest_path);

  csv = g_string_new ("id,path,label,valence,arousal,split,mode,tempo,"
      "loudness\n");
  for (i = 0; ok && i < 4 * items; i++) {
    ToneItem it;
    AffectRng rng;
    float *x;
    gsize n;
    gint64 k = i / 4;
    char *name, *path;
    char v[G_ASCII_DTOSTR_BUF_SIZE], a[G_ASCII_DTOSTR_BUF_SIZE];

    /* an independent stream per item: items do not depend on each other */
    affect_rng_init (&rng, (guint64) seed * 0x9E3779B97F4A7C15ull + i);
    it.quadrant = i % 4;
    it.major = it.quadrant == 0 || it.quadrant == 1;
    it.activated = it.quadrant == 0 || it.quadrant == 2;
    it.bpm = it.activated ? 140 + 40 * affect_rng_uniform (&rng)
        : 60 + 20 * affect_rng_uniform (&rng);
    /* peak level in dBFS with +-1.5 dB jitter */
    it.peak = pow (10.0, ((it.activated ? -6.0 : -22.0)
            + 3.0 * (affect_rng_uniform (&rng) - 0.5)) / 20.0);
    it.valence = (it.major ? 0.7 : -0.7) + 0.2 * (affect_rng_uniform (&rng)
        - 0.5);
    it.arousal = (it.activated ? 0.7 : -0.7) + 0.2 *
        (affect_rng_uniform (&rng) - 0.5);
    it.split = (k % 4 == 2) ? "validation" : (k % 4 == 3) ? "test" : "train";

    x = synthesise (&it, &rng, rate, seconds, &n);
    name = g_strdup_printf ("tone-%03" G_GINT64_FORMAT ".wav", i);
    path = g_build_filename (output, name, NULL);
    ok = write_wav (path, x, n, rate, error);
    g_free (x);
    if (progress)
      progress (i + 1, 4 * items + corrupt, name, user_data);
    g_ascii_formatd (v, sizeof (v), "%.4f", it.valence);
    g_ascii_formatd (a, sizeof (a), "%.4f", it.arousal);
    g_string_append_printf (csv, "tone-%03" G_GINT64_FORMAT ",%s,%s,%s,%s,%s,"
        "%s,%s,%s\n", i, name, quadrants[it.quadrant], v, a, it.split,
        it.major ? "major" : "minor", it.activated ? "fast" : "slow",
        it.activated ? "loud" : "soft");
    g_free (name);
    g_free (path);
  }
  for (i = 0; ok && i < corrupt; i++) {
    /* a RIFF header followed by noise: no decoder accepts it */
    AffectRng rng;
    guint8 junk[512];
    gsize j;
    char *name = g_strdup_printf ("corrupt-%03" G_GINT64_FORMAT ".wav", i);
    char *path = g_build_filename (output, name, NULL);

    affect_rng_init (&rng, (guint64) seed + 7919 * (i + 1));
    for (j = 0; j < sizeof (junk); j++)
      junk[j] = (guint8) affect_rng_next (&rng);
    memcpy (junk, "RIFF\x04\x02\x00\x00WAVEjunk", 16);
    ok = affect_file_set_contents_atomic (path, junk, sizeof (junk), error);
    g_string_append_printf (csv, "corrupt-%03" G_GINT64_FORMAT ",%s,%s,0,0,"
        "train,none,none,none\n", i, name, quadrants[i % 4]);
    g_free (name);
    g_free (path);
  }
  if (ok)
    ok = affect_file_set_contents_atomic (manifest_path, csv->str, csv->len,
        error);
  if (ok)
    ok = affect_file_set_contents_atomic (stamp_path, stamp, strlen (stamp),
        error);
  g_string_free (csv, TRUE);

out:
  g_free (old_stamp);
  g_free (stamp);
  g_free (stamp_path);
  g_free (manifest_path);
  return ok;
}

const RunnerGenerator runner_generator_tones = {
  "tones",
  "labelled tone corpus: major/minor, fast/slow, loud/soft melodies in the "
      "four arousal/valence quadrants, WAV + manifest.csv",
  tones_params,
  tones_run,
  tones_check
};

/* Built-in speech corpus: espeak-ng's prosody follows the controls the
 * targets map to (duration, level, F0 measured), the same utterance gives
 * the same samples, and the corpus and its manifest parse. Skipped when
 * espeak-ng is not installed. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "affect/hnr.h"
#include "affect/manifest.h"
#include "affect/speech_corpus.h"
#include "affect/synth.h"

#define RATE 16000

static double
rms_db (const float *x, size_t n)
{
  double s = 0.0;
  size_t i;

  for (i = 0; i < n; i++)
    s += (double) x[i] * x[i];
  return 10.0 * log10 (s / MAX (n, 1) + 1e-20);
}

static gchar *
read_all (const char *dir, const char *name)
{
  gchar *path = g_build_filename (dir, name, NULL), *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_free (path);
  return text;
}

static void
rm_rf (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  const char *name;

  if (d) {
    while ((name = g_dir_read_name (d))) {
      gchar *child = g_build_filename (path, name, NULL);
      rm_rf (child);
      g_free (child);
    }
    g_dir_close (d);
  }
  g_remove (path);
}

static gboolean
have_espeak (void)
{
  gchar *p = g_find_program_in_path ("espeak-ng");
  gboolean ok = p != NULL;

  g_free (p);
  if (!ok)
    g_test_skip ("espeak-ng is not installed");
  return ok;
}

static double
median_f0 (AffectHnrPlan * plan, const float *x, size_t n)
{
  AffectHnrFeatures *f = affect_hnr_analyse (plan, x, n);
  GArray *v = g_array_new (FALSE, FALSE, sizeof (float));
  double med = 0.0;
  int i;

  for (i = 0; i < f->n_frames; i++)
    if (f->f0[i] > 0)
      g_array_append_val (v, f->f0[i]);
  if (v->len) {
    float *d = (float *) v->data;
    guint a, b;
    for (a = 0; a < v->len; a++)        /* small: insertion sort */
      for (b = a; b > 0 && d[b - 1] > d[b]; b--) {
        float t = d[b];
        d[b] = d[b - 1];
        d[b - 1] = t;
      }
    med = d[v->len / 2];
  }
  g_array_unref (v);
  affect_hnr_features_free (f);
  return med;
}

static void
test_speech_prosody (void)
{
  AffectSpeechUtterance u;
  AffectHnrParams hp;
  AffectHnrPlan *plan;
  GError *error = NULL;
  float *a, *b;
  size_t na, nb;
  double f0a, f0b;

  if (!have_espeak ())
    return;
  affect_hnr_params_init (&hp, RATE);
  plan = affect_hnr_plan_new (&hp, NULL);
  affect_speech_utterance_draw (&u, 0, 0, FALSE, 11);
  g_assert_true (u.valence >= 1 && u.valence <= 5);
  g_assert_true (u.arousal >= 1 && u.arousal <= 5);
  g_assert_true (u.dominance >= 1 && u.dominance <= 5);

  /* deterministic */
  a = affect_speech_synthesise (&u, NULL, RATE, &na, &error);
  g_assert_no_error (error);
  b = affect_speech_synthesise (&u, NULL, RATE, &nb, &error);
  g_assert_cmpuint (na, ==, nb);
  g_assert_cmpint (memcmp (a, b, na * sizeof (float)), ==, 0);
  g_free (a);
  g_free (b);

  /* rate (arousal) → duration */
  u.rate_wpm = 120;
  a = affect_speech_synthesise (&u, NULL, RATE, &na, &error);
  u.rate_wpm = 240;
  b = affect_speech_synthesise (&u, NULL, RATE, &nb, &error);
  g_test_message ("rate 120 vs 240 wpm: %.2f s vs %.2f s", (double) na / RATE,
      (double) nb / RATE);
  g_assert_cmpfloat ((double) na / nb, >, 1.5);
  g_free (a);
  g_free (b);

  /* amplitude (dominance) → level */
  u.rate_wpm = 175;
  u.amplitude = 50;
  a = affect_speech_synthesise (&u, NULL, RATE, &na, &error);
  u.amplitude = 150;
  b = affect_speech_synthesise (&u, NULL, RATE, &nb, &error);
  g_test_message ("amplitude 50 vs 150: %.1f vs %.1f dBFS", rms_db (a, na),
      rms_db (b, nb));
  g_assert_cmpfloat (rms_db (b, nb) - rms_db (a, na), >, 6.0);
  g_free (a);
  g_free (b);

  /* pitch (valence) → F0, measured with the HNR analysis */
  u.amplitude = 100;
  u.pitch = 20;
  a = affect_speech_synthesise (&u, NULL, RATE, &na, &error);
  u.pitch = 80;
  b = affect_speech_synthesise (&u, NULL, RATE, &nb, &error);
  f0a = median_f0 (plan, a, na);
  f0b = median_f0 (plan, b, nb);
  g_test_message ("pitch 20 vs 80: median F0 %.1f vs %.1f Hz", f0a, f0b);
  g_assert_cmpfloat (f0a, >, 50.0);
  g_assert_cmpfloat (f0b, >, 1.2 * f0a);
  g_free (a);
  g_free (b);
  affect_speech_utterance_clear (&u);
  affect_hnr_plan_free (plan);
}

static void
test_speech_corpus (void)
{
  gchar *tmp, *text, **lines;
  AffectSpeechCorpusParams p;
  GError *error = NULL;
  gboolean cached = TRUE;
  int l, spont = 0, corpora[2] = { 0 };

  if (!have_espeak ())
    return;
  tmp = g_dir_make_tmp ("affect-speech-XXXXXX", NULL);
  affect_speech_corpus_params_init (&p);
  p.out_dir = tmp;
  p.n_items = 6;
  g_assert_true (affect_speech_corpus_write (&p, NULL, NULL, &cached, &error));
  g_assert_no_error (error);
  g_assert_false (cached);
  g_assert_true (affect_speech_corpus_write (&p, NULL, NULL, &cached, &error));
  g_assert_true (cached);

  text = read_all (tmp, "speech.csv");
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==,
      "path,valence,arousal,dominance,spontaneity,split,corpus,speaker,text");
  for (l = 1; lines[l] && *lines[l]; l++) {
    /* the text is the last column and the only quoted one */
    gchar **col = g_strsplit (lines[l], ",", 9);
    gchar *wav = g_build_filename (tmp, col[0], NULL);
    int rate, k;
    size_t n;
    float *x = affect_wav_read (wav, &rate, &n, &error);

    g_assert_no_error (error);
    g_assert_cmpint (rate, ==, RATE);
    g_assert_cmpuint (n, >, RATE / 2);
    for (k = 1; k <= 3; k++) {
      double v = g_ascii_strtod (col[k], NULL);
      g_assert_true (v >= 1.0 && v <= 5.0);
    }
    g_assert_true (strcmp (col[4], "0") == 0 || strcmp (col[4], "1") == 0);
    spont += col[4][0] == '1';
    g_assert_true (strcmp (col[5], "train") == 0
        || strcmp (col[5], "validation") == 0 || strcmp (col[5], "test") == 0);
    g_assert_true (strcmp (col[6], "en") == 0 || strcmp (col[6], "de") == 0);
    corpora[col[6][0] == 'd']++;
    g_assert_true (g_str_has_prefix (col[7], col[6]));
    g_assert_true (col[8][0] == '"');
    g_free (x);
    g_free (wav);
    g_strfreev (col);
  }
  g_assert_cmpint (l - 1, ==, 12);
  g_assert_cmpint (corpora[0], ==, 6);
  g_assert_cmpint (corpora[1], ==, 6);
  g_assert_cmpint (spont, >, 0);
  g_assert_cmpint (spont, <, 12);
  g_strfreev (lines);
  g_free (text);

  /* the project's manifest parser: a generic CSV with four targets */
  {
    AffectManifestOptions opt;
    gchar *csv = g_build_filename (tmp, "speech.csv", NULL);
    AffectManifest *m;
    guint i;

    affect_manifest_options_init (&opt);
    m = affect_manifest_load (csv, &opt, &error);
    g_assert_no_error (error);
    g_assert_cmpint (m->format, ==, AFFECT_MANIFEST_CSV);
    g_assert_cmpint (m->task, ==, AFFECT_MANIFEST_TASK_REGRESSION);
    g_assert_cmpuint (m->n_items, ==, 12);
    g_assert_cmpuint (m->n_targets, ==, 4);
    g_assert_cmpstr (m->target_names[0], ==, "valence");
    g_assert_cmpstr (m->target_names[3], ==, "spontaneity");
    for (i = 0; i < m->n_items; i++) {
      gchar *path = affect_manifest_resolve_path (m, &m->items[i], NULL);
      g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
      g_assert_nonnull (affect_manifest_item_get_extra (m, &m->items[i],
              "text"));
      g_assert_nonnull (m->items[i].split);
      g_free (path);
    }
    affect_manifest_free (m);
    g_free (csv);
  }
  rm_rf (tmp);
  g_free (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/speech/prosody", test_speech_prosody);
  g_test_add_func ("/speech/corpus", test_speech_corpus);
  return g_test_run ();
}

/* Built-in music corpus: the same seed writes the same bytes; the
 * controlled class character is measurable in the audio (mode by chroma,
 * tempo by onset rate, loudness by RMS); manifests parse and agree with each
 * other; WAV I/O and the resampler. (Speech: test-speech.c.) */
#include <fftw3.h>
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

/* ---------------------------------------------------------- measurements */

typedef struct
{
  fftwf_plan plan;
  float *buf;
  fftwf_complex *spec;
  int n;
} Fft;

static void
fft_init (Fft * f, int n)
{
  f->n = n;
  f->buf = fftwf_alloc_real (n);
  f->spec = fftwf_alloc_complex (n / 2 + 1);
  f->plan = fftwf_plan_dft_r2c_1d (n, f->buf, f->spec, FFTW_ESTIMATE);
}

static void
fft_clear (Fft * f)
{
  fftwf_destroy_plan (f->plan);
  fftwf_free (f->buf);
  fftwf_free (f->spec);
}

/* chroma: magnitude per pitch class over 65–2000 Hz, summed over frames */
static void
chroma (Fft * f, const float *x, size_t n, double out[12])
{
  size_t start;
  int k;

  memset (out, 0, 12 * sizeof (double));
  for (start = 0; start + f->n <= n; start += f->n / 2) {
    for (k = 0; k < f->n; k++)
      f->buf[k] = x[start + k] * (0.5 - 0.5 * cos (2 * M_PI * k / f->n));
    fftwf_execute (f->plan);
    for (k = 1; k <= f->n / 2; k++) {
      double hz = (double) k * RATE / f->n, midi;
      int pc;
      if (hz < 65 || hz > 2000)
        continue;
      midi = 69 + 12 * log2 (hz / 440.0);
      pc = ((int) lround (midi) % 12 + 12) % 12;
      out[pc] += sqrt (f->spec[k][0] * f->spec[k][0] +
          f->spec[k][1] * f->spec[k][1]);
    }
  }
}

/* onsets per second: peaks of the positive log-magnitude spectral flux
 * above a running threshold, at least 50 ms apart */
static double
onset_rate (Fft * f, const float *x, size_t n)
{
  int hop = f->n / 4, n_bins = f->n / 2 + 1, i, k, n_frames, count = 0,
      last = -100;
  double *prev = g_new0 (double, n_bins), *flux;
  size_t start;

  n_frames = (int) ((n - f->n) / hop) + 1;
  flux = g_new0 (double, n_frames);
  for (i = 0, start = 0; i < n_frames; i++, start += hop) {
    for (k = 0; k < f->n; k++)
      f->buf[k] = x[start + k] * (0.5 - 0.5 * cos (2 * M_PI * k / f->n));
    fftwf_execute (f->plan);
    for (k = 0; k < n_bins; k++) {
      double m = log (1.0 + 1000.0 * sqrt (f->spec[k][0] * f->spec[k][0] +
              f->spec[k][1] * f->spec[k][1]));
      if (i > 0 && m > prev[k])
        flux[i] += m - prev[k];
      prev[k] = m;
    }
  }
  for (i = 1; i < n_frames - 1; i++) {
    double mean = 0.0;
    int j, c = 0;
    for (j = MAX (1, i - 8); j <= MIN (n_frames - 1, i + 8); j++, c++)
      mean += flux[j];
    mean /= c;
    if (flux[i] > flux[i - 1] && flux[i] >= flux[i + 1]
        && flux[i] > 1.5 * mean && (i - last) * hop >= 0.05 * RATE) {
      count++;
      last = i;
    }
  }
  g_free (prev);
  g_free (flux);
  return count / ((double) n / RATE);
}

/* ------------------------------------------------------------------ music */

static void
test_render_deterministic (void)
{
  AffectMusicSynth *synth = affect_music_synth_new (RATE);
  AffectMusicClip c1, c2;
  size_t n = RATE * 3, i;
  float *a = g_new (float, n), *b = g_new (float, n);
  int q;

  for (q = 0; q < AFFECT_N_QUADRANTS; q++) {
    affect_music_clip_draw (&c1, q, 42 + q);
    affect_music_clip_draw (&c2, q, 42 + q);
    g_assert_cmpint (memcmp (&c1, &c2, sizeof (c1)), ==, 0);
    affect_music_synth_render (synth, &c1, 7, a, n);
    affect_music_synth_render (synth, &c2, 7, b, n);
    g_assert_cmpint (memcmp (a, b, n * sizeof (float)), ==, 0);
    affect_music_synth_render (synth, &c2, 8, b, n);
    g_assert_cmpint (memcmp (a, b, n * sizeof (float)), !=, 0);
    for (i = 0; i < n; i++)
      g_assert_true (isfinite (a[i]) && fabsf (a[i]) <= 0.99f);
  }
  g_free (a);
  g_free (b);
  affect_music_synth_free (synth);
}

static void
test_class_character (void)
{
  const int per_q = 10;
  AffectMusicSynth *synth = affect_music_synth_new (RATE);
  size_t n = RATE * 5;
  float *x = g_new (float, n);
  Fft fa, fb;
  int q, i, mode_right = 0, total = 0;
  double rate[AFFECT_N_QUADRANTS] = { 0 }, loud[AFFECT_N_QUADRANTS] = { 0 };
  double worst_loud = 0.0;

  fft_init (&fa, 4096);
  fft_init (&fb, 1024);
  for (q = 0; q < AFFECT_N_QUADRANTS; q++) {
    for (i = 0; i < per_q; i++) {
      AffectMusicClip clip;
      double ch[12], db;
      gboolean says_major;

      affect_music_clip_draw (&clip, q, 1000 + 31 * i + q);
      affect_music_synth_render (synth, &clip, 77 + i, x, n);
      chroma (&fa, x, n, ch);
      /* the third above the tonic decides the mode */
      says_major = ch[(clip.tonic + 4) % 12] > ch[(clip.tonic + 3) % 12];
      mode_right += says_major == !clip.minor;
      total++;
      rate[q] += onset_rate (&fb, x, n) / per_q;
      db = rms_db (x, n);
      loud[q] += db / per_q;
      /* the level is the target unless the peak limiter had to act */
      g_assert_cmpfloat (db, <=, clip.loudness_db + 0.1);
      worst_loud = MAX (worst_loud, clip.loudness_db - db);
    }
  }
  for (q = 0; q < AFFECT_N_QUADRANTS; q++)
    g_test_message ("%-24s onsets %.2f /s, RMS %.1f dBFS",
        affect_quadrant_names ()[q], rate[q], loud[q]);
  g_test_message ("mode from chroma (major vs minor third): %d/%d right; "
      "peak limiting lowered a clip by at most %.1f dB", mode_right, total,
      worst_loud);
  g_assert_cmpint (mode_right, >=, (int) (0.9 * total));
  /* arousal: activated quadrants have more onsets and are louder */
  g_assert_cmpfloat (rate[AFFECT_QUADRANT_ACTIVATED_PLEASANT], >,
      1.5 * rate[AFFECT_QUADRANT_DEACTIVATED_PLEASANT]);
  g_assert_cmpfloat (rate[AFFECT_QUADRANT_ACTIVATED_UNPLEASANT], >,
      1.5 * rate[AFFECT_QUADRANT_DEACTIVATED_UNPLEASANT]);
  g_assert_cmpfloat (loud[AFFECT_QUADRANT_ACTIVATED_PLEASANT], >,
      loud[AFFECT_QUADRANT_DEACTIVATED_PLEASANT] + 8.0);
  g_assert_cmpfloat (loud[AFFECT_QUADRANT_ACTIVATED_UNPLEASANT], >,
      loud[AFFECT_QUADRANT_DEACTIVATED_UNPLEASANT] + 8.0);
  fft_clear (&fa);
  fft_clear (&fb);
  g_free (x);
  affect_music_synth_free (synth);
}

static void
test_tags (void)
{
  int q, i, t, counts[AFFECT_N_MUSIC_TAGS] = { 0 };

  for (t = 1; t < AFFECT_N_MUSIC_TAGS; t++)
    g_assert_cmpint (strcmp (affect_music_tag_name (t - 1),
            affect_music_tag_name (t)), <, 0);
  for (q = 0; q < AFFECT_N_QUADRANTS; q++)
    for (i = 0; i < 100; i++) {
      AffectMusicClip clip;
      int n_own = 0;
      affect_music_clip_draw (&clip, q, 5000 + i);
      for (t = 0; t < AFFECT_N_MUSIC_TAGS; t++) {
        if (!(clip.tags & (1u << t)))
          continue;
        counts[t]++;
        /* every quadrant tag of a clip is its own quadrant's */
        if (affect_music_tag_quadrant (t) >= 0) {
          g_assert_cmpint (affect_music_tag_quadrant (t), ==, q);
          n_own++;
        }
      }
      g_assert_cmpint (n_own, >=, 1);
      g_assert_cmpint (clip.minor, ==, !affect_quadrant_is_pleasant (q));
    }
  /* every tag of the vocabulary occurs */
  for (t = 0; t < AFFECT_N_MUSIC_TAGS; t++) {
    g_test_message ("tag %-12s %d/400", affect_music_tag_name (t), counts[t]);
    g_assert_cmpint (counts[t], >, 0);
  }
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

static const char *split_names[] = { "train", "validation", "test" };

static void
test_music_corpus (void)
{
  gchar *tmp = g_dir_make_tmp ("affect-music-XXXXXX", NULL);
  gchar *dir_a = g_build_filename (tmp, "a", NULL);
  gchar *dir_b = g_build_filename (tmp, "b", NULL);
  AffectMusicCorpusParams p;
  GError *error = NULL;
  gboolean cached = TRUE;
  GHashTable *quadrant_of = g_hash_table_new_full (g_str_hash, g_str_equal,
      g_free, g_free);
  int s, rows = 0, t;
  gchar *ta, *tb;
  const char *files[] = { "autotagging_moodtheme.tsv", "match_test_labels.csv",
    "audio/07/7.wav", "clips.tsv", NULL
  };

  affect_music_corpus_params_init (&p);
  p.n_items = 16;
  p.seconds = 2.0;
  p.sample_rate = 12000;
  p.out_dir = dir_a;
  g_assert_true (affect_music_corpus_write (&p, NULL, NULL, &cached, &error));
  g_assert_no_error (error);
  g_assert_false (cached);
  g_assert_true (affect_music_corpus_write (&p, NULL, NULL, &cached, &error));
  g_assert_true (cached);
  p.out_dir = dir_b;
  g_assert_true (affect_music_corpus_write (&p, NULL, NULL, NULL, &error));

  /* same seed, same bytes */
  for (t = 0; files[t]; t++) {
    gsize la, lb;
    gchar *pa = g_build_filename (dir_a, files[t], NULL);
    gchar *pb = g_build_filename (dir_b, files[t], NULL);
    g_assert_true (g_file_get_contents (pa, &ta, &la, NULL));
    g_assert_true (g_file_get_contents (pb, &tb, &lb, NULL));
    g_assert_cmpuint (la, ==, lb);
    g_assert_cmpint (memcmp (ta, tb, la), ==, 0);
    g_free (ta);
    g_free (tb);
    g_free (pa);
    g_free (pb);
  }
  /* another seed, other audio */
  p.seed = 2;
  p.force = TRUE;
  g_assert_true (affect_music_corpus_write (&p, NULL, NULL, NULL, &error));
  {
    gchar *pa = g_build_filename (dir_a, "audio/07/7.wav", NULL);
    gchar *pb = g_build_filename (dir_b, "audio/07/7.wav", NULL);
    gsize la, lb;
    g_assert_true (g_file_get_contents (pa, &ta, &la, NULL));
    g_assert_true (g_file_get_contents (pb, &tb, &lb, NULL));
    g_assert_cmpuint (la, ==, lb);
    g_assert_cmpint (memcmp (ta, tb, la), !=, 0);
    g_free (ta);
    g_free (tb);
    g_free (pa);
    g_free (pb);
  }

  /* MTG-Jamendo TSV: header, 5 fixed columns + sorted tags, audio on disk
   * with the stated rate and duration; the quadrant rule of
   * tag_to_quadrant.tsv applied to the tags gives the CSV's label */
  for (s = 0; s < 3; s++) {
    gchar *name = g_strdup_printf ("autotagging_moodtheme-%s.tsv",
        split_names[s]);
    gchar *text = read_all (dir_a, name), **lines;
    int l;

    lines = g_strsplit (text, "\n", -1);
    g_assert_cmpstr (lines[0], ==,
        "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS");
    for (l = 1; lines[l] && *lines[l]; l++) {
      gchar **col = g_strsplit (lines[l], "\t", -1);
      guint nc = g_strv_length (col), c;
      gchar *wav = g_build_filename (dir_a, "audio", col[3], NULL);
      int rate;
      size_t n;
      float *x;
      int first_q = -1;

      g_assert_cmpuint (nc, >=, 6);
      g_assert_true (g_str_has_prefix (col[0], "track_"));
      g_assert_true (g_str_has_prefix (col[1], "artist_"));
      g_assert_true (g_str_has_prefix (col[2], "album_"));
      g_assert_cmpfloat (g_ascii_strtod (col[4], NULL), ==, 2.0);
      x = affect_wav_read (wav, &rate, &n, &error);
      g_assert_no_error (error);
      g_assert_cmpint (rate, ==, 12000);
      g_assert_cmpuint (n, ==, 24000);
      for (c = 5; c < nc; c++) {
        int tag, found = -1;
        g_assert_true (g_str_has_prefix (col[c], AFFECT_MUSIC_TAG_PREFIX));
        if (c > 5)
          g_assert_cmpint (strcmp (col[c - 1], col[c]), <, 0);
        for (tag = 0; tag < AFFECT_N_MUSIC_TAGS; tag++)
          if (strcmp (col[c] + strlen (AFFECT_MUSIC_TAG_PREFIX),
                  affect_music_tag_name (tag)) == 0)
            found = tag;
        g_assert_cmpint (found, >=, 0);
        if (first_q < 0)
          first_q = affect_music_tag_quadrant (found);
      }
      g_assert_cmpint (first_q, >=, 0);
      g_hash_table_insert (quadrant_of, g_strdup_printf ("%s.wav",
              col[0] + strlen ("track_") + strspn (col[0] + 6, "0")),
          g_strdup (affect_quadrant_names ()[first_q]));
      rows++;
      g_free (x);
      g_free (wav);
      g_strfreev (col);
    }
    g_strfreev (lines);
    g_free (text);
    g_free (name);
  }
  g_assert_cmpint (rows, ==, 16);

  rows = 0;
  for (s = 0; s < 3; s++) {
    gchar *name = g_strdup_printf ("match_%s_labels.csv", split_names[s]);
    gchar *text = read_all (dir_a, name), **lines;
    int l;

    lines = g_strsplit (text, "\n", -1);
    g_assert_cmpstr (lines[0], ==,
        "TRACK\tLABEL\tDURATION\tBIN\tEMOTION_VALENCE");
    for (l = 1; lines[l] && *lines[l]; l++) {
      gchar **col = g_strsplit (lines[l], "\t", -1);
      int q;
      g_assert_cmpuint (g_strv_length (col), ==, 5);
      g_assert_cmpstr (g_hash_table_lookup (quadrant_of, col[0]), ==, col[4]);
      for (q = 0; q < AFFECT_N_QUADRANTS; q++)
        if (strcmp (col[4], affect_quadrant_names ()[q]) == 0)
          g_assert_cmpstr (col[3], ==, affect_quadrant_bin (q));
      rows++;
      g_strfreev (col);
    }
    g_strfreev (lines);
    g_free (text);
    g_free (name);
  }
  g_assert_cmpint (rows, ==, 16);

  g_hash_table_unref (quadrant_of);
  rm_rf (tmp);
  g_free (dir_a);
  g_free (dir_b);
  g_free (tmp);
}

/* the project's manifest parser reads what the corpus writes */
static void
test_music_manifests_parse (void)
{
  gchar *tmp = g_dir_make_tmp ("affect-music-XXXXXX", NULL);
  gchar *audio = g_build_filename (tmp, "audio", NULL);
  AffectMusicCorpusParams p;
  AffectManifestOptions opt;
  GError *error = NULL;
  int s, total_tsv = 0, total_csv = 0;

  affect_music_corpus_params_init (&p);
  p.n_items = 20;
  p.seconds = 1.0;
  p.out_dir = tmp;
  g_assert_true (affect_music_corpus_write (&p, NULL, NULL, NULL, &error));
  affect_manifest_options_init (&opt);
  for (s = 0; s < 3; s++) {
    gchar *tname = g_strdup_printf ("%s/autotagging_moodtheme-%s.tsv", tmp,
        split_names[s]);
    gchar *cname = g_strdup_printf ("%s/match_%s_labels.csv", tmp,
        split_names[s]);
    AffectManifest *tsv = affect_manifest_load (tname, &opt, &error);
    AffectManifest *csv, *relabelled;
    gchar *text_a, *text_b;
    guint i;

    g_assert_no_error (error);
    g_assert_cmpint (tsv->format, ==, AFFECT_MANIFEST_MTG_TSV);
    g_assert_cmpint (tsv->task, ==, AFFECT_MANIFEST_TASK_TAGS);
    csv = affect_manifest_load (cname, &opt, &error);
    g_assert_no_error (error);
    g_assert_cmpint (csv->format, ==, AFFECT_MANIFEST_QUADRANT_CSV);
    g_assert_cmpint (csv->task, ==, AFFECT_MANIFEST_TASK_CLASS);
    g_assert_cmpuint (tsv->n_items, ==, csv->n_items);
    for (i = 0; i < tsv->n_items; i++) {
      gchar *a = affect_manifest_resolve_path (tsv, &tsv->items[i], audio);
      gchar *b = affect_manifest_resolve_path (csv, &csv->items[i], audio);
      float sum = 0.0f;
      guint k;

      g_assert_cmpstr (tsv->items[i].split, ==, split_names[s]);
      g_assert_cmpstr (csv->items[i].split, ==, split_names[s]);
      g_assert_cmpstr (tsv->items[i].id, ==, csv->items[i].id);
      g_assert_true (g_file_test (a, G_FILE_TEST_EXISTS));
      g_assert_cmpstr (a, ==, b);
      /* every tag the corpus writes is in the 56-tag vocabulary */
      for (k = 0; k < tsv->n_vocabulary; k++)
        sum += tsv->items[i].labels[k];
      {
        gchar **tags = g_strsplit (affect_manifest_item_get_extra (tsv,
                &tsv->items[i], "TAGS"), ";", -1);
        g_assert_cmpfloat (sum, ==, (float) g_strv_length (tags));
        g_strfreev (tags);
      }
      g_free (a);
      g_free (b);
    }
    /* the quadrant CSV is the TSV relabelled by the project's rule */
    relabelled = affect_manifest_relabel_quadrants (tsv, &error);
    g_assert_no_error (error);
    text_a = affect_manifest_quadrant_csv_to_string (relabelled);
    text_b = affect_manifest_quadrant_csv_to_string (csv);
    g_assert_cmpstr (text_a, ==, text_b);
    total_tsv += tsv->n_items;
    total_csv += csv->n_items;
    g_free (text_a);
    g_free (text_b);
    affect_manifest_free (tsv);
    affect_manifest_free (csv);
    affect_manifest_free (relabelled);
    g_free (tname);
    g_free (cname);
  }
  g_assert_cmpint (total_tsv, ==, 20);
  g_assert_cmpint (total_csv, ==, 20);
  rm_rf (tmp);
  g_free (audio);
  g_free (tmp);
}

static void
test_wav_round_trip (void)
{
  gchar *tmp = g_dir_make_tmp ("affect-wav-XXXXXX", NULL);
  gchar *path = g_build_filename (tmp, "x.wav", NULL);
  float x[1000], *y;
  size_t n, i;
  int rate;
  GError *error = NULL;

  for (i = 0; i < 1000; i++)
    x[i] = (float) sin (i * 0.1) * 0.9f;
  x[3] = 2.0f;                  /* clipped */
  x[4] = NAN;                   /* silence */
  g_assert_true (affect_wav_write_s16 (path, x, 1000, 12000, &error));
  y = affect_wav_read (path, &rate, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rate, ==, 12000);
  g_assert_cmpuint (n, ==, 1000);
  for (i = 0; i < 1000; i++) {
    double want = i == 3 ? 32767.0 / 32768.0 : i == 4 ? 0.0 : x[i];
    /* written ×32767, read ÷32768: rounding plus that scale difference */
    g_assert_cmpfloat (fabs (y[i] - want), <, 1.5 / 32768);
  }
  g_free (y);
  g_assert_null (affect_wav_parse ((const guint8 *) "RIFF....WAVEjunk", 16,
          &rate, &n, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  rm_rf (tmp);
  g_free (path);
  g_free (tmp);
}

static void
test_resample (void)
{
  int in_rate = 22050;
  size_t n = in_rate, m, i;
  float *x = g_new (float, n), *y;
  double amp_db, err = 0.0, sig = 0.0, hf_db;

  for (i = 0; i < n; i++)
    x[i] = (float) (0.5 * sin (2 * M_PI * 1000.0 * i / in_rate));
  y = affect_resample (x, n, in_rate, RATE, &m);
  g_assert_cmpuint (m, ==, (size_t) RATE);
  for (i = 200; i < m - 200; i++) {
    double want = 0.5 * sin (2 * M_PI * 1000.0 * i / RATE);
    err += (y[i] - want) * (y[i] - want);
    sig += want * want;
  }
  amp_db = rms_db (y + 200, m - 400) - rms_db (x + 200, n - 400);
  g_free (y);
  /* above the new Nyquist frequency: must be removed, not aliased */
  for (i = 0; i < n; i++)
    x[i] = (float) (0.5 * sin (2 * M_PI * 9500.0 * i / in_rate));
  y = affect_resample (x, n, in_rate, RATE, &m);
  hf_db = rms_db (y + 200, m - 400) - rms_db (x + 200, n - 400);
  g_test_message ("resample 22050→16000: 1 kHz gain %.4f dB, SNR %.1f dB; "
      "9.5 kHz attenuated %.1f dB", amp_db, 10 * log10 (sig / err), -hf_db);
  g_assert_cmpfloat (fabs (amp_db), <, 0.01);
  g_assert_cmpfloat (10 * log10 (sig / err), >, 60.0);
  g_assert_cmpfloat (hf_db, <, -60.0);
  g_free (x);
  g_free (y);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/synth/render-deterministic", test_render_deterministic);
  g_test_add_func ("/synth/class-character", test_class_character);
  g_test_add_func ("/synth/tags", test_tags);
  g_test_add_func ("/synth/music-corpus", test_music_corpus);
  g_test_add_func ("/synth/music-manifests-parse", test_music_manifests_parse);
  g_test_add_func ("/synth/wav-round-trip", test_wav_round_trip);
  g_test_add_func ("/synth/resample", test_resample);
  return g_test_run ();
}

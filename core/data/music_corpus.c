/* The built-in music corpus on disk: WAV clips plus MTG-Jamendo-style
 * manifests (docs/corpora.md). */
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/synth.h"

/* bumped whenever the renderer changes what a seed produces, so a cached
 * corpus from an older renderer is regenerated */
#define MUSIC_CORPUS_VERSION 1

static const char *split_names[3] = { "train", "validation", "test" };

void
affect_music_corpus_params_init (AffectMusicCorpusParams * params)
{
  memset (params, 0, sizeof (*params));
  params->out_dir = "affect-data/music";
  params->seed = 1;
  params->n_items = 200;
  params->seconds = 10.0;
  params->sample_rate = 16000;
  params->validation_fraction = 0.15;
  params->test_fraction = 0.15;
}

static GKeyFile *
params_keyfile (const AffectMusicCorpusParams * p)
{
  GKeyFile *kf = g_key_file_new ();
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_key_file_set_integer (kf, "music", "version", MUSIC_CORPUS_VERSION);
  g_key_file_set_uint64 (kf, "music", "seed", p->seed);
  g_key_file_set_integer (kf, "music", "items", p->n_items);
  g_key_file_set_string (kf, "music", "seconds",
      g_ascii_dtostr (buf, sizeof (buf), p->seconds));
  g_key_file_set_integer (kf, "music", "sample-rate", p->sample_rate);
  g_key_file_set_string (kf, "music", "validation-fraction",
      g_ascii_dtostr (buf, sizeof (buf), p->validation_fraction));
  g_key_file_set_string (kf, "music", "test-fraction",
      g_ascii_dtostr (buf, sizeof (buf), p->test_fraction));
  return kf;
}

/* a corpus is cached when its corpus.ini (written last) holds exactly the
 * parameters asked for and every manifest is there */
static gboolean
music_corpus_is_cached (const AffectMusicCorpusParams * p)
{
  gchar *ini = g_build_filename (p->out_dir, "corpus.ini", NULL);
  gchar *want = NULL, *have = NULL;
  GKeyFile *kf = params_keyfile (p);
  gboolean cached = FALSE;
  int s;

  want = g_key_file_to_data (kf, NULL, NULL);
  if (g_file_get_contents (ini, &have, NULL, NULL)
      && g_strcmp0 (want, have) == 0) {
    cached = TRUE;
    for (s = 0; s < 3; s++) {
      gchar *name = g_strdup_printf ("match_%s_labels.csv", split_names[s]);
      gchar *path = g_build_filename (p->out_dir, name, NULL);
      cached = cached && g_file_test (path, G_FILE_TEST_EXISTS);
      g_free (path);
      g_free (name);
    }
  }
  g_key_file_free (kf);
  g_free (want);
  g_free (have);
  g_free (ini);
  return cached;
}

/* durations as MTG-Jamendo writes them: one decimal, none when whole */
static void
format_duration (char *buf, size_t len, double seconds)
{
  double r = round (seconds * 10.0) / 10.0;

  if (r == floor (r))
    g_snprintf (buf, len, "%.0f", r);
  else
    g_snprintf (buf, len, "%.1f", r);
}

static gboolean
write_text (const char *dir, const char *name, GString * text, GError ** error)
{
  gchar *path = g_build_filename (dir, name, NULL);
  gboolean ok = g_file_set_contents_full (path, text->str, text->len,
      G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);

  g_free (path);
  return ok;
}

gboolean
affect_music_corpus_write (const AffectMusicCorpusParams * p,
    AffectCorpusProgress progress, gpointer user_data, gboolean * cached,
    GError ** error)
{
  AffectMusicSynth *synth = NULL;
  GString *tsv_all, *tsv[3], *csv[3], *clips, *mapping;
  gchar *audio_dir = NULL;
  size_t n_samples;
  float *samples = NULL;
  int i, s, t, per_q[AFFECT_N_QUADRANTS] = { 0 };
  char dur[32];
  gboolean ok = FALSE;

  if (cached)
    *cached = FALSE;
  if (p->n_items < 1 || p->seconds <= 0.0 || p->sample_rate < 8000
      || p->validation_fraction < 0 || p->test_fraction < 0
      || p->validation_fraction + p->test_fraction >= 1.0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "music corpus: bad parameters (items %d, seconds %g, rate %d, "
        "validation %g, test %g)", p->n_items, p->seconds, p->sample_rate,
        p->validation_fraction, p->test_fraction);
    return FALSE;
  }
  if (!p->force && music_corpus_is_cached (p)) {
    if (cached)
      *cached = TRUE;
    return TRUE;
  }

  audio_dir = g_build_filename (p->out_dir, "audio", NULL);
  if (g_mkdir_with_parents (audio_dir, 0755) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "%s: cannot create directory: %s", audio_dir, g_strerror (errno));
    g_free (audio_dir);
    return FALSE;
  }
  /* a half-written corpus must never look cached */
  {
    gchar *ini = g_build_filename (p->out_dir, "corpus.ini", NULL);
    g_unlink (ini);
    g_free (ini);
  }

  for (i = 0; i < p->n_items; i++)
    per_q[i % AFFECT_N_QUADRANTS]++;

  synth = affect_music_synth_new (p->sample_rate);
  n_samples = (size_t) llround (p->seconds * p->sample_rate);
  samples = g_new (float, n_samples);
  format_duration (dur, sizeof (dur), (double) n_samples / p->sample_rate);

  tsv_all =
      g_string_new ("TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n");
  for (s = 0; s < 3; s++) {
    tsv[s] = g_string_new (tsv_all->str);
    csv[s] = g_string_new ("TRACK\tLABEL\tDURATION\tBIN\tEMOTION_VALENCE\n");
  }
  clips = g_string_new ("TRACK_ID\tsplit\tquadrant\ttonic\tmode\ttempo_bpm"
      "\tnotes_per_beat\tloudness_db\tattack_s\tbrightness\tpercussion"
      "\tdissonance\tregister_shift\tcontour\tmelody_timbre\tchord_timbre"
      "\tdrone\n");

  for (i = 0; i < p->n_items; i++) {
    AffectQuadrant q = i % AFFECT_N_QUADRANTS;
    int rank = i / AFFECT_N_QUADRANTS;
    int n_val = (int) round (per_q[q] * p->validation_fraction);
    int n_test = (int) round (per_q[q] * p->test_fraction);
    int n_train = per_q[q] - n_val - n_test;
    int track = i + 1, artist, album;
    uint64_t seed = affect_seed_derive (p->seed, i);
    AffectMusicClip clip;
    gchar *rel, *path, *sub;
    GString *tags = g_string_new (NULL), *labels = g_string_new (NULL);

    s = rank < n_train ? 0 : rank < n_train + n_val ? 1 : 2;
    affect_music_clip_draw (&clip, q, seed);
    affect_music_synth_render (synth, &clip, affect_seed_derive (seed, 1),
        samples, n_samples);

    /* MTG-Jamendo's layout: audio/NN/ID.ext with NN = ID mod 100 */
    sub = g_strdup_printf ("%02d", track % 100);
    rel = g_strdup_printf ("%s/%d.wav", sub, track);
    path = g_build_filename (audio_dir, sub, NULL);
    g_mkdir_with_parents (path, 0755);
    g_free (path);
    path = g_build_filename (audio_dir, rel, NULL);
    if (!affect_wav_write_s16 (path, samples, n_samples, p->sample_rate, error)) {
      g_free (sub);
      g_free (rel);
      g_free (path);
      g_string_free (tags, TRUE);
      g_string_free (labels, TRUE);
      goto out;
    }

    for (t = 0; t < AFFECT_N_MUSIC_TAGS; t++)
      if (clip.tags & (1u << t)) {
        g_string_append_printf (tags, "\t%s%s", AFFECT_MUSIC_TAG_PREFIX,
            affect_music_tag_name (t));
        g_string_append_printf (labels, "%s%s", labels->len ? ";" : "",
            affect_music_tag_name (t));
      }
    /* a synthetic "artist" is a pair of instruments, its "albums" are the
     * quadrants it plays in */
    artist =
        1 + clip.melody_timbre * AFFECT_MUSIC_N_TIMBRES + clip.chord_timbre;
    album = artist * AFFECT_N_QUADRANTS + q;
    g_string_append_printf (tsv_all, "track_%07d\tartist_%06d\talbum_%06d\t"
        "%s\t%s%s\n", track, artist, album, rel, dur, tags->str);
    g_string_append_printf (tsv[s], "track_%07d\tartist_%06d\talbum_%06d\t"
        "%s\t%s%s\n", track, artist, album, rel, dur, tags->str);
    g_string_append_printf (csv[s], "%d.wav\t%s\t%s\t%s\t%s\n", track,
        labels->str, dur, affect_quadrant_bin (q), affect_quadrant_names ()[q]);
    g_string_append_printf (clips, "track_%07d\t%s\t%s\t%d\t%s\t%.2f\t%g\t"
        "%.2f\t%.3f\t%.2f\t%d\t%.2f\t%d\t%.2f\t%d\t%d\t%d\n", track,
        split_names[s], affect_quadrant_names ()[q], clip.tonic,
        clip.minor ? "minor" : "major", clip.tempo_bpm, clip.notes_per_beat,
        clip.loudness_db, clip.attack_s, clip.brightness, clip.percussion,
        clip.dissonance, clip.register_shift, clip.contour,
        clip.melody_timbre, clip.chord_timbre, clip.drone);
    g_string_free (tags, TRUE);
    g_string_free (labels, TRUE);
    if (progress)
      progress (i + 1, p->n_items, path, user_data);
    g_free (sub);
    g_free (rel);
    g_free (path);
  }

  mapping = g_string_new ("tag\tquadrant\tclass_index\tBIN_column_value\n");
  for (t = 0; t < AFFECT_N_MUSIC_TAGS; t++) {
    int q = affect_music_tag_quadrant (t);
    if (q >= 0)
      g_string_append_printf (mapping, "%s%s\t%s\t%d\t%s\n",
          AFFECT_MUSIC_TAG_PREFIX, affect_music_tag_name (t),
          affect_quadrant_names ()[q], q, affect_quadrant_bin (q));
    else
      g_string_append_printf (mapping, "%s%s\tDROPPED\t-\t-\n",
          AFFECT_MUSIC_TAG_PREFIX, affect_music_tag_name (t));
  }

  ok = write_text (p->out_dir, "autotagging_moodtheme.tsv", tsv_all, error)
      && write_text (p->out_dir, "clips.tsv", clips, error)
      && write_text (p->out_dir, "tag_to_quadrant.tsv", mapping, error);
  for (s = 0; s < 3 && ok; s++) {
    gchar *n1 = g_strdup_printf ("autotagging_moodtheme-%s.tsv",
        split_names[s]);
    gchar *n2 = g_strdup_printf ("match_%s_labels.csv", split_names[s]);
    ok = write_text (p->out_dir, n1, tsv[s], error)
        && write_text (p->out_dir, n2, csv[s], error);
    g_free (n1);
    g_free (n2);
  }
  if (ok) {
    GKeyFile *kf = params_keyfile (p);
    gchar *ini = g_build_filename (p->out_dir, "corpus.ini", NULL);
    ok = g_key_file_save_to_file (kf, ini, error);
    g_free (ini);
    g_key_file_free (kf);
  }
  g_string_free (mapping, TRUE);

out:
  g_string_free (tsv_all, TRUE);
  for (s = 0; s < 3; s++) {
    g_string_free (tsv[s], TRUE);
    g_string_free (csv[s], TRUE);
  }
  g_string_free (clips, TRUE);
  g_free (samples);
  g_free (audio_dir);
  affect_music_synth_free (synth);
  return ok;
}

/* affect-corpus: writes the built-in corpora (docs/corpora.md), and
 * caches a corpus's IS09 features (docs/features.md).
 *
 *   affect-corpus music  --out DIR [--seed N] [--items N] [--seconds S]
 *                        [--rate HZ] [--validation F] [--test F] [--force]
 *   affect-corpus speech --out DIR [--seed N] [--items N] [--rate HZ]
 *                        [--spontaneous F] [--validation F] [--test F]
 *                        [--espeak PROGRAM] [--force]
 *   affect-corpus features --cache DIR [--root DIR] [--split S]
 *                        [--label-column C] [--target-columns A,B]
 *                        [--rate HZ] [--resample-quality Q]
 *                        [--input-scale X] MANIFEST
 *
 * A corpus already written with the same parameters is kept (cached).
 * `features` prints the path of the manifest's IS09 feature table in the
 * cache, CACHE/<key>.npy, extracting it first (with gst-launch-1.0 and
 * affectfeaturesink) when the key is new; read it with affectfeaturesrc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "affect/affect.h"
#include "affect/features.h"
#include "affect/manifest.h"
#include "affect/speech_corpus.h"
#include "affect/synth.h"

typedef struct
{
  gint64 start_us;
  gboolean tty;
} Progress;

static void
print_progress (int done, int total, const char *path, gpointer user_data)
{
  Progress *pr = user_data;
  double elapsed = (g_get_monotonic_time () - pr->start_us) / 1e6;
  int every = MAX (total / 20, 1);

  if (pr->tty) {
    fprintf (stderr, "\r  %d/%d  %.1f s  %s\033[K", done, total, elapsed, path);
    if (done == total)
      fputc ('\n', stderr);
  } else if (done % every == 0 || done == total) {
    fprintf (stderr, "  %d/%d  %.1f s  %s\n", done, total, elapsed, path);
  }
}

static void
print_written (const char *dir, const char *const *names)
{
  int i;

  printf ("wrote %s:\n", dir);
  for (i = 0; names[i]; i++)
    printf ("  %s/%s\n", dir, names[i]);
}

/* the `features` command: the cached table's path on stdout */
static int
features_main (int argc, char **argv)
{
  gchar *cache = NULL, *root = NULL, *split = NULL, *label_column = NULL;
  gchar *target_columns = NULL, *launch = NULL;
  gint rate = 0, quality = 4;
  gdouble input_scale = 0;
  GOptionContext *ctx;
  GError *error = NULL;
  AffectManifestOptions options;
  AffectManifestSelection selection;
  AffectManifest *m = NULL;
  gchar **targets = NULL, *params = NULL, *key = NULL, *table = NULL;
  gchar *chain = NULL;
  guint *order = NULL, n = 0, i;
  GPtrArray *args = NULL;
  gint64 start = g_get_monotonic_time ();
  int ret = 1;
  GOptionEntry entries[] = {
    {"cache", 'c', 0, G_OPTION_ARG_FILENAME, &cache,
        "Cache directory (required; created if missing)", "DIR"},
    {"root", 0, 0, G_OPTION_ARG_FILENAME, &root,
        "Where the manifest's relative paths start (its folder)", "DIR"},
    {"split", 0, 0, G_OPTION_ARG_STRING, &split,
        "Keep this split, as affectsrc's split", "S"},
    {"label-column", 0, 0, G_OPTION_ARG_STRING, &label_column,
        "As affectsrc's label-column", "C"},
    {"target-columns", 0, 0, G_OPTION_ARG_STRING, &target_columns,
        "As affectsrc's target-columns", "A,B"},
    {"rate", 0, 0, G_OPTION_ARG_INT, &rate,
          "Resample every item to this rate, mono (0: each file's own rate)",
        "HZ"},
    {"resample-quality", 0, 0, G_OPTION_ARG_INT, &quality,
        "The resampler's quality with --rate (4)", "Q"},
    {"input-scale", 0, 0, G_OPTION_ARG_DOUBLE, &input_scale,
        "affectis09's input-scale (its default)", "X"},
    {"gst-launch", 0, 0, G_OPTION_ARG_FILENAME, &launch,
        "The gst-launch-1.0 program (from PATH)", "PROGRAM"},
    {NULL}
  };

  ctx = g_option_context_new ("features MANIFEST - the manifest's IS09 "
      "features, from the cache");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
      "Prints CACHE/<key>.npy, the IS09 table of the manifest's items, for\n"
      "affectfeaturesrc location=... . The key is a SHA-256 over every\n"
      "item's file, the manifest rows and the extraction settings: the\n"
      "first run extracts (affectsrc ! affectis09 ! affectfeaturesink), the\n"
      "next ones find the table. See docs/features.md.\n");
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "affect-corpus: %s\n", error->message);
    g_error_free (error);
    g_option_context_free (ctx);
    return 2;
  }
  if (argc != 3 || cache == NULL) {
    gchar *help = g_option_context_get_help (ctx, TRUE, NULL);
    fprintf (stderr, "%s", help);
    g_free (help);
    g_option_context_free (ctx);
    ret = 2;
    goto out;
  }
  g_option_context_free (ctx);
  affect_init ();

  affect_manifest_options_init (&options);
  options.label_column = label_column;
  if (target_columns) {
    targets = g_strsplit (target_columns, ",", -1);
    for (i = 0; targets[i]; i++)
      g_strstrip (targets[i]);
    options.target_columns = (const char *const *) targets;
  }
  m = affect_manifest_load (argv[2], &options, &error);
  if (m == NULL)
    goto fail;
  affect_manifest_selection_init (&selection);
  selection.split = split;
  order = affect_manifest_select (m, &selection, &n, &error);
  if (order == NULL)
    goto fail;

  /* the extraction after affectsrc: every setting that changes a vector */
  {
    GString *c = g_string_new (NULL);
    gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (rate > 0)
      g_string_append_printf (c, "rate=%d channels=1 resample-quality=%d ",
          rate, quality);
    g_string_append (c, "! audioconvert ! audio/x-raw,format=F32LE,"
        "channels=1 ! affectis09");
    if (input_scale > 0)
      g_string_append_printf (c, " input-scale=%s", g_ascii_formatd (buf,
              sizeof (buf), "%.17g", input_scale));
    chain = g_string_free (c, FALSE);
  }
  params = g_strdup_printf ("%s (libaffect %s)", chain, affect_version ());
  key = affect_feature_cache_key (m, order, n, root, params, &error);
  if (key == NULL)
    goto fail;
  table = g_strdup_printf ("%s/%s.npy", cache, key);
  if (g_file_test (table, G_FILE_TEST_EXISTS)) {
    fprintf (stderr, "affect-corpus: %u items, cached (%.2f s)\n", n,
        (g_get_monotonic_time () - start) / 1e6);
    printf ("%s\n", table);
    ret = 0;
    goto out;
  }
  if (g_mkdir_with_parents (cache, 0755) != 0) {
    fprintf (stderr, "affect-corpus: cannot create %s\n", cache);
    goto out;
  }
  {
    gchar **words = g_strsplit (chain, " ", -1);
    gint status = 0;
    args = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (args, g_strdup (launch ? launch : "gst-launch-1.0"));
    g_ptr_array_add (args, g_strdup ("-q"));
    g_ptr_array_add (args, g_strdup ("affectsrc"));
    g_ptr_array_add (args, g_strdup_printf ("location=%s", argv[2]));
    if (root)
      g_ptr_array_add (args, g_strdup_printf ("root=%s", root));
    if (split)
      g_ptr_array_add (args, g_strdup_printf ("split=%s", split));
    if (label_column)
      g_ptr_array_add (args, g_strdup_printf ("label-column=%s", label_column));
    if (target_columns)
      g_ptr_array_add (args, g_strdup_printf ("target-columns=%s",
              target_columns));
    for (i = 0; words[i]; i++)
      g_ptr_array_add (args, g_strdup (words[i]));
    g_strfreev (words);
    g_ptr_array_add (args, g_strdup ("!"));
    g_ptr_array_add (args, g_strdup ("affectfeaturesink"));
    g_ptr_array_add (args, g_strdup_printf ("location=%s", table));
    g_ptr_array_add (args, NULL);
    fprintf (stderr, "affect-corpus: %u items, extracting to %s\n", n, table);
    if (!g_spawn_sync (NULL, (gchar **) args->pdata, NULL,
            G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL,
            NULL, NULL, &status, &error))
      goto fail;
    if (!g_spawn_check_wait_status (status, &error)
        || !g_file_test (table, G_FILE_TEST_EXISTS)) {
      fprintf (stderr, "affect-corpus: extraction failed%s%s\n",
          error ? ": " : "", error ? error->message : "");
      g_clear_error (&error);
      goto out;
    }
  }
  fprintf (stderr, "affect-corpus: extracted in %.1f s\n",
      (g_get_monotonic_time () - start) / 1e6);
  printf ("%s\n", table);
  ret = 0;
  goto out;

fail:
  fprintf (stderr, "affect-corpus: %s\n", error->message);
  g_error_free (error);
out:
  if (args)
    g_ptr_array_unref (args);
  affect_manifest_free (m);
  g_free (order);
  g_strfreev (targets);
  g_free (params);
  g_free (chain);
  g_free (key);
  g_free (table);
  g_free (cache);
  g_free (root);
  g_free (split);
  g_free (label_column);
  g_free (target_columns);
  g_free (launch);
  return ret;
}

int
main (int argc, char **argv)
{
  gchar *out = NULL, *espeak = NULL;
  gint64 seed = 1;
  gint items = -1, rate = 16000;
  gdouble seconds = 10.0, validation = 0.15, test = 0.15, spont = 0.5;
  gboolean force = FALSE, cached = FALSE, ok;
  GError *error = NULL;
  GOptionContext *ctx;
  Progress pr;
  const char *what;
  GOptionEntry entries[] = {
    {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
        "Directory to write the corpus to (required)", "DIR"},
    {"seed", 0, 0, G_OPTION_ARG_INT64, &seed,
        "Random seed: the same seed writes the same bytes (1)", "N"},
    {"items", 'n', 0, G_OPTION_ARG_INT, &items,
        "Clips (music, 200) or utterances per corpus (speech, 200)", "N"},
    {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds,
        "Music clip duration in seconds (10)", "S"},
    {"rate", 0, 0, G_OPTION_ARG_INT, &rate,
        "Sample rate of the WAV files in Hz (16000; music also 12000)", "HZ"},
    {"validation", 0, 0, G_OPTION_ARG_DOUBLE, &validation,
        "Fraction of items in the validation split (0.15)", "F"},
    {"test", 0, 0, G_OPTION_ARG_DOUBLE, &test,
        "Fraction of items in the test split (0.15)", "F"},
    {"spontaneous", 0, 0, G_OPTION_ARG_DOUBLE, &spont,
        "Speech: fraction of utterances in the spontaneous style (0.5)", "F"},
    {"espeak", 0, 0, G_OPTION_ARG_FILENAME, &espeak,
        "Speech: the espeak-ng program (espeak-ng from PATH)", "PROGRAM"},
    {"force", 'f', 0, G_OPTION_ARG_NONE, &force,
        "Regenerate even if DIR holds the same corpus", NULL},
    {NULL}
  };

  if (argc >= 2 && strcmp (argv[1], "features") == 0)
    return features_main (argc, argv);
  ctx = g_option_context_new ("music|speech - write a built-in corpus");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
      "music: WAV clips per arousal/valence quadrant with MTG-Jamendo TSV\n"
      "       manifests (mood/theme tags) and quadrant CSV manifests.\n"
      "speech: espeak-ng utterances with valence/arousal/dominance targets,\n"
      "       read and spontaneous styles, English and German corpora,\n"
      "       in a CSV manifest. See docs/corpora.md.\n");
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "affect-corpus: %s\n", error->message);
    return 2;
  }
  if (argc != 2 || out == NULL || (strcmp (argv[1], "music") != 0
          && strcmp (argv[1], "speech") != 0)) {
    gchar *help = g_option_context_get_help (ctx, TRUE, NULL);
    fprintf (stderr, "%s", help);
    g_free (help);
    return 2;
  }
  g_option_context_free (ctx);
  what = argv[1];
  affect_init ();
  pr.start_us = g_get_monotonic_time ();
  pr.tty = isatty (fileno (stderr));

  if (strcmp (what, "music") == 0) {
    AffectMusicCorpusParams p;
    static const char *names[] = { "audio/NN/ID.wav",
      "autotagging_moodtheme.tsv", "autotagging_moodtheme-train.tsv",
      "autotagging_moodtheme-validation.tsv",
      "autotagging_moodtheme-test.tsv", "match_train_labels.csv",
      "match_validation_labels.csv", "match_test_labels.csv",
      "tag_to_quadrant.tsv", "clips.tsv", "corpus.ini", NULL
    };

    affect_music_corpus_params_init (&p);
    p.out_dir = out;
    p.seed = (uint64_t) seed;
    if (items > 0)
      p.n_items = items;
    p.seconds = seconds;
    p.sample_rate = rate;
    p.validation_fraction = validation;
    p.test_fraction = test;
    p.force = force;
    fprintf (stderr, "affect-corpus: music, %d clips of %g s at %d Hz, "
        "seed %" G_GUINT64_FORMAT "\n", p.n_items, p.seconds, p.sample_rate,
        p.seed);
    ok = affect_music_corpus_write (&p, print_progress, &pr, &cached, &error);
    if (ok && !cached)
      print_written (out, names);
  } else {
    AffectSpeechCorpusParams p;
    static const char *names[] = { "en/spkN/*.wav", "de/spkN/*.wav",
      "speech.csv", "en.csv", "de.csv", "corpus.ini", NULL
    };

    affect_speech_corpus_params_init (&p);
    p.out_dir = out;
    p.seed = (uint64_t) seed;
    if (items > 0)
      p.n_items = items;
    p.sample_rate = rate;
    p.spontaneous_fraction = spont;
    p.validation_fraction = validation;
    p.test_fraction = test;
    p.program = espeak;
    p.force = force;
    fprintf (stderr, "affect-corpus: speech, %d utterances x %d corpora at "
        "%d Hz, seed %" G_GUINT64_FORMAT "\n", p.n_items,
        AFFECT_SPEECH_N_CORPORA, p.sample_rate, p.seed);
    ok = affect_speech_corpus_write (&p, print_progress, &pr, &cached, &error);
    if (ok && !cached)
      print_written (out, names);
  }

  if (!ok) {
    fprintf (stderr, "affect-corpus: %s\n", error->message);
    g_error_free (error);
    return 1;
  }
  if (cached)
    printf ("%s: cached (same parameters), nothing to do\n", out);
  printf ("done in %.1f s\n", (g_get_monotonic_time () - pr.start_us) / 1e6);
  g_free (out);
  g_free (espeak);
  return 0;
}

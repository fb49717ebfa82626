/* affect-corpus: writes the built-in corpora (docs/corpora.md).
 *
 *   affect-corpus music  --out DIR [--seed N] [--items N] [--seconds S]
 *                        [--rate HZ] [--validation F] [--test F] [--force]
 *   affect-corpus speech --out DIR [--seed N] [--items N] [--rate HZ]
 *                        [--spontaneous F] [--validation F] [--test F]
 *                        [--espeak PROGRAM] [--force]
 *
 * A corpus already written with the same parameters is kept (cached).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "affect/affect.h"
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

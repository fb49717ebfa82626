/* affect-run built-in generators "music" and "speech": the project's own
 * corpora (docs/corpora.md), written by libaffect's corpus writers, so an
 * experiment can make the data it runs on.
 *
 *   music   synthetic clips per arousal/valence quadrant, with MTG-Jamendo
 *           TSV manifests (mood/theme tags) and quadrant CSVs
 *   speech  espeak-ng utterances, read and spontaneous styles, English and
 *           German corpora, valence/arousal/dominance targets in CSVs
 *
 * Both reuse an output folder that already holds the same corpus (same
 * parameters), and are deterministic from their seed.
 */
#include <string.h>

#include "affect/speech_corpus.h"
#include "affect/synth.h"
#include "runner.h"

typedef struct
{
  RunnerProgressFunc progress;
  gpointer user_data;
} Relay;

static void
relay_progress (int done, int total, const char *path, gpointer user_data)
{
  Relay *relay = user_data;
  char *base = g_path_get_basename (path);

  if (relay->progress)
    relay->progress (done, total, base, relay->user_data);
  g_free (base);
}

static void
report_files (JsonObject * report, const char *output,
    const char *const *names)
{
  JsonArray *files = json_array_new ();

  for (; *names; names++) {
    char *path = g_build_filename (output, *names, NULL);
    json_array_add_string_element (files, path);
    g_free (path);
  }
  json_object_set_array_member (report, "manifests", files);
}

static const RunnerParam music_params[] = {
  {"output", "${CACHE}/music", "folder to write the corpus to"},
  {"seed", "1", "random seed; the same seed gives the same files"},
  {"items", "200", "clips, spread evenly over the four quadrants"},
  {"seconds", "10", "clip duration in seconds"},
  {"rate", "16000", "sample rate in Hz"},
  {"validation", "0.15", "fraction of items in the validation split"},
  {"test", "0.15", "fraction of items in the test split"},
  {NULL, NULL, NULL}
};

static gboolean
music_parse (GHashTable * params, AffectMusicCorpusParams * p,
    GError ** error)
{
  gint64 seed, items, rate;

  affect_music_corpus_params_init (p);
  if (!runner_param_int (params, "music", "seed", 0, G_MAXINT64, &seed, error)
      || !runner_param_int (params, "music", "items", 4, 1000000, &items,
          error)
      || !runner_param_int (params, "music", "rate", 8000, 192000, &rate,
          error)
      || !runner_param_double (params, "music", "seconds", 0.5, 600,
          &p->seconds, error)
      || !runner_param_double (params, "music", "validation", 0, 0.5,
          &p->validation_fraction, error)
      || !runner_param_double (params, "music", "test", 0, 0.5,
          &p->test_fraction, error))
    return FALSE;
  p->out_dir = g_hash_table_lookup (params, "output");
  p->seed = seed;
  p->n_items = items;
  p->sample_rate = rate;
  return TRUE;
}

static gboolean
music_check (GHashTable * params, GError ** error)
{
  AffectMusicCorpusParams p;

  return music_parse (params, &p, error);
}

static gboolean
music_run (GHashTable * params, JsonObject * report,
    RunnerProgressFunc progress, gpointer user_data, GError ** error)
{
  static const char *const manifests[] = { "autotagging_moodtheme.tsv",
    "autotagging_moodtheme-train.tsv", "autotagging_moodtheme-validation.tsv",
    "autotagging_moodtheme-test.tsv", "match_train_labels.csv",
    "match_validation_labels.csv", "match_test_labels.csv", NULL
  };
  AffectMusicCorpusParams p;
  Relay relay = { progress, user_data };
  gboolean cached = FALSE;

  if (!music_parse (params, &p, error))
    return FALSE;
  if (!affect_music_corpus_write (&p, relay_progress, &relay, &cached,
          error))
    return FALSE;
  json_object_set_string_member (report, "output", p.out_dir);
  json_object_set_int_member (report, "items", p.n_items);
  json_object_set_boolean_member (report, "cached", cached);
  report_files (report, p.out_dir, manifests);
  return TRUE;
}

const RunnerGenerator runner_generator_music = {
  "music",
  "synthetic music corpus per arousal/valence quadrant: WAVs, MTG-Jamendo "
      "TSV and quadrant CSV manifests (docs/corpora.md)",
  music_params,
  music_run,
  music_check
};

static const RunnerParam speech_params[] = {
  {"output", "${CACHE}/speech", "folder to write the corpus to"},
  {"seed", "1", "random seed; the same seed gives the same files"},
  {"items", "200", "utterances per corpus (English and German)"},
  {"rate", "16000", "sample rate in Hz"},
  {"spontaneous", "0.5", "fraction of utterances in the spontaneous style"},
  {"validation", "0.15", "fraction of items in the validation split"},
  {"test", "0.15", "fraction of items in the test split"},
  {"espeak", "", "the espeak-ng program (empty: espeak-ng from PATH)"},
  {NULL, NULL, NULL}
};

static gboolean
speech_parse (GHashTable * params, AffectSpeechCorpusParams * p,
    GError ** error)
{
  gint64 seed, items, rate;
  const char *espeak = g_hash_table_lookup (params, "espeak");

  affect_speech_corpus_params_init (p);
  if (!runner_param_int (params, "speech", "seed", 0, G_MAXINT64, &seed,
          error)
      || !runner_param_int (params, "speech", "items", 2, 1000000, &items,
          error)
      || !runner_param_int (params, "speech", "rate", 8000, 192000, &rate,
          error)
      || !runner_param_double (params, "speech", "spontaneous", 0, 1,
          &p->spontaneous_fraction, error)
      || !runner_param_double (params, "speech", "validation", 0, 0.5,
          &p->validation_fraction, error)
      || !runner_param_double (params, "speech", "test", 0, 0.5,
          &p->test_fraction, error))
    return FALSE;
  p->out_dir = g_hash_table_lookup (params, "output");
  p->seed = seed;
  p->n_items = items;
  p->sample_rate = rate;
  p->program = espeak && *espeak ? espeak : NULL;
  return TRUE;
}

static gboolean
speech_check (GHashTable * params, GError ** error)
{
  AffectSpeechCorpusParams p;

  return speech_parse (params, &p, error);
}

static gboolean
speech_run (GHashTable * params, JsonObject * report,
    RunnerProgressFunc progress, gpointer user_data, GError ** error)
{
  static const char *const manifests[] = { "speech.csv", "en.csv", "de.csv",
    NULL
  };
  AffectSpeechCorpusParams p;
  Relay relay = { progress, user_data };
  gboolean cached = FALSE;

  if (!speech_parse (params, &p, error))
    return FALSE;
  if (!affect_speech_corpus_write (&p, relay_progress, &relay, &cached,
          error))
    return FALSE;
  json_object_set_string_member (report, "output", p.out_dir);
  /* two corpora (English, German) of n_items each */
  json_object_set_int_member (report, "items", 2 * p.n_items);
  json_object_set_boolean_member (report, "cached", cached);
  report_files (report, p.out_dir, manifests);
  return TRUE;
}

const RunnerGenerator runner_generator_speech = {
  "speech",
  "synthetic speech corpora (espeak-ng; read and spontaneous styles, "
      "English and German) with valence/arousal/dominance targets",
  speech_params,
  speech_run,
  speech_check
};

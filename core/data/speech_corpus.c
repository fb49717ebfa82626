/* Built-in speech corpus spoken by espeak-ng (include/affect/speech_corpus.h,
 * docs/corpora.md). */
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/nn.h"
#include "affect/speech_corpus.h"

/* bumped whenever what a seed produces changes */
#define SPEECH_CORPUS_VERSION 1

static const char *corpus_names[AFFECT_SPEECH_N_CORPORA] = { "en", "de" };

/* two voice families: English and German, three male and three female
 * variants each */
static const char *voices[AFFECT_SPEECH_N_CORPORA][AFFECT_SPEECH_N_SPEAKERS] = {
  {"en-us+m1", "en-us+f2", "en+m3", "en-us+f4", "en+m7", "en+f3"},
  {"de+m1", "de+f2", "de+m4", "de+f1", "de+m6", "de+f4"},
};

/* Sentence grammar per language: subject, verb, object, time. Singular
 * subjects only, so verbs agree; German puts the time before the object
 * (verb second). */
static const char *en_subjects[] = {
  "my neighbour", "our teacher", "the old man", "your sister", "the driver",
  "the doctor", "my brother", "the new manager", "the farmer", "her friend"
};

static const char *en_verbs[] = {
  "walked to", "talked about", "looked at", "waited for", "thought about",
  "cleaned", "painted", "visited", "found", "forgot"
};

static const char *en_objects[] = {
  "the station", "the garden", "the letter", "the red car", "the kitchen",
  "the small dog", "the meeting", "the market", "the blue house",
  "the museum"
};

static const char *en_times[] = {
  "yesterday", "this morning", "last week", "after dinner", "on Sunday",
  "before lunch", "in the evening", "every day"
};

static const char *en_fillers[] = {
  "uh", "um", "uh", "um", "well", "you know", "I mean", "like"
};

static const char *de_subjects[] = {
  "mein Nachbar", "unsere Lehrerin", "der alte Mann", "deine Schwester",
  "der Fahrer", "die Ärztin", "mein Bruder", "der neue Chef", "der Bauer",
  "ihre Freundin"
};

static const char *de_verbs[] = {
  "besucht", "findet", "sucht", "malt", "putzt", "sieht", "kauft",
  "vergisst", "zeigt", "öffnet"
};

static const char *de_objects[] = {
  "das Haus", "die Küche", "das alte Auto", "die Zeitung", "das Museum",
  "die Tasche", "das Fenster", "die Brücke", "das Paket", "die Tür"
};

static const char *de_times[] = {
  "heute", "morgen", "am Sonntag", "jeden Tag", "am Abend",
  "nach dem Essen", "vor dem Mittag", "schon wieder"
};

static const char *de_fillers[] = {
  "äh", "ähm", "äh", "ähm", "also", "naja", "weißt du", "halt"
};

#define N(a) ((int) G_N_ELEMENTS (a))

const char *
affect_speech_corpus_name (int corpus)
{
  return corpus >= 0 && corpus < AFFECT_SPEECH_N_CORPORA ?
      corpus_names[corpus] : NULL;
}

const char *
affect_speech_voice (int corpus, int speaker)
{
  if (corpus < 0 || corpus >= AFFECT_SPEECH_N_CORPORA || speaker < 0)
    return NULL;
  return voices[corpus][speaker % AFFECT_SPEECH_N_SPEAKERS];
}

static int
pick (AffectRng * rng, int n)
{
  return (int) (affect_rng_uniform (rng) * n);
}

static double
uniform (AffectRng * rng, double lo, double hi)
{
  return lo + (hi - lo) * affect_rng_uniform (rng);
}

static double
round2 (double x)
{
  return round (x * 100.0) / 100.0;
}

/* one sentence as a list of words */
static void
draw_sentence (GPtrArray * words, int corpus, AffectRng * rng)
{
  const char *parts[4];
  gchar *sentence, **split;
  int i;

  if (corpus == 0) {
    parts[0] = en_subjects[pick (rng, N (en_subjects))];
    parts[1] = en_verbs[pick (rng, N (en_verbs))];
    parts[2] = en_objects[pick (rng, N (en_objects))];
    parts[3] = en_times[pick (rng, N (en_times))];
  } else {
    parts[0] = de_subjects[pick (rng, N (de_subjects))];
    parts[1] = de_verbs[pick (rng, N (de_verbs))];
    parts[2] = de_times[pick (rng, N (de_times))];
    parts[3] = de_objects[pick (rng, N (de_objects))];
  }
  sentence = g_strjoin (" ", parts[0], parts[1], parts[2], parts[3], NULL);
  split = g_strsplit (sentence, " ", -1);
  for (i = 0; split[i]; i++)
    g_ptr_array_add (words, g_strdup (split[i]));
  g_strfreev (split);
  g_free (sentence);
}

static gchar *
capitalise (const char *s)
{
  gunichar c = g_utf8_get_char (s);
  char buf[8];
  int len = g_unichar_to_utf8 (g_unichar_toupper (c), buf);

  buf[len] = 0;
  return g_strconcat (buf, g_utf8_next_char (s), NULL);
}

void
affect_speech_utterance_draw (AffectSpeechUtterance * utt, int corpus,
    int speaker, gboolean spontaneous, uint64_t seed)
{
  AffectRng rng;
  GPtrArray *words = g_ptr_array_new_with_free_func (g_free);
  GString *text = g_string_new (NULL), *ssml = g_string_new (NULL);
  const char **fillers = corpus == 0 ? en_fillers : de_fillers;
  int n_fill = corpus == 0 ? N (en_fillers) : N (de_fillers);
  int n_sentences, s;
  guint i;

  affect_rng_init (&rng, seed);
  memset (utt, 0, sizeof (*utt));
  utt->corpus = corpus;
  utt->speaker = speaker;
  utt->spontaneous = spontaneous;

  /* targets: dominance follows arousal in part, as in acted corpora */
  utt->arousal = round2 (uniform (&rng, 1.0, 5.0));
  utt->valence = round2 (uniform (&rng, 1.0, 5.0));
  utt->dominance = round2 (CLAMP (0.5 * utt->arousal + 0.5 * uniform (&rng,
              1.0, 5.0) + 0.3 * affect_rng_normal (&rng), 1.0, 5.0));

  /* prosody: valence raises the pitch, arousal the rate, the pitch range
   * and a little pitch, dominance the loudness; each with a jitter so the
   * mapping is not a lookup table */
  utt->pitch = (int) lround (CLAMP (22 + 11 * (utt->valence - 1) +
          3 * (utt->arousal - 1) + 2 * affect_rng_normal (&rng), 0, 99));
  utt->rate_wpm = (int) lround (120 + 28 * (utt->arousal - 1) +
      5 * affect_rng_normal (&rng));
  utt->range = (int) lround (CLAMP (40 + 35 * (utt->arousal - 1) +
          8 * affect_rng_normal (&rng), 10, 250));
  utt->amplitude = (int) lround (CLAMP (50 + 28 * (utt->dominance - 1) +
          4 * affect_rng_normal (&rng), 10, 200));

  n_sentences = affect_rng_uniform (&rng) < 0.3 ? 2 : 1;
  g_string_append_printf (ssml, "<prosody range=\"%d%%\">", utt->range);
  for (s = 0; s < n_sentences; s++) {
    g_ptr_array_set_size (words, 0);
    draw_sentence (words, corpus, &rng);
    if (!spontaneous) {
      /* read style: the sentence as written */
      gchar *first = capitalise (g_ptr_array_index (words, 0));
      g_string_append_printf (text, "%s%s", s ? " " : "", first);
      g_string_append_printf (ssml, "%s%s", s ? " " : "", first);
      g_free (first);
      for (i = 1; i < words->len; i++) {
        g_string_append_printf (text, " %s",
            (char *) g_ptr_array_index (words, i));
        g_string_append_printf (ssml, " %s",
            (char *) g_ptr_array_index (words, i));
      }
      g_string_append (text, ".");
      g_string_append (ssml, ".");
      continue;
    }
    /* spontaneous style: fillers, silent pauses, repetitions and a rate
     * that changes every few words */
    if (affect_rng_uniform (&rng) < 0.5) {
      const char *f = fillers[pick (&rng, n_fill)];
      g_string_append_printf (text, "%s%s,", text->len ? " " : "", f);
      g_string_append_printf (ssml, " %s, <break time=\"%dms\"/>", f,
          (int) uniform (&rng, 150, 500));
    }
    for (i = 0; i < words->len;) {
      int chunk = 2 + pick (&rng, 3), k;
      int rate = (int) uniform (&rng, 70, 135);

      g_string_append_printf (ssml, " <prosody rate=\"%d%%\">", rate);
      for (k = 0; k < chunk && i < words->len; k++, i++) {
        const char *w = g_ptr_array_index (words, i);
        double u = affect_rng_uniform (&rng);

        if (u < 0.2) {
          const char *f = fillers[pick (&rng, n_fill)];
          g_string_append_printf (text, "%s%s", text->len ? " " : "", f);
          g_string_append_printf (ssml, " %s", f);
          if (affect_rng_uniform (&rng) < 0.5)
            g_string_append_printf (ssml, " <break time=\"%dms\"/>",
                (int) uniform (&rng, 150, 600));
        } else if (u < 0.32) {
          /* a repetition: the word, a hitch, the word again */
          g_string_append_printf (text, "%s%s", text->len ? " " : "", w);
          g_string_append_printf (ssml, " %s <break time=\"%dms\"/>", w,
              (int) uniform (&rng, 60, 250));
        } else if (u < 0.45) {
          g_string_append_printf (ssml, " <break time=\"%dms\"/>",
              (int) uniform (&rng, 200, 700));
        }
        g_string_append_printf (text, "%s%s", text->len ? " " : "", w);
        g_string_append_printf (ssml, " %s", w);
      }
      g_string_append (ssml, "</prosody>");
    }
    g_string_append (text, ".");
    g_string_append (ssml, ".");
  }
  g_string_append (ssml, "</prosody>");
  utt->text = g_string_free (text, FALSE);
  utt->ssml = g_string_free (ssml, FALSE);
  g_ptr_array_unref (words);
}

void
affect_speech_utterance_clear (AffectSpeechUtterance * utt)
{
  g_clear_pointer (&utt->text, g_free);
  g_clear_pointer (&utt->ssml, g_free);
}

/* ----------------------------------------------------------- resampling */

static double
bessel_i0 (double x)
{
  double sum = 1.0, term = 1.0;
  int k;

  for (k = 1; k < 50; k++) {
    term *= (x / (2.0 * k)) * (x / (2.0 * k));
    sum += term;
    if (term < 1e-12 * sum)
      break;
  }
  return sum;
}

static guint64
gcd (guint64 a, guint64 b)
{
  while (b) {
    guint64 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* Output sample m sits at input position m·rate_in/rate_out. With
 * g = gcd(rate_in, rate_out) the fractional part takes only L = rate_out/g
 * values, so the kernel is tabulated once per phase (exactly for the usual
 * rates; with the nearest of 4096 phases otherwise). Kaiser window, beta 8,
 * cutoff at 0.95 of the lower Nyquist frequency. */
float *
affect_resample (const float *in, size_t n, int rate_in, int rate_out,
    size_t *n_out)
{
  const int zeros = 16;
  const double beta = 8.0;
  guint64 g = gcd (rate_in, rate_out);
  guint64 L = rate_out / g, M = rate_in / g;
  int n_phases = (int) MIN (L, 4096);
  double ratio = (double) rate_out / rate_in;
  double cutoff = 0.95 * MIN (1.0, ratio);      /* in units of the input Nyquist */
  int half = (int) ceil (zeros / cutoff);
  int taps = 2 * half, p, k;
  float *table, *out;
  size_t m, count;
  double i0b = bessel_i0 (beta);

  count = (size_t) ((double) n * ratio);
  *n_out = count;
  out = g_new0 (float, MAX (count, 1));
  if (rate_in == rate_out) {
    memcpy (out, in, n * sizeof (float));
    return out;
  }
  table = g_new (float, (size_t) n_phases * taps);
  for (p = 0; p < n_phases; p++) {
    double frac = (double) p / n_phases;
    for (k = 0; k < taps; k++) {
      double x = (k - half + 1) - frac; /* distance in input samples */
      double sinc = x == 0.0 ? 1.0 : sin (M_PI * cutoff * x) / (M_PI * x);
      double r = x / half;
      double w = fabs (r) < 1.0 ? bessel_i0 (beta * sqrt (1.0 - r * r)) /
          i0b : 0.0;
      table[(size_t) p * taps + k] = (float) (sinc * w);
    }
  }
  for (m = 0; m < count; m++) {
    guint64 num = (guint64) m * M;
    gint64 base = (gint64) (num / L);
    int phase = (int) ((num % L) * n_phases / L);
    const float *h = table + (size_t) phase * taps;
    double acc = 0.0;

    for (k = 0; k < taps; k++) {
      gint64 idx = base + k - half + 1;
      if (idx >= 0 && idx < (gint64) n)
        acc += h[k] * in[idx];
    }
    out[m] = (float) acc;
  }
  g_free (table);
  return out;
}

/* ------------------------------------------------------------ espeak-ng */

float *
affect_speech_synthesise (const AffectSpeechUtterance * utt,
    const char *program, int sample_rate, size_t *n, GError ** error)
{
  GSubprocess *proc;
  GBytes *out = NULL, *err = NULL;
  gchar pitch[16], rate[16], amp[16];
  const char *voice = affect_speech_voice (utt->corpus, utt->speaker);
  float *raw, *res;
  int raw_rate;
  size_t n_raw;
  gsize len;
  const guint8 *data;

  g_snprintf (pitch, sizeof (pitch), "%d", utt->pitch);
  g_snprintf (rate, sizeof (rate), "%d", utt->rate_wpm);
  g_snprintf (amp, sizeof (amp), "%d", utt->amplitude);
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
      G_SUBPROCESS_FLAGS_STDERR_PIPE, error,
      program ? program : "espeak-ng", "-m", "-v", voice, "-p", pitch,
      "-s", rate, "-a", amp, "--stdout", utt->ssml, NULL);
  if (proc == NULL) {
    g_prefix_error (error, "cannot run espeak-ng (install the Debian package "
        "espeak-ng): ");
    return NULL;
  }
  if (!g_subprocess_communicate (proc, NULL, NULL, &out, &err, error)) {
    g_object_unref (proc);
    return NULL;
  }
  if (!g_subprocess_get_successful (proc)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "%s -v %s failed: %.*s", program ? program : "espeak-ng", voice,
        (int) g_bytes_get_size (err), (const char *) g_bytes_get_data (err,
            NULL));
    g_bytes_unref (out);
    g_bytes_unref (err);
    g_object_unref (proc);
    return NULL;
  }
  data = g_bytes_get_data (out, &len);
  raw = affect_wav_parse (data, len, &raw_rate, &n_raw, error);
  g_bytes_unref (out);
  g_bytes_unref (err);
  g_object_unref (proc);
  if (raw == NULL)
    return NULL;
  if (n_raw == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "espeak-ng produced no audio for \"%s\"", utt->text);
    g_free (raw);
    return NULL;
  }
  res = affect_resample (raw, n_raw, raw_rate, sample_rate, n);
  g_free (raw);
  return res;
}

/* --------------------------------------------------------------- corpus */

void
affect_speech_corpus_params_init (AffectSpeechCorpusParams * params)
{
  memset (params, 0, sizeof (*params));
  params->out_dir = "affect-data/speech";
  params->seed = 1;
  params->n_items = 200;
  params->sample_rate = 16000;
  params->spontaneous_fraction = 0.5;
  params->validation_fraction = 0.15;
  params->test_fraction = 0.15;
}

static gchar *
espeak_version (const char *program)
{
  gchar *out = NULL;
  const gchar *argv[] = { program ? program : "espeak-ng", "--version", NULL };

  if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH |
          G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, NULL, NULL))
    return g_strdup ("unknown");
  return g_strstrip (out);
}

static gchar *
params_ini (const AffectSpeechCorpusParams * p)
{
  GKeyFile *kf = g_key_file_new ();
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  gchar *version = espeak_version (p->program), *data;

  g_key_file_set_integer (kf, "speech", "version", SPEECH_CORPUS_VERSION);
  g_key_file_set_uint64 (kf, "speech", "seed", p->seed);
  g_key_file_set_integer (kf, "speech", "items", p->n_items);
  g_key_file_set_integer (kf, "speech", "sample-rate", p->sample_rate);
  g_key_file_set_string (kf, "speech", "spontaneous-fraction",
      g_ascii_dtostr (buf, sizeof (buf), p->spontaneous_fraction));
  g_key_file_set_string (kf, "speech", "validation-fraction",
      g_ascii_dtostr (buf, sizeof (buf), p->validation_fraction));
  g_key_file_set_string (kf, "speech", "test-fraction",
      g_ascii_dtostr (buf, sizeof (buf), p->test_fraction));
  g_key_file_set_string (kf, "speech", "espeak-ng", version);
  data = g_key_file_to_data (kf, NULL, NULL);
  g_key_file_free (kf);
  g_free (version);
  return data;
}

static void
append_csv_field (GString * s, const char *text)
{
  const char *c;

  g_string_append_c (s, '"');
  for (c = text; *c; c++) {
    if (*c == '"')
      g_string_append_c (s, '"');
    g_string_append_c (s, *c);
  }
  g_string_append_c (s, '"');
}

#define SPEECH_CSV_HEADER \
  "path,valence,arousal,dominance,spontaneity,split,corpus,speaker,text\n"

/* One utterance of the corpus, made on a worker thread: espeak-ng runs as
 * a subprocess, so two at a time keep both cores busy. Everything an item
 * needs comes from its own seed, so the order the workers finish in does
 * not matter. */
typedef struct
{
  const AffectSpeechCorpusParams *p;
  GMutex lock;
  GCond cond;
  int done;
  GError *error;                /* first failure */
  gchar **rows;                 /* per job: its manifest line */
  gchar **paths;                /* per job: its WAV */
  GQueue finished;              /* job indices not yet reported */
} SpeechJobs;

static void
speech_job (gpointer data, gpointer user_data)
{
  SpeechJobs *jobs = user_data;
  const AffectSpeechCorpusParams *p = jobs->p;
  int job = GPOINTER_TO_INT (data) - 1;
  int c = job / p->n_items, i = job % p->n_items;
  uint64_t seed = affect_seed_derive (p->seed, (uint64_t) c << 32 | i);
  double u_style = (affect_seed_derive (seed, 1) >> 11) * 0x1.0p-53;
  double u_split = (affect_seed_derive (seed, 2) >> 11) * 0x1.0p-53;
  int speaker = i % AFFECT_SPEECH_N_SPEAKERS;
  const char *split = u_split < p->test_fraction ? "test" :
      u_split < p->test_fraction + p->validation_fraction ?
      "validation" : "train";
  AffectSpeechUtterance utt;
  GError *error = NULL;
  gchar *rel = NULL, *path = NULL, *dir;
  float *samples = NULL;
  size_t n;
  GString *row = NULL;
  gboolean skip;

  g_mutex_lock (&jobs->lock);
  skip = jobs->error != NULL;
  g_mutex_unlock (&jobs->lock);
  if (skip)
    goto finish;

  affect_speech_utterance_draw (&utt, c, speaker,
      u_style < p->spontaneous_fraction, seed);
  samples = affect_speech_synthesise (&utt, p->program, p->sample_rate, &n,
      &error);
  if (samples) {
    rel = g_strdup_printf ("%s/spk%d/%s_%d_%05d.wav", corpus_names[c],
        speaker, corpus_names[c], speaker, i);
    path = g_build_filename (p->out_dir, rel, NULL);
    dir = g_path_get_dirname (path);
    g_mkdir_with_parents (dir, 0755);
    g_free (dir);
    if (affect_wav_write_s16 (path, samples, n, p->sample_rate, &error)) {
      row = g_string_new (NULL);
      g_string_append_printf (row, "%s,%.2f,%.2f,%.2f,%d,%s,%s,%s_%d,", rel,
          utt.valence, utt.arousal, utt.dominance, utt.spontaneous ? 1 : 0,
          split, corpus_names[c], corpus_names[c], speaker);
      append_csv_field (row, utt.text);
      g_string_append_c (row, '\n');
    }
  }
  affect_speech_utterance_clear (&utt);
  g_free (samples);
  g_free (rel);

finish:
  g_mutex_lock (&jobs->lock);
  if (error && jobs->error == NULL)
    jobs->error = error;
  else if (error)
    g_error_free (error);
  jobs->rows[job] = row ? g_string_free (row, FALSE) : NULL;
  jobs->paths[job] = path;
  jobs->done++;
  g_queue_push_tail (&jobs->finished, GINT_TO_POINTER (job + 1));
  g_cond_signal (&jobs->cond);
  g_mutex_unlock (&jobs->lock);
}

gboolean
affect_speech_corpus_write (const AffectSpeechCorpusParams * p,
    AffectCorpusProgress progress, gpointer user_data, gboolean * cached,
    GError ** error)
{
  gchar *ini_path, *want, *have = NULL;
  GString *all = NULL, *per[AFFECT_SPEECH_N_CORPORA] = { NULL };
  int c, total;
  gboolean ok = FALSE;

  if (cached)
    *cached = FALSE;
  if (p->n_items < 1 || p->sample_rate < 8000 || p->validation_fraction < 0
      || p->test_fraction < 0
      || p->validation_fraction + p->test_fraction >= 1.0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "speech corpus: bad parameters (items %d, rate %d, validation %g, "
        "test %g)", p->n_items, p->sample_rate, p->validation_fraction,
        p->test_fraction);
    return FALSE;
  }
  ini_path = g_build_filename (p->out_dir, "corpus.ini", NULL);
  want = params_ini (p);
  if (!p->force && g_file_get_contents (ini_path, &have, NULL, NULL)
      && g_strcmp0 (want, have) == 0) {
    gchar *csv = g_build_filename (p->out_dir, "speech.csv", NULL);
    gboolean exists = g_file_test (csv, G_FILE_TEST_EXISTS);
    g_free (csv);
    if (exists) {
      if (cached)
        *cached = TRUE;
      ok = TRUE;
      goto out;
    }
  }
  if (g_mkdir_with_parents (p->out_dir, 0755) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "%s: cannot create directory: %s", p->out_dir, g_strerror (errno));
    goto out;
  }
  g_unlink (ini_path);

  total = p->n_items * AFFECT_SPEECH_N_CORPORA;
  {
    SpeechJobs jobs = { 0 };
    GThreadPool *pool;
    int j, reported = 0;

    jobs.p = p;
    g_mutex_init (&jobs.lock);
    g_cond_init (&jobs.cond);
    g_queue_init (&jobs.finished);
    jobs.rows = g_new0 (gchar *, total);
    jobs.paths = g_new0 (gchar *, total);
    pool = g_thread_pool_new (speech_job, &jobs,
        CLAMP ((int) g_get_num_processors (), 1, 4), TRUE, NULL);
    for (j = 0; j < total; j++)
      g_thread_pool_push (pool, GINT_TO_POINTER (j + 1), NULL);

    /* progress from this thread, as items finish */
    g_mutex_lock (&jobs.lock);
    while (reported < total) {
      while (g_queue_is_empty (&jobs.finished))
        g_cond_wait (&jobs.cond, &jobs.lock);
      while (!g_queue_is_empty (&jobs.finished)) {
        int job = GPOINTER_TO_INT (g_queue_pop_head (&jobs.finished)) - 1;
        reported++;
        if (progress && jobs.error == NULL && jobs.paths[job]) {
          g_mutex_unlock (&jobs.lock);
          progress (reported, total, jobs.paths[job], user_data);
          g_mutex_lock (&jobs.lock);
        }
      }
    }
    g_mutex_unlock (&jobs.lock);
    g_thread_pool_free (pool, FALSE, TRUE);

    /* manifests in item order, whatever order the workers finished in */
    all = g_string_new (SPEECH_CSV_HEADER);
    for (c = 0; c < AFFECT_SPEECH_N_CORPORA; c++)
      per[c] = g_string_new (SPEECH_CSV_HEADER);
    for (j = 0; j < total && jobs.error == NULL; j++) {
      g_string_append (all, jobs.rows[j]);
      g_string_append (per[j / p->n_items], jobs.rows[j]);
    }
    for (j = 0; j < total; j++) {
      g_free (jobs.rows[j]);
      g_free (jobs.paths[j]);
    }
    g_free (jobs.rows);
    g_free (jobs.paths);
    g_mutex_clear (&jobs.lock);
    g_cond_clear (&jobs.cond);
    if (jobs.error) {
      g_propagate_error (error, jobs.error);
      goto out;
    }
  }

  ok = TRUE;
  for (c = 0; c < AFFECT_SPEECH_N_CORPORA && ok; c++) {
    gchar *name = g_strdup_printf ("%s.csv", corpus_names[c]);
    gchar *path = g_build_filename (p->out_dir, name, NULL);
    ok = g_file_set_contents_full (path, per[c]->str, per[c]->len,
        G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
    g_free (path);
    g_free (name);
  }
  if (ok) {
    gchar *path = g_build_filename (p->out_dir, "speech.csv", NULL);
    ok = g_file_set_contents_full (path, all->str, all->len,
        G_FILE_SET_CONTENTS_CONSISTENT, 0644, error)
        && g_file_set_contents_full (ini_path, want, -1,
        G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
    g_free (path);
  }

out:
  if (all)
    g_string_free (all, TRUE);
  for (c = 0; c < AFFECT_SPEECH_N_CORPORA; c++)
    if (per[c])
      g_string_free (per[c], TRUE);
  g_free (ini_path);
  g_free (want);
  g_free (have);
  return ok;
}

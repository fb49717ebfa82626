/* Built-in speech corpus: utterances spoken by espeak-ng with prosody
 * controlled by valence / arousal / dominance targets (1–5), in a read and
 * a "spontaneous" (disfluent) style, in two corpora (English and German
 * voices) for cross-corpus experiments. docs/corpora.md describes the
 * mapping and the manifest.
 *
 * espeak-ng runs as a subprocess (its library keeps global state and is not
 * reentrant); its output is resampled to the corpus rate here.
 */
#ifndef AFFECT_SPEECH_CORPUS_H
#define AFFECT_SPEECH_CORPUS_H

#include <glib.h>
#include <stdint.h>

#include "affect/synth.h"

G_BEGIN_DECLS

#define AFFECT_SPEECH_N_CORPORA 2
#define AFFECT_SPEECH_N_SPEAKERS 6      /* per corpus */

/* "en" (English voices) and "de" (German voices) */
const char *affect_speech_corpus_name (int corpus);
/* the espeak-ng voice (language + variant) of a speaker */
const char *affect_speech_voice (int corpus, int speaker);

typedef struct
{
  int corpus;
  int speaker;
  double valence, arousal, dominance;   /* targets, 1..5 */
  gboolean spontaneous;
  char *text;                   /* the words spoken, fillers included */
  char *ssml;                   /* what espeak-ng is given */
  /* espeak-ng controls the targets were mapped to */
  int pitch;                    /* -p 0..99 */
  int rate_wpm;                 /* -s */
  int amplitude;                /* -a 0..200 */
  int range;                    /* SSML prosody range, percent */
} AffectSpeechUtterance;

/* Draws an utterance: targets, words and the prosody they map to. */
void affect_speech_utterance_draw (AffectSpeechUtterance * utt, int corpus,
    int speaker, gboolean spontaneous, uint64_t seed);
void affect_speech_utterance_clear (AffectSpeechUtterance * utt);

/* Runs espeak-ng (program NULL = "espeak-ng") on the utterance and returns
 * mono samples at sample_rate. */
float *affect_speech_synthesise (const AffectSpeechUtterance * utt,
    const char *program, int sample_rate, size_t * n, GError ** error);

/* Band-limited resampling (windowed sinc, polyphase table). */
float *affect_resample (const float *in, size_t n, int rate_in, int rate_out,
    size_t * n_out);

typedef struct
{
  const char *out_dir;
  uint64_t seed;
  int n_items;                  /* per corpus */
  int sample_rate;
  double spontaneous_fraction;
  double validation_fraction;
  double test_fraction;
  const char *program;          /* espeak-ng binary, NULL = from PATH */
  gboolean force;
} AffectSpeechCorpusParams;

void affect_speech_corpus_params_init (AffectSpeechCorpusParams * params);

/* Writes DIR/<corpus>/spkN/<id>.wav, DIR/speech.csv (both corpora),
 * DIR/<corpus>.csv (one each) and DIR/corpus.ini; skips the work (and sets
 * *cached) when DIR holds a corpus written with the same parameters. */
gboolean affect_speech_corpus_write (const AffectSpeechCorpusParams * params,
    AffectCorpusProgress progress, gpointer user_data, gboolean * cached,
    GError ** error);

G_END_DECLS
#endif /* AFFECT_SPEECH_CORPUS_H */

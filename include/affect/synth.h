/* Built-in music corpus: clips rendered in C with controlled character.
 *
 * Each clip is drawn from one arousal/valence quadrant and rendered by
 * additive synthesis. Valence is carried by mode and harmony (major keys and
 * consonant progressions vs minor keys, diminished chords and clusters),
 * arousal by tempo, note density, loudness, attack time and percussion.
 * Key, register, timbre recipe, melody and chord progression are random per
 * clip, so a classifier has to learn the class character, not a template.
 *
 * The same seed gives the same clip parameters and the same samples
 * (docs/corpora.md describes the corpus, its tags and its manifests).
 */
#ifndef AFFECT_SYNTH_H
#define AFFECT_SYNTH_H

#include <glib.h>
#include <stdint.h>

#include "affect/manifest.h"

G_BEGIN_DECLS

/* The quadrants as indices of affect_quadrant_names() (manifest.h), the
 * order of MTG-Jamendo's emotional_valence.txt; names and BIN values come
 * from there too (affect_quadrant_names (), affect_quadrant_bin ()). */
typedef enum
{
  AFFECT_QUADRANT_ACTIVATED_PLEASANT,   /* Q1: happy, positive, uplifting */
  AFFECT_QUADRANT_DEACTIVATED_PLEASANT, /* Q4: calm, relaxing */
  AFFECT_QUADRANT_ACTIVATED_UNPLEASANT, /* Q2: dark, dramatic */
  AFFECT_QUADRANT_DEACTIVATED_UNPLEASANT        /* Q3: sad, melancholic */
} AffectQuadrant;

gboolean affect_quadrant_is_active (AffectQuadrant q);
gboolean affect_quadrant_is_pleasant (AffectQuadrant q);

/* The mood/theme tags the corpus uses, as MTG-Jamendo names them without
 * the "mood/theme---" prefix. The first nine are the ones that map to a
 * quadrant (tag_to_quadrant); the others are derived from a clip's
 * controlled attributes. Sorted alphabetically, as MTG-Jamendo sorts them. */
#define AFFECT_MUSIC_TAG_PREFIX "mood/theme---"
typedef enum
{
  AFFECT_TAG_CALM,
  AFFECT_TAG_DARK,
  AFFECT_TAG_DRAMATIC,
  AFFECT_TAG_ENERGETIC,
  AFFECT_TAG_FAST,
  AFFECT_TAG_HAPPY,
  AFFECT_TAG_HEAVY,
  AFFECT_TAG_MEDITATIVE,
  AFFECT_TAG_MELANCHOLIC,
  AFFECT_TAG_MELODIC,
  AFFECT_TAG_POSITIVE,
  AFFECT_TAG_RELAXING,
  AFFECT_TAG_SAD,
  AFFECT_TAG_SLOW,
  AFFECT_TAG_SOFT,
  AFFECT_TAG_UPLIFTING,
  AFFECT_N_MUSIC_TAGS
} AffectMusicTag;

const char *affect_music_tag_name (AffectMusicTag tag); /* "happy" */
/* The quadrant a tag maps to (affect_quadrant_of_tag), or -1. */
int affect_music_tag_quadrant (AffectMusicTag tag);

#define AFFECT_MUSIC_N_TIMBRES 6

/* Everything that decides how a clip sounds; drawn by
 * affect_music_clip_draw(), may be edited before rendering. */
typedef struct
{
  AffectQuadrant quadrant;
  int tonic;                    /* pitch class of the key, 0 = C */
  gboolean minor;               /* minor (aeolian/harmonic) or major mode */
  double dissonance;            /* 0..1: probability of diminished/cluster chords */
  double tempo_bpm;
  double notes_per_beat;        /* melody density */
  double loudness_db;           /* target RMS in dBFS */
  double attack_s;              /* note attack time */
  double brightness;            /* spectral tilt of the partial recipes, 0..1 */
  gboolean percussion;
  double percussion_level;      /* relative to the harmony */
  int melody_timbre;            /* 0 .. AFFECT_MUSIC_N_TIMBRES-1 */
  int chord_timbre;
  int register_shift;           /* melody octave: -1, 0, +1 */
  double contour;               /* melody drift, degrees per phrase (+ rising) */
  double melody_level;          /* melody gain relative to chords */
  gboolean drone;               /* tonic pedal under the harmony */
  guint32 tags;                 /* bit set over AffectMusicTag */
} AffectMusicClip;

/* Draws a clip of quadrant q: its key, mode, tempo, … and its tags (the
 * quadrant's tags plus those its attributes imply). */
void affect_music_clip_draw (AffectMusicClip * clip, AffectQuadrant q,
    uint64_t seed);

/* Renders clips at one sample rate. Plan once, render many clips. */
typedef struct _AffectMusicSynth AffectMusicSynth;

AffectMusicSynth *affect_music_synth_new (int sample_rate);
/* Fills out[0..n) with the clip; the melody and progression are drawn from
 * seed. Always finite, peak ≤ 0.99. */
void affect_music_synth_render (AffectMusicSynth * synth,
    const AffectMusicClip * clip, uint64_t seed, float *out, size_t n);
void affect_music_synth_free (AffectMusicSynth * synth);

/* 16-bit PCM mono WAV, written atomically (temp file + rename). Samples
 * are clipped to [-1, 1] and rounded. */
gboolean affect_wav_write_s16 (const char *path, const float *samples,
    size_t n, int sample_rate, GError ** error);
/* Reads a PCM16 (any channel count: mixed to mono) or float32 WAV held in
 * memory. Tolerates the unknown data length streamed WAVs carry. Returns
 * a newly allocated array. */
float *affect_wav_parse (const guint8 * data, size_t size, int *sample_rate,
    size_t * n, GError ** error);
float *affect_wav_read (const char *path, int *sample_rate, size_t * n,
    GError ** error);

/* Seeds derived from a corpus seed and an item index, so that each item
 * is reproducible on its own (shards, reruns). */
uint64_t affect_seed_derive (uint64_t seed, uint64_t index);

/* The music corpus on disk (docs/corpora.md):
 *   DIR/audio/NN/ID.wav, DIR/autotagging_moodtheme[-SPLIT].tsv,
 *   DIR/match_SPLIT_labels.csv, DIR/tag_to_quadrant.tsv, DIR/corpus.ini */
typedef struct
{
  const char *out_dir;
  uint64_t seed;
  int n_items;                  /* spread evenly over the four quadrants */
  double seconds;               /* clip duration */
  int sample_rate;              /* 12000 or 16000 (any rate ≥ 8000 works) */
  double validation_fraction;
  double test_fraction;
  gboolean force;               /* regenerate even if cached */
} AffectMusicCorpusParams;

void affect_music_corpus_params_init (AffectMusicCorpusParams * params);

/* Progress: called after each item with what was done so far. */
typedef void (*AffectCorpusProgress) (int done, int total, const char *path,
    gpointer user_data);

/* Writes the corpus; returns TRUE and sets *cached when DIR already holds
 * a complete corpus written with the same parameters. */
gboolean affect_music_corpus_write (const AffectMusicCorpusParams * params,
    AffectCorpusProgress progress, gpointer user_data, gboolean * cached,
    GError ** error);

G_END_DECLS
#endif /* AFFECT_SYNTH_H */

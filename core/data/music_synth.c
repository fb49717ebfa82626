/* Built-in music corpus: clip parameters per quadrant and an additive
 * renderer (see include/affect/synth.h and docs/corpora.md). */
#include <math.h>
#include <string.h>

#include "affect/nn.h"
#include "affect/synth.h"

/* ---------------------------------------------------------------- names */

static const char *tag_names[AFFECT_N_MUSIC_TAGS] = {
  "calm", "dark", "dramatic", "energetic", "fast", "happy", "heavy",
  "meditative", "melancholic", "melodic", "positive", "relaxing", "sad",
  "slow", "soft", "uplifting"
};

gboolean
affect_quadrant_is_active (AffectQuadrant q)
{
  return q == AFFECT_QUADRANT_ACTIVATED_PLEASANT ||
      q == AFFECT_QUADRANT_ACTIVATED_UNPLEASANT;
}

gboolean
affect_quadrant_is_pleasant (AffectQuadrant q)
{
  return q == AFFECT_QUADRANT_ACTIVATED_PLEASANT ||
      q == AFFECT_QUADRANT_DEACTIVATED_PLEASANT;
}

const char *
affect_music_tag_name (AffectMusicTag tag)
{
  return tag < AFFECT_N_MUSIC_TAGS ? tag_names[tag] : NULL;
}

int
affect_music_tag_quadrant (AffectMusicTag tag)
{
  /* one table for the whole project: the manifests' tag_to_quadrant */
  return tag < AFFECT_N_MUSIC_TAGS ? affect_quadrant_of_tag (tag_names[tag]) :
      -1;
}

uint64_t
affect_seed_derive (uint64_t seed, uint64_t index)
{
  /* splitmix64 finaliser over (seed, index): neighbouring indices give
   * unrelated streams */
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* ------------------------------------------------------- clip parameters */

static double
uniform (AffectRng * rng, double lo, double hi)
{
  return lo + (hi - lo) * affect_rng_uniform (rng);
}

static int
pick (AffectRng * rng, int n)
{
  return (int) (affect_rng_uniform (rng) * n);
}

static const int quadrant_tags[AFFECT_N_QUADRANTS][3] = {
  {AFFECT_TAG_HAPPY, AFFECT_TAG_POSITIVE, AFFECT_TAG_UPLIFTING},
  {AFFECT_TAG_CALM, AFFECT_TAG_RELAXING, -1},
  {AFFECT_TAG_DARK, AFFECT_TAG_DRAMATIC, -1},
  {AFFECT_TAG_SAD, AFFECT_TAG_MELANCHOLIC, -1},
};

static int
n_quadrant_tags (AffectQuadrant q)
{
  return q == AFFECT_QUADRANT_ACTIVATED_PLEASANT ? 3 : 2;
}

void
affect_music_clip_draw (AffectMusicClip * clip, AffectQuadrant q, uint64_t seed)
{
  static const double densities_active[] = { 2, 2, 3, 4 };
  static const double densities_calm[] = { 0.5, 1, 1, 2 };
  AffectRng rng;
  gboolean active = affect_quadrant_is_active (q);
  gboolean pleasant = affect_quadrant_is_pleasant (q);
  int primary, second;
  int nq = n_quadrant_tags (q);

  affect_rng_init (&rng, seed);
  memset (clip, 0, sizeof (*clip));
  clip->quadrant = q;
  clip->tonic = pick (&rng, 12);

  /* arousal: tempo, density, loudness, attack, brightness, percussion */
  if (active) {
    clip->tempo_bpm = uniform (&rng, 112, 170);
    clip->notes_per_beat = densities_active[pick (&rng, 4)];
    clip->loudness_db = uniform (&rng, -15, -8);
    clip->attack_s = uniform (&rng, 0.004, 0.02);
    clip->brightness = uniform (&rng, 0.55, 1.0);
    clip->percussion = affect_rng_uniform (&rng) < 0.85;
    clip->percussion_level = uniform (&rng, 0.5, 1.0);
    clip->drone = affect_rng_uniform (&rng) < 0.05;
  } else {
    clip->tempo_bpm = uniform (&rng, 55, 92);
    clip->notes_per_beat = densities_calm[pick (&rng, 4)];
    clip->loudness_db = uniform (&rng, -31, -20);
    clip->attack_s = uniform (&rng, 0.08, 0.4);
    clip->brightness = uniform (&rng, 0.0, 0.5);
    clip->percussion = affect_rng_uniform (&rng) < 0.15;
    clip->percussion_level = uniform (&rng, 0.1, 0.25);
    clip->drone = affect_rng_uniform (&rng) < 0.35;
  }

  /* valence: mode and harmony, register, melodic contour */
  if (pleasant) {
    clip->minor = FALSE;
    clip->dissonance = uniform (&rng, 0.0, 0.05);
    clip->register_shift = pick (&rng, 3) == 2 ? 1 : 0;
    clip->contour = uniform (&rng, -0.5, 2.0);
  } else {
    clip->minor = TRUE;
    clip->dissonance = uniform (&rng, 0.15, 0.5);
    clip->register_shift = pick (&rng, 3) == 0 ? -1 : 0;
    clip->contour = uniform (&rng, -2.0, 0.5);
  }
  clip->melody_timbre = pick (&rng, AFFECT_MUSIC_N_TIMBRES);
  clip->chord_timbre = pick (&rng, AFFECT_MUSIC_N_TIMBRES);
  clip->melody_level = uniform (&rng, 0.5, 1.3);

  /* the quadrant's tag(s); the primary one leans its attributes */
  primary = quadrant_tags[q][pick (&rng, nq)];
  clip->tags = 1u << primary;
  if (affect_rng_uniform (&rng) < 0.3) {
    second = quadrant_tags[q][pick (&rng, nq)];
    clip->tags |= 1u << second;
  }
  switch (primary) {
    case AFFECT_TAG_HAPPY:
      clip->brightness = MAX (clip->brightness, 0.8);
      break;
    case AFFECT_TAG_UPLIFTING:
      clip->contour = uniform (&rng, 1.5, 3.0);
      break;
    case AFFECT_TAG_CALM:
      clip->percussion = FALSE;
      break;
    case AFFECT_TAG_RELAXING:
      clip->tempo_bpm = MIN (clip->tempo_bpm, 75);
      break;
    case AFFECT_TAG_DARK:
      clip->register_shift = -1;
      break;
    case AFFECT_TAG_DRAMATIC:
      clip->percussion = TRUE;
      clip->dissonance = MAX (clip->dissonance, 0.35);
      break;
    case AFFECT_TAG_SAD:
      clip->contour = uniform (&rng, -3.0, -1.5);
      break;
    default:
      break;
  }

  /* tags that the attributes imply */
  if (clip->tempo_bpm >= 135 && clip->loudness_db >= -12 && clip->percussion)
    clip->tags |= 1u << AFFECT_TAG_ENERGETIC;
  if (clip->tempo_bpm * clip->notes_per_beat / 60.0 >= 6.0)
    clip->tags |= 1u << AFFECT_TAG_FAST;
  if (clip->tempo_bpm <= 70)
    clip->tags |= 1u << AFFECT_TAG_SLOW;
  if (clip->loudness_db <= -24 && !clip->percussion)
    clip->tags |= 1u << AFFECT_TAG_SOFT;
  if (clip->percussion && clip->register_shift < 0 && clip->loudness_db >= -14)
    clip->tags |= 1u << AFFECT_TAG_HEAVY;
  if (clip->drone && clip->tempo_bpm <= 80)
    clip->tags |= 1u << AFFECT_TAG_MEDITATIVE;
  if (clip->melody_level >= 1.05 && clip->notes_per_beat <= 2)
    clip->tags |= 1u << AFFECT_TAG_MELODIC;
}

/* ------------------------------------------------------------ rendering */

/* Additive partial recipes: frequency ratio, amplitude, extra decay rate
 * (1/s, grows the higher the partial so plucked/bell tones darken). */
typedef struct
{
  int n;
  double ratio[12], amp[12], decay[12];
  double body_decay;            /* 0 = sustained; else 1/s for the whole note */
} Timbre;

struct _AffectMusicSynth
{
  int sample_rate;
  Timbre timbres[AFFECT_MUSIC_N_TIMBRES];
};

static void
timbres_init (Timbre * t)
{
  int k;

  /* organ */
  {
    static const double r[] = { 1, 2, 3, 4, 6, 8 };
    static const double a[] = { 1, 0.7, 0.5, 0.3, 0.2, 0.15 };
    t[0].n = 6;
    for (k = 0; k < 6; k++) {
      t[0].ratio[k] = r[k];
      t[0].amp[k] = a[k];
    }
  }
  /* bowed (saw-like, 1/k) */
  t[1].n = 12;
  for (k = 0; k < 12; k++) {
    t[1].ratio[k] = k + 1;
    t[1].amp[k] = 1.0 / (k + 1);
  }
  /* reed (odd harmonics) */
  t[2].n = 6;
  for (k = 0; k < 6; k++) {
    t[2].ratio[k] = 2 * k + 1;
    t[2].amp[k] = 1.0 / (2 * k + 1);
  }
  /* flute (nearly sinusoidal) */
  t[3].n = 4;
  t[3].ratio[0] = 1;
  t[3].amp[0] = 1;
  t[3].ratio[1] = 2;
  t[3].amp[1] = 0.25;
  t[3].ratio[2] = 3;
  t[3].amp[2] = 0.1;
  t[3].ratio[3] = 4;
  t[3].amp[3] = 0.05;
  /* plucked string: 1/k, higher partials die first */
  t[4].n = 10;
  for (k = 0; k < 10; k++) {
    t[4].ratio[k] = k + 1;
    t[4].amp[k] = 1.0 / (k + 1);
    t[4].decay[k] = 1.5 * k;
  }
  t[4].body_decay = 2.0;
  /* bell-like electric piano: slightly inharmonic upper partials */
  {
    static const double r[] = { 1, 2, 3, 4.2, 5.4, 6.8 };
    static const double a[] = { 1, 0.5, 0.25, 0.18, 0.1, 0.06 };
    t[5].n = 6;
    for (k = 0; k < 6; k++) {
      t[5].ratio[k] = r[k];
      t[5].amp[k] = a[k];
      t[5].decay[k] = 1.0 + 1.2 * k;
    }
    t[5].body_decay = 1.2;
  }
}

AffectMusicSynth *
affect_music_synth_new (int sample_rate)
{
  AffectMusicSynth *synth;

  g_return_val_if_fail (sample_rate >= 8000, NULL);
  synth = g_new0 (AffectMusicSynth, 1);
  synth->sample_rate = sample_rate;
  timbres_init (synth->timbres);
  return synth;
}

void
affect_music_synth_free (AffectMusicSynth * synth)
{
  g_free (synth);
}

typedef struct
{
  double *buf;
  size_t n;
  int sr;
} Mix;

static double
midi_hz (double midi)
{
  return 440.0 * pow (2.0, (midi - 69.0) / 12.0);
}

/* One note: every partial is a rotating phasor (a complex multiply per
 * sample instead of a sin()), renormalised every block against drift. */
static void
render_note (Mix * mix, const Timbre * tm, double brightness, double t0,
    double dur, double midi, double gain, double attack, double release)
{
  double f0 = midi_hz (midi);
  size_t start = (size_t) (t0 * mix->sr), len, i;
  size_t n_on = (size_t) (dur * mix->sr), n_att, n_rel;
  double tilt = (1.0 - brightness) * 1.5;
  int k;

  if (start >= mix->n)
    return;
  n_att = MAX ((size_t) 1, (size_t) (attack * mix->sr));
  n_rel = MAX ((size_t) 1, (size_t) (release * mix->sr));
  n_att = MIN (n_att, MAX (n_on, (size_t) 1));
  len = MIN (n_on + n_rel, mix->n - start);

  for (k = 0; k < tm->n; k++) {
    double f = f0 * tm->ratio[k];
    double a = gain * tm->amp[k] * pow (tm->ratio[k], -tilt);
    double w = 2.0 * M_PI * f / mix->sr;
    double cr = cos (w), ci = sin (w), zr = 0.0, zi = 1.0;
    double decay = tm->body_decay + tm->decay[k];
    double g_dec = exp (-decay / mix->sr), env_dec = 1.0;

    if (f >= 0.45 * mix->sr)
      break;
    /* a random-free but partial-dependent start phase keeps the sum of
     * partials from lining up into a click at the onset */
    zr = sin (1.7 * k);
    zi = cos (1.7 * k);
    for (i = 0; i < len; i++) {
      double env, nr;

      if (i < n_att)
        env = (double) i / n_att;
      else
        env = 1.0;
      if (i >= n_on)
        env *= 1.0 - (double) (i - n_on) / n_rel;
      mix->buf[start + i] += a * env * env_dec * zi;
      env_dec *= g_dec;
      nr = zr * cr - zi * ci;
      zi = zr * ci + zi * cr;
      zr = nr;
      if ((i & 1023) == 1023) {
        double norm = 1.0 / sqrt (zr * zr + zi * zi);
        zr *= norm;
        zi *= norm;
      }
    }
  }
}

static double
noise (AffectRng * rng)
{
  return 2.0 * affect_rng_uniform (rng) - 1.0;
}

static void
render_kick (Mix * mix, double t0, double gain)
{
  size_t start = (size_t) (t0 * mix->sr), i, len = (size_t) (0.3 * mix->sr);
  double phase = 0.0;

  for (i = 0; i < len && start + i < mix->n; i++) {
    double t = (double) i / mix->sr;
    double f = 45.0 + 75.0 * exp (-t / 0.03);

    phase += 2.0 * M_PI * f / mix->sr;
    mix->buf[start + i] += gain * exp (-t / 0.11) * sin (phase);
  }
}

static void
render_snare (Mix * mix, AffectRng * rng, double t0, double gain)
{
  size_t start = (size_t) (t0 * mix->sr), i, len = (size_t) (0.25 * mix->sr);
  double prev = 0.0;

  for (i = 0; i < len && start + i < mix->n; i++) {
    double t = (double) i / mix->sr;
    double x = noise (rng), hp = x - 0.6 * prev;

    prev = x;
    mix->buf[start + i] += gain * (0.5 * exp (-t / 0.07) * hp +
        0.4 * exp (-t / 0.05) * sin (2.0 * M_PI * 185.0 * t));
  }
}

static void
render_hat (Mix * mix, AffectRng * rng, double t0, double gain)
{
  size_t start = (size_t) (t0 * mix->sr), i, len = (size_t) (0.06 * mix->sr);
  double prev = 0.0;

  for (i = 0; i < len && start + i < mix->n; i++) {
    double t = (double) i / mix->sr;
    double x = noise (rng);

    /* first difference: a crude high-pass that leaves the hiss */
    mix->buf[start + i] += gain * exp (-t / 0.018) * (x - prev) * 0.5;
    prev = x;
  }
}

static const int major_scale[7] = { 0, 2, 4, 5, 7, 9, 11 };
static const int minor_scale[7] = { 0, 2, 3, 5, 7, 8, 10 };

/* semitones above the tonic of scale degree d (any integer) */
static int
degree_semitones (const int *scale, int d)
{
  int oct = (d >= 0) ? d / 7 : -((-d + 6) / 7);
  return scale[d - 7 * oct] + 12 * oct;
}

/* Chord progressions as scale degrees (0 = I / i); valence picks the
 * pool, each clip substitutes chords at random so none is a template. */
static const int major_progressions[][4] = {
  {0, 4, 5, 3}, {0, 3, 4, 0}, {0, 5, 3, 4}, {0, 3, 0, 4},
  {3, 0, 4, 5}, {0, 1, 4, 0}, {0, 4, 3, 4}, {5, 3, 0, 4},
};

static const int minor_progressions[][4] = {
  {0, 5, 2, 6}, {0, 3, 4, 0}, {0, 3, 6, 2}, {0, 5, 3, 4},
  {0, 6, 5, 4}, {0, 1, 0, 4}, {0, 3, 0, 4}, {5, 3, 0, 4},
};

typedef struct
{
  int n;
  int pitch[5];                 /* semitones above the tonic */
  int root;
} Chord;

static void
build_chord (const AffectMusicClip * clip, AffectRng * rng, int degree,
    Chord * c)
{
  const int *scale = clip->minor ? minor_scale : major_scale;
  int i;

  c->n = 3;
  for (i = 0; i < 3; i++)
    c->pitch[i] = degree_semitones (scale, degree + 2 * i);
  c->root = c->pitch[0];
  /* harmonic minor: the dominant gets its leading tone (a major V) */
  if (clip->minor && degree == 4 && affect_rng_uniform (rng) < 0.6)
    c->pitch[1] += 1;
  if (affect_rng_uniform (rng) < clip->dissonance) {
    if (affect_rng_uniform (rng) < 0.5)
      c->pitch[2] = c->pitch[0] + 6;    /* diminished fifth */
    else
      c->pitch[c->n++] = c->pitch[0] + 1;       /* minor-second cluster */
  } else if (!clip->minor && affect_rng_uniform (rng) < 0.3) {
    c->pitch[c->n++] = c->pitch[0] + 9; /* added sixth: consonant colour */
  }
}

void
affect_music_synth_render (AffectMusicSynth * synth,
    const AffectMusicClip * clip, uint64_t seed, float *out, size_t n)
{
  AffectRng rng;
  Mix mix;
  const int *scale = clip->minor ? minor_scale : major_scale;
  const Timbre *mel_t = &synth->timbres[clip->melody_timbre %
      AFFECT_MUSIC_N_TIMBRES];
  const Timbre *chord_t = &synth->timbres[clip->chord_timbre %
      AFFECT_MUSIC_N_TIMBRES];
  const Timbre *bass_t = &synth->timbres[1];
  gboolean active = affect_quadrant_is_active (clip->quadrant);
  double seconds, beat, bar, sum2 = 0.0, peak = 0.0, gain;
  const int (*pool)[4];
  int prog[4], n_bars, b, i, degree = 0;
  double tonic_midi_chord = 48 + clip->tonic;
  double tonic_midi_melody = 60 + clip->tonic + 12 * clip->register_shift;
  double release = active ? 0.05 : 0.4;
  size_t j;

  g_return_if_fail (out != NULL || n == 0);
  if (n == 0)
    return;
  affect_rng_init (&rng, seed);
  mix.buf = g_new0 (double, n);
  mix.n = n;
  mix.sr = synth->sample_rate;
  seconds = (double) n / mix.sr;
  beat = 60.0 / MAX (clip->tempo_bpm, 20.0);
  bar = 4 * beat;
  n_bars = (int) ceil (seconds / bar);

  pool = clip->minor ? minor_progressions : major_progressions;
  memcpy (prog, pool[pick (&rng, 8)], sizeof (prog));
  for (i = 1; i < 4; i++)
    if (affect_rng_uniform (&rng) < 0.25)
      prog[i] = pick (&rng, 7);

  for (b = 0; b < n_bars; b++) {
    double t_bar = b * bar, t;
    Chord chord;
    int inversion = pick (&rng, 3);

    build_chord (clip, &rng, prog[b % 4], &chord);
    /* voicing: an inversion lifts the lowest notes by an octave */
    for (i = 0; i < inversion && i < chord.n; i++)
      chord.pitch[i] += 12;

    /* harmony: pulsed on every beat when aroused, a held pad when calm */
    if (active) {
      int beat_i;
      for (beat_i = 0; beat_i < 4; beat_i++)
        for (i = 0; i < chord.n; i++)
          render_note (&mix, chord_t, clip->brightness, t_bar + beat_i * beat,
              0.6 * beat, tonic_midi_chord + chord.pitch[i], 0.22,
              clip->attack_s, release);
    } else {
      for (i = 0; i < chord.n; i++)
        render_note (&mix, chord_t, clip->brightness, t_bar, bar,
            tonic_midi_chord + chord.pitch[i], 0.22, clip->attack_s, release);
    }

    /* bass: root on eighths when aroused, once a bar when calm */
    if (active) {
      for (t = 0; t < bar - 1e-9; t += beat / 2)
        render_note (&mix, bass_t, clip->brightness, t_bar + t, 0.4 * beat,
            tonic_midi_chord - 12 + chord.root + ((int) (t / beat * 2) % 2 ?
                12 : 0), 0.3, 0.005, 0.04);
    } else {
      render_note (&mix, bass_t, clip->brightness, t_bar, bar,
          tonic_midi_chord - 12 + chord.root, 0.25, clip->attack_s, release);
    }
    if (clip->drone)
      render_note (&mix, &synth->timbres[0], 0.2, t_bar, bar,
          tonic_midi_chord - 12, 0.15, 0.3, 0.3);

    /* melody: a random walk over scale degrees, chord tones on the
     * downbeat, drifting by the contour over each two-bar phrase */
    {
      double step = beat / clip->notes_per_beat;
      int n_steps = (int) floor (bar / step + 0.5), s;
      double drift = clip->contour / MAX (n_steps * 2, 1);
      double acc = 0.0;

      if (b % 2 == 0)
        degree = pick (&rng, 5);
      for (s = 0; s < n_steps; s++) {
        double legato = active ? uniform (&rng, 0.55, 0.85) :
            uniform (&rng, 0.9, 1.1);
        static const int steps[] = { -2, -1, -1, 0, 1, 1, 2 };

        if (s == 0) {
          /* snap to the nearest chord tone */
          int best = chord.root, bd = 99, semis, c;
          semis = degree_semitones (scale, degree);
          for (c = 0; c < 3; c++) {
            int ct = chord.pitch[c] % 12, d = abs (((semis % 12) + 12) % 12
                - ct);
            if (d < bd) {
              bd = d;
              best = ct;
            }
          }
          for (c = 0; c < 7; c++)
            if (degree_semitones (scale, c) % 12 == best)
              degree = c + 7 * (int) floor (degree / 7.0);
        } else if (affect_rng_uniform (&rng) < 0.1) {
          degree += (affect_rng_uniform (&rng) < 0.5 ? -1 : 1) *
              (3 + pick (&rng, 2));
        } else {
          degree += steps[pick (&rng, 7)];
        }
        acc += drift;
        if (fabs (acc) >= 1.0) {
          degree += acc > 0 ? 1 : -1;
          acc -= acc > 0 ? 1.0 : -1.0;
        }
        degree = CLAMP (degree, -4, 11);
        if (affect_rng_uniform (&rng) < (active ? 0.15 : 0.25))
          continue;             /* a rest */
        render_note (&mix, mel_t, clip->brightness, t_bar + s * step,
            legato * step, tonic_midi_melody + degree_semitones (scale,
                degree), 0.3 * clip->melody_level, clip->attack_s * 0.5,
            release);
      }
    }

    /* percussion: kick on 1 and 3, snare on 2 and 4, hats on eighths or
     * sixteenths; calm clips only get soft hats on the backbeat */
    if (clip->percussion) {
      double pl = clip->percussion_level;
      if (active) {
        double hat_step = clip->notes_per_beat >= 3 ? beat / 4 : beat / 2;
        render_kick (&mix, t_bar, 0.9 * pl);
        render_kick (&mix, t_bar + 2 * beat, 0.9 * pl);
        if (affect_rng_uniform (&rng) < 0.5)
          render_kick (&mix, t_bar + 2.5 * beat, 0.6 * pl);
        render_snare (&mix, &rng, t_bar + beat, 0.7 * pl);
        render_snare (&mix, &rng, t_bar + 3 * beat, 0.7 * pl);
        for (t = 0; t < bar - 1e-9; t += hat_step)
          render_hat (&mix, &rng, t_bar + t, 0.35 * pl);
      } else {
        render_hat (&mix, &rng, t_bar + beat, 0.3 * pl);
        render_hat (&mix, &rng, t_bar + 3 * beat, 0.3 * pl);
      }
    }
  }

  /* fade the last 50 ms so a clip never ends on a click, then set the
   * loudness and keep the peak below full scale */
  for (j = 0; j < n && j < (size_t) (0.05 * mix.sr); j++)
    mix.buf[n - 1 - j] *= (double) j / (0.05 * mix.sr);
  for (j = 0; j < n; j++) {
    sum2 += mix.buf[j] * mix.buf[j];
    peak = MAX (peak, fabs (mix.buf[j]));
  }
  gain = sum2 > 0.0 ? pow (10.0, clip->loudness_db / 20.0) /
      sqrt (sum2 / n) : 0.0;
  if (peak * gain > 0.99)
    gain = 0.99 / peak;
  for (j = 0; j < n; j++)
    out[j] = (float) (mix.buf[j] * gain);
  g_free (mix.buf);
}

/* Mel spectrogram: short-time Fourier transform, Mel filterbank, log.
 *
 * FFTW's shape: a plan holds everything that is costly to make (the FFTW
 * plans, the window, the filterbank) and is created once per configuration;
 * executing it is cheap and may run on many threads at once (each call or
 * stream owns its scratch memory). Plan creation and destruction are
 * serialised internally, because FFTW's planner is not thread-safe.
 *
 *   AffectMelParams p;
 *   affect_mel_params_init (&p, AFFECT_MEL_PRESET_MTG_JAMENDO);
 *   plan = affect_mel_plan_new (&p);
 *   n = affect_mel_execute (plan, signal, n_samples, out);  // whole signal
 *   affect_mel_plan_free (plan);
 *
 * For streams, AffectMelStream frames input that arrives in pieces; its
 * output does not depend on how the input was cut.
 *
 * Frame t is centred on sample t·hop when center is TRUE (the signal is
 * padded by n_fft/2 at both ends) and starts at sample t·hop otherwise.
 * Output is frame-major: n_mels values per frame, contiguous.
 * docs/mel-presets.md states every formula and every preset.
 */
#ifndef AFFECT_MEL_H
#define AFFECT_MEL_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  AFFECT_MEL_WINDOW_HANN,       /* periodic: 0.5 - 0.5 cos (2πn/N) */
  AFFECT_MEL_WINDOW_HANN_SYMMETRIC,     /* 0.5 - 0.5 cos (2πn/(N-1)) */
  AFFECT_MEL_WINDOW_HAMMING,    /* periodic: 0.54 - 0.46 cos (2πn/N) */
  AFFECT_MEL_WINDOW_HAMMING_SYMMETRIC   /* 0.54 - 0.46 cos (2πn/(N-1)) */
} AffectMelWindow;

typedef enum
{
  AFFECT_MEL_PAD_ZEROS,
  AFFECT_MEL_PAD_REFLECT,       /* numpy "reflect": x[1], x[2], … mirrored */
  AFFECT_MEL_PAD_CONSTANT       /* pad_value */
} AffectMelPad;

typedef enum
{
  AFFECT_MEL_SCALE_HTK,         /* 2595 log10 (1 + f/700) */
  AFFECT_MEL_SCALE_SLANEY       /* linear below 1 kHz, logarithmic above */
} AffectMelScale;

typedef enum
{
  AFFECT_MEL_NORM_NONE,         /* triangles of peak 1 */
  AFFECT_MEL_NORM_SLANEY        /* triangles of unit area (Essentia unit_tri) */
} AffectMelNorm;

typedef enum
{
  AFFECT_MEL_LOG_NONE,
  AFFECT_MEL_LOG_DB,            /* 10 log10 (max (amin, x)), optional top-db */
  AFFECT_MEL_LOG_LOG10_1P,      /* log10 (1 + log_c · x) */
  AFFECT_MEL_LOG_LN             /* ln (x + log_eps) */
} AffectMelLog;

/* Where centred framing stops (center = TRUE only) */
typedef enum
{
  AFFECT_MEL_FRAMING_LIBROSA,   /* 1 + floor (N / hop) frames: the last one is
                                 * centred on or before the last sample */
  AFFECT_MEL_FRAMING_ESSENTIA   /* frames until one is centred at or past the
                                 * end (Essentia's FrameCutter with
                                 * startFromZero=false): 1 + ceil (N / hop) */
} AffectMelFraming;

typedef enum
{
  AFFECT_MEL_PRESET_NONE,       /* leave parameters as they are */
  AFFECT_MEL_PRESET_LIBROSA,    /* librosa.feature.melspectrogram defaults */
  AFFECT_MEL_PRESET_MTG_JAMENDO,        /* the seed classifier's input */
  AFFECT_MEL_PRESET_MUSICNN     /* Essentia's musicnn input */
} AffectMelPreset;

typedef struct
{
  int sample_rate;              /* Hz; presets set their rate (librosa: 22050) */
  int n_fft;                    /* FFT size, >= 2 */
  int hop;                      /* samples between frames, >= 1 */
  int win_length;               /* <= n_fft; 0 = n_fft; centred in the FFT frame */
  AffectMelWindow window;
  gboolean center;              /* frame t centred on sample t·hop */
  AffectMelPad pad_mode;        /* how the n_fft/2 samples at each end are made */
  AffectMelFraming framing;     /* where the last frame lies (center only) */
  double pad_value;             /* AFFECT_MEL_PAD_CONSTANT */
  int n_mels;
  double fmin;                  /* Hz */
  double fmax;                  /* Hz; <= 0 means sample_rate / 2 */
  AffectMelScale mel_scale;
  AffectMelNorm norm;
  int power;                    /* 1: |X|, 2: |X|² */
  AffectMelLog log;
  double amin;                  /* dB floor, in power units (1e-10 = -100 dB) */
  double top_db;                /* dB below the frame's maximum; <= 0: off */
  double log_c;                 /* C of log10 (1 + C·x) */
  double log_eps;               /* eps of ln (x + eps) */
  double scale;                 /* multiplier applied last */
} AffectMelParams;

typedef struct _AffectMelPlan AffectMelPlan;
typedef struct _AffectMelStream AffectMelStream;

/* Fills every field: the preset's values, or librosa's defaults for
 * AFFECT_MEL_PRESET_NONE. */
void affect_mel_params_init (AffectMelParams * params, AffectMelPreset preset);
/* FALSE (with the reason) if the parameters cannot make a plan */
gboolean affect_mel_params_validate (const AffectMelParams * params,
    GError ** error);
const char *affect_mel_preset_to_string (AffectMelPreset preset);

/* NULL if affect_mel_params_validate() fails */
AffectMelPlan *affect_mel_plan_new (const AffectMelParams * params);
void affect_mel_plan_free (AffectMelPlan * plan);
const AffectMelParams *affect_mel_plan_get_params (const AffectMelPlan * plan);
/* Mel bands whose triangle covers no FFT bin (always 0 output): too many
 * bands for n_fft */
int affect_mel_plan_n_empty_bands (const AffectMelPlan * plan);
/* Samples of input beyond frame t's time that frame t needs (the look-ahead) */
int affect_mel_plan_lookahead (const AffectMelPlan * plan);
/* The filterbank as a dense n_mels × (n_fft/2 + 1) row-major matrix */
void affect_mel_plan_get_filterbank (const AffectMelPlan * plan, float *out);

/* Frames a whole signal of n_samples gives */
gsize affect_mel_n_frames (const AffectMelPlan * plan, gsize n_samples);
/* Whole signal → affect_mel_n_frames() × n_mels values in out; returns the
 * frame count. Non-finite samples count as 0. Thread-safe. */
gsize affect_mel_execute (const AffectMelPlan * plan, const float *signal,
    gsize n_samples, float *out);

/* Streaming: push samples as they come, pull the frames they complete,
 * finish at the end of the signal (pads the end like execute does), reset
 * to start a new signal. The plan must outlive the stream. */
AffectMelStream *affect_mel_stream_new (const AffectMelPlan * plan);
void affect_mel_stream_free (AffectMelStream * stream);
/* Samples beyond ±AFFECT_MEL_CLAMP are clamped to it: audio is near ±1,
 * and a finite but huge sample (1e30) would overflow the power spectrum
 * to Inf (as in affectis09, AFFECT_IS09_CLAMP). */
#define AFFECT_MEL_CLAMP 1.0e4f

/* Returns how many samples were not finite (they are replaced by 0); those
 * and the clamped ones are also counted until the next reset. */
gsize affect_mel_stream_push (AffectMelStream * stream, const float *samples,
    gsize n_samples);
/* NaN/Inf samples replaced by 0, and samples clamped to ±AFFECT_MEL_CLAMP,
 * since the last reset */
guint64 affect_mel_stream_n_invalid (const AffectMelStream * stream);
guint64 affect_mel_stream_n_clamped (const AffectMelStream * stream);
void affect_mel_stream_finish (AffectMelStream * stream);
void affect_mel_stream_reset (AffectMelStream * stream);
/* Frames ready to pull now */
gsize affect_mel_stream_available (const AffectMelStream * stream);
/* Computes up to max_frames ready frames into out; returns how many */
gsize affect_mel_stream_pull (AffectMelStream * stream, float *out,
    gsize max_frames);
/* Index (since the last reset) of the next frame pull returns */
guint64 affect_mel_stream_next_frame (const AffectMelStream * stream);
/* Samples pushed since the last reset */
guint64 affect_mel_stream_n_samples (const AffectMelStream * stream);

G_END_DECLS
#endif /* AFFECT_MEL_H */

/* INTERSPEECH-2009 Emotion Challenge features (openSMILE IS09_emotion.conf)
 *
 * 16 low-level descriptors (LLDs) per 10 ms frame -- RMS energy, MFCC 1-12,
 * zero-crossing rate, voicing probability, F0 -- smoothed with a 3-frame
 * moving average (`_sma`), plus their delta regression (`_sma_de`): 32
 * contours. Twelve functionals of each contour give the 384-vector.
 * docs/is09.md states every step and every reproduced quirk of the
 * reference (the N-2 frames the functionals see, preskip 31, ...).
 *
 * FFTW-shaped API:
 *   AffectIs09Plan      constant tables + FFTW plans for one sample rate
 *                       (costly, once; plan creation is serialised).
 *   AffectIs09Contours  one item's (or window's) state: F0 post-processing,
 *                       smoother, delta, streaming functionals. Constant
 *                       memory whatever the item length.
 *   AffectIs09          a streaming extractor: samples in, 384-vector out.
 *
 * A plan owns scratch buffers: use one plan per thread.
 */
#ifndef AFFECT_IS09_H
#define AFFECT_IS09_H

#include <stdio.h>
#include <glib.h>

G_BEGIN_DECLS

#define AFFECT_IS09_N_FEATURES 384
#define AFFECT_IS09_N_CONTOURS 32       /* 16 _sma + 16 _sma_de */
#define AFFECT_IS09_N_LLD 16
#define AFFECT_IS09_N_FUNCTIONALS 12

/* openSMILE reads 16-bit PCM as s / 32767; GStreamer's audioconvert gives
 * s / 32768. Multiplying F32 input by this restores openSMILE's scale. */
#define AFFECT_IS09_SCALE_INT16 (32768.0 / 32767.0)

/* Raw LLD indices (order of openSMILE's is09_lld level) */
enum
{
  AFFECT_IS09_LLD_RMS = 0,
  AFFECT_IS09_LLD_MFCC1 = 1,    /* .. MFCC12 = 12 */
  AFFECT_IS09_LLD_ZCR = 13,
  AFFECT_IS09_LLD_VOICEPROB = 14,
  AFFECT_IS09_LLD_F0 = 15
};

/* One analysed frame, before F0 post-processing. `pitch` is the raw
 * cepstral pitch in Hz after the voicing cut-off (0 = unvoiced); `lld[15]`
 * is 0 here: the F0 LLD comes from affect_is09_pitch_post_process(), which
 * the contours apply. */
typedef struct
{
  float lld[AFFECT_IS09_N_LLD];
  float pitch;
} AffectIs09Frame;

typedef struct _AffectIs09Plan AffectIs09Plan;
typedef struct _AffectIs09Contours AffectIs09Contours;
typedef struct _AffectIs09 AffectIs09;

/* Called for every smoothed LLD row (32 values: 16 _sma then 16 _sma_de),
 * row = 0..N (N+1 rows for N raw frames, as openSMILE's LLD output). */
typedef void (*AffectIs09LldFunc) (guint64 row, const float *values,
    gpointer user_data);

/* ---- plan ---- */
/* sample_rate in 4000..384000 Hz: frame, step and FFT sizes, mel edges and
 * pitch lags as openSMILE derives them at that rate (docs/is09.md,
 * "Sampling rates") */
AffectIs09Plan *affect_is09_plan_new (int sample_rate, GError ** error);
void affect_is09_plan_free (AffectIs09Plan * plan);
int affect_is09_plan_get_rate (const AffectIs09Plan * plan);
/* in samples: 400, 160 and 512 at 16 kHz */
int affect_is09_plan_get_frame_size (const AffectIs09Plan * plan);
int affect_is09_plan_get_frame_step (const AffectIs09Plan * plan);
int affect_is09_plan_get_fft_size (const AffectIs09Plan * plan);
/* Analyse one raw frame of frame_size samples (already scaled). */
void affect_is09_analyse_frame (AffectIs09Plan * plan, const float *frame,
    AffectIs09Frame * out);

/* ---- F0 post-processing (cPitchACF's onset state machine) ---- */
typedef struct
{
  float last, lastlast, gl_mean, ons;
} AffectIs09PitchState;
void affect_is09_pitch_state_init (AffectIs09PitchState * s);
/* one frame's raw pitch decision (Hz, 0 = unvoiced) -> output F0 */
float affect_is09_pitch_post_process (AffectIs09PitchState * s, float pitch);

/* ---- contours: F0 post-processing, smoothing, deltas, functionals ---- */
AffectIs09Contours *affect_is09_contours_new (void);
void affect_is09_contours_free (AffectIs09Contours * c);
void affect_is09_contours_reset (AffectIs09Contours * c);
void affect_is09_contours_set_lld_func (AffectIs09Contours * c,
    AffectIs09LldFunc func, gpointer user_data);
void affect_is09_contours_push (AffectIs09Contours * c,
    const AffectIs09Frame * frame);
guint64 affect_is09_contours_get_n_frames (const AffectIs09Contours * c);
/* Flush the smoother/delta end padding and compute the 384 functionals over
 * the first max(N-2, 1) rows. FALSE (features zeroed) if N = 0. Resets. */
gboolean affect_is09_contours_finish (AffectIs09Contours * c,
    float features[AFFECT_IS09_N_FEATURES]);

/* ---- functionals of 32 contours (streaming, constant memory) ---- */
typedef struct _AffectIs09Functionals AffectIs09Functionals;
AffectIs09Functionals *affect_is09_functionals_new (void);
void affect_is09_functionals_free (AffectIs09Functionals * f);
void affect_is09_functionals_reset (AffectIs09Functionals * f);
/* one LLD row: 32 values (16 _sma, 16 _sma_de) */
void affect_is09_functionals_add (AffectIs09Functionals * f,
    const float *row);
guint64 affect_is09_functionals_get_n_rows (const AffectIs09Functionals * f);
void affect_is09_functionals_compute (const AffectIs09Functionals * f,
    float features[AFFECT_IS09_N_FEATURES]);

/* ---- streaming extractor: samples in, features out ---- */
AffectIs09 *affect_is09_new (AffectIs09Plan * plan);
void affect_is09_free (AffectIs09 * is09);
void affect_is09_reset (AffectIs09 * is09);
/* Samples are multiplied by scale (in double, rounded to float) before
 * analysis; use AFFECT_IS09_SCALE_INT16 for audioconvert'ed 16-bit sources
 * to match openSMILE, 1.0 for samples already divided by 32767. */
void affect_is09_set_input_scale (AffectIs09 * is09, double scale);
void affect_is09_set_lld_func (AffectIs09 * is09, AffectIs09LldFunc func,
    gpointer user_data);
void affect_is09_push (AffectIs09 * is09, const float *samples, gsize n);
/* Sliding windows (a live stream): besides the whole-item features, the
 * features of every window of window_samples samples, one starting every
 * hop_samples (rounded to whole frame steps, at least one), each computed
 * as if the window were an item of its own. func is called from
 * affect_is09_push() when a window is complete, and from
 * affect_is09_finish() for the oldest unfinished window (complete =
 * FALSE, n_samples = what it covers) if it holds at least one frame.
 * window_samples = 0 turns windows off. FALSE if window_samples is
 * shorter than one frame. */
typedef void (*AffectIs09WindowFunc) (guint64 start_sample,
    guint64 n_samples, gboolean complete, const float *features,
    gpointer user_data);
gboolean affect_is09_set_windows (AffectIs09 * is09, guint64 window_samples,
    guint64 hop_samples, AffectIs09WindowFunc func, gpointer user_data);
guint64 affect_is09_get_n_frames (const AffectIs09 * is09);
guint64 affect_is09_get_n_samples (const AffectIs09 * is09);
/* Samples that were NaN/Inf (replaced by 0) or beyond +-AFFECT_IS09_CLAMP
 * (clamped) since the last reset. */
guint64 affect_is09_get_n_invalid (const AffectIs09 * is09);
guint64 affect_is09_get_n_clamped (const AffectIs09 * is09);
/* FALSE (features zeroed) if the input was shorter than one frame. Resets. */
gboolean affect_is09_finish (AffectIs09 * is09,
    float features[AFFECT_IS09_N_FEATURES]);

#define AFFECT_IS09_CLAMP 1.0e4f

/* ---- names and files ---- */
/* 384 names in openSMILE's order and spelling, e.g.
 * "pcm_fftMag_mfcc_sma_de[3]_linregerrQ"; NULL-terminated, static. */
const char *const *affect_is09_feature_names (void);
/* 32 LLD row names ("pcm_RMSenergy_sma", ..., "F0_sma_de"), static. */
const char *const *affect_is09_lld_names (void);
/* openSMILE-style CSV: "name,<384 names>" then "<name>,<384 %.9g values>" */
gboolean affect_is09_csv_write_header (FILE * f);
gboolean affect_is09_csv_write_row (FILE * f, const char *name,
    const float features[AFFECT_IS09_N_FEATURES]);

G_END_DECLS
#endif /* AFFECT_IS09_H */

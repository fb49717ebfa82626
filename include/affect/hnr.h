/* Harmonic-plus-noise reconstruction: the built-in generator.
 *
 * The synthesiser of DDSP (additive harmonics with a smooth phase plus
 * filtered noise) driven by a deterministic analysis instead of a learned
 * encoder. Per frame (every hop samples, centred on the hop):
 *   - F0 by YIN (cumulative mean normalised difference, threshold,
 *     parabolic interpolation) and a voicing decision;
 *   - loudness (RMS in dBFS over the analysis window);
 *   - the amplitude of each harmonic k·F0 from the Hann-windowed spectrum
 *     (peak picking with quadratic interpolation);
 *   - a noise envelope: the power density of the spectrum left once each
 *     harmonic's window transform is subtracted and its main lobe (widened
 *     by its glide) masked out, in linearly spaced bands.
 * Resynthesis interpolates F0 and the amplitudes sample by sample,
 * accumulates one phase for all harmonics (no clicks between frames),
 * drops harmonics above Nyquist, and adds Gaussian noise shaped by the band
 * envelope (frequency-domain filtering, sine-window overlap-add so the
 * noise power is the same between frame centres as at them).
 *
 * FFTW's shape: plan (FFTW plans, buffers) once, execute many times, free.
 * A plan is not reentrant: use one per thread.
 */
#ifndef AFFECT_HNR_H
#define AFFECT_HNR_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Samples beyond ±AFFECT_HNR_CLAMP are absurd for audio (near ±1) and
 * overflow float32 products in the analysis: callers clamp them (as
 * AFFECT_MEL_CLAMP, AFFECT_IS09_CLAMP). */
#define AFFECT_HNR_CLAMP 1.0e4f

typedef struct
{
  int sample_rate;
  int hop;                      /* samples between frames */
  int window;                   /* analysis window, samples (≥ 2·rate/f0_min) */
  double f0_min, f0_max;        /* Hz: the YIN lag range */
  double yin_threshold;         /* CMNDF below this = voiced (YIN's 0.1–0.2) */
  double silence_db;            /* frames quieter than this are unvoiced */
  int n_harmonics;
  int n_noise_bands;            /* linearly spaced from 0 to Nyquist */
} AffectHnrParams;

/* hop 10 ms, F0 60–1000 Hz, window affect_hnr_auto_window() (544 samples
 * = 34 ms at 16 kHz), YIN threshold 0.15, silence -60 dBFS, 60 harmonics,
 * 64 noise bands. */
void affect_hnr_params_init (AffectHnrParams * params, int sample_rate);
/* the shortest window that holds two periods of f0_min, rounded up to a
 * multiple of 32 samples */
int affect_hnr_auto_window (int sample_rate, double f0_min);

typedef struct
{
  int n_frames;                 /* frame i is centred on sample i·hop */
  int n_harmonics;
  int n_noise_bands;
  float *f0;                    /* Hz; 0 where unvoiced */
  float *periodicity;           /* 1 − CMNDF at the chosen lag, 0..1 */
  float *loudness_db;           /* RMS over the window, dBFS */
  float *harmonics;             /* n_frames × n_harmonics, linear amplitude */
  float *noise;                 /* n_frames × n_noise_bands, power per sample
                                 * (the variance white noise at that level
                                 * would have) */
} AffectHnrFeatures;

typedef struct _AffectHnrPlan AffectHnrPlan;

AffectHnrPlan *affect_hnr_plan_new (const AffectHnrParams * params,
    GError ** error);
const AffectHnrParams *affect_hnr_plan_get_params (const AffectHnrPlan * plan);

/* Analyses x[0..n); NaN/Inf samples are treated as 0. */
AffectHnrFeatures *affect_hnr_analyse (AffectHnrPlan * plan, const float *x,
    size_t n);
/* Writes n samples; seed drives the noise (same seed, same samples). */
void affect_hnr_synthesise (AffectHnrPlan * plan,
    const AffectHnrFeatures * features, uint64_t seed, float *out, size_t n);
/* analyse + synthesise; in and out may be the same array */
void affect_hnr_execute (AffectHnrPlan * plan, const float *in, float *out,
    size_t n, uint64_t seed);
void affect_hnr_features_free (AffectHnrFeatures * features);
void affect_hnr_plan_free (AffectHnrPlan * plan);

/* Log-spectral distance in dB between a reference a and a signal b: per
 * Hann frame sqrt(mean over bins of (10·log10 (Pa/Pb))²), averaged over
 * the frames whose power in either signal is within 60 dB of the loudest
 * frame. Powers are floored 80 dB below the reference's loudest bin.
 * n_bands > 0 first pools the power into that many equal-width bands (an
 * envelope distance: the randomness of noise bins, ~7 dB between two
 * independent white noises per bin, averages out); 0 compares bins.
 * Non-finite samples count as 0. */
double affect_log_spectral_distance (const float *a, const float *b,
    size_t n, int n_fft, int hop, int n_bands);

G_END_DECLS
#endif /* AFFECT_HNR_H */

/* IS09 low-level descriptors of one 25 ms frame: RMS energy, MFCC 1-12,
 * zero-crossing rate, voicing probability and raw cepstral pitch, as
 * openSMILE's IS09_emotion.conf computes them (docs/is09.md, section 2).
 *
 * Everything is float32 as in the reference; double only where openSMILE
 * uses double (energy sum, window and DCT tables before the cast, mel
 * filter products). The FFT is FFTW's (the reference uses Ooura's float
 * FFT; magnitudes agree to a few float ulps).
 */
#include <math.h>
#include <string.h>
#include <fftw3.h>

#include "affect/affect.h"
#include "affect/is09.h"
#include "is09-private.h"

#define IS09_FRAME_SEC 0.025
#define IS09_STEP_SEC 0.010
#define IS09_PREEMPHASIS 0.97f
#define IS09_N_MELS 26
#define IS09_N_MFCC 12
#define IS09_CEP_LIFTER 22.0
#define IS09_MEL_FLOOR 1.0f
#define IS09_MEL_HIFREQ 8000.0
#define IS09_MAX_PITCH 500.0f
#define IS09_VOICING_CUTOFF 0.55f

/* FFTW's planner is not thread-safe */

static double
mel_htk (double f)
{
  return 1127.0 * log (1.0 + f / 700.0);
}

AffectIs09Plan *
affect_is09_plan_new (int sample_rate, GError ** error)
{
  AffectIs09Plan *p;
  int n_bins, n, m, i;
  float lo_mel, hi_mel, bandw, f0bin;
  float cf[IS09_N_MELS + 2];
  double hifreq;
  int n_hi, e, *band;
  double *weight, period, fft_sec;
  float nyquist;

  if (sample_rate < 4000 || sample_rate > 384000) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "IS09: sample rate %d Hz is outside 4000..384000", sample_rate);
    return NULL;
  }

  p = g_new0 (AffectIs09Plan, 1);
  p->rate = sample_rate;
  /* cFramer: samples = round (seconds / T) with the period T = 1/fs in
   * double (at 22.05 kHz 551.25 -> 551 and 220.5 -> 221; at 44.1 kHz
   * 1102.5 -> 1103); every frame then holds whole samples */
  period = 1.0 / (double) sample_rate;
  p->frame_size = (int) round (IS09_FRAME_SEC / period);
  p->frame_step = (int) round (IS09_STEP_SEC / period);
  p->fft_n = 1;
  while (p->fft_n < p->frame_size)
    p->fft_n <<= 1;
  n_bins = p->fft_n / 2 + 1;
  p->n_bins = n_bins;
  p->n_lags = p->fft_n / 2;

  /* symmetric Hamming, computed in double and stored as float */
  p->window = g_new (float, p->frame_size);
  for (i = 0; i < p->frame_size; i++)
    p->window[i] = (float) (0.54 - 0.46 * cos (2.0 * G_PI * i /
            (double) (p->frame_size - 1)));

  /* The frame level keeps the configured 0.025 s as its frame duration,
   * not frame_size / fs, and cTransformFFT scales that duration by
   * fft_n / frame_size. Where 0.025 s is not a whole number of samples
   * (11.025, 22.05, 44.1 kHz) the spectrum's nominal duration is therefore
   * not fft_n / fs: the bin spacing 1 / fft_sec, the Nyquist frequency
   * fft_n / fft_sec that clips the mel range, and the pitch period of a
   * lag all follow this duration, and so do we. cPitchACF keeps it as a
   * float (this is what makes preskip 31 at 16 kHz). */
  fft_sec = IS09_FRAME_SEC * ((double) p->fft_n / (double) p->frame_size);
  p->fs_sec = (float) fft_sec;
  f0bin = (float) (1.0 / fft_sec);
  p->t_samp = (float) ((double) p->fs_sec / (double) p->fft_n);
  p->preskip = (int) (1.0 / ((double) IS09_MAX_PITCH * (double) p->t_samp));

  /* HTK mel filterbank over bins (n_lo, n_hi) exclusive */
  /* cMelspec: hifreq above half the nominal rate fft_n / fft_sec (a
   * float) becomes that half, as a float */
  nyquist = (float) ((double) (float) p->fft_n / fft_sec) / 2.0f;
  hifreq = (float) IS09_MEL_HIFREQ > (double) nyquist ? (double) nyquist
      : IS09_MEL_HIFREQ;
  lo_mel = (float) mel_htk (0.0);
  hi_mel = (float) mel_htk (hifreq);
  bandw = (hi_mel - lo_mel) / (float) (IS09_N_MELS + 1);
  for (m = 0; m < IS09_N_MELS + 2; m++)
    cf[m] = lo_mel + (float) m *bandw;
  /* FtoN divides in float */
  n_hi = (int) lround ((double) ((float) hifreq / f0bin));
  if (n_hi > n_bins)
    n_hi = n_bins;
  /* bins 1 .. n_hi-1: the reference excludes n <= round (0 / f0bin) and
   * n >= n_hi. Bin n with cf[j] < mel(n) <= cf[j+1] adds w to band j-1
   * (falling slope) and 1-w to band j (rising slope). */
  band = g_new (int, n_bins);
  weight = g_new (double, n_bins);
  for (n = 1; n < n_hi; n++) {
    float fm = (float) mel_htk ((double) ((float) n * f0bin));
    int j = 0;
    while (j < IS09_N_MELS + 1 && !(cf[j] < fm && fm <= cf[j + 1]))
      j++;
    band[n] = j > IS09_N_MELS ? -1 : j;
    weight[n] = j > IS09_N_MELS ? 0.0 :
        (double) ((cf[j + 1] - fm) / (cf[j + 1] - cf[j]));
  }
  /* per band, its bins in increasing order (the reference's summation
   * order), so that each band is summed in a register */
  p->tri_bin = g_new (int, 2 * n_bins);
  p->tri_weight = g_new (double, 2 * n_bins);
  e = 0;
  for (m = 0; m < IS09_N_MELS; m++) {
    p->tri_start[m] = e;
    for (n = 1; n < n_hi; n++) {
      if (band[n] == m) {
        p->tri_bin[e] = n;
        p->tri_weight[e++] = 1.0 - weight[n];
      } else if (band[n] == m + 1) {
        p->tri_bin[e] = n;
        p->tri_weight[e++] = weight[n];
      }
    }
  }
  p->tri_start[IS09_N_MELS] = e;
  g_free (band);
  g_free (weight);

  /* HTK DCT-II table (double, stored as float) and lifter */
  p->dct = g_new (float, IS09_N_MFCC * IS09_N_MELS);
  for (i = 0; i < IS09_N_MFCC; i++) {
    for (m = 0; m < IS09_N_MELS; m++)
      p->dct[i * IS09_N_MELS + m] = (float) cos (G_PI * (i + 1) *
          (m + 0.5) / IS09_N_MELS);
    p->lifter[i] = (float) (1.0 + IS09_CEP_LIFTER / 2.0 *
        sin (G_PI * (i + 1) / IS09_CEP_LIFTER));
  }
  p->dct_factor = (float) sqrt (2.0 / IS09_N_MELS);
  p->lag_scale = (float) (0.5 / n_bins);

  p->fft_in = fftwf_alloc_real (p->fft_n);
  p->fft_out = fftwf_alloc_complex (n_bins);
  p->inv_in = fftwf_alloc_complex (2 * n_bins);
  p->inv_out = fftwf_alloc_real (2 * p->fft_n);
  p->mag = g_new (float, n_bins);
  p->acf = g_new (float, p->n_lags);
  p->cep = g_new (float, p->n_lags);

  affect_fftw_planner_lock ();
  p->fwd = fftwf_plan_dft_r2c_1d (p->fft_n, p->fft_in, p->fft_out,
      FFTW_ESTIMATE);
  /* ACF and cepstrum: two inverse real transforms in one plan */
  p->inv = fftwf_plan_many_dft_c2r (1, &p->fft_n, 2, p->inv_in, NULL, 1, n_bins,
      p->inv_out, NULL, 1, p->fft_n, FFTW_ESTIMATE);
  affect_fftw_planner_unlock ();
  if (!p->fwd || !p->inv) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "IS09: FFTW could not plan a %d-point transform", p->fft_n);
    affect_is09_plan_free (p);
    return NULL;
  }
  memset (p->fft_in, 0, sizeof (float) * p->fft_n);
  memset (p->inv_in, 0, sizeof (fftwf_complex) * 2 * n_bins);
  return p;
}

void
affect_is09_plan_free (AffectIs09Plan * p)
{
  if (!p)
    return;
  affect_fftw_planner_lock ();
  if (p->fwd)
    fftwf_destroy_plan (p->fwd);
  if (p->inv)
    fftwf_destroy_plan (p->inv);
  affect_fftw_planner_unlock ();
  fftwf_free (p->fft_in);
  fftwf_free (p->fft_out);
  fftwf_free (p->inv_in);
  fftwf_free (p->inv_out);
  g_free (p->mag);
  g_free (p->acf);
  g_free (p->cep);
  g_free (p->window);
  g_free (p->tri_bin);
  g_free (p->tri_weight);
  g_free (p->dct);
  g_free (p);
}

int
affect_is09_plan_get_rate (const AffectIs09Plan * plan)
{
  return plan->rate;
}

int
affect_is09_plan_get_frame_size (const AffectIs09Plan * plan)
{
  return plan->frame_size;
}

int
affect_is09_plan_get_frame_step (const AffectIs09Plan * plan)
{
  return plan->frame_step;
}

int
affect_is09_plan_get_fft_size (const AffectIs09Plan * plan)
{
  return plan->fft_n;
}

/* openSMILE cPitchACF voicingProb: the largest rising ACF value beyond
 * preskip (or the last lag), relative to the zero-lag energy */
static float
voicing_probability (const float *acf, int n, int skip)
{
  float mx = acf[n - 1];
  int i;

  for (i = 1; i < n; i++) {
    if (i >= skip && acf[i] > mx && acf[i - 1] < acf[i])
      mx = acf[i];
  }
  return acf[0] > 0.0f ? mx / acf[0] : 0.0f;
}

/* openSMILE cPitchACF pitchPeak on the cepstrum: first local maximum above
 * 0.6 * (global max beyond skip + mean absolute value) */
static int
cepstral_peak (const float *cep, int n, int skip)
{
  float mx = cep[n - 1], s = 0.0f;
  double thresh;
  int i;

  for (i = n - 1; i >= 0; i--) {
    s += fabsf (cep[i]);
    if (i >= skip && cep[i] > mx)
      mx = cep[i];
  }
  s /= (float) n;
  thresh = 0.6 * (double) (mx + s);
  for (i = skip + 1; i < n - 1; i++) {
    if ((double) cep[i] > thresh && cep[i - 1] < cep[i] && cep[i] > cep[i + 1])
      return i;
  }
  return 0;
}

void
affect_is09_analyse_frame (AffectIs09Plan * p, const float *x,
    AffectIs09Frame * out)
{
  const int len = p->frame_size, n_bins = p->n_bins, n_lags = p->n_lags;
  float *y = p->fft_in, *mag = p->mag;
  float lmel[IS09_N_MELS];
  fftwf_complex *pw = p->inv_in, *lc = p->inv_in + n_bins;
  const float *acf_raw = p->inv_out, *cep_raw = p->inv_out + p->fft_n;
  float *acf = p->acf, *cep = p->cep;
  double energy;
  float vprob;
  int i, k, m, idx, zcr = 0;

  /* per-frame pre-emphasis (no state across frames), Hamming window and
   * the energy sum in one pass: the double sum must stay sequential (the
   * reference's order) and is latency-bound, so the independent window
   * arithmetic and the zero-crossing count run in its shadow */
  y[0] = (1.0f - IS09_PREEMPHASIS) * x[0] * p->window[0];
  energy = (double) (y[0] * y[0]);
  for (i = 1; i < len - 1; i++) {
    y[i] = (x[i] - IS09_PREEMPHASIS * x[i - 1]) * p->window[i];
    energy += (double) (y[i] * y[i]);
    zcr += ((x[i - 1] * x[i + 1] <= 0.0f) & (x[i] == 0.0f))
        | (x[i - 1] * x[i] < 0.0f);
  }
  y[len - 1] = (x[len - 1] - IS09_PREEMPHASIS * x[len - 2])
      * p->window[len - 1];
  energy += (double) (y[len - 1] * y[len - 1]);
  out->lld[AFFECT_IS09_LLD_RMS] = (float) sqrt (energy / len);
  /* openSMILE cMZcr on the raw frame: the last pair is never tested and a
   * zero sample between neighbours whose product is <= 0 counts, so an
   * all-zero frame gives (L-2)/L = 0.995 */
  out->lld[AFFECT_IS09_LLD_ZCR] = (float) zcr / (float) len;
  /* y[len..fft_n) stays zero: zero padding at the end */

  fftwf_execute (p->fwd);
  mag[0] = fabsf (p->fft_out[0][0]);
  for (k = 1; k < n_bins - 1; k++) {
    float re = p->fft_out[k][0], im = p->fft_out[k][1];
    mag[k] = sqrtf (re * re + im * im);
  }
  mag[n_bins - 1] = fabsf (p->fft_out[n_bins - 1][0]);

  /* HTK mel bands on the magnitude, x32767 as HTK's int16 scale */
  for (m = 0; m < IS09_N_MELS; m++) {
    float v = 0.0f;
    for (k = p->tri_start[m]; k < p->tri_start[m + 1]; k++)
      v += (float) ((double) mag[p->tri_bin[k]] * p->tri_weight[k]);
    v *= 32767.0f;
    lmel[m] = v < IS09_MEL_FLOOR ? 0.0f : logf (v);
  }
  for (i = 0; i < IS09_N_MFCC; i++) {
    const float *c = p->dct + i * IS09_N_MELS;
    float s = 0.0f;
    for (m = 0; m < IS09_N_MELS; m++)
      s += lmel[m] * c[m];
    out->lld[AFFECT_IS09_LLD_MFCC1 + i] = s * p->dct_factor * p->lifter[i];
  }

  /* ACF of the power spectrum and real cepstrum, each an inverse real
   * transform of an even spectrum; /2 gives Ooura's scale, /n_bins the
   * reference's output normalisation */
  for (k = 0; k < n_bins; k++) {
    float pk = mag[k] * mag[k];
    pw[k][0] = pk;
    lc[k][0] = pk > 0.0f ? logf (pk + 1.0f) : 0.0f;
    /* c2r may overwrite its input: the imaginary parts are reset here */
    pw[k][1] = lc[k][1] = 0.0f;
  }
  fftwf_execute (p->inv);
  /* (x / 2) / n_bins as one multiplication: within an ulp of the division
   * and the scale cancels in everything downstream (a ratio and a relative
   * threshold); 512 divisions would cost a tenth of the frame */
  for (i = 0; i < n_lags; i++) {
    acf[i] = fabsf (acf_raw[i] * p->lag_scale);
    cep[i] = cep_raw[i] * p->lag_scale;
  }

  vprob = voicing_probability (acf, n_lags, p->preskip);
  out->lld[AFFECT_IS09_LLD_VOICEPROB] = vprob;
  idx = cepstral_peak (cep, n_lags, p->preskip + 1);
  out->pitch = idx > 0 ? 1.0f / ((float) idx * p->t_samp) : 0.0f;
  if (vprob < IS09_VOICING_CUTOFF)
    out->pitch = 0.0f;
  out->lld[AFFECT_IS09_LLD_F0] = 0.0f;
}

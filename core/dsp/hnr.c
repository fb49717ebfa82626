/* Harmonic-plus-noise analysis and resynthesis (include/affect/hnr.h). */
#include <fftw3.h>
/* after fftw3.h, so fftwf_complex stays float[2] */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/hnr.h"
#include "affect/nn.h"

/* FFTW's planner is not thread-safe; plans are made and destroyed under
 * this lock, executed without it. */

struct _AffectHnrPlan
{
  AffectHnrParams p;
  int n_fft;                    /* = window */
  float *win;                   /* periodic Hann */
  double win_sum, win_sum2;
  float *frame;                 /* raw frame (for YIN) */
  float *wframe;                /* windowed frame */
  fftwf_complex *spec;
  fftwf_plan fwd;
  float *mag2;
  guint8 *mask;
  double complex *resid;        /* spectrum minus the harmonic model */
  float *sorted;                /* scratch for band medians */

  /* YIN: the difference function through one FFT correlation */
  int tau_min, tau_max, integ, yin_n;
  float *ya, *yb, *yc;
  fftwf_complex *YA, *YB;
  fftwf_plan ya_fwd, yb_fwd, yc_inv;
  double *d, *dprime, *energy;

  /* noise synthesis: frames of 2·hop, sine window */
  int L;
  float *nbuf, *swin, *gain;
  fftwf_complex *nspec;
  fftwf_plan ninv;
};

int
affect_hnr_auto_window (int sample_rate, double f0_min)
{
  /* two periods of the lowest F0, rounded up to a multiple of 32 (FFTW is
   * fast on such sizes; a power of two would nearly double the window and
   * smear onsets) */
  int w = 2 * (int) ceil (sample_rate / f0_min);

  return MAX (64, (w + 31) / 32 * 32);
}

void
affect_hnr_params_init (AffectHnrParams * p, int sample_rate)
{
  memset (p, 0, sizeof (*p));
  p->sample_rate = sample_rate;
  p->hop = MAX (1, (int) lround (sample_rate / 100.0));
  p->f0_min = 60.0;
  p->f0_max = 1000.0;
  p->window = affect_hnr_auto_window (sample_rate, p->f0_min);
  p->yin_threshold = 0.15;
  p->silence_db = -60.0;
  p->n_harmonics = 60;
  p->n_noise_bands = 64;
}

const AffectHnrParams *
affect_hnr_plan_get_params (const AffectHnrPlan * plan)
{
  return &plan->p;
}

AffectHnrPlan *
affect_hnr_plan_new (const AffectHnrParams * params, GError ** error)
{
  AffectHnrPlan *plan;
  const AffectHnrParams *p = params;
  char *why = NULL;
  int i, n;

  /* each reason names the parameter (as the affecthnr property) and the
   * stream's rate where the rate is what it conflicts with */
  if (p->sample_rate < 1000)
    why = g_strdup_printf ("the %d Hz stream is below the 1000 Hz the "
        "analysis needs", p->sample_rate);
  else if (p->hop < 1)
    why = g_strdup_printf ("hop=%d must be at least 1", p->hop);
  else if (p->f0_min <= 0 || p->f0_max <= p->f0_min)
    why = g_strdup_printf ("f0-min=%g Hz must be positive and below "
        "f0-max=%g Hz", p->f0_min, p->f0_max);
  else if (p->f0_max >= p->sample_rate / 2.0)
    why = g_strdup_printf ("f0-max=%g Hz is not below the Nyquist frequency "
        "(%g Hz) of the %d Hz stream", p->f0_max, p->sample_rate / 2.0,
        p->sample_rate);
  else if (p->n_harmonics < 1 || p->n_noise_bands < 1 || p->yin_threshold <= 0)
    why = g_strdup_printf ("n-harmonics=%d, noise-bands=%d and "
        "yin-threshold=%g must be positive", p->n_harmonics,
        p->n_noise_bands, p->yin_threshold);
  else if (p->window < 64 || p->window < 2 * (int) ceil (p->sample_rate /
          p->f0_min))
    why = g_strdup_printf ("window=%d samples cannot hold two periods of "
        "f0-min=%g Hz in the %d Hz stream (needs %d, and at least 64)",
        p->window, p->f0_min, p->sample_rate,
        MAX (64, 2 * (int) ceil (p->sample_rate / p->f0_min)));
  else if (p->n_noise_bands > p->window / 2)
    why = g_strdup_printf ("noise-bands=%d exceeds the %d spectrum bins of "
        "a %d-sample window", p->n_noise_bands, p->window / 2, p->window);
  if (why != NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED, "hnr: %s", why);
    g_free (why);
    return NULL;
  }

  plan = g_new0 (AffectHnrPlan, 1);
  plan->p = *p;
  n = plan->n_fft = p->window;
  plan->win = fftwf_alloc_real (n);
  for (i = 0; i < n; i++) {
    double w = 0.5 - 0.5 * cos (2.0 * M_PI * i / n);
    plan->win[i] = (float) w;
    plan->win_sum += w;
    plan->win_sum2 += w * w;
  }
  plan->frame = fftwf_alloc_real (n);
  plan->wframe = fftwf_alloc_real (n);
  plan->spec = fftwf_alloc_complex (n / 2 + 1);
  plan->mag2 = g_new (float, n / 2 + 1);
  plan->mask = g_new (guint8, n / 2 + 1);
  plan->resid = g_new (double complex, n / 2 + 1);
  plan->sorted = g_new (float, n / 2 + 1);

  plan->tau_max = MIN ((int) floor (p->sample_rate / p->f0_min), n / 2);
  plan->tau_min = MAX (2, (int) floor (p->sample_rate / p->f0_max));
  plan->integ = n - plan->tau_max;
  for (plan->yin_n = 1; plan->yin_n < n + plan->integ; plan->yin_n <<= 1);
  plan->ya = fftwf_alloc_real (plan->yin_n);
  plan->yb = fftwf_alloc_real (plan->yin_n);
  plan->yc = fftwf_alloc_real (plan->yin_n);
  plan->YA = fftwf_alloc_complex (plan->yin_n / 2 + 1);
  plan->YB = fftwf_alloc_complex (plan->yin_n / 2 + 1);
  plan->d = g_new (double, plan->tau_max + 2);
  plan->dprime = g_new (double, plan->tau_max + 2);
  plan->energy = g_new (double, n + 1);

  plan->L = 2 * p->hop;
  plan->nbuf = fftwf_alloc_real (plan->L);
  plan->nspec = fftwf_alloc_complex (plan->L / 2 + 1);
  plan->swin = g_new (float, plan->L);
  plan->gain = g_new (float, plan->L / 2 + 1);
  for (i = 0; i < plan->L; i++)
    plan->swin[i] = (float) sin (M_PI * (i + 0.5) / plan->L);

  affect_fftw_planner_lock ();
  plan->fwd = fftwf_plan_dft_r2c_1d (n, plan->wframe, plan->spec,
      FFTW_ESTIMATE);
  plan->ya_fwd = fftwf_plan_dft_r2c_1d (plan->yin_n, plan->ya, plan->YA,
      FFTW_ESTIMATE);
  plan->yb_fwd = fftwf_plan_dft_r2c_1d (plan->yin_n, plan->yb, plan->YB,
      FFTW_ESTIMATE);
  plan->yc_inv = fftwf_plan_dft_c2r_1d (plan->yin_n, plan->YA, plan->yc,
      FFTW_ESTIMATE);
  plan->ninv = fftwf_plan_dft_c2r_1d (plan->L, plan->nspec, plan->nbuf,
      FFTW_ESTIMATE);
  affect_fftw_planner_unlock ();
  return plan;
}

void
affect_hnr_plan_free (AffectHnrPlan * plan)
{
  if (plan == NULL)
    return;
  affect_fftw_planner_lock ();
  fftwf_destroy_plan (plan->fwd);
  fftwf_destroy_plan (plan->ya_fwd);
  fftwf_destroy_plan (plan->yb_fwd);
  fftwf_destroy_plan (plan->yc_inv);
  fftwf_destroy_plan (plan->ninv);
  affect_fftw_planner_unlock ();
  fftwf_free (plan->win);
  fftwf_free (plan->frame);
  fftwf_free (plan->wframe);
  fftwf_free (plan->spec);
  fftwf_free (plan->ya);
  fftwf_free (plan->yb);
  fftwf_free (plan->yc);
  fftwf_free (plan->YA);
  fftwf_free (plan->YB);
  fftwf_free (plan->nbuf);
  fftwf_free (plan->nspec);
  g_free (plan->mag2);
  g_free (plan->mask);
  g_free (plan->resid);
  g_free (plan->sorted);
  g_free (plan->d);
  g_free (plan->dprime);
  g_free (plan->energy);
  g_free (plan->swin);
  g_free (plan->gain);
  g_free (plan);
}

void
affect_hnr_features_free (AffectHnrFeatures * f)
{
  if (f == NULL)
    return;
  g_free (f->f0);
  g_free (f->periodicity);
  g_free (f->loudness_db);
  g_free (f->harmonics);
  g_free (f->noise);
  g_free (f);
}

/* YIN on plan->frame: returns the period in samples (fractional) and the
 * CMNDF value there; 0 when no lag is below the threshold. */
static double
yin_period (AffectHnrPlan * plan, double *cmndf)
{
  const float *x = plan->frame;
  int W = plan->n_fft, n_int = plan->integ, N = plan->yin_n;
  int tau, k, best;
  double sum, e1, prev;

  /* c(τ) = Σ_{j<n_int} x_j x_{j+τ} as IFFT(conj(A)·B) */
  memset (plan->ya, 0, N * sizeof (float));
  memset (plan->yb, 0, N * sizeof (float));
  memcpy (plan->ya, x, n_int * sizeof (float));
  memcpy (plan->yb, x, W * sizeof (float));
  fftwf_execute (plan->ya_fwd);
  fftwf_execute (plan->yb_fwd);
  for (k = 0; k <= N / 2; k++) {
    float ar = plan->YA[k][0], ai = -plan->YA[k][1];
    float br = plan->YB[k][0], bi = plan->YB[k][1];
    plan->YA[k][0] = ar * br - ai * bi;
    plan->YA[k][1] = ar * bi + ai * br;
  }
  fftwf_execute (plan->yc_inv);

  plan->energy[0] = 0.0;
  for (k = 0; k < W; k++)
    plan->energy[k + 1] = plan->energy[k] + (double) x[k] * x[k];
  e1 = plan->energy[n_int];
  if (e1 <= 1e-20) {
    *cmndf = 1.0;
    return 0.0;
  }

  /* d(τ) = Σ (x_j − x_{j+τ})², then the cumulative mean normalisation */
  plan->dprime[0] = 1.0;
  sum = 0.0;
  for (tau = 1; tau <= plan->tau_max; tau++) {
    double e2 = plan->energy[tau + n_int] - plan->energy[tau];
    double d = e1 + e2 - 2.0 * plan->yc[tau] / N;

    d = MAX (d, 0.0);
    plan->d[tau] = d;
    sum += d;
    plan->dprime[tau] = sum > 0.0 ? d * tau / sum : 1.0;
  }

  best = -1;
  for (tau = plan->tau_min; tau <= plan->tau_max; tau++) {
    if (plan->dprime[tau] < plan->p.yin_threshold) {
      while (tau + 1 <= plan->tau_max
          && plan->dprime[tau + 1] < plan->dprime[tau])
        tau++;
      best = tau;
      break;
    }
  }
  if (best < 0) {
    prev = 1e30;
    for (tau = plan->tau_min; tau <= plan->tau_max; tau++)
      if (plan->dprime[tau] < prev) {
        prev = plan->dprime[tau];
        best = tau;
      }
    *cmndf = prev;
    return 0.0;
  }
  *cmndf = plan->dprime[best];
  /* interpolate on the raw difference function, as YIN does: the
   * normalisation bends d' and biases short lags */
  if (best > 1 && best < plan->tau_max) {
    double a = plan->d[best - 1], b = plan->d[best];
    double c = plan->d[best + 1], den = a - 2.0 * b + c;
    if (den > 0.0) {
      double delta = 0.5 * (a - c) / den;
      if (fabs (delta) <= 1.0)
        return best + delta;
    }
  }
  return best;
}

/* Transform of the periodic Hann window at a fractional bin offset d:
 * 0.5·D(d) − 0.25·D(d−1) − 0.25·D(d+1) with the Dirichlet kernel
 * D(d) = Σ_n e^{−i2πdn/N} */
static double complex
hann_transform (int N, double d)
{
  double complex acc = 0.0;
  static const double weight[3] = { -0.25, 0.5, -0.25 };
  int j;

  for (j = 0; j < 3; j++) {
    double e = d + (j - 1);
    double complex D;
    if (fabs (e) < 1e-9)
      D = N;
    else
      D = (1.0 - cexp (-2.0 * I * M_PI * e)) /
          (1.0 - cexp (-2.0 * I * M_PI * e / N));
    acc += weight[j] * D;
  }
  return acc;
}

/* The spectral peak nearest bin position fb (within one bin): its
 * interpolated position in bins and log magnitude (quadratic interpolation
 * of the log magnitude of the Hann spectrum). */
static gboolean
harmonic_peak (AffectHnrPlan * plan, double fb, double *pos, double *logmag)
{
  int n_bins = plan->n_fft / 2 + 1, k0 = (int) lround (fb), kmax = k0, k;
  double a, b, c, den, q = 0.0;

  if (k0 < 1 || k0 > n_bins - 2)
    return FALSE;
  for (k = MAX (1, k0 - 1); k <= MIN (n_bins - 2, k0 + 1); k++)
    if (plan->mag2[k] > plan->mag2[kmax])
      kmax = k;
  a = 0.5 * log (plan->mag2[kmax - 1] + 1e-30);
  b = 0.5 * log (plan->mag2[kmax] + 1e-30);
  c = 0.5 * log (plan->mag2[kmax + 1] + 1e-30);
  den = a - 2.0 * b + c;
  if (den < 0.0)
    q = CLAMP (0.5 * (a - c) / den, -0.5, 0.5);
  *pos = kmax + q;
  *logmag = b - 0.25 * (a - c) * q;
  return TRUE;
}

static int
cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

static double
band_median (const float *v, int n, float *scratch)
{
  memcpy (scratch, v, n * sizeof (float));
  qsort (scratch, n, sizeof (float), cmp_float);
  return n % 2 ? scratch[n / 2] : 0.5 * (scratch[n / 2 - 1] + scratch[n / 2]);
}

/* frame i (centred on i·hop, zero outside the signal, non-finite samples
 * as 0) into plan->frame, its Hann-windowed copy into plan->wframe; returns
 * the energy */
static double
load_frame (AffectHnrPlan * plan, const float *x, size_t n, int i)
{
  gint64 start = (gint64) i * plan->p.hop - plan->n_fft / 2;
  double sum2 = 0.0;
  int j;

  for (j = 0; j < plan->n_fft; j++) {
    gint64 idx = start + j;
    float v = (idx >= 0 && idx < (gint64) n) ? x[idx] : 0.0f;
    if (!isfinite (v))
      v = 0.0f;
    plan->frame[j] = v;
    plan->wframe[j] = v * plan->win[j];
    sum2 += (double) v * v;
  }
  return sum2;
}

static void
frame_spectrum (AffectHnrPlan * plan)
{
  int k;

  fftwf_execute (plan->fwd);
  for (k = 0; k <= plan->n_fft / 2; k++) {
    plan->mag2[k] = plan->spec[k][0] * plan->spec[k][0] +
        plan->spec[k][1] * plan->spec[k][1];
    plan->mask[k] = 0;
  }
}

AffectHnrFeatures *
affect_hnr_analyse (AffectHnrPlan * plan, const float *x, size_t n)
{
  const AffectHnrParams *p = &plan->p;
  AffectHnrFeatures *f = g_new0 (AffectHnrFeatures, 1);
  int W = plan->n_fft, half = W / 2, H = p->n_harmonics;
  int B = p->n_noise_bands, n_bins = W / 2 + 1;
  double bin_hz = (double) p->sample_rate / W;
  int i, k, h, b;

  f->n_frames = (int) (n / p->hop) + 1;
  f->n_harmonics = H;
  f->n_noise_bands = B;
  f->f0 = g_new0 (float, f->n_frames);
  f->periodicity = g_new0 (float, f->n_frames);
  f->loudness_db = g_new0 (float, f->n_frames);
  f->harmonics = g_new0 (float, (size_t) f->n_frames * H);
  f->noise = g_new0 (float, (size_t) f->n_frames * B);

  /* pass 1: loudness and F0 of every frame */
  for (i = 0; i < f->n_frames; i++) {
    double sum2 = load_frame (plan, x, n, i), period, cmndf, f0 = 0.0;

    f->loudness_db[i] = (float) (10.0 * log10 (sum2 / W + 1e-12));
    period = yin_period (plan, &cmndf);
    f->periodicity[i] = (float) CLAMP (1.0 - cmndf, 0.0, 1.0);
    if (period > 0.0 && f->loudness_db[i] > p->silence_db)
      f0 = p->sample_rate / period;

    if (f0 > 0.0 && f0 / bin_hz >= 4.0) {
      /* refine F0 with the interpolated peaks of the first harmonics:
       * least squares for f_h = h·F0 weighted by amplitude, which is far
       * sharper than YIN's lag interpolation at short lags. Only when the
       * Hann main lobes (4 bins wide) of neighbouring harmonics do not
       * overlap; at long lags YIN alone is already exact */
      double num = 0.0, den = 0.0, fr;

      frame_spectrum (plan);
      for (h = 1; h <= MIN (H, 8); h++) {
        double fk, lp;
        if (h * f0 >= 0.49 * p->sample_rate
            || !harmonic_peak (plan, h * f0 / bin_hz, &fk, &lp))
          continue;
        fk *= bin_hz;
        if (fabs (fk - h * f0) > 0.03 * h * f0)
          continue;
        num += exp (lp) * h * fk;
        den += exp (lp) * h * h;
      }
      fr = den > 0.0 ? num / den : f0;
      if (fabs (fr - f0) < 0.03 * f0)
        f0 = fr;
    }
    f->f0[i] = (float) f0;
  }

  /* pass 2: harmonic amplitudes and the noise envelope */
  for (i = 0; i < f->n_frames; i++) {
    double f0 = f->f0[i];
    float *amps = f->harmonics + (size_t) i * H;
    float *noise = f->noise + (size_t) i * B;

    load_frame (plan, x, n, i);
    frame_spectrum (plan);
    for (k = 0; k < n_bins; k++)
      plan->resid[k] = plan->spec[k][0] + I * plan->spec[k][1];

    if (f0 > 0.0) {
      /* the mask covers each harmonic's main lobe (2 bins), widened by how
       * far the harmonic glides during the window (F0 slope from the
       * neighbouring frames), and stays inside half the spacing so some
       * bins between harmonics are left for the noise estimate */
      double spacing = f0 / bin_hz, slope = 0.0;
      double cap = 0.5 * spacing - 0.25;
      int i0 = MAX (i - 1, 0), i1 = MIN (i + 1, f->n_frames - 1);

      if (i1 > i0 && f->f0[i0] > 0 && f->f0[i1] > 0)
        slope = fabs (f->f0[i1] - f->f0[i0]) / ((i1 - i0) * p->hop);
      for (h = 1; h <= H; h++) {
        double fb = h * f0 / bin_hz, fk, lp;
        double radius = MIN (2.0 + 0.5 * h * slope * W / bin_hz, cap);
        int lo, hi;

        if (h * f0 >= 0.49 * p->sample_rate)
          break;
        if (!harmonic_peak (plan, fb, &fk, &lp))
          continue;
        amps[h - 1] = (float) (2.0 * exp (lp) / plan->win_sum);
        /* take the harmonic's whole window transform (main lobe and side
         * lobes) out of the spectrum the noise is measured on: the Hann
         * side lobes of a strong low harmonic would otherwise lie 20 dB
         * over a weak noise floor */
        {
          int kc = (int) lround (fk), kk;
          double complex w0 = hann_transform (W, kc - fk), c;
          if (cabs (w0) > 1e-9) {
            c = (plan->spec[kc][0] + I * plan->spec[kc][1]) / w0;
            for (kk = MAX (0, kc - 8); kk <= MIN (n_bins - 1, kc + 8); kk++)
              plan->resid[kk] -= c * hann_transform (W, kk - fk);
          }
        }
        lo = (int) ceil (fb - radius);
        hi = (int) floor (fb + radius);
        for (k = MAX (0, lo); k <= MIN (n_bins - 1, hi); k++)
          plan->mask[k] = 1;
      }
    }

    /* noise power per band from the unmasked bins of the residual (the
     * spectrum with the harmonic model taken out). When every bin of a band
     * is masked: the median of its bins over ln 2 — the mean of an
     * exponential (chi-square, 2 degrees of freedom) variable from its
     * median, robust to what is left of a gliding harmonic's main lobe
     * (the minimum would be biased low, the mean high) */
    for (k = 0; k < n_bins; k++)
      plan->mag2[k] = (float) (creal (plan->resid[k]) * creal (plan->resid[k])
          + cimag (plan->resid[k]) * cimag (plan->resid[k]));
    for (b = 0; b < B; b++) {
      int k_lo = (int) ((double) b * half / B);
      int k_hi = b == B - 1 ? n_bins : (int) ((double) (b + 1) * half / B);
      double acc = 0.0;
      int count = 0;

      for (k = k_lo; k < k_hi; k++)
        if (!plan->mask[k]) {
          acc += plan->mag2[k];
          count++;
        }
      if (count)
        acc /= count;
      else if (k_hi > k_lo)
        acc = band_median (plan->mag2 + k_lo, k_hi - k_lo, plan->sorted) /
            G_LN2;
      /* E|X_k|² = σ²·Σw² for white noise of variance σ² */
      noise[b] = (float) (acc / plan->win_sum2);
    }
  }
  return f;
}

void
affect_hnr_synthesise (AffectHnrPlan * plan, const AffectHnrFeatures * f,
    uint64_t seed, float *out, size_t n)
{
  const AffectHnrParams *p = &plan->p;
  int H = f->n_harmonics, B = f->n_noise_bands, hop = p->hop, L = plan->L;
  double nyq = 0.5 * p->sample_rate, phase = 0.0;
  float *f0 = g_new (float, f->n_frames);
  double *a = g_new (double, H), *da = g_new (double, H);
  double *s = g_new (double, H + 2), *c = g_new (double, H + 2);
  double *ph_cos = g_new (double, H), *ph_sin = g_new (double, H);
  AffectRng rng;
  int i, h, k, last = -1;
  size_t j;

  memset (out, 0, n * sizeof (float));
  if (f->n_frames == 0)
    goto done;

  /* unvoiced frames keep the nearest voiced F0 (their amplitudes are 0),
   * so onsets and offsets fade in place instead of gliding from 0 Hz */
  for (i = 0; i < f->n_frames; i++) {
    f0[i] = f->f0[i];
    if (f->f0[i] > 0)
      last = i;
    else if (last >= 0)
      f0[i] = f->f0[last];
  }
  last = -1;
  for (i = f->n_frames - 1; i >= 0; i--) {
    if (f->f0[i] > 0)
      last = i;
    else if (f0[i] <= 0 && last >= 0)
      f0[i] = f->f0[last];
  }

  /* harmonics: F0 and amplitudes linear between frame centres; one phase
   * accumulator, sin(hφ) and cos(hφ) by the Chebyshev recurrence. Each
   * harmonic keeps a fixed random phase offset θ_h (from the seed): with
   * all offsets 0 every period would start with the partials in phase, a
   * pulse whose peaks clip where the original's did not */
  affect_rng_init (&rng, seed ^ 0x5851f42d4c957f2dULL);
  for (h = 0; h < H; h++) {
    double theta = 2.0 * M_PI * affect_rng_uniform (&rng);
    ph_cos[h] = cos (theta);
    ph_sin[h] = sin (theta);
  }
  if (last >= 0 || f0[0] > 0) {
    for (i = 0; i < f->n_frames; i++) {
      int i1 = MIN (i + 1, f->n_frames - 1);
      const float *A0 = f->harmonics + (size_t) i * H;
      const float *A1 = f->harmonics + (size_t) i1 * H;
      size_t j0 = (size_t) i * hop;
      double df = (f0[i1] - f0[i]) / hop, fr = f0[i];

      for (h = 0; h < H; h++) {
        a[h] = A0[h];
        da[h] = (A1[h] - A0[h]) / (double) hop;
      }
      for (j = j0; j < j0 + hop && j < n; j++) {
        double c2, acc = 0.0;
        int hmax = fr > 0 ? MIN (H, (int) (nyq / fr)) : 0;

        phase += 2.0 * M_PI * fr / p->sample_rate;
        if (phase > 2.0 * M_PI)
          phase -= 2.0 * M_PI;
        c2 = 2.0 * cos (phase);
        s[0] = 0.0;
        s[1] = sin (phase);
        c[0] = 1.0;
        c[1] = 0.5 * c2;
        for (h = 1; h <= hmax; h++) {
          /* sin (hφ + θ_h) */
          acc += a[h - 1] * (s[h] * ph_cos[h - 1] + c[h] * ph_sin[h - 1]);
          s[h + 1] = c2 * s[h] - s[h - 1];
          c[h + 1] = c2 * c[h] - c[h - 1];
        }
        out[j] += (float) acc;
        for (h = 0; h < H; h++)
          a[h] += da[h];
        fr += df;
      }
    }
  }

  /* noise: per frame, a Gaussian spectrum shaped by the band envelope
   * (linear in power between band centres), sine-windowed overlap-add */
  affect_rng_init (&rng, seed);
  for (i = 0; i < f->n_frames; i++) {
    const float *P = f->noise + (size_t) i * B;
    gint64 start = (gint64) i * hop - hop;
    double band_w = nyq / B;

    for (k = 0; k <= L / 2; k++) {
      double fk = (double) k * p->sample_rate / L;
      double pos = fk / band_w - 0.5, pw;
      int b0 = (int) floor (pos);
      double t = pos - b0;

      if (b0 < 0)
        pw = P[0];
      else if (b0 >= B - 1)
        pw = P[B - 1];
      else
        pw = (1.0 - t) * P[b0] + t * P[b0 + 1];
      plan->gain[k] = (float) sqrt (MAX (pw, 0.0) * L);
    }
    for (k = 0; k <= L / 2; k++) {
      double g = plan->gain[k];
      if (k == 0 || k == L / 2) {
        plan->nspec[k][0] = (float) (g * affect_rng_normal (&rng));
        plan->nspec[k][1] = 0.0f;
      } else {
        plan->nspec[k][0] = (float) (g * M_SQRT1_2 * affect_rng_normal (&rng));
        plan->nspec[k][1] = (float) (g * M_SQRT1_2 * affect_rng_normal (&rng));
      }
    }
    fftwf_execute (plan->ninv);
    for (k = 0; k < L; k++) {
      gint64 idx = start + k;
      if (idx >= 0 && idx < (gint64) n)
        out[idx] += plan->swin[k] * plan->nbuf[k] / L;
    }
  }

done:
  for (j = 0; j < n; j++)
    if (!isfinite (out[j]))
      out[j] = 0.0f;
  g_free (f0);
  g_free (a);
  g_free (da);
  g_free (s);
  g_free (c);
  g_free (ph_cos);
  g_free (ph_sin);
}

void
affect_hnr_execute (AffectHnrPlan * plan, const float *in, float *out,
    size_t n, uint64_t seed)
{
  AffectHnrFeatures *f = affect_hnr_analyse (plan, in, n);

  affect_hnr_synthesise (plan, f, seed, out, n);
  affect_hnr_features_free (f);
}

double
affect_log_spectral_distance (const float *a, const float *b, size_t n,
    int n_fft, int hop, int n_bands)
{
  float *buf = fftwf_alloc_real (n_fft);
  fftwf_complex *spec = fftwf_alloc_complex (n_fft / 2 + 1);
  fftwf_plan fwd;
  int n_bins = n_fft / 2 + 1, k, n_frames, i, used = 0;
  double *pa, *pb, *ea, *eb, emax = 0.0, total = 0.0, floor_pw, pmax = 0.0;
  size_t start;

  if (n < (size_t) n_fft || hop < 1) {
    fftwf_free (buf);
    fftwf_free (spec);
    return NAN;
  }
  n_frames = (int) ((n - n_fft) / hop) + 1;
  pa = g_new (double, (size_t) n_frames * n_bins);
  pb = g_new (double, (size_t) n_frames * n_bins);
  ea = g_new0 (double, n_frames);
  eb = g_new0 (double, n_frames);
  affect_fftw_planner_lock ();
  fwd = fftwf_plan_dft_r2c_1d (n_fft, buf, spec, FFTW_ESTIMATE);
  affect_fftw_planner_unlock ();

  for (i = 0; i < n_frames; i++) {
    int s;
    for (s = 0; s < 2; s++) {
      const float *x = s ? b : a;
      double *P = (s ? pb : pa) + (size_t) i * n_bins;
      double *e = s ? eb : ea;

      start = (size_t) i * hop;
      /* non-finite samples count as silence, as in the analysis */
      for (k = 0; k < n_fft; k++) {
        float v = isfinite (x[start + k]) ? x[start + k] : 0.0f;
        buf[k] = v * (float) (0.5 - 0.5 * cos (2.0 * M_PI * k / n_fft));
      }
      fftwf_execute (fwd);
      for (k = 0; k < n_bins; k++) {
        P[k] = (double) spec[k][0] * spec[k][0] +
            (double) spec[k][1] * spec[k][1];
        e[i] += P[k];
        if (!s)
          pmax = MAX (pmax, P[k]);
      }
      emax = MAX (emax, e[i]);
    }
  }
  /* an 80 dB range below the reference's loudest bin: what lies under it
   * is inaudible and would only measure the floors' randomness */
  floor_pw = MAX (pmax * 1e-8, 1e-20);
  for (i = 0; i < n_frames; i++) {
    const double *PA = pa + (size_t) i * n_bins, *PB = pb + (size_t) i * n_bins;
    double acc = 0.0;
    int m, n_out = n_bands > 0 ? MIN (n_bands, n_bins) : n_bins;

    if (MAX (ea[i], eb[i]) < emax * 1e-6)
      continue;
    for (m = 0; m < n_out; m++) {
      int lo = n_bands > 0 ? (int) ((double) m * n_bins / n_out) : m;
      int hi = n_bands > 0 ? (int) ((double) (m + 1) * n_bins / n_out) : m + 1;
      double sa = 0.0, sb = 0.0, r;

      for (k = lo; k < hi; k++) {
        sa += PA[k];
        sb += PB[k];
      }
      r = 10.0 * log10 ((sa / (hi - lo) + floor_pw) /
          (sb / (hi - lo) + floor_pw));
      acc += r * r;
    }
    total += sqrt (acc / n_out);
    used++;
  }

  affect_fftw_planner_lock ();
  fftwf_destroy_plan (fwd);
  affect_fftw_planner_unlock ();
  fftwf_free (buf);
  fftwf_free (spec);
  g_free (pa);
  g_free (pb);
  g_free (ea);
  g_free (eb);
  return used ? total / used : 0.0;
}

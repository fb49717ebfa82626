/* Harmonic-plus-noise generator: F0 tracking on tones of known F0, noise
 * envelope on noise of known power, reconstruction distance, determinism. */
#include <math.h>
#include <string.h>

#include "affect/hnr.h"
#include "affect/nn.h"

#define RATE 16000

/* a harmonic tone whose F0 follows f0_at(t); amplitudes 1/h */
typedef double (*F0Fn) (double t);

static float *
make_tone (F0Fn f0_at, double seconds, int n_harm, double level, size_t *n)
{
  size_t len = (size_t) (seconds * RATE), i;
  float *x = g_new (float, len);
  double phase = 0.0;
  int h;

  for (i = 0; i < len; i++) {
    double f = f0_at ((double) i / RATE), acc = 0.0;
    phase += 2.0 * M_PI * f / RATE;
    for (h = 1; h <= n_harm && h * f < 0.45 * RATE; h++)
      acc += sin (h * phase) / h;
    x[i] = (float) (level * acc);
  }
  *n = len;
  return x;
}

static double glide_start = 120.0, glide_end = 400.0, glide_secs = 2.0;

static double
f0_glide (double t)
{
  return glide_start * pow (glide_end / glide_start, t / glide_secs);
}

static double const_f0;

static double
f0_const (double t)
{
  return const_f0;
}

/* mean and max |error| in cents over the frames whose window lies wholly
 * inside the signal */
static void
f0_error (const AffectHnrFeatures * f, const AffectHnrParams * p, F0Fn f0_at,
    size_t n, double *mean_cents, double *max_cents, double *voiced)
{
  int i, used = 0, v = 0;
  double sum = 0.0, mx = 0.0;

  for (i = 0; i < f->n_frames; i++) {
    gint64 c = (gint64) i * p->hop;
    double truth, err;
    if (c - p->window / 2 < 0 || c + p->window / 2 > (gint64) n)
      continue;
    used++;
    if (f->f0[i] <= 0)
      continue;
    v++;
    truth = f0_at ((double) c / RATE);
    err = fabs (1200.0 * log2 (f->f0[i] / truth));
    sum += err;
    mx = MAX (mx, err);
  }
  *mean_cents = v ? sum / v : 1e9;
  *max_cents = mx;
  *voiced = used ? (double) v / used : 0.0;
}

static void
test_f0_constant (void)
{
  static const double freqs[] = { 62.5, 110.0, 220.0, 440.0, 880.0 };
  AffectHnrParams p;
  AffectHnrPlan *plan;
  guint k;

  affect_hnr_params_init (&p, RATE);
  plan = affect_hnr_plan_new (&p, NULL);
  g_assert_nonnull (plan);
  for (k = 0; k < G_N_ELEMENTS (freqs); k++) {
    size_t n;
    float *x;
    AffectHnrFeatures *f;
    double mean, mx, voiced;

    const_f0 = freqs[k];
    x = make_tone (f0_const, 1.0, 12, 0.1, &n);
    f = affect_hnr_analyse (plan, x, n);
    f0_error (f, &p, f0_const, n, &mean, &mx, &voiced);
    g_test_message ("F0 %.1f Hz: mean error %.3f cents, max %.3f, voiced %.2f",
        freqs[k], mean, mx, voiced);
    g_assert_cmpfloat (voiced, ==, 1.0);
    g_assert_cmpfloat (mean, <, 1.0);
    g_assert_cmpfloat (mx, <, 2.0);
    affect_hnr_features_free (f);
    g_free (x);
  }
  affect_hnr_plan_free (plan);
}

static void
test_f0_glide (void)
{
  AffectHnrParams p;
  AffectHnrPlan *plan;
  AffectHnrFeatures *f;
  size_t n;
  float *x = make_tone (f0_glide, glide_secs, 20, 0.1, &n);
  double mean, mx, voiced;

  affect_hnr_params_init (&p, RATE);
  plan = affect_hnr_plan_new (&p, NULL);
  f = affect_hnr_analyse (plan, x, n);
  f0_error (f, &p, f0_glide, n, &mean, &mx, &voiced);
  g_test_message ("F0 glide 120→400 Hz: mean error %.2f cents, max %.2f, "
      "voiced %.2f", mean, mx, voiced);
  g_assert_cmpfloat (voiced, >, 0.98);
  g_assert_cmpfloat (mean, <, 0.5);
  g_assert_cmpfloat (mx, <, 2.0);
  affect_hnr_features_free (f);
  affect_hnr_plan_free (plan);
  g_free (x);
}

static double
rms_db (const float *x, size_t n)
{
  double s = 0.0;
  size_t i;
  for (i = 0; i < n; i++)
    s += (double) x[i] * x[i];
  return 10.0 * log10 (s / n + 1e-20);
}

static void
test_harmonic_amplitudes (void)
{
  AffectHnrParams p;
  AffectHnrPlan *plan;
  AffectHnrFeatures *f;
  size_t n;
  float *x;
  int i, h, used = 0;
  double worst = 0.0;

  const_f0 = 200.0;
  x = make_tone (f0_const, 1.0, 10, 0.2, &n);
  affect_hnr_params_init (&p, RATE);
  plan = affect_hnr_plan_new (&p, NULL);
  f = affect_hnr_analyse (plan, x, n);
  for (i = 10; i < f->n_frames - 10; i++, used++)
    for (h = 1; h <= 10; h++) {
      double est = f->harmonics[(size_t) i * f->n_harmonics + h - 1];
      double err = fabs (20.0 * log10 (est / (0.2 / h)));
      worst = MAX (worst, err);
    }
  g_test_message ("harmonic amplitudes (200 Hz, 10 partials): worst error "
      "%.3f dB over %d frames", worst, used);
  g_assert_cmpint (used, >, 50);
  g_assert_cmpfloat (worst, <, 0.5);
  affect_hnr_features_free (f);
  affect_hnr_plan_free (plan);
  g_free (x);
}

static void
test_noise_envelope (void)
{
  AffectHnrParams p;
  AffectHnrPlan *plan;
  AffectHnrFeatures *f;
  AffectRng rng;
  size_t n = RATE * 2, i;
  float *x = g_new (float, n), *y = g_new (float, n);
  double sigma = 0.05, mean_db = 0.0, worst = 0.0, voiced = 0.0, lsd, lsd_env;
  int fr, b, count = 0;

  affect_rng_init (&rng, 3);
  for (i = 0; i < n; i++)
    x[i] = (float) (sigma * affect_rng_normal (&rng));
  affect_hnr_params_init (&p, RATE);
  plan = affect_hnr_plan_new (&p, NULL);
  f = affect_hnr_analyse (plan, x, n);
  for (fr = 10; fr < f->n_frames - 10; fr++) {
    voiced += f->f0[fr] > 0;
    for (b = 1; b < f->n_noise_bands; b++) {
      mean_db += f->noise[(size_t) fr * f->n_noise_bands + b];
      count++;
    }
  }
  /* mean power, then dB: the mean of dB would carry the log's bias */
  mean_db = 10.0 * log10 (mean_db / count / (sigma * sigma));
  voiced /= f->n_frames - 20;
  affect_hnr_synthesise (plan, f, 9, y, n);
  worst = fabs (rms_db (y + RATE / 10, n - RATE / 5) - rms_db (x + RATE / 10,
          n - RATE / 5));
  lsd = affect_log_spectral_distance (x, y, n, 512, 256, 0);
  lsd_env = affect_log_spectral_distance (x, y, n, 512, 256, 16);
  g_test_message ("white noise: band power bias %.2f dB, voiced %.3f, "
      "resynthesised level error %.2f dB, LSD %.2f dB (16 bands: %.2f dB)",
      mean_db, voiced, worst, lsd, lsd_env);
  g_assert_cmpfloat (fabs (mean_db), <, 0.3);
  g_assert_cmpfloat (voiced, <, 0.05);
  g_assert_cmpfloat (worst, <, 0.5);
  /* two independent white noises differ by ~7 dB LSD per 512-bin frame
   * (log of a chi-square ratio); a shaped-but-wrong level would add more */
  g_assert_cmpfloat (lsd, <, 8.5);
  /* two independent noises pooled over 16-bin bands: ~1.8 dB */
  g_assert_cmpfloat (lsd_env, <, 2.2);
  affect_hnr_features_free (f);
  affect_hnr_plan_free (plan);
  g_free (x);
  g_free (y);
}

static void
test_reconstruction (void)
{
  AffectHnrParams p;
  AffectHnrPlan *plan;
  AffectRng rng;
  size_t n, i;
  float *x = make_tone (f0_glide, glide_secs, 20, 0.1, &n);
  float *y = g_new (float, n), *z = g_new (float, n);
  double lsd, lsd_env, lsd_wrong, mean, mx, voiced, noise_bias;
  AffectHnrFeatures *f, *g;

  /* a glide with breath noise 30 dB below the tone */
  affect_rng_init (&rng, 5);
  for (i = 0; i < n; i++)
    x[i] += (float) (0.003 * affect_rng_normal (&rng));
  affect_hnr_params_init (&p, RATE);
  plan = affect_hnr_plan_new (&p, NULL);
  affect_hnr_execute (plan, x, y, n, 1);
  lsd = affect_log_spectral_distance (x, y, n, 512, 128, 0);
  lsd_env = affect_log_spectral_distance (x, y, n, 512, 128, 16);

  /* the reconstruction tracks the same F0 as the original */
  f = affect_hnr_analyse (plan, y, n);
  f0_error (f, &p, f0_glide, n, &mean, &mx, &voiced);

  /* a reference for scale: the same tone a whole tone off */
  glide_start *= 9.0 / 8.0;
  glide_end *= 9.0 / 8.0;
  g_free (z);
  z = make_tone (f0_glide, glide_secs, 20, 0.1, &i);
  glide_start /= 9.0 / 8.0;
  glide_end /= 9.0 / 8.0;
  lsd_wrong = affect_log_spectral_distance (x, z, n, 512, 128, 0);
  /* the noise under a gliding tone: its masks widen with the glide, so
   * the smeared harmonics do not leak into the noise estimate */
  g = affect_hnr_analyse (plan, x, n);
  {
    double acc = 0.0;
    int fr, b, count = 0;
    for (fr = 10; fr < g->n_frames - 10; fr++)
      for (b = 0; b < g->n_noise_bands; b++, count++)
        acc += g->noise[(size_t) fr * g->n_noise_bands + b];
    noise_bias = 10.0 * log10 (acc / count / (0.003 * 0.003));
  }

  g_test_message ("reconstruction of glide + noise: LSD %.2f dB, 16 bands "
      "%.2f dB (tone a whole tone off: %.2f dB); F0 of the reconstruction: "
      "mean error %.2f cents; noise level under the glide %+.2f dB", lsd,
      lsd_env, lsd_wrong, mean, noise_bias);
  /* a glide of 1.7 octaves in 2 s is not stationary over a 34 ms window:
   * what is left of its lobes still raises the noise a little (+8.6 dB
   * before the harmonic model was subtracted) */
  g_assert_cmpfloat (fabs (noise_bias), <, 4.0);
  /* per bin, the noise between harmonics alone costs ~7.7 dB (two
   * independent noises); pooled into bands the envelope must match */
  g_assert_cmpfloat (lsd, <, 7.5);
  g_assert_cmpfloat (lsd_env, <, 1.6);
  g_assert_cmpfloat (lsd, <, 0.5 * lsd_wrong);
  g_assert_cmpfloat (mean, <, 1.0);
  g_assert_cmpfloat (fabs (rms_db (x, n) - rms_db (y, n)), <, 0.5);
  affect_hnr_features_free (f);
  affect_hnr_features_free (g);
  affect_hnr_plan_free (plan);
  g_free (x);
  g_free (y);
  g_free (z);
}

/* noise 30 dB under a steady tone: the harmonics' window transforms are
 * subtracted, so their side lobes do not pass for noise */
static void
test_noise_under_tone (void)
{
  AffectHnrParams p;
  AffectHnrPlan *plan;
  AffectHnrFeatures *f;
  AffectRng rng;
  size_t n, i;
  float *x;
  double acc = 0.0, low = 0.0, bias, bias_low;
  int fr, b, count = 0, count_low = 0;

  const_f0 = 220.0;
  x = make_tone (f0_const, 1.0, 20, 0.1, &n);
  affect_rng_init (&rng, 8);
  for (i = 0; i < n; i++)
    x[i] += (float) (0.003 * affect_rng_normal (&rng));
  affect_hnr_params_init (&p, RATE);
  plan = affect_hnr_plan_new (&p, NULL);
  f = affect_hnr_analyse (plan, x, n);
  for (fr = 10; fr < f->n_frames - 10; fr++)
    for (b = 0; b < f->n_noise_bands; b++) {
      double v = f->noise[(size_t) fr * f->n_noise_bands + b];
      acc += v;
      count++;
      if (b < f->n_noise_bands / 4) {
        low += v;
        count_low++;
      }
    }
  bias = 10.0 * log10 (acc / count / (0.003 * 0.003));
  bias_low = 10.0 * log10 (low / count_low / (0.003 * 0.003));
  g_test_message ("noise 30 dB under a 220 Hz tone: level error %+.2f dB "
      "(below 2 kHz, among the strongest harmonics: %+.2f dB)", bias, bias_low);
  g_assert_cmpfloat (fabs (bias), <, 1.0);
  g_assert_cmpfloat (fabs (bias_low), <, 1.5);
  affect_hnr_features_free (f);
  affect_hnr_plan_free (plan);
  g_free (x);
}

static void
test_deterministic_and_safe (void)
{
  AffectHnrParams p;
  AffectHnrPlan *plan;
  size_t n, i;
  float *x, *y1, *y2, *y3;

  const_f0 = 330.0;
  x = make_tone (f0_const, 0.5, 8, 0.1, &n);
  y1 = g_new (float, n);
  y2 = g_new (float, n);
  y3 = g_new (float, n);
  affect_hnr_params_init (&p, RATE);
  plan = affect_hnr_plan_new (&p, NULL);
  affect_hnr_execute (plan, x, y1, n, 7);
  affect_hnr_execute (plan, x, y2, n, 7);
  affect_hnr_execute (plan, x, y3, n, 8);
  g_assert_cmpint (memcmp (y1, y2, n * sizeof (float)), ==, 0);
  g_assert_cmpint (memcmp (y1, y3, n * sizeof (float)), !=, 0);

  /* silence stays silent; NaN/Inf in the input never reach the output */
  memset (x, 0, n * sizeof (float));
  affect_hnr_execute (plan, x, y1, n, 7);
  for (i = 0; i < n; i++)
    g_assert_cmpfloat (fabs (y1[i]), <, 1e-6);
  x[100] = NAN;
  x[200] = INFINITY;
  affect_hnr_execute (plan, x, y1, n, 7);
  for (i = 0; i < n; i++)
    g_assert_true (isfinite (y1[i]));
  /* and the distance to such an input is a number (NaN/Inf as silence) */
  {
    double lsd = affect_log_spectral_distance (x, y1, n, 512, 256, 0);
    double lsd_bands = affect_log_spectral_distance (x, y1, n, 512, 256, 16);
    g_assert_true (isfinite (lsd));
    g_assert_true (isfinite (lsd_bands));
    g_assert_cmpfloat (lsd, >=, 0.0);
  }
  /* in place */
  affect_hnr_execute (plan, y2, y2, n, 7);
  for (i = 0; i < n; i++)
    g_assert_true (isfinite (y2[i]));
  /* very short input: fewer samples than one window */
  affect_hnr_execute (plan, y3, y3, 10, 7);
  affect_hnr_plan_free (plan);

  /* parameters that cannot work are refused with a reason */
  {
    GError *error = NULL;
    p.f0_min = 10.0;
    g_assert_null (affect_hnr_plan_new (&p, &error));
    g_assert_nonnull (error);
    g_test_message ("refused: %s", error->message);
    g_error_free (error);
  }
  g_free (x);
  g_free (y1);
  g_free (y2);
  g_free (y3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hnr/f0-constant", test_f0_constant);
  g_test_add_func ("/hnr/f0-glide", test_f0_glide);
  g_test_add_func ("/hnr/harmonic-amplitudes", test_harmonic_amplitudes);
  g_test_add_func ("/hnr/noise-envelope", test_noise_envelope);
  g_test_add_func ("/hnr/noise-under-tone", test_noise_under_tone);
  g_test_add_func ("/hnr/reconstruction", test_reconstruction);
  g_test_add_func ("/hnr/deterministic-and-safe", test_deterministic_and_safe);
  return g_test_run ();
}

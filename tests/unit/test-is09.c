/* libaffect IS09: F0 post-processing, streaming functionals against a
 * direct two-pass computation, frame-count rules, buffering independence,
 * sliding windows, bad input, names and CSV layout. */
#include <math.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "affect/is09.h"

#define RATE 16000

static float *
make_signal (gsize n, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    x[i] = 0.3f * sinf (2.0f * G_PI * 180.0f * i / RATE)
        * (0.6f + 0.4f * sinf (2.0f * G_PI * 1.3f * i / RATE))
        + 0.05f * (float) g_rand_double_range (r, -1, 1);
  g_rand_free (r);
  return x;
}

static gboolean
extract (AffectIs09Plan * plan, const float *x, gsize n, float *feat)
{
  AffectIs09 *e = affect_is09_new (plan);
  gboolean ok;
  affect_is09_push (e, x, n);
  ok = affect_is09_finish (e, feat);
  affect_is09_free (e);
  return ok;
}

static void
assert_all_finite (const float *feat)
{
  for (int i = 0; i < AFFECT_IS09_N_FEATURES; i++)
    g_assert_true (isfinite (feat[i]));
}

/* DEFINITIONS examples of cPitchACF's output state machine */
static void
test_pitch_post_process (void)
{
  const struct
  {
    float in[6], out[6];
    int n;
  } cases[] = {
    {{0, 200, 200, 0, 0}, {0, 0, 200, 200, 0}, 5},
    {{0, 200, 0, 0}, {0, 0, 0, 0}, 4},  /* isolated voiced frame */
    {{0, 100, 200, 200, 0, 0}, {0, 0, 100, 100, 105, 0}, 6},
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    AffectIs09PitchState s;
    affect_is09_pitch_state_init (&s);
    for (int i = 0; i < cases[c].n; i++) {
      float f0 = affect_is09_pitch_post_process (&s, cases[c].in[i]);
      g_assert_cmpfloat_with_epsilon (f0, cases[c].out[i], 1e-3);
    }
  }
}

/* two-pass double reference of the 12 functionals (as the reference does) */
static void
direct_functionals (const float *c, int K, double *out)
{
  double sum = 0, num = 0, m2 = 0, m3 = 0, m4 = 0, err = 0, m, t;
  float mx = c[0], mn = c[0], mean;
  int imax = 0, imin = 0;
  for (int i = 0; i < K; i++) {
    if (c[i] > mx) {
      mx = c[i];
      imax = i;
    }
    if (c[i] < mn) {
      mn = c[i];
      imin = i;
    }
    sum += c[i];
    num += (double) i *c[i];
  }
  mean = (float) (sum / K);
  if (K == 1) {
    m = 0;
    t = c[0];
  } else {
    double S1 = K * (K - 1.0) / 2, S2 = K * (K - 1.0) * (2.0 * K - 1) / 6;
    t = ((double) mean * K - num * S1 / S2) / (K - S1 * S1 / S2);
    m = (num - t * S1) / S2;
  }
  for (int i = 0; i < K; i++) {
    double d = c[i] - (double) mean, r = c[i] - (m * i + t);
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
    err += r * r;
  }
  m2 /= K;
  out[0] = mx;
  out[1] = mn;
  out[2] = mx - mn;
  out[3] = imax;
  out[4] = imin;
  out[5] = mean;
  out[6] = m;
  out[7] = t;
  out[8] = err / K;
  out[9] = m2 > 0 ? sqrt (m2) : 0;
  out[10] = m2 > 0 ? m3 / (K * pow (m2, 1.5)) : 0;
  out[11] = m2 > 0 ? m4 / (K * m2 * m2) : 0;
}

static void
test_functionals_streaming (void)
{
  const int lengths[] = { 1, 2, 3, 17, 5000 };
  GRand *r = g_rand_new_with_seed (7);
  for (guint li = 0; li < G_N_ELEMENTS (lengths); li++) {
    int K = lengths[li];
    float *rows = g_new (float, (gsize) K * AFFECT_IS09_N_CONTOURS);
    float *contour = g_new (float, K);
    float feat[AFFECT_IS09_N_FEATURES];
    AffectIs09Functionals *f = affect_is09_functionals_new ();
    for (int i = 0; i < K; i++)
      for (int j = 0; j < AFFECT_IS09_N_CONTOURS; j++) {
        /* contour kinds: large offset + slope, skewed, near-constant */
        double u = g_rand_double (r);
        float v;
        if (j % 3 == 0)
          v = (float) (150.0 + 0.01 * i + u);
        else if (j % 3 == 1)
          v = (float) (u * u * u - 0.2);
        else
          v = (float) (0.955 + 1e-5 * u);
        rows[(gsize) i * AFFECT_IS09_N_CONTOURS + j] = v;
      }
    for (int i = 0; i < K; i++)
      affect_is09_functionals_add (f, rows + (gsize) i *
          AFFECT_IS09_N_CONTOURS);
    g_assert_cmpuint (affect_is09_functionals_get_n_rows (f), ==, K);
    affect_is09_functionals_compute (f, feat);
    for (int j = 0; j < AFFECT_IS09_N_CONTOURS; j++) {
      double ref[AFFECT_IS09_N_FUNCTIONALS];
      for (int i = 0; i < K; i++)
        contour[i] = rows[(gsize) i * AFFECT_IS09_N_CONTOURS + j];
      direct_functionals (contour, K, ref);
      for (int k = 0; k < AFFECT_IS09_N_FUNCTIONALS; k++) {
        double got = feat[j * AFFECT_IS09_N_FUNCTIONALS + k];
        double tol = 2e-6 * MAX (1.0, fabs (ref[k]));
        /* near-constant contours: skewness/kurtosis and the regression
         * error are conditioned by 1/stddev, still far below 1e-4 */
        if (j % 3 == 2 && k >= 8)
          tol = 1e-4 * MAX (1.0, fabs (ref[k]));
        if (fabs (got - ref[k]) > tol)
          g_error ("K=%d contour %d functional %d: %.9g vs %.9g", K, j, k,
              got, ref[k]);
      }
    }
    affect_is09_functionals_free (f);
    g_free (rows);
    g_free (contour);
  }
  g_rand_free (r);
}

typedef struct
{
  guint64 rows;
  gboolean finite;
} RowCount;

static void
count_rows (guint64 row, const float *v, gpointer data)
{
  RowCount *c = data;
  g_assert_cmpuint (row, ==, c->rows);
  for (int j = 0; j < AFFECT_IS09_N_CONTOURS; j++)
    c->finite &= isfinite (v[j]);
  c->rows++;
}

/* N = floor((L-400)/160)+1 frames, N+1 LLD rows, nothing below 400 */
static void
test_frame_counts (void)
{
  AffectIs09Plan *plan = affect_is09_plan_new (RATE, NULL);
  AffectIs09 *e = affect_is09_new (plan);
  float *x = make_signal (44555, 1), feat[AFFECT_IS09_N_FEATURES];
  const gsize lengths[] = { 0, 399, 400, 559, 560, 720, 880, 44555 };

  g_assert_cmpint (affect_is09_plan_get_frame_size (plan), ==, 400);
  g_assert_cmpint (affect_is09_plan_get_frame_step (plan), ==, 160);
  g_assert_cmpint (affect_is09_plan_get_fft_size (plan), ==, 512);
  for (guint k = 0; k < G_N_ELEMENTS (lengths); k++) {
    RowCount c = { 0, TRUE };
    gsize L = lengths[k];
    guint64 N = L >= 400 ? (L - 400) / 160 + 1 : 0;
    affect_is09_set_lld_func (e, count_rows, &c);
    affect_is09_push (e, x, L);
    g_assert_cmpuint (affect_is09_get_n_frames (e), ==, N);
    g_assert_cmpint (affect_is09_finish (e, feat), ==, N > 0);
    g_assert_cmpuint (c.rows, ==, N > 0 ? N + 1 : 0);
    g_assert_true (c.finite);
    assert_all_finite (feat);
    if (N == 0)
      for (int i = 0; i < AFFECT_IS09_N_FEATURES; i++)
        g_assert_cmpfloat (feat[i], ==, 0.0f);
    if (N > 0) {
      /* maxPos / minPos are frame indices below max(N-2, 1) */
      float K = N >= 3 ? N - 2 : 1;
      for (int j = 0; j < AFFECT_IS09_N_CONTOURS; j++) {
        g_assert_cmpfloat (feat[j * 12 + 3], <, K);
        g_assert_cmpfloat (feat[j * 12 + 4], <, K);
      }
    }
  }
  affect_is09_free (e);
  affect_is09_plan_free (plan);
  g_free (x);
}

/* the features do not depend on how the input is cut into buffers */
static void
test_buffering (void)
{
  AffectIs09Plan *plan = affect_is09_plan_new (RATE, NULL);
  AffectIs09 *e = affect_is09_new (plan);
  const gsize n = 3 * RATE + 123;
  float *x = make_signal (n, 2);
  float a[AFFECT_IS09_N_FEATURES], b[AFFECT_IS09_N_FEATURES];
  GRand *r = g_rand_new_with_seed (3);

  g_assert_true (extract (plan, x, n, a));
  for (gsize i = 0; i < n;) {
    gsize m = (gsize) g_rand_int_range (r, 1, 2000);
    m = MIN (m, n - i);
    affect_is09_push (e, x + i, m);
    i += m;
  }
  g_assert_true (affect_is09_finish (e, b));
  g_assert_cmpmem (a, sizeof (a), b, sizeof (b));
  /* finish resets: the same item again gives the same vector */
  affect_is09_push (e, x, n);
  g_assert_true (affect_is09_finish (e, b));
  g_assert_cmpmem (a, sizeof (a), b, sizeof (b));
  g_rand_free (r);
  affect_is09_free (e);
  affect_is09_plan_free (plan);
  g_free (x);
}

typedef struct
{
  AffectIs09Plan *plan;
  const float *x;
  guint complete, partial;
} WindowCheck;

static void
check_window (guint64 start, guint64 n, gboolean complete,
    const float *features, gpointer data)
{
  WindowCheck *w = data;
  float own[AFFECT_IS09_N_FEATURES];
  /* a window is computed as if it were an item of its own */
  g_assert_true (extract (w->plan, w->x + start, n, own));
  g_assert_cmpmem (own, sizeof (own), features, sizeof (own));
  if (complete)
    w->complete++;
  else
    w->partial++;
}

static void
test_windows (void)
{
  AffectIs09Plan *plan = affect_is09_plan_new (RATE, NULL);
  AffectIs09 *e = affect_is09_new (plan);
  const gsize n = 5 * RATE + 1000;
  float *x = make_signal (n, 4), feat[AFFECT_IS09_N_FEATURES];
  WindowCheck w = { plan, x, 0, 0 };

  g_assert_false (affect_is09_set_windows (e, 399, 160, check_window, &w));
  /* 2 s windows every 0.5 s over 5.0625 s: starts 0, 0.5, ..., 3.0 */
  g_assert_true (affect_is09_set_windows (e, 2 * RATE, RATE / 2,
          check_window, &w));
  for (gsize i = 0; i < n; i += 777)
    affect_is09_push (e, x + i, MIN (777, n - i));
  g_assert_cmpuint (w.complete, ==, 7);
  g_assert_true (affect_is09_finish (e, feat));
  g_assert_cmpuint (w.partial, ==, 1);
  affect_is09_free (e);
  affect_is09_plan_free (plan);
  g_free (x);
}

/* digital silence: every LLD 0 except ZCR = 0.995 (openSMILE's rule) */
static void
test_silence (void)
{
  AffectIs09Plan *plan = affect_is09_plan_new (RATE, NULL);
  float *x = g_new0 (float, RATE), feat[AFFECT_IS09_N_FEATURES];
  const int zcr = 13 * 12;

  g_assert_true (extract (plan, x, RATE, feat));
  for (int i = 0; i < AFFECT_IS09_N_FEATURES; i++) {
    if (i == zcr + 0 || i == zcr + 1 || i == zcr + 5 || i == zcr + 7)
      g_assert_cmpfloat_with_epsilon (feat[i], 0.995f, 1e-6);
    else
      g_assert_cmpfloat (feat[i], ==, 0.0f);
  }
  affect_is09_plan_free (plan);
  g_free (x);
}

/* NaN/Inf replaced and counted, huge values clamped, full-scale clipping:
 * always a finite vector */
static void
test_bad_input (void)
{
  AffectIs09Plan *plan = affect_is09_plan_new (RATE, NULL);
  AffectIs09 *e = affect_is09_new (plan);
  float *x = make_signal (RATE, 5), feat[AFFECT_IS09_N_FEATURES];

  x[100] = NAN;
  x[5000] = INFINITY;
  x[6000] = -INFINITY;
  x[7000] = 1e30f;
  affect_is09_push (e, x, RATE);
  g_assert_cmpuint (affect_is09_get_n_invalid (e), ==, 3);
  g_assert_cmpuint (affect_is09_get_n_clamped (e), ==, 1);
  g_assert_true (affect_is09_finish (e, feat));
  assert_all_finite (feat);
  g_assert_cmpuint (affect_is09_get_n_invalid (e), ==, 0);

  /* hard clipping: a square wave at +-1, and a signal all at +-1e4 */
  for (int i = 0; i < RATE; i++)
    x[i] = (i / 40) % 2 ? 1.0f : -1.0f;
  g_assert_true (extract (plan, x, RATE, feat));
  assert_all_finite (feat);
  for (int i = 0; i < RATE; i++)
    x[i] = (i / 53) % 2 ? AFFECT_IS09_CLAMP : -AFFECT_IS09_CLAMP;
  g_assert_true (extract (plan, x, RATE, feat));
  assert_all_finite (feat);
  /* all NaN: as silence */
  for (int i = 0; i < RATE; i++)
    x[i] = NAN;
  g_assert_true (extract (plan, x, RATE, feat));
  assert_all_finite (feat);
  g_assert_cmpfloat_with_epsilon (feat[13 * 12], 0.995f, 1e-6);
  affect_is09_free (e);
  affect_is09_plan_free (plan);
  g_free (x);
}

static void
test_other_rates (void)
{
  const int rates[] = { 8000, 11025, 22050, 32000, 44100, 48000, 96000 };
  for (guint k = 0; k < G_N_ELEMENTS (rates); k++) {
    AffectIs09Plan *plan = affect_is09_plan_new (rates[k], NULL);
    float *x = make_signal (rates[k], 6), feat[AFFECT_IS09_N_FEATURES];
    g_assert_nonnull (plan);
    g_assert_cmpint (affect_is09_plan_get_frame_size (plan), ==,
        (int) lround (0.025 * rates[k]));
    g_assert_true (extract (plan, x, rates[k], feat));
    assert_all_finite (feat);
    affect_is09_plan_free (plan);
    g_free (x);
  }
  g_assert_null (affect_is09_plan_new (100, NULL));
}

static void
test_names_and_csv (void)
{
  const char *const *names = affect_is09_feature_names ();
  const char *const *lld = affect_is09_lld_names ();
  float feat[AFFECT_IS09_N_FEATURES];
  gchar *path, *text = NULL;
  gchar **lines, **fields;
  FILE *f;
  int fd;

  g_assert_cmpuint (g_strv_length ((gchar **) names), ==, 384);
  g_assert_cmpuint (g_strv_length ((gchar **) lld), ==, 32);
  g_assert_cmpstr (names[0], ==, "pcm_RMSenergy_sma_max");
  g_assert_cmpstr (names[3 * 12 + 8], ==, "pcm_fftMag_mfcc_sma[3]_linregerrQ");
  g_assert_cmpstr (names[19 * 12 + 8], ==,
      "pcm_fftMag_mfcc_sma_de[3]_linregerrQ");
  g_assert_cmpstr (names[383], ==, "F0_sma_de_kurtosis");
  g_assert_cmpstr (lld[29], ==, "pcm_zcr_sma_de");

  for (int i = 0; i < AFFECT_IS09_N_FEATURES; i++)
    feat[i] = (float) i / 7.0f - 3.0f;
  fd = g_file_open_tmp ("is09-XXXXXX.csv", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  f = fdopen (fd, "w");
  g_assert_true (affect_is09_csv_write_header (f));
  g_assert_true (affect_is09_csv_write_row (f, "utt1", feat));
  fclose (f);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  fields = g_strsplit (lines[1], ",", -1);
  g_assert_true (g_str_has_prefix (lines[0], "name,pcm_RMSenergy_sma_max,"));
  g_assert_cmpuint (g_strv_length (fields), ==, 385);
  g_assert_cmpstr (fields[0], ==, "utt1");
  /* %.9g round-trips float32 */
  for (int i = 0; i < AFFECT_IS09_N_FEATURES; i++)
    g_assert_cmpfloat ((float) g_ascii_strtod (fields[i + 1], NULL), ==,
        feat[i]);
  g_strfreev (fields);
  g_strfreev (lines);
  g_free (text);
  g_unlink (path);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/is09/pitch-post-process", test_pitch_post_process);
  g_test_add_func ("/is09/functionals-streaming", test_functionals_streaming);
  g_test_add_func ("/is09/frame-counts", test_frame_counts);
  g_test_add_func ("/is09/buffering", test_buffering);
  g_test_add_func ("/is09/windows", test_windows);
  g_test_add_func ("/is09/silence", test_silence);
  g_test_add_func ("/is09/bad-input", test_bad_input);
  g_test_add_func ("/is09/other-rates", test_other_rates);
  g_test_add_func ("/is09/names-and-csv", test_names_and_csv);
  return g_test_run ();
}

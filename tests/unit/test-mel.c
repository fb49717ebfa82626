/* libaffect's Mel spectrogram: framing, streaming, filterbank, presets */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/mel.h"

static float *
make_signal (gsize n, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  float *x = g_new (float, MAX (n, 1));
  gsize i;

  for (i = 0; i < n; i++)
    x[i] = 0.3f * sinf (0.05f * i) + (float) g_rand_double_range (rand, -0.1,
        0.1);
  g_rand_free (rand);
  return x;
}

/* Frames of x pushed in random pieces (some empty) */
static float *
stream_in_pieces (const AffectMelPlan * plan, const float *x, gsize n,
    guint32 seed, gsize * n_frames)
{
  const AffectMelParams *p = affect_mel_plan_get_params (plan);
  AffectMelStream *s = affect_mel_stream_new (plan);
  GRand *rand = g_rand_new_with_seed (seed);
  gsize cap = affect_mel_n_frames (plan, n) + 1, got = 0, pos = 0;
  float *out = g_new0 (float, cap * p->n_mels);

  while (pos < n) {
    gsize r = g_rand_int_range (rand, 0, 700), piece = MIN (n - pos, r);
    g_assert_cmpuint (affect_mel_stream_push (s, x + pos, piece), ==, 0);
    pos += piece;
    /* pull only sometimes, and not always everything */
    if (g_rand_boolean (rand)) {
      gsize max = g_rand_int_range (rand, 1, 5);

      got += affect_mel_stream_pull (s, out + got * p->n_mels,
          MIN (max, cap - got));
    }
  }
  affect_mel_stream_finish (s);
  got += affect_mel_stream_pull (s, out + got * p->n_mels, cap - got);
  g_assert_cmpuint (affect_mel_stream_available (s), ==, 0);
  affect_mel_stream_free (s);
  g_rand_free (rand);
  *n_frames = got;
  return out;
}

static void
check_streaming (const AffectMelParams * p)
{
  static const gsize lengths[] = { 0, 1, 3, 100, 255, 256, 257, 5000, 12345 };
  AffectMelPlan *plan = affect_mel_plan_new (p);
  guint i, seed;

  g_assert_nonnull (plan);
  for (i = 0; i < G_N_ELEMENTS (lengths); i++) {
    gsize n = lengths[i], expected = affect_mel_n_frames (plan, n);
    float *x = make_signal (n, 7 + i);
    float *whole = g_new0 (float, (expected + 1) * p->n_mels);

    g_assert_cmpuint (affect_mel_execute (plan, x, n, whole), ==, expected);
    for (seed = 0; seed < 4; seed++) {
      gsize got;
      float *pieces = stream_in_pieces (plan, x, n, seed, &got);
      g_assert_cmpuint (got, ==, expected);
      /* bit for bit, whatever the cut */
      g_assert_true (memcmp (pieces, whole,
              expected * p->n_mels * sizeof (float)) == 0);
      g_free (pieces);
    }
    g_free (whole);
    g_free (x);
  }
  affect_mel_plan_free (plan);
}

static void
test_streaming (void)
{
  AffectMelParams p;

  affect_mel_params_init (&p, AFFECT_MEL_PRESET_MTG_JAMENDO);
  check_streaming (&p);
  p.pad_mode = AFFECT_MEL_PAD_REFLECT;
  check_streaming (&p);
  p.pad_mode = AFFECT_MEL_PAD_CONSTANT;
  p.pad_value = 0.125;
  check_streaming (&p);
  p.framing = AFFECT_MEL_FRAMING_ESSENTIA;
  check_streaming (&p);
  p.framing = AFFECT_MEL_FRAMING_LIBROSA;
  p.center = FALSE;
  check_streaming (&p);
  /* hop longer than the frame: samples between frames are skipped */
  affect_mel_params_init (&p, AFFECT_MEL_PRESET_NONE);
  p.sample_rate = 8000;
  p.n_fft = 128;
  p.hop = 300;
  p.n_mels = 20;
  p.win_length = 100;
  p.log = AFFECT_MEL_LOG_LN;
  check_streaming (&p);
  p.center = TRUE;
  p.pad_mode = AFFECT_MEL_PAD_REFLECT;
  check_streaming (&p);
  p.framing = AFFECT_MEL_FRAMING_ESSENTIA;
  check_streaming (&p);
}

static void
test_frame_count (void)
{
  AffectMelParams p;
  AffectMelPlan *plan;

  affect_mel_params_init (&p, AFFECT_MEL_PRESET_MTG_JAMENDO);
  plan = affect_mel_plan_new (&p);
  /* centred: 1 + n / hop (librosa); the first frame is centred on sample 0 */
  g_assert_cmpuint (affect_mel_n_frames (plan, 0), ==, 0);
  g_assert_cmpuint (affect_mel_n_frames (plan, 1), ==, 1);
  g_assert_cmpuint (affect_mel_n_frames (plan, 256), ==, 2);
  g_assert_cmpuint (affect_mel_n_frames (plan, 12000 * 30), ==,
      1 + 12000 * 30 / 256);
  g_assert_cmpint (affect_mel_plan_lookahead (plan), ==, 256);
  affect_mel_plan_free (plan);

  p.center = FALSE;
  plan = affect_mel_plan_new (&p);
  g_assert_cmpuint (affect_mel_n_frames (plan, 511), ==, 0);
  g_assert_cmpuint (affect_mel_n_frames (plan, 512), ==, 1);
  g_assert_cmpuint (affect_mel_n_frames (plan, 1024), ==, 3);
  g_assert_cmpint (affect_mel_plan_lookahead (plan), ==, 512);
  affect_mel_plan_free (plan);

  /* Essentia: up to the first frame centred at or past the end */
  p.center = TRUE;
  p.framing = AFFECT_MEL_FRAMING_ESSENTIA;
  plan = affect_mel_plan_new (&p);
  g_assert_cmpuint (affect_mel_n_frames (plan, 0), ==, 0);
  g_assert_cmpuint (affect_mel_n_frames (plan, 1), ==, 2);
  g_assert_cmpuint (affect_mel_n_frames (plan, 1000), ==, 5);
  g_assert_cmpuint (affect_mel_n_frames (plan, 1024), ==, 5);
  g_assert_cmpuint (affect_mel_n_frames (plan, 1025), ==, 6);
  affect_mel_plan_free (plan);
  /* … unless that frame would start past the end */
  p.n_fft = 128;
  p.hop = 300;
  plan = affect_mel_plan_new (&p);
  g_assert_cmpuint (affect_mel_n_frames (plan, 100), ==, 1);
  g_assert_cmpuint (affect_mel_n_frames (plan, 250), ==, 2);
  affect_mel_plan_free (plan);
  p.center = FALSE;
  g_assert_false (affect_mel_params_validate (&p, NULL));
}

/* One frame against a direct DFT in double, through the plan's own
 * filterbank: checks window, transform, power and the sparse product */
static void
test_direct_dft (void)
{
  AffectMelParams p;
  AffectMelPlan *plan;
  const int n_fft = 64, n_bins = 33, n_mels = 8;
  float *x = make_signal (4096, 3), fb[8 * 33], out[8 * 200];
  double power[33];
  int k, j, m, t;

  affect_mel_params_init (&p, AFFECT_MEL_PRESET_NONE);
  p.sample_rate = 8000;
  p.n_fft = n_fft;
  p.hop = 20;
  p.n_mels = n_mels;
  p.center = FALSE;
  p.window = AFFECT_MEL_WINDOW_HAMMING;
  plan = affect_mel_plan_new (&p);
  affect_mel_plan_get_filterbank (plan, fb);
  g_assert_cmpuint (affect_mel_execute (plan, x, 2000, out), ==,
      1 + (2000 - 64) / 20);

  for (t = 0; t < 90; t += 17) {
    for (k = 0; k < n_bins; k++) {
      double re = 0, im = 0;
      for (j = 0; j < n_fft; j++) {
        double w = 0.54 - 0.46 * cos (2 * G_PI * j / n_fft);
        double v = w * x[t * 20 + j];
        re += v * cos (2 * G_PI * j * k / n_fft);
        im -= v * sin (2 * G_PI * j * k / n_fft);
      }
      power[k] = re * re + im * im;
    }
    for (m = 0; m < n_mels; m++) {
      double ref = 0;
      for (k = 0; k < n_bins; k++)
        ref += fb[m * n_bins + k] * power[k];
      g_assert_cmpfloat_with_epsilon (out[t * n_mels + m], ref,
          1e-5 * ref + 1e-9);
    }
  }
  affect_mel_plan_free (plan);
  g_free (x);
}

/* Slaney norm: each triangle has unit area in Hz (Essentia unit_tri); no
 * norm: peak 1 */
static void
test_filterbank (void)
{
  AffectMelParams p;
  AffectMelPlan *plan;
  int n_bins = 16384 / 2 + 1, m, k;
  float *fb = g_new (float, 40 * n_bins);
  double df = 16000.0 / 16384;

  affect_mel_params_init (&p, AFFECT_MEL_PRESET_NONE);
  p.sample_rate = 16000;
  p.n_fft = 16384;
  p.n_mels = 40;
  p.fmin = 100;
  p.fmax = 7000;
  plan = affect_mel_plan_new (&p);
  g_assert_cmpint (affect_mel_plan_n_empty_bands (plan), ==, 0);
  affect_mel_plan_get_filterbank (plan, fb);
  for (m = 0; m < 40; m++) {
    double area = 0;
    for (k = 0; k < n_bins; k++)
      area += fb[m * n_bins + k] * df;
    g_assert_cmpfloat_with_epsilon (area, 1.0, 2e-3);
  }
  affect_mel_plan_free (plan);

  p.norm = AFFECT_MEL_NORM_NONE;
  p.mel_scale = AFFECT_MEL_SCALE_HTK;
  plan = affect_mel_plan_new (&p);
  affect_mel_plan_get_filterbank (plan, fb);
  for (m = 0; m < 40; m++) {
    float peak = 0;
    for (k = 0; k < n_bins; k++)
      peak = MAX (peak, fb[m * n_bins + k]);
    g_assert_cmpfloat (peak, <=, 1.0f);
    g_assert_cmpfloat (peak, >, 0.95f);
  }
  affect_mel_plan_free (plan);

  /* 128 bands cannot fit 33 bins: the plan says so */
  p.n_fft = 64;
  p.n_mels = 128;
  plan = affect_mel_plan_new (&p);
  g_assert_cmpint (affect_mel_plan_n_empty_bands (plan), >, 0);
  affect_mel_plan_free (plan);
  g_free (fb);
}

static void
test_presets_and_validation (void)
{
  AffectMelParams p;
  GError *error = NULL;

  affect_mel_params_init (&p, AFFECT_MEL_PRESET_MTG_JAMENDO);
  g_assert_cmpint (p.sample_rate, ==, 12000);
  g_assert_cmpint (p.n_fft, ==, 512);
  g_assert_cmpint (p.hop, ==, 256);
  g_assert_cmpint (p.window, ==, AFFECT_MEL_WINDOW_HANN_SYMMETRIC);
  g_assert_true (p.center);
  g_assert_cmpint (p.n_mels, ==, 96);
  g_assert_cmpfloat (p.fmax, ==, 6000.0);
  g_assert_cmpint (p.mel_scale, ==, AFFECT_MEL_SCALE_SLANEY);
  g_assert_cmpint (p.norm, ==, AFFECT_MEL_NORM_SLANEY);
  g_assert_cmpint (p.log, ==, AFFECT_MEL_LOG_DB);
  g_assert_cmpfloat (10 * log10 (p.amin), ==, -90.0);
  g_assert_cmpfloat (p.scale, ==, 0.01);
  g_assert_true (affect_mel_params_validate (&p, NULL));

  affect_mel_params_init (&p, AFFECT_MEL_PRESET_MUSICNN);
  g_assert_cmpint (p.sample_rate, ==, 16000);
  g_assert_cmpint (p.log, ==, AFFECT_MEL_LOG_LOG10_1P);
  g_assert_cmpfloat (p.log_c, ==, 10000.0);

  affect_mel_params_init (&p, AFFECT_MEL_PRESET_LIBROSA);
  g_assert_cmpint (p.n_fft, ==, 2048);
  g_assert_cmpint (p.hop, ==, 512);
  g_assert_cmpint (p.n_mels, ==, 128);
  g_assert_cmpint (p.window, ==, AFFECT_MEL_WINDOW_HANN);

  p.fmax = 20000;               /* above Nyquist at 22050 Hz */
  g_assert_false (affect_mel_params_validate (&p, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "Nyquist"));
  g_clear_error (&error);
  g_assert_null (affect_mel_plan_new (&p));
  affect_mel_params_init (&p, AFFECT_MEL_PRESET_NONE);
  p.hop = 0;
  g_assert_false (affect_mel_params_validate (&p, NULL));
  affect_mel_params_init (&p, AFFECT_MEL_PRESET_NONE);
  p.power = 3;
  g_assert_false (affect_mel_params_validate (&p, NULL));
  affect_mel_params_init (&p, AFFECT_MEL_PRESET_NONE);
  p.win_length = 4096;
  g_assert_false (affect_mel_params_validate (&p, NULL));
}

/* Silence gives the floor exactly; NaN and Inf count as 0, never leak */
static void
test_silence_and_nonfinite (void)
{
  AffectMelParams p;
  AffectMelPlan *plan;
  AffectMelStream *s;
  float *x = g_new0 (float, 12000), *out, *ref;
  gsize n, i, got;

  affect_mel_params_init (&p, AFFECT_MEL_PRESET_MTG_JAMENDO);
  plan = affect_mel_plan_new (&p);
  n = affect_mel_n_frames (plan, 12000);
  out = g_new (float, n * 96);
  ref = g_new (float, n * 96);
  g_assert_cmpuint (affect_mel_execute (plan, x, 12000, ref), ==, n);
  for (i = 0; i < n * 96; i++)
    g_assert_cmpfloat (ref[i], ==, -0.9f);

  x[100] = NAN;
  x[5000] = INFINITY;
  x[5001] = -INFINITY;
  g_assert_cmpuint (affect_mel_execute (plan, x, 12000, out), ==, n);
  g_assert_true (memcmp (out, ref, n * 96 * sizeof (float)) == 0);
  s = affect_mel_stream_new (plan);
  g_assert_cmpuint (affect_mel_stream_push (s, x, 12000), ==, 3);
  affect_mel_stream_finish (s);
  got = affect_mel_stream_pull (s, out, n);
  g_assert_cmpuint (got, ==, n);
  g_assert_true (memcmp (out, ref, n * 96 * sizeof (float)) == 0);
  /* reset starts a new signal with no trace of the old one */
  affect_mel_stream_reset (s);
  g_assert_cmpuint (affect_mel_stream_n_samples (s), ==, 0);
  g_assert_cmpuint (affect_mel_stream_next_frame (s), ==, 0);
  affect_mel_stream_finish (s);
  g_assert_cmpuint (affect_mel_stream_available (s), ==, 0);

  affect_mel_stream_free (s);
  affect_mel_plan_free (plan);
  g_free (out);
  g_free (ref);
  g_free (x);
}

/* Plans made and run from several threads at once */
static gpointer
plan_and_run (gpointer data)
{
  AffectMelParams p;
  AffectMelPlan *plan;
  float *x = make_signal (8000, 11), *out;
  int i;

  affect_mel_params_init (&p, GPOINTER_TO_INT (data) % 2 ?
      AFFECT_MEL_PRESET_MUSICNN : AFFECT_MEL_PRESET_MTG_JAMENDO);
  out = g_new (float, 100 * 96);
  for (i = 0; i < 20; i++) {
    plan = affect_mel_plan_new (&p);
    g_assert_cmpuint (affect_mel_execute (plan, x, 8000, out), ==,
        1 + 8000 / 256);
    affect_mel_plan_free (plan);
  }
  g_free (out);
  g_free (x);
  return NULL;
}

typedef struct
{
  const AffectMelPlan *plan;
  const float *x;
  gsize n;
  float *out;
} SharedRun;

static gpointer
run_shared (gpointer data)
{
  SharedRun *r = data;
  int i;

  for (i = 0; i < 10; i++)
    affect_mel_execute (r->plan, r->x, r->n, r->out);
  return NULL;
}

static void
test_threads (void)
{
  GThread *threads[4];
  SharedRun runs[4];
  AffectMelParams p;
  AffectMelPlan *plan;
  float *x = make_signal (20000, 12), *ref;
  gsize n_frames;
  int i;

  /* plans made and freed from several threads at once */
  for (i = 0; i < 4; i++)
    threads[i] = g_thread_new ("mel", plan_and_run, GINT_TO_POINTER (i));
  for (i = 0; i < 4; i++)
    g_thread_join (threads[i]);

  /* one plan executed by several threads at once gives the serial result */
  affect_mel_params_init (&p, AFFECT_MEL_PRESET_MUSICNN);
  plan = affect_mel_plan_new (&p);
  n_frames = affect_mel_n_frames (plan, 20000);
  ref = g_new (float, n_frames * 96);
  affect_mel_execute (plan, x, 20000, ref);
  for (i = 0; i < 4; i++) {
    runs[i].plan = plan;
    runs[i].x = x;
    runs[i].n = 20000;
    runs[i].out = g_new (float, n_frames * 96);
    threads[i] = g_thread_new ("mel", run_shared, &runs[i]);
  }
  for (i = 0; i < 4; i++) {
    g_thread_join (threads[i]);
    g_assert_true (memcmp (runs[i].out, ref, n_frames * 96 *
            sizeof (float)) == 0);
    g_free (runs[i].out);
  }
  affect_mel_plan_free (plan);
  g_free (ref);
  g_free (x);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  g_test_add_func ("/mel/streaming", test_streaming);
  g_test_add_func ("/mel/frame-count", test_frame_count);
  g_test_add_func ("/mel/direct-dft", test_direct_dft);
  g_test_add_func ("/mel/filterbank", test_filterbank);
  g_test_add_func ("/mel/presets", test_presets_and_validation);
  g_test_add_func ("/mel/silence-nonfinite", test_silence_and_nonfinite);
  g_test_add_func ("/mel/threads", test_threads);
  return g_test_run ();
}

/* MoodNet speed in libaffect: inference and one training step (forward,
 * loss, backward, Adam update), each alternated in the same process with
 * an sgemm of 1024 × 1024 × 1024 through affect_sgemm (the same threads
 * and kernels as every product of the model), so that the share of the
 * sgemm rate compares two figures taken under the same load.
 *
 * usage: bench-moodnet MODEL.safetensors|random infer|train|sgemm
 *            [batch] [repeats]
 * infer/train: `repeats` alternations of (sgemm, measured pass) after a
 * warm-up, the best of each kept. Prints one "key=value ..." line (read by
 * bench_moodnet.py) and one line
 *   moodnet train-step batch 8: 61.2 GFLOP/s = 53 % of sgemm (230.1 GFLOP/s, same run)
 * where the FLOPs are counted from the layer shapes (affect_moodnet_flops:
 * forward, and forward + backward for a step). Each mode runs in its own
 * process so the reported peak RSS belongs to that mode alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "affect/affect.h"
#include "affect/moodnet.h"

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* CPU seconds of the process (all threads): on a loaded machine a
 * one-thread run's CPU time moves far less than its wall time */
static double
cpu_now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* VmHWM of this process image: ru_maxrss would carry over the peak of the
 * (forked) parent across exec */
static long
peak_rss_kib (void)
{
  char *status = NULL, *line;
  long kib = -1;

  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL)
      && (line = strstr (status, "VmHWM:")) != NULL)
    kib = atol (line + 6);
  g_free (status);
  return kib;
}

static double
median (double *v, int n)
{
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[n / 2];
}

#define SGEMM_N 1024

typedef struct
{
  float *a, *b, *c;
} Sgemm;

static void
sgemm_init (Sgemm * g)
{
  const size_t n = (size_t) SGEMM_N * SGEMM_N;

  g->a = g_new (float, n);
  g->b = g_new (float, n);
  g->c = g_new (float, n);
  for (size_t i = 0; i < n; i++) {
    g->a[i] = (float) (i % 7) * 0.1f;
    g->b[i] = (float) (i % 5) * 0.1f;
  }
}

/* seconds of one 1024³ product, the best of three */
static double
sgemm_time (Sgemm * g)
{
  double best = 1e30;

  for (int r = 0; r < 3; r++) {
    double t0 = now ();
    affect_sgemm (FALSE, FALSE, SGEMM_N, SGEMM_N, SGEMM_N, 1.0f, g->a,
        SGEMM_N, g->b, SGEMM_N, 0.0f, g->c, SGEMM_N);
    best = MIN (best, now () - t0);
  }
  return best;
}

static void
sgemm_clear (Sgemm * g)
{
  g_free (g->a);
  g_free (g->b);
  g_free (g->c);
}

static double
load_average (void)
{
  double l = -1.0;
  char *text = NULL;

  if (g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    l = g_ascii_strtod (text, NULL);
  g_free (text);
  return l;
}

int
main (int argc, char **argv)
{
  const char *model = argc > 1 ? argv[1] : "random";
  const char *mode = argc > 2 ? argv[2] : "infer";
  int batch = argc > 3 ? atoi (argv[3]) : 1;
  int repeats = argc > 4 ? atoi (argv[4]) : 3;
  AffectMoodNet *net;
  AffectRng rng;
  GError *error = NULL;
  double times[64];

  affect_init ();
  repeats = CLAMP (repeats, 1, 64);
  if (!strcmp (mode, "sgemm")) {
    /* 1×1-convolution-like shape: (960 × 160) · (160 × 3072), and a square */
    const int shapes[2][3] = { {1024, 1024, 1024}, {960, 3072, 160} };
    for (int s = 0; s < 2; s++) {
      const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
      float *a = g_new (float, (size_t) m * k), *b =
          g_new (float, (size_t) k * n), *c = g_new (float, (size_t) m * n);
      for (size_t i = 0; i < (size_t) m * k; i++)
        a[i] = (float) (i % 7) * 0.1f;
      for (size_t i = 0; i < (size_t) k * n; i++)
        b[i] = (float) (i % 5) * 0.1f;
      /* through libaffect's split, as every product of the model: OpenBLAS
       * itself runs single-threaded in each part */
      affect_sgemm (FALSE, FALSE, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
      for (int r = 0; r < repeats; r++) {
        double t0 = now ();
        affect_sgemm (FALSE, FALSE, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        times[r] = now () - t0;
      }
      printf ("sgemm m=%d n=%d k=%d seconds=%.5f gflops=%.2f threads=%d\n", m,
          n, k, median (times, repeats),
          2.0 * m * n * k / median (times, repeats) / 1e9,
          affect_get_threads ());
      g_free (a);
      g_free (b);
      g_free (c);
    }
    return 0;
  }

  if (!strcmp (model, "random")) {
    AffectMoodNetConfig cfg;
    affect_moodnet_config_init (&cfg, 56);
    net = affect_moodnet_new (&cfg, 1);
  } else {
    net = affect_moodnet_load (model, &error);
    if (net == NULL) {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  }
  const AffectMoodNetConfig *cf = affect_moodnet_get_config (net);
  const size_t item = (size_t) cf->n_mels * cf->chunks * cf->chunk_frames;
  float *x = g_new (float, item * batch);
  float *out = g_new (float, (size_t) batch * cf->classes);
  float *target = g_new0 (float, (size_t) batch * cf->classes);
  float *d_att = g_new (float, (size_t) batch * cf->classes);
  float *d_clf = g_new (float, (size_t) batch * cf->classes);
  affect_rng_init (&rng, 7);
  for (size_t i = 0; i < item * batch; i++)
    x[i] = (float) affect_rng_normal (&rng);
  for (int i = 0; i < batch * cf->classes; i++)
    target[i] = affect_rng_uniform (&rng) < 0.2 ? 1.0f : 0.0f;

  {
    const gboolean infer = !strcmp (mode, "infer");
    AffectOptimizer opt;
    guint n_params;
    AffectParam *const *params = affect_moodnet_params (net, &n_params);
    double fwd_flop, train_flop, best = 1e30, best_sgemm = 1e30, loss = 0.0;
    double best_cpu = 1e30;
    Sgemm g;

    sgemm_init (&g);
    affect_moodnet_flops (net, batch, &fwd_flop, &train_flop);
    affect_optimizer_init_adam (&opt, 1e-4);
    affect_moodnet_set_training (net, !infer, infer ? NULL : &rng);
    /* r = 0 is the warm-up (the first pass allocates) */
    for (int r = 0; r <= repeats; r++) {
      const double ts = sgemm_time (&g);
      double c0 = cpu_now ();
      double t0 = now ();
      if (infer) {
        affect_moodnet_forward (net, x, batch, out);
      } else {
        affect_params_zero_grad (params, n_params);
        affect_moodnet_forward (net, x, batch, out);
        loss = affect_moodnet_loss (net, target, d_att, d_clf);
        affect_moodnet_backward (net, d_att, d_clf, NULL);
        affect_optimizer_step (&opt, params, n_params);
      }
      t0 = now () - t0;
      c0 = cpu_now () - c0;
      if (r > 0) {
        best = MIN (best, t0);
        best_cpu = MIN (best_cpu, c0);
        best_sgemm = MIN (best_sgemm, ts);
      }
    }
    {
      const double flop = infer ? fwd_flop : train_flop;
      const double gflops = flop / best / 1e9;
      const double sgemm_gflops = 2.0 * SGEMM_N * SGEMM_N * SGEMM_N /
          best_sgemm / 1e9;
      printf ("affect %s batch=%d seconds=%.4f gflop=%.3f gflops=%.2f "
          "sgemm_gflops=%.2f share=%.3f peak_rss_mib=%.0f out0=%.6f "
          "loss=%.5f threads=%d load=%.2f cpu_seconds=%.4f\n",
          infer ? "infer" : "train", batch, best, flop / 1e9, gflops,
          sgemm_gflops, gflops / sgemm_gflops, peak_rss_kib () / 1024.0,
          out[0], loss, affect_get_threads (), load_average (), best_cpu);
      printf ("moodnet %s batch %d: %.1f GFLOP/s = %.0f %% of sgemm "
          "(%.1f GFLOP/s, same run); %.4f s, %.2f GFLOP, %d thread(s), "
          "load average %.2f\n", infer ? "inference" : "train-step", batch,
          gflops, 100.0 * gflops / sgemm_gflops, sgemm_gflops, best,
          flop / 1e9, affect_get_threads (), load_average ());
    }
    sgemm_clear (&g);
  }
  g_free (x);
  g_free (out);
  g_free (target);
  g_free (d_att);
  g_free (d_clf);
  affect_moodnet_free (net);
  return 0;
}

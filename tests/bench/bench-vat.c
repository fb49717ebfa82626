/* Benchmark: the seed's regressor (384-1200-600-1, Adam) over 9000 × 384
 * features: one training epoch, plain MSE and MSE + 1.5·LDS (VAT), and
 * inference on the 9000 rows. Each measurement is alternated in the same
 * process with an sgemm of 1024 × 1024 × 1024 through affect_sgemm (the
 * same threads and kernels as the model's products), best of each kept.
 * Prints per case
 *   "affect <case> threads=<n> <wall seconds> <cpu seconds>"
 * (read by bench_vat.py; CPU time: the process's, all threads) and
 *   "mlp <case> batch <b>: 61.2 GFLOP/s = 53 % of sgemm (230.1 GFLOP/s, same run); …"
 * with the FLOPs counted from the layer shapes (mlp_flops below), each the
 * best of three after one unmeasured pass.
 *
 *   bench-vat [THREADS [plain|vat|infer [BATCH]]]   (THREADS 0 =
 *   libaffect's default; the second argument runs one case only; BATCH:
 *   the training batch, 64) */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "affect/affect.h"
#include "affect/mlp-train.h"

#define N_ROWS 9000
#define D_IN 384
#define SGEMM_N 1024

static const int widths[] = { D_IN, 1200, 600, 1 };

/* Floating-point operations (2 per multiply-add) of the products per row,
 * from the layer shapes; M = Σ d_in·d_out, M1 the first layer's:
 *   infer  M                                      (forward)
 *   plain  3M − M1        (forward; weight gradients; input gradients of
 *                          every layer but the first)
 *   vat    6M − M1        (forward at x; one input-gradient pass for ∇f,
 *                          the power step of a one-output model, vat.c,
 *                          whose deltas, scaled by the loss's derivative,
 *                          are also the clean graph's; forward at x + r_adv;
 *                          weight gradients through both graphs, input
 *                          gradients through the adversarial one)
 * bench_vat.py counts PyTorch's classic VAT as 8M − 2·M1 (a forward at
 * x + ξd and its input gradient instead of the one input-gradient pass).
 * Element-wise work and the Adam update are not counted. */
static double
mlp_flops (const char *which)
{
  double m = 0.0, m1 = (double) widths[0] * widths[1];

  for (guint i = 0; i + 1 < G_N_ELEMENTS (widths); i++)
    m += (double) widths[i] * widths[i + 1];
  if (!strcmp (which, "infer"))
    return 2.0 * m;
  if (!strcmp (which, "plain"))
    return 2.0 * (3.0 * m - m1);
  return 2.0 * (6.0 * m - m1);
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

static double
cpu_now (void)
{
  struct timespec c;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &c);
  return c.tv_sec + c.tv_nsec / 1e9;
}

int
main (int argc, char **argv)
{
  /* BENCH_VAT_ROWS: a smaller epoch, for profiling under callgrind */
  const int n = g_getenv ("BENCH_VAT_ROWS") != NULL ?
      atoi (g_getenv ("BENCH_VAT_ROWS")) : N_ROWS;
  const int din = D_IN;
  int threads = argc > 1 ? atoi (argv[1]) : 0;
  const char *only = argc > 2 ? argv[2] : NULL;
  const int batch = argc > 3 ? atoi (argv[3]) : 64;
  static const char *cases[] = { "plain", "vat", "infer" };
  float *x = g_new (float, (size_t) n * din), *y = g_new (float, n);
  float *pred = g_new (float, n);
  float *ga = g_new (float, SGEMM_N * SGEMM_N);
  float *gb = g_new (float, SGEMM_N * SGEMM_N);
  float *gc = g_new (float, SGEMM_N * SGEMM_N);
  AffectMlpConfig c = { 0 };
  AffectRng rng;
  int i;

  affect_init ();
  if (threads > 0)
    affect_set_threads (threads);
  affect_rng_init (&rng, 1);
  for (i = 0; i < n * din; i++)
    x[i] = (float) affect_rng_normal (&rng);
  for (i = 0; i < n; i++)
    y[i] = (float) (1.0 + 4.0 * affect_rng_uniform (&rng));
  for (i = 0; i < SGEMM_N * SGEMM_N; i++) {
    ga[i] = (float) (i % 7) * 0.1f;
    gb[i] = (float) (i % 5) * 0.1f;
  }
  c.n_inputs = din;
  c.n_hidden = 2;
  c.hidden[0] = widths[1];
  c.hidden[1] = widths[2];
  c.n_outputs = 1;
  c.hidden_activation = AFFECT_ACTIVATION_RELU;
  c.output_activation = AFFECT_ACTIVATION_IDENTITY;

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++) {
    const char *which = cases[k];
    const gboolean infer = !strcmp (which, "infer");
    AffectMlpTrainConfig tc;
    AffectMlpTrainResult res;
    AffectMlp *mlp;
    double best = 1e30, best_cpu = 1e30, best_sgemm = 1e30;

    if (only != NULL && g_strcmp0 (only, which) != 0)
      continue;
    mlp = affect_mlp_new (&c, 1, NULL);
    affect_mlp_train_config_init (&tc);
    tc.epochs = 1;
    tc.batch_size = batch;
    tc.vat = !strcmp (which, "vat");
    /* rep 0: one unmeasured pass, as for PyTorch */
    for (int rep = 0; rep <= 3; rep++) {
      double t0, c0;
      for (int s = 0; s < 3; s++) {
        double ts = g_get_monotonic_time () / 1e6;
        affect_sgemm (FALSE, FALSE, SGEMM_N, SGEMM_N, SGEMM_N, 1.0f, ga,
            SGEMM_N, gb, SGEMM_N, 0.0f, gc, SGEMM_N);
        ts = g_get_monotonic_time () / 1e6 - ts;
        if (rep > 0)
          best_sgemm = MIN (best_sgemm, ts);
      }
      t0 = g_get_monotonic_time () / 1e6;
      c0 = cpu_now ();
      if (infer)
        affect_mlp_predict (mlp, x, pred, n);
      else if (!affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL,
              NULL, &res, NULL))
        return 1;
      if (rep > 0) {
        best = MIN (best, g_get_monotonic_time () / 1e6 - t0);
        best_cpu = MIN (best_cpu, cpu_now () - c0);
      }
    }
    g_print ("affect %s threads=%d %.4f %.4f\n", which,
        affect_get_threads (), best, best_cpu);
    {
      const double gflops = mlp_flops (which) * n / best / 1e9;
      const double sgemm = 2.0 * SGEMM_N * SGEMM_N * SGEMM_N / best_sgemm / 1e9;
      g_print ("mlp %s batch %d: %.1f GFLOP/s = %.0f %% of sgemm (%.1f "
          "GFLOP/s, same run); %.4f s for %d rows, %d thread(s), load "
          "average %.2f\n", infer ? "inference" : tc.vat ? "vat-epoch" :
          "plain-epoch", infer ? n : batch, gflops, 100.0 * gflops / sgemm,
          sgemm, best, n, affect_get_threads (), load_average ());
    }
    affect_mlp_free (mlp);
  }
  g_free (x);
  g_free (y);
  g_free (pred);
  g_free (ga);
  g_free (gb);
  g_free (gc);
  return 0;
}

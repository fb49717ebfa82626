/* Benchmark: one training epoch of the seed's regressor (384-1200-600-1,
 * Adam, batch 64) over 9000 × 384 features, plain MSE and MSE + 1.5·LDS
 * (VAT). Prints one line per case:
 *   "affect <case> threads=<n> <wall seconds> <cpu seconds>",
 * each the best of three epochs after one unmeasured epoch (CPU time: the
 * process's, all threads).
 *
 *   bench-vat [THREADS [plain|vat]]   (THREADS 0 = libaffect's default;
 *   the second argument runs one case only) */
#include <stdlib.h>
#include <time.h>

#include "affect/affect.h"
#include "affect/mlp.h"

int
main (int argc, char **argv)
{
  const int n = 9000, din = 384;
  int threads = argc > 1 ? atoi (argv[1]) : 0;
  const char *only = argc > 2 ? argv[2] : NULL;
  float *x = g_new (float, (size_t) n * din), *y = g_new (float, n);
  AffectMlpConfig c = { 0 };
  AffectRng rng;
  int i, vat;

  affect_init ();
  if (threads > 0)
    affect_set_threads (threads);
  affect_rng_init (&rng, 1);
  for (i = 0; i < n * din; i++)
    x[i] = (float) affect_rng_normal (&rng);
  for (i = 0; i < n; i++)
    y[i] = (float) (1.0 + 4.0 * affect_rng_uniform (&rng));
  c.n_inputs = din;
  c.n_hidden = 2;
  c.hidden[0] = 1200;
  c.hidden[1] = 600;
  c.n_outputs = 1;
  c.hidden_activation = AFFECT_ACTIVATION_RELU;
  c.output_activation = AFFECT_ACTIVATION_IDENTITY;

  for (vat = 0; vat <= 1; vat++) {
    AffectMlpTrainConfig tc;
    AffectMlpTrainResult res;
    AffectMlp *mlp = affect_mlp_new (&c, 1, NULL);
    double best = 1e30, best_cpu = 1e30;
    int rep;

    if (only != NULL && g_strcmp0 (only, vat ? "vat" : "plain") != 0) {
      affect_mlp_free (mlp);
      continue;
    }
    affect_mlp_train_config_init (&tc);
    tc.epochs = 1;
    tc.batch_size = 64;
    tc.vat = vat;
    /* one unmeasured epoch, as for PyTorch */
    if (!affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL, NULL,
            &res, NULL))
      return 1;
    for (rep = 0; rep < 3; rep++) {
      struct timespec c0, c1;
      gint64 t0 = g_get_monotonic_time ();
      clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &c0);
      if (!affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL, NULL,
              &res, NULL))
        return 1;
      clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &c1);
      best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
      best_cpu = MIN (best_cpu, (c1.tv_sec - c0.tv_sec) +
          (c1.tv_nsec - c0.tv_nsec) / 1e9);
    }
    g_print ("affect %s threads=%d %.4f %.4f\n", vat ? "vat" : "plain",
        affect_get_threads (), best, best_cpu);
    affect_mlp_free (mlp);
  }
  g_free (x);
  g_free (y);
  return 0;
}

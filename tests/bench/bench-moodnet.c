/* MoodNet speed in libaffect: inference on one input and one training step
 * (forward, loss, backward, Adam update), and sgemm GFLOP/s (affect_sgemm) on a
 * shape of the same size class, measured in the same process.
 *
 * usage: bench-moodnet MODEL.safetensors|random infer|train|sgemm
 *            [batch] [repeats]
 * Prints one line "key=value ..." per measurement; bench-moodnet.py runs it
 * beside PyTorch on the same weights. Each mode runs in its own process so
 * the reported peak RSS (ru_maxrss) belongs to that mode alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "affect/affect.h"
#include "affect/moodnet.h"

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
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

  if (!strcmp (mode, "infer")) {
    affect_moodnet_set_training (net, FALSE, NULL);
    affect_moodnet_forward (net, x, batch, out);        /* warm-up */
    for (int r = 0; r < repeats; r++) {
      double t0 = now ();
      affect_moodnet_forward (net, x, batch, out);
      times[r] = now () - t0;
    }
    const double t = median (times, repeats);
    printf ("affect infer batch=%d seconds=%.4f gflops=%.2f peak_rss_mib=%.0f "
        "out0=%.6f threads=%d\n", batch, t, 5.94 * batch / t,
        peak_rss_kib () / 1024.0, out[0], affect_get_threads ());
  } else {
    AffectOptimizer opt;
    guint n_params;
    AffectParam *const *params = affect_moodnet_params (net, &n_params);
    affect_optimizer_init_adam (&opt, 1e-4);
    affect_moodnet_set_training (net, TRUE, &rng);
    for (int r = 0; r <= repeats; r++) {
      double t0 = now ();
      affect_params_zero_grad (params, n_params);
      affect_moodnet_forward (net, x, batch, out);
      double loss = affect_moodnet_loss (net, target, d_att, d_clf);
      affect_moodnet_backward (net, d_att, d_clf, NULL);
      affect_optimizer_step (&opt, params, n_params);
      if (r > 0)                /* the first step allocates: warm-up */
        times[r - 1] = now () - t0;
      if (r == repeats)
        printf ("affect train batch=%d seconds=%.4f loss=%.5f "
            "peak_rss_mib=%.0f threads=%d\n", batch, median (times, repeats),
            loss, peak_rss_kib () / 1024.0, affect_get_threads ());
    }
  }
  g_free (x);
  g_free (out);
  g_free (target);
  g_free (d_att);
  g_free (d_clf);
  affect_moodnet_free (net);
  return 0;
}

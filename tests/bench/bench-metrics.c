/* bench-metrics: ROC-AUC and PR-AUC (average precision), macro over the
 * columns and micro over every score, of an n × k ground truth / scores
 * pair of .npy files; best-of-R wall time, the values, and peak RSS.
 *
 *   bench-metrics groundtruth.npy predictions.npy [repeats]
 *
 * Prints one JSON line; tests/bench/bench_metrics.py runs it next to
 * scikit-learn and prints the comparison (docs/benchmarks.md). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>

#include "affect/metrics.h"
#include "affect/npy.h"

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* peak resident set (VmHWM, which clear_refs resets; ru_maxrss is not) */
static long
peak_rss_kb (void)
{
  char line[256];
  long kb = -1;
  FILE *f = fopen ("/proc/self/status", "r");

  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "VmHWM: %ld", &kb) == 1)
      break;
  if (f)
    fclose (f);
  if (kb < 0) {
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    kb = ru.ru_maxrss;
  }
  return kb;
}

/* resident set now, from /proc/self/statm */
static long
rss_kb (void)
{
  long size = 0, resident = 0;
  FILE *f = fopen ("/proc/self/statm", "r");

  if (f) {
    if (fscanf (f, "%ld %ld", &size, &resident) != 2)
      resident = 0;
    fclose (f);
  }
  return resident * (sysconf (_SC_PAGESIZE) / 1024);
}

/* Linux: writing 5 to clear_refs resets the peak RSS (VmHWM), so the
 * peak of the computation alone can be read after it */
static void
reset_peak_rss (void)
{
  FILE *f = fopen ("/proc/self/clear_refs", "w");

  if (f) {
    fputs ("5", f);
    fclose (f);
  }
}

int
main (int argc, char **argv)
{
  AffectNpyArray *gt, *pred;
  GError *error = NULL;
  uint8_t *truth;
  const float *scores;
  guint64 n, i;
  guint k, c;
  int repeats = argc > 3 ? atoi (argv[3]) : 3, r;
  double best = G_MAXDOUBLE, best_cpu = G_MAXDOUBLE;
  double roc_macro = 0, ap_macro = 0;
  AffectRankScores micro;
  long rss_loaded;

  if (argc < 3) {
    fprintf (stderr, "usage: %s groundtruth.npy predictions.npy [repeats]\n",
        argv[0]);
    return 2;
  }
  gt = affect_npy_read (argv[1], AFFECT_NPY_FLOAT32, &error);
  pred = gt ? affect_npy_read (argv[2], AFFECT_NPY_FLOAT32, &error) : NULL;
  if (pred == NULL) {
    fprintf (stderr, "bench-metrics: %s\n", error->message);
    return 1;
  }
  if (gt->n_dims != 2 || pred->n_dims != 2 ||
      gt->shape[0] != pred->shape[0] || gt->shape[1] != pred->shape[1]) {
    fprintf (stderr, "bench-metrics: shapes differ\n");
    return 1;
  }
  n = pred->shape[0];
  k = pred->shape[1];
  truth = g_new (uint8_t, n * k);
  for (i = 0; i < n * k; i++)
    truth[i] = affect_npy_array_float (gt)[i] != 0.0f;
  affect_npy_array_free (gt);
  scores = affect_npy_array_float (pred);
  rss_loaded = rss_kb ();
  reset_peak_rss ();

  for (r = 0; r < repeats; r++) {
    gint64 t0 = g_get_monotonic_time ();
    double c0 = cpu_seconds ();
    AffectRankScores *cols = g_new (AffectRankScores, k);
    double roc = 0, ap = 0;

    affect_rank_scores_matrix (scores, truth, n, k, cols, &micro);
    for (c = 0; c < k; c++) {
      roc += cols[c].roc_auc;
      ap += cols[c].average_precision;
    }
    g_free (cols);
    roc_macro = roc / k;
    ap_macro = ap / k;
    best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
    best_cpu = MIN (best_cpu, cpu_seconds () - c0);
  }
  printf ("{\"n\": %" G_GUINT64_FORMAT ", \"k\": %u, \"seconds\": %.6f, "
      "\"cpu_seconds\": %.6f, "
      "\"roc_auc_macro\": %.17g, \"roc_auc_micro\": %.17g, "
      "\"pr_auc_macro\": %.17g, \"pr_auc_micro\": %.17g, "
      "\"rss_before_kb\": %ld, \"rss_peak_kb\": %ld}\n", n, k, best, best_cpu,
      roc_macro, micro.roc_auc, ap_macro, micro.average_precision,
      rss_loaded, peak_rss_kb ());
  g_free (truth);
  affect_npy_array_free (pred);
  return 0;
}

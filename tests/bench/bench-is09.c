/* IS09 benchmark (not part of meson test; docs/benchmarks.md):
 *
 *   bench-is09 [LONG.wav]
 *
 * 1. Throughput: the 384 features of the 600 s file made by
 *    ../shared/reference/is09/make_wavs.sh --long (or, without an argument,
 *    the same signal built in memory: the nine sp*.wav concatenated 21
 *    times and cut at 600.000 s), single-threaded, in audio seconds per CPU
 *    second, against the reference's ~600x real time per core.
 * 2. Memory: peak RSS of a child process streaming 1 min and 1 h of that
 *    signal through the extractor in 10 ms chunks, never holding it whole.
 */
#include <math.h>
#include <time.h>
#include <sys/resource.h>

#include "affect/is09.h"
#include "../conformance/is09-common.h"

#define REFERENCE_RTF 600.0
#define TARGET_RTF 1800.0

static const char *speech[] = {
  "sp01_en_default", "sp02_enus_p20_s140", "sp03_engb_p80_s220",
  "sp04_en_f3_a40", "sp05_de_p60_s160", "sp06_en_m3_a200_s100",
  "sp07_fr_p35_s180", "sp08_en_whisper", "sp09_en_short_hi", NULL
};

/* the nine speech files once, as openSMILE reads them (s / 32767) */
static float *
load_speech_loop (gsize * n)
{
  const char *shared = g_getenv ("AFFECT_SHARED_DIR");
  GArray *a = g_array_new (FALSE, FALSE, sizeof (float));

  if (!shared)
    shared = "../shared";
  for (int k = 0; speech[k]; k++) {
    gchar *p = g_strdup_printf ("%s/reference/is09/wav/%s.wav", shared,
        speech[k]);
    gsize m = 0;
    int rate = 0;
    gint16 *pcm = is09_read_wav (p, &m, &rate);
    if (!pcm) {
      g_printerr ("cannot read %s (set AFFECT_SHARED_DIR)\n", p);
      exit (1);
    }
    for (gsize i = 0; i < m; i++) {
      float x = (float) pcm[i] / 32767.0f;
      g_array_append_val (a, x);
    }
    g_free (pcm);
    g_free (p);
  }
  *n = a->len;
  return (float *) g_array_free (a, FALSE);
}

static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double
wall_seconds (void)
{
  return g_get_monotonic_time () * 1e-6;
}

/* stream `seconds` of the looped signal; print peak RSS */
static int
run_rss (double seconds)
{
  gsize n_loop = 0, pos = 0;
  float *loop = load_speech_loop (&n_loop);
  guint64 total = (guint64) llround (seconds * 16000), done = 0;
  AffectIs09Plan *plan = affect_is09_plan_new (16000, NULL);
  AffectIs09 *is09 = affect_is09_new (plan);
  float feat[AFFECT_IS09_N_FEATURES];
  struct rusage ru;

  while (done < total) {
    gsize chunk = MIN ((guint64) 160, total - done);
    chunk = MIN (chunk, n_loop - pos);
    affect_is09_push (is09, loop + pos, chunk);
    pos = (pos + chunk) % n_loop;
    done += chunk;
  }
  affect_is09_finish (is09, feat);
  getrusage (RUSAGE_SELF, &ru);
  printf ("%ld\n", ru.ru_maxrss);
  affect_is09_free (is09);
  affect_is09_plan_free (plan);
  g_free (loop);
  return isfinite (feat[0]) ? 0 : 1;
}

static long
child_rss (const char *self, double seconds)
{
  gchar *arg = g_strdup_printf ("%g", seconds);
  gchar *argv[] = { (gchar *) self, (gchar *) "--rss", arg, NULL };
  gchar *out = NULL;
  gint status = 0;
  long kb = -1;

  if (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
          NULL, &status, NULL) && status == 0)
    kb = atol (out);
  g_free (out);
  g_free (arg);
  return kb;
}

int
main (int argc, char **argv)
{
  float *x;
  gsize n = 0;
  double best_cpu = 1e30, best_wall = 1e30, rtf;
  float feat[AFFECT_IS09_N_FEATURES];
  AffectIs09Plan *plan;
  AffectIs09 *is09;
  long rss_1min, rss_1h;

  if (argc == 3 && !strcmp (argv[1], "--rss"))
    return run_rss (g_ascii_strtod (argv[2], NULL));

  if (argc > 1) {
    int rate = 0;
    gint16 *pcm = is09_read_wav (argv[1], &n, &rate);
    if (!pcm || rate != 16000) {
      g_printerr ("cannot read %s (16-bit mono 16 kHz WAV)\n", argv[1]);
      return 1;
    }
    x = g_new (float, n);
    for (gsize i = 0; i < n; i++)
      x[i] = (float) pcm[i] / 32767.0f;
    g_free (pcm);
    printf ("input: %s\n", argv[1]);
  } else {
    gsize n_loop = 0;
    float *loop = load_speech_loop (&n_loop);
    n = 600 * 16000;
    x = g_new (float, n);
    for (gsize i = 0; i < n; i++)
      x[i] = loop[i % n_loop];
    g_free (loop);
    printf ("input: nine sp*.wav looped to 600 s (as make_wavs.sh --long)\n");
  }

  plan = affect_is09_plan_new (16000, NULL);
  is09 = affect_is09_new (plan);
  /* best of 5 runs, single thread, buffers of 100 ms */
  for (int run = 0; run < 5; run++) {
    double c0 = cpu_seconds (), w0 = wall_seconds ();
    for (gsize i = 0; i < n; i += 1600)
      affect_is09_push (is09, x + i, MIN (1600, n - i));
    affect_is09_finish (is09, feat);
    best_cpu = MIN (best_cpu, cpu_seconds () - c0);
    best_wall = MIN (best_wall, wall_seconds () - w0);
  }
  rtf = n / 16000.0 / best_cpu;
  printf ("affectis09 core: %.1f s audio in %.3f s CPU (%.3f s wall), "
      "single thread: %.0fx real time per core\n", n / 16000.0, best_cpu,
      best_wall, rtf);
  printf ("ratio vs openSMILE SMILExtract (%.0fx real time per core): %.2fx"
      " (target %.0fx real time: %s)\n", REFERENCE_RTF, rtf / REFERENCE_RTF,
      TARGET_RTF, rtf >= TARGET_RTF ? "met" : "NOT met");
  printf ("check: F0_sma_amean %.6g, pcm_RMSenergy_sma_amean %.6g\n",
      feat[15 * 12 + 5], feat[5]);
  affect_is09_free (is09);
  affect_is09_plan_free (plan);
  g_free (x);

  rss_1min = child_rss (argv[0], 60.0);
  rss_1h = child_rss (argv[0], 3600.0);
  printf ("peak RSS streaming 1 min: %.1f MiB; 1 h: %.1f MiB "
      "(openSMILE: 74.8 MiB for 10 min, 494 MiB for 1 h)\n",
      rss_1min / 1024.0, rss_1h / 1024.0);
  return 0;
}

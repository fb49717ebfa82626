/* bench-mel: times libaffect's Mel spectrogram on a raw float32 signal.
 *
 *   bench-mel IN.f32 [OUT.f32] [repeats]
 *
 * Runs the musicnn preset (16 kHz, n-fft 512, hop 256, 96 Slaney bands,
 * log10 (1 + 10000 x)) over the whole signal, best of `repeats` runs (plan
 * creation excluded, as FFTW intends), and prints one line:
 *   affectmel: SECONDS s, FRAMES frames, X× real time
 * OUT receives the frames for bench-mel.py to compare against PyTorch.
 */
#include <stdio.h>
#include <stdlib.h>

#include "affect/affect.h"
#include "affect/mel.h"

int
main (int argc, char **argv)
{
  AffectMelParams p;
  AffectMelPlan *plan;
  GError *error = NULL;
  gchar *data = NULL;
  gsize size = 0, n, n_frames = 0;
  float *out;
  double best = G_MAXDOUBLE, seconds;
  gint64 t0, t1;
  int r, repeats = argc > 3 ? atoi (argv[3]) : 3;

  if (argc < 2) {
    fprintf (stderr, "usage: bench-mel IN.f32 [OUT.f32] [repeats]\n");
    return 2;
  }
  affect_init ();
  if (!g_file_get_contents (argv[1], &data, &size, &error)) {
    fprintf (stderr, "bench-mel: %s\n", error->message);
    return 1;
  }
  n = size / sizeof (float);
  affect_mel_params_init (&p, AFFECT_MEL_PRESET_MUSICNN);

  t0 = g_get_monotonic_time ();
  plan = affect_mel_plan_new (&p);
  t1 = g_get_monotonic_time ();
  out = g_new (float, affect_mel_n_frames (plan, n) * p.n_mels);
  for (r = 0; r < MAX (repeats, 1); r++) {
    gint64 a = g_get_monotonic_time ();
    n_frames = affect_mel_execute (plan, (const float *) data, n, out);
    best = MIN (best, (g_get_monotonic_time () - a) / 1e6);
  }
  seconds = (double) n / p.sample_rate;
  printf ("affectmel: %.4f s, %zu frames, %.0fx real time "
      "(%.2f Msamples/s; plan %.1f ms)\n", best, n_frames, seconds / best,
      n / best / 1e6, (t1 - t0) / 1e3);

  if (argc > 2 && !g_file_set_contents (argv[2], (const gchar *) out,
          n_frames * p.n_mels * sizeof (float), &error)) {
    fprintf (stderr, "bench-mel: %s\n", error->message);
    return 1;
  }
  g_free (out);
  g_free (data);
  affect_mel_plan_free (plan);
  return 0;
}

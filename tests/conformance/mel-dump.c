/* mel-dump: runs libaffect's Mel spectrogram over a raw float32 signal.
 *
 *   mel-dump IN.f32 OUT.f32 [preset=NAME] [key=value ...]
 *
 * Keys are affectmel's property names (sample-rate, n-fft, hop, win-length,
 * window, center, pad-mode, pad-value, framing, n-mels, fmin, fmax,
 * mel-scale, norm, power, log, amin, top-db, log-c, log-eps, scale). OUT receives
 * frames × n_mels float32 values, frame-major. Used by mel_conformance.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affect/mel.h"

static int
lookup (const char *value, const char *const *names)
{
  int i;
  for (i = 0; names[i] != NULL; i++)
    if (strcmp (value, names[i]) == 0)
      return i;
  fprintf (stderr, "mel-dump: unknown value '%s'\n", value);
  exit (2);
}

static void
set_param (AffectMelParams * p, const char *key, const char *value)
{
  static const char *const windows[] = { "hann", "hann-symmetric", "hamming",
    "hamming-symmetric", NULL
  };
  static const char *const pads[] = { "zeros", "reflect", "constant", NULL };
  static const char *const scales[] = { "htk", "slaney", NULL };
  static const char *const norms[] = { "none", "slaney", NULL };
  static const char *const logs[] = { "none", "db", "log10-1p", "ln", NULL };
  static const char *const framings[] = { "librosa", "essentia", NULL };

  if (strcmp (key, "sample-rate") == 0)
    p->sample_rate = atoi (value);
  else if (strcmp (key, "n-fft") == 0)
    p->n_fft = atoi (value);
  else if (strcmp (key, "hop") == 0)
    p->hop = atoi (value);
  else if (strcmp (key, "win-length") == 0)
    p->win_length = atoi (value);
  else if (strcmp (key, "window") == 0)
    p->window = lookup (value, windows);
  else if (strcmp (key, "center") == 0)
    p->center = atoi (value) != 0;
  else if (strcmp (key, "pad-mode") == 0)
    p->pad_mode = lookup (value, pads);
  else if (strcmp (key, "framing") == 0)
    p->framing = lookup (value, framings);
  else if (strcmp (key, "pad-value") == 0)
    p->pad_value = atof (value);
  else if (strcmp (key, "n-mels") == 0)
    p->n_mels = atoi (value);
  else if (strcmp (key, "fmin") == 0)
    p->fmin = atof (value);
  else if (strcmp (key, "fmax") == 0)
    p->fmax = atof (value);
  else if (strcmp (key, "mel-scale") == 0)
    p->mel_scale = lookup (value, scales);
  else if (strcmp (key, "norm") == 0)
    p->norm = lookup (value, norms);
  else if (strcmp (key, "power") == 0)
    p->power = atoi (value);
  else if (strcmp (key, "log") == 0)
    p->log = lookup (value, logs);
  else if (strcmp (key, "amin") == 0)
    p->amin = atof (value);
  else if (strcmp (key, "top-db") == 0)
    p->top_db = atof (value);
  else if (strcmp (key, "log-c") == 0)
    p->log_c = atof (value);
  else if (strcmp (key, "log-eps") == 0)
    p->log_eps = atof (value);
  else if (strcmp (key, "scale") == 0)
    p->scale = atof (value);
  else {
    fprintf (stderr, "mel-dump: unknown parameter '%s'\n", key);
    exit (2);
  }
}

int
main (int argc, char **argv)
{
  static const char *const presets[] = { "none", "librosa", "mtg-jamendo",
    "musicnn", NULL
  };
  AffectMelParams p;
  AffectMelPlan *plan;
  GError *error = NULL;
  gchar *data = NULL;
  gsize size = 0, n_frames;
  float *out;
  int i;

  if (argc < 3) {
    fprintf (stderr, "usage: mel-dump IN.f32 OUT.f32 [key=value ...]\n");
    return 2;
  }
  affect_mel_params_init (&p, AFFECT_MEL_PRESET_NONE);
  for (i = 3; i < argc; i++)
    if (g_str_has_prefix (argv[i], "preset="))
      affect_mel_params_init (&p, lookup (argv[i] + 7, presets));
  for (i = 3; i < argc; i++) {
    gchar **kv = g_strsplit (argv[i], "=", 2);
    if (kv[0] == NULL || kv[1] == NULL) {
      fprintf (stderr, "mel-dump: expected key=value, got '%s'\n", argv[i]);
      return 2;
    }
    if (strcmp (kv[0], "preset") != 0)
      set_param (&p, kv[0], kv[1]);
    g_strfreev (kv);
  }
  if (!affect_mel_params_validate (&p, &error)) {
    fprintf (stderr, "mel-dump: %s\n", error->message);
    return 1;
  }
  if (!g_file_get_contents (argv[1], &data, &size, &error)) {
    fprintf (stderr, "mel-dump: %s\n", error->message);
    return 1;
  }
  plan = affect_mel_plan_new (&p);
  n_frames = affect_mel_n_frames (plan, size / sizeof (float));
  out = g_new0 (float, MAX (n_frames, 1) * p.n_mels);
  if (affect_mel_execute (plan, (const float *) data, size / sizeof (float),
          out) != n_frames) {
    fprintf (stderr, "mel-dump: frame count differs from n_frames\n");
    return 1;
  }
  if (!g_file_set_contents (argv[2], (const gchar *) out,
          n_frames * p.n_mels * sizeof (float), &error)) {
    fprintf (stderr, "mel-dump: %s\n", error->message);
    return 1;
  }
  g_free (out);
  g_free (data);
  affect_mel_plan_free (plan);
  return 0;
}

/* Untrained models of the shapes affect-run live loads, for its tests:
 *
 *   live-models DIR
 *
 * writes DIR/regress.safetensors (384 → 16 → valence, arousal),
 * DIR/spontaneous.safetensors and DIR/scripted.safetensors (the same shape,
 * other seeds), DIR/gate.safetensors (384 → 16 → 1, sigmoid) and
 * DIR/moodnet.safetensors (a width-0.35 MoodNet over 96 Mel bands, two
 * chunks of 72 frames, the four quadrants). Their outputs mean nothing; the
 * service tests need windows, not accuracy. */
#include <stdlib.h>
#include <glib.h>

#include "affect/affect.h"
#include "affect/mlp.h"
#include "affect/moodnet.h"

#define N_FEATURES 384

static void
write_mlp (const char *dir, const char *file, int outputs, uint64_t seed,
    AffectActivation out)
{
  static const char *const names[] = { "arousal", "valence", NULL };
  static const char *const gate_names[] = { "spontaneity", NULL };
  AffectMlpConfig c = { 0 };
  GError *error = NULL;
  float mean[N_FEATURES], std[N_FEATURES];
  AffectMlp *mlp;
  char *path = g_build_filename (dir, file, NULL);
  int i;

  c.n_inputs = N_FEATURES;
  c.n_hidden = 1;
  c.hidden[0] = 16;
  c.n_outputs = outputs;
  c.hidden_activation = AFFECT_ACTIVATION_RELU;
  c.output_activation = out;
  mlp = affect_mlp_new (&c, seed, &error);
  g_assert_no_error (error);
  /* IS09 functionals span many orders of magnitude: a wide std keeps the
   * untrained outputs near 0 */
  for (i = 0; i < N_FEATURES; i++) {
    mean[i] = 0.0f;
    std[i] = 100.0f;
  }
  affect_mlp_set_standardisation (mlp, mean, std);
  affect_mlp_set_names (mlp, outputs == 1 ? gate_names : names);
  affect_mlp_set_metadata (mlp, "feature", "is09");
  affect_mlp_set_metadata (mlp, "sample-rate", "16000");
  if (!affect_mlp_save (mlp, path, &error))
    g_error ("%s", error->message);
  affect_mlp_free (mlp);
  g_free (path);
}

int
main (int argc, char **argv)
{
  AffectMoodNetConfig c;
  AffectMoodNet *net;
  GError *error = NULL;
  char *path;

  if (argc != 2) {
    g_printerr ("usage: live-models DIR\n");
    return 2;
  }
  affect_init ();
  g_mkdir_with_parents (argv[1], 0755);
  write_mlp (argv[1], "regress.safetensors", 2, 1, AFFECT_ACTIVATION_IDENTITY);
  write_mlp (argv[1], "spontaneous.safetensors", 2, 2,
      AFFECT_ACTIVATION_IDENTITY);
  write_mlp (argv[1], "scripted.safetensors", 2, 3, AFFECT_ACTIVATION_IDENTITY);
  write_mlp (argv[1], "gate.safetensors", 1, 4, AFFECT_ACTIVATION_SIGMOID);

  affect_moodnet_config_init (&c, 4);
  c.chunks = 2;
  c.chunk_frames = 72;
  c.n_mels = 96;
  c.width = 0.35;
  net = affect_moodnet_new (&c, 5);
  path = g_build_filename (argv[1], "moodnet.safetensors", NULL);
  if (!affect_moodnet_save (net, path, &error, "affect.labels",
          "[\"activated_pleasant\", \"deactivated_pleasant\", "
          "\"activated_unpleasant\", \"deactivated_unpleasant\"]", NULL))
    g_error ("%s", error->message);
  affect_moodnet_free (net);
  g_free (path);
  return 0;
}

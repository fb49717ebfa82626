/* Clip training against first-window training of MoodNet on a music
 * corpus, through libaffect alone (no GStreamer): the Mel frames of every
 * item (mtg-jamendo preset; the WAVs must be at its 12 kHz), a MoodNet
 * trained on the train manifest with the validation manifest for model
 * selection, and the test items' accuracy (argmax of the item's score,
 * scored as training scores: the mean over the crops that cover it, or its
 * first crop). Prints one line per epoch and a summary line.
 *
 *   bench-crops DIR random|first SEED [chunks=2 chunk-frames=128
 *       width=0.35 epochs=12 sgd-epochs=0 batch-size=16 mixup=0]
 *
 * DIR holds match_{train,validation,test}_labels.csv and audio/ (an
 * `affect-corpus music --rate 12000` folder). docs/moodnet.md reports a
 * run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/manifest.h"
#include "affect/mel.h"
#include "affect/moodnet-train.h"
#include "affect/synth.h"

typedef struct
{
  float *frames;
  int n_frames;
  float *labels;
} Item;

static int classes;

static Item *
load_split (const char *dir, const char *split, AffectMelPlan * plan, int *n)
{
  char *path = g_strdup_printf ("%s/match_%s_labels.csv", dir, split);
  char *root = g_build_filename (dir, "audio", NULL);
  GError *error = NULL;
  AffectManifest *m = affect_manifest_load (path, NULL, &error);
  Item *items;

  if (m == NULL)
    g_error ("%s", error->message);
  classes = m->n_vocabulary;
  items = g_new0 (Item, m->n_items);
  for (guint i = 0; i < m->n_items; i++) {
    char *wav = affect_manifest_resolve_path (m, &m->items[i], root);
    int rate;
    size_t ns;
    float *s = affect_wav_read (wav, &rate, &ns, &error);
    if (s == NULL)
      g_error ("%s", error->message);
    if (rate != affect_mel_plan_get_params (plan)->sample_rate)
      g_error ("%s: %d Hz, the preset takes %d", wav, rate,
          affect_mel_plan_get_params (plan)->sample_rate);
    items[i].n_frames = (int) affect_mel_n_frames (plan, ns);
    items[i].frames = g_new (float, (size_t) items[i].n_frames *
        affect_mel_plan_get_params (plan)->n_mels);
    affect_mel_execute (plan, s, ns, items[i].frames);
    items[i].labels = g_memdup2 (m->items[i].labels, sizeof (float) * classes);
    g_free (s);
    g_free (wav);
  }
  *n = m->n_items;
  affect_manifest_free (m);
  g_free (path);
  g_free (root);
  return items;
}

static gboolean
on_epoch (const AffectTrainEpoch * e, gpointer user_data)
{
  double *total = user_data;

  *total += e->seconds;
  printf ("epoch %d/%d %s train-loss %.4f validation-loss %.4f %s %.4f%s "
      "%.1f s\n", e->epoch, e->total_epochs, e->phase, e->train_loss,
      e->validation_loss, e->metric_name, e->validation_metric,
      e->best ? " best" : "", e->seconds);
  fflush (stdout);
  return TRUE;
}

static int
option (int argc, char **argv, const char *name, int def)
{
  for (int i = 4; i < argc; i++)
    if (g_str_has_prefix (argv[i], name) && argv[i][strlen (name)] == '=')
      return atoi (argv[i] + strlen (name) + 1);
  return def;
}

int
main (int argc, char **argv)
{
  AffectMelParams mp;
  AffectMelPlan *plan;
  AffectMoodNetConfig c;
  AffectMoodNetTrainOptions o;
  AffectMoodNetTrainer *t;
  AffectMoodNet *net;
  AffectCropsMode mode;
  Item *items[3];
  int n[3], correct = 0;
  double width = 0.35, seconds = 0.0;
  GError *error = NULL;
  char *out;

  if (argc < 4 || !affect_crops_mode_from_name (argv[2], &mode)) {
    fprintf (stderr, "usage: %s DIR random|first SEED [chunks=N "
        "chunk-frames=N width=X epochs=N sgd-epochs=N batch-size=N "
        "mixup=0|1]\n", argv[0]);
    return 2;
  }
  for (int i = 4; i < argc; i++)
    if (g_str_has_prefix (argv[i], "width="))
      width = g_ascii_strtod (argv[i] + 6, NULL);
  affect_init ();
  affect_mel_params_init (&mp, AFFECT_MEL_PRESET_MTG_JAMENDO);
  plan = affect_mel_plan_new (&mp);
  items[0] = load_split (argv[1], "train", plan, &n[0]);
  items[1] = load_split (argv[1], "validation", plan, &n[1]);
  items[2] = load_split (argv[1], "test", plan, &n[2]);

  affect_moodnet_config_init (&c, classes);
  c.output = AFFECT_MOODNET_SOFTMAX;
  c.n_mels = mp.n_mels;
  c.chunks = option (argc, argv, "chunks", 2);
  c.chunk_frames = option (argc, argv, "chunk-frames", 128);
  c.width = width;
  if (!affect_moodnet_config_validate (&c, &error))
    g_error ("%s", error->message);
  net = affect_moodnet_new (&c, g_ascii_strtoull (argv[3], NULL, 10));
  affect_moodnet_train_options_init (&o);
  o.epochs = option (argc, argv, "epochs", 12);
  o.sgd_epochs = option (argc, argv, "sgd-epochs", 0);
  o.batch_size = option (argc, argv, "batch-size", 16);
  o.mixup = option (argc, argv, "mixup", 0);
  o.seed = g_ascii_strtoull (argv[3], NULL, 10);
  o.crops = mode;
  out = g_strdup_printf ("%s/bench-crops-%d.safetensors", g_get_tmp_dir (),
      (int) getpid ());
  o.output = out;
  t = affect_moodnet_trainer_new (net, &o);
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < n[s]; i++)
      if (!affect_moodnet_trainer_add_frames (t, items[s][i].frames,
              items[s][i].n_frames, items[s][i].labels, s == 1, &error))
        g_error ("%s", error->message);
  printf ("%d train, %d validation, %d test items of %d frames (first); "
      "crop %d frames\n", n[0], n[1], n[2], items[0][0].n_frames,
      c.chunks * c.chunk_frames);
  if (!affect_moodnet_trainer_run (t, on_epoch, &seconds, &error))
    g_error ("%s", error->message);
  for (int i = 0; i < n[2]; i++) {
    float *y = g_new (float, classes);
    int best = 0, truth = 0;
    if (!affect_moodnet_predict_frames (net, items[2][i].frames,
            items[2][i].n_frames, mode, o.batch_size, y, &error))
      g_error ("%s", error->message);
    for (int k = 1; k < classes; k++) {
      best = y[k] > y[best] ? k : best;
      truth = items[2][i].labels[k] > items[2][i].labels[truth] ? k : truth;
    }
    correct += best == truth;
    g_free (y);
  }
  printf ("crops=%s seed=%s chunks=%d chunk-frames=%d width=%g epochs=%d "
      "sgd-epochs=%d: test accuracy %.4f (%d/%d), %.1f s per epoch\n",
      argv[2], argv[3], c.chunks, c.chunk_frames, c.width, o.epochs,
      o.sgd_epochs, (double) correct / MAX (n[2], 1), correct, n[2],
      seconds / MAX (1, o.epochs + 3 * o.sgd_epochs));
  affect_moodnet_trainer_free (t);
  affect_moodnet_free (net);
  g_unlink (out);
  {
    char *ckpt = g_strconcat (out, ".ckpt", NULL);
    g_unlink (ckpt);
    g_free (ckpt);
  }
  g_free (out);
  for (int s = 0; s < 3; s++) {
    for (int i = 0; i < n[s]; i++) {
      g_free (items[s][i].frames);
      g_free (items[s][i].labels);
    }
    g_free (items[s]);
  }
  affect_mel_plan_free (plan);
  return 0;
}

/* MoodNet training checkpoints: a run killed after any epoch (simulated by
 * keeping copies of the checkpoint and the model file as they were after
 * that epoch) and resumed must end with the bits of the run that was not
 * killed — weights, optimiser state and the best model — across the
 * Adam → SGD boundary and inside an SGD stage. A model file from another
 * run, and a checkpoint of the earlier layout, are refused. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/moodnet-train.h"
#include "affect/safetensors.h"

#define MELS 72
#define FRAMES 72
#define CHUNKS 2
#define ITEMS 10

static char *dir;

#define KILLS 3

/* copies of the files as a run killed after each of these epochs would
 * have left them */
typedef struct
{
  const char *output, *checkpoint;
  int after[KILLS];
  char *output_copy[KILLS], *checkpoint_copy[KILLS];
} Killer;

static void
copy_file (const char *from, const char *to)
{
  gchar *data;
  gsize len;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (to, data, len, NULL));
  g_free (data);
}

static gboolean
on_epoch (const AffectTrainEpoch * epoch, gpointer user_data)
{
  Killer *k = user_data;

  for (int i = 0; k != NULL && i < KILLS; i++)
    if (epoch->epoch == k->after[i]) {
      copy_file (k->output, k->output_copy[i]);
      copy_file (k->checkpoint, k->checkpoint_copy[i]);
    }
  return TRUE;
}

static AffectMoodNet *
new_net (void)
{
  AffectMoodNetConfig c;

  affect_moodnet_config_init (&c, 2);
  c.n_mels = MELS;
  c.chunk_frames = FRAMES;
  c.chunks = CHUNKS;
  c.width = 0.35;
  return affect_moodnet_new (&c, 3);
}

/* trains a fresh net (or resumes) into output; k may be NULL; FALSE with
 * error when training fails */
static gboolean
train_or_fail (const char *output, gboolean resume, Killer * k, GError ** error)
{
  AffectMoodNet *net = new_net ();
  AffectMoodNetTrainOptions o;
  AffectMoodNetTrainer *t;
  GRand *rand = g_rand_new_with_seed (17);
  float *x = g_new (float, MELS * FRAMES * CHUNKS);
  gboolean ok;

  affect_moodnet_train_options_init (&o);
  o.epochs = 2;
  o.sgd_epochs = 2;
  o.batch_size = 4;
  o.adam_lr = 1e-3;
  o.seed = 5;
  o.output = output;
  o.resume = resume;
  t = affect_moodnet_trainer_new (net, &o);
  for (int i = 0; i < ITEMS; i++) {
    const int cls = i % 2;
    float labels[2] = { cls == 0, cls == 1 };
    for (int f = 0; f < FRAMES * CHUNKS; f++)
      for (int m = 0; m < MELS; m++) {
        const gboolean band = cls == 0 ? m < MELS / 3 : m >= 2 * MELS / 3;
        x[m * FRAMES * CHUNKS + f] = (float) ((band ? -0.2 : -0.6) +
            0.05 * g_rand_double_range (rand, -1, 1));
      }
    g_assert_true (affect_moodnet_trainer_add_item (t, x, labels, i >= 8,
            NULL));
  }
  ok = affect_moodnet_trainer_run (t, on_epoch, k, error);
  affect_moodnet_trainer_free (t);
  affect_moodnet_free (net);
  g_rand_free (rand);
  g_free (x);
  return ok;
}

static void
train (const char *output, gboolean resume, Killer * k)
{
  GError *error = NULL;

  if (!train_or_fail (output, resume, k, &error))
    g_error ("training: %s", error->message);
}

/* every tensor of a and b, with the same names, has the same bits */
static void
assert_same_tensors (const char *a, const char *b)
{
  AffectSafetensors *fa = affect_safetensors_open (a, NULL);
  AffectSafetensors *fb = affect_safetensors_open (b, NULL);

  g_assert_nonnull (fa);
  g_assert_nonnull (fb);
  g_assert_cmpuint (affect_safetensors_n_tensors (fa), ==,
      affect_safetensors_n_tensors (fb));
  for (guint i = 0; i < affect_safetensors_n_tensors (fa); i++) {
    const char *name = affect_safetensors_name (fa, i);
    AffectTensorView va, vb;
    g_assert_true (affect_safetensors_get (fa, name, &va, NULL));
    if (!affect_safetensors_get (fb, name, &vb, NULL))
      g_error ("%s: no tensor %s", b, name);
    g_assert_cmpint (va.n_elements, ==, vb.n_elements);
    if (memcmp (va.data, vb.data, sizeof (float) * va.n_elements) != 0)
      g_error ("%s differs between %s and %s", name, a, b);
  }
  affect_safetensors_close (fa);
  affect_safetensors_close (fb);
}

static void
test_resume_is_exact (void)
{
  char *straight = g_build_filename (dir, "straight.safetensors", NULL);
  char *straight_ckpt = g_strconcat (straight, ".ckpt", NULL);
  /* inside Adam, at the Adam → SGD boundary, inside the first SGD stage */
  Killer k = { straight, straight_ckpt, {1, 2, 3} };

  for (int i = 0; i < KILLS; i++) {
    k.output_copy[i] = g_strdup_printf ("%s/killed-%d.safetensors", dir,
        k.after[i]);
    k.checkpoint_copy[i] = g_strconcat (k.output_copy[i], ".ckpt", NULL);
  }
  train (straight, FALSE, &k);
  for (int i = 0; i < KILLS; i++) {
    AffectSafetensors *f = affect_safetensors_open (k.checkpoint_copy[i],
        NULL);
    g_assert_nonnull (f);
    g_assert_true (affect_safetensors_has (f, "adam.m.chunk_head.1.weight")
        || affect_safetensors_has (f, "sgd.momentum.chunk_head.1.weight"));
    affect_safetensors_close (f);
    train (k.output_copy[i], TRUE, NULL);
    assert_same_tensors (straight_ckpt, k.checkpoint_copy[i]);
    assert_same_tensors (straight, k.output_copy[i]);
    g_unlink (k.output_copy[i]);
    g_unlink (k.checkpoint_copy[i]);
    g_free (k.output_copy[i]);
    g_free (k.checkpoint_copy[i]);
  }
  g_unlink (straight);
  g_unlink (straight_ckpt);
  g_free (straight);
  g_free (straight_ckpt);
}

static void
test_model_file_from_another_run (void)
{
  char *path = g_build_filename (dir, "other.safetensors", NULL);
  char *ckpt = g_strconcat (path, ".ckpt", NULL);
  char *saved = g_build_filename (dir, "other-after-2.safetensors", NULL);
  char *saved_ckpt = g_strconcat (saved, ".ckpt", NULL);
  Killer k = { path, ckpt, {2, -1, -1}, {saved}, {saved_ckpt} };
  AffectMoodNet *net;
  GError *error = NULL;

  train (path, FALSE, &k);
  /* the checkpoint after epoch 2 beside a model file that holds no epoch
   * (written by hand): the best epoch's weights cannot be found */
  copy_file (saved_ckpt, ckpt);
  net = new_net ();
  g_assert_true (affect_moodnet_save (net, path, NULL, NULL));
  affect_moodnet_free (net);
  g_assert_false (train_or_fail (path, TRUE, NULL, &error));
  g_assert_nonnull (strstr (error->message, "cannot resume"));
  g_clear_error (&error);
  /* a checkpoint of the layout before affect.checkpoint is refused, with
   * the file's name and its layout */
  net = new_net ();
  g_assert_true (affect_moodnet_save (net, ckpt, NULL, "affect.train",
          "{\"epochs_done\": 1, \"best_epoch\": 1}", NULL));
  affect_moodnet_free (net);
  g_assert_false (train_or_fail (path, TRUE, NULL, &error));
  g_assert_nonnull (strstr (error->message, ckpt));
  g_assert_nonnull (strstr (error->message, "layout 1"));
  g_clear_error (&error);
  g_unlink (path);
  g_unlink (ckpt);
  g_unlink (saved);
  g_unlink (saved_ckpt);
  g_free (path);
  g_free (ckpt);
  g_free (saved);
  g_free (saved_ckpt);
}

/* a checkpoint cut short at several lengths, or with an optimiser tensor
 * of the wrong shape: resume fails with an error naming the file, never a
 * crash or a silently restarted run */
static void
test_damaged_checkpoint (void)
{
  char *path = g_build_filename (dir, "damaged.safetensors", NULL);
  char *ckpt = g_strconcat (path, ".ckpt", NULL);
  gchar *good;
  gsize len;
  const double cuts[] = { 0.0, 0.001, 0.3, 0.9, 0.9999 };

  train (path, FALSE, NULL);
  g_assert_true (g_file_get_contents (ckpt, &good, &len, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++) {
    AffectMoodNet *net = new_net ();
    AffectMoodNetTrainOptions o;
    AffectMoodNetTrainer *t;
    GError *error = NULL;
    float x[MELS * FRAMES * CHUNKS] = { 0 }, labels[2] = { 1, 0 };

    g_assert_true (g_file_set_contents (ckpt, good, (gssize) (len * cuts[i]),
            NULL));
    affect_moodnet_train_options_init (&o);
    o.epochs = 2;
    o.sgd_epochs = 2;
    o.batch_size = 4;
    o.output = path;
    o.resume = TRUE;
    t = affect_moodnet_trainer_new (net, &o);
    for (int k = 0; k < 4; k++) {
      labels[0] = k % 2;
      labels[1] = 1 - k % 2;
      g_assert_true (affect_moodnet_trainer_add_item (t, x, labels, FALSE,
              NULL));
    }
    g_assert_false (affect_moodnet_trainer_run (t, NULL, NULL, &error));
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, "damaged.safetensors.ckpt"));
    g_error_free (error);
    affect_moodnet_trainer_free (t);
    affect_moodnet_free (net);
  }
  g_free (good);
  g_unlink (path);
  g_unlink (ckpt);
  g_free (path);
  g_free (ckpt);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  affect_init ();
  /* bit-exact comparisons need one thread count for both runs */
  affect_set_threads (1);
  dir = g_dir_make_tmp ("affect-moodnet-resume-XXXXXX", NULL);
  g_test_add_func ("/moodnet/train/resume-is-exact", test_resume_is_exact);
  g_test_add_func ("/moodnet/train/model-from-another-run",
      test_model_file_from_another_run);
  g_test_add_func ("/moodnet/train/damaged-checkpoint",
      test_damaged_checkpoint);
  ret = g_test_run ();
  g_rmdir (dir);
  g_free (dir);
  return ret;
}

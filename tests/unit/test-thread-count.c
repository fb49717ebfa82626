/* Same seed, same bits, whatever the thread count: the MLP (plain and
 * VAT) and MoodNet, trained a few steps with 1, 2 and 3 threads, write
 * model files whose tensors have identical bits. The shapes are chosen so
 * that every product is large enough to be cut into slabs (a product done
 * by one thread alone would make the test pass trivially), and the thread
 * counts include one (3) that divides none of the slab counts. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/mlp-train.h"
#include "affect/moodnet-train.h"
#include "affect/safetensors.h"

static char *dir;

static const int thread_counts[] = { 1, 2, 3 };

#define N_COUNTS G_N_ELEMENTS (thread_counts)

/* every tensor of a and b, with the same names, has the same bits; and
 * the file holds at least one tensor */
static void
assert_same_tensors (const char *a, const char *b)
{
  AffectSafetensors *fa = affect_safetensors_open (a, NULL);
  AffectSafetensors *fb = affect_safetensors_open (b, NULL);

  g_assert_nonnull (fa);
  g_assert_nonnull (fb);
  g_assert_cmpuint (affect_safetensors_n_tensors (fa), >, 0);
  g_assert_cmpuint (affect_safetensors_n_tensors (fa), ==,
      affect_safetensors_n_tensors (fb));
  for (guint i = 0; i < affect_safetensors_n_tensors (fa); i++) {
    const char *name = affect_safetensors_name (fa, i);
    AffectTensorView va, vb;
    g_assert_true (affect_safetensors_get (fa, name, &va, NULL));
    if (!affect_safetensors_get (fb, name, &vb, NULL))
      g_error ("%s: no tensor %s", b, name);
    g_assert_cmpint (va.n_elements, ==, vb.n_elements);
    if (memcmp (va.data, vb.data, sizeof (float) * va.n_elements) != 0) {
      int64_t j = 0, n_diff = 0;
      for (int64_t e = 0; e < va.n_elements; e++)
        if (memcmp (va.data + e, vb.data + e, sizeof (float)) != 0) {
          if (n_diff++ == 0)
            j = e;
        }
      g_error ("%s differs between %s and %s: %" G_GINT64_FORMAT " of %"
          G_GINT64_FORMAT " values, first [%" G_GINT64_FORMAT "] %.9g vs %.9g",
          name, a, b, n_diff, (int64_t) va.n_elements, j, va.data[j],
          vb.data[j]);
    }
  }
  affect_safetensors_close (fa);
  affect_safetensors_close (fb);
}

/* ---- MLP and VAT ------------------------------------------------------ */

#define MLP_IN 384
#define MLP_ROWS 320

static void
train_mlp (gboolean vat, int threads, const char *path)
{
  AffectMlpConfig c = { 0 };
  AffectMlpTrainConfig tc;
  AffectMlpTrainResult res;
  AffectMlp *mlp;
  GRand *rand = g_rand_new_with_seed (3);
  float *x = g_new (float, MLP_ROWS * MLP_IN);
  float *y = g_new (float, MLP_ROWS);
  GError *error = NULL;

  for (int i = 0; i < MLP_ROWS; i++) {
    double s = 0.0;
    for (int j = 0; j < MLP_IN; j++) {
      x[i * MLP_IN + j] = (float) g_rand_double_range (rand, -1, 1);
      s += (j % 7 == 0) ? x[i * MLP_IN + j] : 0.0;
    }
    y[i] = (float) tanh (s);
  }
  c.n_inputs = MLP_IN;
  c.n_hidden = 2;
  c.hidden[0] = 600;
  c.hidden[1] = 300;
  c.n_outputs = 1;
  c.hidden_activation = AFFECT_ACTIVATION_RELU;
  c.output_activation = AFFECT_ACTIVATION_IDENTITY;
  mlp = affect_mlp_new (&c, 11, NULL);
  g_assert_nonnull (mlp);

  affect_mlp_train_config_init (&tc);
  tc.epochs = 2;
  tc.batch_size = 64;
  tc.learning_rate = 1e-3;
  tc.seed = 9;
  tc.vat = vat;

  affect_set_threads (threads);
  if (!affect_mlp_train (mlp, &tc, x, y, MLP_ROWS - 64, x + (MLP_ROWS - 64)
          * MLP_IN, y + MLP_ROWS - 64, 64, NULL, NULL, &res, &error))
    g_error ("training: %s", error->message);
  affect_set_threads (0);
  if (!affect_mlp_save (mlp, path, &error))
    g_error ("saving: %s", error->message);
  affect_mlp_free (mlp);
  g_rand_free (rand);
  g_free (x);
  g_free (y);
}

static void
test_mlp (gconstpointer data)
{
  const gboolean vat = GPOINTER_TO_INT (data);
  char *path[N_COUNTS];

  for (guint i = 0; i < N_COUNTS; i++) {
    path[i] = g_strdup_printf ("%s/mlp-%s-%d.safetensors", dir,
        vat ? "vat" : "plain", thread_counts[i]);
    train_mlp (vat, thread_counts[i], path[i]);
  }
  for (guint i = 1; i < N_COUNTS; i++)
    assert_same_tensors (path[0], path[i]);
  for (guint i = 0; i < N_COUNTS; i++) {
    g_unlink (path[i]);
    g_free (path[i]);
  }
}

/* ---- MoodNet ---------------------------------------------------------- */

#define MELS 72
#define FRAMES 80
#define CHUNKS 2
#define ITEMS 10

static void
train_moodnet (int threads, const char *output)
{
  AffectMoodNetConfig c;
  AffectMoodNet *net;
  AffectMoodNetTrainOptions o;
  AffectMoodNetTrainer *t;
  GRand *rand = g_rand_new_with_seed (17);
  float *x = g_new (float, MELS * FRAMES * CHUNKS);
  GError *error = NULL;

  affect_moodnet_config_init (&c, 2);
  c.n_mels = MELS;
  c.chunk_frames = FRAMES;
  c.chunks = CHUNKS;
  c.width = 0.35;
  net = affect_moodnet_new (&c, 3);
  g_assert_nonnull (net);

  affect_moodnet_train_options_init (&o);
  o.epochs = 1;
  o.sgd_epochs = 1;
  o.batch_size = 4;
  o.adam_lr = 1e-3;
  o.seed = 5;
  o.mixup = TRUE;
  o.spec_augment = TRUE;
  o.output = output;
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
            &error));
  }
  affect_set_threads (threads);
  if (!affect_moodnet_trainer_run (t, NULL, NULL, &error))
    g_error ("training: %s", error->message);
  affect_set_threads (0);
  affect_moodnet_trainer_free (t);
  affect_moodnet_free (net);
  g_rand_free (rand);
  g_free (x);
}

static void
test_moodnet (void)
{
  char *path[N_COUNTS], *ckpt[N_COUNTS];

  for (guint i = 0; i < N_COUNTS; i++) {
    path[i] = g_strdup_printf ("%s/moodnet-%d.safetensors", dir,
        thread_counts[i]);
    ckpt[i] = g_strconcat (path[i], ".ckpt", NULL);
    train_moodnet (thread_counts[i], path[i]);
  }
  for (guint i = 1; i < N_COUNTS; i++) {
    /* the best model, and the last weights with the optimiser's state */
    assert_same_tensors (path[0], path[i]);
    assert_same_tensors (ckpt[0], ckpt[i]);
  }
  for (guint i = 0; i < N_COUNTS; i++) {
    g_unlink (path[i]);
    g_unlink (ckpt[i]);
    g_free (path[i]);
    g_free (ckpt[i]);
  }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  affect_init ();
  dir = g_dir_make_tmp ("affect-thread-count-XXXXXX", NULL);
  g_test_add_data_func ("/thread-count/mlp", GINT_TO_POINTER (FALSE), test_mlp);
  g_test_add_data_func ("/thread-count/vat", GINT_TO_POINTER (TRUE), test_mlp);
  g_test_add_func ("/thread-count/moodnet", test_moodnet);
  ret = g_test_run ();
  g_rmdir (dir);
  g_free (dir);
  return ret;
}

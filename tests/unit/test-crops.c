/* The crop sampler (affect/crops.h), the item cache (affect/dataset.h) and
 * MoodNet clip training on items longer than a crop. */
#include <math.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/crops.h"
#include "affect/dataset.h"
#include "affect/moodnet-train.h"

static void
test_position (void)
{
  const int n = 300, len = 64;
  int *hits = g_new0 (int, n);
  int lo = n, hi = -1, differ = 0;

  for (int epoch = 0; epoch < 400; epoch++) {
    const int p = affect_crop_position (7, epoch, 3, n, len);
    /* a function of its arguments alone */
    g_assert_cmpint (p, ==, affect_crop_position (7, epoch, 3, n, len));
    g_assert_cmpint (p, >=, 0);
    g_assert_cmpint (p, <=, n - len);
    lo = MIN (lo, p);
    hi = MAX (hi, p);
    for (int t = p; t < p + len; t++)
      hits[t]++;
    differ += p != affect_crop_position (8, epoch, 3, n, len);
    differ += p != affect_crop_position (7, epoch, 4, n, len);
  }
  /* the draws reach both ends and every frame is seen */
  g_assert_cmpint (lo, <=, 5);
  g_assert_cmpint (hi, >=, n - len - 5);
  for (int t = 0; t < n; t++)
    g_assert_cmpint (hits[t], >, 0);
  /* other seeds and other items draw other positions */
  g_assert_cmpint (differ, >, 700);
  /* an item no longer than a crop has one position */
  g_assert_cmpint (affect_crop_position (7, 1, 3, len, len), ==, 0);
  g_assert_cmpint (affect_crop_position (7, 1, 3, 10, len), ==, 0);
  g_free (hits);
}

static void
test_cover (void)
{
  const int lens[] = { 1, 7, 64 };
  int starts[400];

  for (guint l = 0; l < G_N_ELEMENTS (lens); l++)
    for (int n = 1; n < 300; n++) {
      const int len = lens[l];
      const int c = affect_crop_cover (n, len, starts);
      g_assert_cmpint (c, ==, n <= len ? 1 : (n + len - 1) / len);
      g_assert_cmpint (affect_crop_cover (n, len, NULL), ==, c);
      g_assert_cmpint (starts[0], ==, 0);
      if (n >= len)
        g_assert_cmpint (starts[c - 1] + len, ==, n);
      for (int k = 1; k < c; k++) {
        /* increasing, no gap between crops */
        g_assert_cmpint (starts[k], >, starts[k - 1]);
        g_assert_cmpint (starts[k], <=, starts[k - 1] + len);
      }
    }
  /* 30 s of 12 kHz / 256 frames by 512-frame crops: 3, evenly spread */
  g_assert_cmpint (affect_crop_cover (1407, 512, starts), ==, 3);
  g_assert_cmpint (starts[1], ==, 448);
  g_assert_cmpint (starts[2], ==, 895);
}

static void
test_fill (void)
{
  const int n = 3, width = 4, len = 8;
  float frames[3 * 4], dst[4 * 8];

  for (int i = 0; i < n * width; i++)
    frames[i] = (float) i;
  /* a short item is repeated from its start: the seed's padding */
  affect_crop_fill (frames, n, width, 0, len, dst);
  for (int m = 0; m < width; m++)
    for (int t = 0; t < len; t++)
      g_assert_cmpfloat (dst[m * len + t], ==, frames[(t % n) * width + m]);
  /* a crop inside an item is the item's frames, channel-major */
  affect_crop_fill (frames, n, width, 1, 2, dst);
  for (int m = 0; m < width; m++)
    for (int t = 0; t < 2; t++)
      g_assert_cmpfloat (dst[m * 2 + t], ==, frames[(1 + t) * width + m]);
}

static void
test_mode_names (void)
{
  AffectCropsMode mode;
  AffectTrainSelect select;

  g_assert_true (affect_crops_mode_from_name ("first", &mode));
  g_assert_cmpint (mode, ==, AFFECT_CROPS_FIRST);
  g_assert_cmpstr (affect_crops_mode_name (AFFECT_CROPS_RANDOM), ==, "random");
  g_assert_false (affect_crops_mode_from_name ("middle", &mode));
  g_assert_true (affect_train_select_from_name ("last", &select));
  g_assert_cmpint (select, ==, AFFECT_TRAIN_SELECT_LAST);
  g_assert_false (affect_train_select_from_name ("worst", &select));
}

/* items of 1 … 40 frames of 5 values */
static float *
make_item (int i, int *frames)
{
  float *x;

  *frames = 1 + (i * 7) % 40;
  x = g_new (float, (size_t) *frames * 5);
  for (int j = 0; j < *frames * 5; j++)
    x[j] = (float) (i * 1000 + j) * 0.25f;
  return x;
}

static void
test_cache (void)
{
  const size_t budgets[] = { G_MAXSIZE, 0, 1000 };
  const int n = 30;

  for (guint b = 0; b < G_N_ELEMENTS (budgets); b++) {
    AffectDataset *ds = affect_dataset_new (5, 2);
    int spilled = 0;
    size_t held = 0;

    affect_dataset_set_cache_budget (ds, budgets[b]);
    for (int i = 0; i < n; i++) {
      int frames;
      float *x = make_item (i, &frames);
      float y[2] = { (float) i, -(float) i };
      const size_t bytes = (size_t) frames * 5 * sizeof (float);
      g_assert_true (affect_dataset_add_item (ds, x, frames, y, i % 4 == 3,
              NULL));
      if (held + bytes <= budgets[b])
        held += bytes;
      else
        spilled++;
      /* never more in memory than the budget */
      g_assert_cmpuint (affect_dataset_memory (ds), <=, budgets[b]);
      g_free (x);
    }
    g_assert_cmpuint (affect_dataset_memory (ds), ==, held);
    g_assert_cmpint (affect_dataset_spilled (ds), ==, spilled);
    g_assert_cmpint (affect_dataset_spilled (ds), ==,
        b == 0 ? 0 : b == 1 ? n : spilled);
    g_assert_cmpint (affect_dataset_size (ds, FALSE) +
        affect_dataset_size (ds, TRUE), ==, n);
    /* whole items and any range of them read back the same numbers
     * wherever they live */
    for (int i = 0, k[2] = { 0, 0 }; i < n; i++) {
      const gboolean val = i % 4 == 3;
      const int j = k[val]++;
      int frames;
      float *x = make_item (i, &frames);
      float *got = g_new (float, (size_t) frames * 5);
      g_assert_cmpint (affect_dataset_item_frames (ds, val, j), ==, frames);
      g_assert_cmpfloat (affect_dataset_item_targets (ds, val, j)[1], ==,
          -(float) i);
      g_assert_true (affect_dataset_read (ds, val, j, 0, frames, got, NULL));
      g_assert_cmpmem (got, frames * 5 * sizeof (float), x,
          frames * 5 * sizeof (float));
      if (frames > 3) {
        g_assert_true (affect_dataset_read (ds, val, j, 2, frames - 3, got,
                NULL));
        g_assert_cmpmem (got, (frames - 3) * 5 * sizeof (float), x + 10,
            (frames - 3) * 5 * sizeof (float));
      }
      g_free (got);
      g_free (x);
    }
    {
      /* non-finite values and empty items are refused */
      float bad[10] = { 0 }, y[2] = { 0, 0 };
      GError *error = NULL;
      bad[7] = INFINITY;
      g_assert_false (affect_dataset_add_item (ds, bad, 2, y, FALSE, &error));
      g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
      g_clear_error (&error);
      g_assert_false (affect_dataset_add_item (ds, bad, 0, y, FALSE, &error));
      g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
      g_clear_error (&error);
    }
    affect_dataset_free (ds);
  }
}

/* ---- MoodNet on items longer than a crop ------------------------------- */

#define MELS 72
#define CHUNK 72
#define ITEMS 10

static char *dir;

static GBytes *
read_file (const char *path)
{
  char *data;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_bytes_new_take (data, len);
}

static AffectMoodNet *
make_net (void)
{
  AffectMoodNetConfig c;
  affect_moodnet_config_init (&c, 2);
  c.n_mels = MELS;
  c.chunk_frames = CHUNK;
  c.chunks = 1;
  c.width = 0.35;
  c.output = AFFECT_MOODNET_SOFTMAX;
  return affect_moodnet_new (&c, 3);
}

/* class 0: energy in the low bands in the item's second half only, so
 * the first crop of a long item does not show it */
static float *
make_clip (int i, int *n_frames)
{
  GRand *rand = g_rand_new_with_seed (100 + i);
  const int cls = i % 2;
  float *f;

  *n_frames = i == 4 ? CHUNK / 2 : CHUNK * 2 + 13 * i;
  f = g_new (float, (size_t) *n_frames * MELS);
  for (int t = 0; t < *n_frames; t++)
    for (int m = 0; m < MELS; m++) {
      const gboolean on = t >= *n_frames / 2 && (cls == 0 ? m < MELS / 3 :
          m >= 2 * MELS / 3);
      f[(size_t) t * MELS + m] = (float) ((on ? -0.2 : -0.6) +
          0.05 * g_rand_double_range (rand, -1, 1));
    }
  g_rand_free (rand);
  return f;
}

static GBytes *
train (size_t budget, int threads, AffectCropsMode crops, const char *name)
{
  AffectMoodNet *net = make_net ();
  AffectMoodNetTrainOptions o;
  AffectMoodNetTrainer *t;
  char *path = g_build_filename (dir, name, NULL);
  char *ckpt = g_strconcat (path, ".ckpt", NULL);
  GError *error = NULL;
  GBytes *bytes;

  affect_moodnet_train_options_init (&o);
  o.epochs = 2;
  o.sgd_epochs = 0;
  o.batch_size = 4;
  o.adam_lr = 1e-3;
  o.seed = 5;
  o.mixup = TRUE;
  o.cache_budget = budget;
  o.crops = crops;
  o.output = path;
  t = affect_moodnet_trainer_new (net, &o);
  for (int i = 0; i < ITEMS; i++) {
    int n;
    float *f = make_clip (i, &n);
    float labels[2] = { i % 2 == 0, i % 2 == 1 };
    g_assert_true (affect_moodnet_trainer_add_frames (t, f, n, labels,
            i >= 7, &error));
    g_free (f);
  }
  affect_set_threads (threads);
  if (!affect_moodnet_trainer_run (t, NULL, NULL, &error))
    g_error ("training: %s", error->message);
  affect_set_threads (0);
  affect_moodnet_trainer_free (t);
  bytes = read_file (path);

  {
    /* prediction over the covering crops is the mean of the crops' own
     * outputs */
    int n, starts[8];
    float *f = make_clip (9, &n);
    float avg[2], one[2], sum[2] = { 0, 0 };
    float *x = g_new (float, MELS * CHUNK);
    const int c = affect_crop_cover (n, CHUNK, starts);
    g_assert_cmpint (c, >, 2);
    g_assert_true (affect_moodnet_predict_frames (net, f, n, crops, 2, avg,
            NULL));
    for (int k = 0; k < (crops == AFFECT_CROPS_FIRST ? 1 : c); k++) {
      affect_crop_fill (f + (size_t) starts[k] * MELS, CHUNK, MELS, 0, CHUNK,
          x);
      affect_moodnet_forward (net, x, 1, one);
      sum[0] += one[0];
      sum[1] += one[1];
    }
    if (crops == AFFECT_CROPS_RANDOM) {
      sum[0] /= c;
      sum[1] /= c;
    }
    g_assert_cmpfloat_with_epsilon (avg[0], sum[0], 1e-5);
    g_assert_cmpfloat_with_epsilon (avg[1], sum[1], 1e-5);
    g_free (x);
    g_free (f);
  }
  affect_moodnet_free (net);
  g_unlink (path);
  g_unlink (ckpt);
  g_free (path);
  g_free (ckpt);
  return bytes;
}

static void
test_moodnet_crops (void)
{
  GBytes *ref = train (G_MAXSIZE, 1, AFFECT_CROPS_RANDOM, "a.safetensors");
  /* every item spilled, two threads: the same bits */
  GBytes *spilled = train (0, 2, AFFECT_CROPS_RANDOM, "b.safetensors");
  /* half the items spilled */
  GBytes *half = train ((size_t) MELS * CHUNK * 4 * 8, 1,
      AFFECT_CROPS_RANDOM, "c.safetensors");
  /* first-window training sees other inputs */
  GBytes *first = train (G_MAXSIZE, 1, AFFECT_CROPS_FIRST, "d.safetensors");

  g_assert_true (g_bytes_equal (ref, spilled));
  g_assert_true (g_bytes_equal (ref, half));
  g_assert_false (g_bytes_equal (ref, first));
  g_bytes_unref (ref);
  g_bytes_unref (spilled);
  g_bytes_unref (half);
  g_bytes_unref (first);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  affect_init ();
  dir = g_dir_make_tmp ("affect-crops-XXXXXX", NULL);
  g_test_add_func ("/crops/position", test_position);
  g_test_add_func ("/crops/cover", test_cover);
  g_test_add_func ("/crops/fill", test_fill);
  g_test_add_func ("/crops/mode-names", test_mode_names);
  g_test_add_func ("/dataset/cache", test_cache);
  g_test_add_func ("/crops/moodnet", test_moodnet_crops);
  ret = g_test_run ();
  g_rmdir (dir);
  g_free (dir);
  return ret;
}

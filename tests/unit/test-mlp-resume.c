/* MLP training checkpoints and the dataset's spill file: an interrupted
 * and resumed run ends bit-identical to an uninterrupted one, a checkpoint
 * that does not fit is refused with an error, and where the dataset keeps
 * its rows (memory or spill file) does not change the model. */
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/mlp-train.h"
#include "affect/safetensors.h"

static char *tmp_dir;

static void
make_data (float *x, float *y, int n, int din, int k, AffectRng * rng)
{
  int i, j, o;

  for (i = 0; i < n; i++) {
    double t = 0.0;
    for (j = 0; j < din; j++) {
      double v = affect_rng_normal (rng);
      x[(size_t) i * din + j] = (float) (10.0 * (j % 3) + (1 + j % 4) * v);
      if (j < 6)
        t += 0.5 * v + 0.25 * sin (2.0 * v);
    }
    for (o = 0; o < k; o++)
      y[(size_t) i * k + o] = (float) ((o + 1) * t + 0.05 *
          affect_rng_normal (rng));
  }
}

static AffectMlp *
make_mlp (int din, int h, int k)
{
  AffectMlpConfig c = { 0 };
  AffectMlp *mlp;

  c.n_inputs = din;
  c.n_hidden = 2;
  c.hidden[0] = h;
  c.hidden[1] = h / 2;
  c.n_outputs = k;
  c.hidden_activation = AFFECT_ACTIVATION_RELU;
  c.output_activation = AFFECT_ACTIVATION_IDENTITY;
  mlp = affect_mlp_new (&c, 7, NULL);
  g_assert_nonnull (mlp);
  return mlp;
}

static void
assert_same_weights (AffectMlp * a, AffectMlp * b)
{
  guint na, nb, i;
  AffectParam *const *pa = affect_mlp_params (a, &na);
  AffectParam *const *pb = affect_mlp_params (b, &nb);

  g_assert_cmpuint (na, ==, nb);
  for (i = 0; i < na; i++)
    g_assert_cmpmem (pa[i]->value.data, pa[i]->value.n * sizeof (float),
        pb[i]->value.data, pb[i]->value.n * sizeof (float));
  g_assert_cmpmem (affect_mlp_get_mean (a), affect_mlp_get_config (a)->n_inputs
      * sizeof (float), affect_mlp_get_mean (b),
      affect_mlp_get_config (b)->n_inputs * sizeof (float));
}

static gboolean
stop_after (const AffectTrainEpoch * report, gpointer user_data)
{
  return report->epoch < GPOINTER_TO_INT (user_data);
}

typedef struct
{
  const char *name;
  gboolean vat;
  int outputs;                  /* 1: sign-only directions; 2: Gaussian */
  int patience;
  double weight_decay;
  double learning_rate;
  int epochs;
} Case;

static void
test_resume (void)
{
  static const Case cases[] = {
    {"plain", FALSE, 1, 0, 1e-4, 3e-3, 7},
    {"vat", TRUE, 1, 0, 0.0, 3e-3, 7},
    {"vat-gaussian", TRUE, 2, 0, 0.0, 3e-3, 7},
    /* a rate high enough for the validation score to stall */
    {"plain-patience", FALSE, 2, 2, 0.0, 3e-2, 30},
  };
  const int n = 240, nv = 80, din = 24, stop = 3;
  char *ckpt = g_build_filename (tmp_dir, "resume.ckpt", NULL);
  guint c;

  for (c = 0; c < G_N_ELEMENTS (cases); c++) {
    const Case *cs = &cases[c];
    const int k = cs->outputs, total = cs->epochs;
    float *x = g_new (float, n * din), *y = g_new (float, n * k);
    float *xv = g_new (float, nv * din), *yv = g_new (float, nv * k);
    AffectMlpTrainConfig tc;
    AffectMlpTrainResult straight, first, resumed, plain;
    AffectMlp *a, *b, *p;
    AffectRng rng;
    GError *error = NULL;
    GStatBuf st;
    gint64 t0, t1;
    int e;

    affect_rng_init (&rng, 40 + c);
    make_data (x, y, n, din, k, &rng);
    make_data (xv, yv, nv, din, k, &rng);
    affect_mlp_train_config_init (&tc);
    tc.epochs = total;
    tc.batch_size = 32;
    tc.learning_rate = cs->learning_rate;
    tc.weight_decay = cs->weight_decay;
    tc.patience = cs->patience;
    tc.vat = cs->vat;
    tc.vat_config.epsilon = 0.5;
    tc.vat_config.lambda = 0.5;
    tc.seed = 11;

    /* without a checkpoint (as before), then with one every epoch */
    p = make_mlp (din, 32, k);
    t0 = g_get_monotonic_time ();
    g_assert_true (affect_mlp_train (p, &tc, x, y, n, xv, yv, nv, NULL, NULL,
            &plain, &error));
    t1 = g_get_monotonic_time ();
    g_assert_no_error (error);
    g_unlink (ckpt);
    tc.checkpoint_path = ckpt;
    a = make_mlp (din, 32, k);
    g_assert_true (affect_mlp_train (a, &tc, x, y, n, xv, yv, nv, NULL, NULL,
            &straight, &error));
    g_assert_no_error (error);
    assert_same_weights (a, p);
    /* kept when training ends */
    g_assert_cmpint (g_stat (ckpt, &st), ==, 0);
    g_test_message ("%s: %d epochs, best %d (MAE %.4f); checkpoint %ld "
        "bytes, %.1f ms per epoch with checkpoints vs %.1f ms without",
        cs->name, straight.epochs_run, straight.best_epoch,
        straight.best_validation_metric, (long) st.st_size,
        (g_get_monotonic_time () - t1) / 1e3 / straight.epochs_run,
        (t1 - t0) / 1e3 / plain.epochs_run);
    if (cs->patience > 0) {
      g_assert_cmpint (straight.epochs_run, <, total);
      g_assert_cmpint (straight.epochs_run, >, stop);
    }

    /* interrupted after `stop` epochs (the callback stands for a kill
     * between two epochs), then resumed to the end */
    g_unlink (ckpt);
    b = make_mlp (din, 32, k);
    g_assert_true (affect_mlp_train (b, &tc, x, y, n, xv, yv, nv, stop_after,
            GINT_TO_POINTER (stop), &first, &error));
    g_assert_cmpint (first.epochs_run, ==, MIN (stop, straight.epochs_run));
    affect_mlp_free (b);
    /* a fresh model, as a new process would build */
    b = make_mlp (din, 32, k);
    tc.resume = TRUE;
    g_assert_true (affect_mlp_train (b, &tc, x, y, n, xv, yv, nv, NULL, NULL,
            &resumed, &error));
    g_assert_no_error (error);
    assert_same_weights (a, b);
    g_assert_cmpint (resumed.epochs_run, ==, straight.epochs_run);
    g_assert_cmpint (resumed.best_epoch, ==, straight.best_epoch);
    g_assert_cmpfloat (resumed.best_validation_metric, ==,
        straight.best_validation_metric);
    affect_mlp_free (b);

    /* a finished run extended: 2 epochs, then resume to `total` */
    if (cs->patience == 0) {
      g_unlink (ckpt);
      tc.resume = FALSE;
      tc.epochs = 2;
      b = make_mlp (din, 32, k);
      g_assert_true (affect_mlp_train (b, &tc, x, y, n, xv, yv, nv, NULL,
              NULL, &first, &error));
      affect_mlp_free (b);
      tc.resume = TRUE;
      tc.epochs = total;
      for (e = 0; e < 1; e++) {
        b = make_mlp (din, 32, k);
        g_assert_true (affect_mlp_train (b, &tc, x, y, n, xv, yv, nv, NULL,
                NULL, &resumed, &error));
        assert_same_weights (a, b);
        affect_mlp_free (b);
      }
      /* resuming a finished run trains no further and keeps its model */
      b = make_mlp (din, 32, k);
      g_assert_true (affect_mlp_train (b, &tc, x, y, n, xv, yv, nv, NULL,
              NULL, &resumed, &error));
      g_assert_cmpint (resumed.epochs_run, ==, total);
      assert_same_weights (a, b);
      affect_mlp_free (b);
    }

    tc.resume = FALSE;
    tc.checkpoint_path = NULL;
    affect_mlp_free (a);
    affect_mlp_free (p);
    g_free (x);
    g_free (y);
    g_free (xv);
    g_free (yv);
  }
  g_unlink (ckpt);
  g_free (ckpt);
}

static gboolean
die_after (const AffectTrainEpoch * report, gpointer user_data)
{
  if (report->epoch == GPOINTER_TO_INT (user_data))
    _exit (42);
  return TRUE;
}

/* a process killed after an epoch (no clean-up of any kind), then a new
 * one resuming: the same model, and no temporary file left behind */
static void
test_killed (void)
{
  const int n = 200, nv = 50, din = 16;
  float *x = g_new (float, n * din), *y = g_new (float, n);
  float *xv = g_new (float, nv * din), *yv = g_new (float, nv);
  char *ckpt = g_build_filename (tmp_dir, "killed.ckpt", NULL);
  AffectMlpTrainConfig tc;
  AffectMlpTrainResult res;
  AffectMlp *a, *b;
  AffectRng rng;
  GError *error = NULL;
  GDir *dir;
  const char *name;
  int status;
  pid_t pid;

  affect_rng_init (&rng, 21);
  make_data (x, y, n, din, 1, &rng);
  make_data (xv, yv, nv, din, 1, &rng);
  affect_mlp_train_config_init (&tc);
  tc.epochs = 6;
  tc.batch_size = 16;
  tc.seed = 4;
  a = make_mlp (din, 16, 1);
  g_assert_true (affect_mlp_train (a, &tc, x, y, n, xv, yv, nv, NULL, NULL,
          &res, &error));

  tc.checkpoint_path = ckpt;
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0) {
    b = make_mlp (din, 16, 1);
    affect_mlp_train (b, &tc, x, y, n, xv, yv, nv, die_after,
        GINT_TO_POINTER (4), &res, NULL);
    _exit (0);
  }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 42);

  tc.resume = TRUE;
  b = make_mlp (din, 16, 1);
  g_assert_true (affect_mlp_train (b, &tc, x, y, n, xv, yv, nv, NULL, NULL,
          &res, &error));
  g_assert_no_error (error);
  g_assert_cmpint (res.epochs_run, ==, 6);
  assert_same_weights (a, b);

  dir = g_dir_open (tmp_dir, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_null (strstr (name, ".tmp-"));
  g_dir_close (dir);
  g_unlink (ckpt);
  g_free (ckpt);
  affect_mlp_free (a);
  affect_mlp_free (b);
  g_free (x);
  g_free (y);
  g_free (xv);
  g_free (yv);
}

static void
test_refused (void)
{
  const int n = 100, din = 16;
  float *x = g_new (float, n * din), *y = g_new (float, n);
  char *ckpt = g_build_filename (tmp_dir, "refused.ckpt", NULL);
  char *bad = g_build_filename (tmp_dir, "bad.ckpt", NULL);
  AffectMlpTrainConfig tc;
  AffectMlpTrainResult res;
  AffectMlp *mlp;
  AffectRng rng;
  GError *error = NULL;
  gchar *bytes;
  gsize len;
  static const double cuts[] = { 0.0, 0.001, 0.01, 0.1, 0.5, 0.9, 0.999 };
  guint i;

  affect_rng_init (&rng, 3);
  make_data (x, y, n, din, 1, &rng);
  affect_mlp_train_config_init (&tc);
  tc.epochs = 2;
  tc.checkpoint_path = ckpt;
  mlp = make_mlp (din, 16, 1);
  g_assert_true (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL,
          NULL, &res, &error));
  g_assert_no_error (error);
  affect_mlp_free (mlp);
  tc.resume = TRUE;
  tc.epochs = 3;

  /* another shape */
  mlp = make_mlp (din, 8, 1);
  g_assert_false (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL,
          NULL, &res, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "16-16-8-1"));
  g_clear_error (&error);
  affect_mlp_free (mlp);

  /* other settings, other data */
  mlp = make_mlp (din, 16, 1);
  tc.learning_rate = 2e-3;
  g_assert_false (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL,
          NULL, &res, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH);
  g_clear_error (&error);
  tc.learning_rate = 1e-3;
  y[7] += 1.0f;
  g_assert_false (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL,
          NULL, &res, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH);
  g_clear_error (&error);
  y[7] -= 1.0f;
  g_assert_true (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL,
          NULL, &res, &error));
  g_assert_no_error (error);
  g_assert_cmpint (res.epochs_run, ==, 3);

  /* truncated copies */
  g_assert_true (g_file_get_contents (ckpt, &bytes, &len, NULL));
  tc.checkpoint_path = bad;
  for (i = 0; i < G_N_ELEMENTS (cuts); i++) {
    g_assert_true (g_file_set_contents (bad, bytes, (gsize) (cuts[i] * len),
            NULL));
    g_assert_false (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0,
            NULL, NULL, &res, &error));
    g_assert_true (error != NULL && error->domain == AFFECT_ERROR);
    if (i == 4)
      g_test_message ("truncated: %s", error->message);
    g_clear_error (&error);
  }
  /* a garbled header */
  bytes[12] = '#';
  g_assert_true (g_file_set_contents (bad, bytes, len, NULL));
  g_assert_false (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL,
          NULL, &res, &error));
  g_assert_true (error != NULL && error->domain == AFFECT_ERROR);
  g_clear_error (&error);
  g_free (bytes);

  /* a model file is not a checkpoint */
  g_assert_true (affect_mlp_save (mlp, bad, NULL));
  g_assert_false (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL,
          NULL, &res, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
  g_clear_error (&error);

  /* a checkpoint with a damaged entry */
  {
    AffectSafetensors *f = affect_safetensors_open (ckpt, NULL);
    AffectSafetensorsWriter *w = affect_safetensors_writer_new ();
    const char *const *keys = affect_safetensors_metadata_keys (f);
    const char *json = affect_safetensors_metadata (f, "affect.checkpoint");
    GRegex *re = g_regex_new ("\"epochs_done\": [0-9]+", 0, 0, NULL);
    char *damaged = g_regex_replace_literal (re, json, -1, 0,
        "\"epochs_done\": -3", 0, NULL);
    char *repaired = g_strdup (json);
    guint t;
    g_assert_cmpstr (damaged, !=, json);
    for (t = 0; keys[t] != NULL; t++)
      affect_safetensors_writer_set_metadata (w, keys[t],
          strcmp (keys[t], "affect.checkpoint") == 0 ? damaged :
          affect_safetensors_metadata (f, keys[t]));
    for (t = 0; t < affect_safetensors_n_tensors (f); t++) {
      AffectTensorView v;
      g_assert_true (affect_safetensors_get (f, affect_safetensors_name (f,
                  t), &v, NULL));
      /* one Adam moment left out */
      if (strcmp (v.name, "adam.v.net.2.bias") != 0)
        affect_safetensors_writer_add (w, v.name, v.n_dims, v.shape, v.data);
    }
    g_assert_true (affect_safetensors_writer_write (w, bad, NULL));
    g_assert_false (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0,
            NULL, NULL, &res, &error));
    g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
    g_test_message ("%s", error->message);
    g_clear_error (&error);
    /* the epoch repaired, the moment still missing */
    affect_safetensors_writer_set_metadata (w, "affect.checkpoint", repaired);
    g_assert_true (affect_safetensors_writer_write (w, bad, NULL));
    g_assert_false (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0,
            NULL, NULL, &res, &error));
    g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
    g_test_message ("%s", error->message);
    g_clear_error (&error);
    affect_safetensors_writer_free (w);
    affect_safetensors_close (f);
    g_regex_unref (re);
    g_free (damaged);
    g_free (repaired);
  }

  /* a checkpoint of the layout before affect.checkpoint: refused, with
   * the file's name and its layout */
  {
    AffectSafetensorsWriter *w = affect_safetensors_writer_new ();
    affect_safetensors_writer_set_metadata (w, "format",
        "gst-affect-mlp-checkpoint");
    affect_safetensors_writer_set_metadata (w, "checkpoint.epoch", "2");
    g_assert_true (affect_safetensors_writer_write (w, bad, NULL));
    affect_safetensors_writer_free (w);
    g_assert_false (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0,
            NULL, NULL, &res, &error));
    g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, bad));
    g_assert_nonnull (strstr (error->message, "layout 1"));
    g_clear_error (&error);
  }

  affect_mlp_free (mlp);
  g_unlink (ckpt);
  g_unlink (bad);
  g_free (ckpt);
  g_free (bad);
  g_free (x);
  g_free (y);
}

static int
count_spill_files (void)
{
  GDir *dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;
  int count = 0;

  while ((name = g_dir_read_name (dir)) != NULL)
    count += g_str_has_prefix (name, "affect-dataset-");
  g_dir_close (dir);
  return count;
}

/* the same rows in datasets with budgets: all in memory, all spilled,
 * part spilled */
static void
test_spill (void)
{
  const int n = 300, nv = 60, din = 20, k = 3;
  const size_t row = din * sizeof (float);
  const size_t budgets[] = { G_MAXSIZE, 0, 100 * row + 3 };
  float *x = g_new (float, n * din), *y = g_new (float, n * k);
  float *xv = g_new (float, nv * din), *yv = g_new (float, nv * k);
  AffectMlp *ref[2] = { NULL, NULL };
  AffectRng rng;
  int i, target;
  guint b;

  affect_rng_init (&rng, 8);
  make_data (x, y, n, din, k, &rng);
  make_data (xv, yv, nv, din, k, &rng);
  for (b = 0; b < G_N_ELEMENTS (budgets); b++) {
    AffectDataset *ds = affect_dataset_new (din, k);
    affect_dataset_set_cache_budget (ds, budgets[b]);
    /* training and validation rows interleaved, as a corpus gives them */
    for (i = 0; i < n; i++) {
      g_assert_true (affect_dataset_add (ds, x + (size_t) i * din,
              y + (size_t) i * k, FALSE, NULL));
      if (i % 5 == 0)
        g_assert_true (affect_dataset_add (ds, xv + (size_t) (i / 5) * din,
                yv + (size_t) (i / 5) * k, TRUE, NULL));
    }
    g_assert_cmpint (affect_dataset_size (ds, FALSE), ==, n);
    g_assert_cmpint (affect_dataset_size (ds, TRUE), ==, nv);
    g_assert_cmpint (affect_dataset_spilled (ds), ==,
        b == 0 ? 0 : b == 1 ? n + nv : n + nv - 100);
    /* the bytes held never pass the budget */
    g_assert_cmpuint (affect_dataset_memory (ds), <=, budgets[b]);
    g_assert_cmpuint (affect_dataset_memory (ds), ==,
        (size_t) (n + nv - affect_dataset_spilled (ds)) * row);
    g_assert_cmpint (count_spill_files (), ==, b == 0 ? 0 : 1);
    {
      /* a non-finite row is refused as such, and not added */
      float bad[20] = { 0 };
      GError *error = NULL;
      bad[3] = NAN;
      g_assert_false (affect_dataset_add (ds, bad, y, FALSE, &error));
      g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
      g_clear_error (&error);
      g_assert_cmpint (affect_dataset_size (ds, FALSE), ==, n);
    }

    /* one model over all targets, and one for target 0 with VAT; both
     * select on the validation rows */
    for (target = -1; target < 1; target++) {
      AffectMlpTrainConfig tc;
      AffectMlpTrainResult res;
      GError *error = NULL;
      AffectMlp *mlp = make_mlp (din, 16, target < 0 ? k : 1);
      affect_mlp_train_config_init (&tc);
      tc.epochs = 3;
      tc.batch_size = 16;
      tc.vat = target >= 0;
      tc.seed = 2;
      g_assert_true (affect_mlp_train_dataset (mlp, &tc, ds, target, 0.1,
              NULL, NULL, &res, &error));
      g_assert_no_error (error);
      g_assert_cmpint (res.best_epoch, >, 0);
      if (ref[target + 1] == NULL) {
        ref[target + 1] = mlp;
      } else {
        assert_same_weights (ref[target + 1], mlp);
        affect_mlp_free (mlp);
      }
    }
    affect_dataset_free (ds);
    /* the spill file goes with the dataset */
    g_assert_cmpint (count_spill_files (), ==, 0);
  }

  /* a dataset with no validation rows: the held-out tenth, spilled or not;
   * and the dataset path equals the array path on the same rows */
  {
    AffectMlp *m[2];
    AffectMlpTrainConfig tc;
    AffectMlpTrainResult res;
    for (b = 0; b < 2; b++) {
      AffectDataset *ds = affect_dataset_new (din, k);
      affect_dataset_set_cache_budget (ds, budgets[b]);
      for (i = 0; i < n; i++)
        affect_dataset_add (ds, x + (size_t) i * din, y + (size_t) i * k,
            FALSE, NULL);
      affect_mlp_train_config_init (&tc);
      tc.epochs = 3;
      tc.vat = FALSE;
      m[b] = make_mlp (din, 16, k);
      g_assert_true (affect_mlp_train_dataset (m[b], &tc, ds, -1, 0.2, NULL,
              NULL, &res, NULL));
      affect_dataset_free (ds);
    }
    assert_same_weights (m[0], m[1]);
    affect_mlp_free (m[1]);
    m[1] = make_mlp (din, 16, k);
    g_assert_true (affect_mlp_train (m[1], &tc, x, y, n, NULL, NULL, 0, NULL,
            NULL, &res, NULL));
    {
      /* the arrays without hold-out against a dataset without hold-out */
      AffectDataset *ds = affect_dataset_new (din, k);
      affect_dataset_set_cache_budget (ds, 0);
      for (i = 0; i < n; i++)
        affect_dataset_add (ds, x + (size_t) i * din, y + (size_t) i * k,
            FALSE, NULL);
      affect_mlp_free (m[0]);
      m[0] = make_mlp (din, 16, k);
      g_assert_true (affect_mlp_train_dataset (m[0], &tc, ds, -1, 0.0, NULL,
              NULL, &res, NULL));
      affect_dataset_free (ds);
    }
    assert_same_weights (m[0], m[1]);
    affect_mlp_free (m[0]);
    affect_mlp_free (m[1]);
  }

  affect_mlp_free (ref[0]);
  affect_mlp_free (ref[1]);
  g_free (x);
  g_free (y);
  g_free (xv);
  g_free (yv);
}

static void
describe_named (AffectMlp * mlp, gpointer data)
{
  affect_mlp_set_metadata (mlp, "task", data);
}

/* affect_mlp_train_file: the model and its checkpoint on disk, the same
 * weights as affect_mlp_new + affect_mlp_train_dataset by hand; a
 * malformed hidden-size list is an error and writes nothing */
static void
test_file (void)
{
  const int din = 6, k = 1, n = 40;
  float *x = g_new (float, n * din), *y = g_new (float, n * k);
  char *path = g_build_filename (tmp_dir, "file.safetensors", NULL);
  char *ckpt = g_strconcat (path, ".ckpt", NULL);
  AffectDataset *ds = affect_dataset_new (din, k);
  AffectMlpFileJob job = { din, k, "16,8", AFFECT_ACTIVATION_IDENTITY, ds, -1,
    0.2, path, describe_named, (gpointer) "regression"
  };
  AffectMlpTrainConfig tc;
  AffectMlpTrainResult res;
  AffectMlp *ref, *loaded;
  GError *error = NULL;
  AffectRng rng;
  int i;

  affect_rng_init (&rng, 11);
  make_data (x, y, n, din, k, &rng);
  for (i = 0; i < n; i++)
    affect_dataset_add (ds, x + (size_t) i * din, y + (size_t) i * k, FALSE,
        NULL);
  affect_mlp_train_config_init (&tc);
  tc.epochs = 3;
  tc.vat = FALSE;
  tc.seed = 7;
  g_assert_true (affect_mlp_train_file (&job, &tc, NULL, NULL, &res, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (ckpt, G_FILE_TEST_EXISTS));
  loaded = affect_mlp_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (affect_mlp_get_config (loaded)->n_hidden, ==, 2);
  g_assert_cmpint (affect_mlp_get_config (loaded)->hidden[1], ==, 8);
  g_assert_cmpstr (affect_mlp_get_metadata (loaded, "task"), ==, "regression");
  ref = make_mlp (din, 16, k);
  g_assert_true (affect_mlp_train_dataset (ref, &tc, ds, -1, 0.2, NULL, NULL,
          &res, NULL));
  assert_same_weights (ref, loaded);
  affect_mlp_free (ref);
  affect_mlp_free (loaded);
  g_unlink (path);
  g_unlink (ckpt);

  job.hidden_sizes = "16,x";
  g_assert_false (affect_mlp_train_file (&job, &tc, NULL, NULL, &res, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  affect_dataset_free (ds);
  g_free (path);
  g_free (ckpt);
  g_free (x);
  g_free (y);
}

int
main (int argc, char **argv)
{
  int ret;

  /* a private temporary directory, so the spill files can be counted */
  {
    const char *base = g_getenv ("TMPDIR");
    /* made before GLib first reads TMPDIR (it keeps the value) */
    tmp_dir = g_build_filename (base && *base ? base : "/tmp",
        "test-mlp-resume-XXXXXX", NULL);
    g_assert_nonnull (g_mkdtemp (tmp_dir));
    g_setenv ("TMPDIR", tmp_dir, TRUE);
  }
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  /* bit-identity holds for a fixed thread count */
  affect_set_threads (1);
  g_test_add_func ("/mlp-resume/resume", test_resume);
  g_test_add_func ("/mlp-resume/killed", test_killed);
  g_test_add_func ("/mlp-resume/refused", test_refused);
  g_test_add_func ("/mlp-resume/spill", test_spill);
  g_test_add_func ("/mlp-resume/file", test_file);
  ret = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return ret;
}

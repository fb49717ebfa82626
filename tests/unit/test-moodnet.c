/* MoodNet in libaffect: architecture (parameter count, state_dict names),
 * model files (save → load gives the same outputs), and the training-mode
 * backward (batch statistics, dropout, both heads' loss, softmax variant)
 * against central finite differences on a small variant. The eval-mode
 * arithmetic is checked against PyTorch by tests/conformance. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/moodnet.h"
#include "affect/moodnet-train.h"
#include "affect/model.h"
#include "affect/mlp.h"

static AffectParam *
find (AffectMoodNet * net, const char *name)
{
  guint n;
  AffectParam *const *p = affect_moodnet_params (net, &n);
  for (guint i = 0; i < n; i++)
    if (!strcmp (p[i]->name, name))
      return p[i];
  return NULL;
}

static void
test_architecture (void)
{
  AffectMoodNetConfig c;
  AffectMoodNet *net;

  affect_moodnet_config_init (&c, 56);
  net = affect_moodnet_new (&c, 0);
  g_assert_cmpint (affect_moodnet_n_parameters (net), ==, 9993895);
  /* torchvision MobileNetV2 names under cnn.features.* */
  g_assert_nonnull (find (net, "cnn.features.0.0.weight"));
  g_assert_nonnull (find (net, "cnn.features.1.conv.0.0.weight"));
  g_assert_nonnull (find (net, "cnn.features.1.conv.2.running_var"));
  g_assert_nonnull (find (net, "cnn.features.17.conv.3.weight"));
  g_assert_cmpint (find (net, "cnn.features.18.0.weight")->value.shape[0], ==,
      1280);
  g_assert_cmpint (find (net, "cnn.out_conv.0.weight")->value.shape[3], ==, 3);
  g_assert_nonnull (find (net, "encoder.1.ffn_norm.bias"));
  g_assert_false (find (net, "cnn.bw2col.0.running_mean")->trainable);
  affect_moodnet_free (net);

  /* 4 quadrants: only the two heads shrink */
  affect_moodnet_config_init (&c, 4);
  net = affect_moodnet_new (&c, 0);
  g_assert_cmpint (affect_moodnet_n_parameters (net), ==,
      9993895 - 2 * 52 * 256 - 2 * 52);
  affect_moodnet_free (net);
}

static AffectMoodNetConfig
small_config (int classes, AffectMoodNetOutput output)
{
  AffectMoodNetConfig c;
  affect_moodnet_config_init (&c, classes);
  c.output = output;
  c.chunks = 3;
  c.chunk_frames = 72;
  c.n_mels = 72;
  c.width = 0.35;
  return c;
}

static void
test_save_load (void)
{
  AffectMoodNetConfig c = small_config (5, AFFECT_MOODNET_SOFTMAX);
  AffectMoodNet *net = affect_moodnet_new (&c, 3), *back;
  char *dir = g_dir_make_tmp ("moodnet-XXXXXX", NULL);
  char *path = g_build_filename (dir, "m.safetensors", NULL);
  const int n = c.n_mels * c.chunks * c.chunk_frames;
  float *x = g_new (float, 2 * n), a[10], b[10];
  AffectRng rng;
  GError *error = NULL;
  AffectModel *model;
  char **labels;

  affect_rng_init (&rng, 1);
  for (int i = 0; i < 2 * n; i++)
    x[i] = (float) affect_rng_normal (&rng);
  affect_moodnet_forward (net, x, 2, a);
  g_assert_true (affect_moodnet_save (net, path, &error, "affect.labels",
          "[\"a\", \"b\", \"c\", \"d\", \"e\"]", NULL));
  back = affect_moodnet_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (affect_moodnet_get_config (back)->output, ==,
      AFFECT_MOODNET_SOFTMAX);
  g_assert_cmpfloat (affect_moodnet_get_config (back)->width, ==, 0.35);
  affect_moodnet_forward (back, x, 2, b);
  for (int i = 0; i < 10; i++)
    g_assert_cmpfloat (a[i], ==, b[i]);
  /* softmax rows sum to one */
  g_assert_cmpfloat (fabs (b[0] + b[1] + b[2] + b[3] + b[4] - 1.0), <, 1e-5);

  /* through the registry */
  model = affect_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (affect_model_n_outputs (model), ==, 5);
  g_assert_cmpint (affect_model_input_size (model), ==, n);
  labels = affect_model_labels (model);
  g_assert_cmpstr (labels[4], ==, "e");
  g_strfreev (labels);
  g_assert_true (affect_model_predict (model, x, 2, b, &error));
  for (int i = 0; i < 10; i++)
    g_assert_cmpfloat (a[i], ==, b[i]);
  affect_model_free (model);

  /* a wrong shape is named */
  {
    AffectMoodNetConfig c2 = c;
    AffectMoodNet *other;
    c2.classes = 6;
    other = affect_moodnet_new (&c2, 0);
    g_assert_true (affect_moodnet_save (other, path, &error, NULL));
    affect_moodnet_free (other);
    /* file says 6 classes: loads; a 5-class net cannot take its tensors */
    AffectSafetensors *f = affect_safetensors_open (path, &error);
    g_assert_false (affect_moodnet_load_tensors (net, f, &error));
    g_assert_nonnull (strstr (error->message, "att_head.1.weight"));
    g_clear_error (&error);
    affect_safetensors_close (f);
  }
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  g_free (x);
  affect_moodnet_free (net);
  affect_moodnet_free (back);
}

typedef struct
{
  AffectMoodNet *net;
  float *x, *target, *out, *d_att, *d_clf;
  int batch;
  AffectRng rng;
} Case;

/* training-mode loss with the same dropout masks every time */
static double
train_loss (Case * c)
{
  affect_rng_init (&c->rng, 99);
  affect_moodnet_set_training (c->net, TRUE, &c->rng);
  affect_moodnet_forward (c->net, c->x, c->batch, c->out);
  return affect_moodnet_loss (c->net, c->target, c->d_att, c->d_clf);
}

static void
check_training_gradients (AffectMoodNetConfig cfg)
{
  const AffectMoodNetOutput output = cfg.output;
  Case c = { 0 };
  const int n = cfg.n_mels * cfg.chunks * cfg.chunk_frames;
  const char *names[] = { "att_head.1.bias", "encoder.1.value.weight",
    "encoder.0.ffn_in.weight", "chunk_head.1.weight", "cnn.out_conv.2.weight",
    "cnn.features.17.conv.3.weight", "cnn.features.4.conv.1.1.weight",
    "cnn.features.2.conv.0.0.weight"
  };
  guint n_params;
  AffectParam *const *params;
  AffectRng pick;
  float *dx;

  c.batch = 2;
  c.net = affect_moodnet_new (&cfg, 5);
  if (cfg.input_norm) {
    float *mean, *std;
    g_assert_true (affect_moodnet_input_norm (c.net, &mean, &std));
    for (int m = 0; m < cfg.n_mels; m++) {
      mean[m] = (float) (0.2 - 0.01 * m);
      std[m] = (float) (0.6 + 0.02 * m);
    }
  }
  c.x = g_new (float, c.batch * n);
  c.target = g_new0 (float, c.batch * 4);
  c.out = g_new (float, c.batch * 4);
  c.d_att = g_new (float, c.batch * 4);
  c.d_clf = g_new (float, c.batch * 4);
  dx = g_new (float, c.batch * n);
  affect_rng_init (&pick, 11);
  for (int i = 0; i < c.batch * n; i++)
    c.x[i] = (float) affect_rng_normal (&pick);
  c.target[1] = 1.0f;
  c.target[4 + 3] = 1.0f;
  if (output == AFFECT_MOODNET_SIGMOID)
    c.target[2] = 1.0f;

  params = affect_moodnet_params (c.net, &n_params);
  affect_params_zero_grad (params, n_params);
  train_loss (&c);
  affect_moodnet_backward (c.net, c.d_att, c.d_clf, dx);

  /* directional derivative along each tensor's own gradient: the loss
   * changes by h·‖g‖, far above float rounding, where one component at a
   * time would be lost in it */
  for (guint k = 0; k < G_N_ELEMENTS (names); k++) {
    AffectParam *p = find (c.net, names[k]);
    double norm = 0.0, pnorm = 0.0;
    g_assert_nonnull (p);
    float *keep = g_memdup2 (p->value.data, sizeof (float) * p->value.n);
    float *grad = g_memdup2 (p->grad, sizeof (float) * p->value.n);
    for (int64_t i = 0; i < p->value.n; i++) {
      norm += (double) grad[i] * grad[i];
      pnorm += (double) keep[i] * keep[i];
    }
    norm = sqrt (norm);
    pnorm = sqrt (pnorm);
    g_assert_cmpfloat (norm, >, 0.0);
    /* the CNN's ReLU6 kinks need the smaller step (float noise permitting) */
    const double h = (g_str_has_prefix (names[k], "cnn.") ? 1e-5 : 1e-4) *
        fmax (pnorm, 1.0);
    double l[2];
    for (int side = 0; side < 2; side++) {
      const double s = side == 0 ? h : -h;
      for (int64_t i = 0; i < p->value.n; i++)
        p->value.data[i] = keep[i] + (float) (s * grad[i] / norm);
      l[side] = train_loss (&c);
    }
    memcpy (p->value.data, keep, sizeof (float) * p->value.n);
    const double fd = (l[0] - l[1]) / (2.0 * h);
    const double err = fabs (fd - norm) / norm;
    g_test_message ("%s %s: directional derivative %.6e, |grad| %.6e, "
        "relative error %.2e", output == AFFECT_MOODNET_SIGMOID ? "sigmoid" :
        "softmax", names[k], fd, norm, err);
    /* float32 loss: ~1e-7 rounding over a 2e-4 step */
    g_assert_cmpfloat (err, <, 3e-2);
    g_free (keep);
    g_free (grad);
  }
  /* the input gradient the same way */
  {
    double norm = 0.0;
    float *keep = g_memdup2 (c.x, sizeof (float) * c.batch * n);
    for (int i = 0; i < c.batch * n; i++)
      norm += (double) dx[i] * dx[i];
    norm = sqrt (norm);
    const double h = 1e-3;
    double l[2];
    for (int side = 0; side < 2; side++) {
      for (int i = 0; i < c.batch * n; i++)
        c.x[i] = keep[i] + (float) ((side ? -h : h) * dx[i] / norm);
      l[side] = train_loss (&c);
    }
    memcpy (c.x, keep, sizeof (float) * c.batch * n);
    const double err = fabs ((l[0] - l[1]) / (2.0 * h) - norm) / norm;
    /* every input value moves: many ReLU6 kinks are crossed */
    g_test_message ("input: relative error %.2e", err);
    g_assert_cmpfloat (err, <, 5e-2);
    g_free (keep);
  }
  g_free (c.x);
  g_free (c.target);
  g_free (c.out);
  g_free (c.d_att);
  g_free (c.d_clf);
  g_free (dx);
  affect_moodnet_free (c.net);
}

static void
test_training_gradients_sigmoid (void)
{
  check_training_gradients (small_config (4, AFFECT_MOODNET_SIGMOID));
}

static void
test_training_gradients_softmax (void)
{
  check_training_gradients (small_config (4, AFFECT_MOODNET_SOFTMAX));
}

/* the stem at stride 1 with input standardisation: the same checks (the
 * input gradient goes through the standardisation) */
static void
test_training_gradients_stem1_norm (void)
{
  AffectMoodNetConfig cfg = small_config (4, AFFECT_MOODNET_SOFTMAX);

  cfg.stem_stride = 1;
  cfg.input_norm = TRUE;
  check_training_gradients (cfg);
}

/* stem_stride: an affect.arch member only when not the seed's 2, the same
 * parameters, twice the resolution after the stem, through a file; 3 is
 * refused */
static void
test_stem_stride (void)
{
  AffectMoodNetConfig c = small_config (4, AFFECT_MOODNET_SIGMOID), back_c;
  AffectMoodNet *two = affect_moodnet_new (&c, 2), *one, *back;
  char *dir = g_dir_make_tmp ("moodnet-XXXXXX", NULL);
  char *path = g_build_filename (dir, "m.safetensors", NULL);
  const int n = c.n_mels * c.chunks * c.chunk_frames;
  float *x = g_new (float, n), a[4], b[4];
  double f2, f1;
  GError *error = NULL;
  char *arch;
  AffectRng rng;

  c.stem_stride = 1;
  one = affect_moodnet_new (&c, 2);
  g_assert_cmpint (affect_moodnet_n_parameters (one), ==,
      affect_moodnet_n_parameters (two));
  affect_moodnet_flops (two, 1, &f2, NULL);
  affect_moodnet_flops (one, 1, &f1, NULL);
  g_assert_cmpfloat (f1, >, 3.0 * f2);
  arch = affect_moodnet_config_to_json (&c);
  g_assert_nonnull (strstr (arch, "\"stem_stride\": 1"));
  g_assert_true (affect_moodnet_config_from_json (&back_c, arch, &error));
  g_assert_cmpint (back_c.stem_stride, ==, 1);
  g_free (arch);
  arch = affect_moodnet_config_to_json (affect_moodnet_get_config (two));
  g_assert_null (strstr (arch, "stem_stride"));
  g_free (arch);

  affect_rng_init (&rng, 4);
  for (int i = 0; i < n; i++)
    x[i] = (float) affect_rng_normal (&rng);
  affect_moodnet_forward (one, x, 1, a);
  g_assert_true (affect_moodnet_save (one, path, &error, NULL));
  back = affect_moodnet_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (affect_moodnet_get_config (back)->stem_stride, ==, 1);
  affect_moodnet_forward (back, x, 1, b);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (a[i], ==, b[i]);

  c.stem_stride = 3;
  g_assert_false (affect_moodnet_config_validate (&c, &error));
  g_assert_nonnull (strstr (error->message, "stem_stride"));
  g_clear_error (&error);

  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  g_free (x);
  affect_moodnet_free (one);
  affect_moodnet_free (two);
  affect_moodnet_free (back);
}

/* the MLP files the speech elements write (regressor, gate) open through
 * the registry and `affect-model info` describes them (before: "no
 * affect.arch entry") */
static void
test_mlp_through_registry (void)
{
  AffectMlpConfig c = { 0 };
  AffectMlp *mlp;
  AffectModel *model;
  char *dir = g_dir_make_tmp ("affect-model-XXXXXX", NULL);
  char *path = g_build_filename (dir, "regressor.safetensors", NULL);
  const char *build = g_getenv ("AFFECT_BUILD_DIR");
  GError *error = NULL;
  float x[2 * 4], a[4], b[4];
  int64_t shape[AFFECT_TENSOR_MAX_DIMS];
  char **labels;

  c.n_inputs = 4;
  c.n_hidden = 1;
  c.hidden[0] = 8;
  c.n_outputs = 2;
  c.hidden_activation = AFFECT_ACTIVATION_RELU;
  c.output_activation = AFFECT_ACTIVATION_IDENTITY;
  mlp = affect_mlp_new (&c, 5, &error);
  g_assert_no_error (error);
  affect_mlp_set_names (mlp, (const char *[]) {
        "valence", "arousal", NULL
      });
  affect_mlp_set_metadata (mlp, "task", "regression");
  affect_mlp_set_metadata (mlp, "feature", "is09");
  g_assert_true (affect_mlp_save (mlp, path, &error));
  for (int i = 0; i < 8; i++)
    x[i] = (float) (i - 3) * 0.25f;
  affect_mlp_predict (mlp, x, a, 2);

  model = affect_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (affect_model_get_class (model)->name, ==, "mlp");
  g_assert_cmpint (affect_model_input_shape (model, shape), ==, 1);
  g_assert_cmpint (shape[0], ==, 4);
  g_assert_cmpint (affect_model_n_outputs (model), ==, 2);
  g_assert_cmpint (affect_model_n_parameters (model), ==, 4 * 8 + 8 + 8 * 2
      + 2);
  labels = affect_model_labels (model);
  g_assert_cmpstr (labels[0], ==, "valence");
  g_assert_cmpstr (labels[1], ==, "arousal");
  g_strfreev (labels);
  g_assert_true (affect_model_predict (model, x, 2, b, &error));
  g_assert_cmpmem (a, sizeof (a), b, sizeof (b));
  affect_model_free (model);
  affect_mlp_free (mlp);

  if (build != NULL) {
    char *tool = g_build_filename (build, "tools", "affect-model", NULL);
    char *argv[] = { tool, (char *) "info", path, NULL };
    char *out = NULL, *err = NULL;
    int status;

    g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL,
            NULL, &out, &err, &status, &error));
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, NULL))
      g_error ("affect-model info failed: %s", err);
    g_assert_nonnull (strstr (out, "architecture: mlp"));
    g_assert_nonnull (strstr (out, "layers: 4-8-2 (hidden relu, output "
            "identity)"));
    g_assert_nonnull (strstr (out, "task: regression"));
    g_assert_nonnull (strstr (out, "labels: valence, arousal"));
    g_assert_nonnull (strstr (out, "features: is09"));
    g_free (out);
    g_free (err);
    g_free (tool);
  } else
    g_test_message ("AFFECT_BUILD_DIR unset: affect-model info not run");

  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

/* A net that trained and then predicts in eval mode gives what a fresh
 * net with its parameters gives: the training step's arena plan (where
 * the bw2col sweep and the batch-norm's residual sum run) also holds the
 * eval-mode path's buffers, and a calibration pass after training too. */
static void
test_eval_after_training (void)
{
  AffectMoodNetConfig cfg = small_config (4, AFFECT_MOODNET_SIGMOID);
  const int batch = 2, n = cfg.n_mels * cfg.chunks * cfg.chunk_frames;
  AffectMoodNet *trained = affect_moodnet_new (&cfg, 5);
  AffectMoodNet *fresh = affect_moodnet_new (&cfg, 6);
  float *x = g_new (float, batch * n), target[8] = { 1, 0, 0, 1, 0, 1, 0, 0 };
  float out_t[8], out_f[8], d_att[8], d_clf[8];
  AffectParam *const *pt, *const *pf;
  guint n_t, n_f;
  AffectOptimizer opt;
  AffectRng rng;

  affect_rng_init (&rng, 12);
  for (int i = 0; i < batch * n; i++)
    x[i] = (float) affect_rng_normal (&rng) + 2.0f;
  pt = affect_moodnet_params (trained, &n_t);
  pf = affect_moodnet_params (fresh, &n_f);
  g_assert_cmpuint (n_t, ==, n_f);
  affect_optimizer_init_adam (&opt, 1e-2);
  for (int pass = 0; pass < 2; pass++) {
    for (int step = 0; step < 2; step++) {
      affect_moodnet_set_training (trained, TRUE, &rng);
      affect_params_zero_grad (pt, n_t);
      affect_moodnet_forward (trained, x, batch, out_t);
      affect_moodnet_loss (trained, target, d_att, d_clf);
      affect_moodnet_backward (trained, d_att, d_clf, NULL);
      affect_optimizer_step (&opt, pt, n_t);
    }
    if (pass == 1) {
      /* then the running statistics from a calibration pass */
      affect_moodnet_calibrate_batchnorm (trained, TRUE);
      affect_moodnet_forward (trained, x, batch, out_t);
      affect_moodnet_calibrate_batchnorm (trained, FALSE);
    }
    affect_moodnet_set_training (trained, FALSE, NULL);
    affect_moodnet_forward (trained, x, batch, out_t);
    for (guint k = 0; k < n_t; k++)
      memcpy (pf[k]->value.data, pt[k]->value.data,
          sizeof (float) * pt[k]->value.n);
    affect_moodnet_set_training (fresh, FALSE, NULL);
    affect_moodnet_forward (fresh, x, batch, out_f);
    /* the two eval paths (kept buffers or fused epilogues) round apart
     * by about 1e-7 here; a clobbered buffer moved them by 2e-4 */
    for (int i = 0; i < batch * 4; i++)
      g_assert_cmpfloat_with_epsilon (out_t[i], out_f[i], 1e-5);
  }
  g_free (x);
  affect_moodnet_free (trained);
  affect_moodnet_free (fresh);
}

/* Per-band input standardisation (input_norm): a net without it has no
 * such tensors and writes the affect.arch it always wrote; with it at
 * mean 0, std 1 it gives the plain net's bits; with statistics set it
 * gives what the plain net gives on (x − mean) / std, its input gradient
 * is the plain one / std; the tensors go through a file, and a file that
 * holds them turns them on even when its affect.arch does not say so. */
static void
test_input_norm (void)
{
  AffectMoodNetConfig c = small_config (4, AFFECT_MOODNET_SOFTMAX);
  const int batch = 2, frames = c.chunks * c.chunk_frames;
  const int n = c.n_mels * frames;
  AffectMoodNet *plain, *norm, *back;
  char *dir = g_dir_make_tmp ("moodnet-XXXXXX", NULL);
  char *path = g_build_filename (dir, "m.safetensors", NULL);
  float *x = g_new (float, batch * n), *xs = g_new (float, batch * n);
  float *dx = g_new (float, batch * n), *dxs = g_new (float, batch * n);
  float a[8], b[8], d[8], *mean, *std;
  AffectSafetensors *f;
  AffectSafetensorsWriter *w;
  AffectParam *const *p;
  guint n_params;
  GError *error = NULL;
  char *arch;
  AffectRng rng;

  plain = affect_moodnet_new (&c, 4);
  g_assert_false (affect_moodnet_input_norm (plain, &mean, &std));
  g_assert_null (mean);
  g_assert_null (find (plain, "input_norm.mean"));
  arch = affect_moodnet_config_to_json (&c);
  g_assert_cmpstr (arch, ==, "{\"name\": \"moodnet\", \"classes\": 4, "
      "\"output\": \"softmax\", \"chunks\": 3, \"chunk_frames\": 72, "
      "\"n_mels\": 72, \"width\": 0.34999999999999998}");
  g_free (arch);

  c.input_norm = TRUE;
  norm = affect_moodnet_new (&c, 4);
  g_assert_true (affect_moodnet_input_norm (norm, &mean, &std));
  g_assert_false (find (norm, "input_norm.std")->trainable);
  g_assert_cmpint (find (norm, "input_norm.mean")->value.n, ==, c.n_mels);
  g_assert_cmpint (affect_moodnet_n_parameters (norm), ==,
      affect_moodnet_n_parameters (plain));
  arch = affect_moodnet_config_to_json (&c);
  g_assert_nonnull (strstr (arch, "\"input_norm\": true"));
  g_free (arch);

  affect_rng_init (&rng, 8);
  for (int i = 0; i < batch * n; i++)
    x[i] = (float) (0.3 * affect_rng_normal (&rng) - 0.5);
  affect_moodnet_forward (plain, x, batch, a);
  affect_moodnet_forward (norm, x, batch, b);
  for (int i = 0; i < batch * 4; i++)
    g_assert_cmpfloat (a[i], ==, b[i]);

  /* statistics set: the plain net on the standardised input */
  for (int m = 0; m < c.n_mels; m++) {
    mean[m] = (float) (-0.5 + 0.01 * m);
    std[m] = (float) (0.05 + 0.002 * m);
  }
  for (int k = 0; k < batch; k++)
    for (int m = 0; m < c.n_mels; m++)
      for (int t = 0; t < frames; t++) {
        const size_t i = ((size_t) k * c.n_mels + m) * frames + t;
        xs[i] = (x[i] - mean[m]) / std[m];
      }
  affect_moodnet_forward (plain, xs, batch, a);
  affect_moodnet_forward (norm, x, batch, b);
  for (int i = 0; i < batch * 4; i++) {
    g_assert_cmpfloat (a[i], ==, b[i]);
    d[i] = (float) (i % 4 == 1) - b[i];
  }
  affect_moodnet_backward (plain, d, d, dxs);
  affect_moodnet_backward (norm, d, d, dx);
  for (int k = 0; k < batch; k++)
    for (int m = 0; m < c.n_mels; m++)
      for (int t = 0; t < frames; t++) {
        const size_t i = ((size_t) k * c.n_mels + m) * frames + t;
        g_assert_cmpfloat_with_epsilon (dx[i], dxs[i] / std[m],
            1e-6 * (1.0 + fabs (dx[i])));
      }

  /* the file round trip */
  g_assert_true (affect_moodnet_save (norm, path, &error, NULL));
  back = affect_moodnet_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (affect_moodnet_get_config (back)->input_norm);
  affect_moodnet_forward (back, x, batch, a);
  for (int i = 0; i < batch * 4; i++)
    g_assert_cmpfloat (a[i], ==, b[i]);
  affect_moodnet_free (back);

  /* the tensors under an affect.arch without input_norm (a converted
   * PyTorch file) still turn it on, through the registry too */
  w = affect_safetensors_writer_new ();
  affect_safetensors_writer_set_metadata (w, "affect.arch",
      "{\"name\": \"moodnet\", \"classes\": 4, \"output\": \"softmax\", "
      "\"chunks\": 3, \"chunk_frames\": 72, \"n_mels\": 72, \"width\": 0.35}");
  p = affect_moodnet_params (norm, &n_params);
  for (guint i = 0; i < n_params; i++)
    affect_safetensors_writer_add (w, p[i]->name, p[i]->value.n_dims,
        p[i]->value.shape, p[i]->value.data);
  g_assert_true (affect_safetensors_writer_write (w, path, &error));
  affect_safetensors_writer_free (w);
  back = affect_moodnet_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (affect_moodnet_get_config (back)->input_norm);
  affect_moodnet_forward (back, x, batch, a);
  for (int i = 0; i < batch * 4; i++)
    g_assert_cmpfloat (a[i], ==, b[i]);
  affect_moodnet_free (back);
  {
    AffectModel *model = affect_model_load (path, &error);
    g_assert_no_error (error);
    g_assert_true (affect_model_predict (model, x, batch, a, &error));
    for (int i = 0; i < batch * 4; i++)
      g_assert_cmpfloat (a[i], ==, b[i]);
    affect_model_free (model);
  }

  /* a band whose std is not positive is refused, not divided by */
  {
    float *std0 = NULL, *mean0 = NULL;
    affect_moodnet_input_norm (norm, &mean0, &std0);
    const float kept = std0[1];
    std0[1] = 0.0f;
    g_assert_true (affect_moodnet_save (norm, path, &error, NULL));
    std0[1] = kept;
    back = affect_moodnet_load (path, &error);
    g_assert_null (back);
    g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "band 1"));
    g_clear_error (&error);
  }

  /* a plain net's file holds no such tensors and loads without them */
  g_assert_true (affect_moodnet_save (plain, path, &error, NULL));
  f = affect_safetensors_open (path, &error);
  g_assert_false (affect_safetensors_has (f, "input_norm.mean"));
  g_assert_null (strstr (affect_safetensors_metadata (f, "affect.arch"),
          "input_norm"));
  affect_safetensors_close (f);
  back = affect_moodnet_load (path, &error);
  g_assert_no_error (error);
  g_assert_false (affect_moodnet_get_config (back)->input_norm);
  affect_moodnet_free (back);
  /* and a net that wants them cannot take that file's tensors */
  f = affect_safetensors_open (path, &error);
  g_assert_false (affect_moodnet_load_tensors (norm, f, &error));
  g_assert_nonnull (strstr (error->message, "input_norm.mean"));
  g_clear_error (&error);
  affect_safetensors_close (f);

  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  g_free (x);
  g_free (xs);
  g_free (dx);
  g_free (dxs);
  affect_moodnet_free (plain);
  affect_moodnet_free (norm);
}

/* The trainer's input statistics: per band over every frame of the
 * training items (any length, some spilled to disk), not the validation
 * items; a constant band gets std 1e-3; a run with `standardise` writes
 * them into its model file. */
static void
test_standardise (void)
{
  AffectMoodNetConfig c = small_config (2, AFFECT_MOODNET_SOFTMAX);
  const int lengths[3] = { 500, 100, 216 }, mels = 72;
  AffectMoodNet *net, *back;
  AffectMoodNetTrainer *t;
  AffectMoodNetTrainOptions o;
  char *dir = g_dir_make_tmp ("moodnet-XXXXXX", NULL);
  char *path = g_build_filename (dir, "m.safetensors", NULL);
  char *ckpt = g_strconcat (path, ".ckpt", NULL);
  double sum[72] = { 0 }, sq[72] = { 0 }, count = 0;
  float *items[3], *val = g_new (float, 300 * mels), *mean, *std;
  const float y[2][2] = { {1, 0}, {0, 1} };
  GError *error = NULL;
  AffectRng rng;

  affect_rng_init (&rng, 3);
  for (int i = 0; i < 3; i++) {
    items[i] = g_new (float, lengths[i] * mels);
    for (int f = 0; f < lengths[i]; f++)
      for (int m = 0; m < mels; m++)
        items[i][f * mels + m] = m == 5 ? 0.25f : (float) ((m % 7) * 0.1 +
            (0.05 + 0.01 * m) * affect_rng_normal (&rng) + 0.3 * i);
  }
  for (int i = 0; i < 300 * mels; i++)
    val[i] = 40.0f;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < 3; i++)
      for (int f = 0; f < lengths[i]; f++)
        for (int m = 0; m < mels; m++) {
          const double v = items[i][f * mels + m];
          if (pass == 0) {
            sum[m] += v;
            count += m == 0;
          } else {
            sq[m] += (v - sum[m] / count) * (v - sum[m] / count);
          }
        }

  affect_moodnet_train_options_init (&o);
  o.output = path;
  o.epochs = 1;
  o.sgd_epochs = 0;
  o.batch_size = 2;
  o.standardise = TRUE;
  o.spec_augment = TRUE;
  /* one item in memory, the others spilled */
  o.cache_budget = (size_t) 600 *mels * sizeof (float);

  /* a net without input_norm cannot be standardised */
  net = affect_moodnet_new (&c, 1);
  t = affect_moodnet_trainer_new (net, &o);
  g_assert_true (affect_moodnet_trainer_add_frames (t, items[0], 500, y[0],
          FALSE, &error));
  g_assert_false (affect_moodnet_trainer_standardise (t, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH);
  g_clear_error (&error);
  affect_moodnet_trainer_free (t);
  affect_moodnet_free (net);

  c.input_norm = TRUE;
  net = affect_moodnet_new (&c, 1);
  t = affect_moodnet_trainer_new (net, &o);
  g_assert_false (affect_moodnet_trainer_standardise (t, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY);
  g_clear_error (&error);
  for (int i = 0; i < 3; i++)
    g_assert_true (affect_moodnet_trainer_add_frames (t, items[i],
            lengths[i], y[i % 2], FALSE, &error));
  g_assert_true (affect_moodnet_trainer_add_frames (t, val, 300, y[1], TRUE,
          &error));
  g_assert_true (affect_moodnet_trainer_standardise (t, &error));
  g_assert_no_error (error);
  g_assert_true (affect_moodnet_input_norm (net, &mean, &std));
  for (int m = 0; m < mels; m++) {
    g_assert_cmpfloat_with_epsilon (mean[m], sum[m] / count, 1e-6);
    if (m == 5)
      g_assert_cmpfloat (std[m], ==, 1e-3f);
    else
      g_assert_cmpfloat_with_epsilon (std[m], sqrt (sq[m] / count),
          1e-6 * sqrt (sq[m] / count));
  }

  /* a run computes them itself (from a net whose statistics were reset)
   * and writes them */
  for (int m = 0; m < mels; m++) {
    mean[m] = 0.0f;
    std[m] = 1.0f;
  }
  g_assert_true (affect_moodnet_trainer_run (t, NULL, NULL, &error));
  g_assert_no_error (error);
  back = affect_moodnet_load (path, &error);
  g_assert_no_error (error);
  {
    float *bm, *bs;
    g_assert_true (affect_moodnet_input_norm (back, &bm, &bs));
    for (int m = 0; m < mels; m++) {
      g_assert_cmpfloat_with_epsilon (bm[m], sum[m] / count, 1e-6);
      g_assert_cmpfloat (bm[m], ==, mean[m]);
      g_assert_cmpfloat (bs[m], ==, std[m]);
    }
  }
  affect_moodnet_free (back);
  affect_moodnet_trainer_free (t);
  affect_moodnet_free (net);
  for (int i = 0; i < 3; i++)
    g_free (items[i]);
  g_free (val);
  g_unlink (ckpt);
  g_unlink (path);
  g_rmdir (dir);
  g_free (ckpt);
  g_free (path);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  g_test_add_func ("/moodnet/architecture", test_architecture);
  g_test_add_func ("/moodnet/save-load", test_save_load);
  g_test_add_func ("/model/mlp-through-registry", test_mlp_through_registry);
  g_test_add_func ("/moodnet/training-gradients-sigmoid",
      test_training_gradients_sigmoid);
  g_test_add_func ("/moodnet/training-gradients-softmax",
      test_training_gradients_softmax);
  g_test_add_func ("/moodnet/eval-after-training", test_eval_after_training);
  g_test_add_func ("/moodnet/input-norm", test_input_norm);
  g_test_add_func ("/moodnet/stem-stride", test_stem_stride);
  g_test_add_func ("/moodnet/training-gradients-stem1-norm",
      test_training_gradients_stem1_norm);
  g_test_add_func ("/moodnet/standardise", test_standardise);
  return g_test_run ();
}

/* MLP and VAT: gradients by finite differences, r_adv against the float64
 * finite-difference power iteration, training, model files */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/mlp-train.h"
#include "gradcheck.h"

/* ---- a float64 reference of the same network ------------------------- */

typedef struct
{
  AffectMlp *mlp;
  int n_layers, widths[AFFECT_MLP_MAX_HIDDEN + 2];
  double *z[AFFECT_MLP_MAX_HIDDEN + 1], *h[AFFECT_MLP_MAX_HIDDEN + 1];
  double *x;
} RefNet;

static double
ref_act (AffectActivation a, double v)
{
  switch (a) {
    case AFFECT_ACTIVATION_RELU:
      return v > 0 ? v : 0;
    case AFFECT_ACTIVATION_SIGMOID:
      return 1 / (1 + exp (-v));
    case AFFECT_ACTIVATION_TANH:
      return tanh (v);
    default:
      return v;
  }
}

static double
ref_dact (AffectActivation a, double v)
{
  switch (a) {
    case AFFECT_ACTIVATION_RELU:
      return v > 0 ? 1 : 0;
    case AFFECT_ACTIVATION_SIGMOID:
      return ref_act (a, v) * (1 - ref_act (a, v));
    case AFFECT_ACTIVATION_TANH:
      return 1 - tanh (v) * tanh (v);
    default:
      return 1;
  }
}

static void
ref_init (RefNet * r, AffectMlp * mlp, int n)
{
  const AffectMlpConfig *c = affect_mlp_get_config (mlp);
  int l;

  memset (r, 0, sizeof (*r));
  r->mlp = mlp;
  r->n_layers = c->n_hidden + 1;
  r->widths[0] = c->n_inputs;
  for (l = 0; l < c->n_hidden; l++)
    r->widths[l + 1] = c->hidden[l];
  r->widths[r->n_layers] = c->n_outputs;
  r->x = g_new (double, (size_t) n * c->n_inputs);
  for (l = 0; l < r->n_layers; l++) {
    r->z[l] = g_new (double, (size_t) n * r->widths[l + 1]);
    r->h[l] = g_new (double, (size_t) n * r->widths[l + 1]);
  }
}

static void
ref_clear (RefNet * r)
{
  int l;

  g_free (r->x);
  for (l = 0; l < r->n_layers; l++) {
    g_free (r->z[l]);
    g_free (r->h[l]);
  }
}

static void
ref_forward (RefNet * r, const double *x, int n)
{
  const AffectMlpConfig *c = affect_mlp_get_config (r->mlp);
  AffectParam *const *p = affect_mlp_params (r->mlp, NULL);
  const double *in = x;
  int l, i, j, q;

  memcpy (r->x, x, (size_t) n * r->widths[0] * sizeof (double));
  for (l = 0; l < r->n_layers; l++) {
    int din = r->widths[l], dout = r->widths[l + 1];
    const float *w = p[2 * l]->value.data, *b = p[2 * l + 1]->value.data;
    AffectActivation a = l == r->n_layers - 1 ? c->output_activation :
        c->hidden_activation;
    for (i = 0; i < n; i++)
      for (j = 0; j < dout; j++) {
        double s = b[j];
        for (q = 0; q < din; q++)
          s += in[(size_t) i * din + q] * w[(size_t) j * din + q];
        r->z[l][(size_t) i * dout + j] = s;
        r->h[l][(size_t) i * dout + j] = ref_act (a, s);
      }
    in = r->h[l];
  }
}

/* dx = Jᵀ dy at the last forward */
static void
ref_input_grad (RefNet * r, const double *dy, double *dx, int n)
{
  const AffectMlpConfig *c = affect_mlp_get_config (r->mlp);
  AffectParam *const *p = affect_mlp_params (r->mlp, NULL);
  double *delta = g_memdup2 (dy, (size_t) n * c->n_outputs * sizeof (double));
  int l, i, j, q;

  for (l = r->n_layers - 1; l >= 0; l--) {
    int din = r->widths[l], dout = r->widths[l + 1];
    const float *w = p[2 * l]->value.data;
    AffectActivation a = l == r->n_layers - 1 ? c->output_activation :
        c->hidden_activation;
    double *prev = g_new0 (double, (size_t) n * din);
    for (i = 0; i < n * dout; i++)
      delta[i] *= ref_dact (a, r->z[l][i]);
    for (i = 0; i < n; i++)
      for (j = 0; j < dout; j++)
        for (q = 0; q < din; q++)
          prev[(size_t) i * din + q] += delta[(size_t) i * dout + j] *
              w[(size_t) j * din + q];
    g_free (delta);
    delta = prev;
  }
  memcpy (dx, delta, (size_t) n * r->widths[0] * sizeof (double));
  g_free (delta);
}

/* the classic VAT power iteration, all in float64 */
static void
ref_power_iteration (AffectMlp * mlp, const float *xs, const float *d,
    double xi, int iterations, double *dir, int n)
{
  const AffectMlpConfig *c = affect_mlp_get_config (mlp);
  const int din = c->n_inputs, k = c->n_outputs;
  RefNet r;
  double *x0 = g_new (double, (size_t) n * din);
  double *x1 = g_new (double, (size_t) n * din);
  double *f0 = g_new (double, (size_t) n * k), *diff =
      g_new (double, (size_t) n * k);
  int it, i, j;

  ref_init (&r, mlp, n);
  for (i = 0; i < n * din; i++) {
    x0[i] = xs[i];
    dir[i] = d[i];
  }
  ref_forward (&r, x0, n);
  memcpy (f0, r.h[r.n_layers - 1], (size_t) n * k * sizeof (double));
  for (it = 0; it < iterations; it++) {
    for (i = 0; i < n; i++) {
      double s = 0;
      for (j = 0; j < din; j++)
        s += dir[(size_t) i * din + j] * dir[(size_t) i * din + j];
      s = sqrt (s);
      for (j = 0; j < din; j++)
        x1[(size_t) i * din + j] = x0[(size_t) i * din + j] +
            xi * dir[(size_t) i * din + j] / s;
    }
    ref_forward (&r, x1, n);
    for (i = 0; i < n * k; i++)
      diff[i] = r.h[r.n_layers - 1][i] - f0[i];
    ref_input_grad (&r, diff, dir, n);
  }
  for (i = 0; i < n; i++) {
    double s = 0;
    for (j = 0; j < din; j++)
      s += dir[(size_t) i * din + j] * dir[(size_t) i * din + j];
    s = sqrt (s);
    for (j = 0; j < din; j++)
      dir[(size_t) i * din + j] /= s;
  }
  ref_clear (&r);
  g_free (x0);
  g_free (x1);
  g_free (f0);
  g_free (diff);
}

static AffectMlp *
make_mlp (int din, int h1, int h2, int k, AffectActivation out, guint64 seed)
{
  AffectMlpConfig c = { 0 };
  AffectMlp *mlp;

  c.n_inputs = din;
  c.n_hidden = h2 > 0 ? 2 : 1;
  c.hidden[0] = h1;
  c.hidden[1] = h2;
  c.n_outputs = k;
  c.hidden_activation = AFFECT_ACTIVATION_RELU;
  c.output_activation = out;
  mlp = affect_mlp_new (&c, seed, NULL);
  g_assert_nonnull (mlp);
  return mlp;
}

/* ---- r_adv ------------------------------------------------------------ */

static void
check_direction (AffectMlp * mlp, int n, int iterations, guint64 seed)
{
  const AffectMlpConfig *c = affect_mlp_get_config (mlp);
  const int din = c->n_inputs;
  float *xs = g_new (float, (size_t) n * din), *d =
      g_new (float, (size_t) n * din);
  float *r = g_new (float, (size_t) n * din);
  double *ref = g_new (double, (size_t) n * din);
  AffectVatConfig vc;
  AffectRng rng;
  double worst = 0.0;
  int i, j, fd32_zero = 0;

  affect_rng_init (&rng, seed);
  fill_normal (xs, (size_t) n * din, 1.0, &rng);
  fill_normal (d, (size_t) n * din, 1.0, &rng);
  affect_vat_config_init (&vc);
  vc.power_iterations = iterations;
  affect_vat_adversarial_perturbation (mlp, &vc, xs, d, r, n);
  ref_power_iteration (mlp, xs, d, 1e-6, iterations, ref, n);
  for (i = 0; i < n; i++) {
    double norm = 0.0, err = 0.0;
    for (j = 0; j < din; j++) {
      double v = r[(size_t) i * din + j];
      norm += v * v;
      err += pow (v / vc.epsilon - ref[(size_t) i * din + j], 2);
    }
    /* non-zero for every sample, of length epsilon, along the float64
     * power iteration's direction */
    g_assert_cmpfloat (fabs (sqrt (norm) - vc.epsilon), <, 1e-5);
    worst = MAX (worst, sqrt (err));
  }
  g_test_message ("%d outputs, %d power iteration(s): max |r/eps - d64| = %.3g",
      c->n_outputs, iterations, worst);
  g_assert_cmpfloat (worst, <, 1e-4);

  /* the classic float32 finite difference, for the record */
  vc.power = AFFECT_VAT_POWER_FINITE_DIFFERENCE;
  affect_vat_adversarial_perturbation (mlp, &vc, xs, d, r, n);
  for (i = 0; i < n; i++) {
    gboolean zero = TRUE;
    for (j = 0; j < din && zero; j++)
      zero = r[(size_t) i * din + j] == 0.0f;
    fd32_zero += zero;
  }
  g_test_message ("float32 finite difference (xi 1e-6): r_adv = 0 for %d of "
      "%d samples", fd32_zero, n);
  g_free (xs);
  g_free (d);
  g_free (r);
  g_free (ref);
}

static void
test_vat_direction (void)
{
  /* the seed's regressor, one output and three, one and two iterations */
  AffectMlp *mlp = make_mlp (384, 1200, 600, 1, AFFECT_ACTIVATION_IDENTITY, 1);
  check_direction (mlp, 32, 1, 2);
  check_direction (mlp, 32, 2, 3);
  affect_mlp_free (mlp);
  mlp = make_mlp (384, 256, 128, 3, AFFECT_ACTIVATION_IDENTITY, 4);
  check_direction (mlp, 32, 1, 5);
  check_direction (mlp, 32, 3, 6);
  affect_mlp_free (mlp);
}

/* ---- gradients -------------------------------------------------------- */

typedef struct
{
  AffectMlp *mlp;
  const float *xs, *y, *xr, *f0;
  float *pred;
  int n, k;
  double lambda;
  AffectMlpLoss loss;
} VatCase;

static double
vat_objective (gpointer data)
{
  VatCase *vc = data;
  int i, nk = vc->n * vc->k;
  double lds = 0.0, main;

  affect_mlp_predict_standardised (vc->mlp, vc->xs, vc->pred, vc->n);
  main = vc->loss == AFFECT_MLP_LOSS_MSE ?
      affect_loss_mse (vc->pred, vc->y, NULL, nk) :
      affect_loss_bce (vc->pred, vc->y, NULL, nk);
  if (vc->xr == NULL)
    return main;
  /* f(x) is held at its value before the perturbation (a constant) */
  affect_mlp_predict_standardised (vc->mlp, vc->xr, vc->pred, vc->n);
  for (i = 0; i < nk; i++)
    lds += 0.5 * pow ((double) vc->pred[i] - vc->f0[i], 2);
  return main + vc->lambda * lds / vc->n;
}

static void
check_gradients (AffectMlp * mlp, gboolean vat, AffectMlpLoss loss, double h)
{
  const AffectMlpConfig *c = affect_mlp_get_config (mlp);
  const int n = 8, din = c->n_inputs, k = c->n_outputs;
  float *xs = g_new (float, n * din), *d = g_new (float, n * din);
  float *xr = g_new (float, n * din), *y = g_new (float, n * k);
  float *f0 = g_new (float, n * k), *pred = g_new (float, n * k);
  AffectParam *const *params;
  guint n_params, i;
  AffectVatConfig vatc;
  AffectRng rng;
  VatCase vc = { mlp, xs, y, vat ? xr : NULL, f0, pred, n, k, 1.5, loss };
  double total, mse, lds;
  int j;

  affect_rng_init (&rng, 77);
  fill_normal (xs, n * din, 1.0, &rng);
  fill_normal (d, n * din, 1.0, &rng);
  for (j = 0; j < n * k; j++)
    y[j] = loss == AFFECT_MLP_LOSS_BCE ? (j % 2) : (float)
        affect_rng_normal (&rng);
  affect_vat_config_init (&vatc);
  params = affect_mlp_params (mlp, &n_params);
  affect_params_zero_grad (params, n_params);
  if (vat) {
    affect_vat_adversarial_perturbation (mlp, &vatc, xs, d, xr, n);
    for (j = 0; j < n * din; j++)
      xr[j] += xs[j];
    affect_mlp_predict_standardised (mlp, xs, f0, n);
    total = affect_vat_loss_grad (mlp, &vatc, xs, y, d, n, &mse, &lds);
    g_assert_cmpfloat (lds, >, 0.0);
    g_assert_cmpfloat (fabs (total - vat_objective (&vc)), <,
        1e-5 * fabs (total));
  } else {
    total = affect_mlp_loss_grad (mlp, loss, xs, y, n);
    g_assert_cmpfloat (fabs (total - vat_objective (&vc)), <,
        1e-5 * fabs (total));
  }
  for (i = 0; i < n_params; i++)
    gradcheck (params[i]->name, params[i]->value.data, params[i]->grad,
        params[i]->value.n, vat_objective, &vc, h, 5e-3, 200);
  g_free (xs);
  g_free (d);
  g_free (xr);
  g_free (y);
  g_free (f0);
  g_free (pred);
}

static void
test_gradients (void)
{
  /* smooth hidden units keep finite differences away from ReLU kinks */
  AffectMlpConfig c = { 0 };
  AffectMlp *mlp;

  c.n_inputs = 10;
  c.n_hidden = 2;
  c.hidden[0] = 12;
  c.hidden[1] = 6;
  c.n_outputs = 2;
  c.hidden_activation = AFFECT_ACTIVATION_TANH;
  c.output_activation = AFFECT_ACTIVATION_IDENTITY;
  mlp = affect_mlp_new (&c, 8, NULL);
  g_test_message ("MSE");
  check_gradients (mlp, FALSE, AFFECT_MLP_LOSS_MSE, 1e-2);
  g_test_message ("MSE + lambda LDS (VAT)");
  check_gradients (mlp, TRUE, AFFECT_MLP_LOSS_MSE, 1e-2);
  affect_mlp_free (mlp);

  c.n_outputs = 1;
  c.output_activation = AFFECT_ACTIVATION_SIGMOID;
  mlp = affect_mlp_new (&c, 9, NULL);
  g_test_message ("BCE on a sigmoid output");
  check_gradients (mlp, FALSE, AFFECT_MLP_LOSS_BCE, 1e-2);
  affect_mlp_free (mlp);

  /* the seed's ReLU units: a smaller step, so that no unit crosses its
   * kink between the two evaluations */
  mlp = make_mlp (10, 16, 8, 1, AFFECT_ACTIVATION_IDENTITY, 10);
  g_test_message ("ReLU network, VAT");
  check_gradients (mlp, TRUE, AFFECT_MLP_LOSS_MSE, 1e-3);
  affect_mlp_free (mlp);
}

/* ---- training --------------------------------------------------------- */

/* features: 8 informative dims with per-dimension offsets/scales, 56
 * noise; target a smooth function of them */
static void
make_data (float *x, float *y, float *label, int n, int din, AffectRng * rng)
{
  int i, j;

  for (i = 0; i < n; i++) {
    double t = 0.0;
    for (j = 0; j < din; j++) {
      double v = affect_rng_normal (rng);
      x[(size_t) i * din + j] = (float) (100.0 * (j % 5) + (1 + j % 7) * v);
      if (j < 8)
        t += 0.5 * v + 0.25 * sin (2.0 * v);
    }
    y[i] = (float) (1.0 + t + 0.05 * affect_rng_normal (rng));
    label[i] = t > 0.0 ? 1.0f : 0.0f;
  }
}

static gboolean
count_epochs (const AffectTrainEpoch * report, gpointer user_data)
{
  int *count = user_data;
  g_assert_true (isfinite (report->train_loss));
  g_assert_true (isfinite (report->validation_metric));
  (*count)++;
  return TRUE;
}

static void
test_training (void)
{
  const int n = 600, nv = 200, din = 64;
  float *x = g_new (float, n * din), *y = g_new (float, n);
  float *xv = g_new (float, nv * din), *yv = g_new (float, nv);
  float *l = g_new (float, n), *lv = g_new (float, nv);
  float *p1 = g_new (float, nv), *p2 = g_new (float, nv);
  AffectMlpTrainConfig tc;
  AffectMlpTrainResult res;
  AffectMlp *mlp, *mlp2;
  AffectRng rng;
  double baseline = 0.0, mean = 0.0;
  char *dir, *path;
  int i, epochs = 0, vat;
  GError *error = NULL;

  affect_rng_init (&rng, 31);
  make_data (x, y, l, n, din, &rng);
  make_data (xv, yv, lv, nv, din, &rng);
  for (i = 0; i < n; i++)
    mean += y[i] / n;
  for (i = 0; i < nv; i++)
    baseline += fabs (yv[i] - mean) / nv;

  for (vat = 0; vat <= 1; vat++) {
    affect_mlp_train_config_init (&tc);
    tc.epochs = 30;
    tc.batch_size = 32;
    tc.vat = vat;
    tc.vat_config.epsilon = 0.5;
    tc.vat_config.lambda = 0.5;
    tc.seed = 5;
    epochs = 0;
    mlp = make_mlp (din, 64, 32, 1, AFFECT_ACTIVATION_IDENTITY, 12);
    g_assert_true (affect_mlp_train (mlp, &tc, x, y, n, xv, yv, nv,
            count_epochs, &epochs, &res, &error));
    g_assert_no_error (error);
    g_test_message ("%s: validation MAE %.4f at epoch %d (predicting the mean: "
        "%.4f)", vat ? "VAT" : "plain", res.best_validation_metric,
        res.best_epoch, baseline);
    g_assert_cmpint (epochs, ==, 30);
    g_assert_cmpfloat (res.best_validation_metric, <, 0.6 * baseline);
    g_assert_false (res.constant_output);

    /* same seed, same model */
    mlp2 = make_mlp (din, 64, 32, 1, AFFECT_ACTIVATION_IDENTITY, 12);
    g_assert_true (affect_mlp_train (mlp2, &tc, x, y, n, xv, yv, nv, NULL,
            NULL, &res, NULL));
    affect_mlp_predict (mlp, xv, p1, nv);
    affect_mlp_predict (mlp2, xv, p2, nv);
    g_assert_cmpmem (p1, nv * sizeof (float), p2, nv * sizeof (float));
    affect_mlp_free (mlp2);

    /* the model file round trip: same predictions from raw features */
    dir = g_dir_make_tmp ("test-vat-XXXXXX", NULL);
    path = g_build_filename (dir, "model.safetensors", NULL);
    affect_mlp_set_names (mlp, (const char *[]) {
          "valence", NULL
        });
    affect_mlp_set_metadata (mlp, "feature", "is09");
    g_assert_true (affect_mlp_save (mlp, path, &error));
    g_assert_no_error (error);
    mlp2 = affect_mlp_load (path, &error);
    g_assert_no_error (error);
    affect_mlp_predict (mlp2, xv, p2, nv);
    g_assert_cmpmem (p1, nv * sizeof (float), p2, nv * sizeof (float));
    g_assert_cmpstr (affect_mlp_get_names (mlp2)[0], ==, "valence");
    g_assert_cmpstr (affect_mlp_get_metadata (mlp2, "feature"), ==, "is09");
    {
      char *desc = affect_mlp_describe (mlp2);
      g_assert_cmpstr (desc, ==, "64-64-32-1");
      g_free (desc);
    }
    affect_mlp_free (mlp2);
    g_unlink (path);
    g_rmdir (dir);
    g_free (path);
    g_free (dir);
    affect_mlp_free (mlp);
  }

  /* the spontaneity classifier: sigmoid + BCE */
  {
    AffectMlpConfig c = { 0 };
    c.n_inputs = din;
    c.n_hidden = 3;
    c.hidden[0] = 64;
    c.hidden[1] = 32;
    c.hidden[2] = 16;
    c.n_outputs = 1;
    c.hidden_activation = AFFECT_ACTIVATION_RELU;
    c.output_activation = AFFECT_ACTIVATION_SIGMOID;
    mlp = affect_mlp_new (&c, 3, NULL);
    affect_mlp_train_config_init (&tc);
    tc.loss = AFFECT_MLP_LOSS_BCE;
    tc.vat = FALSE;
    tc.epochs = 20;
    tc.patience = 5;
    g_assert_true (affect_mlp_train (mlp, &tc, x, l, n, xv, lv, nv, NULL,
            NULL, &res, &error));
    affect_mlp_predict (mlp, xv, p1, nv);
    {
      int correct = 0;
      for (i = 0; i < nv; i++)
        correct += (p1[i] >= 0.5f) == (lv[i] >= 0.5f);
      g_test_message ("classifier: validation accuracy %.3f", correct /
          (double) nv);
      g_assert_cmpfloat (correct / (double) nv, >, 0.8);
    }
    affect_mlp_free (mlp);
  }

  /* the seed's ReLU output, dead from the start: flagged constant */
  {
    AffectParam *const *params;
    guint np;
    mlp = make_mlp (din, 32, 16, 1, AFFECT_ACTIVATION_RELU, 13);
    params = affect_mlp_params (mlp, &np);
    params[np - 1]->value.data[0] = -1000.0f;
    affect_mlp_train_config_init (&tc);
    tc.epochs = 2;
    g_assert_true (affect_mlp_train (mlp, &tc, x, y, n, xv, yv, nv, NULL,
            NULL, &res, NULL));
    g_assert_true (res.constant_output);
    affect_mlp_free (mlp);
  }

  /* bad input is refused, not trained on */
  mlp = make_mlp (din, 8, 0, 1, AFFECT_ACTIVATION_IDENTITY, 1);
  x[5] = NAN;
  g_assert_false (affect_mlp_train (mlp, &tc, x, y, n, NULL, NULL, 0, NULL,
          NULL, &res, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
  g_clear_error (&error);
  affect_mlp_free (mlp);

  g_free (x);
  g_free (y);
  g_free (xv);
  g_free (yv);
  g_free (l);
  g_free (lv);
  g_free (p1);
  g_free (p2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  g_test_add_func ("/vat/direction", test_vat_direction);
  g_test_add_func ("/vat/gradients", test_gradients);
  g_test_add_func ("/vat/training", test_training);
  return g_test_run ();
}

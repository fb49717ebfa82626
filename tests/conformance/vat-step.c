/* One training step of libaffect's MLP, dumped for vat_torch.py.
 *
 *   vat-step MODE DIR WIDTHS K
 *
 * MODE: "vat" (MSE + 1.5·LDS, eps 1.5, Adam lr 1e-3) or "sgd" (plain MSE,
 * two steps of SGD lr 0.01, momentum 0.9, Nesterov, weight decay 1e-3).
 * WIDTHS: "384,1200,600,1". K: power iterations.
 * Writes raw little-endian float32 files into DIR: x, y, d, the initial
 * parameters (<name>.init), r, the gradients (<name>.grad), the updated
 * parameters (<name>.final) and loss = [total, mse, lds]. */
#include <stdlib.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/mlp-train.h"

static void
dump (const char *dir, const char *name, const float *data, size_t n)
{
  char *path = g_build_filename (dir, name, NULL);
  GError *error = NULL;

  if (!g_file_set_contents (path, (const char *) data, n * sizeof (float),
          &error))
    g_error ("%s", error->message);
  g_free (path);
}

int
main (int argc, char **argv)
{
  AffectMlpConfig c = { 0 };
  AffectMlp *mlp;
  AffectParam *const *params;
  AffectVatConfig vc;
  AffectOptimizer opt;
  AffectRng rng;
  char **widths;
  const char *mode, *dir;
  const int n = 64;
  float *x, *y, *d, *r;
  float loss[3] = { 0 };
  guint np, i;
  int j, nw;

  if (argc != 5) {
    g_printerr ("usage: %s vat|sgd DIR WIDTHS POWER-ITERATIONS\n", argv[0]);
    return 2;
  }
  affect_init ();
  mode = argv[1];
  dir = argv[2];
  widths = g_strsplit (argv[3], ",", -1);
  nw = g_strv_length (widths);
  c.n_inputs = atoi (widths[0]);
  c.n_hidden = nw - 2;
  for (j = 0; j < c.n_hidden; j++)
    c.hidden[j] = atoi (widths[j + 1]);
  c.n_outputs = atoi (widths[nw - 1]);
  c.hidden_activation = AFFECT_ACTIVATION_RELU;
  c.output_activation = AFFECT_ACTIVATION_IDENTITY;
  g_strfreev (widths);
  mlp = affect_mlp_new (&c, 42, NULL);
  params = affect_mlp_params (mlp, &np);

  affect_rng_init (&rng, 7);
  x = g_new (float, n * c.n_inputs);
  d = g_new (float, n * c.n_inputs);
  r = g_new (float, n * c.n_inputs);
  y = g_new (float, n * c.n_outputs);
  for (j = 0; j < n * c.n_inputs; j++) {
    x[j] = (float) affect_rng_normal (&rng);
    d[j] = (float) affect_rng_normal (&rng);
  }
  for (j = 0; j < n * c.n_outputs; j++)
    y[j] = (float) (1.0 + 4.0 * affect_rng_uniform (&rng));
  dump (dir, "x", x, n * c.n_inputs);
  dump (dir, "y", y, n * c.n_outputs);
  dump (dir, "d", d, n * c.n_inputs);
  for (i = 0; i < np; i++) {
    char *name = g_strconcat (params[i]->name, ".init", NULL);
    dump (dir, name, params[i]->value.data, params[i]->value.n);
    g_free (name);
  }

  affect_vat_config_init (&vc);
  vc.power_iterations = atoi (argv[4]);
  affect_params_zero_grad (params, np);
  if (strcmp (mode, "vat") == 0) {
    double mse, lds;
    affect_vat_adversarial_perturbation (mlp, &vc, x, d, r, n);
    dump (dir, "r", r, n * c.n_inputs);
    loss[0] = affect_vat_loss_grad (mlp, &vc, x, y, d, n, &mse, &lds);
    loss[1] = mse;
    loss[2] = lds;
    affect_optimizer_init_adam (&opt, 1e-3);
    affect_optimizer_step (&opt, params, np);
  } else {
    int step;
    affect_optimizer_init_sgd (&opt, 0.01, 0.9, TRUE, 1e-3);
    for (step = 0; step < 2; step++) {
      affect_params_zero_grad (params, np);
      loss[step] = affect_mlp_loss_grad (mlp, AFFECT_MLP_LOSS_MSE, x, y, n);
      affect_optimizer_step (&opt, params, np);
    }
  }
  dump (dir, "loss", loss, 3);
  for (i = 0; i < np; i++) {
    char *name = g_strconcat (params[i]->name, ".grad", NULL);
    dump (dir, name, params[i]->grad, params[i]->value.n);
    g_free (name);
    name = g_strconcat (params[i]->name, ".final", NULL);
    dump (dir, name, params[i]->value.data, params[i]->value.n);
    g_free (name);
  }
  affect_mlp_free (mlp);
  g_free (x);
  g_free (y);
  g_free (d);
  g_free (r);
  return 0;
}

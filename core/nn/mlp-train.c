/* MLP training: mini-batch Adam, plain loss or MSE + lambda·LDS (VAT),
 * model selection on validation items */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "mlp-private.h"

void
affect_mlp_train_config_init (AffectMlpTrainConfig * config)
{
  memset (config, 0, sizeof (*config));
  config->loss = AFFECT_MLP_LOSS_MSE;
  config->epochs = 50;
  config->batch_size = 64;
  config->learning_rate = 1e-3;
  config->seed = 0;
  config->patience = 0;
  config->vat = TRUE;
  affect_vat_config_init (&config->vat_config);
}

typedef struct
{
  float **values;
  guint n;
} Snapshot;

static void
snapshot_take (Snapshot * s, AffectParam * const *params, guint n)
{
  guint i;

  if (s->values == NULL) {
    s->values = g_new0 (float *, n);
    s->n = n;
    for (i = 0; i < n; i++)
      s->values[i] = g_new (float, params[i]->value.n);
  }
  for (i = 0; i < n; i++)
    memcpy (s->values[i], params[i]->value.data,
        params[i]->value.n * sizeof (float));
}

static void
snapshot_restore (Snapshot * s, AffectParam * const *params)
{
  guint i;

  for (i = 0; i < s->n; i++)
    memcpy (params[i]->value.data, s->values[i],
        params[i]->value.n * sizeof (float));
}

static void
snapshot_clear (Snapshot * s)
{
  guint i;

  for (i = 0; i < s->n; i++)
    g_free (s->values[i]);
  g_free (s->values);
  s->values = NULL;
  s->n = 0;
}

/* validation metric (lower is better), accuracy and output spread */
static void
evaluate (AffectMlp * mlp, AffectMlpLoss loss, const float *xs,
    const float *y, int n, double *metric, double *accuracy, double *output_std)
{
  const int k = mlp->config.n_outputs;
  float *pred = g_malloc ((size_t) n * k * sizeof (float));
  double sum = 0.0, s1 = 0.0, s2 = 0.0;
  int i, correct = 0;

  affect_mlp_predict_standardised (mlp, xs, pred, n);
  if (loss == AFFECT_MLP_LOSS_BCE) {
    sum = affect_loss_bce (pred, y, NULL, (size_t) n * k);
    for (i = 0; i < n * k; i++)
      correct += (pred[i] >= 0.5f) == (y[i] >= 0.5f);
    *accuracy = (double) correct / (n * k);
    *metric = sum;
  } else {
    for (i = 0; i < n * k; i++)
      sum += fabs ((double) pred[i] - y[i]);
    *metric = sum / ((double) n * k);
    *accuracy = NAN;
  }
  for (i = 0; i < n; i++) {
    s1 += pred[(size_t) i * k];
    s2 += (double) pred[(size_t) i * k] * pred[(size_t) i * k];
  }
  s1 /= n;
  *output_std = sqrt (MAX (s2 / n - s1 * s1, 0.0));
  g_free (pred);
}

static gboolean
all_finite (const float *v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (!isfinite (v[i]))
      return FALSE;
  return TRUE;
}

gboolean
affect_mlp_train (AffectMlp * mlp, const AffectMlpTrainConfig * config,
    const float *x, const float *y, int n, const float *xv, const float *yv,
    int nv, AffectMlpEpochFunc func, gpointer user_data,
    AffectMlpTrainResult * result, GError ** error)
{
  const int din = mlp->config.n_inputs, k = mlp->config.n_outputs;
  const int batch = MAX (config->batch_size, 1);
  float *xs, *xvs = NULL, *bx, *by, *bd = NULL;
  float *mean, *std;
  int *perm;
  AffectRng rng;
  AffectOptimizer opt;
  Snapshot best = { 0 };
  double best_metric = INFINITY, best_accuracy = NAN, target_std = 0.0;
  int epoch, since_best = 0, best_epoch = 0, epochs_run = 0;
  gboolean ok = TRUE, sign_only;

  memset (result, 0, sizeof (*result));
  if (n <= 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY, "no training items");
    return FALSE;
  }
  if (config->vat && config->loss != AFFECT_MLP_LOSS_MSE) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "VAT is defined here for the Gaussian (MSE) regression model only");
    return FALSE;
  }
  if (!all_finite (x, (size_t) n * din) || !all_finite (y, (size_t) n * k)
      || (nv > 0 && (!all_finite (xv, (size_t) nv * din)
              || !all_finite (yv, (size_t) nv * k)))) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "training data contain NaN or infinite values");
    return FALSE;
  }

  /* standardisation from the training items, stored in the model */
  mean = g_new (float, din);
  std = g_new (float, din);
  affect_standardisation_compute (x, n, din, mean, std);
  affect_mlp_set_standardisation (mlp, mean, std);
  g_free (mean);
  g_free (std);
  xs = g_memdup2 (x, (size_t) n * din * sizeof (float));
  affect_standardise (xs, n, din, mlp->mean, mlp->std);
  if (nv > 0) {
    double s1 = 0.0, s2 = 0.0;
    int i;
    xvs = g_memdup2 (xv, (size_t) nv * din * sizeof (float));
    affect_standardise (xvs, nv, din, mlp->mean, mlp->std);
    for (i = 0; i < nv; i++) {
      s1 += yv[(size_t) i * k];
      s2 += (double) yv[(size_t) i * k] * yv[(size_t) i * k];
    }
    s1 /= nv;
    target_std = sqrt (MAX (s2 / nv - s1 * s1, 0.0));
  }

  bx = g_malloc ((size_t) batch * din * sizeof (float));
  by = g_malloc ((size_t) batch * k * sizeof (float));
  if (config->vat)
    bd = g_malloc ((size_t) batch * din * sizeof (float));
  /* With one output and the exact power step, the power iteration from a
   * direction d ends at sign(∇f·d)·∇f/‖∇f‖ (vat.c): d matters only through
   * that sign, which for Gaussian d is a fair coin independent of ∇f. So
   * the directions drawn are ±(1, …, 1): sign(∇f·d) is then the drawn sign
   * times sign(Σ∇f), again a fair coin independent of ∇f. One random bit
   * per item replaces n_inputs Gaussians (a tenth of a VAT epoch). */
  sign_only = config->vat && k == 1
      && config->vat_config.power == AFFECT_VAT_POWER_JVP;
  perm = g_new (int, n);
  affect_rng_init (&rng, config->seed ^ 0x5eed0fa11ULL);
  affect_optimizer_init_adam (&opt, config->learning_rate);
  opt.weight_decay = config->weight_decay;
  affect_params_reset_state (mlp->params, mlp->n_params);

  for (epoch = 1; epoch <= config->epochs; epoch++) {
    AffectMlpEpochReport report = { 0 };
    gint64 t0 = g_get_monotonic_time ();
    double loss_sum = 0.0, part_sum = 0.0, lds_sum = 0.0;
    int n_batches = 0, start, i;

    affect_rng_permutation (&rng, perm, n);
    for (start = 0; start < n; start += batch) {
      int m = MIN (batch, n - start);
      double loss, part = 0.0, lds = 0.0;

      for (i = 0; i < m; i++) {
        memcpy (bx + (size_t) i * din, xs + (size_t) perm[start + i] * din,
            din * sizeof (float));
        memcpy (by + (size_t) i * k, y + (size_t) perm[start + i] * k,
            k * sizeof (float));
      }
      affect_params_zero_grad (mlp->params, mlp->n_params);
      if (config->vat && sign_only) {
        for (i = 0; i < m; i++) {
          const float s = (affect_rng_next (&rng) >> 63) ? 1.0f : -1.0f;
          int j;
          for (j = 0; j < din; j++)
            bd[(size_t) i * din + j] = s;
        }
      } else if (config->vat) {
        for (i = 0; i < m * din; i++)
          bd[i] = (float) affect_rng_normal (&rng);
      }
      if (config->vat) {
        loss = affect_vat_loss_grad (mlp, &config->vat_config, bx, by, bd, m,
            &part, &lds);
      } else {
        loss = affect_mlp_loss_grad (mlp, config->loss, bx, by, m);
        part = loss;
      }
      if (!isfinite (loss)) {
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
            "training diverged at epoch %d (loss %g); lower learning-rate",
            epoch, loss);
        ok = FALSE;
        goto done;
      }
      affect_optimizer_step (&opt, mlp->params, mlp->n_params);
      loss_sum += loss;
      part_sum += part;
      lds_sum += lds;
      n_batches++;
    }
    epochs_run = epoch;
    report.epoch = epoch;
    report.train_loss = loss_sum / n_batches;
    report.train_mse = part_sum / n_batches;
    report.train_lds = lds_sum / n_batches;
    if (nv > 0) {
      evaluate (mlp, config->loss, xvs, yv, nv, &report.validation_metric,
          &report.validation_accuracy, &report.validation_output_std);
    } else {
      report.validation_metric = NAN;
      report.validation_accuracy = NAN;
      report.validation_output_std = NAN;
    }
    /* without validation items the last epoch is kept */
    if (nv == 0 || report.validation_metric < best_metric) {
      best_metric = nv > 0 ? report.validation_metric : NAN;
      best_accuracy = report.validation_accuracy;
      best_epoch = epoch;
      since_best = 0;
      report.best = TRUE;
      if (nv > 0)
        snapshot_take (&best, mlp->params, mlp->n_params);
    } else {
      since_best++;
    }
    report.seconds = (g_get_monotonic_time () - t0) / 1e6;
    if (func != NULL && !func (&report, user_data))
      break;
    if (config->patience > 0 && since_best >= config->patience)
      break;
  }

done:
  if (best.values != NULL)
    snapshot_restore (&best, mlp->params);
  if (ok && nv > 0) {
    double metric, accuracy, output_std;
    evaluate (mlp, config->loss, xvs, yv, nv, &metric, &accuracy, &output_std);
    result->constant_output = output_std < 1e-6 * MAX (target_std, 1e-30)
        || output_std == 0.0;
  }
  result->epochs_run = epochs_run;
  result->best_epoch = best_epoch;
  result->best_validation_metric = best_metric;
  result->best_validation_accuracy = best_accuracy;
  snapshot_clear (&best);
  g_free (perm);
  g_free (bx);
  g_free (by);
  g_free (bd);
  g_free (xs);
  g_free (xvs);
  return ok;
}

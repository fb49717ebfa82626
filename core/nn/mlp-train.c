/* MLP training: mini-batch Adam, plain loss or MSE + lambda·LDS (VAT),
 * model selection on validation items, checkpoints to resume from.
 *
 * The rows come from an MlpRows source (arrays, or a dataset that may
 * have spilled to a file), read a batch at a time and standardised as
 * they are read: the same per-element operation as standardising the
 * whole set first, so the numbers do not depend on where rows live. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/regressor.h"
#include "affect/safetensors.h"
#include "checkpoint.h"
#include "mlp-private.h"

/* rows per read when a pass goes through a whole set: the chunk of
 * affect_mlp_predict_standardised, so the validation predictions are
 * those of one call over the whole set */
#define PASS_CHUNK 256

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
  config->checkpoint_path = NULL;
  config->resume = FALSE;
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

/* rows [start, start + m) of a source */
static gboolean
read_range (const MlpRows * rows, int start, int m, int *idx, float *x,
    float *y, GError ** error)
{
  int i;

  for (i = 0; i < m; i++)
    idx[i] = start + i;
  return rows->read (rows, idx, m, x, y, error);
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

/* FNV-1a over 32-bit words: a fingerprint of the training data, so a
 * checkpoint is never resumed on other rows */
#define HASH_INIT 0xcbf29ce484222325ULL
static guint64
hash_floats (guint64 h, const float *v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    guint32 bits;
    memcpy (&bits, v + i, sizeof (bits));
    h = (h ^ bits) * 0x100000001b3ULL;
  }
  return h;
}

static void
set_finite_error (GError ** error)
{
  g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
      "training data contain NaN or infinite values");
}

/* affect_standardisation_compute over a row source, in the same order of
 * double operations (so the same statistics to the bit); checks that the
 * features are finite and hashes them */
static gboolean
standardisation_from_rows (const MlpRows * rows, int d, float *mean,
    float *std, guint64 * hash, GError ** error)
{
  double *s = g_new0 (double, d), *s2 = g_new0 (double, d);
  float *buf = g_new (float, (size_t) PASS_CHUNK * d);
  int *idx = g_new (int, PASS_CHUNK);
  const int n = rows->n;
  gboolean ok = TRUE;
  int start, i, j, pass;

  for (pass = 0; ok && pass < 2; pass++) {
    for (start = 0; start < n; start += PASS_CHUNK) {
      const int m = MIN (PASS_CHUNK, n - start);
      if (!read_range (rows, start, m, idx, buf, NULL, error)) {
        ok = FALSE;
        break;
      }
      if (pass == 0) {
        if (!all_finite (buf, (size_t) m * d)) {
          set_finite_error (error);
          ok = FALSE;
          break;
        }
        *hash = hash_floats (*hash, buf, (size_t) m * d);
        for (i = 0; i < m; i++)
          for (j = 0; j < d; j++)
            s[j] += buf[(size_t) i * d + j];
      } else {
        for (i = 0; i < m; i++)
          for (j = 0; j < d; j++) {
            double e = buf[(size_t) i * d + j] - s[j];
            s2[j] += e * e;
          }
      }
    }
    if (pass == 0)
      for (j = 0; j < d; j++)
        s[j] = n > 0 ? s[j] / n : 0.0;
  }
  if (ok)
    for (j = 0; j < d; j++) {
      mean[j] = (float) s[j];
      std[j] = n > 0 ? (float) sqrt (s2[j] / n) : 1.0f;
    }
  g_free (s);
  g_free (s2);
  g_free (buf);
  g_free (idx);
  return ok;
}

/* validation metric (lower is better), accuracy and output spread; the
 * validation features are read and standardised a chunk at a time */
static gboolean
evaluate (AffectMlp * mlp, AffectMlpLoss loss, const MlpRows * val,
    const float *y, float *pred, float *buf, int *idx, double *metric,
    double *accuracy, double *output_std, GError ** error)
{
  const int k = mlp->config.n_outputs, d = mlp->config.n_inputs;
  const int n = val->n;
  double sum = 0.0, s1 = 0.0, s2 = 0.0;
  int i, start, correct = 0;

  for (start = 0; start < n; start += PASS_CHUNK) {
    const int m = MIN (PASS_CHUNK, n - start);
    if (!read_range (val, start, m, idx, buf, NULL, error))
      return FALSE;
    affect_standardise (buf, m, d, mlp->mean, mlp->std);
    affect_mlp_predict_standardised (mlp, buf, pred + (size_t) start * k, m);
  }
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
  return TRUE;
}

/* ---- checkpoints (the layout of affect/train.h) --------------------- */

/* everything an epoch boundary hands to the next epoch */
typedef struct
{
  int epoch;                    /* epochs done */
  int best_epoch;
  int since_best;
  double best_metric, best_accuracy;
  Snapshot best;
  AffectRng rng;
  AffectOptimizer opt;
} TrainState;

static char *
shape_string (AffectMlp * mlp)
{
  char *desc = affect_mlp_describe (mlp);
  char *s = g_strdup_printf ("%s %s/%s", desc,
      affect_activation_name (mlp->config.hidden_activation),
      affect_activation_name (mlp->config.output_activation));

  g_free (desc);
  return s;
}

/* what must not change between a checkpoint and the run resuming it */
static char *
settings_string (const AffectMlpTrainConfig * c, int n, int nv, guint64 hash)
{
  char lr[G_ASCII_DTOSTR_BUF_SIZE], wd[G_ASCII_DTOSTR_BUF_SIZE];
  char eps[G_ASCII_DTOSTR_BUF_SIZE], lam[G_ASCII_DTOSTR_BUF_SIZE];
  char xi[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_dtostr (lr, sizeof (lr), c->learning_rate);
  g_ascii_dtostr (wd, sizeof (wd), c->weight_decay);
  g_ascii_dtostr (eps, sizeof (eps), c->vat_config.epsilon);
  g_ascii_dtostr (lam, sizeof (lam), c->vat_config.lambda);
  g_ascii_dtostr (xi, sizeof (xi), c->vat_config.xi);
  return g_strdup_printf ("loss=%s,batch-size=%d,learning-rate=%s,"
      "weight-decay=%s,seed=%" G_GUINT64_FORMAT ",vat=%s,epsilon=%s,"
      "lambda=%s,xi=%s,power-iterations=%d,power=%d,items=%d,"
      "validation-items=%d,select=%s,data=%016" G_GINT64_MODIFIER "x",
      c->loss == AFFECT_MLP_LOSS_BCE ? "bce" : "mse", MAX (c->batch_size, 1),
      lr, wd, c->seed, c->vat ? "yes" : "no", c->vat ? eps : "-",
      c->vat ? lam : "-", c->vat ? xi : "-",
      c->vat ? c->vat_config.power_iterations : 0,
      c->vat ? (int) c->vat_config.power : 0, n, nv,
      affect_train_select_name (c->select), hash);
}

static gboolean
checkpoint_write (AffectMlp * mlp, const char *path, const TrainState * st,
    const char *settings, GError ** error)
{
  AffectSafetensorsWriter *w = affect_safetensors_writer_new ();
  int64_t shape[1] = { mlp->config.n_inputs };
  TrainCheckpoint c = { 0 };
  gboolean ok;
  guint i;

  c.trainer = "mlp";
  c.epochs_done = st->epoch;
  c.best_epoch = st->best_epoch;
  c.since_best = st->since_best;
  c.best_metric = st->best_metric;
  c.best_loss = NAN;
  c.best_accuracy = st->best_accuracy;
  c.optimizer = AFFECT_OPTIMIZER_ADAM;
  c.optimizer_step = st->opt.step;
  c.phase = -1;
  c.has_rng = TRUE;
  memcpy (c.rng, st->rng.s, sizeof (c.rng));
  c.shape = shape_string (mlp);
  c.settings = (char *) settings;
  for (i = 0; i < mlp->n_params; i++) {
    AffectParam *p = mlp->params[i];
    affect_safetensors_writer_add (w, p->name, p->value.n_dims,
        p->value.shape, p->value.data);
  }
  affect_safetensors_writer_add (w, "standardise.mean", 1, shape, mlp->mean);
  affect_safetensors_writer_add (w, "standardise.std", 1, shape, mlp->std);
  /* Adam's moments exist from the first step on */
  train_checkpoint_add (w, &c, mlp->params, mlp->n_params, st->best.values);
  g_free (c.shape);
  ok = affect_safetensors_writer_write (w, path, error);
  affect_safetensors_writer_free (w);
  return ok;
}

/* Reads a checkpoint into the model and the training state. Everything
 * is checked before anything is changed: on error the model and state are
 * as they were. */
static gboolean
checkpoint_read (AffectMlp * mlp, const char *path, const char *settings,
    TrainState * st, GError ** error)
{
  AffectSafetensors *f = affect_safetensors_open (path, error);
  const guint np = mlp->n_params;
  AffectTensorView *views = NULL;
  AffectTensorView mean, std;
  TrainCheckpoint c = { 0 };
  char *shape_str = NULL;
  float **best = NULL;
  int64_t shape[1] = { mlp->config.n_inputs };
  gboolean ok = FALSE;
  guint i;

  if (f == NULL)
    return FALSE;
  if (!train_checkpoint_read (f, path, "mlp", &c, error))
    goto out;
  shape_str = shape_string (mlp);
  if (g_strcmp0 (c.shape, shape_str) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "%s: checkpoint of a %s model, this model is %s", path, c.shape,
        shape_str);
    goto out;
  }
  if (g_strcmp0 (c.settings, settings) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "%s: checkpoint written with other training settings or data "
        "(%s); this run has %s", path, c.settings, settings);
    goto out;
  }
  if ((c.optimizer_step > 0) != (c.epochs_done > 0) || !c.has_rng
      || c.optimizer != AFFECT_OPTIMIZER_ADAM) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: checkpoint at epoch %d with %" G_GINT64_FORMAT
        " optimiser steps", path, c.epochs_done, c.optimizer_step);
    goto out;
  }
  views = g_new0 (AffectTensorView, np);
  for (i = 0; i < np; i++) {
    AffectParam *p = mlp->params[i];
    if (!affect_safetensors_get_shaped (f, p->name, p->value.n_dims,
            p->value.shape, &views[i], error))
      goto out;
  }
  if (!affect_safetensors_get_shaped (f, "standardise.mean", 1, shape, &mean,
          error)
      || !affect_safetensors_get_shaped (f, "standardise.std", 1, shape, &std,
          error))
    goto out;
  if (c.has_best) {
    best = g_new0 (float *, np);
    if (!train_checkpoint_read_best (f, path, mlp->params, np, best, error))
      goto out;
  }
  /* all there but the optimiser state, which is checked as it is read */
  if (!train_checkpoint_read_optimizer (f, path, AFFECT_OPTIMIZER_ADAM,
          mlp->params, np, error))
    goto out;
  for (i = 0; i < np; i++) {
    AffectParam *p = mlp->params[i];
    if (c.optimizer_step > 0 && (p->m == NULL || p->v == NULL)) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "%s: no Adam moments for %s", path, p->name);
      affect_params_reset_state (mlp->params, np);
      goto out;
    }
  }
  for (i = 0; i < np; i++)
    memcpy (mlp->params[i]->value.data, views[i].data,
        (size_t) mlp->params[i]->value.n * sizeof (float));
  snapshot_clear (&st->best);
  if (best != NULL) {
    st->best.values = best;
    st->best.n = np;
    best = NULL;
  }
  affect_mlp_set_standardisation (mlp, mean.data, std.data);
  st->epoch = c.epochs_done;
  st->opt.step = c.optimizer_step;
  memcpy (st->rng.s, c.rng, sizeof (c.rng));
  st->best_epoch = c.best_epoch;
  st->since_best = c.since_best;
  st->best_metric = c.best_metric;
  st->best_accuracy = c.best_accuracy;
  ok = TRUE;

out:
  if (best != NULL) {
    for (i = 0; i < np; i++)
      g_free (best[i]);
    g_free (best);
  }
  train_checkpoint_clear (&c);
  g_free (views);
  g_free (shape_str);
  affect_safetensors_close (f);
  return ok;
}

/* ---- the training loop ------------------------------------------------ */

gboolean
mlp_train_rows (AffectMlp * mlp, const AffectMlpTrainConfig * config,
    const MlpRows * train, const MlpRows * val, AffectTrainEpochFunc func,
    gpointer user_data, AffectMlpTrainResult * result, GError ** error)
{
  const int din = mlp->config.n_inputs, k = mlp->config.n_outputs;
  const int batch = MAX (config->batch_size, 1);
  const int n = train->n, nv = val != NULL ? val->n : 0;
  float *y = NULL, *yv = NULL, *pred = NULL, *buf, *bx, *by, *bd = NULL;
  float *mean, *std;
  int *perm = NULL, *idx;
  TrainState st = { 0 };
  char *settings = NULL;
  guint64 hash = HASH_INIT;
  double target_std = 0.0;
  int epoch, i;
  gboolean ok = TRUE, sign_only, stop = FALSE, keep_last;

  memset (result, 0, sizeof (*result));
  if (n <= 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY, "no training items");
    return FALSE;
  }
  keep_last = nv == 0 || config->select == AFFECT_TRAIN_SELECT_LAST;
  if (config->vat && config->loss != AFFECT_MLP_LOSS_MSE) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "VAT is defined here for the Gaussian (MSE) regression model only");
    return FALSE;
  }

  buf = g_malloc ((size_t) MAX (batch, PASS_CHUNK) * din * sizeof (float));
  idx = g_new (int, MAX (batch, PASS_CHUNK));
  bx = g_malloc ((size_t) batch * din * sizeof (float));
  by = g_malloc ((size_t) batch * k * sizeof (float));
  mean = g_new (float, din);
  std = g_new (float, din);

  /* the targets (a few floats per row) are held in memory; the features
   * are read when needed */
  y = g_new (float, (size_t) n * k);
  perm = g_new (int, MAX (n, nv));
  for (i = 0; i < n; i++)
    perm[i] = i;
  if (!train->read (train, perm, n, NULL, y, error))
    goto fail;
  if (nv > 0) {
    yv = g_new (float, (size_t) nv * k);
    pred = g_new (float, (size_t) nv * k);
    for (i = 0; i < nv; i++)
      perm[i] = i;
    if (!val->read (val, perm, nv, NULL, yv, error))
      goto fail;
  }
  if (!all_finite (y, (size_t) n * k)
      || (nv > 0 && !all_finite (yv, (size_t) nv * k))) {
    set_finite_error (error);
    goto fail;
  }
  hash = hash_floats (hash, y, (size_t) n * k);
  if (nv > 0)
    hash = hash_floats (hash, yv, (size_t) nv * k);

  /* standardisation from the training items, stored in the model */
  if (!standardisation_from_rows (train, din, mean, std, &hash, error))
    goto fail;
  for (i = 0; i < nv; i += PASS_CHUNK) {
    const int m = MIN (PASS_CHUNK, nv - i);
    if (!read_range (val, i, m, idx, buf, NULL, error))
      goto fail;
    if (!all_finite (buf, (size_t) m * din)) {
      set_finite_error (error);
      goto fail;
    }
    hash = hash_floats (hash, buf, (size_t) m * din);
  }
  affect_mlp_set_standardisation (mlp, mean, std);
  if (nv > 0) {
    double s1 = 0.0, s2 = 0.0;
    for (i = 0; i < nv; i++) {
      s1 += yv[(size_t) i * k];
      s2 += (double) yv[(size_t) i * k] * yv[(size_t) i * k];
    }
    s1 /= nv;
    target_std = sqrt (MAX (s2 / nv - s1 * s1, 0.0));
  }

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
  affect_rng_init (&st.rng, config->seed ^ 0x5eed0fa11ULL);
  affect_optimizer_init_adam (&st.opt, config->learning_rate);
  st.opt.weight_decay = config->weight_decay;
  /* each step writes its gradients (beta = 0 in the products) rather
   * than adding to them: nothing to clear between steps */
  st.opt.zero_grad = FALSE;
  affect_params_reset_state (mlp->params, mlp->n_params);
  st.best_metric = INFINITY;
  st.best_accuracy = NAN;

  if (config->checkpoint_path != NULL) {
    settings = settings_string (config, n, nv, hash);
    if (config->resume
        && g_file_test (config->checkpoint_path, G_FILE_TEST_EXISTS)) {
      if (!checkpoint_read (mlp, config->checkpoint_path, settings, &st, error))
        goto fail;
      /* an early stop already reached stays reached */
      stop = config->patience > 0 && st.since_best >= config->patience;
    }
  }

  affect_params_zero_grad (mlp->params, mlp->n_params);
  for (epoch = st.epoch + 1; !stop && epoch <= config->epochs; epoch++) {
    AffectTrainEpoch report;
    gint64 t0 = g_get_monotonic_time ();
    double loss_sum = 0.0, part_sum = 0.0, lds_sum = 0.0;
    int n_batches = 0, start;

    affect_rng_permutation (&st.rng, perm, n);
    for (start = 0; start < n; start += batch) {
      int m = MIN (batch, n - start);
      double loss, part = 0.0, lds = 0.0;

      if (!train->read (train, perm + start, m, bx, NULL, error))
        goto fail;
      affect_standardise (bx, m, din, mlp->mean, mlp->std);
      for (i = 0; i < m; i++)
        memcpy (by + (size_t) i * k, y + (size_t) perm[start + i] * k,
            k * sizeof (float));
      if (config->vat && sign_only) {
        for (i = 0; i < m; i++) {
          const float s = (affect_rng_next (&st.rng) >> 63) ? 1.0f : -1.0f;
          int j;
          for (j = 0; j < din; j++)
            bd[(size_t) i * din + j] = s;
        }
      } else if (config->vat) {
        for (i = 0; i < m * din; i++)
          bd[i] = (float) affect_rng_normal (&st.rng);
      }
      /* the step's gradients are applied as they are made (mlp.c) */
      affect_optimizer_begin_step (&st.opt, mlp->params, mlp->n_params);
      if (config->vat) {
        loss = vat_loss_step (mlp, &config->vat_config, bx, by, bd, m,
            &part, &lds, &st.opt);
      } else {
        loss = mlp_loss_step (mlp, config->loss, bx, by, m, &st.opt);
        part = loss;
      }
      if (!isfinite (loss)) {
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
            "training diverged at epoch %d (loss %g); lower learning-rate",
            epoch, loss);
        goto fail;
      }
      loss_sum += loss;
      part_sum += part;
      lds_sum += lds;
      n_batches++;
    }
    st.epoch = epoch;
    affect_train_epoch_init (&report);
    report.epoch = epoch;
    report.total_epochs = config->epochs;
    report.phase = "adam";
    report.learning_rate = config->learning_rate;
    report.metric_name = config->loss == AFFECT_MLP_LOSS_BCE ? "bce" : "mae";
    report.train_loss = loss_sum / n_batches;
    report.train_mse = part_sum / n_batches;
    report.train_lds = lds_sum / n_batches;
    if (nv > 0) {
      if (!evaluate (mlp, config->loss, val, yv, pred, buf, idx,
              &report.validation_metric, &report.validation_accuracy,
              &report.validation_output_std, error))
        goto fail;
    } else {
      report.validation_metric = NAN;
      report.validation_accuracy = NAN;
      report.validation_output_std = NAN;
    }
    /* without validation items, or with select=last, the last epoch is
     * kept (and patience does not apply) */
    if (keep_last || report.validation_metric < st.best_metric) {
      st.best_metric = report.validation_metric;
      st.best_accuracy = report.validation_accuracy;
      st.best_epoch = epoch;
      st.since_best = 0;
      report.best = TRUE;
      if (!keep_last)
        snapshot_take (&st.best, mlp->params, mlp->n_params);
    } else {
      st.since_best++;
    }
    if (settings != NULL && !checkpoint_write (mlp, config->checkpoint_path,
            &st, settings, error))
      goto fail;
    report.seconds = (g_get_monotonic_time () - t0) / 1e6;
    if (func != NULL && !func (&report, user_data))
      break;
    if (config->patience > 0 && st.since_best >= config->patience)
      break;
  }
  goto done;

fail:
  ok = FALSE;
done:
  if (st.best.values != NULL)
    snapshot_restore (&st.best, mlp->params);
  if (ok && nv > 0) {
    double metric, accuracy, output_std;
    ok = evaluate (mlp, config->loss, val, yv, pred, buf, idx, &metric,
        &accuracy, &output_std, error);
    result->constant_output = output_std < 1e-6 * MAX (target_std, 1e-30)
        || output_std == 0.0;
  }
  result->epochs_run = st.epoch;
  result->best_epoch = st.best_epoch;
  result->best_validation_metric = st.best_metric;
  result->best_validation_accuracy = st.best_accuracy;
  snapshot_clear (&st.best);
  g_free (settings);
  g_free (perm);
  g_free (idx);
  g_free (buf);
  g_free (bx);
  g_free (by);
  g_free (bd);
  g_free (y);
  g_free (yv);
  g_free (pred);
  g_free (mean);
  g_free (std);
  return ok;
}

/* ---- rows from arrays ------------------------------------------------- */

typedef struct
{
  const float *x, *y;
  int d, k;
} Arrays;

static gboolean
arrays_read (const MlpRows * rows, const int *idx, int m, float *x, float *y,
    GError ** error)
{
  const Arrays *a = rows->data;
  int i;

  for (i = 0; i < m; i++) {
    if (x != NULL)
      memcpy (x + (size_t) i * a->d, a->x + (size_t) idx[i] * a->d,
          a->d * sizeof (float));
    if (y != NULL)
      memcpy (y + (size_t) i * a->k, a->y + (size_t) idx[i] * a->k,
          a->k * sizeof (float));
  }
  return TRUE;
}

gboolean
affect_mlp_train (AffectMlp * mlp, const AffectMlpTrainConfig * config,
    const float *x, const float *y, int n, const float *xv, const float *yv,
    int nv, AffectTrainEpochFunc func, gpointer user_data,
    AffectMlpTrainResult * result, GError ** error)
{
  const int d = mlp->config.n_inputs, k = mlp->config.n_outputs;
  Arrays ta = { x, y, d, k }, va = { xv, yv, d, k };
  MlpRows train = { n, arrays_read, &ta, NULL, -1 };
  MlpRows val = { nv, arrays_read, &va, NULL, -1 };

  return mlp_train_rows (mlp, config, &train, nv > 0 ? &val : NULL, func,
      user_data, result, error);
}

/* ---- rows from a dataset ---------------------------------------------- */

/* one split of a dataset seen through an index (the hold-out's
 * permutation) and a target column */
typedef struct
{
  const AffectDataset *ds;
  gboolean validation;
} SplitRows;

static gboolean
split_read (const MlpRows * rows, const int *idx, int m, float *x, float *y,
    GError ** error)
{
  const SplitRows *sr = rows->data;
  const AffectDataset *ds = sr->ds;
  const int d = affect_dataset_width (ds), k = affect_dataset_n_targets (ds);
  int i;

  for (i = 0; i < m; i++) {
    const int row = rows->index ? rows->index[idx[i]] : idx[i];
    if (x != NULL && !affect_dataset_read (ds, sr->validation, row, 0, 1,
            x + (size_t) i * d, error))
      return FALSE;
    if (y != NULL) {
      const float *t = affect_dataset_item_targets (ds, sr->validation, row);
      if (rows->target < 0)
        memcpy (y + (size_t) i * k, t, k * sizeof (float));
      else
        y[i] = t[rows->target];
    }
  }
  return TRUE;
}

gboolean
affect_mlp_train_dataset (AffectMlp * mlp,
    const AffectMlpTrainConfig * config, AffectDataset * ds, int target,
    double validation_fraction, AffectTrainEpochFunc func, gpointer user_data,
    AffectMlpTrainResult * result, GError ** error)
{
  const int n_train = affect_dataset_size (ds, FALSE);
  const int n_val = affect_dataset_size (ds, TRUE);
  int *idx_t, *idx_v = NULL, nt, nv, i;
  SplitRows st = { ds, FALSE }, sv = { ds, n_val > 0 };
  MlpRows train, val;
  gboolean ok;

  if (n_train == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "no training items (with finite features and targets)");
    return FALSE;
  }
  if (target >= affect_dataset_n_targets (ds)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "target column %d of %d", target, affect_dataset_n_targets (ds));
    return FALSE;
  }
  if (affect_dataset_width (ds) != mlp->config.n_inputs) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "items of %d features for a model of %d inputs",
        affect_dataset_width (ds), mlp->config.n_inputs);
    return FALSE;
  }
  for (int split = 0; split < 2; split++)
    for (i = 0; i < affect_dataset_size (ds, split); i++)
      if (affect_dataset_item_frames (ds, split, i) != 1) {
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
            "%s item %d has %d frames: an MLP takes one feature vector "
            "per item", split ? "validation" : "training", i,
            affect_dataset_item_frames (ds, split, i));
        return FALSE;
      }
  idx_t = g_new (int, n_train);
  if (n_val > 0 || validation_fraction <= 0.0 || n_train < 2) {
    /* the corpus's own validation items, if any */
    for (i = 0; i < n_train; i++)
      idx_t[i] = i;
    nt = n_train;
    nv = n_val;
    if (nv > 0) {
      idx_v = g_new (int, nv);
      for (i = 0; i < nv; i++)
        idx_v[i] = i;
    }
  } else {
    /* hold out a seeded random fraction of the training items */
    AffectRng rng;
    affect_rng_init (&rng, config->seed ^ 0x7a11da7eULL);
    affect_rng_permutation (&rng, idx_t, n_train);
    nv = CLAMP ((int) lround (validation_fraction * n_train), 1, n_train - 1);
    nt = n_train - nv;
    idx_v = g_new (int, nv);
    memcpy (idx_v, idx_t + nt, nv * sizeof (int));
  }

  train.n = nt;
  train.read = split_read;
  train.data = &st;
  train.index = idx_t;
  train.target = target;
  val = train;
  val.n = nv;
  val.data = &sv;
  val.index = idx_v;
  ok = mlp_train_rows (mlp, config, &train, nv > 0 ? &val : NULL, func,
      user_data, result, error);
  g_free (idx_t);
  g_free (idx_v);
  return ok;
}

gboolean
affect_mlp_train_file (const AffectMlpFileJob * job,
    const AffectMlpTrainConfig * config, AffectTrainEpochFunc func,
    gpointer user_data, AffectMlpTrainResult * result, GError ** error)
{
  AffectMlpConfig mc = { 0 };
  AffectMlpTrainConfig tc = *config;
  char *checkpoint = g_strconcat (job->path, ".ckpt", NULL);
  AffectMlp *mlp = NULL;
  gboolean ok;

  mc.n_inputs = job->n_inputs;
  mc.n_outputs = job->n_outputs;
  mc.hidden_activation = AFFECT_ACTIVATION_RELU;
  mc.output_activation = job->output_activation;
  tc.checkpoint_path = checkpoint;
  if (!affect_mlp_parse_hidden (job->hidden_sizes, &mc))
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "invalid hidden sizes \"%s\"", job->hidden_sizes);
  else
    mlp = affect_mlp_new (&mc, config->seed, error);
  ok = mlp != NULL && affect_mlp_train_dataset (mlp, &tc, job->dataset,
      job->target, job->validation_fraction, func, user_data, result, error);
  if (ok && job->describe)
    job->describe (mlp, job->data);
  ok = ok && affect_mlp_save (mlp, job->path, error);
  affect_mlp_free (mlp);
  g_free (checkpoint);
  return ok;
}

/* Multi-layer perceptron: the speech-emotion regressor and the
 * spontaneity classifier of the VAT seed (384-1200-600-1 and
 * 384-1200-600-300-1), of any widths.
 *
 * The model holds its input standardisation (training-set mean and
 * standard deviation per feature), its output names and free-form
 * metadata, and saves all of it in one safetensors file. Parameter names
 * are those of a PyTorch `nn.Sequential` called `net` (Linear layers at
 * even indices: net.0, net.2, …) plus the buffers `standardise.mean` and
 * `standardise.std`, so the file loads into such a module unchanged.
 *
 * Shape (FFTW-like): affect_mlp_new / _load (allocates) → _predict (cheap,
 * any batch size) → _free. _predict is not reentrant: it uses the model's
 * workspace.
 */
#ifndef AFFECT_MLP_H
#define AFFECT_MLP_H

#include <glib.h>
#include <stdint.h>

#include "affect/nn.h"

G_BEGIN_DECLS

#define AFFECT_MLP_MAX_HIDDEN 8

typedef struct
{
  int n_inputs;
  int n_hidden;                 /* number of hidden layers */
  int hidden[AFFECT_MLP_MAX_HIDDEN];
  int n_outputs;
  AffectActivation hidden_activation;   /* ReLU in the seed */
  AffectActivation output_activation;   /* identity, ReLU (seed), sigmoid */
} AffectMlpConfig;

typedef struct _AffectMlp AffectMlp;

/* Weights initialised as PyTorch's nn.Linear from the seed. NULL (with
 * error) if the config is invalid. */
AffectMlp *affect_mlp_new (const AffectMlpConfig * config, uint64_t seed,
    GError ** error);
void affect_mlp_free (AffectMlp * mlp);
const AffectMlpConfig *affect_mlp_get_config (const AffectMlp * mlp);
/* "384-1200-600-1" */
char *affect_mlp_describe (const AffectMlp * mlp);

/* weights and biases, in layer order; owned by the model */
AffectParam *const *affect_mlp_params (AffectMlp * mlp, guint * n_params);

/* x_std = (x − mean) / std per feature; a std ≤ 1e-8 counts as 1 (a
 * constant feature becomes 0). Default: mean 0, std 1. */
void affect_mlp_set_standardisation (AffectMlp * mlp, const float *mean,
    const float *std);
const float *affect_mlp_get_mean (const AffectMlp * mlp);
const float *affect_mlp_get_std (const AffectMlp * mlp);
/* mean and (population) standard deviation of n rows of d features,
 * accumulated in double */
void affect_standardisation_compute (const float *x, int n, int d,
    float *mean, float *std);
/* in place, with given statistics */
void affect_standardise (float *x, int n, int d, const float *mean,
    const float *std);

/* names of the outputs (NULL-terminated, copied); may be unset */
void affect_mlp_set_names (AffectMlp * mlp, const char *const *names);
const char *const *affect_mlp_get_names (const AffectMlp * mlp);
/* extra string metadata carried in the model file */
void affect_mlp_set_metadata (AffectMlp * mlp, const char *key,
    const char *value);
const char *affect_mlp_get_metadata (const AffectMlp * mlp, const char *key);

/* y (n × n_outputs) for raw features x (n × n_inputs), standardised with
 * the model's statistics */
void affect_mlp_predict (AffectMlp * mlp, const float *x, float *y, int n);
/* the same for inputs already standardised */
void affect_mlp_predict_standardised (AffectMlp * mlp, const float *xs,
    float *y, int n);

/* Atomic write (temporary file, fsync, rename) of weights, statistics,
 * names and metadata. */
gboolean affect_mlp_save (AffectMlp * mlp, const char *path, GError ** error);
/* Reads a file written by _save or by PyTorch with the same keys. */
AffectMlp *affect_mlp_load (const char *path, GError ** error);

/* ---- training --------------------------------------------------------- */

typedef enum
{
  AFFECT_MLP_LOSS_MSE,          /* regression */
  AFFECT_MLP_LOSS_BCE           /* binary classification on a sigmoid output */
} AffectMlpLoss;

typedef enum
{
  /* exact power step through Jacobian-vector products (default) */
  AFFECT_VAT_POWER_JVP,
  /* the classic finite difference f(x + xi d) − f(x) in float32; cancels
   * to 0 for small xi on many samples, kept to show why JVP is default */
  AFFECT_VAT_POWER_FINITE_DIFFERENCE
} AffectVatPower;

typedef struct
{
  double epsilon;               /* ‖r_adv‖ (1.5) */
  double lambda;                /* weight of LDS in the loss (1.5) */
  double xi;                    /* finite-difference step (1e-6) */
  int power_iterations;         /* (1) */
  AffectVatPower power;
} AffectVatConfig;

void affect_vat_config_init (AffectVatConfig * config);

typedef struct
{
  AffectMlpLoss loss;
  int epochs;
  int batch_size;
  double learning_rate;         /* Adam */
  double weight_decay;          /* Adam L2 */
  uint64_t seed;                /* shuffling and VAT directions */
  int patience;                 /* stop after this many epochs without a
                                 * better validation score; 0 = never */
  gboolean vat;                 /* MSE + lambda LDS (MSE loss only) */
  AffectVatConfig vat_config;
  /* Checkpoint (NULL: none). After every epoch the whole training state
   * is written there atomically: weights, Adam moments and step, the RNG
   * state, the epoch, the best epoch's weights, score and the patience
   * counter, the standardisation, and a fingerprint of the settings and
   * data. The file is kept when training ends, so a finished run can be
   * extended with more epochs. */
  const char *checkpoint_path;
  /* continue from checkpoint_path if that file exists (else start
   * afresh): the run goes on from the epoch after the checkpoint's, and
   * ends bit-identical to an uninterrupted run with the same settings
   * and data (at any thread count). A checkpoint of another model
   * shape, other settings (loss, VAT, batch size, learning rate, seed,
   * …) or other data, or a damaged file, is refused with an error. A
   * checkpoint at or past `epochs` trains no further (the model is its best epoch's);
   * reports are made for the epochs run now only, numbered from the
   * checkpoint's. The patience counter carries over, so an early stop
   * already reached stays reached. */
  gboolean resume;
} AffectMlpTrainConfig;

void affect_mlp_train_config_init (AffectMlpTrainConfig * config);

typedef struct
{
  int epoch;                    /* 1-based */
  double train_loss;            /* mean over the epoch's batches */
  double train_mse;             /* MSE part (or BCE) */
  double train_lds;             /* LDS part (VAT), else 0 */
  /* on the validation items (NaN without): MAE per output averaged for
   * MSE models, BCE for classifiers; lower is better */
  double validation_metric;
  double validation_accuracy;   /* classifiers, threshold 0.5; else NaN */
  double validation_output_std; /* spread of the predictions (first output) */
  double seconds;
  gboolean best;                /* best validation so far (kept) */
} AffectMlpEpochReport;

/* return FALSE to stop training */
typedef gboolean (*AffectMlpEpochFunc) (const AffectMlpEpochReport * report,
    gpointer user_data);

typedef struct
{
  int epochs_run;
  int best_epoch;
  double best_validation_metric;
  double best_validation_accuracy;      /* classifiers; NaN otherwise */
  /* the kept model predicts (nearly) the same value for every validation
   * item: standard deviation < 1e-6 of the targets' (dead ReLU output) */
  gboolean constant_output;
} AffectMlpTrainResult;

/* Trains from raw features: sets the model's standardisation from x,
 * runs the epochs with Adam, and keeps the parameters of the epoch with
 * the best validation metric (the last epoch without validation data).
 * y: n × n_outputs targets (0/1 for BCE). xv/yv may be NULL with nv = 0. */
gboolean affect_mlp_train (AffectMlp * mlp,
    const AffectMlpTrainConfig * config, const float *x, const float *y,
    int n, const float *xv, const float *yv, int nv, AffectMlpEpochFunc func,
    gpointer user_data, AffectMlpTrainResult * result, GError ** error);

/* ---- a growable set of training rows --------------------------------- */

/* Feature vectors are kept in memory up to a byte budget (unlimited by
 * default); those added beyond it go to a temporary file (unlinked when
 * the dataset is freed) and are read back a batch at a time by the
 * trainer, so a corpus larger than memory trains. Targets (a few floats
 * per row) always stay in memory. Where a row lives changes nothing in
 * the trained model. */
typedef struct _AffectDataset AffectDataset;

AffectDataset *affect_dataset_new (int n_features, int n_targets);
void affect_dataset_free (AffectDataset * ds);
/* bytes of feature vectors kept in memory, for the rows added from now on
 * (0: every row spills; G_MAXSIZE, the default: none does) */
void affect_dataset_set_cache_budget (AffectDataset * ds, size_t bytes);
/* FALSE and the row is not added: AFFECT_ERROR_FORMAT if a value is NaN or
 * infinite (a row to skip), AFFECT_ERROR_IO if the spill file cannot be
 * written. error may be NULL. */
gboolean affect_dataset_add (AffectDataset * ds, const float *features,
    const float *targets, gboolean validation, GError ** error);
int affect_dataset_size (const AffectDataset * ds, gboolean validation);
/* rows held in the spill file (training and validation) */
int affect_dataset_spilled (const AffectDataset * ds);
/* all rows' features (n × n_features) when every row of the split is in
 * memory; NULL once some have spilled */
const float *affect_dataset_features (const AffectDataset * ds,
    gboolean validation);

/* Trains on the training rows and selects on the validation rows; if there
 * are none, holds out validation_fraction of the training rows (a seeded
 * choice). target: the one target column to learn, or -1 for all. */
gboolean affect_mlp_train_dataset (AffectMlp * mlp,
    const AffectMlpTrainConfig * config, AffectDataset * ds, int target,
    double validation_fraction, AffectMlpEpochFunc func, gpointer user_data,
    AffectMlpTrainResult * result, GError ** error);

/* ---- virtual adversarial training (seed 004, §2.2–3.2) ---------------- */

/* r_adv (n × n_inputs) for standardised inputs xs from the random
 * directions d (any norm): the power iteration on the divergence
 * ‖f(x + r) − f(x)‖² / 2, then scaled to ‖r‖ = epsilon. A sample whose
 * output does not depend on its input (e.g. a dead ReLU output) gets r = 0. */
void affect_vat_adversarial_perturbation (AffectMlp * mlp,
    const AffectVatConfig * config, const float *xs, const float *d,
    float *r, int n);

/* Adds to the parameter gradients ∂/∂θ of
 *   MSE(f(xs), y) + lambda · (1/n) Σ_i ‖f(xs_i + r_i) − f(xs_i)‖² / 2
 * with f(xs) constant in the second term, r = r_adv from directions d.
 * Returns the total; mse and lds (may be NULL) receive the parts. */
double affect_vat_loss_grad (AffectMlp * mlp, const AffectVatConfig * config,
    const float *xs, const float *y, const float *d, int n, double *mse,
    double *lds);

/* the plain loss and its gradient (MSE or BCE) */
double affect_mlp_loss_grad (AffectMlp * mlp, AffectMlpLoss loss,
    const float *xs, const float *y, int n);

G_END_DECLS
#endif /* AFFECT_MLP_H */

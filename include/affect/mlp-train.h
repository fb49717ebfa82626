/* Training an MLP (affect/mlp.h): mini-batch Adam on the plain loss (MSE
 * or BCE) or on MSE + lambda · LDS (VAT, affect/vat.h), model selection on
 * validation items, checkpoints to resume from (affect/train.h). Rows come
 * from arrays or from a dataset (affect/dataset.h). */
#ifndef AFFECT_MLP_TRAIN_H
#define AFFECT_MLP_TRAIN_H

#include <glib.h>
#include <stdint.h>

#include "affect/dataset.h"
#include "affect/mlp.h"
#include "affect/train.h"
#include "affect/vat.h"

G_BEGIN_DECLS typedef enum
{
  AFFECT_MLP_LOSS_MSE,          /* regression */
  AFFECT_MLP_LOSS_BCE           /* binary classification on a sigmoid output */
} AffectMlpLoss;

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
  /* the model kept: the best validation epoch's (default) or the last
   * epoch's; the last is kept whenever there are no validation rows */
  AffectTrainSelect select;
} AffectMlpTrainConfig;

void affect_mlp_train_config_init (AffectMlpTrainConfig * config);

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
 * y: n × n_outputs targets (0/1 for BCE). xv/yv may be NULL with nv = 0.
 * func (may be NULL) receives a report after every epoch; it returns
 * FALSE to stop. */
gboolean affect_mlp_train (AffectMlp * mlp,
    const AffectMlpTrainConfig * config, const float *x, const float *y,
    int n, const float *xv, const float *yv, int nv, AffectTrainEpochFunc func,
    gpointer user_data, AffectMlpTrainResult * result, GError ** error);

/* Trains on the training items of a dataset of feature vectors (items of
 * one frame of n_inputs values) and selects on its validation items; if
 * there are none, holds out validation_fraction of the training items (a
 * seeded choice). target: the one target column to learn, or -1 for all. */
gboolean affect_mlp_train_dataset (AffectMlp * mlp,
    const AffectMlpTrainConfig * config, AffectDataset * ds, int target,
    double validation_fraction, AffectTrainEpochFunc func, gpointer user_data,
    AffectMlpTrainResult * result, GError ** error);

/* One MLP with ReLU hidden layers, trained on a dataset
 * (affect_mlp_train_dataset) and written to a file: what a training
 * element does at EOS. */
typedef struct
{
  int n_inputs, n_outputs;
  const char *hidden_sizes;     /* "1200,600" (affect_mlp_parse_hidden) */
  AffectActivation output_activation;
  AffectDataset *dataset;
  int target;                   /* the column to learn, -1 = all */
  double validation_fraction;
  const char *path;             /* written atomically */
  /* the model's names and metadata, set before it is written (or NULL) */
  void (*describe) (AffectMlp * mlp, gpointer data);
  gpointer data;
} AffectMlpFileJob;

/* Creates the model (initial weights from config->seed), trains it with
 * config, its checkpoint at "<path>.ckpt" (config->checkpoint_path is not
 * read), and writes it to job->path. */
gboolean affect_mlp_train_file (const AffectMlpFileJob * job,
    const AffectMlpTrainConfig * config, AffectTrainEpochFunc func,
    gpointer user_data, AffectMlpTrainResult * result, GError ** error);

/* the plain loss and its gradient (MSE or BCE) */
double affect_mlp_loss_grad (AffectMlp * mlp, AffectMlpLoss loss,
    const float *xs, const float *y, int n);

G_END_DECLS
#endif /* AFFECT_MLP_TRAIN_H */

/* What every training loop of libaffect shares: the report made after each
 * epoch, the choice of the model kept, and the layout of training
 * checkpoints. The loops: affect/mlp-train.h (MLP, VAT) and
 * affect/moodnet-train.h (MoodNet).
 *
 * Checkpoint layout (version 2; docs/models.md). A checkpoint is one
 * safetensors file written atomically after every epoch:
 *   - the model's tensors under their own names (the model file's),
 *   - the optimiser's state: `adam.m.<name>` and `adam.v.<name>`, or
 *     `sgd.momentum.<name>`, for every parameter that has it,
 *   - the kept epoch's weights, `best.<name>`, when they differ from the
 *     last epoch's (selection on validation items),
 *   - `affect.checkpoint`: a JSON object with `version` (2), `trainer`
 *     ("mlp", "moodnet"), `epochs_done`, `best_epoch`, `since_best`,
 *     `best_metric` and `best_loss` (hexadecimal bits of the doubles:
 *     exact, and free of JSON's lack of infinities), `optimizer`
 *     ("adam", "sgd"), `optimizer_step`, `phase` (−1: Adam; k ≥ 0: SGD
 *     stage k), `rng` (the loop's RNG state, four hexadecimal words, or
 *     absent), `shape` and `settings` (what must not change between the
 *     checkpoint and the run resuming it: model shape, settings, a
 *     fingerprint of the data), plus any entries of the model file.
 * A file of another layout is refused with an error that names the file
 * and its layout version. */
#ifndef AFFECT_TRAIN_H
#define AFFECT_TRAIN_H

#include <glib.h>

G_BEGIN_DECLS
#define AFFECT_CHECKPOINT_VERSION 2
/* the model a run keeps */
    typedef enum
{
  /* the epoch with the best validation score; the last epoch when there
   * are no validation items */
  AFFECT_TRAIN_SELECT_BEST,
  /* the last epoch */
  AFFECT_TRAIN_SELECT_LAST
} AffectTrainSelect;

/* "best", "last" */
const char *affect_train_select_name (AffectTrainSelect select);
gboolean affect_train_select_from_name (const char *name,
    AffectTrainSelect * select);

/* The report after an epoch, one layout for every trainer; a value a
 * trainer does not have is NaN. */
typedef struct
{
  int epoch;                    /* 1-based over the whole run */
  int total_epochs;
  const char *phase;            /* "adam", "sgd" */
  double learning_rate;
  double train_loss;            /* mean over the epoch's batches */
  double train_mse;             /* MLP: the MSE (or BCE) part of the loss */
  double train_lds;             /* MLP: VAT's LDS part (0 without VAT) */
  double validation_loss;       /* on the validation items */
  /* the selection score on the validation items: lower is better for
   * "mae" and "bce", higher for "roc-auc-macro" and "f1-macro" */
  double validation_metric;
  const char *metric_name;
  double validation_accuracy;   /* binary classifiers, threshold 0.5 */
  double validation_output_std; /* spread of the predictions (first output) */
  gboolean best;                /* the kept model is this epoch's so far */
  double seconds;
} AffectTrainEpoch;

/* after each epoch; return FALSE to stop training */
typedef gboolean (*AffectTrainEpochFunc) (const AffectTrainEpoch * epoch,
    gpointer user_data);

/* all fields NaN or empty, epoch 0 */
void affect_train_epoch_init (AffectTrainEpoch * epoch);

G_END_DECLS
#endif /* AFFECT_TRAIN_H */

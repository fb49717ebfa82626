/* Training MoodNet on a cached set of items (include/affect/moodnet.h).
 *
 * Items (one model input each, with a multi-hot or one-hot label vector)
 * are added to a cache: in memory up to a budget, then spilled to a
 * temporary file. affect_moodnet_trainer_run() then trains with the seed's
 * schedule: Adam (lr 1e-4) for `epochs` epochs; then the best weights so
 * far are reloaded and SGD with Nesterov momentum 0.9 and weight decay 1e-4
 * runs `sgd_epochs` epochs at each of 1e-3, 1e-4, 1e-5. The loss is the
 * mean of the two heads' losses. After every epoch the validation items
 * (if any; else the training items) are scored: ROC-AUC macro for sigmoid
 * models, macro-F1 for softmax ones; the best epoch's weights are written
 * to `output`, and a checkpoint (weights, schedule position and the
 * optimiser's state: step, Adam moments or SGD momentum) to `checkpoint`,
 * both atomically. With `resume`, a run continues from the checkpoint
 * (the best epoch's weights are read back from `output`): a run killed
 * after any epoch and resumed ends with the same bits as one that was not
 * (at any thread count, as is every run). */
#ifndef AFFECT_MOODNET_TRAIN_H
#define AFFECT_MOODNET_TRAIN_H

#include <glib.h>
#include <stdint.h>

#include "affect/moodnet.h"

G_BEGIN_DECLS typedef struct
{
  int epochs;                   /* Adam epochs (20) */
  int sgd_epochs;               /* epochs per SGD stage (5; 0: Adam only) */
  int batch_size;               /* 8 */
  double adam_lr;               /* 1e-4 */
  double sgd_lr;                /* 1e-3 (then /10, /100) */
  double momentum;              /* 0.9 */
  double weight_decay;          /* 1e-4 (SGD stages) */
  gboolean mixup;               /* Beta(1, 1) mixup of inputs and labels */
  gboolean spec_augment;        /* 2 frequency + 2 time masks per item */
  uint64_t seed;
  size_t cache_budget;          /* bytes kept in memory (256 MiB) */
  const char *output;           /* best model (required) */
  const char *checkpoint;       /* NULL: output + ".ckpt" */
  gboolean resume;
  /* after each epoch, recompute batch-norm running statistics over the
   * training items with the epoch's final weights (TRUE) instead of
   * relying on the momentum averages alone */
  gboolean calibrate_batchnorm;
  GHashTable *metadata;         /* extra metadata for the files (labels, …) */
} AffectMoodNetTrainOptions;

void affect_moodnet_train_options_init (AffectMoodNetTrainOptions * o);

typedef struct
{
  int epoch;                    /* 1-based over the whole schedule */
  int total_epochs;
  const char *phase;            /* "adam", "sgd" */
  double learning_rate;
  double train_loss;            /* mean over the epoch's batches */
  double validation_loss;
  double validation_metric;     /* NaN when undefined */
  const char *metric_name;      /* "roc-auc-macro" or "f1-macro" */
  gboolean best;                /* this epoch is the best so far */
  double seconds;
} AffectTrainEpoch;

typedef void (*AffectTrainEpochFunc) (const AffectTrainEpoch * epoch,
    gpointer user_data);

typedef struct _AffectMoodNetTrainer AffectMoodNetTrainer;

/* The trainer uses (does not own) net; net's input size fixes the item
 * size. */
AffectMoodNetTrainer *affect_moodnet_trainer_new (AffectMoodNet * net,
    const AffectMoodNetTrainOptions * options);
void affect_moodnet_trainer_free (AffectMoodNetTrainer * trainer);
/* x: n_mels × chunks·chunk_frames; labels: classes values */
gboolean affect_moodnet_trainer_add_item (AffectMoodNetTrainer * trainer,
    const float *x, const float *labels, gboolean validation, GError ** error);
guint affect_moodnet_trainer_n_items (const AffectMoodNetTrainer * trainer,
    gboolean validation);
gboolean affect_moodnet_trainer_run (AffectMoodNetTrainer * trainer,
    AffectTrainEpochFunc func, gpointer user_data, GError ** error);

G_END_DECLS
#endif /* AFFECT_MOODNET_TRAIN_H */

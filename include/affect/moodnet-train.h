/* Training MoodNet on a cached set of items (include/affect/moodnet.h).
 *
 * Items (whole Mel spectrograms of any length, with a multi-hot or one-hot
 * label vector) are cached once (affect/dataset.h): in memory up to a
 * budget, then spilled to a temporary file. The network sees an item
 * through crops of its input length (chunks × chunk_frames,
 * affect/crops.h): every epoch each training item's crop is drawn at a
 * random position of the whole item (seeded), and an item is scored by the
 * mean output of the crops that cover it; or, with AFFECT_CROPS_FIRST,
 * through its first crop only. affect_moodnet_trainer_run() trains with
 * the seed's schedule: Adam (lr 1e-4) for `epochs` epochs; then the best
 * weights so far are reloaded and SGD with Nesterov momentum 0.9 and
 * weight decay 1e-4 runs `sgd_epochs` epochs at each of 1e-3, 1e-4, 1e-5.
 * The loss is the mean of the two heads' losses. After every epoch the
 * validation items (if any) are scored: ROC-AUC macro for sigmoid models,
 * macro-F1 for softmax ones; the kept epoch's weights (`select`: the best
 * validation epoch's, or the last's) are written to `output`, and a
 * checkpoint (affect/train.h) to `checkpoint`, both atomically. With
 * `resume`, a run continues from the checkpoint (the kept epoch's weights
 * are read back from `output`): a run killed after any epoch and resumed
 * ends with the same bits as one that was not (at any thread count, as is
 * every run). */
#ifndef AFFECT_MOODNET_TRAIN_H
#define AFFECT_MOODNET_TRAIN_H

#include <glib.h>
#include <stdint.h>

#include "affect/crops.h"
#include "affect/moodnet.h"
#include "affect/train.h"

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
  /* how items longer than the model input are seen (affect/crops.h):
   * a random crop per item and epoch, scored by the mean over the crops
   * that cover the item (AFFECT_CROPS_RANDOM, default), or the first crop
   * only (AFFECT_CROPS_FIRST) */
  AffectCropsMode crops;
  /* the model kept: the best validation epoch's (default) or the last
   * epoch's; the last whenever there are no validation items (nothing is
   * then scored) */
  AffectTrainSelect select;
  /* per-band input standardisation: before the first epoch the net's
   * input_norm (it must have one: AffectMoodNetConfig.input_norm) is set
   * to the mean and standard deviation of each band over every frame of
   * the training items (affect_moodnet_trainer_standardise); SpecAugment
   * then masks with the band's mean, which standardises to 0. FALSE: a
   * net's input_norm is kept as it is (e.g. an init model's). */
  gboolean standardise;
} AffectMoodNetTrainOptions;

void affect_moodnet_train_options_init (AffectMoodNetTrainOptions * o);

typedef struct _AffectMoodNetTrainer AffectMoodNetTrainer;

/* The trainer uses (does not own) net; net's input size fixes the item
 * size. */
AffectMoodNetTrainer *affect_moodnet_trainer_new (AffectMoodNet * net,
    const AffectMoodNetTrainOptions * options);
void affect_moodnet_trainer_free (AffectMoodNetTrainer * trainer);
/* A whole item: n_frames Mel frames of n_mels values (frame-major, as the
 * stream carries them), of any length; labels: classes values. Items are
 * cached whole (affect/dataset.h): in memory up to cache_budget, then in a
 * spill file. */
gboolean affect_moodnet_trainer_add_frames (AffectMoodNetTrainer * trainer,
    const float *frames, int n_frames, const float *labels,
    gboolean validation, GError ** error);
/* An item that is one model input: x is n_mels × chunks·chunk_frames
 * (channel-major, the network's layout). */
gboolean affect_moodnet_trainer_add_item (AffectMoodNetTrainer * trainer,
    const float *x, const float *labels, gboolean validation, GError ** error);
guint affect_moodnet_trainer_n_items (const AffectMoodNetTrainer * trainer,
    gboolean validation);
/* Sets the net's input_norm to the mean and (population) standard
 * deviation of each Mel band over every frame of the training items
 * cached so far (accumulated in double, two passes); a deviation below
 * 1e-3 is stored as 1e-3. FALSE with AFFECT_ERROR_MISMATCH for a net
 * without input_norm, AFFECT_ERROR_EMPTY without training items, or the
 * spill file's read error. */
gboolean affect_moodnet_trainer_standardise (AffectMoodNetTrainer * trainer,
    GError ** error);
gboolean affect_moodnet_trainer_run (AffectMoodNetTrainer * trainer,
    AffectTrainEpochFunc func, gpointer user_data, GError ** error);

/* Eval-mode output (classes values) for a whole item of n_frames frames
 * (frame-major, n_mels each), as training scores it: the mean of the
 * outputs of the crops that cover the item (AFFECT_CROPS_RANDOM) or the
 * output of its first crop (AFFECT_CROPS_FIRST); an item shorter than a
 * crop is repeated to fill it. Crops go through the network batch_size
 * at a time. */
gboolean affect_moodnet_predict_frames (AffectMoodNet * net,
    const float *frames, int n_frames, AffectCropsMode mode, int batch_size,
    float *out, GError ** error);

G_END_DECLS
#endif /* AFFECT_MOODNET_TRAIN_H */

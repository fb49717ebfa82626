/* Training checkpoints of every trainer, in the one layout of
 * include/affect/train.h (version 2). Private to core/nn. */
#ifndef AFFECT_CHECKPOINT_H
#define AFFECT_CHECKPOINT_H

#include "affect/nn.h"
#include "affect/safetensors.h"
#include "affect/train.h"

/* the position of a run after an epoch */
typedef struct
{
  const char *trainer;          /* "mlp", "moodnet" */
  int epochs_done;
  int best_epoch;               /* the kept epoch (0: none yet) */
  int since_best;               /* epochs since the kept one improved */
  double best_metric, best_loss;
  double best_accuracy;         /* NaN when the trainer has none */
  gboolean has_best;            /* the file holds best.<name> (read) */
  AffectOptimizerKind optimizer;
  gint64 optimizer_step;
  int phase;                    /* −1: Adam; k ≥ 0: SGD stage k */
  gboolean has_rng;
  guint64 rng[4];
  char *shape;                  /* what must match on resume */
  char *settings;
} TrainCheckpoint;

void train_checkpoint_clear (TrainCheckpoint * c);

/* Adds the optimiser state of params (the tensors they have), the kept
 * epoch's weights best (may be NULL: not stored) and affect.checkpoint to
 * a writer that holds the model's own tensors and metadata. */
void train_checkpoint_add (AffectSafetensorsWriter * w,
    const TrainCheckpoint * c, AffectParam * const *params, guint n_params,
    float *const *best);

/* affect.checkpoint of an open file into c (strings owned by c). An
 * error naming path and its layout version when the file is of another
 * layout, of another trainer, or not a checkpoint. */
gboolean train_checkpoint_read (AffectSafetensors * f, const char *path,
    const char *trainer, TrainCheckpoint * c, GError ** error);

/* Optimiser state of kind `kind` from f into params' m / v (a parameter
 * without its tensors has none yet); every tensor is checked before
 * anything is changed. */
gboolean train_checkpoint_read_optimizer (AffectSafetensors * f,
    const char *path, AffectOptimizerKind kind, AffectParam * const *params,
    guint n_params, GError ** error);

/* The kept epoch's weights best.<name> into best[i] (allocated when NULL);
 * FALSE with an error when one is missing or of another shape. */
gboolean train_checkpoint_read_best (AffectSafetensors * f, const char *path,
    AffectParam * const *params, guint n_params, float **best, GError ** error);

/* a double as JSON: its %.17g, or null when not finite */
char *train_json_double (double v);

#endif

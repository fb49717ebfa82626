/* The training items of any model, cached once: an MLP's feature vectors
 * (one row of n_features each) and Mel spectrograms of any length (n_frames
 * rows of n_mels) alike.
 *
 * An item is `frames` rows of `width` floats, stored frame-major as given,
 * plus `n_targets` floats (targets or labels), in the training or the
 * validation split. Items are held whole: in memory while the bytes held
 * stay within a budget (unlimited by default), the others in one temporary
 * spill file (unlinked when the dataset is freed), read back a range of
 * frames at a time. Targets always stay in memory. Where an item lives
 * changes no number read back, so nothing trained from a dataset depends
 * on the budget.
 *
 * Training from a dataset: affect_mlp_train_dataset() (affect/mlp-train.h),
 * affect_moodnet_trainer_* (affect/moodnet-train.h), whose items are read
 * through crops (affect/crops.h). */
#ifndef AFFECT_DATASET_H
#define AFFECT_DATASET_H

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS typedef struct _AffectDataset AffectDataset;

/* width: floats per frame (n_features for feature vectors, n_mels for
 * spectrograms) */
AffectDataset *affect_dataset_new (int width, int n_targets);
void affect_dataset_free (AffectDataset * ds);
/* Bytes of items kept in memory, for the items added from now on (0: every
 * item spills; G_MAXSIZE, the default: none does). An item goes to memory
 * whole when the bytes held plus its own stay within the budget, else to
 * the spill file. */
void affect_dataset_set_cache_budget (AffectDataset * ds, size_t bytes);

/* FALSE and the item is not added: AFFECT_ERROR_FORMAT if a value is NaN or
 * infinite (an item to skip) or frames < 1, AFFECT_ERROR_IO if the spill
 * file cannot be written. error may be NULL. */
gboolean affect_dataset_add_item (AffectDataset * ds, const float *x,
    int frames, const float *targets, gboolean validation, GError ** error);
/* an item of one frame: a feature vector of `width` values */
gboolean affect_dataset_add (AffectDataset * ds, const float *features,
    const float *targets, gboolean validation, GError ** error);

int affect_dataset_width (const AffectDataset * ds);
int affect_dataset_n_targets (const AffectDataset * ds);
/* items in a split */
int affect_dataset_size (const AffectDataset * ds, gboolean validation);
/* frames of item i of a split */
int affect_dataset_item_frames (const AffectDataset * ds, gboolean validation,
    int i);
/* n_targets values of item i of a split */
const float *affect_dataset_item_targets (const AffectDataset * ds,
    gboolean validation, int i);
/* frames [frame0, frame0 + n) of item i into dst (n × width); the range
 * must lie inside the item. AFFECT_ERROR_IO if the spill file cannot be
 * read back. */
gboolean affect_dataset_read (const AffectDataset * ds, gboolean validation,
    int i, int frame0, int n, float *dst, GError ** error);

/* bytes of items held in memory (never above the budget) */
size_t affect_dataset_memory (const AffectDataset * ds);
/* items held in the spill file (training and validation) */
int affect_dataset_spilled (const AffectDataset * ds);

G_END_DECLS
#endif /* AFFECT_DATASET_H */

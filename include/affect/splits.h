/* Which side of a training run an item is on, with no GStreamer: by its
 * manifest `split` and, with a validation group (a column such as speaker
 * or artist), by its group, held out whole (affect_group_is_validation (),
 * affect/manifest.h). split=test items are never learnt from, so that one
 * manifest feeds both training and evaluation; split=validation ones are
 * held out for model selection; the others, and items without a split,
 * train. */
#ifndef AFFECT_SPLITS_H
#define AFFECT_SPLITS_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  AFFECT_SPLIT_TRAIN,
  AFFECT_SPLIT_VALIDATION,
  AFFECT_SPLIT_TEST
} AffectSplit;

/* The side of an item of manifest split `split` (NULL: none) whose
 * group_column value is `group`. With group_column NULL only
 * split=validation items are held out; an item without the column (group
 * NULL) trains and counts in *ungrouped; otherwise about `fraction` of
 * the groups are held out, drawn by seed. */
AffectSplit affect_split_of (const char *split, const char *group_column,
    const char *group, guint64 seed, double fraction, guint * ungrouped);

/* "" or ", 12 items of split=test ignored: …", what a "no training items"
 * error adds so that the split filter is named (g_free) */
char *affect_split_note (guint test_items);

G_END_DECLS
#endif /* AFFECT_SPLITS_H */

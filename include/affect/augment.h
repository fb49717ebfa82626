/* The augmentation policy of the music paper: which training items a
 * generator turns into generated items.
 *
 * The generated material amounts to a fraction (the paper: 5 %) of the
 * duration of the training split, spread equally over the classes: each of
 * the k classes present gets fraction × total / k seconds, filled with that
 * class's items in a seeded random order. No GStreamer here; the runner's
 * `augment` step and the unit test call it. */
#ifndef AFFECT_AUGMENT_H
#define AFFECT_AUGMENT_H

#include <glib.h>
#include <stdint.h>

#include "affect/manifest.h"

G_BEGIN_DECLS

typedef struct
{
  guint n_classes;              /* classes with at least one item */
  double total_seconds;         /* duration of every candidate item */
  double budget_seconds;        /* per class: fraction × total / n_classes */
  double *class_seconds;        /* [n_classes of the input] selected per class */
  guint *class_items;           /* [n_classes of the input] selected per class */
  guint *indices;               /* selected items, ascending */
  guint n_selected;
} AffectAugmentPlan;

/* Plans over n_items items with durations (seconds, > 0) and classes
 * (0 … n_classes − 1; a negative class leaves the item out). Per class the
 * items are visited in a permutation drawn from seed; an item is taken while
 * the class is under its budget, and the last one only when taking it leaves
 * the class closer to the budget than stopping short (so a class never
 * overshoots by more than half an item). A class with too few items gives
 * all of them. fraction must be in (0, 1]. */
AffectAugmentPlan *affect_augment_plan (const double *durations,
    const int *classes, guint n_items, guint n_classes, double fraction,
    uint64_t seed, GError ** error);
void affect_augment_plan_free (AffectAugmentPlan * plan);

/* The class of each item of a manifest for the policy: the class of a
 * single-label manifest; for a multi-label (tags) manifest the quadrant of
 * the first tag, in vocabulary order, that has one (-1 when none does); 0
 * for every item of a manifest without labels. Returns n_items ints and the
 * number of classes. */
int *affect_augment_item_classes (const AffectManifest * manifest,
    guint * n_classes);

/* Writes the manifest's header line and the lines of the given items, in
 * the original's format and column order, atomically to out_path. Paths stay
 * as written: read the result with the original's root (affectsrc root=). */
gboolean affect_augment_write_subset (const AffectManifest * manifest,
    const guint * indices, guint n, const char *out_path, GError ** error);

G_END_DECLS
#endif /* AFFECT_AUGMENT_H */

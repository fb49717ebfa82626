/* Cross-validation folds: stratified, optionally grouped (no GStreamer). */
#ifndef AFFECT_FOLDS_H
#define AFFECT_FOLDS_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Assigns each of n items to one of k folds (fold[i] in [0, k)).
 *
 * classes[i] (>= 0, or NULL: one class) stratifies: every fold gets about
 * 1/k of each class. groups[i] (>= 0, or NULL: each item its own group)
 * keeps a group whole in one fold. The algorithm is scikit-learn's
 * StratifiedGroupKFold (shuffle=True): groups in a seeded random order,
 * then stably sorted by the spread of their class counts, largest first;
 * each goes to the fold where the classes' shares over the folds spread
 * least (standard deviation, averaged over the classes), ties to the fold
 * with fewest items, then the lowest index. Without groups this is a
 * stratified k-fold; without classes it balances the folds' sizes.
 * Deterministic from seed. FALSE (error set) when k < 2 or there are fewer
 * groups than folds. */
gboolean affect_folds_assign (guint n, const int *classes, const int *groups,
    guint k, uint64_t seed, int *fold, GError ** error);

G_END_DECLS
#endif /* AFFECT_FOLDS_H */

/* Stratified (group) k-fold assignment: affect/folds.h */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/folds.h"
#include "affect/nn.h"

typedef struct
{
  guint group;                  /* index into the dense group table */
  guint order;                  /* its place after the seeded shuffle */
  double spread;                /* sd of its class counts */
} GroupKey;

static int
compare_groups (const void *a, const void *b)
{
  const GroupKey *x = a, *y = b;

  /* largest spread first; the shuffled order breaks ties (a stable sort) */
  if (x->spread != y->spread)
    return x->spread > y->spread ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* population sd of v[0..n) */
static double
sd (const double *v, guint n)
{
  double mean = 0, ss = 0;
  guint i;

  for (i = 0; i < n; i++)
    mean += v[i];
  mean /= n;
  for (i = 0; i < n; i++)
    ss += (v[i] - mean) * (v[i] - mean);
  return sqrt (ss / n);
}

/* dense indices 0..*n_out-1 for the values of v (NULL: all 0, or each
 * item its own when identity) */
static guint *
densify (const int *v, guint n, gboolean identity, guint * n_out)
{
  guint *out = g_new (guint, n), i;
  GHashTable *seen = g_hash_table_new (g_direct_hash, g_direct_equal);

  *n_out = 0;
  for (i = 0; i < n; i++) {
    gpointer found;
    int key = v ? v[i] : identity ? (int) i : 0;
    if (g_hash_table_lookup_extended (seen, GINT_TO_POINTER (key), NULL,
            &found)) {
      out[i] = GPOINTER_TO_UINT (found);
    } else {
      g_hash_table_insert (seen, GINT_TO_POINTER (key),
          GUINT_TO_POINTER (*n_out));
      out[i] = (*n_out)++;
    }
  }
  g_hash_table_destroy (seen);
  return out;
}

gboolean
affect_folds_assign (guint n, const int *classes, const int *groups,
    guint k, uint64_t seed, int *fold, GError ** error)
{
  guint n_classes, n_groups, i, c, f, g;
  guint *cls, *grp, *perm, *fold_size, *group_fold;
  double *group_counts, *fold_counts, *class_total, *buf;
  GroupKey *keys;
  AffectRng rng;

  if (k < 2) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "folds: need at least 2 folds, not %u", k);
    return FALSE;
  }
  cls = densify (classes, n, FALSE, &n_classes);
  grp = densify (groups, n, TRUE, &n_groups);
  if (n_groups < k) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "folds: %u %s for %u folds; every fold needs one at least",
        n_groups, groups ? "groups" : "items", k);
    g_free (cls);
    g_free (grp);
    return FALSE;
  }
  group_counts = g_new0 (double, (gsize) n_groups * n_classes);
  class_total = g_new0 (double, n_classes);
  for (i = 0; i < n; i++) {
    group_counts[(gsize) grp[i] * n_classes + cls[i]] += 1;
    class_total[cls[i]] += 1;
  }
  /* a seeded Fisher-Yates shuffle of the groups, then the stable sort */
  perm = g_new (guint, n_groups);
  for (g = 0; g < n_groups; g++)
    perm[g] = g;
  affect_rng_init (&rng, seed);
  for (g = n_groups; g > 1; g--) {
    guint j = (guint) (affect_rng_next (&rng) % g), t = perm[g - 1];
    perm[g - 1] = perm[j];
    perm[j] = t;
  }
  keys = g_new (GroupKey, n_groups);
  for (g = 0; g < n_groups; g++) {
    keys[g].group = perm[g];
    keys[g].order = g;
    keys[g].spread = n_classes > 1 ?
        sd (&group_counts[(gsize) perm[g] * n_classes], n_classes) : 0;
  }
  qsort (keys, n_groups, sizeof (GroupKey), compare_groups);

  fold_counts = g_new0 (double, (gsize) k * n_classes);
  fold_size = g_new0 (guint, k);
  group_fold = g_new (guint, n_groups);
  buf = g_new (double, k);
  for (g = 0; g < n_groups; g++) {
    const double *gc = &group_counts[(gsize) keys[g].group * n_classes];
    guint best = 0, best_size = 0;
    double best_eval = INFINITY;
    guint size = 0;

    for (c = 0; c < n_classes; c++)
      size += (guint) gc[c];
    for (f = 0; f < k; f++) {
      double eval = 0;
      /* the classes' shares per fold with the group in fold f */
      for (c = 0; c < n_classes; c++) {
        guint h;
        for (h = 0; h < k; h++)
          buf[h] = (fold_counts[(gsize) h * n_classes + c]
              + (h == f ? gc[c] : 0)) / class_total[c];
        eval += sd (buf, k);
      }
      eval /= n_classes;
      /* equal within rounding: the smaller fold */
      if (eval < best_eval - 1e-12 || (fabs (eval - best_eval) <= 1e-12
              && fold_size[f] < best_size)) {
        best_eval = eval;
        best = f;
        best_size = fold_size[f];
      }
    }
    group_fold[keys[g].group] = best;
    fold_size[best] += size;
    for (c = 0; c < n_classes; c++)
      fold_counts[(gsize) best * n_classes + c] += gc[c];
  }
  for (i = 0; i < n; i++)
    fold[i] = (int) group_fold[grp[i]];

  g_free (cls);
  g_free (grp);
  g_free (perm);
  g_free (keys);
  g_free (group_counts);
  g_free (class_total);
  g_free (fold_counts);
  g_free (fold_size);
  g_free (group_fold);
  g_free (buf);
  return TRUE;
}

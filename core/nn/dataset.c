/* Training rows cached by the training elements, split into training and
 * validation, and the validation hold-out when a corpus has no
 * validation items. Rows live in memory (9 000 IS09 vectors are 14 MB). */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/mlp.h"

typedef struct
{
  GArray *x, *y;
} Split;

struct _AffectDataset
{
  int n_features, n_targets;
  Split split[2];               /* training, validation */
};

AffectDataset *
affect_dataset_new (int n_features, int n_targets)
{
  AffectDataset *ds = g_new0 (AffectDataset, 1);
  int i;

  ds->n_features = n_features;
  ds->n_targets = n_targets;
  for (i = 0; i < 2; i++) {
    ds->split[i].x = g_array_new (FALSE, FALSE, sizeof (float));
    ds->split[i].y = g_array_new (FALSE, FALSE, sizeof (float));
  }
  return ds;
}

void
affect_dataset_free (AffectDataset * ds)
{
  int i;

  if (ds == NULL)
    return;
  for (i = 0; i < 2; i++) {
    g_array_free (ds->split[i].x, TRUE);
    g_array_free (ds->split[i].y, TRUE);
  }
  g_free (ds);
}

gboolean
affect_dataset_add (AffectDataset * ds, const float *features,
    const float *targets, gboolean validation)
{
  Split *s = &ds->split[validation ? 1 : 0];
  int i;

  for (i = 0; i < ds->n_features; i++)
    if (!isfinite (features[i]))
      return FALSE;
  for (i = 0; i < ds->n_targets; i++)
    if (!isfinite (targets[i]))
      return FALSE;
  g_array_append_vals (s->x, features, ds->n_features);
  g_array_append_vals (s->y, targets, ds->n_targets);
  return TRUE;
}

int
affect_dataset_size (const AffectDataset * ds, gboolean validation)
{
  return ds->split[validation ? 1 : 0].x->len / ds->n_features;
}

const float *
affect_dataset_features (const AffectDataset * ds, gboolean validation)
{
  return (const float *) ds->split[validation ? 1 : 0].x->data;
}

/* rows idx of split s into x (n × d), and target column(s) into y */
static void
gather (const AffectDataset * ds, const Split * s, const int *idx, int n,
    int target, float *x, float *y)
{
  const float *sx = (const float *) s->x->data;
  const float *sy = (const float *) s->y->data;
  const int d = ds->n_features, k = ds->n_targets;
  int i;

  for (i = 0; i < n; i++) {
    memcpy (x + (size_t) i * d, sx + (size_t) idx[i] * d, d * sizeof (float));
    if (target < 0)
      memcpy (y + (size_t) i * k, sy + (size_t) idx[i] * k, k * sizeof (float));
    else
      y[i] = sy[(size_t) idx[i] * k + target];
  }
}

gboolean
affect_mlp_train_dataset (AffectMlp * mlp,
    const AffectMlpTrainConfig * config, AffectDataset * ds, int target,
    double validation_fraction, AffectMlpEpochFunc func, gpointer user_data,
    AffectMlpTrainResult * result, GError ** error)
{
  const int d = ds->n_features, k = target < 0 ? ds->n_targets : 1;
  int n_train = affect_dataset_size (ds, FALSE);
  int n_val = affect_dataset_size (ds, TRUE);
  int *idx_t, *idx_v = NULL, nt, nv, i;
  float *xt, *yt, *xv = NULL, *yv = NULL;
  gboolean ok;

  if (n_train == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "no training items (with finite features and targets)");
    return FALSE;
  }
  idx_t = g_new (int, n_train);
  if (n_val > 0 || validation_fraction <= 0.0 || n_train < 2) {
    /* the corpus's own validation items, if any */
    for (i = 0; i < n_train; i++)
      idx_t[i] = i;
    nt = n_train;
    nv = n_val;
    if (nv > 0) {
      idx_v = g_new (int, nv);
      for (i = 0; i < nv; i++)
        idx_v[i] = i;
    }
  } else {
    /* hold out a seeded random fraction of the training items */
    AffectRng rng;
    affect_rng_init (&rng, config->seed ^ 0x7a11da7eULL);
    affect_rng_permutation (&rng, idx_t, n_train);
    nv = CLAMP ((int) lround (validation_fraction * n_train), 1, n_train - 1);
    nt = n_train - nv;
    idx_v = g_new (int, nv);
    memcpy (idx_v, idx_t + nt, nv * sizeof (int));
  }

  xt = g_new (float, (size_t) nt * d);
  yt = g_new (float, (size_t) nt * k);
  gather (ds, &ds->split[0], idx_t, nt, target, xt, yt);
  if (nv > 0) {
    const Split *vs = n_val > 0 ? &ds->split[1] : &ds->split[0];
    xv = g_new (float, (size_t) nv * d);
    yv = g_new (float, (size_t) nv * k);
    gather (ds, vs, idx_v, nv, target, xv, yv);
  }
  ok = affect_mlp_train (mlp, config, xt, yt, nt, xv, yv, nv, func,
      user_data, result, error);
  g_free (idx_t);
  g_free (idx_v);
  g_free (xt);
  g_free (yt);
  g_free (xv);
  g_free (yv);
  return ok;
}

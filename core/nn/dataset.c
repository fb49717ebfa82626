/* Training rows cached by the training elements, split into training and
 * validation, and the validation hold-out when a corpus has no
 * validation items. Feature vectors live in memory up to a byte budget
 * (9 000 IS09 vectors are 14 MB), the rest in a temporary spill file read
 * back with pread a batch at a time. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/mlp.h"
#include "mlp-private.h"

typedef struct
{
  GArray *x;                    /* features of the rows kept in memory */
  GArray *y;                    /* targets of every row */
  /* per row: ≥ 0, its byte offset in the spill file; < 0, its row
   * -(where + 1) in x */
  GArray *where;
} Split;

struct _AffectDataset
{
  int n_features, n_targets;
  Split split[2];               /* training, validation */
  size_t budget, mem_bytes;
  int fd;                       /* spill file, or -1 */
  char *spill_path;
  gint64 spill_size;
  int spilled;
};

AffectDataset *
affect_dataset_new (int n_features, int n_targets)
{
  AffectDataset *ds = g_new0 (AffectDataset, 1);
  int i;

  ds->n_features = n_features;
  ds->n_targets = n_targets;
  ds->budget = G_MAXSIZE;
  ds->fd = -1;
  for (i = 0; i < 2; i++) {
    ds->split[i].x = g_array_new (FALSE, FALSE, sizeof (float));
    ds->split[i].y = g_array_new (FALSE, FALSE, sizeof (float));
    ds->split[i].where = g_array_new (FALSE, FALSE, sizeof (gint64));
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
    g_array_free (ds->split[i].where, TRUE);
  }
  if (ds->fd >= 0) {
    close (ds->fd);
    g_unlink (ds->spill_path);
  }
  g_free (ds->spill_path);
  g_free (ds);
}

void
affect_dataset_set_cache_budget (AffectDataset * ds, size_t bytes)
{
  ds->budget = bytes;
}

static gboolean
spill (AffectDataset * ds, const float *features, gint64 * offset,
    GError ** error)
{
  const size_t bytes = (size_t) ds->n_features * sizeof (float);
  const guint8 *p = (const guint8 *) features;
  size_t done = 0;

  if (ds->fd < 0) {
    ds->fd = g_file_open_tmp ("affect-dataset-XXXXXX", &ds->spill_path, error);
    if (ds->fd < 0)
      return FALSE;
  }
  while (done < bytes) {
    ssize_t n = pwrite (ds->fd, p + done, bytes - done,
        ds->spill_size + (gint64) done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = errno;
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
          "%s: cannot write the feature cache: %s", ds->spill_path,
          n < 0 ? g_strerror (err) : "no space");
      return FALSE;
    }
    done += n;
  }
  *offset = ds->spill_size;
  ds->spill_size += bytes;
  ds->spilled++;
  return TRUE;
}

gboolean
affect_dataset_add (AffectDataset * ds, const float *features,
    const float *targets, gboolean validation, GError ** error)
{
  Split *s = &ds->split[validation ? 1 : 0];
  const size_t bytes = (size_t) ds->n_features * sizeof (float);
  gint64 where;
  int i;

  for (i = 0; i < ds->n_features; i++)
    if (!isfinite (features[i])) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "feature %d is %g", i, features[i]);
      return FALSE;
    }
  for (i = 0; i < ds->n_targets; i++)
    if (!isfinite (targets[i])) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "target %d is %g", i, targets[i]);
      return FALSE;
    }
  if (ds->mem_bytes + bytes <= ds->budget && ds->mem_bytes + bytes >= bytes) {
    where = -(gint64) (s->x->len / ds->n_features) - 1;
    g_array_append_vals (s->x, features, ds->n_features);
    ds->mem_bytes += bytes;
  } else if (!spill (ds, features, &where, error)) {
    return FALSE;
  }
  g_array_append_val (s->where, where);
  g_array_append_vals (s->y, targets, ds->n_targets);
  return TRUE;
}

int
affect_dataset_size (const AffectDataset * ds, gboolean validation)
{
  return ds->split[validation ? 1 : 0].where->len;
}

int
affect_dataset_spilled (const AffectDataset * ds)
{
  return ds->spilled;
}

const float *
affect_dataset_features (const AffectDataset * ds, gboolean validation)
{
  const Split *s = &ds->split[validation ? 1 : 0];

  if (s->x->len / ds->n_features != s->where->len)
    return NULL;
  return (const float *) s->x->data;
}

/* one split seen through an index (the hold-out's permutation) and a
 * target column, as the trainer's row source */
typedef struct
{
  const AffectDataset *ds;
  const Split *split;
} SplitRows;

static gboolean
split_read (const MlpRows * rows, const int *idx, int m, float *x, float *y,
    GError ** error)
{
  const SplitRows *sr = rows->data;
  const AffectDataset *ds = sr->ds;
  const Split *s = sr->split;
  const int d = ds->n_features, k = ds->n_targets;
  const size_t bytes = (size_t) d * sizeof (float);
  const float *sx = (const float *) s->x->data;
  const float *sy = (const float *) s->y->data;
  int i;

  for (i = 0; i < m; i++) {
    const int row = rows->index ? rows->index[idx[i]] : idx[i];
    if (x != NULL) {
      const gint64 where = g_array_index (s->where, gint64, row);
      float *dst = x + (size_t) i * d;
      if (where < 0) {
        memcpy (dst, sx + (size_t) (-where - 1) * d, bytes);
      } else {
        size_t done = 0;
        while (done < bytes) {
          ssize_t n = pread (ds->fd, (guint8 *) dst + done, bytes - done,
              where + (gint64) done);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0) {
            int err = errno;
            g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
                "%s: cannot read the feature cache back: %s",
                ds->spill_path, n < 0 ? g_strerror (err) : "truncated");
            return FALSE;
          }
          done += n;
        }
      }
    }
    if (y != NULL) {
      if (rows->target < 0)
        memcpy (y + (size_t) i * k, sy + (size_t) row * k, k * sizeof (float));
      else
        y[i] = sy[(size_t) row * k + rows->target];
    }
  }
  return TRUE;
}

gboolean
affect_mlp_train_dataset (AffectMlp * mlp,
    const AffectMlpTrainConfig * config, AffectDataset * ds, int target,
    double validation_fraction, AffectMlpEpochFunc func, gpointer user_data,
    AffectMlpTrainResult * result, GError ** error)
{
  int n_train = affect_dataset_size (ds, FALSE);
  int n_val = affect_dataset_size (ds, TRUE);
  int *idx_t, *idx_v = NULL, nt, nv, i;
  SplitRows st = { ds, &ds->split[0] }, sv = { ds, NULL };
  MlpRows train, val;
  gboolean ok;

  if (n_train == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "no training items (with finite features and targets)");
    return FALSE;
  }
  if (target >= ds->n_targets) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "target column %d of %d", target, ds->n_targets);
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
  sv.split = n_val > 0 ? &ds->split[1] : &ds->split[0];

  train.n = nt;
  train.read = split_read;
  train.data = &st;
  train.index = idx_t;
  train.target = target;
  val = train;
  val.n = nv;
  val.data = &sv;
  val.index = idx_v;
  ok = mlp_train_rows (mlp, config, &train, nv > 0 ? &val : NULL, func,
      user_data, result, error);
  g_free (idx_t);
  g_free (idx_v);
  return ok;
}

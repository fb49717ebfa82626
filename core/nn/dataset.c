/* The training items of every trainer (include/affect/dataset.h): whole
 * items of any length, in memory up to a byte budget (9 000 IS09 vectors
 * are 14 MB; 300 Mel spectrograms of 30 s at 96 bands, 160 MB), the rest in
 * one temporary spill file read back with pread a range of frames at a
 * time. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/dataset.h"

typedef struct
{
  float *x;                     /* in memory, or NULL when spilled */
  gint64 offset;                /* byte offset in the spill file */
  int frames;
} Item;

typedef struct
{
  GArray *items;                /* Item */
  GArray *y;                    /* n_targets floats per item */
} Split;

struct _AffectDataset
{
  int width, n_targets;
  Split split[2];               /* training, validation */
  size_t budget, mem_bytes;
  int fd;                       /* spill file, or -1 */
  char *spill_path;
  gint64 spill_size;
  int spilled;
};

AffectDataset *
affect_dataset_new (int width, int n_targets)
{
  AffectDataset *ds = g_new0 (AffectDataset, 1);

  ds->width = MAX (width, 1);
  ds->n_targets = MAX (n_targets, 0);
  ds->budget = G_MAXSIZE;
  ds->fd = -1;
  for (int i = 0; i < 2; i++) {
    ds->split[i].items = g_array_new (FALSE, FALSE, sizeof (Item));
    ds->split[i].y = g_array_new (FALSE, FALSE, sizeof (float));
  }
  return ds;
}

void
affect_dataset_free (AffectDataset * ds)
{
  if (ds == NULL)
    return;
  for (int i = 0; i < 2; i++) {
    for (guint j = 0; j < ds->split[i].items->len; j++)
      g_free (g_array_index (ds->split[i].items, Item, j).x);
    g_array_free (ds->split[i].items, TRUE);
    g_array_free (ds->split[i].y, TRUE);
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
spill (AffectDataset * ds, const float *x, size_t bytes, gint64 * offset,
    GError ** error)
{
  const guint8 *p = (const guint8 *) x;
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
          "%s: cannot write the item cache: %s", ds->spill_path,
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
affect_dataset_add_item (AffectDataset * ds, const float *x, int frames,
    const float *targets, gboolean validation, GError ** error)
{
  Split *s = &ds->split[validation ? 1 : 0];
  const size_t n = (size_t) MAX (frames, 0) * ds->width;
  const size_t bytes = n * sizeof (float);
  Item item = { NULL, -1, frames };

  if (frames < 1) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "an item of %d frames", frames);
    return FALSE;
  }
  for (size_t i = 0; i < n; i++)
    if (!isfinite (x[i])) {
      if (ds->width == 1 || frames == 1)
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
            "feature %d is %g", (int) i, x[i]);
      else
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
            "value %d of frame %d is %g", (int) (i % ds->width),
            (int) (i / ds->width), x[i]);
      return FALSE;
    }
  for (int i = 0; i < ds->n_targets; i++)
    if (!isfinite (targets[i])) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "target %d is %g", i, targets[i]);
      return FALSE;
    }
  if (bytes <= ds->budget && ds->mem_bytes <= ds->budget - bytes) {
    item.x = g_memdup2 (x, bytes);
    ds->mem_bytes += bytes;
  } else if (!spill (ds, x, bytes, &item.offset, error)) {
    return FALSE;
  }
  g_array_append_val (s->items, item);
  if (ds->n_targets > 0)
    g_array_append_vals (s->y, targets, ds->n_targets);
  return TRUE;
}

gboolean
affect_dataset_add (AffectDataset * ds, const float *features,
    const float *targets, gboolean validation, GError ** error)
{
  return affect_dataset_add_item (ds, features, 1, targets, validation, error);
}

int
affect_dataset_width (const AffectDataset * ds)
{
  return ds->width;
}

int
affect_dataset_n_targets (const AffectDataset * ds)
{
  return ds->n_targets;
}

/* a trainer that saw no item has no dataset yet: it holds nothing */
int
affect_dataset_size (const AffectDataset * ds, gboolean validation)
{
  if (ds == NULL)
    return 0;
  return ds->split[validation ? 1 : 0].items->len;
}

int
affect_dataset_item_frames (const AffectDataset * ds, gboolean validation,
    int i)
{
  return g_array_index (ds->split[validation ? 1 : 0].items, Item, i).frames;
}

const float *
affect_dataset_item_targets (const AffectDataset * ds, gboolean validation,
    int i)
{
  return &g_array_index (ds->split[validation ? 1 : 0].y, float,
      (size_t) i * ds->n_targets);
}

gboolean
affect_dataset_read (const AffectDataset * ds, gboolean validation, int i,
    int frame0, int n, float *dst, GError ** error)
{
  const Item *item = &g_array_index (ds->split[validation ? 1 : 0].items,
      Item, i);
  const size_t bytes = (size_t) n * ds->width * sizeof (float);
  const size_t skip = (size_t) frame0 * ds->width * sizeof (float);
  size_t done = 0;

  g_return_val_if_fail (frame0 >= 0 && n >= 0
      && frame0 + n <= item->frames, FALSE);
  if (item->x != NULL) {
    memcpy (dst, (const guint8 *) item->x + skip, bytes);
    return TRUE;
  }
  while (done < bytes) {
    ssize_t r = pread (ds->fd, (guint8 *) dst + done, bytes - done,
        item->offset + (gint64) (skip + done));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      int err = errno;
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
          "%s: cannot read the item cache back: %s", ds->spill_path,
          r < 0 ? g_strerror (err) : "truncated");
      return FALSE;
    }
    done += r;
  }
  return TRUE;
}

size_t
affect_dataset_memory (const AffectDataset * ds)
{
  return ds->mem_bytes;
}

int
affect_dataset_spilled (const AffectDataset * ds)
{
  return ds->spilled;
}

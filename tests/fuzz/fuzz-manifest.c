/* libFuzzer target: any text given to the manifest parser either parses
 * (and then every item can be read, relabelled, selected and written back)
 * or fails with an AFFECT_ERROR.  The first byte picks the file name (which
 * decides the split) and the format; the rest is the manifest. */
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "affect/affect.h"
#include "affect/manifest.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* a GLib warning (e.g. a GError set twice) is a finding too */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static const char *const names[] = { "train.tsv", "moodtheme-test.tsv",
    "valid.csv", "manifest.csv"
  };
  static const char *const labels[] = { "label", NULL };
  AffectManifestOptions options;
  AffectManifest *m;
  GError *error = NULL;
  guint8 mode;

  if (size < 1)
    return 0;
  mode = data[0];
  affect_manifest_options_init (&options);
  options.format = mode % 4;
  if (mode & 0x10)
    options.label_column = labels[0];
  if (mode & 0x20)
    options.split = "test";
  m = affect_manifest_parse (names[(mode >> 2) % 4], (const char *) data + 1,
      size - 1, &options, &error);
  if (m == NULL) {
    g_assert (error != NULL && error->domain == AFFECT_ERROR);
    g_error_free (error);
    return 0;
  }
  g_assert (m->n_items > 0);
  {
    AffectManifestSelection sel;
    AffectManifest *sub, *quadrants;
    guint i, j, n = 0, *idx;
    char *path, *text;

    for (i = 0; i < m->n_items; i++) {
      AffectManifestItem *it = &m->items[i];
      g_assert (it->id != NULL && it->path != NULL);
      path = affect_manifest_resolve_path (m, it, "/nonexistent");
      g_free (path);
      for (j = 0; j < m->n_extra; j++)
        (void) affect_manifest_item_get_extra (m, it, m->extra_names[j]);
      if (it->labels)
        for (j = 0; j < m->n_vocabulary; j++)
          g_assert (it->labels[j] >= 0);
      if (m->task == AFFECT_MANIFEST_TASK_CLASS)
        g_assert (it->class_index >= -1
            && it->class_index < (int) m->n_vocabulary);
    }
    affect_manifest_selection_init (&sel);
    sel.shuffle = mode & 0x40;
    sel.seed = size;
    sel.shard_count = 1 + (mode >> 7);
    sel.split = (mode & 0x20) ? "train" : NULL;
    idx = affect_manifest_select (m, &sel, &n, &error);
    if (idx == NULL) {
      g_assert (error != NULL && error->domain == AFFECT_ERROR);
      g_clear_error (&error);
    } else {
      for (i = 0; i < n; i++)
        g_assert (idx[i] < m->n_items);
      sub = affect_manifest_subset (m, idx, n);
      g_assert (sub->n_items == n);
      affect_manifest_free (sub);
      g_free (idx);
    }
    if (m->format == AFFECT_MANIFEST_MTG_TSV) {
      quadrants = affect_manifest_relabel_quadrants (m, &error);
      if (quadrants == NULL) {
        g_assert (error != NULL && error->domain == AFFECT_ERROR);
        g_clear_error (&error);
      } else {
        text = affect_manifest_quadrant_csv_to_string (quadrants);
        g_assert (text != NULL);
        g_free (text);
        affect_manifest_free (quadrants);
      }
    }
  }
  affect_manifest_free (m);
  return 0;
}

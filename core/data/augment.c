/* The music paper's augmentation policy (include/affect/augment.h). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "affect/augment.h"
#include "affect/nn.h"

void
affect_augment_plan_free (AffectAugmentPlan * plan)
{
  if (plan == NULL)
    return;
  g_free (plan->class_seconds);
  g_free (plan->class_items);
  g_free (plan->indices);
  g_free (plan);
}

AffectAugmentPlan *
affect_augment_plan (const double *durations, const int *classes,
    guint n_items, guint n_classes, double fraction, uint64_t seed,
    GError ** error)
{
  AffectAugmentPlan *plan;
  gboolean *chosen;
  guint i, c, n_present = 0;
  AffectRng rng;
  int *perm;

  if (!(fraction > 0 && fraction <= 1)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "augmentation fraction %g is not in (0, 1]", fraction);
    return NULL;
  }
  if (n_classes == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "augmentation policy: no classes");
    return NULL;
  }
  plan = g_new0 (AffectAugmentPlan, 1);
  plan->class_seconds = g_new0 (double, n_classes);
  plan->class_items = g_new0 (guint, n_classes);
  for (i = 0; i < n_items; i++) {
    if (classes[i] < 0)
      continue;
    if ((guint) classes[i] >= n_classes || !(durations[i] > 0)
        || !isfinite (durations[i])) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
          "augmentation policy: item %u has class %d (of %u) and duration "
          "%g s", i, classes[i], n_classes, durations[i]);
      affect_augment_plan_free (plan);
      return NULL;
    }
    plan->total_seconds += durations[i];
    /* class_items counts the candidates for now */
    plan->class_items[classes[i]]++;
  }
  for (c = 0; c < n_classes; c++)
    if (plan->class_items[c] > 0)
      n_present++;
  if (n_present == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "augmentation policy: no item has a class");
    affect_augment_plan_free (plan);
    return NULL;
  }
  plan->n_classes = n_present;
  plan->budget_seconds = fraction * plan->total_seconds / n_present;
  memset (plan->class_items, 0, n_classes * sizeof (guint));

  /* one permutation of all items; each class takes its items in that order,
   * so a class's choice does not depend on the other classes' items */
  perm = g_new (int, MAX (n_items, 1));
  affect_rng_init (&rng, seed);
  affect_rng_permutation (&rng, perm, (int) n_items);
  chosen = g_new0 (gboolean, MAX (n_items, 1));
  for (i = 0; i < n_items; i++) {
    guint item = (guint) perm[i];
    int k = classes[item];
    double have, next;

    if (k < 0)
      continue;
    have = plan->class_seconds[k];
    if (have >= plan->budget_seconds)
      continue;
    next = have + durations[item];
    /* the item that crosses the budget: taken when it lands closer */
    if (next > plan->budget_seconds
        && next - plan->budget_seconds > plan->budget_seconds - have)
      continue;
    chosen[item] = TRUE;
    plan->class_seconds[k] = next;
    plan->class_items[k]++;
    plan->n_selected++;
  }
  plan->indices = g_new (guint, MAX (plan->n_selected, 1));
  for (i = 0, c = 0; i < n_items; i++)
    if (chosen[i])
      plan->indices[c++] = i;
  g_free (chosen);
  g_free (perm);
  return plan;
}

int *
affect_augment_item_classes (const AffectManifest * manifest, guint * n_classes)
{
  int *classes = g_new (int, MAX (manifest->n_items, 1));
  guint i, j;

  switch (manifest->task) {
    case AFFECT_MANIFEST_TASK_CLASS:
      *n_classes = manifest->n_vocabulary;
      for (i = 0; i < manifest->n_items; i++)
        classes[i] = manifest->items[i].class_index;
      break;
    case AFFECT_MANIFEST_TASK_TAGS:
      *n_classes = AFFECT_N_QUADRANTS;
      for (i = 0; i < manifest->n_items; i++) {
        const AffectManifestItem *item = &manifest->items[i];
        classes[i] = -1;
        for (j = 0; j < manifest->n_vocabulary && classes[i] < 0; j++)
          if (item->labels != NULL && item->labels[j] > 0)
            classes[i] = affect_quadrant_of_tag (manifest->vocabulary[j]);
      }
      break;
    default:
      *n_classes = 1;
      for (i = 0; i < manifest->n_items; i++)
        classes[i] = 0;
      break;
  }
  return classes;
}

gboolean
affect_augment_write_subset (const AffectManifest * manifest,
    const guint * indices, guint n, const char *out_path, GError ** error)
{
  gchar *text = NULL, **lines;
  guint n_lines, i;
  GString *out;
  gboolean ok;

  if (!g_file_get_contents (manifest->filename, &text, NULL, error))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  g_free (text);
  n_lines = g_strv_length (lines);
  out = g_string_new (NULL);
  /* the header: every line before the first item's */
  for (i = 0; i + 1 < (manifest->n_items ? manifest->items[0].line : 2)
      && i < n_lines; i++) {
    g_string_append (out, g_strchomp (lines[i]));
    g_string_append_c (out, '\n');
  }
  for (i = 0; i < n; i++) {
    const AffectManifestItem *item;
    if (indices[i] >= manifest->n_items || manifest->items[indices[i]].line < 1
        || manifest->items[indices[i]].line > n_lines) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
          "%s: item %u is not in the manifest", manifest->filename, indices[i]);
      g_strfreev (lines);
      g_string_free (out, TRUE);
      return FALSE;
    }
    item = &manifest->items[indices[i]];
    g_string_append (out, g_strchomp (lines[item->line - 1]));
    g_string_append_c (out, '\n');
  }
  g_strfreev (lines);
  ok = affect_file_set_contents_atomic (out_path, out->str, out->len, error);
  g_string_free (out, TRUE);
  return ok;
}

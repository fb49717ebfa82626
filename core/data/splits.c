/* Which side of a training run an item is on (affect/splits.h) */
#include <string.h>

#include "affect/manifest.h"
#include "affect/splits.h"

AffectSplit
affect_split_of (const char *split, const char *group_column,
    const char *group, guint64 seed, double fraction, guint * ungrouped)
{
  if (g_strcmp0 (split, "test") == 0)
    return AFFECT_SPLIT_TEST;
  if (g_strcmp0 (split, "validation") == 0)
    return AFFECT_SPLIT_VALIDATION;
  if (group_column == NULL)
    return AFFECT_SPLIT_TRAIN;
  if (group == NULL) {
    (*ungrouped)++;
    return AFFECT_SPLIT_TRAIN;
  }
  return affect_group_is_validation (seed, group, fraction) ?
      AFFECT_SPLIT_VALIDATION : AFFECT_SPLIT_TRAIN;
}

char *
affect_split_note (guint test_items)
{
  if (test_items == 0)
    return g_strdup ("");
  return g_strdup_printf (", %u item%s of split=test ignored: training learns "
      "from split=train and items without a split, split=validation ones "
      "are held out", test_items, test_items == 1 ? "" : "s");
}

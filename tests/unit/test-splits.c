/* Which side of a training run an item is on (affect/splits.h): the
 * manifest's split, grouped hold-outs drawn by the seed, items without
 * the group column, and the note a "no training items" error adds. */
#include <string.h>

#include "affect/manifest.h"
#include "affect/splits.h"

static void
test_split_of (void)
{
  guint ungrouped = 0, held = 0;

  g_assert_cmpint (affect_split_of ("test", "speaker", "s1", 0, 0.5,
          &ungrouped), ==, AFFECT_SPLIT_TEST);
  g_assert_cmpint (affect_split_of ("validation", NULL, NULL, 0, 0.5,
          &ungrouped), ==, AFFECT_SPLIT_VALIDATION);
  g_assert_cmpint (affect_split_of ("train", NULL, NULL, 0, 0.5,
          &ungrouped), ==, AFFECT_SPLIT_TRAIN);
  g_assert_cmpint (affect_split_of (NULL, NULL, "s1", 0, 0.9, &ungrouped),
      ==, AFFECT_SPLIT_TRAIN);
  g_assert_cmpuint (ungrouped, ==, 0);
  /* the column is missing: learnt from, counted */
  g_assert_cmpint (affect_split_of (NULL, "speaker", NULL, 0, 0.9,
          &ungrouped), ==, AFFECT_SPLIT_TRAIN);
  g_assert_cmpint (affect_split_of ("validation", "speaker", NULL, 0, 0.9,
          &ungrouped), ==, AFFECT_SPLIT_VALIDATION);
  g_assert_cmpuint (ungrouped, ==, 1);
  /* groups: the manifest's draw, about `fraction` of them held out */
  for (guint i = 0; i < 200; i++) {
    gchar *group = g_strdup_printf ("speaker-%u", i);
    const AffectSplit side = affect_split_of ("train", "speaker", group, 7,
        0.25, &ungrouped);

    g_assert_cmpint (side == AFFECT_SPLIT_VALIDATION, ==,
        affect_group_is_validation (7, group, 0.25));
    held += side == AFFECT_SPLIT_VALIDATION;
    g_free (group);
  }
  g_assert_cmpuint (held, >, 25);
  g_assert_cmpuint (held, <, 75);
  g_assert_cmpint (affect_split_of (NULL, "speaker", "s1", 7, 0.0,
          &ungrouped), ==, AFFECT_SPLIT_TRAIN);
  g_assert_cmpuint (ungrouped, ==, 1);
}

static void
test_note (void)
{
  gchar *note = affect_split_note (0);

  g_assert_cmpstr (note, ==, "");
  g_free (note);
  note = affect_split_note (1);
  g_assert_true (g_str_has_prefix (note, ", 1 item of split=test ignored"));
  g_free (note);
  note = affect_split_note (12);
  g_assert_true (g_str_has_prefix (note, ", 12 items of split=test"));
  g_assert_nonnull (strstr (note, "split=validation ones are held out"));
  g_free (note);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/splits/split-of", test_split_of);
  g_test_add_func ("/splits/note", test_note);
  return g_test_run ();
}

/* The augmentation policy: budget per class, closeness to the budget,
 * determinism, classes of tags manifests, and the subset manifest. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/augment.h"

/* 4 classes with 10-s items, 40 each: 5 % of 1600 s = 80 s, 20 s a class */
static void
test_budget_equal_per_class (void)
{
  double durations[160];
  int classes[160];
  AffectAugmentPlan *p;
  GError *error = NULL;
  guint i, c;

  for (i = 0; i < 160; i++) {
    durations[i] = 10;
    classes[i] = i % 4;
  }
  p = affect_augment_plan (durations, classes, 160, 4, 0.05, 7, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p->n_classes, ==, 4);
  g_assert_cmpfloat_with_epsilon (p->total_seconds, 1600, 1e-9);
  g_assert_cmpfloat_with_epsilon (p->budget_seconds, 20, 1e-9);
  g_assert_cmpuint (p->n_selected, ==, 8);
  for (c = 0; c < 4; c++) {
    g_assert_cmpuint (p->class_items[c], ==, 2);
    g_assert_cmpfloat_with_epsilon (p->class_seconds[c], 20, 1e-9);
  }
  for (i = 0; i + 1 < p->n_selected; i++)
    g_assert_cmpuint (p->indices[i], <, p->indices[i + 1]);
  affect_augment_plan_free (p);
}

/* unequal classes and durations: each class within half an item of the
 * budget, a class with little material gives all of it, an unlabelled item
 * is never chosen and does not count */
static void
test_budget_unequal (void)
{
  enum
  { N = 300 };
  double durations[N];
  int classes[N];
  AffectAugmentPlan *p;
  GError *error = NULL;
  double total = 0, max_dur = 0;
  guint i, c, n_small = 0;

  for (i = 0; i < N; i++) {
    durations[i] = 3 + (i * 37 % 17);
    /* class 2 has only three items; items ≡ 5 mod 50 are unlabelled */
    classes[i] = (i % 50 == 5) ? -1 : (i < 3 ? 2 : (int) (i % 3 == 2 ? 0 :
            i % 3));
    if (classes[i] >= 0)
      total += durations[i];
    if (classes[i] == 2)
      n_small++;
    max_dur = MAX (max_dur, durations[i]);
  }
  p = affect_augment_plan (durations, classes, N, 3, 0.2, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p->n_classes, ==, 3);
  g_assert_cmpfloat_with_epsilon (p->total_seconds, total, 1e-9);
  g_assert_cmpfloat_with_epsilon (p->budget_seconds, 0.2 * total / 3, 1e-9);
  /* the small class: all three of its items, far under the budget */
  g_assert_cmpuint (p->class_items[2], ==, n_small);
  for (c = 0; c < 2; c++)
    g_assert_cmpfloat (fabs (p->class_seconds[c] - p->budget_seconds), <=,
        max_dur / 2);
  for (i = 0; i < p->n_selected; i++)
    g_assert_cmpint (classes[p->indices[i]], >=, 0);
  affect_augment_plan_free (p);
}

/* same seed, same plan; another seed, another one */
static void
test_deterministic (void)
{
  double durations[200];
  int classes[200];
  AffectAugmentPlan *a, *b, *c;
  guint i;

  for (i = 0; i < 200; i++) {
    durations[i] = 5 + i % 7;
    classes[i] = i % 4;
  }
  a = affect_augment_plan (durations, classes, 200, 4, 0.1, 3, NULL);
  b = affect_augment_plan (durations, classes, 200, 4, 0.1, 3, NULL);
  c = affect_augment_plan (durations, classes, 200, 4, 0.1, 4, NULL);
  g_assert_cmpuint (a->n_selected, ==, b->n_selected);
  g_assert_cmpmem (a->indices, a->n_selected * sizeof (guint), b->indices,
      b->n_selected * sizeof (guint));
  g_assert_false (a->n_selected == c->n_selected
      && memcmp (a->indices, c->indices, a->n_selected * sizeof (guint)) == 0);
  affect_augment_plan_free (a);
  affect_augment_plan_free (b);
  affect_augment_plan_free (c);
}

static void
test_bad_arguments (void)
{
  double d[2] = { 1, -1 };
  int k[2] = { 0, 0 };
  GError *error = NULL;

  g_assert_null (affect_augment_plan (d, k, 1, 1, 0, 1, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (affect_augment_plan (d, k, 1, 1, 1.5, 1, &error));
  g_clear_error (&error);
  /* a negative duration names the item */
  g_assert_null (affect_augment_plan (d, k, 2, 1, 0.5, 1, &error));
  g_assert_nonnull (strstr (error->message, "item 1"));
  g_clear_error (&error);
  k[0] = k[1] = -1;
  g_assert_null (affect_augment_plan (d, k, 2, 1, 0.5, 1, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY);
  g_clear_error (&error);
}

/* MTG TSV: classes are the quadrants of the tags; the subset file keeps
 * the header and the chosen lines, and reads back as the same items */
static void
test_tsv_classes_and_subset (void)
{
  const char *text =
      "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
      "track_1\tartist_1\talbum_1\t01/1.wav\t10\tmood/theme---happy\n"
      "track_2\tartist_1\talbum_1\t02/2.wav\t10\tmood/theme---calm"
      "\tmood/theme---slow\n"
      "track_3\tartist_1\talbum_1\t03/3.wav\t10\tmood/theme---dark\n"
      "track_4\tartist_1\talbum_1\t04/4.wav\t10\tmood/theme---fast"
      "\tmood/theme---sad\n"
      "track_5\tartist_1\talbum_1\t05/5.wav\t10\tmood/theme---fast\n";
  gchar *dir = g_dir_make_tmp ("augment-XXXXXX", NULL);
  gchar *in = g_build_filename (dir, "autotagging_moodtheme-train.tsv", NULL);
  gchar *out = g_build_filename (dir, "chosen-train.tsv", NULL);
  AffectManifest *m, *back;
  GError *error = NULL;
  guint n_classes, chosen[2] = { 1, 3 };
  int *classes;

  g_assert_true (g_file_set_contents (in, text, -1, NULL));
  m = affect_manifest_load (in, NULL, &error);
  g_assert_no_error (error);
  classes = affect_augment_item_classes (m, &n_classes);
  g_assert_cmpuint (n_classes, ==, 4);
  g_assert_cmpint (classes[0], ==, affect_quadrant_of_tag ("happy"));
  g_assert_cmpint (classes[1], ==, affect_quadrant_of_tag ("calm"));
  g_assert_cmpint (classes[2], ==, affect_quadrant_of_tag ("dark"));
  g_assert_cmpint (classes[3], ==, affect_quadrant_of_tag ("sad"));
  g_assert_cmpint (classes[4], ==, -1);
  g_assert_true (affect_augment_write_subset (m, chosen, 2, out, &error));
  g_assert_no_error (error);
  back = affect_manifest_load (out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->n_items, ==, 2);
  g_assert_cmpstr (back->items[0].id, ==, m->items[1].id);
  g_assert_cmpstr (back->items[1].path, ==, m->items[3].path);
  g_assert_cmpmem (back->items[1].labels, 56 * sizeof (float),
      m->items[3].labels, 56 * sizeof (float));
  affect_manifest_free (back);
  affect_manifest_free (m);
  g_free (classes);
  g_unlink (out);
  g_unlink (in);
  g_rmdir (dir);
  g_free (out);
  g_free (in);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/augment/budget-equal-per-class",
      test_budget_equal_per_class);
  g_test_add_func ("/augment/budget-unequal", test_budget_unequal);
  g_test_add_func ("/augment/deterministic", test_deterministic);
  g_test_add_func ("/augment/bad-arguments", test_bad_arguments);
  g_test_add_func ("/augment/tsv-classes-and-subset",
      test_tsv_classes_and_subset);
  return g_test_run ();
}

/* affect_folds_assign: stratified (group) k-fold */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/folds.h"

/* 10 speakers x 7 classes, unequal sizes, as in an acted-speech corpus */
#define N 350

static void
corpus (int *classes, int *groups)
{
  int i;

  for (i = 0; i < N; i++) {
    groups[i] = (i * 7 + i / 13) % 10;
    /* class sizes from 20 to 80: classes 0..6 in proportions 1..4 */
    classes[i] = (i * i + 3 * i) % 13 < 4 ? 0 : (i % 6) + 1;
  }
}

static void
test_grouped (void)
{
  int classes[N], groups[N], fold[N], fold2[N];
  guint k = 5, f, c, i;
  double class_n[7] = { 0 }, in_fold[5][7] = { {0} };

  corpus (classes, groups);
  g_assert_true (affect_folds_assign (N, classes, groups, k, 7, fold, NULL));
  /* a group never spans two folds */
  for (i = 0; i < N; i++) {
    guint j;
    g_assert_cmpint (fold[i], >=, 0);
    g_assert_cmpint (fold[i], <, (int) k);
    for (j = 0; j < i; j++)
      if (groups[j] == groups[i])
        g_assert_cmpint (fold[j], ==, fold[i]);
  }
  /* every fold has two of the ten groups' worth: none is empty */
  for (i = 0; i < N; i++) {
    class_n[classes[i]] += 1;
    in_fold[fold[i]][classes[i]] += 1;
  }
  for (f = 0; f < k; f++) {
    double size = 0;
    for (c = 0; c < 7; c++)
      size += in_fold[f][c];
    g_assert_cmpfloat (size, >, 0);
  }
  /* deterministic from the seed */
  g_assert_true (affect_folds_assign (N, classes, groups, k, 7, fold2, NULL));
  for (i = 0; i < N; i++)
    g_assert_cmpint (fold[i], ==, fold2[i]);
}

static void
test_stratified (void)
{
  int classes[N], groups[N], fold[N], other[N];
  guint k = 5, f, c, i, differ = 0;
  double class_n[7] = { 0 }, in_fold[5][7] = { {0} };

  corpus (classes, groups);
  g_assert_true (affect_folds_assign (N, classes, NULL, k, 3, fold, NULL));
  for (i = 0; i < N; i++) {
    class_n[classes[i]] += 1;
    in_fold[fold[i]][classes[i]] += 1;
  }
  /* each class is split as evenly as whole items allow: within one item
   * of n_c / k in every fold */
  for (c = 0; c < 7; c++)
    for (f = 0; f < k; f++)
      g_assert_cmpfloat (fabs (in_fold[f][c] - class_n[c] / k), <=, 1.0);
  /* another seed, another assignment */
  g_assert_true (affect_folds_assign (N, classes, NULL, k, 4, other, NULL));
  for (i = 0; i < N; i++)
    differ += fold[i] != other[i];
  g_assert_cmpuint (differ, >, N / 4);
}

static void
test_sizes (void)
{
  int fold[23];
  guint size[4] = { 0 }, f, i;

  /* no classes, no groups: sizes differ by one at most */
  g_assert_true (affect_folds_assign (23, NULL, NULL, 4, 1, fold, NULL));
  for (i = 0; i < 23; i++)
    size[fold[i]]++;
  for (f = 0; f < 4; f++)
    g_assert_cmpuint (size[f], >=, 5);
  for (f = 0; f < 4; f++)
    g_assert_cmpuint (size[f], <=, 6);
}

static void
test_errors (void)
{
  int groups[6] = { 0, 0, 1, 1, 2, 2 }, fold[6];
  GError *error = NULL;

  g_assert_false (affect_folds_assign (6, NULL, groups, 4, 1, fold, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "3 groups for 4 folds"));
  g_clear_error (&error);
  g_assert_false (affect_folds_assign (6, NULL, NULL, 1, 1, fold, &error));
  g_clear_error (&error);
  g_assert_true (affect_folds_assign (6, NULL, groups, 3, 1, fold, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/folds/grouped", test_grouped);
  g_test_add_func ("/folds/stratified", test_stratified);
  g_test_add_func ("/folds/sizes", test_sizes);
  g_test_add_func ("/folds/errors", test_errors);
  return g_test_run ();
}

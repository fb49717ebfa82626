/* libFuzzer target: any text given to the feature-table parsers (openSMILE
 * CSV, ARFF) either parses, and then is consistent and survives a write
 * and a read in both text formats with the same ids and values, or fails
 * with an AFFECT_ERROR. The first byte picks the format (auto, CSV, ARFF);
 * the rest is the table. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "affect/affect.h"
#include "affect/features.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

static char *out_csv, *out_arff;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  char *name = g_strdup_printf ("fuzz-features-%d", (int) getpid ());
  char *dir = g_build_filename (AFFECT_FUZZ_DIR, name, NULL);

  /* a GLib warning (e.g. a GError set twice) is a finding too */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  g_mkdir_with_parents (dir, 0755);
  out_csv = g_build_filename (dir, "t.csv", NULL);
  out_arff = g_build_filename (dir, "t.arff", NULL);
  g_free (dir);
  g_free (name);
  return 0;
}

static gboolean
same_value (float a, float b)
{
  return (isnan (a) && isnan (b)) || a == b;
}

static void
check_round_trip (const AffectFeatureTable * t, const char *path)
{
  GError *error = NULL;
  AffectFeatureTable *back;
  guint i;

  if (!affect_feature_table_write (t, path, AFFECT_FEATURE_FORMAT_AUTO, &error)) {
    /* ids the format cannot hold */
    g_assert (error != NULL && error->domain == AFFECT_ERROR);
    g_error_free (error);
    return;
  }
  back = affect_feature_table_load (path, AFFECT_FEATURE_FORMAT_AUTO, &error);
  if (back == NULL) {
    /* names that do not survive a format (an empty or duplicate feature
     * name, a class name clash) are refused when read, never misread */
    g_assert (error != NULL && error->domain == AFFECT_ERROR);
    g_error_free (error);
    return;
  }
  g_assert (back->n_rows == t->n_rows);
  g_assert (back->n_features == t->n_features);
  for (i = 0; i < t->n_rows; i++)
    g_assert (strcmp (back->ids[i], t->ids[i]) == 0);
  for (i = 0; i < t->n_rows * t->n_features; i++)
    g_assert (same_value (back->values[i], t->values[i]));
  affect_feature_table_free (back);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  AffectFeatureTable *t;
  GError *error = NULL;
  guint i;

  if (size < 1)
    return 0;
  t = affect_feature_table_parse ("fuzz", (const char *) data + 1, size - 1,
      data[0] % 3, &error);
  if (t == NULL) {
    g_assert (error != NULL && error->domain == AFFECT_ERROR);
    g_error_free (error);
    return 0;
  }
  g_assert (error == NULL);
  g_assert (t->n_rows > 0 && t->ids != NULL && t->lines != NULL);
  for (i = 0; i < t->n_rows; i++) {
    g_assert (t->ids[i] != NULL && *t->ids[i] != '\0');
    g_assert (g_utf8_validate (t->ids[i], -1, NULL));
    g_assert (i == 0 || t->lines[i] > t->lines[i - 1]);
    if (t->classes && t->classes[i] && t->class_values)
      g_assert (g_strv_contains ((const char *const *) t->class_values,
              t->classes[i]));
  }
  g_assert (t->ids[t->n_rows] == NULL);
  (void) affect_feature_table_find (t, t->ids[t->n_rows - 1]);
  check_round_trip (t, out_csv);
  check_round_trip (t, out_arff);
  affect_feature_table_free (t);
  return 0;
}

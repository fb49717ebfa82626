/* Feature tables (affect/features.h): openSMILE's own CSV and ARFF
 * layouts, round trips through each format, errors naming file:line, and
 * the feature cache key. */
#include <math.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/features.h"
#include "affect/manifest.h"
#include "affect/npy.h"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* openSMILE's native CSV (';', quoted names, frameTime, %e) against the
 * exact %.9g table of the same 15 files: every value within the 7
 * significant digits %e keeps */
static void
test_opensmile_csv (void)
{
  const char *shared = g_getenv ("AFFECT_SHARED_DIR");
  char *native_path, *exact_path;
  AffectFeatureTable *native, *exact;
  GError *error = NULL;
  guint i, j;
  double worst = 0;

  native_path = shared ? g_build_filename (shared, "reference", "is09",
      "reference_is09_smile_native.csv", NULL) : NULL;
  if (native_path == NULL || !g_file_test (native_path, G_FILE_TEST_EXISTS)) {
    g_test_skip ("AFFECT_SHARED_DIR/reference/is09 is absent");
    g_free (native_path);
    return;
  }
  exact_path = g_build_filename (shared, "reference", "is09",
      "reference_is09.csv", NULL);
  native = affect_feature_table_load (native_path,
      AFFECT_FEATURE_FORMAT_AUTO, &error);
  g_assert_no_error (error);
  exact = affect_feature_table_load (exact_path, AFFECT_FEATURE_FORMAT_CSV,
      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (native->n_rows, ==, 15);
  g_assert_cmpuint (native->n_features, ==, 384);
  g_assert_cmpuint (exact->n_features, ==, 384);
  g_assert_nonnull (native->times);
  g_assert_null (exact->times);
  g_assert_cmpstr (native->ids[0], ==, "sp01_en_default");
  g_assert_cmpstr (native->feature_names[0], ==, "pcm_RMSenergy_sma_max");
  for (j = 0; j < 384; j++)
    g_assert_cmpstr (native->feature_names[j], ==, exact->feature_names[j]);
  for (i = 0; i < native->n_rows; i++) {
    gint r = affect_feature_table_find (exact, native->ids[i]);
    g_assert_cmpint (r, >=, 0);
    g_assert_cmpfloat (native->times[i], ==, 0.0);
    for (j = 0; j < 384; j++) {
      double a = native->values[i * 384 + j];
      double b = exact->values[r * 384 + j];
      double err = fabs (a - b) / MAX (fabs (b), 1e-30);
      if (a == b)
        continue;
      worst = MAX (worst, err);
      g_assert_cmpfloat (err, <=, 5.1e-7);
    }
  }
  g_test_message ("openSMILE %%e CSV vs exact: largest relative difference "
      "%.3g", worst);
  affect_feature_table_free (native);
  affect_feature_table_free (exact);
  g_free (native_path);
  g_free (exact_path);
}

/* the layout of openSMILE's cArffSink (arffSink.cpp): @relation, blank
 * line, name string, frameTime (timestamparfflld), escaped attribute
 * names, the class from arff_targets.conf.inc, @data between blank lines */
static const char opensmile_arff[] =
    "@relation openSMILE_features\n"
    "\n"
    "@attribute name string\n"
    "@attribute frameTime numeric\n"
    "@attribute pcm_fftMag_mfcc_sma[1]_max numeric\n"
    "@attribute 'odd name, with comma' numeric\n"
    "@attribute class {anger,'no emotion'}\n"
    "\n" "@data\n" "\n"
    "'utt 1',0.000000,6.292745e-02,-1.5e+01,anger\r\n"
    "utt2,0.010000,?,3,'no emotion'\n"
    "% a comment\n" "'it\\'s',0.020000,1,2,?\n";

static void
test_opensmile_arff (void)
{
  GError *error = NULL;
  AffectFeatureTable *t = affect_feature_table_parse ("x.arff",
      opensmile_arff, strlen (opensmile_arff), AFFECT_FEATURE_FORMAT_AUTO,
      &error);

  g_assert_no_error (error);
  g_assert_cmpint (t->format, ==, AFFECT_FEATURE_FORMAT_ARFF);
  g_assert_cmpstr (t->relation, ==, "openSMILE_features");
  g_assert_cmpuint (t->n_rows, ==, 3);
  g_assert_cmpuint (t->n_features, ==, 2);
  g_assert_cmpstr (t->feature_names[0], ==, "pcm_fftMag_mfcc_sma[1]_max");
  g_assert_cmpstr (t->feature_names[1], ==, "odd name, with comma");
  g_assert_cmpstr (t->ids[0], ==, "utt 1");
  g_assert_cmpstr (t->ids[2], ==, "it's");
  g_assert_cmpfloat (t->values[0], ==, 6.292745e-02f);
  g_assert_cmpfloat (t->values[1], ==, -15.0f);
  g_assert_true (isnan (t->values[2]));
  g_assert_cmpfloat (t->times[1], ==, 0.01);
  g_assert_cmpstr (t->class_name, ==, "class");
  g_assert_cmpstr (t->class_values[1], ==, "no emotion");
  g_assert_cmpstr (t->classes[0], ==, "anger");
  g_assert_cmpstr (t->classes[1], ==, "no emotion");
  g_assert_null (t->classes[2]);
  g_assert_cmpuint (t->lines[2], ==, 14);
  affect_feature_table_free (t);
}

/* IS09_emotion.conf's default target: a numeric class, '?' for every row;
 * a numeric 'class' that is not the last attribute is a feature */
static void
test_arff_numeric_class (void)
{
  const char *text = "@relation r\n@attribute name string\n"
      "@attribute a numeric\n@attribute class numeric\n@data\nx,1,?\n"
      "y,2,0.5\n";
  const char *inner = "@relation r\n@attribute name string\n"
      "@attribute class numeric\n@attribute b real\n@data\nx,1,2\n";
  GError *error = NULL;
  AffectFeatureTable *t = affect_feature_table_parse ("n.arff", text,
      strlen (text), AFFECT_FEATURE_FORMAT_ARFF, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (t->n_features, ==, 1);
  g_assert_null (t->class_values);
  g_assert_null (t->classes[0]);
  g_assert_cmpstr (t->classes[1], ==, "0.5");
  affect_feature_table_free (t);
  t = affect_feature_table_parse ("n.arff", inner, strlen (inner),
      AFFECT_FEATURE_FORMAT_ARFF, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (t->n_features, ==, 2);
  g_assert_cmpstr (t->feature_names[0], ==, "class");
  g_assert_null (t->class_name);
  g_assert_cmpfloat (t->values[1], ==, 2.0f);
  affect_feature_table_free (t);
}

static AffectFeatureTable *
random_table (guint rows, guint cols)
{
  AffectFeatureTable *t = affect_feature_table_new (cols, NULL);
  GRand *rand = g_rand_new_with_seed (5);
  float *v = g_new (float, cols);
  const char *classes[] = { "low", "high" };
  guint i, j;

  for (i = 0; i < rows; i++) {
    char *id = g_strdup_printf ("item %u", i);
    for (j = 0; j < cols; j++) {
      guint32 bits = g_rand_int (rand);
      memcpy (&v[j], &bits, 4);
      if (!isfinite (v[j]))
        v[j] = (float) g_rand_double_range (rand, -1e6, 1e6);
    }
    v[0] = 1e-42f;              /* subnormal */
    affect_feature_table_append (t, id, v, classes[i % 2]);
    g_free (id);
  }
  t->class_values = g_strdupv ((char **) (const char *[]) {
        "high", "low", NULL
      });
  g_free (v);
  g_rand_free (rand);
  return t;
}

/* every format reads back what it wrote, bit for bit */
static void
test_round_trip (void)
{
  const char *names[] = { "r.npy", "r.csv", "r.arff" };
  AffectFeatureTable *t = random_table (7, 33);
  guint k, i;

  for (k = 0; k < G_N_ELEMENTS (names); k++) {
    char *path = tmp_path (names[k]);
    GError *error = NULL;
    AffectFeatureTable *back;

    if (k == 1)
      g_free (t->ids[3]), t->ids[3] = g_strdup ("x;y");
    else
      g_free (t->ids[3]), t->ids[3] = g_strdup ("item 3");
    g_assert_true (affect_feature_table_write (t, path,
            AFFECT_FEATURE_FORMAT_AUTO, &error) || k == 1);
    if (k == 1) {
      /* a ';' in an id cannot be stored in openSMILE's CSV */
      g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
      g_clear_error (&error);
      g_free (t->ids[3]);
      t->ids[3] = g_strdup ("item 3");
      g_assert_true (affect_feature_table_write (t, path,
              AFFECT_FEATURE_FORMAT_AUTO, &error));
    }
    g_assert_no_error (error);
    back = affect_feature_table_load (path, AFFECT_FEATURE_FORMAT_AUTO, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (back->n_rows, ==, t->n_rows);
    g_assert_cmpuint (back->n_features, ==, t->n_features);
    g_assert_cmpmem (back->values, t->n_rows * t->n_features * 4, t->values,
        t->n_rows * t->n_features * 4);
    if (k > 0) {
      for (i = 0; i < t->n_rows; i++) {
        g_assert_cmpstr (back->ids[i], ==, t->ids[i]);
        g_assert_cmpstr (back->classes[i], ==, t->classes[i]);
      }
    } else
      g_assert_null (back->ids);
    if (k == 2)
      g_assert_cmpstr (back->class_values[0], ==, "high");
    affect_feature_table_free (back);
    g_free (path);
  }
  affect_feature_table_free (t);
}

static void
expect_error (const char *label, const char *text, int code,
    const char *message)
{
  GError *error = NULL;
  AffectFeatureTable *t = affect_feature_table_parse (label, text,
      strlen (text), AFFECT_FEATURE_FORMAT_AUTO, &error);

  g_assert_null (t);
  g_assert_error (error, AFFECT_ERROR, code);
  if (strstr (error->message, message) == NULL)
    g_error ("expected '%s' in '%s'", message, error->message);
  g_error_free (error);
}

static void
test_errors (void)
{
  expect_error ("e.csv", "", AFFECT_ERROR_EMPTY, "empty feature table");
  expect_error ("e.csv", "name;a\n", AFFECT_ERROR_EMPTY, "no row");
  expect_error ("e.csv", "id;a\n'x';1\n", AFFECT_ERROR_PARSE,
      "e.csv:1: expected a header with a 'name' column");
  expect_error ("e.csv", "name;a;a\n", AFFECT_ERROR_PARSE,
      "e.csv:1: expected each column once, got 'a' twice");
  expect_error ("e.csv", "name;a\n'x';1\n\n'y';1e99\n", AFFECT_ERROR_PARSE,
      "e.csv:4: expected a float32 value in column 'a', got '1e99'");
  expect_error ("e.csv", "name;a\n'';1\n", AFFECT_ERROR_PARSE,
      "e.csv:2: expected an instance name");
  expect_error ("e.csv", "name;a\n'x\xe9';1\n", AFFECT_ERROR_PARSE,
      "e.csv:2: expected UTF-8 text, got the invalid byte 0xe9");
  expect_error ("e.arff", "@relation r\n@attribute name string\n"
      "@attribute a date\n", AFFECT_ERROR_PARSE,
      "e.arff:3: expected the type numeric, real, integer, string or {...}");
  expect_error ("e.arff", "@relation r\n@attribute name string\n"
      "@attribute a numeric\n@data\n{0 x, 1 2}\n", AFFECT_ERROR_PARSE,
      "e.arff:5: expected a dense row");
  expect_error ("e.arff", "@relation r\n@attribute name string\n"
      "@attribute a numeric\n@data\nx,1,2\n", AFFECT_ERROR_PARSE,
      "e.arff:5: expected 2 comma-separated values as in the header, got "
      "more");
  expect_error ("e.arff", "@relation r\n@attribute name string\n"
      "@attribute a numeric\n@data\n'x,1\n", AFFECT_ERROR_PARSE,
      "e.arff:5: expected 2 comma-separated values as in the header, got "
      "an unclosed quote");
  expect_error ("e.arff", "@relation r\n@attribute a numeric\n@data\n1\n",
      AFFECT_ERROR_PARSE, "expected an attribute 'name'");
  expect_error ("e.arff", "@relation r\n@attribute name string\n"
      "@attribute a numeric\n@data\n", AFFECT_ERROR_EMPTY, "no row");
  {
    GError *error = NULL;
    g_assert_null (affect_feature_table_parse ("z.csv", "name;a\n'x';\0", 12,
            AFFECT_FEATURE_FORMAT_AUTO, &error));
    g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE);
    g_assert_nonnull (strstr (error->message, "z.csv:2: expected text, got a "
            "NUL byte"));
    g_error_free (error);
  }
}

/* names a format would read back as something else are refused */
static void
test_write_names (void)
{
  const char *names[] = { "a", "class", NULL };
  float v[2] = { 1, 2 };
  char *csv = tmp_path ("n.csv"), *arff = tmp_path ("n.arff");
  AffectFeatureTable *t = affect_feature_table_new (2, names);
  GError *error = NULL;

  affect_feature_table_append (t, "x", v, NULL);
  g_assert_false (affect_feature_table_write (t, csv,
          AFFECT_FEATURE_FORMAT_AUTO, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "'class' (column 2)"));
  g_clear_error (&error);
  /* ARFF: a numeric 'class' last would be the class */
  g_assert_false (affect_feature_table_write (t, arff,
          AFFECT_FEATURE_FORMAT_AUTO, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
  g_clear_error (&error);
  g_free (t->feature_names[1]);
  t->feature_names[1] = g_strdup ("b\v");
  g_free (t->ids[0]);
  t->ids[0] = g_strdup ("x\v");
  g_assert_true (affect_feature_table_write (t, arff,
          AFFECT_FEATURE_FORMAT_AUTO, &error));
  affect_feature_table_free (t);
  t = affect_feature_table_load (arff, AFFECT_FEATURE_FORMAT_AUTO, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (t->ids[0], ==, "x\v");
  g_assert_cmpstr (t->feature_names[1], ==, "b\v");
  affect_feature_table_free (t);
  g_free (csv);
  g_free (arff);
}

static void
test_npy_shape (void)
{
  char *path = tmp_path ("three.npy");
  GError *error = NULL;
  float v[6] = { 1, 2, 3, 4, 5, 6 };
  AffectFeatureTable *t = affect_feature_table_new (6, NULL);

  int64_t shape[1] = { 6 };

  affect_feature_table_append (t, "a", v, NULL);
  g_assert_true (affect_feature_table_write (t, path,
          AFFECT_FEATURE_FORMAT_NPY, &error));
  affect_feature_table_free (t);
  t = affect_feature_table_load (path, AFFECT_FEATURE_FORMAT_AUTO, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (t->n_rows, ==, 1);
  g_assert_cmpuint (t->n_features, ==, 6);
  g_assert_cmpfloat (t->values[5], ==, 6.0f);
  affect_feature_table_free (t);
  /* a 1-D array is not a table */
  g_assert_true (affect_npy_write (path, AFFECT_NPY_FLOAT32, 1, shape, v,
          &error));
  g_assert_null (affect_feature_table_load (path, AFFECT_FEATURE_FORMAT_AUTO,
          &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "expected a 2-D array"));
  g_error_free (error);
  g_free (path);
}

/* the key changes with the parameters, the manifest rows and the bytes of
 * any file, and only then */
static void
test_cache_key (void)
{
  char *m_path = tmp_path ("m.csv"), *a = tmp_path ("a.wav");
  char *b = tmp_path ("b.wav"), *k1, *k2;
  AffectManifest *m, *m2;
  GError *error = NULL;
  guint order[2] = { 0, 1 }, one[1] = { 1 };

  g_assert_true (g_file_set_contents (a, "RIFFaaaa", -1, NULL));
  g_assert_true (g_file_set_contents (b, "RIFFbbbb", -1, NULL));
  g_assert_true (g_file_set_contents (m_path,
          "id,path,arousal\na,a.wav,1\nb,b.wav,0\n", -1, NULL));
  m = affect_manifest_load (m_path, NULL, &error);
  g_assert_no_error (error);
  k1 = affect_feature_cache_key (m, order, 2, NULL, "affectis09", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (k1), ==, 64);
  k2 = affect_feature_cache_key (m, order, 2, NULL, "affectis09", &error);
  g_assert_cmpstr (k1, ==, k2);
  g_free (k2);
  /* parameters */
  k2 = affect_feature_cache_key (m, order, 2, NULL,
      "affectis09 input-scale=1", &error);
  g_assert_cmpstr (k1, !=, k2);
  g_free (k2);
  /* selection */
  k2 = affect_feature_cache_key (m, one, 1, NULL, "affectis09", &error);
  g_assert_cmpstr (k1, !=, k2);
  g_free (k2);
  /* one byte of one file */
  g_assert_true (g_file_set_contents (b, "RIFFbbbc", -1, NULL));
  k2 = affect_feature_cache_key (m, order, 2, NULL, "affectis09", &error);
  g_assert_cmpstr (k1, !=, k2);
  g_free (k2);
  g_assert_true (g_file_set_contents (b, "RIFFbbbb", -1, NULL));
  /* a file missing */
  g_unlink (b);
  k2 = affect_feature_cache_key (m, order, 2, NULL, "affectis09", &error);
  g_assert_cmpstr (k1, !=, k2);
  g_free (k2);
  g_assert_true (g_file_set_contents (b, "RIFFbbbb", -1, NULL));
  /* a target */
  g_assert_true (g_file_set_contents (m_path,
          "id,path,arousal\na,a.wav,1\nb,b.wav,0.5\n", -1, NULL));
  m2 = affect_manifest_load (m_path, NULL, &error);
  g_assert_no_error (error);
  k2 = affect_feature_cache_key (m2, order, 2, NULL, "affectis09", &error);
  g_assert_cmpstr (k1, !=, k2);
  g_free (k2);
  /* back as it was: the same key */
  k2 = affect_feature_cache_key (m, order, 2, NULL, "affectis09", &error);
  g_assert_cmpstr (k1, ==, k2);
  g_free (k2);
  g_free (k1);
  affect_manifest_free (m);
  affect_manifest_free (m2);
  g_unlink (a);
  g_unlink (b);
  g_unlink (m_path);
  g_free (a);
  g_free (b);
  g_free (m_path);
}

int
main (int argc, char **argv)
{
  int ret;
  GDir *d;
  const char *n;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("affect-features-XXXXXX", NULL);
  g_test_add_func ("/features/opensmile-csv", test_opensmile_csv);
  g_test_add_func ("/features/opensmile-arff", test_opensmile_arff);
  g_test_add_func ("/features/arff-numeric-class", test_arff_numeric_class);
  g_test_add_func ("/features/round-trip", test_round_trip);
  g_test_add_func ("/features/errors", test_errors);
  g_test_add_func ("/features/npy-shape", test_npy_shape);
  g_test_add_func ("/features/write-names", test_write_names);
  g_test_add_func ("/features/cache-key", test_cache_key);
  ret = g_test_run ();
  d = g_dir_open (tmp_dir, 0, NULL);
  while ((n = g_dir_read_name (d))) {
    char *p = tmp_path (n);
    g_unlink (p);
    g_free (p);
  }
  g_dir_close (d);
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return ret;
}

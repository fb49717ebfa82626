/* .npy arrays: round trips, numpy's own files (every dtype, both byte
 * orders, format 1.0 and 2.0), the MediaEval 2019 arrays, hostile files */
#include <math.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/nn.h"
#include "affect/npy.h"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static gboolean
have_python (void)
{
  return g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE);
}

static gboolean
run_python (const char *script, const char *arg)
{
  const char *argv[] = { "/usr/bin/python3", "-c", script, arg, NULL };
  char *out = NULL, *err = NULL;
  int status = 0;
  GError *error = NULL;
  gboolean ok;

  ok = g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
      &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!ok || !g_spawn_check_wait_status (status, NULL)) {
    g_printerr ("python failed:\n%s%s", out, err);
    ok = FALSE;
  } else if (*out) {
    g_test_message ("%s", g_strchomp (out));
  }
  g_free (out);
  g_free (err);
  return ok;
}

static void
test_round_trip (void)
{
  const int64_t shape2[] = { 2, 3 }, shape1[] = { 4 };
  const float f[] = { 1.0f, -2.5f, 3.25f, G_MAXFLOAT, -0.0f, 1e-38f };
  const double d[] = { 0.1, -1e300, 5e-324, 7.0 };
  const guint8 b[] = { 1, 0, 7, 0 };
  char *pf = tmp_path ("f.npy"), *pd = tmp_path ("d.npy"),
      *pb = tmp_path ("b.npy"), *ps = tmp_path ("s.npy"), *contents;
  AffectNpyArray *a;
  GError *error = NULL;
  gsize len;
  const float scalar = 9.5f;

  g_assert_true (affect_npy_write (pf, AFFECT_NPY_FLOAT32, 2, shape2, f,
          &error));
  g_assert_true (affect_npy_write (pd, AFFECT_NPY_FLOAT64, 1, shape1, d,
          &error));
  g_assert_true (affect_npy_write (pb, AFFECT_NPY_BOOL, 1, shape1, b, &error));
  g_assert_true (affect_npy_write (ps, AFFECT_NPY_FLOAT32, 0, NULL, &scalar,
          &error));
  g_assert_no_error (error);

  /* numpy's layout: version 1.0, data 64-byte aligned, header ends in \n */
  g_assert_true (g_file_get_contents (pf, &contents, &len, NULL));
  g_assert_cmpuint ((len - sizeof (f)) % 64, ==, 0);
  g_assert_cmpmem (contents, 8, "\x93NUMPY\x01\x00", 8);
  g_assert_cmpint (contents[len - sizeof (f) - 1], ==, '\n');
  g_assert_cmpint (contents[8] | (contents[9] << 8), ==,
      len - sizeof (f) - 10);
  g_assert_nonnull (g_strstr_len (contents + 10, 118, "{'descr': '<f4', "
          "'fortran_order': False, 'shape': (2, 3), }"));
  g_free (contents);
  g_assert_true (g_file_get_contents (pd, &contents, &len, NULL));
  g_assert_nonnull (g_strstr_len (contents + 10, 118, "'shape': (4,), }"));
  g_free (contents);

  a = affect_npy_read (pf, AFFECT_NPY_FLOAT32, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->n_dims, ==, 2);
  g_assert_cmpint (a->shape[0], ==, 2);
  g_assert_cmpint (a->shape[1], ==, 3);
  g_assert_cmpint (a->n_elements, ==, 6);
  g_assert_cmpstr (a->descr, ==, "<f4");
  g_assert_cmpmem (affect_npy_array_float (a), sizeof (f), f, sizeof (f));
  g_assert_null (affect_npy_array_double (a));
  affect_npy_array_free (a);

  a = affect_npy_read (pd, AFFECT_NPY_FLOAT64, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (affect_npy_array_double (a), sizeof (d), d, sizeof (d));
  affect_npy_array_free (a);
  /* -1e300 does not fit a float: an error, not an infinity */
  a = affect_npy_read (pd, AFFECT_NPY_FLOAT32, &error);
  g_assert_null (a);
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "out of float32 range"));
  g_clear_error (&error);

  a = affect_npy_read (pb, AFFECT_NPY_FLOAT32, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (a->descr, ==, "|b1");
  g_assert_cmpfloat (affect_npy_array_float (a)[0], ==, 1.0f);
  g_assert_cmpfloat (affect_npy_array_float (a)[1], ==, 0.0f);
  g_assert_cmpfloat (affect_npy_array_float (a)[2], ==, 1.0f);   /* 7 -> True */
  affect_npy_array_free (a);

  a = affect_npy_read (ps, AFFECT_NPY_FLOAT64, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->n_dims, ==, 0);
  g_assert_cmpint (a->n_elements, ==, 1);
  g_assert_cmpfloat (affect_npy_array_double (a)[0], ==, 9.5);
  affect_npy_array_free (a);

  g_free (pf);
  g_free (pd);
  g_free (pb);
  g_free (ps);
}

/* numpy writes one file per case and the same values as raw float64 */
static const char *python_write =
    "import sys, numpy as np\n"
    "d = sys.argv[1]\n"
    "rng = np.random.default_rng(3)\n"
    "x = rng.standard_normal((3, 4, 5)) * 50\n"
    "cases = {\n"
    " 'f4': x.astype('<f4'), 'f8': x, 'f2': x.astype('<f2'),\n"
    " 'f4be': x.astype('>f4'), 'i8be': x.astype('>i8'),\n"
    " 'i1': x.astype('i1'), 'u2': np.abs(x).astype('<u2'),\n"
    " 'i4': x.astype('<i4'), 'u8': np.abs(x).astype('<u8'),\n"
    " 'b1': x > 0, 'vec': x[0, 0], 'scalar': np.float64(2.5),\n"
    " 'empty': np.zeros((0, 7), 'f4'), 'fortran1d': np.asfortranarray(x[0, 0]),\n"
    "}\n"
    "for k, v in cases.items():\n"
    "    np.save(f'{d}/{k}.npy', v)\n"
    "    open(f'{d}/{k}.f8', 'wb').write(np.asarray(v).astype('<f8').tobytes())\n"
    "with open(f'{d}/v2.npy', 'wb') as f:\n"
    "    np.lib.format.write_array(f, x.astype('<f4'), version=(2, 0))\n"
    "open(f'{d}/v2.f8', 'wb').write(x.astype('<f4').astype('<f8').tobytes())\n"
    "np.save(f'{d}/fortran.npy', np.asfortranarray(x))\n"
    "np.save(f'{d}/complex.npy', x.astype('c8'))\n"
    "np.save(f'{d}/structured.npy', np.zeros(3, dtype=[('a', 'f4'), ('b', 'i4')]))\n"
    "np.save(f'{d}/strings.npy', np.array(['a', 'bc']))\n";

static const char *python_read =
    "import sys, numpy as np\n"
    "d = sys.argv[1]\n"
    "i = np.arange(24).reshape(2, 3, 4)\n"
    "f = np.load(f'{d}/ours-f4.npy'); g = np.load(f'{d}/ours-f8.npy')\n"
    "b = np.load(f'{d}/ours-b1.npy'); s = np.load(f'{d}/ours-scalar.npy')\n"
    "assert f.dtype == np.float32 and f.shape == (2, 3, 4), f\n"
    "assert np.array_equal(f, (i * 0.25 - 3).astype(np.float32))\n"
    "assert g.dtype == np.float64 and np.array_equal(g, i / 7.0)\n"
    "assert b.dtype == np.bool_ and np.array_equal(b, i % 3 == 0)\n"
    "assert s.shape == () and s == np.float32(1.5)\n"
    "print('numpy read our f4, f8, b1 and 0-d arrays')\n";

static void
check_against_raw (const char *dir, const char *name, int n_dims,
    const int64_t * shape)
{
  char *npy = g_strdup_printf ("%s/%s.npy", dir, name);
  char *raw = g_strdup_printf ("%s/%s.f8", dir, name);
  char *contents;
  gsize len, i;
  AffectNpyArray *a, *f;
  GError *error = NULL;

  g_test_message ("numpy file %s", name);
  g_assert_true (g_file_get_contents (raw, &contents, &len, NULL));
  a = affect_npy_read (npy, AFFECT_NPY_FLOAT64, &error);
  g_assert_no_error (error);
  f = affect_npy_read (npy, AFFECT_NPY_FLOAT32, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->n_dims, ==, n_dims);
  g_assert_cmpmem (a->shape, n_dims * 8, shape, n_dims * 8);
  g_assert_cmpuint (a->n_elements * 8, ==, len);
  /* numpy's astype(float64), bit for bit */
  g_assert_cmpmem (a->data, len, contents, len);
  for (i = 0; i < len / 8; i++)
    g_assert_cmpfloat (affect_npy_array_float (f)[i], ==,
        (float) affect_npy_array_double (a)[i]);
  affect_npy_array_free (a);
  affect_npy_array_free (f);
  g_free (contents);
  g_free (npy);
  g_free (raw);
}

static void
expect_refused (const char *dir, const char *name, const char *message)
{
  char *npy = g_strdup_printf ("%s/%s.npy", dir, name);
  GError *error = NULL;

  g_assert_null (affect_npy_read (npy, AFFECT_NPY_FLOAT32, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == AFFECT_ERROR);
  if (strstr (error->message, message) == NULL)
    g_error ("%s: message \"%s\" lacks \"%s\"", name, error->message, message);
  g_error_free (error);
  g_free (npy);
}

static void
test_numpy_files (void)
{
  const int64_t s3[] = { 3, 4, 5 }, s1[] = { 5 }, s0[] = { 0, 7 };
  const char *all3[] = { "f4", "f8", "f2", "f4be", "i8be", "i1", "u2", "i4",
    "u8", "b1", "v2", NULL
  };
  char *dir;
  const int64_t shape[] = { 2, 3, 4 };
  float f[24];
  double d[24];
  guint8 b[24];
  const float scalar = 1.5f;
  char *p;
  int i;

  if (!have_python ()) {
    g_test_skip ("/usr/bin/python3 absent");
    return;
  }
  dir = tmp_path ("numpy");
  g_mkdir (dir, 0755);
  g_assert_true (run_python (python_write, dir));
  for (i = 0; all3[i]; i++)
    check_against_raw (dir, all3[i], 3, s3);
  check_against_raw (dir, "vec", 1, s1);
  check_against_raw (dir, "fortran1d", 1, s1);
  check_against_raw (dir, "scalar", 0, NULL);
  check_against_raw (dir, "empty", 2, s0);
  expect_refused (dir, "fortran", "Fortran-order");
  expect_refused (dir, "complex", "dtype '<c8' is not supported");
  expect_refused (dir, "structured", "structured dtypes");
  expect_refused (dir, "strings", "dtype '<U2' is not supported");

  for (i = 0; i < 24; i++) {
    f[i] = i * 0.25f - 3;
    d[i] = i / 7.0;
    b[i] = i % 3 == 0;
  }
  p = g_strdup_printf ("%s/ours-f4.npy", dir);
  g_assert_true (affect_npy_write (p, AFFECT_NPY_FLOAT32, 3, shape, f, NULL));
  g_free (p);
  p = g_strdup_printf ("%s/ours-f8.npy", dir);
  g_assert_true (affect_npy_write (p, AFFECT_NPY_FLOAT64, 3, shape, d, NULL));
  g_free (p);
  p = g_strdup_printf ("%s/ours-b1.npy", dir);
  g_assert_true (affect_npy_write (p, AFFECT_NPY_BOOL, 3, shape, b, NULL));
  g_free (p);
  p = g_strdup_printf ("%s/ours-scalar.npy", dir);
  g_assert_true (affect_npy_write (p, AFFECT_NPY_FLOAT32, 0, NULL, &scalar,
          NULL));
  g_free (p);
  g_assert_true (run_python (python_read, dir));
  g_free (dir);
}

/* The MediaEval 2019 ground truth (bool) and VGG-ish predictions (float32),
 * 4231 tracks x 56 tags, compared value by value with numpy's reading */
static void
test_mediaeval (void)
{
  const char *shared = g_getenv ("AFFECT_SHARED_DIR");
  const char *names[] = { "groundtruth", "baseline_vggish_predictions",
    "baseline_vggish_decisions"
  };
  char *dir;
  int k;

  if (shared == NULL) {
    g_test_skip ("AFFECT_SHARED_DIR not set");
    return;
  }
  dir = g_build_filename (shared, "reference", "mediaeval2019", NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_test_skip ("reference/mediaeval2019 absent");
    g_free (dir);
    return;
  }
  /* numpy's reading of all three, as raw float32, in one python run */
  if (have_python ()) {
    char *script = g_strdup_printf ("import sys, numpy as np\n"
        "for name in ['%s', '%s', '%s']:\n"
        "    a = np.load('%s/' + name + '.npy').astype('<f4')\n"
        "    open(sys.argv[1] + '/' + name + '.f4', 'wb').write(a.tobytes())\n",
        names[0], names[1], names[2], dir);
    g_assert_true (run_python (script, tmp_dir));
    g_free (script);
  }
  for (k = 0; k < 3; k++) {
    char *path = g_strdup_printf ("%s/%s.npy", dir, names[k]);
    char *raw = g_strdup_printf ("%s/%s.f4", tmp_dir, names[k]);
    AffectNpyArray *a;
    GError *error = NULL;
    int64_t i, n_positive = 0;
    const float *v;

    a = affect_npy_read (path, AFFECT_NPY_FLOAT32, &error);
    g_assert_no_error (error);
    g_assert_cmpint (a->n_dims, ==, 2);
    g_assert_cmpint (a->shape[0], ==, 4231);
    g_assert_cmpint (a->shape[1], ==, 56);
    g_assert_cmpstr (a->descr, ==, k == 1 ? "<f4" : "|b1");
    v = affect_npy_array_float (a);
    for (i = 0; i < a->n_elements; i++) {
      g_assert_true (v[i] >= 0.0f && v[i] <= 1.0f);
      n_positive += v[i] > 0.5f;
    }
    g_test_message ("%s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
        " above 0.5", names[k], n_positive, a->n_elements);
    g_assert_cmpint (n_positive, >, 0);
    if (have_python ()) {
      char *contents;
      gsize len;
      g_assert_true (g_file_get_contents (raw, &contents, &len, NULL));
      g_assert_cmpuint (len, ==, a->n_elements * 4);
      g_assert_cmpmem (v, len, contents, len);
      g_free (contents);
      g_unlink (raw);
    }
    affect_npy_array_free (a);
    g_free (path);
    g_free (raw);
  }
  g_free (dir);
}

/* a file from a header literal and a number of data bytes */
static GBytes *
make_npy (int version, const char *header, gsize data_size)
{
  GByteArray *a = g_byte_array_new ();
  gsize hlen = strlen (header);
  guint8 zero[256] = { 0 };

  g_byte_array_append (a, (const guint8 *) "\x93NUMPY", 6);
  g_byte_array_append (a, (const guint8 *) (version == 1 ? "\x01\x00" :
          "\x02\x00"), 2);
  if (version == 1) {
    guint16 l = GUINT16_TO_LE (hlen);
    g_byte_array_append (a, (const guint8 *) &l, 2);
  } else {
    guint32 l = GUINT32_TO_LE (hlen);
    g_byte_array_append (a, (const guint8 *) &l, 4);
  }
  g_byte_array_append (a, (const guint8 *) header, hlen);
  g_assert_cmpuint (data_size, <=, sizeof (zero));
  g_byte_array_append (a, zero, data_size);
  return g_byte_array_free_to_bytes (a);
}

typedef struct
{
  const char *what;
  const char *header;
  gsize data_size;
  const char *message;
} Hostile;

#define H(descr, shape) \
  "{'descr': '" descr "', 'fortran_order': False, 'shape': " shape ", }"

static const Hostile hostile[] = {
  {"truncated data", H ("<f4", "(2, 3)"), 20, "need 24 (truncated file?)"},
  {"trailing data", H ("<f4", "(2,)"), 12, "data is 12 bytes"},
  {"complex dtype", H ("<c8", "(1,)"), 8, "not supported"},
  {"object dtype", H ("|O", "(1,)"), 8, "not supported"},
  {"odd float size", H ("<f3", "(1,)"), 3, "not supported"},
  {"bad byte order", H ("!f4", "(1,)"), 4, "not supported"},
  {"shape overflow", H ("<f8", "(4611686018427387904, 4)"), 0,
      "shape overflows"},
  {"huge dimension", H ("<f4", "(99999999999999999999,)"), 0,
      "expected a tuple"},
  {"negative dimension", H ("<f4", "(-1,)"), 0, "expected a tuple"},
  {"shape a list", H ("<f4", "[1]"), 4, "expected a tuple"},
  {"too many dims", H ("<f4", "(1,1,1,1,1,1,1,1,1)"), 4, "more than 8"},
  {"not a dict", "[1, 2]", 0, "expected '{'"},
  {"unterminated string", "{'descr': '<f4", 0, "expected a dtype string"},
  {"missing shape", "{'descr': '<f4', 'fortran_order': False}", 0,
      "lacks 'shape'"},
  {"unknown key", "{'descr': '<f4', 'colour': 'red'}", 0,
      "unexpected key 'colour'"},
  {"bad bool", "{'fortran_order': Maybe}", 0, "True or False"},
  {"garbage after", H ("<f4", "(1,)") " x", 4, "only padding"},
  /* found by tests/fuzz: a second descr, structured, freed the first twice */
  {"descr twice", "{'descr': '<f2', 'descr': [('a', '<f4')]}", 0,
      "structured dtypes"},
};

static void
test_hostile (void)
{
  guint i;
  GBytes *bytes;
  GError *error = NULL;
  guint8 buf[16];

  for (i = 0; i < G_N_ELEMENTS (hostile); i++) {
    const Hostile *h = &hostile[i];
    AffectNpyArray *a;
    bytes = make_npy (i % 2 ? 1 : 2, h->header, h->data_size);
    g_test_message ("hostile: %s", h->what);
    a = affect_npy_read_bytes (bytes, h->what, AFFECT_NPY_FLOAT32, &error);
    g_assert_null (a);
    g_assert_nonnull (error);
    g_assert_true (error->domain == AFFECT_ERROR);
    if (strstr (error->message, h->message) == NULL)
      g_error ("%s: message \"%s\" lacks \"%s\"", h->what, error->message,
          h->message);
    g_assert_true (g_str_has_prefix (error->message, h->what));
    g_clear_error (&error);
    g_bytes_unref (bytes);
  }

  /* bad magic, unknown version, header length beyond the file */
  memcpy (buf, "\x93NUMPX\x01\x00\x04\x00{}  ", 14);
  bytes = g_bytes_new (buf, 14);
  g_assert_null (affect_npy_read_bytes (bytes, "m", AFFECT_NPY_FLOAT32,
          &error));
  g_assert_nonnull (strstr (error->message, "not a .npy file"));
  g_clear_error (&error);
  g_bytes_unref (bytes);
  memcpy (buf, "\x93NUMPY\x07\x00\x04\x00{}  ", 14);
  bytes = g_bytes_new (buf, 14);
  g_assert_null (affect_npy_read_bytes (bytes, "v", AFFECT_NPY_FLOAT32,
          &error));
  g_assert_nonnull (strstr (error->message, "version 7.0"));
  g_clear_error (&error);
  g_bytes_unref (bytes);
  memcpy (buf, "\x93NUMPY\x01\x00\xff\x00{}  ", 14);
  bytes = g_bytes_new (buf, 14);
  g_assert_null (affect_npy_read_bytes (bytes, "l", AFFECT_NPY_FLOAT32,
          &error));
  g_assert_nonnull (strstr (error->message, "exceeds the file"));
  g_clear_error (&error);
  g_bytes_unref (bytes);
  g_assert_null (affect_npy_read ("/nonexistent/x.npy", AFFECT_NPY_FLOAT32,
          &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/x.npy"));
  g_clear_error (&error);
}

/* every proper prefix of a valid file is refused; random mutations either
 * read in full or fail with an AFFECT_ERROR */
static void
test_truncated_and_mutated (void)
{
  const int64_t shape[] = { 3, 5 };
  float v[15];
  char *path = tmp_path ("valid.npy"), *contents;
  gsize len, n;
  guint8 *buf;
  AffectRng rng;
  int iter, opened = 0;

  for (n = 0; n < 15; n++)
    v[n] = n - 7.0f;
  g_assert_true (affect_npy_write (path, AFFECT_NPY_FLOAT32, 2, shape, v,
          NULL));
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  for (n = 0; n < len; n++) {
    GBytes *part = g_bytes_new_static (contents, n);
    GError *error = NULL;
    g_assert_null (affect_npy_read_bytes (part, "p", AFFECT_NPY_FLOAT32,
            &error));
    g_assert_nonnull (error);
    g_error_free (error);
    g_bytes_unref (part);
  }

  buf = g_malloc (len);
  affect_rng_init (&rng, 77);
  for (iter = 0; iter < 20000; iter++) {
    int flips = 1 + affect_rng_next (&rng) % 3, k;
    GBytes *bytes;
    AffectNpyArray *a;
    GError *error = NULL;
    memcpy (buf, contents, len);
    for (k = 0; k < flips; k++)
      buf[affect_rng_next (&rng) % 64] = (guint8) affect_rng_next (&rng);
    bytes = g_bytes_new_static (buf, len);
    a = affect_npy_read_bytes (bytes, "mutant", AFFECT_NPY_FLOAT64, &error);
    if (a != NULL) {
      volatile double sum = 0;
      int64_t i;
      opened++;
      for (i = 0; i < a->n_elements; i++)
        sum += affect_npy_array_double (a)[i];
      affect_npy_array_free (a);
    } else {
      g_assert_nonnull (error);
      g_assert_true (error->domain == AFFECT_ERROR);
      g_error_free (error);
    }
    g_bytes_unref (bytes);
  }
  g_test_message ("%d of 20000 mutants read", opened);
  g_free (buf);
  g_free (contents);
  g_free (path);
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL) {
    char *p = g_build_filename (path, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
      remove_tree (p);
    else
      g_unlink (p);
    g_free (p);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (path);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-npy-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/npy/round-trip", test_round_trip);
  g_test_add_func ("/npy/numpy-files", test_numpy_files);
  g_test_add_func ("/npy/mediaeval2019", test_mediaeval);
  g_test_add_func ("/npy/hostile", test_hostile);
  g_test_add_func ("/npy/truncated-and-mutated", test_truncated_and_mutated);
  ret = g_test_run ();
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}

/* safetensors: round trips, dtype conversion, the numpy reference writer and
 * reader, and hostile files that must be rejected with a clear message */
#include <math.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/nn.h"
#include "affect/safetensors.h"
#include "affect/mlp.h"
#include "affect/moodnet.h"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* a file from a header text and raw data bytes */
static GBytes *
make_file (const char *header, const void *data, gsize data_size)
{
  gsize hlen = strlen (header);
  guint64 len_le = GUINT64_TO_LE ((guint64) hlen);
  GByteArray *a = g_byte_array_new ();

  g_byte_array_append (a, (const guint8 *) &len_le, 8);
  g_byte_array_append (a, (const guint8 *) header, hlen);
  if (data_size)
    g_byte_array_append (a, data, data_size);
  return g_byte_array_free_to_bytes (a);
}

static void
test_round_trip (void)
{
  const int64_t shape_w[] = { 2, 3 };
  const int64_t shape_empty[] = { 0, 4 };
  const float w[] = { 1.0f, -2.5f, 3.25f, G_MAXFLOAT, -0.0f, 1e-38f };
  const float scalar = 42.0f;
  AffectSafetensorsWriter *writer = affect_safetensors_writer_new ();
  AffectSafetensors *file;
  AffectTensorView view;
  GError *error = NULL;
  char *path = tmp_path ("round.safetensors");
  const char *const *keys;
  const int64_t want[] = { 2, 3 }, wrong[] = { 3, 2 };

  affect_safetensors_writer_set_metadata (writer, "arch", "moodnet");
  affect_safetensors_writer_set_metadata (writer, "labels", "a,\"b\",ç");
  affect_safetensors_writer_set_metadata (writer, "arch", "moodnet-v2");
  affect_safetensors_writer_add (writer, "layer.weight", 2, shape_w, w);
  affect_safetensors_writer_add (writer, "empty", 2, shape_empty, NULL);
  affect_safetensors_writer_add (writer, "scale", 0, NULL, &scalar);
  g_assert_true (affect_safetensors_writer_write (writer, path, &error));
  g_assert_no_error (error);
  affect_safetensors_writer_free (writer);

  file = affect_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (file);
  g_assert_cmpuint (affect_safetensors_n_tensors (file), ==, 3);
  /* file order is the order added */
  g_assert_cmpstr (affect_safetensors_name (file, 0), ==, "layer.weight");
  g_assert_cmpstr (affect_safetensors_name (file, 1), ==, "empty");
  g_assert_cmpstr (affect_safetensors_name (file, 2), ==, "scale");
  g_assert_cmpstr (affect_safetensors_dtype (file, "scale"), ==, "F32");
  g_assert_true (affect_safetensors_has (file, "empty"));
  g_assert_false (affect_safetensors_has (file, "nothing"));

  g_assert_true (affect_safetensors_get (file, "layer.weight", &view, &error));
  g_assert_cmpint (view.n_dims, ==, 2);
  g_assert_cmpint (view.shape[0], ==, 2);
  g_assert_cmpint (view.shape[1], ==, 3);
  g_assert_cmpint (view.n_elements, ==, 6);
  g_assert_cmpmem (view.data, sizeof (w), w, sizeof (w));
  g_assert_cmpuint ((guintptr) view.data % 4, ==, 0);

  g_assert_true (affect_safetensors_get (file, "empty", &view, &error));
  g_assert_cmpint (view.n_elements, ==, 0);
  g_assert_true (affect_safetensors_get (file, "scale", &view, &error));
  g_assert_cmpint (view.n_dims, ==, 0);
  g_assert_cmpint (view.n_elements, ==, 1);
  g_assert_cmpfloat (view.data[0], ==, 42.0f);

  g_assert_true (affect_safetensors_get_shaped (file, "layer.weight", 2, want,
          &view, &error));
  g_assert_false (affect_safetensors_get_shaped (file, "layer.weight", 2,
          wrong, &view, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "'layer.weight' has shape [2, 3], "
          "expected [3, 2]"));
  g_clear_error (&error);
  g_assert_false (affect_safetensors_get (file, "nothing", &view, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "'nothing'"));
  g_clear_error (&error);

  g_assert_cmpstr (affect_safetensors_metadata (file, "arch"), ==,
      "moodnet-v2");
  g_assert_cmpstr (affect_safetensors_metadata (file, "labels"), ==,
      "a,\"b\",ç");
  g_assert_null (affect_safetensors_metadata (file, "none"));
  keys = affect_safetensors_metadata_keys (file);
  g_assert_cmpuint (g_strv_length ((char **) keys), ==, 2);
  g_assert_cmpstr (keys[0], ==, "arch");
  g_assert_cmpstr (keys[1], ==, "labels");
  affect_safetensors_close (file);
  g_free (path);
}

static void
test_atomic_write (void)
{
  const int64_t shape[] = { 1 };
  const float one = 1.0f, two = 2.0f;
  AffectSafetensorsWriter *writer = affect_safetensors_writer_new ();
  AffectSafetensors *file;
  AffectTensorView view;
  GError *error = NULL;
  char *path = tmp_path ("atomic.safetensors");
  char *bad = g_build_filename (tmp_dir, "no-such-dir", "x.safetensors", NULL);
  GDir *dir;
  const char *entry;

  affect_safetensors_writer_add (writer, "x", 1, shape, &one);
  g_assert_true (affect_safetensors_writer_write (writer, path, NULL));
  /* a reader holding the old mapping keeps seeing the old contents while
   * the file is replaced */
  file = affect_safetensors_open (path, &error);
  g_assert_no_error (error);
  affect_safetensors_writer_free (writer);
  writer = affect_safetensors_writer_new ();
  affect_safetensors_writer_add (writer, "x", 1, shape, &two);
  g_assert_true (affect_safetensors_writer_write (writer, path, NULL));
  g_assert_true (affect_safetensors_get (file, "x", &view, NULL));
  g_assert_cmpfloat (view.data[0], ==, 1.0f);
  affect_safetensors_close (file);
  file = affect_safetensors_open (path, &error);
  g_assert_true (affect_safetensors_get (file, "x", &view, NULL));
  g_assert_cmpfloat (view.data[0], ==, 2.0f);
  affect_safetensors_close (file);

  g_assert_false (affect_safetensors_writer_write (writer, bad, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "no-such-dir"));
  g_clear_error (&error);

  /* a duplicate name is refused and the destination is left alone */
  affect_safetensors_writer_add (writer, "x", 1, shape, &one);
  g_assert_false (affect_safetensors_writer_write (writer, path, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "'x'"));
  g_clear_error (&error);
  affect_safetensors_writer_free (writer);
  file = affect_safetensors_open (path, &error);
  g_assert_no_error (error);
  affect_safetensors_close (file);

  /* no temporary file is left behind */
  dir = g_dir_open (tmp_dir, 0, NULL);
  while ((entry = g_dir_read_name (dir)) != NULL)
    g_assert_null (strstr (entry, ".tmp-"));
  g_dir_close (dir);
  g_free (path);
  g_free (bad);
}

static void
test_conversions (void)
{
  /* F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), 0x03ff (largest
   * subnormal), +inf, -0 ; BF16: 1, -5 ; then an F32 at an odd offset */
  const guint16 f16[] = { 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00,
    0x8000
  };
  const guint16 bf16[] = { 0x3f80, 0xc0a0 };
  const guint8 i8[] = { 0xff, 0x7f, 0x01 };
  const float f32 = 0.1f;
  const double f64[] = { 0.1, -1e30, 3.0 };
  const gint64 i64[] = { -3, 1 << 20 };
  guint8 data[14 + 4 + 3 + 4 + 24 + 16];
  gsize o = 0;
  AffectSafetensors *file;
  AffectTensorView v;
  GError *error = NULL;
  GBytes *bytes;
  const char *header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[7],"
      "\"data_offsets\":[0,14]},"
      "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[14,18]},"
      "\"i\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[18,21]},"
      "\"f\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[21,25]},"
      "\"d\":{\"dtype\":\"F64\",\"shape\":[1,3],\"data_offsets\":[25,49]},"
      "\"l\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[49,65]}}";

  /* host is little-endian on every platform we build for; the file is LE */
  g_assert_cmpint (G_BYTE_ORDER, ==, G_LITTLE_ENDIAN);
  memcpy (data + o, f16, 14), o += 14;
  memcpy (data + o, bf16, 4), o += 4;
  memcpy (data + o, i8, 3), o += 3;
  memcpy (data + o, &f32, 4), o += 4;
  memcpy (data + o, f64, 24), o += 24;
  memcpy (data + o, i64, 16), o += 16;
  g_assert_cmpuint (o, ==, sizeof (data));
  bytes = make_file (header, data, sizeof (data));
  file = affect_safetensors_open_bytes (bytes, "conv", &error);
  g_assert_no_error (error);
  g_bytes_unref (bytes);

  g_assert_true (affect_safetensors_get (file, "h", &v, &error));
  g_assert_cmpfloat (v.data[0], ==, 1.0f);
  g_assert_cmpfloat (v.data[1], ==, -2.0f);
  g_assert_cmpfloat (v.data[2], ==, 65504.0f);
  g_assert_cmpfloat (v.data[3], ==, ldexpf (1.0f, -24));
  g_assert_cmpfloat (v.data[4], ==, ldexpf (1023.0f, -24));
  g_assert_true (isinf (v.data[5]) && v.data[5] > 0);
  g_assert_true (v.data[6] == 0.0f && signbit (v.data[6]));
  g_assert_true (affect_safetensors_get (file, "b", &v, &error));
  g_assert_cmpfloat (v.data[0], ==, 1.0f);
  g_assert_cmpfloat (v.data[1], ==, -5.0f);
  g_assert_true (affect_safetensors_get (file, "i", &v, &error));
  g_assert_cmpfloat (v.data[0], ==, -1.0f);
  g_assert_cmpfloat (v.data[1], ==, 127.0f);
  /* misaligned F32 comes back as an aligned copy */
  g_assert_true (affect_safetensors_get (file, "f", &v, &error));
  g_assert_cmpuint ((guintptr) v.data % 4, ==, 0);
  g_assert_cmpfloat (v.data[0], ==, 0.1f);
  g_assert_true (affect_safetensors_get (file, "d", &v, &error));
  g_assert_cmpfloat (v.data[0], ==, (float) 0.1);
  g_assert_cmpfloat (v.data[1], ==, (float) -1e30);
  g_assert_cmpfloat (v.data[2], ==, 3.0f);
  g_assert_true (affect_safetensors_get (file, "l", &v, &error));
  g_assert_cmpfloat (v.data[0], ==, -3.0f);
  g_assert_cmpfloat (v.data[1], ==, 1048576.0f);
  g_assert_no_error (error);
  affect_safetensors_close (file);
}

static void
test_f64_out_of_range (void)
{
  const double big = 1e300;
  GBytes *bytes = make_file ("{\"d\":{\"dtype\":\"F64\",\"shape\":[1],"
      "\"data_offsets\":[0,8]}}", &big, 8);
  AffectSafetensors *file = affect_safetensors_open_bytes (bytes, "big", NULL);
  AffectTensorView v;
  GError *error = NULL;

  g_assert_nonnull (file);
  g_assert_false (affect_safetensors_get (file, "d", &v, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "out of float32 range"));
  g_error_free (error);
  affect_safetensors_close (file);
  g_bytes_unref (bytes);
}

typedef struct
{
  const char *what;
  const char *header;
  gsize data_size;
  const char *message;          /* expected in the error */
} Hostile;

static const Hostile hostile[] = {
  {"non-JSON header", "{not json at all}", 0, "not valid JSON"},
  {"array header", "[1,2,3]", 0, "not a JSON object"},
  {"binary header", "{\"a\":\xff\xfe}", 0, "UTF-8"},
  {"entry not an object", "{\"a\":3}", 0, "'a' is not an object"},
  {"missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
      "needs \"dtype\""},
  {"bad dtype", "{\"a\":{\"dtype\":\"F8\",\"shape\":[1],"
        "\"data_offsets\":[0,1]}}", 1, "unsupported dtype 'F8'"},
  {"negative shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],"
        "\"data_offsets\":[0,4]}}", 4, "shape[0] is not a non-negative"},
  {"fractional shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],"
        "\"data_offsets\":[0,4]}}", 4, "shape[0] is not a non-negative"},
  {"string shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],"
        "\"data_offsets\":[0,4]}}", 4, "shape[0] is not a non-negative"},
  {"too many dims", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
        "\"data_offsets\":[0,4]}}", 4, "9 dimensions"},
  {"element overflow", "{\"a\":{\"dtype\":\"F32\","
        "\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4,
      "overflows (too many elements)"},
  {"byte overflow", "{\"a\":{\"dtype\":\"F64\","
        "\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", 4,
      "overflows (too many bytes)"},
  {"huge shape, small offsets", "{\"a\":{\"dtype\":\"F32\","
        "\"shape\":[1000000,1000000],\"data_offsets\":[0,4]}}", 4,
      "need 4000000000000"},
  {"offsets beyond data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]}}", 4, "outside the data section"},
  {"offsets reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],"
        "\"data_offsets\":[4,0]}}", 4, "outside the data section"},
  {"offsets negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[-4,0]}}", 4, "two non-negative integers"},
  {"three offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[0,4,8]}}", 8, "two non-negative integers"},
  {"size does not match dtype", "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],"
        "\"data_offsets\":[0,4]}}", 4, "span 4 bytes but dtype F64"},
  {"overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[4,12]}}", 12, "overlap"},
  {"aliasing", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]}}", 8, "overlap"},
  {"hole", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[4,8]}}", 8, "hole"},
  {"trailing bytes", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[0,4]}}", 12, "8 trailing bytes"},
  {"duplicate name", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[4,8]}}", 8, "names 'a' more than once"},
  {"metadata not strings", "{\"__metadata__\":{\"n\":3}}", 0,
      "value of 'n' is not a string"},
  {"metadata not an object", "{\"__metadata__\":\"x\"}", 0,
      "__metadata__ is not an object"},
};

static void
test_hostile (void)
{
  guint8 zeros[64] = { 0 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (hostile); i++) {
    const Hostile *h = &hostile[i];
    GBytes *bytes = make_file (h->header, zeros, h->data_size);
    GError *error = NULL;
    AffectSafetensors *file;

    g_test_message ("hostile: %s", h->what);
    file = affect_safetensors_open_bytes (bytes, h->what, &error);
    g_assert_null (file);
    g_assert_nonnull (error);
    g_assert_true (error->domain == AFFECT_ERROR);
    if (strstr (error->message, h->message) == NULL)
      g_error ("%s: message \"%s\" lacks \"%s\"", h->what, error->message,
          h->message);
    /* every message names its source */
    g_assert_true (g_str_has_prefix (error->message, h->what));
    g_error_free (error);
    g_bytes_unref (bytes);
  }
}

static void
test_header_length (void)
{
  guint8 buf[32] = { 0 };
  guint64 len;
  GBytes *bytes;
  GError *error = NULL;

  /* shorter than the length field */
  bytes = g_bytes_new (buf, 5);
  g_assert_null (affect_safetensors_open_bytes (bytes, "short", &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "too short"));
  g_clear_error (&error);
  g_bytes_unref (bytes);

  /* header length beyond the file, and one near 2^64 (overflow bait) */
  for (len = 25; len != 0; len = len == 25 ? G_MAXUINT64 - 4 : 0) {
    guint64 le = GUINT64_TO_LE (len);
    memset (buf, ' ', sizeof (buf));
    memcpy (buf, &le, 8);
    bytes = g_bytes_new (buf, sizeof (buf));
    g_assert_null (affect_safetensors_open_bytes (bytes, "long", &error));
    g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE);
    g_assert_nonnull (strstr (error->message, "exceeds the file"));
    g_clear_error (&error);
    g_bytes_unref (bytes);
  }

  /* a missing file is an I/O error naming the path */
  g_assert_null (affect_safetensors_open ("/nonexistent/model.safetensors",
          &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/model.safetensors"));
  g_clear_error (&error);
}

static GBytes *
valid_file_bytes (void)
{
  const int64_t s1[] = { 3, 4 }, s2[] = { 5 };
  float a[12], b[5];
  AffectSafetensorsWriter *w = affect_safetensors_writer_new ();
  char *path = tmp_path ("valid.safetensors");
  char *contents;
  gsize len;
  int i;

  for (i = 0; i < 12; i++)
    a[i] = i * 0.5f - 3.0f;
  for (i = 0; i < 5; i++)
    b[i] = -i;
  affect_safetensors_writer_set_metadata (w, "arch", "mlp");
  affect_safetensors_writer_add (w, "fc.weight", 2, s1, a);
  affect_safetensors_writer_add (w, "fc.bias", 1, s2, b);
  g_assert_true (affect_safetensors_writer_write (w, path, NULL));
  affect_safetensors_writer_free (w);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_free (path);
  return g_bytes_new_take (contents, len);
}

/* Every proper prefix of a valid file is rejected: the layout check leaves
 * no prefix that still parses. */
static void
test_truncated (void)
{
  GBytes *whole = valid_file_bytes ();
  gsize size = g_bytes_get_size (whole), n;
  AffectSafetensors *file;

  file = affect_safetensors_open_bytes (whole, "whole", NULL);
  g_assert_nonnull (file);
  affect_safetensors_close (file);
  for (n = 0; n < size; n++) {
    GBytes *part = g_bytes_new_from_bytes (whole, 0, n);
    GError *error = NULL;
    file = affect_safetensors_open_bytes (part, "part", &error);
    g_assert_null (file);
    g_assert_nonnull (error);
    g_error_free (error);
    g_bytes_unref (part);
  }
  g_bytes_unref (whole);
}

/* Random mutations of a valid file: each either opens (and every tensor
 * can then be read in full) or fails with an AFFECT_ERROR; never a crash. */
static void
test_mutations (void)
{
  GBytes *whole = valid_file_bytes ();
  gsize size;
  const guint8 *orig = g_bytes_get_data (whole, &size);
  guint8 *buf = g_malloc (size);
  AffectRng rng;
  int iter, opened = 0;

  affect_rng_init (&rng, 20240229);
  for (iter = 0; iter < 20000; iter++) {
    int n_flips = 1 + affect_rng_next (&rng) % 4, k;
    GBytes *bytes;
    AffectSafetensors *file;
    GError *error = NULL;

    memcpy (buf, orig, size);
    for (k = 0; k < n_flips; k++) {
      gsize pos = affect_rng_next (&rng) % size;
      /* favour the header, where the structure is */
      if (affect_rng_next (&rng) % 4 != 0)
        pos = pos % MIN (size, (gsize) 200);
      buf[pos] = (guint8) affect_rng_next (&rng);
    }
    bytes = g_bytes_new_static (buf, size);
    file = affect_safetensors_open_bytes (bytes, "mutant", &error);
    if (file != NULL) {
      guint i;
      volatile float sum = 0;
      opened++;
      for (i = 0; i < affect_safetensors_n_tensors (file); i++) {
        AffectTensorView v;
        int64_t j;
        if (affect_safetensors_get (file, affect_safetensors_name (file, i),
                &v, &error)) {
          for (j = 0; j < v.n_elements; j++)
            sum += v.data[j];
        } else {
          g_assert_true (error->domain == AFFECT_ERROR);
          g_clear_error (&error);
        }
      }
      affect_safetensors_close (file);
    } else {
      g_assert_nonnull (error);
      g_assert_true (error->domain == AFFECT_ERROR);
      g_error_free (error);
    }
    g_bytes_unref (bytes);
  }
  g_test_message ("%d of 20000 mutants opened", opened);
  g_free (buf);
  g_bytes_unref (whole);
}

/* The numpy reference writer and reader (../shared/reference/moodnet):
 * we read every dtype it writes, and it reads what we write. */
static const char *python_write =
    "import sys, numpy as np\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "import safetensors_np as st\n"
    "rng = np.random.default_rng(7)\n"
    "t = {'conv.weight': rng.standard_normal((4, 3, 3, 3)).astype(np.float32),\n"
    "     'fc.bias': rng.standard_normal(5).astype(np.float64),\n"
    "     'half': (rng.standard_normal((2, 7)) * 100).astype(np.float16),\n"
    "     'bn.num_batches_tracked': np.array(12345, dtype=np.int64),\n"
    "     'mask': np.array([True, False, True]),\n"
    "     'bytes': np.arange(250, 256, dtype=np.uint8),\n"
    "     'ints': np.array([-7, 0, 1 << 20], dtype=np.int32),\n"
    "     'small': np.array([-3, 3], dtype=np.int16),\n"
    "     'empty': np.zeros((0, 3), dtype=np.float32)}\n"
    "st.save(sys.argv[2], t, {'arch': 'moodnet', 'labels': 'happy,sad'})\n"
    "st.save(sys.argv[3], {k: v.astype(np.float32) for k, v in t.items()})\n";

static const char *python_read =
    "import sys, numpy as np\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "import safetensors_np as st\n"
    "ours, meta = st.load(sys.argv[2])\n"
    "ref, _ = st.load(sys.argv[3])\n"
    "assert list(ours) == list(ref), (list(ours), list(ref))\n"
    "for k in ref:\n"
    "    assert ours[k].dtype == np.float32 and ours[k].shape == ref[k].shape, k\n"
    "    assert np.array_equal(ours[k], ref[k]), k\n"
    "assert meta == {'arch': 'moodnet', 'labels': 'happy,sad', 'n': '9'}, meta\n"
    "print('python read', len(ours), 'tensors')\n";

static gboolean
run_python (const char *script, const char *a1, const char *a2, const char *a3)
{
  const char *argv[] = { "/usr/bin/python3", "-c", script, a1, a2, a3, NULL };
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
  }
  g_free (out);
  g_free (err);
  return ok;
}

static void
test_numpy_reference (void)
{
  const char *shared = g_getenv ("AFFECT_SHARED_DIR");
  char *ref_dir, *ref_py, *mixed, *f32, *ours;
  AffectSafetensors *a, *b;
  AffectSafetensorsWriter *w;
  GError *error = NULL;
  guint i;

  if (shared == NULL) {
    g_test_skip ("AFFECT_SHARED_DIR not set");
    return;
  }
  ref_dir = g_build_filename (shared, "reference", "moodnet", NULL);
  ref_py = g_build_filename (ref_dir, "safetensors_np.py", NULL);
  if (!g_file_test (ref_py, G_FILE_TEST_EXISTS)
      || !g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("reference safetensors_np.py or /usr/bin/python3 absent");
    g_free (ref_dir);
    g_free (ref_py);
    return;
  }
  mixed = tmp_path ("np-mixed.safetensors");
  f32 = tmp_path ("np-f32.safetensors");
  ours = tmp_path ("ours.safetensors");
  g_assert_true (run_python (python_write, ref_dir, mixed, f32));

  a = affect_safetensors_open (mixed, &error);
  g_assert_no_error (error);
  b = affect_safetensors_open (f32, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (affect_safetensors_n_tensors (a), ==, 9);
  g_assert_cmpstr (affect_safetensors_dtype (a, "half"), ==, "F16");
  g_assert_cmpstr (affect_safetensors_dtype (a, "fc.bias"), ==, "F64");
  g_assert_cmpstr (affect_safetensors_dtype (a, "mask"), ==, "BOOL");
  g_assert_cmpstr (affect_safetensors_metadata (a, "labels"), ==, "happy,sad");
  w = affect_safetensors_writer_new ();
  for (i = 0; i < affect_safetensors_n_tensors (a); i++) {
    const char *name = affect_safetensors_name (a, i);
    AffectTensorView va, vb;
    g_assert_cmpstr (name, ==, affect_safetensors_name (b, i));
    g_assert_true (affect_safetensors_get (a, name, &va, &error));
    g_assert_true (affect_safetensors_get (b, name, &vb, &error));
    g_assert_no_error (error);
    g_assert_cmpint (va.n_dims, ==, vb.n_dims);
    g_assert_cmpmem (va.shape, va.n_dims * 8, vb.shape, vb.n_dims * 8);
    /* our conversion equals numpy's astype(float32), bit for bit */
    g_assert_cmpmem (va.data, va.n_elements * 4, vb.data, vb.n_elements * 4);
    affect_safetensors_writer_add (w, name, va.n_dims, va.shape, va.data);
  }
  affect_safetensors_writer_set_metadata (w, "arch", "moodnet");
  affect_safetensors_writer_set_metadata (w, "labels", "happy,sad");
  affect_safetensors_writer_set_metadata (w, "n", "9");
  g_assert_true (affect_safetensors_writer_write (w, ours, &error));
  g_assert_no_error (error);
  affect_safetensors_writer_free (w);
  affect_safetensors_close (a);
  affect_safetensors_close (b);
  g_assert_true (run_python (python_read, ref_dir, ours, f32));

  g_free (ref_dir);
  g_free (ref_py);
  g_free (mixed);
  g_free (f32);
  g_free (ours);
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL) {
    char *p = g_build_filename (path, name, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (path);
}

/* a copy of a model file with one value of one tensor replaced */
static void
poison (const char *src, const char *dst, const char *tensor, gsize index,
    float value)
{
  GError *error = NULL;
  AffectSafetensors *f = affect_safetensors_open (src, &error);
  AffectSafetensorsWriter *w = affect_safetensors_writer_new ();
  const char *const *keys;
  gboolean found = FALSE;
  guint i;

  g_assert_no_error (error);
  keys = affect_safetensors_metadata_keys (f);
  for (i = 0; keys && keys[i]; i++)
    affect_safetensors_writer_set_metadata (w, keys[i],
        affect_safetensors_metadata (f, keys[i]));
  for (i = 0; i < affect_safetensors_n_tensors (f); i++) {
    AffectTensorView v;
    float *copy;

    g_assert_true (affect_safetensors_get (f, affect_safetensors_name (f, i),
            &v, &error));
    copy = g_memdup2 (v.data, MAX (v.n_elements, 1) * sizeof (float));
    if (strcmp (v.name, tensor) == 0) {
      g_assert_cmpint (index, <, v.n_elements);
      copy[index] = value;
      found = TRUE;
    }
    affect_safetensors_writer_add (w, v.name, v.n_dims, v.shape, copy);
    g_free (copy);
  }
  g_assert_true (found);
  g_assert_true (affect_safetensors_writer_write (w, dst, &error));
  affect_safetensors_writer_free (w);
  affect_safetensors_close (f);
}

static void
expect_error (GError * error, const char *path, const char *what)
{
  g_assert_nonnull (error);
  if (!g_str_has_prefix (error->message, path)
      || strstr (error->message, what) == NULL)
    g_error ("error '%s' does not start with '%s' and mention '%s'",
        error->message, path, what);
}

/* model files: a NaN or an Inf weight, a bad standardisation, is refused at
 * load naming the file and the tensor (before: loaded, predictions NaN) */
static void
test_model_weights_finite (void)
{
  char *dir = g_dir_make_tmp ("affect-finite-XXXXXX", NULL);
  char *good = g_build_filename (dir, "good.safetensors", NULL);
  char *bad = g_build_filename (dir, "bad.safetensors", NULL);
  AffectMlpConfig c = { 0 };
  AffectMoodNetConfig mc;
  AffectMlp *mlp;
  AffectMoodNet *net;
  GError *error = NULL;
  AffectTensorView view;
  AffectSafetensors *f;
  static const int64_t shape[2] = { 8, 4 };

  c.n_inputs = 4;
  c.n_hidden = 1;
  c.hidden[0] = 8;
  c.n_outputs = 1;
  c.hidden_activation = AFFECT_ACTIVATION_RELU;
  c.output_activation = AFFECT_ACTIVATION_IDENTITY;
  mlp = affect_mlp_new (&c, 1, &error);
  g_assert_no_error (error);
  g_assert_true (affect_mlp_save (mlp, good, &error));
  affect_mlp_free (mlp);
  mlp = affect_mlp_load (good, &error);
  g_assert_no_error (error);
  affect_mlp_free (mlp);

  poison (good, bad, "net.0.weight", 6, NAN);
  /* the raw accessor serves it; the model accessor and the loader do not */
  f = affect_safetensors_open (bad, &error);
  g_assert_true (affect_safetensors_get (f, "net.0.weight", &view, &error));
  g_assert_true (isnan (view.data[6]));
  g_assert_false (affect_safetensors_get_shaped (f, "net.0.weight", 2, shape,
          &view, &error));
  expect_error (error, bad, "tensor 'net.0.weight' holds a non-finite value "
      "(NaN) at [1, 2]");
  g_clear_error (&error);
  affect_safetensors_close (f);
  g_assert_null (affect_mlp_load (bad, &error));
  expect_error (error, bad, "'net.0.weight' holds a non-finite value (NaN)");
  g_clear_error (&error);

  poison (good, bad, "net.2.bias", 0, -INFINITY);
  g_assert_null (affect_mlp_load (bad, &error));
  expect_error (error, bad, "'net.2.bias' holds a non-finite value (-Inf) "
      "at [0]");
  g_clear_error (&error);
  poison (good, bad, "standardise.mean", 3, INFINITY);
  g_assert_null (affect_mlp_load (bad, &error));
  expect_error (error, bad, "'standardise.mean' holds a non-finite value "
      "(+Inf) at [3]");
  g_clear_error (&error);

  /* MoodNet, the same */
  affect_moodnet_config_init (&mc, 3);
  mc.chunks = 3;
  mc.chunk_frames = 72;
  mc.n_mels = 72;
  mc.width = 0.35;
  net = affect_moodnet_new (&mc, 1);
  g_assert_nonnull (net);
  g_assert_true (affect_moodnet_save (net, good, &error, NULL));
  affect_moodnet_free (net);
  net = affect_moodnet_load (good, &error);
  g_assert_no_error (error);
  affect_moodnet_free (net);
  f = affect_safetensors_open (good, &error);
  {
    char *name = g_strdup (affect_safetensors_name (f,
            affect_safetensors_n_tensors (f) - 1));
    affect_safetensors_close (f);
    poison (good, bad, name, 0, NAN);
    g_assert_null (affect_moodnet_load (bad, &error));
    expect_error (error, bad, "holds a non-finite value (NaN) at [0");
    g_assert_nonnull (strstr (error->message, name));
    g_clear_error (&error);
    g_free (name);
  }

  g_unlink (good);
  g_unlink (bad);
  g_rmdir (dir);
  g_free (good);
  g_free (bad);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-safetensors-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/atomic-write", test_atomic_write);
  g_test_add_func ("/safetensors/conversions", test_conversions);
  g_test_add_func ("/safetensors/f64-out-of-range", test_f64_out_of_range);
  g_test_add_func ("/safetensors/hostile", test_hostile);
  g_test_add_func ("/safetensors/header-length", test_header_length);
  g_test_add_func ("/safetensors/truncated", test_truncated);
  g_test_add_func ("/safetensors/mutations", test_mutations);
  g_test_add_func ("/safetensors/numpy-reference", test_numpy_reference);
  g_test_add_func ("/safetensors/model-weights-finite",
      test_model_weights_finite);
  ret = g_test_run ();
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}

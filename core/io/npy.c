/* numpy .npy arrays: a checked reader (any numeric dtype to float32 or
 * float64) and an atomic writer.
 *
 * Format: "\x93NUMPY", major, minor, header length (u16 LE in 1.0, u32 LE
 * in 2.0/3.0), a Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (4231, 56), }
 * padded with spaces and a newline, then the raw data.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "affect/npy.h"
#include "half.h"

static const char magic[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

/* ---- header dict literal ---- */

typedef struct
{
  const char *p, *end;
} Cursor;

static void
skip_space (Cursor * c)
{
  while (c->p < c->end && g_ascii_isspace (*c->p))
    c->p++;
}

static gboolean
accept (Cursor * c, char ch)
{
  skip_space (c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return TRUE;
  }
  return FALSE;
}

/* a quoted Python string without escapes (numpy never writes any) */
static char *
parse_string (Cursor * c)
{
  char quote;
  const char *start;

  skip_space (c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return NULL;
  quote = *c->p++;
  start = c->p;
  while (c->p < c->end && *c->p != quote && *c->p != '\\')
    c->p++;
  if (c->p >= c->end || *c->p != quote)
    return NULL;
  c->p++;
  return g_strndup (start, c->p - 1 - start);
}

static gboolean
parse_bool (Cursor * c, gboolean * value)
{
  skip_space (c);
  if (c->end - c->p >= 4 && strncmp (c->p, "True", 4) == 0) {
    c->p += 4;
    *value = TRUE;
    return TRUE;
  }
  if (c->end - c->p >= 5 && strncmp (c->p, "False", 5) == 0) {
    c->p += 5;
    *value = FALSE;
    return TRUE;
  }
  return FALSE;
}

static gboolean
parse_count (Cursor * c, int64_t * value)
{
  int64_t v = 0;
  gboolean any = FALSE;

  skip_space (c);
  while (c->p < c->end && g_ascii_isdigit (*c->p)) {
    if (__builtin_mul_overflow (v, 10, &v)
        || __builtin_add_overflow (v, *c->p - '0', &v))
      return FALSE;
    c->p++;
    any = TRUE;
  }
  /* Python 2 wrote long integers with an L suffix */
  if (any && c->p < c->end && *c->p == 'L')
    c->p++;
  *value = v;
  return any;
}

typedef struct
{
  char *descr;
  gboolean fortran_order;
  int n_dims;
  int64_t shape[AFFECT_NPY_MAX_DIMS];
  gboolean has_descr, has_order, has_shape;
} Header;

static gboolean
parse_header_dict (const char *text, gsize len, Header * h,
    const char *label, GError ** error)
{
  Cursor c = { text, text + len };
  const char *what = "'{'";

  memset (h, 0, sizeof (*h));
  if (!accept (&c, '{'))
    goto bad;
  while (!accept (&c, '}')) {
    char *key = parse_string (&c);
    what = "a quoted key";
    if (key == NULL)
      goto bad;
    what = "':'";
    if (!accept (&c, ':')) {
      g_free (key);
      goto bad;
    }
    if (strcmp (key, "descr") == 0) {
      g_clear_pointer (&h->descr, g_free);
      skip_space (&c);
      if (c.p < c.end && *c.p == '[') {
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
            "%s: structured dtypes are not supported", label);
        g_free (key);
        return FALSE;
      }
      h->descr = parse_string (&c);
      h->has_descr = h->descr != NULL;
      what = "a dtype string for 'descr'";
      if (h->descr == NULL) {
        g_free (key);
        goto bad;
      }
    } else if (strcmp (key, "fortran_order") == 0) {
      what = "True or False for 'fortran_order'";
      if (!parse_bool (&c, &h->fortran_order)) {
        g_free (key);
        goto bad;
      }
      h->has_order = TRUE;
    } else if (strcmp (key, "shape") == 0) {
      what = "a tuple of non-negative integers for 'shape'";
      h->n_dims = 0;
      if (!accept (&c, '(')) {
        g_free (key);
        goto bad;
      }
      while (!accept (&c, ')')) {
        if (h->n_dims == AFFECT_NPY_MAX_DIMS) {
          g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
              "%s: more than %d dimensions", label, AFFECT_NPY_MAX_DIMS);
          g_free (key);
          return FALSE;
        }
        if (!parse_count (&c, &h->shape[h->n_dims++])) {
          g_free (key);
          goto bad;
        }
        skip_space (&c);
        if (!accept (&c, ',') && !(c.p < c.end && *c.p == ')')) {
          g_free (key);
          goto bad;
        }
      }
      h->has_shape = TRUE;
    } else {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
          "%s: unexpected key '%s' in the header", label, key);
      g_free (key);
      return FALSE;
    }
    g_free (key);
    what = "',' or '}'";
    skip_space (&c);
    if (!accept (&c, ',') && !(c.p < c.end && *c.p == '}'))
      goto bad;
  }
  skip_space (&c);
  if (c.p != c.end) {
    what = "only padding after '}'";
    goto bad;
  }
  if (!h->has_descr || !h->has_order || !h->has_shape) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: header lacks '%s'", label,
        !h->has_descr ? "descr" : !h->has_order ? "fortran_order" : "shape");
    return FALSE;
  }
  return TRUE;

bad:
  g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
      "%s: malformed header at byte %d: expected %s", label,
      (int) (c.p - text), what);
  return FALSE;
}

static gboolean
parse_header (const char *text, gsize len, Header * h, const char *label,
    GError ** error)
{
  if (parse_header_dict (text, len, h, label, error))
    return TRUE;
  g_free (h->descr);
  h->descr = NULL;
  return FALSE;
}

/* ---- dtypes ---- */

typedef enum
{
  K_FLOAT, K_INT, K_UINT, K_BOOL
} Kind;

static gboolean
parse_descr (const char *descr, Kind * kind, guint * size, gboolean * swap)
{
  char order, k;
  char *end;
  long n;

  if (strlen (descr) < 3)
    return FALSE;
  order = descr[0];
  k = descr[1];
  n = strtol (descr + 2, &end, 10);
  if (*end != '\0' || n <= 0 || n > 8)
    return FALSE;
  if (order != '<' && order != '>' && order != '=' && order != '|')
    return FALSE;
  *swap = (order == '>' && G_BYTE_ORDER == G_LITTLE_ENDIAN)
      || (order == '<' && G_BYTE_ORDER == G_BIG_ENDIAN);
  *size = n;
  switch (k) {
    case 'f':
      *kind = K_FLOAT;
      return n == 2 || n == 4 || n == 8;
    case 'i':
      *kind = K_INT;
      return n == 1 || n == 2 || n == 4 || n == 8;
    case 'u':
      *kind = K_UINT;
      return n == 1 || n == 2 || n == 4 || n == 8;
    case 'b':
      *kind = K_BOOL;
      return n == 1;
    default:
      return FALSE;
  }
}

/* One loop per (kind, size), the switch outside: each element is read with
 * memcpy (the data may be unaligned), byte-swapped if the file's order is
 * not the host's, converted to double (exact for every source type but
 * 64-bit integers beyond 2^53), then stored as float or double. */
#define LOAD_LOOP(UTYPE, SWAP, EXPR) \
  for (i = 0; i < n; i++) { \
    UTYPE u; \
    double v; \
    memcpy (&u, src + i * sizeof (UTYPE), sizeof (UTYPE)); \
    if (swap) \
      u = SWAP (u); \
    v = (EXPR); \
    if (out_f) \
      out_f[i] = (float) v; \
    else \
      out_d[i] = v; \
  }
#define NO_SWAP(x) (x)

static inline double
u32_as_float (guint32 u)
{
  float f;

  memcpy (&f, &u, 4);
  return f;
}

static inline double
u64_as_double (guint64 u)
{
  double d;

  memcpy (&d, &u, 8);
  return d;
}

static void
load_values (const guint8 * src, gsize n, Kind kind, guint size,
    gboolean swap, float *out_f, double *out_d)
{
  gsize i;

  switch (kind) {
    case K_BOOL:
      LOAD_LOOP (guint8, NO_SWAP, u != 0);
      break;
    case K_FLOAT:
      if (size == 2)
        LOAD_LOOP (guint16, GUINT16_SWAP_LE_BE, affect_half_to_float (u))
      else if (size == 4)
        LOAD_LOOP (guint32, GUINT32_SWAP_LE_BE, u32_as_float (u))
      else
        LOAD_LOOP (guint64, GUINT64_SWAP_LE_BE, u64_as_double (u))
      break;
    case K_INT:
      if (size == 1)
        LOAD_LOOP (guint8, NO_SWAP, (gint8) u)
      else if (size == 2)
        LOAD_LOOP (guint16, GUINT16_SWAP_LE_BE, (gint16) u)
      else if (size == 4)
        LOAD_LOOP (guint32, GUINT32_SWAP_LE_BE, (gint32) u)
      else
        LOAD_LOOP (guint64, GUINT64_SWAP_LE_BE, (double) (gint64) u)
      break;
    case K_UINT:
      if (size == 1)
        LOAD_LOOP (guint8, NO_SWAP, u)
      else if (size == 2)
        LOAD_LOOP (guint16, GUINT16_SWAP_LE_BE, u)
      else if (size == 4)
        LOAD_LOOP (guint32, GUINT32_SWAP_LE_BE, u)
      else
        LOAD_LOOP (guint64, GUINT64_SWAP_LE_BE, (double) u)
      break;
  }
}

/* ---- reading ---- */

AffectNpyArray *
affect_npy_read_bytes (GBytes * bytes, const char *label, AffectNpyType type,
    GError ** error)
{
  const guint8 *p;
  gsize size, header_start, header_len, data_start, i;
  Header h;
  Kind kind;
  guint item_size;
  gboolean swap;
  int64_t n_elements = 1, n_bytes;
  AffectNpyArray *a;
  int d;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (type == AFFECT_NPY_FLOAT32
      || type == AFFECT_NPY_FLOAT64, NULL);
  if (label == NULL)
    label = "<memory>";

  p = g_bytes_get_data (bytes, &size);
  if (size < 10 || memcmp (p, magic, 6) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: not a .npy file (no \\x93NUMPY magic)", label);
    return NULL;
  }
  if (p[6] == 1) {
    header_start = 10;
    header_len = p[8] | (p[9] << 8);
  } else if (p[6] == 2 || p[6] == 3) {
    if (size < 12) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
          "%s: truncated .npy header", label);
      return NULL;
    }
    header_start = 12;
    header_len = p[8] | (p[9] << 8) | (p[10] << 16) | ((gsize) p[11] << 24);
  } else {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: .npy format version %d.%d is not supported (1.0, 2.0, 3.0 are)",
        label, p[6], p[7]);
    return NULL;
  }
  if (header_len > size - header_start) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: header length %" G_GSIZE_FORMAT " exceeds the file's %"
        G_GSIZE_FORMAT " bytes (truncated file?)", label, header_len, size);
    return NULL;
  }
  if (!parse_header ((const char *) p + header_start, header_len, &h, label,
          error))
    return NULL;
  data_start = header_start + header_len;

  if (!parse_descr (h.descr, &kind, &item_size, &swap)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: dtype '%s' is not supported (float, int, uint or bool arrays "
        "only)", label, h.descr);
    g_free (h.descr);
    return NULL;
  }
  if (h.fortran_order && h.n_dims > 1) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: Fortran-order arrays are not supported (save with "
        "numpy.ascontiguousarray)", label);
    g_free (h.descr);
    return NULL;
  }
  for (d = 0; d < h.n_dims; d++) {
    if (__builtin_mul_overflow (n_elements, h.shape[d], &n_elements)) {
      n_elements = -1;
      break;
    }
  }
  if (n_elements < 0
      || __builtin_mul_overflow (n_elements, (int64_t) item_size, &n_bytes)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: shape overflows", label);
    g_free (h.descr);
    return NULL;
  }
  if ((guint64) n_bytes != size - data_start) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: data is %" G_GSIZE_FORMAT " bytes but dtype '%s' and its shape "
        "need %" G_GINT64_FORMAT "%s", label, size - data_start, h.descr,
        n_bytes, (guint64) n_bytes > size - data_start ? " (truncated file?)" :
        "");
    g_free (h.descr);
    return NULL;
  }

  a = g_new0 (AffectNpyArray, 1);
  a->n_dims = h.n_dims;
  memcpy (a->shape, h.shape, sizeof (h.shape));
  a->n_elements = n_elements;
  g_strlcpy (a->descr, h.descr, sizeof (a->descr));
  g_free (h.descr);
  a->type = type;
  a->data = g_try_malloc (MAX (n_elements, 1) *
      (type == AFFECT_NPY_FLOAT32 ? sizeof (float) : sizeof (double)));
  if (a->data == NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "%s: cannot allocate %" G_GINT64_FORMAT " values", label, n_elements);
    g_free (a);
    return NULL;
  }
  p += data_start;
  if (type == AFFECT_NPY_FLOAT32) {
    float *out = a->data;
    load_values (p, n_elements, kind, item_size, swap, out, NULL);
    /* a finite double beyond float range must not become an infinity */
    if (kind == K_FLOAT && item_size == 8) {
      for (i = 0; i < (gsize) n_elements; i++) {
        if (G_UNLIKELY (isinf (out[i]))) {
          double v;
          load_values (p + i * 8, 1, kind, 8, swap, NULL, &v);
          if (isfinite (v)) {
            g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
                "%s: value %g at element %" G_GSIZE_FORMAT " is out of "
                "float32 range", label, v, i);
            affect_npy_array_free (a);
            return NULL;
          }
        }
      }
    }
  } else {
    load_values (p, n_elements, kind, item_size, swap, NULL, a->data);
  }
  return a;
}

AffectNpyArray *
affect_npy_read (const char *path, AffectNpyType type, GError ** error)
{
  GMappedFile *mapped;
  GBytes *bytes;
  AffectNpyArray *a;
  GError *map_error = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  mapped = g_mapped_file_new (path, FALSE, &map_error);
  if (mapped == NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "cannot open array file: %s", map_error->message);
    g_error_free (map_error);
    return NULL;
  }
  bytes = g_mapped_file_get_bytes (mapped);
  g_mapped_file_unref (mapped);
  a = affect_npy_read_bytes (bytes, path, type, error);
  g_bytes_unref (bytes);
  return a;
}

void
affect_npy_array_free (AffectNpyArray * array)
{
  if (array == NULL)
    return;
  g_free (array->data);
  g_free (array);
}

/* ---- writing ---- */

gboolean
affect_npy_write (const char *path, AffectNpyType type, int n_dims,
    const int64_t * shape, const void *data, GError ** error)
{
  static const struct
  {
    const char *descr;
    gsize size;
  } types[] = {
    [AFFECT_NPY_FLOAT32] = {"<f4", 4},
    [AFFECT_NPY_FLOAT64] = {"<f8", 8},
    [AFFECT_NPY_BOOL] = {"|b1", 1},
  };
  GString *header;
  AffectAtomicFile *out;
  guint8 prefix[12];
  gsize prefix_len, n_elements = 1, total;
  gboolean ok;
  int d;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (types), FALSE);
  g_return_val_if_fail (n_dims >= 0 && n_dims <= AFFECT_NPY_MAX_DIMS, FALSE);
  for (d = 0; d < n_dims; d++)
    g_return_val_if_fail (shape[d] >= 0, FALSE);

  header = g_string_new (NULL);
  g_string_append_printf (header, "{'descr': '%s', 'fortran_order': False, "
      "'shape': (", types[type].descr);
  for (d = 0; d < n_dims; d++) {
    g_string_append_printf (header, "%s%" G_GINT64_FORMAT, d ? ", " : "",
        shape[d]);
    n_elements *= shape[d];
  }
  /* a 1-tuple needs its trailing comma in Python */
  g_string_append (header, n_dims == 1 ? ",), }" : "), }");

  /* numpy pads so that the data starts 64-byte aligned and the header
   * ends with a newline */
  prefix_len = header->len + 1 + 10 > 65535 ? 12 : 10;
  total = prefix_len + header->len + 1;
  while (total % 64 != 0) {
    g_string_append_c (header, ' ');
    total++;
  }
  g_string_append_c (header, '\n');

  memcpy (prefix, magic, 6);
  prefix[6] = prefix_len == 10 ? 1 : 2;
  prefix[7] = 0;
  if (prefix_len == 10) {
    guint16 len_le = GUINT16_TO_LE ((guint16) header->len);
    memcpy (prefix + 8, &len_le, 2);
  } else {
    guint32 len_le = GUINT32_TO_LE ((guint32) header->len);
    memcpy (prefix + 8, &len_le, 4);
  }

  out = affect_atomic_file_new (path, error);
  if (out == NULL) {
    g_string_free (header, TRUE);
    return FALSE;
  }
  ok = affect_atomic_file_write (out, prefix, prefix_len, error)
      && affect_atomic_file_write (out, header->str, header->len, error);
  g_string_free (header, TRUE);
  if (ok && type == AFFECT_NPY_BOOL) {
    /* normalise to 0/1, as numpy's bool is */
    const guint8 *src = data;
    guint8 buf[4096];
    gsize i = 0;
    while (ok && i < n_elements) {
      gsize n = MIN (sizeof (buf), n_elements - i), j;
      for (j = 0; j < n; j++)
        buf[j] = src[i + j] != 0;
      ok = affect_atomic_file_write (out, buf, n, error);
      i += n;
    }
  } else if (ok) {
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
    ok = affect_atomic_file_write (out, data, n_elements * types[type].size,
        error);
#else
    const guint8 *src = data;
    gsize i, size = types[type].size;
    for (i = 0; ok && i < n_elements; i++) {
      guint8 b[8];
      gsize j;
      for (j = 0; j < size; j++)
        b[j] = src[i * size + size - 1 - j];
      ok = affect_atomic_file_write (out, b, size, error);
    }
#endif
  }
  if (!ok) {
    affect_atomic_file_abort (out);
    return FALSE;
  }
  return affect_atomic_file_commit (out, error);
}

/* safetensors model files: bounds-checked mmap reader, atomic writer.
 *
 * The reader trusts nothing in the file: the header length, every dtype,
 * shape and data offset is checked before a byte of tensor data is touched,
 * and every size computation is overflow-checked.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "affect/safetensors.h"
#include "half.h"

/* The reference implementation's limit; a header is names and shapes, so
 * anything larger is hostile. */
#define MAX_HEADER_SIZE (100 * 1024 * 1024)

typedef enum
{
  DT_F32, DT_F16, DT_BF16, DT_F64,
  DT_I8, DT_I16, DT_I32, DT_I64,
  DT_U8, DT_U16, DT_U32, DT_U64, DT_BOOL
} Dtype;

static const struct
{
  const char *name;
  guint size;
} dtypes[] = {
  [DT_F32] = {"F32", 4},
  [DT_F16] = {"F16", 2},
  [DT_BF16] = {"BF16", 2},
  [DT_F64] = {"F64", 8},
  [DT_I8] = {"I8", 1},
  [DT_I16] = {"I16", 2},
  [DT_I32] = {"I32", 4},
  [DT_I64] = {"I64", 8},
  [DT_U8] = {"U8", 1},
  [DT_U16] = {"U16", 2},
  [DT_U32] = {"U32", 4},
  [DT_U64] = {"U64", 8},
  [DT_BOOL] = {"BOOL", 1},
};

typedef struct
{
  char *name;
  Dtype dtype;
  int n_dims;
  int64_t shape[AFFECT_TENSOR_MAX_DIMS];
  int64_t n_elements;
  guint64 begin, end;           /* relative to the data section */
  float *converted;             /* owned; NULL until first access unless F32 */
} Entry;

struct _AffectSafetensors
{
  char *label;                  /* path, for messages */
  GBytes *bytes;
  const guint8 *data;           /* data section */
  gsize data_size;
  GPtrArray *entries;           /* Entry*, header order */
  GHashTable *by_name;          /* name -> Entry* */
  GHashTable *metadata;         /* key -> value, owned strings */
  char **metadata_keys;         /* NULL-terminated, header order */
  GMutex convert_lock;          /* first-access conversions */
};

static void
entry_free (gpointer p)
{
  Entry *e = p;

  g_free (e->name);
  g_free (e->converted);
  g_free (e);
}

static gboolean
dtype_from_string (const char *s, Dtype * dtype)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (dtypes); i++) {
    if (strcmp (s, dtypes[i].name) == 0) {
      *dtype = i;
      return TRUE;
    }
  }
  return FALSE;
}

/* A JSON integer that fits a non-negative int64; json-glib stores numbers
 * with a fraction or exponent as doubles, which we refuse. */
static gboolean
node_get_count (JsonNode * node, int64_t * value)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return *value >= 0;
}

/* json-glib keeps only the last of duplicate members; catch duplicates as
 * the parser reports each member. */
typedef struct
{
  GHashTable *seen;             /* "object-pointer/name" */
  char *duplicate;              /* first duplicated name, or NULL */
} MemberCheck;

static void
on_object_member (JsonParser * parser, JsonObject * object,
    const char *member_name, gpointer user_data)
{
  MemberCheck *check = user_data;
  char *key = g_strdup_printf ("%p/%s", (void *) object, member_name);

  if (!g_hash_table_add (check->seen, key) && check->duplicate == NULL)
    check->duplicate = g_strdup (member_name);
}

static gboolean
parse_tensor (AffectSafetensors * file, const char *name, JsonNode * node,
    GError ** error)
{
  JsonObject *obj;
  JsonNode *dtype_node, *shape_node, *offsets_node;
  JsonArray *shape, *offsets;
  Entry *e;
  guint i, n;
  int64_t begin, end, n_bytes;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: header entry '%s' is not an object", file->label, name);
    return FALSE;
  }
  obj = json_node_get_object (node);
  dtype_node = json_object_get_member (obj, "dtype");
  shape_node = json_object_get_member (obj, "shape");
  offsets_node = json_object_get_member (obj, "data_offsets");
  if (dtype_node == NULL || json_node_get_value_type (dtype_node) !=
      G_TYPE_STRING || shape_node == NULL || !JSON_NODE_HOLDS_ARRAY (shape_node)
      || offsets_node == NULL || !JSON_NODE_HOLDS_ARRAY (offsets_node)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: tensor '%s' needs \"dtype\" (string), \"shape\" (array) and "
        "\"data_offsets\" (array)", file->label, name);
    return FALSE;
  }

  e = g_new0 (Entry, 1);
  e->name = g_strdup (name);
  g_ptr_array_add (file->entries, e);   /* owned from here on */

  if (!dtype_from_string (json_node_get_string (dtype_node), &e->dtype)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: tensor '%s' has unsupported dtype '%s' (expected F32, F16, BF16, "
        "F64, I8..I64, U8..U64 or BOOL)", file->label, name,
        json_node_get_string (dtype_node));
    return FALSE;
  }

  shape = json_node_get_array (shape_node);
  n = json_array_get_length (shape);
  if (n > AFFECT_TENSOR_MAX_DIMS) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: tensor '%s' has %u dimensions (at most %d supported)",
        file->label, name, n, AFFECT_TENSOR_MAX_DIMS);
    return FALSE;
  }
  e->n_dims = n;
  e->n_elements = 1;
  for (i = 0; i < n; i++) {
    if (!node_get_count (json_array_get_element (shape, i), &e->shape[i])) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
          "%s: tensor '%s': shape[%u] is not a non-negative integer",
          file->label, name, i);
      return FALSE;
    }
    if (__builtin_mul_overflow (e->n_elements, e->shape[i], &e->n_elements)) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "%s: tensor '%s': shape overflows (too many elements)",
          file->label, name);
      return FALSE;
    }
  }
  if (__builtin_mul_overflow (e->n_elements, (int64_t) dtypes[e->dtype].size,
          &n_bytes)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: tensor '%s': shape overflows (too many bytes)", file->label, name);
    return FALSE;
  }

  offsets = json_node_get_array (offsets_node);
  if (json_array_get_length (offsets) != 2
      || !node_get_count (json_array_get_element (offsets, 0), &begin)
      || !node_get_count (json_array_get_element (offsets, 1), &end)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: tensor '%s': data_offsets must be two non-negative integers",
        file->label, name);
    return FALSE;
  }
  if (begin > end || (guint64) end > file->data_size) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: tensor '%s': data_offsets [%" G_GINT64_FORMAT ", %"
        G_GINT64_FORMAT "] outside the data section of %" G_GSIZE_FORMAT
        " bytes (truncated file?)", file->label, name, begin, end,
        file->data_size);
    return FALSE;
  }
  if (end - begin != n_bytes) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: tensor '%s': data_offsets span %" G_GINT64_FORMAT " bytes but "
        "dtype %s and its shape need %" G_GINT64_FORMAT, file->label, name,
        end - begin, dtypes[e->dtype].name, n_bytes);
    return FALSE;
  }
  e->begin = begin;
  e->end = end;
  g_hash_table_insert (file->by_name, e->name, e);
  return TRUE;
}

static gboolean
parse_metadata (AffectSafetensors * file, JsonNode * node, GError ** error)
{
  JsonObject *obj;
  GList *members, *l;
  GPtrArray *keys;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: __metadata__ is not an object", file->label);
    return FALSE;
  }
  obj = json_node_get_object (node);
  members = json_object_get_members (obj);
  keys = g_ptr_array_new ();
  for (l = members; l != NULL; l = l->next) {
    JsonNode *v = json_object_get_member (obj, l->data);
    if (json_node_get_value_type (v) != G_TYPE_STRING) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
          "%s: __metadata__ value of '%s' is not a string", file->label,
          (const char *) l->data);
      g_list_free (members);
      g_ptr_array_free (keys, TRUE);
      return FALSE;
    }
    g_hash_table_replace (file->metadata, g_strdup (l->data),
        g_strdup (json_node_get_string (v)));
    g_ptr_array_add (keys, g_strdup (l->data));
  }
  g_list_free (members);
  g_ptr_array_add (keys, NULL);
  g_strfreev (file->metadata_keys);
  file->metadata_keys = (char **) g_ptr_array_free (keys, FALSE);
  return TRUE;
}

static gint
compare_begin (gconstpointer a, gconstpointer b)
{
  const Entry *ea = *(const Entry **) a, *eb = *(const Entry **) b;

  if (ea->begin != eb->begin)
    return ea->begin < eb->begin ? -1 : 1;
  return ea->end < eb->end ? -1 : ea->end > eb->end;
}

/* Tensors must tile the data section: no overlap (two names aliasing the
 * same bytes), no holes and no trailing bytes (room to hide another file). */
static gboolean
check_layout (AffectSafetensors * file, GError ** error)
{
  GPtrArray *sorted = g_ptr_array_sized_new (file->entries->len);
  guint64 pos = 0;
  guint i;
  gboolean ok = TRUE;

  for (i = 0; i < file->entries->len; i++)
    g_ptr_array_add (sorted, g_ptr_array_index (file->entries, i));
  g_ptr_array_sort (sorted, compare_begin);
  for (i = 0; i < sorted->len && ok; i++) {
    Entry *e = g_ptr_array_index (sorted, i);
    if (e->begin < pos) {
      Entry *prev = g_ptr_array_index (sorted, i - 1);
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "%s: tensors '%s' and '%s' overlap (bytes %" G_GUINT64_FORMAT
          "..%" G_GUINT64_FORMAT ")", file->label, prev->name, e->name,
          e->begin, pos);
      ok = FALSE;
    } else if (e->begin > pos) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "%s: hole in the data section before tensor '%s' (bytes %"
          G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT " belong to no tensor)",
          file->label, e->name, pos, e->begin);
      ok = FALSE;
    }
    pos = e->end;
  }
  if (ok && pos != file->data_size) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: %" G_GUINT64_FORMAT " trailing bytes after the last tensor",
        file->label, (guint64) file->data_size - pos);
    ok = FALSE;
  }
  g_ptr_array_free (sorted, TRUE);
  return ok;
}

static gboolean
parse_header (AffectSafetensors * file, const guint8 * header, gsize size,
    GError ** error)
{
  JsonParser *parser;
  JsonNode *root;
  JsonObject *obj;
  GList *members, *l;
  MemberCheck check = { NULL, NULL };
  GError *json_error = NULL;
  gboolean ok = TRUE;
  gsize i;

  /* The spec requires an object; rejecting early also keeps a stray
   * scalar or array header from reaching the parser's tolerant paths. */
  for (i = 0; i < size && g_ascii_isspace (header[i]); i++);
  if (i == size || header[i] != '{') {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: header is not a JSON object (not a safetensors file?)",
        file->label);
    return FALSE;
  }
  if (memchr (header, '\0', size) != NULL
      || !g_utf8_validate ((const char *) header, size, NULL)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: header is not valid UTF-8 JSON text", file->label);
    return FALSE;
  }

  parser = json_parser_new_immutable ();
  check.seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member),
      &check);
  if (!json_parser_load_from_data (parser, (const char *) header, size,
          &json_error)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: header is not valid JSON: %s", file->label, json_error->message);
    g_error_free (json_error);
    ok = FALSE;
    goto out;
  }
  if (check.duplicate != NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: header names '%s' more than once", file->label, check.duplicate);
    ok = FALSE;
    goto out;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: header is not a JSON object", file->label);
    ok = FALSE;
    goto out;
  }
  obj = json_node_get_object (root);
  members = json_object_get_members (obj);
  for (l = members; l != NULL && ok; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (obj, name);
    if (strcmp (name, "__metadata__") == 0)
      ok = parse_metadata (file, node, error);
    else
      ok = parse_tensor (file, name, node, error);
  }
  g_list_free (members);
  if (ok)
    ok = check_layout (file, error);

out:
  g_hash_table_unref (check.seen);
  g_free (check.duplicate);
  g_object_unref (parser);
  return ok;
}

AffectSafetensors *
affect_safetensors_open_bytes (GBytes * bytes, const char *label,
    GError ** error)
{
  AffectSafetensors *file;
  const guint8 *p;
  gsize size;
  guint64 header_size;

  g_return_val_if_fail (bytes != NULL, NULL);

  file = g_new0 (AffectSafetensors, 1);
  file->label = g_strdup (label ? label : "<memory>");
  file->bytes = g_bytes_ref (bytes);
  file->entries = g_ptr_array_new_with_free_func (entry_free);
  file->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  file->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  file->metadata_keys = g_new0 (char *, 1);
  g_mutex_init (&file->convert_lock);

  p = g_bytes_get_data (bytes, &size);
  if (size < 8) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: %" G_GSIZE_FORMAT " bytes is too short for a safetensors file "
        "(8-byte header length missing)", file->label, size);
    goto fail;
  }
  header_size = GUINT64_FROM_LE (*(const guint64 *) (const void *) p);
  if (header_size > size - 8) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: header length %" G_GUINT64_FORMAT " exceeds the file's %"
        G_GSIZE_FORMAT " bytes (truncated file?)", file->label, header_size,
        size);
    goto fail;
  }
  if (header_size > MAX_HEADER_SIZE || header_size < 2) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "%s: implausible header length %" G_GUINT64_FORMAT, file->label,
        header_size);
    goto fail;
  }
  file->data = p + 8 + header_size;
  file->data_size = size - 8 - header_size;
  if (!parse_header (file, p + 8, header_size, error))
    goto fail;
  return file;

fail:
  affect_safetensors_close (file);
  return NULL;
}

AffectSafetensors *
affect_safetensors_open (const char *path, GError ** error)
{
  GMappedFile *mapped;
  GBytes *bytes;
  AffectSafetensors *file;
  GError *map_error = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  mapped = g_mapped_file_new (path, FALSE, &map_error);
  if (mapped == NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "cannot open model file: %s", map_error->message);
    g_error_free (map_error);
    return NULL;
  }
  bytes = g_mapped_file_get_bytes (mapped);
  g_mapped_file_unref (mapped);
  file = affect_safetensors_open_bytes (bytes, path, error);
  g_bytes_unref (bytes);
  return file;
}

void
affect_safetensors_close (AffectSafetensors * file)
{
  if (file == NULL)
    return;
  g_hash_table_unref (file->by_name);
  g_ptr_array_free (file->entries, TRUE);
  g_hash_table_unref (file->metadata);
  g_strfreev (file->metadata_keys);
  g_bytes_unref (file->bytes);
  g_mutex_clear (&file->convert_lock);
  g_free (file->label);
  g_free (file);
}

guint
affect_safetensors_n_tensors (const AffectSafetensors * file)
{
  return file->entries->len;
}

const char *
affect_safetensors_name (const AffectSafetensors * file, guint i)
{
  g_return_val_if_fail (i < file->entries->len, NULL);
  return ((Entry *) g_ptr_array_index (file->entries, i))->name;
}

gboolean
affect_safetensors_has (const AffectSafetensors * file, const char *name)
{
  return g_hash_table_contains (file->by_name, name);
}

const char *
affect_safetensors_dtype (const AffectSafetensors * file, const char *name)
{
  Entry *e = g_hash_table_lookup (file->by_name, name);

  return e ? dtypes[e->dtype].name : NULL;
}

/* One loop per dtype (the switch is outside the loop): read each element
 * with memcpy, as the source may be unaligned, from little-endian. */
#define CONVERT_LOOP(UTYPE, FROM_LE, EXPR) \
  for (i = 0; i < n; i++) { \
    UTYPE u; \
    memcpy (&u, src + i * sizeof (UTYPE), sizeof (UTYPE)); \
    u = FROM_LE (u); \
    dst[i] = (EXPR); \
  }
#define IDENTITY(x) (x)

static inline float
bits_to_float (guint32 u)
{
  float f;

  memcpy (&f, &u, 4);
  return f;
}

static inline double
bits_to_double (guint64 u)
{
  double d;

  memcpy (&d, &u, 8);
  return d;
}

static gboolean
convert (AffectSafetensors * file, Entry * e, GError ** error)
{
  const guint8 *src = file->data + e->begin;
  gsize n = e->n_elements, i;
  float *dst;

  dst = g_try_new (float, MAX (n, 1));
  if (dst == NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: tensor '%s': cannot allocate %" G_GSIZE_FORMAT " floats",
        file->label, e->name, n);
    return FALSE;
  }
  switch (e->dtype) {
    case DT_F32:
      CONVERT_LOOP (guint32, GUINT32_FROM_LE, bits_to_float (u));
      break;
    case DT_F16:
      CONVERT_LOOP (guint16, GUINT16_FROM_LE, affect_half_to_float (u));
      break;
    case DT_BF16:
      /* bfloat16 is the upper half of a float32 */
      CONVERT_LOOP (guint16, GUINT16_FROM_LE,
          bits_to_float ((guint32) u << 16));
      break;
    case DT_F64:
      CONVERT_LOOP (guint64, GUINT64_FROM_LE, (float) bits_to_double (u));
      /* a finite double beyond float range must not become an infinity */
      for (i = 0; i < n; i++) {
        if (G_UNLIKELY (isinf (dst[i]))) {
          guint64 u;
          double d;
          memcpy (&u, src + i * 8, 8);
          d = bits_to_double (GUINT64_FROM_LE (u));
          if (isfinite (d)) {
            g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
                "%s: tensor '%s': F64 value %g at element %" G_GSIZE_FORMAT
                " is out of float32 range", file->label, e->name, d, i);
            g_free (dst);
            return FALSE;
          }
        }
      }
      break;
    case DT_I8:
      CONVERT_LOOP (guint8, IDENTITY, (gint8) u);
      break;
    case DT_U8:
      CONVERT_LOOP (guint8, IDENTITY, u);
      break;
    case DT_BOOL:
      CONVERT_LOOP (guint8, IDENTITY, u != 0);
      break;
    case DT_I16:
      CONVERT_LOOP (guint16, GUINT16_FROM_LE, (gint16) u);
      break;
    case DT_U16:
      CONVERT_LOOP (guint16, GUINT16_FROM_LE, u);
      break;
    case DT_I32:
      CONVERT_LOOP (guint32, GUINT32_FROM_LE, (gint32) u);
      break;
    case DT_U32:
      CONVERT_LOOP (guint32, GUINT32_FROM_LE, u);
      break;
    case DT_I64:
      CONVERT_LOOP (guint64, GUINT64_FROM_LE, (gint64) u);
      break;
    case DT_U64:
      CONVERT_LOOP (guint64, GUINT64_FROM_LE, u);
      break;
  }
  e->converted = dst;
  return TRUE;
}

gboolean
affect_safetensors_get (AffectSafetensors * file, const char *name,
    AffectTensorView * view, GError ** error)
{
  Entry *e;
  const guint8 *src;

  g_return_val_if_fail (file != NULL && name != NULL && view != NULL, FALSE);

  e = g_hash_table_lookup (file->by_name, name);
  if (e == NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: no tensor named '%s'", file->label, name);
    return FALSE;
  }
  src = file->data + e->begin;
  /* F32 is served from the mapping when it is aligned and the host is
   * little-endian; anything else gets a converted copy, once. Elements may
   * load one model from several streaming threads, hence the lock. */
  if (e->dtype != DT_F32 || G_BYTE_ORDER != G_LITTLE_ENDIAN
      || ((guintptr) src % G_ALIGNOF (float)) != 0)
  {
    gboolean ok = TRUE;
    g_mutex_lock (&file->convert_lock);
    if (e->converted == NULL)
      ok = convert (file, e, error);
    g_mutex_unlock (&file->convert_lock);
    if (!ok)
      return FALSE;
  }
  memset (view, 0, sizeof (*view));
  view->name = e->name;
  view->n_dims = e->n_dims;
  memcpy (view->shape, e->shape, sizeof (e->shape));
  view->n_elements = e->n_elements;
  view->data = e->converted ? e->converted : (const float *) (const void *) src;
  return TRUE;
}

static char *
shape_to_string (int n_dims, const int64_t * shape)
{
  GString *s = g_string_new ("[");
  int i;

  for (i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* "[i, j, k]" of a flat index, outermost first */
static char *
index_to_string (int n_dims, const int64_t * shape, int64_t flat)
{
  int64_t index[AFFECT_TENSOR_MAX_DIMS];
  int d;

  for (d = n_dims - 1; d >= 0; d--) {
    index[d] = shape[d] > 0 ? flat % shape[d] : 0;
    flat = shape[d] > 0 ? flat / shape[d] : 0;
  }
  return shape_to_string (n_dims, index);
}

gboolean
affect_safetensors_get_shaped (AffectSafetensors * file, const char *name,
    int n_dims, const int64_t * shape, AffectTensorView * view, GError ** error)
{
  Entry *e = g_hash_table_lookup (file->by_name, name);
  gboolean same;

  if (e != NULL) {
    same = e->n_dims == n_dims
        && memcmp (e->shape, shape, n_dims * sizeof (int64_t)) == 0;
    if (!same) {
      char *want = shape_to_string (n_dims, shape);
      char *got = shape_to_string (e->n_dims, e->shape);
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
          "%s: tensor '%s' has shape %s, expected %s", file->label, name, got,
          want);
      g_free (want);
      g_free (got);
      return FALSE;
    }
  }
  if (!affect_safetensors_get (file, name, view, error))
    return FALSE;
  /* a model's weights: one NaN makes every prediction NaN, much later */
  for (int64_t i = 0; i < view->n_elements; i++)
    if (!isfinite (view->data[i])) {
      char *at = index_to_string (view->n_dims, view->shape, i);
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "%s: tensor '%s' holds a non-finite value (%s) at %s", file->label,
          name, isnan (view->data[i]) ? "NaN" : view->data[i] > 0 ? "+Inf" :
          "-Inf", at);
      g_free (at);
      return FALSE;
    }
  return TRUE;
}

const char *
affect_safetensors_label (const AffectSafetensors * file)
{
  return file->label;
}

const char *
affect_safetensors_metadata (const AffectSafetensors * file, const char *key)
{
  return g_hash_table_lookup (file->metadata, key);
}

const char *const *
affect_safetensors_metadata_keys (const AffectSafetensors * file)
{
  return (const char *const *) file->metadata_keys;
}

/* ---- writer ---- */

typedef struct
{
  char *name;
  int n_dims;
  int64_t shape[AFFECT_TENSOR_MAX_DIMS];
  gsize n_elements;
  float *data;
} WriterEntry;

struct _AffectSafetensorsWriter
{
  GPtrArray *entries;           /* WriterEntry* */
  GPtrArray *metadata_keys;     /* insertion order */
  GHashTable *metadata;
};

static void
writer_entry_free (gpointer p)
{
  WriterEntry *e = p;

  g_free (e->name);
  g_free (e->data);
  g_free (e);
}

AffectSafetensorsWriter *
affect_safetensors_writer_new (void)
{
  AffectSafetensorsWriter *w = g_new0 (AffectSafetensorsWriter, 1);

  w->entries = g_ptr_array_new_with_free_func (writer_entry_free);
  w->metadata_keys = g_ptr_array_new_with_free_func (g_free);
  w->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  return w;
}

void
affect_safetensors_writer_free (AffectSafetensorsWriter * writer)
{
  if (writer == NULL)
    return;
  g_hash_table_unref (writer->metadata);
  g_ptr_array_free (writer->metadata_keys, TRUE);
  g_ptr_array_free (writer->entries, TRUE);
  g_free (writer);
}

void
affect_safetensors_writer_set_metadata (AffectSafetensorsWriter * writer,
    const char *key, const char *value)
{
  g_return_if_fail (writer != NULL && key != NULL && value != NULL);
  g_return_if_fail (strcmp (key, "__metadata__") != 0);
  /* the header is JSON text: keys and values must be UTF-8 */
  g_return_if_fail (g_utf8_validate (key, -1, NULL));
  g_return_if_fail (g_utf8_validate (value, -1, NULL));

  if (!g_hash_table_contains (writer->metadata, key)) {
    char *k = g_strdup (key);
    g_ptr_array_add (writer->metadata_keys, k);
    g_hash_table_insert (writer->metadata, k, g_strdup (value));
  } else {
    char *k = NULL;
    guint i;
    for (i = 0; i < writer->metadata_keys->len; i++)
      if (strcmp (g_ptr_array_index (writer->metadata_keys, i), key) == 0)
        k = g_ptr_array_index (writer->metadata_keys, i);
    g_hash_table_insert (writer->metadata, k, g_strdup (value));
  }
}

void
affect_safetensors_writer_add (AffectSafetensorsWriter * writer,
    const char *name, int n_dims, const int64_t * shape, const float *data)
{
  WriterEntry *e;
  int i;

  g_return_if_fail (writer != NULL && name != NULL);
  g_return_if_fail (strcmp (name, "__metadata__") != 0);
  g_return_if_fail (g_utf8_validate (name, -1, NULL));
  g_return_if_fail (n_dims >= 0 && n_dims <= AFFECT_TENSOR_MAX_DIMS);
  for (i = 0; i < n_dims; i++)
    g_return_if_fail (shape[i] >= 0);

  e = g_new0 (WriterEntry, 1);
  e->name = g_strdup (name);
  e->n_dims = n_dims;
  e->n_elements = 1;
  for (i = 0; i < n_dims; i++) {
    e->shape[i] = shape[i];
    e->n_elements *= shape[i];
  }
  e->data = g_memdup2 (data, e->n_elements * sizeof (float));
  g_ptr_array_add (writer->entries, e);
}

static char *
writer_header (AffectSafetensorsWriter * writer, gsize * length,
    GError ** error)
{
  JsonBuilder *b = json_builder_new_immutable ();
  JsonGenerator *gen;
  JsonNode *root;
  GHashTable *names = g_hash_table_new (g_str_hash, g_str_equal);
  guint64 offset = 0;
  guint i;
  int d;
  char *text = NULL;

  json_builder_begin_object (b);
  for (i = 0; i < writer->entries->len; i++) {
    WriterEntry *e = g_ptr_array_index (writer->entries, i);
    if (!g_hash_table_add (names, e->name)) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "two tensors are named '%s'", e->name);
      goto out;
    }
    json_builder_set_member_name (b, e->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, "F32");
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (d = 0; d < e->n_dims; d++)
      json_builder_add_int_value (b, e->shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, offset);
    offset += e->n_elements * sizeof (float);
    json_builder_add_int_value (b, offset);
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  if (writer->metadata_keys->len > 0) {
    json_builder_set_member_name (b, "__metadata__");
    json_builder_begin_object (b);
    for (i = 0; i < writer->metadata_keys->len; i++) {
      const char *k = g_ptr_array_index (writer->metadata_keys, i);
      json_builder_set_member_name (b, k);
      json_builder_add_string_value (b, g_hash_table_lookup (writer->metadata,
              k));
    }
    json_builder_end_object (b);
  }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, length);
  g_object_unref (gen);
  json_node_unref (root);

out:
  g_hash_table_unref (names);
  g_object_unref (b);
  return text;
}

gboolean
affect_safetensors_writer_write (AffectSafetensorsWriter * writer,
    const char *path, GError ** error)
{
  AffectAtomicFile *out;
  GString *header;
  char *json;
  gsize json_len;
  guint64 len_le;
  guint i;
  gboolean ok;

  g_return_val_if_fail (writer != NULL && path != NULL, FALSE);

  json = writer_header (writer, &json_len, error);
  if (json == NULL) {
    g_prefix_error (error, "%s: ", path);
    return FALSE;
  }
  /* pad with spaces (valid JSON) so the data section, and with it every
   * F32 tensor, starts 8-byte aligned in a mapping */
  header = g_string_new_len (json, json_len);
  g_free (json);
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');
  len_le = GUINT64_TO_LE ((guint64) header->len);

  out = affect_atomic_file_new (path, error);
  if (out == NULL) {
    g_string_free (header, TRUE);
    return FALSE;
  }
  ok = affect_atomic_file_write (out, &len_le, 8, error)
      && affect_atomic_file_write (out, header->str, header->len, error);
  for (i = 0; ok && i < writer->entries->len; i++) {
    WriterEntry *e = g_ptr_array_index (writer->entries, i);
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
    ok = affect_atomic_file_write (out, e->data,
        e->n_elements * sizeof (float), error);
#else
    gsize j;
    for (j = 0; ok && j < e->n_elements; j++) {
      guint32 u;
      memcpy (&u, &e->data[j], 4);
      u = GUINT32_TO_LE (u);
      ok = affect_atomic_file_write (out, &u, 4, error);
    }
#endif
  }
  g_string_free (header, TRUE);
  if (!ok) {
    affect_atomic_file_abort (out);
    return FALSE;
  }
  return affect_atomic_file_commit (out, error);
}

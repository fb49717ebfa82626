/* Feature tables: openSMILE CSV and ARFF readers and writers, .npy, and the
 * feature cache key.
 *
 * The text formats follow what openSMILE 3 writes (src/iocore/csvSink.cpp,
 * src/iocore/arffSink.cpp): the CSV quotes the instance name with single
 * quotes and no escapes and prints values with %e (or %.0f when whole);
 * the ARFF escapes and quotes a name only when it holds a space, a comma,
 * a brace, a quote, '%' or a backslash, and prints values with %e. Both
 * are read line by line, '\n' or "\r\n", a UTF-8 byte-order mark ignored.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "affect/features.h"
#include "affect/npy.h"

static void
set_error (GError ** error, int code, const char *file, guint line,
    const char *format, ...)
G_GNUC_PRINTF (5, 6);

     static void set_error (GError ** error, int code, const char *file,
    guint line, const char *format, ...)
{
  va_list args;
  char *msg;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  if (line > 0)
    g_set_error (error, AFFECT_ERROR, code, "%s:%u: %s", file, line, msg);
  else
    g_set_error (error, AFFECT_ERROR, code, "%s: %s", file, msg);
  g_free (msg);
}

AffectFeatureFormat
affect_feature_format_from_filename (const char *path)
{
  const char *dot = path ? strrchr (path, '.') : NULL;

  if (dot == NULL || strchr (dot, '/') != NULL)
    return AFFECT_FEATURE_FORMAT_AUTO;
  if (g_ascii_strcasecmp (dot, ".csv") == 0)
    return AFFECT_FEATURE_FORMAT_CSV;
  if (g_ascii_strcasecmp (dot, ".arff") == 0)
    return AFFECT_FEATURE_FORMAT_ARFF;
  if (g_ascii_strcasecmp (dot, ".npy") == 0)
    return AFFECT_FEATURE_FORMAT_NPY;
  return AFFECT_FEATURE_FORMAT_AUTO;
}

const char *
affect_feature_format_to_string (AffectFeatureFormat format)
{
  switch (format) {
    case AFFECT_FEATURE_FORMAT_CSV:
      return "csv";
    case AFFECT_FEATURE_FORMAT_ARFF:
      return "arff";
    case AFFECT_FEATURE_FORMAT_NPY:
      return "npy";
    default:
      return "auto";
  }
}

/* ---- the table ---- */

typedef struct
{
  AffectFeatureTable *t;
  GArray *values;               /* float */
  GArray *times;                /* double, or NULL */
  GArray *lines;                /* guint */
  GPtrArray *ids;               /* char *, NULL-terminated at the end */
  GPtrArray *classes;           /* char * or NULL, or NULL */
} Builder;

static void
builder_init (Builder * b, const char *filename, AffectFeatureFormat format)
{
  memset (b, 0, sizeof (*b));
  b->t = g_new0 (AffectFeatureTable, 1);
  b->t->filename = g_strdup (filename);
  b->t->format = format;
  b->values = g_array_new (FALSE, FALSE, sizeof (float));
  b->lines = g_array_new (FALSE, FALSE, sizeof (guint));
  b->ids = g_ptr_array_new_with_free_func (g_free);
}

static void
builder_clear (Builder * b)
{
  if (b->values)
    g_array_free (b->values, TRUE);
  if (b->times)
    g_array_free (b->times, TRUE);
  if (b->lines)
    g_array_free (b->lines, TRUE);
  if (b->ids)
    g_ptr_array_free (b->ids, TRUE);
  if (b->classes)
    g_ptr_array_free (b->classes, TRUE);
  affect_feature_table_free (b->t);
  memset (b, 0, sizeof (*b));
}

static AffectFeatureTable *
builder_finish (Builder * b)
{
  AffectFeatureTable *t = b->t;

  t->n_rows = b->ids->len;
  g_ptr_array_add (b->ids, NULL);
  t->ids = (char **) g_ptr_array_free (b->ids, FALSE);
  t->values = (float *) g_array_free (b->values, FALSE);
  t->lines = (guint *) g_array_free (b->lines, FALSE);
  if (b->times)
    t->times = (double *) g_array_free (b->times, FALSE);
  if (b->classes) {
    g_ptr_array_add (b->classes, NULL);
    t->classes = (char **) g_ptr_array_free (b->classes, FALSE);
  }
  memset (b, 0, sizeof (*b));
  return t;
}

void
affect_feature_table_free (AffectFeatureTable * t)
{
  guint i;

  if (t == NULL)
    return;
  g_free (t->filename);
  g_strfreev (t->feature_names);
  g_strfreev (t->ids);
  g_free (t->values);
  g_free (t->times);
  g_free (t->lines);
  g_free (t->relation);
  g_free (t->class_name);
  g_strfreev (t->class_values);
  if (t->classes) {
    for (i = 0; i < t->n_rows; i++)
      g_free (t->classes[i]);
    g_free (t->classes);
  }
  g_free (t);
}

AffectFeatureTable *
affect_feature_table_new (guint n_features, const char *const *names)
{
  AffectFeatureTable *t = g_new0 (AffectFeatureTable, 1);
  guint i;

  t->n_features = n_features;
  t->feature_names = g_new0 (char *, n_features + 1);
  for (i = 0; i < n_features; i++)
    t->feature_names[i] = names && names[i] ? g_strdup (names[i]) :
        g_strdup_printf ("f%u", i);
  t->ids = g_new0 (char *, 1);
  return t;
}

void
affect_feature_table_append (AffectFeatureTable * t, const char *id,
    const float *values, const char *class_value)
{
  guint n = t->n_rows;

  g_return_if_fail (t->format != AFFECT_FEATURE_FORMAT_NPY || t->ids);
  t->ids = g_renew (char *, t->ids, n + 2);
  t->ids[n] = g_strdup (id);
  t->ids[n + 1] = NULL;
  t->values = g_renew (float, t->values, (gsize) (n + 1) * t->n_features);
  memcpy (t->values + (gsize) n * t->n_features, values,
      t->n_features * sizeof (float));
  if (t->times)
    t->times = g_renew (double, t->times, n + 1), t->times[n] = 0;
  if (class_value != NULL && t->classes == NULL) {
    t->classes = g_new0 (char *, n + 2);
    if (t->class_name == NULL)
      t->class_name = g_strdup ("class");
  }
  if (t->classes) {
    t->classes = g_renew (char *, t->classes, n + 2);
    t->classes[n] = g_strdup (class_value);
    t->classes[n + 1] = NULL;
  }
  g_free (t->lines);
  t->lines = NULL;
  t->n_rows = n + 1;
}

gint
affect_feature_table_find (const AffectFeatureTable * t, const char *id)
{
  guint i;

  if (t->ids == NULL)
    return -1;
  for (i = 0; i < t->n_rows; i++)
    if (strcmp (t->ids[i], id) == 0)
      return (gint) i;
  return -1;
}

/* ---- lines ---- */

typedef struct
{
  const char *label;
  const char *p, *end;
  guint line;                   /* of the line last returned */
  char *text;                   /* that line, without its end */
} Lines;

static void
lines_init (Lines * l, const char *label, const char *text, gsize length)
{
  memset (l, 0, sizeof (*l));
  l->label = label;
  l->p = text;
  l->end = text + length;
  if (length >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    l->p += 3;
}

/* the next line, or NULL at the end (error set when a line is not UTF-8) */
static char *
lines_next (Lines * l, GError ** error)
{
  const char *nl, *stop, *bad;
  gsize len;

  g_clear_pointer (&l->text, g_free);
  if (l->p >= l->end)
    return NULL;
  nl = memchr (l->p, '\n', l->end - l->p);
  stop = nl ? nl : l->end;
  len = stop - l->p;
  if (len > 0 && l->p[len - 1] == '\r')
    len--;
  l->line++;
  if (!g_utf8_validate_len (l->p, len, &bad)) {
    set_error (error, AFFECT_ERROR_PARSE, l->label, l->line,
        "expected UTF-8 text, got the invalid byte 0x%02x at byte %u of "
        "the line", (guint8) * bad, (guint) (bad - l->p + 1));
    return NULL;
  }
  l->text = g_strndup (l->p, len);
  l->p = nl ? nl + 1 : l->end;
  return l->text;
}

static gboolean
is_blank (const char *s)
{
  for (; *s; s++)
    if (!g_ascii_isspace (*s))
      return FALSE;
  return TRUE;
}

/* a number as openSMILE prints it (also nan, inf); the whole field */
static gboolean
parse_value (const char *s, double *v)
{
  char *end;

  while (g_ascii_isspace (*s))
    s++;
  if (*s == '\0')
    return FALSE;
  *v = g_ascii_strtod (s, &end);
  while (g_ascii_isspace (*end))
    end++;
  return *end == '\0' && end != s;
}

static float
to_float (double v, gboolean * range)
{
  float f = (float) v;

  *range = !(isinf (f) && isfinite (v));
  return f;
}

static gboolean
is_meta_column (const char *name)
{
  return strcmp (name, "frameIndex") == 0 || strcmp (name, "frameTime") == 0
      || strcmp (name, "frameLength") == 0;
}

/* ---- openSMILE CSV ---- */

static char *
unquote (const char *s)
{
  gsize n = strlen (s);

  if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0])
    return g_strndup (s + 1, n - 2);
  return g_strdup (s);
}

static AffectFeatureTable *
parse_csv (const char *label, const char *text, gsize length, GError ** error)
{
  Lines l;
  Builder b;
  char *line, **header = NULL, delim[2] = { ';', 0 };
  int *role = NULL;             /* 0 feature, 1 name, 2 frameTime, 3 other
                                 * metadata, 4 class */
  guint n_cols = 0, c, name_col = G_MAXUINT, n_feat = 0;
  GPtrArray *names;
  float *row = NULL;

  lines_init (&l, label, text, length);
  builder_init (&b, label, AFFECT_FEATURE_FORMAT_CSV);
  while ((line = lines_next (&l, error)) != NULL && is_blank (line));
  if (line == NULL) {
    if (error == NULL || *error == NULL)
      set_error (error, AFFECT_ERROR_EMPTY, label, 0, "empty feature table");
    goto fail;
  }
  if (strchr (line, ';') == NULL)
    delim[0] = ',';
  header = g_strsplit (line, delim, -1);
  n_cols = g_strv_length (header);
  role = g_new0 (int, n_cols);
  names = g_ptr_array_new_with_free_func (g_free);
  for (c = 0; c < n_cols; c++) {
    guint d;
    char *name = unquote (g_strstrip (header[c]));
    g_free (header[c]);
    header[c] = name;
    for (d = 0; d < c; d++)
      if (strcmp (header[d], name) == 0) {
        set_error (error, AFFECT_ERROR_PARSE, label, l.line,
            "expected each column once, got '%s' twice", name);
        g_ptr_array_free (names, TRUE);
        goto fail;
      }
    if (strcmp (name, "name") == 0)
      role[c] = 1, name_col = c;
    else if (strcmp (name, "frameTime") == 0)
      role[c] = 2;
    else if (is_meta_column (name))
      role[c] = 3;
    else if (strcmp (name, "class") == 0)
      role[c] = 4;
    else {
      if (*name == '\0') {
        set_error (error, AFFECT_ERROR_PARSE, label, l.line,
            "expected a feature name in column %u, got an empty one", c + 1);
        g_ptr_array_free (names, TRUE);
        goto fail;
      }
      g_ptr_array_add (names, g_strdup (name));
    }
  }
  if (name_col == G_MAXUINT) {
    set_error (error, AFFECT_ERROR_PARSE, label, l.line,
        "expected a header with a 'name' column (openSMILE's instance "
        "name), got '%.60s'", line);
    g_ptr_array_free (names, TRUE);
    goto fail;
  }
  n_feat = names->len;
  g_ptr_array_add (names, NULL);
  b.t->feature_names = (char **) g_ptr_array_free (names, FALSE);
  b.t->n_features = n_feat;
  for (c = 0; c < n_cols; c++) {
    if (role[c] == 2)
      b.times = g_array_new (FALSE, FALSE, sizeof (double));
    if (role[c] == 4) {
      b.t->class_name = g_strdup ("class");
      b.classes = g_ptr_array_new_with_free_func (g_free);
    }
  }
  row = g_new (float, MAX (n_feat, 1));

  while ((line = lines_next (&l, error)) != NULL) {
    char **fields;
    guint n, k = 0;

    if (is_blank (line))
      continue;
    fields = g_strsplit (line, delim, -1);
    n = g_strv_length (fields);
    if (n != n_cols) {
      set_error (error, AFFECT_ERROR_PARSE, label, l.line,
          "expected %u fields as in the header, got %u", n_cols, n);
      g_strfreev (fields);
      goto fail;
    }
    for (c = 0; c < n_cols; c++) {
      double v = 0;
      gboolean range;
      char *s = g_strstrip (fields[c]);

      if (role[c] == 1) {
        char *id = unquote (s);
        if (*id == '\0') {
          set_error (error, AFFECT_ERROR_PARSE, label, l.line,
              "expected an instance name in column 'name', got an empty "
              "field");
          g_free (id);
          g_strfreev (fields);
          goto fail;
        }
        g_ptr_array_add (b.ids, id);
        continue;
      }
      if (role[c] == 4) {
        char *cls = unquote (s);
        if (*cls == '\0' || strcmp (cls, "?") == 0)
          g_clear_pointer (&cls, g_free);
        g_ptr_array_add (b.classes, cls);
        continue;
      }
      if (!parse_value (s, &v)) {
        set_error (error, AFFECT_ERROR_PARSE, label, l.line,
            "expected a number in column '%s', got '%.40s'", header[c], s);
        g_strfreev (fields);
        goto fail;
      }
      if (role[c] == 2)
        g_array_append_val (b.times, v);
      else if (role[c] == 0) {
        row[k++] = to_float (v, &range);
        if (!range) {
          set_error (error, AFFECT_ERROR_PARSE, label, l.line,
              "expected a float32 value in column '%s', got '%.40s'",
              header[c], s);
          g_strfreev (fields);
          goto fail;
        }
      }
    }
    g_strfreev (fields);
    g_array_append_vals (b.values, row, n_feat);
    g_array_append_val (b.lines, l.line);
  }
  if (error && *error)
    goto fail;
  if (b.ids->len == 0) {
    set_error (error, AFFECT_ERROR_EMPTY, label, 0,
        "empty feature table (a header and no row)");
    goto fail;
  }
  g_free (row);
  g_free (role);
  g_strfreev (header);
  g_free (l.text);
  return builder_finish (&b);

fail:
  g_free (row);
  g_free (role);
  g_strfreev (header);
  g_free (l.text);
  builder_clear (&b);
  return NULL;
}

/* ---- ARFF ---- */

/* One token: a quoted string ('...' or "...", backslash escapes as
 * openSMILE's escape() writes them) or a bare word that ends at one of
 * stops or the end. *p is left after it and after spaces. NULL when a
 * quote is not closed. */
static char *
arff_token (const char **p, const char *stops)
{
  const char *s = *p;
  GString *out;

  while (*s == ' ' || *s == '\t')
    s++;
  out = g_string_new (NULL);
  if (*s == '\'' || *s == '"') {
    char q = *s++;
    while (*s && *s != q) {
      if (*s == '\\' && s[1]) {
        s++;
        switch (*s) {
          case 'n':
            g_string_append_c (out, '\n');
            break;
          case 't':
            g_string_append_c (out, '\t');
            break;
          case 'r':
            g_string_append_c (out, '\r');
            break;
          default:
            g_string_append_c (out, *s);
        }
        s++;
      } else
        g_string_append_c (out, *s++);
    }
    if (*s != q) {
      g_string_free (out, TRUE);
      return NULL;
    }
    s++;
  } else {
    while (*s && strchr (stops, *s) == NULL)
      g_string_append_c (out, *s++);
    while (out->len > 0 && g_ascii_isspace (out->str[out->len - 1]))
      g_string_truncate (out, out->len - 1);
  }
  while (*s == ' ' || *s == '\t')
    s++;
  *p = s;
  return g_string_free (out, FALSE);
}

static gboolean
keyword (const char **p, const char *word)
{
  gsize n = strlen (word);

  if (g_ascii_strncasecmp (*p, word, n) != 0
      || (*(*p + n) != '\0' && !g_ascii_isspace (*(*p + n))))
    return FALSE;
  *p += n;
  while (g_ascii_isspace (**p))
    (*p)++;
  return TRUE;
}

typedef enum
{
  A_FEATURE, A_NAME, A_TIME, A_META, A_CLASS
} ArffRole;

static AffectFeatureTable *
parse_arff (const char *label, const char *text, gsize length, GError ** error)
{
  Lines l;
  Builder b;
  char *line;
  GArray *roles = g_array_new (FALSE, FALSE, sizeof (int));
  GPtrArray *attr_names = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *features = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *nominal = NULL;
  gboolean data = FALSE, numeric_class_last = FALSE;
  guint name_attr = G_MAXUINT, class_attr = G_MAXUINT, a, n_feat = 0;
  float *row = NULL;

  lines_init (&l, label, text, length);
  builder_init (&b, label, AFFECT_FEATURE_FORMAT_ARFF);

  /* header */
  while ((line = lines_next (&l, error)) != NULL) {
    const char *p = line;
    while (g_ascii_isspace (*p))
      p++;
    if (*p == '\0' || *p == '%')
      continue;
    if (keyword (&p, "@relation")) {
      char *rel = arff_token (&p, "");
      if (rel == NULL || b.t->relation != NULL) {
        set_error (error, AFFECT_ERROR_PARSE, label, l.line, rel == NULL ?
            "expected a relation name after @relation, got an unclosed quote"
            : "expected one @relation, got a second");
        g_free (rel);
        goto fail;
      }
      b.t->relation = rel;
    } else if (keyword (&p, "@attribute")) {
      char *name = arff_token (&p, " \t{");
      int role;
      if (name == NULL || *name == '\0' || *p == '\0') {
        set_error (error, AFFECT_ERROR_PARSE, label, l.line,
            "expected '@attribute NAME TYPE', got '%.60s'", line);
        g_free (name);
        goto fail;
      }
      if (numeric_class_last) {
        /* a numeric 'class' is the class only as the last attribute */
        g_array_index (roles, int, class_attr) = A_FEATURE;
        g_ptr_array_add (features, g_strdup ("class"));
        class_attr = G_MAXUINT;
        numeric_class_last = FALSE;
      }
      if (*p == '{') {
        const char *q = p + 1;
        if (class_attr != G_MAXUINT) {
          set_error (error, AFFECT_ERROR_PARSE, label, l.line,
              "expected one nominal (class) attribute, got '%s' after '%s'",
              name, (char *) g_ptr_array_index (attr_names, class_attr));
          g_free (name);
          goto fail;
        }
        nominal = g_ptr_array_new_with_free_func (g_free);
        while (TRUE) {
          char *v = arff_token (&q, ",}");
          if (v == NULL || (*q != ',' && *q != '}')) {
            set_error (error, AFFECT_ERROR_PARSE, label, l.line,
                "expected a list of values '{a,b,...}' for attribute '%s'",
                name);
            g_free (v);
            g_free (name);
            goto fail;
          }
          if (*v != '\0' || *q == ',' || nominal->len > 0)
            g_ptr_array_add (nominal, v);
          else
            g_free (v);
          if (*q++ == '}')
            break;
        }
        g_ptr_array_add (nominal, NULL);
        role = A_CLASS;
        class_attr = roles->len;
      } else if (keyword (&p, "numeric") || keyword (&p, "real")
          || keyword (&p, "integer")) {
        if (*p != '\0') {
          set_error (error, AFFECT_ERROR_PARSE, label, l.line,
              "expected nothing after the type of attribute '%s', got "
              "'%.40s'", name, p);
          g_free (name);
          goto fail;
        }
        if (strcmp (name, "frameTime") == 0)
          role = A_TIME;
        else if (is_meta_column (name))
          role = A_META;
        else if (strcmp (name, "class") == 0 && class_attr == G_MAXUINT) {
          role = A_CLASS;
          class_attr = roles->len;
          numeric_class_last = TRUE;
        } else {
          role = A_FEATURE;
          g_ptr_array_add (features, g_strdup (name));
        }
      } else if (keyword (&p, "string")) {
        if (strcmp (name, "name") != 0 || name_attr != G_MAXUINT) {
          set_error (error, AFFECT_ERROR_PARSE, label, l.line,
              "expected the one string attribute to be 'name' (the instance "
              "name), got '%s'", name);
          g_free (name);
          goto fail;
        }
        role = A_NAME;
        name_attr = roles->len;
      } else {
        set_error (error, AFFECT_ERROR_PARSE, label, l.line,
            "expected the type numeric, real, integer, string or {...} for "
            "attribute '%s', got '%.40s'", name, p);
        g_free (name);
        goto fail;
      }
      g_array_append_val (roles, role);
      g_ptr_array_add (attr_names, name);
    } else if (keyword (&p, "@data")) {
      data = TRUE;
      break;
    } else {
      set_error (error, AFFECT_ERROR_PARSE, label, l.line,
          "expected @relation, @attribute or @data, got '%.60s'", line);
      goto fail;
    }
  }
  if (error && *error)
    goto fail;
  if (!data) {
    set_error (error, roles->len ? AFFECT_ERROR_PARSE : AFFECT_ERROR_EMPTY,
        label, 0, roles->len ? "expected an @data line, got the end" :
        "empty feature table");
    goto fail;
  }
  if (name_attr == G_MAXUINT) {
    set_error (error, AFFECT_ERROR_PARSE, label, l.line,
        "expected an attribute 'name' (string) with the instance name");
    goto fail;
  }
  n_feat = features->len;
  g_ptr_array_add (features, NULL);
  b.t->feature_names = (char **) g_ptr_array_free (features, FALSE);
  features = NULL;
  b.t->n_features = n_feat;
  for (a = 0; a < roles->len; a++)
    if (g_array_index (roles, int, a) == A_TIME)
      b.times = g_array_new (FALSE, FALSE, sizeof (double));
  if (class_attr != G_MAXUINT) {
    b.t->class_name = g_strdup (g_ptr_array_index (attr_names, class_attr));
    b.classes = g_ptr_array_new_with_free_func (g_free);
    if (nominal) {
      b.t->class_values = (char **) g_ptr_array_free (nominal, FALSE);
      nominal = NULL;
    }
  }
  row = g_new (float, MAX (n_feat, 1));

  /* rows */
  while ((line = lines_next (&l, error)) != NULL) {
    const char *p = line;
    guint k = 0;

    while (g_ascii_isspace (*p))
      p++;
    if (*p == '\0' || *p == '%')
      continue;
    if (*p == '{') {
      set_error (error, AFFECT_ERROR_PARSE, label, l.line,
          "expected a dense row, got a sparse one ('{...}')");
      goto fail;
    }
    for (a = 0; a < roles->len; a++) {
      int role = g_array_index (roles, int, a);
      char *v = arff_token (&p, ",");
      double x = 0;
      gboolean range;

      if (v == NULL || (a + 1 < roles->len ? *p != ',' : *p != '\0')) {
        set_error (error, AFFECT_ERROR_PARSE, label, l.line,
            "expected %u comma-separated values as in the header, got %s",
            roles->len, v == NULL ? "an unclosed quote" : a + 1 < roles->len
            ? "fewer" : "more");
        g_free (v);
        goto fail_row;
      }
      if (*p == ',')
        p++;
      if (role == A_NAME) {
        if (*v == '\0' || strcmp (v, "?") == 0) {
          set_error (error, AFFECT_ERROR_PARSE, label, l.line,
              "expected an instance name in attribute 'name', got '%s'", v);
          g_free (v);
          goto fail_row;
        }
        g_ptr_array_add (b.ids, v);
        continue;
      }
      if (role == A_CLASS) {
        gboolean missing = strcmp (v, "?") == 0 || strcmp (v, "NULL") == 0;
        if (!missing && b.t->class_values
            && !g_strv_contains ((const char *const *) b.t->class_values, v)) {
          char *list = g_strjoinv (",", b.t->class_values);
          set_error (error, AFFECT_ERROR_PARSE, label, l.line,
              "expected '%s' to be one of {%s}, got '%.40s'",
              b.t->class_name, list, v);
          g_free (list);
          g_free (v);
          goto fail_row;
        }
        if (!missing && !b.t->class_values && !parse_value (v, &x)) {
          set_error (error, AFFECT_ERROR_PARSE, label, l.line,
              "expected a number or '?' in attribute '%s', got '%.40s'",
              b.t->class_name, v);
          g_free (v);
          goto fail_row;
        }
        if (missing)
          g_clear_pointer (&v, g_free);
        g_ptr_array_add (b.classes, v);
        continue;
      }
      if (strcmp (v, "?") == 0)
        x = NAN;
      else if (!parse_value (v, &x)) {
        set_error (error, AFFECT_ERROR_PARSE, label, l.line,
            "expected a number in attribute '%s', got '%.40s'",
            (char *) g_ptr_array_index (attr_names, a), v);
        g_free (v);
        goto fail_row;
      }
      g_free (v);
      if (role == A_TIME)
        g_array_append_val (b.times, x);
      else if (role == A_FEATURE) {
        row[k++] = to_float (x, &range);
        if (!range) {
          set_error (error, AFFECT_ERROR_PARSE, label, l.line,
              "expected a float32 value in attribute '%s', got %g",
              (char *) g_ptr_array_index (attr_names, a), x);
          goto fail_row;
        }
      }
    }
    g_array_append_vals (b.values, row, n_feat);
    g_array_append_val (b.lines, l.line);
    continue;

  fail_row:
    /* keep the row's parallel arrays equal before freeing */
    goto fail;
  }
  if (error && *error)
    goto fail;
  if (b.ids->len == 0) {
    set_error (error, AFFECT_ERROR_EMPTY, label, 0,
        "empty feature table (a header and no row)");
    goto fail;
  }
  g_free (row);
  g_array_free (roles, TRUE);
  g_ptr_array_free (attr_names, TRUE);
  g_free (l.text);
  return builder_finish (&b);

fail:
  g_free (row);
  g_array_free (roles, TRUE);
  g_ptr_array_free (attr_names, TRUE);
  if (features)
    g_ptr_array_free (features, TRUE);
  if (nominal)
    g_ptr_array_free (nominal, TRUE);
  g_free (l.text);
  builder_clear (&b);
  return NULL;
}

AffectFeatureTable *
affect_feature_table_parse (const char *label, const char *text,
    gsize length, AffectFeatureFormat format, GError ** error)
{
  g_return_val_if_fail (text != NULL || length == 0, NULL);
  if (label == NULL)
    label = "<memory>";
  if (memchr (text, '\0', length) != NULL) {
    const char *z = memchr (text, '\0', length);
    guint line = 1;
    const char *s;
    for (s = text; s < z; s++)
      line += *s == '\n';
    set_error (error, AFFECT_ERROR_PARSE, label, line,
        "expected text, got a NUL byte");
    return NULL;
  }
  if (format == AFFECT_FEATURE_FORMAT_AUTO) {
    Lines l;
    char *line;
    GError *e = NULL;
    format = AFFECT_FEATURE_FORMAT_CSV;
    lines_init (&l, label, text, length);
    while ((line = lines_next (&l, &e)) != NULL) {
      const char *p = line;
      while (g_ascii_isspace (*p))
        p++;
      if (*p == '\0')
        continue;
      if (*p == '@' || *p == '%')
        format = AFFECT_FEATURE_FORMAT_ARFF;
      break;
    }
    g_free (l.text);
    g_clear_error (&e);
  }
  if (format == AFFECT_FEATURE_FORMAT_ARFF)
    return parse_arff (label, text, length, error);
  if (format == AFFECT_FEATURE_FORMAT_CSV)
    return parse_csv (label, text, length, error);
  set_error (error, AFFECT_ERROR_FORMAT, label, 0,
      "a .npy table is binary: read it with affect_feature_table_load()");
  return NULL;
}

static AffectFeatureTable *
load_npy (const char *path, GError ** error)
{
  AffectNpyArray *a = affect_npy_read (path, AFFECT_NPY_FLOAT32, error);
  AffectFeatureTable *t;

  if (a == NULL)
    return NULL;
  if (a->n_dims != 2 || a->shape[0] > G_MAXUINT || a->shape[1] > G_MAXUINT) {
    set_error (error, AFFECT_ERROR_FORMAT, path, 0,
        "expected a 2-D array (items × features), got %d dimensions",
        a->n_dims);
    affect_npy_array_free (a);
    return NULL;
  }
  if (a->shape[0] == 0) {
    set_error (error, AFFECT_ERROR_EMPTY, path, 0,
        "empty feature table (0 rows)");
    affect_npy_array_free (a);
    return NULL;
  }
  t = g_new0 (AffectFeatureTable, 1);
  t->filename = g_strdup (path);
  t->format = AFFECT_FEATURE_FORMAT_NPY;
  t->n_rows = a->shape[0];
  t->n_features = a->shape[1];
  t->values = a->data;
  a->data = NULL;
  affect_npy_array_free (a);
  return t;
}

AffectFeatureTable *
affect_feature_table_load (const char *path, AffectFeatureFormat format,
    GError ** error)
{
  char *text = NULL;
  gsize length = 0;
  GError *e = NULL;
  AffectFeatureTable *t;

  g_return_val_if_fail (path != NULL, NULL);
  if (format == AFFECT_FEATURE_FORMAT_AUTO)
    format = affect_feature_format_from_filename (path);
  if (format == AFFECT_FEATURE_FORMAT_NPY)
    return load_npy (path, error);
  if (!g_file_get_contents (path, &text, &length, &e)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "cannot read feature table: %s", e->message);
    g_error_free (e);
    return NULL;
  }
  t = affect_feature_table_parse (path, text, length, format, error);
  g_free (text);
  return t;
}

/* ---- writing ---- */

/* openSMILE's cArffSink::escape() */
static void
arff_escape (GString * out, const char *s)
{
  gsize start = out->len;
  gboolean quote = FALSE;

  if (*s == '\0') {
    g_string_append (out, "''");
    return;
  }
  for (; *s; s++) {
    switch (*s) {
      case '"':
      case '\'':
      case '%':
      case '\\':
        g_string_append_c (out, '\\');
        g_string_append_c (out, *s);
        quote = TRUE;
        break;
      case '\r':
        g_string_append (out, "\\r"), quote = TRUE;
        break;
      case '\n':
        g_string_append (out, "\\n"), quote = TRUE;
        break;
      case '\t':
        g_string_append (out, "\\t"), quote = TRUE;
        break;
      case ' ':
      case ',':
      case '{':
      case '}':
        g_string_append_c (out, *s);
        quote = TRUE;
        break;
      default:
        /* other white space too: a bare word loses it at its ends */
        quote |= g_ascii_isspace (*s);
        g_string_append_c (out, *s);
    }
  }
  if (quote) {
    g_string_insert_c (out, start, '\'');
    g_string_append_c (out, '\'');
  }
}

static void
append_value (GString * out, float v, gboolean arff)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (v) && arff)
    g_string_append_c (out, '?');
  else if (isnan (v))
    g_string_append (out, "nan");
  else if (isinf (v))
    g_string_append (out, v > 0 ? "inf" : "-inf");
  else
    g_string_append (out, g_ascii_formatd (buf, sizeof (buf), "%.9g", v));
}

static gboolean
check_ids (const AffectFeatureTable * t, const char *path, const char *bad,
    GError ** error)
{
  guint i;

  for (i = 0; i < t->n_rows; i++)
    if (t->ids[i][strcspn (t->ids[i], bad)] != '\0') {
      set_error (error, AFFECT_ERROR_FORMAT, path, 0,
          "the id '%s' of row %u holds a character this format cannot "
          "store", t->ids[i], i + 1);
      return FALSE;
    }
  return TRUE;
}

/* a feature name each format would read back as something else */
static gboolean
check_names (const AffectFeatureTable * t, const char *path,
    AffectFeatureFormat format, GError ** error)
{
  guint j;

  for (j = 0; j < t->n_features; j++) {
    const char *n = t->feature_names[j];
    gsize len = strlen (n);
    gboolean bad = is_meta_column (n);

    if (format == AFFECT_FEATURE_FORMAT_CSV)
      bad |= len == 0 || strcmp (n, "name") == 0 || strcmp (n, "class") == 0
          || n[strcspn (n, ";'\"\r\n")] != '\0'
          || g_ascii_isspace (n[0]) || g_ascii_isspace (n[len - 1]);
    else
      bad |= j + 1 == t->n_features && strcmp (n, "class") == 0
          && !t->classes && !t->class_values;
    if (bad) {
      set_error (error, AFFECT_ERROR_FORMAT, path, 0,
          "the feature name '%s' (column %u) would not read back as a "
          "feature in %s", n, j + 1, affect_feature_format_to_string (format));
      return FALSE;
    }
  }
  return TRUE;
}

static char *
table_to_csv (const AffectFeatureTable * t)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  GString *out = g_string_new ("name");
  guint i, j;

  if (t->times)
    g_string_append (out, ";frameTime");
  for (j = 0; j < t->n_features; j++)
    g_string_append_printf (out, ";%s", t->feature_names[j]);
  if (t->classes)
    g_string_append (out, ";class");
  g_string_append_c (out, '\n');
  for (i = 0; i < t->n_rows; i++) {
    g_string_append_printf (out, "'%s'", t->ids[i]);
    if (t->times)
      g_string_append_printf (out, ";%s", g_ascii_formatd (buf,
              sizeof (buf), "%f", t->times[i]));
    for (j = 0; j < t->n_features; j++) {
      g_string_append_c (out, ';');
      append_value (out, t->values[(gsize) i * t->n_features + j], FALSE);
    }
    if (t->classes)
      g_string_append_printf (out, ";%s", t->classes[i] ? t->classes[i] : "?");
    g_string_append_c (out, '\n');
  }
  return g_string_free (out, FALSE);
}

static char *
table_to_arff (const AffectFeatureTable * t)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  GString *out = g_string_new ("@relation ");
  guint i, j;

  arff_escape (out, t->relation ? t->relation : "openSMILE_features");
  g_string_append (out, "\n\n@attribute name string\n");
  if (t->times)
    g_string_append (out, "@attribute frameTime numeric\n");
  for (j = 0; j < t->n_features; j++) {
    g_string_append (out, "@attribute ");
    arff_escape (out, t->feature_names[j]);
    g_string_append (out, " numeric\n");
  }
  if (t->classes || t->class_values) {
    g_string_append (out, "@attribute ");
    arff_escape (out, t->class_name ? t->class_name : "class");
    if (t->class_values) {
      g_string_append (out, " {");
      for (j = 0; t->class_values[j]; j++) {
        if (j)
          g_string_append_c (out, ',');
        arff_escape (out, t->class_values[j]);
      }
      g_string_append (out, "}\n");
    } else
      g_string_append (out, " numeric\n");
  }
  g_string_append (out, "\n@data\n\n");
  for (i = 0; i < t->n_rows; i++) {
    arff_escape (out, t->ids[i]);
    if (t->times)
      g_string_append_printf (out, ",%s", g_ascii_formatd (buf,
              sizeof (buf), "%f", t->times[i]));
    for (j = 0; j < t->n_features; j++) {
      g_string_append_c (out, ',');
      append_value (out, t->values[(gsize) i * t->n_features + j], TRUE);
    }
    if (t->classes || t->class_values) {
      g_string_append_c (out, ',');
      if (t->classes && t->classes[i])
        arff_escape (out, t->classes[i]);
      else
        g_string_append_c (out, '?');
    }
    g_string_append_c (out, '\n');
  }
  return g_string_free (out, FALSE);
}

gboolean
affect_feature_table_write (const AffectFeatureTable * t, const char *path,
    AffectFeatureFormat format, GError ** error)
{
  char *text;
  gboolean ok;

  g_return_val_if_fail (t != NULL && path != NULL, FALSE);
  if (format == AFFECT_FEATURE_FORMAT_AUTO)
    format = affect_feature_format_from_filename (path);
  if (format == AFFECT_FEATURE_FORMAT_NPY) {
    int64_t shape[2] = { t->n_rows, t->n_features };
    return affect_npy_write (path, AFFECT_NPY_FLOAT32, 2, shape, t->values,
        error);
  }
  if (format == AFFECT_FEATURE_FORMAT_AUTO) {
    set_error (error, AFFECT_ERROR_FORMAT, path, 0,
        "expected a file name ending in .csv, .arff or .npy");
    return FALSE;
  }
  if (t->ids == NULL) {
    set_error (error, AFFECT_ERROR_FORMAT, path, 0,
        "the table has no ids to write in a 'name' column");
    return FALSE;
  }
  if (!check_names (t, path, format, error))
    return FALSE;
  if (format == AFFECT_FEATURE_FORMAT_CSV) {
    if (!check_ids (t, path, ";'\"\r\n", error))
      return FALSE;
    text = table_to_csv (t);
  } else {
    text = table_to_arff (t);
  }
  ok = affect_file_set_contents_atomic (path, text, strlen (text), error);
  g_free (text);
  return ok;
}

/* ---- the cache key ---- */

static void
key_text (GChecksum * sum, const char *s)
{
  guint32 len = GUINT32_TO_LE ((guint32) (s ? strlen (s) : G_MAXUINT32));

  /* length-prefixed, so that no two field lists hash alike */
  g_checksum_update (sum, (const guchar *) &len, sizeof (len));
  if (s)
    g_checksum_update (sum, (const guchar *) s, strlen (s));
}

static void
key_names (GChecksum * sum, char **names, guint n)
{
  guint i;
  char buf[16];

  g_snprintf (buf, sizeof (buf), "%u", n);
  key_text (sum, buf);
  for (i = 0; i < n; i++)
    key_text (sum, names[i]);
}

static gboolean
key_file (GChecksum * sum, const char *path, GError ** error)
{
  char *local = strstr (path, "://") ?
      g_filename_from_uri (path, NULL, NULL) : NULL;
  FILE *f = fopen (local ? local : path, "rb");
  guchar buf[65536];
  gsize n;
  guint64 total = 0;

  g_free (local);

  if (f == NULL) {
    key_text (sum, "missing");
    return TRUE;
  }
  key_text (sum, "file");
  while ((n = fread (buf, 1, sizeof (buf), f)) > 0) {
    g_checksum_update (sum, buf, n);
    total += n;
  }
  if (ferror (f)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "cannot read %s for the feature cache key", path);
    fclose (f);
    return FALSE;
  }
  fclose (f);
  total = GUINT64_TO_LE (total);
  g_checksum_update (sum, (const guchar *) &total, sizeof (total));
  return TRUE;
}

char *
affect_feature_cache_key (const AffectManifest * m, const guint * order,
    guint n, const char *root, const char *params, GError ** error)
{
  GChecksum *sum;
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  guint k, i;
  char *key;

  g_return_val_if_fail (m != NULL && (order != NULL || n == 0), NULL);
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  key_text (sum, "affect-feature-cache 1");
  key_text (sum, params ? params : "");
  key_text (sum, affect_manifest_task_to_string (m->task));
  key_names (sum, m->vocabulary, m->n_vocabulary);
  key_names (sum, m->target_names, m->n_targets);
  key_names (sum, m->extra_names, m->n_extra);
  for (k = 0; k < n; k++) {
    const AffectManifestItem *it;
    char *file;

    g_return_val_if_fail (order[k] < m->n_items, NULL);
    it = &m->items[order[k]];
    key_text (sum, it->id);
    key_text (sum, it->path);
    key_text (sum, it->split);
    key_text (sum, g_ascii_formatd (buf, sizeof (buf), "%.17g", it->duration));
    for (i = 0; it->labels && i < m->n_vocabulary; i++)
      key_text (sum, g_ascii_formatd (buf, sizeof (buf), "%.9g",
              it->labels[i]));
    for (i = 0; i < m->n_targets; i++)
      key_text (sum, g_ascii_formatd (buf, sizeof (buf), "%.17g",
              it->targets[i]));
    for (i = 0; i < m->n_extra; i++)
      key_text (sum, it->extra[i]);
    file = affect_manifest_resolve_path (m, it, root);
    /* the resolved path is part of each item's events */
    key_text (sum, file);
    if (!key_file (sum, file, error)) {
      g_free (file);
      g_checksum_free (sum);
      return NULL;
    }
    g_free (file);
  }
  key = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  return key;
}

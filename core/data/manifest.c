/* Manifest parsing: MTG-Jamendo TSV, the quadrant CSV, generic CSV.
 *
 * Every file is read line by line ('\n' or "\r\n": MTG-Jamendo's TSVs end
 * their lines with "\r\n"); blank lines are skipped; a UTF-8 byte-order mark
 * is ignored. Errors name "file:line" and what was expected there.
 */
#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/manifest.h"
#include "affect/nn.h"

#include <glib/gstdio.h>

#define MTG_PREFIX "mood/theme---"

static const char *const mtg_header[] =
    { "TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION" };
static const char *const quadrant_header[] =
    { "TRACK", "LABEL", "DURATION", "BIN", "EMOTION_VALENCE" };

typedef struct
{
  guint line;                   /* 1-based */
  char *text;                   /* the line without its end */
  char **fields;                /* split once the format is known */
} Row;

typedef struct
{
  const char *file;
  AffectManifest *m;
  GArray *items;                /* AffectManifestItem */
  GHashTable *vocab_index;      /* name → index + 1 */
  const AffectManifestOptions *options;
  char *default_split;
} Builder;

static void
set_parse_error (GError ** error, const char *file, guint line,
    const char *format, ...)
G_GNUC_PRINTF (4, 5);

     static void
         set_parse_error (GError ** error, const char *file, guint line,
    const char *format, ...)
{
  va_list args;
  char *msg;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE, "%s:%u: %s", file,
      line, msg);
  g_free (msg);
}

void
affect_manifest_options_init (AffectManifestOptions * options)
{
  memset (options, 0, sizeof (*options));
  options->format = AFFECT_MANIFEST_AUTO;
}

const char *
affect_manifest_format_to_string (AffectManifestFormat format)
{
  switch (format) {
    case AFFECT_MANIFEST_MTG_TSV:
      return "mtg-tsv";
    case AFFECT_MANIFEST_QUADRANT_CSV:
      return "quadrant-csv";
    case AFFECT_MANIFEST_CSV:
      return "csv";
    default:
      return "auto";
  }
}

const char *
affect_manifest_task_to_string (AffectManifestTask task)
{
  static const char *names[] = { "none", "tags", "class", "regression" };

  return task <= AFFECT_MANIFEST_TASK_REGRESSION ? names[task] : "none";
}

/* strtod on the whole field, finite, C locale */
static gboolean
parse_number (const char *s, double *value)
{
  char *end;

  while (*s == ' ')
    s++;
  if (*s == '\0')
    return FALSE;
  errno = 0;
  *value = g_ascii_strtod (s, &end);
  while (*end == ' ')
    end++;
  return *end == '\0' && errno != ERANGE && isfinite (*value);
}

/* strtod consumes the whole field, whatever the value (nan, inf and
 * out-of-range numbers included): the field was meant as a number */
static gboolean
looks_numeric (const char *s)
{
  char *end;

  while (*s == ' ')
    s++;
  if (*s == '\0')
    return FALSE;
  g_ascii_strtod (s, &end);
  while (*end == ' ')
    end++;
  return end != s && *end == '\0';
}

/* the affect dimensions: a column of that name is a target whatever its
 * values, so a stray word or an empty field is an error, not a silent
 * demotion of the column to text */
static gboolean
is_dimension_name (const char *name)
{
  static const char *const dimensions[] =
      { "valence", "arousal", "dominance", "spontaneity" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (dimensions); i++)
    if (g_ascii_strcasecmp (name, dimensions[i]) == 0)
      return TRUE;
  return FALSE;
}

/* "train" / "validation" / "test" from a word of the file name */
static char *
split_from_filename (const char *file)
{
  static const struct
  {
    const char *word, *split;
  } words[] = {
    {"train", "train"}, {"training", "train"},
    {"validation", "validation"}, {"valid", "validation"},
    {"val", "validation"}, {"dev", "validation"},
    {"test", "test"}, {"testing", "test"},
  };
  char *base = g_path_get_basename (file), *lower = g_ascii_strdown (base, -1);
  char **tokens;
  const char *found = NULL;
  guint i, j;

  g_strdelimit (lower, "-_. ", ' ');
  tokens = g_strsplit (lower, " ", -1);
  for (i = 0; tokens[i]; i++)
    for (j = 0; j < G_N_ELEMENTS (words); j++)
      if (strcmp (tokens[i], words[j].word) == 0) {
        if (found && strcmp (found, words[j].split) != 0) {
          found = NULL;         /* ambiguous: say nothing */
          goto out;
        }
        found = words[j].split;
      }
out:
  g_strfreev (tokens);
  g_free (lower);
  g_free (base);
  return g_strdup (found);
}

/* Split one line into fields. CSV (delim ','): RFC 4180 quotes, "" inside a
 * quoted field is a quote. TSV: plain split on tabs. */
static char **
split_fields (const char *line, char delim, gboolean quotes)
{
  GPtrArray *fields;
  GString *cur;
  const char *p;
  gboolean in_quotes = FALSE;

  if (!quotes) {
    char d[2] = { delim, 0 };
    return g_strsplit (line, d, -1);
  }
  fields = g_ptr_array_new ();
  cur = g_string_new (NULL);
  for (p = line; *p; p++) {
    if (in_quotes) {
      if (*p == '"' && p[1] == '"') {
        g_string_append_c (cur, '"');
        p++;
      } else if (*p == '"')
        in_quotes = FALSE;
      else
        g_string_append_c (cur, *p);
    } else if (*p == '"' && cur->len == 0)
      in_quotes = TRUE;
    else if (*p == delim) {
      g_ptr_array_add (fields, g_string_free (cur, FALSE));
      cur = g_string_new (NULL);
    } else
      g_string_append_c (cur, *p);
  }
  g_ptr_array_add (fields, g_string_free (cur, FALSE));
  g_ptr_array_add (fields, NULL);
  return (char **) g_ptr_array_free (fields, FALSE);
}

static void
item_clear (AffectManifestItem * it, guint n_extra)
{
  guint i;

  g_free (it->id);
  g_free (it->path);
  g_free (it->split);
  g_free (it->labels);
  g_free (it->targets);
  if (it->extra) {
    for (i = 0; i < n_extra; i++)
      g_free (it->extra[i]);
    g_free (it->extra);
  }
}

void
affect_manifest_free (AffectManifest * m)
{
  guint i;

  if (m == NULL)
    return;
  for (i = 0; i < m->n_items; i++)
    item_clear (&m->items[i], m->n_extra);
  g_free (m->items);
  g_strfreev (m->vocabulary);
  g_strfreev (m->target_names);
  g_strfreev (m->extra_names);
  g_free (m->filename);
  g_free (m);
}

const char *
affect_manifest_item_get_extra (const AffectManifest * m,
    const AffectManifestItem * item, const char *name)
{
  guint i;

  for (i = 0; i < m->n_extra; i++)
    if (strcmp (m->extra_names[i], name) == 0)
      return item->extra[i];
  return NULL;
}

static void
builder_set_vocabulary (Builder * b, const char *const *names)
{
  guint i;

  b->m->vocabulary = g_strdupv ((char **) names);
  b->m->n_vocabulary = g_strv_length (b->m->vocabulary);
  b->vocab_index = g_hash_table_new (g_str_hash, g_str_equal);
  for (i = 0; i < b->m->n_vocabulary; i++)
    g_hash_table_insert (b->vocab_index, b->m->vocabulary[i],
        GUINT_TO_POINTER (i + 1));
}

/* index of a label in the vocabulary; the MTG prefix may be left out on
 * either side ("happy" matches "mood/theme---happy" and back) */
static int
builder_label_index (Builder * b, const char *name)
{
  gpointer v = g_hash_table_lookup (b->vocab_index, name);
  char *prefixed;

  if (v == NULL && g_str_has_prefix (name, MTG_PREFIX))
    v = g_hash_table_lookup (b->vocab_index, name + strlen (MTG_PREFIX));
  if (v == NULL && !g_str_has_prefix (name, MTG_PREFIX)) {
    prefixed = g_strconcat (MTG_PREFIX, name, NULL);
    v = g_hash_table_lookup (b->vocab_index, prefixed);
    g_free (prefixed);
  }
  return v ? (int) GPOINTER_TO_UINT (v) - 1 : -1;
}

static AffectManifestItem *
builder_add_item (Builder * b, guint line)
{
  AffectManifestItem it = { 0 };

  it.line = line;
  it.duration = -1.0;
  it.class_index = -1;
  it.split = g_strdup (b->default_split);
  if (b->m->n_extra > 0)
    it.extra = g_new0 (char *, b->m->n_extra);
  g_array_append_val (b->items, it);
  return &g_array_index (b->items, AffectManifestItem, b->items->len - 1);
}

static void
set_names (char ***names, guint * n, const char *const *src, guint count)
{
  guint i;

  *names = g_new0 (char *, count + 1);
  for (i = 0; i < count; i++)
    (*names)[i] = g_strdup (src[i]);
  *n = count;
}

/* a track number file name ("6719.mp3") becomes MTG-Jamendo's id */
static char *
id_from_track (const char *track)
{
  char *base = g_path_get_basename (track), *dot = strrchr (base, '.');
  char *id;
  const char *p;

  if (dot && dot != base)
    *dot = '\0';
  for (p = base; *p && g_ascii_isdigit (*p); p++);
  if (*p == '\0' && p != base && strlen (base) <= 7)
    id = g_strdup_printf ("track_%07" G_GUINT64_FORMAT,
        g_ascii_strtoull (base, NULL, 10));
  else
    id = g_strdup (base);
  g_free (base);
  return id;
}

static gboolean
parse_mtg_row (Builder * b, const Row * row, GError ** error)
{
  char **f = row->fields;
  guint n = g_strv_length (f), i;
  AffectManifestItem *it;
  GString *tags;
  double duration;

  if (n < 5) {
    set_parse_error (error, b->file, row->line,
        "expected at least 5 tab-separated fields (TRACK_ID ARTIST_ID "
        "ALBUM_ID PATH DURATION TAGS...), got %u", n);
    return FALSE;
  }
  if (*f[0] == '\0' || *f[3] == '\0') {
    set_parse_error (error, b->file, row->line,
        "expected a TRACK_ID and a PATH, got an empty field");
    return FALSE;
  }
  if (!parse_number (f[4], &duration) || duration < 0) {
    set_parse_error (error, b->file, row->line,
        "expected a duration in seconds in DURATION, got '%s'", f[4]);
    return FALSE;
  }
  it = builder_add_item (b, row->line);
  it->id = g_strdup (f[0]);
  it->path = g_strdup (f[3]);
  it->duration = duration;
  it->labels = g_new0 (float, b->m->n_vocabulary);
  tags = g_string_new (NULL);
  /* tags outside the vocabulary (e.g. the 3 rare tags of the unsplit TSV)
   * are kept in the TAGS column but get no label */
  for (i = 5; i < n; i++) {
    int k;

    if (*f[i] == '\0')
      continue;
    k = builder_label_index (b, f[i]);
    if (k >= 0)
      it->labels[k] = 1.0f;
    if (tags->len)
      g_string_append_c (tags, ';');
    g_string_append (tags, f[i]);
  }
  it->extra[0] = g_strdup (f[1]);
  it->extra[1] = g_strdup (f[2]);
  it->extra[2] = g_string_free (tags, FALSE);
  return TRUE;
}

static char *
join_names (const char *const *names)
{
  return g_strjoinv (", ", (char **) names);
}

static gboolean
parse_quadrant_row (Builder * b, const Row * row, GError ** error)
{
  char **f = row->fields;
  guint n = g_strv_length (f);
  AffectManifestItem *it;
  double duration;
  int k;

  if (n != 5) {
    set_parse_error (error, b->file, row->line,
        "expected 5 tab-separated fields (TRACK LABEL DURATION BIN "
        "EMOTION_VALENCE), got %u", n);
    return FALSE;
  }
  if (*f[0] == '\0') {
    set_parse_error (error, b->file, row->line,
        "expected a file name in TRACK, got an empty field");
    return FALSE;
  }
  if (!parse_number (f[2], &duration) || duration < 0) {
    set_parse_error (error, b->file, row->line,
        "expected a duration in seconds in DURATION, got '%s'", f[2]);
    return FALSE;
  }
  k = builder_label_index (b, f[4]);
  if (k < 0) {
    char *names = join_names ((const char *const *) b->m->vocabulary);
    set_parse_error (error, b->file, row->line,
        "expected EMOTION_VALENCE to be one of %s, got '%s'", names, f[4]);
    g_free (names);
    return FALSE;
  }
  it = builder_add_item (b, row->line);
  it->id = id_from_track (f[0]);
  it->path = g_strdup (f[0]);
  it->duration = duration;
  it->labels = g_new0 (float, b->m->n_vocabulary);
  it->labels[k] = 1.0f;
  it->class_index = k;
  it->extra[0] = g_strdup (f[1]);
  it->extra[1] = g_strdup (f[3]);
  return TRUE;
}

static int
column_index (char **header, const char *name)
{
  guint i;

  for (i = 0; header[i]; i++)
    if (g_ascii_strcasecmp (header[i], name) == 0)
      return i;
  return -1;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Generic CSV: header row + data rows. Column roles: path (required), id,
 * split, duration, the label column, target columns; the rest are extra. */
static gboolean
parse_csv (Builder * b, char **header, GPtrArray * rows, GError ** error)
{
  AffectManifest *m = b->m;
  const AffectManifestOptions *o = b->options;
  guint n_cols = g_strv_length (header), r, c;
  int path_col, id_col, split_col, duration_col, label_col = -1;
  int *role;                    /* 0 extra, 1 target, 2 taken */
  gboolean multi = FALSE;
  GPtrArray *names;

  for (c = 0; c < n_cols; c++) {
    guint d;
    g_strstrip (header[c]);
    if (*header[c] == '\0') {
      /* an unnamed column (e.g. a trailing comma) gets its position */
      g_free (header[c]);
      header[c] = g_strdup_printf ("column%u", c + 1);
    }
    for (d = 0; d < c; d++)
      if (g_ascii_strcasecmp (header[d], header[c]) == 0) {
        set_parse_error (error, b->file, 1,
            "expected each column once, got '%s' twice", header[c]);
        return FALSE;
      }
  }
  path_col = column_index (header, "path");
  if (path_col < 0) {
    char *cols = join_names ((const char *const *) header);
    set_parse_error (error, b->file, 1,
        "expected a header with a 'path' column, got: %s", cols);
    g_free (cols);
    return FALSE;
  }
  id_col = column_index (header, "id");
  split_col = column_index (header, "split");
  duration_col = column_index (header, "duration");
  if (o->label_column == NULL)
    label_col = column_index (header, "label");
  else if (*o->label_column) {
    label_col = column_index (header, o->label_column);
    if (label_col < 0) {
      set_parse_error (error, b->file, 1,
          "expected a label column '%s' in the header", o->label_column);
      return FALSE;
    }
  }
  m->has_split_column = split_col >= 0;

  for (r = 0; r < rows->len; r++) {
    Row *row = g_ptr_array_index (rows, r);
    guint n = g_strv_length (row->fields);
    if (n != n_cols) {
      set_parse_error (error, b->file, row->line,
          "expected %u fields as in the header, got %u", n_cols, n);
      return FALSE;
    }
    if (*row->fields[path_col] == '\0') {
      set_parse_error (error, b->file, row->line,
          "expected a file in column 'path', got an empty field");
      return FALSE;
    }
  }

  role = g_new0 (int, n_cols);
  role[path_col] = 2;
  if (id_col >= 0)
    role[id_col] = 2;
  if (split_col >= 0)
    role[split_col] = 2;
  if (duration_col >= 0)
    role[duration_col] = 2;
  if (label_col >= 0)
    role[label_col] = 2;
  if (o->target_columns) {
    guint t;
    for (t = 0; o->target_columns[t]; t++) {
      int k = column_index (header, o->target_columns[t]);
      if (k < 0 || role[k] == 2) {
        set_parse_error (error, b->file, 1,
            "expected a numeric target column '%s' in the header",
            o->target_columns[t]);
        g_free (role);
        return FALSE;
      }
      role[k] = 1;
    }
  } else {
    /* a column is a target when it is named after an affect dimension or
     * when every value reads as a number (nan, inf and out-of-range values
     * included: they are refused below, naming their line) */
    for (c = 0; c < n_cols; c++) {
      gboolean numeric = rows->len > 0;
      if (role[c] != 0)
        continue;
      for (r = 0; r < rows->len && numeric; r++)
        numeric = looks_numeric (((Row *) g_ptr_array_index (rows,
                    r))->fields[c]);
      if (numeric || is_dimension_name (header[c]))
        role[c] = 1;
    }
  }

  m->target_names = g_new0 (char *, n_cols + 1);
  m->extra_names = g_new0 (char *, n_cols + 1);
  for (c = 0; c < n_cols; c++) {
    if (role[c] == 1)
      m->target_names[m->n_targets++] = g_strdup (header[c]);
    else if (role[c] == 0)
      m->extra_names[m->n_extra++] = g_strdup (header[c]);
  }

  /* the label column: one class per item, or tags separated by ';' */
  if (label_col >= 0) {
    for (r = 0; r < rows->len; r++)
      if (strchr (((Row *) g_ptr_array_index (rows, r))->fields[label_col],
              ';'))
        multi = TRUE;
    m->task = multi ? AFFECT_MANIFEST_TASK_TAGS : AFFECT_MANIFEST_TASK_CLASS;
    if (o->vocabulary) {
      builder_set_vocabulary (b, o->vocabulary);
    } else {
      GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
      names = g_ptr_array_new ();
      for (r = 0; r < rows->len; r++) {
        char **parts = g_strsplit (((Row *) g_ptr_array_index (rows,
                    r))->fields[label_col], ";", -1);
        guint p;
        for (p = 0; parts[p]; p++) {
          char *name = g_strstrip (parts[p]);
          if (*name && !g_hash_table_contains (seen, name)) {
            char *copy = g_strdup (name);
            g_hash_table_add (seen, copy);
            g_ptr_array_add (names, copy);
          }
        }
        g_strfreev (parts);
      }
      g_ptr_array_sort (names, compare_strings);
      g_ptr_array_add (names, NULL);
      builder_set_vocabulary (b, (const char *const *) names->pdata);
      g_hash_table_destroy (seen);
      g_ptr_array_set_free_func (names, g_free);
      g_ptr_array_free (names, TRUE);
    }
  } else {
    m->task = m->n_targets ? AFFECT_MANIFEST_TASK_REGRESSION :
        AFFECT_MANIFEST_TASK_NONE;
  }

  for (r = 0; r < rows->len; r++) {
    Row *row = g_ptr_array_index (rows, r);
    char **f = row->fields;
    AffectManifestItem *it = builder_add_item (b, row->line);
    guint t = 0, e = 0;

    it->path = g_strdup (f[path_col]);
    if (id_col >= 0 && *f[id_col])
      it->id = g_strdup (f[id_col]);
    else {
      char *base = g_path_get_basename (f[path_col]);
      char *dot = strrchr (base, '.');
      if (dot && dot != base)
        *dot = '\0';
      it->id = base;
    }
    if (split_col >= 0 && *g_strstrip (f[split_col])) {
      g_free (it->split);
      it->split = g_strdup (f[split_col]);
    }
    if (duration_col >= 0 && *f[duration_col]
        && (!parse_number (f[duration_col], &it->duration)
            || it->duration < 0)) {
      set_parse_error (error, b->file, row->line,
          "expected a duration in seconds in column '%s', got '%s'",
          header[duration_col], f[duration_col]);
      g_free (role);
      return FALSE;
    }
    if (m->n_targets)
      it->targets = g_new0 (double, m->n_targets);
    for (c = 0; c < n_cols; c++) {
      if (role[c] == 1) {
        if (!parse_number (f[c], &it->targets[t])) {
          set_parse_error (error, b->file, row->line,
              "expected a finite number in target column '%s', got '%s'",
              header[c], f[c]);
          g_free (role);
          return FALSE;
        }
        t++;
      } else if (role[c] == 0)
        it->extra[e++] = g_strdup (f[c]);
    }
    if (label_col >= 0) {
      char **parts = g_strsplit (f[label_col], ";", -1);
      guint p, n_set = 0;
      it->labels = g_new0 (float, m->n_vocabulary);
      for (p = 0; parts[p]; p++) {
        char *name = g_strstrip (parts[p]);
        int k;
        if (*name == '\0')
          continue;
        k = builder_label_index (b, name);
        if (k < 0 && !multi) {
          char *names = join_names ((const char *const *) m->vocabulary);
          set_parse_error (error, b->file, row->line,
              "expected a class of the vocabulary (%s) in column '%s', "
              "got '%s'", names, header[label_col], name);
          g_free (names);
          g_strfreev (parts);
          g_free (role);
          return FALSE;
        }
        if (k >= 0) {
          it->labels[k] = 1.0f;
          it->class_index = multi ? -1 : k;
          n_set++;
        }
      }
      g_strfreev (parts);
      if (!multi && n_set == 0) {
        set_parse_error (error, b->file, row->line,
            "expected a class name in column '%s', got an empty field",
            header[label_col]);
        g_free (role);
        return FALSE;
      }
    }
  }
  g_free (role);
  return TRUE;
}

static gboolean
header_matches (char **fields, const char *const *names, guint n)
{
  guint i;

  for (i = 0; i < n; i++)
    if (fields[i] == NULL || strcmp (fields[i], names[i]) != 0)
      return FALSE;
  return TRUE;
}

static gboolean
is_blank (const char *s)
{
  for (; *s; s++)
    if (!g_ascii_isspace (*s))
      return FALSE;
  return TRUE;
}

/* Every line is UTF-8 (ids, paths and columns become GStreamer strings,
 * which must be): name the first bad byte and its column. A NUL byte is
 * refused too: it would cut the line short. */
static gboolean
check_utf8 (const char *file, guint line, const char *text, gsize length,
    GError ** error)
{
  const char *bad;

  if (g_utf8_validate_len (text, length, &bad))
    return TRUE;
  if (*bad == '\0')
    set_parse_error (error, file, line,
        "expected UTF-8 text, got a NUL byte at byte %u of the line",
        (guint) (bad - text) + 1);
  else
    set_parse_error (error, file, line,
        "expected UTF-8 text, got the invalid byte 0x%02x at byte %u of the "
        "line", (guint) (guchar) * bad, (guint) (bad - text) + 1);
  return FALSE;
}

/* an id names one item: results, caches and folds are keyed by it */
static gboolean
check_unique_ids (const char *file, GArray * items, GError ** error)
{
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean ok = TRUE;
  guint i;

  for (i = 0; i < items->len && ok; i++) {
    AffectManifestItem *it = &g_array_index (items, AffectManifestItem, i);
    gpointer first;

    if (g_hash_table_lookup_extended (seen, it->id, NULL, &first)) {
      set_parse_error (error, file, it->line,
          "expected a unique id, got '%s' already used on line %u", it->id,
          GPOINTER_TO_UINT (first));
      ok = FALSE;
    } else
      g_hash_table_insert (seen, it->id, GUINT_TO_POINTER (it->line));
  }
  g_hash_table_destroy (seen);
  return ok;
}

static void
row_free (gpointer p)
{
  Row *row = p;

  g_free (row->text);
  g_strfreev (row->fields);
  g_free (row);
}

AffectManifest *
affect_manifest_parse (const char *filename, const char *text, gsize length,
    const AffectManifestOptions * options, GError ** error)
{
  AffectManifestOptions defaults;
  AffectManifestFormat format;
  Builder b = { 0 };
  GPtrArray *rows;
  const char *p = text, *end = text + length;
  char **header_tab = NULL, **header = NULL;
  char delim = '\t';
  gboolean header_is_data = FALSE, ok = TRUE;
  guint line = 0, header_line = 0, r;

  if (options == NULL) {
    affect_manifest_options_init (&defaults);
    options = &defaults;
  }
  if (length >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
    p += 3;

  /* lines → rows (fields split later, once the delimiter is known) */
  rows = g_ptr_array_new_with_free_func (row_free);
  while (p < end) {
    const char *nl = memchr (p, '\n', end - p);
    const char *stop = nl ? nl : end;
    char *s;
    Row *row;

    line++;
    if (stop > p && stop[-1] == '\r')
      stop--;
    if ((gsize) (stop - p) > AFFECT_MANIFEST_MAX_LINE) {
      set_parse_error (error, filename, line,
          "expected a line of at most %u bytes, got %" G_GSIZE_FORMAT,
          AFFECT_MANIFEST_MAX_LINE, (gsize) (stop - p));
      ok = FALSE;
      break;
    }
    if (!check_utf8 (filename, line, p, stop - p, error)) {
      ok = FALSE;
      break;
    }
    s = g_strndup (p, stop - p);
    p = nl ? nl + 1 : end;
    if (is_blank (s)) {
      g_free (s);
      continue;
    }
    if (header_line == 0) {
      header_line = line;
      header_tab = g_strsplit (s, "\t", -1);
      delim = strchr (s, '\t') ? '\t' : ',';
      header = split_fields (s, delim, TRUE);
    }
    row = g_new0 (Row, 1);
    row->line = line;
    row->text = s;
    g_ptr_array_add (rows, row);
  }
  if (!ok) {
    g_strfreev (header_tab);
    g_strfreev (header);
    g_ptr_array_free (rows, TRUE);
    return NULL;
  }
  if (rows->len == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "%s: empty manifest: no header and no items", filename);
    g_ptr_array_free (rows, TRUE);
    return NULL;
  }

  format = options->format;
  if (format == AFFECT_MANIFEST_AUTO) {
    if (header_matches (header_tab, mtg_header, 5))
      format = AFFECT_MANIFEST_MTG_TSV;
    else if (g_strv_length (header_tab) == 5
        && header_matches (header_tab, quadrant_header, 5))
      format = AFFECT_MANIFEST_QUADRANT_CSV;
    else if (column_index (header, "path") >= 0)
      format = AFFECT_MANIFEST_CSV;
    else {
      char *first = g_strndup (((Row *) rows->pdata[0])->text, 80);
      set_parse_error (error, filename, header_line,
          "expected a header: MTG-Jamendo TSV (TRACK_ID ARTIST_ID ALBUM_ID "
          "PATH DURATION TAGS), quadrant CSV (TRACK LABEL DURATION BIN "
          "EMOTION_VALENCE) or CSV with a 'path' column; got '%s'", first);
      g_free (first);
      ok = FALSE;
    }
  } else if (format == AFFECT_MANIFEST_MTG_TSV)
    header_is_data = !header_matches (header_tab, mtg_header, 5);
  else if (format == AFFECT_MANIFEST_QUADRANT_CSV)
    header_is_data = !header_matches (header_tab, quadrant_header, 5);

  for (r = 0; r < rows->len; r++) {
    Row *row = g_ptr_array_index (rows, r);
    row->fields = format == AFFECT_MANIFEST_CSV ?
        split_fields (row->text, delim, TRUE) :
        split_fields (row->text, '\t', FALSE);
  }
  if (!ok)
    goto done;
  if (!header_is_data || format == AFFECT_MANIFEST_CSV)
    g_ptr_array_remove_index (rows, 0);

  b.file = filename;
  b.options = options;
  b.m = g_new0 (AffectManifest, 1);
  b.m->filename = g_strdup (filename);
  b.m->format = format;
  b.items = g_array_new (FALSE, TRUE, sizeof (AffectManifestItem));
  b.default_split = g_strdup (options->split);
  if (b.default_split == NULL)
    b.default_split = split_from_filename (filename);

  switch (format) {
    case AFFECT_MANIFEST_MTG_TSV:{
      static const char *const extra[] = { "ARTIST_ID", "ALBUM_ID", "TAGS" };
      b.m->task = AFFECT_MANIFEST_TASK_TAGS;
      builder_set_vocabulary (&b, options->vocabulary ? options->vocabulary :
          affect_vocabulary_mtg_moodtheme ());
      set_names (&b.m->extra_names, &b.m->n_extra, extra, 3);
      b.m->target_names = g_new0 (char *, 1);
      for (r = 0; r < rows->len && ok; r++)
        ok = parse_mtg_row (&b, g_ptr_array_index (rows, r), error);
      break;
    }
    case AFFECT_MANIFEST_QUADRANT_CSV:{
      static const char *const extra[] = { "LABEL", "BIN" };
      b.m->task = AFFECT_MANIFEST_TASK_CLASS;
      builder_set_vocabulary (&b, options->vocabulary ? options->vocabulary :
          affect_quadrant_names ());
      set_names (&b.m->extra_names, &b.m->n_extra, extra, 2);
      b.m->target_names = g_new0 (char *, 1);
      for (r = 0; r < rows->len && ok; r++)
        ok = parse_quadrant_row (&b, g_ptr_array_index (rows, r), error);
      break;
    }
    default:
      ok = parse_csv (&b, header, rows, error);
      break;
  }

  if (ok && b.items->len == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "%s: empty manifest: a header but no items", filename);
    ok = FALSE;
  }
  if (ok)
    ok = check_unique_ids (filename, b.items, error);
  b.m->n_items = b.items->len;
  b.m->items = (AffectManifestItem *) g_array_free (b.items, FALSE);
  if (!ok) {
    affect_manifest_free (b.m);
    b.m = NULL;
  }
  if (b.vocab_index)
    g_hash_table_destroy (b.vocab_index);
  g_free (b.default_split);
done:
  g_strfreev (header_tab);
  g_strfreev (header);
  g_ptr_array_free (rows, TRUE);
  return b.m;
}

AffectManifest *
affect_manifest_load (const char *filename,
    const AffectManifestOptions * options, GError ** error)
{
  GString *text;
  AffectManifest *m;
  FILE *f;
  char buf[65536];
  gsize n, line_length = 0;
  guint line = 1;

  f = g_fopen (filename, "rb");
  if (f == NULL) {
    int e = errno;
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "cannot read manifest %s: %s", filename, g_strerror (e));
    return NULL;
  }
  /* read in blocks and stop at the first line over the limit, so that a
   * runaway line costs one block, not its length in time and memory */
  text = g_string_new (NULL);
  while ((n = fread (buf, 1, sizeof (buf), f)) > 0) {
    const char *p = buf, *end = buf + n, *nl;

    while ((nl = memchr (p, '\n', end - p)) != NULL) {
      line_length += nl - p;
      if (line_length > AFFECT_MANIFEST_MAX_LINE + 1)   /* + '\r' */
        goto too_long;
      line_length = 0;
      line++;
      p = nl + 1;
    }
    line_length += end - p;
    if (line_length > AFFECT_MANIFEST_MAX_LINE + 1)
      goto too_long;
    g_string_append_len (text, buf, n);
  }
  if (ferror (f)) {
    int e = errno;
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "cannot read manifest %s: %s", filename, g_strerror (e));
    fclose (f);
    g_string_free (text, TRUE);
    return NULL;
  }
  fclose (f);
  m = affect_manifest_parse (filename, text->str, text->len, options, error);
  g_string_free (text, TRUE);
  return m;

too_long:
  fclose (f);
  g_string_free (text, TRUE);
  set_parse_error (error, filename, line,
      "expected a line of at most %u bytes, got a longer one",
      AFFECT_MANIFEST_MAX_LINE);
  return NULL;
}

char *
affect_manifest_resolve_path (const AffectManifest * m,
    const AffectManifestItem * item, const char *root)
{
  char *base, *path;

  if (g_path_is_absolute (item->path) || strstr (item->path, "://"))
    return g_strdup (item->path);
  base = root && *root ? g_strdup (root) : g_path_get_dirname (m->filename);
  path = strcmp (base, ".") == 0 ? g_strdup (item->path) :
      g_build_filename (base, item->path, NULL);
  if (m->format == AFFECT_MANIFEST_QUADRANT_CSV
      && !g_file_test (path, G_FILE_TEST_EXISTS)
      && g_ascii_isdigit (item->path[0]) && strchr (item->path, '/') == NULL) {
    guint64 number = g_ascii_strtoull (item->path, NULL, 10);
    char *dir = g_strdup_printf ("%02u", (guint) (number % 100));
    char *mtg = g_build_filename (base, dir, item->path, NULL);
    if (g_file_test (mtg, G_FILE_TEST_EXISTS)) {
      g_free (path);
      path = mtg;
    } else
      g_free (mtg);
    g_free (dir);
  }
  g_free (base);
  return path;
}

static void
item_copy (AffectManifestItem * dst, const AffectManifestItem * src,
    const AffectManifest * m)
{
  guint i;

  *dst = *src;
  dst->id = g_strdup (src->id);
  dst->path = g_strdup (src->path);
  dst->split = g_strdup (src->split);
  dst->labels = src->labels ?
      g_memdup2 (src->labels, m->n_vocabulary * sizeof (float)) : NULL;
  dst->targets = src->targets ?
      g_memdup2 (src->targets, m->n_targets * sizeof (double)) : NULL;
  dst->extra = src->extra ? g_new0 (char *, m->n_extra) : NULL;
  for (i = 0; src->extra && i < m->n_extra; i++)
    dst->extra[i] = g_strdup (src->extra[i]);
}

AffectManifest *
affect_manifest_subset (const AffectManifest * m, const guint * indices,
    guint n)
{
  AffectManifest *sub = g_new0 (AffectManifest, 1);
  guint i;

  *sub = *m;
  sub->filename = g_strdup (m->filename);
  sub->vocabulary = g_strdupv (m->vocabulary);
  sub->target_names = g_strdupv (m->target_names);
  sub->extra_names = g_strdupv (m->extra_names);
  sub->n_items = n;
  sub->items = g_new0 (AffectManifestItem, MAX (n, 1));
  for (i = 0; i < n; i++) {
    g_return_val_if_fail (indices[i] < m->n_items, sub);
    item_copy (&sub->items[i], &m->items[indices[i]], m);
  }
  return sub;
}

/* ---- quadrants ---- */

/* The shortest decimal that reads back as the same double, without an
 * exponent and without a trailing ".0": how the paper's CSVs (written from
 * pandas floats) print durations (186.0 → "186", 205.1 → "205.1"). */
static void
format_duration (GString * out, double d)
{
  char buf[64];
  int p;

  for (p = 1; p <= 17; p++) {
    snprintf (buf, sizeof (buf), "%.*g", p, d);
    if (strchr (buf, 'e') == NULL && g_ascii_strtod (buf, NULL) == d)
      break;
  }
  if (p > 17)
    snprintf (buf, sizeof (buf), "%.17g", d);
  g_string_append (out, buf);
}

/* the tag is in the manifest's vocabulary, with or without the prefix */
static gboolean
vocabulary_has (const AffectManifest * m, const char *tag)
{
  const char *bare = g_str_has_prefix (tag, MTG_PREFIX) ?
      tag + strlen (MTG_PREFIX) : tag;
  guint i;

  for (i = 0; i < m->n_vocabulary; i++) {
    const char *v = m->vocabulary[i];
    if (strcmp (v, tag) == 0 || strcmp (g_str_has_prefix (v, MTG_PREFIX) ?
            v + strlen (MTG_PREFIX) : v, bare) == 0)
      return TRUE;
  }
  return FALSE;
}

AffectManifest *
affect_manifest_relabel_quadrants (const AffectManifest * tsv, GError ** error)
{
  static const char *const extra[] = { "LABEL", "BIN" };
  AffectManifest *q;
  GArray *items;
  guint i;

  g_return_val_if_fail (tsv->format == AFFECT_MANIFEST_MTG_TSV, NULL);
  q = g_new0 (AffectManifest, 1);
  q->filename = g_strdup (tsv->filename);
  q->format = AFFECT_MANIFEST_QUADRANT_CSV;
  q->task = AFFECT_MANIFEST_TASK_CLASS;
  q->vocabulary = g_strdupv ((char **) affect_quadrant_names ());
  q->n_vocabulary = AFFECT_N_QUADRANTS;
  q->target_names = g_new0 (char *, 1);
  set_names (&q->extra_names, &q->n_extra, extra, 2);
  items = g_array_new (FALSE, TRUE, sizeof (AffectManifestItem));

  for (i = 0; i < tsv->n_items; i++) {
    const AffectManifestItem *src = &tsv->items[i];
    const char *all = affect_manifest_item_get_extra (tsv, src, "TAGS");
    char **tags = g_strsplit (all ? all : "", ";", -1), **sorted;
    AffectManifestItem it = { 0 };
    GString *label;
    int quadrant = -1;
    guint t, k, n = 0;

    /* only the tags the vocabulary knows (the 56 by default), in file
     * order: so the unsplit 59-tag TSV and the split TSVs agree */
    for (t = 0, k = 0; tags[t]; t++) {
      if (vocabulary_has (tsv, tags[t]))
        tags[k++] = tags[t];
      else
        g_free (tags[t]);
    }
    tags[k] = NULL;
    n = k;
    /* the first mapped tag of the alphabetically sorted list decides */
    sorted = g_memdup2 (tags, (n + 1) * sizeof (char *));
    qsort (sorted, n, sizeof (char *), compare_strings);
    for (t = 0; t < n && quadrant < 0; t++)
      quadrant = affect_quadrant_of_tag (sorted[t]);
    g_free (sorted);
    if (quadrant < 0) {
      g_strfreev (tags);
      continue;
    }
    label = g_string_new (NULL);
    for (t = 0; t < n; t++) {
      if (t)
        g_string_append_c (label, ';');
      g_string_append (label, g_str_has_prefix (tags[t], MTG_PREFIX) ?
          tags[t] + strlen (MTG_PREFIX) : tags[t]);
    }
    g_strfreev (tags);
    it.id = g_strdup (src->id);
    it.path = g_strdup (src->path);
    it.split = g_strdup (src->split);
    it.duration = src->duration;
    it.line = src->line;
    it.class_index = quadrant;
    it.labels = g_new0 (float, AFFECT_N_QUADRANTS);
    it.labels[quadrant] = 1.0f;
    it.extra = g_new0 (char *, 2);
    it.extra[0] = g_string_free (label, FALSE);
    it.extra[1] = g_strdup (affect_quadrant_bin (quadrant));
    g_array_append_val (items, it);
  }
  q->n_items = items->len;
  q->items = (AffectManifestItem *) g_array_free (items, FALSE);
  if (q->n_items == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "%s: no item has one of the 9 tags mapped to a quadrant",
        tsv->filename);
    affect_manifest_free (q);
    return NULL;
  }
  return q;
}

char *
affect_manifest_quadrant_csv_to_string (const AffectManifest * m)
{
  GString *out =
      g_string_new ("TRACK\tLABEL\tDURATION\tBIN\tEMOTION_VALENCE\n");
  guint i;

  for (i = 0; i < m->n_items; i++) {
    const AffectManifestItem *it = &m->items[i];
    const char *label = affect_manifest_item_get_extra (m, it, "LABEL");
    const char *bin = affect_manifest_item_get_extra (m, it, "BIN");
    char *track = g_path_get_basename (it->path);

    g_string_append_printf (out, "%s\t%s\t", track, label ? label : "");
    format_duration (out, it->duration);
    g_string_append_printf (out, "\t%s\t%s\n", bin ? bin : "",
        it->class_index >= 0 ? m->vocabulary[it->class_index] : "");
    g_free (track);
  }
  return g_string_free (out, FALSE);
}

/* ---- selection ---- */

void
affect_manifest_selection_init (AffectManifestSelection * s)
{
  memset (s, 0, sizeof (*s));
  s->stop = -1;
  s->shard_count = 1;
}

gboolean
affect_manifest_parse_shard (const char *str, guint * index, guint * count,
    GError ** error)
{
  const char *orig = str;
  guint64 i, n;
  char *end;

  if (str == NULL || *str == '\0') {
    *index = 0;
    *count = 1;
    return TRUE;
  }
  i = g_ascii_strtoull (str, &end, 10);
  if (end == str || *end != '/')
    goto bad;
  str = end + 1;
  n = g_ascii_strtoull (str, &end, 10);
  if (end == str || *end != '\0' || n == 0 || n > G_MAXUINT || i >= n)
    goto bad;
  *index = (guint) i;
  *count = (guint) n;
  return TRUE;
bad:
  g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
      "bad shard '%s': expected i/N with 0 <= i < N", orig);
  return FALSE;
}

guint *
affect_manifest_select (const AffectManifest * m,
    const AffectManifestSelection * s, guint * n_selected, GError ** error)
{
  guint *idx = g_new (guint, MAX (m->n_items, 1));
  guint n = 0, i, k, start, stop, count = MAX (s->shard_count, 1);

  for (i = 0; i < m->n_items; i++)
    if (s->split == NULL || m->items[i].split == NULL
        || strcmp (m->items[i].split, s->split) == 0)
      idx[n++] = i;
  if (n == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "%s: no item of split '%s' among %u items", m->filename,
        s->split, m->n_items);
    g_free (idx);
    return NULL;
  }
  if (s->shuffle) {
    /* Fisher-Yates from the last position down; the modulo's bias is
     * below n / 2^64 */
    AffectRng rng;
    affect_rng_init (&rng, s->seed);
    for (i = n - 1; i > 0; i--) {
      guint j = (guint) (affect_rng_next (&rng) % ((uint64_t) i + 1));
      guint t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
  }
  start = MIN (s->start, n);
  stop = s->stop < 0 || (guint64) s->stop > n ? n : (guint) s->stop;
  if (stop < start)
    stop = start;
  /* after the slice, the k-th item goes to shard k mod N */
  for (i = start, k = 0; i < stop; i++)
    if ((i - start) % count == s->shard_index)
      idx[k++] = idx[i];
  *n_selected = k;
  return idx;
}

/* ---- grouped hold-out ---- */

gboolean
affect_group_is_validation (uint64_t seed, const char *group, double fraction)
{
  /* FNV-1a of the group's bytes, then splitmix64's finaliser over it and
   * the seed: a few characters' difference, or the next seed, moves a
   * group to an independent draw */
  uint64_t h = 0xcbf29ce484222325ull, z;
  const unsigned char *p;

  if (group == NULL || fraction <= 0.0)
    return FALSE;
  for (p = (const unsigned char *) group; *p; p++)
    h = (h ^ *p) * 0x100000001b3ull;
  z = h ^ (seed + 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (double) (z >> 11) * (1.0 / 9007199254740992.0) < fraction;
}

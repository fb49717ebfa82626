/* Per-item prediction tables: what affectmetrics writes with `items-location`
 * and what affect-metrics reads back, one or several shards at a time.
 *
 *   # affect-metrics items task=tags
 *   index,id,split,route,true:<name>,…,score:<name>,…
 *
 * Scores and truth are written with 9 significant digits, which round-trips
 * every float32 exactly: a merged table gives the very scores of the run. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "affect/metrics.h"

#define MAGIC "# affect-metrics items task="

AffectItemTable *
affect_item_table_new (AffectMetricsTask task, guint n_outputs,
    const char *const *names)
{
  AffectItemTable *t = g_new0 (AffectItemTable, 1);
  guint i;

  t->task = task;
  t->n_outputs = n_outputs;
  if (n_outputs > 0) {
    t->names = g_new0 (gchar *, n_outputs + 1);
    for (i = 0; i < n_outputs; i++)
      t->names[i] = names ? g_strdup (names[i]) : g_strdup_printf ("%u", i);
  }
  t->index = g_array_new (FALSE, FALSE, sizeof (guint64));
  t->id = g_ptr_array_new_with_free_func (g_free);
  t->split = g_ptr_array_new_with_free_func (g_free);
  t->route = g_array_new (FALSE, FALSE, sizeof (gint));
  t->truth = g_array_new (FALSE, FALSE, sizeof (float));
  t->scores = g_array_new (FALSE, FALSE, sizeof (float));
  return t;
}

void
affect_item_table_free (AffectItemTable * t)
{
  if (t == NULL)
    return;
  g_strfreev (t->names);
  g_array_free (t->index, TRUE);
  g_ptr_array_unref (t->id);
  g_ptr_array_unref (t->split);
  g_array_free (t->route, TRUE);
  g_array_free (t->truth, TRUE);
  g_array_free (t->scores, TRUE);
  g_free (t);
}

guint64
affect_item_table_n_items (const AffectItemTable * t)
{
  return t->index->len;
}

void
affect_item_table_append (AffectItemTable * t, guint64 index,
    const char *id, const char *split, int route, const float *truth,
    const float *scores)
{
  g_array_append_val (t->index, index);
  g_ptr_array_add (t->id, g_strdup (id ? id : ""));
  g_ptr_array_add (t->split, g_strdup (split ? split : ""));
  g_array_append_val (t->route, route);
  g_array_append_vals (t->truth, truth, t->n_outputs);
  g_array_append_vals (t->scores, scores, t->n_outputs);
}

static void
append_field (GString * s, const char *v)
{
  if (v == NULL)
    v = "";
  if (strpbrk (v, ",\"\r\n")) {
    const char *p;
    g_string_append_c (s, '"');
    for (p = v; *p; p++) {
      if (*p == '"')
        g_string_append_c (s, '"');
      g_string_append_c (s, *p);
    }
    g_string_append_c (s, '"');
  } else {
    g_string_append (s, v);
  }
}

gchar *
affect_item_table_csv_header (AffectMetricsTask task, guint n_outputs,
    const char *const *names)
{
  GString *s = g_string_new (MAGIC);
  guint i, pass;

  g_string_append_printf (s, "%s\nindex,id,split,route",
      affect_metrics_task_to_string (task));
  for (pass = 0; pass < 2; pass++)
    for (i = 0; i < n_outputs; i++) {
      gchar *f = g_strconcat (pass ? "score:" : "true:", names[i], NULL);
      g_string_append_c (s, ',');
      append_field (s, f);
      g_free (f);
    }
  g_string_append_c (s, '\n');
  return g_string_free (s, FALSE);
}

gchar *
affect_item_csv_row (guint n_outputs, guint64 index, const char *id,
    const char *split, int route, const float *truth, const float *scores)
{
  GString *s = g_string_new (NULL);
  guint i;

  g_string_append_printf (s, "%" G_GUINT64_FORMAT ",", index);
  append_field (s, id);
  g_string_append_c (s, ',');
  append_field (s, split);
  g_string_append_printf (s, ",%d", route);
  for (i = 0; i < n_outputs; i++)
    g_string_append_printf (s, ",%.9g", truth[i]);
  for (i = 0; i < n_outputs; i++)
    g_string_append_printf (s, ",%.9g", scores[i]);
  g_string_append_c (s, '\n');
  return g_string_free (s, FALSE);
}

gboolean
affect_item_table_write_csv (const AffectItemTable * t, const char *path,
    GError ** error)
{
  GString *s;
  gchar *h;
  guint64 i, k = t->n_outputs;
  gboolean ok;

  h = affect_item_table_csv_header (t->task, t->n_outputs,
      (const char *const *) t->names);
  s = g_string_new (h);
  g_free (h);
  for (i = 0; i < t->index->len; i++) {
    gchar *row = affect_item_csv_row (t->n_outputs,
        g_array_index (t->index, guint64, i), g_ptr_array_index (t->id, i),
        g_ptr_array_index (t->split, i), g_array_index (t->route, gint, i),
        (const float *) t->truth->data + i * k,
        (const float *) t->scores->data + i * k);
    g_string_append (s, row);
    g_free (row);
  }
  ok = affect_file_set_contents_atomic (path, s->str, s->len, error);
  g_string_free (s, TRUE);
  return ok;
}

/* Splits one CSV record (RFC 4180 quoting) starting at *p; advances *p past
 * the record's line end. */
static GPtrArray *
split_record (const char **p)
{
  GPtrArray *fields = g_ptr_array_new_with_free_func (g_free);
  GString *f = g_string_new (NULL);
  const char *c = *p;
  gboolean quoted = FALSE;

  for (;; c++) {
    if (quoted) {
      if (*c == '\0')
        break;
      if (*c == '"' && c[1] == '"') {
        g_string_append_c (f, '"');
        c++;
      } else if (*c == '"') {
        quoted = FALSE;
      } else {
        g_string_append_c (f, *c);
      }
    } else if (*c == '"') {
      quoted = TRUE;
    } else if (*c == ',') {
      g_ptr_array_add (fields, g_strdup (f->str));
      g_string_truncate (f, 0);
    } else if (*c == '\n' || *c == '\0') {
      break;
    } else if (*c != '\r') {
      g_string_append_c (f, *c);
    }
  }
  g_ptr_array_add (fields, g_string_free (f, FALSE));
  *p = *c ? c + 1 : c;
  return fields;
}

static gboolean
parse_float (const char *s, float *out)
{
  char *end;
  double v;

  errno = 0;
  v = g_ascii_strtod (s, &end);
  if (errno || end == s || *end != '\0' || !isfinite (v))
    return FALSE;
  *out = (float) v;
  return TRUE;
}

gboolean
affect_item_table_read_csv (AffectItemTable * t, const char *path,
    GError ** error)
{
  gchar *text = NULL;
  const char *p, *nl;
  GPtrArray *header = NULL, *row;
  AffectMetricsTask task;
  gchar *task_str;
  guint k, i, line = 2;
  float *truth = NULL, *scores = NULL;
  gboolean ok = FALSE;

  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  if (!g_str_has_prefix (text, MAGIC) || !(nl = strchr (text, '\n'))) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: not a per-item table (no '" MAGIC "…' first line)", path);
    goto out;
  }
  task_str = g_strstrip (g_strndup (text + strlen (MAGIC),
          nl - text - strlen (MAGIC)));
  if (!affect_metrics_task_from_string (task_str, &task)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: unknown task '%s'", path, task_str);
    g_free (task_str);
    goto out;
  }
  g_free (task_str);
  p = nl + 1;
  header = split_record (&p);
  if (header->len < 4 || (header->len - 4) % 2 != 0 ||
      g_strcmp0 (g_ptr_array_index (header, 0), "index") != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: header must be index,id,split,route,true:…,score:…", path);
    goto out;
  }
  k = (header->len - 4) / 2;
  for (i = 0; i < k; i++) {
    const char *tn = g_ptr_array_index (header, 4 + i);
    const char *sn = g_ptr_array_index (header, 4 + k + i);
    if (!g_str_has_prefix (tn, "true:") || !g_str_has_prefix (sn, "score:")
        || strcmp (tn + 5, sn + 6) != 0) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "%s: column %u/%u are '%s'/'%s', not true:<name>/score:<name>",
          path, 5 + i, 5 + k + i, tn, sn);
      goto out;
    }
  }
  if (t->n_outputs == 0) {
    t->task = task;
    t->n_outputs = k;
    t->names = g_new0 (gchar *, k + 1);
    for (i = 0; i < k; i++)
      t->names[i] = g_strdup ((const char *) g_ptr_array_index (header,
              4 + i) + 5);
  } else {
    gboolean same = t->task == task && t->n_outputs == k;
    for (i = 0; same && i < k; i++)
      same = strcmp (t->names[i],
          (const char *) g_ptr_array_index (header, 4 + i) + 5) == 0;
    if (!same) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
          "%s: task or outputs differ from the files read before", path);
      goto out;
    }
  }
  truth = g_new (float, k);
  scores = g_new (float, k);
  for (; *p; line++) {
    guint64 index;
    gint64 route;
    char *end;

    if (*p == '\n' || *p == '\r') {
      p++;
      continue;
    }
    row = split_record (&p);
    if (row->len != header->len) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
          "%s:%u: %u fields, the header has %u", path, line, row->len,
          header->len);
      g_ptr_array_unref (row);
      goto out;
    }
    index = g_ascii_strtoull (g_ptr_array_index (row, 0), &end, 10);
    ok = *end == '\0';
    route = g_ascii_strtoll (g_ptr_array_index (row, 3), &end, 10);
    ok = ok && *end == '\0';
    for (i = 0; ok && i < k; i++)
      ok = parse_float (g_ptr_array_index (row, 4 + i), &truth[i]) &&
          parse_float (g_ptr_array_index (row, 4 + k + i), &scores[i]);
    if (!ok) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
          "%s:%u: malformed number", path, line);
      g_ptr_array_unref (row);
      goto out;
    }
    affect_item_table_append (t, index, g_ptr_array_index (row, 1),
        g_ptr_array_index (row, 2), (int) route, truth, scores);
    g_ptr_array_unref (row);
  }
  ok = TRUE;
out:
  g_free (truth);
  g_free (scores);
  if (header)
    g_ptr_array_unref (header);
  g_free (text);
  return ok;
}

typedef struct
{
  guint64 index;
  const char *id;
  guint row;
} SortKey;

/* by id first: item ids are unique across a run, while index restarts in
 * each shard of affectsrc, so (id, index) gives one order to a run and to
 * its shards merged */
static gint
compare_keys (gconstpointer a, gconstpointer b)
{
  const SortKey *x = a, *y = b;
  int c = strcmp (x->id, y->id);

  if (c)
    return c;
  if (x->index != y->index)
    return x->index < y->index ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

void
affect_item_table_sort (AffectItemTable * t)
{
  guint n = t->index->len, k = t->n_outputs, i;
  SortKey *keys = g_new (SortKey, n);
  GArray *index, *route, *truth, *scores;
  GPtrArray *id, *split;

  for (i = 0; i < n; i++) {
    keys[i].index = g_array_index (t->index, guint64, i);
    keys[i].id = g_ptr_array_index (t->id, i);
    keys[i].row = i;
  }
  qsort (keys, n, sizeof *keys, compare_keys);
  index = g_array_sized_new (FALSE, FALSE, sizeof (guint64), n);
  route = g_array_sized_new (FALSE, FALSE, sizeof (gint), n);
  truth = g_array_sized_new (FALSE, FALSE, sizeof (float), n * k);
  scores = g_array_sized_new (FALSE, FALSE, sizeof (float), n * k);
  id = g_ptr_array_new_full (n, g_free);
  split = g_ptr_array_new_full (n, g_free);
  for (i = 0; i < n; i++) {
    guint r = keys[i].row;
    g_array_append_val (index, keys[i].index);
    g_array_append_val (route, g_array_index (t->route, gint, r));
    g_array_append_vals (truth, (float *) t->truth->data + (gsize) r * k, k);
    g_array_append_vals (scores, (float *) t->scores->data + (gsize) r * k, k);
    g_ptr_array_add (id, g_strdup (g_ptr_array_index (t->id, r)));
    g_ptr_array_add (split, g_strdup (g_ptr_array_index (t->split, r)));
  }
  g_free (keys);
  g_array_free (t->index, TRUE);
  g_array_free (t->route, TRUE);
  g_array_free (t->truth, TRUE);
  g_array_free (t->scores, TRUE);
  g_ptr_array_unref (t->id);
  g_ptr_array_unref (t->split);
  t->index = index;
  t->route = route;
  t->truth = truth;
  t->scores = scores;
  t->id = id;
  t->split = split;
}

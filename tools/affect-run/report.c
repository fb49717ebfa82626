/* affect-run's report: the metric files an experiment left in its results
 * folder, gathered into Markdown tables, PNG figures and one JSON file.
 *
 * Sections are recognised by the file names the experiments of pipelines/
 * write (docs/experiments.md):
 *
 * - music augmentation (Table III of the music paper): a folder with
 *   trial-N/baseline.json and trial-N/GENERATOR.json (the test metrics after
 *   augmenting with GENERATOR), averaged over the trials; cells at least 1 %
 *   above the baseline are marked; trial-N/generated-GENERATOR.json (the
 *   baseline classifying the generator's samples, class task) gives a
 *   confusion matrix summed over the trials;
 * - VAT sweep: lambda-V.json, epsilon-V.json (MAE per target) → tables and
 *   MAE-against-λ/ε curves;
 * - cross-corpus: {vat,dnn}-{model,per-stream}-seed-S.json (or without
 *   -seed-S: one seed): MAE mean ± sd over the seeds, and VAT − no VAT
 *   paired by seed (mean ± sd of the differences, seeds VAT wins);
 * - spontaneity: spontaneous-only, scripted-only, gated, single .json.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/metrics.h"
#include "affect/atomicfile.h"
#include "report.h"
#include "spread.h"

/* the ten MediaEval values of Table III, in the paper's column order */
static const char *const table3_keys[] = {
  "F-score-macro", "F-score-micro", "PR-AUC-macro", "PR-AUC-micro",
  "ROC-AUC-macro", "ROC-AUC-micro"
};

#define N_T3 G_N_ELEMENTS (table3_keys)

typedef struct
{
  GString *md;                  /* the whole report */
  GString *tables;              /* the tables only, printed at the end */
  JsonBuilder *json;
  const char *out_dir;
  const char *results_dir;
  guint n_figures;
  guint n_sections;
} Report;

static JsonObject *
read_report (const char *path)
{
  JsonParser *parser = json_parser_new ();
  JsonObject *o = NULL;

  if (json_parser_load_from_file (parser, path, NULL)) {
    JsonNode *root = json_parser_get_root (parser);
    if (JSON_NODE_HOLDS_OBJECT (root)
        && json_object_has_member (json_node_get_object (root), "overall"))
      o = json_object_ref (json_object_get_object_member
          (json_node_get_object (root), "overall"));
  }
  g_object_unref (parser);
  return o;
}

static double
member_double (JsonObject * o, const char *name)
{
  JsonNode *n;

  if (o == NULL || !json_object_has_member (o, name))
    return NAN;
  n = json_object_get_member (o, name);
  if (JSON_NODE_HOLDS_NULL (n) || !JSON_NODE_HOLDS_VALUE (n))
    return NAN;
  return json_node_get_double (n);
}

static void
append_num (GString * s, double v, const char *fmt)
{
  if (isfinite (v))
    g_string_append_printf (s, fmt, v);
  else
    g_string_append (s, "–");
}

/* both to the report and to the printed tables */
static void
table_text (Report * r, const char *text)
{
  g_string_append (r->md, text);
  g_string_append (r->tables, text);
}

static char *
relative (Report * r, const char *path)
{
  if (g_str_has_prefix (path, r->results_dir)) {
    const char *p = path + strlen (r->results_dir);
    while (*p == '/')
      p++;
    return g_strdup (p);
  }
  return g_strdup (path);
}

static void
figure (Report * r, const char *file, const char *caption)
{
  g_string_append_printf (r->md, "![%s](%s)\n\n", caption, file);
  r->n_figures++;
}

static int
compare_numeric_names (gconstpointer a, gconstpointer b)
{
  double x = g_ascii_strtod (*(const char *const *) a, NULL);
  double y = g_ascii_strtod (*(const char *const *) b, NULL);
  return x < y ? -1 : x > y;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* sections in the papers' order: music first, then the speech experiments
 * as the speech paper presents them, anything else by name */
static int
section_rank (const char *name)
{
  static const char *const order[] = { "music", "speech", "vat-sweep",
    "cross-corpus", "spontaneity"
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (order); i++)
    if (g_str_has_prefix (name, order[i]))
      return i;
  return G_N_ELEMENTS (order);
}

static int
compare_sections (gconstpointer a, gconstpointer b)
{
  const char *x = *(const char *const *) a, *y = *(const char *const *) b;
  int rx = section_rank (x), ry = section_rank (y);
  return rx != ry ? rx - ry : strcmp (x, y);
}

/* names of the entries of dir (sorted), optionally only NAME.json with a
 * prefix, returned without prefix and suffix */
static GPtrArray *
list_json (const char *dir, const char *prefix)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *e;

  if (d == NULL)
    return names;
  while ((e = g_dir_read_name (d)) != NULL) {
    if (!g_str_has_suffix (e, ".json") || !g_str_has_prefix (e, prefix))
      continue;
    g_ptr_array_add (names, g_strndup (e + strlen (prefix),
            strlen (e) - strlen (prefix) - 5));
  }
  g_dir_close (d);
  return names;
}

/* ---- regression sections ------------------------------------------- */

/* target names of a regression report */
static GPtrArray *
regression_names (JsonObject * o)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  JsonArray *a;
  guint i;

  if (o == NULL || !json_object_has_member (o, "per_output"))
    return names;
  a = json_object_get_array_member (o, "per_output");
  for (i = 0; i < json_array_get_length (a); i++)
    g_ptr_array_add (names,
        g_strdup (json_object_get_string_member (json_array_get_object_element
                (a, i), "name")));
  return names;
}

static double
regression_mae (JsonObject * o, const char *target)
{
  JsonArray *a;
  guint i;

  if (o == NULL || !json_object_has_member (o, "per_output"))
    return NAN;
  if (target == NULL)
    return member_double (o, "mae_mean");
  a = json_object_get_array_member (o, "per_output");
  for (i = 0; i < json_array_get_length (a); i++) {
    JsonObject *t = json_array_get_object_element (a, i);
    if (g_strcmp0 (json_object_get_string_member (t, "name"), target) == 0)
      return member_double (t, "mae");
  }
  return NAN;
}

/* the training-mean baseline of a regression report (affectmetrics'
 * baseline-mean): its MAE for target (NULL: the mean over targets); NaN
 * when the report has none */
static double
baseline_mae (JsonObject * o, const char *target)
{
  JsonObject *b;
  JsonArray *a, *names;
  guint i;

  if (o == NULL || !json_object_has_member (o, "baseline"))
    return NAN;
  b = json_object_get_object_member (o, "baseline");
  if (b == NULL || g_strcmp0 (json_object_get_string_member_with_default (b,
              "rule", ""), "training-mean") != 0)
    return NAN;
  if (target == NULL)
    return member_double (b, "mae_mean");
  if (!json_object_has_member (b, "mae")
      || !json_object_has_member (o, "per_output"))
    return NAN;
  a = json_object_get_array_member (b, "mae");
  names = json_object_get_array_member (o, "per_output");
  for (i = 0; i < json_array_get_length (names) && i < json_array_get_length
      (a); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element
                (names, i), "name"), target) == 0)
      return json_array_get_double_element (a, i);
  return NAN;
}

/* the training-mean row of an MAE table (t) and its "baseline" object:
 * the first of reports[0 .. n) that carries the baseline (every row is
 * scored on the same test items), else the experiment's training-mean.json
 * (generate=baseline); extra_cell goes between n and the MAE cells */
static void
training_mean_row (Report * r, GString * t, const char *dir,
    JsonObject ** reports, guint n, GPtrArray * names, const char *extra_cell)
{
  JsonObject *src = NULL;
  gchar *f;
  guint i, j;

  for (i = 0; i < n && src == NULL; i++)
    if (reports[i] != NULL
        && isfinite (baseline_mae (reports[i], names->pdata[0])))
      src = json_object_ref (reports[i]);
  f = g_strdup_printf ("%s/training-mean.json", dir);
  if (src == NULL && (src = read_report (f)) != NULL
      && !isfinite (baseline_mae (src, names->pdata[0])))
    g_clear_pointer (&src, json_object_unref);
  g_free (f);
  if (src == NULL)
    return;
  g_string_append_printf (t, "| training mean | %u |%s",
      (guint) member_double (src, "n_items"), extra_cell);
  json_builder_set_member_name (r->json, "baseline");
  json_builder_begin_object (r->json);
  json_builder_set_member_name (r->json, "rule");
  json_builder_add_string_value (r->json, "training-mean");
  for (j = 0; j < names->len + (names->len > 1); j++) {
    const char *target = j < names->len ? names->pdata[j] : NULL;
    double v = baseline_mae (src, target);
    gchar *key = g_strdup_printf ("mae_%s", target ? target : "mean");
    g_string_append_c (t, ' ');
    append_num (t, v, "%.3f");
    g_string_append (t, " |");
    json_builder_set_member_name (r->json, key);
    if (isfinite (v))
      json_builder_add_double_value (r->json, v);
    else
      json_builder_add_null_value (r->json);
    g_free (key);
  }
  json_builder_end_object (r->json);
  g_string_append_c (t, '\n');
  json_object_unref (src);
}

static gboolean
exists (const char *dir, const char *name)
{
  gchar *f = g_strdup_printf ("%s/%s.json", dir, name);
  gboolean e = g_file_test (f, G_FILE_TEST_IS_REGULAR);
  g_free (f);
  return e;
}

static void
section_heading (Report * r, const char *title, const char *dir)
{
  gchar *rel = relative (r, dir);
  g_string_append_printf (r->md, "## %s\n\n", title);
  g_string_append_printf (r->tables, "## %s\n\n", title);
  g_string_append_printf (r->md, "Files: `%s/`\n\n", *rel ? rel : ".");
  g_free (rel);
  r->n_sections++;
}

/* ---- cross-corpus over seeds: mean ± sd, VAT − no VAT paired ---------- */

#define CC_ROWS 4

static const char *const cc_rows[CC_ROWS] = {
  "dnn-model", "vat-model", "dnn-per-stream", "vat-per-stream"
};

static const char *const cc_labels[CC_ROWS] = {
  "DNN (model standardisation)", "DNN + VAT (model standardisation)",
  "DNN (per-stream standardisation)", "DNN + VAT (per-stream "
      "standardisation)"
};

/* the seeds of a folder's rows: S of STEM-seed-S.json for any of the
 * stems, numerically sorted; one unnamed seed ("-": STEM.json) for a folder
 * written without seeds; empty when there is neither */
static GPtrArray *
row_seeds (const char *dir, const char *const *stems, guint n_stems)
{
  GPtrArray *seeds = g_ptr_array_new_with_free_func (g_free);
  guint i, j;

  for (i = 0; i < n_stems; i++) {
    gchar *prefix = g_strdup_printf ("%s-seed-", stems[i]);
    GPtrArray *found = list_json (dir, prefix);
    for (j = 0; j < found->len; j++)
      if (!g_ptr_array_find_with_equal_func (seeds, found->pdata[j],
              g_str_equal, NULL))
        g_ptr_array_add (seeds, g_strdup (found->pdata[j]));
    g_ptr_array_unref (found);
    g_free (prefix);
  }
  g_ptr_array_sort (seeds, compare_numeric_names);
  for (i = 0; i < n_stems && seeds->len == 0; i++)
    if (exists (dir, stems[i]))
      g_ptr_array_add (seeds, g_strdup ("-"));
  return seeds;
}

/* DIR/STEM-seed-SEED.json, or DIR/STEM.json for the seed "-" */
static JsonObject *
seed_read (const char *dir, const char *stem, const char *seed)
{
  gchar *f = strcmp (seed, "-") == 0 ?
      g_strdup_printf ("%s/%s.json", dir, stem) :
      g_strdup_printf ("%s/%s-seed-%s.json", dir, stem, seed);
  JsonObject *o = read_report (f);
  g_free (f);
  return o;
}

/* the MAE of one seed's file for target (NULL: their mean); NaN without */
static double
seed_mae (const char *dir, const char *stem, const char *seed,
    const char *target)
{
  JsonObject *o = seed_read (dir, stem, seed);
  double v = regression_mae (o, target);

  if (o != NULL)
    json_object_unref (o);
  return v;
}

static void
json_double_or_null (JsonBuilder * b, double v)
{
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

/* a cell "mean ± sd" (the sd when there are two values or more) */
static void
append_spread (GString * t, Spread sp)
{
  append_num (t, sp.mean, "%.3f");
  if (isfinite (sp.mean) && isfinite (sp.sd))
    g_string_append_printf (t, " ± %.3f", sp.sd);
}

/* Two rows compared seed by seed: a against b, named label in the paired
 * table */
typedef struct
{
  const char *a, *b, *label;
} PairedRows;

/* What a paired table compares: its heading, the column headings of a, b,
 * a − b and "a better", and their JSON keys (KEY_mean, KEY_sd, BETTER) */
typedef struct
{
  const char *heading, *a_column, *b_column, *difference, *better;
  const char *a_key, *b_key, *better_key;
} Comparison;

static const Comparison vat_comparison = {
  "**VAT − no VAT, paired by seed** (negative: VAT has the lower MAE; "
      "*VAT better*: seeds on which it does)",
  "DNN + VAT", "DNN", "VAT − no VAT", "VAT better",
  "vat", "dnn", "vat_better"
};

static const Comparison gated_comparison = {
  "**Gated system − single regressor, paired by seed** (negative: the "
      "gated system has the lower MAE; *gated better*: seeds on which it "
      "does)",
  "gated", "single", "gated − single", "gated better",
  "gated", "single", "gated_better"
};

/* Rows of regression reports over seeds (DIR/STEM-seed-S.json): a table of
 * the MAE per target, mean ± sd over the seeds, with the training-mean row;
 * then every pair's a − b as cmp names it, paired by seed (mean ± sd of the
 * differences, the seeds a wins; a tie is no win). Into the open JSON
 * object: "seeds", "rows", "baseline", "paired" (each pair's label under
 * pair_field). FALSE when no row has a file. */
static gboolean
seeded_tables (Report * r, const char *dir, const char *title,
    const char *const *stems, const char *const *labels, guint n_rows,
    GPtrArray * seeds, const PairedRows * pairs, guint n_pairs,
    const char *pair_field, const Comparison * cmp)
{
  const guint n_seeds = seeds->len;
  GPtrArray *names = NULL;
  JsonObject **first = g_new0 (JsonObject *, n_rows);
  guint i, k, c, n_cols;
  double *v = g_new (double, MAX (n_seeds, 1));
  double *va = g_new (double, MAX (n_seeds, 1));
  double *vb = g_new (double, MAX (n_seeds, 1));
  GString *t;

  for (i = 0; i < n_rows; i++)
    for (k = 0; k < n_seeds && first[i] == NULL; k++)
      first[i] = seed_read (dir, stems[i], seeds->pdata[k]);
  for (i = 0; i < n_rows && (names == NULL || names->len == 0); i++)
    if (first[i] != NULL) {
      if (names)
        g_ptr_array_unref (names);
      names = regression_names (first[i]);
    }
  if (names == NULL || names->len == 0) {
    for (i = 0; i < n_rows; i++)
      g_clear_pointer (&first[i], json_object_unref);
    if (names)
      g_ptr_array_unref (names);
    g_free (first);
    g_free (v);
    g_free (va);
    g_free (vb);
    return FALSE;
  }
  n_cols = names->len + (names->len > 1);
  json_builder_set_member_name (r->json, "seeds");
  json_builder_begin_array (r->json);
  for (k = 0; k < n_seeds; k++)
    json_builder_add_string_value (r->json, seeds->pdata[k]);
  json_builder_end_array (r->json);

  /* the MAE table: mean ± sd over the seeds */
  t = g_string_new (NULL);
  g_string_append_printf (t, "%s%s\n\n| | n | seeds |", title,
      n_seeds > 1 ? " (mean ± sd over the seeds)" : "");
  for (c = 0; c < names->len; c++)
    g_string_append_printf (t, " MAE %s |", (char *) names->pdata[c]);
  if (names->len > 1)
    g_string_append (t, " MAE mean |");
  g_string_append (t, "\n|---|---:|---:|");
  for (c = 0; c < n_cols; c++)
    g_string_append (t, "---:|");
  g_string_append_c (t, '\n');
  json_builder_set_member_name (r->json, "rows");
  json_builder_begin_array (r->json);
  for (i = 0; i < n_rows; i++) {
    guint n_found = 0, n_items;
    if (first[i] == NULL) {
      g_string_append_printf (t, "| %s | (missing) |\n", labels[i]);
      continue;
    }
    for (k = 0; k < n_seeds; k++)
      n_found += isfinite (seed_mae (dir, stems[i], seeds->pdata[k],
              names->pdata[0]));
    n_items = (guint) member_double (first[i], "n_items");
    g_string_append_printf (t, "| %s | %u | %u |", labels[i], n_items, n_found);
    json_builder_begin_object (r->json);
    json_builder_set_member_name (r->json, "name");
    json_builder_add_string_value (r->json, labels[i]);
    json_builder_set_member_name (r->json, "n_items");
    json_builder_add_int_value (r->json, n_items);
    json_builder_set_member_name (r->json, "seeds");
    json_builder_add_int_value (r->json, n_found);
    for (c = 0; c < n_cols; c++) {
      const char *target = c < names->len ? names->pdata[c] : NULL;
      guint n = 0;
      Spread sp;
      gchar *key;
      for (k = 0; k < n_seeds; k++) {
        va[k] = seed_mae (dir, stems[i], seeds->pdata[k], target);
        if (isfinite (va[k]))
          v[n++] = va[k];
      }
      sp = spread (v, n);
      g_string_append_c (t, ' ');
      append_spread (t, sp);
      g_string_append (t, " |");
      key = g_strdup_printf ("mae_%s", target ? target : "mean");
      json_builder_set_member_name (r->json, key);
      json_double_or_null (r->json, sp.mean);
      g_free (key);
      key = g_strdup_printf ("mae_%s_sd", target ? target : "mean");
      json_builder_set_member_name (r->json, key);
      json_double_or_null (r->json, sp.sd);
      g_free (key);
      key = g_strdup_printf ("mae_%s_per_seed", target ? target : "mean");
      json_builder_set_member_name (r->json, key);
      json_builder_begin_array (r->json);
      for (k = 0; k < n_seeds; k++)
        json_double_or_null (r->json, va[k]);
      json_builder_end_array (r->json);
      g_free (key);
    }
    json_builder_end_object (r->json);
    g_string_append_c (t, '\n');
  }
  json_builder_end_array (r->json);
  training_mean_row (r, t, dir, first, n_rows, names, " – |");
  g_string_append_c (t, '\n');

  /* a − b on the same seed */
  if (n_pairs > 0)
    g_string_append_printf (t, "%s\n\n| %s | target | %s | %s | %s | %s |\n"
        "|---|---|---:|---:|---:|---:|\n", cmp->heading, pair_field,
        cmp->a_column, cmp->b_column, cmp->difference, cmp->better);
  json_builder_set_member_name (r->json, "paired");
  json_builder_begin_array (r->json);
  for (i = 0; i < n_pairs; i++) {
    json_builder_begin_object (r->json);
    json_builder_set_member_name (r->json, pair_field);
    json_builder_add_string_value (r->json, pairs[i].label);
    for (c = 0; c < n_cols; c++) {
      const char *target = c < names->len ? names->pdata[c] : NULL;
      guint n = 0, wins = 0;
      Spread sa, sb, sd;
      gchar *key;

      json_builder_set_member_name (r->json, target ? target : "mean");
      json_builder_begin_object (r->json);
      json_builder_set_member_name (r->json, "seeds");
      json_builder_begin_array (r->json);
      for (k = 0; k < n_seeds; k++) {
        double a = seed_mae (dir, pairs[i].a, seeds->pdata[k], target);
        double b = seed_mae (dir, pairs[i].b, seeds->pdata[k], target);
        if (!isfinite (a) || !isfinite (b))
          continue;
        va[n] = a;
        vb[n] = b;
        v[n] = a - b;
        wins += v[n] < 0;
        n++;
        json_builder_add_string_value (r->json, seeds->pdata[k]);
      }
      json_builder_end_array (r->json);
      sa = spread (va, n);
      sb = spread (vb, n);
      sd = spread (v, n);
      json_builder_set_member_name (r->json, "differences");
      json_builder_begin_array (r->json);
      for (k = 0; k < n; k++)
        json_double_or_null (r->json, v[k]);
      json_builder_end_array (r->json);
      json_builder_set_member_name (r->json, key = g_strconcat (cmp->a_key,
              "_mean", NULL));
      json_double_or_null (r->json, sa.mean);
      g_free (key);
      json_builder_set_member_name (r->json, key = g_strconcat (cmp->a_key,
              "_sd", NULL));
      json_double_or_null (r->json, sa.sd);
      g_free (key);
      json_builder_set_member_name (r->json, key = g_strconcat (cmp->b_key,
              "_mean", NULL));
      json_double_or_null (r->json, sb.mean);
      g_free (key);
      json_builder_set_member_name (r->json, key = g_strconcat (cmp->b_key,
              "_sd", NULL));
      json_double_or_null (r->json, sb.sd);
      g_free (key);
      json_builder_set_member_name (r->json, "mean");
      json_double_or_null (r->json, sd.mean);
      json_builder_set_member_name (r->json, "sd");
      json_double_or_null (r->json, sd.sd);
      json_builder_set_member_name (r->json, cmp->better_key);
      json_builder_add_int_value (r->json, wins);
      json_builder_set_member_name (r->json, "n");
      json_builder_add_int_value (r->json, n);
      json_builder_end_object (r->json);
      if (n == 0)
        continue;
      if (target)
        g_string_append_printf (t, "| %s | MAE %s | ", pairs[i].label, target);
      else
        g_string_append_printf (t, "| %s | MAE mean | ", pairs[i].label);
      append_spread (t, sa);
      g_string_append (t, " | ");
      append_spread (t, sb);
      g_string_append (t, " | ");
      if (isfinite (sd.mean))
        g_string_append_printf (t, "%+.3f", sd.mean);
      if (isfinite (sd.sd))
        g_string_append_printf (t, " ± %.3f", sd.sd);
      g_string_append_printf (t, " | %u of %u |\n", wins, n);
    }
    json_builder_end_object (r->json);
  }
  json_builder_end_array (r->json);
  g_string_append_c (t, '\n');
  table_text (r, t->str);
  g_string_free (t, TRUE);
  for (i = 0; i < n_rows; i++)
    g_clear_pointer (&first[i], json_object_unref);
  g_free (first);
  g_free (v);
  g_free (va);
  g_free (vb);
  g_ptr_array_unref (names);
  return TRUE;
}

static void
cross_corpus_section (Report * r, const char *dir)
{
  static const PairedRows pairs[] = {
    {"vat-model", "dnn-model", "model"},
    {"vat-per-stream", "dnn-per-stream", "per-stream"}
  };
  GPtrArray *seeds = row_seeds (dir, cc_rows, CC_ROWS);
  JsonObject *o = NULL;
  guint i, k;

  /* only a folder with at least one row */
  for (i = 0; i < CC_ROWS && o == NULL; i++)
    for (k = 0; k < seeds->len && o == NULL; k++)
      o = seed_read (dir, cc_rows[i], seeds->pdata[k]);
  if (o != NULL) {
    json_object_unref (o);
    section_heading (r, "Speech: cross-corpus (train on one corpus, test "
        "on the other)", dir);
    json_builder_set_member_name (r->json, "cross-corpus");
    json_builder_begin_object (r->json);
    seeded_tables (r, dir, "**Cross-corpus MAE**", cc_rows, cc_labels,
        CC_ROWS, seeds, pairs, G_N_ELEMENTS (pairs), "standardisation",
        &vat_comparison);
    json_builder_end_object (r->json);
  }
  g_ptr_array_unref (seeds);
}

/* One sweep (prefix "lambda-" or "epsilon-"): PREFIX-V-seed-S.json (or
 * PREFIX-V.json, one seed) for every value V: the table over the seeds, each
 * setting paired with lambda-0 (no VAT) by seed, and the curve of the mean
 * MAE against V. */
static void
sweep (Report * r, const char *dir, const char *prefix, const char *symbol,
    const char *fig_name)
{
  GPtrArray *found = list_json (dir, prefix);
  GPtrArray *values = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *seeds = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *stems, *labels, *names = NULL;
  PairedRows *pairs;
  guint i, j, k, n_pairs = 0, n_series;
  gchar *heading, *rel;

  for (i = 0; i < found->len; i++) {
    const char *name = found->pdata[i], *at = strstr (name, "-seed-");
    gchar *value = at ? g_strndup (name, at - name) : g_strdup (name);
    const char *seed = at ? at + strlen ("-seed-") : "-";
    if (!g_ptr_array_find_with_equal_func (values, value, g_str_equal, NULL))
      g_ptr_array_add (values, value);
    else
      g_free (value);
    if (!g_ptr_array_find_with_equal_func (seeds, seed, g_str_equal, NULL))
      g_ptr_array_add (seeds, g_strdup (seed));
  }
  g_ptr_array_unref (found);
  g_ptr_array_sort (values, compare_numeric_names);
  g_ptr_array_sort (seeds, compare_numeric_names);
  if (values->len > 32)
    g_ptr_array_set_size (values, 32);
  stems = g_ptr_array_new_with_free_func (g_free);
  labels = g_ptr_array_new_with_free_func (g_free);
  pairs = g_new (PairedRows, MAX (values->len, 1));
  for (i = 0; i < values->len; i++) {
    g_ptr_array_add (stems, g_strconcat (prefix, values->pdata[i], NULL));
    g_ptr_array_add (labels, g_strdup_printf ("%s = %s", symbol,
            (char *) values->pdata[i]));
  }
  for (i = 0; i < values->len; i++) {
    /* lambda = 0 is the plain DNN, the reference of both sweeps */
    if (strcmp (prefix, "lambda-") == 0
        && g_ascii_strtod (values->pdata[i], NULL) == 0.0)
      continue;
    pairs[n_pairs].a = stems->pdata[i];
    pairs[n_pairs].b = "lambda-0";
    pairs[n_pairs].label = labels->pdata[i];
    n_pairs++;
  }
  rel = relative (r, dir);
  heading = g_strdup_printf ("**MAE against %s** (test split; `%s%s%s*.json`)",
      symbol, rel, *rel ? "/" : "", prefix);
  g_free (rel);
  json_builder_set_member_name (r->json, prefix[0] == 'l' ? "lambda" :
      "epsilon");
  json_builder_begin_object (r->json);
  if (values->len > 0)
    seeded_tables (r, dir, heading, (const char *const *) stems->pdata,
        (const char *const *) labels->pdata, stems->len, seeds, pairs,
        n_pairs, "setting", &vat_comparison);
  json_builder_end_object (r->json);
  g_free (heading);

  /* the curve: one series per target (+ mean), the mean over the seeds */
  for (i = 0; i < stems->len && names == NULL; i++)
    for (k = 0; k < seeds->len && names == NULL; k++) {
      JsonObject *o = seed_read (dir, stems->pdata[i], seeds->pdata[k]);
      if (o != NULL) {
        names = regression_names (o);
        json_object_unref (o);
      }
    }
  if (names != NULL && names->len > 0) {
    double *x = g_new (double, stems->len), *v = g_new (double, seeds->len);
    double *y;
    GError *error = NULL;
    gchar *png, *title;

    n_series = names->len + (names->len > 1);
    y = g_new (double, n_series * stems->len);
    for (i = 0; i < stems->len; i++) {
      x[i] = g_ascii_strtod (values->pdata[i], NULL);
      for (j = 0; j < n_series; j++) {
        guint n = 0;
        for (k = 0; k < seeds->len; k++) {
          double m = seed_mae (dir, stems->pdata[i], seeds->pdata[k],
              j < names->len ? names->pdata[j] : NULL);
          if (isfinite (m))
            v[n++] = m;
        }
        y[j * stems->len + i] = spread (v, n).mean;
      }
    }
    if (names->len > 1)
      g_ptr_array_add (names, g_strdup ("mean"));
    png = g_build_filename (r->out_dir, fig_name, NULL);
    title = g_strdup_printf ("Test MAE against %s%s", symbol,
        seeds->len > 1 ? " (mean over the seeds)" : "");
    if (affect_metrics_plot_series (png, title, symbol, "MAE", n_series,
            (const char *const *) names->pdata, stems->len, x, y, &error))
      figure (r, fig_name, title);
    else {
      g_string_append_printf (r->md, "(figure not drawn: %s)\n\n",
          error->message);
      g_clear_error (&error);
    }
    g_free (title);
    g_free (png);
    g_free (x);
    g_free (y);
    g_free (v);
  }
  if (names)
    g_ptr_array_unref (names);
  g_free (pairs);
  g_ptr_array_unref (stems);
  g_ptr_array_unref (labels);
  g_ptr_array_unref (values);
  g_ptr_array_unref (seeds);
}

static void
speech_sections (Report * r, const char *dir, const char *tag)
{
  static const char *const st_rows[] = {
    "spontaneous-only", "scripted-only", "single", "gated"
  };
  static const char *const st_labels[] = {
    "spontaneous-only regressor, spontaneous test items",
    "scripted-only regressor, scripted test items",
    "single regressor, all test items",
    "gated system, all test items"
  };
  static const PairedRows st_pair = { "gated", "single",
    "gated system vs single regressor"
  };
  GPtrArray *seeds;
  GPtrArray *l = list_json (dir, "lambda-"), *e = list_json (dir, "epsilon-");
  gchar *fig;

  if (l->len > 0 || e->len > 0) {
    section_heading (r, "Speech: VAT hyper-parameters (λ, then ε)", dir);
    json_builder_set_member_name (r->json, "vat-sweep");
    json_builder_begin_object (r->json);
    fig = g_strdup_printf ("%smae-lambda.png", tag);
    sweep (r, dir, "lambda-", "λ", fig);
    g_free (fig);
    fig = g_strdup_printf ("%smae-epsilon.png", tag);
    sweep (r, dir, "epsilon-", "ε", fig);
    g_free (fig);
    json_builder_end_object (r->json);
  }
  g_ptr_array_unref (l);
  g_ptr_array_unref (e);

  cross_corpus_section (r, dir);
  seeds = row_seeds (dir, st_rows, G_N_ELEMENTS (st_rows));
  if (seeds->len > 0) {
    section_heading (r, "Speech: spontaneity", dir);
    json_builder_set_member_name (r->json, "spontaneity");
    json_builder_begin_object (r->json);
    seeded_tables (r, dir, "**Style-specific regressors and the gated "
        "system**", st_rows, st_labels, G_N_ELEMENTS (st_rows), seeds,
        &st_pair, 1, "comparison", &gated_comparison);
    json_builder_end_object (r->json);
  }
  g_ptr_array_unref (seeds);
}

/* ---- music: Table III and confusion matrices ------------------------ */

/* mean and sd over the trials of DIR/trial-N/NAME.json: its MediaEval
 * values (sd NaN for one trial); FALSE when no trial has the file. With
 * majority TRUE, the majority-class baseline of the report instead
 * (affectmetrics' baseline-class): F1 macro and F1 micro (= accuracy) of
 * predicting the training split's majority class; no rank metrics. */
static gboolean
table3_row_spread (const char *dir, GPtrArray * trials, const char *name,
    gboolean majority, double *mean, double *sd, guint * n_trials)
{
  double *v = g_new0 (double, N_T3 * MAX (trials->len, 1));
  guint t, k;

  *n_trials = 0;
  for (t = 0; t < trials->len; t++) {
    gchar *f = g_strdup_printf ("%s/%s/%s.json", dir,
        (char *) trials->pdata[t], name);
    JsonObject *o = read_report (f);
    g_free (f);
    if (o == NULL)
      continue;
    /* the baseline's own report, else the trial's training-majority.json
     * (generate=baseline task=class) */
    if (majority && !json_object_has_member (o, "baseline")) {
      json_object_unref (o);
      f = g_strdup_printf ("%s/%s/training-majority.json", dir,
          (char *) trials->pdata[t]);
      o = read_report (f);
      g_free (f);
      if (o == NULL)
        continue;
    }
    if (majority && json_object_has_member (o, "baseline")) {
      JsonObject *b = json_object_get_object_member (o, "baseline");
      if (b != NULL && g_strcmp0 (json_object_get_string_member_with_default
              (b, "rule", ""), "majority-class") == 0) {
        for (k = 0; k < N_T3; k++)
          v[k * trials->len + *n_trials] = NAN;
        v[0 * trials->len + *n_trials] = member_double (b, "f1_macro");
        v[1 * trials->len + *n_trials] = member_double (b, "accuracy");
        (*n_trials)++;
      }
    } else if (!majority && json_object_has_member (o, "mediaeval")) {
      JsonObject *me = json_object_get_object_member (o, "mediaeval");
      for (k = 0; k < N_T3; k++)
        v[k * trials->len + *n_trials] = member_double (me, table3_keys[k]);
      (*n_trials)++;
    }
    json_object_unref (o);
  }
  for (k = 0; k < N_T3; k++) {
    Spread sp = spread (v + k * trials->len, *n_trials);
    mean[k] = sp.mean;
    if (sd != NULL)
      sd[k] = sp.sd;
  }
  g_free (v);
  return *n_trials > 0;
}

static gboolean
table3_row (const char *dir, GPtrArray * trials, const char *name,
    double *mean, double *sd, guint * n_trials)
{
  return table3_row_spread (dir, trials, name, FALSE, mean, sd, n_trials);
}

/* a Table III cell: the mean, ± the sd over the trials when there are
 * several */
static void
append_cell (GString * t, double mean, double sd)
{
  append_num (t, mean, "%.3f");
  if (isfinite (mean) && isfinite (sd))
    g_string_append_printf (t, " ± %.3f", sd);
}

static void
json_table3_row (Report * r, const char *name, const double *v, guint n)
{
  guint k;

  json_builder_begin_object (r->json);
  json_builder_set_member_name (r->json, "model");
  json_builder_add_string_value (r->json, name);
  json_builder_set_member_name (r->json, "trials");
  json_builder_add_int_value (r->json, n);
  for (k = 0; k < N_T3; k++) {
    json_builder_set_member_name (r->json, table3_keys[k]);
    if (isfinite (v[k]))
      json_builder_add_double_value (r->json, v[k]);
    else
      json_builder_add_null_value (r->json);
  }
  json_builder_end_object (r->json);
}

/* the confusion matrix of the baseline classifying a generator's samples,
 * summed over the trials */
static void
generated_confusion (Report * r, const char *dir, GPtrArray * trials,
    const char *generator, const char *set)
{
  AffectMetricsResult res;
  guint64 *counts = NULL;
  gchar **names = NULL;
  guint k = 0, t, i, j, n_trials = 0;
  GError *error = NULL;

  for (t = 0; t < trials->len; t++) {
    gchar *f = g_strdup_printf ("%s/%s/generated-%s.json", dir,
        (char *) trials->pdata[t], generator);
    JsonObject *o = read_report (f);
    JsonArray *rows, *outs;
    g_free (f);
    if (o == NULL)
      continue;
    if (!json_object_has_member (o, "confusion")) {
      json_object_unref (o);
      continue;
    }
    outs = json_object_get_array_member (o, "outputs");
    rows = json_object_get_array_member (json_object_get_object_member (o,
            "confusion"), "counts");
    if (counts == NULL) {
      k = json_array_get_length (outs);
      counts = g_new0 (guint64, k * k);
      names = g_new0 (gchar *, k + 1);
      for (i = 0; i < k; i++)
        names[i] = g_strdup (json_array_get_string_element (outs, i));
    }
    if (json_array_get_length (rows) == k) {
      for (i = 0; i < k; i++) {
        JsonArray *row = json_array_get_array_element (rows, i);
        for (j = 0; j < k && j < json_array_get_length (row); j++)
          counts[i * k + j] += json_array_get_int_element (row, j);
      }
      n_trials++;
    }
    json_object_unref (o);
  }
  if (counts == NULL)
    return;

  memset (&res, 0, sizeof res);
  res.task = AFFECT_METRICS_CLASS;
  res.n_outputs = k;
  res.names = names;
  res.confusion = counts;
  res.confusion_normalised = g_new0 (double, k * k);
  {
    guint64 correct = 0, total = 0;
    for (i = 0; i < k; i++) {
      guint64 row = 0;
      for (j = 0; j < k; j++)
        row += counts[i * k + j];
      for (j = 0; j < k; j++)
        res.confusion_normalised[i * k + j] =
            row ? (double) counts[i * k + j] / row : 0;
      correct += counts[i * k + i];
      total += row;
    }
    res.accuracy = total ? (double) correct / total : NAN;
  }
  {
    gchar *fig = g_strdup_printf ("confusion-%s-%s.png", set, generator);
    gchar *png = g_build_filename (r->out_dir, fig, NULL);
    gchar *cap = g_strdup_printf ("%s: the baseline classifying the %s "
        "samples (row-normalised, %u trials summed)", set, generator,
        n_trials);
    GString *t = g_string_new (NULL);

    g_string_append_printf (t, "**Baseline on the %s samples** (%s; rows: "
        "true class, columns: predicted, row-normalised; accuracy %.3f)\n\n"
        "| true \\ predicted |", generator, set, res.accuracy);
    for (j = 0; j < k; j++)
      g_string_append_printf (t, " %s |", names[j]);
    g_string_append (t, "\n|---|");
    for (j = 0; j < k; j++)
      g_string_append (t, "---:|");
    g_string_append_c (t, '\n');
    for (i = 0; i < k; i++) {
      g_string_append_printf (t, "| %s |", names[i]);
      for (j = 0; j < k; j++)
        g_string_append_printf (t, " %.2f |",
            res.confusion_normalised[i * k + j]);
      g_string_append_c (t, '\n');
    }
    g_string_append_c (t, '\n');
    table_text (r, t->str);
    g_string_free (t, TRUE);
    if (affect_metrics_plot_confusion (&res, png, &error))
      figure (r, fig, cap);
    else {
      g_string_append_printf (r->md, "(figure not drawn: %s)\n\n",
          error->message);
      g_clear_error (&error);
    }
    json_builder_begin_object (r->json);
    json_builder_set_member_name (r->json, "generator");
    json_builder_add_string_value (r->json, generator);
    json_builder_set_member_name (r->json, "accuracy");
    json_builder_add_double_value (r->json, res.accuracy);
    json_builder_set_member_name (r->json, "normalised");
    json_builder_begin_array (r->json);
    for (i = 0; i < k; i++) {
      json_builder_begin_array (r->json);
      for (j = 0; j < k; j++)
        json_builder_add_double_value (r->json,
            res.confusion_normalised[i * k + j]);
      json_builder_end_array (r->json);
    }
    json_builder_end_array (r->json);
    json_builder_end_object (r->json);
    g_free (cap);
    g_free (png);
    g_free (fig);
  }
  g_free (res.confusion_normalised);
  g_free (counts);
  g_strfreev (names);
}

static void
music_section (Report * r, const char *dir)
{
  GPtrArray *trials = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *models;
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *e;
  double base[N_T3], v[N_T3], base_sd[N_T3], v_sd[N_T3];
  guint n_base, n, i, k;
  gchar *set = g_path_get_basename (dir), *title, *trial0;
  GString *t;

  while (d != NULL && (e = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (e, "trial-"))
      g_ptr_array_add (trials, g_strdup (e));
  if (d != NULL)
    g_dir_close (d);
  g_ptr_array_sort (trials, compare_strings);
  /* one trial run on its own: the folder itself */
  if (trials->len == 0)
    g_ptr_array_add (trials, g_strdup ("."));
  if (!table3_row (dir, trials, "baseline", base, base_sd, &n_base)) {
    g_ptr_array_unref (trials);
    g_free (set);
    return;
  }
  /* the models: baseline, then every other report of the first trial */
  trial0 = g_build_filename (dir, trials->pdata[0], NULL);
  models = list_json (trial0, "");
  g_ptr_array_sort (models, compare_strings);
  g_free (trial0);

  title = g_strdup_printf ("Music (%s): augmentation, Table III layout", set);
  section_heading (r, title, dir);
  g_free (title);
  json_builder_set_member_name (r->json, set);
  json_builder_begin_object (r->json);
  json_builder_set_member_name (r->json, "table3");
  json_builder_begin_array (r->json);

  t = g_string_new (NULL);
  g_string_append_printf (t, "**Test metrics, mean%s of %u trial%s** "
      "(**bold ▲**: at least 1 %% above the baseline)\n\n"
      "| model | F1 macro | F1 micro | PR-AUC macro | PR-AUC micro | "
      "ROC-AUC macro | ROC-AUC micro |\n|---|---:|---:|---:|---:|---:|---:|\n",
      n_base > 1 ? " ± sd" : "", n_base, n_base == 1 ? "" : "s");
  g_string_append (t, "| baseline |");
  for (k = 0; k < N_T3; k++) {
    g_string_append_c (t, ' ');
    append_cell (t, base[k], base_sd[k]);
    g_string_append (t, " |");
  }
  g_string_append_c (t, '\n');
  json_table3_row (r, "baseline", base, n_base);
  for (i = 0; i < models->len; i++) {
    const char *m = models->pdata[i];
    if (strcmp (m, "baseline") == 0 || g_str_has_prefix (m, "generated-"))
      continue;
    if (!table3_row (dir, trials, m, v, v_sd, &n))
      continue;
    g_string_append_printf (t, "| + %s |", m);
    for (k = 0; k < N_T3; k++) {
      /* the paper's highlight: ≥ 1 % relative increase over the baseline */
      gboolean up = isfinite (v[k]) && isfinite (base[k])
          && v[k] >= 1.01 * base[k];
      g_string_append_c (t, ' ');
      if (up)
        g_string_append (t, "**");
      append_cell (t, v[k], v_sd[k]);
      if (up)
        g_string_append (t, " ▲**");
      g_string_append (t, " |");
    }
    g_string_append_c (t, '\n');
    json_table3_row (r, m, v, n);
  }
  json_builder_end_array (r->json);
  /* the majority-class row, when the baseline's reports carry it
   * (class tasks run with affectmetrics' baseline-class) */
  if (table3_row_spread (dir, trials, "baseline", TRUE, v, v_sd, &n)) {
    g_string_append (t, "| majority class (training split) |");
    for (k = 0; k < N_T3; k++) {
      g_string_append_c (t, ' ');
      append_cell (t, v[k], v_sd[k]);
      g_string_append (t, " |");
    }
    g_string_append_c (t, '\n');
    json_builder_set_member_name (r->json, "majority-class");
    json_table3_row (r, "majority class", v, n);
  }
  g_string_append_c (t, '\n');
  table_text (r, t->str);
  g_string_free (t, TRUE);

  json_builder_set_member_name (r->json, "generated");
  json_builder_begin_array (r->json);
  for (i = 0; i < models->len; i++)
    if (g_str_has_prefix (models->pdata[i], "generated-"))
      generated_confusion (r, dir, trials,
          (char *) models->pdata[i] + strlen ("generated-"), set);
  json_builder_end_array (r->json);
  json_builder_end_object (r->json);
  g_ptr_array_unref (models);
  g_ptr_array_unref (trials);
  g_free (set);
}

/* every folder under dir (depth first, sorted), at most depth levels */
static void
walk (Report * r, const char *dir, int depth)
{
  GPtrArray *subdirs = g_ptr_array_new_with_free_func (g_free);
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *e;
  gchar *tag, *rel;
  guint i;
  gboolean music = FALSE;

  if (d == NULL)
    return;
  while ((e = g_dir_read_name (d)) != NULL) {
    gchar *p = g_build_filename (dir, e, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR) && strcmp (e, "report") != 0) {
      if (g_str_has_prefix (e, "trial-"))
        music = TRUE;
      else
        g_ptr_array_add (subdirs, g_strdup (e));
    }
    g_free (p);
  }
  g_dir_close (d);

  rel = relative (r, dir);
  tag = *rel ? g_strdup_printf ("%s-", rel) : g_strdup ("");
  g_strdelimit (tag, "/", '-');
  if (exists (dir, "baseline"))
    music = TRUE;
  if (music)
    music_section (r, dir);
  speech_sections (r, dir, tag);
  g_free (tag);
  g_free (rel);
  g_ptr_array_sort (subdirs, compare_sections);
  for (i = 0; depth > 0 && i < subdirs->len; i++) {
    gchar *p = g_build_filename (dir, subdirs->pdata[i], NULL);
    walk (r, p, depth - 1);
    g_free (p);
  }
  g_ptr_array_unref (subdirs);
}

gboolean
runner_report_write (const char *results_dir, const char *out_dir,
    const char *title, gchar ** tables, JsonObject * summary, GError ** error)
{
  Report r = { 0 };
  JsonNode *root;
  JsonGenerator *gen;
  gchar *path, *text;
  gboolean ok;

  if (g_mkdir_with_parents (out_dir, 0755) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "%s: cannot create the report folder: %s", out_dir, g_strerror (errno));
    return FALSE;
  }
  r.md = g_string_new (NULL);
  r.tables = g_string_new (NULL);
  r.json = json_builder_new ();
  r.out_dir = out_dir;
  r.results_dir = results_dir;
  g_string_append_printf (r.md, "# %s\n\nResults folder: `%s`. Figures "
      "are in this folder; every number below comes from the affect-metrics "
      "JSON files named in each section.\n\n", title, results_dir);
  json_builder_begin_object (r.json);
  json_builder_set_member_name (r.json, "format");
  json_builder_add_string_value (r.json, "affect-report/1");
  json_builder_set_member_name (r.json, "title");
  json_builder_add_string_value (r.json, title);
  json_builder_set_member_name (r.json, "sections");
  json_builder_begin_object (r.json);
  walk (&r, results_dir, 3);
  json_builder_end_object (r.json);
  json_builder_end_object (r.json);
  if (r.n_sections == 0)
    g_string_append (r.md, "No metric files were found.\n");

  root = json_builder_get_root (r.json);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  path = g_build_filename (out_dir, "report.json", NULL);
  ok = affect_file_set_contents_atomic (path, text, strlen (text), error);
  g_free (path);
  g_free (text);
  g_object_unref (gen);
  if (ok) {
    path = g_build_filename (out_dir, "report.md", NULL);
    ok = affect_file_set_contents_atomic (path, r.md->str, r.md->len, error);
    if (summary != NULL) {
      json_object_set_string_member (summary, "markdown", path);
      json_object_set_int_member (summary, "sections", r.n_sections);
      json_object_set_int_member (summary, "figures", r.n_figures);
      json_object_set_member (summary, "report", json_node_copy (root));
    }
    g_free (path);
  }
  json_node_unref (root);
  g_object_unref (r.json);
  g_string_free (r.md, TRUE);
  if (tables != NULL)
    *tables = g_string_free (r.tables, FALSE);
  else
    g_string_free (r.tables, TRUE);
  return ok;
}

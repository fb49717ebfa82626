/* Feature tables: one vector of D values per item (or per frame), with the
 * item ids, as extractors store them.
 *
 *  - openSMILE CSV (`-csvoutput`): a header row `name;frameTime;<names>`,
 *    then `'id';0.000000;<values>` per row; ';'-separated (',' when the
 *    header holds no ';', as affectis09's `location` CSV). `frameIndex`,
 *    `frameTime` and `frameLength` columns are row metadata, a `class`
 *    column is the row's class; every other column is a feature.
 *  - ARFF as openSMILE's cArffSink writes it (`-O`): `@relation`,
 *    `@attribute name string`, optional `frameIndex` / `frameTime` /
 *    `frameLength`, numeric feature attributes, then a nominal
 *    `@attribute class {a,b}` or a numeric last attribute `class`, `@data`
 *    and one comma-separated row per item; `?` is a missing value, values
 *    may be quoted ('...' with backslash escapes) and `%` starts a comment.
 *  - numpy `.npy`: a 2-D float array N × D (any dtype affect_npy_read()
 *    takes); ids and labels come from a companion manifest.
 *
 * Every error names the file and line (`file:line: expected …, got …`);
 * a table without any row is AFFECT_ERROR_EMPTY. The writers are atomic
 * (affect/atomicfile.h) and write values as %.9g, which reads back to the
 * same float32.
 *
 * The feature cache key (affect_feature_cache_key()) is a SHA-256 over the
 * extractor's parameters, the manifest rows of the selected items and the
 * content of each item's file: a table stored under it stands for exactly
 * that extraction of exactly those files.
 */
#ifndef AFFECT_FEATURES_H
#define AFFECT_FEATURES_H

#include <glib.h>

#include "affect/manifest.h"

G_BEGIN_DECLS typedef enum
{
  AFFECT_FEATURE_FORMAT_AUTO,   /* from the file name's extension */
  AFFECT_FEATURE_FORMAT_CSV,
  AFFECT_FEATURE_FORMAT_ARFF,
  AFFECT_FEATURE_FORMAT_NPY
} AffectFeatureFormat;

typedef struct
{
  char *filename;
  AffectFeatureFormat format;
  guint n_rows;
  guint n_features;
  char **feature_names;         /* n_features, NULL-terminated; NULL for npy */
  char **ids;                   /* n_rows, NULL-terminated; NULL for npy */
  float *values;                /* n_rows × n_features, row-major */
  double *times;                /* frameTime of each row, or NULL */
  guint *lines;                 /* 1-based line of each row, or NULL (npy) */
  char *relation;               /* ARFF @relation, or NULL */
  char *class_name;             /* class attribute / column, or NULL */
  char **class_values;          /* nominal values (NULL-terminated), NULL
                                 * for a numeric class or none */
  char **classes;               /* n_rows values (NULL = missing), or NULL */
} AffectFeatureTable;

/* "csv", "arff", "npy" (case-insensitive extension); AUTO when unknown */
AffectFeatureFormat affect_feature_format_from_filename (const char *path);
const char *affect_feature_format_to_string (AffectFeatureFormat format);

AffectFeatureTable *affect_feature_table_load (const char *path,
    AffectFeatureFormat format, GError ** error);
/* CSV or ARFF text from memory (AUTO: ARFF when the first line that is
 * not a comment or blank starts with '@'); label names errors */
AffectFeatureTable *affect_feature_table_parse (const char *label,
    const char *text, gsize length, AffectFeatureFormat format,
    GError ** error);
void affect_feature_table_free (AffectFeatureTable * table);

/* An empty table of n_features columns (names may be NULL: f0, f1, ...);
 * rows are added with affect_feature_table_append(). */
AffectFeatureTable *affect_feature_table_new (guint n_features,
    const char *const *feature_names);
/* class may be NULL (missing); sets class_name "class" on first use */
void affect_feature_table_append (AffectFeatureTable * table, const char *id,
    const float *values, const char *class_value);
/* the row of an id, or -1 (the first of repeated ids) */
gint affect_feature_table_find (const AffectFeatureTable * table,
    const char *id);

/* Write atomically in format (AUTO: from the extension). CSV: the header
 * `name;<names>` (`frameTime` when the table has times), ids quoted as
 * openSMILE does; ARFF: openSMILE's layout, with a nominal class attribute
 * when class_values is set; NPY: the values as float32 N × D. An id that
 * the format cannot hold (';' or a quote in CSV, a line break anywhere),
 * or a feature name that would read back as something else (`name`,
 * `class`, `frameTime` … in CSV; `frameTime` …, or `class` last in ARFF),
 * is AFFECT_ERROR_FORMAT. */
gboolean affect_feature_table_write (const AffectFeatureTable * table,
    const char *path, AffectFeatureFormat format, GError ** error);

/* SHA-256 (64 lowercase hex digits, g_free) over `params` (the
 * extractor's settings that change its output), the manifest's column
 * names and the rows of the items at order[0 .. n) (id, path, split,
 * duration, labels, targets, other columns), and the path (resolved from
 * root, NULL = the manifest's folder), length and content of each item's
 * file.
 * A file that cannot be read enters the key as missing, so the key
 * changes when it appears. */
char *affect_feature_cache_key (const AffectManifest * manifest,
    const guint * order, guint n, const char *root, const char *params,
    GError ** error);

G_END_DECLS
#endif /* AFFECT_FEATURES_H */

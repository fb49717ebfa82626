/* affect-run merge (tools/affect-run/merge.c, docs/scaling.md) */
#ifndef AFFECT_RUNNER_MERGE_H
#define AFFECT_RUNNER_MERGE_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "affect/metrics.h"

G_BEGIN_DECLS

/* the report of the items of every file (per-item CSVs of affectmetrics),
 * in the canonical order */
JsonNode *runner_merge_items (const char *const *files, guint n_files,
    AffectMetricsResult ** result, GError ** error);

/* every NAME-items-I-of-N.csv set of dir → dir/NAME.json; exit status */
int runner_merge (const char *dir, gboolean quiet);

G_END_DECLS
#endif

/* affect-run's report (tools/affect-run/report.c, docs/experiments.md#report). */
#ifndef AFFECT_RUNNER_REPORT_H
#define AFFECT_RUNNER_REPORT_H

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Reads the metric files under results_dir (three folders deep) and writes
 * out_dir/report.md, out_dir/report.json and the PNG figures. tables (may be
 * NULL) gets the Markdown tables alone, to print; summary (may be NULL) gets
 * "markdown", "sections", "figures" and the "report" object. */
gboolean runner_report_write (const char *results_dir, const char *out_dir,
    const char *title, gchar ** tables, JsonObject * summary,
    GError ** error);

G_END_DECLS
#endif

/* affectmetrics: metric sink (MediaEval-2019 / scikit-learn 1.2 metrics) */
#ifndef __GST_AFFECT_METRICS_H__
#define __GST_AFFECT_METRICS_H__

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>

#include "affect/metrics.h"
#include "gstaffectitem.h"

G_BEGIN_DECLS

#define GST_TYPE_AFFECT_METRICS (gst_affect_metrics_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectMetrics, gst_affect_metrics, GST,
    AFFECT_METRICS, GstBaseSink);

typedef enum
{
  GST_AFFECT_METRICS_TASK_AUTO,
  GST_AFFECT_METRICS_TASK_TAGS,
  GST_AFFECT_METRICS_TASK_CLASS,
  GST_AFFECT_METRICS_TASK_REGRESSION
} GstAffectMetricsTask;

typedef enum
{
  GST_AFFECT_METRICS_DECISION_FITTED,
  GST_AFFECT_METRICS_DECISION_FIXED,
  GST_AFFECT_METRICS_DECISION_FILE
} GstAffectMetricsDecision;

struct _GstAffectMetrics
{
  GstBaseSink parent;

  /* properties */
  gchar *location, *items_location, *figures, *thresholds_location;
  gchar *split, *threshold_split;
  GstAffectMetricsTask task;
  GstAffectMetricsDecision decision;
  gdouble threshold;
  guint interval;
  gboolean message;
  gchar *table_location;
  gchar *baseline_class, *baseline_mean;
  gchar *gate_label;

  /* stream */
  guint n_outputs;
  gchar **names;                /* from the caps' names, or the items */
  gboolean caps_targets;        /* caps say affect-output=targets */
  GQueue open_items;            /* GstAffectMetricsOpenItem*: started and
                                 * not yet ended, oldest first */
  AffectEvaluation *eval;
  AffectMetricsTask eval_task;
  AffectItemTable *table;       /* rows for an .npy items file */
  FILE *items_csv;
  guint64 since_message, n_unlabelled, n_unscored;
  GPtrArray *skipped;           /* JsonObject* {id, path, reason} per item
                                 * left out of the metrics */
  GstClockTime last_ts, last_duration;
  guint64 n_gate_unlabelled;    /* routed items without the gate label */
  GArray *gate_pending;         /* GateItem: scored before the evaluation
                                 * opened at the first prediction */
};

G_END_DECLS
#endif /* __GST_AFFECT_METRICS_H__ */

/* GStreamer affect plugin
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-affectmetrics
 * @title: affectmetrics
 *
 * Scores a stream of predictions against the ground truth carried by the
 * items: each item's `affect-item-start` event brings its labels (tags),
 * class or targets, its split and, after affectgate, its route; the one
 * tensor that arrives before the item's `affect-item-end` is its
 * prediction. The metrics are those of MediaEval 2019 and scikit-learn 1.2
 * (docs/metrics.md): ROC-AUC and PR-AUC (average precision) macro and
 * micro, precision / recall / F1 on decisions, per-tag values; accuracy,
 * balanced accuracy, macro-F1 and the confusion matrix for single-label
 * tasks; MAE, RMSE, Pearson r and CCC for regression. All the computation
 * is in libaffect (core/metrics).
 *
 * Items routed by affectgate are also scored as the gate's decisions: the
 * route (0 = spontaneous) against the item's spontaneity label, the target
 * or column #GstAffectMetrics:gate-label (1/0, true/false,
 * spontaneous/scripted, as affectgate reads it), with accuracy, balanced
 * accuracy, macro-F1 and the confusion matrix. Baseline rows score a
 * constant prediction made from the training items, which this element
 * does not see: the majority class (#GstAffectMetrics:baseline-class) or
 * the training mean of each target (#GstAffectMetrics:baseline-mean).
 *
 * Decisions for tags (#GstAffectMetrics:decision): thresholds fitted by
 * MediaEval's rule on the items of #GstAffectMetrics:threshold-split (by
 * default `validation`; the evaluated items themselves when there are
 * none), one fixed #GstAffectMetrics:threshold, or per-tag thresholds read
 * from #GstAffectMetrics:thresholds-location. Single-label tasks take the
 * argmax. Items of #GstAffectMetrics:split are evaluated (all items but the
 * threshold split when unset); routed items are also reported per route.
 *
 * At EOS the element writes the JSON report (#GstAffectMetrics:location),
 * the results table (#GstAffectMetrics:table-location, Markdown or CSV: the
 * model overall and per route, the baseline, the gate, confusion matrices),
 * the per-item predictions (#GstAffectMetrics:items-location, `.csv` rows
 * written as they come, or `.npy`: scores there and the truth in
 * `<name>-groundtruth.npy`) that `affect-metrics` merges across shards, and
 * figures (#GstAffectMetrics:figures). A folder of these that does not
 * exist or cannot be written is an error when the element starts.
 *
 * ## Messages
 *
 * Every #GstAffectMetrics:interval evaluated items (running values) and at
 * EOS (final) an element message named `affect-metrics`:
 *
 * - `timestamp`, `stream-time`, `running-time`, `duration` (GstClockTime):
 *   of the last prediction
 * - `final` (gboolean): TRUE for the message posted at EOS
 * - `task` (string): `tags`, `class` or `regression`
 * - `items` (guint64): items evaluated so far
 * - `items-skipped` (guint64): items left out so far: a NaN/Inf prediction
 *   or truth, a missing target, no prediction, or no labels (each with a
 *   warning naming it; the report's `skipped` lists id, path and reason)
 * - `names` (GstValueArray of strings): the outputs
 * - tags and class: `roc-auc-macro`, `roc-auc-micro`, `pr-auc-macro`,
 *   `pr-auc-micro`, `precision-macro`, `recall-macro`, `f1-macro`,
 *   `precision-micro`, `recall-micro`, `f1-micro` (gdouble; absent when
 *   undefined), `roc-auc`, `pr-auc`, `f1` (GstValueArray of gdouble per
 *   output, NaN when undefined), `thresholds` (GstValueArray of gdouble,
 *   tags); class also `accuracy`, `balanced-accuracy` (gdouble) and
 *   `confusion` (GstValueArray of rows, GstValueArray of guint64: row =
 *   truth, column = prediction)
 * - with #GstAffectMetrics:baseline-class: `baseline-class` (string),
 *   `baseline-accuracy`, `baseline-balanced-accuracy`, `baseline-f1-macro`
 *   (gdouble); with #GstAffectMetrics:baseline-mean: `baseline-mae`
 *   (GstValueArray of gdouble per target), `baseline-mae-mean` (gdouble)
 * - when routed items carry the gate label: `gate-items` (guint64),
 *   `gate-accuracy`, `gate-balanced-accuracy`, `gate-f1-macro` (gdouble),
 *   `gate-confusion` (2 × 2, as `confusion`; spontaneous, scripted)
 * - regression: `mae`, `rmse`, `pearson`, `ccc` (GstValueArray of gdouble
 *   per target), `mae-mean` (gdouble)
 * - `report` (string): the whole JSON report of docs/metrics.md
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 affectsrc location=moodtheme-test.tsv ! audioconvert ! \
 *     audioresample ! audio/x-raw,rate=12000,channels=1 ! \
 *     affectmel preset=mtg-jamendo frames-per-buffer=256 ! \
 *     affectclassify model=moodnet.safetensors ! \
 *     affectmetrics location=report.json items-location=items.csv \
 *     figures=moodtheme.png
 * ]| Score a classifier's tags on the test split, with the per-item table
 * and figures.
 * |[
 * gst-launch-1.0 affectsrc location=test.csv ! audioconvert ! \
 *     audioresample ! audio/x-raw,rate=16000,channels=1 ! affectis09 ! \
 *     affectgate name=g model-file=gate.safetensors \
 *     g.src_0 ! queue ! affectregress model-file=spont.safetensors ! f. \
 *     g.src_1 ! queue ! affectregress model-file=script.safetensors ! f. \
 *     funnel name=f ! affectmetrics location=mae.json table-location=mae.md \
 *     baseline-mean="valence=0.12,arousal=-0.05" figures=gated.png
 * ]| The gated system of the VAT seed: MAE overall and per route beside the
 * training-mean row, and the gate's accuracy, balanced accuracy, macro-F1
 * and confusion (gated-gate-confusion.png) against the items' spontaneity
 * column.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "affect/atomicfile.h"
#include "affect/npy.h"
#include "gstaffectelements.h"
#include "affect/regressor.h"
#include "gstaffectitem.h"
#include "gstaffectmetrics.h"
#include "gstaffectprops.h"
#include "gstaffecttensor.h"

GST_DEBUG_CATEGORY_STATIC (gst_affect_metrics_debug);
#define GST_CAT_DEFAULT gst_affect_metrics_debug

#define DEFAULT_LOCATION NULL
#define DEFAULT_ITEMS_LOCATION NULL
#define DEFAULT_FIGURES NULL
#define DEFAULT_TASK GST_AFFECT_METRICS_TASK_AUTO
#define DEFAULT_DECISION GST_AFFECT_METRICS_DECISION_FITTED
#define DEFAULT_THRESHOLD 0.5
#define DEFAULT_THRESHOLDS_LOCATION NULL
#define DEFAULT_SPLIT NULL
#define DEFAULT_THRESHOLD_SPLIT "validation"
#define DEFAULT_INTERVAL 100
#define DEFAULT_MESSAGE TRUE
#define DEFAULT_TABLE_LOCATION NULL
#define DEFAULT_BASELINE_CLASS NULL
#define DEFAULT_BASELINE_MEAN NULL
#define DEFAULT_GATE_LABEL "spontaneity"


static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE));

static const GEnumValue task_values[] = {
  {GST_AFFECT_METRICS_TASK_AUTO, "From the items' task field", "auto"},
  {GST_AFFECT_METRICS_TASK_TAGS, "Multi-label tags", "tags"},
  {GST_AFFECT_METRICS_TASK_CLASS, "Single-label classes", "class"},
  {GST_AFFECT_METRICS_TASK_REGRESSION, "Numeric targets", "regression"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectMetricsTask, gst_affect_metrics_task,
    task_values);

static const GEnumValue decision_values[] = {
  {GST_AFFECT_METRICS_DECISION_FITTED,
        "Per-tag thresholds maximising F on threshold-split (MediaEval)",
      "fitted"},
  {GST_AFFECT_METRICS_DECISION_FIXED, "One threshold for every tag",
      "fixed"},
  {GST_AFFECT_METRICS_DECISION_FILE,
      "Per-tag thresholds read from thresholds-location", "file"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (GstAffectMetricsDecision, gst_affect_metrics_decision,
    decision_values);

#define M GstAffectMetrics
static const GstAffectProp properties[] = {
  GST_AFFECT_PROP_STRING ("location", "Report location",
      "JSON report written at EOS (schema in docs/metrics.md); NULL "
      "writes none", M, location, DEFAULT_LOCATION, 0),
  GST_AFFECT_PROP_STRING ("items-location", "Per-item predictions",
      "Per-item truth and scores for affect-metrics: a .csv table "
      "(written as items arrive) or .npy (scores; the truth goes to "
      "<name>-groundtruth.npy)", M, items_location, DEFAULT_ITEMS_LOCATION, 0),
  GST_AFFECT_PROP_STRING ("figures", "Figures",
      "Figure file prefix: PREFIX-curves and, for class tasks, "
      "PREFIX-confusion, and PREFIX-gate-confusion when the gate is "
      "scored; .svg when it ends in .svg, else .png", M, figures,
      DEFAULT_FIGURES, 0),
  GST_AFFECT_PROP_ENUM ("task", "Task",
      "What the predictions are scored as", M, task,
      gst_affect_metrics_task_get_type, DEFAULT_TASK, 0),
  GST_AFFECT_PROP_ENUM ("decision", "Decision rule",
      "How tag scores become decisions (class tasks use the argmax)", M,
      decision, gst_affect_metrics_decision_get_type, DEFAULT_DECISION, 0),
  GST_AFFECT_PROP_DOUBLE ("threshold", "Threshold",
      "decision=fixed: a tag is decided when its score is above this", M,
      threshold, -G_MAXDOUBLE, G_MAXDOUBLE, DEFAULT_THRESHOLD, 0),
  GST_AFFECT_PROP_STRING ("thresholds-location", "Thresholds file",
      "decision=file: per-tag thresholds, 'name<TAB>value' lines as "
      "MediaEval writes them", M, thresholds_location,
      DEFAULT_THRESHOLDS_LOCATION, 0),
  GST_AFFECT_PROP_STRING ("split", "Split",
      "Evaluate only items of this split (NULL: every item not used "
      "to fit thresholds)", M, split, DEFAULT_SPLIT, 0),
  GST_AFFECT_PROP_STRING ("threshold-split", "Threshold split",
      "decision=fitted: fit the thresholds on the items of this split", M,
      threshold_split, DEFAULT_THRESHOLD_SPLIT, 0),
  GST_AFFECT_PROP_UINT ("interval", "Interval",
      "Post running values every this many evaluated items (0: only "
      "the final message at EOS)", M, interval, 0, G_MAXUINT, DEFAULT_INTERVAL,
      0),
  GST_AFFECT_PROP_BOOL ("message", "Message",
      "Post affect-metrics element messages", M, message, DEFAULT_MESSAGE, 0),
  GST_AFFECT_PROP_STRING ("table-location", "Table location",
      "Results table written at EOS (model, routes, baseline, gate, "
      "confusion): Markdown when the name ends in .md, else CSV "
      "(table,row,metric,value); NULL writes none", M, table_location,
      DEFAULT_TABLE_LOCATION, 0),
  GST_AFFECT_PROP_STRING ("baseline-class", "Baseline class",
      "Class tasks: the training items' majority class, scored as a "
      "constant prediction in the baseline row (NULL: no baseline)", M,
      baseline_class, DEFAULT_BASELINE_CLASS, 0),
  GST_AFFECT_PROP_STRING ("baseline-mean", "Baseline mean",
      "Regression: the training items' mean of each target, "
      "'name=value,...' or values in output order, scored as a constant "
      "prediction in the baseline row (NULL: no baseline)", M,
      baseline_mean, DEFAULT_BASELINE_MEAN, 0),
  GST_AFFECT_PROP_STRING ("gate-label", "Gate label",
      "Target or column of the items holding their spontaneity label "
      "(1/0, true/false, spontaneous/scripted, ...): items routed by "
      "affectgate are scored against it (route 0 = spontaneous); NULL: "
      "the gate is not scored", M, gate_label, DEFAULT_GATE_LABEL, 0),
};

#undef M

/* an item the gate routed, with its spontaneity label */
typedef struct
{
  gchar *split;
  gint route;
  gboolean spontaneous;
} GateItem;

#define gst_affect_metrics_parent_class parent_class
G_DEFINE_TYPE (GstAffectMetrics, gst_affect_metrics, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE (affectmetrics, "affectmetrics", GST_RANK_NONE,
    GST_TYPE_AFFECT_METRICS);

static void gst_affect_metrics_finalize (GObject * object);
static gboolean gst_affect_metrics_start (GstBaseSink * sink);
static gboolean gst_affect_metrics_stop (GstBaseSink * sink);
static gboolean gst_affect_metrics_set_caps (GstBaseSink * sink,
    GstCaps * caps);
static gboolean gst_affect_metrics_event (GstBaseSink * sink, GstEvent * event);
static GstFlowReturn gst_affect_metrics_render (GstBaseSink * sink,
    GstBuffer * buffer);

static void
gst_affect_metrics_class_init (GstAffectMetricsClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *sink_class = GST_BASE_SINK_CLASS (klass);

  gst_affect_props_install (gobject_class, properties,
      G_N_ELEMENTS (properties), G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY);
  gobject_class->finalize = gst_affect_metrics_finalize;


  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Affect metrics", "Sink/Analyzer",
      "Scores predictions against the items' ground truth: MediaEval-2019 "
      "ROC-AUC, PR-AUC, F1 (macro and micro), accuracy and confusion, MAE, "
      "with JSON reports, per-item files and figures",
      "gst-affect <https://example.invalid/gst-affect>");

  sink_class->start = GST_DEBUG_FUNCPTR (gst_affect_metrics_start);
  sink_class->stop = GST_DEBUG_FUNCPTR (gst_affect_metrics_stop);
  sink_class->set_caps = GST_DEBUG_FUNCPTR (gst_affect_metrics_set_caps);
  sink_class->event = GST_DEBUG_FUNCPTR (gst_affect_metrics_event);
  sink_class->render = GST_DEBUG_FUNCPTR (gst_affect_metrics_render);
  GST_DEBUG_CATEGORY_INIT (gst_affect_metrics_debug, "affectmetrics", 0,
      "affect metric sink");
}

static void
gst_affect_metrics_init (GstAffectMetrics * self)
{
  gst_affect_props_init (G_OBJECT (self));
  self->gate_pending = g_array_new (FALSE, FALSE, sizeof (GateItem));
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
}

/* An item between its start and end events. Several are open at once when
 * branches meet in a funnel; a prediction names its item with a
 * GstAffectItemMeta, and one without belongs to the item started last. */
typedef struct
{
  GstAffectItem *item;
  gboolean scored;
} GstAffectMetricsOpenItem;

static void
open_item_free (gpointer data)
{
  GstAffectMetricsOpenItem *o = data;

  gst_affect_item_free (o->item);
  g_free (o);
}

/* the open item `id` (the oldest of that id), or with id NULL the newest */
static GList *
open_item_find (GstAffectMetrics * self, const gchar * id)
{
  GList *l;

  if (id == NULL)
    return self->open_items.tail;
  for (l = self->open_items.head; l; l = l->next)
    if (g_strcmp0 (((GstAffectMetricsOpenItem *) l->data)->item->id, id) == 0)
      return l;
  return NULL;
}

static void
gst_affect_metrics_reset (GstAffectMetrics * self)
{
  g_strfreev (self->names);
  self->names = NULL;
  self->n_outputs = 0;
  self->caps_targets = FALSE;
  g_queue_clear_full (&self->open_items, open_item_free);
  affect_evaluation_free (self->eval);
  self->eval = NULL;
  affect_item_table_free (self->table);
  self->table = NULL;
  if (self->items_csv)
    fclose (self->items_csv);
  self->items_csv = NULL;
  self->since_message = self->n_unlabelled = self->n_unscored = 0;
  self->n_gate_unlabelled = 0;
  g_clear_pointer (&self->skipped, g_ptr_array_unref);
  self->last_ts = self->last_duration = GST_CLOCK_TIME_NONE;
  if (self->gate_pending) {
    guint i;
    for (i = 0; i < self->gate_pending->len; i++)
      g_free (g_array_index (self->gate_pending, GateItem, i).split);
    g_array_set_size (self->gate_pending, 0);
  }
}

static void
gst_affect_metrics_finalize (GObject * object)
{
  GstAffectMetrics *self = GST_AFFECT_METRICS (object);

  gst_affect_metrics_reset (self);
  g_array_unref (self->gate_pending);
  gst_affect_props_finalize (object);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* the outputs are written at EOS: a folder that cannot take them is
 * reported before the run, not after it */
static gboolean
check_writable (GstAffectMetrics * self, const gchar * what, const gchar * path)
{
  gchar *dir;
  gboolean ok;

  if (path == NULL)
    return TRUE;
  dir = g_path_get_dirname (path);
  ok = g_file_test (dir, G_FILE_TEST_IS_DIR) && g_access (dir, W_OK) == 0;
  if (!ok)
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Cannot write the %s %s", what, path),
        ("folder %s does not exist or is not writable", dir));
  g_free (dir);
  return ok;
}

static gboolean
gst_affect_metrics_start (GstBaseSink * sink)
{
  GstAffectMetrics *self = GST_AFFECT_METRICS (sink);

  gst_affect_metrics_reset (self);
  if (self->decision == GST_AFFECT_METRICS_DECISION_FILE &&
      self->thresholds_location == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("decision=file needs thresholds-location"), (NULL));
    return FALSE;
  }
  return check_writable (self, "report", self->location) &&
      check_writable (self, "results table", self->table_location) &&
      check_writable (self, "per-item predictions", self->items_location) &&
      check_writable (self, "figures", self->figures);
}

static gboolean
gst_affect_metrics_stop (GstBaseSink * sink)
{
  gst_affect_metrics_reset (GST_AFFECT_METRICS (sink));
  return TRUE;
}

static gboolean
gst_affect_metrics_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  GstAffectMetrics *self = GST_AFFECT_METRICS (sink);
  GstStructure *s = gst_caps_get_structure (caps, 0);
  GstAffectTensorInfo info;
  const gchar *names, *output;
  guint n;

  if (!gst_affect_tensor_info_from_caps (&info, caps)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Prediction caps are not one float32 tensor"),
        ("caps %" GST_PTR_FORMAT " are not one float32 tensor", caps));
    return FALSE;
  }
  n = gst_affect_tensor_info_n_elements (&info);
  if (self->eval && n != self->n_outputs) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Prediction tensor size changed mid-stream"),
        ("the tensor size changed from %u to %u mid-stream", self->n_outputs,
            n));
    return FALSE;
  }
  self->n_outputs = n;
  output = gst_structure_get_string (s, "affect-output");
  self->caps_targets = g_strcmp0 (output, "targets") == 0;
  names = gst_structure_get_string (s, "names");
  if (names && !self->eval) {
    gchar **v = g_strsplit (names, ",", -1);
    if (g_strv_length (v) != n) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Prediction names do not match the tensor"),
          ("caps name %u outputs (%s) for a tensor of %u", g_strv_length (v),
              names, n));
      g_strfreev (v);
      return FALSE;
    }
    g_strfreev (self->names);
    self->names = v;
  }
  return TRUE;
}

/* The task of the stream: the property, else the items' own task field,
 * else the caps (targets → regression). */
static gboolean
resolve_task (GstAffectMetrics * self, const GstAffectItem * item,
    AffectMetricsTask * task)
{
  switch (self->task) {
    case GST_AFFECT_METRICS_TASK_TAGS:
      *task = AFFECT_METRICS_TAGS;
      return TRUE;
    case GST_AFFECT_METRICS_TASK_CLASS:
      *task = AFFECT_METRICS_CLASS;
      return TRUE;
    case GST_AFFECT_METRICS_TASK_REGRESSION:
      *task = AFFECT_METRICS_REGRESSION;
      return TRUE;
    default:
      break;
  }
  if (self->caps_targets || item->task == GST_AFFECT_TASK_REGRESSION)
    *task = AFFECT_METRICS_REGRESSION;
  else if (item->task == GST_AFFECT_TASK_CLASS)
    *task = AFFECT_METRICS_CLASS;
  else if (item->task == GST_AFFECT_TASK_TAGS)
    *task = AFFECT_METRICS_TAGS;
  else
    return FALSE;
  return TRUE;
}

/* the routed items noted so far go to the evaluation once it is open */
static gboolean
flush_gate (GstAffectMetrics * self)
{
  GError *error = NULL;
  gboolean ok = TRUE;
  guint i;

  for (i = 0; self->eval && i < self->gate_pending->len; i++) {
    GateItem *g = &g_array_index (self->gate_pending, GateItem, i);
    if (ok && !affect_evaluation_add_gate (self->eval, g->split, g->route,
            g->spontaneous, &error)) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Could not score the gate"),
          ("%s", error->message));
      g_clear_error (&error);
      ok = FALSE;
    }
    g_free (g->split);
  }
  if (self->eval)
    g_array_set_size (self->gate_pending, 0);
  return ok;
}

/* an item affectgate routed: its route against its spontaneity label (the
 * gate's own reading of a target or a column, affectgate's label) */
static gboolean
note_gate (GstAffectMetrics * self, const GstAffectItem * item)
{
  GateItem g;
  gdouble v;

  if (self->gate_label == NULL || item == NULL || item->route < 0)
    return TRUE;
  if (!(gst_affect_item_get_target (item, self->gate_label, &v) ||
          affect_parse_label (gst_affect_item_get_column (item,
                  self->gate_label), &v)) || !isfinite (v)) {
    self->n_gate_unlabelled++;
    return TRUE;
  }
  g.split = g_strdup (item->split);
  g.route = item->route;
  g.spontaneous = v >= 0.5;
  g_array_append_val (self->gate_pending, g);
  return flush_gate (self);
}

/* baseline-class and baseline-mean on the evaluation; FALSE with an error
 * posted */
static gboolean
set_baselines (GstAffectMetrics * self)
{
  guint i, n = self->n_outputs;
  GError *error = NULL;

  if (self->baseline_class && self->eval_task == AFFECT_METRICS_CLASS) {
    for (i = 0; i < n && g_strcmp0 (self->names[i], self->baseline_class); i++);
    if (i == n) {
      gchar *all = g_strjoinv (", ", self->names);
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("baseline-class \"%s\" is not one of the classes",
              self->baseline_class), ("the classes are %s", all));
      g_free (all);
      return FALSE;
    }
    affect_evaluation_set_baseline_class (self->eval, (gint) i);
  } else if (self->baseline_class) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("baseline-class is for class tasks; ignored for %s",
            affect_metrics_task_to_string (self->eval_task)), (NULL));
  }
  if (self->baseline_mean && self->eval_task == AFFECT_METRICS_REGRESSION) {
    gchar **parts = g_strsplit (self->baseline_mean, ",", -1);
    double *mean = g_new (double, n);
    gboolean *seen = g_new0 (gboolean, n), named, ok;
    guint np = g_strv_length (parts);

    named = np > 0 && strchr (parts[0], '=') != NULL;
    ok = named || np == n;
    for (i = 0; ok && i < np; i++) {
      gchar *text = g_strstrip (parts[i]), *eq = strchr (text, '='), *end;
      guint at = i;
      if (named != (eq != NULL)) {
        ok = FALSE;
        break;
      }
      if (named) {
        *eq = '\0';
        g_strstrip (text);
        for (at = 0; at < n && g_strcmp0 (self->names[at], text); at++);
        text = g_strstrip (eq + 1);
        if (at == n) {
          ok = FALSE;
          break;
        }
      }
      mean[at] = g_ascii_strtod (text, &end);
      seen[at] = TRUE;
      ok = end != text && *end == '\0' && isfinite (mean[at]);
    }
    for (i = 0; ok && i < n; i++)
      ok = seen[i];
    if (ok)
      ok = affect_evaluation_set_baseline_mean (self->eval, mean, &error);
    if (!ok) {
      gchar *all = g_strjoinv (", ", self->names);
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Invalid baseline-mean \"%s\"", self->baseline_mean),
          ("%s; expected one finite number per target (%s), in that order "
              "or as name=value", error ? error->message : "not understood",
              all));
      g_free (all);
    }
    g_clear_error (&error);
    g_free (seen);
    g_free (mean);
    g_strfreev (parts);
    return ok;
  } else if (self->baseline_mean) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("baseline-mean is for regression; ignored for %s",
            affect_metrics_task_to_string (self->eval_task)), (NULL));
  }
  return TRUE;
}

static gboolean
open_outputs (GstAffectMetrics * self)
{
  const gchar *loc = self->items_location;
  GError *error = NULL;
  double *t;

  self->eval = affect_evaluation_new (self->eval_task, self->n_outputs,
      (const char *const *) self->names, self->split, self->threshold_split);
  if (!set_baselines (self) || !flush_gate (self))
    return FALSE;
  if (self->eval_task == AFFECT_METRICS_TAGS) {
    switch (self->decision) {
      case GST_AFFECT_METRICS_DECISION_FITTED:
        affect_evaluation_set_rule (self->eval, AFFECT_DECISION_FITTED, 0,
            NULL);
        break;
      case GST_AFFECT_METRICS_DECISION_FIXED:
        affect_evaluation_set_rule (self->eval, AFFECT_DECISION_FIXED,
            self->threshold, NULL);
        break;
      case GST_AFFECT_METRICS_DECISION_FILE:
        t = g_new (double, self->n_outputs);
        if (!affect_thresholds_read (self->thresholds_location,
                self->n_outputs, (const char *const *) self->names, t,
                &error)) {
          GST_ELEMENT_ERROR (self, RESOURCE, READ,
              ("Could not read thresholds from %s",
                  self->thresholds_location), ("%s", error->message));
          g_error_free (error);
          g_free (t);
          return FALSE;
        }
        affect_evaluation_set_rule (self->eval, AFFECT_DECISION_THRESHOLDS,
            0, t);
        g_free (t);
        break;
    }
  }
  if (loc && g_str_has_suffix (loc, ".npy")) {
    self->table = affect_item_table_new (self->eval_task, self->n_outputs,
        (const char *const *) self->names);
  } else if (loc) {
    gchar *header;
    self->items_csv = fopen (loc, "w");
    if (self->items_csv == NULL) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("Could not open %s for writing", loc), GST_ERROR_SYSTEM);
      return FALSE;
    }
    header = affect_item_table_csv_header (self->eval_task, self->n_outputs,
        (const char *const *) self->names);
    fputs (header, self->items_csv);
    g_free (header);
  }
  return TRUE;
}

/* an item left out of the metrics, for the report's "skipped" list */
static void
add_skipped (GstAffectMetrics * self, const GstAffectItem * item,
    const gchar * reason)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "id", item->id ? item->id : "");
  if (item->path)
    json_object_set_string_member (o, "path", item->path);
  else
    json_object_set_null_member (o, "path");
  json_object_set_string_member (o, "reason", reason);
  if (self->skipped == NULL)
    self->skipped =
        g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_ptr_array_add (self->skipped, o);
}

/* the report's "skipped": every item left out, with why */
static void
report_add_skipped (GstAffectMetrics * self, JsonNode * report)
{
  JsonArray *a = json_array_new ();
  guint i;

  for (i = 0; self->skipped && i < self->skipped->len; i++)
    json_array_add_object_element (a,
        json_object_ref (g_ptr_array_index (self->skipped, i)));
  json_object_set_array_member (json_node_get_object (report), "skipped", a);
}

static void
set_double_array (GstStructure * s, const gchar * field, const double *v,
    guint n)
{
  GValue array = G_VALUE_INIT, x = G_VALUE_INIT;
  guint i;

  gst_value_array_init (&array, n);
  g_value_init (&x, G_TYPE_DOUBLE);
  for (i = 0; i < n; i++) {
    g_value_set_double (&x, v[i]);
    gst_value_array_append_value (&array, &x);
  }
  g_value_unset (&x);
  gst_structure_take_value (s, field, &array);
}

static void
set_defined (GstStructure * s, const gchar * field, double v)
{
  if (isfinite (v))
    gst_structure_set (s, field, G_TYPE_DOUBLE, v, NULL);
}

/* k × k counts as a GstValueArray of rows of guint64 */
static void
set_confusion (GstStructure * s, const gchar * field, const guint64 * counts,
    guint k)
{
  GValue rows = G_VALUE_INIT, row = G_VALUE_INIT, x = G_VALUE_INIT;
  guint i, j;

  gst_value_array_init (&rows, k);
  g_value_init (&x, G_TYPE_UINT64);
  for (i = 0; i < k; i++) {
    gst_value_array_init (&row, k);
    for (j = 0; j < k; j++) {
      g_value_set_uint64 (&x, counts[i * k + j]);
      gst_value_array_append_value (&row, &x);
    }
    gst_value_array_append_and_take_value (&rows, &row);
  }
  g_value_unset (&x);
  gst_structure_take_value (s, field, &rows);
}

/* accuracy, balanced accuracy, macro-F1 of a single-label result */
static void
set_class_fields (GstStructure * s, const gchar * prefix,
    const AffectMetricsResult * r)
{
  gchar *f;

  f = g_strconcat (prefix, "accuracy", NULL);
  set_defined (s, f, r->accuracy);
  g_free (f);
  f = g_strconcat (prefix, "balanced-accuracy", NULL);
  set_defined (s, f, r->balanced_accuracy);
  g_free (f);
  f = g_strconcat (prefix, "f1-macro", NULL);
  set_defined (s, f, r->f1_macro);
  g_free (f);
  f = g_strconcat (prefix, "confusion", NULL);
  set_confusion (s, f, r->confusion, r->n_outputs);
  g_free (f);
}

/* the results table (table-location), Markdown or CSV */
static void
write_table (GstAffectMetrics * self, JsonNode * report)
{
  gboolean markdown = g_str_has_suffix (self->table_location, ".md");
  gchar *text = affect_metrics_report_table (report, markdown);
  GError *error = NULL;

  if (!affect_file_set_contents_atomic (self->table_location, text,
          strlen (text), &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not write the results table %s", self->table_location),
        ("%s", error->message));
    g_clear_error (&error);
  }
  g_free (text);
}

static void
post_metrics (GstAffectMetrics * self, gboolean final)
{
  AffectMetricsResult *r = NULL, *gate;
  GError *error = NULL;
  JsonNode *report;
  GstStructure *s;
  GstSegment *seg = &GST_BASE_SINK (self)->segment;
  GstClockTime ts = self->last_ts;
  GValue names = G_VALUE_INIT, v = G_VALUE_INIT;
  gchar *text;
  guint i;

  report = affect_evaluation_report (self->eval, final, &r, &error);
  if (report == NULL) {
    if (final)
      GST_ELEMENT_WARNING (self, STREAM, FAILED, ("No metrics computed"),
          ("%s", error->message));
    g_clear_error (&error);
    return;
  }
  report_add_skipped (self, report);
  text = json_to_string (report, TRUE);
  s = gst_affect_message_structure_new ("affect-metrics", seg, ts,
      self->last_duration);
  gst_structure_set (s, "final", G_TYPE_BOOLEAN, final,
      "task", G_TYPE_STRING, affect_metrics_task_to_string (r->task),
      "items", G_TYPE_UINT64, r->n_items,
      "items-skipped", G_TYPE_UINT64,
      (guint64) (self->skipped ? self->skipped->len : 0), NULL);
  gst_value_array_init (&names, r->n_outputs);
  g_value_init (&v, G_TYPE_STRING);
  for (i = 0; i < r->n_outputs; i++) {
    g_value_set_string (&v, r->names[i]);
    gst_value_array_append_value (&names, &v);
  }
  g_value_unset (&v);
  gst_structure_take_value (s, "names", &names);
  if (r->task == AFFECT_METRICS_REGRESSION) {
    set_double_array (s, "mae", r->mae, r->n_outputs);
    set_double_array (s, "rmse", r->rmse, r->n_outputs);
    set_double_array (s, "pearson", r->pearson, r->n_outputs);
    set_double_array (s, "ccc", r->ccc, r->n_outputs);
    set_defined (s, "mae-mean", r->mae_mean);
  } else {
    set_defined (s, "roc-auc-macro", r->roc_auc_macro);
    set_defined (s, "roc-auc-micro", r->roc_auc_micro);
    set_defined (s, "pr-auc-macro", r->pr_auc_macro);
    set_defined (s, "pr-auc-micro", r->pr_auc_micro);
    set_defined (s, "precision-macro", r->precision_macro);
    set_defined (s, "recall-macro", r->recall_macro);
    set_defined (s, "f1-macro", r->f1_macro);
    set_defined (s, "precision-micro", r->precision_micro);
    set_defined (s, "recall-micro", r->recall_micro);
    set_defined (s, "f1-micro", r->f1_micro);
    set_double_array (s, "roc-auc", r->roc_auc, r->n_outputs);
    set_double_array (s, "pr-auc", r->pr_auc, r->n_outputs);
    set_double_array (s, "f1", r->f1, r->n_outputs);
    if (r->thresholds)
      set_double_array (s, "thresholds", r->thresholds, r->n_outputs);
    if (r->task == AFFECT_METRICS_CLASS)
      set_class_fields (s, "", r);
  }
  if (r->has_baseline && r->task == AFFECT_METRICS_CLASS) {
    gst_structure_set (s, "baseline-class", G_TYPE_STRING,
        r->names[r->baseline_class], NULL);
    set_defined (s, "baseline-accuracy", r->baseline_accuracy);
    set_defined (s, "baseline-balanced-accuracy",
        r->baseline_balanced_accuracy);
    set_defined (s, "baseline-f1-macro", r->baseline_f1_macro);
  } else if (r->has_baseline) {
    set_double_array (s, "baseline-mae", r->baseline_mae, r->n_outputs);
    set_defined (s, "baseline-mae-mean", r->baseline_mae_mean);
  }
  gate = affect_evaluation_gate_result (self->eval);
  if (gate) {
    gst_structure_set (s, "gate-items", G_TYPE_UINT64, gate->n_items, NULL);
    set_class_fields (s, "gate-", gate);
  }
  gst_structure_set (s, "report", G_TYPE_STRING, text, NULL);
  g_free (text);

  if (final) {
    for (i = 0; i < r->warnings->len; i++)
      GST_WARNING_OBJECT (self, "%s",
          (const gchar *) g_ptr_array_index (r->warnings, i));
    if (r->warnings->len > 0)
      GST_ELEMENT_WARNING (self, STREAM, FAILED,
          ("%u metric value(s) are undefined or ill-defined, e.g.: %s",
              r->warnings->len,
              (const gchar *) g_ptr_array_index (r->warnings, 0)),
          ("every case is listed in the report's \"warnings\""));
    if (self->location &&
        !affect_metrics_report_write (report, self->location, &error)) {
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("Could not write the report %s", self->location), ("%s",
              error->message));
      g_clear_error (&error);
    }
    if (self->table_location)
      write_table (self, report);
  }
  if (self->message)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  else
    gst_structure_free (s);

  if (final && self->figures) {
    const gchar *ext = g_str_has_suffix (self->figures, ".svg") ? ".svg" :
        ".png";
    gchar *prefix = g_str_has_suffix (self->figures, ext) ?
        g_strndup (self->figures, strlen (self->figures) - 4) :
        g_strdup (self->figures);
    gchar *path = g_strconcat (prefix, "-curves", ext, NULL);
    gboolean ok = TRUE;

    if (r->task != AFFECT_METRICS_REGRESSION)
      ok = affect_metrics_plot_curves (affect_evaluation_get_metrics
          (self->eval), path, &error);
    if (ok && r->task == AFFECT_METRICS_CLASS) {
      g_free (path);
      path = g_strconcat (prefix, "-confusion", ext, NULL);
      ok = affect_metrics_plot_confusion (r, path, &error);
    }
    if (ok && gate) {
      g_free (path);
      path = g_strconcat (prefix, "-gate-confusion", ext, NULL);
      ok = affect_metrics_plot_confusion (gate, path, &error);
    }
    if (!ok) {
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Could not draw %s", path), ("%s", error->message));
      g_clear_error (&error);
    }
    g_free (path);
    g_free (prefix);
  }
  json_node_unref (report);
  affect_metrics_result_free (r);
  affect_metrics_result_free (gate);
}

static gboolean
write_npy_items (GstAffectMetrics * self)
{
  AffectItemTable *t = self->table;
  GError *error = NULL;
  int64_t shape[2] = { affect_item_table_n_items (t), t->n_outputs };
  gchar *base = g_strndup (self->items_location,
      strlen (self->items_location) - 4);
  gchar *gt_path = g_strconcat (base, "-groundtruth.npy", NULL);
  gboolean ok;

  ok = affect_npy_write (self->items_location, AFFECT_NPY_FLOAT32, 2, shape,
      t->scores->data, &error);
  if (ok && t->task == AFFECT_METRICS_REGRESSION) {
    ok = affect_npy_write (gt_path, AFFECT_NPY_FLOAT32, 2, shape,
        t->truth->data, &error);
  } else if (ok) {
    /* MediaEval's layout: a boolean n × k matrix */
    guint8 *b = g_new (guint8, t->truth->len);
    guint i;
    for (i = 0; i < t->truth->len; i++)
      b[i] = g_array_index (t->truth, float, i) != 0.0f;
    ok = affect_npy_write (gt_path, AFFECT_NPY_BOOL, 2, shape, b, &error);
    g_free (b);
  }
  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not write the per-item predictions %s", self->items_location),
        ("%s", error->message));
    g_error_free (error);
  }
  g_free (gt_path);
  g_free (base);
  return ok;
}

static gboolean
gst_affect_metrics_event (GstBaseSink * sink, GstEvent * event)
{
  GstAffectMetrics *self = GST_AFFECT_METRICS (sink);

  if (gst_affect_event_is_item_start (event)) {
    GstAffectMetricsOpenItem *o = g_new0 (GstAffectMetricsOpenItem, 1);
    o->item = gst_affect_item_parse_start_event (event);
    g_queue_push_tail (&self->open_items, o);
  } else if (gst_affect_event_is_item_end (event)) {
    GList *l = open_item_find (self,
        gst_affect_item_parse_end_event (event, NULL));
    GstAffectMetricsOpenItem *o = l ? l->data : NULL;

    if (o && !note_gate (self, o->item)) {
      gst_event_unref (event);
      return FALSE;
    }
    if (o && !o->scored) {
      self->n_unscored++;
      GST_WARNING_OBJECT (self, "item %s ended without a prediction",
          o->item->id);
      if (o->item->task != GST_AFFECT_TASK_NONE || o->item->targets)
        add_skipped (self, o->item, "no prediction");
    }
    if (l) {
      g_queue_delete_link (&self->open_items, l);
      open_item_free (o);
    }
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    if (self->n_unscored || self->n_unlabelled)
      GST_ELEMENT_WARNING (self, STREAM, FAILED,
          ("%" G_GUINT64_FORMAT " item(s) had no prediction and %"
              G_GUINT64_FORMAT " prediction(s) no labelled item",
              self->n_unscored, self->n_unlabelled),
          ("they are left out of the metrics"));
    /* a run without any label simply has no gate score */
    if (self->n_gate_unlabelled && self->eval &&
        affect_evaluation_n_gate (self->eval) > 0)
      GST_ELEMENT_WARNING (self, STREAM, FAILED,
          ("%" G_GUINT64_FORMAT " routed item(s) have no '%s' label",
              self->n_gate_unlabelled, self->gate_label),
          ("the gate is scored on the routed items with a label only"));
    if (self->items_csv) {
      fclose (self->items_csv);
      self->items_csv = NULL;
    }
    if (self->table)
      write_npy_items (self);
    if (self->eval && affect_evaluation_n_evaluated (self->eval) > 0)
      post_metrics (self, TRUE);
    else
      GST_ELEMENT_WARNING (self, STREAM, FAILED, ("No item was evaluated"),
          ("no prediction arrived inside a labelled item%s%s",
              self->split ? " of split " : "", self->split ? self->split : ""));
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (sink, event);
}

/* The item's truth in output order: labels over the vocabulary (tags,
 * class) or the targets named like the outputs (regression). FALSE with
 * *skip set: this item cannot be scored; FALSE alone: an error was posted
 * (the stream does not fit the items). */
static gboolean
item_truth (GstAffectMetrics * self, const GstAffectItem * item, float *truth,
    gchar ** skip)
{
  guint i;

  if (self->eval_task == AFFECT_METRICS_REGRESSION) {
    for (i = 0; i < self->n_outputs; i++) {
      gdouble v;
      /* one item without the target is left out, not the whole run */
      if (!gst_affect_item_get_target (item, self->names[i], &v)) {
        *skip = g_strdup_printf ("no target '%s'", self->names[i]);
        return FALSE;
      }
      truth[i] = (float) v;
    }
    return TRUE;
  }
  if (item->labels == NULL || item->n_labels != self->n_outputs) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("The predictions do not match the items' labels"),
        ("item %s has %u labels for %u predicted outputs", item->id,
            item->n_labels, self->n_outputs));
    return FALSE;
  }
  for (i = 0; i < self->n_outputs && item->vocabulary; i++)
    if (g_strcmp0 (item->vocabulary[i], self->names[i]) != 0) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("The predictions do not match the items' labels"),
          ("output %u is '%s' in the predictions but '%s' in item %s's "
              "vocabulary", i, self->names[i], item->vocabulary[i], item->id));
      return FALSE;
    }
  memcpy (truth, item->labels, self->n_outputs * sizeof (float));
  return TRUE;
}

/* names when the caps carry none: the items' vocabulary, or the target
 * names in the order of the item's targets structure */
static gboolean
default_names (GstAffectMetrics * self, const GstAffectItem * item)
{
  guint i, n = self->n_outputs;

  if (self->names)
    return TRUE;
  self->names = g_new0 (gchar *, n + 1);
  for (i = 0; i < n; i++) {
    if (self->eval_task != AFFECT_METRICS_REGRESSION && item->vocabulary &&
        g_strv_length (item->vocabulary) == n)
      self->names[i] = g_strdup (item->vocabulary[i]);
    else if (self->eval_task == AFFECT_METRICS_REGRESSION && item->targets &&
        (guint) gst_structure_n_fields (item->targets) == n)
      self->names[i] = g_strdup (gst_structure_nth_field_name (item->targets,
              i));
    else {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Cannot name the predicted outputs"),
          ("cannot tell the %u outputs' names: no names= in the caps and "
              "item %s's labels/targets do not match", n, item->id));
      return FALSE;
    }
  }
  return TRUE;
}

static GstFlowReturn
gst_affect_metrics_render (GstBaseSink * sink, GstBuffer * buffer)
{
  GstAffectMetrics *self = GST_AFFECT_METRICS (sink);
  GList *l = open_item_find (self, gst_affect_item_meta_get_id (buffer));
  GstAffectMetricsOpenItem *o = l ? l->data : NULL;
  const GstAffectItem *item = o ? o->item : NULL;
  GError *error = NULL;
  GstMapInfo map;
  float *truth;
  guint64 n_before;
  gboolean ok;
  gchar *skip = NULL;
  guint i;

  if (item == NULL || item->task == GST_AFFECT_TASK_NONE) {
    self->n_unlabelled++;
    if (item != NULL && !o->scored) {
      add_skipped (self, item, "no labels or targets");
      o->scored = TRUE;         /* it had a prediction */
    }
    return GST_FLOW_OK;
  }
  if (o->scored) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("An item has more than one prediction"),
        ("item %s has more than one prediction tensor", item->id));
    return GST_FLOW_ERROR;
  }
  if (self->eval == NULL) {
    if (self->n_outputs == 0 || !resolve_task (self, item, &self->eval_task)) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Cannot tell the task of the items"),
          ("cannot tell the task of item %s: set task=", item->id));
      return GST_FLOW_ERROR;
    }
    if (!default_names (self, item) || !open_outputs (self))
      return GST_FLOW_ERROR;
  }
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  if (map.size != self->n_outputs * sizeof (float)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Prediction buffer of the wrong size"),
        ("buffer of %" G_GSIZE_FORMAT " bytes for %u float32 outputs", map.size,
            self->n_outputs));
    gst_buffer_unmap (buffer, &map);
    return GST_FLOW_ERROR;
  }
  truth = g_newa (float, self->n_outputs);
  n_before = affect_evaluation_n_evaluated (self->eval);
  ok = item_truth (self, item, truth, &skip);
  for (i = 0; ok && skip == NULL && i < self->n_outputs; i++)
    if (!isfinite (((const float *) map.data)[i]) || !isfinite (truth[i]))
      skip = g_strdup_printf ("non-finite %s %g for '%s'",
          isfinite (((const float *) map.data)[i]) ? "truth" : "score",
          isfinite (((const float *) map.data)[i]) ? truth[i] :
          ((const float *) map.data)[i], self->names[i]);
  if (skip) {
    /* one bad item is left out and listed in the report; the run goes on */
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Item \"%s\" (%s) left out of the metrics: %s.", item->id,
            item->path ? item->path : "no path", skip), (NULL));
    add_skipped (self, item, skip);
    g_free (skip);
    gst_buffer_unmap (buffer, &map);
    o->scored = TRUE;
    return GST_FLOW_OK;
  }
  if (ok)
    ok = affect_evaluation_add (self->eval, item->split, item->route,
        (const float *) map.data, truth, &error);
  if (ok && self->items_csv) {
    gchar *row = affect_item_csv_row (self->n_outputs, item->index, item->id,
        item->split, item->route, truth, (const float *) map.data);
    fputs (row, self->items_csv);
    g_free (row);
  }
  if (ok && self->table)
    affect_item_table_append (self->table, item->index, item->id,
        item->split, item->route, truth, (const float *) map.data);
  gst_buffer_unmap (buffer, &map);
  if (!ok) {
    if (error) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Could not score item %s",
              item->id), ("%s", error->message));
      g_error_free (error);
    }
    return GST_FLOW_ERROR;
  }
  o->scored = TRUE;
  self->last_ts = GST_BUFFER_PTS (buffer);
  self->last_duration = GST_BUFFER_DURATION (buffer);
  /* the interval counts evaluated items, not those fitting thresholds */
  if (affect_evaluation_n_evaluated (self->eval) > n_before &&
      self->interval > 0 && ++self->since_message >= self->interval) {
    self->since_message = 0;
    post_metrics (self, FALSE);
  }
  return GST_FLOW_OK;
}

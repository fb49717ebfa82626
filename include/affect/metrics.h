/* Metrics: MediaEval-2019 mood/theme scores, single-label classification
 * scores and regression errors, with scikit-learn 1.2 semantics.
 *
 * Two layers:
 *  - Column primitives on one score column (ROC-AUC, average precision, the
 *    MediaEval F-maximising threshold, curve points). Scores are float32,
 *    truth is 0/1 bytes; strides allow reading a column of a row-major
 *    n × k matrix in place.
 *  - An evaluator (plan-like: new → add items → compute → free) that keeps
 *    what the exact metrics need and yields an AffectMetricsResult, which
 *    serialises to the JSON report of docs/metrics.md.
 *
 * Rank metrics sort a copy of the scores (radix sort on the float32 bit
 * pattern, O(n)); every count is an integer, so results do not depend on
 * the order in which items arrive. docs/metrics.md states each definition,
 * what happens on degenerate classes, and the memory used per item.
 */
#ifndef AFFECT_METRICS_H
#define AFFECT_METRICS_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum
{
  AFFECT_METRICS_TAGS,          /* multi-label: k independent binary tags */
  AFFECT_METRICS_CLASS,         /* single-label over k classes */
  AFFECT_METRICS_REGRESSION     /* k numeric targets */
} AffectMetricsTask;

typedef enum
{
  AFFECT_DECISION_FITTED,       /* per-tag thresholds maximising F (MediaEval) */
  AFFECT_DECISION_THRESHOLDS,   /* per-tag thresholds given (file) */
  AFFECT_DECISION_FIXED,        /* one threshold for every tag */
  AFFECT_DECISION_ARGMAX,       /* the top-scoring class */
  AFFECT_DECISION_GIVEN         /* decisions supplied with the scores */
} AffectDecisionRule;

const char *affect_metrics_task_to_string (AffectMetricsTask task);
gboolean affect_metrics_task_from_string (const char *str,
    AffectMetricsTask * task);
const char *affect_decision_rule_to_string (AffectDecisionRule rule);

/* ---- column primitives --------------------------------------------------
 * scores[i * score_stride], truth[i * truth_stride] for i < n. */

typedef struct
{
  uint64_t n_positive, n_negative;
  double roc_auc;               /* NaN when n_positive or n_negative is 0 */
  double average_precision;     /* 0 when n_positive is 0 (scikit-learn) */
} AffectRankScores;

void affect_rank_scores (const float *scores, gsize score_stride,
    const uint8_t * truth, gsize truth_stride, gsize n,
    AffectRankScores * out);

/* Every column of a row-major n × k matrix (columns: k results, or NULL)
 * and the micro ranking of all n × k pairs (micro, or NULL). Uses 10 bytes
 * per score of scratch for the columns, 8 for micro. */
void affect_rank_scores_matrix (const float *scores, const uint8_t * truth,
    gsize n, guint k, AffectRankScores * columns, AffectRankScores * micro);

/* The threshold of MediaEval's calculate_decisions.py: on the precision-
 * recall curve (one point per distinct score, plus (P=1, R=0)), F = 2PR/(P+R)
 * with NaN → 0; the threshold is the score at the first maximum of F in
 * ascending-threshold order. Items are then positive when score > threshold.
 * Returns NaN when n is 0. */
double affect_fit_threshold (const float *scores, gsize score_stride,
    const uint8_t * truth, gsize truth_stride, gsize n);

/* Curve points for figures, from the highest threshold down, starting at
 * (0, 0) for ROC and at (recall 0, precision 1) for PR: x/y of n_points
 * entries each, newly allocated. FALSE if a rate is undefined. */
gboolean affect_roc_curve (const float *scores, gsize score_stride,
    const uint8_t * truth, gsize truth_stride, gsize n,
    double **fpr, double **tpr, gsize * n_points);
gboolean affect_pr_curve (const float *scores, gsize score_stride,
    const uint8_t * truth, gsize truth_stride, gsize n,
    double **recall, double **precision, gsize * n_points);

/* ---- single-label scores from a confusion matrix ----------------------
 * counts: k × k, row = true class, column = predicted (scikit-learn's
 * confusion_matrix). As scikit-learn 1.2 with its default labels:
 *  - accuracy = trace / n;
 *  - balanced accuracy (balanced_accuracy_score) = mean recall over the
 *    classes present in the truth (a class only predicted has no recall and
 *    is left out, as scikit-learn's nanmean does);
 *  - macro-F1 (f1_score average="macro", zero_division="warn") = mean F1 over
 *    the classes present in the truth or the predictions, a 0/0 precision
 *    or recall counting 0.
 * Values are NaN when n is 0. */
typedef struct
{
  guint64 n;
  double accuracy, balanced_accuracy, f1_macro;
  guint recall_labels;          /* classes in the balanced accuracy */
  guint f1_labels;              /* classes in the macro-F1 */
} AffectClassScores;

void affect_class_scores (const guint64 * counts, guint k,
    AffectClassScores * out);

/* ---- evaluator ---------------------------------------------------------- */

typedef struct _AffectMetrics AffectMetrics;

typedef struct
{
  AffectMetricsTask task;
  guint n_outputs;
  gchar **names;                /* n_outputs label / target names */
  guint64 n_items;

  /* AUCs (tags; one-vs-rest for class). Per output values are NaN when
   * undefined; macro averages the defined ones (roc_auc_defined counts
   * them), micro pools all n × k scores. */
  double roc_auc_macro, roc_auc_micro;
  double pr_auc_macro, pr_auc_micro;
  guint roc_auc_defined;
  double *roc_auc, *pr_auc;
  guint64 *support;             /* positives per output (tags, class) */

  /* decisions (tags, class) */
  AffectDecisionRule decision_rule;
  double *thresholds;           /* n_outputs, or NULL for argmax */
  double precision_macro, recall_macro, f1_macro;
  double precision_micro, recall_micro, f1_micro;
  double *precision, *recall, *f1;
  guint64 *tp, *fp, *fn;
  guint macro_labels;           /* outputs in the macro average */

  /* class */
  double accuracy;
  double balanced_accuracy;     /* mean recall over the classes in the truth */
  guint balanced_labels;        /* classes in that mean */
  guint64 *confusion;           /* k × k, row = true class, col = predicted */
  double *confusion_normalised; /* rows sum to 1; empty rows are 0 */

  /* baselines (affect_metrics_set_baseline_*): a constant prediction made
   * from the training items, scored on the same items */
  gboolean has_baseline;
  gint baseline_class;          /* class: the majority class predicted */
  double baseline_accuracy, baseline_balanced_accuracy, baseline_f1_macro;
  double *baseline_mean;        /* regression: the training mean predicted */
  double *baseline_mae, *baseline_rmse;
  double baseline_mae_mean;

  /* regression (per target) */
  double *mae, *rmse, *pearson, *ccc;
  double mae_mean;              /* mean of the per-target MAEs */

  GPtrArray *warnings;          /* strings: every undefined value explained */
} AffectMetricsResult;

/* names: n_outputs strings (copied); NULL → "0", "1", … */
AffectMetrics *affect_metrics_new (AffectMetricsTask task, guint n_outputs,
    const char *const *names);
void affect_metrics_free (AffectMetrics * m);

AffectMetricsTask affect_metrics_get_task (const AffectMetrics * m);
guint affect_metrics_get_n_outputs (const AffectMetrics * m);
const char *const *affect_metrics_get_names (const AffectMetrics * m);
guint64 affect_metrics_get_n_items (const AffectMetrics * m);
/* the kept scores (n_items × n_outputs, row-major) and 0/1 truth bytes;
 * NULL for regression, which keeps only streaming sums */
const float *affect_metrics_get_scores (const AffectMetrics * m);
const uint8_t *affect_metrics_get_truth (const AffectMetrics * m);

/* One item: n_outputs scores and n_outputs truth values (tags: 0/1,
 * class: one-hot, regression: the targets). FALSE (with error) on
 * non-finite values or, for class, a truth that is not one-hot. */
gboolean affect_metrics_add (AffectMetrics * m, const float *scores,
    const float *truth, GError ** error);
/* Appends every item of src (same task and outputs): shards → one. */
gboolean affect_metrics_merge (AffectMetrics * m, const AffectMetrics * src,
    GError ** error);

/* Baseline rows, set before the first item: class tasks score a constant
 * prediction of class `cls` (the training items' majority class; -1 =
 * none), regression the constant prediction of `mean` (n_outputs values:
 * the training targets' mean; NULL = none). */
void affect_metrics_set_baseline_class (AffectMetrics * m, gint cls);
gboolean affect_metrics_set_baseline_mean (AffectMetrics * m,
    const double *mean, GError ** error);

/* Decision rule for tags (class always uses argmax). Default: FIXED 0.5. */
void affect_metrics_set_fixed_threshold (AffectMetrics * m, double threshold);
void affect_metrics_set_thresholds (AffectMetrics * m,
    const double *thresholds);
/* Decisions made elsewhere (MediaEval's decisions.npy): n_items × n_outputs
 * 0/1 bytes for the items added so far (copied). */
gboolean affect_metrics_set_decisions (AffectMetrics * m,
    const uint8_t * decisions, guint64 n_items, GError ** error);
/* Fits the MediaEval thresholds on the items of fit (e.g. the validation
 * split; may be m itself) and uses them. */
gboolean affect_metrics_fit_thresholds (AffectMetrics * m,
    const AffectMetrics * fit, GError ** error);
/* the fitted thresholds themselves: n_outputs doubles, g_free them */
double *affect_metrics_fit_threshold_values (const AffectMetrics * fit,
    GError ** error);

/* Cheap running values during a stream: counts so far, the streaming MAE /
 * RMSE and the confusion matrix. Rank metrics are only in compute(). */
AffectMetricsResult *affect_metrics_compute (const AffectMetrics * m,
    GError ** error);
void affect_metrics_result_free (AffectMetricsResult * r);

/* JSON object of docs/metrics.md ("task", "n_items", "macro", "micro",
 * "per_output", …); add it to a JsonBuilder with json_builder_add_value. */
struct _JsonNode;
struct _JsonNode *affect_metrics_result_to_json (const AffectMetricsResult *
    r);

/* The MediaEval table: one "name<TAB>value" line per metric (6 decimals),
 * in the order of baseline_*_results.tsv. Tags and class only. */
gchar *affect_metrics_result_mediaeval_table (const AffectMetricsResult * r);

/* Per-tag thresholds file as MediaEval writes it: "name<TAB>value" lines
 * (a line with a value only is taken in column order). */
gboolean affect_thresholds_read (const char *path, guint n_outputs,
    const char *const *names, double *thresholds, GError ** error);
gboolean affect_thresholds_write (const char *path, guint n_outputs,
    const char *const *names, const double *thresholds, GError ** error);

/* ---- per-item predictions (CSV) -----------------------------------------
 * Header: index,id,split,route,true:<name>…,score:<name>… ; one row per
 * item. Shards of a run are merged by reading every file into one table. */

typedef struct
{
  AffectMetricsTask task;
  guint n_outputs;
  gchar **names;
  GArray *index;                /* guint64 */
  GPtrArray *id, *split;        /* strings ("" when absent) */
  GArray *route;                /* gint, -1 when not routed */
  GArray *truth;                /* float, n × n_outputs */
  GArray *scores;               /* float, n × n_outputs */
} AffectItemTable;

AffectItemTable *affect_item_table_new (AffectMetricsTask task,
    guint n_outputs, const char *const *names);
void affect_item_table_free (AffectItemTable * t);
guint64 affect_item_table_n_items (const AffectItemTable * t);
void affect_item_table_append (AffectItemTable * t, guint64 index,
    const char *id, const char *split, int route, const float *truth,
    const float *scores);
/* Appends the rows of a CSV file; the file's task and names must match the
 * table's when the table is not empty (n_outputs 0 = take from the file). */
gboolean affect_item_table_read_csv (AffectItemTable * t, const char *path,
    GError ** error);
/* Writes the header line / one row (for streaming writers) */
gchar *affect_item_table_csv_header (AffectMetricsTask task, guint n_outputs,
    const char *const *names);
gchar *affect_item_csv_row (guint n_outputs, guint64 index, const char *id,
    const char *split, int route, const float *truth, const float *scores);
gboolean affect_item_table_write_csv (const AffectItemTable * t,
    const char *path, GError ** error);
/* Sort by (id, index): a run and its shards merged come out in one order,
 * so even floating-point sums (regression) are bit-identical */
void affect_item_table_sort (AffectItemTable * t);

/* ---- evaluation: splits, routes, report -------------------------------
 * What the element and the CLI share: items of the threshold split (when
 * the rule is FITTED) fit the thresholds; items of `split` (NULL: every
 * other item) are evaluated, overall and per route (affectgate's route). */

typedef struct _AffectEvaluation AffectEvaluation;

AffectEvaluation *affect_evaluation_new (AffectMetricsTask task,
    guint n_outputs, const char *const *names, const char *split,
    const char *fit_split);
void affect_evaluation_free (AffectEvaluation * ev);
/* rule FITTED, FIXED (threshold), THRESHOLDS (thresholds) or ARGMAX */
void affect_evaluation_set_rule (AffectEvaluation * ev,
    AffectDecisionRule rule, double threshold, const double *thresholds);
/* decisions made elsewhere for the evaluated items added so far (tags) */
gboolean affect_evaluation_set_decisions (AffectEvaluation * ev,
    const uint8_t * decisions, guint64 n_items, GError ** error);
gboolean affect_evaluation_add (AffectEvaluation * ev, const char *split,
    int route, const float *scores, const float *truth, GError ** error);
guint64 affect_evaluation_n_evaluated (const AffectEvaluation * ev);
/* baselines of every evaluator (overall and per route): see
 * affect_metrics_set_baseline_class / _mean; before the first item */
void affect_evaluation_set_baseline_class (AffectEvaluation * ev, gint cls);
gboolean affect_evaluation_set_baseline_mean (AffectEvaluation * ev,
    const double *mean, GError ** error);
/* The gate (affectgate's route: 0 spontaneous, 1 scripted) scored against
 * an item's spontaneity label, for the items of the evaluated split: a
 * single-label evaluation over the classes "spontaneous" and "scripted". */
gboolean affect_evaluation_add_gate (AffectEvaluation * ev, const char *split,
    int route, gboolean spontaneous, GError ** error);
guint64 affect_evaluation_n_gate (const AffectEvaluation * ev);
/* the gate's result (NULL when no item was scored); free it */
AffectMetricsResult *affect_evaluation_gate_result (AffectEvaluation * ev);
/* the evaluator of every evaluated item (for figures) */
AffectMetrics *affect_evaluation_get_metrics (AffectEvaluation * ev);
/* Computes everything; the report object of docs/metrics.md. Also returns
 * the overall result when result is not NULL. */
struct _JsonNode *affect_evaluation_report (AffectEvaluation * ev,
    gboolean final, AffectMetricsResult ** result, GError ** error);
/* The results table of a report: one row for the model (every evaluated
 * item), one per route, the baseline row when set, then the gate's table
 * and the confusion matrices of class tasks and of the gate. Markdown, or
 * CSV in long form (table,row,metric,value: one value per line). */
gchar *affect_metrics_report_table (struct _JsonNode *report,
    gboolean markdown);
/* pretty-printed JSON text of a report, written atomically */
gboolean affect_metrics_report_write (struct _JsonNode *report,
    const char *path, GError ** error);

/* ---- figures (cairo; FALSE with an error when built without it) -------
 * format from the file name: .png or .svg. */
gboolean affect_metrics_plot_confusion (const AffectMetricsResult * r,
    const char *path, GError ** error);
/* ROC and PR curves side by side: per output (thin) and micro (thick) */
gboolean affect_metrics_plot_curves (const AffectMetrics * m,
    const char *path, GError ** error);
/* Line chart of n_series curves over the same n_points abscissae (x
 * ascending; y is n_series × n_points, NaN leaves a gap), axes scaled to the
 * data, a legend with series_names: e.g. MAE against a hyper-parameter. */
gboolean affect_metrics_plot_series (const char *path, const char *title,
    const char *xlabel, const char *ylabel, guint n_series,
    const char *const *series_names, guint n_points, const double *x,
    const double *y, GError ** error);

G_END_DECLS
#endif /* AFFECT_METRICS_H */

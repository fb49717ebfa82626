/* The evaluator: items in, MediaEval / scikit-learn metrics out.
 *
 * Tags and class tasks keep every score (4 bytes) and truth bit (1 byte)
 * per output per item, because exact AUCs need the whole ranking. The
 * confusion matrix and the regression errors are streaming accumulators:
 * a regression evaluator keeps nothing per item. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/metrics.h"
#include "metrics-private.h"

/* Welford / Chan co-moments of one (target, prediction) pair stream */
typedef struct
{
  uint64_t n;
  double sum_abs, sum_sq;       /* of the error prediction − target */
  double mean_t, mean_p, m2_t, m2_p, c_tp;
  double base_abs, base_sq;     /* of target − the baseline's constant */
} RegressionAccumulator;

struct _AffectMetrics
{
  AffectMetricsTask task;
  guint k;
  gchar **names;
  uint64_t n;
  GArray *scores;               /* float, n × k (tags, class) */
  GArray *truth;                /* uint8, n × k (tags, class) */
  uint64_t *confusion;          /* k × k (class) */
  RegressionAccumulator *reg;   /* k (regression) */
  AffectDecisionRule rule;
  double fixed_threshold;
  double *thresholds;
  uint8_t *decisions;           /* GIVEN: n × k */
  uint64_t n_decisions;
  gint baseline_class;          /* class: -1 = no baseline */
  double *baseline_mean;        /* regression: k, or NULL */
};

static const char *task_names[] = { "tags", "class", "regression" };
static const char *rule_names[] =
    { "fitted", "thresholds", "fixed", "argmax", "given" };

const char *
affect_metrics_task_to_string (AffectMetricsTask task)
{
  return task <= AFFECT_METRICS_REGRESSION ? task_names[task] : "unknown";
}

gboolean
affect_metrics_task_from_string (const char *str, AffectMetricsTask * task)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (task_names); i++)
    if (g_strcmp0 (str, task_names[i]) == 0) {
      *task = (AffectMetricsTask) i;
      return TRUE;
    }
  return FALSE;
}

const char *
affect_decision_rule_to_string (AffectDecisionRule rule)
{
  return rule <= AFFECT_DECISION_GIVEN ? rule_names[rule] : "unknown";
}

AffectMetrics *
affect_metrics_new (AffectMetricsTask task, guint n_outputs,
    const char *const *names)
{
  AffectMetrics *m;
  guint i;

  g_return_val_if_fail (n_outputs > 0, NULL);
  m = g_new0 (AffectMetrics, 1);
  m->task = task;
  m->k = n_outputs;
  m->names = g_new0 (gchar *, n_outputs + 1);
  for (i = 0; i < n_outputs; i++)
    m->names[i] = names ? g_strdup (names[i]) : g_strdup_printf ("%u", i);
  if (task == AFFECT_METRICS_REGRESSION) {
    m->reg = g_new0 (RegressionAccumulator, n_outputs);
  } else {
    m->scores = g_array_new (FALSE, FALSE, sizeof (float));
    m->truth = g_array_new (FALSE, FALSE, sizeof (uint8_t));
  }
  if (task == AFFECT_METRICS_CLASS) {
    m->confusion = g_new0 (uint64_t, (gsize) n_outputs * n_outputs);
    m->rule = AFFECT_DECISION_ARGMAX;
  } else {
    m->rule = AFFECT_DECISION_FIXED;
  }
  m->fixed_threshold = 0.5;
  m->baseline_class = -1;
  return m;
}

void
affect_metrics_free (AffectMetrics * m)
{
  if (m == NULL)
    return;
  g_strfreev (m->names);
  if (m->scores)
    g_array_free (m->scores, TRUE);
  if (m->truth)
    g_array_free (m->truth, TRUE);
  g_free (m->confusion);
  g_free (m->reg);
  g_free (m->thresholds);
  g_free (m->decisions);
  g_free (m->baseline_mean);
  g_free (m);
}

AffectMetricsTask
affect_metrics_get_task (const AffectMetrics * m)
{
  return m->task;
}

guint
affect_metrics_get_n_outputs (const AffectMetrics * m)
{
  return m->k;
}

const char *const *
affect_metrics_get_names (const AffectMetrics * m)
{
  return (const char *const *) m->names;
}

guint64
affect_metrics_get_n_items (const AffectMetrics * m)
{
  return m->n;
}

const float *
affect_metrics_get_scores (const AffectMetrics * m)
{
  return m->scores ? (const float *) m->scores->data : NULL;
}

const uint8_t *
affect_metrics_get_truth (const AffectMetrics * m)
{
  return m->truth ? (const uint8_t *) m->truth->data : NULL;
}

/* first maximum, as numpy's argmax */
static guint
argmax (const float *v, guint k)
{
  guint i, best = 0;

  for (i = 1; i < k; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

static void
regression_add (RegressionAccumulator * a, double t, double p)
{
  double e = p - t, dt, dp;

  a->n++;
  a->sum_abs += fabs (e);
  a->sum_sq += e * e;
  dt = t - a->mean_t;
  dp = p - a->mean_p;
  a->mean_t += dt / (double) a->n;
  a->mean_p += dp / (double) a->n;
  a->m2_t += dt * (t - a->mean_t);
  a->m2_p += dp * (p - a->mean_p);
  a->c_tp += dt * (p - a->mean_p);
}

/* Chan et al.'s pairwise combination of two accumulators */
static void
regression_merge (RegressionAccumulator * a, const RegressionAccumulator * b)
{
  double n, dt, dp, w;

  if (b->n == 0)
    return;
  if (a->n == 0) {
    *a = *b;
    return;
  }
  n = (double) (a->n + b->n);
  dt = b->mean_t - a->mean_t;
  dp = b->mean_p - a->mean_p;
  w = (double) a->n * (double) b->n / n;
  a->sum_abs += b->sum_abs;
  a->sum_sq += b->sum_sq;
  a->base_abs += b->base_abs;
  a->base_sq += b->base_sq;
  a->m2_t += b->m2_t + dt * dt * w;
  a->m2_p += b->m2_p + dp * dp * w;
  a->c_tp += b->c_tp + dt * dp * w;
  a->mean_t += dt * (double) b->n / n;
  a->mean_p += dp * (double) b->n / n;
  a->n += b->n;
}

gboolean
affect_metrics_add (AffectMetrics * m, const float *scores,
    const float *truth, GError ** error)
{
  guint i, k = m->k, hot = 0, cls = 0;

  for (i = 0; i < k; i++) {
    if (!isfinite (scores[i]) || !isfinite (truth[i])) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "item %" G_GUINT64_FORMAT ": non-finite %s for '%s'", m->n,
          isfinite (scores[i]) ? "truth" : "score", m->names[i]);
      return FALSE;
    }
  }
  if (m->task == AFFECT_METRICS_REGRESSION) {
    for (i = 0; i < k; i++) {
      regression_add (&m->reg[i], truth[i], scores[i]);
      if (m->baseline_mean) {
        double e = (double) truth[i] - m->baseline_mean[i];
        m->reg[i].base_abs += fabs (e);
        m->reg[i].base_sq += e * e;
      }
    }
    m->n++;
    return TRUE;
  }
  for (i = 0; i < k; i++) {
    if (truth[i] != 0.0f && truth[i] != 1.0f) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "item %" G_GUINT64_FORMAT ": truth %g for '%s' is not 0 or 1",
          m->n, truth[i], m->names[i]);
      return FALSE;
    }
    if (truth[i] != 0.0f) {
      hot++;
      cls = i;
    }
  }
  if (m->task == AFFECT_METRICS_CLASS) {
    if (hot != 1) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "item %" G_GUINT64_FORMAT ": single-label truth has %u classes "
          "set, not one", m->n, hot);
      return FALSE;
    }
    m->confusion[(gsize) cls * k + argmax (scores, k)]++;
  }
  g_array_append_vals (m->scores, scores, k);
  for (i = 0; i < k; i++) {
    uint8_t b = truth[i] != 0.0f;
    g_array_append_val (m->truth, b);
  }
  m->n++;
  return TRUE;
}

gboolean
affect_metrics_merge (AffectMetrics * m, const AffectMetrics * src,
    GError ** error)
{
  guint i;

  if (src->task != m->task || src->k != m->k) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "cannot merge a %s evaluator of %u outputs into a %s one of %u",
        affect_metrics_task_to_string (src->task), src->k,
        affect_metrics_task_to_string (m->task), m->k);
    return FALSE;
  }
  for (i = 0; i < m->k; i++)
    if (g_strcmp0 (m->names[i], src->names[i]) != 0) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
          "output %u is '%s' here and '%s' in the merged part", i,
          m->names[i], src->names[i]);
      return FALSE;
    }
  if (m->reg)
    for (i = 0; i < m->k; i++)
      regression_merge (&m->reg[i], &src->reg[i]);
  if (m->scores) {
    g_array_append_vals (m->scores, src->scores->data, src->scores->len);
    g_array_append_vals (m->truth, src->truth->data, src->truth->len);
  }
  if (m->confusion)
    for (i = 0; i < m->k * m->k; i++)
      m->confusion[i] += src->confusion[i];
  m->n += src->n;
  return TRUE;
}

void
affect_metrics_set_baseline_class (AffectMetrics * m, gint cls)
{
  if (m->task == AFFECT_METRICS_CLASS)
    m->baseline_class = cls >= 0 && (guint) cls < m->k ? cls : -1;
}

gboolean
affect_metrics_set_baseline_mean (AffectMetrics * m, const double *mean,
    GError ** error)
{
  guint i;

  if (m->task != AFFECT_METRICS_REGRESSION)
    return TRUE;
  /* the baseline's errors are summed as the items come */
  if (m->n > 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "the baseline is set before the first item");
    return FALSE;
  }
  for (i = 0; mean && i < m->k; i++)
    if (!isfinite (mean[i])) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "baseline mean of '%s' is not finite", m->names[i]);
      return FALSE;
    }
  g_free (m->baseline_mean);
  m->baseline_mean = mean ? g_memdup2 (mean, m->k * sizeof (double)) : NULL;
  return TRUE;
}

void
affect_metrics_set_fixed_threshold (AffectMetrics * m, double threshold)
{
  if (m->task != AFFECT_METRICS_TAGS)
    return;
  m->rule = AFFECT_DECISION_FIXED;
  m->fixed_threshold = threshold;
}

void
affect_metrics_use_thresholds (AffectMetrics * m, const double *thresholds,
    AffectDecisionRule rule)
{
  if (m->task != AFFECT_METRICS_TAGS)
    return;
  m->rule = rule;
  g_free (m->thresholds);
  m->thresholds = g_memdup2 (thresholds, m->k * sizeof (double));
}

void
affect_metrics_set_thresholds (AffectMetrics * m, const double *thresholds)
{
  affect_metrics_use_thresholds (m, thresholds, AFFECT_DECISION_THRESHOLDS);
}

gboolean
affect_metrics_set_decisions (AffectMetrics * m, const uint8_t * decisions,
    guint64 n_items, GError ** error)
{
  if (m->task != AFFECT_METRICS_TAGS || n_items != m->n) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "decisions for %" G_GUINT64_FORMAT " items given, the evaluator "
        "holds %" G_GUINT64_FORMAT " %s items", n_items, m->n,
        affect_metrics_task_to_string (m->task));
    return FALSE;
  }
  g_free (m->decisions);
  m->decisions = g_memdup2 (decisions, n_items * m->k);
  m->n_decisions = n_items;
  m->rule = AFFECT_DECISION_GIVEN;
  return TRUE;
}

double *
affect_metrics_fit_threshold_values (const AffectMetrics * fit, GError ** error)
{
  AffectRankSorted rs;
  double *t;
  guint c;

  if (fit->task != AFFECT_METRICS_TAGS) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "thresholds are fitted for tags, not for a %s task",
        affect_metrics_task_to_string (fit->task));
    return NULL;
  }
  if (fit->n == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "no items to fit the thresholds on");
    return NULL;
  }
  t = g_new (double, fit->k);
  affect_rank_sorted_init (&rs);
  for (c = 0; c < fit->k; c++) {
    affect_rank_sorted_build (&rs,
        (const float *) fit->scores->data + c, fit->k,
        (const uint8_t *) fit->truth->data + c, fit->k, fit->n);
    t[c] = affect_rank_sorted_threshold (&rs);
  }
  affect_rank_sorted_clear (&rs);
  return t;
}

gboolean
affect_metrics_fit_thresholds (AffectMetrics * m, const AffectMetrics * fit,
    GError ** error)
{
  double *t;

  if (m->task != AFFECT_METRICS_TAGS || fit->k != m->k) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "thresholds are fitted for tags, on an evaluator of the same tags");
    return FALSE;
  }
  t = affect_metrics_fit_threshold_values (fit, error);
  if (t == NULL)
    return FALSE;
  g_free (m->thresholds);
  m->thresholds = t;
  m->rule = AFFECT_DECISION_FITTED;
  return TRUE;
}

static void
warn (AffectMetricsResult * r, const char *format, ...)
G_GNUC_PRINTF (2, 3);

     static void warn (AffectMetricsResult * r, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (r->warnings, g_strdup_vprintf (format, args));
  va_end (args);
}

static AffectMetricsResult *
result_new (const AffectMetrics * m)
{
  AffectMetricsResult *r = g_new0 (AffectMetricsResult, 1);
  guint k = m->k;

  r->task = m->task;
  r->n_outputs = k;
  r->names = g_strdupv (m->names);
  r->n_items = m->n;
  r->warnings = g_ptr_array_new_with_free_func (g_free);
  r->roc_auc_macro = r->roc_auc_micro = NAN;
  r->pr_auc_macro = r->pr_auc_micro = NAN;
  r->precision_macro = r->recall_macro = r->f1_macro = NAN;
  r->precision_micro = r->recall_micro = r->f1_micro = NAN;
  r->accuracy = r->mae_mean = NAN;
  r->balanced_accuracy = NAN;
  r->baseline_class = -1;
  r->baseline_accuracy = r->baseline_balanced_accuracy = NAN;
  r->baseline_f1_macro = r->baseline_mae_mean = NAN;
  if (m->task == AFFECT_METRICS_REGRESSION) {
    r->mae = g_new (double, k);
    r->rmse = g_new (double, k);
    r->pearson = g_new (double, k);
    r->ccc = g_new (double, k);
  } else {
    r->roc_auc = g_new (double, k);
    r->pr_auc = g_new (double, k);
    r->support = g_new0 (guint64, k);
    r->precision = g_new (double, k);
    r->recall = g_new (double, k);
    r->f1 = g_new (double, k);
    r->tp = g_new0 (guint64, k);
    r->fp = g_new0 (guint64, k);
    r->fn = g_new0 (guint64, k);
  }
  return r;
}

void
affect_metrics_result_free (AffectMetricsResult * r)
{
  if (r == NULL)
    return;
  g_strfreev (r->names);
  g_free (r->roc_auc);
  g_free (r->pr_auc);
  g_free (r->support);
  g_free (r->thresholds);
  g_free (r->precision);
  g_free (r->recall);
  g_free (r->f1);
  g_free (r->tp);
  g_free (r->fp);
  g_free (r->fn);
  g_free (r->confusion);
  g_free (r->confusion_normalised);
  g_free (r->mae);
  g_free (r->rmse);
  g_free (r->pearson);
  g_free (r->ccc);
  g_free (r->baseline_mean);
  g_free (r->baseline_mae);
  g_free (r->baseline_rmse);
  g_ptr_array_unref (r->warnings);
  g_free (r);
}

static void
compute_rank (const AffectMetrics * m, AffectMetricsResult * r)
{
  AffectRankScores *cols = g_new (AffectRankScores, m->k), s;
  double roc_sum = 0.0, pr_sum = 0.0;
  guint c, k = m->k;

  affect_rank_scores_matrix ((const float *) m->scores->data,
      (const uint8_t *) m->truth->data, m->n, k, cols, &s);
  r->roc_auc_defined = 0;
  for (c = 0; c < k; c++) {
    r->support[c] = cols[c].n_positive;
    r->roc_auc[c] = cols[c].roc_auc;
    r->pr_auc[c] = cols[c].average_precision;
    pr_sum += cols[c].average_precision;
    if (isnan (cols[c].roc_auc)) {
      warn (r, "ROC-AUC of '%s' is undefined (%s): left out of the macro "
          "average", m->names[c], cols[c].n_positive ? "no negative item" :
          "no positive item");
    } else {
      roc_sum += cols[c].roc_auc;
      r->roc_auc_defined++;
    }
    if (cols[c].n_positive == 0)
      warn (r, "PR-AUC of '%s' is 0: no positive item", m->names[c]);
  }
  g_free (cols);
  r->roc_auc_macro = r->roc_auc_defined ? roc_sum / r->roc_auc_defined : NAN;
  r->pr_auc_macro = pr_sum / k;
  /* micro: every (item, output) pair is one binary decision */
  r->roc_auc_micro = s.roc_auc;
  r->pr_auc_micro = s.average_precision;
  if (isnan (s.roc_auc))
    warn (r, "micro ROC-AUC is undefined: no %s pair",
        s.n_positive ? "negative" : "positive");
}

/* precision, recall, F1 with scikit-learn's zero_division="warn" (0) */
static void
prf (guint64 tp, guint64 fp, guint64 fn, double *p, double *rc, double *f)
{
  double denom;

  *p = tp + fp ? (double) tp / (double) (tp + fp) : 0.0;
  *rc = tp + fn ? (double) tp / (double) (tp + fn) : 0.0;
  denom = *p + *rc;
  *f = denom == 0.0 ? 0.0 : 2.0 * *p * *rc / denom;
}

static void
compute_decisions (const AffectMetrics * m, AffectMetricsResult * r)
{
  const float *scores = (const float *) m->scores->data;
  const uint8_t *truth = (const uint8_t *) m->truth->data;
  guint64 TP = 0, FP = 0, FN = 0;
  double sp = 0, sr = 0, sf = 0;
  guint64 i;
  guint c, k = m->k, n_labels = 0;
  gboolean *in_macro = g_new0 (gboolean, k);
  float *thr;

  r->decision_rule = m->rule;
  if (m->task == AFFECT_METRICS_TAGS) {
    if (m->rule != AFFECT_DECISION_GIVEN) {
      r->thresholds = g_new (double, k);
      for (c = 0; c < k; c++)
        r->thresholds[c] = m->rule == AFFECT_DECISION_FIXED ?
            m->fixed_threshold : m->thresholds[c];
    }
    /* decision = score > threshold, strictly (calculate_decisions.py),
     * compared in the scores' float32 as numpy compares a float32 array
     * with a scalar: a score of 0.3f is not above a threshold of 0.3 */
    thr = g_new (float, k);
    for (c = 0; c < k && r->thresholds; c++)
      thr[c] = (float) r->thresholds[c];
    for (i = 0; i < m->n; i++)
      for (c = 0; c < k; c++) {
        gboolean d = r->thresholds ? scores[i * k + c] > thr[c] :
            m->decisions[i * k + c] != 0;
        gboolean t = truth[i * k + c];
        r->tp[c] += d && t;
        r->fp[c] += d && !t;
        r->fn[c] += !d && t;
      }
    g_free (thr);
    /* multilabel: scikit-learn averages over every column */
    for (c = 0; c < k; c++)
      in_macro[c] = TRUE;
  } else {
    for (c = 0; c < k; c++) {
      guint j;
      for (j = 0; j < k; j++) {
        guint64 v = m->confusion[(gsize) c * k + j];
        if (j == c)
          r->tp[c] += v;
        else {
          r->fn[c] += v;
          r->fp[j] += v;
        }
      }
    }
    /* multiclass: scikit-learn's default labels are the classes present
     * in the truth or the predictions */
    for (c = 0; c < k; c++)
      in_macro[c] = r->tp[c] + r->fn[c] + r->fp[c] > 0;
  }
  for (c = 0; c < k; c++) {
    prf (r->tp[c], r->fp[c], r->fn[c], &r->precision[c], &r->recall[c],
        &r->f1[c]);
    if (!in_macro[c]) {
      warn (r, "'%s' is neither in the truth nor predicted: left out of the "
          "macro precision/recall/F1 (scikit-learn's default labels)",
          m->names[c]);
      continue;
    }
    n_labels++;
    TP += r->tp[c];
    FP += r->fp[c];
    FN += r->fn[c];
    sp += r->precision[c];
    sr += r->recall[c];
    sf += r->f1[c];
    if (r->tp[c] + r->fp[c] == 0)
      warn (r, "precision of '%s' is ill-defined (nothing predicted): set "
          "to 0", m->names[c]);
    if (r->tp[c] + r->fn[c] == 0)
      warn (r, "recall of '%s' is ill-defined (no positive item): set to 0",
          m->names[c]);
  }
  g_free (in_macro);
  r->macro_labels = n_labels;
  if (n_labels > 0) {
    r->precision_macro = sp / n_labels;
    r->recall_macro = sr / n_labels;
    r->f1_macro = sf / n_labels;
  }
  prf (TP, FP, FN, &r->precision_micro, &r->recall_micro, &r->f1_micro);
  if (TP + FP == 0)
    warn (r, "micro precision is ill-defined (nothing predicted): set to 0");
  if (TP + FN == 0)
    warn (r, "micro recall is ill-defined (no positive): set to 0");
}

static void
compute_class (const AffectMetrics * m, AffectMetricsResult * r)
{
  AffectClassScores cs;
  guint64 correct = 0;
  guint c, j, k = m->k;

  r->confusion = g_memdup2 (m->confusion, sizeof (guint64) * k * k);
  r->confusion_normalised = g_new0 (double, (gsize) k * k);
  for (c = 0; c < k; c++) {
    guint64 row = 0;
    for (j = 0; j < k; j++)
      row += m->confusion[c * k + j];
    correct += m->confusion[c * k + c];
    /* scikit-learn's normalize="true" turns an empty row's 0/0 into 0 */
    for (j = 0; j < k && row > 0; j++)
      r->confusion_normalised[c * k + j] =
          (double) m->confusion[c * k + j] / (double) row;
  }
  r->accuracy = m->n ? (double) correct / (double) m->n : NAN;
  affect_class_scores (m->confusion, k, &cs);
  r->balanced_accuracy = cs.balanced_accuracy;
  r->balanced_labels = cs.recall_labels;
  if (cs.recall_labels < cs.f1_labels)
    warn (r, "balanced accuracy leaves out %u predicted class(es) with no "
        "item in the truth (no recall; scikit-learn's nanmean)",
        cs.f1_labels - cs.recall_labels);

  if (m->baseline_class >= 0) {
    /* every item predicted as the training items' majority class */
    guint64 *base = g_new0 (guint64, (gsize) k * k);
    for (c = 0; c < k; c++)
      for (j = 0; j < k; j++)
        base[c * k + m->baseline_class] += m->confusion[c * k + j];
    affect_class_scores (base, k, &cs);
    g_free (base);
    r->has_baseline = TRUE;
    r->baseline_class = m->baseline_class;
    r->baseline_accuracy = cs.accuracy;
    r->baseline_balanced_accuracy = cs.balanced_accuracy;
    r->baseline_f1_macro = cs.f1_macro;
  }
}

void
affect_class_scores (const guint64 * counts, guint k, AffectClassScores * out)
{
  guint64 correct = 0;
  double recall_sum = 0.0, f1_sum = 0.0;
  guint c, j;

  memset (out, 0, sizeof *out);
  for (c = 0; c < k; c++) {
    guint64 row = 0, col = 0, tp = counts[(gsize) c * k + c];
    for (j = 0; j < k; j++) {
      row += counts[(gsize) c * k + j];
      col += counts[(gsize) j * k + c];
    }
    out->n += row;
    correct += tp;
    if (row > 0) {
      recall_sum += (double) tp / (double) row;
      out->recall_labels++;
    }
    if (row > 0 || col > 0) {
      double p = col ? (double) tp / (double) col : 0.0;
      double r = row ? (double) tp / (double) row : 0.0;
      f1_sum += p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
      out->f1_labels++;
    }
  }
  out->accuracy = out->n ? (double) correct / (double) out->n : NAN;
  out->balanced_accuracy = out->recall_labels ?
      recall_sum / out->recall_labels : NAN;
  out->f1_macro = out->f1_labels ? f1_sum / out->f1_labels : NAN;
}

static void
compute_regression (const AffectMetrics * m, AffectMetricsResult * r)
{
  double sum = 0;
  guint c;

  for (c = 0; c < m->k; c++) {
    const RegressionAccumulator *a = &m->reg[c];
    double n = (double) a->n, vt, vp, dm;

    r->mae[c] = a->sum_abs / n;
    r->rmse[c] = sqrt (a->sum_sq / n);
    sum += r->mae[c];
    if (a->m2_t > 0.0 && a->m2_p > 0.0) {
      r->pearson[c] = a->c_tp / sqrt (a->m2_t * a->m2_p);
    } else {
      r->pearson[c] = NAN;
      warn (r, "Pearson r of '%s' is undefined: the %s is constant",
          m->names[c], a->m2_t > 0.0 ? "prediction" : "target");
    }
    /* Lin's concordance correlation with population (1/n) moments */
    vt = a->m2_t / n;
    vp = a->m2_p / n;
    dm = a->mean_t - a->mean_p;
    if (vt + vp + dm * dm > 0.0) {
      r->ccc[c] = 2.0 * (a->c_tp / n) / (vt + vp + dm * dm);
    } else {
      r->ccc[c] = NAN;
      warn (r, "CCC of '%s' is undefined: target and prediction are the "
          "same constant", m->names[c]);
    }
  }
  r->mae_mean = sum / m->k;

  if (m->baseline_mean) {
    r->has_baseline = TRUE;
    r->baseline_mean = g_memdup2 (m->baseline_mean, m->k * sizeof (double));
    r->baseline_mae = g_new (double, m->k);
    r->baseline_rmse = g_new (double, m->k);
    sum = 0;
    for (c = 0; c < m->k; c++) {
      r->baseline_mae[c] = m->reg[c].base_abs / (double) m->reg[c].n;
      r->baseline_rmse[c] = sqrt (m->reg[c].base_sq / (double) m->reg[c].n);
      sum += r->baseline_mae[c];
    }
    r->baseline_mae_mean = sum / m->k;
  }
}

AffectMetricsResult *
affect_metrics_compute (const AffectMetrics * m, GError ** error)
{
  AffectMetricsResult *r;

  if (m->n == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "no items to evaluate");
    return NULL;
  }
  if (m->rule == AFFECT_DECISION_GIVEN && m->n_decisions != m->n) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "decisions were given for %" G_GUINT64_FORMAT " items, not %"
        G_GUINT64_FORMAT, m->n_decisions, m->n);
    return NULL;
  }
  if (m->task == AFFECT_METRICS_TAGS && (m->rule == AFFECT_DECISION_FITTED
          || m->rule == AFFECT_DECISION_THRESHOLDS) && m->thresholds == NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "the decision rule '%s' has no thresholds yet",
        affect_decision_rule_to_string (m->rule));
    return NULL;
  }
  r = result_new (m);
  switch (m->task) {
    case AFFECT_METRICS_TAGS:
      compute_rank (m, r);
      compute_decisions (m, r);
      break;
    case AFFECT_METRICS_CLASS:
      compute_rank (m, r);
      compute_decisions (m, r);
      compute_class (m, r);
      break;
    case AFFECT_METRICS_REGRESSION:
      compute_regression (m, r);
      break;
  }
  return r;
}

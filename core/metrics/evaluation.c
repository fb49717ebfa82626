/* An evaluation: the split / route bookkeeping around evaluators that both
 * affectmetrics and affect-metrics need, and the report of docs/metrics.md. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "affect/metrics.h"
#include "metrics-private.h"

#define N_ROUTES 2              /* affectgate: 0 spontaneous, 1 scripted */

struct _AffectEvaluation
{
  AffectMetricsTask task;
  guint k;
  gchar **names;
  gchar *split, *fit_split;
  AffectDecisionRule rule;
  double threshold;
  double *thresholds;
  AffectMetrics *all;           /* every evaluated item */
  AffectMetrics *fit;           /* items of fit_split (FITTED) */
  AffectMetrics *routes[N_ROUTES];
  gint baseline_class;
  double *baseline_mean;
  AffectMetrics *gate;          /* route against the spontaneity label */
};

/* the gate's classes, in route order */
static const char *const gate_names[N_ROUTES] = { "spontaneous", "scripted" };

AffectEvaluation *
affect_evaluation_new (AffectMetricsTask task, guint n_outputs,
    const char *const *names, const char *split, const char *fit_split)
{
  AffectEvaluation *ev = g_new0 (AffectEvaluation, 1);

  ev->task = task;
  ev->k = n_outputs;
  ev->all = affect_metrics_new (task, n_outputs, names);
  ev->names = g_strdupv ((gchar **) affect_metrics_get_names (ev->all));
  ev->split = g_strdup (split);
  ev->fit_split = g_strdup (fit_split);
  ev->rule = task == AFFECT_METRICS_CLASS ? AFFECT_DECISION_ARGMAX :
      AFFECT_DECISION_FIXED;
  ev->threshold = 0.5;
  ev->baseline_class = -1;
  return ev;
}

void
affect_evaluation_free (AffectEvaluation * ev)
{
  guint i;

  if (ev == NULL)
    return;
  g_strfreev (ev->names);
  g_free (ev->split);
  g_free (ev->fit_split);
  g_free (ev->thresholds);
  affect_metrics_free (ev->all);
  affect_metrics_free (ev->fit);
  for (i = 0; i < N_ROUTES; i++)
    affect_metrics_free (ev->routes[i]);
  affect_metrics_free (ev->gate);
  g_free (ev->baseline_mean);
  g_free (ev);
}

void
affect_evaluation_set_rule (AffectEvaluation * ev, AffectDecisionRule rule,
    double threshold, const double *thresholds)
{
  if (ev->task != AFFECT_METRICS_TAGS)
    return;
  ev->rule = rule;
  ev->threshold = threshold;
  g_free (ev->thresholds);
  ev->thresholds = thresholds ? g_memdup2 (thresholds,
      ev->k * sizeof (double)) : NULL;
}

gboolean
affect_evaluation_set_decisions (AffectEvaluation * ev,
    const uint8_t * decisions, guint64 n_items, GError ** error)
{
  if (!affect_metrics_set_decisions (ev->all, decisions, n_items, error))
    return FALSE;
  ev->rule = AFFECT_DECISION_GIVEN;
  return TRUE;
}

/* whether an item of `split` is evaluated (not only fitting thresholds) */
static gboolean
is_evaluated (const AffectEvaluation * ev, const char *split)
{
  gboolean fitting = ev->task == AFFECT_METRICS_TAGS &&
      ev->rule == AFFECT_DECISION_FITTED && ev->fit_split != NULL &&
      g_strcmp0 (split, ev->fit_split) == 0;

  if (fitting && g_strcmp0 (ev->split, split) != 0)
    return FALSE;
  return ev->split == NULL || g_strcmp0 (split, ev->split) == 0;
}

void
affect_evaluation_set_baseline_class (AffectEvaluation * ev, gint cls)
{
  guint i;

  ev->baseline_class = cls;
  affect_metrics_set_baseline_class (ev->all, cls);
  for (i = 0; i < N_ROUTES; i++)
    if (ev->routes[i])
      affect_metrics_set_baseline_class (ev->routes[i], cls);
}

gboolean
affect_evaluation_set_baseline_mean (AffectEvaluation * ev,
    const double *mean, GError ** error)
{
  guint i;

  if (ev->task != AFFECT_METRICS_REGRESSION)
    return TRUE;
  if (!affect_metrics_set_baseline_mean (ev->all, mean, error))
    return FALSE;
  for (i = 0; i < N_ROUTES; i++)
    if (ev->routes[i] &&
        !affect_metrics_set_baseline_mean (ev->routes[i], mean, error))
      return FALSE;
  g_free (ev->baseline_mean);
  ev->baseline_mean = mean ? g_memdup2 (mean, ev->k * sizeof (double)) : NULL;
  return TRUE;
}

gboolean
affect_evaluation_add_gate (AffectEvaluation * ev, const char *split,
    int route, gboolean spontaneous, GError ** error)
{
  /* the route is the prediction: one-hot scores make argmax the route */
  float scores[N_ROUTES] = { 0 }, truth[N_ROUTES] = { 0 };

  if (route < 0 || route >= N_ROUTES) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "route %d is not 0 (spontaneous) or 1 (scripted)", route);
    return FALSE;
  }
  if (!is_evaluated (ev, split))
    return TRUE;
  if (ev->gate == NULL)
    ev->gate = affect_metrics_new (AFFECT_METRICS_CLASS, N_ROUTES, gate_names);
  scores[route] = 1.0f;
  truth[spontaneous ? 0 : 1] = 1.0f;
  return affect_metrics_add (ev->gate, scores, truth, error);
}

guint64
affect_evaluation_n_gate (const AffectEvaluation * ev)
{
  return ev->gate ? affect_metrics_get_n_items (ev->gate) : 0;
}

AffectMetricsResult *
affect_evaluation_gate_result (AffectEvaluation * ev)
{
  return ev->gate ? affect_metrics_compute (ev->gate, NULL) : NULL;
}

gboolean
affect_evaluation_add (AffectEvaluation * ev, const char *split, int route,
    const float *scores, const float *truth, GError ** error)
{
  gboolean fitting = ev->task == AFFECT_METRICS_TAGS &&
      ev->rule == AFFECT_DECISION_FITTED && ev->fit_split != NULL &&
      g_strcmp0 (split, ev->fit_split) == 0;

  if (fitting) {
    if (ev->fit == NULL)
      ev->fit = affect_metrics_new (ev->task, ev->k,
          (const char *const *) ev->names);
    if (!affect_metrics_add (ev->fit, scores, truth, error))
      return FALSE;
    /* the threshold split is evaluated too only when asked for by name */
    if (g_strcmp0 (ev->split, split) != 0)
      return TRUE;
  }
  if (ev->split != NULL && g_strcmp0 (split, ev->split) != 0)
    return TRUE;
  if (!affect_metrics_add (ev->all, scores, truth, error))
    return FALSE;
  if (route >= 0 && route < N_ROUTES) {
    if (ev->routes[route] == NULL) {
      ev->routes[route] = affect_metrics_new (ev->task, ev->k,
          (const char *const *) ev->names);
      affect_metrics_set_baseline_class (ev->routes[route], ev->baseline_class);
      affect_metrics_set_baseline_mean (ev->routes[route], ev->baseline_mean,
          NULL);
    }
    return affect_metrics_add (ev->routes[route], scores, truth, error);
  }
  return TRUE;
}

guint64
affect_evaluation_n_evaluated (const AffectEvaluation * ev)
{
  return affect_metrics_get_n_items (ev->all);
}

AffectMetrics *
affect_evaluation_get_metrics (AffectEvaluation * ev)
{
  return ev->all;
}

/* Installs the decision rule on one evaluator; fitted thresholds come from
 * the threshold split, or from the evaluated items when that split is empty
 * (what the MediaEval 2019 baseline did on its test set). */
static void
apply_rule (AffectEvaluation * ev, AffectMetrics * m, const double *fitted)
{
  switch (ev->rule) {
    case AFFECT_DECISION_FITTED:
      affect_metrics_use_thresholds (m, fitted, AFFECT_DECISION_FITTED);
      break;
    case AFFECT_DECISION_THRESHOLDS:
      affect_metrics_set_thresholds (m, ev->thresholds);
      break;
    case AFFECT_DECISION_FIXED:
      affect_metrics_set_fixed_threshold (m, ev->threshold);
      break;
    default:
      break;
  }
}

JsonNode *
affect_evaluation_report (AffectEvaluation * ev, gboolean final,
    AffectMetricsResult ** result, GError ** error)
{
  JsonBuilder *b;
  JsonNode *node;
  AffectMetricsResult *r, *rg;
  double *fitted = NULL;
  const char *fitted_on = NULL;
  guint i;

  if (ev->task == AFFECT_METRICS_TAGS && ev->rule == AFFECT_DECISION_FITTED) {
    AffectMetrics *src = ev->fit ? ev->fit : ev->all;

    fitted = affect_metrics_fit_threshold_values (src, error);
    if (fitted == NULL)
      return NULL;
    fitted_on = ev->fit ? ev->fit_split : "evaluated items";
  }
  apply_rule (ev, ev->all, fitted);
  r = affect_metrics_compute (ev->all, error);
  if (r == NULL) {
    g_free (fitted);
    return NULL;
  }

  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "affect-metrics/1");
  json_builder_set_member_name (b, "final");
  json_builder_add_boolean_value (b, final);
  json_builder_set_member_name (b, "split");
  if (ev->split)
    json_builder_add_string_value (b, ev->split);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "thresholds_fitted_on");
  if (fitted_on)
    json_builder_add_string_value (b, fitted_on);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "threshold_items");
  json_builder_add_int_value (b, ev->fit ?
      (gint64) affect_metrics_get_n_items (ev->fit) : 0);
  json_builder_set_member_name (b, "overall");
  json_builder_add_value (b, affect_metrics_result_to_json (r));
  json_builder_set_member_name (b, "routes");
  json_builder_begin_array (b);
  for (i = 0; i < N_ROUTES; i++) {
    AffectMetricsResult *rr;
    if (ev->routes[i] == NULL)
      continue;
    apply_rule (ev, ev->routes[i], fitted);
    rr = affect_metrics_compute (ev->routes[i], NULL);
    if (rr == NULL)
      continue;
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "route");
    json_builder_add_int_value (b, i);
    json_builder_set_member_name (b, "result");
    json_builder_add_value (b, affect_metrics_result_to_json (rr));
    json_builder_end_object (b);
    affect_metrics_result_free (rr);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "gate");
  rg = ev->gate ? affect_metrics_compute (ev->gate, NULL) : NULL;
  if (rg)
    json_builder_add_value (b, affect_metrics_class_result_to_json (rg));
  else
    json_builder_add_null_value (b);
  affect_metrics_result_free (rg);
  json_builder_end_object (b);
  node = json_builder_get_root (b);
  g_object_unref (b);
  g_free (fitted);
  if (result)
    *result = r;
  else
    affect_metrics_result_free (r);
  return node;
}

gboolean
affect_metrics_report_write (JsonNode * report, const char *path,
    GError ** error)
{
  JsonGenerator *gen = json_generator_new ();
  gchar *text;
  gboolean ok;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, report);
  text = json_generator_to_data (gen, NULL);
  g_object_unref (gen);
  ok = affect_file_set_contents_atomic (path, text, strlen (text), error);
  g_free (text);
  return ok;
}

/* core/metrics: small cases worked by hand (and checked against
 * scikit-learn 1.2), degenerate classes, per-item tables, reports. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/metrics.h"

#define assert_close(a, b) g_assert_cmpfloat_with_epsilon ((a), (b), 1e-12)

static void
test_rank_basic (void)
{
  /* scikit-learn's docstring example: AP 0.8333…, ROC-AUC 0.75 */
  const float s[] = { 0.1f, 0.4f, 0.35f, 0.8f };
  const uint8_t t[] = { 0, 0, 1, 1 };
  AffectRankScores r;

  affect_rank_scores (s, 1, t, 1, 4, &r);
  assert_close (r.roc_auc, 0.75);
  assert_close (r.average_precision, 5.0 / 6.0);
  g_assert_cmpuint (r.n_positive, ==, 2);
  g_assert_cmpuint (r.n_negative, ==, 2);
}

static void
test_rank_ties (void)
{
  /* all scores tied: one threshold; ROC 0.5, AP = prevalence */
  const float s[] = { 0.5f, 0.5f, 0.5f, 0.5f, 0.5f };
  const uint8_t t[] = { 0, 1, 0, 1, 0 };
  /* partial ties: sklearn gives ROC 0.6666…, AP 0.7083… */
  const float s2[] = { 0.9f, 0.9f, 0.3f, 0.3f, 0.1f, -0.0f, 0.0f };
  const uint8_t t2[] = { 1, 0, 1, 0, 1, 0, 1 };
  AffectRankScores r;

  affect_rank_scores (s, 1, t, 1, 5, &r);
  assert_close (r.roc_auc, 0.5);
  assert_close (r.average_precision, 0.4);
  affect_rank_scores (s2, 1, t2, 1, 7, &r);
  /* pairs (pos > neg) + 0.5 ties over 4 × 3:
   * 0.9: beats 0.3n, -0n → 2, ties 0.9n → .5
   * 0.3: beats -0n → 1, ties 0.3n → .5
   * 0.1: beats -0n → 1;  0.0: ties -0n → .5  (−0 and +0 are one score) */
  assert_close (r.roc_auc, (2.5 + 1.5 + 1 + 0.5) / 12.0);
  /* AP: thresholds 0.9 (tp1 fp1, R .25 P .5), 0.3 (tp2 fp2, P .5),
   * 0.1 (tp3 fp2, P .6), 0 (tp4 fp3, P 4/7) */
  assert_close (r.average_precision,
      0.25 * 0.5 + 0.25 * 0.5 + 0.25 * 0.6 + 0.25 * 4.0 / 7.0);
}

static void
test_rank_degenerate (void)
{
  const float s[] = { 0.2f, 0.7f, 0.1f };
  const uint8_t none[] = { 0, 0, 0 }, all[] = { 1, 1, 1 };
  AffectRankScores r;

  affect_rank_scores (s, 1, none, 1, 3, &r);
  g_assert_true (isnan (r.roc_auc));
  g_assert_cmpfloat (r.average_precision, ==, 0.0);
  affect_rank_scores (s, 1, all, 1, 3, &r);
  g_assert_true (isnan (r.roc_auc));
  assert_close (r.average_precision, 1.0);
}

static void
test_threshold (void)
{
  /* PR points (descending): 0.9 P1 R1/3 F.5; 0.8 P.5 R1/3 F.4;
   * 0.6 P2/3 R2/3 F2/3; 0.4 P.75 R1 F6/7 ← max; 0.2 P.6 R1 F.75 */
  const float s[] = { 0.9f, 0.8f, 0.6f, 0.4f, 0.2f };
  const uint8_t t[] = { 1, 0, 1, 1, 0 };
  const uint8_t none[] = { 0, 0, 0, 0, 0 };
  /* two F maxima (P .5 R 1 at 0.5 and at 0.3? no: built so that F ties
   * exactly): the lower threshold wins, as np.argmax over ascending order */
  const float s3[] = { 0.9f, 0.5f, 0.3f, 0.1f };
  const uint8_t t3[] = { 1, 0, 0, 1 };

  g_assert_cmpfloat (affect_fit_threshold (s, 1, t, 1, 5), ==, 0.4f);
  /* no positive: F is 0 everywhere, argmax is the lowest score */
  g_assert_cmpfloat (affect_fit_threshold (s, 1, none, 1, 5), ==, 0.2f);
  /* 0.9: P1 R.5 F2/3; 0.5: P.5 R.5 F.5; 0.3: P1/3 R.5 F.4; 0.1: P.5 R1 F2/3
   * → tie between 0.9 and 0.1 → 0.1 */
  g_assert_cmpfloat (affect_fit_threshold (s3, 1, t3, 1, 4), ==, 0.1f);
}

static void
test_tags_evaluator (void)
{
  const char *names[] = { "a", "b", "c" };
  /* 4 items × 3 tags; tag c never positive */
  const float scores[4][3] = {
    {0.9f, 0.2f, 0.7f}, {0.6f, 0.8f, 0.1f}, {0.3f, 0.4f, 0.2f},
    {0.1f, 0.9f, 0.3f}
  };
  const float truth[4][3] = {
    {1, 0, 0}, {1, 1, 0}, {0, 0, 0}, {0, 1, 0}
  };
  AffectMetrics *m = affect_metrics_new (AFFECT_METRICS_TAGS, 3, names);
  AffectMetricsResult *r;
  GError *error = NULL;
  const float bad[3] = { NAN, 0, 0 };
  guint i;

  for (i = 0; i < 4; i++)
    g_assert_true (affect_metrics_add (m, scores[i], truth[i], NULL));
  g_assert_false (affect_metrics_add (m, bad, truth[0], &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT);
  g_clear_error (&error);
  affect_metrics_set_fixed_threshold (m, 0.5);
  r = affect_metrics_compute (m, &error);
  g_assert_no_error (error);
  /* a and b are perfectly ranked; c has no positive */
  assert_close (r->roc_auc[0], 1.0);
  assert_close (r->roc_auc[1], 1.0);
  g_assert_true (isnan (r->roc_auc[2]));
  g_assert_cmpuint (r->roc_auc_defined, ==, 2);
  assert_close (r->roc_auc_macro, 1.0);
  assert_close (r->pr_auc_macro, 2.0 / 3.0);
  g_assert_cmpfloat (r->pr_auc[2], ==, 0.0);
  /* decisions > 0.5: a {1,1,0,0} b {0,1,0,1} c {1,0,0,0} */
  g_assert_cmpuint (r->tp[0], ==, 2);
  g_assert_cmpuint (r->fp[2], ==, 1);
  assert_close (r->precision[2], 0.0);
  assert_close (r->recall[2], 0.0);     /* ill-defined → 0 with a warning */
  assert_close (r->f1_macro, 2.0 / 3.0);
  assert_close (r->precision_micro, 4.0 / 5.0);
  assert_close (r->recall_micro, 1.0);
  g_assert_cmpuint (r->warnings->len, >=, 2);
  affect_metrics_result_free (r);

  /* MediaEval's rule: the threshold is the lowest positive's score, and the
   * strict decision score > threshold then drops that very item */
  g_assert_true (affect_metrics_fit_thresholds (m, m, NULL));
  r = affect_metrics_compute (m, NULL);
  g_assert_cmpint (r->decision_rule, ==, AFFECT_DECISION_FITTED);
  g_assert_cmpfloat (r->thresholds[0], ==, 0.6f);
  g_assert_cmpfloat (r->thresholds[1], ==, 0.8f);
  g_assert_cmpuint (r->tp[0], ==, 1);
  g_assert_cmpuint (r->fn[0], ==, 1);
  assert_close (r->f1[0], 2.0 / 3.0);
  assert_close (r->f1[1], 2.0 / 3.0);
  affect_metrics_result_free (r);
  affect_metrics_free (m);
}

static void
test_class_evaluator (void)
{
  const char *q[] = { "Q1", "Q2", "Q3", "Q4" };
  /* true, predicted: (0,0) (0,1) (1,1) (2,2) (2,1) ; Q4 absent */
  const int truth_cls[] = { 0, 0, 1, 2, 2 };
  const int pred_cls[] = { 0, 1, 1, 2, 1 };
  AffectMetrics *m = affect_metrics_new (AFFECT_METRICS_CLASS, 4, q);
  AffectMetricsResult *r;
  float s[4], t[4];
  guint i, c;

  for (i = 0; i < 5; i++) {
    for (c = 0; c < 4; c++) {
      t[c] = truth_cls[i] == (int) c;
      s[c] = pred_cls[i] == (int) c ? 0.7f : 0.1f;
    }
    g_assert_true (affect_metrics_add (m, s, t, NULL));
  }
  t[0] = t[1] = 1;
  g_assert_false (affect_metrics_add (m, s, t, NULL));
  r = affect_metrics_compute (m, NULL);
  assert_close (r->accuracy, 3.0 / 5.0);
  g_assert_cmpuint (r->confusion[0 * 4 + 1], ==, 1);
  g_assert_cmpuint (r->confusion[2 * 4 + 1], ==, 1);
  assert_close (r->confusion_normalised[0], 0.5);
  assert_close (r->confusion_normalised[3 * 4 + 3], 0.0);
  /* Q4 is neither true nor predicted: out of the macro (3 labels).
   * P: Q1 1, Q2 1/3, Q3 1 ; R: Q1 .5, Q2 1, Q3 .5 */
  g_assert_cmpuint (r->macro_labels, ==, 3);
  assert_close (r->precision_macro, (1 + 1.0 / 3 + 1) / 3);
  assert_close (r->recall_macro, (0.5 + 1 + 0.5) / 3);
  assert_close (r->f1_macro, (2.0 / 3 + 0.5 + 2.0 / 3) / 3);
  assert_close (r->f1_micro, 0.6);
  affect_metrics_result_free (r);
  affect_metrics_free (m);
}

static void
test_regression (void)
{
  const char *names[] = { "valence" };
  const float t[] = { 1, 2, 3, 4 }, p[] = { 1.5f, 2, 2, 5 };
  AffectMetrics *a = affect_metrics_new (AFFECT_METRICS_REGRESSION, 1, names);
  AffectMetrics *b = affect_metrics_new (AFFECT_METRICS_REGRESSION, 1, names);
  AffectMetricsResult *r;
  guint i;

  /* two shards merged equal one stream */
  for (i = 0; i < 4; i++)
    g_assert_true (affect_metrics_add (i < 2 ? a : b, &p[i], &t[i], NULL));
  g_assert_true (affect_metrics_merge (a, b, NULL));
  r = affect_metrics_compute (a, NULL);
  assert_close (r->mae[0], (0.5 + 0 + 1 + 1) / 4);
  assert_close (r->rmse[0], sqrt ((0.25 + 0 + 1 + 1) / 4));
  /* t mean 2.5 var 1.25; p mean 2.625 var (1.265625+.390625+.390625
   * +5.640625)/4 = 1.921875; cov (−1.5·−1.125 + −.5·−.625 + .5·−.625
   * + 1.5·2.375)/4 = 1.3125 */
  assert_close (r->pearson[0], 1.3125 / sqrt (1.25 * 1.921875));
  assert_close (r->ccc[0], 2 * 1.3125 / (1.25 + 1.921875 + 0.015625));
  affect_metrics_result_free (r);
  affect_metrics_free (a);
  affect_metrics_free (b);
}

static void
test_item_table (void)
{
  const char *names[] = { "x,y", "z" };
  AffectItemTable *t = affect_item_table_new (AFFECT_METRICS_TAGS, 2, names);
  AffectItemTable *u = affect_item_table_new (AFFECT_METRICS_TAGS, 0, NULL);
  const float tr[] = { 1, 0 }, sc[] = { 0.1f, 1e-7f };
  const float sc2[] = { 0.3333333f, 0.25f };
  gchar *path = g_build_filename (g_get_tmp_dir (), "affect-items-XXXXXX",
      NULL);
  GError *error = NULL;
  int fd = g_mkstemp (path);

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  affect_item_table_append (t, 1, "b \"q\"", "test", 1, tr, sc2);
  affect_item_table_append (t, 2, "a", "", -1, tr, sc);
  g_assert_true (affect_item_table_write_csv (t, path, NULL));
  g_assert_true (affect_item_table_read_csv (u, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (affect_item_table_n_items (u), ==, 2);
  g_assert_cmpstr (u->names[0], ==, "x,y");
  affect_item_table_sort (u);
  /* "a" sorts before "b …" though its index is higher */
  g_assert_cmpuint (g_array_index (u->index, guint64, 0), ==, 2);
  g_assert_cmpstr (g_ptr_array_index (u->id, 1), ==, "b \"q\"");
  g_assert_cmpint (g_array_index (u->route, gint, 1), ==, 1);
  /* float32 scores round-trip exactly */
  g_assert_cmpfloat (g_array_index (u->scores, float, 1), ==, 1e-7f);
  g_assert_cmpfloat (g_array_index (u->scores, float, 2), ==, 0.3333333f);
  affect_item_table_free (u);
  /* a table of other outputs does not merge */
  u = affect_item_table_new (AFFECT_METRICS_TAGS, 1, names + 1);
  affect_item_table_append (u, 0, "c", "", -1, tr, sc);
  g_assert_false (affect_item_table_read_csv (u, path, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH);
  g_clear_error (&error);
  g_unlink (path);
  g_free (path);
  /* written atomically; a folder that does not exist is named with the
   * destination, not a temporary name */
  g_assert_false (affect_item_table_write_csv (t,
          "/nonexistent-affect-dir/items.csv", &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message,
          "/nonexistent-affect-dir/items.csv:"));
  g_clear_error (&error);
  affect_item_table_free (u);
  affect_item_table_free (t);
}

static void
test_evaluation_report (void)
{
  const char *names[] = { "a", "b" };
  AffectEvaluation *ev = affect_evaluation_new (AFFECT_METRICS_TAGS, 2,
      names, "test", "validation");
  AffectMetricsResult *r = NULL;
  JsonNode *node;
  JsonObject *o;
  float s[2], t[2];
  guint i;

  affect_evaluation_set_rule (ev, AFFECT_DECISION_FITTED, 0, NULL);
  for (i = 0; i < 40; i++) {
    t[0] = i % 2;
    t[1] = i % 3 == 0;
    s[0] = (float) ((i * 7) % 11) / 10.0f;
    s[1] = (float) ((i * 5) % 13) / 12.0f;
    g_assert_true (affect_evaluation_add (ev, i < 20 ? "validation" : "test",
            i % 4 == 0 ? 0 : 1, s, t, NULL));
  }
  g_assert_cmpuint (affect_evaluation_n_evaluated (ev), ==, 20);
  node = affect_evaluation_report (ev, TRUE, &r, NULL);
  g_assert_nonnull (node);
  o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "thresholds_fitted_on"),
      ==, "validation");
  g_assert_cmpint (json_object_get_int_member (o, "threshold_items"), ==, 20);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o,
              "routes")), ==, 2);
  g_assert_cmpint (r->decision_rule, ==, AFFECT_DECISION_FITTED);
  g_assert_true (isfinite (json_object_get_double_member
          (json_object_get_object_member (json_object_get_object_member (o,
                      "overall"), "micro"), "roc_auc")));
  json_node_unref (node);
  affect_metrics_result_free (r);
  affect_evaluation_free (ev);
}

static void
test_class_scores (void)
{
  /* truth rows, prediction columns; class 2 only predicted, class 3 in
   * neither: recalls 2/3, 1/2 over the 2 classes in the truth; F1 over
   * the 3 in either: 2·(2/3·2/3)/(4/3) = 2/3, 2·(1/2·1)/(3/2) = 2/3, 0 */
  const guint64 counts[16] = {
    2, 0, 1, 0,
    1, 1, 0, 0,
    0, 0, 0, 0,
    0, 0, 0, 0,
  };
  AffectClassScores cs;

  affect_class_scores (counts, 4, &cs);
  g_assert_cmpuint (cs.n, ==, 5);
  assert_close (cs.accuracy, 3.0 / 5);
  assert_close (cs.balanced_accuracy, (2.0 / 3 + 1.0 / 2) / 2);
  g_assert_cmpuint (cs.recall_labels, ==, 2);
  g_assert_cmpuint (cs.f1_labels, ==, 3);
  assert_close (cs.f1_macro, (2.0 / 3 + 2.0 / 3 + 0) / 3);
}

/* the training-mean baseline: constant predictions of a mean fixed before
 * the first item, merged shards included */
static void
test_regression_baseline (void)
{
  const char *names[] = { "valence" };
  const float t[] = { 1, 2, 3, 4 }, p[] = { 1.5f, 2, 2, 5 };
  const double mean = 2.0;
  AffectMetrics *a = affect_metrics_new (AFFECT_METRICS_REGRESSION, 1, names);
  AffectMetrics *b = affect_metrics_new (AFFECT_METRICS_REGRESSION, 1, names);
  AffectMetricsResult *r;
  GError *error = NULL;
  guint i;

  g_assert_true (affect_metrics_set_baseline_mean (a, &mean, NULL));
  g_assert_true (affect_metrics_set_baseline_mean (b, &mean, NULL));
  for (i = 0; i < 4; i++)
    g_assert_true (affect_metrics_add (i < 2 ? a : b, &p[i], &t[i], NULL));
  /* too late: the errors are summed as the items come */
  g_assert_false (affect_metrics_set_baseline_mean (a, &mean, &error));
  g_clear_error (&error);
  g_assert_true (affect_metrics_merge (a, b, NULL));
  r = affect_metrics_compute (a, NULL);
  g_assert_true (r->has_baseline);
  assert_close (r->baseline_mae[0], (1 + 0 + 1 + 2) / 4.0);
  assert_close (r->baseline_rmse[0], sqrt ((1 + 0 + 1 + 4) / 4.0));
  assert_close (r->baseline_mae_mean, 1.0);
  affect_metrics_result_free (r);
  affect_metrics_free (a);
  affect_metrics_free (b);
}

/* the gate in an evaluation: split filter, invalid routes, the report's
 * gate member and the table's gate rows */
static void
test_gate (void)
{
  const char *names[] = { "valence" };
  const float v = 0.5f;
  AffectEvaluation *ev = affect_evaluation_new (AFFECT_METRICS_REGRESSION, 1,
      names, "test", NULL);
  AffectMetricsResult *g;
  JsonNode *report;
  JsonObject *gate;
  GError *error = NULL;
  gchar *csv, *md;

  g_assert_true (affect_evaluation_add (ev, "test", 0, &v, &v, NULL));
  g_assert_true (affect_evaluation_add_gate (ev, "test", 0, TRUE, NULL));
  g_assert_true (affect_evaluation_add_gate (ev, "test", 0, FALSE, NULL));
  g_assert_true (affect_evaluation_add_gate (ev, "test", 1, FALSE, NULL));
  /* another split is not scored */
  g_assert_true (affect_evaluation_add_gate (ev, "train", 1, TRUE, NULL));
  g_assert_false (affect_evaluation_add_gate (ev, "test", 2, TRUE, &error));
  g_clear_error (&error);
  g_assert_cmpuint (affect_evaluation_n_gate (ev), ==, 3);
  g = affect_evaluation_gate_result (ev);
  assert_close (g->accuracy, 2.0 / 3);
  /* only spontaneous 1/1 and scripted 1/2 recalled */
  assert_close (g->balanced_accuracy, 0.75);
  affect_metrics_result_free (g);

  report = affect_evaluation_report (ev, TRUE, NULL, NULL);
  gate = json_object_get_object_member (json_node_get_object (report), "gate");
  g_assert_cmpint (json_object_get_int_member (gate, "n_items"), ==, 3);
  g_assert_false (json_object_has_member (json_object_get_object_member
          (gate, "macro"), "roc_auc"));
  csv = affect_metrics_report_table (report, FALSE);
  g_assert_nonnull (strstr (csv, "gate,gate,accuracy,0.66666666666666663\n"));
  g_assert_nonnull (strstr (csv,
          "gate-confusion,counts,scripted/spontaneous,1\n"));
  md = affect_metrics_report_table (report, TRUE);
  g_assert_nonnull (strstr (md, "| gate | 3 | 0.6667 | 0.7500 |"));
  g_free (csv);
  g_free (md);
  json_node_unref (report);
  affect_evaluation_free (ev);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/rank/basic", test_rank_basic);
  g_test_add_func ("/metrics/rank/ties", test_rank_ties);
  g_test_add_func ("/metrics/rank/degenerate", test_rank_degenerate);
  g_test_add_func ("/metrics/threshold", test_threshold);
  g_test_add_func ("/metrics/tags", test_tags_evaluator);
  g_test_add_func ("/metrics/class", test_class_evaluator);
  g_test_add_func ("/metrics/regression", test_regression);
  g_test_add_func ("/metrics/item-table", test_item_table);
  g_test_add_func ("/metrics/evaluation", test_evaluation_report);
  g_test_add_func ("/metrics/class-scores", test_class_scores);
  g_test_add_func ("/metrics/regression-baseline", test_regression_baseline);
  g_test_add_func ("/metrics/gate", test_gate);
  return g_test_run ();
}

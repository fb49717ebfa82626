/* core/metrics internals shared by its files (not installed) */
#ifndef AFFECT_METRICS_PRIVATE_H
#define AFFECT_METRICS_PRIVATE_H

#include "affect/metrics.h"

G_BEGIN_DECLS

/* One column's keys, positives and negatives each sorted ascending. */
typedef struct
{
  uint32_t *buf;                /* 2 × capacity: keys, then radix scratch */
  gsize capacity;
  const uint32_t *pos, *neg;
  gsize n_pos, n_neg;
} AffectRankSorted;

typedef struct
{
  const AffectRankSorted *rs;
  gsize ip, in;
  uint64_t tp, fp;              /* cumulative, down to the current score */
} AffectRankSweep;

void affect_rank_sorted_init (AffectRankSorted * rs);
void affect_rank_sorted_clear (AffectRankSorted * rs);
void affect_rank_sorted_build (AffectRankSorted * rs, const float *scores,
    gsize score_stride, const uint8_t * truth, gsize truth_stride, gsize n);
void affect_rank_sorted_scores (const AffectRankSorted * rs,
    AffectRankScores * out);
double affect_rank_sorted_threshold (const AffectRankSorted * rs);
void affect_rank_sweep_init (AffectRankSweep * sw, const AffectRankSorted * rs);
gboolean affect_rank_sweep_next (AffectRankSweep * sw, uint32_t * key,
    uint64_t * dpos, uint64_t * dneg);
float affect_metrics_key_to_float (uint32_t k);
/* thresholds installed under a given rule name (FITTED or THRESHOLDS) */
void affect_metrics_use_thresholds (AffectMetrics * m,
    const double *thresholds, AffectDecisionRule rule);

/* a single-label result without its rank metrics (the gate's report) */
struct _JsonNode *affect_metrics_class_result_to_json (const
    AffectMetricsResult * r);

G_END_DECLS
#endif

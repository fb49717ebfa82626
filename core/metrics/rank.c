/* Rank metrics on one score column: ROC-AUC, average precision (step-wise,
 * scikit-learn 1.2's average_precision_score), the MediaEval F-maximising
 * threshold and curve points.
 *
 * The scores of positives and of negatives are turned into order-preserving
 * 32-bit keys and radix-sorted separately; one sweep from the highest key
 * down visits every distinct score once with the number of positives and
 * negatives it holds, which is exactly scikit-learn's _binary_clf_curve
 * (ties form one threshold). Counts are integers, so the result does not
 * depend on item order. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "affect/metrics.h"
#include "metrics-private.h"

/* IEEE float32 → unsigned key with the same order; -0 and +0 are one score,
 * as numpy's np.diff sees them. */
static inline uint32_t
float_key (float f)
{
  uint32_t u;

  if (f == 0.0f)
    f = 0.0f;
  memcpy (&u, &f, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

float
affect_metrics_key_to_float (uint32_t k)
{
  uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
  float f;

  memcpy (&f, &u, sizeof f);
  return f;
}

/* LSD radix sort in four passes of 8 bits; a pass whose digit is the same
 * for every key is skipped. 256 buckets keep the scatter within the cache
 * and TLB even for the 56 M keys of a micro average (11-bit digits measured
 * 6 times slower there). Returns the buffer holding the sorted keys (a or
 * tmp). */
static uint32_t *
radix_sort (uint32_t * a, uint32_t * tmp, gsize n)
{
  gsize hist[4][256];
  gsize i;
  int p;

  if (n < 2)
    return a;
  memset (hist, 0, sizeof hist);
  for (i = 0; i < n; i++) {
    uint32_t k = a[i];
    hist[0][k & 0xff]++;
    hist[1][(k >> 8) & 0xff]++;
    hist[2][(k >> 16) & 0xff]++;
    hist[3][k >> 24]++;
  }
  for (p = 0; p < 4; p++) {
    gsize *h = hist[p], sum = 0;
    int shift = 8 * p, b;
    uint32_t *t;

    if (h[(a[0] >> shift) & 0xff] == n)
      continue;
    for (b = 0; b < 256; b++) {
      gsize c = h[b];
      h[b] = sum;
      sum += c;
    }
    for (i = 0; i < n; i++) {
      uint32_t k = a[i];
      tmp[h[(k >> shift) & 0xff]++] = k;
    }
    t = a;
    a = tmp;
    tmp = t;
  }
  return a;
}

void
affect_rank_sorted_init (AffectRankSorted * rs)
{
  memset (rs, 0, sizeof *rs);
}

void
affect_rank_sorted_clear (AffectRankSorted * rs)
{
  g_free (rs->buf);
  memset (rs, 0, sizeof *rs);
}

void
affect_rank_sorted_build (AffectRankSorted * rs, const float *scores,
    gsize score_stride, const uint8_t * truth, gsize truth_stride, gsize n)
{
  uint32_t *pos, *neg;
  gsize i, np = 0, nn = 0;

  if (rs->capacity < n) {
    g_free (rs->buf);
    rs->buf = g_new (uint32_t, 2 * n);
    rs->capacity = n;
  }
  for (i = 0; i < n; i++)
    np += truth[i * truth_stride] != 0;
  nn = n - np;
  /* positives fill buf[0, np), negatives buf[np, n); the second half of
   * buf is the radix scratch, laid out the same way */
  pos = rs->buf;
  neg = rs->buf + np;
  {
    gsize ip = 0, in = 0;
    for (i = 0; i < n; i++) {
      uint32_t k = float_key (scores[i * score_stride]);
      if (truth[i * truth_stride])
        pos[ip++] = k;
      else
        neg[in++] = k;
    }
  }
  rs->pos = radix_sort (pos, rs->buf + n, np);
  rs->neg = radix_sort (neg, rs->buf + n + np, nn);
  rs->n_pos = np;
  rs->n_neg = nn;
}

void
affect_rank_sweep_init (AffectRankSweep * sw, const AffectRankSorted * rs)
{
  sw->rs = rs;
  sw->ip = rs->n_pos;
  sw->in = rs->n_neg;
  sw->tp = sw->fp = 0;
}

/* Next distinct score from the top: adds its positives / negatives. */
gboolean
affect_rank_sweep_next (AffectRankSweep * sw, uint32_t * key,
    uint64_t * dpos, uint64_t * dneg)
{
  const AffectRankSorted *rs = sw->rs;
  uint32_t k;
  uint64_t dp = 0, dn = 0;

  if (sw->ip == 0 && sw->in == 0)
    return FALSE;
  if (sw->ip == 0)
    k = rs->neg[sw->in - 1];
  else if (sw->in == 0)
    k = rs->pos[sw->ip - 1];
  else
    k = MAX (rs->pos[sw->ip - 1], rs->neg[sw->in - 1]);
  while (sw->ip > 0 && rs->pos[sw->ip - 1] == k) {
    sw->ip--;
    dp++;
  }
  while (sw->in > 0 && rs->neg[sw->in - 1] == k) {
    sw->in--;
    dn++;
  }
  sw->tp += dp;
  sw->fp += dn;
  *key = k;
  *dpos = dp;
  *dneg = dn;
  return TRUE;
}

void
affect_rank_sorted_scores (const AffectRankSorted * rs, AffectRankScores * out)
{
  AffectRankSweep sw;
  uint32_t key;
  uint64_t dp, dn, area2 = 0;
  double ap = 0.0;

  out->n_positive = rs->n_pos;
  out->n_negative = rs->n_neg;
  affect_rank_sweep_init (&sw, rs);
  while (affect_rank_sweep_next (&sw, &key, &dp, &dn)) {
    /* trapezoid between (fp - dn, tp - dp) and (fp, tp), doubled and
     * exact in integers */
    area2 += dn * (2 * (sw.tp - dp) + dp);
    /* step-wise AP: recall rises by dp / P at precision tp / (tp + fp) */
    if (dp > 0)
      ap += (double) dp *((double) sw.tp / (double) (sw.tp + sw.fp));
  }
  if (rs->n_pos == 0 || rs->n_neg == 0)
    out->roc_auc = NAN;
  else
    out->roc_auc = (double) area2 / (2.0 * (double) rs->n_pos *
        (double) rs->n_neg);
  /* scikit-learn sets recall to 1 everywhere when there is no positive,
   * which makes AP exactly 0 */
  out->average_precision = rs->n_pos ? ap / (double) rs->n_pos : 0.0;
}

void
affect_rank_scores (const float *scores, gsize score_stride,
    const uint8_t * truth, gsize truth_stride, gsize n, AffectRankScores * out)
{
  AffectRankSorted rs;

  affect_rank_sorted_init (&rs);
  affect_rank_sorted_build (&rs, scores, score_stride, truth, truth_stride, n);
  affect_rank_sorted_scores (&rs, out);
  affect_rank_sorted_clear (&rs);
}

/* Large scratch buffers are first touched page by page; transparent huge
 * pages (where the kernel grants them on request) make that 512 times fewer
 * page faults, which otherwise cost as much as the sort on a VM. */
static void *
scratch_alloc (gsize bytes)
{
  void *p = NULL;

  if (bytes < (4u << 20))
    return g_malloc (bytes);
  if (posix_memalign (&p, 2u << 20, bytes) != 0)
    g_error ("out of memory allocating %" G_GSIZE_FORMAT " bytes", bytes);
#ifdef MADV_HUGEPAGE
  madvise (p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

/* keys into dst: positives from the front, negatives from the back */
static gsize
partition_keys (const uint32_t * keys, const uint8_t * bits, gsize n,
    uint32_t * dst)
{
  gsize i, ip = 0, in = n;

  for (i = 0; i < n; i++) {
    if (bits[i])
      dst[ip++] = keys[i];
    else
      dst[--in] = keys[i];
  }
  return ip;
}

static void
sorted_scores (uint32_t * keys, uint32_t * scratch, gsize n, gsize np,
    AffectRankScores * out)
{
  AffectRankSorted rs;

  rs.buf = NULL;
  rs.capacity = 0;
  rs.pos = radix_sort (keys, scratch, np);
  rs.neg = radix_sort (keys + np, scratch + np, n - np);
  rs.n_pos = np;
  rs.n_neg = n - np;
  affect_rank_sorted_scores (&rs, out);
}

void
affect_rank_scores_matrix (const float *scores, const uint8_t * truth,
    gsize n, guint k, AffectRankScores * columns, AffectRankScores * micro)
{
  gsize nk = n * (gsize) k, i, np;
  /* [0, nk): column-major keys, later the micro sort's scratch;
   * [nk, 2nk): per-column work, later the micro keys */
  uint32_t *buf = scratch_alloc (MAX (2 * nk, nk + 2 * n) * sizeof (uint32_t));
  uint32_t *keys = buf, *work = buf + nk;
  uint8_t *bits = scratch_alloc (nk);
  guint c;

  /* one pass over the row-major matrix into column-major keys, so each
   * column is then read contiguously instead of with a stride of k */
  for (i = 0; i < n; i++)
    for (c = 0; c < k; c++) {
      keys[(gsize) c * n + i] = float_key (scores[i * k + c]);
      bits[(gsize) c * n + i] = truth[i * k + c] != 0;
    }
  for (c = 0; columns && c < k; c++) {
    np = partition_keys (keys + (gsize) c * n, bits + (gsize) c * n, n, work);
    sorted_scores (work, work + n, n, np, &columns[c]);
  }
  if (micro) {
    np = partition_keys (keys, bits, nk, work);
    sorted_scores (work, keys, nk, np, micro);
  }
  free (bits);
  free (buf);
}

double
affect_rank_sorted_threshold (const AffectRankSorted * rs)
{
  AffectRankSweep sw;
  uint32_t key, best_key = 0;
  uint64_t dp, dn;
  double best = -1.0, total = (double) rs->n_pos;
  gboolean any = FALSE;

  affect_rank_sweep_init (&sw, rs);
  while (affect_rank_sweep_next (&sw, &key, &dp, &dn)) {
    /* the very operations of calculate_decisions.py on numpy doubles, so
     * that exact ties in F resolve as there */
    double precision = (double) sw.tp / (double) (sw.tp + sw.fp);
    double recall = rs->n_pos ? (double) sw.tp / total : 1.0;
    double denom = precision + recall;
    double f = denom == 0.0 ? 0.0 : (2.0 * precision * recall) / denom;

    if (isnan (f))
      f = 0.0;
    /* np.argmax takes the first maximum in ascending-threshold order,
     * i.e. the last one met here going down */
    if (f >= best) {
      best = f;
      best_key = key;
      any = TRUE;
    }
  }
  return any ? (double) affect_metrics_key_to_float (best_key) : NAN;
}

double
affect_fit_threshold (const float *scores, gsize score_stride,
    const uint8_t * truth, gsize truth_stride, gsize n)
{
  AffectRankSorted rs;
  double t;

  affect_rank_sorted_init (&rs);
  affect_rank_sorted_build (&rs, scores, score_stride, truth, truth_stride, n);
  t = affect_rank_sorted_threshold (&rs);
  affect_rank_sorted_clear (&rs);
  return t;
}

static gboolean
curve (const float *scores, gsize score_stride, const uint8_t * truth,
    gsize truth_stride, gsize n, gboolean roc, double **xs, double **ys,
    gsize * n_points)
{
  AffectRankSorted rs;
  AffectRankSweep sw;
  GArray *x, *y;
  uint32_t key;
  uint64_t dp, dn;
  double v;
  gboolean ok;

  affect_rank_sorted_init (&rs);
  affect_rank_sorted_build (&rs, scores, score_stride, truth, truth_stride, n);
  ok = rs.n_pos > 0 && (!roc || rs.n_neg > 0);
  x = g_array_new (FALSE, FALSE, sizeof (double));
  y = g_array_new (FALSE, FALSE, sizeof (double));
  v = 0.0;
  g_array_append_val (x, v);
  v = roc ? 0.0 : 1.0;
  g_array_append_val (y, v);
  if (ok) {
    affect_rank_sweep_init (&sw, &rs);
    while (affect_rank_sweep_next (&sw, &key, &dp, &dn)) {
      if (roc) {
        v = (double) sw.fp / (double) rs.n_neg;
        g_array_append_val (x, v);
        v = (double) sw.tp / (double) rs.n_pos;
        g_array_append_val (y, v);
      } else {
        v = (double) sw.tp / (double) rs.n_pos;
        g_array_append_val (x, v);
        v = (double) sw.tp / (double) (sw.tp + sw.fp);
        g_array_append_val (y, v);
      }
    }
  }
  affect_rank_sorted_clear (&rs);
  *n_points = x->len;
  *xs = (double *) g_array_free (x, FALSE);
  *ys = (double *) g_array_free (y, FALSE);
  return ok;
}

gboolean
affect_roc_curve (const float *scores, gsize score_stride,
    const uint8_t * truth, gsize truth_stride, gsize n,
    double **fpr, double **tpr, gsize * n_points)
{
  return curve (scores, score_stride, truth, truth_stride, n, TRUE, fpr, tpr,
      n_points);
}

gboolean
affect_pr_curve (const float *scores, gsize score_stride,
    const uint8_t * truth, gsize truth_stride, gsize n,
    double **recall, double **precision, gsize * n_points)
{
  return curve (scores, score_stride, truth, truth_stride, n, FALSE, recall,
      precision, n_points);
}

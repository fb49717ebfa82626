/* Batch normalisation over channel-major (C, M) activations, M = N·H·W.
 *
 * Statistics are accumulated in double: a channel holds up to millions of
 * values in a training batch and float sums would lose the small variance
 * of a nearly constant channel.
 *
 * Channels are independent: each pass runs as blocks of channels on
 * libaffect's worker pool, a block's size following from M alone, and a
 * channel's sums are made by one thread in index order, so the bits are
 * those of one thread at any thread count. */
#include <math.h>

#include <string.h>

#include "affect/nn-layers.h"
#include "affect/parallel.h"
#include "batchnorm-private.h"
#include "epilogue.h"
#include "vector-clones.h"

/* channels per part: about this many floats of a pass, whatever the
 * thread count */
#define PART_FLOATS (1 << 17)

typedef enum
{
  FORWARD_TRAIN,                /* with or without the moments given */
  FORWARD_EVAL,
  FORWARD_SAVED,
  BACKWARD_TRAIN,
  BACKWARD_EVAL
} Pass;

typedef struct
{
  Pass pass;
  int c;
  int64_t m;
  const float *x, *gamma, *beta, *clamp, *dy, *y_in, *residual;
  const double *moments;
  const float *mean_in, *rstd_in, *running_mean_in, *running_var_in;
  float *running_mean, *running_var, *y, *mean, *rstd, *dx, *dgamma, *dbeta;
  double factor;
  float eps;
  gboolean mask_from_x;         /* the clamp's mask from γ·x̂ + β */
  const double *sums;           /* per channel Σ g, Σ g·x̂, or NULL */
  double *sums_out;             /* receives them, or NULL */
} BnJob;

static void forward_train_channel (const BnJob * j, int ch);
static void forward_eval_channel (const BnJob * j, int ch);
static void forward_saved_channel (const BnJob * j, int ch);
static void backward_train_channel (const BnJob * j, int ch);
static void backward_eval_channel (const BnJob * j, int ch);

static void
bn_part (int part, int n_parts, gpointer data)
{
  const BnJob *j = data;
  const int c0 = (int) ((int64_t) j->c * part / n_parts);
  const int c1 = (int) ((int64_t) j->c * (part + 1) / n_parts);

  for (int ch = c0; ch < c1; ch++)
    switch (j->pass) {
      case FORWARD_TRAIN:
        forward_train_channel (j, ch);
        break;
      case FORWARD_EVAL:
        forward_eval_channel (j, ch);
        break;
      case FORWARD_SAVED:
        forward_saved_channel (j, ch);
        break;
      case BACKWARD_TRAIN:
        backward_train_channel (j, ch);
        break;
      case BACKWARD_EVAL:
        backward_eval_channel (j, ch);
        break;
    }
}

static void
bn_run (BnJob * j)
{
  const int64_t per_part = MAX (PART_FLOATS / MAX (j->m, 1), 1);

  affect_parallel_run ((int) ((j->c + per_part - 1) / per_part), bn_part, j);
}

/* A channel's sums run in 8 double lanes (lane = i mod 8) added up in lane
 * order at the end: independent chains the vector units can overlap, and
 * the same bits whatever the instruction set or thread count. */
typedef float v4sf __attribute__((vector_size (16)));
typedef double v4df __attribute__((vector_size (32)));
typedef int v4si __attribute__((vector_size (16)));
typedef float v8sf __attribute__((vector_size (32)));
typedef int v8si __attribute__((vector_size (32)));
typedef double v8df __attribute__((vector_size (64)));
#define SPLAT8(v, s) do { for (int l_ = 0; l_ < 8; l_++) (v)[l_] = (s); } \
  while (0)

/* macros, since passing 32-byte vectors by value would depend on the
 * instruction set of the caller */
#define LOAD4(v, p) do { v4sf f_; memcpy (&f_, (p), sizeof (f_)); \
    (v) = __builtin_convertvector (f_, v4df); } while (0)
#define LANES_SUM(s, lo, hi) do { (s) = 0.0; \
    for (int l_ = 0; l_ < 4; l_++) (s) += (lo)[l_]; \
    for (int l_ = 0; l_ < 4; l_++) (s) += (hi)[l_]; } while (0)

/* The clamp's derivative on g: g where lo < v (and v < hi when hi is
 * finite), 0 elsewhere, v being the kept output y[i] or, with mask_x, the
 * batch-norm's output before the clamp, ma·x + mb; g as it is with
 * neither. CLAMP_SPLATS declares what CLAMP_PASS8, 8 values at once,
 * reads: inf (−1 when hi is ∞), its vector vinf and the splats vma, vmb,
 * vlo and vhi. */
#define CLAMP_SPLATS(ma, mb, lo, hi) \
  const int inf = (hi) == INFINITY ? -1 : 0; \
  const v8si vinf = { inf, inf, inf, inf, inf, inf, inf, inf }; \
  v8sf vma, vmb, vlo, vhi; \
  SPLAT8 (vma, (ma)); \
  SPLAT8 (vmb, (mb)); \
  SPLAT8 (vlo, (lo)); \
  SPLAT8 (vhi, (hi))
#define CLAMP_PASS8(gv, xv, y, i, mask_x) do { \
    if ((y) != NULL) { \
      v8sf v_; \
      memcpy (&v_, (y) + (i), sizeof (v_)); \
      (gv) = (v8sf) ((v8si) (gv) & (v_ > vlo) & ((v_ < vhi) | vinf)); \
    } else if (mask_x) { \
      const v8sf v_ = vma * (xv) + vmb; \
      (gv) = (v8sf) ((v8si) (gv) & (v_ > vlo) & ((v_ < vhi) | vinf)); \
    } } while (0)

/* always inlined: the caller's instruction set (and its contraction of
 * ma·x + mb) must be the one that computes it, as in the forward */
static inline __attribute__((always_inline))
     float clamp_pass (float g, float x, const float *y, int64_t i,
    int mask_x, float ma, float mb, float lo, float hi, int inf)
{
  const float v = y != NULL ? y[i] : mask_x ? ma * x + mb : 1.0f;

  return (y == NULL && !mask_x) || (v > lo && (inf || v < hi)) ? g : 0.0f;
}

/* Σ g and Σ g·x̂, x̂ = (x − mu)·r in float as the forward's; with y, g
 * counts only where lo < y (< hi when hi is finite): the derivative of the
 * clamp that followed the batch-norm, applied on the fly. With mask_x
 * instead of y, the mask is made from v = ma·x + mb, the batch-norm's
 * output before the clamp with the forward's bits: lo < y iff lo < v and
 * y < hi iff v < hi, so the output need not be read (or kept).
 *
 * The m values are a stretch of a channel starting at index `first`: value
 * i goes to lane (first + i) mod 8 of acc (Σ g in acc[0..7], Σ g·x̂ in
 * acc[8..15]), so a channel summed in stretches in index order — a plane
 * at a time, by whoever made the plane — has the bits of one call over
 * the whole channel. */
#define LANE_SUMS_NAME lane_sums_clones
#define LANE_SUMS_ATTR AFFECT_VECTOR_CLONES
#define LANE_SUMS_CVT8(v) __builtin_convertvector ((v), v8df)
#include "batchnorm-lanes.h"
#undef LANE_SUMS_NAME
#undef LANE_SUMS_ATTR
#undef LANE_SUMS_CVT8
#ifdef AFFECT_AVX512
#define LANE_SUMS_NAME lane_sums_avx512
#define LANE_SUMS_ATTR AFFECT_AVX512
#define LANE_SUMS_CVT8(v) AFFECT_CVT8_AVX512 (v)
#include "batchnorm-lanes.h"
#undef LANE_SUMS_NAME
#undef LANE_SUMS_ATTR
#undef LANE_SUMS_CVT8
#endif

void
affect_batchnorm_lane_sums (int64_t m, int64_t first, const float *x,
    const float *g, const float *y, int mask_x, float ma, float mb, float lo,
    float hi, float mu, float r, double acc[16])
{
#ifdef AFFECT_AVX512
  if (affect_have_avx512 ()) {
    lane_sums_avx512 (m, first, x, g, y, mask_x, ma, mb, lo, hi, mu, r, acc);
    return;
  }
#endif
  lane_sums_clones (m, first, x, g, y, mask_x, ma, mb, lo, hi, mu, r, acc);
}

/* the lanes added up in lane order: acc[0..7] → Σ g, acc[8..15] → Σ g·x̂ */
void
affect_batchnorm_lane_total (const double acc[16], double *sg, double *sgx)
{
  LANES_SUM (*sg, acc, acc + 4);
  LANES_SUM (*sgx, acc + 8, acc + 12);
}

static void
channel_grad_sums (int64_t m, const float *restrict x,
    const float *restrict g, const float *restrict y, int mask_x, float ma,
    float mb, float lo, float hi, float mu, float r, double *sg, double *sgx)
{
  double acc[16] = { 0 };

  affect_batchnorm_lane_sums (m, 0, x, g, y, mask_x, ma, mb, lo, hi, mu, r,
      acc);
  affect_batchnorm_lane_total (acc, sg, sgx);
}

/* y = a·x + b, clamped to [lo, hi] in the same pass when clamp != NULL
 * (a following ReLU / ReLU6 costs no extra sweep over memory) */
/* where mask: b, else a (a NaN compares false and stays) */
#define SELECT8(mask, b, a) \
  ((v8sf) (((v8si) (b) & (mask)) | ((v8si) (a) & ~(mask))))

AFFECT_VECTOR_CLONES static void
affine (int64_t m, const float *restrict x, float a, float b,
    const float *clamp, const float *restrict r, float *restrict y)
{
  const float lo = clamp != NULL ? clamp[0] : -INFINITY;
  const float hi = clamp != NULL ? clamp[1] : INFINITY;
  v8sf va, vb, vlo, vhi;
  int64_t i = 0;

  SPLAT8 (va, a);
  SPLAT8 (vb, b);
  SPLAT8 (vlo, lo);
  SPLAT8 (vhi, hi);
  if (r != NULL) {
    /* + the residual input, after the clamp */
    for (; i + 8 <= m; i += 8) {
      v8sf v, w;
      memcpy (&v, x + i, sizeof (v));
      memcpy (&w, r + i, sizeof (w));
      v = va * v + vb;
      v = SELECT8 (v < vlo, vlo, v);
      v = SELECT8 (v > vhi, vhi, v);
      v = w + v;
      memcpy (y + i, &v, sizeof (v));
    }
    for (; i < m; i++) {
      float v = a * x[i] + b;
      v = v < lo ? lo : v;
      v = v > hi ? hi : v;
      y[i] = r[i] + v;
    }
  } else if (clamp == NULL) {
    for (; i + 8 <= m; i += 8) {
      v8sf v;
      memcpy (&v, x + i, sizeof (v));
      v = va * v + vb;
      memcpy (y + i, &v, sizeof (v));
    }
    for (; i < m; i++)
      y[i] = a * x[i] + b;
  } else {
    for (; i + 8 <= m; i += 8) {
      v8sf v;
      memcpy (&v, x + i, sizeof (v));
      v = va * v + vb;
      v = SELECT8 (v < vlo, vlo, v);
      v = SELECT8 (v > vhi, vhi, v);
      memcpy (y + i, &v, sizeof (v));
    }
    for (; i < m; i++) {
      float v = a * x[i] + b;
      v = v < lo ? lo : v;
      y[i] = v > hi ? hi : v;
    }
  }
}

/* d = a·(g − mg − (x − mu)·r·mgx); d may be g; y or mask_x, ma, mb, lo,
 * hi: the clamp's mask as in channel_grad_sums */
AFFECT_VECTOR_CLONES void
affect_batchnorm_dx_row (int64_t m, const float *x, const float *g,
    const float *y,
    int mask_x, float ma, float mb, float lo, float hi, float a, float mg,
    float mu, float r, float mgx, float *d)
{
  v8sf va, vmg, vmu, vr, vmgx;
  int64_t i = 0;
  CLAMP_SPLATS (ma, mb, lo, hi);

  SPLAT8 (va, a);
  SPLAT8 (vmg, mg);
  SPLAT8 (vmu, mu);
  SPLAT8 (vr, r);
  SPLAT8 (vmgx, mgx);
  SPLAT8 (vlo, lo);
  SPLAT8 (vhi, hi);
  for (; i + 8 <= m; i += 8) {
    v8sf xv, gv, v;
    memcpy (&xv, x + i, sizeof (xv));
    memcpy (&gv, g + i, sizeof (gv));
    CLAMP_PASS8 (gv, xv, y, i, mask_x);
    v = va * (gv - vmg - (xv - vmu) * vr * vmgx);
    memcpy (d + i, &v, sizeof (v));
  }
  for (; i < m; i++) {
    const float gi = clamp_pass (g[i], x[i], y, i, mask_x, ma, mb, lo, hi,
        inf);
    d[i] = a * (gi - mg - (x[i] - mu) * r * mgx);
  }
}

void
affect_batchnorm_train_channel (const AffectBnTrain * t, int ch,
    const float *xc, double mu, double ss, const float *rc, float *yc)
{
  const int64_t m = t->m;
  const double var = ss / (double) m;
  const float r = (float) (1.0 / sqrt (var + t->eps));
  const float a = t->gamma[ch] * r;
  const float b = t->beta[ch] - (float) mu * a;

  if (yc != NULL)
    affine (m, xc, a, b, t->clamp, rc, yc);
  t->mean[ch] = (float) mu;
  t->rstd[ch] = r;
  if (t->running_mean != NULL && t->factor >= 0.0) {
    const double unbiased = m > 1 ? ss / (double) (m - 1) : var;
    t->running_mean[ch] =
        (float) ((1.0 - t->factor) * t->running_mean[ch] + t->factor * mu);
    t->running_var[ch] =
        (float) ((1.0 - t->factor) * t->running_var[ch] + t->factor * unbiased);
  }
}

double
affect_batchnorm_factor (float momentum, int64_t * n_batches)
{
  double factor = momentum;

  if (n_batches != NULL) {
    *n_batches += 1;
    if (momentum < 0.0f)
      factor = 1.0 / (double) *n_batches;
  }
  return factor;
}

static void
forward_train_channel (const BnJob * j, int ch)
{
  const int64_t m = j->m;
  const float *xc = j->x + (int64_t) ch * m;
  const AffectBnTrain t = { m, j->gamma, j->beta, j->running_mean,
    j->running_var, j->factor, j->eps, j->clamp, j->mean, j->rstd
  };
  double mu, ss;

  if (j->moments != NULL) {
    mu = j->moments[2 * ch];
    ss = j->moments[2 * ch + 1];
  } else {
    affect_row_moments (m, xc, &mu, &ss);
  }
  affect_batchnorm_train_channel (&t, ch, xc, mu, ss,
      j->residual != NULL ? j->residual + (int64_t) ch * m : NULL,
      j->y != NULL ? j->y + (int64_t) ch * m : NULL);
}

/* the batch statistics made here (moments NULL: two passes per channel) */
void
affect_batchnorm_forward_train (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, float *running_mean,
    float *running_var, float momentum, int64_t * n_batches, float eps,
    const float *clamp, float *y, float *mean, float *rstd)
{
  affect_batchnorm_forward_moments (c, m, x, NULL, gamma, beta, running_mean,
      running_var, momentum, n_batches, eps, clamp, NULL, y, mean, rstd);
}

void
affect_batchnorm_forward_moments (int c, int64_t m, const float *x,
    const double *moments, const float *gamma, const float *beta,
    float *running_mean, float *running_var, float momentum,
    int64_t * n_batches, float eps, const float *clamp,
    const float *residual, float *y, float *mean, float *rstd)
{
  BnJob j = { 0 };
  const double factor = affect_batchnorm_factor (momentum, n_batches);

  j.pass = FORWARD_TRAIN;
  j.c = c;
  j.m = m;
  j.x = x;
  j.moments = moments;
  j.gamma = gamma;
  j.beta = beta;
  j.running_mean = running_mean;
  j.running_var = running_var;
  j.factor = factor;
  j.eps = eps;
  j.clamp = clamp;
  j.residual = residual;
  j.y = y;
  j.mean = mean;
  j.rstd = rstd;
  bn_run (&j);
}

static void
forward_eval_channel (const BnJob * j, int ch)
{
  const float *xc = j->x + (int64_t) ch * j->m;
  float *yc = j->y + (int64_t) ch * j->m;
  const float a = j->gamma[ch] / sqrtf (j->running_var_in[ch] + j->eps);
  const float b = j->beta[ch] - j->running_mean_in[ch] * a;

  affine (j->m, xc, a, b, j->clamp, NULL, yc);
}

void
affect_batchnorm_forward_eval (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *running_mean,
    const float *running_var, float eps, const float *clamp, float *y)
{
  BnJob j = { 0 };

  j.pass = FORWARD_EVAL;
  j.c = c;
  j.m = m;
  j.x = x;
  j.gamma = gamma;
  j.beta = beta;
  j.running_mean_in = running_mean;
  j.running_var_in = running_var;
  j.eps = eps;
  j.clamp = clamp;
  j.y = y;
  bn_run (&j);
}

/* a and b exactly as forward_train_channel forms them from the float
 * mean and rstd it stores, so the output has the train forward's bits */
static void
forward_saved_channel (const BnJob * j, int ch)
{
  const float a = j->gamma[ch] * j->rstd_in[ch];
  const float b = j->beta[ch] - j->mean_in[ch] * a;

  affine (j->m, j->x + (int64_t) ch * j->m, a, b, j->clamp, NULL,
      j->y + (int64_t) ch * j->m);
}

/* a pass over x with statistics made before (the forward's or the
 * running ones): the fields every such pass sets */
static BnJob
saved_stats_job (Pass pass, int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *mean,
    const float *rstd, const float *clamp)
{
  BnJob j = { 0 };

  j.pass = pass;
  j.c = c;
  j.m = m;
  j.x = x;
  j.gamma = gamma;
  j.beta = beta;
  j.mean_in = mean;
  j.rstd_in = rstd;
  j.clamp = clamp;
  return j;
}

void
affect_batchnorm_forward_saved (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *mean,
    const float *rstd, const float *clamp, float *y)
{
  BnJob j = saved_stats_job (FORWARD_SAVED, c, m, x, gamma, beta, mean,
      rstd, clamp);

  j.y = y;
  bn_run (&j);
}

/* dx = γ·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)) */
static void
backward_train_channel (const BnJob * j, int ch)
{
  const int64_t m = j->m;
  const float *xc = j->x + (int64_t) ch * m;
  const float *g = j->dy + (int64_t) ch * m;
  const float mu = j->mean_in[ch], r = j->rstd_in[ch];
  const float *yc = j->y_in != NULL ? j->y_in + (int64_t) ch * m : NULL;
  const float lo = j->clamp != NULL ? j->clamp[0] : 0.0f;
  const float hi = j->clamp != NULL ? j->clamp[1] : INFINITY;
  /* the mask's v = ma·x + mb as forward_saved_channel forms a and b */
  const float ma = j->mask_from_x ? j->gamma[ch] * r : 1.0f;
  const float mb = j->mask_from_x ? j->beta[ch] - mu * ma : 0.0f;
  double sg, sgx;

  if (j->sums != NULL) {
    sg = j->sums[2 * ch];
    sgx = j->sums[2 * ch + 1];
  } else {
    channel_grad_sums (m, xc, g, yc, j->mask_from_x, ma, mb, lo, hi, mu, r,
        &sg, &sgx);
  }
  if (j->sums_out != NULL) {
    j->sums_out[2 * ch] = sg;
    j->sums_out[2 * ch + 1] = sgx;
  }
  if (j->dgamma != NULL)
    j->dgamma[ch] += (float) sgx;
  if (j->dbeta != NULL)
    j->dbeta[ch] += (float) sg;
  if (j->dx != NULL) {
    float *d = j->dx + (int64_t) ch * m;
    const float a = j->gamma[ch] * r;
    const float mg = (float) (sg / (double) m);
    const float mgx = (float) (sgx / (double) m);
    affect_batchnorm_dx_row (m, xc, g, yc, j->mask_from_x, ma, mb, lo, hi, a,
        mg, mu, r, mgx, d);
  }
}

void
affect_batchnorm_backward_train (int c, int64_t m, const float *x,
    const float *gamma, const float *mean, const float *rstd,
    const float *dy, float *dx, float *dgamma, float *dbeta)
{
  affect_batchnorm_backward_train_clamped (c, m, x, gamma, mean, rstd, NULL,
      NULL, dy, dx, dgamma, dbeta);
}

void
affect_batchnorm_backward_train_clamped (int c, int64_t m, const float *x,
    const float *gamma, const float *mean, const float *rstd, const float *y,
    const float *clamp, const float *dy, float *dx, float *dgamma, float *dbeta)
{
  BnJob j = { 0 };

  j.y_in = y;
  j.clamp = y != NULL ? clamp : NULL;

  j.pass = BACKWARD_TRAIN;
  j.c = c;
  j.m = m;
  j.x = x;
  j.gamma = gamma;
  j.mean_in = mean;
  j.rstd_in = rstd;
  j.dy = dy;
  j.dx = dx;
  j.dgamma = dgamma;
  j.dbeta = dbeta;
  bn_run (&j);
}

/* a training backward whose clamp mask comes from the input (the
 * batch-norm's own output is not kept): the fields every such pass sets */
static BnJob
train_backward_job (int c, int64_t m, const float *x, const float *gamma,
    const float *beta, const float *mean, const float *rstd,
    const float *clamp, const float *dy, float *dgamma, float *dbeta)
{
  BnJob j = saved_stats_job (BACKWARD_TRAIN, c, m, x, gamma, beta, mean,
      rstd, clamp);

  j.mask_from_x = clamp != NULL;
  j.dy = dy;
  j.dgamma = dgamma;
  j.dbeta = dbeta;
  return j;
}

void
affect_batchnorm_backward_train_masked (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *mean,
    const float *rstd, const float *clamp, const float *dy, float *dx,
    float *dgamma, float *dbeta)
{
  /* the sums made here, in the pass itself */
  affect_batchnorm_backward_train_sums (c, m, x, gamma, beta, mean, rstd,
      clamp, NULL, dy, dx, dgamma, dbeta);
}

void
affect_batchnorm_backward_train_sums (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *mean,
    const float *rstd, const float *clamp, const double *sums,
    const float *dy, float *dx, float *dgamma, float *dbeta)
{
  BnJob j = train_backward_job (c, m, x, gamma, beta, mean, rstd, clamp, dy,
      dgamma, dbeta);

  j.sums = sums;
  j.dx = dx;
  bn_run (&j);
}

void
affect_batchnorm_grad_sums (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *mean,
    const float *rstd, const float *clamp, const float *dy, double *sums,
    float *dgamma, float *dbeta)
{
  BnJob j = train_backward_job (c, m, x, gamma, beta, mean, rstd, clamp, dy,
      dgamma, dbeta);

  j.sums_out = sums;
  bn_run (&j);
}

static void
backward_eval_channel (const BnJob * j, int ch)
{
  const int64_t m = j->m;
  const float *xc = j->x + (int64_t) ch * m;
  const float *g = j->dy + (int64_t) ch * m;
  const float r = 1.0f / sqrtf (j->running_var_in[ch] + j->eps);
  const float mu = j->running_mean_in[ch];

  if (j->dgamma != NULL || j->dbeta != NULL) {
    double sg, sgx;
    channel_grad_sums (m, xc, g, NULL, 0, 1.0f, 0.0f, 0.0f, INFINITY, mu, r,
        &sg, &sgx);
    if (j->dgamma != NULL)
      j->dgamma[ch] += (float) sgx;
    if (j->dbeta != NULL)
      j->dbeta[ch] += (float) sg;
  }
  if (j->dx != NULL) {
    float *d = j->dx + (int64_t) ch * m;
    const float a = j->gamma[ch] * r;
    for (int64_t i = 0; i < m; i++)
      d[i] = a * g[i];
  }
}

void
affect_batchnorm_backward_eval (int c, int64_t m, const float *x,
    const float *gamma, const float *running_mean, const float *running_var,
    float eps, const float *dy, float *dx, float *dgamma, float *dbeta)
{
  BnJob j = { 0 };

  j.pass = BACKWARD_EVAL;
  j.c = c;
  j.m = m;
  j.x = x;
  j.gamma = gamma;
  j.running_mean_in = running_mean;
  j.running_var_in = running_var;
  j.eps = eps;
  j.dy = dy;
  j.dx = dx;
  j.dgamma = dgamma;
  j.dbeta = dbeta;
  bn_run (&j);
}

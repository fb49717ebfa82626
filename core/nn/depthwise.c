/* Depthwise 3×3 convolution (one filter per channel), padding 1, stride 1
 * or 2, computed directly.
 *
 * Each (channel, image) plane is first copied into a zero-bordered buffer
 * so the inner loops have no bounds tests: for stride 1 they are plain
 * multiply-adds over contiguous rows that the compiler vectorises.
 *
 * Channels are independent, so forward and backward run as blocks of
 * channels on libaffect's worker pool. The blocks follow from the layer's
 * size alone and a channel's weight gradient is summed over the images in
 * their order by the one thread that has the channel: the bits are those
 * of one thread at any thread count. */
#include <math.h>
#include <string.h>

#include "affect/nn.h"
#include "affect/nn-layers.h"
#include "affect/parallel.h"
#include "batchnorm-private.h"
#include "depthwise-plane.h"
#include "epilogue.h"
#include "vector-clones.h"

/* channels per part: about this many input floats, whatever the thread
 * count */
#define PART_FLOATS (1 << 18)

static int
channel_parts (const AffectDepthwise * dw)
{
  const int64_t per_channel = (int64_t) dw->n * dw->h * dw->w;
  const int64_t per_part = MAX (PART_FLOATS / MAX (per_channel, 1), 1);

  return (int) ((dw->c + per_part - 1) / per_part);
}

typedef struct
{
  const AffectDepthwise *dw;
  const float *x, *weight, *dy;
  float *y, *dx, *dweight;
  const AffectEpilogue *ep;
  const AffectEpilogue *pro;    /* applied to each input value, or NULL */
  const float *pro_mean, *pro_rstd;     /* pro's batch-norm, for sums */
  double *sums;                 /* per channel Σ dx, Σ dx·x̂, or NULL */
  const AffectEpilogue *post;   /* forward: y2 = post (y), when y2 */
  float *y2;
  const AffectBnBackward *bn;   /* backward: dy is w.r.t. bn's output */
  const AffectBnTrain *bn_train;        /* forward: its batch-norm, into y_bn */
  float *y_bn;
  gboolean pro_dx;              /* backward: dx through pro's batch-norm */
} DwJob;

gboolean
affect_depthwise_geometry (AffectDepthwise * dw, int c, int n, int h, int w,
    int stride)
{
  dw->c = c;
  dw->n = n;
  dw->h = h;
  dw->w = w;
  dw->stride = stride;
  if ((stride != 1 && stride != 2) || h < 1 || w < 1)
    return FALSE;
  dw->oh = (h + 2 - 3) / stride + 1;
  dw->ow = (w + 2 - 3) / stride + 1;
  return TRUE;
}

/* the h × w plane x into the interior of xp (h + 2 rows of pitch w + 2),
 * leaving its zero border as it is */
static void
pad_interior (const float *x, int h, int w, float *xp)
{
  const int pw = w + 2;

  for (int y = 0; y < h; y++)
    memcpy (xp + (int64_t) (y + 1) * pw + 1, x + (int64_t) y * w,
        sizeof (float) * w);
}

void
affect_depthwise_pad_plane (const float *x, int h, int w, float *xp)
{
  const int pw = w + 2;

  memset (xp, 0, sizeof (float) * pw);
  for (int y = 0; y < h; y++) {
    float *r = xp + (int64_t) (y + 1) * pw;
    r[0] = 0.0f;
    memcpy (r + 1, x + (int64_t) y * w, sizeof (float) * w);
    r[w + 1] = 0.0f;
  }
  memset (xp + (int64_t) (h + 1) * pw, 0, sizeof (float) * pw);
}

typedef float v8sf __attribute__((vector_size (32)));
typedef int v8si __attribute__((vector_size (32)));

/* unaligned loads; a macro, since passing 32-byte vectors by value
 * would depend on the instruction set of the caller */
#define LOAD8(v, p) memcpy (&(v), (p), sizeof (v8sf))
#define SPLAT8(v, x) do { for (int l_ = 0; l_ < 8; l_++) (v)[l_] = (x); } \
  while (0)

/* where mask: b, else a (a NaN compares false and stays) */
#define SELECT8(mask, b, a) \
  ((v8sf) (((v8si) (b) & (mask)) | ((v8si) (a) & ~(mask))))

/* y = clamp(a·x + b) over n values, rounded as a batch-norm pass rounds
 * (a·x, + b, then the clamp): the bits of its stored output. Inlined into
 * whole-plane loops: a plane's rows are 8–128 values, too short to pay
 * for a call each. */
static inline __attribute__((always_inline))
     void bn_row_steps (int64_t n, const float *restrict x, float a, float b,
    float lo, float hi, float *restrict y)
{
  v8sf va, vb, vlo, vhi;
  int64_t i = 0;

  SPLAT8 (va, a);
  SPLAT8 (vb, b);
  SPLAT8 (vlo, lo);
  SPLAT8 (vhi, hi);
  for (; i + 8 <= n; i += 8) {
    v8sf v;
    memcpy (&v, x + i, sizeof (v));
    v = va * v + vb;
    v = SELECT8 (v < vlo, vlo, v);
    v = SELECT8 (v > vhi, vhi, v);
    memcpy (y + i, &v, sizeof (v));
  }
  for (; i < n; i++) {
    float v = a * x[i] + b;
    v = v < lo ? lo : v;
    y[i] = v > hi ? hi : v;
  }
}

AFFECT_VECTOR_CLONES static void
bn_row (int64_t n, const float *restrict x, float a, float b,
    const float *clamp, float *restrict y)
{
  bn_row_steps (n, x, a, b, clamp != NULL ? clamp[0] : -INFINITY,
      clamp != NULL ? clamp[1] : INFINITY, y);
}

/* the interior of a zero-bordered plane (pad_interior) from
 * clamp(a·x + b): the previous layer's batch-norm and clamp applied as
 * the plane is copied, so the plane has the bits of the stored output it
 * replaces */
AFFECT_VECTOR_CLONES static void
pad_interior_pro (const float *restrict x, int h, int w, float a, float b,
    const float *clamp, float *restrict xp)
{
  const int pw = w + 2;
  const float lo = clamp != NULL ? clamp[0] : -INFINITY;
  const float hi = clamp != NULL ? clamp[1] : INFINITY;

  for (int y = 0; y < h; y++)
    bn_row_steps (w, x + (int64_t) y * w, a, b, lo, hi,
        xp + (int64_t) (y + 1) * pw + 1);
}

/* the input plane p (channel c) of the job into the interior of xp, a
 * buffer of the job's part: the parts allocate their plane buffers
 * zeroed and write only their interiors, so the borders stay zero and
 * are not written again for every plane */
static inline void
load_plane (const DwJob * j, int c, int64_t p, float *xp)
{
  const AffectDepthwise *dw = j->dw;
  const float *x = j->x + p * dw->h * dw->w;

  if (j->pro == NULL)
    pad_interior (x, dw->h, dw->w, xp);
  else
    pad_interior_pro (x, dw->h, dw->w, j->pro->scale[c], j->pro->shift[c],
        j->pro->clamp, xp);
}

#define EVEN8(lo, hi) __builtin_shufflevector (lo, hi, 0, 2, 4, 6, 8, 10, 12, 14)
#define ODD8(lo, hi) __builtin_shufflevector (lo, hi, 1, 3, 5, 7, 9, 11, 13, 15)

/* one output plane; 8 outputs at a time, each summed in the scalar tail's
 * order. xp: the padded input plane, readable 16 floats past its end
 * (stride 2 loads 16 inputs for 8 outputs) */
AFFECT_VECTOR_CLONES static void
plane_forward (const float *restrict xp, int pw, const float *restrict k,
    int stride, int oh, int ow, float *restrict y)
{
  v8sf kv[9];

  for (int t = 0; t < 9; t++)
    SPLAT8 (kv[t], k[t]);
  for (int oy = 0; oy < oh; oy++) {
    float *restrict yr = y + (int64_t) oy * ow;
    const float *r0 = xp + (int64_t) (oy * stride) * pw;
    const float *r1 = r0 + pw, *r2 = r1 + pw;
    int ox = 0;
    if (stride == 1) {
      for (; ox + 8 <= ow; ox += 8) {
        v8sf a, b, c, d, e, f, g, h, i, v;
        LOAD8 (a, r0 + ox);
        LOAD8 (b, r0 + ox + 1);
        LOAD8 (c, r0 + ox + 2);
        LOAD8 (d, r1 + ox);
        LOAD8 (e, r1 + ox + 1);
        LOAD8 (f, r1 + ox + 2);
        LOAD8 (g, r2 + ox);
        LOAD8 (h, r2 + ox + 1);
        LOAD8 (i, r2 + ox + 2);
        v = kv[0] * a + kv[1] * b + kv[2] * c + kv[3] * d + kv[4] * e
            + kv[5] * f + kv[6] * g + kv[7] * h + kv[8] * i;
        memcpy (yr + ox, &v, sizeof (v));
      }
      for (; ox < ow; ox++)
        yr[ox] = k[0] * r0[ox] + k[1] * r0[ox + 1] + k[2] * r0[ox + 2]
            + k[3] * r1[ox] + k[4] * r1[ox + 1] + k[5] * r1[ox + 2]
            + k[6] * r2[ox] + k[7] * r2[ox + 1] + k[8] * r2[ox + 2];
    } else {
      for (; ox + 8 <= ow; ox += 8) {
        const int ix = 2 * ox;
        v8sf lo, hi, lo2, hi2, v;
        LOAD8 (lo, r0 + ix);
        LOAD8 (hi, r0 + ix + 8);
        LOAD8 (lo2, r0 + ix + 2);
        LOAD8 (hi2, r0 + ix + 10);
        v = kv[0] * EVEN8 (lo, hi) + kv[1] * ODD8 (lo, hi)
            + kv[2] * EVEN8 (lo2, hi2);
        LOAD8 (lo, r1 + ix);
        LOAD8 (hi, r1 + ix + 8);
        LOAD8 (lo2, r1 + ix + 2);
        LOAD8 (hi2, r1 + ix + 10);
        v = v + kv[3] * EVEN8 (lo, hi) + kv[4] * ODD8 (lo, hi)
            + kv[5] * EVEN8 (lo2, hi2);
        LOAD8 (lo, r2 + ix);
        LOAD8 (hi, r2 + ix + 8);
        LOAD8 (lo2, r2 + ix + 2);
        LOAD8 (hi2, r2 + ix + 10);
        v = v + kv[6] * EVEN8 (lo, hi) + kv[7] * ODD8 (lo, hi)
            + kv[8] * EVEN8 (lo2, hi2);
        memcpy (yr + ox, &v, sizeof (v));
      }
      for (; ox < ow; ox++) {
        const int ix = 2 * ox;
        yr[ox] = k[0] * r0[ix] + k[1] * r0[ix + 1] + k[2] * r0[ix + 2]
            + k[3] * r1[ix] + k[4] * r1[ix + 1] + k[5] * r1[ix + 2]
            + k[6] * r2[ix] + k[7] * r2[ix + 1] + k[8] * r2[ix + 2];
      }
    }
  }
}

void
affect_depthwise_plane_forward (const float *xp, int pw, const float *k,
    int stride, int oh, int ow, float *y)
{
  plane_forward (xp, pw, k, stride, oh, ow, y);
}

static void
forward_part (int part, int n_parts, gpointer data)
{
  const DwJob *j = data;
  const AffectDepthwise *dw = j->dw;
  const int c0 = (int) ((int64_t) dw->c * part / n_parts);
  const int c1 = (int) ((int64_t) dw->c * (part + 1) / n_parts);
  const int pw = dw->w + 2;
  float *xp = g_new0 (float, (size_t) (dw->h + 2) * pw + 16);
  const int64_t out_plane = (int64_t) dw->oh * dw->ow;

  for (int c = c0; c < c1; c++) {
    const AffectEpilogue *ep = j->ep;
    double n = 0.0, mean = 0.0, m2 = 0.0;
    for (int b = 0; b < dw->n; b++) {
      const int64_t p = (int64_t) c * dw->n + b;
      float *yp = j->y + p * out_plane;
      load_plane (j, c, p, xp);
      plane_forward (xp, pw, j->weight + 9 * c, dw->stride, dw->oh, dw->ow, yp);
      /* the plane is in cache: its epilogue or its moments now */
      if (ep == NULL) {
      } else if (ep->moments != NULL) {
        /* the moments of four planes side by side (still in cache),
         * merged in plane order */
        if (b % 4 == 3 || b == dw->n - 1) {
          const int first = b - b % 4;
          double pm[8];
          affect_rows_moments (b - first + 1, out_plane,
              j->y + ((int64_t) c * dw->n + first) * out_plane, out_plane, pm);
          for (int q = 0; q <= b - first; q++)
            affect_moments_merge (&n, &mean, &m2, (double) out_plane,
                pm[2 * q], pm[2 * q + 1]);
        }
      } else {
        affect_epilogue_row (out_plane, yp, 0, 0.0f, ep->scale != NULL,
            ep->scale != NULL ? ep->scale[c] : 1.0f,
            ep->shift != NULL ? ep->shift[c] : 0.0f, ep->clamp,
            ep->residual != NULL ? ep->residual + p * out_plane : NULL);
      }
      if (j->y2 != NULL)
        bn_row (out_plane, yp, j->post->scale[c], j->post->shift[c],
            j->post->clamp, j->y2 + p * out_plane);
    }
    if (ep != NULL && ep->moments != NULL) {
      ep->moments[2 * c] = mean;
      ep->moments[2 * c + 1] = m2;
    }
    if (j->bn_train != NULL) {
      /* the channel's batch-norm now, its planes still in cache (L2 holds
       * a channel of all but the largest layers) */
      const int64_t ch = (int64_t) dw->n * out_plane;
      affect_batchnorm_train_channel (j->bn_train, c, j->y + c * ch, mean,
          m2, NULL, j->y_bn != NULL ? j->y_bn + c * ch : NULL);
    }
  }
  g_free (xp);
}

void
affect_depthwise_forward (const AffectDepthwise * dw, const float *x,
    const float *weight, float *y)
{
  DwJob job = { dw, x, weight, NULL, y, NULL, NULL, NULL, NULL };

  affect_parallel_run (channel_parts (dw), forward_part, &job);
}

void
affect_depthwise_forward_fused (const AffectDepthwise * dw, const float *x,
    const float *weight, const AffectEpilogue * ep, float *y)
{
  DwJob job = { dw, x, weight, NULL, y, NULL, NULL, ep, NULL };

  affect_parallel_run (channel_parts (dw), forward_part, &job);
}

void
affect_depthwise_forward_pro (const AffectDepthwise * dw, const float *x,
    const AffectEpilogue * pro, const float *weight,
    const AffectEpilogue * ep, float *y, const AffectEpilogue * post, float *y2)
{
  DwJob job = { dw, x, weight, NULL, y, NULL, NULL, ep, pro, NULL, NULL,
    NULL, post, y2
  };

  affect_parallel_run (channel_parts (dw), forward_part, &job);
}

void
affect_depthwise_forward_train_bn (const AffectDepthwise * dw,
    const float *x, const AffectEpilogue * pro, const float *weight,
    float *y, const float *gamma, const float *beta, float *running_mean,
    float *running_var, float momentum, int64_t * n_batches, float eps,
    const float *clamp, float *y_bn, float *mean, float *rstd)
{
  double *moments = g_new (double, 2 * dw->c);
  const AffectEpilogue ep = { NULL, NULL, NULL, NULL, moments };
  const AffectBnTrain t = { (int64_t) dw->n * dw->oh * dw->ow, gamma, beta,
    running_mean, running_var, affect_batchnorm_factor (momentum, n_batches),
    eps, clamp, mean, rstd
  };
  DwJob job = { dw, x, weight, NULL, y, NULL, NULL, &ep, pro, NULL, NULL,
    NULL, NULL, NULL, NULL, &t, y_bn
  };

  affect_parallel_run (channel_parts (dw), forward_part, &job);
  g_free (moments);
}

/* Σ over an output plane of dy times the input under each of the 9 taps.
 * Each tap sums in 8 lanes (lane = ox mod 8, rows in order; the whole
 * vectors and the row tails in lanes of their own) added up in lane order
 * at the end: independent chains instead of one, dy loaded once for the
 * nine taps, and the same bits whatever the instruction set or thread
 * count. xp: the padded
 * input plane, readable 16 floats past its end (stride 2 loads 16 inputs
 * for 8 outputs). */
AFFECT_VECTOR_CLONES static void
plane_weight_grad (const float *restrict xp, int pw, const float *restrict g,
    int s, int oh, int ow, float dk[9])
{
  v8sf acc[9];
  float tail[9][8] = { {0} };
  const int full = ow / 8 * 8;

  for (int t = 0; t < 9; t++)
    SPLAT8 (acc[t], 0.0f);
  for (int oy = 0; oy < oh; oy++) {
    const float *gr = g + (int64_t) oy * ow;
    const float *r[3];
    for (int i = 0; i < 3; i++)
      r[i] = xp + (int64_t) (oy * s + i) * pw;
    /* one load of dy for the nine taps */
    if (s == 1) {
      for (int ox = 0; ox < full; ox += 8) {
        v8sf gv, xv;
        LOAD8 (gv, gr + ox);
        for (int t = 0; t < 9; t++) {
          LOAD8 (xv, r[t / 3] + ox + t % 3);
          acc[t] += gv * xv;
        }
      }
    } else {
      for (int ox = 0; ox < full; ox += 8) {
        v8sf gv, lo, hi, lo2, hi2;
        LOAD8 (gv, gr + ox);
        for (int i = 0; i < 3; i++) {
          LOAD8 (lo, r[i] + 2 * ox);
          LOAD8 (hi, r[i] + 2 * ox + 8);
          LOAD8 (lo2, r[i] + 2 * ox + 2);
          LOAD8 (hi2, r[i] + 2 * ox + 10);
          acc[3 * i] += gv * EVEN8 (lo, hi);
          acc[3 * i + 1] += gv * ODD8 (lo, hi);
          acc[3 * i + 2] += gv * EVEN8 (lo2, hi2);
        }
      }
    }
    for (int t = 0; t < 9; t++)
      for (int ox = full; ox < ow; ox++)
        tail[t][ox - full] += gr[ox] * r[t / 3][s * ox + t % 3];
  }
  for (int t = 0; t < 9; t++) {
    float sum = 0.0f;
    for (int l = 0; l < 8; l++)
      sum += acc[t][l] + tail[t][l];
    dk[t] = sum;
  }
}

/* Stride 2: the input gradient of one plane, each element gathering its
 * terms. Input row y (row y + 1 of the zero-bordered plane) gets them from
 * the output rows oy with filter row i = y + 1 − 2·oy in {0, 1, 2}, oy
 * ascending (one row for y even, i = 1; two for y odd, i = 2 then i = 0);
 * from output row oy, input column 2q gets k[3i+1]·dy[oy][q], and input
 * column 2q + 1 first k[3i+2]·dy[oy][q], then k[3i]·dy[oy][q + 1] (when
 * q + 1 < ow). Each element starts from +0 and adds its terms in that
 * order: the order in which dy scattered through the filter (output row
 * after output row, filter row, output column, filter column) adds them
 * into a zeroed buffer, so the bits are those of the scatter, with no
 * buffer to clear and no pass to interleave the even and odd columns. */
#define ZIP8_LO(a, b) __builtin_shufflevector (a, b, 0, 8, 1, 9, 2, 10, 3, 11)
#define ZIP8_HI(a, b) __builtin_shufflevector (a, b, 4, 12, 5, 13, 6, 14, 7, 15)

AFFECT_VECTOR_CLONES static void
plane_dx_stride2 (const float *restrict g, const float *restrict k, int oh,
    int ow, int h, int w, float *restrict dx)
{
  for (int y = 0; y < h; y++) {
    /* the output rows and filter rows of input row y, in order */
    const float *gr[2];
    const float *kr[2];
    int n = 0;
    float *restrict d = dx + (int64_t) y * w;
    int q = 0;
    if (y % 2 == 0) {
      gr[n] = g + (int64_t) (y / 2) * ow;
      kr[n++] = k + 3;
    } else {
      gr[n] = g + (int64_t) ((y - 1) / 2) * ow;
      kr[n++] = k + 6;
      if ((y + 1) / 2 < oh) {
        gr[n] = g + (int64_t) ((y + 1) / 2) * ow;
        kr[n++] = k;
      }
    }
    /* 8 q at a time while dy[q + 8] is in the row: 16 outputs */
    for (; q + 9 <= ow; q += 8) {
      v8sf ev, od, zero;
      SPLAT8 (zero, 0.0f);
      ev = od = zero;
      for (int t = 0; t < n; t++) {
        v8sf a, b, k0, k1, k2;
        LOAD8 (a, gr[t] + q);
        LOAD8 (b, gr[t] + q + 1);
        SPLAT8 (k0, kr[t][0]);
        SPLAT8 (k1, kr[t][1]);
        SPLAT8 (k2, kr[t][2]);
        od = od + k1 * a;
        ev = ev + k2 * a;
        ev = ev + k0 * b;
      }
      {
        const v8sf lo = ZIP8_LO (od, ev), hi = ZIP8_HI (od, ev);
        memcpy (d + 2 * q, &lo, sizeof (lo));
        memcpy (d + 2 * q + 8, &hi, sizeof (hi));
      }
    }
    for (; q < ow; q++) {
      float ev = 0.0f, od = 0.0f;
      for (int t = 0; t < n; t++) {
        od = od + kr[t][1] * gr[t][q];
        ev = ev + kr[t][2] * gr[t][q];
        if (q + 1 < ow)
          ev = ev + kr[t][0] * gr[t][q + 1];
      }
      if (2 * q < w)
        d[2 * q] = od;
      if (2 * q + 1 < w)
        d[2 * q + 1] = ev;
    }
  }
}

static void
backward_part (int part, int n_parts, gpointer data)
{
  const DwJob *j = data;
  const AffectDepthwise *dw = j->dw;
  const int c0 = (int) ((int64_t) dw->c * part / n_parts);
  const int c1 = (int) ((int64_t) dw->c * (part + 1) / n_parts);
  const float *weight = j->weight, *dy = j->dy;
  float *dx = j->dx, *dweight = j->dweight;
  const int pw = dw->w + 2, s = dw->stride;
  const size_t padded = (size_t) (dw->h + 2) * pw;
  float *xp = g_new0 (float, padded + 16);
  float *dxp = g_new0 (float, padded + 16);
  const int64_t in_plane = (int64_t) dw->h * dw->w;
  const int64_t out_plane = (int64_t) dw->oh * dw->ow;

  const AffectBnBackward *bn = j->bn;
  float *gp = bn != NULL ? g_new (float, out_plane + 16) : NULL;

  for (int c = c0; c < c1; c++) {
    const float *k = weight + 9 * c;
    double dk[9] = { 0 }, acc[16] = { 0 };
    float kf[9];
    /* bn's backward for this channel, as backward_train_channel forms it */
    const float bmu = bn != NULL ? bn->mean[c] : 0.0f;
    const float br = bn != NULL ? bn->rstd[c] : 1.0f;
    const float ba = bn != NULL ? bn->gamma[c] * br : 1.0f;
    const float bb = bn != NULL ? bn->beta[c] - bmu * ba : 0.0f;
    const double bm = (double) dw->n * out_plane;
    const float bmg = bn != NULL ? (float) (bn->sums[2 * c] / bm) : 0.0f;
    const float bmgx = bn != NULL ? (float) (bn->sums[2 * c + 1] / bm) : 0.0f;
    for (int t = 0; t < 9; t++)
      kf[t] = k[8 - t];
    for (int b = 0; b < dw->n; b++) {
      const int64_t p = (int64_t) c * dw->n + b;
      const float *g = dy + p * out_plane;
      if (bn != NULL) {
        /* the gradient w.r.t. this plane of the output, in cache */
        const float *cl = bn->clamp;
        affect_batchnorm_dx_row (out_plane, bn->x + p * out_plane, g, NULL,
            cl != NULL, ba, bb, cl != NULL ? cl[0] : 0.0f,
            cl != NULL ? cl[1] : INFINITY, ba, bmg, bmu, br, bmgx, gp);
        g = gp;
      }
      if (dweight != NULL) {
        float pk[9];
        load_plane (j, c, p, xp);
        plane_weight_grad (xp, pw, g, s, dw->oh, dw->ow, pk);
        for (int q = 0; q < 9; q++)
          dk[q] += pk[q];
      }
      if (dx != NULL && s == 1) {
        /* stride 1: dx is dy, zero-bordered, correlated with the flipped
         * filter */
        pad_interior (g, dw->oh, dw->ow, dxp);
        plane_forward (dxp, pw, kf, 1, dw->h, dw->w, dx + p * in_plane);
      } else if (dx != NULL) {
        plane_dx_stride2 (g, k, dw->oh, dw->ow, dw->h, dw->w,
            dx + p * in_plane);
      }
      if (j->sums != NULL) {
        /* the batch-norm sums of pro over this plane of dx, in cache */
        const float *cl = j->pro->clamp;
        affect_batchnorm_lane_sums (in_plane, (int64_t) b * in_plane,
            j->x + p * in_plane, dx + p * in_plane, NULL, cl != NULL,
            j->pro->scale[c], j->pro->shift[c],
            cl != NULL ? cl[0] : 0.0f, cl != NULL ? cl[1] : INFINITY,
            j->pro_mean[c], j->pro_rstd[c], acc);
      }
    }
    if (j->sums != NULL)
      affect_batchnorm_lane_total (acc, &j->sums[2 * c], &j->sums[2 * c + 1]);
    if (j->pro_dx) {
      /* the channel's sums are whole: dx through pro's batch-norm, in
       * place, as affect_batchnorm_backward_train_sums forms it, while
       * the channel's last planes are still in cache */
      const float *cl = j->pro->clamp;
      const double mt = (double) dw->n * in_plane;
      const float a = j->pro->scale[c];
      const float mg = (float) (j->sums[2 * c] / mt);
      const float mgx = (float) (j->sums[2 * c + 1] / mt);
      for (int b = 0; b < dw->n; b++) {
        const int64_t p = (int64_t) c * dw->n + b;
        affect_batchnorm_dx_row (in_plane, j->x + p * in_plane,
            dx + p * in_plane, NULL, cl != NULL, a, j->pro->shift[c],
            cl != NULL ? cl[0] : 0.0f, cl != NULL ? cl[1] : INFINITY, a, mg,
            j->pro_mean[c], j->pro_rstd[c], mgx, dx + p * in_plane);
      }
    }
    if (dweight != NULL)
      for (int q = 0; q < 9; q++)
        dweight[9 * c + q] += (float) dk[q];
  }
  g_free (xp);
  g_free (dxp);
  g_free (gp);
}

void
affect_depthwise_backward (const AffectDepthwise * dw, const float *x,
    const float *weight, const float *dy, float *dx, float *dweight)
{
  DwJob job = { dw, x, weight, dy, NULL, dx, dweight, NULL, NULL };

  affect_parallel_run (channel_parts (dw), backward_part, &job);
}

void
affect_depthwise_backward_pro_sums (const AffectDepthwise * dw,
    const float *x, const AffectEpilogue * pro, const float *mean,
    const float *rstd, const float *weight, const float *dy, float *dx,
    float *dweight, double *sums)
{
  DwJob job = { dw, x, weight, dy, NULL, dx, dweight, NULL, pro, mean, rstd,
    sums
  };

  g_assert (dx != NULL && pro != NULL);
  affect_parallel_run (channel_parts (dw), backward_part, &job);
}

void
affect_depthwise_backward_bn (const AffectDepthwise * dw, const float *x,
    const AffectEpilogue * pro, const float *mean, const float *rstd,
    const float *weight, const float *dy, float *dx, float *dweight,
    double *sums, gboolean pro_dx, const AffectBnBackward * post)
{
  DwJob job = { dw, x, weight, dy, NULL, dx, dweight, NULL, pro, mean, rstd,
    sums, NULL, NULL, post, NULL, NULL, pro_dx
  };

  g_assert (sums == NULL || (dx != NULL && pro != NULL));
  g_assert (!pro_dx || sums != NULL);
  affect_parallel_run (channel_parts (dw), backward_part, &job);
}

void
affect_depthwise_backward_pro (const AffectDepthwise * dw, const float *x,
    const AffectEpilogue * pro, const float *weight, const float *dy,
    float *dx, float *dweight)
{
  DwJob job = { dw, x, weight, dy, NULL, dx, dweight, NULL, pro };

  affect_parallel_run (channel_parts (dw), backward_part, &job);
}

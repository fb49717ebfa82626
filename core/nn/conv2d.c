/* 2-D convolution (groups = 1) as im2col + one affect_sgemm per batch.
 *
 * Activations are channel-major (C, N, H, W) (see nn-layers.h), so the
 * whole batch is one product: Y (Cout × N·OH·OW) = W (Cout × Cin·kh·kw) ·
 * col (Cin·kh·kw × N·OH·OW). A 1×1, stride 1, unpadded convolution needs no
 * im2col at all: X itself is the column matrix. */
#include <string.h>

#include "affect/nn.h"
#include "affect/nn-layers.h"
#include "affect/parallel.h"
#include "vector-clones.h"

typedef float v4sf __attribute__((vector_size (16)));
typedef double v4df __attribute__((vector_size (32)));

/* Σ d in double, in 8 lanes (lane = index mod 8) added up in lane order:
 * independent chains, the same bits on any instruction set */
AFFECT_VECTOR_CLONES static double
sum_lanes (int64_t n, const float *restrict d)
{
  v4df a0 = { 0 }, a1 = { 0 };
  double s = 0.0;
  int64_t p = 0;

  for (; p + 8 <= n; p += 8) {
    v4sf x0, x1;
    memcpy (&x0, d + p, sizeof (x0));
    memcpy (&x1, d + p + 4, sizeof (x1));
    a0 += __builtin_convertvector (x0, v4df);
    a1 += __builtin_convertvector (x1, v4df);
  }
  for (int l = 0; p < n; p++, l++)
    if (l < 4)
      a0[l] += d[p];
    else
      a1[l - 4] += d[p];
  for (int l = 0; l < 4; l++)
    s += a0[l];
  for (int l = 0; l < 4; l++)
    s += a1[l];
  return s;
}

gboolean
affect_conv2d_geometry (AffectConv2d * conv, int cin, int cout, int kh,
    int kw, int stride, int pad, int n, int h, int w)
{
  conv->cin = cin;
  conv->cout = cout;
  conv->kh = kh;
  conv->kw = kw;
  conv->stride = stride;
  conv->pad = pad;
  conv->n = n;
  conv->h = h;
  conv->w = w;
  if (stride < 1 || h + 2 * pad < kh || w + 2 * pad < kw)
    return FALSE;
  conv->oh = (h + 2 * pad - kh) / stride + 1;
  conv->ow = (w + 2 * pad - kw) / stride + 1;
  return TRUE;
}

static gboolean
conv_is_pointwise (const AffectConv2d * conv)
{
  return conv->kh == 1 && conv->kw == 1 && conv->stride == 1 && conv->pad == 0;
}

size_t
affect_conv2d_workspace (const AffectConv2d * conv)
{
  if (conv_is_pointwise (conv))
    return 0;
  return (size_t) conv->cin * conv->kh * conv->kw * conv->n * conv->oh *
      conv->ow;
}

/* im2col and col2im run as parts of (channel, block of images): a part
 * writes only its own entries of col (im2col) or its own planes of dx
 * (col2im, which adds a plane's kh·kw rows in order), and the blocks
 * follow from the layer's size alone, so the bits do not depend on the
 * thread count. */
#define PART_FLOATS (1 << 18)

typedef struct
{
  const AffectConv2d *g;
  const float *x, *col;
  float *out;
  int per_part;                 /* images per part */
  int parts_per_channel;
} ColJob;

static void
col_parts (const AffectConv2d * g, ColJob * job)
{
  const int64_t per_image = (int64_t) g->kh * g->kw * g->oh * g->ow;

  job->g = g;
  job->per_part = (int) CLAMP (PART_FLOATS / MAX (per_image, 1), 1, g->n);
  job->parts_per_channel = (g->n + job->per_part - 1) / job->per_part;
}

/* the output columns ox whose input column ox·s − p + j lies in [0, w) */
static void
valid_columns (const AffectConv2d * g, int j, int *lo, int *hi)
{
  const int s = g->stride, off = j - g->pad;
  int a = off >= 0 ? 0 : (-off + s - 1) / s;
  int b = g->w - 1 - off < 0 ? 0 : (g->w - 1 - off) / s + 1;

  *lo = MIN (a, g->ow);
  *hi = CLAMP (b, *lo, g->ow);
}

/* col[(c·kh + i)·kw + j][(n·OH + oy)·OW + ox] = x[c][n][oy·s − p + i][ox·s − p + j] */
static void
im2col_part (int part, int n_parts, gpointer data)
{
  const ColJob *job = data;
  const AffectConv2d *g = job->g;
  const int c = part / job->parts_per_channel;
  const int b0 = part % job->parts_per_channel * job->per_part;
  const int b1 = MIN (b0 + job->per_part, g->n);
  const int64_t plane = (int64_t) g->h * g->w;
  const int64_t ocols = (int64_t) g->n * g->oh * g->ow;
  const int s = g->stride;

  for (int i = 0; i < g->kh; i++)
    for (int j = 0; j < g->kw; j++) {
      float *row = job->out + (((int64_t) c * g->kh + i) * g->kw + j) * ocols;
      int lo, hi;
      valid_columns (g, j, &lo, &hi);
      for (int b = b0; b < b1; b++) {
        const float *xp = job->x + ((int64_t) c * g->n + b) * plane;
        for (int oy = 0; oy < g->oh; oy++) {
          const int iy = oy * s - g->pad + i;
          float *r = row + ((int64_t) b * g->oh + oy) * g->ow;
          if (iy < 0 || iy >= g->h) {
            memset (r, 0, sizeof (float) * g->ow);
            continue;
          }
          const float *xr = xp + (int64_t) iy * g->w - g->pad + j;
          for (int ox = 0; ox < lo; ox++)
            r[ox] = 0.0f;
          if (s == 1)
            memcpy (r + lo, xr + lo, sizeof (float) * (hi - lo));
          else
            for (int ox = lo; ox < hi; ox++)
              r[ox] = xr[ox * s];
          for (int ox = hi; ox < g->ow; ox++)
            r[ox] = 0.0f;
        }
      }
    }
}

static void
im2col (const AffectConv2d * g, const float *x, float *col)
{
  ColJob job;

  col_parts (g, &job);
  job.x = x;
  job.out = col;
  affect_parallel_run (g->cin * job.parts_per_channel, im2col_part, &job);
}

/* adds every column entry back to the input position it was copied from */
static void
col2im_part (int part, int n_parts, gpointer data)
{
  const ColJob *job = data;
  const AffectConv2d *g = job->g;
  const int c = part / job->parts_per_channel;
  const int b0 = part % job->parts_per_channel * job->per_part;
  const int b1 = MIN (b0 + job->per_part, g->n);
  const int64_t plane = (int64_t) g->h * g->w;
  const int64_t ocols = (int64_t) g->n * g->oh * g->ow;
  const int s = g->stride;

  memset (job->out + ((int64_t) c * g->n + b0) * plane, 0,
      sizeof (float) * plane * (b1 - b0));
  for (int i = 0; i < g->kh; i++)
    for (int j = 0; j < g->kw; j++) {
      const float *row =
          job->col + (((int64_t) c * g->kh + i) * g->kw + j) * ocols;
      int lo, hi;
      valid_columns (g, j, &lo, &hi);
      for (int b = b0; b < b1; b++) {
        float *xp = job->out + ((int64_t) c * g->n + b) * plane;
        for (int oy = 0; oy < g->oh; oy++) {
          const int iy = oy * s - g->pad + i;
          if (iy < 0 || iy >= g->h)
            continue;
          const float *r = row + ((int64_t) b * g->oh + oy) * g->ow;
          float *xr = xp + (int64_t) iy * g->w - g->pad + j;
          for (int ox = lo; ox < hi; ox++)
            xr[ox * s] += r[ox];
        }
      }
    }
}

static void
col2im (const AffectConv2d * g, const float *col, float *dx)
{
  ColJob job;

  col_parts (g, &job);
  job.col = col;
  job.out = dx;
  affect_parallel_run (g->cin * job.parts_per_channel, col2im_part, &job);
}

void
affect_conv2d_forward (const AffectConv2d * conv, const float *x,
    const float *weight, const float *bias, float *y, float *col)
{
  const int k = conv->cin * conv->kh * conv->kw;
  const int64_t cols = (int64_t) conv->n * conv->oh * conv->ow;
  const float *b_mat = x;

  if (!conv_is_pointwise (conv)) {
    im2col (conv, x, col);
    b_mat = col;
  }
  if (bias != NULL) {
    for (int o = 0; o < conv->cout; o++) {
      float *yo = y + (int64_t) o * cols;
      for (int64_t p = 0; p < cols; p++)
        yo[p] = bias[o];
    }
  }
  affect_sgemm (FALSE, FALSE, conv->cout,
      (int) cols, k, 1.0f, weight, k, b_mat, (int) cols,
      bias != NULL ? 1.0f : 0.0f, y, (int) cols);
}

typedef struct
{
  const float *dy;
  float *dbias;
  int64_t cols;
  int cout, per_part;
} BiasJob;

/* the bias gradients of a block of output channels, each summed whole */
static void
bias_part (int part, int n_parts, gpointer data)
{
  const BiasJob *j = data;
  const int o1 = MIN ((part + 1) * j->per_part, j->cout);

  for (int o = part * j->per_part; o < o1; o++)
    j->dbias[o] += (float) sum_lanes (j->cols, j->dy + (int64_t) o * j->cols);
}

void
affect_conv2d_backward (const AffectConv2d * conv, const float *x,
    const float *weight, const float *dy, float *dx, float *dweight,
    float *dbias, float *col)
{
  const int k = conv->cin * conv->kh * conv->kw;
  const int64_t cols = (int64_t) conv->n * conv->oh * conv->ow;
  const gboolean pointwise = conv_is_pointwise (conv);

  if (dbias != NULL) {
    BiasJob job = { dy, dbias, cols, conv->cout,
      (int) CLAMP (PART_FLOATS / MAX (cols, 1), 1, conv->cout)
    };
    affect_parallel_run ((conv->cout + job.per_part - 1) / job.per_part,
        bias_part, &job);
  }
  if (dweight != NULL) {
    const float *b_mat = x;
    if (!pointwise) {
      im2col (conv, x, col);
      b_mat = col;
    }
    /* dW (cout × k) += dY (cout × cols) · colᵀ */
    affect_sgemm (FALSE, TRUE, conv->cout, k,
        (int) cols, 1.0f, dy, (int) cols, b_mat, (int) cols, 1.0f, dweight, k);
  }
  if (dx != NULL) {
    /* dcol (k × cols) = Wᵀ · dY */
    float *dcol = pointwise ? dx : col;
    affect_sgemm (TRUE, FALSE, k, (int) cols,
        conv->cout, 1.0f, weight, k, dy, (int) cols, 0.0f, dcol, (int) cols);
    if (!pointwise)
      col2im (conv, col, dx);
  }
}

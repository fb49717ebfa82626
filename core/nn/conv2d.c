/* 2-D convolution (groups = 1) as im2col + one affect_sgemm per batch.
 *
 * Activations are channel-major (C, N, H, W) (see nn-layers.h), so the
 * whole batch is one product: Y (Cout × N·OH·OW) = W (Cout × Cin·kh·kw) ·
 * col (Cin·kh·kw × N·OH·OW). A 1×1, stride 1, unpadded convolution needs no
 * im2col at all: X itself is the column matrix. */
#include <string.h>

#include "affect/nn.h"
#include "affect/nn-layers.h"
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

/* col[(c·kh + i)·kw + j][(n·OH + oy)·OW + ox] = x[c][n][oy·s − p + i][ox·s − p + j] */
static void
im2col (const AffectConv2d * g, const float *x, float *col)
{
  const int64_t plane = (int64_t) g->h * g->w;
  const int64_t ocols = (int64_t) g->n * g->oh * g->ow;

  for (int c = 0; c < g->cin; c++)
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++) {
        float *row = col + (((int64_t) c * g->kh + i) * g->kw + j) * ocols;
        for (int b = 0; b < g->n; b++) {
          const float *xp = x + ((int64_t) c * g->n + b) * plane;
          for (int oy = 0; oy < g->oh; oy++) {
            int iy = oy * g->stride - g->pad + i;
            float *r = row + ((int64_t) b * g->oh + oy) * g->ow;
            if (iy < 0 || iy >= g->h) {
              memset (r, 0, sizeof (float) * g->ow);
              continue;
            }
            const float *xr = xp + (int64_t) iy * g->w;
            if (g->stride == 1) {
              int lo = g->pad - j, hi = g->w + g->pad - j;      /* valid ox in [lo, hi) */
              if (lo < 0)
                lo = 0;
              if (hi > g->ow)
                hi = g->ow;
              for (int ox = 0; ox < lo && ox < g->ow; ox++)
                r[ox] = 0.0f;
              if (hi > lo)
                memcpy (r + lo, xr + lo - g->pad + j,
                    sizeof (float) * (hi - lo));
              for (int ox = hi > lo ? hi : lo; ox < g->ow; ox++)
                r[ox] = 0.0f;
            } else {
              for (int ox = 0; ox < g->ow; ox++) {
                int ix = ox * g->stride - g->pad + j;
                r[ox] = (ix >= 0 && ix < g->w) ? xr[ix] : 0.0f;
              }
            }
          }
        }
      }
}

/* adds every column entry back to the input position it was copied from */
static void
col2im (const AffectConv2d * g, const float *col, float *dx)
{
  const int64_t plane = (int64_t) g->h * g->w;
  const int64_t ocols = (int64_t) g->n * g->oh * g->ow;

  memset (dx, 0, sizeof (float) * g->cin * g->n * plane);
  for (int c = 0; c < g->cin; c++)
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++) {
        const float *row =
            col + (((int64_t) c * g->kh + i) * g->kw + j) * ocols;
        for (int b = 0; b < g->n; b++) {
          float *xp = dx + ((int64_t) c * g->n + b) * plane;
          for (int oy = 0; oy < g->oh; oy++) {
            int iy = oy * g->stride - g->pad + i;
            if (iy < 0 || iy >= g->h)
              continue;
            const float *r = row + ((int64_t) b * g->oh + oy) * g->ow;
            float *xr = xp + (int64_t) iy * g->w;
            for (int ox = 0; ox < g->ow; ox++) {
              int ix = ox * g->stride - g->pad + j;
              if (ix >= 0 && ix < g->w)
                xr[ix] += r[ox];
            }
          }
        }
      }
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

void
affect_conv2d_backward (const AffectConv2d * conv, const float *x,
    const float *weight, const float *dy, float *dx, float *dweight,
    float *dbias, float *col)
{
  const int k = conv->cin * conv->kh * conv->kw;
  const int64_t cols = (int64_t) conv->n * conv->oh * conv->ow;
  const gboolean pointwise = conv_is_pointwise (conv);

  if (dbias != NULL) {
    for (int o = 0; o < conv->cout; o++)
      dbias[o] += (float) sum_lanes (cols, dy + (int64_t) o * cols);
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

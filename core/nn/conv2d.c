/* 2-D convolution (groups = 1) as im2col + one affect_sgemm per batch.
 *
 * Activations are channel-major (C, N, H, W) (see nn-layers.h), so the
 * whole batch is one product: Y (Cout × N·OH·OW) = W (Cout × Cin·kh·kw) ·
 * col (Cin·kh·kw × N·OH·OW). A 1×1, stride 1, unpadded convolution needs no
 * im2col at all: X itself is the column matrix. */
#include <cblas.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/nn.h"
#include "affect/nn-layers.h"
#include "affect/parallel.h"
#include "conv2d-private.h"
#include "epilogue.h"
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
#define COL_GROUP_FLOATS (1 << 15)

typedef struct
{
  const AffectConv2d *g;
  const float *x, *col;
  float *out;
  int per_part;                 /* images per part */
  int parts_per_channel;
  int channels;                 /* im2col: channels per part */
} ColJob;

static void
col_parts (const AffectConv2d * g, ColJob * job)
{
  const int64_t per_image = (int64_t) g->kh * g->kw * g->oh * g->ow;

  job->g = g;
  job->per_part = (int) CLAMP (PART_FLOATS / MAX (per_image, 1), 1, g->n);
  job->parts_per_channel = (g->n + job->per_part - 1) / job->per_part;
  /* small maps (out_conv: 864 floats a channel): a few channels a part,
   * 128 KiB of columns, instead of a part per channel */
  job->channels = job->parts_per_channel > 1 ? 1 :
      (int) CLAMP (COL_GROUP_FLOATS / MAX (per_image * g->n, 1), 1, g->cin);
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
im2col_channel (const ColJob * job, int c, int b0, int b1)
{
  const AffectConv2d *g = job->g;
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
          if (s == 1 && hi - lo >= 16)
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
im2col_part (int part, int n_parts, gpointer data)
{
  const ColJob *job = data;
  const AffectConv2d *g = job->g;

  if (job->channels > 1) {
    const int c0 = part * job->channels;
    for (int c = c0; c < MIN (c0 + job->channels, g->cin); c++)
      im2col_channel (job, c, 0, g->n);
  } else {
    const int c = part / job->parts_per_channel;
    const int b0 = part % job->parts_per_channel * job->per_part;
    im2col_channel (job, c, b0, MIN (b0 + job->per_part, g->n));
  }
}

static void
im2col (const AffectConv2d * g, const float *x, float *col)
{
  ColJob job;

  col_parts (g, &job);
  job.x = x;
  job.out = col;
  affect_parallel_run (job.channels > 1 ? (g->cin + job.channels - 1) /
      job.channels : g->cin * job.parts_per_channel, im2col_part, &job);
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

/* Fused forward: the product is cut into blocks of whole columns (the
 * block width follows from the shape alone), each block one
 * single-threaded cblas_sgemm followed at once by the epilogue on its
 * rows, while they are in cache. The batch-norm moments of a block are
 * kept per (block, channel) and merged in block order afterwards, so the
 * bits do not depend on the thread count. */
#define FUSED_BLOCK_FLOATS (1 << 17)

typedef struct
{
  int cout, k;
  int64_t cols, width;
  const float *w, *b, *bias;
  const AffectEpilogue *ep;
  float *y;
  double *moments;              /* blocks × cout × {mean, M2} */
  /* im2col per block: the convolution, its input, and one column buffer
   * (k × width) per thread that can run a block at the same time */
  const AffectConv2d *conv;
  const float *x;
  int n_ws;
  float **ws;
  gint *busy;
} FusedJob;

/* im2col of output columns [start, start + len) only, into out (k rows of
 * len): the values im2col writes there */
void
affect_im2col_block (const AffectConv2d * g, const float *x, int64_t start,
    int64_t len, float *out)
{
  const int64_t plane = (int64_t) g->h * g->w;
  const int s = g->stride;

  for (int c = 0; c < g->cin; c++)
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++) {
        float *row = out + (((int64_t) c * g->kh + i) * g->kw + j) * len;
        const int64_t end = start + len;
        int lo, hi;
        valid_columns (g, j, &lo, &hi);
        for (int64_t p = start; p < end;) {
          const int64_t image_row = p / g->ow;
          const int ox0 = (int) (p % g->ow);
          const int ox1 = (int) MIN ((int64_t) g->ow, ox0 + (end - p));
          const int b = (int) (image_row / g->oh);
          const int oy = (int) (image_row % g->oh);
          const int iy = oy * s - g->pad + i;
          float *r = row + (p - start) - ox0;
          if (iy < 0 || iy >= g->h) {
            for (int ox = ox0; ox < ox1; ox++)
              r[ox] = 0.0f;
          } else {
            const float *xr = x + ((int64_t) c * g->n + b) * plane +
                (int64_t) iy * g->w - g->pad + j;
            const int a = MAX (lo, ox0), e = MIN (hi, ox1);
            for (int ox = ox0; ox < MIN (lo, ox1); ox++)
              r[ox] = 0.0f;
            if (a < e && s == 1)
              memcpy (r + a, xr + a, sizeof (float) * (e - a));
            else
              for (int ox = a; ox < e; ox++)
                r[ox] = xr[ox * s];
            for (int ox = MAX (hi, ox0); ox < ox1; ox++)
              r[ox] = 0.0f;
          }
          p += ox1 - ox0;
        }
      }
}

static void
epilogue_rows (const FusedJob * j, int o0, int o1, int64_t start, int64_t len,
    double *moments)
{
  const AffectEpilogue *ep = j->ep;

  if (ep->moments != NULL) {
    /* the bias, then the moments of several rows side by side */
    for (int o = o0; j->bias != NULL && o < o1; o++)
      affect_epilogue_row (len, j->y + (int64_t) o * j->cols + start, 1,
          j->bias[o], 0, 1.0f, 0.0f, NULL, NULL);
    affect_rows_moments (o1 - o0, len, j->y + (int64_t) o0 * j->cols + start,
        j->cols, moments + 2 * o0);
    return;
  }
  for (int o = o0; o < o1; o++) {
    float *row = j->y + (int64_t) o * j->cols + start;
    affect_epilogue_row (len, row, j->bias != NULL,
        j->bias != NULL ? j->bias[o] : 0.0f, ep->scale != NULL,
        ep->scale != NULL ? ep->scale[o] : 1.0f,
        ep->shift != NULL ? ep->shift[o] : 0.0f, ep->clamp,
        ep->residual != NULL ? ep->residual + (int64_t) o * j->cols +
        start : NULL);
  }
}

static void
fused_block (int part, int n_parts, gpointer data)
{
  const FusedJob *j = data;
  const int64_t start = part * j->width;
  const int64_t len = MIN (j->width, j->cols - start);
  int wi = -1;

  if (j->x != NULL) {
    /* this block's columns, made while its product runs from cache */
    for (wi = 0;; wi = (wi + 1) % j->n_ws)
      if (g_atomic_int_compare_and_exchange (&j->busy[wi], 0, 1))
        break;
    affect_im2col_block (j->conv, j->x, start, len, j->ws[wi]);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, j->cout,
        (int) len, j->k, 1.0f, j->w, j->k, j->ws[wi], (int) len, 0.0f,
        j->y + start, (int) j->cols);
    g_atomic_int_set (&j->busy[wi], 0);
  } else {
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, j->cout,
        (int) len, j->k, 1.0f, j->w, j->k, j->b + start, (int) j->cols, 0.0f,
        j->y + start, (int) j->cols);
  }
  epilogue_rows (j, 0, j->cout, start, len,
      j->moments != NULL ? j->moments + (int64_t) part * 2 * j->cout : NULL);
}

/* a product whose B (k × cols) exceeds this many floats is cut into
 * slabs of at least WIDE_B_ROWS rows */
#define WIDE_B_FLOATS (1 << 18)
#define WIDE_B_ROWS 256

typedef struct
{
  const FusedJob *j;
  AffectProduct p;
} SlabJob;

/* one slab of affect_sgemm's cut, then the epilogue on it while it is in
 * cache: the bits of the product then the epilogue */
static void
fused_slab (int part, int n_parts, gpointer data)
{
  const SlabJob *sj = data;
  int start, len;

  affect_product_run_part (&sj->p, part, &start, &len);
  if (sj->p.by_columns)
    epilogue_rows (sj->j, 0, sj->j->cout, start, len, NULL);
  else
    epilogue_rows (sj->j, start, start + len, 0, sj->j->cols, NULL);
}

/* the epilogue alone over whole rows, as blocks of channels */
static void
fused_channels (int part, int n_parts, gpointer data)
{
  const FusedJob *j = data;
  const int o0 = (int) ((int64_t) j->cout * part / n_parts);
  const int o1 = (int) ((int64_t) j->cout * (part + 1) / n_parts);

  epilogue_rows (j, o0, o1, 0, j->cols, j->ep->moments);
}

void
affect_conv2d_forward_fused (const AffectConv2d * conv, const float *x,
    const float *weight, const float *bias, const AffectEpilogue * ep,
    float *y, float *col)
{
  const int k = conv->cin * conv->kh * conv->kw;
  const int64_t cols = (int64_t) conv->n * conv->oh * conv->ow;
  FusedJob j = { conv->cout, k, cols, 0, weight, x, bias, ep, y, NULL };
  int64_t width;
  int blocks;

  if (ep == NULL) {
    affect_conv2d_forward (conv, x, weight, bias, y, col);
    return;
  }
  /* a block of C of about FUSED_BLOCK_FLOATS (in L2), at least 256
   * columns wide: the weights are packed again for every block */
  width = FUSED_BLOCK_FLOATS / MAX (conv->cout, 1) / 16 * 16;
  width = CLAMP (width, 256, 4096);
  blocks = (int) ((cols + width - 1) / width);
  if (!conv_is_pointwise (conv) && blocks >= 4) {
    /* each block makes its own columns (the same values, so the same
     * bits): the k × cols matrix never goes through memory */
    j.conv = conv;
    j.x = x;
    j.n_ws = MAX (MIN (affect_get_threads (), blocks), 1);
    j.ws = g_new (float *, j.n_ws);
    j.busy = g_new0 (gint, j.n_ws);
    for (int i = 0; i < j.n_ws; i++)
      j.ws[i] = g_new (float, (size_t) k * width);
  } else if (!conv_is_pointwise (conv)) {
    im2col (conv, x, col);
    j.b = col;
  }
  if (blocks < 4 && ep->moments == NULL) {
    /* too few blocks to share: the product in affect_sgemm's slabs, each
     * followed by the epilogue on its part of C */
    SlabJob sj = { &j };
    affect_product_init (&sj.p, FALSE, FALSE, conv->cout, (int) cols, k,
        1.0f, j.w, k, j.b, (int) cols, 0.0f, y, (int) cols);
    if (!sj.p.by_columns && (int64_t) k * cols > WIDE_B_FLOATS
        && sj.p.slab < WIDE_B_ROWS) {
      /* B is packed again for every slab of rows: beyond L2, slabs of
       * WIDE_B_ROWS rows (out_conv: 12.3-12.6 ms against 14.4 ms for
       * 64-row slabs, one thread) */
      sj.p.slab = WIDE_B_ROWS;
      sj.p.n_parts = (conv->cout + WIDE_B_ROWS - 1) / WIDE_B_ROWS;
    }
    affect_parallel_run (sj.p.n_parts, fused_slab, &sj);
    return;
  }
  if (blocks < 4) {
    /* the product as usual, then the moments over blocks of channels */
    const int64_t per_part = MAX (FUSED_BLOCK_FLOATS / MAX (cols, 1), 1);
    affect_sgemm (FALSE, FALSE, conv->cout, (int) cols, k, 1.0f, j.w, k,
        j.b, (int) cols, 0.0f, y, (int) cols);
    affect_parallel_run ((int) ((conv->cout + per_part - 1) / per_part),
        fused_channels, &j);
    return;
  }
  j.width = width;
  if (ep->moments != NULL)
    j.moments = g_new (double, (size_t) blocks * 2 * conv->cout);
  affect_parallel_run (blocks, fused_block, &j);
  if (j.ws != NULL) {
    for (int i = 0; i < j.n_ws; i++)
      g_free (j.ws[i]);
    g_free (j.ws);
    g_free (j.busy);
  }
  if (ep->moments != NULL) {
    for (int o = 0; o < conv->cout; o++) {
      double n = 0.0, mean = 0.0, m2 = 0.0;
      for (int b = 0; b < blocks; b++) {
        const double *pm = j.moments + ((int64_t) b * conv->cout + o) * 2;
        affect_moments_merge (&n, &mean, &m2,
            (double) MIN (width, cols - (int64_t) b * width), pm[0], pm[1]);
      }
      ep->moments[2 * o] = mean;
      ep->moments[2 * o + 1] = m2;
    }
    g_free (j.moments);
  }
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

/* The weight and the input gradient are independent products of the
 * same dy: their slabs (affect_sgemm's, AffectProduct) run as one job, so
 * a weight gradient with few output channels and a huge K — one slab, a
 * tenth of a second at full resolution — runs beside the input gradient's
 * slabs instead of alone on one thread while the others wait. Each slab
 * is the call affect_sgemm makes: the bits are those of the two products
 * run one after the other. */
typedef struct
{
  AffectProduct dw, dx;
} PairJob;

static void
pair_part (int part, int n_parts, gpointer data)
{
  const PairJob *j = data;

  if (part < j->dw.n_parts)
    affect_product_run_part (&j->dw, part, NULL, NULL);
  else
    affect_product_run_part (&j->dx, part - j->dw.n_parts, NULL, NULL);
}

void
affect_conv2d_backward (const AffectConv2d * conv, const float *x,
    const float *weight, const float *dy, float *dx, float *dweight,
    float *dbias, float *col)
{
  affect_conv2d_backward_ws (conv, x, weight, dy, dx, dweight, dbias, col,
      NULL);
}

void
affect_conv2d_backward_ws (const AffectConv2d * conv, const float *x,
    const float *weight, const float *dy, float *dx, float *dweight,
    float *dbias, float *col, float *dcol)
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
  if (dweight != NULL && dx != NULL && (pointwise || dcol != NULL)) {
    const float *b_mat = x;
    float *dc = pointwise ? dx : dcol;
    PairJob job;
    if (!pointwise) {
      im2col (conv, x, col);
      b_mat = col;
    }
    /* dW (cout × k) += dY (cout × cols) · colᵀ; dcol (k × cols) = Wᵀ · dY */
    affect_product_init (&job.dw, FALSE, TRUE, conv->cout, k, (int) cols,
        1.0f, dy, (int) cols, b_mat, (int) cols, 1.0f, dweight, k);
    affect_product_init (&job.dx, TRUE, FALSE, k, (int) cols, conv->cout,
        1.0f, weight, k, dy, (int) cols, 0.0f, dc, (int) cols);
    affect_parallel_run (job.dw.n_parts + job.dx.n_parts, pair_part, &job);
    if (!pointwise)
      col2im (conv, dcol, dx);
    return;
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
    float *dc = pointwise ? dx : col;
    affect_sgemm (TRUE, FALSE, k, (int) cols,
        conv->cout, 1.0f, weight, k, dy, (int) cols, 0.0f, dc, (int) cols);
    if (!pointwise)
      col2im (conv, col, dx);
  }
}

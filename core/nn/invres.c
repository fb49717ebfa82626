/* MobileNetV2's inverted-residual block for inference, one image per part
 * and strip of output rows after strip (see affect/nn-layers.h).
 *
 * Run layer by layer over the whole batch, the block writes its expanded
 * activation (six times the input's channels: 38 MiB for MoodNet's second
 * block at 16 chunks) to memory, reads it back for the depthwise
 * convolution, writes and reads the depthwise output again, and zeroes
 * each product's output first. Here a strip's expanded rows are made into
 * a buffer sized to stay in the core's L2 cache, the depthwise rows of
 * the strip are made from them into a second one, and the projection
 * writes the block's output; only the block's input and output touch
 * memory. The expanded rows that the next strip's depthwise also reads
 * (one or two, the filter's halo) are kept, not made again.
 *
 * Each image is one part of work on the pool with single-threaded
 * products, so a block costs one synchronisation instead of three, and
 * the strips follow from the shapes alone: the bits do not depend on the
 * thread count. Against the layer-by-layer path the depthwise outputs
 * and every epilogue have the same arithmetic; the 1×1 products are cut
 * into other column blocks, which can move the last bits of their sums. */
#include <cblas.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/nn-layers.h"
#include "affect/parallel.h"
#include "conv2d-private.h"
#include "depthwise-plane.h"
#include "epilogue.h"

/* floats of expanded rows a strip may hold (512 KiB: with the depthwise
 * rows and the weights, within a core's L2) */
#define EXPANDED_FLOATS (1 << 17)

gboolean
affect_invres_geometry (AffectInvRes * g, int cin, int hidden, int cout,
    int stride, int n, int h, int w)
{
  int rows_in;

  g->cin = cin;
  g->hidden = hidden;
  g->cout = cout;
  g->stride = stride;
  g->n = n;
  g->h = h;
  g->w = w;
  if ((stride != 1 && stride != 2) || h < 1 || w < 1 || n < 1 || cin < 1
      || hidden < 1 || cout < 1)
    return FALSE;
  g->oh = (h - 1) / stride + 1;
  g->ow = (w - 1) / stride + 1;
  /* a strip of s output rows reads (s − 1)·stride + 3 input rows */
  rows_in = MAX (EXPANDED_FLOATS / MAX ((int64_t) hidden * w, 1), 3);
  g->strip = CLAMP ((rows_in - 3) / stride + 1, 1, g->oh);
  /* whole images, as many as the expanded and depthwise activations of
   * EXPANDED_FLOATS hold */
  g->group = 1;
  if (g->strip == g->oh)
    g->group = (int) CLAMP (EXPANDED_FLOATS / ((int64_t) hidden *
            ((int64_t) h * w + (int64_t) g->oh * g->ow)), 1, n);
  return TRUE;
}

typedef struct
{
  const AffectInvRes *g;
  const AffectConv2d *pre;      /* the expansion as this convolution */
  const float *x, *w_exp, *w_dw, *w_proj;
  const AffectEpilogue *ep_exp, *ep_dw, *ep_proj;
  float *y;
  /* one workspace per thread that can run a part at the same time */
  int n_ws;
  float **ws;
  gint *busy;
} InvResJob;

static void
row_epilogue (const AffectEpilogue * ep, int c, int64_t n, float *v,
    const float *residual)
{
  affect_epilogue_row (n, v, 0, 0.0f, ep->scale != NULL,
      ep->scale != NULL ? ep->scale[c] : 1.0f,
      ep->shift != NULL ? ep->shift[c] : 0.0f, ep->clamp, residual);
}

/* a free workspace of the job (as many as the pool has threads), marked
 * busy; its index in *wi, for g_atomic_int_set (&j->busy[*wi], 0) */
static float *
claim_workspace (const InvResJob * j, int *wi)
{
  for (int i = 0;; i = (i + 1) % j->n_ws)
    if (g_atomic_int_compare_and_exchange (&j->busy[i], 0, 1)) {
      *wi = i;
      return j->ws[i];
    }
}

static void
image_part (int part, int n_parts, gpointer data)
{
  const InvResJob *j = data;
  const AffectInvRes *g = j->g;
  const int s = g->stride, h = g->h, w = g->w, ow = g->ow, pw = w + 2;
  const int cap = (g->strip - 1) * s + 3;       /* input rows of a strip */
  const int64_t in_plane = (int64_t) h * w;
  const int64_t out_plane = (int64_t) g->oh * ow;
  const int64_t xcs = (int64_t) g->n * in_plane;        /* channel strides */
  const int64_t ycs = (int64_t) g->n * out_plane;
  const int64_t ecs = (int64_t) cap * w;
  const int64_t dcs = (int64_t) g->strip * ow;
  const float *xb = j->x + part * in_plane;
  float *yb = j->y + part * out_plane;
  float *ws, *e, *d, *pad, *col;
  int wi, e_lo = 0, e_hi = 0;

  (void) n_parts;
  ws = claim_workspace (j, &wi);
  e = ws;
  d = e + (j->w_exp != NULL ? g->hidden * ecs : 0);
  pad = d + g->hidden * dcs;
  col = pad + (int64_t) (cap + 2) * pw + 16;

  for (int r0 = 0; r0 < g->oh; r0 += g->strip) {
    const int r1 = MIN (r0 + g->strip, g->oh), rows = r1 - r0;
    /* input rows [lo, hi) are read, as padded rows r0·s … (r1 − 1)·s + 2 */
    const int lo = MAX (r0 * s - 1, 0), hi = MIN ((r1 - 1) * s + 2, h);
    const int prows = (rows - 1) * s + 3;
    const float *src;
    int64_t src_cs;
    int src_lo;

    if (j->w_exp != NULL) {
      /* the rows of the last strip that this one reads again move to the
       * front; the others are made */
      int keep = 0;
      if (lo >= e_lo && lo < e_hi) {
        keep = e_hi - lo;
        if (lo > e_lo)
          for (int c = 0; c < g->hidden; c++)
            memmove (e + c * ecs, e + c * ecs + (int64_t) (lo - e_lo) * w,
                sizeof (float) * keep * w);
      }
      e_lo = lo;
      e_hi = hi;
      if (hi > lo + keep && j->pre != NULL) {
        /* the rows of the convolution's output, from their columns */
        const int64_t len = (int64_t) (hi - lo - keep) * w;
        const int k = j->pre->cin * j->pre->kh * j->pre->kw;
        affect_im2col_block (j->pre, j->x,
            ((int64_t) part * h + lo + keep) * w, len, col);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->hidden,
            (int) len, k, 1.0f, j->w_exp, k, col, (int) len, 0.0f,
            e + (int64_t) keep * w, (int) ecs);
        for (int c = 0; c < g->hidden; c++)
          row_epilogue (j->ep_exp, c, len, e + c * ecs + (int64_t) keep * w,
              NULL);
      } else if (hi > lo + keep) {
        const int64_t len = (int64_t) (hi - lo - keep) * w;
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->hidden,
            (int) len, g->cin, 1.0f, j->w_exp, g->cin,
            xb + (int64_t) (lo + keep) * w, (int) xcs, 0.0f,
            e + (int64_t) keep * w, (int) ecs);
        for (int c = 0; c < g->hidden; c++)
          row_epilogue (j->ep_exp, c, len, e + c * ecs + (int64_t) keep * w,
              NULL);
      }
      src = e;
      src_cs = ecs;
      src_lo = e_lo;
    } else {
      src = xb;
      src_cs = xcs;
      src_lo = 0;
    }

    /* depthwise: each channel's rows, zero-bordered, then its epilogue */
    for (int c = 0; c < g->hidden; c++) {
      float *dc = d + c * dcs;
      for (int q = 0; q < prows; q++) {
        const int iy = r0 * s + q - 1;
        float *pr = pad + (int64_t) q * pw;
        if (iy < 0 || iy >= h) {
          memset (pr, 0, sizeof (float) * pw);
          continue;
        }
        pr[0] = 0.0f;
        memcpy (pr + 1, src + c * src_cs + (int64_t) (iy - src_lo) * w,
            sizeof (float) * w);
        pr[w + 1] = 0.0f;
      }
      affect_depthwise_plane_forward (pad, pw, j->w_dw + 9 * c, s, rows, ow,
          dc);
      row_epilogue (j->ep_dw, c, (int64_t) rows * ow, dc, NULL);
    }

    /* projection into the block's output, then its epilogue */
    {
      const int64_t len = (int64_t) rows * ow;
      float *yr = yb + (int64_t) r0 * ow;
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout,
          (int) len, g->hidden, 1.0f, j->w_proj, g->hidden, d, (int) dcs,
          0.0f, yr, (int) ycs);
      for (int o = 0; o < g->cout; o++) {
        const float *res = j->ep_proj->residual != NULL ?
            j->ep_proj->residual + o * ycs + part * out_plane +
            (int64_t) r0 * ow : NULL;
        row_epilogue (j->ep_proj, o, len, yr + o * ycs, res);
      }
    }
  }
  g_atomic_int_set (&j->busy[wi], 0);
}

/* a group of whole images: each product over all of the group's pixels */
static void
group_part (int part, int n_parts, gpointer data)
{
  const InvResJob *j = data;
  const AffectInvRes *g = j->g;
  const int s = g->stride, h = g->h, w = g->w, ow = g->ow, pw = w + 2;
  const int b0 = part * g->group, nb = MIN (g->group, g->n - b0);
  const int64_t in_plane = (int64_t) h * w;
  const int64_t out_plane = (int64_t) g->oh * ow;
  const int64_t xcs = (int64_t) g->n * in_plane;        /* channel strides */
  const int64_t ycs = (int64_t) g->n * out_plane;
  const int64_t ecs = (int64_t) g->group * in_plane;
  const int64_t dcs = (int64_t) g->group * out_plane;
  const float *xb = j->x + b0 * in_plane, *src;
  float *yb = j->y + b0 * out_plane;
  float *ws, *e, *d, *pad;
  int64_t src_cs;
  int wi;

  (void) n_parts;
  ws = claim_workspace (j, &wi);
  e = ws;
  d = e + (j->w_exp != NULL ? g->hidden * ecs : 0);
  pad = d + g->hidden * dcs;

  if (j->w_exp != NULL) {
    const int64_t len = nb * in_plane;
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->hidden,
        (int) len, g->cin, 1.0f, j->w_exp, g->cin, xb, (int) xcs, 0.0f, e,
        (int) ecs);
    for (int c = 0; c < g->hidden; c++)
      row_epilogue (j->ep_exp, c, len, e + c * ecs, NULL);
    src = e;
    src_cs = ecs;
  } else {
    src = xb;
    src_cs = xcs;
  }
  for (int c = 0; c < g->hidden; c++) {
    for (int b = 0; b < nb; b++) {
      const float *plane = src + c * src_cs + b * in_plane;
      memset (pad, 0, sizeof (float) * pw);
      for (int r = 0; r < h; r++) {
        float *pr = pad + (int64_t) (r + 1) * pw;
        pr[0] = 0.0f;
        memcpy (pr + 1, plane + (int64_t) r * w, sizeof (float) * w);
        pr[w + 1] = 0.0f;
      }
      memset (pad + (int64_t) (h + 1) * pw, 0, sizeof (float) * pw);
      affect_depthwise_plane_forward (pad, pw, j->w_dw + 9 * c, s, g->oh, ow,
          d + c * dcs + b * out_plane);
    }
    row_epilogue (j->ep_dw, c, nb * out_plane, d + c * dcs, NULL);
  }
  {
    const int64_t len = nb * out_plane;
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout,
        (int) len, g->hidden, 1.0f, j->w_proj, g->hidden, d, (int) dcs,
        0.0f, yb, (int) ycs);
    for (int o = 0; o < g->cout; o++) {
      const float *res = j->ep_proj->residual != NULL ?
          j->ep_proj->residual + o * ycs + b0 * out_plane : NULL;
      row_epilogue (j->ep_proj, o, len, yb + o * ycs, res);
    }
  }
  g_atomic_int_set (&j->busy[wi], 0);
}

void
affect_invres_forward (const AffectInvRes * g, const float *x,
    const float *w_exp, const AffectEpilogue * ep_exp, const float *w_dw,
    const AffectEpilogue * ep_dw, const float *w_proj,
    const AffectEpilogue * ep_proj, float *y)
{
  affect_invres_forward_conv (g, NULL, x, w_exp, ep_exp, w_dw, ep_dw, w_proj,
      ep_proj, y);
}

void
affect_invres_forward_conv (const AffectInvRes * geometry,
    const AffectConv2d * pre, const float *x, const float *w_exp,
    const AffectEpilogue * ep_exp, const float *w_dw,
    const AffectEpilogue * ep_dw, const float *w_proj,
    const AffectEpilogue * ep_proj, float *y)
{
  /* a convolution as the expansion runs image by image */
  const AffectInvRes one = { geometry->cin, geometry->hidden, geometry->cout,
    geometry->stride, geometry->n, geometry->h, geometry->w, geometry->oh,
    geometry->ow, geometry->strip, 1
  };
  const AffectInvRes *g = pre != NULL ? &one : geometry;
  const AffectEpilogue none = { NULL, NULL, NULL, NULL, NULL };
  const int cap = g->group > 1 ? g->h : (g->strip - 1) * g->stride + 3;
  const int64_t per_ws = (w_exp != NULL ? (int64_t) g->hidden * g->group *
      cap * g->w : 0) + (int64_t) g->hidden * g->group * g->strip * g->ow +
      (int64_t) (cap + 2) * (g->w + 2) + 16 + (pre != NULL ?
      (int64_t) pre->cin * pre->kh * pre->kw * cap * g->w : 0);
  const int parts = (g->n + g->group - 1) / g->group;
  InvResJob j = { g, pre, x, w_exp, w_dw, w_proj,
    ep_exp != NULL ? ep_exp : &none, ep_dw != NULL ? ep_dw : &none,
    ep_proj != NULL ? ep_proj : &none, y, 0, NULL, NULL
  };

  g_assert (w_exp != NULL || g->hidden == g->cin);
  /* a convolution as the expansion: its output is the block's input */
  g_assert (pre == NULL || (w_exp != NULL && pre->cout == g->hidden
          && pre->oh == g->h && pre->ow == g->w && pre->n == g->n));
  g_assert (j.ep_exp->moments == NULL && j.ep_dw->moments == NULL
      && j.ep_proj->moments == NULL);
  /* at most this many parts run at once (affect/parallel.h) */
  j.n_ws = MAX (MIN (affect_get_threads (), parts), 1);
  j.ws = g_new (float *, j.n_ws);
  j.busy = g_new0 (gint, j.n_ws);
  for (int i = 0; i < j.n_ws; i++)
    j.ws[i] = g_new (float, per_ws);
  affect_parallel_run (parts, g->group > 1 ? group_part : image_part, &j);
  for (int i = 0; i < j.n_ws; i++)
    g_free (j.ws[i]);
  g_free (j.ws);
  g_free (j.busy);
}

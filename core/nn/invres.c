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
 * into other column blocks, which can move the last bits of their sums.
 *
 * Several blocks can run as one chain: a part then takes its images
 * through every block in turn, the maps between blocks in its own
 * workspace (affect_invres_chain_forward). Workspaces come from the kept
 * scratch buffers (scratch.h), so a pass faults no page in. */
#include <cblas.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/nn-layers.h"
#include "affect/parallel.h"
#include "conv2d-private.h"
#include "depthwise-plane.h"
#include "epilogue.h"
#include "scratch.h"

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

/* a stage as it runs: the geometry it runs with (image by image when a
 * convolution stands for the expansion), no NULL epilogue; ep_proj's
 * residual, if any, in the layout of the chain's output (n images) */
typedef struct
{
  AffectInvRes g;
  const AffectConv2d *pre;
  const float *w_exp, *w_dw, *w_proj;
  AffectEpilogue ep_exp, ep_dw, ep_proj;
  gboolean residual;            /* add the stage's input */
} Stage;

typedef struct
{
  const Stage *st;
  int n_st;
  const float *x;
  float *y;
  int n, images;                /* images in all, per part */
  int64_t link;                 /* floats of the largest stage-to-stage map */
  int64_t per_ws;               /* floats of a stage's own workspace */
  /* one workspace per thread that can run a part at the same time: a
   * stage's buffers, then two maps between stages */
  int n_ws;
  float **ws;
  gint *busy;
} InvResJob;

/* where a stage reads and writes one image or group: pointers to the
 * first image's channel 0 and the channel strides */
typedef struct
{
  const float *x;
  int64_t xcs;
  float *y;
  int64_t ycs;
  const float *r;               /* residual, y's shape, or NULL */
  int64_t rcs;
} Io;

static void
row_epilogue (const AffectEpilogue * ep, int c, int64_t n, float *v,
    const float *residual)
{
  affect_epilogue_row (n, v, 0, 0.0f, ep->scale != NULL,
      ep->scale != NULL ? ep->scale[c] : 1.0f,
      ep->shift != NULL ? ep->shift[c] : 0.0f, ep->clamp, residual);
}

/* floats of workspace a part of stage s uses */
static int64_t
stage_workspace (const Stage * s)
{
  const AffectInvRes *g = &s->g;
  const int cap = g->group > 1 ? g->h : (g->strip - 1) * g->stride + 3;

  return (s->w_exp != NULL ? (int64_t) g->hidden * g->group * cap * g->w : 0)
      + (int64_t) g->hidden * g->group * g->strip * g->ow +
      (int64_t) (cap + 2) * (g->w + 2) + 16 + (s->pre != NULL ?
      (int64_t) s->pre->cin * s->pre->kh * s->pre->kw * cap * g->w : 0);
}

/* one image of stage s (image b of the batch: pre's columns), strip of
 * output rows after strip */
static void
image_run (const Stage * st, const Io * io, const float *x, int b, float *ws)
{
  const AffectInvRes *g = &st->g;
  const int s = g->stride, h = g->h, w = g->w, ow = g->ow, pw = w + 2;
  const int cap = (g->strip - 1) * s + 3;       /* input rows of a strip */
  const int64_t ecs = (int64_t) cap * w;
  const int64_t dcs = (int64_t) g->strip * ow;
  float *e, *d, *pad, *col;
  int e_lo = 0, e_hi = 0;

  e = ws;
  d = e + (st->w_exp != NULL ? g->hidden * ecs : 0);
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

    if (st->w_exp != NULL) {
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
      if (hi > lo + keep && st->pre != NULL) {
        /* the rows of the convolution's output, from their columns */
        const int64_t len = (int64_t) (hi - lo - keep) * w;
        const int k = st->pre->cin * st->pre->kh * st->pre->kw;
        affect_im2col_block (st->pre, x, ((int64_t) b * h + lo + keep) * w,
            len, col);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->hidden,
            (int) len, k, 1.0f, st->w_exp, k, col, (int) len, 0.0f,
            e + (int64_t) keep * w, (int) ecs);
        for (int c = 0; c < g->hidden; c++)
          row_epilogue (&st->ep_exp, c, len,
              e + c * ecs + (int64_t) keep * w, NULL);
      } else if (hi > lo + keep) {
        const int64_t len = (int64_t) (hi - lo - keep) * w;
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->hidden,
            (int) len, g->cin, 1.0f, st->w_exp, g->cin,
            io->x + (int64_t) (lo + keep) * w, (int) io->xcs, 0.0f,
            e + (int64_t) keep * w, (int) ecs);
        for (int c = 0; c < g->hidden; c++)
          row_epilogue (&st->ep_exp, c, len,
              e + c * ecs + (int64_t) keep * w, NULL);
      }
      src = e;
      src_cs = ecs;
      src_lo = e_lo;
    } else {
      src = io->x;
      src_cs = io->xcs;
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
      affect_depthwise_plane_forward (pad, pw, st->w_dw + 9 * c, s, rows, ow,
          dc);
      row_epilogue (&st->ep_dw, c, (int64_t) rows * ow, dc, NULL);
    }

    /* projection into the block's output, then its epilogue */
    {
      const int64_t len = (int64_t) rows * ow;
      float *yr = io->y + (int64_t) r0 * ow;
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout,
          (int) len, g->hidden, 1.0f, st->w_proj, g->hidden, d, (int) dcs,
          0.0f, yr, (int) io->ycs);
      for (int o = 0; o < g->cout; o++)
        row_epilogue (&st->ep_proj, o, len, yr + o * io->ycs,
            io->r != NULL ? io->r + o * io->rcs + (int64_t) r0 * ow : NULL);
    }
  }
}

/* nb ≤ group whole images of stage s, each product over all of their
 * pixels */
static void
group_run (const Stage * st, const Io * io, int nb, float *ws)
{
  const AffectInvRes *g = &st->g;
  const int s = g->stride, h = g->h, w = g->w, ow = g->ow, pw = w + 2;
  const int64_t in_plane = (int64_t) h * w;
  const int64_t out_plane = (int64_t) g->oh * ow;
  const int64_t ecs = (int64_t) g->group * in_plane;
  const int64_t dcs = (int64_t) g->group * out_plane;
  const float *src;
  float *e, *d, *pad;
  int64_t src_cs;

  e = ws;
  d = e + (st->w_exp != NULL ? g->hidden * ecs : 0);
  pad = d + g->hidden * dcs;

  if (st->w_exp != NULL) {
    const int64_t len = nb * in_plane;
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->hidden,
        (int) len, g->cin, 1.0f, st->w_exp, g->cin, io->x, (int) io->xcs,
        0.0f, e, (int) ecs);
    for (int c = 0; c < g->hidden; c++)
      row_epilogue (&st->ep_exp, c, len, e + c * ecs, NULL);
    src = e;
    src_cs = ecs;
  } else {
    src = io->x;
    src_cs = io->xcs;
  }
  for (int c = 0; c < g->hidden; c++) {
    for (int b = 0; b < nb; b++) {
      const float *plane = src + c * src_cs + b * in_plane;
      affect_depthwise_pad_plane (plane, h, w, pad);
      affect_depthwise_plane_forward (pad, pw, st->w_dw + 9 * c, s, g->oh,
          ow, d + c * dcs + b * out_plane);
    }
    row_epilogue (&st->ep_dw, c, nb * out_plane, d + c * dcs, NULL);
  }
  {
    const int64_t len = nb * out_plane;
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout,
        (int) len, g->hidden, 1.0f, st->w_proj, g->hidden, d, (int) dcs,
        0.0f, io->y, (int) io->ycs);
    for (int o = 0; o < g->cout; o++)
      row_epilogue (&st->ep_proj, o, len, io->y + o * io->ycs,
          io->r != NULL ? io->r + o * io->rcs : NULL);
  }
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

/* The part's images through every stage in order. The first stage reads
 * the chain's input and the last writes its output, (C, n, h, w); the
 * maps between stages hold the part's images only, (C, images, h, w), in
 * two buffers of the workspace that the stages take in turn. */
static void
chain_part (int part, int n_parts, gpointer data)
{
  const InvResJob *j = data;
  const int b0 = part * j->images, nb = MIN (j->images, j->n - b0);
  float *ws, *link[2];
  int wi;

  (void) n_parts;
  ws = claim_workspace (j, &wi);
  link[0] = ws + j->per_ws;
  link[1] = link[0] + j->link;
  for (int i = 0; i < j->n_st; i++) {
    const Stage *st = &j->st[i];
    const AffectInvRes *g = &st->g;
    const int64_t in_plane = (int64_t) g->h * g->w;
    const int64_t out_plane = (int64_t) g->oh * g->ow;
    const gboolean first = i == 0, last = i == j->n_st - 1;
    /* the images of the part, from b0 (the stage's input and output) */
    const float *x = first ? j->x + b0 * in_plane : link[(i - 1) & 1];
    const int64_t xcs = (first ? j->n : j->images) * in_plane;
    float *y = last ? j->y + b0 * out_plane : link[i & 1];
    const int64_t ycs = (last ? j->n : j->images) * out_plane;
    const int step = g->group > 1 ? g->group : 1;
    for (int b = 0; b < nb; b += step) {
      Io io = { x + b * in_plane, xcs, y + b * out_plane, ycs, NULL, 0 };
      if (st->residual) {
        io.r = io.x;
        io.rcs = xcs;
      } else if (st->ep_proj.residual != NULL) {
        io.r = st->ep_proj.residual + (b0 + b) * out_plane;
        io.rcs = j->n * out_plane;
      }
      if (g->group > 1)
        group_run (st, &io, MIN (g->group, nb - b), ws);
      else
        image_run (st, &io, j->x, b0 + b, ws);
    }
  }
  g_atomic_int_set (&j->busy[wi], 0);
}

static int
gcd (int a, int b)
{
  while (b != 0) {
    const int t = a % b;
    a = b;
    b = t;
  }
  return a;
}

int
affect_invres_chain_images (const AffectInvResStage * stages, int n_stages)
{
  int images = 1;

  for (int i = 0; i < n_stages; i++) {
    const int group = stages[i].pre != NULL ? 1 : stages[i].g.group;
    images = images / gcd (images, group) * group;
  }
  return MIN (images, stages[0].g.n);
}

static void
chain_run (Stage * st, int n_stages, int images, const float *x, float *y)
{
  InvResJob j = { st, n_stages, x, y, st[0].g.n, images, 0, 0, 0, NULL,
    NULL
  };
  int parts;

  for (int i = 0; i < n_stages; i++) {
    const Stage *s = &st[i];
    g_assert (s->g.n == j.n);
    g_assert (s->w_exp != NULL || s->g.hidden == s->g.cin);
    /* a convolution as the expansion reads the chain's input: its output
     * is the block's input */
    g_assert (s->pre == NULL || (i == 0 && s->w_exp != NULL
            && s->pre->cout == s->g.hidden && s->pre->oh == s->g.h
            && s->pre->ow == s->g.w && s->pre->n == s->g.n));
    g_assert (!s->residual || (s->g.cin == s->g.cout && s->g.stride == 1));
    g_assert (i == 0 || (s->g.cin == st[i - 1].g.cout
            && s->g.h == st[i - 1].g.oh && s->g.w == st[i - 1].g.ow));
    g_assert (s->ep_exp.moments == NULL && s->ep_dw.moments == NULL
        && s->ep_proj.moments == NULL);
    j.per_ws = MAX (j.per_ws, stage_workspace (s));
    if (i + 1 < n_stages)
      j.link = MAX (j.link, (int64_t) s->g.cout * images * s->g.oh * s->g.ow);
  }
  j.link = (j.link + 15) / 16 * 16;
  j.per_ws = (j.per_ws + 15) / 16 * 16;
  parts = (j.n + images - 1) / images;
  /* at most this many parts run at once (affect/parallel.h) */
  j.n_ws = MAX (MIN (affect_get_threads (), parts), 1);
  j.ws = g_new (float *, j.n_ws);
  j.busy = g_new0 (gint, j.n_ws);
  for (int i = 0; i < j.n_ws; i++)
    j.ws[i] = affect_scratch_get (j.per_ws + 2 * j.link);
  affect_parallel_run (parts, chain_part, &j);
  for (int i = 0; i < j.n_ws; i++)
    affect_scratch_put (j.ws[i]);
  g_free (j.ws);
  g_free (j.busy);
}

static void
stage_init (Stage * s, const AffectInvRes * g, const AffectConv2d * pre,
    const float *w_exp, const AffectEpilogue * ep_exp, const float *w_dw,
    const AffectEpilogue * ep_dw, const float *w_proj,
    const AffectEpilogue * ep_proj, gboolean residual)
{
  const AffectEpilogue none = { NULL, NULL, NULL, NULL, NULL };

  s->g = *g;
  /* a convolution as the expansion runs image by image */
  if (pre != NULL)
    s->g.group = 1;
  s->pre = pre;
  s->w_exp = w_exp;
  s->w_dw = w_dw;
  s->w_proj = w_proj;
  s->ep_exp = ep_exp != NULL ? *ep_exp : none;
  s->ep_dw = ep_dw != NULL ? *ep_dw : none;
  s->ep_proj = ep_proj != NULL ? *ep_proj : none;
  s->residual = residual;
}

void
affect_invres_chain_forward (const AffectInvResStage * stages, int n_stages,
    const float *x, float *y)
{
  Stage *st = g_new (Stage, n_stages);

  g_assert (n_stages > 0);
  for (int i = 0; i < n_stages; i++) {
    const AffectInvResStage *in = &stages[i];
    g_assert (in->ep_proj == NULL || in->ep_proj->residual == NULL);
    stage_init (&st[i], &in->g, in->pre, in->w_exp, in->ep_exp, in->w_dw,
        in->ep_dw, in->w_proj, in->ep_proj, in->residual);
  }
  chain_run (st, n_stages, affect_invres_chain_images (stages, n_stages), x, y);
  g_free (st);
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
affect_invres_forward_conv (const AffectInvRes * g,
    const AffectConv2d * pre, const float *x, const float *w_exp,
    const AffectEpilogue * ep_exp, const float *w_dw,
    const AffectEpilogue * ep_dw, const float *w_proj,
    const AffectEpilogue * ep_proj, float *y)
{
  Stage st;

  stage_init (&st, g, pre, w_exp, ep_exp, w_dw, ep_dw, w_proj, ep_proj, FALSE);
  chain_run (&st, 1, pre != NULL ? 1 : MIN (st.g.group, st.g.n), x, y);
}

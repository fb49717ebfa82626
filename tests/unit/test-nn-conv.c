/* Convolution, depthwise, batch-norm, layer-norm, attention and pooling:
 * forward against direct formulas, backward against central finite
 * differences of L = Σ w ⊙ y for a fixed random w. */
#include <math.h>
#include <string.h>
#include <glib.h>

#include "affect/affect.h"
#include "affect/nn.h"
#include "affect/nn-layers.h"
#include "../../core/nn/batchnorm-private.h"
#include "../../core/nn/epilogue.h"

static AffectRng rng;

static float *
randn (size_t n, float scale)
{
  float *p = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    p[i] = (float) (scale * affect_rng_normal (&rng));
  return p;
}

static double
dot (const float *a, const float *b, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

/* The loss as a function of one array the test perturbs. */
typedef double (*LossFn) (gpointer ctx);

/* Compares analytic gradient `grad` of the loss w.r.t. `x` (n values) with
 * central differences at up to `probes` random coordinates. */
static void
check_gradient (const char *what, LossFn loss, gpointer ctx, float *x,
    const float *grad, size_t n, int probes, float h, double tol)
{
  double worst = 0.0, rms = 0.0;
  /* errors are relative to the gradient's own scale, so a near-zero
   * component is not judged by float rounding of the loss */
  for (size_t i = 0; i < n; i++)
    rms += (double) grad[i] * grad[i];
  const double floor = fmax (1e-3, 0.05 * sqrt (rms / n));
  for (int p = 0; p < probes; p++) {
    size_t i = (size_t) (affect_rng_uniform (&rng) * n);
    const float keep = x[i];
    x[i] = keep + h;
    const double lp = loss (ctx);
    x[i] = keep - h;
    const double lm = loss (ctx);
    x[i] = keep;
    const double fd = (lp - lm) / ((double) (keep + h) - (double) (keep - h));
    const double err =
        fabs (fd - grad[i]) / fmax (floor, fabs (fd) + fabs (grad[i]));
    if (err > worst)
      worst = err;
    if (err > tol)
      g_printerr ("%s[%zu]: finite difference %.6g, backward %.6g\n", what, i,
          fd, grad[i]);
  }
  g_test_message ("%s: worst relative error %.2e", what, worst);
  g_assert_cmpfloat (worst, <=, tol);
}

/* ---- conv2d ---- */
typedef struct
{
  AffectConv2d g;
  float *x, *w, *b, *y, *col, *probe;
} ConvCase;

static double
conv_loss (gpointer p)
{
  ConvCase *c = p;
  affect_conv2d_forward (&c->g, c->x, c->w, c->b, c->y, c->col);
  return dot (c->y, c->probe, (size_t) c->g.cout * c->g.n * c->g.oh * c->g.ow);
}

static void
conv_case (int cin, int cout, int k, int stride, int pad, int n, int h, int w,
    gboolean bias)
{
  ConvCase c;
  g_assert_true (affect_conv2d_geometry (&c.g, cin, cout, k, k, stride, pad,
          n, h, w));
  const size_t nx = (size_t) cin * n * h * w;
  const size_t nw = (size_t) cout * cin * k * k;
  const size_t ny = (size_t) cout * n * c.g.oh * c.g.ow;
  c.x = randn (nx, 1.0f);
  c.w = randn (nw, 0.5f);
  c.b = bias ? randn (cout, 1.0f) : NULL;
  c.y = g_new (float, ny);
  c.col = g_new (float, affect_conv2d_workspace (&c.g) + 1);
  c.probe = randn (ny, 1.0f);

  /* forward against the direct definition */
  affect_conv2d_forward (&c.g, c.x, c.w, c.b, c.y, c.col);
  double max_err = 0.0;
  for (int o = 0; o < cout; o++)
    for (int b = 0; b < n; b++)
      for (int oy = 0; oy < c.g.oh; oy++)
        for (int ox = 0; ox < c.g.ow; ox++) {
          double s = bias ? c.b[o] : 0.0;
          for (int ci = 0; ci < cin; ci++)
            for (int i = 0; i < k; i++)
              for (int j = 0; j < k; j++) {
                int iy = oy * stride - pad + i, ix = ox * stride - pad + j;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  continue;
                s += (double) c.w[((o * cin + ci) * k + i) * k + j] *
                    c.x[(((size_t) ci * n + b) * h + iy) * w + ix];
              }
          double got = c.y[(((size_t) o * n + b) * c.g.oh + oy) * c.g.ow + ox];
          max_err = fmax (max_err, fabs (got - s));
        }
  g_assert_cmpfloat (max_err, <, 1e-4);

  float *dx = g_new (float, nx), *dw = g_new0 (float, nw);
  float *db = bias ? g_new0 (float, cout) : NULL;
  affect_conv2d_backward (&c.g, c.x, c.w, c.probe, dx, dw, db, c.col);
  check_gradient ("conv2d dx", conv_loss, &c, c.x, dx, nx, 40, 1e-2f, 2e-3);
  check_gradient ("conv2d dw", conv_loss, &c, c.w, dw, nw, 40, 1e-2f, 2e-3);
  if (bias)
    check_gradient ("conv2d db", conv_loss, &c, c.b, db, cout, 10, 1e-2f, 2e-3);
  {
    /* with a workspace of its own for the input gradient's columns (the
     * two products as one job): the same bits */
    float *dx2 = g_new (float, nx), *dw2 = g_new0 (float, nw);
    float *db2 = bias ? g_new0 (float, cout) : NULL;
    float *dcol = g_new (float, affect_conv2d_workspace (&c.g) + 1);
    memset (dw, 0, sizeof (float) * nw);
    if (bias)
      memset (db, 0, sizeof (float) * cout);
    affect_conv2d_backward (&c.g, c.x, c.w, c.probe, dx, dw, db, c.col);
    affect_conv2d_backward_ws (&c.g, c.x, c.w, c.probe, dx2, dw2, db2, c.col,
        dcol);
    g_assert_cmpmem (dx, sizeof (float) * nx, dx2, sizeof (float) * nx);
    g_assert_cmpmem (dw, sizeof (float) * nw, dw2, sizeof (float) * nw);
    if (bias)
      g_assert_cmpmem (db, sizeof (float) * cout, db2, sizeof (float) * cout);
    g_free (dx2);
    g_free (dw2);
    g_free (db2);
    g_free (dcol);
  }
  g_free (c.x);
  g_free (c.w);
  g_free (c.b);
  g_free (c.y);
  g_free (c.col);
  g_free (c.probe);
  g_free (dx);
  g_free (dw);
  g_free (db);
}

static void
test_conv2d (void)
{
  conv_case (3, 5, 3, 2, 1, 2, 9, 12, FALSE);   /* MobileNetV2 stem */
  conv_case (4, 6, 3, 1, 0, 3, 5, 8, TRUE);     /* out_conv: 3×3, no pad */
  conv_case (7, 5, 1, 1, 0, 2, 4, 6, TRUE);     /* pointwise, no im2col */
  conv_case (2, 3, 3, 1, 1, 1, 6, 7, TRUE);     /* same padding */
}

/* ---- depthwise ---- */
typedef struct
{
  AffectDepthwise g;
  float *x, *w, *y, *probe;
} DwCase;

static double
dw_loss (gpointer p)
{
  DwCase *c = p;
  affect_depthwise_forward (&c->g, c->x, c->w, c->y);
  return dot (c->y, c->probe, (size_t) c->g.c * c->g.n * c->g.oh * c->g.ow);
}

static void
dw_case (int ch, int n, int h, int w, int stride)
{
  DwCase c;
  g_assert_true (affect_depthwise_geometry (&c.g, ch, n, h, w, stride));
  const size_t nx = (size_t) ch * n * h * w, ny =
      (size_t) ch *n * c.g.oh * c.g.ow;
  c.x = randn (nx, 1.0f);
  c.w = randn (9 * ch, 0.5f);
  c.y = g_new (float, ny);
  c.probe = randn (ny, 1.0f);

  /* forward equals the general convolution with one filter per channel */
  affect_depthwise_forward (&c.g, c.x, c.w, c.y);
  double max_err = 0.0;
  for (int k = 0; k < ch; k++) {
    AffectConv2d g;
    float out[4096];
    affect_conv2d_geometry (&g, 1, 1, 3, 3, stride, 1, n, h, w);
    float *col = g_new (float, affect_conv2d_workspace (&g));
    affect_conv2d_forward (&g, c.x + (size_t) k * n * h * w, c.w + 9 * k,
        NULL, out, col);
    g_free (col);
    for (int i = 0; i < n * g.oh * g.ow; i++)
      max_err = fmax (max_err, fabs (out[i] -
              c.y[(size_t) k * n * g.oh * g.ow + i]));
  }
  g_assert_cmpfloat (max_err, <, 1e-5);

  float *dx = g_new (float, nx), *dw = g_new0 (float, 9 * ch);
  affect_depthwise_backward (&c.g, c.x, c.w, c.probe, dx, dw);
  check_gradient ("depthwise dx", dw_loss, &c, c.x, dx, nx, 40, 1e-2f, 2e-3);
  check_gradient ("depthwise dw", dw_loss, &c, c.w, dw, 9 * ch, 27, 1e-2f,
      2e-3);
  g_free (c.x);
  g_free (c.w);
  g_free (c.y);
  g_free (c.probe);
  g_free (dx);
  g_free (dw);
}

static void
test_depthwise (void)
{
  dw_case (3, 2, 8, 10, 1);
  dw_case (3, 2, 8, 10, 2);
  dw_case (2, 1, 7, 9, 2);      /* odd sizes */
  dw_case (2, 3, 1, 5, 1);      /* one row */
  /* rows of 8-output vectors and a tail, stride 2 loading past the row */
  dw_case (2, 2, 6, 37, 1);
  dw_case (2, 2, 9, 37, 2);
}

/* The stride-2 input gradient against dy scattered through the filter
 * in the plain loop order (output row, filter row, output column, filter
 * column) into a zeroed, zero-bordered buffer: bit for bit, with zeros in
 * dy and negative taps (a −0 product must not leave a −0), odd and even
 * sizes, rows of whole 8-wide blocks and tails. */
static void
dw_dx_stride2_case (int h, int w)
{
  AffectDepthwise g;
  const int ch = 2, n = 3;
  g_assert_true (affect_depthwise_geometry (&g, ch, n, h, w, 2));
  const size_t nx = (size_t) ch * n * h * w;
  const size_t ny = (size_t) ch * n * g.oh * g.ow;
  float *x = randn (nx, 1.0f), *k = randn (9 * ch, 0.5f);
  float *dy = randn (ny, 1.0f), *dx = g_new (float, nx);
  const int pw = w + 2;
  float *buf = g_new (float, (size_t) (h + 2) * pw);
  int64_t differ = 0;

  for (size_t i = 0; i < ny; i += 5)
    dy[i] = 0.0f;
  affect_depthwise_backward (&g, x, k, dy, dx, NULL);
  for (int p = 0; p < ch * n; p++) {
    const float *kp = k + 9 * (p / n), *gp = dy + (size_t) p *g.oh * g.ow;
    memset (buf, 0, sizeof (float) * (h + 2) * pw);
    for (int oy = 0; oy < g.oh; oy++)
      for (int i = 0; i < 3; i++)
        for (int ox = 0; ox < g.ow; ox++)
          for (int j = 0; j < 3; j++) {
            float *e = &buf[(2 * oy + i) * pw + 2 * ox + j];
            *e = *e + kp[3 * i + j] * gp[oy * g.ow + ox];
          }
    for (int y = 0; y < h; y++)
      for (int xx = 0; xx < w; xx++)
        differ += memcmp (&buf[(y + 1) * pw + xx + 1],
            &dx[(size_t) p * h * w + y * w + xx], sizeof (float)) != 0;
  }
  g_assert_cmpint (differ, ==, 0);
  g_free (x);
  g_free (k);
  g_free (dy);
  g_free (dx);
  g_free (buf);
}

static void
test_depthwise_dx_stride2 (void)
{
  dw_dx_stride2_case (9, 37);
  dw_dx_stride2_case (8, 38);
  dw_dx_stride2_case (6, 16);
  dw_dx_stride2_case (5, 17);
  dw_dx_stride2_case (1, 1);
  dw_dx_stride2_case (2, 2);
  dw_dx_stride2_case (48, 128);
  dw_dx_stride2_case (7, 50);
}

/* ---- batch-norm ---- */
typedef struct
{
  int c;
  int64_t m;
  gboolean train;
  float *x, *gamma, *beta, *rm, *rv, *y, *mean, *rstd, *probe;
} BnCase;

static double
bn_loss (gpointer p)
{
  BnCase *c = p;
  if (c->train)
    affect_batchnorm_forward_train (c->c, c->m, c->x, c->gamma, c->beta, NULL,
        NULL, 0.1f, NULL, 1e-5f, NULL, c->y, c->mean, c->rstd);
  else
    affect_batchnorm_forward_eval (c->c, c->m, c->x, c->gamma, c->beta, c->rm,
        c->rv, 1e-5f, NULL, c->y);
  return dot (c->y, c->probe, (size_t) c->c * c->m);
}

static void
test_batchnorm (void)
{
  for (int train = 0; train < 2; train++) {
    BnCase c = { 3, 43, train };        /* 8-lane sums and a tail */
    const size_t n = (size_t) c.c * c.m;
    c.x = randn (n, 2.0f);
    for (size_t i = 0; i < n; i++)
      c.x[i] += 1.0f;
    c.gamma = randn (c.c, 1.0f);
    c.beta = randn (c.c, 1.0f);
    c.rm = randn (c.c, 0.5f);
    c.rv = g_new (float, c.c);
    for (int i = 0; i < c.c; i++)
      c.rv[i] = 0.5f + i;
    c.y = g_new (float, n);
    c.mean = g_new (float, c.c);
    c.rstd = g_new (float, c.c);
    c.probe = randn (n, 1.0f);
    bn_loss (&c);
    if (train) {
      /* normalised output: mean β, standard deviation |γ| */
      for (int k = 0; k < c.c; k++) {
        double s = 0, ss = 0;
        for (int i = 0; i < c.m; i++)
          s += c.y[k * c.m + i];
        s /= c.m;
        for (int i = 0; i < c.m; i++)
          ss += pow (c.y[k * c.m + i] - s, 2);
        g_assert_cmpfloat (fabs (s - c.beta[k]), <, 1e-5);
        g_assert_cmpfloat (fabs (sqrt (ss / c.m) - fabs (c.gamma[k])), <, 1e-3);
      }
    }
    float *dx = g_new (float, n), *dg = g_new0 (float, c.c), *db =
        g_new0 (float, c.c);
    if (train)
      affect_batchnorm_backward_train (c.c, c.m, c.x, c.gamma, c.mean, c.rstd,
          c.probe, dx, dg, db);
    else
      affect_batchnorm_backward_eval (c.c, c.m, c.x, c.gamma, c.rm, c.rv,
          1e-5f, c.probe, dx, dg, db);
    check_gradient ("batchnorm dx", bn_loss, &c, c.x, dx, n, 40, 1e-2f, 3e-3);
    check_gradient ("batchnorm dgamma", bn_loss, &c, c.gamma, dg, c.c, 3,
        1e-2f, 3e-3);
    check_gradient ("batchnorm dbeta", bn_loss, &c, c.beta, db, c.c, 3, 1e-2f,
        3e-3);
    g_free (c.x);
    g_free (c.gamma);
    g_free (c.beta);
    g_free (c.rm);
    g_free (c.rv);
    g_free (c.y);
    g_free (c.mean);
    g_free (c.rstd);
    g_free (c.probe);
    g_free (dx);
    g_free (dg);
    g_free (db);
  }
}

static void
test_batchnorm_running (void)
{
  /* momentum 0.1: r ← 0.9 r + 0.1 batch; cumulative (momentum < 0): mean of
   * the batch statistics; running variance is the unbiased one */
  float x[4] = { 1, 2, 3, 6 }, y[4], g = 1, b = 0, mean, rstd;
  float rm = 0, rv = 1;
  int64_t nb = 0;
  affect_batchnorm_forward_train (1, 4, x, &g, &b, &rm, &rv, 0.1f, &nb, 1e-5f,
      NULL, y, &mean, &rstd);
  g_assert_cmpfloat (fabs (rm - 0.3f), <, 1e-6);
  g_assert_cmpfloat (fabs (rv - (0.9f + 0.1f * 14.0f / 3.0f)), <, 1e-6);
  rm = 5;
  rv = 5;
  nb = 0;
  affect_batchnorm_forward_train (1, 4, x, &g, &b, &rm, &rv, -1.0f, &nb,
      1e-5f, NULL, y, &mean, &rstd);
  g_assert_cmpint (nb, ==, 1);
  /* fused clamp: ReLU6 of the normalised values */
  {
    const float relu6[2] = { 0.0f, 6.0f }, gg = 10.0f;
    float yc[4];
    affect_batchnorm_forward_train (1, 4, x, &gg, &b, NULL, NULL, 0.1f, NULL,
        1e-5f, relu6, yc, &mean, &rstd);
    for (int i = 0; i < 4; i++) {
      const float ref = 10.0f * (x[i] - mean) * rstd;
      g_assert_cmpfloat (fabsf (yc[i] - fminf (fmaxf (ref, 0.0f), 6.0f)), <,
          1e-5f);
    }
  }
  g_assert_cmpfloat (fabs (rm - 3.0f), <, 1e-6);
  g_assert_cmpfloat (fabs (rv - 14.0f / 3.0f), <, 1e-6);
  g_assert_cmpint (nb, ==, 1);
}

/* the clamp's mask applied inside the batch-norm backward gives the bits
 * of the activation backward followed by the plain batch-norm backward;
 * and the output recomputed from the kept statistics is the forward's */
static void
test_batchnorm_clamped (void)
{
  static const float relu6[2] = { 0.0f, 6.0f }, relu[2] = { 0.0f, INFINITY };
  const int c = 3;
  const int64_t m = 43;
  float *x = randn (c * m, 3.0f), *dy = randn (c * m, 1.0f);
  float gamma[3] = { 2.0f, -1.5f, 4.0f }, beta[3] = { 1.0f, 2.0f, 0.5f };
  float y[3 * 43], y2[3 * 43], mean[3], rstd[3], masked[3 * 43];
  float dx1[3 * 43], dx2[3 * 43], dg1[3] = { 0 }, dg2[3] = { 0 };
  float db1[3] = { 0 }, db2[3] = { 0 };

  for (int k = 0; k < 2; k++) {
    const float *clamp = k == 0 ? relu6 : relu;
    affect_batchnorm_forward_train (c, m, x, gamma, beta, NULL, NULL, 0.1f,
        NULL, 1e-5f, clamp, y, mean, rstd);
    affect_batchnorm_forward_saved (c, m, x, gamma, beta, mean, rstd, clamp,
        y2);
    g_assert_cmpmem (y, sizeof (y), y2, sizeof (y2));
    affect_activation_backward (k == 0 ? AFFECT_ACTIVATION_RELU6 :
        AFFECT_ACTIVATION_RELU, y, y, dy, masked, c * m);
    affect_batchnorm_backward_train (c, m, x, gamma, mean, rstd, masked, dx1,
        dg1, db1);
    affect_batchnorm_backward_train_clamped (c, m, x, gamma, mean, rstd, y,
        clamp, dy, dx2, dg2, db2);
    g_assert_cmpmem (dx1, sizeof (dx1), dx2, sizeof (dx2));
    g_assert_cmpmem (dg1, sizeof (dg1), dg2, sizeof (dg2));
    g_assert_cmpmem (db1, sizeof (db1), db2, sizeof (db2));
    /* the mask made from x instead of y: the same bits */
    {
      float dg3[3] = { 0 }, db3[3] = { 0 }, dg4[3] = { 0 }, db4[3] = { 0 };
      affect_batchnorm_backward_train_clamped (c, m, x, gamma, mean, rstd, y,
          clamp, dy, dx1, dg3, db3);
      affect_batchnorm_backward_train_masked (c, m, x, gamma, beta, mean,
          rstd, clamp, dy, dx2, dg4, db4);
      g_assert_cmpmem (dx1, sizeof (dx1), dx2, sizeof (dx2));
      g_assert_cmpmem (dg3, sizeof (dg3), dg4, sizeof (dg4));
      g_assert_cmpmem (db3, sizeof (db3), db4, sizeof (db4));
    }
  }
  g_free (x);
  g_free (dy);
}

/* the depthwise convolution of a batch-norm + clamp applied as each plane
 * is loaded (affect_depthwise_forward_pro / _backward_pro) against the
 * same convolution of the stored batch-norm output: the same bits,
 * forward (plain and with the moments epilogue) and backward, at
 * stride 1 and 2, with row tails and values on both sides of the clamp */
static void
dw_pro_case (int c, int n, int h, int w, int stride, const float *clamp)
{
  AffectDepthwise dw;
  const int64_t m = (int64_t) n * h * w;
  float *x, *y, *wt, *gamma, *beta, *mean, *rstd, *ab, *dy;
  float *o1, *o2, *dx1, *dx2, *dw1, *dw2;
  double *mom1, *mom2;
  size_t out;

  g_assert_true (affect_depthwise_geometry (&dw, c, n, h, w, stride));
  out = (size_t) c *n * dw.oh * dw.ow;
  x = randn (c * m, 3.0f);
  y = g_new (float, c * m);
  wt = randn (9 * c, 1.0f);
  gamma = randn (c, 2.0f);
  beta = randn (c, 1.0f);
  mean = g_new (float, c);
  rstd = g_new (float, c);
  ab = g_new (float, 2 * c);
  dy = randn (out, 1.0f);
  o1 = g_new (float, out);
  o2 = g_new (float, out);
  dx1 = g_new (float, c * m);
  dx2 = g_new (float, c * m);
  dw1 = g_new0 (float, 9 * c);
  dw2 = g_new0 (float, 9 * c);
  mom1 = g_new (double, 2 * c);
  mom2 = g_new (double, 2 * c);

  affect_batchnorm_forward_train (c, m, x, gamma, beta, NULL, NULL, 0.1f,
      NULL, 1e-5f, clamp, y, mean, rstd);
  for (int o = 0; o < c; o++) {
    ab[o] = gamma[o] * rstd[o];
    ab[c + o] = beta[o] - mean[o] * ab[o];
  }
  {
    const AffectEpilogue pro = { ab, ab + c, clamp, NULL, NULL };
    const AffectEpilogue e1 = { NULL, NULL, NULL, NULL, mom1 };
    const AffectEpilogue e2 = { NULL, NULL, NULL, NULL, mom2 };
    affect_depthwise_forward (&dw, y, wt, o1);
    affect_depthwise_forward_pro (&dw, x, &pro, wt, NULL, o2, NULL, NULL);
    g_assert_cmpmem (o1, sizeof (float) * out, o2, sizeof (float) * out);
    affect_depthwise_forward_fused (&dw, y, wt, &e1, o1);
    affect_depthwise_forward_pro (&dw, x, &pro, wt, &e2, o2, NULL, NULL);
    g_assert_cmpmem (o1, sizeof (float) * out, o2, sizeof (float) * out);
    g_assert_cmpmem (mom1, sizeof (double) * 2 * c, mom2,
        sizeof (double) * 2 * c);
    /* with its own training batch-norm channel by channel: the bits of
     * the moments epilogue followed by the batch-norm pass */
    {
      float *b1 = g_new (float, out), *b2 = g_new (float, out);
      float *m1 = g_new (float, c), *m2 = g_new (float, c);
      float *r1 = g_new (float, c), *r2 = g_new (float, c);
      float *rm1 = g_new0 (float, c), *rm2 = g_new0 (float, c);
      float *rv1 = g_new (float, c), *rv2 = g_new (float, c);
      int64_t n1 = 2, n2 = 2;
      for (int o = 0; o < c; o++)
        rv1[o] = rv2[o] = 1.0f;
      for (int k = 0; k < 2; k++) {
        const float momentum = k == 0 ? 0.1f : -1.0f;
        affect_depthwise_forward_pro (&dw, x, &pro, wt, &e1, o1, NULL, NULL);
        affect_batchnorm_forward_moments (c, (int64_t) n * dw.oh * dw.ow, o1,
            mom1, gamma, beta, rm1, rv1, momentum, &n1, 1e-5f, clamp, NULL,
            b1, m1, r1);
        affect_depthwise_forward_train_bn (&dw, x, &pro, wt, o2, gamma, beta,
            rm2, rv2, momentum, &n2, 1e-5f, clamp, b2, m2, r2);
        g_assert_cmpmem (o1, sizeof (float) * out, o2, sizeof (float) * out);
        g_assert_cmpmem (b1, sizeof (float) * out, b2, sizeof (float) * out);
        g_assert_cmpmem (m1, sizeof (float) * c, m2, sizeof (float) * c);
        g_assert_cmpmem (r1, sizeof (float) * c, r2, sizeof (float) * c);
        g_assert_cmpmem (rm1, sizeof (float) * c, rm2, sizeof (float) * c);
        g_assert_cmpmem (rv1, sizeof (float) * c, rv2, sizeof (float) * c);
        g_assert_cmpint (n1, ==, n2);
      }
      g_free (b1);
      g_free (b2);
      g_free (m1);
      g_free (m2);
      g_free (r1);
      g_free (r2);
      g_free (rm1);
      g_free (rm2);
      g_free (rv1);
      g_free (rv2);
    }
    /* and its output's batch-norm + clamp from saved statistics on the
     * way: forward_saved's bits */
    {
      float *s1 = g_new (float, out), *s2 = g_new (float, out);
      float *ab2 = g_new (float, 2 * c);
      for (int o = 0; o < c; o++) {
        ab2[o] = 0.5f + 0.25f * o;
        ab2[c + o] = 0.125f * o - 0.5f;
      }
      {
        const float ones[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
        float *mu = g_new (float, c), *rs = g_new (float, c);
        const AffectEpilogue post = { ab2, ab2 + c, clamp, NULL, NULL };
        /* gamma = a, rstd = 1, beta = b, mean = 0: a·y + b */
        for (int o = 0; o < c; o++) {
          mu[o] = 0.0f;
          rs[o] = ones[o % 8];
        }
        affect_depthwise_forward_pro (&dw, x, &pro, wt, NULL, o2, &post, s2);
        affect_batchnorm_forward_saved (c, (int64_t) n * dw.oh * dw.ow, o2,
            ab2, ab2 + c, mu, rs, clamp, s1);
        g_assert_cmpmem (o1, sizeof (float) * out, o2, sizeof (float) * out);
        g_assert_cmpmem (s1, sizeof (float) * out, s2, sizeof (float) * out);
        g_free (mu);
        g_free (rs);
      }
      g_free (s1);
      g_free (s2);
      g_free (ab2);
    }
    affect_depthwise_backward (&dw, y, wt, dy, dx1, dw1);
    affect_depthwise_backward_pro (&dw, x, &pro, wt, dy, dx2, dw2);
    g_assert_cmpmem (dx1, sizeof (float) * c * m, dx2, sizeof (float) * c * m);
    g_assert_cmpmem (dw1, sizeof (float) * 9 * c, dw2, sizeof (float) * 9 * c);
    /* with the sums of the batch-norm backward made on the way: the same
     * dx and dweight, and a batch-norm backward from those sums gives the
     * bits of the one that makes its own */
    {
      double *sums = g_new (double, 2 * c);
      float *dx3 = g_new (float, c * m), *bx1 = g_new (float, c * m);
      float *bx2 = g_new (float, c * m), *dw3 = g_new0 (float, 9 * c);
      float *dg1 = g_new0 (float, c), *dg2 = g_new0 (float, c);
      float *db1 = g_new0 (float, c), *db2 = g_new0 (float, c);
      affect_depthwise_backward_pro_sums (&dw, x, &pro, mean, rstd, wt, dy,
          dx3, dw3, sums);
      g_assert_cmpmem (dx1, sizeof (float) * c * m, dx3,
          sizeof (float) * c * m);
      g_assert_cmpmem (dw1, sizeof (float) * 9 * c, dw3,
          sizeof (float) * 9 * c);
      affect_batchnorm_backward_train_masked (c, m, x, gamma, beta, mean,
          rstd, clamp, dx3, bx1, dg1, db1);
      affect_batchnorm_backward_train_sums (c, m, x, gamma, beta, mean, rstd,
          clamp, sums, dx3, bx2, dg2, db2);
      g_assert_cmpmem (bx1, sizeof (float) * c * m, bx2,
          sizeof (float) * c * m);
      g_assert_cmpmem (dg1, sizeof (float) * c, dg2, sizeof (float) * c);
      g_assert_cmpmem (db1, sizeof (float) * c, db2, sizeof (float) * c);
      /* and with this layer's own batch-norm + clamp backward run on
       * each plane of the output gradient: the bits of the separate
       * batch-norm backward followed by the depthwise backward */
      {
        const int64_t mo = (int64_t) n * dw.oh * dw.ow;
        float *g2 = randn (out, 1.0f), *y2 = g_new (float, out);
        float *gam2 = randn (c, 1.5f), *bet2 = randn (c, 1.0f);
        float *mu2 = g_new (float, c), *rs2 = g_new (float, c);
        float *dref = g_new (float, out), *dx4 = g_new (float, c * m);
        float *dw4 = g_new0 (float, 9 * c), *dw5 = g_new0 (float, 9 * c);
        float *dg4 = g_new0 (float, c), *db4 = g_new0 (float, c);
        float *dg5 = g_new0 (float, c), *db5 = g_new0 (float, c);
        double *s4 = g_new (double, 2 * c), *s5 = g_new (double, 2 * c);
        double *bs = g_new (double, 2 * c);
        affect_batchnorm_forward_train (c, mo, o2, gam2, bet2, NULL, NULL,
            0.1f, NULL, 1e-5f, clamp, y2, mu2, rs2);
        affect_batchnorm_backward_train_masked (c, mo, o2, gam2, bet2, mu2,
            rs2, clamp, g2, dref, dg4, db4);
        affect_depthwise_backward_pro_sums (&dw, x, &pro, mean, rstd, wt,
            dref, dx3, dw4, s4);
        {
          const AffectBnBackward post = { o2, gam2, bet2, mu2, rs2, clamp, bs };
          affect_batchnorm_grad_sums (c, mo, o2, gam2, bet2, mu2, rs2, clamp,
              g2, bs, dg5, db5);
          affect_depthwise_backward_bn (&dw, x, &pro, mean, rstd, wt, g2,
              dx2, dw5, s5, FALSE, &post);
          /* and on through pro's batch-norm: the dx of the batch-norm
           * backward from the sums */
          {
            float *dx6 = g_new (float, c * m), *dw6 = g_new0 (float, 9 * c);
            float *bx3 = g_new (float, c * m);
            double *s6 = g_new (double, 2 * c);
            affect_depthwise_backward_bn (&dw, x, &pro, mean, rstd, wt, g2,
                dx6, dw6, s6, TRUE, &post);
            affect_batchnorm_backward_train_sums (c, m, x, gamma, beta, mean,
                rstd, clamp, s5, dx2, bx3, NULL, NULL);
            g_assert_cmpmem (bx3, sizeof (float) * c * m, dx6,
                sizeof (float) * c * m);
            g_assert_cmpmem (s5, sizeof (double) * 2 * c, s6,
                sizeof (double) * 2 * c);
            g_free (dx6);
            g_free (dw6);
            g_free (bx3);
            g_free (s6);
          }
        }
        g_assert_cmpmem (dx3, sizeof (float) * c * m, dx2,
            sizeof (float) * c * m);
        g_assert_cmpmem (dw4, sizeof (float) * 9 * c, dw5,
            sizeof (float) * 9 * c);
        g_assert_cmpmem (s4, sizeof (double) * 2 * c, s5,
            sizeof (double) * 2 * c);
        g_assert_cmpmem (dg4, sizeof (float) * c, dg5, sizeof (float) * c);
        g_assert_cmpmem (db4, sizeof (float) * c, db5, sizeof (float) * c);
        g_free (g2);
        g_free (y2);
        g_free (gam2);
        g_free (bet2);
        g_free (mu2);
        g_free (rs2);
        g_free (dref);
        g_free (dx4);
        g_free (dw4);
        g_free (dw5);
        g_free (dg4);
        g_free (db4);
        g_free (dg5);
        g_free (db5);
        g_free (s4);
        g_free (s5);
        g_free (bs);
      }
      g_free (sums);
      g_free (dx3);
      g_free (bx1);
      g_free (bx2);
      g_free (dw3);
      g_free (dg1);
      g_free (dg2);
      g_free (db1);
      g_free (db2);
    }
  }
  g_free (x);
  g_free (y);
  g_free (wt);
  g_free (gamma);
  g_free (beta);
  g_free (mean);
  g_free (rstd);
  g_free (ab);
  g_free (dy);
  g_free (o1);
  g_free (o2);
  g_free (dx1);
  g_free (dx2);
  g_free (dw1);
  g_free (dw2);
  g_free (mom1);
  g_free (mom2);
}

static void
test_depthwise_pro (void)
{
  static const float relu6[2] = { 0.0f, 6.0f }, relu[2] = { 0.0f, INFINITY };

  dw_pro_case (3, 2, 8, 10, 1, relu6);
  dw_pro_case (3, 2, 8, 10, 2, relu6);
  dw_pro_case (2, 2, 9, 37, 2, relu);
  dw_pro_case (2, 3, 6, 37, 1, NULL);
  dw_pro_case (5, 4, 24, 64, 2, relu6);
}

/* ---- layer-norm ---- */
typedef struct
{
  int64_t rows;
  int d;
  float *x, *g, *b, *y, *mean, *rstd, *probe;
} LnCase;

static double
ln_loss (gpointer p)
{
  LnCase *c = p;
  affect_layernorm_forward (c->rows, c->d, c->x, c->g, c->b, 1e-12f, c->y,
      c->mean, c->rstd);
  return dot (c->y, c->probe, (size_t) c->rows * c->d);
}

/* the fused convolution: the epilogue against the separate passes, and
 * its moments against double sums, in the blocked path (1×1, many
 * columns) and the whole-product path (3×3, few columns) */
static void
test_conv2d_fused (void)
{
  const int shapes[7][7] = {
    /* cin, cout, k, n, h, w, stride */
    {5, 7, 1, 4, 16, 256, 1},
    {3, 6, 3, 2, 7, 9, 1},
    /* blocks that make their own im2col columns, across image rows */
    {3, 6, 3, 4, 40, 300, 1},
    {3, 32, 3, 4, 96, 130, 2},
    /* few columns: affect_sgemm's slabs of rows, and of columns */
    {64, 512, 1, 2, 3, 8, 1},
    {256, 8, 1, 4, 16, 16, 1},
    /* a B beyond L2: slabs of 256 rows and a short one */
    {6000, 272, 1, 2, 3, 8, 1},
  };
  static const float relu6[2] = { 0.0f, 6.0f };

  for (int sh = 0; sh < 7; sh++) {
    const int *d = shapes[sh];
    AffectConv2d g;
    affect_conv2d_geometry (&g, d[0], d[1], d[2], d[2], d[6], d[2] / 2, d[3],
        d[4], d[5]);
    const int64_t cols = (int64_t) g.n * g.oh * g.ow;
    const size_t ny = (size_t) g.cout * cols;
    float *x = randn ((size_t) g.cin * g.n * g.h * g.w, 1.0f);
    float *w = randn ((size_t) g.cout * g.cin * g.kh * g.kw, 0.5f);
    float *bias = randn (g.cout, 0.3f), *scale = randn (g.cout, 1.0f);
    float *shift = randn (g.cout, 1.0f), *res = randn (ny, 1.0f);
    float *ref = g_new (float, ny), *y = g_new (float, ny);
    float *col = g_new (float, MAX (affect_conv2d_workspace (&g), 1));
    double *mom = g_new (double, 2 * g.cout), worst = 0.0;
    AffectEpilogue ep = { scale, shift, relu6, res, NULL };
    AffectEpilogue em = { NULL, NULL, NULL, NULL, mom };

    affect_conv2d_forward (&g, x, w, bias, ref, col);
    affect_conv2d_forward_fused (&g, x, w, bias, &em, y, col);
    for (int o = 0; o < g.cout; o++) {
      double mean = 0.0, m2 = 0.0;
      for (int64_t p = 0; p < cols; p++) {
        const float v = ref[o * cols + p];
        worst = fmax (worst, fabs (y[o * cols + p] - v) / fmax (fabs (v), 1));
        mean += v;
      }
      mean /= cols;
      for (int64_t p = 0; p < cols; p++)
        m2 += (ref[o * cols + p] - mean) * (ref[o * cols + p] - mean);
      g_assert_cmpfloat (fabs (mom[2 * o] - mean), <, 1e-9 * fmax (1, fabs
              (mean)) + 1e-6 * sqrt (m2 / cols));
      g_assert_cmpfloat (fabs (mom[2 * o + 1] - m2), <, 1e-5 * m2);
    }
    affect_conv2d_forward_fused (&g, x, w, bias, &ep, y, col);
    for (int o = 0; o < g.cout; o++)
      for (int64_t p = 0; p < cols; p++) {
        float v = scale[o] * ref[o * cols + p] + shift[o];
        v = v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v;
        v = res[o * cols + p] + v;
        worst = fmax (worst, fabs (y[o * cols + p] - v) / fmax (fabs (v), 1));
      }
    g_test_message ("fused conv %d: worst relative error %.2e", sh, worst);
    /* products cut into other slabs round apart by a few units in the
     * last place per term of their k-term sums */
    g_assert_cmpfloat (worst, <, 1e-5 + 2e-8 * g.cin * g.kh * g.kw);
    g_free (x);
    g_free (w);
    g_free (bias);
    g_free (scale);
    g_free (shift);
    g_free (res);
    g_free (ref);
    g_free (y);
    g_free (col);
    g_free (mom);
  }
}

/* A block's random parameters: the expansion's weights (w_exp floats, none
 * when 0), the depthwise taps and the projection, and the three
 * epilogues' scale and shift (ReLU6 after the first two). */
typedef struct
{
  float *w[3], *ab[6];
  AffectEpilogue ep[3];
} BlockParams;

static void
block_params_init (BlockParams * b, size_t w_exp, int hidden, int cout)
{
  static const float relu6[2] = { 0.0f, 6.0f };

  memset (b, 0, sizeof (*b));
  b->w[0] = w_exp > 0 ? randn (w_exp, 0.5f) : NULL;
  b->w[1] = randn ((size_t) hidden * 9, 0.5f);
  b->w[2] = randn ((size_t) cout * hidden, 0.3f);
  for (int i = 0; i < 3; i++) {
    const int ch = i < 2 ? hidden : cout;
    b->ab[2 * i] = randn (ch, 1.0f);
    b->ab[2 * i + 1] = randn (ch, 1.0f);
    b->ep[i].scale = b->ab[2 * i];
    b->ep[i].shift = b->ab[2 * i + 1];
    b->ep[i].clamp = i < 2 ? relu6 : NULL;
  }
}

static void
block_params_clear (BlockParams * b)
{
  for (int i = 0; i < 3; i++)
    g_free (b->w[i]);
  for (int i = 0; i < 6; i++)
    g_free (b->ab[i]);
}

/* the inverted-residual block strip by strip against the same layers run
 * one after the other over the whole batch (the plain path): equal up to
 * the rounding of the 1×1 products, which are cut into other blocks; and
 * bit for bit the same output at 1, 2 and 3 threads */
static void
invres_case (int cin, int hidden, int cout, int stride, int n, int h, int w,
    gboolean residual)
{
  const gboolean expand = hidden != cin;
  AffectInvRes g;
  AffectConv2d ce, cp;
  AffectDepthwise dw;

  g_assert_true (affect_invres_geometry (&g, cin, hidden, cout, stride, n, h,
          w));
  affect_conv2d_geometry (&ce, cin, hidden, 1, 1, 1, 0, n, h, w);
  affect_depthwise_geometry (&dw, hidden, n, h, w, stride);
  affect_conv2d_geometry (&cp, hidden, cout, 1, 1, 1, 0, n, dw.oh, dw.ow);
  g_assert_cmpint (g.oh, ==, dw.oh);
  g_assert_cmpint (g.ow, ==, dw.ow);
  const size_t nx = (size_t) cin * n * h * w;
  const size_t ne = (size_t) hidden * n * h * w;
  const size_t nd = (size_t) hidden * n * dw.oh * dw.ow;
  const size_t ny = (size_t) cout * n * dw.oh * dw.ow;
  float *x = randn (nx, 1.0f);
  BlockParams b;
  block_params_init (&b, (size_t) hidden * cin, hidden, cout);
  float *we = b.w[0], *wd = b.w[1], *wp = b.w[2];
  float *res = residual ? randn (ny, 1.0f) : NULL;
  float *e = g_new (float, ne), *d = g_new (float, nd);
  float *ref = g_new (float, ny), *y = g_new (float, ny);
  float *y2 = g_new (float, ny);
  AffectEpilogue ee = b.ep[0], ed = b.ep[1], ep = b.ep[2];
  double worst = 0.0;

  ep.residual = res;

  /* the plain path */
  if (expand)
    affect_conv2d_forward_fused (&ce, x, we, NULL, &ee, e, NULL);
  affect_depthwise_forward_fused (&dw, expand ? e : x, wd, &ed, d);
  affect_conv2d_forward_fused (&cp, d, wp, NULL, &ep, ref, NULL);

  affect_set_threads (1);
  affect_invres_forward (&g, x, expand ? we : NULL, &ee, wd, &ed, wp, &ep, y);
  for (size_t i = 0; i < ny; i++)
    worst = fmax (worst, fabs (y[i] - ref[i]) / fmax (fabs (ref[i]), 1.0));
  g_test_message ("invres %d→%d→%d stride %d, %d × %d × %d (strip %d): "
      "worst relative error %.2e", cin, hidden, cout, stride, n, h, w,
      g.strip, worst);
  /* the two paths' sums of cin and hidden products round apart by a few
   * units in the last place of each term; a wrong row or tap is O(1) */
  g_assert_cmpfloat (worst, <, 1e-5 + 1e-7 * (cin + hidden));
  for (int t = 2; t <= 3; t++) {
    affect_set_threads (t);
    affect_invres_forward (&g, x, expand ? we : NULL, &ee, wd, &ed, wp, &ep,
        y2);
    g_assert_cmpint (memcmp (y, y2, sizeof (float) * ny), ==, 0);
  }
  affect_set_threads (0);
  g_free (x);
  block_params_clear (&b);
  g_free (res);
  g_free (e);
  g_free (d);
  g_free (ref);
  g_free (y);
  g_free (y2);
}

/* a 3×3 convolution (padding 1; stride 2 as MoodNet's stem, 1 as its
 * stem_stride 1) standing for the expansion of a block without one:
 * against the convolution, then the block */
static void
invres_conv_case (int cin, int hidden, int cout, int n, int h, int w,
    int stride)
{
  AffectConv2d pre;
  AffectInvRes g;
  AffectDepthwise dw;
  AffectConv2d cp;

  affect_conv2d_geometry (&pre, cin, hidden, 3, 3, stride, 1, n, h, w);
  g_assert_true (affect_invres_geometry (&g, hidden, hidden, cout, 1, n,
          pre.oh, pre.ow));
  affect_depthwise_geometry (&dw, hidden, n, pre.oh, pre.ow, 1);
  affect_conv2d_geometry (&cp, hidden, cout, 1, 1, 1, 0, n, dw.oh, dw.ow);
  const size_t nx = (size_t) cin * n * h * w;
  const size_t ne = (size_t) hidden * n * pre.oh * pre.ow;
  const size_t ny = (size_t) cout * n * dw.oh * dw.ow;
  float *x = randn (nx, 1.0f);
  BlockParams b;
  block_params_init (&b, (size_t) hidden * cin * 9, hidden, cout);
  float *wc = b.w[0], *wd = b.w[1], *wp = b.w[2];
  float *e = g_new (float, ne), *d = g_new (float, ne);
  float *col = g_new (float, affect_conv2d_workspace (&pre));
  float *ref = g_new (float, ny), *y = g_new (float, ny);
  float *y2 = g_new (float, ny);
  AffectEpilogue ee = b.ep[0], ed = b.ep[1], ep = b.ep[2];
  double worst = 0.0;

  affect_conv2d_forward_fused (&pre, x, wc, NULL, &ee, e, col);
  affect_depthwise_forward_fused (&dw, e, wd, &ed, d);
  affect_conv2d_forward_fused (&cp, d, wp, NULL, &ep, ref, NULL);
  affect_set_threads (1);
  affect_invres_forward_conv (&g, &pre, x, wc, &ee, wd, &ed, wp, &ep, y);
  for (size_t i = 0; i < ny; i++)
    worst = fmax (worst, fabs (y[i] - ref[i]) / fmax (fabs (ref[i]), 1.0));
  g_test_message ("conv %d→%d stride %d then block →%d, %d × %d × %d "
      "(strip %d): worst relative error %.2e", cin, hidden, stride, cout, n,
      h, w, g.strip, worst);
  g_assert_cmpfloat (worst, <, 1e-5 + 1e-7 * (9 * cin + hidden));
  for (int t = 2; t <= 3; t++) {
    affect_set_threads (t);
    affect_invres_forward_conv (&g, &pre, x, wc, &ee, wd, &ed, wp, &ep, y2);
    g_assert_cmpint (memcmp (y, y2, sizeof (float) * ny), ==, 0);
  }
  affect_set_threads (0);
  g_free (x);
  block_params_clear (&b);
  g_free (e);
  g_free (d);
  g_free (col);
  g_free (ref);
  g_free (y);
  g_free (y2);
}

static void
test_invres (void)
{
  AffectInvRes g;

  /* one strip per image */
  invres_case (8, 48, 8, 1, 3, 12, 20, TRUE);
  invres_case (16, 96, 24, 2, 2, 9, 14, FALSE);
  invres_case (16, 16, 8, 1, 2, 10, 12, FALSE); /* no expansion */
  /* several strips (the kept halo rows), a short last strip, odd sizes */
  g_assert_true (affect_invres_geometry (&g, 16, 96, 24, 2, 2, 37, 130));
  g_assert_cmpint (g.strip, <, g.oh);
  invres_case (16, 96, 24, 2, 2, 37, 130, FALSE);
  invres_case (24, 144, 24, 1, 2, 29, 66, TRUE);
  invres_case (32, 32, 16, 1, 2, 70, 129, FALSE);
  invres_case (32, 32, 16, 2, 1, 71, 129, FALSE);
  g_assert_true (affect_invres_geometry (&g, 24, 144, 24, 1, 2, 29, 66));
  g_assert_cmpint (g.strip, <, g.oh);
  /* groups of whole images, the last one short */
  g_assert_true (affect_invres_geometry (&g, 160, 960, 160, 1, 5, 3, 8));
  g_assert_cmpint (g.group, ==, 2);
  invres_case (160, 960, 160, 1, 5, 3, 8, TRUE);
  invres_case (96, 576, 160, 2, 7, 6, 16, FALSE);
  invres_case (16, 96, 16, 1, 5, 6, 16, TRUE);
  /* a convolution as the expansion: one strip, several, odd sizes */
  invres_conv_case (3, 32, 16, 2, 20, 30, 2);
  invres_conv_case (3, 32, 16, 2, 20, 30, 1);
  g_assert_true (affect_invres_geometry (&g, 32, 32, 16, 1, 2, 48, 128));
  g_assert_cmpint (g.strip, <, g.oh);
  invres_conv_case (3, 32, 16, 2, 96, 256, 2);
  invres_conv_case (3, 32, 16, 1, 96, 256, 1);
  invres_conv_case (3, 32, 16, 1, 95, 131, 2);
}

/* Blocks run as one chain (affect_invres_chain_forward) against the same
 * blocks run one after the other: the same bits, at 1, 2 and 3 threads.
 * The chains cover a convolution as the first stage's expansion, blocks
 * without expansion, residual sums, stride 2, several strips per image
 * with the kept halo rows, and groups of whole images, with a short last
 * part (n = 5). */
typedef struct
{
  AffectInvResStage st;
  BlockParams p;
} ChainStage;

static void
chain_stage (ChainStage * c, const AffectConv2d * pre, int cin, int hidden,
    int cout, int stride, int n, int h, int w, gboolean residual, int strip,
    int group)
{
  const gboolean expand = pre != NULL || hidden != cin;
  const int k = pre != NULL ? pre->cin * pre->kh * pre->kw : cin;

  memset (c, 0, sizeof (*c));
  g_assert_true (affect_invres_geometry (&c->st.g, cin, hidden, cout, stride,
          n, h, w));
  /* the cut as a larger image would have it: strips, or groups */
  if (strip > 0) {
    c->st.g.strip = MIN (strip, c->st.g.oh);
    c->st.g.group = 1;
  }
  if (group > 0) {
    g_assert_cmpint (c->st.g.strip, ==, c->st.g.oh);
    c->st.g.group = group;
  }
  c->st.pre = pre;
  block_params_init (&c->p, expand ? (size_t) hidden * k : 0, hidden, cout);
  c->st.w_exp = c->p.w[0];
  c->st.ep_exp = expand ? &c->p.ep[0] : NULL;
  c->st.w_dw = c->p.w[1];
  c->st.ep_dw = &c->p.ep[1];
  c->st.w_proj = c->p.w[2];
  c->st.ep_proj = &c->p.ep[2];
  c->st.residual = residual;
}

static void
chain_stage_free (ChainStage * c)
{
  block_params_clear (&c->p);
}

/* stages[0] reads x (xn floats); the output has yn floats */
static void
chain_check (ChainStage * c, int n_st, const float *x, size_t yn,
    int want_images)
{
  AffectInvResStage *st = g_new (AffectInvResStage, n_st);
  float *ref = NULL, *y = g_new (float, yn), *y2 = g_new (float, yn);
  const float *in = x;

  for (int i = 0; i < n_st; i++)
    st[i] = c[i].st;
  g_assert_cmpint (affect_invres_chain_images (st, n_st), ==, want_images);
  /* one block after the other, each its own job */
  affect_set_threads (1);
  for (int i = 0; i < n_st; i++) {
    const AffectInvRes *g = &st[i].g;
    const size_t on = (size_t) g->cout * g->n * g->oh * g->ow;
    float *out = g_new (float, on);
    AffectEpilogue ep = *st[i].ep_proj;
    ep.residual = st[i].residual ? in : NULL;
    if (st[i].pre != NULL)
      affect_invres_forward_conv (g, st[i].pre, in, st[i].w_exp,
          st[i].ep_exp, st[i].w_dw, st[i].ep_dw, st[i].w_proj, &ep, out);
    else
      affect_invres_forward (g, in, st[i].w_exp, st[i].ep_exp, st[i].w_dw,
          st[i].ep_dw, st[i].w_proj, &ep, out);
    if (in != x)
      g_free ((float *) in);
    in = out;
    g_assert_cmpuint (on, ==, i + 1 < n_st ? on : yn);
  }
  ref = (float *) in;
  for (int t = 1; t <= 3; t++) {
    float *o = t == 1 ? y : y2;
    affect_set_threads (t);
    memset (o, 0, sizeof (float) * yn);
    affect_invres_chain_forward (st, n_st, x, o);
    g_assert_cmpint (memcmp (ref, o, sizeof (float) * yn), ==, 0);
  }
  affect_set_threads (0);
  g_free (st);
  g_free (ref);
  g_free (y);
  g_free (y2);
}

static void
test_invres_chain (void)
{
  const int n = 5;
  AffectConv2d pre;
  ChainStage c[6];
  float *x;

  /* the stem as the first stage's expansion, several strips each */
  affect_conv2d_geometry (&pre, 3, 8, 3, 3, 2, 1, n, 40, 30);
  x = randn ((size_t) 3 * n * 40 * 30, 1.0f);
  chain_stage (&c[0], &pre, 8, 8, 8, 1, n, pre.oh, pre.ow, FALSE, 6, 0);
  chain_stage (&c[1], NULL, 8, 48, 8, 1, n, 20, 15, TRUE, 7, 0);
  chain_stage (&c[2], NULL, 8, 48, 16, 2, n, 20, 15, FALSE, 3, 0);
  chain_stage (&c[3], NULL, 16, 16, 16, 1, n, 10, 8, TRUE, 4, 0);
  chain_check (c, 4, x, (size_t) 16 * n * 10 * 8, 1);
  /* then groups of two whole images: parts of two, the last one short */
  chain_stage (&c[4], NULL, 16, 96, 24, 2, n, 10, 8, FALSE, 0, 2);
  chain_stage (&c[5], NULL, 24, 144, 24, 1, n, 5, 4, TRUE, 0, 2);
  chain_check (c, 6, x, (size_t) 24 * n * 5 * 4, 2);
  for (int i = 0; i < 6; i++)
    chain_stage_free (&c[i]);
  g_free (x);
}

/* the fused bw2col stage against the same arithmetic in double, layer
 * by layer: forward, the weight, bias and batch-norm sums, and dx̂ */
static double
rel_err (double got, double want)
{
  return fabs (got - want) / fmax (fabs (want), 1e-3);
}

static void
test_bw2col (void)
{
  enum
  { C1 = AFFECT_BW2COL_HIDDEN, C3 = AFFECT_BW2COL_OUT };
  const int64_t n = 3 * 4096 + 21;      /* blocks and a tail */
  float *x = randn (n, 1.0f), *w1 = randn (C1, 1.0f), *b1 = randn (C1, 0.5f);
  float *w3 = randn (C3 * C1, 0.5f), *b3 = randn (C3, 0.2f);
  float *dy = randn (C3 * n, 1.0f), *y = g_new (float, C3 * n);
  float *dxhat = g_new (float, n);
  float dw1[C1] = { 0 }, db1[C1] = { 0 }, dw3[C3 * C1] = { 0 }, db3[C3] = { 0 };
  double rw1[C1] = { 0 }, rb1[C1] = { 0 }, rw3[C3 * C1] = { 0 };
  double rb3[C3] = { 0 }, rsg = 0.0, rsgx = 0.0, worst = 0.0, sg, sgx;
  double mean, m2, rmean = 0.0, rm2 = 0.0;
  const float a0 = 0.8f, b0 = 0.1f, mu = 0.05f, r = 1.3f;

  affect_bw2col_moments (n, x, &mean, &m2);
  for (int64_t p = 0; p < n; p++)
    rmean += x[p];
  rmean /= n;
  for (int64_t p = 0; p < n; p++)
    rm2 += (x[p] - rmean) * (x[p] - rmean);
  g_assert_cmpfloat (rel_err (mean, rmean), <, 1e-12);
  g_assert_cmpfloat (rel_err (m2, rm2), <, 1e-10);

  affect_bw2col_forward (n, x, a0, b0, w1, b1, w3, b3, y);
  affect_bw2col_backward (n, x, a0, b0, mu, r, w1, b1, w3, b3, y, dy, dxhat,
      dw1, db1, dw3, db3, &sg, &sgx);
  for (int64_t p = 0; p < n; p++) {
    const double xh = (double) a0 * x[p] + b0;
    double h[C1], gh[C1] = { 0 }, gx = 0.0;
    for (int o = 0; o < C1; o++)
      h[o] = fmax (0.0, (double) w1[o] * xh + b1[o]);
    for (int c = 0; c < C3; c++) {
      double z = b3[c], g;
      for (int o = 0; o < C1; o++)
        z += (double) w3[c * C1 + o] * h[o];
      worst = fmax (worst, fabs (y[c * n + p] - fmax (z, 0.0)) /
          fmax (fabs (z), 1.0));
      g = z > 0.0 ? dy[c * n + p] : 0.0;
      rb3[c] += g;
      for (int o = 0; o < C1; o++) {
        rw3[c * C1 + o] += g * h[o];
        gh[o] += (double) w3[c * C1 + o] * g;
      }
    }
    for (int o = 0; o < C1; o++) {
      const double ga = h[o] > 0.0 ? gh[o] : 0.0;
      rb1[o] += ga;
      rw1[o] += ga * xh;
      gx += (double) w1[o] * ga;
    }
    rsg += gx;
    rsgx += gx * ((x[p] - mu) * r);
    worst = fmax (worst, fabs (dxhat[p] - gx) / fmax (fabs (gx), 1.0));
  }
  g_test_message ("bw2col forward / dx̂: worst relative error %.2e", worst);
  g_assert_cmpfloat (worst, <, 1e-5);
  worst = fmax (rel_err (sg, rsg), rel_err (sgx, rsgx));
  for (int c = 0; c < C3; c++)
    worst = fmax (worst, rel_err (db3[c], rb3[c]));
  for (int i = 0; i < C3 * C1; i++)
    worst = fmax (worst, rel_err (dw3[i], rw3[i]));
  for (int o = 0; o < C1; o++)
    worst = fmax (worst, fmax (rel_err (dw1[o], rw1[o]),
            rel_err (db1[o], rb1[o])));
  g_test_message ("bw2col sums: worst relative error %.2e", worst);
  g_assert_cmpfloat (worst, <, 1e-4);
  g_free (x);
  g_free (w1);
  g_free (b1);
  g_free (w3);
  g_free (b3);
  g_free (dy);
  g_free (y);
  g_free (dxhat);
}

static void
test_layernorm (void)
{
  LnCase c = { 5, 16 };
  const size_t n = (size_t) c.rows * c.d;
  c.x = randn (n, 1.5f);
  c.g = randn (c.d, 1.0f);
  c.b = randn (c.d, 1.0f);
  c.y = g_new (float, n);
  c.mean = g_new (float, c.rows);
  c.rstd = g_new (float, c.rows);
  c.probe = randn (n, 1.0f);
  ln_loss (&c);
  float *dx = g_new (float, n), *dg = g_new0 (float, c.d), *db =
      g_new0 (float, c.d);
  affect_layernorm_backward (c.rows, c.d, c.x, c.g, c.mean, c.rstd, c.probe,
      dx, dg, db);
  check_gradient ("layernorm dx", ln_loss, &c, c.x, dx, n, 40, 1e-2f, 3e-3);
  check_gradient ("layernorm dgamma", ln_loss, &c, c.g, dg, c.d, 10, 1e-2f,
      3e-3);
  check_gradient ("layernorm dbeta", ln_loss, &c, c.b, db, c.d, 10, 1e-2f,
      3e-3);
  g_free (c.x);
  g_free (c.g);
  g_free (c.b);
  g_free (c.y);
  g_free (c.mean);
  g_free (c.rstd);
  g_free (c.probe);
  g_free (dx);
  g_free (dg);
  g_free (db);
}

/* ---- attention ---- */
typedef struct
{
  int n, t, heads, hd;
  float *q, *k, *v, *mask, *probs, *ctx, *probe;
} AttCase;

static double
att_loss (gpointer p)
{
  AttCase *c = p;
  affect_attention_forward (c->n, c->t, c->heads, c->hd, c->q, c->k, c->v,
      c->mask, c->probs, c->ctx);
  return dot (c->ctx, c->probe, (size_t) c->n * c->t * c->heads * c->hd);
}

static void
test_attention (void)
{
  for (int use_mask = 0; use_mask < 2; use_mask++) {
    AttCase c = { 2, 5, 3, 4 };
    const int d = c.heads * c.hd;
    const size_t n = (size_t) c.n * c.t * d;
    const size_t np = (size_t) c.n * c.heads * c.t * c.t;
    c.q = randn (n, 1.0f);
    c.k = randn (n, 1.0f);
    c.v = randn (n, 1.0f);
    c.mask = NULL;
    if (use_mask) {
      c.mask = g_new (float, np);
      for (size_t i = 0; i < np; i++)
        c.mask[i] = affect_rng_uniform (&rng) < 0.2 ? 0.0f : 1.25f;
    }
    c.probs = g_new (float, np);
    c.ctx = g_new (float, n);
    c.probe = randn (n, 1.0f);
    att_loss (&c);

    /* forward against the definition for one head, without the mask */
    if (!use_mask) {
      const int b = 1, h = 2, i = 3;
      double s[5], mx = -1e30, z = 0;
      for (int j = 0; j < c.t; j++) {
        s[j] = 0;
        for (int e = 0; e < c.hd; e++)
          s[j] += (double) c.q[(b * c.t + i) * d + h * c.hd + e] *
              c.k[(b * c.t + j) * d + h * c.hd + e];
        s[j] /= sqrt (c.hd);
        mx = fmax (mx, s[j]);
      }
      for (int j = 0; j < c.t; j++)
        z += exp (s[j] - mx);
      for (int e = 0; e < c.hd; e++) {
        double o = 0;
        for (int j = 0; j < c.t; j++)
          o += exp (s[j] - mx) / z * c.v[(b * c.t + j) * d + h * c.hd + e];
        g_assert_cmpfloat (fabs (o - c.ctx[(b * c.t + i) * d + h * c.hd + e]),
            <, 1e-5);
      }
    }
    float *dq = g_new (float, n), *dk = g_new (float, n), *dv =
        g_new (float, n);
    affect_attention_backward (c.n, c.t, c.heads, c.hd, c.q, c.k, c.v, c.mask,
        c.probs, c.probe, dq, dk, dv);
    check_gradient ("attention dq", att_loss, &c, c.q, dq, n, 30, 1e-2f, 3e-3);
    check_gradient ("attention dk", att_loss, &c, c.k, dk, n, 30, 1e-2f, 3e-3);
    check_gradient ("attention dv", att_loss, &c, c.v, dv, n, 30, 1e-2f, 3e-3);
    g_free (c.q);
    g_free (c.k);
    g_free (c.v);
    g_free (c.mask);
    g_free (c.probs);
    g_free (c.ctx);
    g_free (c.probe);
    g_free (dq);
    g_free (dk);
    g_free (dv);
  }
}

/* ---- pooling ---- */
typedef struct
{
  int c, n, s;
  gboolean max;
  float *x, *out, *probe;
} PoolCase;

static double
pool_loss (gpointer p)
{
  PoolCase *c = p;
  if (c->max)
    affect_global_max_forward (c->c, c->n, c->s, c->x, c->out, NULL);
  else
    affect_global_mean_forward (c->c, c->n, c->s, c->x, c->out);
  return dot (c->out, c->probe, (size_t) c->c * c->n);
}

static void
test_pool (void)
{
  for (int max = 0; max < 2; max++) {
    PoolCase c = { 3, 2, 7, max };
    const size_t n = (size_t) c.c * c.n * c.s;
    c.x = randn (n, 1.0f);
    c.out = g_new (float, c.c * c.n);
    c.probe = randn (c.c * c.n, 1.0f);
    int32_t argmax[6];
    float *dx = g_new (float, n);
    if (max) {
      affect_global_max_forward (c.c, c.n, c.s, c.x, c.out, argmax);
      /* out is batch-first: out[b][ch] */
      float m = -1e30f;
      for (int i = 0; i < c.s; i++)
        m = fmaxf (m, c.x[(2 * c.n + 1) * c.s + i]);
      g_assert_cmpfloat (c.out[1 * c.c + 2], ==, m);
      affect_global_max_backward (c.c, c.n, c.s, argmax, c.probe, dx);
    } else {
      affect_global_mean_forward (c.c, c.n, c.s, c.x, c.out);
      affect_global_mean_backward (c.c, c.n, c.s, c.probe, dx);
    }
    check_gradient (max ? "max pool dx" : "mean pool dx", pool_loss, &c, c.x,
        dx, n, 30, 1e-3f, 3e-3);
    g_free (c.x);
    g_free (c.out);
    g_free (c.probe);
    g_free (dx);
  }

  /* mean over the sequence axis */
  float x[2 * 3 * 2], out[4], dx[12], dout[4] = { 1, 2, 3, 4 };
  for (int i = 0; i < 12; i++)
    x[i] = (float) i;
  affect_mean_axis1_forward (2, 3, 2, x, out);
  g_assert_cmpfloat (out[0], ==, 2.0f);
  g_assert_cmpfloat (out[3], ==, 9.0f);
  affect_mean_axis1_backward (2, 3, 2, dout, dx);
  g_assert_cmpfloat (dx[4], ==, 1.0f / 3.0f);
  g_assert_cmpfloat (dx[11], ==, 4.0f / 3.0f);
}

/* the batch-norm moments of several rows side by side have, row by row,
 * the bits of the one-row kernel (and agree with a direct sum in double);
 * rows of every length class (whole vectors, tails) and row counts that
 * leave groups of four, two and one */
static void
test_rows_moments (void)
{
  const int lens[] = { 1, 3, 7, 8, 9, 15, 16, 37, 256, 1001 };
  const int counts[] = { 1, 2, 3, 4, 5, 7, 9 };

  for (guint li = 0; li < G_N_ELEMENTS (lens); li++)
    for (guint ci = 0; ci < G_N_ELEMENTS (counts); ci++) {
      const int n = lens[li], rows = counts[ci], ld = n + 5;
      float *v = randn ((size_t) rows * ld, 3.0f);
      double *out = g_new (double, 2 * rows);
      for (int i = 0; i < rows * ld; i++)
        v[i] += 10.0f * (i / ld);       /* rows of other means */
      affect_rows_moments (rows, n, v, ld, out);
      for (int r = 0; r < rows; r++) {
        double mean, m2, s = 0.0, ss = 0.0;
        affect_row_moments (n, v + (size_t) r * ld, &mean, &m2);
        g_assert_true (memcmp (&mean, &out[2 * r], sizeof (double)) == 0);
        g_assert_true (memcmp (&m2, &out[2 * r + 1], sizeof (double)) == 0);
        for (int i = 0; i < n; i++)
          s += v[(size_t) r * ld + i];
        s /= n;
        for (int i = 0; i < n; i++) {
          const double d = v[(size_t) r * ld + i] - s;
          ss += d * d;
        }
        g_assert_cmpfloat (fabs (out[2 * r] - s), <=, 1e-12 * (1.0 + fabs (s)));
        g_assert_cmpfloat (fabs (out[2 * r + 1] - ss), <=, 1e-10 * (1.0 + ss));
      }
      g_free (v);
      g_free (out);
    }
}

/* The batch-norm's lane sums (whichever variant the machine runs)
 * against the plain loop: value i of the channel into lane i mod 8, in
 * index order, in double; the channel summed in stretches of every
 * alignment, with the clamp's mask from y, from ma·x + mb, or none, and
 * a finite or infinite upper bound: bit for bit. */
static void
test_lane_sums (void)
{
  const int64_t m = 301;
  const int64_t cuts[][4] = { {0, 301}, {0, 96, 301}, {0, 5, 40, 301},
  {0, 8, 17, 301}
  };
  const int n_cuts[] = { 2, 3, 4, 4 };
  float *x = randn (m, 2.0f), *g = randn (m, 1.0f), *y = randn (m, 3.0f);
  const float ma = 1.3f, mb = 0.4f, mu = 0.1f, r = 0.7f;

  for (int mode = 0; mode < 3; mode++)
    for (int fin = 0; fin < 2; fin++)
      for (guint c = 0; c < G_N_ELEMENTS (n_cuts); c++) {
        const float lo = 0.0f, hi = fin ? 6.0f : INFINITY;
        const float *yy = mode == 0 ? y : NULL;
        double acc[16] = { 0 }, ref[16] = { 0 };
        for (int k = 0; k + 1 < n_cuts[c]; k++) {
          const int64_t a = cuts[c][k], b = cuts[c][k + 1];
          affect_batchnorm_lane_sums (b - a, a, x + a, g + a,
              yy != NULL ? yy + a : NULL, mode == 1, ma, mb, lo, hi, mu, r,
              acc);
        }
        for (int64_t i = 0; i < m; i++) {
          const float v = mode == 0 ? y[i] : mode == 1 ? ma * x[i] + mb : 1.0f;
          const float gi = mode == 2 || (v > lo && v < hi) ? g[i] : 0.0f;
          ref[i % 8] += gi;
          ref[8 + i % 8] += gi * ((x[i] - mu) * r);
        }
        g_assert_true (memcmp (acc, ref, sizeof (acc)) == 0);
      }
  g_free (x);
  g_free (g);
  g_free (y);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  affect_rng_init (&rng, 42);
  g_test_add_func ("/nn/conv2d", test_conv2d);
  g_test_add_func ("/nn/depthwise", test_depthwise);
  g_test_add_func ("/nn/depthwise-pro", test_depthwise_pro);
  g_test_add_func ("/nn/batchnorm", test_batchnorm);
  g_test_add_func ("/nn/batchnorm-running", test_batchnorm_running);
  g_test_add_func ("/nn/batchnorm-clamped", test_batchnorm_clamped);
  g_test_add_func ("/nn/conv2d-fused", test_conv2d_fused);
  g_test_add_func ("/nn/bw2col", test_bw2col);
  g_test_add_func ("/nn/invres", test_invres);
  g_test_add_func ("/nn/invres-chain", test_invres_chain);
  g_test_add_func ("/nn/layernorm", test_layernorm);
  g_test_add_func ("/nn/attention", test_attention);
  g_test_add_func ("/nn/pool", test_pool);
  g_test_add_func ("/nn/rows-moments", test_rows_moments);
  /* last: the cases before it draw the random inputs they always drew */
  g_test_add_func ("/nn/depthwise-dx-stride2", test_depthwise_dx_stride2);
  g_test_add_func ("/nn/lane-sums", test_lane_sums);
  return g_test_run ();
}

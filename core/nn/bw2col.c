/* MoodNet's bw2col stage in one sweep over the pixels: batch-norm of the
 * single input channel, 1×1 convolution 1 → 10 + ReLU, 1×1 convolution
 * 10 → 3 + ReLU (see affect/nn-layers.h). As separate layers the stage
 * wrote and read back ten full-resolution maps per pass (126 MiB each at
 * batch 8 × 16 chunks) and its weight gradients were products with one
 * or three rows that ran on a single thread; here every pixel goes
 * through the whole stage in registers.
 *
 * Work is cut into blocks of BLOCK pixels, a size fixed by the layer; a
 * block's sums are made in float vectors over its pixels, then added to
 * the totals in double in block order, so the bits do not depend on the
 * thread count. */
#include <math.h>
#include <string.h>

#include "affect/nn-layers.h"
#include "affect/parallel.h"
#include "epilogue.h"
#include "vector-clones.h"

#define C1 AFFECT_BW2COL_HIDDEN
#define C3 AFFECT_BW2COL_OUT
#define BLOCK 4096

typedef float v8sf __attribute__((vector_size (32)));
typedef int v8si __attribute__((vector_size (32)));

#define SPLAT8(v, s) do { for (int l_ = 0; l_ < 8; l_++) (v)[l_] = (s); } \
  while (0)
#define MAX0(v, zero) \
  ((v8sf) ((v8si) (v) & ((v) > (zero))))

/* the per-pixel arithmetic, in the order of the separate layers: x̂ =
 * a0·x + b0; h = w1·x̂ + b1 (then ReLU); z = Σ_o w3·h in o order, + b3
 * (then ReLU) */
typedef struct
{
  int64_t n;
  const float *x;
  float a0, b0;
  const float *w1, *b1, *w3, *b3;
  float *y;                     /* C3 × n */
  /* backward */
  const float *dy;              /* C3 × n */
  float mu, r;                  /* the batch-norm's mean and rstd */
  float *dxhat;                 /* n, or NULL */
  double *sums;                 /* blocks × N_SUMS */
  double *moments;              /* blocks × 2 */
} Bw2colJob;

/* per block: db3 (C3), dw3 (C3·C1), db1 (C1), dw1 (C1), Σ g, Σ g·x̂n */
#define N_SUMS (C3 + C3 * C1 + C1 + C1 + 2)

AFFECT_VECTOR_CLONES static void
forward_block (const Bw2colJob * j, int64_t p0, int64_t p1)
{
  v8sf w1[C1], b1[C1], w3[C3][C1], b3[C3], a0, b0, zero;
  int64_t p = p0;

  SPLAT8 (a0, j->a0);
  SPLAT8 (b0, j->b0);
  SPLAT8 (zero, 0.0f);
  for (int o = 0; o < C1; o++) {
    SPLAT8 (w1[o], j->w1[o]);
    SPLAT8 (b1[o], j->b1[o]);
  }
  for (int c = 0; c < C3; c++) {
    SPLAT8 (b3[c], j->b3[c]);
    for (int o = 0; o < C1; o++)
      SPLAT8 (w3[c][o], j->w3[c * C1 + o]);
  }
  for (; p + 8 <= p1; p += 8) {
    v8sf x, h[C1];
    memcpy (&x, j->x + p, sizeof (x));
    x = a0 * x + b0;
    for (int o = 0; o < C1; o++) {
      h[o] = w1[o] * x + b1[o];
      h[o] = MAX0 (h[o], zero);
    }
    for (int c = 0; c < C3; c++) {
      v8sf z = w3[c][0] * h[0];
      for (int o = 1; o < C1; o++)
        z = z + w3[c][o] * h[o];
      z = z + b3[c];
      z = MAX0 (z, zero);
      memcpy (j->y + c * j->n + p, &z, sizeof (z));
    }
  }
  for (; p < p1; p++) {
    const float x = j->a0 * j->x[p] + j->b0;
    float h[C1];
    for (int o = 0; o < C1; o++) {
      h[o] = j->w1[o] * x + j->b1[o];
      h[o] = h[o] > 0.0f ? h[o] : 0.0f;
    }
    for (int c = 0; c < C3; c++) {
      float z = j->w3[c * C1] * h[0];
      for (int o = 1; o < C1; o++)
        z = z + j->w3[c * C1 + o] * h[o];
      z = z + j->b3[c];
      j->y[c * j->n + p] = z > 0.0f ? z : 0.0f;
    }
  }
}

static void
forward_part (int part, int n_parts, gpointer data)
{
  const Bw2colJob *j = data;

  forward_block (j, (int64_t) part * BLOCK,
      MIN ((int64_t) (part + 1) * BLOCK, j->n));
}

static int
n_blocks (int64_t n)
{
  return (int) MAX ((n + BLOCK - 1) / BLOCK, 1);
}

void
affect_bw2col_forward (int64_t n, const float *x, float a0, float b0,
    const float *w1, const float *b1, const float *w3, const float *b3,
    float *y)
{
  Bw2colJob j = { n, x, a0, b0, w1, b1, w3, b3, y };

  affect_parallel_run (n_blocks (n), forward_part, &j);
}

static void
moments_part (int part, int n_parts, gpointer data)
{
  const Bw2colJob *j = data;
  const int64_t p0 = (int64_t) part * BLOCK;

  affect_row_moments (MIN ((int64_t) BLOCK, j->n - p0), j->x + p0,
      &j->moments[2 * part], &j->moments[2 * part + 1]);
}

void
affect_bw2col_moments (int64_t n, const float *x, double *mean, double *m2)
{
  const int blocks = n_blocks (n);
  Bw2colJob j = { n, x };
  double cnt = 0.0;

  j.moments = g_new (double, 2 * blocks);
  affect_parallel_run (blocks, moments_part, &j);
  *mean = *m2 = 0.0;
  for (int b = 0; b < blocks; b++)
    affect_moments_merge (&cnt, mean, m2,
        (double) MIN ((int64_t) BLOCK, n - (int64_t) b * BLOCK),
        j.moments[2 * b], j.moments[2 * b + 1]);
  g_free (j.moments);
}

AFFECT_VECTOR_CLONES static void
backward_block (const Bw2colJob * j, int64_t p0, int64_t p1, double *sums)
{
  v8sf w1[C1], b1[C1], w3[C3][C1], a0, b0, zero, vmu, vr;
  v8sf s_b3[C3], s_w3[C3][C1], s_b1[C1], s_w1[C1], s_g, s_gx;
  float t_b3[C3] = { 0 }, t_w3[C3][C1] = { {0} }, t_b1[C1] = { 0 };
  float t_w1[C1] = { 0 }, t_g = 0.0f, t_gx = 0.0f;
  int64_t p = p0;

  SPLAT8 (a0, j->a0);
  SPLAT8 (b0, j->b0);
  SPLAT8 (zero, 0.0f);
  SPLAT8 (vmu, j->mu);
  SPLAT8 (vr, j->r);
  SPLAT8 (s_g, 0.0f);
  SPLAT8 (s_gx, 0.0f);
  for (int o = 0; o < C1; o++) {
    SPLAT8 (w1[o], j->w1[o]);
    SPLAT8 (b1[o], j->b1[o]);
    SPLAT8 (s_b1[o], 0.0f);
    SPLAT8 (s_w1[o], 0.0f);
  }
  for (int c = 0; c < C3; c++) {
    SPLAT8 (s_b3[c], 0.0f);
    for (int o = 0; o < C1; o++) {
      SPLAT8 (w3[c][o], j->w3[c * C1 + o]);
      SPLAT8 (s_w3[c][o], 0.0f);
    }
  }
  for (; p + 8 <= p1; p += 8) {
    v8sf xin, x, h[C1], gh[C1], gx;
    memcpy (&xin, j->x + p, sizeof (xin));
    x = a0 * xin + b0;
    for (int o = 0; o < C1; o++) {
      h[o] = w1[o] * x + b1[o];
      h[o] = MAX0 (h[o], zero);
      SPLAT8 (gh[o], 0.0f);
    }
    for (int c = 0; c < C3; c++) {
      v8sf y, g;
      memcpy (&y, j->y + c * j->n + p, sizeof (y));
      memcpy (&g, j->dy + c * j->n + p, sizeof (g));
      g = (v8sf) ((v8si) g & (y > zero));
      s_b3[c] += g;
      for (int o = 0; o < C1; o++) {
        s_w3[c][o] += g * h[o];
        gh[o] = gh[o] + w3[c][o] * g;
      }
    }
    SPLAT8 (gx, 0.0f);
    for (int o = 0; o < C1; o++) {
      const v8sf ga = (v8sf) ((v8si) gh[o] & (h[o] > zero));
      s_b1[o] += ga;
      s_w1[o] += ga * x;
      gx = gx + w1[o] * ga;
    }
    s_g += gx;
    s_gx += gx * ((xin - vmu) * vr);
    if (j->dxhat != NULL)
      memcpy (j->dxhat + p, &gx, sizeof (gx));
  }
  for (; p < p1; p++) {
    const float xin = j->x[p];
    const float x = j->a0 * xin + j->b0;
    float h[C1], gh[C1] = { 0 }, gx = 0.0f;
    for (int o = 0; o < C1; o++) {
      h[o] = j->w1[o] * x + j->b1[o];
      h[o] = h[o] > 0.0f ? h[o] : 0.0f;
    }
    for (int c = 0; c < C3; c++) {
      const float g = j->y[c * j->n + p] > 0.0f ? j->dy[c * j->n + p] : 0.0f;
      t_b3[c] += g;
      for (int o = 0; o < C1; o++) {
        t_w3[c][o] += g * h[o];
        gh[o] = gh[o] + j->w3[c * C1 + o] * g;
      }
    }
    for (int o = 0; o < C1; o++) {
      const float ga = h[o] > 0.0f ? gh[o] : 0.0f;
      t_b1[o] += ga;
      t_w1[o] += ga * x;
      gx = gx + j->w1[o] * ga;
    }
    t_g += gx;
    t_gx += gx * ((xin - j->mu) * j->r);
    if (j->dxhat != NULL)
      j->dxhat[p] = gx;
  }
  /* lanes in order, then the tail */
#define FOLD(dst, v, t) do { double s_ = 0.0; \
    for (int l_ = 0; l_ < 8; l_++) \
      s_ += (v)[l_]; \
    (dst) = s_ + (t); } while (0)
  {
    int k = 0;
    for (int c = 0; c < C3; c++, k++)
      FOLD (sums[k], s_b3[c], t_b3[c]);
    for (int c = 0; c < C3; c++)
      for (int o = 0; o < C1; o++, k++)
        FOLD (sums[k], s_w3[c][o], t_w3[c][o]);
    for (int o = 0; o < C1; o++, k++)
      FOLD (sums[k], s_b1[o], t_b1[o]);
    for (int o = 0; o < C1; o++, k++)
      FOLD (sums[k], s_w1[o], t_w1[o]);
    FOLD (sums[k], s_g, t_g);
    k++;
    FOLD (sums[k], s_gx, t_gx);
  }
#undef FOLD
}

static void
backward_part (int part, int n_parts, gpointer data)
{
  const Bw2colJob *j = data;

  backward_block (j, (int64_t) part * BLOCK,
      MIN ((int64_t) (part + 1) * BLOCK, j->n), j->sums + part * N_SUMS);
}

void
affect_bw2col_backward (int64_t n, const float *x, float a0, float b0,
    float mu, float r, const float *w1, const float *b1, const float *w3,
    const float *b3, const float *y, const float *dy, float *dxhat,
    float *dw1, float *db1, float *dw3, float *db3, double *sg, double *sgx)
{
  const int blocks = n_blocks (n);
  Bw2colJob j = { n, x, a0, b0, w1, b1, w3, b3, (float *) y, dy, mu, r,
    dxhat
  };
  double total[N_SUMS] = { 0 };

  j.sums = g_new (double, (size_t) blocks * N_SUMS);
  affect_parallel_run (blocks, backward_part, &j);
  for (int b = 0; b < blocks; b++)
    for (int k = 0; k < N_SUMS; k++)
      total[k] += j.sums[(size_t) b * N_SUMS + k];
  g_free (j.sums);
  {
    int k = 0;
    for (int c = 0; c < C3; c++, k++)
      db3[c] += (float) total[k];
    for (int c = 0; c < C3 * C1; c++, k++)
      dw3[c] += (float) total[k];
    for (int o = 0; o < C1; o++, k++)
      db1[o] += (float) total[k];
    for (int o = 0; o < C1; o++, k++)
      dw1[o] += (float) total[k];
    *sg = total[k];
    *sgx = total[k + 1];
  }
}

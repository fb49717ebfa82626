/* Element-wise epilogues of the convolutions: bias, batch-norm affine,
 * ReLU / ReLU6 clamp and residual sum in one sweep over a block of output
 * that is still in cache, and the per-row moments the training batch-norm
 * needs. Explicit 8-wide vectors, no contraction (vector-clones.h): the
 * same bits on any instruction set, and the bits of the separate passes
 * they replace (bias then affine then clamp then sum, each rounded). */
#include <math.h>
#include <string.h>

#include "epilogue.h"
#include "vector-clones.h"

typedef float v8sf __attribute__((vector_size (32)));
typedef int v8si __attribute__((vector_size (32)));
typedef float v4sf __attribute__((vector_size (16)));
typedef double v4df __attribute__((vector_size (32)));
typedef double v8df __attribute__((vector_size (64)));

#define SPLAT8(v, s) do { for (int l_ = 0; l_ < 8; l_++) (v)[l_] = (s); } \
  while (0)
/* where mask: b, else a (a NaN compares false and stays) */
#define SELECT8(mask, b, a) \
  ((v8sf) (((v8si) (b) & (mask)) | ((v8si) (a) & ~(mask))))

/* one loop per combination of steps, so that no test is left in the
 * loop body (the flags are constants once inlined) */
static inline __attribute__((always_inline))
     void row_steps (int64_t n, float *restrict v, const int has_bias,
    float bias, const int has_affine, float a, float b, const int has_clamp,
    float lo, float hi, const float *restrict r)
{
  v8sf vbias, va, vb, vlo, vhi;
  int64_t i = 0;

  SPLAT8 (vbias, bias);
  SPLAT8 (va, a);
  SPLAT8 (vb, b);
  SPLAT8 (vlo, lo);
  SPLAT8 (vhi, hi);
  for (; i + 8 <= n; i += 8) {
    v8sf x;
    memcpy (&x, v + i, sizeof (x));
    if (has_bias)
      x = x + vbias;
    if (has_affine)
      x = va * x + vb;
    if (has_clamp) {
      x = SELECT8 (x < vlo, vlo, x);
      x = SELECT8 (x > vhi, vhi, x);
    }
    if (r != NULL) {
      v8sf y;
      memcpy (&y, r + i, sizeof (y));
      x = y + x;
    }
    memcpy (v + i, &x, sizeof (x));
  }
  for (; i < n; i++) {
    float x = v[i];
    if (has_bias)
      x = x + bias;
    if (has_affine)
      x = a * x + b;
    if (has_clamp) {
      x = x < lo ? lo : x;
      x = x > hi ? hi : x;
    }
    if (r != NULL)
      x = r[i] + x;
    v[i] = x;
  }
}

AFFECT_VECTOR_CLONES void
affect_epilogue_row (int64_t n, float *restrict v, int has_bias, float bias,
    int has_affine, float a, float b, const float *clamp,
    const float *restrict r)
{
  const float lo = clamp != NULL ? clamp[0] : -INFINITY;
  const float hi = clamp != NULL ? clamp[1] : INFINITY;
  const int key = (has_bias ? 1 : 0) | (has_affine ? 2 : 0)
      | (clamp != NULL ? 4 : 0) | (r != NULL ? 8 : 0);

  switch (key) {
    case 1:
      row_steps (n, v, 1, bias, 0, a, b, 0, lo, hi, NULL);
      break;
    case 1 | 4:
      row_steps (n, v, 1, bias, 0, a, b, 1, lo, hi, NULL);
      break;
    case 2:
      row_steps (n, v, 0, bias, 1, a, b, 0, lo, hi, NULL);
      break;
    case 2 | 4:
      row_steps (n, v, 0, bias, 1, a, b, 1, lo, hi, NULL);
      break;
    case 2 | 8:
      row_steps (n, v, 0, bias, 1, a, b, 0, lo, hi, r);
      break;
    default:
      row_steps (n, v, has_bias, bias, has_affine, a, b, clamp != NULL, lo,
          hi, r);
      break;
  }
}

#define LOAD4(v, p) do { v4sf f_; memcpy (&f_, (p), sizeof (f_)); \
    (v) = __builtin_convertvector (f_, v4df); } while (0)
#define LANES_SUM(s, lo, hi) do { (s) = 0.0; \
    for (int l_ = 0; l_ < 4; l_++) (s) += (lo)[l_]; \
    for (int l_ = 0; l_ < 4; l_++) (s) += (hi)[l_]; } while (0)

AFFECT_VECTOR_CLONES void
affect_row_moments (int64_t n, const float *restrict x, double *mean,
    double *m2)
{
  v4df a0 = { 0 }, a1 = { 0 };
  int64_t i = 0;
  double mu;

  if (n <= 0) {
    *mean = *m2 = 0.0;
    return;
  }
  for (; i + 8 <= n; i += 8) {
    v4df x0, x1;
    LOAD4 (x0, x + i);
    LOAD4 (x1, x + i + 4);
    a0 += x0;
    a1 += x1;
  }
  for (int l = 0; i < n; i++, l++)
    if (l < 4)
      a0[l] += x[i];
    else
      a1[l - 4] += x[i];
  LANES_SUM (mu, a0, a1);
  mu /= (double) n;
  const v4df vmu = { mu, mu, mu, mu };

  a0 = a1 = (v4df) {
  0};
  for (i = 0; i + 8 <= n; i += 8) {
    v4df d0, d1;
    LOAD4 (d0, x + i);
    LOAD4 (d1, x + i + 4);
    d0 -= vmu;
    d1 -= vmu;
    a0 += d0 * d0;
    a1 += d1 * d1;
  }
  for (int l = 0; i < n; i++, l++) {
    const double d = x[i] - mu;
    if (l < 4)
      a0[l] += d * d;
    else
      a1[l - 4] += d * d;
  }
  *mean = mu;
  LANES_SUM (*m2, a0, a1);
}

/* affect_row_moments of R rows at once (R a constant once inlined), each
 * row's eight lanes as one vector of 8 doubles (lane l: a0[l] for l < 4,
 * a1[l − 4] there), converted from 8 floats in one step (one register
 * and one conversion with AVX-512, where a0/a1 take four conversions and
 * two inserts): each lane gets the same additions in the same order, so
 * each row the bits of affect_row_moments, and the rows' chains run side
 * by side */
static inline __attribute__((always_inline))
     void rows_moments_steps (const int R, int64_t n, const float *restrict v,
    int64_t ld, double *restrict out)
{
  v8df a[4];
  double mu[4];
  int64_t i = 0;

#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
    a[r] = (v8df) {
    0};
  for (; i + 8 <= n; i += 8) {
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      v8sf x;
      memcpy (&x, v + r * ld + i, sizeof (x));
      a[r] += __builtin_convertvector (x, v8df);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) {
    const float *x = v + r * ld;
    for (int64_t j = i, l = 0; j < n; j++, l++)
      a[r][l] += x[j];
    mu[r] = 0.0;
    for (int l = 0; l < 8; l++)
      mu[r] += a[r][l];
    mu[r] /= (double) n;
    a[r] = (v8df) {
    0};
  }
  for (i = 0; i + 8 <= n; i += 8) {
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      v8df d;
      v8sf x;
      memcpy (&x, v + r * ld + i, sizeof (x));
      d = __builtin_convertvector (x, v8df) - mu[r];
      a[r] += d * d;
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) {
    const float *x = v + r * ld;
    for (int64_t j = i, l = 0; j < n; j++, l++) {
      const double d = x[j] - mu[r];
      a[r][l] += d * d;
    }
    out[2 * r] = mu[r];
    out[2 * r + 1] = 0.0;
    for (int l = 0; l < 8; l++)
      out[2 * r + 1] += a[r][l];
  }
}

AFFECT_VECTOR_CLONES void
affect_rows_moments (int rows, int64_t n, const float *restrict v, int64_t ld,
    double *restrict out)
{
  int r = 0;

  if (n <= 0) {
    for (r = 0; r < 2 * rows; r++)
      out[r] = 0.0;
    return;
  }
  for (; r + 4 <= rows; r += 4)
    rows_moments_steps (4, n, v + r * ld, ld, out + 2 * r);
  for (; r + 2 <= rows; r += 2)
    rows_moments_steps (2, n, v + r * ld, ld, out + 2 * r);
  if (r < rows)
    rows_moments_steps (1, n, v + r * ld, ld, out + 2 * r);
}

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

#define ROWS_NAME rows_moments_clones
#define ROWS_STEPS rows_moments_steps_clones
#define ROWS_ATTR AFFECT_VECTOR_CLONES
#define ROWS_STEPS_ATTR
#define ROWS_CVT8(v) __builtin_convertvector ((v), v8df)
#include "epilogue-rows.h"
#undef ROWS_NAME
#undef ROWS_STEPS
#undef ROWS_ATTR
#undef ROWS_STEPS_ATTR
#undef ROWS_CVT8
#ifdef AFFECT_AVX512
#define ROWS_NAME rows_moments_avx512
#define ROWS_STEPS rows_moments_steps_avx512
#define ROWS_ATTR AFFECT_AVX512
#define ROWS_STEPS_ATTR AFFECT_AVX512
#define ROWS_CVT8(v) AFFECT_CVT8_AVX512 (v)
#include "epilogue-rows.h"
#undef ROWS_NAME
#undef ROWS_STEPS
#undef ROWS_ATTR
#undef ROWS_STEPS_ATTR
#undef ROWS_CVT8
#endif

void
affect_rows_moments (int rows, int64_t n, const float *v, int64_t ld,
    double *out)
{
#ifdef AFFECT_AVX512
  if (affect_have_avx512 ()) {
    rows_moments_avx512 (rows, n, v, ld, out);
    return;
  }
#endif
  rows_moments_clones (rows, n, v, ld, out);
}

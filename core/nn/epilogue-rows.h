/* The body of affect_rows_moments (core/nn/epilogue.c), included there
 * once per instruction-set variant: ROWS_NAME, its attributes ROWS_ATTR,
 * the name and attributes of its inlined steps ROWS_STEPS and
 * ROWS_STEPS_ATTR, and ROWS_CVT8 (8 floats to 8
 * doubles) are defined by the includer. Not a header of its own: no
 * include guard. */

/* affect_row_moments of R rows at once (R a constant once inlined), each
 * row's eight lanes as one vector of 8 doubles (lane l: a0[l] for l < 4,
 * a1[l − 4] there), converted from 8 floats in one step (one register
 * and one conversion with AVX-512, where a0/a1 take four conversions and
 * two inserts): each lane gets the same additions in the same order, so
 * each row the bits of affect_row_moments, and the rows' chains run side
 * by side */
static inline __attribute__((always_inline)) ROWS_STEPS_ATTR
     void ROWS_STEPS (const int R, int64_t n, const float *restrict v,
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
      a[r] += ROWS_CVT8 (x);
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
      d = ROWS_CVT8 (x) - mu[r];
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

ROWS_ATTR static void
ROWS_NAME (int rows, int64_t n, const float *restrict v, int64_t ld,
    double *restrict out)
{
  int r = 0;

  if (n <= 0) {
    for (r = 0; r < 2 * rows; r++)
      out[r] = 0.0;
    return;
  }
  for (; r + 4 <= rows; r += 4)
    ROWS_STEPS (4, n, v + r * ld, ld, out + 2 * r);
  for (; r + 2 <= rows; r += 2)
    ROWS_STEPS (2, n, v + r * ld, ld, out + 2 * r);
  if (r < rows)
    ROWS_STEPS (1, n, v + r * ld, ld, out + 2 * r);
}

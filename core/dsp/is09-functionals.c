/* IS09 functionals (openSMILE cFunctionals: Extremes, Regression, Moments)
 * computed in one streaming pass with constant memory.
 *
 * The reference holds the whole contour and makes several passes: the mean
 * first, then sums of (c - mean)^k and of squared regression residuals. We
 * cannot know the mean in advance, so we keep power sums of y = c - shift
 * (shift = the first value, close to the contour's level, which keeps the
 * sums well conditioned) and expand
 *   sum (c - mean)^k = sum_j binom(k,j) (shift - mean)^(k-j) sum y^j
 * at the end, with `mean` the reference's float-rounded mean. The residual
 * sum of the regression expands the same way in sum y^2, sum i*y, sum y.
 * In double the expansion loses about eps_d * (|shift - mean| / stddev)^k
 * relative, far below float resolution for any audio contour.
 */
#include <math.h>

#include "is09-private.h"

void
affect_is09_functional_reset (AffectIs09Functional * f)
{
  f->n = 0;
  f->max = f->min = 0.0f;
  f->max_pos = f->min_pos = 0;
  f->shift = 0.0;
  f->sum = f->sum_ic = 0.0;
  f->p1 = f->p2 = f->p3 = f->p4 = 0.0;
  f->sum_iy = 0.0;
}

void
affect_is09_functional_add (AffectIs09Functional * f, float c)
{
  const guint64 i = f->n;
  double y, y2;

  if (i == 0) {
    f->max = f->min = c;
    f->shift = c;
  } else {
    /* strict comparisons: the first occurrence wins */
    if (c > f->max) {
      f->max = c;
      f->max_pos = i;
    }
    if (c < f->min) {
      f->min = c;
      f->min_pos = i;
    }
  }
  f->sum += (double) c;
  f->sum_ic += (double) i *(double) c;
  y = (double) c - f->shift;
  y2 = y * y;
  f->p1 += y;
  f->p2 += y2;
  f->p3 += y2 * y;
  f->p4 += y2 * y2;
  f->sum_iy += (double) i *y;
  f->n = i + 1;
}

static double
finite_or_zero (double v)
{
  return isfinite (v) ? v : 0.0;
}

void
affect_is09_functional_compute (const AffectIs09Functional * f,
    float out[AFFECT_IS09_N_FUNCTIONALS])
{
  const double K = (double) f->n;
  float mean;
  double m, t, err, d, d2, m2, m3, m4, tp;

  if (f->n == 0) {
    for (int i = 0; i < AFFECT_IS09_N_FUNCTIONALS; i++)
      out[i] = 0.0f;
    return;
  }
  mean = (float) (f->sum / K);
  out[0] = f->max;
  out[1] = f->min;
  out[2] = f->max - f->min;
  out[3] = (float) f->max_pos;
  out[4] = (float) f->min_pos;
  out[5] = mean;

  /* least squares c[i] ~ m*i + t over frame indices, the reference's way */
  if (f->n == 1) {
    m = 0.0;
    t = f->shift;
  } else {
    double S1 = K * (K - 1.0) / 2.0;
    double S2 = K * (K - 1.0) * (2.0 * K - 1.0) / 6.0;
    double asum = (double) mean * K;
    t = (asum - f->sum_ic * S1 / S2) / (K - S1 * S1 / S2);
    m = (f->sum_ic - t * S1) / S2;
    m = finite_or_zero (m);
    t = finite_or_zero (t);
    /* sum (y - m*i - tp)^2 with y = c - shift, tp = t - shift */
    tp = t - f->shift;
    err = f->p2 - 2.0 * m * f->sum_iy - 2.0 * tp * f->p1 + m * m * S2
        + 2.0 * m * tp * S1 + K * tp * tp;
  }
  if (f->n == 1)
    err = 0.0;
  err = finite_or_zero (err / K);
  out[6] = (float) m;
  out[7] = (float) t;
  out[8] = (float) MAX (err, 0.0);

  /* population central moments about the float mean */
  d = (double) mean - f->shift;
  d2 = d * d;
  m2 = f->p2 - 2.0 * d * f->p1 + K * d2;
  m3 = f->p3 - 3.0 * d * f->p2 + 3.0 * d2 * f->p1 - K * d2 * d;
  m4 = f->p4 - 4.0 * d * f->p3 + 6.0 * d2 * f->p2 - 4.0 * d2 * d * f->p1
      + K * d2 * d2;
  m2 /= K;
  if (m2 > 0.0 && isfinite (m2)) {
    out[9] = (float) sqrt (m2);
    out[10] = (float) finite_or_zero (m3 / (K * m2 * sqrt (m2)));
    out[11] = (float) finite_or_zero (m4 / (K * m2 * m2));
  } else {
    out[9] = out[10] = out[11] = 0.0f;
  }
}

struct _AffectIs09Functionals
{
  AffectIs09Functional c[AFFECT_IS09_N_CONTOURS];
};

AffectIs09Functionals *
affect_is09_functionals_new (void)
{
  AffectIs09Functionals *f = g_new (AffectIs09Functionals, 1);
  affect_is09_functionals_reset (f);
  return f;
}

void
affect_is09_functionals_free (AffectIs09Functionals * f)
{
  g_free (f);
}

void
affect_is09_functionals_reset (AffectIs09Functionals * f)
{
  for (int j = 0; j < AFFECT_IS09_N_CONTOURS; j++)
    affect_is09_functional_reset (&f->c[j]);
}

void
affect_is09_functionals_add (AffectIs09Functionals * f, const float *row)
{
  for (int j = 0; j < AFFECT_IS09_N_CONTOURS; j++)
    affect_is09_functional_add (&f->c[j], row[j]);
}

guint64
affect_is09_functionals_get_n_rows (const AffectIs09Functionals * f)
{
  return f->c[0].n;
}

void
affect_is09_functionals_compute (const AffectIs09Functionals * f,
    float features[AFFECT_IS09_N_FEATURES])
{
  for (int j = 0; j < AFFECT_IS09_N_CONTOURS; j++)
    affect_is09_functional_compute (&f->c[j],
        features + j * AFFECT_IS09_N_FUNCTIONALS);
}

/* Finite-difference gradient checks for the nn unit tests.
 *
 * The objective is evaluated in float32 by the code under test and summed
 * in double; a central difference with step h is compared with the
 * analytic gradient. Error measure: |fd − an| / (|fd| + |an| + floor),
 * floor = 1e-2 · max|an| so that near-zero entries are judged on the
 * scale of the whole gradient. */
#ifndef GRADCHECK_H
#define GRADCHECK_H

#include <glib.h>
#include <math.h>

typedef double (*GradcheckObjective) (gpointer data);

/* checks up to max_checks entries spread over the array (all if 0);
 * returns the worst error */
static inline double
gradcheck (const char *what, float *values, const float *analytic, size_t n,
    GradcheckObjective objective, gpointer data, double h, double tol,
    size_t max_checks)
{
  double gmax = 0.0, worst = 0.0;
  size_t i, stride;

  for (i = 0; i < n; i++)
    gmax = MAX (gmax, fabs (analytic[i]));
  stride = (max_checks == 0 || n <= max_checks) ? 1 : n / max_checks;
  for (i = 0; i < n; i += stride) {
    float saved = values[i];
    double plus, minus, fd, err;

    values[i] = (float) (saved + h);
    plus = objective (data);
    values[i] = (float) (saved - h);
    minus = objective (data);
    values[i] = saved;
    /* the step actually taken in float32 */
    fd = (plus - minus) / ((double) (float) (saved + h) -
        (double) (float) (saved - h));
    err = fabs (fd - analytic[i]) / (fabs (fd) + fabs (analytic[i]) +
        1e-2 * gmax + 1e-12);
    if (err > worst)
      worst = err;
    if (err > tol)
      g_test_message ("%s[%zu]: finite difference %.8g, analytic %.8g",
          what, i, fd, analytic[i]);
  }
  g_test_message ("%s: worst relative error %.3g (tolerance %.1g)", what,
      worst, tol);
  g_assert_cmpfloat (worst, <=, tol);
  return worst;
}

static inline void
fill_normal (float *x, size_t n, double scale, AffectRng * rng)
{
  size_t i;

  for (i = 0; i < n; i++)
    x[i] = (float) (scale * affect_rng_normal (rng));
}

#endif

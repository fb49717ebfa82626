/* affect-run: mean and sample standard deviation over runs (trials, folds,
 * seeds), shared by the crossval summary and the report. */
#ifndef AFFECT_RUNNER_SPREAD_H
#define AFFECT_RUNNER_SPREAD_H

#include <math.h>
#include <glib.h>

typedef struct
{
  double mean, sd;
} Spread;

/* mean and sample sd (n − 1) of v[0..n); sd is NaN for fewer than 2 */
static inline Spread
spread (const double *v, guint n)
{
  Spread s = { NAN, NAN };
  guint i;

  if (n == 0)
    return s;
  s.mean = 0;
  for (i = 0; i < n; i++)
    s.mean += v[i];
  s.mean /= n;
  if (n > 1) {
    double ss = 0;
    for (i = 0; i < n; i++)
      ss += (v[i] - s.mean) * (v[i] - s.mean);
    s.sd = sqrt (ss / (n - 1));
  }
  return s;
}

#endif

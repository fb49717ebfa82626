/* libaffect: library-wide state (version, error domain, threading) */
#include "config.h"

#include <stdlib.h>
#include <cblas.h>

#include "affect/affect.h"

/* OpenBLAS exports these; they are not part of the reference CBLAS header
 * on every distribution, so declare them here. */
extern void openblas_set_num_threads (int num_threads);
extern int openblas_get_num_threads (void);

G_DEFINE_QUARK (affect-error-quark, affect_error);

const char *
affect_version (void)
{
  return VERSION;
}

void
affect_init (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised)) {
    const char *env = g_getenv ("AFFECT_THREADS");
    if (env != NULL && atoi (env) > 0)
      openblas_set_num_threads (atoi (env));
    g_once_init_leave (&initialised, 1);
  }
}

void
affect_set_threads (int n_threads)
{
  if (n_threads > 0)
    openblas_set_num_threads (n_threads);
}

int
affect_get_threads (void)
{
  return openblas_get_num_threads ();
}

static GMutex fftw_planner_mutex;

void
affect_fftw_planner_lock (void)
{
  g_mutex_lock (&fftw_planner_mutex);
}

void
affect_fftw_planner_unlock (void)
{
  g_mutex_unlock (&fftw_planner_mutex);
}

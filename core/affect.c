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

/* Threads: libaffect parallelises its products and element-wise loops
 * itself (core/nn/gemm.c on the pool of core/parallel.c) and calls OpenBLAS
 * single-threaded on each of its threads. Letting OpenBLAS thread the
 * mini-batch GEMMs of an MLP scales badly (its threads synchronise inside
 * every small product), and two thread pools would oversubscribe the
 * cores. The count is per calling thread, so two elements training at once
 * can each be given their share; a thread that never set one uses the
 * process default. */
static int default_threads = 1;
static _Thread_local int caller_threads = 0;

void
affect_init (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised)) {
    const char *env = g_getenv ("AFFECT_THREADS");
    int n = env != NULL ? atoi (env) : 0;

    /* OpenBLAS read OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (else the
     * number of cores) when it loaded: that is the default to inherit */
    if (n <= 0)
      n = openblas_get_num_threads ();
    default_threads = MAX (n, 1);
    openblas_set_num_threads (1);
    g_once_init_leave (&initialised, 1);
  }
}

void
affect_set_threads (int n_threads)
{
  affect_init ();
  caller_threads = MAX (n_threads, 0);
}

int
affect_get_threads (void)
{
  affect_init ();
  return caller_threads > 0 ? caller_threads : default_threads;
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

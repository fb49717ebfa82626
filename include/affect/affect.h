/* gst-affect core library (libaffect)
 *
 * libaffect holds every computation of gst-affect: DSP front ends, neural
 * networks, metrics, manifests and model files. It depends on GLib, json-glib,
 * FFTW3 and OpenBLAS only, so a C program can extract features, train and
 * score without GStreamer. The GStreamer elements are thin wrappers over it.
 */
#ifndef AFFECT_AFFECT_H
#define AFFECT_AFFECT_H

#include <glib.h>

G_BEGIN_DECLS

#define AFFECT_ERROR (affect_error_quark ())
GQuark affect_error_quark (void);

typedef enum
{
  AFFECT_ERROR_FAILED,          /* anything else */
  AFFECT_ERROR_IO,              /* file cannot be read or written */
  AFFECT_ERROR_PARSE,           /* malformed manifest, header, JSON */
  AFFECT_ERROR_FORMAT,          /* well-formed but not what we expect (dtype, shape) */
  AFFECT_ERROR_MISMATCH,        /* model and stream / data do not agree */
  AFFECT_ERROR_EMPTY            /* nothing to work on */
} AffectError;

const char *affect_version (void);

/* Threading model: libaffect parallelises its own matrix products and
 * element-wise loops (its worker pool, affect/parallel.h) and runs OpenBLAS
 * single-threaded on each of its threads; affect_init() sets OpenBLAS to
 * one thread for the process.
 * affect_set_threads() sets how many threads libaffect uses for calls made
 * from the calling thread (0 = the process default: AFFECT_THREADS, else
 * OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, else the number of cores). */
void affect_init (void);
void affect_set_threads (int n_threads);
int affect_get_threads (void);

/* FFTW's planner (plan creation and destruction) is not thread-safe, and
 * its state is shared by every module: all of libaffect creates and
 * destroys plans under this one lock. fftwf_execute needs no lock. */
void affect_fftw_planner_lock (void);
void affect_fftw_planner_unlock (void);

G_END_DECLS
#endif /* AFFECT_AFFECT_H */

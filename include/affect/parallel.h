/* libaffect's worker threads (core/parallel.c): one pool for the process,
 * shared by every caller and sized by the largest thread count asked for
 * (affect_set_threads, affect/affect.h). */
#ifndef AFFECT_PARALLEL_H
#define AFFECT_PARALLEL_H

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* a job has at most this many parts (more are clamped) */
#define AFFECT_PARALLEL_MAX_PARTS 64

typedef void (*AffectParallelFunc) (int part, int n_parts, gpointer data);

/* Runs func (part, n_parts, data) for every part in [0, n_parts), on the
 * calling thread and the pool's workers; returns when all are done. Parts
 * may run in any order and at the same time. n_parts must not be clamped
 * by the caller's own arithmetic: pass at most AFFECT_PARALLEL_MAX_PARTS. */
void affect_parallel_run (int n_parts, AffectParallelFunc func,
    gpointer data);

/* how many parts an element-wise loop over n_elements should have: the
 * calling thread's thread count, at most one part per 64 K elements */
int affect_parallel_threads (size_t n_elements);

G_END_DECLS
#endif

/* libaffect's worker threads (core/parallel.c): one pool for the process,
 * shared by every caller and sized by the largest thread count asked for
 * (affect_set_threads, affect/affect.h). */
#ifndef AFFECT_PARALLEL_H
#define AFFECT_PARALLEL_H

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef void (*AffectParallelFunc) (int part, int n_parts, gpointer data);

/* Runs func (part, n_parts, data) for every part in [0, n_parts), on the
 * calling thread and up to (affect_get_threads () − 1) of the pool's
 * workers; returns when all are done. Parts may run in any order and at
 * the same time. n_parts must follow from the size of the work only, never
 * from the thread count: that is what makes results the same bits at any
 * thread count. With one thread the parts run in order on the caller. */
void affect_parallel_run (int n_parts, AffectParallelFunc func, gpointer data);

/* how many parts an element-wise loop over n_elements has: one per 64 K
 * elements (at least one), whatever the thread count */
int affect_parallel_blocks (size_t n_elements);

G_END_DECLS
#endif

/* Workspaces of the layers that run on the worker pool (core/nn/scratch.c),
 * kept between calls. */
#ifndef AFFECT_NN_SCRATCH_H
#define AFFECT_NN_SCRATCH_H

#include <stddef.h>

/* a buffer of at least `floats` floats, 64-byte aligned, its contents
 * undefined; give it back with affect_scratch_put */
float *affect_scratch_get (size_t floats);
void affect_scratch_put (float *buf);

#endif

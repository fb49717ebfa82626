/* im2col of a block of output columns (core/nn/conv2d.c), for the layers
 * that make a convolution's columns a few at a time (core/nn/invres.c). */
#ifndef AFFECT_NN_CONV2D_PRIVATE_H
#define AFFECT_NN_CONV2D_PRIVATE_H

#include <stdint.h>

#include "affect/nn-layers.h"

/* the rows of im2col's column matrix for output columns [start, start +
 * len) of g, as k × len floats (k = cin·kh·kw) */
void affect_im2col_block (const AffectConv2d * g, const float *x,
    int64_t start, int64_t len, float *out);

#endif

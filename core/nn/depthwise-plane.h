/* The depthwise 3×3 kernel of one output plane (core/nn/depthwise.c), for
 * the layers that run it on strips of their own (core/nn/invres.c). */
#ifndef AFFECT_NN_DEPTHWISE_PLANE_H
#define AFFECT_NN_DEPTHWISE_PLANE_H

/* oh × ow outputs of stride 1 or 2 from xp, a zero-bordered input of row
 * pitch pw (input row r, column c at xp[(r + 1)·pw + c + 1]), readable 16
 * floats past its last row; k: the 9 taps, row by row */
void affect_depthwise_plane_forward (const float *xp, int pw, const float *k,
    int stride, int oh, int ow, float *y);

/* xp (h + 2 rows of pitch w + 2) = the h × w plane x with a zero border */
void affect_depthwise_pad_plane (const float *x, int h, int w, float *xp);

#endif

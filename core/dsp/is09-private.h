/* Internals shared by the core/dsp/is09*.c files (not installed) */
#ifndef AFFECT_IS09_PRIVATE_H
#define AFFECT_IS09_PRIVATE_H

#include <fftw3.h>
#include "affect/is09.h"

struct _AffectIs09Plan
{
  int rate, frame_size, frame_step, fft_n, n_bins, n_lags;
  float *window;                /* frame_size, symmetric Hamming */
  float fs_sec, t_samp;         /* float, as the reference keeps them */
  int preskip;
  /* mel band m sums mag[tri_bin[k]] * tri_weight[k] for k in
   * [tri_start[m], tri_start[m+1]) */
  int tri_start[27];
  int *tri_bin;
  double *tri_weight;
  float *dct;                   /* 12 x 26 */
  float lifter[12];
  float dct_factor;
  float lag_scale;              /* 1/2 (Ooura's scale) / n_bins */
  fftwf_plan fwd, inv;
  float *fft_in, *inv_out;
  fftwf_complex *fft_out, *inv_in;
  float *mag, *acf, *cep;
};

/* Streaming functionals of one contour (docs/is09.md, "Streaming
 * functionals"): extremes in float, the reference's double sums, and power
 * sums of (c - shift) in double from which the central moments about the
 * reference's float mean are recovered exactly at the end. */
typedef struct
{
  guint64 n;
  float max, min;
  guint64 max_pos, min_pos;
  double shift;
  double sum;                   /* sum c, as the reference's mean */
  double sum_ic;                /* sum i*c, the reference's regression num */
  double p1, p2, p3, p4;        /* sum (c - shift)^k */
  double sum_iy;                /* sum i*(c - shift) */
} AffectIs09Functional;

void affect_is09_functional_reset (AffectIs09Functional * f);
void affect_is09_functional_add (AffectIs09Functional * f, float c);
/* 12 values: max min range maxPos minPos amean linregc1 linregc2
 * linregerrQ stddev skewness kurtosis */
void affect_is09_functional_compute (const AffectIs09Functional * f,
    float out[AFFECT_IS09_N_FUNCTIONALS]);

#endif

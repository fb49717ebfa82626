/* The matrix product of every layer: C = α·op(A)·op(B) + β·C, row-major.
 *
 * The product is cut into one slab per thread along the longer side of C
 * (columns when C is wide, rows when it is tall) and each slab is one
 * single-threaded cblas_sgemm on an OpenMP thread. The cut depends only
 * on the shape and the thread count, so a run repeats bit for bit at a
 * given count; across counts the last bits may differ, as they do with
 * OpenBLAS's own threads (it blocks a slab's sum as it would a product of
 * that size).
 *
 * Why not OpenBLAS's own threads: a training step of the VAT regressor is
 * a dozen products of 64 (or 128) rows by ~1000 columns; OpenBLAS splits
 * each of them across its pool with a synchronisation per product, and on
 * two cores that made the epoch slower than one thread. Slabs of whole
 * columns keep each thread's kernel at full speed and need one barrier. */
#include <cblas.h>
#include <omp.h>

#include "affect/affect.h"
#include "affect/nn.h"

/* below this many multiply-adds a product is done by the caller alone:
 * waking the other threads would cost more than it saves */
#define SPLIT_MIN_MACS (1 << 20)
/* slab widths are multiples of this, so that no slab starts inside one of
 * the kernel's register blocks (16 floats for AVX-512) */
#define SLAB_ALIGN 16

static void
sgemm_one (gboolean trans_a, gboolean trans_b, int m, int n, int k,
    float alpha, const float *a, int lda, const float *b, int ldb,
    float beta, float *c, int ldc)
{
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
      trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
      beta, c, ldc);
}

void
affect_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k,
    float alpha, const float *a, int lda, const float *b, int ldb,
    float beta, float *c, int ldc)
{
  const int threads = affect_get_threads ();
  const gboolean by_columns = n >= m;
  const int side = by_columns ? n : m;
  int slab, parts, p;

  if (m <= 0 || n <= 0)
    return;
  parts = MIN (threads, (side + SLAB_ALIGN - 1) / SLAB_ALIGN);
  if (parts <= 1 || (double) m * n * k < SPLIT_MIN_MACS || omp_in_parallel ()) {
    sgemm_one (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  slab = (side + parts - 1) / parts;
  slab = (slab + SLAB_ALIGN - 1) / SLAB_ALIGN * SLAB_ALIGN;
  parts = (side + slab - 1) / slab;

#pragma omp parallel for num_threads(parts) schedule(static, 1)
  for (p = 0; p < parts; p++) {
    const int start = p * slab, len = MIN (slab, side - start);
    if (by_columns) {
      /* columns [start, start + len) of C need the same of op(B) */
      const float *bp = trans_b ? b + (size_t) start * ldb : b + start;
      sgemm_one (trans_a, trans_b, m, len, k, alpha, a, lda, bp, ldb, beta,
          c + start, ldc);
    } else {
      /* rows [start, start + len) of C need the same of op(A) */
      const float *ap = trans_a ? a + start : a + (size_t) start * lda;
      sgemm_one (trans_a, trans_b, len, n, k, alpha, ap, lda, b, ldb, beta,
          c + (size_t) start * ldc, ldc);
    }
  }
}

int
affect_parallel_threads (size_t n_elements)
{
  /* element-wise loops: a thread per 64 K elements at most */
  const size_t grain = 1 << 16;
  int threads = affect_get_threads ();

  if (omp_in_parallel ())
    return 1;
  return (int) MIN ((size_t) threads, MAX (n_elements / grain, 1));
}

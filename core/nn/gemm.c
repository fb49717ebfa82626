/* The matrix product of every layer: C = α·op(A)·op(B) + β·C, row-major.
 *
 * The product is cut into slabs along the longer side of C (columns when
 * C is wide, rows when it is tall) and each slab is one single-threaded
 * cblas_sgemm run by libaffect's worker pool (core/parallel.c). The cut
 * depends on the shape alone, never on the thread count: OpenBLAS blocks
 * a slab's sums as it would those of a product of that size (its edge
 * kernels and k-blocking follow the slab's shape), so a cut that moved
 * with the thread count changed the last bits of C, and a training run
 * at 2 threads drifted from the same run at 1. With the cut fixed, every
 * element of C has the same bits at any thread count; threads only decide
 * who computes which slab.
 *
 * The same cut is open to callers that do more per slab than the product
 * (AffectProduct, affect/nn.h): the MLP adds the bias and applies the
 * activation to each slab of a layer's output while it is in cache, and
 * applies the optimiser to each slab of a weight gradient as it is made.
 *
 * Why not OpenBLAS's own threads: a training step of the VAT regressor is
 * a dozen products of 64 (or 128) rows by ~1000 columns; OpenBLAS splits
 * each of them across its pool with a synchronisation per product, and on
 * two cores that made the epoch slower than one thread. Slabs of whole
 * columns keep each thread's kernel at full speed and need one barrier. */
#include <cblas.h>

#include "affect/affect.h"
#include "affect/nn.h"

/* below this many multiply-adds a product is done by the caller alone:
 * waking the other threads would cost more than it saves */
#define SPLIT_MIN_MACS (1 << 20)
/* slab widths are multiples of this, so that no slab starts inside one of
 * the kernel's register blocks (16 floats for AVX-512) */
#define SLAB_ALIGN 16
/* a slab is at least this wide (the other operand is packed again for
 * every slab: 1/64 of its multiply-adds at most) */
#define SLAB_MIN 64
/* at most this many slabs: 12 share evenly between 1, 2, 3, 4 or 6
 * threads */
#define SLABS_MAX 12

static void
sgemm_one (gboolean trans_a, gboolean trans_b, int m, int n, int k,
    float alpha, const float *a, int lda, const float *b, int ldb,
    float beta, float *c, int ldc)
{
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
      trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
      beta, c, ldc);
}

/* the slab width for a product whose C has `side` along its cut and
 * `macs` multiply-adds: a function of the shape alone */
static int
slab_width (int side, double macs)
{
  int parts = MIN (SLABS_MAX, (side + SLAB_MIN - 1) / SLAB_MIN);
  int slab;

  /* each slab worth waking a thread for */
  parts = (int) MIN ((double) parts, macs / (SPLIT_MIN_MACS / 2));
  parts = MAX (parts, 1);
  slab = (side + parts - 1) / parts;
  return (slab + SLAB_ALIGN - 1) / SLAB_ALIGN * SLAB_ALIGN;
}

void
affect_product_init (AffectProduct * p, gboolean trans_a, gboolean trans_b,
    int m, int n, int k, float alpha, const float *a, int lda,
    const float *b, int ldb, float beta, float *c, int ldc)
{
  const double macs = (double) m * n * k;

  p->trans_a = trans_a;
  p->trans_b = trans_b;
  p->m = m;
  p->n = n;
  p->k = k;
  p->alpha = alpha;
  p->beta = beta;
  p->a = a;
  p->b = b;
  p->c = c;
  p->lda = lda;
  p->ldb = ldb;
  p->ldc = ldc;
  p->by_columns = n >= m;
  p->side = p->by_columns ? n : m;
  if (m <= 0 || n <= 0) {
    p->slab = 0;
    p->n_parts = 0;
  } else if (macs < SPLIT_MIN_MACS) {
    /* whole, on whoever runs part 0 */
    p->slab = p->side;
    p->n_parts = 1;
  } else {
    p->slab = slab_width (p->side, macs);
    p->n_parts = (p->side + p->slab - 1) / p->slab;
  }
}

void
affect_product_run_part (const AffectProduct * p, int part, int *start,
    int *len)
{
  const int s = part * p->slab, l = MIN (p->slab, p->side - s);

  if (p->by_columns) {
    /* columns [s, s + l) of C need the same of op(B) */
    const float *b = p->trans_b ? p->b + (size_t) s * p->ldb : p->b + s;
    sgemm_one (p->trans_a, p->trans_b, p->m, l, p->k, p->alpha, p->a,
        p->lda, b, p->ldb, p->beta, p->c + s, p->ldc);
  } else {
    /* rows [s, s + l) of C need the same of op(A) */
    const float *a = p->trans_a ? p->a + s : p->a + (size_t) s * p->lda;
    sgemm_one (p->trans_a, p->trans_b, l, p->n, p->k, p->alpha, a, p->lda,
        p->b, p->ldb, p->beta, p->c + (size_t) s * p->ldc, p->ldc);
  }
  if (start != NULL)
    *start = s;
  if (len != NULL)
    *len = l;
}

static void
run_slab (int part, int n_parts, gpointer data)
{
  (void) n_parts;
  affect_product_run_part (data, part, NULL, NULL);
}

void
affect_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k,
    float alpha, const float *a, int lda, const float *b, int ldb,
    float beta, float *c, int ldc)
{
  AffectProduct p;

  affect_product_init (&p, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
      beta, c, ldc);
  if (p.n_parts == 1)
    affect_product_run_part (&p, 0, NULL, NULL);
  else if (p.n_parts > 1)
    affect_parallel_run (p.n_parts, run_slab, &p);
}

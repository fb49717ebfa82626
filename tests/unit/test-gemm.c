/* affect_sgemm: every transpose combination and shape class (wide, tall,
 * below the split threshold, sizes that are not multiples of a slab)
 * against a float64 reference at 1–5 threads, the same bits from one run
 * to the next and at every thread count (the slabs follow the shape, not
 * the thread count), and two callers splitting products at the same
 * time. */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/nn.h"

typedef struct
{
  int m, n, k;
} Shape;

static const Shape shapes[] = {
  {64, 1200, 384},              /* an MLP layer's forward: wide */
  {1200, 384, 128},             /* its weight gradient: tall */
  {64, 384, 1200},              /* its input gradient */
  {7, 5, 3},                    /* far below the split threshold */
  {33, 1001, 257},              /* nothing a multiple of a slab */
  {1001, 33, 257},
  {96, 17, 2000},               /* narrow C, long K */
};

static void
fill (float *v, size_t n, AffectRng * rng)
{
  size_t i;

  for (i = 0; i < n; i++)
    v[i] = (float) affect_rng_normal (rng);
}

/* C = alpha·op(A)·op(B) + beta·C0 in double */
static void
reference (gboolean ta, gboolean tb, const Shape * s, float alpha,
    const float *a, const float *b, float beta, const float *c0, double *c)
{
  const int lda = ta ? s->m : s->k, ldb = tb ? s->k : s->n;
  int i, j, p;

  for (i = 0; i < s->m; i++)
    for (j = 0; j < s->n; j++) {
      double acc = 0.0;
      for (p = 0; p < s->k; p++) {
        double x = ta ? a[(size_t) p * lda + i] : a[(size_t) i * lda + p];
        double y = tb ? b[(size_t) j * ldb + p] : b[(size_t) p * ldb + j];
        acc += x * y;
      }
      c[(size_t) i * s->n + j] = alpha * acc + beta * c0[(size_t) i * s->n + j];
    }
}

static void
run (gboolean ta, gboolean tb, const Shape * s, float alpha, const float *a,
    const float *b, float beta, const float *c0, float *c, int threads)
{
  affect_set_threads (threads);
  memcpy (c, c0, (size_t) s->m * s->n * sizeof (float));
  affect_sgemm (ta, tb, s->m, s->n, s->k, alpha, a, ta ? s->m : s->k, b,
      tb ? s->k : s->n, beta, c, s->n);
  affect_set_threads (0);
}

static void
test_against_reference (void)
{
  AffectRng rng;
  guint si;
  int combo;

  affect_rng_init (&rng, 7);
  for (si = 0; si < G_N_ELEMENTS (shapes); si++) {
    const Shape *s = &shapes[si];
    const size_t na = (size_t) s->m * s->k, nb = (size_t) s->k * s->n;
    const size_t nc = (size_t) s->m * s->n;
    float *a = g_new (float, na), *b = g_new (float, nb);
    float *c0 = g_new (float, nc), *c1 = g_new (float, nc);
    float *ct = g_new (float, nc), *c_one = g_new (float, nc);
    double *ref = g_new (double, nc);

    fill (a, na, &rng);
    fill (b, nb, &rng);
    fill (c0, nc, &rng);
    for (combo = 0; combo < 4; combo++) {
      const gboolean ta = combo & 1, tb = (combo >> 1) & 1;
      const float alpha = 0.75f, beta = combo == 3 ? 0.0f : 1.0f;
      int threads;

      reference (ta, tb, s, alpha, a, b, beta, c0, ref);
      for (threads = 1; threads <= 5; threads++) {
        double worst = 0.0;
        size_t i;

        run (ta, tb, s, alpha, a, b, beta, c0, c1, threads);
        for (i = 0; i < nc; i++) {
          /* float32 products of unit normals over K terms: the error
           * grows like √K · 2⁻²⁴ of the terms' size */
          double err = fabs (c1[i] - ref[i]) / sqrt ((double) s->k);
          worst = MAX (worst, err);
        }
        if (worst >= 1e-5)
          g_error ("%dx%dx%d ta=%d tb=%d at %d threads: error %.3g",
              s->m, s->n, s->k, ta, tb, threads, worst);
        run (ta, tb, s, alpha, a, b, beta, c0, ct, threads);
        g_assert_cmpmem (ct, nc * sizeof (float), c1, nc * sizeof (float));
        /* the same bits as at one thread */
        if (threads == 1)
          memcpy (c_one, c1, nc * sizeof (float));
        else if (memcmp (c1, c_one, nc * sizeof (float)) != 0)
          g_error ("%dx%dx%d ta=%d tb=%d: %d threads differ from 1",
              s->m, s->n, s->k, ta, tb, threads);
      }
    }
    g_free (a);
    g_free (b);
    g_free (c0);
    g_free (c1);
    g_free (ct);
    g_free (c_one);
    g_free (ref);
  }
}

typedef struct
{
  const float *a, *b;
  float *c;
} Job;

static gpointer
concurrent_caller (gpointer data)
{
  Job *job = data;
  int r;

  affect_set_threads (2);
  for (r = 0; r < 20; r++)
    affect_sgemm (FALSE, TRUE, 64, 1200, 384, 1.0f, job->a, 384, job->b, 384,
        0.0f, job->c, 1200);
  return NULL;
}

static void
test_concurrent_callers (void)
{
  const size_t na = 64 * 384, nb = 1200 * 384, nc = 64 * 1200;
  float *a = g_new (float, na), *b = g_new (float, nb);
  float *expect = g_new (float, nc);
  Job jobs[2];
  GThread *threads[2];
  AffectRng rng;
  int t;

  affect_rng_init (&rng, 11);
  fill (a, na, &rng);
  fill (b, nb, &rng);
  affect_set_threads (2);
  affect_sgemm (FALSE, TRUE, 64, 1200, 384, 1.0f, a, 384, b, 384, 0.0f,
      expect, 1200);
  affect_set_threads (0);
  for (t = 0; t < 2; t++) {
    jobs[t].a = a;
    jobs[t].b = b;
    jobs[t].c = g_new (float, nc);
    threads[t] = g_thread_new ("gemm-caller", concurrent_caller, &jobs[t]);
  }
  for (t = 0; t < 2; t++) {
    g_thread_join (threads[t]);
    g_assert_cmpmem (jobs[t].c, nc * sizeof (float), expect,
        nc * sizeof (float));
    g_free (jobs[t].c);
  }
  g_free (a);
  g_free (b);
  g_free (expect);
}

static void
test_thread_count_is_per_caller (void)
{
  int process_default;

  affect_set_threads (0);
  process_default = affect_get_threads ();
  g_assert_cmpint (process_default, >=, 1);
  affect_set_threads (3);
  g_assert_cmpint (affect_get_threads (), ==, 3);
  affect_set_threads (0);
  g_assert_cmpint (affect_get_threads (), ==, process_default);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  g_test_add_func ("/nn/gemm/reference", test_against_reference);
  g_test_add_func ("/nn/gemm/concurrent", test_concurrent_callers);
  g_test_add_func ("/nn/gemm/per-caller-threads",
      test_thread_count_is_per_caller);
  return g_test_run ();
}

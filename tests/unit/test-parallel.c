/* The worker pool: every part of every job runs exactly once, with several
 * callers submitting jobs of different sizes at the same time, and a job
 * returns only after all its parts are done. */
#include <string.h>

#include "affect/affect.h"
#include "affect/parallel.h"

#define CALLERS 4
#define JOBS 3000

typedef struct
{
  gint runs[AFFECT_PARALLEL_MAX_PARTS];
  int n_parts;
} Counts;

static void
count_part (int part, int n_parts, gpointer data)
{
  Counts *c = data;

  g_assert_cmpint (n_parts, ==, c->n_parts);
  g_atomic_int_inc (&c->runs[part]);
}

static gpointer
caller (gpointer data)
{
  GRand *rand = g_rand_new_with_seed (GPOINTER_TO_UINT (data));

  affect_set_threads (1 + GPOINTER_TO_INT (data) % 4);
  for (int j = 0; j < JOBS; j++) {
    Counts c;
    memset (&c, 0, sizeof (c));
    c.n_parts = g_rand_int_range (rand, 1, 9);
    affect_parallel_run (c.n_parts, count_part, &c);
    /* every part done, once, by the time the call returns */
    for (int p = 0; p < AFFECT_PARALLEL_MAX_PARTS; p++)
      g_assert_cmpint (g_atomic_int_get (&c.runs[p]), ==, p < c.n_parts);
  }
  g_rand_free (rand);
  return NULL;
}

static void
test_concurrent_jobs (void)
{
  GThread *threads[CALLERS];

  for (int t = 0; t < CALLERS; t++)
    threads[t] = g_thread_new ("caller", caller, GINT_TO_POINTER (t + 1));
  for (int t = 0; t < CALLERS; t++)
    g_thread_join (threads[t]);
}

static void
test_many_parts_are_clamped (void)
{
  Counts c;

  memset (&c, 0, sizeof (c));
  c.n_parts = AFFECT_PARALLEL_MAX_PARTS;
  affect_parallel_run (1000, count_part, &c);
  for (int p = 0; p < AFFECT_PARALLEL_MAX_PARTS; p++)
    g_assert_cmpint (c.runs[p], ==, 1);
  affect_parallel_run (0, count_part, &c);
  for (int p = 0; p < AFFECT_PARALLEL_MAX_PARTS; p++)
    g_assert_cmpint (c.runs[p], ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  g_test_add_func ("/parallel/concurrent-jobs", test_concurrent_jobs);
  g_test_add_func ("/parallel/many-parts", test_many_parts_are_clamped);
  return g_test_run ();
}

/* The worker pool: every part of every job runs exactly once, with several
 * callers submitting jobs of different sizes at the same time, and a job
 * returns only after all its parts are done; a job of more parts than a
 * word has bits, or than threads, runs each part once too, and no more
 * threads than the caller's count work on a job. */
#include <string.h>

#include "affect/affect.h"
#include "affect/parallel.h"

#define CALLERS 4
#define JOBS 3000
#define MAX_PARTS 200

typedef struct
{
  gint runs[MAX_PARTS];
  gint running, most_running;
  int n_parts;
} Counts;

static void
count_part (int part, int n_parts, gpointer data)
{
  Counts *c = data;

  int now;

  g_assert_cmpint (n_parts, ==, c->n_parts);
  now = g_atomic_int_add (&c->running, 1) + 1;
  for (int most = g_atomic_int_get (&c->most_running); now > most;
      most = g_atomic_int_get (&c->most_running))
    if (g_atomic_int_compare_and_exchange (&c->most_running, most, now))
      break;
  g_atomic_int_inc (&c->runs[part]);
  /* long enough for other threads to come in */
  for (volatile int i = 0; i < 2000; i++);
  g_atomic_int_add (&c->running, -1);
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
    if (j % 10 == 0)
      c.n_parts = g_rand_int_range (rand, 60, MAX_PARTS);
    affect_parallel_run (c.n_parts, count_part, &c);
    /* every part done, once, by the time the call returns */
    for (int p = 0; p < MAX_PARTS; p++)
      g_assert_cmpint (g_atomic_int_get (&c.runs[p]), ==, p < c.n_parts);
    g_assert_cmpint (c.most_running, <=, affect_get_threads ());
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

/* at one thread the parts run in order on the caller; at any count no
 * more than that many threads work on a job */
static void
test_thread_limit (void)
{
  for (int threads = 1; threads <= 3; threads++) {
    Counts c;
    memset (&c, 0, sizeof (c));
    c.n_parts = MAX_PARTS;
    affect_set_threads (threads);
    for (int r = 0; r < 20; r++)
      affect_parallel_run (c.n_parts, count_part, &c);
    affect_set_threads (0);
    for (int p = 0; p < MAX_PARTS; p++)
      g_assert_cmpint (c.runs[p], ==, 20);
    g_assert_cmpint (c.most_running, <=, threads);
    g_assert_cmpint (c.most_running, >=, 1);
  }
  /* no parts: nothing runs */
  affect_parallel_run (0, count_part, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  g_test_add_func ("/parallel/concurrent-jobs", test_concurrent_jobs);
  g_test_add_func ("/parallel/thread-limit", test_thread_limit);
  return g_test_run ();
}

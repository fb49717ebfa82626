/* libaffect's worker threads: one pool for the process, shared by every
 * caller (two pipelines training at once share it instead of each starting
 * a team), grown on demand up to the largest thread count asked for.
 *
 * A job is n parts of work. The caller queues it, wakes the workers, and
 * takes parts itself; workers take whatever parts are left, at most
 * (caller's thread count − 1) of them joining a job. The caller returns
 * when every part is done — it never waits for a worker that took no part.
 *
 * How many parts a job has is the caller's business and must follow from
 * the size of the work alone, never from the thread count: each part's
 * arithmetic is then the same whoever runs it, so a result has the same
 * bits at any thread count (core/nn/gemm.c, docs/design-nn.md). Threads
 * only decide who runs which part. That is the point of not using an OpenMP team: a team's
 * barrier waits for every member to check in, so when the machine is busy
 * and a member is not scheduled, a 64-row product that takes 0.3 ms waits
 * for a time slice. Measured on the VAT benchmark's plain epoch at two
 * threads with a test suite running beside it: 1.7–3.2 s with a libgomp
 * team, 0.77–0.80 s with this pool (one thread alone: 0.79 s); on the idle
 * machine the pool is 3–5 % slower than the team (0.47 s against 0.45 s).
 *
 * Waiting: workers between jobs and callers whose parts are running
 * elsewhere spin for a short while (SPIN_US), since the gap between two
 * products of a training step is a few microseconds, and then sleep on a
 * condition variable, so that idle threads cost nothing. */
#include "config.h"

#include "affect/affect.h"
#include "affect/parallel.h"

/* spinning longer than this before sleeping only burns a core */
#define SPIN_US 200

typedef struct
{
  AffectParallelFunc func;
  gpointer data;
  int n_parts;
  int max_helpers;              /* workers allowed to join */
  gint helpers;                 /* atomic: workers that joined */
  gint claimed_count;           /* atomic: parts taken */
  guint64 *claimed;             /* atomic words: bit p set once part p is taken */
  gint done;                    /* atomic: parts finished */
  gint refs;                    /* atomic: the caller + each worker in it */
} Job;

static GMutex lock;
static GCond work_cond, done_cond;
static GQueue queue = G_QUEUE_INIT;     /* jobs with parts left, oldest first */
static gint queued;             /* atomic: queue.length, for spinning */
static int n_workers;           /* under lock */

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

static void
job_unref (Job * job)
{
  if (g_atomic_int_dec_and_test (&job->refs)) {
    g_free (job->claimed);
    g_free (job);
  }
}

static inline gboolean
claim (Job * job, int part)
{
  const guint64 bit = G_GUINT64_CONSTANT (1) << (part % 64);

  if (__atomic_fetch_or (&job->claimed[part / 64], bit, __ATOMIC_ACQ_REL)
      & bit)
    return FALSE;
  g_atomic_int_inc (&job->claimed_count);
  return TRUE;
}

static inline gboolean
exhausted (Job * job)
{
  return g_atomic_int_get (&job->claimed_count) >= job->n_parts;
}

/* runs parts of job until none is left, starting with part `first`: the
 * caller starts at 0 and helper h at h·n_parts/threads, so that when
 * everyone is awake each thread gets the same parts of every product it
 * got last time (the same slab of a weight matrix stays in its cache); a
 * part nobody took in time is taken by whoever comes next. TRUE if this
 * thread finished the last part. */
static gboolean
run_parts (Job * job, int first)
{
  gboolean finished_last = FALSE;

  for (int i = 0; i < job->n_parts && !exhausted (job); i++) {
    const int part = (first + i) % job->n_parts;
    if (!claim (job, part))
      continue;
    job->func (part, job->n_parts, job->data);
    if (g_atomic_int_add (&job->done, 1) + 1 == job->n_parts)
      finished_last = TRUE;
  }
  return finished_last;
}

/* under lock: drops an exhausted job from the queue */
static void
unqueue (Job * job)
{
  if (g_queue_remove (&queue, job)) {
    g_atomic_int_add (&queued, -1);
    job_unref (job);
  }
}

/* under lock: the oldest job with parts left that takes one more helper,
 * with a reference for the caller and the helper's number (1, 2, …) in
 * *helper, dropping exhausted jobs on the way; NULL if none */
static Job *
take_job (int *helper)
{
  GList *l = queue.head;

  while (l != NULL) {
    Job *job = l->data;
    GList *next = l->next;
    if (exhausted (job)) {
      unqueue (job);
    } else if (job->helpers < job->max_helpers) {
      /* under the lock: no other worker joins at the same time */
      *helper = ++job->helpers;
      g_atomic_int_inc (&job->refs);
      return job;
    }
    l = next;
  }
  return NULL;
}

static gpointer
worker (gpointer data)
{
  (void) data;

  for (;;) {
    const gint64 until = g_get_monotonic_time () + SPIN_US;
    Job *job = NULL;
    int helper = 0;

    /* the next product of a step usually comes within microseconds */
    while (job == NULL && g_get_monotonic_time () < until) {
      for (int i = 0; i < 64 && g_atomic_int_get (&queued) == 0; i++)
        cpu_relax ();
      if (g_atomic_int_get (&queued) > 0) {
        g_mutex_lock (&lock);
        job = take_job (&helper);
        g_mutex_unlock (&lock);
      }
    }
    if (job == NULL) {
      g_mutex_lock (&lock);
      while ((job = take_job (&helper)) == NULL)
        g_cond_wait (&work_cond, &lock);
      g_mutex_unlock (&lock);
    }

    if (run_parts (job, (int) ((gint64) helper * job->n_parts /
                (job->max_helpers + 1)))) {
      g_mutex_lock (&lock);
      g_cond_broadcast (&done_cond);
      g_mutex_unlock (&lock);
    }
    job_unref (job);
  }
  return NULL;
}

void
affect_parallel_run (int n_parts, AffectParallelFunc func, gpointer data)
{
  const int threads = MIN (affect_get_threads (), n_parts);
  Job *job;
  gint64 until;

  if (n_parts <= 0)
    return;
  if (threads <= 1) {
    /* the same parts, in order, on this thread */
    for (int p = 0; p < n_parts; p++)
      func (p, n_parts, data);
    return;
  }
  job = g_new (Job, 1);
  job->func = func;
  job->data = data;
  job->n_parts = n_parts;
  job->max_helpers = threads - 1;
  job->helpers = 0;
  job->claimed_count = 0;
  job->claimed = g_new0 (guint64, (n_parts + 63) / 64);
  job->done = 0;
  job->refs = 2;                /* the caller and the queue */

  g_mutex_lock (&lock);
  /* the caller works too: threads − 1 workers can help */
  while (n_workers < threads - 1) {
    n_workers++;
    g_thread_unref (g_thread_new ("affect-worker", worker, NULL));
  }
  g_queue_push_tail (&queue, job);
  g_atomic_int_inc (&queued);
  g_cond_broadcast (&work_cond);
  g_mutex_unlock (&lock);

  run_parts (job, 0);

  g_mutex_lock (&lock);
  unqueue (job);
  g_mutex_unlock (&lock);

  /* parts still running elsewhere: spin, then sleep */
  until = g_get_monotonic_time () + SPIN_US;
  while (g_atomic_int_get (&job->done) < n_parts
      && g_get_monotonic_time () < until)
    for (int i = 0; i < 64 && g_atomic_int_get (&job->done) < n_parts; i++)
      cpu_relax ();
  if (g_atomic_int_get (&job->done) < n_parts) {
    g_mutex_lock (&lock);
    while (g_atomic_int_get (&job->done) < n_parts)
      g_cond_wait (&done_cond, &lock);
    g_mutex_unlock (&lock);
  }
  job_unref (job);
}

int
affect_parallel_blocks (size_t n_elements)
{
  /* element-wise loops: a part per 64 K elements, whatever the thread
   * count, so that the part boundaries (and any vector epilogue at them)
   * are the same at any count */
  const size_t grain = 1 << 16;

  return (int) MAX ((n_elements + grain - 1) / grain, 1);
}

/* libaffect's worker threads: one pool for the process, shared by every
 * caller (two pipelines training at once share it instead of each starting
 * a team), grown on demand up to the largest thread count asked for.
 *
 * A job is n parts of work. The caller queues it, wakes the workers, and
 * takes parts itself; workers take whatever parts are left. The caller
 * returns when every part is done — it never waits for a worker that took
 * no part. That is the point of not using an OpenMP team: a team's
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
  guint64 claimed;              /* atomic: bit p set once part p is taken */
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
  if (g_atomic_int_dec_and_test (&job->refs))
    g_free (job);
}

static inline gboolean
claim (Job * job, int part)
{
  const guint64 bit = G_GUINT64_CONSTANT (1) << part;
  return !(__atomic_fetch_or (&job->claimed, bit, __ATOMIC_ACQ_REL) & bit);
}

static inline gboolean
exhausted (Job * job)
{
  const guint64 all = job->n_parts == 64 ? G_MAXUINT64 :
      (G_GUINT64_CONSTANT (1) << job->n_parts) - 1;
  return (__atomic_load_n (&job->claimed, __ATOMIC_ACQUIRE) & all) == all;
}

/* runs parts of job until none is left, starting with part `first`: the
 * caller starts at 0 and worker w at w, so that when everyone is awake
 * each thread gets the same slab of every product it got last time (the
 * same half of a weight matrix stays in its cache); a part nobody took in
 * time is taken by whoever comes next. TRUE if this thread finished the
 * last part. */
static gboolean
run_parts (Job * job, int first)
{
  gboolean finished_last = FALSE;

  for (int i = 0; i < job->n_parts; i++) {
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

/* under lock: the oldest job with parts left, with a reference for the
 * caller, dropping exhausted ones on the way; NULL if none */
static Job *
take_job (void)
{
  Job *job;

  while ((job = g_queue_peek_head (&queue)) != NULL) {
    if (!exhausted (job)) {
      g_atomic_int_inc (&job->refs);
      return job;
    }
    unqueue (job);
  }
  return NULL;
}

static gpointer
worker (gpointer data)
{
  const int id = GPOINTER_TO_INT (data);

  for (;;) {
    const gint64 until = g_get_monotonic_time () + SPIN_US;
    Job *job = NULL;

    /* the next product of a step usually comes within microseconds */
    while (job == NULL && g_get_monotonic_time () < until) {
      for (int i = 0; i < 64 && g_atomic_int_get (&queued) == 0; i++)
        cpu_relax ();
      if (g_atomic_int_get (&queued) > 0) {
        g_mutex_lock (&lock);
        job = take_job ();
        g_mutex_unlock (&lock);
      }
    }
    if (job == NULL) {
      g_mutex_lock (&lock);
      while ((job = take_job ()) == NULL)
        g_cond_wait (&work_cond, &lock);
      g_mutex_unlock (&lock);
    }

    if (run_parts (job, id % job->n_parts)) {
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
  Job *job;
  gint64 until;

  n_parts = MIN (n_parts, AFFECT_PARALLEL_MAX_PARTS);
  if (n_parts <= 1) {
    if (n_parts == 1)
      func (0, 1, data);
    return;
  }
  job = g_new (Job, 1);
  job->func = func;
  job->data = data;
  job->n_parts = n_parts;
  job->claimed = 0;
  job->done = 0;
  job->refs = 2;                /* the caller and the queue */

  g_mutex_lock (&lock);
  /* the caller works too: n_parts − 1 workers can help */
  while (n_workers < n_parts - 1) {
    n_workers++;
    g_thread_unref (g_thread_new ("affect-worker", worker,
            GINT_TO_POINTER (n_workers)));
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
affect_parallel_threads (size_t n_elements)
{
  /* element-wise loops: a thread per 64 K elements at most */
  const size_t grain = 1 << 16;
  const int threads = affect_get_threads ();

  return (int) MIN ((size_t) threads, MAX (n_elements / grain, 1));
}

/* Workspaces of the layers that run on the worker pool, kept between
 * calls (see scratch.h).
 *
 * An inference pass asks for a workspace per thread in every job (an
 * inverted-residual chain's strips and maps, 0.5-2.3 MB each). Taken
 * from malloc and freed at the end of the job, such buffers went back to
 * the kernel each time and came back as fresh pages: at two threads both
 * threads faulted their pages in at once and every unmap interrupted the
 * other core to flush its TLB, about a tenth of the pass on this machine
 * (MoodNet 1 × 96 × 4096: 0.053 s against 0.048 s with glibc told to keep
 * its heap). Here a buffer given back stays in a small cache and the next
 * request of at most its size takes it, so after the first pass no page
 * is faulted in again. */
#include <glib.h>

#include "scratch.h"

#define SLOTS 16
/* buffers larger than this are not kept */
#define KEEP_FLOATS ((size_t) 1 << 22)

typedef struct
{
  float *buf;
  size_t floats;
  gboolean busy;
} Slot;

static GMutex lock;
static Slot slots[SLOTS];

float *
affect_scratch_get (size_t floats)
{
  Slot *fit = NULL, *small = NULL, *empty = NULL;
  float *buf;

  floats = MAX (floats, 16);
  g_mutex_lock (&lock);
  for (int i = 0; i < SLOTS; i++) {
    Slot *s = &slots[i];
    if (s->busy)
      continue;
    if (s->buf == NULL) {
      if (empty == NULL)
        empty = s;
    } else if (s->floats >= floats) {
      if (fit == NULL || s->floats < fit->floats)
        fit = s;
    } else if (small == NULL || s->floats > small->floats) {
      small = s;
    }
  }
  if (fit != NULL) {
    fit->busy = TRUE;
    g_mutex_unlock (&lock);
    return fit->buf;
  }
  if (floats > KEEP_FLOATS || (empty == NULL && small == NULL)) {
    g_mutex_unlock (&lock);
    return g_aligned_alloc (floats, sizeof (float), 64);
  }
  /* the largest kept buffer that is too small makes way, else a new slot:
   * the cache holds no more buffers than were ever busy at once */
  if (small != NULL) {
    empty = small;
    g_aligned_free (empty->buf);
  }
  buf = g_aligned_alloc (floats, sizeof (float), 64);
  empty->buf = buf;
  empty->floats = floats;
  empty->busy = TRUE;
  g_mutex_unlock (&lock);
  return buf;
}

void
affect_scratch_put (float *buf)
{
  if (buf == NULL)
    return;
  g_mutex_lock (&lock);
  for (int i = 0; i < SLOTS; i++)
    if (slots[i].buf == buf) {
      slots[i].busy = FALSE;
      g_mutex_unlock (&lock);
      return;
    }
  g_mutex_unlock (&lock);
  g_aligned_free (buf);
}

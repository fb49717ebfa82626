/* A Mel stream's frames on the clock (affect/frames.h): the element's
 * arithmetic of frames and nanoseconds, exact in 128 bits as GStreamer's
 * gst_util_uint64_scale () is, so the times do not drift over hours */
#include <math.h>

#include "affect/affect.h"
#include "affect/frames.h"

#define SECOND G_GUINT64_CONSTANT (1000000000)

/* val × num / denom + the rounding term, saturated */
static guint64
scale (guint64 val, guint64 num, guint64 denom, guint64 round)
{
  const unsigned __int128 r = ((unsigned __int128) val * num + round) / denom;

  return r > G_MAXUINT64 ? G_MAXUINT64 : (guint64) r;
}

void
affect_frame_stream_set_rate (AffectFrameStream * s, guint mels,
    gint rate_n, gint rate_d, guint frames_per_tensor, gint sample_rate,
    gint hop)
{
  s->fr.mels = mels;
  s->fps_n = rate_n * (gint) frames_per_tensor;
  s->fps_d = rate_d;
  if (s->fps_n <= 0) {
    s->fps_n = sample_rate > 0 && hop > 0 ? sample_rate : 1;
    s->fps_d = sample_rate > 0 && hop > 0 ? hop : 1;
  }
}

guint64
affect_frame_stream_time (const AffectFrameStream * s, guint64 n)
{
  return scale (n, (guint64) s->fps_d * SECOND, (guint64) s->fps_n, 0);
}

/* ns to frames, rounded half up, at least one */
static guint
to_frames (const AffectFrameStream * s, guint64 ns)
{
  const guint64 denom = (guint64) s->fps_d * SECOND;

  return (guint) MAX (1, scale (ns, (guint64) s->fps_n, denom, denom >> 1));
}

gboolean
affect_frame_stream_set_windows (AffectFrameStream * s, guint64 window_ns,
    guint64 hop_ns, guint model_frames, GError ** error)
{
  const char *names[2] = { "window", "hop" };
  const guint64 values[2] = { window_ns, hop_ns };
  const double frame_ns = (double) SECOND * s->fps_d / s->fps_n;

  s->window = window_ns ? to_frames (s, window_ns) : model_frames;
  s->hop = hop_ns ? to_frames (s, hop_ns) : s->window;
  for (guint i = 0; i < 2; i++)
    if (values[i] > 0 && values[i] < frame_ns / 2) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
          "%s=%" G_GUINT64_FORMAT " ns is shorter than one Mel frame "
          "(%.3f ms) of the stream", names[i], values[i], frame_ns / 1e6);
      return FALSE;
    }
  return TRUE;
}

void
affect_frame_stream_clear (AffectFrameStream * s, gboolean item)
{
  s->fr.n = 0;
  if (item) {
    s->start = s->end = AFFECT_TIME_NONE;
    s->nonfinite = 0;
  }
}

guint64
affect_count_nonfinite (const float *x, gsize n)
{
  guint64 bad = 0;

  for (gsize i = 0; i < n; i++)
    bad += !isfinite (x[i]);
  return bad;
}

void
affect_frame_stream_add (AffectFrameStream * s, const float *data, guint n,
    guint limit, guint64 pts, guint64 duration)
{
  if (s->fr.n == 0 && pts != AFFECT_TIME_NONE)
    s->start = pts;
  if (pts != AFFECT_TIME_NONE)
    s->end = pts + (duration != AFFECT_TIME_NONE ? duration : 0);
  affect_frames_append (&s->fr, data, n, limit);
}

gboolean
affect_frame_stream_next_window (AffectFrameStream * s, const float *data,
    guint n, guint * i, guint64 pts)
{
  gint first;

  while (*i < n) {
    const guint used = affect_frames_fill (&s->fr, data + (size_t) *i *
        s->fr.mels, n - *i, s->window, &first);

    if (first >= 0 && pts != AFFECT_TIME_NONE)
      s->start = pts + affect_frame_stream_time (s, *i + first);
    *i += used;
    if (s->fr.n >= s->window)
      return TRUE;
  }
  return FALSE;
}

void
affect_frame_stream_slide (AffectFrameStream * s)
{
  const guint shift = affect_frames_slide (&s->fr, s->window, s->hop);

  if (s->start != AFFECT_TIME_NONE)
    s->start += affect_frame_stream_time (s, shift);
}

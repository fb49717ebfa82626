/* A Mel stream's frames on the clock, with no GStreamer: the frame rate,
 * an item's frames and the span they cover, or, live, windows of `window`
 * frames every `hop` and the time each starts at. Times are nanoseconds,
 * AFFECT_TIME_NONE where unknown (GStreamer's GST_CLOCK_TIME_NONE). The
 * frames themselves are an AffectFrames (affect/classifier.h). */
#ifndef AFFECT_FRAMES_H
#define AFFECT_FRAMES_H

#include <glib.h>
#include "affect/classifier.h"

G_BEGIN_DECLS
#define AFFECT_TIME_NONE G_MAXUINT64

typedef struct
{
  AffectFrames fr;
  gint fps_n, fps_d;            /* frames per second, fps_n / fps_d */
  guint window, hop;            /* live, in frames */
  guint64 start;                /* ns: the time of the first frame held */
  guint64 end;                  /* ns: an item's end (its last input's) */
  guint64 nonfinite;            /* NaN and Inf values of the item */
} AffectFrameStream;

/* the frame rate: tensors per second (rate_n / rate_d) × frames per
 * tensor; without a rate (rate_n 0), sample_rate / hop when both are
 * known (> 0), else 1 */
void affect_frame_stream_set_rate (AffectFrameStream * s, guint mels,
    gint rate_n, gint rate_d, guint frames_per_tensor, gint sample_rate,
    gint hop);
/* the duration of n frames, rounded down */
guint64 affect_frame_stream_time (const AffectFrameStream * s, guint64 n);
/* Live windows from window_ns and hop_ns (0 = model_frames, the hop 0 =
 * the window), each at least one frame. FALSE with AFFECT_ERROR_MISMATCH
 * naming it when a nonzero value is shorter than half a frame (the
 * windows are set either way). */
gboolean affect_frame_stream_set_windows (AffectFrameStream * s,
    guint64 window_ns, guint64 hop_ns, guint model_frames, GError ** error);
/* no frames held; with `item`, a new item: no span, no non-finite value */
void affect_frame_stream_clear (AffectFrameStream * s, gboolean item);

/* the NaN and Inf values among x[n] */
guint64 affect_count_nonfinite (const float *x, gsize n);
/* an item: appends data[n] as far as `limit` frames in all; the item's
 * span runs from the first input's pts to the end of the last one's */
void affect_frame_stream_add (AffectFrameStream * s, const float *data,
    guint n, guint limit, guint64 pts, guint64 duration);
/* Live: goes on through data[n] (stamped pts) from *i until a window is
 * full: TRUE with its `window` frames in s->fr and its time in s->start;
 * FALSE when data is used up. After each window: ..._slide (). */
gboolean affect_frame_stream_next_window (AffectFrameStream * s,
    const float *data, guint n, guint * i, guint64 pts);
/* moves the full window on by `hop` frames (and its start time) */
void affect_frame_stream_slide (AffectFrameStream * s);

G_END_DECLS
#endif /* AFFECT_FRAMES_H */

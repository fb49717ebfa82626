/* GAP events for outputs that have nothing to send yet.
 *
 * A sink prerolls on its first buffer or GAP event; a live sink renders a
 * GAP like a buffer. An element whose output lags its input (an item's
 * vector at the item's end, a window's at the window's end) or whose output
 * pad is idle (affectgate's other route) tells downstream that time passes
 * with GAP events, as stock demuxers and decoders do (docs/protocol.md,
 * "Time without data"). GstAffectGap remembers how far an output pad has
 * gone: the end of the last buffer or GAP pushed on it.
 */
#ifndef __GST_AFFECT_GAP_H__
#define __GST_AFFECT_GAP_H__

#include <gst/gst.h>

G_BEGIN_DECLS typedef struct
{
  /* end of the last buffer or GAP pushed; GST_CLOCK_TIME_NONE while
   * nothing has been pushed since the last segment or flush */
  GstClockTime position;
} GstAffectGap;

void gst_affect_gap_reset (GstAffectGap * gap);
/* notes a buffer of [ts, ts + duration) going out */
void gst_affect_gap_note (GstAffectGap * gap, GstClockTime ts,
    GstClockTime duration);
/* a GAP of [ts, ts + duration) (duration may be GST_CLOCK_TIME_NONE); not
 * pushed, and TRUE, when ts is invalid or the pad has no caps yet */
gboolean gst_affect_gap_push (GstAffectGap * gap, GstPad * pad,
    GstClockTime ts, GstClockTime duration);
/* nothing pushed yet: a GAP of duration 0 at ts, so that sinks preroll */
gboolean gst_affect_gap_preroll (GstAffectGap * gap, GstPad * pad,
    GstClockTime ts);
/* a GAP from the position up to `until`, when that is later */
gboolean gst_affect_gap_advance (GstAffectGap * gap, GstPad * pad,
    GstClockTime until);

G_END_DECLS
#endif /* __GST_AFFECT_GAP_H__ */

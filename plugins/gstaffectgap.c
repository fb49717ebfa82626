/* GAP events for outputs that have nothing to send yet (gstaffectgap.h) */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstaffectgap.h"

void
gst_affect_gap_reset (GstAffectGap * gap)
{
  gap->position = GST_CLOCK_TIME_NONE;
}

void
gst_affect_gap_note (GstAffectGap * gap, GstClockTime ts, GstClockTime duration)
{
  GstClockTime end;

  if (!GST_CLOCK_TIME_IS_VALID (ts))
    return;
  end = ts + (GST_CLOCK_TIME_IS_VALID (duration) ? duration : 0);
  if (!GST_CLOCK_TIME_IS_VALID (gap->position) || end > gap->position)
    gap->position = end;
}

gboolean
gst_affect_gap_push (GstAffectGap * gap, GstPad * pad, GstClockTime ts,
    GstClockTime duration)
{
  /* a GAP is data flow: it needs the caps (and the segment after them) */
  if (!GST_CLOCK_TIME_IS_VALID (ts) || !gst_pad_has_current_caps (pad))
    return TRUE;
  gst_affect_gap_note (gap, ts, duration);
  return gst_pad_push_event (pad, gst_event_new_gap (ts, duration));
}

gboolean
gst_affect_gap_preroll (GstAffectGap * gap, GstPad * pad, GstClockTime ts)
{
  if (GST_CLOCK_TIME_IS_VALID (gap->position))
    return TRUE;
  return gst_affect_gap_push (gap, pad, ts, 0);
}

gboolean
gst_affect_gap_advance (GstAffectGap * gap, GstPad * pad, GstClockTime until)
{
  if (!GST_CLOCK_TIME_IS_VALID (until) || !GST_CLOCK_TIME_IS_VALID
      (gap->position) || until <= gap->position)
    return TRUE;
  return gst_affect_gap_push (gap, pad, gap->position, until - gap->position);
}

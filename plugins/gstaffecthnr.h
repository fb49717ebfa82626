/* affecthnr: harmonic-plus-noise reconstruction of each item */
#ifndef __GST_AFFECT_HNR_H__
#define __GST_AFFECT_HNR_H__

#include <gst/gst.h>

#include "affect/hnr.h"
#include "gstaffectitem.h"
#include "gstaffectgap.h"

G_BEGIN_DECLS

#define GST_TYPE_AFFECT_HNR (gst_affect_hnr_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectHnr, gst_affect_hnr, GST, AFFECT_HNR,
    GstElement);

struct _GstAffectHnr
{
  GstElement parent;

  GstPad *sinkpad, *srcpad;

  /* properties */
  guint hop;
  guint window;
  gdouble f0_min, f0_max;
  gdouble yin_threshold;
  gdouble silence_db;
  guint n_harmonics;
  guint noise_bands;
  guint64 seed;
  gchar *id_suffix;
  gboolean post_messages;

  /* state (stream lock) */
  gint rate;
  AffectHnrPlan *plan;
  gboolean plan_dirty;
  GArray *pending;              /* float samples of the current item */
  GstClockTime first_pts;
  guint64 n_clamped;            /* samples beyond ±AFFECT_HNR_CLAMP, clamped */
  GstAffectItem *item;          /* original (not rewritten) item, or NULL */
  guint n_items;
  guint64 n_invalid;            /* NaN/Inf samples of the current item */
  GstEvent *held_segment;       /* a segment inside the item, sent after
                                 * the item's reconstruction */
  gboolean in_items;            /* item events seen: audio between items
                                 * belongs to no item and passes through */
  GstAffectGap gap;             /* how far the output has gone */
};

G_END_DECLS
#endif /* __GST_AFFECT_HNR_H__ */

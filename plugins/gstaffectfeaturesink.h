/* affectfeaturesink: item tensors written to a feature table */
#ifndef __GST_AFFECT_FEATURE_SINK_H__
#define __GST_AFFECT_FEATURE_SINK_H__

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>

#include "affect/features.h"
#include "gstaffectitem.h"

G_BEGIN_DECLS
#define GST_TYPE_AFFECT_FEATURE_SINK (gst_affect_feature_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectFeatureSink, gst_affect_feature_sink, GST,
    AFFECT_FEATURE_SINK, GstBaseSink);

struct _GstAffectFeatureSink
{
  GstBaseSink parent;

  /* properties (object lock) */
  gchar *location;

  /* streaming state */
  guint n_features;
  GstCaps *caps;                /* current caps */
  GPtrArray *distinct_caps;     /* gchar *, in order of first use */
  GArray *caps_of_row;          /* gint */
  GArray *pts, *durations;      /* GstClockTime per row */
  GPtrArray *items;             /* GstAffectItem per row */
  GArray *values;               /* float */
  GstAffectItem *current;       /* item between start and end, or NULL */
  gboolean current_has_row;
  guint outside;                /* vectors outside items */
};

G_END_DECLS
#endif /* __GST_AFFECT_FEATURE_SINK_H__ */

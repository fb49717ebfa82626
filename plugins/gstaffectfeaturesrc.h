/* affectfeaturesrc: stored feature vectors as items */
#ifndef __GST_AFFECT_FEATURE_SRC_H__
#define __GST_AFFECT_FEATURE_SRC_H__

#include <gst/gst.h>
#include <gst/base/gstpushsrc.h>

#include "affect/features.h"
#include "affect/manifest.h"

G_BEGIN_DECLS
#define GST_TYPE_AFFECT_FEATURE_SRC (gst_affect_feature_src_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectFeatureSrc, gst_affect_feature_src, GST,
    AFFECT_FEATURE_SRC, GstPushSrc);

struct _GstAffectFeatureSrc
{
  GstPushSrc parent;

  /* properties (object lock) */
  gchar *location;
  gchar *manifest_location;
  gchar *label_column;
  gchar *target_columns;
  gchar *split;
  gchar *feature;
  gint sample_rate;

  /* streaming state (set in start) */
  AffectFeatureTable *table;
  AffectManifest *manifest;
  GKeyFile *meta;
  gchar *meta_task;
  gchar *run_split;             /* the split property when started */
  gboolean ready;               /* started: items and caps set (object
                                 * lock) */
  GPtrArray *items;             /* GstAffectItem, in emission order */
  GArray *rows;                 /* guint table row of each item */
  GPtrArray *caps;              /* GstCaps of each table row */
  GstClockTime *pts, *durations;        /* per table row, or NULL */
  guint next;
  guint emitted, skipped;
  GPtrArray *skipped_list;
  gboolean segment_sent;
  GstCaps *current_caps;
};

G_END_DECLS
#endif /* __GST_AFFECT_FEATURE_SRC_H__ */

/* affectsrc: a dataset as one audio stream, item by item */
#ifndef __GST_AFFECT_SRC_H__
#define __GST_AFFECT_SRC_H__

#include <gst/gst.h>
#include <gst/app/gstappsink.h>

#include "affect/manifest.h"

G_BEGIN_DECLS

#define GST_TYPE_AFFECT_SRC (gst_affect_src_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectSrc, gst_affect_src, GST, AFFECT_SRC,
    GstElement);

typedef enum
{
  GST_AFFECT_SRC_ORIGIN_REAL,
  GST_AFFECT_SRC_ORIGIN_GENERATED
} GstAffectSrcOrigin;

typedef enum
{
  GST_AFFECT_SRC_FORMAT_AUTO = AFFECT_MANIFEST_AUTO,
  GST_AFFECT_SRC_FORMAT_MTG_TSV = AFFECT_MANIFEST_MTG_TSV,
  GST_AFFECT_SRC_FORMAT_QUADRANT_CSV = AFFECT_MANIFEST_QUADRANT_CSV,
  GST_AFFECT_SRC_FORMAT_CSV = AFFECT_MANIFEST_CSV
} GstAffectSrcFormat;

struct _GstAffectSrc
{
  GstElement parent;
  GstPad *srcpad;

  /* properties (object lock) */
  gchar *location;
  gchar *root;
  gchar *vocabulary;
  gchar *split;
  GstAffectSrcOrigin origin;
  GstAffectSrcFormat format;
  gboolean shuffle;
  guint64 seed;
  guint start_index;
  gint stop_index;
  gchar *shard;
  gchar *label_column;
  gchar *target_columns;
  guint item_timeout;           /* seconds, 0 = none */
  gint rate, channels;          /* per-item conversion, 0 = as decoded */
  gint resample_quality;
  gboolean auto_resample;

  /* the selected dataset (set in READY→PAUSED) */
  AffectManifest *manifest;
  guint *order;
  guint n_order;

  /* streaming state (streaming thread) */
  guint next;                   /* position in order */
  guint emitted, skipped;
  guint n_started;              /* items that got an affect-item-start */
  GPtrArray *skipped_list;      /* "path: reason" */
  gboolean started, segment_pushed;
  GstCaps *caps;
  GstClockTime position;        /* end of the last buffer pushed */
  /* auto-resample: what the audioresample downstream would do (its rate,
   * the channels fixed after it, its property values), or NULL */
  GstStructure *auto_settings;
  gint auto_rate, auto_channels;
  gchar *auto_format;
  gint flushing;                /* atomic */

  /* the current item's private decoding pipeline */
  GstElement *decoder;
  GstAppSink *appsink;
  GstElement *decoder_sink;     /* where the decoded audio stream is linked */
  gint all_pads;                /* atomic: the decoder exposed every stream */
};

G_END_DECLS
#endif /* __GST_AFFECT_SRC_H__ */

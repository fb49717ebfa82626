/* affectis09: INTERSPEECH-2009 emotion features (openSMILE IS09_emotion) */
#ifndef __GST_AFFECT_IS09_H__
#define __GST_AFFECT_IS09_H__

#include <stdio.h>
#include <gst/gst.h>
#include <gst/audio/audio.h>
#include "affect/is09.h"
#include "gstaffectgap.h"

G_BEGIN_DECLS

#define GST_TYPE_AFFECT_IS09 (gst_affect_is09_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectIs09, gst_affect_is09, GST, AFFECT_IS09,
    GstElement)

typedef enum
{
  GST_AFFECT_IS09_OUTPUT_FUNCTIONALS,
  GST_AFFECT_IS09_OUTPUT_LLD
} GstAffectIs09Output;

#define GST_TYPE_AFFECT_IS09_OUTPUT (gst_affect_is09_output_get_type ())
GType gst_affect_is09_output_get_type (void);

struct _GstAffectIs09
{
  GstElement parent;
  GstPad *sinkpad, *srcpad;

  /* properties */
  guint64 window, hop;
  gdouble input_scale;
  gchar *location;
  gchar *instance_name;
  GstAffectIs09Output output;
  gboolean post_messages;

  /* state */
  GstAudioInfo info;
  AffectIs09Plan *plan;
  AffectIs09 *is09;
  GstSegment segment;
  GstClockTime base_ts;         /* timestamp of the item's first sample */
  gchar *item_id;
  gchar *item_path;             /* the item's file, for warnings */
  gboolean in_items;            /* item events seen in this stream */
  gboolean in_item;             /* between an item's start and end */
  GList *pending;               /* buffers made during one push */
  GstAffectGap gap;             /* how far the output has gone */
  FILE *csv;
};

GST_ELEMENT_REGISTER_DECLARE (affectis09);

G_END_DECLS
#endif /* __GST_AFFECT_IS09_H__ */

/* affectmel: Mel spectrogram frames of mono float audio */
#ifndef __GST_AFFECT_MEL_H__
#define __GST_AFFECT_MEL_H__

#include <gst/gst.h>
#include <gst/audio/gstaudiofilter.h>
#include "affect/mel.h"
#include "gstaffectgap.h"

G_BEGIN_DECLS

#define GST_TYPE_AFFECT_MEL (gst_affect_mel_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectMel, gst_affect_mel, GST, AFFECT_MEL,
    GstAudioFilter)

struct _GstAffectMel
{
  GstAudioFilter parent;

  /* properties (object lock) */
  AffectMelPreset preset;
  AffectMelParams user;         /* values set explicitly … */
  guint64 user_set;             /* … one bit per table index */
  gint rate;                    /* required input rate, 0 = any */
  guint frames_per_buffer;

  /* streaming state (stream lock) */
  AffectMelParams active;
  AffectMelPlan *plan;
  AffectMelStream *stream;
  guint frames;                 /* frames per output buffer in use */
  gboolean have_base;
  GstClockTime base;            /* timestamp of sample 0 */
  guint64 n_samples;            /* samples received since `base` */
  guint64 origin;               /* sample (since `base`) where the stream's
                                 * frame 0 lies: the item start */
  gboolean discont;
  GstAffectGap gap;             /* how far the output has gone */
  gboolean warned_nonfinite;
  gchar *item_id, *item_path;   /* the current item, for warnings */
};

G_END_DECLS
#endif /* __GST_AFFECT_MEL_H__ */

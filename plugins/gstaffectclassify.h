/* affectclassify: MoodNet classifier over Mel tensor streams (infer, train) */
#ifndef __GST_AFFECT_CLASSIFY_H__
#define __GST_AFFECT_CLASSIFY_H__

#include <gst/gst.h>

#include "affect/moodnet.h"
#include "affect/moodnet-train.h"
#include "affect/classifier.h"
#include "affect/frames.h"
#include "gstaffectitem.h"
#include "gstaffectgap.h"
#include "gstaffectlearner.h"

G_BEGIN_DECLS
#define GST_TYPE_AFFECT_CLASSIFY (gst_affect_classify_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectClassify, gst_affect_classify, GST,
    AFFECT_CLASSIFY, GstAffectLearner)

struct _GstAffectClassify
{
  GstAffectLearner learner;     /* mode, model-file, training knobs */

  /* properties (object lock) */
  guint64 window, hop;
  guint top_k;
  gdouble threshold;
  guint sgd_epochs;
  gboolean mixup, spec_augment, standardise_bands;
  gdouble width;
  guint chunks, chunk_frames;
  gint crops;                   /* GstAffectClassifyCrops */
  gint select;                  /* GstAffectClassifySelect */
  gchar *init_model;

  /* model */
  AffectMoodNet *net;
  gchar **labels;
  gchar *features_json;         /* affect.features of the model, or NULL */
  AffectMoodNetTrainer *trainer;

  /* stream (stream lock) */
  gint n_mels;
  GstStructure *stream_features;        /* the Mel fields of the sink caps */
  gboolean src_caps_set;
  GstEvent *pending_segment;
  gboolean saw_items;
  AffectFrameStream fs;         /* the item's frames or the live window */
  gboolean warned_live;         /* live: non-finite frames reported */
};

G_END_DECLS
#endif /* __GST_AFFECT_CLASSIFY_H__ */

/* affectclassify: MoodNet classifier over Mel tensor streams (infer, train) */
#ifndef __GST_AFFECT_CLASSIFY_H__
#define __GST_AFFECT_CLASSIFY_H__

#include <gst/gst.h>

#include "affect/moodnet.h"
#include "affect/moodnet-train.h"
#include "gstaffectitem.h"
#include "gstaffectgap.h"

G_BEGIN_DECLS
#define GST_TYPE_AFFECT_CLASSIFY (gst_affect_classify_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectClassify, gst_affect_classify, GST,
    AFFECT_CLASSIFY, GstElement)
     typedef enum
     {
       GST_AFFECT_CLASSIFY_MODE_INFER,
       GST_AFFECT_CLASSIFY_MODE_TRAIN
     } GstAffectClassifyMode;

     struct _GstAffectClassify
     {
       GstElement parent;

       GstPad *sinkpad, *srcpad;

       /* properties (object lock) */
       gchar *model_location;
       GstAffectClassifyMode mode;
       guint64 window, hop;
       guint top_k;
       gdouble threshold;
       guint epochs, sgd_epochs, batch_size;
       gdouble learning_rate;
       gboolean mixup, spec_augment, resume;
       guint64 seed;
       gdouble width;
       guint chunks, chunk_frames;
       gchar *init_model;
       guint cache_budget;      /* MiB */
       guint threads;           /* 0 = the process default */

       /* model */
       AffectMoodNet *net;
       gchar **labels;
       gchar *features_json;    /* affect.features of the model, or NULL */
       AffectMoodNetTrainer *trainer;

       /* stream (stream lock) */
       gint n_mels, fps_n, fps_d;
       GstStructure *stream_features;   /* the Mel fields of the sink caps */
       gboolean src_caps_set;
       GstEvent *pending_segment;
       GstSegment segment;
       GstAffectItem *item;     /* current item, NULL between items */
       gboolean saw_items;
       float *frames;           /* [frame][mel], up to `capacity` frames */
       guint n_frames, capacity;
       GstClockTime start_ts, end_ts;
       guint64 frames_seen;     /* live: frames still to skip (hop > window) */
       guint n_skipped;
       GstAffectGap gap;        /* how far the output has gone */
       guint n_test;            /* train: split=test items, not learnt */
       guint64 n_nonfinite;     /* the current item's NaN/Inf Mel values */
       gboolean warned_live;    /* live: non-finite frames reported */
     };

gint *gst_affect_classify_label_index (const gchar * const *model_labels,
    const gchar * const *vocabulary, guint n);

G_END_DECLS
#endif /* __GST_AFFECT_CLASSIFY_H__ */

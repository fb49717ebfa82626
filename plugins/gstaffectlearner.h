/* GstAffectLearner: the abstract element under affectclassify,
 * affectregress and affectgate: what every model that learns at EOS
 * shares (mode, model-file, the training knobs, threads, items and
 * splits, train at EOS, the messages). The model's own work sits behind
 * the virtual methods, as in NNStreamer's trainer framework table. */
#ifndef __GST_AFFECT_LEARNER_H__
#define __GST_AFFECT_LEARNER_H__

#include <gst/gst.h>
#include "affect/affect.h"
#include "affect/mlp-train.h"
#include "affect/regressor.h"
#include "affect/splits.h"
#include "gstaffecttensor.h"
#include "gstaffectitem.h"
#include "gstaffectgap.h"
#include "gstaffectprops.h"

G_BEGIN_DECLS typedef enum
{
  GST_AFFECT_MODE_INFER,
  GST_AFFECT_MODE_TRAIN
} GstAffectMode;

#define GST_TYPE_AFFECT_MODE (gst_affect_mode_get_type ())
GType gst_affect_mode_get_type (void);

/* In a training element's table (gst_affect_learner_class_setup):
 * a common knob restated with the element's own blurb (KNOB_BLURB), blurb,
 * range and default (KNOB), blurb and string default (KNOB_STRING), or
 * left out (ABSENT); its nick, type and field stay the learner's. */
#define GST_AFFECT_LEARNER_KNOB(n, b, lo, hi, d) \
  { n, NULL, b, GST_AFFECT_PROP_NONE, NULL, 0, lo, hi, d, NULL, 0 }
#define GST_AFFECT_LEARNER_KNOB_BLURB(n, b) GST_AFFECT_LEARNER_KNOB (n, b, 1, 0, 0)
#define GST_AFFECT_LEARNER_KNOB_STRING(n, b, d) \
  { n, NULL, b, GST_AFFECT_PROP_NONE, NULL, 0, 0, 0, 0, d, 0 }
#define GST_AFFECT_LEARNER_ABSENT(n) GST_AFFECT_LEARNER_KNOB (n, NULL, 0, 0, 0)
/* a deprecated alias of a string knob (level's `message`) */
#define GST_AFFECT_LEARNER_ALIAS(n, k, b, f) \
  { n, k, b, GST_AFFECT_PROP_STRING, NULL, G_STRUCT_OFFSET (GstAffectLearner, \
        f), 0, 0, 0, NULL, G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY | \
        G_PARAM_DEPRECATED }

#define GST_TYPE_AFFECT_LEARNER (gst_affect_learner_get_type ())
#define GST_AFFECT_LEARNER(obj) (G_TYPE_CHECK_INSTANCE_CAST ((obj), \
        GST_TYPE_AFFECT_LEARNER, GstAffectLearner))
#define GST_AFFECT_LEARNER_CLASS(klass) (G_TYPE_CHECK_CLASS_CAST ((klass), \
        GST_TYPE_AFFECT_LEARNER, GstAffectLearnerClass))
#define GST_AFFECT_LEARNER_GET_CLASS(obj) (G_TYPE_INSTANCE_GET_CLASS ((obj), \
        GST_TYPE_AFFECT_LEARNER, GstAffectLearnerClass))
typedef struct _GstAffectLearner GstAffectLearner;
typedef struct _GstAffectLearnerClass GstAffectLearnerClass;
GType gst_affect_learner_get_type (void);
struct _GstAffectLearner
{
  GstElement element;
  GstPad *sinkpad;              /* from the class's "sink" template */
  GstPad *srcpad;               /* from a "src" template (fixed caps) */

  /* properties (object lock) */
  GstAffectMode mode;
  gchar *model_file;
  gchar *hidden_sizes;          /* MLPs */
  guint epochs;
  guint batch_size;
  gdouble learning_rate;
  guint64 seed;
  guint threads;                /* 0 = the process default */
  gdouble validation_fraction;
  gchar *validation_group;      /* manifest column, or NULL */
  guint patience;               /* MLPs */
  gboolean resume;
  guint cache_budget;           /* MiB */
  gboolean post_messages;       /* TRUE where the element has no property */

  /* stream (reset on the way to PAUSED and back) */
  GstSegment segment;
  GstAffectItem *item;          /* between its start and end events */
  GstAffectGap gap[2];          /* how far each source pad has gone */
  GQueue held;                  /* GstAffectHeld, in stream order */
  guint skipped;                /* train: items not learnt from */
  guint test_items;             /* train: split=test items, not learnt */
  guint ungrouped;              /* train: items without validation-group */
  const gchar *target;          /* train: the MLP's one target, or NULL */
  guint best_epoch;             /* train: the kept epoch so far, */
  gdouble best_metric;          /* its validation metric */

  /* MLPs (affectregress, affectgate; reset with the stream) */
  AffectRegressor *regressor;   /* infer: model-file */
  AffectDataset *dataset;       /* train: opened at the first caps */
  guint n_features;             /* the model's, then the caps' */
};

/* What an element holds back, in stream order, until FLUSH_STOP or READY:
 * an event (affectgate's until the item's route is known), or a vector's
 * item and times (affectregress's per-stream standardisation). */
typedef struct
{
  GstEvent *event;              /* NULL for a vector */
  gchar *id, *path;
  GstClockTime pts, duration;
} GstAffectHeld;

/* holds `event` (taken), or the item and times of the vector `buf` */
void gst_affect_learner_hold (GstAffectLearner * self, GstEvent * event,
    GstBuffer * buf);
/* pushes the held events on `pad` and hands each held vector, in order,
 * to `emit` (NULL: none is held) with its index among the vectors; pad
 * NULL drops them all. FALSE when an event was refused. */
gboolean gst_affect_learner_release (GstAffectLearner * self, GstPad * pad,
    void (*emit) (GstAffectLearner * self, const GstAffectHeld * held,
        guint index, gpointer data), gpointer data);

struct _GstAffectLearnerClass
{
  GstElementClass parent_class;

  /* NULL_TO_READY (optional) */
    gboolean (*open) (GstAffectLearner * self);
  /* READY_TO_PAUSED, after the learner's checks of train mode (model-file
   * set and writable, hidden-sizes well formed) */
    gboolean (*start) (GstAffectLearner * self);
  /* PAUSED_TO_READY and finalize: back to the state after init */
  void (*stop) (GstAffectLearner * self);
  /* READY_TO_NULL and finalize (optional) */
  void (*close) (GstAffectLearner * self);
  /* sink caps; a refusal's error is posted once per caps */
    gboolean (*set_caps) (GstAffectLearner * self, GstCaps * caps);
    GstFlowReturn (*chain) (GstAffectLearner * self, GstBuffer * buf);
  /* every sink event (taken) after the learner's part: caps checked (and
   * dropped with a "src" pad), segment, item, gaps, training at EOS */
    gboolean (*sink_event) (GstAffectLearner * self, GstEvent * event);
  /* at EOS before training (optional): close what the stream left open */
  void (*drain) (GstAffectLearner * self);
  /* at EOS in train mode: train and write model-file */
    gboolean (*train) (GstAffectLearner * self);
};

/* class_init of a training element: tensor pad templates ("sink" and one
 * source pad each of `srcs`, NULL-terminated; NULL: "src"), the metadata,
 * and the table
 * (gstaffectprops.h) with the learner's knobs as the table restates them */
void gst_affect_learner_class_setup (GstAffectLearnerClass * klass,
    const gchar * const *srcs, const GstAffectProp * props, guint n_props,
    const gchar * longname, const gchar * classification,
    const gchar * description, const gchar * author);

/* The messages, one builder and one field layout each (docs/protocol.md).
 * "affect-prediction": the time fields, id, scores, names; `labels` when
 * pick != NULL (names[pick[i]]), `route` when route >= 0; nothing when
 * post-messages is false. */
void gst_affect_learner_post_prediction (GstAffectLearner * self,
    GstClockTime pts, GstClockTime duration, const gchar * id,
    const float *scores, const gchar * const *names, guint n,
    const guint * pick, guint n_pick, gint route);
/* "affect-train-epoch" (an AffectTrainEpochFunc of the learner), with
 * `target` when it is set; the kept epoch in best_epoch, best_metric */
gboolean gst_affect_learner_post_epoch (const AffectTrainEpoch * epoch,
    gpointer self);
void gst_affect_learner_post_done (GstAffectLearner * self,
    const gchar * model_file, guint items, guint validation_items,
    guint best_epoch, gdouble validation_metric,
    gdouble validation_accuracy, gboolean constant_output);

/* train mode: TRUE, counted, for an item of split=test, never learnt from
 * so that one manifest feeds both training and evaluation */
gboolean gst_affect_learner_is_test_item (GstAffectLearner * self,
    const GstAffectItem * item);
/* train mode: TRUE for an item held out for model selection
 * (affect_split_of (); without the column: counted in `ungrouped`) */
gboolean gst_affect_learner_is_validation_item (GstAffectLearner * self,
    const GstAffectItem * item);
/* at EOS: warns when validation-group left no validation item or some
 * items had no such column */
void gst_affect_learner_check_groups (GstAffectLearner * self,
    guint validation_items);
/* at EOS with nothing to learn from: "No training items with <wanted>
 * (<n> skipped, <the split filter>)."; FALSE */
gboolean gst_affect_learner_no_items_error (GstAffectLearner * self,
    const gchar * wanted);
/* gst_affect_item_warning () about the current item */
#define gst_affect_learner_item_warning(self, code, debug, ...) \
  gst_affect_item_warning (GST_ELEMENT (self), (code), \
      (self)->item ? (self)->item->id : NULL, \
      (self)->item ? (self)->item->path : NULL, (debug), __VA_ARGS__)
/* on "src": the caps of a vector of n floats, rate_n/rate_d a second,
 * with `affect-output` and `names` (n of them, joined by commas); FALSE
 * when refused */
gboolean gst_affect_learner_set_output_caps (GstAffectLearner * self,
    guint n, gint rate_n, gint rate_d, const gchar * output, gchar ** names);
/* model-file (a copy), or NULL with an error posted */
gchar *gst_affect_learner_model_file (GstAffectLearner * self);

/* ---- MLPs (affectregress, affectgate) ---- */

/* infer mode: model-file as `regressor` (one model or one per target of
 * `targets`) and its input size as n_features; FALSE with one error */
gboolean gst_affect_learner_load_regressor (GstAffectLearner * self,
    gboolean multi_output, const gchar * targets);
/* The caps of a vector element (a float32 tensor a buffer) into *info,
 * checked against the regressor's size, `feature` (check_feature) and
 * sample-rate; in train mode the first caps open the dataset (n_targets
 * columns) and fix the size. FALSE with one error posted. */
gboolean gst_affect_learner_vector_caps (GstAffectLearner * self,
    GstCaps * caps, GstAffectTensorInfo * info, gboolean check_feature,
    guint n_targets);
/* maps a vector buffer of n_features floats; before caps or on another
 * size, an error posted, buf unreffed and another flow than OK */
GstFlowReturn gst_affect_learner_map_vector (GstAffectLearner * self,
    GstBuffer * buf, GstMapInfo * map);
/* train mode: x and its n targets t (NaN: the item has none) as a row of
 * the dataset unless the item is of split=test or a value is not finite
 * (counted in `skipped`): 1 added, 0 not, -1 with an error posted */
gint gst_affect_learner_cache_vector (GstAffectLearner * self,
    const float *x, const float *t, guint n);
/* At EOS: the learner's knobs (epochs, batch-size, learning-rate, seed,
 * patience, resume) in a new training config, after a warning of the
 * vectors skipped (no item, no `wanted` target or label, non-finite
 * values); FALSE with an error when none is left to learn from */
gboolean gst_affect_learner_mlp_config (GstAffectLearner * self,
    AffectMlpTrainConfig * config, const gchar * wanted);
/* Trains job (hidden sizes, dataset and validation fraction the
 * learner's) with config and writes it (affect_mlp_train_file), posting
 * the messages (epochs with `target`, if not NULL); warns with
 * `constant_hint`, if not NULL, of a constant output. FALSE: an error. */
gboolean gst_affect_learner_train_mlp (GstAffectLearner * self,
    AffectMlpFileJob * job, const AffectMlpTrainConfig * config,
    const gchar * target, const gchar * constant_hint);
/* A trained model's metadata: `task`, `feature` (NULL: the sink caps')
 * and `sample-rate` (the sink caps', the features' rate, if stated) */
void gst_affect_learner_describe_mlp (GstAffectLearner * self,
    AffectMlp * mlp, const gchar * task, const gchar * feature);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstAffectLearner, gst_object_unref)

G_END_DECLS
#endif

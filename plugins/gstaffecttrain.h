/* Shared by the elements that train an MLP (affectregress, affectgate):
 * the infer/train mode, the training properties and the messages. */
#ifndef __GST_AFFECT_TRAIN_H__
#define __GST_AFFECT_TRAIN_H__

#include <gst/gst.h>
#include "affect/affect.h"
#include "affect/mlp.h"

G_BEGIN_DECLS

typedef enum
{
  GST_AFFECT_MODE_INFER,
  GST_AFFECT_MODE_TRAIN
} GstAffectMode;

#define GST_TYPE_AFFECT_MODE (gst_affect_mode_get_type ())
GType gst_affect_mode_get_type (void);

/* property ids, offset by the element's first id */
enum
{
  GST_AFFECT_TRAIN_PROP_MODE,
  GST_AFFECT_TRAIN_PROP_MODEL_FILE,
  GST_AFFECT_TRAIN_PROP_HIDDEN_SIZES,
  GST_AFFECT_TRAIN_PROP_EPOCHS,
  GST_AFFECT_TRAIN_PROP_BATCH_SIZE,
  GST_AFFECT_TRAIN_PROP_LEARNING_RATE,
  GST_AFFECT_TRAIN_PROP_SEED,
  GST_AFFECT_TRAIN_PROP_THREADS,
  GST_AFFECT_TRAIN_PROP_VALIDATION_FRACTION,
  GST_AFFECT_TRAIN_PROP_PATIENCE,
  GST_AFFECT_TRAIN_PROP_RESUME,
  GST_AFFECT_TRAIN_PROP_CACHE_BUDGET,
  GST_AFFECT_TRAIN_N_PROPS
};

typedef struct
{
  GstAffectMode mode;
  gchar *model_file;
  gchar *hidden_sizes;
  guint epochs;
  guint batch_size;
  gdouble learning_rate;
  guint64 seed;
  guint threads;
  gdouble validation_fraction;
  guint patience;
  gboolean resume;
  guint cache_budget;           /* MiB */
} GstAffectTrainSettings;

void gst_affect_train_settings_init (GstAffectTrainSettings * s,
    const gchar * default_hidden);
void gst_affect_train_settings_clear (GstAffectTrainSettings * s);
void gst_affect_train_install_properties (GObjectClass * klass,
    guint first_id, const gchar * default_hidden, const gchar * model_blurb);
/* FALSE if prop_id is not one of ours */
gboolean gst_affect_train_set_property (GstAffectTrainSettings * s,
    guint first_id, guint prop_id, const GValue * value);
gboolean gst_affect_train_get_property (GstAffectTrainSettings * s,
    guint first_id, guint prop_id, GValue * value);

/* libaffect's thread count belongs to the calling thread: chain and event
 * functions call this before they compute, so the streaming thread uses
 * the element's `threads` (0 = the process default) */
static inline void
gst_affect_train_use_threads (const GstAffectTrainSettings * s)
{
  affect_set_threads ((int) s->threads);
}

/* "1200,600" → config->hidden; FALSE on a malformed list */
gboolean gst_affect_train_parse_hidden (const gchar * list,
    AffectMlpConfig * config);
/* fills the training part of an AffectMlpTrainConfig (not the
 * checkpoint path: see gst_affect_train_checkpoint_path) */
void gst_affect_train_settings_apply (const GstAffectTrainSettings * s,
    AffectMlpTrainConfig * config);
/* Training writes path at the end: check now that its folder exists and
 * takes a file, or post an error naming the property and the path. */
gboolean gst_affect_train_check_output (GstElement * element,
    const gchar * property, const gchar * path);
/* "" or ", 12 items of split=test ignored: training learns from
 * split=train and items without a split, …": what a "no training items"
 * error adds so the split filter is named */
gchar *gst_affect_train_split_note (guint test_items);
/* the checkpoint beside a model file: "<model>.ckpt" */
gchar *gst_affect_train_checkpoint_path (const gchar * model_path);
/* a feature cache with the element's cache-budget */
AffectDataset *gst_affect_train_dataset_new (const GstAffectTrainSettings * s,
    guint n_features, guint n_targets);
/* Adds a row to the cache. A row with non-finite values is not added and
 * counted in *skipped; FALSE (an error posted on the bus) if the spill
 * file cannot be written. */
gboolean gst_affect_train_add_row (GstElement * element, AffectDataset * ds,
    const float *features, const float *targets, gboolean validation,
    guint * skipped);
/* "model.safetensors" + "valence" → "model-valence.safetensors" */
gchar *gst_affect_train_target_path (const gchar * path, const gchar * target);

/* posts "affect-train-epoch" for one epoch; target may be NULL */
void gst_affect_train_post_epoch (GstElement * element,
    const AffectMlpEpochReport * report, const gchar * target,
    const gchar * metric_name);
/* parses a numeric target, or a column with 1/0, true/false, yes/no,
 * spontaneous/scripted, improvised/script */
gboolean gst_affect_train_parse_label (const gchar * text, gdouble * value);

/* The rate the features were computed at, from the caps' `sample-rate`
 * field, recorded in a model's metadata (`sample-rate`); no-op without */
void gst_affect_train_set_sample_rate (AffectMlp * mlp, GstCaps * caps);

/* FALSE, with one element error naming both rates, when `caps` carry
 * features of another `sample-rate` than `model` was trained on (TRUE when
 * either does not say) */
gboolean gst_affect_train_check_sample_rate (GstElement * element,
    const AffectMlp * model, const gchar * model_file, GstCaps * caps);

G_END_DECLS
#endif

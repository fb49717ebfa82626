/* What the MoodNet classifier element does to items and scores, with no
 * GStreamer: the model input from an item's frames, an item's labels in
 * the model's class order (matched by name), the classes named in a
 * prediction, and the `affect.labels` JSON of a model file. */
#ifndef AFFECT_CLASSIFIER_H
#define AFFECT_CLASSIFIER_H

#include <glib.h>
#include "affect/moodnet.h"
#include "affect/moodnet-train.h"

G_BEGIN_DECLS
/* x[mels × total] from frames[n × mels]: the first `total` frames, tiled
 * end to end when fewer, transposed */
void affect_classifier_input (const float *frames, guint n, guint mels,
    guint total, float *x);

/* Where each of an item's n label names sits among the model's classes:
 * n indices (-1 for a name the model does not know, the first match for a
 * repeated one), or NULL when vocabulary is model_labels itself. */
int *affect_label_index (const char *const *model_labels,
    const char *const *vocabulary, guint n);

/* An item's labels (n, over vocabulary; NULL vocabulary = unnamed) in the
 * order of the model's `classes` labels. *targets stays NULL when they can
 * be used as they are. FALSE with AFFECT_ERROR_MISMATCH ("has …", to follow
 * the item's name) when the item must be skipped: unnamed labels of
 * another count, a label the model does not know, or (fewer labels than
 * classes) no positive one the model knows. */
gboolean affect_labels_to_model (const char *const *model_labels,
    guint classes, const char *const *vocabulary, const float *labels,
    guint n, float **targets, GError ** error);

/* order[n]: classes by decreasing score; returns how many the prediction
 * names: top_k if > 0, else 1 for a single-label model, else those at or
 * above threshold */
guint affect_scores_rank (const float *scores, guint n, guint top_k,
    gboolean single_label, double threshold, guint * order);

/* One field of a Mel stream's description (the element's caps), as a
 * model file's `affect.features` JSON records it */
typedef enum
{
  AFFECT_FEATURE_INT,
  AFFECT_FEATURE_DOUBLE,
  AFFECT_FEATURE_STRING
} AffectFeatureKind;

typedef struct
{
  const char *name;
  AffectFeatureKind kind;
  gint64 i;
  double d;
  const char *s;
} AffectFeatureField;

/* the fields as a JSON object */
char *affect_features_json (const AffectFeatureField * fields, guint n);
/* FALSE with AFFECT_ERROR_MISMATCH naming both values when the stream's
 * sample-rate, hop, n-mels, n-fft (ints) or preset (neither "custom")
 * differ from features_json's; TRUE when either does not say, or
 * features_json is NULL or not a JSON object. `model` names the model in
 * the message. */
gboolean affect_features_check (const char *features_json,
    const AffectFeatureField * fields, guint n, const char *model,
    GError ** error);

/* ["a", "b"] with JSON escapes */
char *affect_labels_json (const char *const *labels);

/* The Mel frames a prediction is made from: an item's first frames, or,
 * live, sliding windows of `window` frames every `hop` (a hop beyond the
 * window skips the frames between). Zero-initialised, `mels` set. */
typedef struct
{
  guint mels;
  float *frames;                /* [frame][mel] */
  guint n, capacity;
  guint64 skip;                 /* live: frames still to skip */
} AffectFrames;

/* appends data[n] as far as `limit` frames in all */
void affect_frames_append (AffectFrames * f, const float *data, guint n,
    guint limit);
/* live: takes frames of data[n] (skipping what is to skip) until `window`
 * are held; returns how many it went through; *first is the index in data
 * of the window's first frame when it started here, else -1 */
guint affect_frames_fill (AffectFrames * f, const float *data, guint n,
    guint window, gint * first);
/* live, after a full window: moves it by `hop` frames; returns how many
 * frames its start moved */
guint affect_frames_slide (AffectFrames * f, guint window, guint hop);

/* A MoodNet model file: the network, its class names (*labels, g_strfreev)
 * and its `affect.features` (*features_json, NULL when it states none);
 * NULL with an error naming `path` for a file that is not a MoodNet. */
AffectMoodNet *affect_classifier_load (const char *path, char ***labels,
    char **features_json, GError ** error);
/* The network training starts from: init_model's when set (its classes
 * and Mel bands must be config's, and it must have input_norm when
 * config's has), else a new one of `config` drawn by `seed`. NULL with
 * AFFECT_ERROR_MISMATCH or the load's error. */
AffectMoodNet *affect_classifier_start (const AffectMoodNetConfig * config,
    guint64 seed, const char *init_model, GError ** error);
/* The trainer of `net`, its model file stating `labels` and the stream's
 * `features_json` (affect.labels, affect.features) */
AffectMoodNetTrainer *affect_classifier_trainer_new (AffectMoodNet * net,
    AffectMoodNetTrainOptions * options, const char *const *labels,
    const char *features_json);
/* the names of n labels of a vocabulary ("" where it has none) */
char **affect_classifier_labels (const char *const *vocabulary, guint n);

/* A MoodNet classifier to train on a Mel stream's items, from an element's
 * settings: what affectclassify sets up at its first labelled item, as
 * AffectMlpFileJob is the MLP elements' (affect/mlp-train.h). */
typedef struct
{
  /* the classes: the names of vocabulary ("" where it has none); one-hot
   * (softmax) when single_label, else multi-hot (sigmoid) */
  guint classes;
  const char *const *vocabulary;
  gboolean single_label;
  /* a new network (AffectMoodNetConfig), unless init_model is set */
  guint n_mels, chunks, chunk_frames;
  double width;
  const char *init_model;
  /* the schedule (AffectMoodNetTrainOptions) */
  guint epochs, sgd_epochs, batch_size;
  double learning_rate;
  gboolean mixup, spec_augment;
  /* per-band input standardisation with the training items' statistics
   * (AffectMoodNetTrainOptions.standardise): a new network gets
   * input_norm; an init_model must have it */
  gboolean standardise;
  int crops, select;            /* AffectCropsMode, AffectTrainSelect */
  guint64 seed;
  gboolean resume;
  guint cache_budget;           /* MiB */
  const char *output;           /* the model file, its checkpoint beside */
  const char *features_json;    /* the stream's affect.features */
} AffectClassifierJob;

/* The trainer of job: the network in *net (affect_classifier_start; the
 * trainer uses it, the caller owns it) and the class names in *labels
 * (replaced). NULL with *net NULL and the start's error. */
AffectMoodNetTrainer *affect_classifier_job_start (const AffectClassifierJob *
    job, AffectMoodNet ** net, char ***labels, GError ** error);

G_END_DECLS
#endif /* AFFECT_CLASSIFIER_H */

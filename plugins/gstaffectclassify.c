/* GStreamer affect plugin
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-affectclassify
 * @title: affectclassify
 *
 * Classifies Mel-spectrogram tensor streams (from `affectmel`) with MoodNet,
 * the seed's MobileNetV2 + self-attention classifier (include/affect/moodnet.h),
 * or trains one.
 *
 * Input: `other/tensors` of `n_mels:frames` (one frame's bands contiguous),
 * with the Mel fields `affectmel` puts in its caps. Negotiation fails, with
 * a message naming both, when `n-mels`, `sample-rate`, `hop` or `preset`
 * differ from what the model file states in its `affect.features`.
 *
 * mode=infer: per item (between `affect-item-start` and `affect-item-end`)
 * one prediction: with #crops=random (default) the mean of the outputs over
 * the crops of the model's input length (chunks × chunk_frames frames) that
 * cover the whole item, with #crops=first the output of its first crop;
 * short items are tiled end to end as the seed's loader does. Without
 * items (a live feed) predictions are made on sliding windows of #window
 * nanoseconds every #hop nanoseconds. Each prediction goes three ways: a
 * `n_classes` float tensor pushed downstream (between the item's events;
 * caps `affect-output="scores"`, `names="a,b,…"`), and an element message.
 * The LATENCY query adds the window. Until the first prediction a GAP event
 * of duration 0 at the first frame's time lets sinks preroll; live windows
 * with hop > window leave GAPs for the time no window covers; a GAP on the
 * sink pad is time passing; mode=train leaves a GAP of each item's span
 * (docs/protocol.md, "Time without data").
 * An item whose frames hold a NaN or an Inf, or whose scores come out
 * non-finite, gets a warning naming it (id and file) and no prediction (in
 * train mode: it is not learnt from); the run goes on. Live, such frames
 * are dropped with one warning.
 *
 * mode=train: items with labels (their item events' `labels` over
 * `vocabulary`) are cached; `split=validation` ones are held out for model
 * selection (with #validation-group, also the items of about
 * #validation-fraction of that manifest column's groups, e.g. artists,
 * drawn by #seed), others train. Items are cached whole (#cache-budget MiB in
 * memory, the rest spilled to a temporary file). At EOS the model trains with
 * the seed's schedule (#epochs of Adam, then #sgd-epochs of SGD Nesterov at
 * each of 1e-3, 1e-4, 1e-5) on the seed's clip training: with #crops=random
 * every epoch draws each item's crop (chunks × chunk_frames frames) at a
 * random position of the whole item, seeded; #crops=first trains on first
 * crops only. It writes the kept epoch (#select: the best validation epoch,
 * or the last; the last without validation items) to #model-file
 * atomically and a checkpoint beside it (#model-file + ".ckpt") after
 * every epoch; #resume continues from it. (#model is a deprecated alias of
 * #model-file.)
 *
 * The training defaults are sized for a few hundred 30-s clips on two
 * cores: #width 0.35, #chunks 2 × #chunk-frames 128 (a 5.5-s crop at the
 * mtg-jamendo preset), #epochs 12, #sgd-epochs 0, #batch-size 16,
 * #crops=random, #select=best. The seed's values: width 1.0, 16 × 256
 * frames (87 s: a 30-s clip is then shorter than one crop), 60 Adam epochs
 * and 20 per SGD stage, random crops, the best validation ROC-AUC.
 *
 * Items without labels are reported with a warning and skipped. Labels go
 * by name: each item's `labels` are reordered from its `vocabulary` onto the
 * model's class names (those of #init-model, else the first labelled
 * item's vocabulary); an item naming a class the model does not know is
 * reported with a warning and skipped.
 *
 * ## Messages
 *
 * `affect-prediction` (one per item or window):
 *
 * - `timestamp`, `stream-time`, `running-time`, `duration` (GstClockTime)
 * - `id` (string): the item id ("" for windows)
 * - `scores` (GstValueArray of gfloat): one per class, in model order
 * - `names` (GstValueArray of gchararray): the class names
 * - `labels` (GstValueArray of gchararray): the decided labels: the #top-k
 *   best when top-k > 0, else those scoring ≥ #threshold (the best one for
 *   single-label models)
 *
 * `affect-train-epoch` (mode=train, after every epoch):
 *
 * - `epoch`, `epochs` (guint): this epoch (1-based) and the schedule's total
 * - `phase` (gchararray): "adam" or "sgd"; `learning-rate` (gdouble)
 * - `train-loss`, `validation-loss` (gdouble): mean of the two heads' losses
 * - `validation-metric` (gdouble), `metric` (gchararray): "roc-auc-macro"
 *   (sigmoid models) or "f1-macro" (softmax), NaN when undefined
 * - `best` (gboolean): the kept model is this epoch's (model file written)
 * - `seconds` (gdouble): the epoch's wall time
 * - `train-mse`, `train-lds`, `validation-accuracy` (gdouble): NaN (the
 *   layout every training element shares, docs/protocol.md)
 *
 * `affect-train-done` (mode=train, at the end): `model-file`, `items`,
 * `validation-items`, `best-epoch`, `validation-metric`,
 * `validation-accuracy` (NaN), `constant-output` (FALSE)
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 affectsrc location=test.tsv ! audioconvert ! audioresample ! \
 *     audio/x-raw,rate=12000,channels=1 ! affectmel preset=mtg-jamendo \
 *     frames-per-buffer=256 ! affectclassify model-file=moodnet.safetensors top-k=3 ! \
 *     affectmetrics location=test.json
 * ]| Tag every test track and score the predictions.
 * |[
 * gst-launch-1.0 affectsrc location=train.tsv ! audioconvert ! audioresample ! \
 *     audio/x-raw,rate=12000,channels=1 ! affectmel preset=mtg-jamendo \
 *     frames-per-buffer=256 ! affectclassify mode=train model-file=new.safetensors \
 *     width=0.35 epochs=10 sgd-epochs=2 ! fakesink
 * ]| Train a MoodNet on a manifest's train and validation items.
 * |[
 * gst-launch-1.0 pulsesrc ! audioconvert ! audioresample ! \
 *     audio/x-raw,rate=12000,channels=1 ! affectmel preset=mtg-jamendo ! \
 *     affectclassify model-file=moodnet.safetensors window=10000000000 \
 *     hop=5000000000 ! fakesink
 * ]| Live: a prediction over the last 10 s every 5 s, on the bus.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/classifier.h"
#include "gstaffectelements.h"
#include "gstaffectcaps.h"
#include "gstaffectclassify.h"
#include "gstaffecttensor.h"
#include "gstaffectlearner.h"

GST_DEBUG_CATEGORY_STATIC (gst_affect_classify_debug);
#define GST_CAT_DEFAULT gst_affect_classify_debug

GST_AFFECT_ENUM (GstAffectClassifyCrops, gst_affect_classify_crops) = {
  {AFFECT_CROPS_RANDOM, "Train: a random crop of the whole item per epoch; "
        "predict: the mean over the crops that cover the item", "random"},
  {AFFECT_CROPS_FIRST, "The first crop of every item only", "first"},
  {0, NULL, NULL}
};

GST_AFFECT_ENUM (GstAffectClassifySelect, gst_affect_classify_select) = {
  {AFFECT_TRAIN_SELECT_BEST, "The epoch with the best validation score "
        "(the last without validation items)", "best"},
  {AFFECT_TRAIN_SELECT_LAST, "The last epoch", "last"},
  {0, NULL, NULL}
};

/* the element's own properties, then the learner's knobs it words or
 * bounds its own way */
#define S GstAffectClassify
static const GstAffectProp props[] = {
  GST_AFFECT_PROP_UINT64 ("window", "Window",
      "Live streams (no items): window length in ns (0 = the model's input "
      "length)", S, window, 0, -1, 0, 0),
  GST_AFFECT_PROP_UINT64 ("hop", "Hop",
      "Live streams: time between window starts in ns (0 = the window)", S,
      hop, 0, -1, 0, 0),
  GST_AFFECT_PROP_UINT ("top-k", "Top k",
      "Labels named in messages: the k best (0 = those above threshold)", S,
      top_k, 0, G_MAXUINT, 0, 0),
  GST_AFFECT_PROP_DOUBLE ("threshold", "Threshold",
      "Score from which a tag is named in messages when top-k is 0", S,
      threshold, 0.0, 1.0, 0.5, 0),
  GST_AFFECT_PROP_UINT ("sgd-epochs", "SGD epochs",
      "Train: epochs of SGD Nesterov at each of lr 1e-3, 1e-4, 1e-5 after "
      "Adam (0 = Adam only; the seed: 20)", S, sgd_epochs, 0, 100000, 0, 0),
  GST_AFFECT_PROP_BOOL ("mixup", "Mixup",
      "Train: mix pairs of items and labels with Beta(1,1) weights", S, mixup,
      FALSE, 0),
  GST_AFFECT_PROP_BOOL ("spec-augment", "SpecAugment",
      "Train: two frequency and two time masks per item", S, spec_augment,
      FALSE, 0),
  GST_AFFECT_PROP_BOOL ("standardise-bands", "Standardise bands",
      "Train: standardise each Mel band of the input with the training "
      "items' mean and standard deviation, stored in the model "
      "(input_norm.mean, input_norm.std) and applied in prediction (the "
      "seed: none)", S, standardise_bands, FALSE, 0),
  GST_AFFECT_PROP_DOUBLE ("width", "Width",
      "Train: MobileNetV2 width multiplier of a new model (the seed: 1.0)", S,
      width, 0.05, 4.0, 0.35, 0),
  GST_AFFECT_PROP_UINT ("chunks", "Chunks",
      "Train: chunks per input (crop) of a new model (the seed: 16)", S,
      chunks, 1, 256, 2, 0),
  GST_AFFECT_PROP_UINT ("chunk-frames", "Chunk frames",
      "Train: Mel frames per chunk of a new model, ≥ 65 (the seed: 256)", S,
      chunk_frames, 65, 65536, 128, 0),
  GST_AFFECT_PROP_ENUM ("crops", "Crops",
      "How an item longer than the model input is seen: a random crop per "
      "epoch in training and the mean over the crops that cover it in "
      "prediction, or its first crop only", S, crops,
      gst_affect_classify_crops_get_type, AFFECT_CROPS_RANDOM, 0),
  GST_AFFECT_PROP_ENUM ("select", "Select",
      "Train: the model kept, the best validation epoch's or the last "
      "epoch's (the last without validation items)", S, select,
      gst_affect_classify_select_get_type, AFFECT_TRAIN_SELECT_BEST, 0),
  GST_AFFECT_PROP_STRING ("init-model", "Initial model",
      "Train: start from this model file (e.g. PyTorch weights) instead of "
      "random weights", S, init_model, NULL, 0),
  GST_AFFECT_LEARNER_ALIAS ("model", "Model", "Deprecated: use model-file",
      model_file),
  GST_AFFECT_LEARNER_KNOB_STRING ("model-file", "Model file (safetensors): "
      "read in infer mode, written (the best epoch) in train mode", NULL),
  GST_AFFECT_LEARNER_KNOB_BLURB ("mode", "Predict, or train a model"),
  GST_AFFECT_LEARNER_KNOB ("epochs", "Train: epochs of Adam (the seed: 60)",
      0, 100000, 12),
  GST_AFFECT_LEARNER_KNOB ("batch-size", "Train: items per batch", 1, 4096,
      16),
  GST_AFFECT_LEARNER_KNOB ("learning-rate", "Train: Adam learning rate", 0.0,
      10.0, 1e-4),
  GST_AFFECT_LEARNER_KNOB_BLURB ("resume",
      "Train: continue from the checkpoint <model>.ckpt if present"),
  GST_AFFECT_LEARNER_KNOB_BLURB ("seed",
      "Train: seed of initial weights, shuffles, dropout, augmentation"),
  GST_AFFECT_LEARNER_KNOB_BLURB ("cache-budget", "Train: MiB of items kept "
      "in memory; the rest spills to a temporary file"),
  GST_AFFECT_LEARNER_KNOB_BLURB ("validation-fraction", "Train: fraction of "
      "the groups of validation-group held out for model selection (without "
      "validation-group only split=validation items are held out)"),
  GST_AFFECT_LEARNER_ABSENT ("hidden-sizes"),
  GST_AFFECT_LEARNER_ABSENT ("patience"),
  GST_AFFECT_LEARNER_ABSENT ("post-messages"),
};

#undef S

G_DEFINE_TYPE (GstAffectClassify, gst_affect_classify, GST_TYPE_AFFECT_LEARNER);
GST_ELEMENT_REGISTER_DEFINE (affectclassify, "affectclassify", GST_RANK_NONE,
    GST_TYPE_AFFECT_CLASSIFY);

static const AffectMoodNetConfig *
config (GstAffectClassify * self)
{
  return affect_moodnet_get_config (self->net);
}

static guint
model_frames (GstAffectClassify * self)
{
  return config (self)->chunks * config (self)->chunk_frames;
}

/* Compares the Mel fields of the sink caps with the model's
 * affect.features; FALSE with an element error naming both on a mismatch */
static gboolean
check_features (GstAffectClassify * self, const GstStructure * s)
{
  const gchar *model = GST_AFFECT_LEARNER (self)->model_file;
  GError *error = NULL;
  gchar *caps_str;

  if (self->n_mels != config (self)->n_mels)
    g_set_error (&error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "Mel stream has %d bands but the model %s takes %d", self->n_mels,
        model, config (self)->n_mels);
  else if (gst_affect_caps_check_features (s, self->features_json, model,
          &error))
    return TRUE;
  caps_str = gst_structure_to_string (s);
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("%s", error->message),
      ("stream caps: %s; model affect.features: %s", caps_str,
          GST_STR_NULL (self->features_json)));
  g_error_free (error);
  g_free (caps_str);
  return FALSE;
}

static gboolean
set_src_caps (GstAffectClassify * self)
{
  const gboolean ok = gst_affect_learner_set_output_caps (GST_AFFECT_LEARNER
      (self), config (self)->classes, 0, 1, "scores", self->labels);

  self->src_caps_set = ok;
  if (ok && self->pending_segment != NULL) {
    gst_pad_push_event (self->learner.srcpad, self->pending_segment);
    self->pending_segment = NULL;
  }
  return ok;
}

static GstFlowReturn
predict (GstAffectClassify * self, const float *frames, guint n,
    GstClockTime ts, GstClockTime duration, const gchar * id)
{
  GstAffectLearner *learner = GST_AFFECT_LEARNER (self);
  const AffectMoodNetConfig *c = config (self);
  const guint classes = c->classes;
  float *scores = g_new (float, classes);
  guint *order = g_new (guint, classes), n_pick, top_k, batch, i;
  gdouble threshold;
  GError *error = NULL;
  GstFlowReturn ret = GST_FLOW_OK;
  GstBuffer *buf;

  GST_OBJECT_LOCK (self);
  top_k = self->top_k;
  threshold = self->threshold;
  batch = learner->batch_size;
  GST_OBJECT_UNLOCK (self);

  /* an item: the mean over the crops that cover it, as training scores
   * it; a live window, or an item with crops=first: its first crop */
  if (!affect_moodnet_predict_frames (self->net, frames, (int) n,
          id != NULL && self->crops == AFFECT_CROPS_RANDOM ?
          AFFECT_CROPS_RANDOM : AFFECT_CROPS_FIRST, batch, scores, &error)) {
    GST_ELEMENT_WARNING (self, STREAM, FAILED, ("Item \"%s\": %s",
            id ? id : "(live window)", error->message), (NULL));
    g_error_free (error);
    goto out;
  }
  for (i = 0; i < classes; i++)
    if (!isfinite (scores[i])) {
      /* finite but absurd Mel values can overflow the network */
      gst_affect_item_warning (GST_ELEMENT (self), GST_STREAM_ERROR_FAILED,
          id ? id : "(live window)", learner->item ? learner->item->path :
          NULL, NULL, "the model's score for %s is %g: no prediction.",
          self->labels ? self->labels[i] : "a class", scores[i]);
      goto out;
    }

  n_pick = affect_scores_rank (scores, classes, top_k,
      c->output == AFFECT_MOODNET_SOFTMAX, threshold, order);
  /* nothing came between the last output and this one */
  gst_affect_gap_advance (&learner->gap[0], learner->srcpad, ts);
  gst_affect_gap_note (&learner->gap[0], ts, duration);
  gst_affect_learner_post_prediction (learner, ts, duration, id, scores,
      (const gchar * const *) self->labels, classes, order, n_pick, -1);
  buf = gst_buffer_new_memdup (scores, classes * sizeof (float));
  gst_affect_item_meta_add (buf, learner->item);
  GST_BUFFER_PTS (buf) = ts;
  GST_BUFFER_DURATION (buf) = duration;
  ret = gst_pad_push (learner->srcpad, buf);
out:
  g_free (scores);
  g_free (order);
  return ret;
}

/* the network and trainer, at the first labelled item */
static gboolean
start_training (GstAffectClassify * self, const GstAffectItem * item)
{
  GstAffectLearner *l = GST_AFFECT_LEARNER (self);
  gchar *features = gst_affect_caps_features_json (self->stream_features);
  GError *error = NULL;
  /* the settings are mutable in READY only */
  AffectClassifierJob job = { item->n_labels,
    (const char *const *) item->vocabulary,
    item->task == GST_AFFECT_TASK_CLASS, self->n_mels, self->chunks,
    self->chunk_frames, self->width, self->init_model, l->epochs,
    self->sgd_epochs, l->batch_size, l->learning_rate, self->mixup,
    self->spec_augment, self->standardise_bands, self->crops, self->select,
    l->seed, l->resume,
    l->cache_budget, l->model_file, features
  };

  g_clear_pointer (&self->net, affect_moodnet_free);
  self->trainer = affect_classifier_job_start (&job, &self->net,
      &self->labels, &error);
  g_free (features);
  if (self->trainer != NULL)
    return TRUE;
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Cannot build a MoodNet for this stream"), ("%s", error->message));
  g_error_free (error);
  return FALSE;
}

/* at the item's end: its frames and labels to the trainer, or a warning
 * and the item skipped */
static void
cache_item (GstAffectClassify * self)
{
  GstAffectLearner *learner = GST_AFFECT_LEARNER (self);
  GstAffectItem *item = learner->item;
  GError *error = NULL;
  gfloat *targets = NULL;

  if (item->labels == NULL || item->n_labels == 0
      || item->task == GST_AFFECT_TASK_NONE
      || item->task == GST_AFFECT_TASK_REGRESSION) {
    gst_affect_learner_item_warning (learner, GST_STREAM_ERROR_FORMAT,
        "train mode needs tags or a class in the item events",
        "no labels: skipped.");
    learner->skipped++;
    return;
  }
  if (gst_affect_learner_is_test_item (learner, item))
    return;
  if (self->fs.fr.n == 0) {
    gst_affect_learner_item_warning (learner, GST_STREAM_ERROR_FORMAT, NULL,
        "no frames: skipped.");
    learner->skipped++;
    return;
  }
  if (self->trainer == NULL && !start_training (self, item))
    return;
  /* the labels in the model's class order, matched by name; the whole
   * item (or its first crop): the trainer draws its crops */
  if (!affect_labels_to_model ((const char *const *) self->labels,
          (guint) config (self)->classes,
          (const char *const *) item->vocabulary, item->labels,
          item->n_labels, &targets, &error)
      || !affect_moodnet_trainer_add_frames (self->trainer,
          self->fs.fr.frames, (int) self->fs.fr.n,
          targets ? targets : item->labels,
          gst_affect_learner_is_validation_item (learner, item), &error)) {
    gst_affect_learner_item_warning (learner, GST_STREAM_ERROR_FORMAT, NULL,
        "%s: skipped.", error->message);
    g_error_free (error);
    learner->skipped++;
  }
  g_free (targets);
}

static gboolean
train_at_eos (GstAffectLearner * learner)
{
  GstAffectClassify *self = GST_AFFECT_CLASSIFY (learner);
  GError *error = NULL;
  gchar *note;

  if (self->trainer == NULL)
    return gst_affect_learner_no_items_error (learner, "labels");
  gst_affect_learner_check_groups (learner,
      affect_moodnet_trainer_n_items (self->trainer, TRUE));
  if (!affect_moodnet_trainer_run (self->trainer,
          gst_affect_learner_post_epoch, learner, &error)) {
    note = affect_split_note (learner->test_items);
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Training failed: %s%s",
            error->message, g_error_matches (error, AFFECT_ERROR,
                AFFECT_ERROR_EMPTY) ? note : ""), (NULL));
    g_error_free (error);
    g_free (note);
    return FALSE;
  }
  gst_affect_learner_post_done (learner, learner->model_file,
      affect_moodnet_trainer_n_items (self->trainer, FALSE),
      affect_moodnet_trainer_n_items (self->trainer, TRUE),
      learner->best_epoch, learner->best_metric, NAN, FALSE);
  return TRUE;
}

/* No output yet: the GAPs of docs/protocol.md, "Time without data" (the
 * preroll GAP; live, up to `now`, where the input stands, - window) */
static void
announce_time (GstAffectClassify * self, GstClockTime first, GstClockTime now)
{
  GstClockTime span;

  gst_affect_gap_preroll (&self->learner.gap[0], self->learner.srcpad, first);
  if (self->learner.item != NULL || self->saw_items
      || GST_AFFECT_LEARNER (self)->mode == GST_AFFECT_MODE_TRAIN
      || self->net == NULL || !GST_CLOCK_TIME_IS_VALID (now)
      || self->fs.fps_n <= 0)
    return;
  span = affect_frame_stream_time (&self->fs, self->fs.window);
  if (now > span)
    gst_affect_gap_advance (&self->learner.gap[0], self->learner.srcpad,
        now - span);
}

static GstFlowReturn
chain (GstAffectLearner * learner, GstBuffer * buf)
{
  GstAffectClassify *self = GST_AFFECT_CLASSIFY (learner);
  GstFlowReturn ret = GST_FLOW_OK;
  GstMapInfo map;
  guint n, per_buffer;
  guint64 bad;
  const float *data;
  const gboolean train = learner->mode == GST_AFFECT_MODE_TRAIN;

  if (self->n_mels <= 0 || (!train && self->net == NULL)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("no caps were set before the first buffer"));
    gst_buffer_unref (buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  gst_buffer_map (buf, &map, GST_MAP_READ);
  data = (const float *) map.data;
  per_buffer = map.size / (sizeof (float) * self->n_mels);
  n = per_buffer;
  /* a short last buffer states its valid frames in its offsets */
  if (GST_BUFFER_OFFSET_IS_VALID (buf) && GST_BUFFER_OFFSET_END_IS_VALID (buf)
      && GST_BUFFER_OFFSET_END (buf) >= GST_BUFFER_OFFSET (buf))
    n = MIN (per_buffer, GST_BUFFER_OFFSET_END (buf) - GST_BUFFER_OFFSET (buf));
  /* a non-finite value spoils the item (reported and skipped at its end)
   * or, live, this buffer's frames; the run goes on */
  bad = affect_count_nonfinite (data, (gsize) n * self->n_mels);
  if (bad > 0) {
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
    if (self->learner.item != NULL) {
      self->fs.nonfinite += bad;
    } else if (!self->warned_live) {
      GST_ELEMENT_WARNING (self, STREAM, FORMAT,
          ("Non-finite Mel values in the input: their frames are dropped"),
          ("%" G_GUINT64_FORMAT " in a buffer", bad));
      self->warned_live = TRUE;
    }
    return GST_FLOW_OK;
  }
  if (self->learner.item != NULL || train) {
    /* items: keep the whole item, or its first model_frames() frames
     * (crops=first) */
    affect_frame_stream_add (&self->fs, data, n,
        self->crops == AFFECT_CROPS_RANDOM ? G_MAXUINT : self->net ?
        model_frames (self) : self->chunks * self->chunk_frames,
        GST_BUFFER_PTS (buf), GST_BUFFER_DURATION (buf));
  } else {
    /* live: sliding windows */
    for (guint i = 0; ret == GST_FLOW_OK && affect_frame_stream_next_window
        (&self->fs, data, n, &i, GST_BUFFER_PTS (buf));
        affect_frame_stream_slide (&self->fs))
      ret = predict (self, self->fs.fr.frames, self->fs.window,
          self->fs.start, affect_frame_stream_time (&self->fs,
              self->fs.window), NULL);
  }
  gst_buffer_unmap (buf, &map);
  if (ret == GST_FLOW_OK && GST_BUFFER_PTS_IS_VALID (buf))
    announce_time (self, GST_BUFFER_PTS (buf), GST_BUFFER_PTS (buf) +
        (GST_BUFFER_DURATION_IS_VALID (buf) ? GST_BUFFER_DURATION (buf) : 0));
  gst_buffer_unref (buf);
  return ret;
}

/* A live window's prediction is stamped with its first frame and leaves
 * with its last: the window adds its length to the latency. */
static gboolean
gst_affect_classify_src_query (GstPad * pad, GstObject * parent,
    GstQuery * query)
{
  GstAffectClassify *self = GST_AFFECT_CLASSIFY (parent);
  GstClockTime min, max, ours;
  gboolean live;

  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return gst_pad_query_default (pad, parent, query);
  if (!gst_pad_peer_query (GST_AFFECT_LEARNER (self)->sinkpad, query))
    return FALSE;
  if (GST_AFFECT_LEARNER (self)->mode == GST_AFFECT_MODE_TRAIN
      || self->net == NULL || self->fs.fps_n <= 0)
    return TRUE;
  gst_query_parse_latency (query, &live, &min, &max);
  ours = affect_frame_stream_time (&self->fs, self->fs.window);
  min += ours;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += ours;
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

static gboolean
sink_caps (GstAffectLearner * learner, GstCaps * caps)
{
  GstAffectClassify *self = GST_AFFECT_CLASSIFY (learner);
  GstAffectTensorInfo info;
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  gint rate = 0, hop = 0;
  guint64 window, hop_ns;
  GError *error = NULL;

  if (!gst_affect_tensor_info_from_caps (&info, caps) || info.n_dims < 1
      || (info.n_dims > 1 && info.dims[1] < 1)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("not a float32 tensor stream: %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  if (gst_structure_has_field (s, "feature")
      && g_strcmp0 (gst_structure_get_string (s, "feature"), "mel")) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("affectclassify takes Mel frames, the stream has feature=%s",
            gst_structure_get_string (s, "feature")), (NULL));
    return FALSE;
  }
  self->n_mels = info.dims[0];
  gst_structure_get_int (s, "sample-rate", &rate);
  gst_structure_get_int (s, "hop", &hop);
  affect_frame_stream_set_rate (&self->fs, info.dims[0], info.rate_n,
      info.rate_d, info.n_dims > 1 ? info.dims[1] : 1, rate, hop);
  g_clear_pointer (&self->stream_features, gst_structure_free);
  self->stream_features = gst_structure_copy (s);
  if (GST_AFFECT_LEARNER (self)->mode == GST_AFFECT_MODE_TRAIN)
    return TRUE;
  GST_OBJECT_LOCK (self);
  window = self->window;
  hop_ns = self->hop;
  GST_OBJECT_UNLOCK (self);
  /* a live window or hop that rounds to no frame of the stream */
  if (!affect_frame_stream_set_windows (&self->fs, window, hop_ns,
          model_frames (self), &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("%s", error->message),
        ("window and hop are in nanoseconds; 0 = the model's input length "
            "(hop: = window)"));
    g_error_free (error);
    return FALSE;
  }
  if (!check_features (self, s))
    return FALSE;
  return set_src_caps (self);
}

static gboolean
sink_event (GstAffectLearner * learner, GstEvent * event)
{
  GstAffectClassify *self = GST_AFFECT_CLASSIFY (learner);
  const gboolean train = learner->mode == GST_AFFECT_MODE_TRAIN;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_SEGMENT:
      if (!self->src_caps_set) {
        /* train mode: the output caps wait for the first item's vocabulary */
        gst_event_replace (&self->pending_segment, event);
        gst_event_unref (event);
        return TRUE;
      }
      break;
    case GST_EVENT_FLUSH_STOP:
      affect_frame_stream_clear (&self->fs, FALSE);
      break;
    case GST_EVENT_GAP:{
      GstClockTime ts, duration;

      /* no frames for a while: time passes, as for frames */
      gst_event_parse_gap (event, &ts, &duration);
      gst_event_unref (event);
      announce_time (self, ts, ts + (GST_CLOCK_TIME_IS_VALID (duration) ?
              duration : 0));
      return TRUE;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_affect_event_is_item_start (event)) {
        self->saw_items = TRUE;
        affect_frame_stream_clear (&self->fs, TRUE);
        if (train && !self->src_caps_set && self->learner.item
            && self->learner.item->n_labels > 0 && self->trainer == NULL
            && self->net == NULL) {
          /* the model's classes come from the first labelled item */
          if (!start_training (self, self->learner.item)) {
            gst_event_unref (event);
            return FALSE;
          }
          set_src_caps (self);
        }
      } else if (gst_affect_event_is_item_end (event) && self->learner.item) {
        const GstClockTime start = self->fs.start, end = self->fs.end;
        const gboolean spans = GST_CLOCK_TIME_IS_VALID (start)
            && GST_CLOCK_TIME_IS_VALID (end);

        if (self->fs.nonfinite > 0) {
          gst_affect_learner_item_warning (learner, GST_STREAM_ERROR_FORMAT,
              NULL, "%" G_GUINT64_FORMAT " non-finite Mel values: skipped, "
              "no %s.", self->fs.nonfinite, train ? "training" : "prediction");
          learner->skipped++;
        } else if (train) {
          cache_item (self);
        }
        if (self->fs.nonfinite > 0 || train) {
          /* no output for it (training outputs nothing): its time is a GAP */
          if (spans)
            gst_affect_gap_push (&self->learner.gap[0], self->learner.srcpad,
                start, end - start);
        } else if (self->fs.fr.n > 0) {
          GstFlowReturn fr = predict (self, self->fs.fr.frames,
              self->fs.fr.n, start, spans ? end - start : GST_CLOCK_TIME_NONE,
              self->learner.item->id);
          if (fr != GST_FLOW_OK && fr != GST_FLOW_FLUSHING)
            GST_DEBUG_OBJECT (self, "push returned %s", gst_flow_get_name (fr));
        } else {
          gst_affect_learner_item_warning (learner, GST_STREAM_ERROR_FORMAT,
              NULL, "no frames: no prediction.");
        }
        affect_frame_stream_clear (&self->fs, FALSE);
      }
      break;
    default:
      break;
  }
  return gst_pad_event_default (learner->sinkpad, GST_OBJECT (self), event);
}

/* infer: the model is read when the element opens, so a wrong path fails
 * at once */
static gboolean
open_model (GstAffectLearner * learner)
{
  GstAffectClassify *self = GST_AFFECT_CLASSIFY (learner);
  GError *error = NULL;
  gchar *path;

  affect_init ();
  if (learner->mode != GST_AFFECT_MODE_INFER)
    return TRUE;
  if ((path = gst_affect_learner_model_file (learner)) == NULL)
    return FALSE;
  /* net, labels, features_json: NULL (close_model) */
  self->net = affect_classifier_load (path, &self->labels,
      &self->features_json, &error);
  if (self->net == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Cannot load the model %s", path), ("%s", error->message));
    g_error_free (error);
  }
  g_free (path);
  return self->net != NULL;
}

static void
stop (GstAffectLearner * learner)
{
  GstAffectClassify *self = GST_AFFECT_CLASSIFY (learner);

  g_clear_pointer (&self->trainer, affect_moodnet_trainer_free);
  gst_event_replace (&self->pending_segment, NULL);
  affect_frame_stream_clear (&self->fs, TRUE);
  self->src_caps_set = self->saw_items = self->warned_live = FALSE;
  g_clear_pointer (&self->stream_features, gst_structure_free);
  g_clear_pointer (&self->fs.fr.frames, g_free);
  self->fs.fr.capacity = 0;
}

/* also at finalize, after stop (GstAffectLearner) */
static void
close_model (GstAffectLearner * learner)
{
  GstAffectClassify *self = GST_AFFECT_CLASSIFY (learner);

  g_clear_pointer (&self->net, affect_moodnet_free);
  g_clear_pointer (&self->labels, g_strfreev);
  g_clear_pointer (&self->features_json, g_free);
}

static void
gst_affect_classify_class_init (GstAffectClassifyClass * klass)
{
  GstAffectLearnerClass *learner_class = GST_AFFECT_LEARNER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_affect_classify_debug, "affectclassify", 0,
      "MoodNet classifier");
  gst_affect_learner_class_setup (learner_class, NULL, props,
      G_N_ELEMENTS (props), "MoodNet classifier", "Filter/Analyzer/Audio",
      "Tags or classifies Mel-spectrogram streams per item or window with a "
      "MobileNetV2 + self-attention network, or trains one", "gst-affect");
  learner_class->open = open_model;
  learner_class->stop = stop;
  learner_class->close = close_model;
  learner_class->set_caps = sink_caps;
  learner_class->chain = chain;
  learner_class->sink_event = sink_event;
  learner_class->train = train_at_eos;
}

static void
gst_affect_classify_init (GstAffectClassify * self)
{
  gst_pad_set_query_function (self->learner.srcpad,
      GST_DEBUG_FUNCPTR (gst_affect_classify_src_query));
  affect_frame_stream_clear (&self->fs, TRUE);
}

/* GStreamer affect plugin
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-affectregress
 * @title: affectregress
 *
 * The speech-emotion regressor of the VAT seed: an MLP (default
 * 384-1200-600-1, ReLU hidden units) on one feature vector per buffer —
 * IS09 functionals from affectis09 — predicting the numeric targets named
 * by #GstAffectRegress:targets (e.g. valence,arousal,dominance), as one
 * multi-output model or one model per target
 * (#GstAffectRegress:multi-output=false, files model-<target>.safetensors).
 *
 * mode=infer: loads #GstAffectRegress:model-file; each input buffer gives
 * one output tensor (dimensions = number of targets, caps fields
 * `affect-output="targets"`, `names="valence,…"`), pushed between the
 * item's start and end events. Inputs are standardised with the
 * training-set statistics stored in the model (standardise=model) or with
 * the statistics of the whole incoming stream (standardise=per-stream:
 * items are held until EOS, then predicted in order — this removes most of
 * a cross-corpus offset). GAP events pass unchanged; a vector that gives no
 * output now (mode=train, NaN values) leaves a GAP of its span, and
 * per-stream standardisation one GAP of duration 0 at the first vector, so
 * that sinks preroll (docs/protocol.md, "Time without data").
 *
 * mode=train: every item's feature vector and its targets (the `targets`
 * structure of affect-item-start) are cached; at EOS the model is trained
 * with Adam on MSE, plus lambda·LDS with virtual adversarial training
 * (vat=true: p(y|x) = N(f(x), 1), r_adv by power iteration scaled to
 * #GstAffectRegress:epsilon), model selection on the items with
 * split=validation (or a held-out #GstAffectRegress:validation-fraction;
 * with #GstAffectRegress:validation-group, whole groups of that manifest
 * column, e.g. speakers, drawn by seed so that no group is on both sides),
 * and written atomically to model-file. Items without all targets, or with
 * NaN features, are skipped (counted in a warning); items with split=test
 * are ignored. A model whose predictions are constant on the validation
 * items (the seed's ReLU output unit dies on targets around 0) is reported
 * with a warning. Feature vectors are cached in memory up to
 * #GstAffectRegress:cache-budget MiB, the rest in a temporary file. After
 * every epoch the whole training state (weights, Adam moments and step,
 * RNG, epoch, best epoch and patience counter, standardisation) is written
 * atomically to the checkpoint model-file + ".ckpt" (one per model file
 * with multi-output=false), which is kept at the end; resume=true continues
 * from it, and with the same settings, data and threads ends with the same
 * model file as an uninterrupted run. A checkpoint of another shape,
 * settings or data is refused with an error.
 *
 * The model records the `sample-rate` of its training features' caps; in
 * infer mode caps of another size, `feature` or `sample-rate` are refused
 * with one error naming the model's and the stream's values.
 *
 * ## Messages
 *
 * `affect-prediction` (post-messages=true, infer mode), per vector:
 *
 * - `timestamp`, `stream-time`, `running-time`, `duration` (GstClockTime)
 * - `id` (string): item id ("" outside items)
 * - `scores` (GstValueArray of gfloat): one per target
 * - `names` (GstValueArray of gchararray): the targets
 *
 * `affect-train-epoch` (train mode), per epoch and model:
 *
 * - `epoch`, `epochs` (guint), `phase` (string): "adam"
 * - `learning-rate`, `train-loss`, `train-mse`, `train-lds` (gdouble)
 * - `validation-loss` (gdouble): NaN
 * - `validation-metric` (gdouble): MAE; `metric` (string): "mae"
 * - `validation-accuracy` (gdouble): NaN
 * - `seconds` (gdouble), `best` (gboolean)
 * - `target` (string): one-model-per-target only
 *
 * `affect-train-done` (train mode), per model file:
 *
 * - `model-file` (string), `items`, `validation-items`, `best-epoch` (guint)
 * - `validation-metric`, `validation-accuracy` (gdouble)
 * - `constant-output` (gboolean)
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 affectsrc location=train.csv ! audioconvert ! \
 *     audioresample ! audio/x-raw,rate=16000,channels=1 ! affectis09 ! \
 *     affectregress mode=train targets=valence model-file=val.safetensors \
 *     epsilon=1.5 lambda=1.5 ! fakesink
 * ]| Train a valence regressor with VAT (an interrupted run continues with
 * the same line plus resume=true).
 * |[
 * gst-launch-1.0 affectsrc location=test.csv ! audioconvert ! \
 *     audioresample ! audio/x-raw,rate=16000,channels=1 ! affectis09 ! \
 *     affectregress model-file=val.safetensors ! affectmetrics \
 *     location=mae.json
 * ]| Score it on the test items.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "gstaffectregress.h"
#include "gstaffectcaps.h"
#include "gstaffectelements.h"
#include "gstaffecttensor.h"

GST_DEBUG_CATEGORY_STATIC (affect_regress_debug);
#define GST_CAT_DEFAULT affect_regress_debug

GST_AFFECT_ENUM (GstAffectOutputActivation, gst_affect_output_activation) = {
  {GST_AFFECT_OUTPUT_LINEAR, "Linear output unit", "linear"},
  {GST_AFFECT_OUTPUT_RELU, "ReLU output unit (the seed's)", "relu"},
  {0, NULL, NULL}
};

GST_AFFECT_ENUM (GstAffectStandardise, gst_affect_standardise) = {
  {GST_AFFECT_STANDARDISE_MODEL, "Training-set mean/std stored in the model",
      "model"},
  {GST_AFFECT_STANDARDISE_PER_STREAM,
      "Mean/std of the incoming stream (items held until EOS)", "per-stream"},
  {0, NULL, NULL}
};

GST_AFFECT_ENUM (GstAffectVatPower, gst_affect_vat_power) = {
  {AFFECT_VAT_POWER_JVP, "Exact power step (Jacobian-vector products)",
      "jvp"},
  {AFFECT_VAT_POWER_FINITE_DIFFERENCE,
        "Finite difference with xi in float32 (cancels for small xi)",
      "finite-difference"},
  {0, NULL, NULL}
};

#define S GstAffectRegress
static const GstAffectProp props[] = {
  GST_AFFECT_PROP_STRING ("targets", "Targets",
      "Comma-separated names of the targets to learn (fields of the item's "
      "targets structure); in infer mode the model's names win", S, targets,
      "valence", 0),
  GST_AFFECT_PROP_BOOL ("multi-output", "Multi-output",
      "One model with one output per target (true) or one model per target, "
      "in files model-<target>.safetensors (false)", S, multi_output, TRUE, 0),
  GST_AFFECT_PROP_ENUM ("output-activation", "Output activation",
      "Output unit of a trained model: linear, or ReLU as in the seed (dies "
      "on targets around 0)", S, output_activation,
      gst_affect_output_activation_get_type, GST_AFFECT_OUTPUT_LINEAR, 0),
  GST_AFFECT_PROP_ENUM ("standardise", "Standardise",
      "Feature standardisation at inference: the model's training "
      "statistics, or the incoming stream's own (cross-corpus)", S,
      standardise, gst_affect_standardise_get_type,
      GST_AFFECT_STANDARDISE_MODEL, 0),
  GST_AFFECT_PROP_BOOL ("vat", "VAT",
      "Train with virtual adversarial training (MSE + lambda * LDS)", S, vat,
      TRUE, 0),
  GST_AFFECT_PROP_DOUBLE ("epsilon", "Epsilon",
      "VAT: norm of the adversarial perturbation r_adv (standardised feature "
      "units)", S, epsilon, 0.0, 1000.0, 1.5, 0),
  GST_AFFECT_PROP_DOUBLE ("lambda", "Lambda",
      "VAT: weight of the local distributional smoothness term", S, lambda,
      0.0, 1000.0, 1.5, 0),
  GST_AFFECT_PROP_DOUBLE ("xi", "Xi",
      "VAT: finite-difference step of the power iteration "
      "(power-method=finite-difference only; jvp is its exact limit)", S, xi,
      1e-12, 100.0, 1e-6, 0),
  GST_AFFECT_PROP_UINT ("power-iterations", "Power iterations",
      "VAT: power iterations for r_adv", S, power_iterations, 1, 100, 1, 0),
  GST_AFFECT_PROP_ENUM ("power-method", "Power method",
      "VAT: how the power step is evaluated", S, power_method,
      gst_affect_vat_power_get_type, AFFECT_VAT_POWER_JVP, 0),
};

#undef S

G_DEFINE_TYPE (GstAffectRegress, gst_affect_regress, GST_TYPE_AFFECT_LEARNER);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (affectregress, "affectregress",
    GST_RANK_NONE, GST_TYPE_AFFECT_REGRESS,
    GST_DEBUG_CATEGORY_INIT (affect_regress_debug, "affectregress", 0,
        "MLP regressor with virtual adversarial training"));

static void
stop (GstAffectLearner * learner)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (learner);

  g_clear_pointer (&self->target_names, g_strfreev);
  self->n_targets = 0;
  g_clear_pointer (&self->range, affect_target_range_free);
}

static gboolean
start (GstAffectLearner * learner)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (learner);

  if (learner->mode == GST_AFFECT_MODE_INFER) {
    if (!gst_affect_learner_load_regressor (learner, self->multi_output,
            self->targets))
      return FALSE;
    self->target_names =
        g_strdupv ((gchar **) affect_regressor_names (learner->regressor));
  } else {
    self->target_names = affect_split_names (self->targets);
  }
  self->n_targets = g_strv_length (self->target_names);
  if (self->n_targets == 0)
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("No targets to train."), ("set targets=valence,..."));
  return self->n_targets > 0;
}

static gboolean
set_input_caps (GstAffectLearner * learner, GstCaps * caps)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (learner);
  GstAffectTensorInfo info;

  if (!gst_affect_learner_vector_caps (learner, caps, &info, TRUE,
          self->n_targets))
    return FALSE;
  /* refused: not-negotiated at the first push */
  gst_affect_learner_set_output_caps (learner, self->n_targets, info.rate_n,
      info.rate_d, "targets", self->target_names);
  return TRUE;
}

/* A non-finite prediction is dropped with a warning. One far outside the
 * training targets' range (more than the range's width beyond either end:
 * 2.2e8 on a 1–5 scale, not 5.3) says the input is not like the training
 * data: it is pushed, with one warning per item naming every such output. */
static GstFlowReturn
push_prediction (GstAffectRegress * self, const float *y, const gchar * id,
    const gchar * path, GstClockTime pts, GstClockTime duration)
{
  GstAffectLearner *learner = GST_AFFECT_LEARNER (self);
  GstBuffer *out;
  gchar *far;
  guint i;

  for (i = 0; i < self->n_targets; i++)
    if (!isfinite (y[i])) {
      gst_affect_item_warning (GST_ELEMENT (self), GST_STREAM_ERROR_FAILED,
          id, path, NULL, "prediction %s is %g, no prediction.",
          self->target_names[i], y[i]);
      return GST_FLOW_OK;
    }
  far = affect_regressor_far_outside (learner->regressor, y);
  if (far)
    gst_affect_item_warning (GST_ELEMENT (self), GST_STREAM_ERROR_FAILED,
        id, path, "more than the range's width beyond it: the input is "
        "unlike the training data", "prediction far outside the training "
        "targets' range: %s.", far);
  g_free (far);
  out = gst_buffer_new_memdup (y, self->n_targets * sizeof (float));
  gst_affect_item_meta_add (out, learner->item);
  GST_BUFFER_PTS (out) = pts;
  GST_BUFFER_DURATION (out) = duration;
  gst_affect_gap_note (&learner->gap[0], pts, duration);
  gst_affect_learner_post_prediction (learner, pts, duration, id, y,
      (const gchar * const *) self->target_names, self->n_targets, NULL, 0, -1);
  return gst_pad_push (learner->srcpad, out);
}

static GstFlowReturn
chain (GstAffectLearner * learner, GstBuffer * buf)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (learner);
  GstFlowReturn ret = GST_FLOW_OK;
  GstMapInfo map;
  const float *x;
  float *y;
  /* no output now: a GAP (docs/protocol.md, "Time without data") */
  gboolean gap = TRUE, preroll = FALSE;
  guint i;

  ret = gst_affect_learner_map_vector (learner, buf, &map);
  if (ret != GST_FLOW_OK)
    return ret;
  x = (const float *) map.data;
  y = g_new (float, self->n_targets);
  if (learner->mode == GST_AFFECT_MODE_TRAIN) {
    for (i = 0; i < self->n_targets; i++) {
      gdouble v;
      y[i] = gst_affect_item_get_value (learner->item, self->target_names[i],
          &v) ? (float) v : NAN;
    }
    switch (gst_affect_learner_cache_vector (learner, x, y, self->n_targets)) {
      case 1:
        affect_target_range_update (&self->range, y, self->n_targets);
        break;
      case -1:
        ret = GST_FLOW_ERROR;
        break;
    }
  } else if (!affect_vector_is_finite (x, learner->n_features)) {
    gst_affect_learner_item_warning (learner, GST_STREAM_ERROR_FORMAT, NULL,
        "feature vector with NaN or infinite values, no prediction.");
  } else if (self->standardise == GST_AFFECT_STANDARDISE_PER_STREAM) {
    affect_regressor_hold (learner->regressor, x);
    gst_affect_learner_hold (learner, NULL, buf);
    gap = FALSE;
    preroll = TRUE;
  } else {
    affect_regressor_predict (learner->regressor, x, y, 1, NULL, NULL);
    ret = push_prediction (self, y, learner->item ? learner->item->id : NULL,
        learner->item ? learner->item->path : NULL, GST_BUFFER_PTS (buf),
        GST_BUFFER_DURATION (buf));
    gap = FALSE;
  }
  if (ret == GST_FLOW_OK && gap)
    gst_affect_gap_push (&learner->gap[0], learner->srcpad,
        GST_BUFFER_PTS (buf), GST_BUFFER_DURATION (buf));
  else if (ret == GST_FLOW_OK && preroll)
    gst_affect_gap_preroll (&learner->gap[0], learner->srcpad,
        GST_BUFFER_PTS (buf));
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  g_free (y);
  return ret;
}

static void
emit_held (GstAffectLearner * learner, const GstAffectHeld * h, guint i,
    gpointer y)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (learner);

  push_prediction (self, (const float *) y + (gsize) i * self->n_targets,
      h->id, h->path, h->pts, h->duration);
}

/* per-stream standardisation: predict every held vector with the
 * stream's statistics and replay the held events and outputs in order */
static void
drain (GstAffectLearner * learner)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (learner);
  guint n;
  float *y;

  if (learner->mode != GST_AFFECT_MODE_INFER
      || self->standardise != GST_AFFECT_STANDARDISE_PER_STREAM)
    return;
  y = affect_regressor_predict_held (learner->regressor, &n);
  gst_affect_learner_release (learner, learner->srcpad, emit_held, y);
  g_free (y);
}

typedef struct
{
  GstAffectRegress *self;
  guint t0, t1;                 /* the model's targets */
} Model;

static void
describe (AffectMlp * mlp, gpointer data)
{
  Model *model = data;
  GstAffectRegress *self = model->self;
  GstAffectLearner *learner = GST_AFFECT_LEARNER (self);
  gchar **names = g_new0 (gchar *, model->t1 - model->t0 + 1), *value;

  memcpy (names, self->target_names + model->t0,
      (model->t1 - model->t0) * sizeof (gchar *));
  affect_mlp_set_names (mlp, (const char *const *) names);
  g_free (names);
  gst_affect_learner_describe_mlp (learner, mlp, "regression", NULL);
  affect_mlp_set_metadata (mlp, "training", self->vat ? "vat" : "mse");
  value = g_strdup_printf ("epsilon=%g,lambda=%g,xi=%g,power-iterations="
      "%u,epochs=%u,batch-size=%u,learning-rate=%g,seed=%" G_GUINT64_FORMAT,
      self->epsilon, self->lambda, self->xi, self->power_iterations,
      learner->epochs, learner->batch_size, learner->learning_rate,
      learner->seed);
  affect_mlp_set_metadata (mlp, "training-parameters", value);
  g_free (value);
  /* the training targets' range, for the far-outside warning */
  affect_mlp_set_target_range (mlp, self->range, model->t0, model->t1);
}

static gboolean
train_and_write (GstAffectLearner * learner)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (learner);
  guint m, n_models = self->multi_output ? 1 : self->n_targets;
  gboolean ok = TRUE;
  AffectMlpTrainConfig tc;

  if (!gst_affect_learner_mlp_config (learner, &tc, self->targets))
    return FALSE;
  tc.vat = self->vat;
  tc.vat_config.epsilon = self->epsilon;
  tc.vat_config.lambda = self->lambda;
  tc.vat_config.xi = self->xi;
  tc.vat_config.power_iterations = self->power_iterations;
  tc.vat_config.power = self->power_method;
  for (m = 0; ok && m < n_models; m++) {
    Model model = { self, self->multi_output ? 0 : m,
      self->multi_output ? self->n_targets : m + 1
    };
    gchar *path = self->multi_output ? g_strdup (learner->model_file) :
        affect_mlp_target_path (learner->model_file, self->target_names[m]);
    AffectMlpFileJob job = { learner->n_features, model.t1 - model.t0, NULL,
      self->output_activation == GST_AFFECT_OUTPUT_RELU ?
          AFFECT_ACTIVATION_RELU : AFFECT_ACTIVATION_IDENTITY, NULL,
      self->multi_output ? -1 : (gint) m, 0.0, path, describe, &model
    };

    ok = gst_affect_learner_train_mlp (learner, &job, &tc,
        self->multi_output ? NULL : self->target_names[m],
        "output-activation=relu dies on targets around 0; use "
        "output-activation=linear");
    g_free (path);
  }
  return ok;
}

static gboolean
sink_event (GstAffectLearner * learner, GstEvent * event)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (learner);
  const gboolean holding = learner->mode == GST_AFFECT_MODE_INFER
      && self->standardise == GST_AFFECT_STANDARDISE_PER_STREAM;
  GstClockTime ts, duration;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_GAP:
      /* passed on, or the preroll GAP while outputs wait for EOS */
      gst_event_parse_gap (event, &ts, &duration);
      gst_event_unref (event);
      if (holding)
        return gst_affect_gap_preroll (&learner->gap[0], learner->srcpad, ts);
      return gst_affect_gap_push (&learner->gap[0], learner->srcpad, ts,
          duration);
    case GST_EVENT_FLUSH_STOP:
      /* the learner dropped the held items: their vectors go too */
      affect_regressor_drop_held (learner->regressor);
      break;
    case GST_EVENT_EOS:
    case GST_EVENT_STREAM_START:
    case GST_EVENT_SEGMENT:
      break;
    default:
      if (holding && GST_EVENT_IS_SERIALIZED (event)) {
        gst_affect_learner_hold (learner, event, NULL);
        return TRUE;
      }
  }
  return gst_pad_event_default (learner->sinkpad, GST_OBJECT (self), event);
}

static void
gst_affect_regress_class_init (GstAffectRegressClass * klass)
{
  GstAffectLearnerClass *learner_class = GST_AFFECT_LEARNER_CLASS (klass);

  gst_affect_learner_class_setup (learner_class, NULL, props,
      G_N_ELEMENTS (props),
      "Affect regressor (MLP, virtual adversarial training)",
      "Filter/Analyzer/Tensor",
      "Predicts numeric emotion targets (valence, arousal, dominance) from "
      "feature vectors with an MLP; trains it with MSE and virtual "
      "adversarial training in mode=train. Example: ... ! affectis09 ! "
      "affectregress mode=train targets=valence model-file=v.safetensors ! "
      "fakesink; then ... ! affectis09 ! affectregress "
      "model-file=v.safetensors ! affectmetrics location=mae.json",
      "gst-affect <https://example.invalid/gst-affect>");
  learner_class->start = start;
  learner_class->stop = stop;
  learner_class->set_caps = set_input_caps;
  learner_class->chain = chain;
  learner_class->sink_event = sink_event;
  learner_class->drain = drain;
  learner_class->train = train_and_write;
}

static void
gst_affect_regress_init (GstAffectRegress * self)
{
}

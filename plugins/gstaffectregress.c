/* affectregress: the speech-emotion regressor of the VAT seed
 *
 * An MLP (default 384-1200-600-1, ReLU hidden units) on one feature vector
 * per buffer — IS09 functionals from affectis09 — predicting the numeric
 * targets named by `targets` (e.g. valence,arousal,dominance), as one
 * multi-output model or one model per target (`multi-output=false`, files
 * model-<target>.safetensors).
 *
 * mode=infer: loads `model-file`; each input buffer gives one output
 * tensor (dimensions = number of targets, caps fields
 * affect-output="targets", names="valence,…"), pushed between the item's
 * start and end events. Inputs are standardised with the training-set
 * statistics stored in the model (standardise=model) or with the
 * statistics of the whole incoming stream (standardise=per-stream: items
 * are held until EOS, then predicted in order — this removes most of a
 * cross-corpus offset). GAP events pass unchanged; a vector that gives no
 * output now (mode=train, NaN values) leaves a GAP of its span, and
 * per-stream standardisation one GAP of duration 0 at the first vector, so
 * that sinks preroll (docs/protocol.md, "Time without data").
 *
 * mode=train: every item's feature vector and its targets (the `targets`
 * structure of affect-item-start) are cached; at EOS the model is trained
 * with Adam on MSE, plus lambda·LDS with virtual adversarial training
 * (vat=true: p(y|x) = N(f(x), 1), r_adv by power iteration scaled to
 * `epsilon`), model selection on the items with split=validation (or a
 * held-out `validation-fraction`), and written atomically to model-file.
 * Items without all targets, or with NaN features, are skipped (counted in
 * a warning); items with split=test are ignored. A model whose predictions
 * are constant on the validation items (the seed's ReLU output unit dies
 * on targets around 0) is reported with a warning. Feature vectors are
 * cached in memory up to `cache-budget` MiB, the rest in a temporary file.
 * After every epoch the whole training state (weights, Adam moments and
 * step, RNG, epoch, best epoch and patience counter, standardisation) is
 * written atomically to the checkpoint model-file + ".ckpt" (one per model
 * file with multi-output=false), which is kept at the end; `resume=true`
 * continues from it, and with the same settings, data and `threads` ends
 * with the same model file as an uninterrupted run. A checkpoint of
 * another shape, settings or data is refused with an error.
 *
 * The model records the `sample-rate` of its training features' caps; in
 * infer mode caps of another size, `feature` or `sample-rate` are refused
 * with one error naming the model's and the stream's values.
 *
 * Messages:
 *   "affect-prediction" (post-messages=true, infer mode), per vector:
 *     timestamp, stream-time, running-time, duration  GstClockTime
 *     id        string         item id ("" outside items)
 *     scores    GstValueArray of floats, one per target
 *     names     GstValueArray of strings
 *   "affect-train-epoch" (train mode), per epoch and model:
 *     epoch (uint), train-loss, train-mse, train-lds (double),
 *     validation-metric (double, MAE), validation-metric-name ("mae"),
 *     validation-accuracy (double, NaN), seconds (double), best (boolean),
 *     target (string, one-model-per-target only)
 *   "affect-train-done" (train mode), per model file:
 *     model-file (string), items (uint), validation-items (uint),
 *     best-epoch (uint), validation-metric (double), constant-output
 *     (boolean)
 *
 * Example launch lines:
 *   gst-launch-1.0 affectsrc location=train.csv ! audioconvert !
 *     audioresample ! audio/x-raw,rate=16000,channels=1 ! affectis09 !
 *     affectregress mode=train targets=valence model-file=val.safetensors
 *     epsilon=1.5 lambda=1.5 ! fakesink
 *   gst-launch-1.0 affectsrc location=test.csv ! audioconvert !
 *     audioresample ! audio/x-raw,rate=16000,channels=1 ! affectis09 !
 *     affectregress model-file=val.safetensors ! affectmetrics
 *     location=mae.json
 *   (an interrupted training run continues with the same line plus
 *   resume=true)
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

#define DEFAULT_TARGETS "valence"
#define DEFAULT_HIDDEN "1200,600"
#define DEFAULT_MULTI_OUTPUT TRUE
#define DEFAULT_OUTPUT_ACTIVATION GST_AFFECT_OUTPUT_LINEAR
#define DEFAULT_STANDARDISE GST_AFFECT_STANDARDISE_MODEL
#define DEFAULT_VAT TRUE
#define DEFAULT_EPSILON 1.5
#define DEFAULT_LAMBDA 1.5
#define DEFAULT_XI 1e-6
#define DEFAULT_POWER_ITERATIONS 1
#define DEFAULT_POWER_METHOD AFFECT_VAT_POWER_JVP
#define DEFAULT_POST_MESSAGES TRUE

enum
{
  PROP_0,
  PROP_TARGETS,
  PROP_MULTI_OUTPUT,
  PROP_OUTPUT_ACTIVATION,
  PROP_STANDARDISE,
  PROP_VAT,
  PROP_EPSILON,
  PROP_LAMBDA,
  PROP_XI,
  PROP_POWER_ITERATIONS,
  PROP_POWER_METHOD,
  PROP_POST_MESSAGES,
  PROP_TRAIN_FIRST              /* the shared training properties follow */
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE));

#define GST_TYPE_AFFECT_OUTPUT_ACTIVATION (gst_affect_output_activation_get_type ())
static GType
gst_affect_output_activation_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_AFFECT_OUTPUT_LINEAR, "Linear output unit", "linear"},
    {GST_AFFECT_OUTPUT_RELU, "ReLU output unit (the seed's)", "relu"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAffectOutputActivation", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define GST_TYPE_AFFECT_STANDARDISE (gst_affect_standardise_get_type ())
static GType
gst_affect_standardise_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_AFFECT_STANDARDISE_MODEL,
        "Training-set mean/std stored in the model", "model"},
    {GST_AFFECT_STANDARDISE_PER_STREAM,
          "Mean/std of the incoming stream (items held until EOS)",
        "per-stream"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAffectStandardise", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define GST_TYPE_AFFECT_VAT_POWER (gst_affect_vat_power_get_type ())
static GType
gst_affect_vat_power_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {AFFECT_VAT_POWER_JVP,
        "Exact power step (Jacobian-vector products)", "jvp"},
    {AFFECT_VAT_POWER_FINITE_DIFFERENCE,
          "Finite difference with xi in float32 (cancels for small xi)",
        "finite-difference"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAffectVatPower", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define gst_affect_regress_parent_class parent_class
G_DEFINE_TYPE (GstAffectRegress, gst_affect_regress, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (affectregress, "affectregress",
    GST_RANK_NONE, GST_TYPE_AFFECT_REGRESS,
    GST_DEBUG_CATEGORY_INIT (affect_regress_debug, "affectregress", 0,
        "MLP regressor with virtual adversarial training"));

static void gst_affect_regress_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_affect_regress_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_affect_regress_finalize (GObject * object);
static GstStateChangeReturn gst_affect_regress_change_state (GstElement *
    element, GstStateChange transition);
static GstFlowReturn gst_affect_regress_chain (GstPad * pad,
    GstObject * parent, GstBuffer * buf);
static gboolean gst_affect_regress_sink_event (GstPad * pad,
    GstObject * parent, GstEvent * event);

/* an entry held for per-stream standardisation: an event or a vector */
typedef struct
{
  GstEvent *event;
  float *features;
  gchar *id, *path;
  GstClockTime pts, duration;
} Pending;

static void
pending_free (Pending * p)
{
  if (p->event)
    gst_event_unref (p->event);
  g_free (p->features);
  g_free (p->id);
  g_free (p->path);
  g_free (p);
}

static void
gst_affect_regress_class_init (GstAffectRegressClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_affect_regress_set_property;
  gobject_class->get_property = gst_affect_regress_get_property;
  gobject_class->finalize = gst_affect_regress_finalize;

  g_object_class_install_property (gobject_class, PROP_TARGETS,
      g_param_spec_string ("targets", "Targets",
          "Comma-separated names of the targets to learn (fields of the "
          "item's targets structure); in infer mode the model's names win",
          DEFAULT_TARGETS, rw));
  g_object_class_install_property (gobject_class, PROP_MULTI_OUTPUT,
      g_param_spec_boolean ("multi-output", "Multi-output",
          "One model with one output per target (true) or one model per "
          "target, in files model-<target>.safetensors (false)",
          DEFAULT_MULTI_OUTPUT, rw));
  g_object_class_install_property (gobject_class, PROP_OUTPUT_ACTIVATION,
      g_param_spec_enum ("output-activation", "Output activation",
          "Output unit of a trained model: linear, or ReLU as in the seed "
          "(dies on targets around 0)", GST_TYPE_AFFECT_OUTPUT_ACTIVATION,
          DEFAULT_OUTPUT_ACTIVATION, rw));
  g_object_class_install_property (gobject_class, PROP_STANDARDISE,
      g_param_spec_enum ("standardise", "Standardise",
          "Feature standardisation at inference: the model's training "
          "statistics, or the incoming stream's own (cross-corpus)",
          GST_TYPE_AFFECT_STANDARDISE, DEFAULT_STANDARDISE, rw));
  g_object_class_install_property (gobject_class, PROP_VAT,
      g_param_spec_boolean ("vat", "VAT",
          "Train with virtual adversarial training (MSE + lambda * LDS)",
          DEFAULT_VAT, rw));
  g_object_class_install_property (gobject_class, PROP_EPSILON,
      g_param_spec_double ("epsilon", "Epsilon",
          "VAT: norm of the adversarial perturbation r_adv (standardised "
          "feature units)", 0.0, 1000.0, DEFAULT_EPSILON, rw));
  g_object_class_install_property (gobject_class, PROP_LAMBDA,
      g_param_spec_double ("lambda", "Lambda",
          "VAT: weight of the local distributional smoothness term",
          0.0, 1000.0, DEFAULT_LAMBDA, rw));
  g_object_class_install_property (gobject_class, PROP_XI,
      g_param_spec_double ("xi", "Xi",
          "VAT: finite-difference step of the power iteration "
          "(power-method=finite-difference only; jvp is its exact limit)",
          1e-12, 100.0, DEFAULT_XI, rw));
  g_object_class_install_property (gobject_class, PROP_POWER_ITERATIONS,
      g_param_spec_uint ("power-iterations", "Power iterations",
          "VAT: power iterations for r_adv", 1, 100,
          DEFAULT_POWER_ITERATIONS, rw));
  g_object_class_install_property (gobject_class, PROP_POWER_METHOD,
      g_param_spec_enum ("power-method", "Power method",
          "VAT: how the power step is evaluated",
          GST_TYPE_AFFECT_VAT_POWER, DEFAULT_POWER_METHOD, rw));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an affect-prediction element message per vector",
          DEFAULT_POST_MESSAGES, rw));
  gst_affect_train_install_properties (gobject_class, PROP_TRAIN_FIRST,
      DEFAULT_HIDDEN, "The model (safetensors): read in infer mode, "
      "written atomically at the end of training");

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Affect regressor (MLP, virtual adversarial training)",
      "Filter/Analyzer/Tensor",
      "Predicts numeric emotion targets (valence, arousal, dominance) from "
      "feature vectors with an MLP; trains it with MSE and virtual "
      "adversarial training in mode=train. Example: ... ! affectis09 ! "
      "affectregress mode=train targets=valence model-file=v.safetensors ! "
      "fakesink; then ... ! affectis09 ! affectregress "
      "model-file=v.safetensors ! affectmetrics location=mae.json",
      "gst-affect <https://example.invalid/gst-affect>");
  element_class->change_state = gst_affect_regress_change_state;

  gst_type_mark_as_plugin_api (GST_TYPE_AFFECT_OUTPUT_ACTIVATION, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_AFFECT_STANDARDISE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_AFFECT_VAT_POWER, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_AFFECT_MODE, 0);
}

static void
gst_affect_regress_init (GstAffectRegress * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_affect_regress_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_affect_regress_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  gst_affect_train_settings_init (&self->train, DEFAULT_HIDDEN);
  self->targets = g_strdup (DEFAULT_TARGETS);
  self->multi_output = DEFAULT_MULTI_OUTPUT;
  self->output_activation = DEFAULT_OUTPUT_ACTIVATION;
  self->standardise = DEFAULT_STANDARDISE;
  self->vat = DEFAULT_VAT;
  self->epsilon = DEFAULT_EPSILON;
  self->lambda = DEFAULT_LAMBDA;
  self->xi = DEFAULT_XI;
  self->power_iterations = DEFAULT_POWER_ITERATIONS;
  self->power_method = DEFAULT_POWER_METHOD;
  self->post_messages = DEFAULT_POST_MESSAGES;
  g_queue_init (&self->pending);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  gst_affect_gap_reset (&self->gap);
}

static void
reset (GstAffectRegress * self)
{
  guint i;

  for (i = 0; i < self->n_models; i++)
    affect_mlp_free (self->models[i]);
  g_free (self->models);
  self->models = NULL;
  self->n_models = 0;
  g_strfreev (self->target_names);
  self->target_names = NULL;
  self->n_targets = 0;
  self->n_features = 0;
  gst_caps_replace (&self->input_caps, NULL);
  g_clear_pointer (&self->item, gst_affect_item_free);
  g_clear_pointer (&self->dataset, affect_dataset_free);
  g_queue_clear_full (&self->pending, (GDestroyNotify) pending_free);
  self->skipped = 0;
  self->test_items = 0;
  gst_affect_gap_reset (&self->gap);
  g_clear_pointer (&self->range_lo, g_free);
  g_clear_pointer (&self->range_hi, g_free);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
}

static void
gst_affect_regress_finalize (GObject * object)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (object);

  reset (self);
  gst_affect_train_settings_clear (&self->train);
  g_free (self->targets);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_affect_regress_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (object);

  GST_OBJECT_LOCK (self);
  if (gst_affect_train_set_property (&self->train, PROP_TRAIN_FIRST, prop_id,
          value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_TARGETS:
      g_free (self->targets);
      self->targets = g_value_dup_string (value);
      break;
    case PROP_MULTI_OUTPUT:
      self->multi_output = g_value_get_boolean (value);
      break;
    case PROP_OUTPUT_ACTIVATION:
      self->output_activation = g_value_get_enum (value);
      break;
    case PROP_STANDARDISE:
      self->standardise = g_value_get_enum (value);
      break;
    case PROP_VAT:
      self->vat = g_value_get_boolean (value);
      break;
    case PROP_EPSILON:
      self->epsilon = g_value_get_double (value);
      break;
    case PROP_LAMBDA:
      self->lambda = g_value_get_double (value);
      break;
    case PROP_XI:
      self->xi = g_value_get_double (value);
      break;
    case PROP_POWER_ITERATIONS:
      self->power_iterations = g_value_get_uint (value);
      break;
    case PROP_POWER_METHOD:
      self->power_method = g_value_get_enum (value);
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_affect_regress_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (object);

  GST_OBJECT_LOCK (self);
  if (gst_affect_train_get_property (&self->train, PROP_TRAIN_FIRST, prop_id,
          value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_TARGETS:
      g_value_set_string (value, self->targets);
      break;
    case PROP_MULTI_OUTPUT:
      g_value_set_boolean (value, self->multi_output);
      break;
    case PROP_OUTPUT_ACTIVATION:
      g_value_set_enum (value, self->output_activation);
      break;
    case PROP_STANDARDISE:
      g_value_set_enum (value, self->standardise);
      break;
    case PROP_VAT:
      g_value_set_boolean (value, self->vat);
      break;
    case PROP_EPSILON:
      g_value_set_double (value, self->epsilon);
      break;
    case PROP_LAMBDA:
      g_value_set_double (value, self->lambda);
      break;
    case PROP_XI:
      g_value_set_double (value, self->xi);
      break;
    case PROP_POWER_ITERATIONS:
      g_value_set_uint (value, self->power_iterations);
      break;
    case PROP_POWER_METHOD:
      g_value_set_enum (value, self->power_method);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gchar **
split_names (const gchar * list)
{
  gchar **parts = g_strsplit (list ? list : "", ",", -1);
  GPtrArray *out = g_ptr_array_new ();
  guint i;

  for (i = 0; parts[i] != NULL; i++) {
    gchar *s = g_strstrip (parts[i]);
    if (*s != '\0')
      g_ptr_array_add (out, g_strdup (s));
  }
  g_strfreev (parts);
  g_ptr_array_add (out, NULL);
  return (gchar **) g_ptr_array_free (out, FALSE);
}

/* the k-th value of a comma-separated metadata list, NaN if absent */
static gdouble
metadata_value (AffectMlp * mlp, const gchar * key, guint k)
{
  const gchar *list = affect_mlp_get_metadata (mlp, key);
  gchar **parts = g_strsplit (list ? list : "", ",", -1);
  gdouble v = NAN;
  gchar *end;

  if (k < g_strv_length (parts)) {
    v = g_ascii_strtod (parts[k], &end);
    if (end == parts[k] || !isfinite (v))
      v = NAN;
  }
  g_strfreev (parts);
  return v;
}

/* infer mode: load the model(s) and their output names */
static gboolean
load_models (GstAffectRegress * self)
{
  GError *error = NULL;
  guint i;

  if (self->train.model_file == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No model-file set."), ("mode=infer needs model-file"));
    return FALSE;
  }
  if (self->multi_output) {
    AffectMlp *mlp = affect_mlp_load (self->train.model_file, &error);
    const char *const *names;
    if (mlp == NULL)
      goto load_error;
    self->models = g_new0 (AffectMlp *, 1);
    self->models[0] = mlp;
    self->n_models = 1;
    names = affect_mlp_get_names (mlp);
    if (names != NULL)
      self->target_names = g_strdupv ((gchar **) names);
    else {
      self->target_names = split_names (self->targets);
      if (g_strv_length (self->target_names) !=
          (guint) affect_mlp_get_config (mlp)->n_outputs) {
        GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
            ("Model %s has %d outputs but targets=\"%s\" names %u.",
                self->train.model_file, affect_mlp_get_config (mlp)->n_outputs,
                self->targets, g_strv_length (self->target_names)), (NULL));
        return FALSE;
      }
    }
  } else {
    self->target_names = split_names (self->targets);
    self->n_models = g_strv_length (self->target_names);
    self->models = g_new0 (AffectMlp *, self->n_models);
    for (i = 0; i < self->n_models; i++) {
      gchar *path = gst_affect_train_target_path (self->train.model_file,
          self->target_names[i]);
      self->models[i] = affect_mlp_load (path, &error);
      g_free (path);
      if (self->models[i] == NULL)
        goto load_error;
      if (affect_mlp_get_config (self->models[i])->n_outputs != 1) {
        GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
            ("Per-target model for \"%s\" has %d outputs, expected 1.",
                self->target_names[i],
                affect_mlp_get_config (self->models[i])->n_outputs), (NULL));
        return FALSE;
      }
    }
  }
  self->n_targets = g_strv_length (self->target_names);
  self->n_features = affect_mlp_get_config (self->models[0])->n_inputs;
  self->range_lo = g_new (gdouble, self->n_targets);
  self->range_hi = g_new (gdouble, self->n_targets);
  for (i = 0; i < self->n_targets; i++) {
    AffectMlp *m = self->models[self->n_models == 1 ? 0 : i];
    guint k = self->n_models == 1 ? i : 0;
    self->range_lo[i] = metadata_value (m, "target-min", k);
    self->range_hi[i] = metadata_value (m, "target-max", k);
  }
  return TRUE;

load_error:
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
      ("Cannot load the model: %s", error->message), (NULL));
  g_clear_error (&error);
  return FALSE;
}

static GstStateChangeReturn
gst_affect_regress_change_state (GstElement * element,
    GstStateChange transition)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    reset (self);
    if (self->train.mode == GST_AFFECT_MODE_INFER) {
      if (!load_models (self))
        return GST_STATE_CHANGE_FAILURE;
    } else {
      AffectMlpConfig probe = { 0 };
      if (self->train.model_file == NULL) {
        GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
            ("No model-file set."), ("mode=train writes model-file"));
        return GST_STATE_CHANGE_FAILURE;
      }
      /* the per-target files and the checkpoint go to the same folder */
      if (!gst_affect_train_check_output (element, "model-file",
              self->train.model_file))
        return GST_STATE_CHANGE_FAILURE;
      if (!gst_affect_train_parse_hidden (self->train.hidden_sizes, &probe)) {
        GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
            ("Invalid hidden-sizes \"%s\".", self->train.hidden_sizes),
            ("expected positive integers separated by commas, at most %d",
                AFFECT_MLP_MAX_HIDDEN));
        return GST_STATE_CHANGE_FAILURE;
      }
      self->target_names = split_names (self->targets);
      self->n_targets = g_strv_length (self->target_names);
      if (self->n_targets == 0) {
        GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
            ("No targets to train."), ("set targets=valence,..."));
        return GST_STATE_CHANGE_FAILURE;
      }
    }
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    reset (self);
  return ret;
}

static gboolean
set_input_caps (GstAffectRegress * self, GstCaps * caps)
{
  GstAffectTensorInfo info, out_info;
  GstCaps *out;
  gchar *names;
  guint n;
  const gchar *feature, *model_feature;

  if (!gst_affect_tensor_info_from_caps (&info, caps)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Input is not a single float32 tensor stream."),
        ("caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  n = gst_affect_tensor_info_n_elements (&info);
  if (self->train.mode == GST_AFFECT_MODE_INFER) {
    if (n != self->n_features) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Model %s expects %u features per vector, the stream has %u.",
              self->train.model_file, self->n_features, n),
          ("caps %" GST_PTR_FORMAT, caps));
      return FALSE;
    }
    feature = gst_structure_get_string (gst_caps_get_structure (caps, 0),
        "feature");
    model_feature = affect_mlp_get_metadata (self->models[0], "feature");
    if (feature && model_feature && strcmp (feature, model_feature) != 0) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Model %s was trained on feature=%s, the stream carries "
              "feature=%s.", self->train.model_file, model_feature, feature),
          (NULL));
      return FALSE;
    }
    if (!gst_affect_train_check_sample_rate (GST_ELEMENT (self),
            self->models[0], self->train.model_file, caps))
      return FALSE;
  } else {
    if (self->n_features != 0 && n != self->n_features) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Feature size changed from %u to %u during training.",
              self->n_features, n), (NULL));
      return FALSE;
    }
    self->n_features = n;
    if (self->dataset == NULL)
      self->dataset = gst_affect_train_dataset_new (&self->train, n,
          self->n_targets);
  }
  gst_caps_replace (&self->input_caps, caps);

  gst_affect_tensor_info_init (&out_info, 1, &self->n_targets, info.rate_n,
      info.rate_d);
  out = gst_affect_tensor_caps_from_info (&out_info);
  names = g_strjoinv (",", self->target_names);
  gst_caps_set_simple (out, "affect-output", G_TYPE_STRING, "targets",
      "names", G_TYPE_STRING, names, NULL);
  g_free (names);
  if (!gst_pad_push_event (self->srcpad, gst_event_new_caps (out)))
    GST_DEBUG_OBJECT (self, "downstream refused %" GST_PTR_FORMAT, out);
  gst_caps_unref (out);
  return TRUE;
}

/* outputs for n vectors; stats NULL = the model's standardisation */
static void
predict (GstAffectRegress * self, const float *x, float *y, int n,
    const float *mean, const float *std)
{
  const int d = self->n_features, k = self->n_targets;
  float *xs = NULL, *col = NULL;
  guint m;
  int i;

  if (mean != NULL) {
    xs = g_memdup2 (x, (size_t) n * d * sizeof (float));
    affect_standardise (xs, n, d, mean, std);
  }
  if (self->n_models == 1) {
    if (xs)
      affect_mlp_predict_standardised (self->models[0], xs, y, n);
    else
      affect_mlp_predict (self->models[0], x, y, n);
  } else {
    col = g_new (float, n);
    for (m = 0; m < self->n_models; m++) {
      if (xs)
        affect_mlp_predict_standardised (self->models[m], xs, col, n);
      else
        affect_mlp_predict (self->models[m], x, col, n);
      for (i = 0; i < n; i++)
        y[(size_t) i * k + m] = col[i];
    }
  }
  g_free (xs);
  g_free (col);
}

static GstFlowReturn
push_prediction (GstAffectRegress * self, const float *y, const gchar * id,
    GstClockTime pts, GstClockTime duration)
{
  GstBuffer *out = gst_buffer_new_memdup (y, self->n_targets * sizeof (float));

  GST_BUFFER_PTS (out) = pts;
  GST_BUFFER_DURATION (out) = duration;
  gst_affect_gap_note (&self->gap, pts, duration);
  if (self->post_messages) {
    GstStructure *s = gst_affect_message_structure_new ("affect-prediction",
        &self->segment, pts, duration);
    GValue scores = G_VALUE_INIT, names = G_VALUE_INIT, v = G_VALUE_INIT;
    guint i;

    gst_value_array_init (&scores, self->n_targets);
    gst_value_array_init (&names, self->n_targets);
    for (i = 0; i < self->n_targets; i++) {
      g_value_init (&v, G_TYPE_FLOAT);
      g_value_set_float (&v, y[i]);
      gst_value_array_append_and_take_value (&scores, &v);
      g_value_init (&v, G_TYPE_STRING);
      g_value_set_string (&v, self->target_names[i]);
      gst_value_array_append_and_take_value (&names, &v);
    }
    gst_structure_set (s, "id", G_TYPE_STRING, id ? id : "", NULL);
    gst_structure_take_value (s, "scores", &scores);
    gst_structure_take_value (s, "names", &names);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  }
  return gst_pad_push (self->srcpad, out);
}

static gboolean
vector_is_finite (const float *x, guint n)
{
  guint i;

  for (i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

/* A prediction far outside the training targets' range (more than the
 * range's width beyond either end: 2.2e8 on a 1–5 scale, not 5.3) says the
 * input is not like the training data: one warning per item naming it and
 * every such output; the prediction is kept. A non-finite one is dropped
 * with a warning. */
static gboolean
check_prediction (GstAffectRegress * self, const float *y, const gchar * id,
    const gchar * path)
{
  GString *far = NULL;
  guint i;

  for (i = 0; i < self->n_targets; i++) {
    gdouble lo = self->range_lo ? self->range_lo[i] : NAN;
    gdouble hi = self->range_hi ? self->range_hi[i] : NAN;
    gdouble margin = hi - lo > 0 ? hi - lo : MAX (1.0, fabs (hi));

    if (!isfinite (y[i])) {
      GST_ELEMENT_WARNING (self, STREAM, FAILED,
          ("Item \"%s\" (%s): prediction %s is %g, no prediction.",
              id ? id : "", path ? path : "no path", self->target_names[i],
              y[i]), (NULL));
      if (far)
        g_string_free (far, TRUE);
      return FALSE;
    }
    if (isfinite (lo) && isfinite (hi) && (y[i] < lo - margin
            || y[i] > hi + margin)) {
      if (far == NULL)
        far = g_string_new (NULL);
      g_string_append_printf (far, "%s%s = %g (trained on [%g, %g])",
          far->len ? ", " : "", self->target_names[i], y[i], lo, hi);
    }
  }
  if (far) {
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("Item \"%s\" (%s): prediction far outside the training targets' "
            "range: %s.", id ? id : "", path ? path : "no path", far->str),
        ("more than the range's width beyond it: the input is unlike the "
            "training data"));
    g_string_free (far, TRUE);
  }
  return TRUE;
}

static GstFlowReturn
gst_affect_regress_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (parent);
  GstFlowReturn ret = GST_FLOW_OK;
  GstMapInfo map;
  const gchar *id = self->item ? self->item->id : NULL;
  float *y;
  /* a vector that gives no output now: a GAP of its span (or, when the
   * outputs wait for EOS, one GAP so that the sink prerolls) */
  gboolean gap = FALSE, preroll = FALSE;

  gst_affect_train_use_threads (&self->train);

  if (self->n_features == 0 || self->input_caps == NULL) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No caps before data."),
        (NULL));
    gst_buffer_unref (buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gst_buffer_unref (buf);
    return GST_FLOW_ERROR;
  }
  if (map.size != self->n_features * sizeof (float)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Buffer of %" G_GSIZE_FORMAT " bytes, expected %u floats.",
            map.size, self->n_features), (NULL));
    ret = GST_FLOW_ERROR;
    goto out;
  }

  if (self->train.mode == GST_AFFECT_MODE_TRAIN) {
    float *t;
    gboolean ok = self->item != NULL;
    guint i;

    /* test items are never learnt from, so one manifest can feed both
     * the training and the evaluation pipeline */
    gap = TRUE;
    if (self->item && g_strcmp0 (self->item->split, "test") == 0) {
      self->test_items++;
      goto out;
    }
    t = g_new (float, self->n_targets);
    for (i = 0; ok && i < self->n_targets; i++) {
      gdouble v;
      ok = gst_affect_item_get_target (self->item, self->target_names[i], &v)
          || gst_affect_train_parse_label (gst_affect_item_get_column
          (self->item, self->target_names[i]), &v);
      t[i] = (float) v;
    }
    if (!ok) {
      self->skipped++;
      GST_DEBUG_OBJECT (self, "skipping item %s: missing target",
          id ? id : "(none)");
    } else if (!gst_affect_train_add_row (GST_ELEMENT (self), self->dataset,
            (const float *) map.data, t, self->item
            && g_strcmp0 (self->item->split, "validation") == 0,
            &self->skipped)) {
      ret = GST_FLOW_ERROR;
    } else if (vector_is_finite (t, self->n_targets)
        && vector_is_finite ((const float *) map.data, self->n_features)) {
      if (self->range_lo == NULL) {
        self->range_lo = g_new (gdouble, self->n_targets);
        self->range_hi = g_new (gdouble, self->n_targets);
        for (i = 0; i < self->n_targets; i++)
          self->range_lo[i] = self->range_hi[i] = t[i];
      }
      for (i = 0; i < self->n_targets; i++) {
        self->range_lo[i] = MIN (self->range_lo[i], t[i]);
        self->range_hi[i] = MAX (self->range_hi[i], t[i]);
      }
    }
    g_free (t);
    goto out;
  }

  if (!vector_is_finite ((const float *) map.data, self->n_features)) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Item \"%s\" (%s): feature vector with NaN or infinite values, no "
            "prediction.", id ? id : "", self->item
            && self->item->path ? self->item->path : "no path"), (NULL));
    gap = TRUE;
    goto out;
  }

  if (self->standardise == GST_AFFECT_STANDARDISE_PER_STREAM) {
    Pending *p = g_new0 (Pending, 1);
    p->features = g_memdup2 (map.data, map.size);
    p->id = g_strdup (id);
    p->path = g_strdup (self->item ? self->item->path : NULL);
    p->pts = GST_BUFFER_PTS (buf);
    p->duration = GST_BUFFER_DURATION (buf);
    g_queue_push_tail (&self->pending, p);
    preroll = TRUE;
    goto out;
  }

  y = g_new (float, self->n_targets);
  predict (self, (const float *) map.data, y, 1, NULL, NULL);
  if (check_prediction (self, y, id, self->item ? self->item->path : NULL))
    ret = push_prediction (self, y, id, GST_BUFFER_PTS (buf),
        GST_BUFFER_DURATION (buf));
  g_free (y);

out:
  if (ret == GST_FLOW_OK && gap)
    gst_affect_gap_push (&self->gap, self->srcpad, GST_BUFFER_PTS (buf),
        GST_BUFFER_DURATION (buf));
  else if (ret == GST_FLOW_OK && preroll)
    gst_affect_gap_preroll (&self->gap, self->srcpad, GST_BUFFER_PTS (buf));
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return ret;
}

/* per-stream standardisation: predict every held vector with the
 * stream's statistics and replay the held events and outputs in order */
static void
flush_pending (GstAffectRegress * self)
{
  const int d = self->n_features, k = self->n_targets;
  GList *l;
  int n = 0, i = 0;
  float *x, *y, *mean, *std;

  for (l = self->pending.head; l; l = l->next)
    n += ((Pending *) l->data)->features != NULL;
  x = g_new (float, (size_t) MAX (n, 1) * d);
  y = g_new (float, (size_t) MAX (n, 1) * k);
  mean = g_new (float, d);
  std = g_new (float, d);
  for (l = self->pending.head; l; l = l->next) {
    Pending *p = l->data;
    if (p->features)
      memcpy (x + (size_t) i++ * d, p->features, d * sizeof (float));
  }
  if (n > 0) {
    affect_standardisation_compute (x, n, d, mean, std);
    predict (self, x, y, n, mean, std);
  }
  i = 0;
  while (!g_queue_is_empty (&self->pending)) {
    Pending *p = g_queue_pop_head (&self->pending);
    if (p->event) {
      gst_pad_push_event (self->srcpad, p->event);
      p->event = NULL;
    } else {
      const float *yi = y + (size_t) i++ * k;
      if (check_prediction (self, yi, p->id, p->path))
        push_prediction (self, yi, p->id, p->pts, p->duration);
    }
    pending_free (p);
  }
  g_free (x);
  g_free (y);
  g_free (mean);
  g_free (std);
}

typedef struct
{
  GstAffectRegress *self;
  const gchar *target;
} EpochCtx;

static gboolean
on_epoch (const AffectMlpEpochReport * report, gpointer user_data)
{
  EpochCtx *ctx = user_data;
  gst_affect_train_post_epoch (GST_ELEMENT (ctx->self), report, ctx->target,
      "mae");
  return TRUE;
}

static gboolean
train_and_write (GstAffectRegress * self)
{
  AffectMlpConfig config = { 0 };
  AffectMlpTrainConfig tc;
  guint m, n_models = self->multi_output ? 1 : self->n_targets;
  int n = affect_dataset_size (self->dataset, FALSE);
  int nv = affect_dataset_size (self->dataset, TRUE);

  if (self->skipped > 0)
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("%u vectors skipped: no item, a missing target (%s) or non-finite "
            "values.", self->skipped, self->targets), (NULL));
  if (self->test_items > 0)
    GST_INFO_OBJECT (self, "%u test items not used for training",
        self->test_items);
  if (n == 0) {
    gchar *note = gst_affect_train_split_note (self->test_items);
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("No training items with targets \"%s\" (%u skipped%s).",
            self->targets, self->skipped, note), (NULL));
    g_free (note);
    return FALSE;
  }
  config.n_inputs = self->n_features;
  gst_affect_train_parse_hidden (self->train.hidden_sizes, &config);
  config.hidden_activation = AFFECT_ACTIVATION_RELU;
  config.output_activation =
      self->output_activation == GST_AFFECT_OUTPUT_RELU ?
      AFFECT_ACTIVATION_RELU : AFFECT_ACTIVATION_IDENTITY;
  config.n_outputs = self->multi_output ? self->n_targets : 1;

  affect_mlp_train_config_init (&tc);
  gst_affect_train_settings_apply (&self->train, &tc);
  tc.loss = AFFECT_MLP_LOSS_MSE;
  tc.vat = self->vat;
  tc.vat_config.epsilon = self->epsilon;
  tc.vat_config.lambda = self->lambda;
  tc.vat_config.xi = self->xi;
  tc.vat_config.power_iterations = self->power_iterations;
  tc.vat_config.power = self->power_method;

  for (m = 0; m < n_models; m++) {
    AffectMlpTrainResult res;
    GError *error = NULL;
    AffectMlp *mlp = affect_mlp_new (&config, self->train.seed, &error);
    EpochCtx ctx = { self, self->multi_output ? NULL : self->target_names[m] };
    gchar *path = self->multi_output ? g_strdup (self->train.model_file) :
        gst_affect_train_target_path (self->train.model_file,
        self->target_names[m]);
    gchar *value;
    gchar *checkpoint = gst_affect_train_checkpoint_path (path);
    gboolean ok;

    /* one checkpoint per model file */
    tc.checkpoint_path = checkpoint;
    ok = mlp != NULL && affect_mlp_train_dataset (mlp, &tc, self->dataset,
        self->multi_output ? -1 : (int) m, self->train.validation_fraction,
        on_epoch, &ctx, &res, &error);
    g_free (checkpoint);

    if (ok) {
      if (self->multi_output)
        affect_mlp_set_names (mlp, (const char *const *) self->target_names);
      else
        affect_mlp_set_names (mlp, (const char *[]) {
            self->target_names[m], NULL
            });
      affect_mlp_set_metadata (mlp, "task", "regression");
      affect_mlp_set_metadata (mlp, "feature", self->input_caps ?
          gst_structure_get_string (gst_caps_get_structure
              (self->input_caps, 0), "feature") : NULL);
      gst_affect_train_set_sample_rate (mlp, self->input_caps);
      affect_mlp_set_metadata (mlp, "training", self->vat ? "vat" : "mse");
      value = g_strdup_printf ("epsilon=%g,lambda=%g,xi=%g,power-iterations="
          "%u,epochs=%u,batch-size=%u,learning-rate=%g,seed=%" G_GUINT64_FORMAT,
          self->epsilon, self->lambda, self->xi, self->power_iterations,
          self->train.epochs, self->train.batch_size,
          self->train.learning_rate, self->train.seed);
      affect_mlp_set_metadata (mlp, "training-parameters", value);
      g_free (value);
      /* the training targets' range, for the far-outside warning */
      if (self->range_lo) {
        GString *lo = g_string_new (NULL), *hi = g_string_new (NULL);
        guint t0 = self->multi_output ? 0 : m;
        guint t1 = self->multi_output ? self->n_targets : m + 1, t;
        gchar num[G_ASCII_DTOSTR_BUF_SIZE];
        for (t = t0; t < t1; t++) {
          g_string_append_printf (lo, "%s%s", t > t0 ? "," : "",
              g_ascii_formatd (num, sizeof (num), "%.9g", self->range_lo[t]));
          g_string_append_printf (hi, "%s%s", t > t0 ? "," : "",
              g_ascii_formatd (num, sizeof (num), "%.9g", self->range_hi[t]));
        }
        affect_mlp_set_metadata (mlp, "target-min", lo->str);
        affect_mlp_set_metadata (mlp, "target-max", hi->str);
        g_string_free (lo, TRUE);
        g_string_free (hi, TRUE);
      }
      ok = affect_mlp_save (mlp, path, &error);
    }
    if (!ok) {
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("Training or writing %s failed: %s", path,
              error ? error->message : "unknown error"), (NULL));
      g_clear_error (&error);
      affect_mlp_free (mlp);
      g_free (path);
      return FALSE;
    }
    if (res.constant_output)
      GST_ELEMENT_WARNING (self, STREAM, FAILED,
          ("The model in %s predicts a constant on the validation items.",
              path), ("output-activation=relu dies on targets around 0; "
              "use output-activation=linear"));
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self),
            gst_structure_new ("affect-train-done",
                "model-file", G_TYPE_STRING, path,
                "items", G_TYPE_UINT, (guint) n,
                "validation-items", G_TYPE_UINT, (guint) nv,
                "best-epoch", G_TYPE_UINT, (guint) res.best_epoch,
                "validation-metric", G_TYPE_DOUBLE,
                res.best_validation_metric, "constant-output",
                G_TYPE_BOOLEAN, res.constant_output, NULL)));
    affect_mlp_free (mlp);
    g_free (path);
  }
  return TRUE;
}

static gboolean
gst_affect_regress_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  GstAffectRegress *self = GST_AFFECT_REGRESS (parent);
  gboolean holding = self->train.mode == GST_AFFECT_MODE_INFER
      && self->standardise == GST_AFFECT_STANDARDISE_PER_STREAM;

  gst_affect_train_use_threads (&self->train);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ok;
      gst_event_parse_caps (event, &caps);
      /* a refusal's error is posted once, not at every retry upstream */
      if (gst_affect_caps_refused_before (pad, caps)) {
        gst_event_unref (event);
        return FALSE;
      }
      ok = set_input_caps (self, caps);
      gst_affect_caps_note (pad, caps, ok);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment (event, &self->segment);
      gst_affect_gap_reset (&self->gap);
      break;
    case GST_EVENT_GAP:{
      GstClockTime ts, duration;

      /* one vector in, one out: a GAP passes as it is; outputs held until
       * EOS have only the preroll GAP */
      gst_event_parse_gap (event, &ts, &duration);
      gst_event_unref (event);
      if (holding)
        return gst_affect_gap_preroll (&self->gap, self->srcpad, ts);
      return gst_affect_gap_push (&self->gap, self->srcpad, ts, duration);
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_affect_event_is_item_start (event)) {
        g_clear_pointer (&self->item, gst_affect_item_free);
        self->item = gst_affect_item_parse_start_event (event);
      } else if (gst_affect_event_is_item_end (event)) {
        g_clear_pointer (&self->item, gst_affect_item_free);
      }
      break;
    case GST_EVENT_EOS:
      if (self->train.mode == GST_AFFECT_MODE_TRAIN) {
        if (!train_and_write (self)) {
          gst_event_unref (event);
          return FALSE;
        }
      } else if (holding) {
        flush_pending (self);
      }
      break;
    case GST_EVENT_FLUSH_STOP:
      g_queue_clear_full (&self->pending, (GDestroyNotify) pending_free);
      gst_affect_gap_reset (&self->gap);
      break;
    default:
      break;
  }
  if (holding && GST_EVENT_IS_SERIALIZED (event)
      && GST_EVENT_TYPE (event) != GST_EVENT_EOS
      && GST_EVENT_TYPE (event) != GST_EVENT_FLUSH_STOP
      && GST_EVENT_TYPE (event) != GST_EVENT_STREAM_START
      && GST_EVENT_TYPE (event) != GST_EVENT_SEGMENT) {
    Pending *p = g_new0 (Pending, 1);
    p->event = event;
    g_queue_push_tail (&self->pending, p);
    return TRUE;
  }
  return gst_pad_event_default (pad, parent, event);
}

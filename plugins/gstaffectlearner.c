/* GstAffectLearner: mode, model-file, the training knobs, train at EOS and
 * the messages, shared by affectclassify, affectregress and affectgate */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "affect/atomicfile.h"
#include "affect/regressor.h"
#include "affect/splits.h"
#include "gstaffectcaps.h"
#include "gstaffectitem.h"
#include "gstaffectlearner.h"

GST_DEBUG_CATEGORY_STATIC (affect_learner_debug);
#define GST_CAT_DEFAULT affect_learner_debug

GST_AFFECT_ENUM (GstAffectMode, gst_affect_mode) = {
  {GST_AFFECT_MODE_INFER, "Predict with model-file", "infer"},
  {GST_AFFECT_MODE_TRAIN, "Cache features, train at EOS, write model-file",
      "train"},
  {0, NULL, NULL}
};

#define L GstAffectLearner
/* the common knobs, with the MLPs' defaults; a class's table may restate
 * one (other default, range or words) or leave it out */
static const GstAffectProp common_props[] = {
  GST_AFFECT_PROP_ENUM ("mode", "Mode",
      "infer: predict with model-file; train: cache every item's features "
      "and labels, train at EOS and write model-file", L, mode,
      gst_affect_mode_get_type, GST_AFFECT_MODE_INFER, 0),
  GST_AFFECT_PROP_STRING ("model-file", "Model file",
      "The model (safetensors): read in infer mode, written atomically at "
      "the end of training", L, model_file, NULL, 0),
  GST_AFFECT_PROP_STRING ("hidden-sizes", "Hidden sizes",
      "Widths of the hidden layers, comma-separated (train mode)", L,
      hidden_sizes, "1200,600", 0),
  GST_AFFECT_PROP_UINT ("epochs", "Epochs", "Training epochs", L, epochs,
      1, 100000, 50, 0),
  GST_AFFECT_PROP_UINT ("batch-size", "Batch size", "Items per mini-batch",
      L, batch_size, 1, 65536, 64, 0),
  GST_AFFECT_PROP_DOUBLE ("learning-rate", "Learning rate",
      "Adam learning rate", L, learning_rate, 1e-9, 10.0, 1e-3, 0),
  GST_AFFECT_PROP_UINT64 ("seed", "Seed",
      "Seed of the initial weights, shuffling, hold-out and VAT directions "
      "(same seed, same model)", L, seed, 0, -1, 0, 0),
  GST_AFFECT_PROP_UINT ("threads", "Threads",
      "Threads for training and inference (0 = the process default: "
      "AFFECT_THREADS, else OPENBLAS_NUM_THREADS, else all cores)", L,
      threads, 0, 256, 0, 0),
  GST_AFFECT_PROP_DOUBLE ("validation-fraction", "Validation fraction",
      "Fraction of the training items held out for model selection when no "
      "item has split=validation (0 = keep the last epoch)", L,
      validation_fraction, 0.0, 0.9, 0.1, 0),
  GST_AFFECT_PROP_STRING ("validation-group", "Validation group",
      "Manifest column (e.g. speaker, artist) whose groups are held out "
      "whole for model selection: about validation-fraction of the groups, "
      "drawn by seed, so that no group is on both sides (NULL = hold out "
      "single items)", L, validation_group, NULL, 0),
  GST_AFFECT_PROP_UINT ("patience", "Patience",
      "Stop after this many epochs without a better validation score "
      "(0 = run every epoch); the best epoch is kept either way", L,
      patience, 0, 100000, 0, 0),
  GST_AFFECT_PROP_BOOL ("resume", "Resume",
      "Train: continue from the checkpoint <model-file>.ckpt if present "
      "(written after every epoch; same settings, data and threads give the "
      "same model as an uninterrupted run)", L, resume, FALSE, 0),
  GST_AFFECT_PROP_UINT ("cache-budget", "Cache budget",
      "Train: MiB of feature vectors kept in memory; the rest spills to a "
      "temporary file", L, cache_budget, 0, G_MAXUINT, 1024, 0),
  GST_AFFECT_PROP_BOOL ("post-messages", "Post messages",
      "Post an affect-prediction element message per vector", L,
      post_messages, TRUE, 0),
};

#undef L

static gpointer parent_class;
static void gst_affect_learner_class_init (GstAffectLearnerClass * klass);
static void gst_affect_learner_init (GstAffectLearner * self,
    GstAffectLearnerClass * klass);

/* by hand, not G_DEFINE_TYPE: instance init needs the final class (its
 * sink template and properties), which GLib passes but the macro drops */
GType
gst_affect_learner_get_type (void)
{
  static GType type = 0;

  if (g_once_init_enter (&type)) {
    GType t = g_type_register_static_simple (GST_TYPE_ELEMENT,
        "GstAffectLearner", sizeof (GstAffectLearnerClass),
        (GClassInitFunc) (void (*)(void)) gst_affect_learner_class_init,
        sizeof (GstAffectLearner),
        (GInstanceInitFunc) (void (*)(void)) gst_affect_learner_init,
        G_TYPE_FLAG_ABSTRACT);
    GST_DEBUG_CATEGORY_INIT (affect_learner_debug, "affectlearner", 0,
        "training elements' base class");
    g_once_init_leave (&type, t);
  }
  return type;
}

void
gst_affect_learner_class_setup (GstAffectLearnerClass * klass,
    const gchar * const *srcs, const GstAffectProp * props, guint n_props,
    const gchar * longname, const gchar * classification,
    const gchar * description, const gchar * author)
{
  static GstStaticCaps tensors =
      GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstCaps *caps = gst_static_caps_get (&tensors);
  /* the class's for good: its param specs point into it */
  GstAffectProp *all = g_new (GstAffectProp, n_props +
      G_N_ELEMENTS (common_props));
  const gchar *const src[] = { "src", NULL };
  guint i, j, n = n_props;

  memcpy (all, props, n_props * sizeof (GstAffectProp));
  for (i = 0; i < G_N_ELEMENTS (common_props); i++) {
    const GstAffectProp *c = &common_props[i];
    GstAffectProp *r = NULL;

    for (j = 0; j < n_props && r == NULL; j++)
      if (props[j].kind == GST_AFFECT_PROP_NONE
          && !strcmp (props[j].name, c->name))
        r = &all[j];
    if (r == NULL) {
      all[n++] = *c;
    } else if (r->blurb != NULL) {      /* restated */
      GstAffectProp knob = *c;

      knob.blurb = r->blurb;
      if (r->min <= r->max) {
        knob.min = r->min;
        knob.max = r->max;
        knob.def = r->def;
        knob.def_string = r->def_string;
      }
      *r = knob;
    }
  }
  gst_affect_props_install (G_OBJECT_CLASS (klass), all, n,
      G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY);
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  for (srcs = srcs ? srcs : src; *srcs; srcs++)
    gst_element_class_add_pad_template (element_class,
        gst_pad_template_new (*srcs, GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref (caps);
  gst_element_class_set_static_metadata (element_class, longname,
      classification, description, author);
}

static void
held_free (GstAffectHeld * h)
{
  if (h->event)
    gst_event_unref (h->event);
  g_free (h->id);
  g_free (h->path);
  g_free (h);
}

void
gst_affect_learner_hold (GstAffectLearner * self, GstEvent * event,
    GstBuffer * buf)
{
  GstAffectHeld *h = g_new0 (GstAffectHeld, 1);

  h->event = event;
  if (buf != NULL) {
    h->id = g_strdup (self->item ? self->item->id : NULL);
    h->path = g_strdup (self->item ? self->item->path : NULL);
    h->pts = GST_BUFFER_PTS (buf);
    h->duration = GST_BUFFER_DURATION (buf);
  }
  g_queue_push_tail (&self->held, h);
}

gboolean
gst_affect_learner_release (GstAffectLearner * self, GstPad * pad,
    void (*emit) (GstAffectLearner *, const GstAffectHeld *, guint,
        gpointer), gpointer data)
{
  gboolean ok = TRUE;
  guint i = 0;

  while (!g_queue_is_empty (&self->held)) {
    GstAffectHeld *h = g_queue_pop_head (&self->held);
    if (pad != NULL && h->event != NULL)
      ok &= gst_pad_push_event (pad, g_steal_pointer (&h->event));
    else if (pad != NULL && emit != NULL)
      emit (self, h, i++, data);
    held_free (h);
  }
  return ok;
}

/* the stream state, as after init */
static void
reset_stream (GstAffectLearner * self)
{
  gst_affect_learner_release (self, NULL, NULL, NULL);
  g_clear_pointer (&self->item, gst_affect_item_free);
  g_clear_pointer (&self->regressor, affect_regressor_free);
  g_clear_pointer (&self->dataset, affect_dataset_free);
  self->n_features = 0;
  gst_affect_gap_reset (&self->gap[0]);
  gst_affect_gap_reset (&self->gap[1]);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
}

static void
gst_affect_learner_finalize (GObject * object)
{
  GstAffectLearner *self = GST_AFFECT_LEARNER (object);
  GstAffectLearnerClass *klass = GST_AFFECT_LEARNER_GET_CLASS (self);

  klass->stop (self);
  if (klass->close)
    klass->close (self);
  reset_stream (self);
  gst_affect_props_finalize (object);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

gboolean
gst_affect_learner_set_output_caps (GstAffectLearner * self, guint n,
    gint rate_n, gint rate_d, const gchar * output, gchar ** names)
{
  GstAffectTensorInfo info;
  GstCaps *caps;
  gchar *joined = g_strjoinv (",", names);
  gboolean ok;

  gst_affect_tensor_info_init (&info, 1, &n, rate_n, rate_d);
  caps = gst_affect_tensor_caps_from_info (&info);
  gst_caps_set_simple (caps, "affect-output", G_TYPE_STRING, output,
      "names", G_TYPE_STRING, joined, NULL);
  g_free (joined);
  if (!(ok = gst_pad_set_caps (self->srcpad, caps)))
    GST_DEBUG_OBJECT (self, "downstream refused %" GST_PTR_FORMAT, caps);
  gst_caps_unref (caps);
  return ok;
}

gchar *
gst_affect_learner_model_file (GstAffectLearner * self)
{
  gchar *path;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_file);
  GST_OBJECT_UNLOCK (self);
  if (path == NULL)
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No model-file set."),
        ("mode=%s model-file", self->mode == GST_AFFECT_MODE_TRAIN ?
            "train writes" : "infer needs"));
  return path;
}

static gboolean
check_train_settings (GstAffectLearner * self)
{
  GError *error = NULL;
  AffectMlpConfig probe = { 0 };
  gchar *path = gst_affect_learner_model_file (self);

  g_free (path);
  if (path == NULL)
    return FALSE;
  /* training writes model-file (and the checkpoint, per-target files
   * beside it) at the end: check its folder before any item is read */
  if (!affect_atomic_file_check_writable (self->model_file, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Cannot write model-file: %s", error->message),
        ("checked before any item is read"));
    g_error_free (error);
    return FALSE;
  }
  if (self->hidden_sizes != NULL
      && !affect_mlp_parse_hidden (self->hidden_sizes, &probe)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid hidden-sizes \"%s\".", self->hidden_sizes),
        ("expected positive integers separated by commas, at most %d",
            AFFECT_MLP_MAX_HIDDEN));
    return FALSE;
  }
  return TRUE;
}

static GstStateChangeReturn
gst_affect_learner_change_state (GstElement * element,
    GstStateChange transition)
{
  GstAffectLearner *self = GST_AFFECT_LEARNER (element);
  GstAffectLearnerClass *klass = GST_AFFECT_LEARNER_GET_CLASS (self);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_NULL_TO_READY && klass->open
      && !klass->open (self))
    return GST_STATE_CHANGE_FAILURE;
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    self->skipped = self->test_items = self->ungrouped = self->best_epoch = 0;
    self->best_metric = NAN;
    klass->stop (self);
    reset_stream (self);
    if ((self->mode == GST_AFFECT_MODE_TRAIN && !check_train_settings (self))
        || (klass->start && !klass->start (self)))
      return GST_STATE_CHANGE_FAILURE;
  }
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    klass->stop (self);
    reset_stream (self);
  }
  if (transition == GST_STATE_CHANGE_READY_TO_NULL && klass->close)
    klass->close (self);
  return ret;
}

static GstFlowReturn
gst_affect_learner_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstAffectLearner *self = GST_AFFECT_LEARNER (parent);

  /* libaffect's thread count belongs to the calling thread */
  affect_set_threads ((int) self->threads);
  return GST_AFFECT_LEARNER_GET_CLASS (self)->chain (self, buf);
}

static gboolean
gst_affect_learner_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  GstAffectLearner *self = GST_AFFECT_LEARNER (parent);
  GstAffectLearnerClass *klass = GST_AFFECT_LEARNER_GET_CLASS (self);
  gboolean ending = FALSE, ret;

  affect_set_threads ((int) self->threads);
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ok;

      gst_event_parse_caps (event, &caps);
      /* a refusal's error is posted once, not at every retry upstream */
      ok = !gst_affect_caps_refused_before (pad, caps)
          && klass->set_caps (self, caps);
      gst_affect_caps_note (pad, caps, ok);
      if (!ok || self->srcpad != NULL) {        /* src caps: the element's */
        gst_event_unref (event);
        return ok;
      }
      break;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment (event, &self->segment);
      gst_affect_gap_reset (&self->gap[0]);
      gst_affect_gap_reset (&self->gap[1]);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_affect_learner_release (self, NULL, NULL, NULL);
      gst_affect_gap_reset (&self->gap[0]);
      gst_affect_gap_reset (&self->gap[1]);
      ending = TRUE;            /* the item in flight is gone */
      break;
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_affect_event_is_item_start (event)) {
        g_clear_pointer (&self->item, gst_affect_item_free);
        self->item = gst_affect_item_parse_start_event (event);
      }
      ending = gst_affect_event_is_item_end (event);
      break;
    case GST_EVENT_EOS:
      if (klass->drain)
        klass->drain (self);
      if (self->mode == GST_AFFECT_MODE_TRAIN && !klass->train (self)) {
        gst_event_unref (event);
        return FALSE;
      }
      break;
    default:
      break;
  }
  ret = klass->sink_event (self, event);
  if (ending)
    g_clear_pointer (&self->item, gst_affect_item_free);
  return ret;
}

static void
gst_affect_learner_class_init (GstAffectLearnerClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->finalize = gst_affect_learner_finalize;
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_affect_learner_change_state);
  parent_class = g_type_class_peek_parent (klass);
  gst_type_mark_as_plugin_api (GST_TYPE_AFFECT_LEARNER, 0);
}

static void
gst_affect_learner_init (GstAffectLearner * self, GstAffectLearnerClass * klass)
{
  self->sinkpad = gst_pad_new_from_template (gst_element_class_get_pad_template
      (GST_ELEMENT_CLASS (klass), "sink"), "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_affect_learner_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_affect_learner_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  if (gst_element_class_get_pad_template (GST_ELEMENT_CLASS (klass), "src")) {
    self->srcpad = gst_pad_new_from_template
        (gst_element_class_get_pad_template (GST_ELEMENT_CLASS (klass),
            "src"), "src");
    gst_pad_use_fixed_caps (self->srcpad);
    gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  }
  reset_stream (self);
  /* the defaults are the param specs' (of the final class) */
  self->post_messages = TRUE;
  gst_affect_props_init_class (G_OBJECT (self), G_OBJECT_CLASS (klass));
}

static void
post (GstAffectLearner * self, GstStructure * s)
{
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

void
gst_affect_learner_post_prediction (GstAffectLearner * self,
    GstClockTime pts, GstClockTime duration, const gchar * id,
    const float *scores, const gchar * const *names, guint n,
    const guint * pick, guint n_pick, gint route)
{
  GstStructure *s;

  if (!self->post_messages)
    return;
  s = gst_affect_message_structure_new ("affect-prediction", &self->segment,
      pts, duration);
  gst_structure_set (s, "id", G_TYPE_STRING, id ? id : "", NULL);
  gst_affect_structure_set_floats (s, "scores", scores, n);
  gst_affect_structure_set_strings (s, "names", names, NULL, n);
  if (pick != NULL)
    gst_affect_structure_set_strings (s, "labels", names, pick, n_pick);
  if (route >= 0)
    gst_structure_set (s, "route", G_TYPE_INT, route, NULL);
  post (self, s);
}

gboolean
gst_affect_learner_post_epoch (const AffectTrainEpoch * e, gpointer data)
{
  GstAffectLearner *self = data;
  GstStructure *s = gst_structure_new ("affect-train-epoch",
      "epoch", G_TYPE_UINT, (guint) e->epoch,
      "epochs", G_TYPE_UINT, (guint) e->total_epochs,
      "phase", G_TYPE_STRING, e->phase,
      "learning-rate", G_TYPE_DOUBLE, e->learning_rate,
      "train-loss", G_TYPE_DOUBLE, e->train_loss,
      "train-mse", G_TYPE_DOUBLE, e->train_mse,
      "train-lds", G_TYPE_DOUBLE, e->train_lds,
      "validation-loss", G_TYPE_DOUBLE, e->validation_loss,
      "validation-metric", G_TYPE_DOUBLE, e->validation_metric,
      "metric", G_TYPE_STRING, e->metric_name,
      "validation-accuracy", G_TYPE_DOUBLE, e->validation_accuracy,
      "seconds", G_TYPE_DOUBLE, e->seconds,
      "best", G_TYPE_BOOLEAN, e->best, NULL);

  if (self->target != NULL)
    gst_structure_set (s, "target", G_TYPE_STRING, self->target, NULL);
  if (e->best) {
    self->best_epoch = (guint) e->epoch;
    self->best_metric = e->validation_metric;
  }
  GST_INFO_OBJECT (self, "epoch %d/%d %s loss %.5f %s %.4f", e->epoch,
      e->total_epochs, e->phase, e->train_loss, e->metric_name,
      e->validation_metric);
  post (self, s);
  return TRUE;
}

void
gst_affect_learner_post_done (GstAffectLearner * self,
    const gchar * model_file, guint items, guint validation_items,
    guint best_epoch, gdouble validation_metric,
    gdouble validation_accuracy, gboolean constant_output)
{
  post (self, gst_structure_new ("affect-train-done",
          "model-file", G_TYPE_STRING, model_file,
          "items", G_TYPE_UINT, items,
          "validation-items", G_TYPE_UINT, validation_items,
          "best-epoch", G_TYPE_UINT, best_epoch,
          "validation-metric", G_TYPE_DOUBLE, validation_metric,
          "validation-accuracy", G_TYPE_DOUBLE, validation_accuracy,
          "constant-output", G_TYPE_BOOLEAN, constant_output, NULL));
}

gboolean
gst_affect_learner_mlp_config (GstAffectLearner * self,
    AffectMlpTrainConfig * tc, const gchar * wanted)
{
  if (self->skipped > 0)
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("%u vectors skipped: no item, no \"%s\" or non-finite values.",
            self->skipped, wanted), (NULL));
  if (affect_dataset_size (self->dataset, FALSE) == 0)
    return gst_affect_learner_no_items_error (self, wanted);
  affect_mlp_train_config_init (tc);
  tc->epochs = self->epochs;
  tc->batch_size = self->batch_size;
  tc->learning_rate = self->learning_rate;
  tc->seed = self->seed;
  tc->patience = self->patience;
  tc->resume = self->resume;
  return TRUE;
}

gboolean
gst_affect_learner_train_mlp (GstAffectLearner * self, AffectMlpFileJob * job,
    const AffectMlpTrainConfig * config, const gchar * target,
    const gchar * constant_hint)
{
  AffectMlpTrainResult res;
  GError *error = NULL;
  const guint n_validation = affect_dataset_size (self->dataset, TRUE);

  job->hidden_sizes = self->hidden_sizes;
  job->dataset = self->dataset;
  /* grouped: the groups were held out as they came, single items never */
  job->validation_fraction = self->validation_group ? 0.0 :
      self->validation_fraction;
  self->target = target;
  gst_affect_learner_check_groups (self, n_validation);
  if (!affect_mlp_train_file (job, config, gst_affect_learner_post_epoch, self,
          &res, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Training or writing %s failed: %s", job->path,
            error ? error->message : "unknown error"), (NULL));
    g_clear_error (&error);
    return FALSE;
  }
  if (res.constant_output && constant_hint)
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("The model in %s predicts a constant on the validation items.",
            job->path), ("%s", constant_hint));
  gst_affect_learner_post_done (self, job->path,
      affect_dataset_size (self->dataset, FALSE), n_validation,
      (guint) res.best_epoch, res.best_validation_metric,
      res.best_validation_accuracy, res.constant_output);
  return TRUE;
}

gboolean
gst_affect_learner_is_test_item (GstAffectLearner * self,
    const GstAffectItem * item)
{
  if (item == NULL || g_strcmp0 (item->split, "test") != 0)
    return FALSE;
  self->test_items++;
  return TRUE;
}

gboolean
gst_affect_learner_is_validation_item (GstAffectLearner * self,
    const GstAffectItem * item)
{
  const gchar *group = NULL;
  gchar num[G_ASCII_DTOSTR_BUF_SIZE];
  gdouble v;

  if (item == NULL)
    return FALSE;
  /* a numeric column (speaker 03) arrives among the targets */
  if (self->validation_group != NULL && (group = gst_affect_item_get_column
          (item, self->validation_group)) == NULL
      && gst_affect_item_get_target (item, self->validation_group, &v))
    group = g_ascii_formatd (num, sizeof (num), "%.17g", v);
  return affect_split_of (item->split, self->validation_group, group,
      self->seed, self->validation_fraction, &self->ungrouped)
      == AFFECT_SPLIT_VALIDATION;
}

void
gst_affect_learner_check_groups (GstAffectLearner * self,
    guint validation_items)
{
  if (self->validation_group == NULL)
    return;
  if (self->ungrouped > 0)
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("%u items have no \"%s\" column: learnt from, never held out.",
            self->ungrouped, self->validation_group), (NULL));
  if (validation_items == 0)
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("validation-group=%s held out no item: the last epoch is kept.",
            self->validation_group),
        ("each group is held out with probability validation-fraction=%g "
            "under the seed; with few groups raise it, change the seed or "
            "mark split=validation items", self->validation_fraction));
}

gboolean
gst_affect_learner_no_items_error (GstAffectLearner * self,
    const gchar * wanted)
{
  gchar *note = affect_split_note (self->test_items);

  GST_ELEMENT_ERROR (self, STREAM, FAILED,
      ("No training items with %s (%u skipped%s).", wanted, self->skipped,
          note), (NULL));
  g_free (note);
  return FALSE;
}

gint
gst_affect_learner_cache_vector (GstAffectLearner * self, const float *x,
    const float *t, guint n)
{
  GError *error = NULL;

  if (gst_affect_learner_is_test_item (self, self->item))
    return 0;
  if (!affect_vector_is_finite (t, n)
      || !affect_vector_is_finite (x, self->n_features)) {
    self->skipped++;
    return 0;
  }
  if (affect_dataset_add (self->dataset, x, t,
          gst_affect_learner_is_validation_item (self, self->item), &error))
    return 1;
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
      ("Cannot cache the training features: %s", error->message), (NULL));
  g_error_free (error);
  return -1;
}

void
gst_affect_learner_describe_mlp (GstAffectLearner * self, AffectMlp * mlp,
    const gchar * task, const gchar * feature)
{
  GstCaps *caps = gst_pad_get_current_caps (self->sinkpad);
  const GstStructure *s = caps ? gst_caps_get_structure (caps, 0) : NULL;
  gint rate;

  affect_mlp_set_metadata (mlp, "task", task);
  affect_mlp_set_metadata (mlp, "feature", feature || s == NULL ? feature :
      gst_structure_get_string (s, "feature"));
  if (s != NULL && gst_structure_get_int (s, "sample-rate", &rate)) {
    gchar *text = g_strdup_printf ("%d", rate);
    affect_mlp_set_metadata (mlp, "sample-rate", text);
    g_free (text);
  }
  gst_clear_caps (&caps);
}

gboolean
gst_affect_learner_vector_caps (GstAffectLearner * self, GstCaps * caps,
    GstAffectTensorInfo * info, gboolean check_feature, guint n_targets)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  GError *error = NULL;
  gint rate = 0;
  guint n;

  if (!gst_affect_tensor_info_from_caps (info, caps)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Input is not a single float32 tensor stream."),
        ("caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  n = gst_affect_tensor_info_n_elements (info);
  gst_structure_get_int (s, "sample-rate", &rate);
  if (self->mode == GST_AFFECT_MODE_INFER && self->regressor != NULL) {
    if (affect_mlp_check_stream (affect_regressor_model (self->regressor),
            self->model_file, n, gst_structure_get_string (s, "feature"),
            check_feature, rate, &error))
      return TRUE;
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("%s", error->message),
        ("caps %" GST_PTR_FORMAT, caps));
    g_error_free (error);
    return FALSE;
  }
  if (self->mode == GST_AFFECT_MODE_TRAIN && self->dataset != NULL
      && n != self->n_features) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Feature size changed from %u to %u during training.",
            self->n_features, n), (NULL));
    return FALSE;
  }
  self->n_features = n;
  if (self->mode == GST_AFFECT_MODE_TRAIN && self->dataset == NULL) {
    self->dataset = affect_dataset_new ((int) n, (int) n_targets);
    affect_dataset_set_cache_budget (self->dataset,
        (size_t) self->cache_budget << 20);
  }
  return TRUE;
}

gboolean
gst_affect_learner_load_regressor (GstAffectLearner * self,
    gboolean multi_output, const gchar * targets)
{
  GError *error = NULL;
  gchar *path = gst_affect_learner_model_file (self);

  if (path == NULL)
    return FALSE;
  self->regressor = affect_regressor_load (path, multi_output, targets, &error);
  g_free (path);
  if (self->regressor != NULL) {
    self->n_features = affect_mlp_get_config (affect_regressor_model
        (self->regressor))->n_inputs;
    return TRUE;
  }
  if (g_error_matches (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH))
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", error->message),
        (NULL));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Cannot load the model: %s", error->message), (NULL));
  g_clear_error (&error);
  return FALSE;
}

GstFlowReturn
gst_affect_learner_map_vector (GstAffectLearner * self, GstBuffer * buf,
    GstMapInfo * map)
{
  GstFlowReturn ret = GST_FLOW_ERROR;
  const guint n = gst_pad_has_current_caps (self->sinkpad) ?
      self->n_features : 0;

  if (n == 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No caps before data."),
        (NULL));
    ret = GST_FLOW_NOT_NEGOTIATED;
  } else if (gst_buffer_map (buf, map, GST_MAP_READ)) {
    if (map->size == n * sizeof (float))
      return GST_FLOW_OK;
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Buffer of %" G_GSIZE_FORMAT " bytes, expected %u floats.",
            map->size, n), (NULL));
    gst_buffer_unmap (buf, map);
  }
  gst_buffer_unref (buf);
  return ret;
}

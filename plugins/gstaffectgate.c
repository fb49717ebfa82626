/* affectgate: the spontaneity gate of the VAT seed (§3.3)
 *
 * An MLP classifier (default 384-1200-600-300-1, ReLU hidden units,
 * sigmoid output) gives each item the probability that its speech is
 * spontaneous. The item — its affect-item-start, every buffer and event up
 * to its affect-item-end — goes whole to src_0 (spontaneous, probability
 * ≥ `threshold`) or src_1 (scripted). The item-start event is held until
 * the item's first feature vector has decided the route, and is forwarded
 * with the fields `route` (int, 0 or 1) and `route-probability` (double)
 * added, so a metric sink behind a `funnel` can report per route. Events
 * outside items (stream-start, caps, segment, EOS) go to both pads; an
 * item that ends without any vector goes to src_1 with probability NaN.
 * Buffers outside items are routed one by one. The idle route gets a GAP
 * event with the timestamp and duration of every buffer sent to the other
 * (docs/protocol.md, "Time without data"), so its sink prerolls offline and
 * keeps running live; a GAP from upstream goes to both routes. Put a queue
 * on each route.
 *
 * mode=train: caches each item's features and its spontaneity label (the
 * `label` target of the item, or a column of that name: 1/0, true/false,
 * spontaneous/scripted, improvised/script); items are routed by that
 * label, so regressors in train mode behind the two pads learn from
 * spontaneous and scripted speech respectively. At EOS the classifier is
 * trained with Adam on binary cross-entropy, selected on validation items
 * (split=validation, or `validation-fraction` held out; items with
 * split=test are routed but not learnt from) and written atomically to
 * model-file. Features are cached in memory up to `cache-budget` MiB, the
 * rest in a temporary file. After every epoch the training state is written
 * atomically to the checkpoint model-file + ".ckpt" (kept at the end);
 * `resume=true` continues from it to the same model an uninterrupted run
 * gives. `route-by=label` routes by the label in infer mode too (an oracle
 * gate without a model), e.g. to score regressors on one style. The model
 * records the `sample-rate` of its training features' caps; in infer mode
 * vectors of another size or rate are refused with one error naming both.
 *
 * Messages:
 *   "affect-prediction" (post-messages=true, infer mode), per routed item:
 *     timestamp, stream-time, running-time, duration  GstClockTime
 *     id       string
 *     scores   GstValueArray of one float (the probability)
 *     names    GstValueArray of one string (label)
 *     route    int
 *   "affect-train-epoch" (train mode): as affectregress, with
 *     validation-metric = BCE, validation-accuracy at 0.5
 *   "affect-train-done" (train mode): model-file, items, validation-items,
 *     best-epoch, validation-metric, validation-accuracy (double)
 *
 * Example launch line (the gated system of the seed):
 *   gst-launch-1.0 affectsrc location=test.csv ! audioconvert !
 *     audioresample ! audio/x-raw,rate=16000,channels=1 ! affectis09 !
 *     affectgate name=g model-file=gate.safetensors
 *     g.src_0 ! queue ! affectregress model-file=spont.safetensors ! f.
 *     g.src_1 ! queue ! affectregress model-file=script.safetensors ! f.
 *     funnel name=f ! affectmetrics location=mae.json
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "gstaffectcaps.h"
#include "gstaffectgate.h"
#include "gstaffectelements.h"
#include "gstaffecttensor.h"

GST_DEBUG_CATEGORY_STATIC (affect_gate_debug);
#define GST_CAT_DEFAULT affect_gate_debug

#define DEFAULT_THRESHOLD 0.5
#define DEFAULT_LABEL "spontaneity"
#define DEFAULT_HIDDEN "1200,600,300"
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_ROUTE_BY GST_AFFECT_ROUTE_BY_MODEL

enum
{
  PROP_0,
  PROP_THRESHOLD,
  PROP_ROUTE_BY,
  PROP_LABEL,
  PROP_POST_MESSAGES,
  PROP_TRAIN_FIRST
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE));
static GstStaticPadTemplate src0_template = GST_STATIC_PAD_TEMPLATE ("src_0",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE));
static GstStaticPadTemplate src1_template = GST_STATIC_PAD_TEMPLATE ("src_1",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AFFECT_TENSOR_CAPS_TEMPLATE));

#define GST_TYPE_AFFECT_ROUTE_BY (gst_affect_route_by_get_type ())
static GType
gst_affect_route_by_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_AFFECT_ROUTE_BY_MODEL, "The classifier's probability (infer mode)",
        "model"},
    {GST_AFFECT_ROUTE_BY_LABEL,
          "The item's own spontaneity label (always in train mode)",
        "label"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAffectRouteBy", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define gst_affect_gate_parent_class parent_class
G_DEFINE_TYPE (GstAffectGate, gst_affect_gate, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (affectgate, "affectgate",
    GST_RANK_NONE, GST_TYPE_AFFECT_GATE,
    GST_DEBUG_CATEGORY_INIT (affect_gate_debug, "affectgate", 0,
        "spontaneity gate"));

static void gst_affect_gate_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_affect_gate_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_affect_gate_finalize (GObject * object);
static GstStateChangeReturn gst_affect_gate_change_state (GstElement *
    element, GstStateChange transition);
static GstFlowReturn gst_affect_gate_chain (GstPad * pad, GstObject * parent,
    GstBuffer * buf);
static gboolean gst_affect_gate_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event);

static void
gst_affect_gate_class_init (GstAffectGateClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_affect_gate_set_property;
  gobject_class->get_property = gst_affect_gate_get_property;
  gobject_class->finalize = gst_affect_gate_finalize;

  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Items with a spontaneity probability at or above this go to "
          "src_0, the others to src_1", 0.0, 1.0, DEFAULT_THRESHOLD, rw));
  g_object_class_install_property (gobject_class, PROP_ROUTE_BY,
      g_param_spec_enum ("route-by", "Route by",
          "Route by the classifier (model) or by the item's label (label: "
          "an oracle gate, e.g. to evaluate regressors on one style); "
          "train mode always routes by label", GST_TYPE_AFFECT_ROUTE_BY,
          DEFAULT_ROUTE_BY, rw));
  g_object_class_install_property (gobject_class, PROP_LABEL,
      g_param_spec_string ("label", "Label",
          "Target (or column) of the item holding its spontaneity label "
          "(train mode)", DEFAULT_LABEL, rw));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an affect-prediction element message per routed item",
          DEFAULT_POST_MESSAGES, rw));
  gst_affect_train_install_properties (gobject_class, PROP_TRAIN_FIRST,
      DEFAULT_HIDDEN, "The spontaneity classifier (safetensors): read in "
      "infer mode, written atomically at the end of training");

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src0_template);
  gst_element_class_add_static_pad_template (element_class, &src1_template);
  gst_type_mark_as_plugin_api (GST_TYPE_AFFECT_ROUTE_BY, 0);
  gst_element_class_set_static_metadata (element_class,
      "Affect spontaneity gate", "Filter/Demuxer/Tensor",
      "Routes each item whole to src_0 (spontaneous) or src_1 (scripted) by "
      "an MLP classifier's probability; trains the classifier in "
      "mode=train. Example: ... ! affectis09 ! affectgate name=g "
      "model-file=gate.safetensors g.src_0 ! queue ! affectregress "
      "model-file=spont.safetensors ! f. g.src_1 ! queue ! affectregress "
      "model-file=script.safetensors ! f. funnel name=f ! affectmetrics "
      "location=mae.json", "gst-affect <https://example.invalid/gst-affect>");
  element_class->change_state = gst_affect_gate_change_state;
}

static void
gst_affect_gate_init (GstAffectGate * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_affect_gate_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_affect_gate_sink_event));
  GST_PAD_SET_PROXY_CAPS (self->sinkpad);
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpads[0] = gst_pad_new_from_static_template (&src0_template, "src_0");
  self->srcpads[1] = gst_pad_new_from_static_template (&src1_template, "src_1");
  gst_element_add_pad (GST_ELEMENT (self), self->srcpads[0]);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpads[1]);

  gst_affect_train_settings_init (&self->train, DEFAULT_HIDDEN);
  self->threshold = DEFAULT_THRESHOLD;
  self->route_by = DEFAULT_ROUTE_BY;
  self->label = g_strdup (DEFAULT_LABEL);
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->route = -1;
  g_queue_init (&self->held);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  gst_affect_gap_reset (&self->gaps[0]);
  gst_affect_gap_reset (&self->gaps[1]);
}

static void
clear_item (GstAffectGate * self)
{
  g_clear_pointer (&self->item, gst_affect_item_free);
  gst_clear_event (&self->item_start);
  g_queue_clear_full (&self->held, (GDestroyNotify) gst_event_unref);
  self->route = -1;
}

static void
reset (GstAffectGate * self)
{
  clear_item (self);
  g_clear_pointer (&self->model, affect_mlp_free);
  g_clear_pointer (&self->dataset, affect_dataset_free);
  self->n_features = 0;
  self->skipped = 0;
  self->test_items = 0;
  self->routed[0] = self->routed[1] = 0;
  gst_affect_gap_reset (&self->gaps[0]);
  gst_affect_gap_reset (&self->gaps[1]);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
}

static void
gst_affect_gate_finalize (GObject * object)
{
  GstAffectGate *self = GST_AFFECT_GATE (object);

  reset (self);
  gst_affect_train_settings_clear (&self->train);
  g_free (self->label);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_affect_gate_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstAffectGate *self = GST_AFFECT_GATE (object);

  GST_OBJECT_LOCK (self);
  if (!gst_affect_train_set_property (&self->train, PROP_TRAIN_FIRST, prop_id,
          value)) {
    switch (prop_id) {
      case PROP_THRESHOLD:
        self->threshold = g_value_get_double (value);
        break;
      case PROP_ROUTE_BY:
        self->route_by = g_value_get_enum (value);
        break;
      case PROP_LABEL:
        g_free (self->label);
        self->label = g_value_dup_string (value);
        break;
      case PROP_POST_MESSAGES:
        self->post_messages = g_value_get_boolean (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_affect_gate_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstAffectGate *self = GST_AFFECT_GATE (object);

  GST_OBJECT_LOCK (self);
  if (!gst_affect_train_get_property (&self->train, PROP_TRAIN_FIRST, prop_id,
          value)) {
    switch (prop_id) {
      case PROP_THRESHOLD:
        g_value_set_double (value, self->threshold);
        break;
      case PROP_ROUTE_BY:
        g_value_set_enum (value, self->route_by);
        break;
      case PROP_LABEL:
        g_value_set_string (value, self->label);
        break;
      case PROP_POST_MESSAGES:
        g_value_set_boolean (value, self->post_messages);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
  }
  GST_OBJECT_UNLOCK (self);
}

static GstStateChangeReturn
gst_affect_gate_change_state (GstElement * element, GstStateChange transition)
{
  GstAffectGate *self = GST_AFFECT_GATE (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    GError *error = NULL;
    AffectMlpConfig probe = { 0 };

    reset (self);
    if (self->train.model_file == NULL && !(self->train.mode ==
            GST_AFFECT_MODE_INFER
            && self->route_by == GST_AFFECT_ROUTE_BY_LABEL)) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No model-file set."),
          (NULL));
      return GST_STATE_CHANGE_FAILURE;
    }
    if (self->train.mode == GST_AFFECT_MODE_INFER
        && self->route_by == GST_AFFECT_ROUTE_BY_LABEL) {
      /* an oracle gate: no model, any vector size */
    } else if (self->train.mode == GST_AFFECT_MODE_INFER) {
      self->model = affect_mlp_load (self->train.model_file, &error);
      if (self->model == NULL) {
        GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
            ("Cannot load the gate model: %s", error->message), (NULL));
        g_clear_error (&error);
        return GST_STATE_CHANGE_FAILURE;
      }
      if (affect_mlp_get_config (self->model)->n_outputs != 1) {
        GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
            ("Gate model %s has %d outputs, expected 1.",
                self->train.model_file,
                affect_mlp_get_config (self->model)->n_outputs), (NULL));
        return GST_STATE_CHANGE_FAILURE;
      }
      self->n_features = affect_mlp_get_config (self->model)->n_inputs;
    } else if (!gst_affect_train_parse_hidden (self->train.hidden_sizes,
            &probe)) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Invalid hidden-sizes \"%s\".", self->train.hidden_sizes), (NULL));
      return GST_STATE_CHANGE_FAILURE;
    } else if (!gst_affect_train_check_output (element, "model-file",
            self->train.model_file))
      return GST_STATE_CHANGE_FAILURE;
  }
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    reset (self);
  return ret;
}

static gboolean
set_caps (GstAffectGate * self, GstCaps * caps)
{
  GstAffectTensorInfo info;
  guint n;

  if (!gst_affect_tensor_info_from_caps (&info, caps)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Input is not a single float32 tensor stream."),
        ("caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  n = gst_affect_tensor_info_n_elements (&info);
  if (self->model == NULL && self->train.mode == GST_AFFECT_MODE_INFER)
    self->n_features = n;       /* route-by=label */
  if (self->train.mode == GST_AFFECT_MODE_INFER && n != self->n_features) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Gate model %s expects %u features per vector, the stream has %u.",
            self->train.model_file, self->n_features, n), (NULL));
    return FALSE;
  }
  if (self->model != NULL && !gst_affect_train_check_sample_rate (GST_ELEMENT
          (self), self->model, self->train.model_file, caps))
    return FALSE;
  if (!gst_structure_get_int (gst_caps_get_structure (caps, 0), "sample-rate",
          &self->sample_rate))
    self->sample_rate = 0;
  if (self->train.mode == GST_AFFECT_MODE_TRAIN) {
    if (self->dataset != NULL && n != self->n_features) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Feature size changed from %u to %u during training.",
              self->n_features, n), (NULL));
      return FALSE;
    }
    self->n_features = n;
    if (self->dataset == NULL)
      self->dataset = gst_affect_train_dataset_new (&self->train, n, 1);
  }
  return TRUE;
}

/* the decision for the current item: push its start event (with route
 * fields) and the events held since */
static gboolean
release_item (GstAffectGate * self, gint route, gdouble probability)
{
  GstPad *pad = self->srcpads[route];
  gboolean ok = TRUE;

  self->route = route;
  self->routed[route]++;
  if (self->item != NULL) {
    self->item->route = route;
    self->item->route_probability = probability;
    gst_clear_event (&self->item_start);
    ok = gst_pad_push_event (pad, gst_affect_item_start_event_new (self->item));
  }
  while (!g_queue_is_empty (&self->held))
    ok &= gst_pad_push_event (pad, g_queue_pop_head (&self->held));
  return ok;
}

/* an item without any vector goes to src_1; src_0 learns that time passes
 * where the routes stand (its duration is not known) */
static gboolean
release_empty_item (GstAffectGate * self)
{
  GstClockTime ts = self->gaps[1].position;
  gboolean ok = release_item (self, 1, NAN);

  if (!GST_CLOCK_TIME_IS_VALID (ts) || (GST_CLOCK_TIME_IS_VALID
          (self->gaps[0].position) && self->gaps[0].position > ts))
    ts = self->gaps[0].position;
  if (!GST_CLOCK_TIME_IS_VALID (ts) && self->segment.format == GST_FORMAT_TIME)
    ts = self->segment.start;
  gst_affect_gap_push (&self->gaps[0], self->srcpads[0], ts, 0);
  return ok;
}

static void
post_prediction (GstAffectGate * self, GstBuffer * buf, gdouble probability,
    gint route)
{
  GstStructure *s;
  GValue scores = G_VALUE_INIT, names = G_VALUE_INIT, v = G_VALUE_INIT;

  if (!self->post_messages)
    return;
  s = gst_affect_message_structure_new ("affect-prediction",
      &self->segment, GST_BUFFER_PTS (buf), GST_BUFFER_DURATION (buf));
  gst_value_array_init (&scores, 1);
  gst_value_array_init (&names, 1);
  g_value_init (&v, G_TYPE_FLOAT);
  g_value_set_float (&v, (gfloat) probability);
  gst_value_array_append_and_take_value (&scores, &v);
  g_value_init (&v, G_TYPE_STRING);
  g_value_set_string (&v, self->label);
  gst_value_array_append_and_take_value (&names, &v);
  gst_structure_set (s, "id", G_TYPE_STRING, self->item ? self->item->id : "",
      "route", G_TYPE_INT, route, NULL);
  gst_structure_take_value (s, "scores", &scores);
  gst_structure_take_value (s, "names", &names);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* the item's label in train mode, NaN if it has none */
static gdouble
item_label (GstAffectGate * self)
{
  gdouble v;

  if (self->item == NULL)
    return NAN;
  if (gst_affect_item_get_target (self->item, self->label, &v)
      || gst_affect_train_parse_label (gst_affect_item_get_column (self->item,
              self->label), &v))
    return v;
  return NAN;
}

static GstFlowReturn
gst_affect_gate_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstAffectGate *self = GST_AFFECT_GATE (parent);
  GstMapInfo map;
  gint route = self->route;
  GstClockTime pts, duration;
  GstFlowReturn ret;

  gst_affect_train_use_threads (&self->train);

  if (self->n_features == 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No caps before data."),
        (NULL));
    gst_buffer_unref (buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (route < 0) {
    gdouble probability = NAN;
    gboolean finite = TRUE;
    guint i;

    if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
      gst_buffer_unref (buf);
      return GST_FLOW_ERROR;
    }
    if (map.size != self->n_features * sizeof (float)) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Buffer of %" G_GSIZE_FORMAT " bytes, expected %u floats.",
              map.size, self->n_features), (NULL));
      gst_buffer_unmap (buf, &map);
      gst_buffer_unref (buf);
      return GST_FLOW_ERROR;
    }
    for (i = 0; i < self->n_features; i++)
      finite &= isfinite (((const float *) map.data)[i]);
    if (self->train.mode == GST_AFFECT_MODE_TRAIN) {
      float label;
      gboolean test;

      probability = item_label (self);
      label = (float) (probability >= 0.5);
      /* test items are routed but never learnt from */
      test = self->item && g_strcmp0 (self->item->split, "test") == 0;
      self->test_items += test;
      if (!test && (isnan (probability) || !finite)) {
        self->skipped++;
      } else if (!test && !gst_affect_train_add_row (GST_ELEMENT (self),
              self->dataset, (const float *) map.data, &label, self->item
              && g_strcmp0 (self->item->split, "validation") == 0,
              &self->skipped)) {
        gst_buffer_unmap (buf, &map);
        gst_buffer_unref (buf);
        return GST_FLOW_ERROR;
      }
    } else if (self->route_by == GST_AFFECT_ROUTE_BY_LABEL) {
      probability = item_label (self);
    } else if (finite) {
      float p;
      affect_mlp_predict (self->model, (const float *) map.data, &p, 1);
      probability = p;
    } else {
      GST_ELEMENT_WARNING (self, STREAM, FORMAT,
          ("Item \"%s\" (%s): feature vector with NaN or infinite values, "
              "routed to src_1.", self->item ? self->item->id : "",
              self->item && self->item->path ? self->item->path : "no path"),
          (NULL));
    }
    gst_buffer_unmap (buf, &map);
    route = !isnan (probability) && probability >= self->threshold ? 0 : 1;
    if (self->item != NULL)
      release_item (self, route, probability);
    else
      self->routed[route]++;
    if (self->train.mode == GST_AFFECT_MODE_INFER)
      post_prediction (self, buf, probability, route);
  }
  /* the idle route gets a GAP in place of the buffer, so that its sink
   * prerolls and, live, keeps running (docs/elements/affectgate.md) */
  pts = GST_BUFFER_PTS (buf);
  duration = GST_BUFFER_DURATION (buf);
  gst_affect_gap_note (&self->gaps[route], pts, duration);
  ret = gst_pad_push (self->srcpads[route], buf);
  if (ret == GST_FLOW_OK)
    gst_affect_gap_push (&self->gaps[!route], self->srcpads[!route], pts,
        duration);
  return ret;
}

static gboolean
on_epoch (const AffectMlpEpochReport * report, gpointer user_data)
{
  gst_affect_train_post_epoch (GST_ELEMENT (user_data), report, NULL, "bce");
  return TRUE;
}

static gboolean
train_and_write (GstAffectGate * self)
{
  AffectMlpConfig config = { 0 };
  AffectMlpTrainConfig tc;
  AffectMlpTrainResult res;
  AffectMlp *mlp;
  GError *error = NULL;
  gchar *checkpoint = NULL;
  double accuracy = NAN;
  int n = self->dataset ? affect_dataset_size (self->dataset, FALSE) : 0;
  int nv = self->dataset ? affect_dataset_size (self->dataset, TRUE) : 0;

  if (self->skipped > 0)
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("%u items skipped: no \"%s\" label or non-finite features.",
            self->skipped, self->label), (NULL));
  if (n == 0) {
    gchar *note = gst_affect_train_split_note (self->test_items);
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("No training items with a \"%s\" label (%u skipped%s).",
            self->label, self->skipped, note), (NULL));
    g_free (note);
    return FALSE;
  }
  config.n_inputs = self->n_features;
  gst_affect_train_parse_hidden (self->train.hidden_sizes, &config);
  config.n_outputs = 1;
  config.hidden_activation = AFFECT_ACTIVATION_RELU;
  config.output_activation = AFFECT_ACTIVATION_SIGMOID;
  affect_mlp_train_config_init (&tc);
  gst_affect_train_settings_apply (&self->train, &tc);
  tc.loss = AFFECT_MLP_LOSS_BCE;
  tc.vat = FALSE;
  checkpoint = gst_affect_train_checkpoint_path (self->train.model_file);
  tc.checkpoint_path = checkpoint;

  mlp = affect_mlp_new (&config, self->train.seed, &error);
  if (mlp == NULL || !affect_mlp_train_dataset (mlp, &tc, self->dataset, -1,
          self->train.validation_fraction, on_epoch, self, &res, &error))
    goto failed;
  g_clear_pointer (&checkpoint, g_free);
  affect_mlp_set_names (mlp, (const char *[]) {
        self->label, NULL
      });
  affect_mlp_set_metadata (mlp, "task", "spontaneity");
  affect_mlp_set_metadata (mlp, "feature", "is09");
  if (self->sample_rate > 0) {
    gchar *rate = g_strdup_printf ("%d", self->sample_rate);
    affect_mlp_set_metadata (mlp, "sample-rate", rate);
    g_free (rate);
  }
  if (!affect_mlp_save (mlp, self->train.model_file, &error))
    goto failed;
  accuracy = res.best_validation_accuracy;
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("affect-train-done",
              "model-file", G_TYPE_STRING, self->train.model_file,
              "items", G_TYPE_UINT, (guint) n,
              "validation-items", G_TYPE_UINT, (guint) nv,
              "best-epoch", G_TYPE_UINT, (guint) res.best_epoch,
              "validation-metric", G_TYPE_DOUBLE, res.best_validation_metric,
              "validation-accuracy", G_TYPE_DOUBLE, accuracy, NULL)));
  affect_mlp_free (mlp);
  return TRUE;

failed:
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
      ("Training or writing %s failed: %s", self->train.model_file,
          error ? error->message : "unknown error"), (NULL));
  g_clear_error (&error);
  g_free (checkpoint);
  affect_mlp_free (mlp);
  return FALSE;
}

static gboolean
gst_affect_gate_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstAffectGate *self = GST_AFFECT_GATE (parent);

  gst_affect_train_use_threads (&self->train);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      /* a refusal's error is posted once, not at every retry upstream */
      if (gst_affect_caps_refused_before (pad, caps)) {
        gst_event_unref (event);
        return FALSE;
      }
      if (!set_caps (self, caps)) {
        gst_affect_caps_note (pad, caps, FALSE);
        gst_event_unref (event);
        return FALSE;
      }
      gst_affect_caps_note (pad, caps, TRUE);
      break;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment (event, &self->segment);
      gst_affect_gap_reset (&self->gaps[0]);
      gst_affect_gap_reset (&self->gaps[1]);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_affect_gap_reset (&self->gaps[0]);
      gst_affect_gap_reset (&self->gaps[1]);
      break;
    case GST_EVENT_GAP:{
      GstClockTime ts, duration;
      gboolean ok;

      /* no vectors upstream for a while: on both routes, at once */
      gst_event_parse_gap (event, &ts, &duration);
      ok = gst_affect_gap_push (&self->gaps[0], self->srcpads[0], ts, duration);
      ok &= gst_affect_gap_push (&self->gaps[1], self->srcpads[1], ts,
          duration);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_affect_event_is_item_start (event)) {
        if (self->item != NULL && self->route < 0)
          release_empty_item (self);
        clear_item (self);
        self->item = gst_affect_item_parse_start_event (event);
        if (self->item == NULL)
          break;                /* malformed: both pads, as any event */
        self->item_start = event;
        return TRUE;
      }
      if (gst_affect_event_is_item_end (event)) {
        gint route = self->route;
        if (self->item != NULL && route < 0) {
          /* no vector (e.g. too short for affectis09): scripted */
          release_empty_item (self);
          route = 1;
        }
        clear_item (self);
        return gst_pad_push_event (self->srcpads[MAX (route, 0)], event);
      }
      /* another event inside an item */
      G_GNUC_FALLTHROUGH;
    default:
      if (self->item != NULL && GST_EVENT_IS_SERIALIZED (event)
          && GST_EVENT_TYPE (event) != GST_EVENT_EOS) {
        if (self->route < 0) {
          g_queue_push_tail (&self->held, event);
          return TRUE;
        }
        return gst_pad_push_event (self->srcpads[self->route], event);
      }
      break;
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    if (self->item != NULL && self->route < 0)
      release_empty_item (self);
    clear_item (self);
    if (self->train.mode == GST_AFFECT_MODE_TRAIN && !train_and_write (self)) {
      gst_event_unref (event);
      return FALSE;
    }
    GST_INFO_OBJECT (self, "routed %u items to src_0, %u to src_1",
        self->routed[0], self->routed[1]);
  }
  return gst_pad_event_default (pad, parent, event);
}

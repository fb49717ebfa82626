/* GStreamer affect plugin
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-affectgate
 * @title: affectgate
 *
 * The spontaneity gate of the VAT seed (§3.3): an MLP classifier (default
 * 384-1200-600-300-1, ReLU hidden units, sigmoid output) gives each item the
 * probability that its speech is spontaneous. The item — its
 * affect-item-start, every buffer and event up to its affect-item-end — goes
 * whole to src_0 (spontaneous, probability ≥ #GstAffectGate:threshold) or
 * src_1 (scripted). The item-start event is held until the item's first
 * feature vector has decided the route, and is forwarded with the fields
 * `route` (int, 0 or 1) and `route-probability` (double) added, so a metric
 * sink behind a `funnel` can report per route. Events outside items
 * (stream-start, caps, segment, EOS) go to both pads; an item that ends
 * without any vector goes to src_1 with probability NaN. Buffers outside
 * items are routed one by one. The idle route gets a GAP event with the
 * timestamp and duration of every buffer sent to the other
 * (docs/protocol.md, "Time without data"), so its sink prerolls offline and
 * keeps running live; a GAP from upstream goes to both routes. Put a queue
 * on each route.
 *
 * mode=train: caches each item's features and its spontaneity label (the
 * #GstAffectGate:label target of the item, or a column of that name: 1/0,
 * true/false, spontaneous/scripted, improvised/script); items are routed by
 * that label, so regressors in train mode behind the two pads learn from
 * spontaneous and scripted speech respectively. At EOS the classifier is
 * trained with Adam on binary cross-entropy, selected on validation items
 * (split=validation, or #GstAffectGate:validation-fraction held out, whole
 * groups of #GstAffectGate:validation-group when it is set; items
 * with split=test are routed but not learnt from) and written atomically to
 * model-file. Features are cached in memory up to
 * #GstAffectGate:cache-budget MiB, the rest in a temporary file. After
 * every epoch the training state is written atomically to the checkpoint
 * model-file + ".ckpt" (kept at the end); resume=true continues from it to
 * the same model an uninterrupted run gives. route-by=label routes by the
 * label in infer mode too (an oracle gate without a model), e.g. to score
 * regressors on one style. The model records the `sample-rate` of its
 * training features' caps; in infer mode vectors of another size or rate
 * are refused with one error naming both.
 *
 * ## Messages
 *
 * `affect-prediction` (post-messages=true, infer mode), per routed item:
 *
 * - `timestamp`, `stream-time`, `running-time`, `duration` (GstClockTime)
 * - `id` (string)
 * - `scores` (GstValueArray of one gfloat): the probability
 * - `names` (GstValueArray of one gchararray): the label
 * - `route` (gint)
 *
 * `affect-train-epoch` (train mode): the learner's one layout (as
 * affectregress), with `validation-metric` = BCE and `validation-accuracy`
 * at 0.5.
 *
 * `affect-train-done` (train mode):
 *
 * - `model-file` (string), `items`, `validation-items`, `best-epoch` (guint)
 * - `validation-metric`, `validation-accuracy` (gdouble)
 * - `constant-output` (gboolean)
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 affectsrc location=test.csv ! audioconvert ! \
 *     audioresample ! audio/x-raw,rate=16000,channels=1 ! affectis09 ! \
 *     affectgate name=g model-file=gate.safetensors \
 *     g.src_0 ! queue ! affectregress model-file=spont.safetensors ! f. \
 *     g.src_1 ! queue ! affectregress model-file=script.safetensors ! f. \
 *     funnel name=f ! affectmetrics location=mae.json
 * ]| The gated system of the seed, re-joined by funnel for the metrics.
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

GST_AFFECT_ENUM (GstAffectRouteBy, gst_affect_route_by) = {
  {GST_AFFECT_ROUTE_BY_MODEL, "The classifier's probability (infer mode)",
      "model"},
  {GST_AFFECT_ROUTE_BY_LABEL,
      "The item's own spontaneity label (always in train mode)", "label"},
  {0, NULL, NULL}
};

#define S GstAffectGate
static const GstAffectProp props[] = {
  GST_AFFECT_PROP_DOUBLE ("threshold", "Threshold",
      "Items with a spontaneity probability at or above this go to src_0, "
      "the others to src_1", S, threshold, 0.0, 1.0, 0.5, 0),
  GST_AFFECT_PROP_ENUM ("route-by", "Route by",
      "Route by the classifier (model) or by the item's label (label: an "
      "oracle gate, e.g. to evaluate regressors on one style); train mode "
      "always routes by label", S, route_by, gst_affect_route_by_get_type,
      GST_AFFECT_ROUTE_BY_MODEL, 0),
  GST_AFFECT_PROP_STRING ("label", "Label",
      "Target (or column) of the item holding its spontaneity label (train "
      "mode)", S, label, "spontaneity", 0),
  GST_AFFECT_LEARNER_KNOB_BLURB ("post-messages",
      "Post an affect-prediction element message per routed item"),
  GST_AFFECT_LEARNER_KNOB_STRING ("model-file", "The spontaneity classifier "
      "(safetensors): read in infer mode, written atomically at the end of "
      "training", NULL),
  GST_AFFECT_LEARNER_KNOB_STRING ("hidden-sizes", "Widths of the hidden "
      "layers, comma-separated (train mode)", "1200,600,300"),
};

#undef S

static const gchar *srcs[] = { "src_0", "src_1", NULL };

G_DEFINE_TYPE (GstAffectGate, gst_affect_gate, GST_TYPE_AFFECT_LEARNER);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (affectgate, "affectgate",
    GST_RANK_NONE, GST_TYPE_AFFECT_GATE,
    GST_DEBUG_CATEGORY_INIT (affect_gate_debug, "affectgate", 0,
        "spontaneity gate"));

/* the learner drops the held events */
static void
stop (GstAffectLearner * learner)
{
  GstAffectGate *self = GST_AFFECT_GATE (learner);

  self->route = -1;
  self->routed[0] = self->routed[1] = 0;
}

static gboolean
start (GstAffectLearner * learner)
{
  GstAffectGate *self = GST_AFFECT_GATE (learner);

  /* train, or an oracle gate: no model, any vector size */
  if (learner->mode == GST_AFFECT_MODE_TRAIN
      || self->route_by == GST_AFFECT_ROUTE_BY_LABEL)
    return TRUE;
  if (!gst_affect_learner_load_regressor (learner, TRUE, self->label))
    return FALSE;
  if (affect_regressor_n_targets (learner->regressor) == 1)
    return TRUE;
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Gate model %s has %u outputs, expected 1.", learner->model_file,
          affect_regressor_n_targets (learner->regressor)), (NULL));
  return FALSE;
}

static gboolean
set_caps (GstAffectLearner * learner, GstCaps * caps)
{
  GstAffectTensorInfo info;

  return gst_affect_learner_vector_caps (learner, caps, &info, FALSE, 1);
}

/* the decision for the item whose start event heads the held queue: push its start event (with route
 * fields) and the events held since */
static gboolean
release_item (GstAffectGate * self, gint route, gdouble probability)
{
  GstPad *pad = self->srcpads[route];
  GstAffectHeld *start = g_queue_peek_head (&self->learner.held);
  GstAffectItem *item = gst_affect_item_parse_start_event (start->event);
  gboolean ok;

  /* replaced by one with the route fields */
  gst_clear_event (&start->event);
  self->route = route;
  self->routed[route]++;
  item->route = route;
  item->route_probability = probability;
  ok = gst_pad_push_event (pad, gst_affect_item_start_event_new (item));
  gst_affect_item_free (item);
  return gst_affect_learner_release (GST_AFFECT_LEARNER (self), pad, NULL,
      NULL) && ok;
}

/* The item is over (its end, the next start, EOS): one still undecided
 * (no vector, e.g. too short for affectis09) goes to src_1, and src_0
 * learns that time passes where the routes stand (its duration is not
 * known). The route it took, or -1. */
static gint
close_item (GstAffectGate * self)
{
  GstAffectLearner *learner = GST_AFFECT_LEARNER (self);
  GstClockTime ts = learner->gap[1].position, t0 = learner->gap[0].position;
  gint route = self->route;

  self->route = -1;
  if (route >= 0 || g_queue_is_empty (&learner->held))
    return route;
  release_item (self, 1, NAN);
  if (!GST_CLOCK_TIME_IS_VALID (ts) || (GST_CLOCK_TIME_IS_VALID (t0)
          && t0 > ts))
    ts = t0;
  if (!GST_CLOCK_TIME_IS_VALID (ts)
      && learner->segment.format == GST_FORMAT_TIME)
    ts = learner->segment.start;
  gst_affect_gap_push (&learner->gap[0], self->srcpads[0], ts, 0);
  self->route = -1;
  return 1;
}

/* the item's label, NaN if it has none */
static gdouble
item_label (GstAffectGate * self)
{
  gdouble v;

  return gst_affect_item_get_value (self->learner.item, self->label,
      &v) ? v : NAN;
}

static GstFlowReturn
chain (GstAffectLearner * learner, GstBuffer * buf)
{
  GstAffectGate *self = GST_AFFECT_GATE (learner);
  GstMapInfo map;
  gint route = self->route;
  GstClockTime pts, duration;
  GstFlowReturn ret;

  if (route < 0) {
    gdouble probability = NAN;
    const float *x;

    ret = gst_affect_learner_map_vector (learner, buf, &map);
    if (ret != GST_FLOW_OK)
      return ret;
    x = (const float *) map.data;
    if (learner->mode == GST_AFFECT_MODE_TRAIN) {
      float label;

      probability = item_label (self);
      label = isnan (probability) ? NAN : (float) (probability >= 0.5);
      /* test items are routed but never learnt from */
      if (gst_affect_learner_cache_vector (learner, x, &label, 1) < 0) {
        gst_buffer_unmap (buf, &map);
        gst_buffer_unref (buf);
        return GST_FLOW_ERROR;
      }
    } else if (self->route_by == GST_AFFECT_ROUTE_BY_LABEL) {
      probability = item_label (self);
    } else if (affect_vector_is_finite (x, learner->n_features)) {
      float p;
      affect_regressor_predict (learner->regressor, x, &p, 1, NULL, NULL);
      probability = p;
    } else {
      gst_affect_learner_item_warning (learner, GST_STREAM_ERROR_FORMAT,
          NULL, "feature vector with NaN or infinite values, routed to "
          "src_1.");
    }
    gst_buffer_unmap (buf, &map);
    route = !isnan (probability) && probability >= self->threshold ? 0 : 1;
    if (!g_queue_is_empty (&learner->held))
      release_item (self, route, probability);
    else
      self->routed[route]++;
    if (learner->mode == GST_AFFECT_MODE_INFER) {
      const float p = (float) probability;
      gst_affect_learner_post_prediction (learner, GST_BUFFER_PTS (buf),
          GST_BUFFER_DURATION (buf), learner->item ? learner->item->id : "",
          &p, (const gchar *[]) {
            self->label
          }, 1, NULL, 0, route);
    }
  }
  /* the idle route gets a GAP (docs/protocol.md, "Time without data") */
  pts = GST_BUFFER_PTS (buf);
  duration = GST_BUFFER_DURATION (buf);
  gst_affect_gap_note (&self->learner.gap[route], pts, duration);
  ret = gst_pad_push (self->srcpads[route], buf);
  if (ret == GST_FLOW_OK)
    gst_affect_gap_push (&self->learner.gap[!route], self->srcpads[!route], pts,
        duration);
  return ret;
}

static void
describe (AffectMlp * mlp, gpointer data)
{
  GstAffectGate *self = data;

  affect_mlp_set_names (mlp, (const char *[]) {
        self->label, NULL
      });
  gst_affect_learner_describe_mlp (GST_AFFECT_LEARNER (self), mlp,
      "spontaneity", "is09");
}

static gboolean
train_and_write (GstAffectLearner * learner)
{
  GstAffectGate *self = GST_AFFECT_GATE (learner);
  AffectMlpFileJob job = { learner->n_features, 1, NULL,
    AFFECT_ACTIVATION_SIGMOID, NULL, -1, 0.0, learner->model_file, describe,
    self
  };
  AffectMlpTrainConfig tc;

  if (!gst_affect_learner_mlp_config (learner, &tc, self->label))
    return FALSE;
  tc.loss = AFFECT_MLP_LOSS_BCE;
  tc.vat = FALSE;
  return gst_affect_learner_train_mlp (learner, &job, &tc, NULL, NULL);
}

/* at EOS: an item left open goes out before training */
static void
drain (GstAffectLearner * learner)
{
  close_item (GST_AFFECT_GATE (learner));
}

static gboolean
sink_event (GstAffectLearner * learner, GstEvent * event)
{
  GstAffectGate *self = GST_AFFECT_GATE (learner);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:
      break;
    case GST_EVENT_FLUSH_STOP:
      self->route = -1;         /* the learner dropped the item */
      break;
    case GST_EVENT_GAP:{
      GstClockTime ts, duration;
      gboolean ok;

      /* no vectors upstream for a while: on both routes, at once */
      gst_event_parse_gap (event, &ts, &duration);
      ok = gst_affect_gap_push (&self->learner.gap[0], self->srcpads[0], ts,
          duration);
      ok &=
          gst_affect_gap_push (&self->learner.gap[1], self->srcpads[1], ts,
          duration);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_affect_event_is_item_start (event)) {
        close_item (self);
        if (learner->item == NULL)
          break;                /* malformed: both pads, as any event */
        gst_affect_learner_hold (learner, event, NULL);
        return TRUE;
      }
      if (gst_affect_event_is_item_end (event)) {
        gint route = close_item (self);
        return gst_pad_push_event (self->srcpads[MAX (route, 0)], event);
      }
      /* another event inside an item */
      G_GNUC_FALLTHROUGH;
    default:
      if (learner->item != NULL && GST_EVENT_IS_SERIALIZED (event)
          && GST_EVENT_TYPE (event) != GST_EVENT_EOS) {
        if (self->route < 0) {
          gst_affect_learner_hold (learner, event, NULL);
          return TRUE;
        }
        return gst_pad_push_event (self->srcpads[self->route], event);
      }
      break;
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS)
    GST_INFO_OBJECT (self, "routed %u items to src_0, %u to src_1",
        self->routed[0], self->routed[1]);
  return gst_pad_event_default (learner->sinkpad, GST_OBJECT (self), event);
}

static void
gst_affect_gate_class_init (GstAffectGateClass * klass)
{
  GstAffectLearnerClass *learner_class = GST_AFFECT_LEARNER_CLASS (klass);

  gst_affect_learner_class_setup (learner_class, srcs, props,
      G_N_ELEMENTS (props), "Affect spontaneity gate", "Filter/Demuxer/Tensor",
      "Routes each item whole to src_0 (spontaneous) or src_1 (scripted) by "
      "an MLP classifier's probability; trains the classifier in "
      "mode=train. Example: ... ! affectis09 ! affectgate name=g "
      "model-file=gate.safetensors g.src_0 ! queue ! affectregress "
      "model-file=spont.safetensors ! f. g.src_1 ! queue ! affectregress "
      "model-file=script.safetensors ! f. funnel name=f ! affectmetrics "
      "location=mae.json", "gst-affect <https://example.invalid/gst-affect>");
  learner_class->start = start;
  learner_class->stop = stop;
  learner_class->set_caps = set_caps;
  learner_class->chain = chain;
  learner_class->sink_event = sink_event;
  learner_class->drain = drain;
  learner_class->train = train_and_write;
}

static void
gst_affect_gate_init (GstAffectGate * self)
{
  GstElementClass *klass = GST_ELEMENT_GET_CLASS (self);
  guint i;

  GST_PAD_SET_PROXY_CAPS (self->learner.sinkpad);
  for (i = 0; i < 2; i++) {
    self->srcpads[i] = gst_pad_new_from_template
        (gst_element_class_get_pad_template (klass, srcs[i]), srcs[i]);
    gst_element_add_pad (GST_ELEMENT (self), self->srcpads[i]);
  }
  self->route = -1;
}

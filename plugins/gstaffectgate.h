/* affectgate: routes each item by its spontaneity probability */
#ifndef __GST_AFFECT_GATE_H__
#define __GST_AFFECT_GATE_H__

#include <gst/gst.h>
#include "affect/mlp-train.h"
#include "gstaffectitem.h"
#include "gstaffectlearner.h"
#include "gstaffectgap.h"

G_BEGIN_DECLS

typedef enum
{
  GST_AFFECT_ROUTE_BY_MODEL,
  GST_AFFECT_ROUTE_BY_LABEL
} GstAffectRouteBy;

#define GST_TYPE_AFFECT_GATE (gst_affect_gate_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectGate, gst_affect_gate, GST, AFFECT_GATE,
    GstAffectLearner)

struct _GstAffectGate
{
  GstAffectLearner learner;     /* mode, model-file, training knobs */
  GstPad *srcpads[2];           /* src_0 spontaneous, src_1 scripted */

  /* properties */
  gdouble threshold;
  gint route_by;
  gchar *label;

  /* state (the model, dataset and vector size are the learner's) */
  gint route;                   /* of the learner's item; -1 undecided
                                 * (its start event heads the held queue) */
  guint routed[2];
};

GST_ELEMENT_REGISTER_DECLARE (affectgate);

G_END_DECLS
#endif

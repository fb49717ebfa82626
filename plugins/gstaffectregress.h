/* affectregress: MLP regressor on feature vectors, plain or VAT training */
#ifndef __GST_AFFECT_REGRESS_H__
#define __GST_AFFECT_REGRESS_H__

#include <gst/gst.h>
#include "affect/mlp-train.h"
#include "gstaffectitem.h"
#include "gstaffectlearner.h"
#include "gstaffectgap.h"

G_BEGIN_DECLS

#define GST_TYPE_AFFECT_REGRESS (gst_affect_regress_get_type ())
G_DECLARE_FINAL_TYPE (GstAffectRegress, gst_affect_regress, GST, AFFECT_REGRESS,
    GstAffectLearner)

typedef enum
{
  GST_AFFECT_OUTPUT_LINEAR,
  GST_AFFECT_OUTPUT_RELU
} GstAffectOutputActivation;

typedef enum
{
  GST_AFFECT_STANDARDISE_MODEL,
  GST_AFFECT_STANDARDISE_PER_STREAM
} GstAffectStandardise;

struct _GstAffectRegress
{
  GstAffectLearner learner;     /* mode, model-file, training knobs */

  /* properties */
  gchar *targets;
  gboolean multi_output;
  GstAffectOutputActivation output_activation;
  GstAffectStandardise standardise;
  gboolean vat;
  gdouble epsilon, lambda, xi;
  guint power_iterations;
  gint power_method;

  /* state (the model, dataset and vector size are the learner's) */
  gchar **target_names;         /* outputs, in order */
  guint n_targets;
  AffectTargetRange *range;     /* train: the targets' range so far */
};

GST_ELEMENT_REGISTER_DECLARE (affectregress);

G_END_DECLS
#endif

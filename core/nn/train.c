/* What the training loops share (include/affect/train.h). */
#include <math.h>
#include <string.h>

#include "affect/train.h"

static const char *const select_names[] = { "best", "last" };

const char *
affect_train_select_name (AffectTrainSelect select)
{
  return (guint) select < G_N_ELEMENTS (select_names) ?
      select_names[select] : "?";
}

gboolean
affect_train_select_from_name (const char *name, AffectTrainSelect * select)
{
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (select_names); i++)
    if (!strcmp (name, select_names[i])) {
      *select = (AffectTrainSelect) i;
      return TRUE;
    }
  return FALSE;
}

void
affect_train_epoch_init (AffectTrainEpoch * e)
{
  memset (e, 0, sizeof (*e));
  e->phase = "";
  e->metric_name = "";
  e->learning_rate = NAN;
  e->train_loss = NAN;
  e->train_mse = NAN;
  e->train_lds = NAN;
  e->validation_loss = NAN;
  e->validation_metric = NAN;
  e->validation_accuracy = NAN;
  e->validation_output_std = NAN;
  e->seconds = NAN;
}
